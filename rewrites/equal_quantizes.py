"""`merge-equal-quantizes`: ONNX Runtime's CommonSubexpressionElimination (its basic level,
before it fuses QDQ groups) on QuantizeLinear: two quantizes of one value into one type are
one. `quantize_static` with DedicatedQDQPair writes such twins, a pair for each consumer; ORT's
session merges them, so their producer has one QuantizeLinear reader and its QDQ group fuses
(a Conv read by a Concat and a MaxPool: a QLinearConv, not the float simulation), a graph
output among them too (measured on 1.31.1). Not in a function written in QOperator form
(`QOPERATOR_ATTR`), whose pairs stand for QLinear nodes."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Attribute, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import Rewriter

from qdialect import qnn
from qdialect.names import QOPERATOR_ATTR


def merge_equal_quantizes(function: func.FuncOp) -> None:
    first: dict[tuple[SSAValue, Attribute, str], qnn.QuantizeOp] = {}
    for op in list(function.walk()):
        if not isinstance(op, qnn.QuantizeOp):
            continue
        key = (op.input, op.result.type, op.round_mode_kind.value)
        kept = first.setdefault(key, op)
        if kept is not op and kept.parent_block() is op.parent_block():
            op.result.replace_all_uses_with(kept.result)
            Rewriter.erase_op(op)


@dataclass(frozen=True)
class MergeEqualQuantizesPass(ModulePass):
    name = "merge-equal-quantizes"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for function in op.walk():
            if isinstance(function, func.FuncOp) and QOPERATOR_ATTR not in function.attributes:
                merge_equal_quantizes(function)
