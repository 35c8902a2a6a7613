"""lrn.c.j2: `qnn.lrn`, ONNX Runtime's LRN (`qdialect.lrn`; its C helpers, `qd_lrn_*`, are in
the prelude, `_common.c.j2`). One thread: ORT's last loop is one Eigen assignment only there,
and which elements take Eigen's packet pow depends on where ORT splits it."""

from __future__ import annotations

import math
from dataclasses import dataclass

from codegen.kernel import EmitContext, Kernel
from codegen.plan import shape_of
from qdialect import qnn
from qdialect.qnn.common import float_value


@dataclass(frozen=True)
class LrnSpec:
    comment: str
    n: int
    c: int
    hw: int  # pixels per channel
    size: int
    alpha: float
    beta: float
    bias: float


def lrn(op: qnn.LrnOp, ctx: EmitContext) -> Kernel:
    n, c, h, w = shape_of(op.input)
    alpha, beta, bias = (float_value(v) for v in (op.alpha, op.beta, op.bias))
    spec = LrnSpec(
        f"{op.name} of size {op.size.value.data}",
        n,
        c,
        h * w,
        op.size.value.data,
        alpha,  # type: ignore[arg-type]
        beta,  # type: ignore[arg-type]
        bias,  # type: ignore[arg-type]
    )
    scratch = ctx.scratch(4 * math.prod((n, c, h, w)))
    return Kernel("lrn.c.j2", spec, [ctx.plan.expr(op.input), ctx.plan.expr(op.result), scratch])
