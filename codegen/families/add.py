"""add.c.j2: elementwise add and mul with numpy broadcasting; quantized, ONNX Runtime's
QLinearAdd and QLinearMul."""

from __future__ import annotations

import math
from dataclasses import dataclass

from xdsl.ir import SSAValue

from codegen import threads
from codegen.c_text import INT8_RANGES, ctype_of
from codegen.families.quant_params import scale_limits
from codegen.geometry import strides_of
from codegen.kernel import EmitContext, Kernel
from codegen.plan import shape_of
from codegen.spec import SpecView
from qdialect import qnn
from qdialect.arithmetic import (
    AddConstants,
    add_constants,
    mul_multiplier,
    qlinear_add_swaps,
)
from qdialect.tensors import element_type
from qdialect.types import UniformQuantizedType


@dataclass(frozen=True)
class RawOffsets:
    """What u8-to-i8 adds back to the stored values of (a, b, y) so the add sees the original
    unsigned values (DESIGN §2, uint8 → int8)."""

    off_a: int = 0
    off_b: int = 0
    off_y: int = 0


def raw_offsets(op) -> tuple[int, int, int]:
    return tuple(op.raw_offsets.get_values()) if op.raw_offsets else (0, 0, 0)


def qlinear_add(ta, tb, ty, offsets: tuple[int, int, int]) -> AddConstants:
    """The QLinearAdd constants of types a, b, y whose stored values carry `offsets` (scales
    out of range are refused, see `scale_limits`)."""
    pairs = [(t.scale, t.zero_point + o) for t, o in zip((ta, tb, ty), offsets, strict=True)]
    with scale_limits():
        return add_constants(*pairs)


@dataclass(frozen=True)
class AddSpec:
    comment: str
    shape: tuple[int, ...]
    size: int
    a_strides: tuple[int, ...]  # 0 along broadcast dimensions
    b_strides: tuple[int, ...]
    a_ctype: str
    b_ctype: str
    out_ctype: str
    quantized: bool
    constants: AddConstants | None
    offsets: RawOffsets
    qmin: int  # the result's bounds, raw
    qmax: int
    mul: bool = False  # qnn.mul: QLinearMul's multiplier and raw output zero point
    multiplier: float = 0.0
    zero_out: int = 0
    zero_a: int = 0  # the operands' zero points ((a - za) does not depend on raw offsets)
    zero_b: int = 0


@dataclass(frozen=True)
class AddLoops:
    """The loop nest: rows of the collapsed shape's last axis, each in chunks (the parallel
    tasks), eight lanes at a time where `vector` (an 8-bit QLinearAdd or QLinearMul whose
    operands run along the row with stride 0 or 1)."""

    outer: tuple[int, ...]  # the collapsed shape without its last axis
    outer_a: tuple[int, ...]  # element strides along `outer`
    outer_b: tuple[int, ...]
    row: int  # elements per row
    row_a: int  # stride along the row
    row_b: int
    chunk: int  # elements per task
    chunks: int  # tasks per row
    parallel: bool
    vector: bool


def collapse(shape: tuple[int, ...], *strides: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
    """(shape, *strides) with each axis merged into the next where every operand steps through
    it contiguously, so a same-shape add is one row and a bias broadcast along rows keeps rows
    of full length."""
    columns = list(zip(shape, *strides, strict=True))
    dims = [list(d) for d in columns if d[0] != 1] or [[1] + [0] * len(strides)]
    merged = [dims[-1]]
    for n, *steps in reversed(dims[:-1]):
        inner = merged[0]
        if all(s == t * inner[0] for s, t in zip(steps, inner[1:], strict=True)):
            inner[0] *= n
        else:
            merged.insert(0, [n, *steps])
    return tuple(tuple(d[i] for d in merged) for i in range(1 + len(strides)))


def add_loops(spec: AddSpec) -> AddLoops:
    shape, a, b = collapse(spec.shape, spec.a_strides, spec.b_strides)
    row, row_a, row_b = shape[-1], a[-1], b[-1]
    parallel = spec.size >= threads.PARALLEL_ELEMENTS
    chunk = min(row, threads.CONVERT_CHUNK) if parallel else row
    eight_bit = all(c in INT8_RANGES for c in (spec.a_ctype, spec.b_ctype, spec.out_ctype))
    finite = math.isfinite(spec.multiplier) if spec.mul else _lanes_stay_finite(spec.constants)
    vector = spec.quantized and eight_bit and row_a in (0, 1) and row_b in (0, 1) and finite
    return AddLoops(
        shape[:-1], a[:-1], b[:-1], row, row_a, row_b, chunk, -(-row // chunk), parallel, vector
    )


def _lanes_stay_finite(c: AddConstants | None) -> bool:
    """|r| of QLinearAdd far inside float's range for every stored input plus offset (< 512),
    so the AVX2 loop may clamp r before vcvtps2dq (which gives INT_MIN out of range) and
    equal the scalar clamp after rint."""
    if c is None:
        return False
    bound = 512.0 * (abs(c.ra) + abs(c.rb)) + abs(c.k)
    return math.isfinite(bound) and bound < 2.0**30


def broadcast_strides(value: SSAValue, out_shape: tuple[int, ...]) -> tuple[int, ...]:
    """Element strides of `value` read at every index of `out_shape` (numpy broadcasting)."""
    shape = shape_of(value)
    padded = (1,) * (len(out_shape) - len(shape)) + shape
    own = strides_of(padded)
    return tuple(
        0 if d == 1 and o != 1 else s for d, o, s in zip(padded, out_shape, own, strict=True)
    )


def add(op: qnn.AddOp | qnn.MulOp, ctx: EmitContext) -> Kernel:
    out_shape = shape_of(op.result)
    out = element_type(op.result.type)
    quantized = isinstance(out, UniformQuantizedType)
    offsets = raw_offsets(op)
    constants, mul = None, isinstance(op, qnn.MulOp)
    lhs, rhs = op.lhs, op.rhs
    if quantized and not mul and qlinear_add_swaps(shape_of(lhs), shape_of(rhs)):
        lhs, rhs, offsets = rhs, lhs, (offsets[1], offsets[0], offsets[2])
    types = [element_type(v.type) for v in (lhs, rhs)]
    if quantized and not mul:
        constants = qlinear_add(*types, out, offsets)
    multiplier = 0.0
    if quantized and mul:
        with scale_limits():
            multiplier = mul_multiplier(types[0].scale, types[1].scale, out.scale)
    spec = AddSpec(
        op.name,
        out_shape,
        math.prod(out_shape),
        broadcast_strides(lhs, out_shape),
        broadcast_strides(rhs, out_shape),
        ctype_of(types[0]),
        ctype_of(types[1]),
        ctype_of(out),
        quantized,
        constants,
        RawOffsets(*offsets),
        out.qmin + offsets[2] if quantized else 0,
        out.qmax + offsets[2] if quantized else 0,
        mul,
        multiplier,
        out.zero_point + offsets[2] if quantized else 0,
        *((t.zero_point for t in types) if quantized else (0, 0)),
    )
    args = [ctx.plan.expr(lhs), ctx.plan.expr(rhs), ctx.plan.expr(op.result)]
    return Kernel("add.c.j2", SpecView(spec, add_loops(spec)), args)
