"""col2im.c.j2: `qnn.col2im`, ConvTranspose's scatter-add (qdialect/qnn/col2im.py)."""

from __future__ import annotations

from dataclasses import dataclass

from codegen.kernel import EmitContext, Kernel
from codegen.plan import shape_of
from qdialect import qnn


@dataclass(frozen=True)
class Col2ImSpec:
    comment: str
    C: int
    KH: int
    KW: int
    H: int
    W: int
    OH: int
    OW: int
    SH: int
    SW: int
    DH: int
    DW: int
    PT: int
    PL: int


def col2im(op: qnn.Col2ImOp, ctx: EmitContext) -> Kernel:
    c, kh, kw, h, w = shape_of(op.input)
    _, oh, ow = shape_of(op.result)
    (sh, sw), (dh, dw), (pt, pl) = op.window
    spec = Col2ImSpec(op.name, c, kh, kw, h, w, oh, ow, sh, sw, dh, dw, pt, pl)
    return Kernel("col2im.c.j2", spec, [ctx.plan.expr(op.input), ctx.plan.expr(op.result)])
