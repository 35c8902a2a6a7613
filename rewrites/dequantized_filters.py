"""`fold-dequantized-filters`: a float conv's filter dequantized from stored constants becomes a
float constant.

A float conv between QDQ pairs (an int8-activation conv, which ONNX Runtime's x86 session runs
as the float simulation, or a conv the quantizer's rules left float) reads its filter through
`qnn.dequantize` of a constant. Left so, the compiled function dequantizes the filter and packs
it into the GEMM's layout on every call: ResNet-50's 1 × 1 convs on int8 activations ran at 40
GFLOP/s, most of it that copying. Dequantizing a constant is exact arithmetic done once
(`dequantized_values`: DESIGN §2's float32 `(q - zp) · s`, what the kernel computes), and a
float conv's sum order depends on its shapes alone (`qdialect.float_sum.conv_sum_order`), so no
bit changes; the filter is packed once, at compile time. Only filters every reader of which is
a float conv's weight fold (a dot's order depends on whether ORT prepacked its weight).
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, TensorType, UnitAttr, f32
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from qdialect import qnn
from qdialect.float32_arrays import dequantized_values
from qdialect.names import DEQUANTIZED_ATTR
from qdialect.qnn.common import Kind, kind_of
from qdialect.tensors import element_type
from qdialect.types import Granularity
from rewrites.common import dense_constant, stored_constant


def _float_conv_filter(use) -> bool:
    op = use.operation
    return (
        isinstance(op, qnn.Conv2DOp)
        and op.weight is op.operands[use.index]
        and kind_of(op.result) is Kind.FLOAT
    )


class FoldDequantizedFilter(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qnn.DequantizeOp, rewriter: PatternRewriter) -> None:
        if element_type(op.result.type) != f32 or not op.result.uses:
            return
        if not all(_float_conv_filter(use) for use in op.result.uses):
            return
        stored = stored_constant(op.result)
        if stored is None:
            return
        values, qtype = stored
        per_tensor = qtype.granularity is Granularity.PER_TENSOR
        if not per_tensor and not (qtype.granularity is Granularity.PER_AXIS and qtype.axis == 0):
            return  # (dequantized_values reads scales along axis 0)
        assert isinstance(op.result.type, TensorType)
        constant = dense_constant(dequantized_values(values, qtype), op.result.type)
        constant.attributes[DEQUANTIZED_ATTR] = UnitAttr()
        rewriter.replace(op, [constant])


@dataclass(frozen=True)
class FoldDequantizedFiltersPass(ModulePass):
    name = "fold-dequantized-filters"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(FoldDequantizedFilter(), apply_recursively=False).rewrite_module(op)
