"""lrn.c.j2: `qnn.lrn`, ONNX Runtime's LRN (`qdialect.lrn`; its C helpers, `qd_lrn_*`, are in
the prelude, `_common.c.j2`). The blocks ORT's threads cut its last loop into are computed
here (which elements take Eigen's packet pow depends on them) and run in order."""

from __future__ import annotations

import math
from dataclasses import dataclass

from codegen.kernel import EmitContext, Kernel
from codegen.plan import shape_of
from qdialect import qnn
from qdialect.lrn import ort_blocks


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
    threads: int  # ORT's intra-op threads (`qnn.lrn {threads}`)
    blocks: tuple[tuple[int, int], ...]  # ... and the blocks of its last loop on them


def lrn(op: qnn.LrnOp, ctx: EmitContext) -> Kernel:
    n, c, h, w = shape_of(op.input)
    alpha, beta, bias = (v.value.data for v in (op.alpha, op.beta, op.bias))
    threads = op.threads_value
    spec = LrnSpec(
        f"{op.name} of size {op.size.value.data}",
        n,
        c,
        h * w,
        op.size.value.data,
        alpha,
        beta,
        bias,
        threads,
        tuple(ort_blocks(n * c * h * w, threads)),
    )
    scratch = ctx.scratch(4 * math.prod((n, c, h, w)))
    return Kernel("lrn.c.j2", spec, [ctx.plan.expr(op.input), ctx.plan.expr(op.result), scratch])
