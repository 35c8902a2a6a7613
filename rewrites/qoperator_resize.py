"""ONNX Runtime's QOperator Resize for the static quantizer (`operators/resize.py`, QResize).

`quantize_static` with `QuantFormat.QOperator` writes the Resize itself on the quantized
tensor, its output sharing the input's parameters, and ORT's uint8/int8 kernel resizes the
stored values (a linear one in float32, truncated back: `qdialect.bilinear`), not the float
simulation of DQ -> Resize -> Q, which is what the QDQ form runs. The quantizer turns each
DQ -> float `qnn.resize_bilinear` -> Q of one type that it wrote into the resize of the stored
values.
"""

from __future__ import annotations

from xdsl.ir import Block
from xdsl.rewriter import Rewriter

from qdialect import qnn
from qdialect.names import carry_node
from qdialect.qnn.common import Kind, kind_of
from qdialect.tensors import element_type


def resize_stored_values(block: Block) -> None:
    for op in list(block.ops):
        if not isinstance(op, qnn.ResizeBilinearOp) or kind_of(op.result) is not Kind.FLOAT:
            continue
        source, uses = op.input.owner, list(op.result.uses)
        if not isinstance(source, qnn.DequantizeOp) or len(uses) != 1:
            continue
        quantize = uses[0].operation
        if not isinstance(quantize, qnn.QuantizeOp) or element_type(
            quantize.result.type
        ) != element_type(source.input.type):
            continue
        stored = qnn.ResizeBilinearOp.create(
            operands=[source.input],
            result_types=[quantize.result.type],
            properties=dict(op.properties),
        )
        carry_node(op, stored)
        stored.result.name_hint = quantize.result.name_hint
        Rewriter.replace_op(quantize, stored)
        Rewriter.erase_op(op)
        if not any(True for _ in source.result.uses):
            Rewriter.erase_op(source)
