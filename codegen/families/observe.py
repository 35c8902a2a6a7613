"""observe.c.j2: the observation ops, `qnn.observe` (a sample's extremes) and
`qnn.histogram` (a sample's counts per bin), read in one pass over the tensor."""

from __future__ import annotations

import math
from dataclasses import dataclass

from codegen.kernel import EmitContext, Kernel
from codegen.plan import shape_of
from qdialect import qnn
from qdialect.qnn.observe import HistogramRule, linear_width


@dataclass(frozen=True)
class ObservationSpec:
    """One pass over `size` float32 values. `histogram`: `bins` counts by `rule` (`edges`:
    the B + 1 edges, searched from a linear guess `(v - lo) * guess_scale`; `linear`:
    torch.histc's formula with `width = fl(hi - lo)`), of |x| with `absolute`."""

    comment: str
    size: int
    histogram: bool = False
    bins: int = 0
    rule: str = ""
    absolute: bool = False
    edges: tuple[float, ...] = ()
    lo: float = 0.0
    hi: float = 0.0
    width: float = 0.0
    guess_scale: float = 0.0


def observation(op: qnn.ObserveOp | qnn.HistogramOp, ctx: EmitContext) -> Kernel:
    size = math.prod(shape_of(op.input))
    args = [ctx.plan.expr(op.input), ctx.plan.expr(op.result)]
    if isinstance(op, qnn.ObserveOp):
        return Kernel("observe.c.j2", ObservationSpec(op.name, size), args)
    edges = op.edge_values
    lo, hi = edges[0], edges[-1]
    linear = op.rule_kind is HistogramRule.LINEAR
    spec = ObservationSpec(
        op.name,
        size,
        histogram=True,
        bins=op.bins,
        rule=op.rule_kind.value,
        absolute=op.absolute is not None,
        edges=() if linear else edges,
        lo=lo,
        hi=hi,
        width=linear_width(lo, hi),
        # only where the search for a value's bin starts (the edges decide): any finite value
        guess_scale=op.bins / (hi - lo),
    )
    return Kernel("observe.c.j2", spec, args)
