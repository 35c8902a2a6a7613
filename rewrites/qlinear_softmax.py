"""ONNX Runtime's QOperator Softmax for the static quantizer (`operators/softmax.py`).

`quantize_static` with `QuantFormat.QOperator` writes `QLinearSoftmax` with a fixed output
quantization, scale 1/256 and zero point 0 (QUInt8) or -128 (QInt8), whatever the calibrated
range; its arithmetic is the exp-table one, not the float simulation of DQ -> Softmax -> Q
(`qdialect.softmax`). The quantizer marks the output with these parameters and then turns each
DQ -> float softmax -> Q it wrote into one quantized `qnn.softmax`.
"""

from __future__ import annotations

import numpy as np
from xdsl.ir import Block
from xdsl.rewriter import Rewriter

from qdialect import qnn
from qdialect.names import carry_node
from qdialect.ort_qparams import QParams, QType
from qdialect.qnn.common import Kind, kind_of

OUTPUT_SCALE = 1 / 256.0


def output_params(qtype: QType) -> QParams:
    """QLinearSoftmax's output parameters for the activation type."""
    zero = -128 if qtype.signed else 0
    return QParams(np.array(zero, np.int64), np.array(OUTPUT_SCALE, np.float32), qtype)


def fuse_softmax(block: Block) -> None:
    """Every DQ -> float `qnn.softmax` -> Q (the only use) becomes one quantized softmax."""
    for op in list(block.ops):
        if not isinstance(op, qnn.SoftmaxOp) or kind_of(op.result) is not Kind.FLOAT:
            continue
        source, uses = op.input.owner, list(op.result.uses)
        if not isinstance(source, qnn.DequantizeOp) or len(uses) != 1:
            continue
        quantize = uses[0].operation
        if not isinstance(quantize, qnn.QuantizeOp):
            continue
        fused = qnn.SoftmaxOp(
            source.input, quantize.result.type, op.axis_value, op.flatten is not None
        )
        carry_node(op, fused)
        fused.result.name_hint = quantize.result.name_hint
        Rewriter.replace_op(quantize, fused)
        Rewriter.erase_op(op)
        if not any(True for _ in source.result.uses):
            Rewriter.erase_op(source)
