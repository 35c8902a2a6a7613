"""logical.c.j2: the boolean and integer ops (qnn.logical, qnn.select, qnn.compare,
qnn.integer_binary) elementwise with broadcasting; cumsum.c.j2: qnn.cumsum; arg_reduce.c.j2:
qnn.arg_reduce; qnn.broadcast is a movement (movement.c.j2 reading with stride 0 where it
repeats)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from codegen.c_text import ctype_of
from codegen.families.add import broadcast_strides, collapse
from codegen.families.movement import MovementSpec
from codegen.kernel import EmitContext, Kernel
from codegen.plan import shape_of
from qdialect import qnn
from qdialect.tensors import element_type


@dataclass(frozen=True)
class LogicalSpec:
    comment: str
    kind: str  # and, or, xor, select(_merged), a Comparison's or an IntegerArithmetic's value
    size: int
    shape: tuple[int, ...]  # the result's, axes merged where no operand needs them apart
    strides: tuple[tuple[int, ...], ...]  # each operand's, over those axes
    ctypes: tuple[str, ...]  # each operand's
    out_ctype: str


Elementwise = qnn.LogicalOp | qnn.SelectOp | qnn.CompareOp | qnn.IntegerBinaryOp


def logical(op: Elementwise, ctx: EmitContext) -> Kernel:
    shape = shape_of(op.result) or (1,)
    operands = list(op.operands)
    if isinstance(op, qnn.SelectOp):
        kind = "select_merged" if op.merged is not None else "select"
    else:
        kind = op.kind_value.value
    strides = (broadcast_strides(v, shape) if shape_of(v) else (0,) * len(shape) for v in operands)
    merged, *merged_strides = collapse(shape, *strides)
    spec = LogicalSpec(
        f"{op.name} {kind}",
        kind,
        math.prod(shape),
        merged,
        tuple(merged_strides),
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


def axis_rows(shape, axis: int) -> tuple[int, int, int]:
    """(outer, size, inner): the rows an op along `axis` walks, the axis, the stride of it."""
    return math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1 :])


@dataclass(frozen=True)
class CumSumSpec:
    comment: str
    ctype: str
    accumulator: str  # float, or uint64_t: integers wrap around as two's complement
    outer: int
    size: int  # the summed axis
    inner: int
    exclusive: bool
    reverse: bool
    product: bool = False  # running products from 1


def cumsum(op: qnn.CumSumOp, ctx: EmitContext) -> Kernel:
    shape = shape_of(op.input)
    axis = op.axis_value
    ctype = ctype_of(element_type(op.input.type))
    spec = CumSumSpec(
        op.name,
        ctype,
        "float" if ctype == "float" else "uint64_t",
        *axis_rows(shape, axis),
        op.exclusive is not None,
        op.reverse is not None,
        op.product is not None,
    )
    return Kernel("cumsum.c.j2", spec, [ctx.plan.expr(op.input), ctx.plan.expr(op.result)])


@dataclass(frozen=True)
class ArgReduceSpec:
    comment: str
    ctype: str  # the compared values' (a quantized tensor's storage)
    better: str  # the C comparison that replaces the running best: >, >=, <, <=
    outer: int
    size: int  # the scanned axis
    inner: int


def arg_reduce(op: qnn.ArgReduceOp, ctx: EmitContext) -> Kernel:
    shape = shape_of(op.input)
    axis = op.axis_value
    larger = op.kind_value is qnn.ArgKind.MAX
    better = (">" if larger else "<") + ("=" if op.select_last_index is not None else "")
    spec = ArgReduceSpec(
        f"{op.name} {op.kind_value.value}",
        ctype_of(element_type(op.input.type)),
        better,
        *axis_rows(shape, axis),
    )
    return Kernel("arg_reduce.c.j2", spec, [ctx.plan.expr(op.input), ctx.plan.expr(op.result)])


@dataclass(frozen=True)
class TopKSpec:
    comment: str
    ctype: str  # the ranked values' (a quantized tensor's storage)
    better: str  # the C comparison by which a value ranks above a kept one: > or <
    k: int
    outer: int
    size: int  # the ranked axis
    inner: int


def top_k(op: qnn.TopKOp, ctx: EmitContext) -> Kernel:
    spec = TopKSpec(
        f"{op.name} k={op.k_value}",
        ctype_of(element_type(op.input.type)),
        "<" if op.smallest is not None else ">",
        op.k_value,
        *axis_rows(shape_of(op.input), op.axis_value),
    )
    args = [ctx.plan.expr(op.input), ctx.plan.expr(op.values), ctx.plan.expr(op.indices)]
    return Kernel("top_k.c.j2", spec, args)
