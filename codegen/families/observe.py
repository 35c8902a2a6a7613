"""observe.c.j2: the observation ops, `qnn.observe` (a sample's extremes) and
`qnn.histogram` (a sample's counts per bin), read in one pass over the tensor."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from codegen.kernel import EmitContext, Kernel
from codegen.plan import shape_of
from qdialect import qnn
from qdialect.qnn.observe import HistogramRule, linear_width


@dataclass(frozen=True)
class ObservationSpec:
    """One pass over `size` float32 values. `histogram`: `bins` counts by `rule` (`edges`:
    the B + 1 edges, searched from a linear guess `(v - lo) · B / (hi - lo)`; `linear`:
    torch.histc's formula over [lo, hi] with `width = fl(hi - lo)`), of |x| with `absolute`.
    The edges (or lo, hi, width) are a constant the kernel reads, not part of its text: a
    second calibration on other data finds the same object in the JIT cache."""

    comment: str
    size: int
    histogram: bool = False
    bins: int = 0
    rule: str = ""
    absolute: bool = False


def histogram_data(edges: Sequence[float], linear: bool) -> np.ndarray:
    """What a histogram kernel reads: the B + 1 edges, or (`linear`) lo, hi and the width."""
    if not linear:
        return np.array(edges, np.float32)
    lo, hi = float(edges[0]), float(edges[-1])
    return np.array([lo, hi, linear_width(lo, hi)], np.float32)


def observation(op: qnn.ObserveOp | qnn.HistogramOp, ctx: EmitContext) -> Kernel:
    size = math.prod(shape_of(op.input))
    if isinstance(op, qnn.ObserveOp):
        args = [ctx.plan.expr(op.input), ctx.plan.expr(op.result)]
        return Kernel("observe.c.j2", ObservationSpec(op.name, size), args)
    spec = ObservationSpec(
        op.name,
        size,
        histogram=True,
        bins=op.bins,
        rule=op.rule_kind.value,
        absolute=op.absolute is not None,
    )
    data = histogram_data(op.edge_values, op.rule_kind is HistogramRule.LINEAR)
    edges_arg = ctx.plan.add_data(data, op.result)
    args = [ctx.plan.expr(op.input), f"((const float *){edges_arg})", ctx.plan.expr(op.result)]
    return Kernel("observe.c.j2", spec, args)
