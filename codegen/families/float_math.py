"""float_math.c.j2: the float32 ops of qdialect/qnn/float_math.py (binary, reduce, round, cast).

Scalar loops over the elements in row-major order; a multi-index steps through the input
(reduce) so that reduced dimensions are strides of 0; a binary op runs along the rows of its
collapsed shape (broadcast dimensions are strides of 0), which the compiler vectorizes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from codegen.c_text import ctype_of
from codegen.families.add import broadcast_strides, collapse
from codegen.geometry import strides_of
from codegen.kernel import EmitContext, Kernel
from codegen.plan import shape_of
from qdialect import qnn
from qdialect.float_types import is_float_type
from qdialect.qnn.float_math import INTEGER_SOURCES, Reduction
from qdialect.storage import integer_signature, storage_bounds
from qdialect.tensors import element_type


@dataclass(frozen=True)
class FloatMathSpec:
    """`kind`: binary_<sub|div|min|max|prelu|pow>, reduce_<min|max|sum|mean|prod>, round, cast
    (float32 to an integer type), cast_to_float (an integer type to float32) or cast_to_bool
    (an integer type to i1, held as int8_t: `x != 0`) or cast_to_integer (wrapping)."""

    kind: str
    comment: str
    size: int  # elements the loop visits: the result's (binary), the input's (reduce, ...)
    shape: tuple[int, ...] = (1,)  # the visited shape (rank >= 1)
    a_strides: tuple[int, ...] = (0,)  # binary: lhs, rhs; reduce: the result (0 on axes)
    b_strides: tuple[int, ...] = (0,)
    out_size: int = 0  # reduce (sum, mean: the rows, of size / out_size elements each)
    out_ctype: str = "float"  # cast
    in_ctype: str = "float"  # cast_to_float
    from_first: bool = False  # reduce_sum/mean/prod: lanes from each row's first element
    in_order: bool = False  # reduce_sum/mean/prod: row-major order, any axes
    ones_gemm: tuple[int, int, int] | None = None  # reduce_sum/mean: [K0, R, K1], MLAS's order
    trailing: bool = False  # reduce_min/max over the last axes: each result one contiguous row
    columns: tuple[int, int, int] | None = None  # reduce_min/max over a run of axes: [K0, R, K1]
    qmin: int = 0
    qmax: int = 0


def _at_least_1d(shape: tuple[int, ...]) -> tuple[int, ...]:
    return shape or (1,)


def binary(op: qnn.FloatBinaryOp, ctx: EmitContext) -> Kernel:
    """Over the collapsed shape (`add.collapse`), whose last axis the loop runs along."""
    shape = shape_of(op.result)
    collapsed = collapse(shape, *(broadcast_strides(v, shape) for v in (op.lhs, op.rhs)))
    spec = FloatMathSpec(
        f"binary_{op.kind_value.value}",
        f"{op.name} {op.kind_value.value}",
        math.prod(shape),
        *collapsed,
    )
    args = [ctx.plan.expr(v) for v in (op.lhs, op.rhs, op.result)]
    return Kernel("float_math.c.j2", spec, args)


def reduce(op: qnn.ReduceOp, ctx: EmitContext) -> Kernel:
    shape = shape_of(op.input)
    axes = op.axis_list
    kept = tuple(d for i, d in enumerate(shape) if i not in axes)
    own = iter(strides_of(kept))
    out_strides = tuple(0 if i in axes else next(own) for i in range(len(shape)))
    extreme = op.kind_value in (Reduction.MIN, Reduction.MAX)
    spec = FloatMathSpec(
        f"reduce_{op.kind_value.value}",
        f"{op.name} {op.kind_value.value} over axes {list(axes)}",
        math.prod(shape),
        _at_least_1d(shape),
        out_strides or (0,),
        out_size=math.prod(kept),
        from_first=op.from_first is not None,
        in_order=op.in_order is not None,
        ones_gemm=_runs(shape, axes) if op.ones_gemm is not None else None,
        trailing=extreme
        and tuple(axes) == tuple(range(len(shape) - len(axes), len(shape)))
        and math.prod(kept) > 0
        and math.prod(shape) >= 8 * math.prod(kept),
        columns=_runs(shape, axes)
        if extreme and axes and tuple(axes) == tuple(range(axes[0], axes[-1] + 1))
        else None,
    )
    args = [ctx.plan.expr(op.input), "NULL", ctx.plan.expr(op.result)]
    return Kernel("float_math.c.j2", spec, args)


def _runs(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, int, int]:
    """[K0, R, K1]: the sizes before, of and after one run of reduced axes."""
    first, last = axes[0], axes[-1] + 1
    return math.prod(shape[:first]), math.prod(shape[first:last]), math.prod(shape[last:])


def unary(op: qnn.RoundOp | qnn.CastOp, ctx: EmitContext) -> Kernel:
    size = math.prod(shape_of(op.input))
    elem = element_type(op.result.type)
    if isinstance(op, qnn.RoundOp):
        spec = FloatMathSpec("round", op.name, size)
    elif integer_signature(element_type(op.input.type)) in INTEGER_SOURCES:
        if is_float_type(elem):
            kind = "cast_to_float"
        elif integer_signature(elem) == (1, True):
            kind = "cast_to_bool"
        else:
            kind = "cast_to_integer"
        in_ctype = ctype_of(element_type(op.input.type))
        spec = FloatMathSpec(kind, op.name, size, out_ctype=ctype_of(elem), in_ctype=in_ctype)
    else:
        qmin, qmax = storage_bounds(*integer_signature(elem))
        spec = FloatMathSpec("cast", op.name, size, out_ctype=ctype_of(elem), qmin=qmin, qmax=qmax)
    args = [ctx.plan.expr(op.input), "NULL", ctx.plan.expr(op.result)]
    return Kernel("float_math.c.j2", spec, args)
