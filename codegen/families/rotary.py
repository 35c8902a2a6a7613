"""rotary.c.j2: `qnn.rotary`, ONNX Runtime's RotaryEmbedding (`qdialect.rotary`): which pairs
of a row fuse their multiply-adds is decided here, the rows run in order."""

from __future__ import annotations

from dataclasses import dataclass

from codegen.kernel import EmitContext, Kernel
from codegen.plan import shape_of
from qdialect import qnn
from qdialect.rotary import fused_pairs


@dataclass(frozen=True)
class RotarySpec:
    comment: str
    batch: int
    heads: int
    length: int  # tokens
    size: int  # head size D
    half: int  # pairs rotated per head vector
    interleaved: bool
    fused: int  # leading pairs computed with fmaf


def rotary(op: qnn.RotaryOp, ctx: EmitContext) -> Kernel:
    batch, heads, length, size = shape_of(op.input)
    half = shape_of(op.cos)[2]
    interleaved = op.interleaved is not None
    spec = RotarySpec(
        f"{op.name}{' (interleaved)' if interleaved else ''} of {2 * half} of {size}",
        batch,
        heads,
        length,
        size,
        half,
        interleaved,
        fused_pairs(half, interleaved),
    )
    operands = [ctx.plan.expr(v) for v in (op.input, op.cos, op.sin, op.result)]
    return Kernel("rotary.c.j2", spec, operands)
