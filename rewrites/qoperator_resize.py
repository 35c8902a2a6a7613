"""ONNX Runtime's QOperator Resize for the static quantizer (`operators/resize.py`, QResize).

`quantize_static` with `QuantFormat.QOperator` writes the Resize itself on the quantized
tensor, its output sharing the input's parameters, and ORT's uint8/int8 kernel resizes the
stored values (a linear one in float32, truncated back: `qdialect.bilinear`), not the float
simulation of DQ -> Resize -> Q, which is what the QDQ form runs. The quantizer turns each
DQ -> float `qnn.resize_bilinear` -> Q of one type that it wrote into the resize of the stored
values.
"""

from __future__ import annotations

from collections.abc import Callable

from xdsl.ir import Block, Operation

from qdialect import qnn
from rewrites.qdq_ir import fuse_dq_op_q


def resize_stored_values(block: Block, chosen: Callable[[Operation], bool]) -> None:
    """`chosen`: the resizes of nodes the quantizer quantized (one it left float stays a
    float resize between the pairs its readers got, as in ORT's model)."""
    fuse_dq_op_q(
        block,
        qnn.ResizeBilinearOp,
        lambda op, x, result_type: qnn.ResizeBilinearOp.create(
            operands=[x], result_types=[result_type], properties=dict(op.properties)
        ),
        chosen,
        same_type=True,
    )
