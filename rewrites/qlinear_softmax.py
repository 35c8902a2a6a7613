"""ONNX Runtime's QOperator Softmax for the static quantizer (`operators/softmax.py`).

`quantize_static` with `QuantFormat.QOperator` writes `QLinearSoftmax` with a fixed output
quantization, scale 1/256 and zero point 0 (QUInt8) or -128 (QInt8), whatever the calibrated
range; its arithmetic is the exp-table one, not the float simulation of DQ -> Softmax -> Q
(`qdialect.softmax`). The quantizer marks the output with these parameters and then turns each
DQ -> float softmax -> Q it wrote into one quantized `qnn.softmax`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from xdsl.ir import Block, Operation

from qdialect import qnn
from qdialect.ort_qparams import QParams, QType
from rewrites.qdq_ir import fuse_dq_op_q

OUTPUT_SCALE = 1 / 256.0


def output_params(qtype: QType) -> QParams:
    """QLinearSoftmax's output parameters for the activation type."""
    zero = -128 if qtype.signed else 0
    return QParams(np.array(zero, np.int64), np.array(OUTPUT_SCALE, np.float32), qtype)


def fuse_softmax(block: Block, chosen: Callable[[Operation], bool]) -> None:
    """Every DQ -> float `qnn.softmax` -> Q (the only use) of a quantized node (`chosen`)
    becomes one quantized softmax."""
    fuse_dq_op_q(
        block,
        qnn.SoftmaxOp,
        lambda op, x, result_type: qnn.SoftmaxOp(
            x, result_type, op.axis_value, op.flatten is not None
        ),
        chosen,
    )
