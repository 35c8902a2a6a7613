"""logical.c.j2: the boolean ops (qnn.logical, qnn.select) elementwise with broadcasting;
qnn.broadcast is a movement (movement.c.j2 reading with stride 0 where it repeats)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from codegen.c_text import ctype_of
from codegen.families.add import broadcast_strides
from codegen.families.movement import MovementSpec
from codegen.kernel import EmitContext, Kernel
from codegen.plan import shape_of
from qdialect import qnn
from qdialect.tensors import element_type


@dataclass(frozen=True)
class LogicalSpec:
    comment: str
    kind: str  # and, or, xor, select
    size: int
    shape: tuple[int, ...]  # the result's (rank >= 1)
    strides: tuple[tuple[int, ...], ...]  # each operand's, over the result's indices
    ctypes: tuple[str, ...]  # each operand's
    out_ctype: str


def logical(op: qnn.LogicalOp | qnn.SelectOp, ctx: EmitContext) -> Kernel:
    shape = shape_of(op.result) or (1,)
    operands = list(op.operands)
    kind = "select" if isinstance(op, qnn.SelectOp) else op.kind_value.value
    spec = LogicalSpec(
        f"{op.name} {kind}",
        kind,
        math.prod(shape),
        shape,
        tuple(broadcast_strides(v, shape) if shape_of(v) else (0,) * len(shape) for v in operands),
        tuple(ctype_of(element_type(v.type)) for v in operands),
        ctype_of(element_type(op.result.type)),
    )
    args = [ctx.plan.expr(v) for v in operands] + [ctx.plan.expr(op.result)]
    return Kernel("logical.c.j2", spec, args)


def broadcast(op: qnn.BroadcastOp, ctx: EmitContext) -> Kernel:
    out_shape = shape_of(op.result)
    spec = MovementSpec(
        op.name,
        kind="transpose",
        ctype=ctype_of(element_type(op.input.type)),
        rank=len(out_shape),
        in_shape=shape_of(op.input),
        out_shape=out_shape,
        src_strides=broadcast_strides(op.input, out_shape),
    )
    return Kernel("movement.c.j2", spec, [ctx.plan.expr(op.input), ctx.plan.expr(op.result)])
