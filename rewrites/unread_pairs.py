"""Quantize and dequantize ops nothing reads, kept alive while `qnn-default` follows ONNX
Runtime's optimizer.

ONNX Runtime's graph keeps a node whose output nothing reads (it removes unused initializers,
not nodes), and its optimizer counts such a node as a consumer: a DequantizeLinear nobody
reads still makes its QuantizeLinear a two-consumer node (no DoubleQDQPairsRemover), and a
QuantizeLinear chain nobody reads still gives a MatMul a Q consumer beside its float ones (no
QDQ group, no MatMulIntegerToFloat). `quantize_static` writes such nodes for mixed precision
(TensorQuantOverrides' `convert`: a converted tensor's first DQ when no quantized node keeps the
original type; the whole second pair when no quantized node reads the tensor). Our passes erase
an op whose results nobody uses, so `keep_unread` holds them in one `qnn.keep_unread` op at the
end of each function until `release` erases it and dead-code elimination takes them.
"""

from __future__ import annotations

from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.irdl import IRDLOperation, irdl_op_definition, var_operand_def
from xdsl.rewriter import InsertPoint, Rewriter

from qdialect import qnn
from qdialect.quant_ops import DequantizeCastOp, QuantizeCastOp

QUANTIZE_DEQUANTIZE = (qnn.QuantizeOp, qnn.DequantizeOp, QuantizeCastOp, DequantizeCastOp)


@irdl_op_definition
class KeepUnreadOp(IRDLOperation):
    """Reads the values given so that nothing erases their ops (internal to `qnn-default`)."""

    name = "qnn.keep_unread"
    values = var_operand_def()


def keep_unread(module: ModuleOp) -> list[KeepUnreadOp]:
    """One `qnn.keep_unread` per function with quantize/dequantize results nobody reads
    (upstream's qcast/dcast too: `quant-to-qnn` replaces them, and the keep reads the
    replacement)."""
    kept = []
    for function in module.walk():
        if not isinstance(function, func.FuncOp) or not function.body.blocks:
            continue
        block = function.body.block
        unread = [
            op.results[0]
            for op in block.ops
            if isinstance(op, QUANTIZE_DEQUANTIZE) and not op.results[0].uses
        ]
        if unread and block.last_op is not None:
            keep = KeepUnreadOp(operands=[unread])
            Rewriter.insert_op(keep, InsertPoint.before(block.last_op))
            kept.append(keep)
    return kept


def release(kept: list[KeepUnreadOp]) -> None:
    """Erase the `qnn.keep_unread` ops: what they held is dead code from now on."""
    for keep in kept:
        Rewriter.erase_op(keep)
