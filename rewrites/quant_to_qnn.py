"""`quant-to-qnn`: upstream casts become executable qnn ops.

`quant.qcast` → `qnn.quantize` (default rounding, as upstream defines qcast), `quant.dcast` →
`qnn.dequantize`, for `!quant.uniform` element types (any/calibrated casts carry no
parameters and stay). `quant.scast` pairs that cancel are removed.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from qdialect import qnn
from qdialect.quant_ops import DequantizeCastOp, QuantizeCastOp
from qdialect.tensors import element_type
from qdialect.types import Granularity, UniformQuantizedType
from rewrites.common import FoldInverseStorageCasts


def _executable(container) -> bool:
    """qnn ops take ranked tensors of per-tensor or per-axis uniform types."""
    elem = element_type(container)
    return (
        isinstance(container, TensorType)
        and isinstance(elem, UniformQuantizedType)
        and elem.granularity is not Granularity.SUB_CHANNEL
    )


class QcastToQuantize(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: QuantizeCastOp, rewriter: PatternRewriter) -> None:
        if _executable(op.result.type):
            new = qnn.QuantizeOp(op.input, op.result.type)
            new.location = op.location  # errors about it point at the qcast
            rewriter.replace(op, new)


class DcastToDequantize(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: DequantizeCastOp, rewriter: PatternRewriter) -> None:
        if _executable(op.input.type):
            new = qnn.DequantizeOp(op.input, op.result.type)
            new.location = op.location
            rewriter.replace(op, new)


@dataclass(frozen=True)
class QuantToQnnPass(ModulePass):
    name = "quant-to-qnn"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(
            GreedyRewritePatternApplier(
                [QcastToQuantize(), DcastToDequantize(), FoldInverseStorageCasts()]
            )
        ).rewrite_module(op)
