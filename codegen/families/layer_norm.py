"""layer_norm.c.j2: `qnn.layer_norm`, the float32 steps of ONNX Runtime's CPU kernel.

Rows are independent (parallel when the tensor is large); within a row the sums run in the
lanes MLAS's kernel uses, written out so that GCC (without -ffast-math) keeps their order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from codegen import threads
from codegen.kernel import EmitContext, Kernel
from codegen.plan import shape_of
from qdialect import qnn
from qdialect.qnn.float_math import SIMPLIFIED_KERNEL_LENGTH


@dataclass(frozen=True)
class LayerNormSpec:
    comment: str
    rows: int
    length: int  # elements normalized together (the dimensions from `axis` on)
    epsilon: float
    has_bias: bool
    parallel: bool
    simplified: bool  # RMSNorm (ORT's SimplifiedLayerNormalization)
    welford: bool  # the scalar loop at any length (ORT's SkipLayerNormalization)
    kernel_length: int  # ... whose rows this long or longer take MLAS's kernel
    two_pass: bool = False  # float32 sums in order (ORT's EmbedLayerNormalization)
    stats: bool = False  # qnn.layer_norm_stats: each row's mean and inverse deviation only

    @property
    def row_lanes(self) -> bool:
        """Whether the scalar loop (Welford's, the two-pass sums, RMSNorm's) runs 16 rows at
        once, one per vector lane: its sums are one serial chain per row (Welford's through a
        division per element, ~17 cycles each). 16 rows or more, whose 8-row gather offsets
        fit int32."""
        scalar = self.simplified and (self.welford or self.length < self.kernel_length)
        scalar |= not self.simplified and (self.welford or self.length < 8 or self.two_pass)
        return scalar and not self.stats and self.rows >= 16 and 7 * self.length < 2**31


def layer_norm(op: qnn.LayerNormOp, ctx: EmitContext) -> Kernel:
    shape = shape_of(op.input)
    axis = op.axis_value
    rows, length = math.prod(shape[:axis]), math.prod(shape[axis:])
    spec = LayerNormSpec(
        f"{op.name} over the last {len(shape) - axis} dimension(s)",
        rows,
        length,
        float(op.epsilon.value.data),
        op.bias is not None,
        rows > 1 and rows * length >= threads.PARALLEL_ELEMENTS,
        op.simplified is not None,
        op.welford is not None,
        SIMPLIFIED_KERNEL_LENGTH,
        op.two_pass is not None,
    )
    bias = ctx.plan.expr(op.bias) if op.bias is not None else "NULL"
    args = [ctx.plan.expr(op.input), ctx.plan.expr(op.scale), bias, ctx.plan.expr(op.result)]
    return Kernel("layer_norm.c.j2", spec, args)


def layer_norm_stats(op: qnn.LayerNormStatsOp, ctx: EmitContext) -> Kernel:
    shape = shape_of(op.input)
    axis = op.axis_value
    spec = LayerNormSpec(
        f"{op.name} over the last {len(shape) - axis} dimension(s)",
        math.prod(shape[:axis]),
        math.prod(shape[axis:]),
        float(op.epsilon.value.data),
        has_bias=False,
        parallel=False,
        simplified=False,
        welford=False,
        kernel_length=SIMPLIFIED_KERNEL_LENGTH,
        stats=True,
    )
    args = [ctx.plan.expr(v) for v in (op.input, op.mean, op.inv_std_dev)]
    return Kernel("layer_norm.c.j2", spec, args)
