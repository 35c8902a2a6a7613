"""`lower-requant-fixed-point`: conv2d/dot requantize with integer arithmetic.

Sets `requant_mode` on every quantized conv2d/dot to TFLite's Q31 multiplier + shift
(`rounding=tflite`, default) or TOSA's apply_scale_32 (`rounding=tosa_single` /
`tosa_double`). The numbers come from `qdialect.fixed_point`; this changes results where float
and fixed-point rounding differ, which is the point of asking for it. A multiplier the mode
cannot hold (or scales out of range, `rewrites.scale_limits`) is refused at the op.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import PatternRewriter, PatternRewriteWalker, RewritePattern

from qdialect import qnn
from qdialect.qnn.common import Kind, kind_of
from qdialect.qnn.modes import RequantMode
from rewrites.scale_limits import ScaleRangeError, check_op, located


@dataclass(frozen=True)
class _SetRequantMode(RewritePattern):
    mode: RequantMode

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if not isinstance(op, qnn.Conv2DOp | qnn.DotOp) or kind_of(op.result) is not Kind.QUANTIZED:
            return
        if op.requant_mode_kind is self.mode:
            return
        new = op.clone()
        new.properties["requant_mode"] = StringAttr(self.mode.value)
        try:
            check_op(new)
        except ScaleRangeError as err:
            raise located(op, err) from None
        rewriter.replace(op, new)


@dataclass(frozen=True)
class LowerRequantFixedPointPass(ModulePass):
    name = "lower-requant-fixed-point"

    rounding: str = "tflite"

    def __post_init__(self) -> None:
        choices = [m.value for m in RequantMode if m is not RequantMode.FLOAT]
        if self.rounding not in choices:
            raise ValueError(f"rounding must be one of {choices}, got '{self.rounding}'")

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(_SetRequantMode(RequantMode(self.rounding))).rewrite_module(op)
