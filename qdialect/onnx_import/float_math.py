"""Float32 arithmetic on run-time tensors: Sub, Div, Min, Max, ReduceMin, ReduceMax, Round and
Cast from float32 to an integer type, as the qnn ops of qdialect/qnn/float_math.py.

These are what ONNX's own expansion of DynamicQuantizeLinear computes its scale and zero point
with, and what graphs that choose quantization parameters at run time carry. (Add and Mul are
`float_ops`; Sub and Cast on constants are folded as shape arithmetic before they get here.)
"""

from __future__ import annotations

import math

import numpy as np
from onnx import TensorProto
from xdsl.dialects.builtin import IntegerType, StringAttr, UnitAttr, f32, i64

from qdialect import qnn
from qdialect.onnx_import.builders import float_value, reshaped, unary_activation
from qdialect.onnx_import.common import (
    attrs,
    broadcast_shape,
    normalize_axis,
    shape_of,
    tensor_type,
)
from qdialect.onnx_import.errors import NodeError
from qdialect.onnx_import.graph import GraphImporter
from qdialect.onnx_import.logical import integer_binary, run_time_integer
from qdialect.onnx_import.movement import identity
from qdialect.onnx_import.registry import handles
from qdialect.onnx_import.tensor_types import CAST_TARGETS, onnx_type_of
from qdialect.qnn import Comparison, FloatBinary, Reduction, UnaryFunction
from qdialect.qnn.float_math import INTEGER_SOURCES
from qdialect.qnn.logical import BOOL, IntegerArithmetic
from qdialect.storage import integer_signature
from qdialect.tensors import element_type

BINARY = {
    "Sub": FloatBinary.SUB,
    "Div": FloatBinary.DIV,
    "Min": FloatBinary.MIN,
    "Max": FloatBinary.MAX,
    "PRelu": FloatBinary.PRELU,
}
REDUCE = {
    "ReduceMin": Reduction.MIN,
    "ReduceMax": Reduction.MAX,
    "ReduceSum": Reduction.SUM,
    "ReduceMean": Reduction.MEAN,
    "ReduceProd": Reduction.PROD,
}


@handles(*BINARY)
def binary(g: GraphImporter, node) -> None:
    """Sub, Div and PRelu (x, slope) of two tensors; Min and Max of one or more, folded left as
    ONNX's reference folds them (`np.minimum(np.minimum(a, b), c)`)."""
    if node.op_type in ("Sub", "Div", "PRelu") and len(node.input) != 2:
        raise NodeError(f"{node.op_type} takes 2 inputs, got {len(node.input)}")
    if node.op_type != "PRelu" and run_time_integer(g, node):
        return integer_binary(g, node)
    result = float_value(g, node.input[0])
    for name in node.input[1:]:
        other = float_value(g, name)
        shape = broadcast_shape(shape_of(result), shape_of(other))
        op = qnn.FloatBinaryOp(BINARY[node.op_type], result, other, tensor_type(shape, f32))
        result = g.add(op, node.output[0])
    g.define(node.output[0], result)


@handles("Mod")
def mod(g: GraphImporter, node) -> None:
    """Mod of run-time tensors (of constants it folds), the remainder with the divisor's sign
    (`fmod` 0) or the dividend's (1): integers as C's % (adjusted for 0); floats by C's
    `fmodf` (ORT's `std::fmod`, exact), for 0 as numpy's `mod` (ONNX's reference; ORT 1.31
    requires `fmod` 1 of floats)."""
    fmod = attrs(node).get("fmod", 0)
    if run_time_integer(g, node):
        kind = IntegerArithmetic.FMOD if fmod else IntegerArithmetic.MOD
        return integer_binary(g, node, kind)
    a, b = float_value(g, node.input[0]), float_value(g, node.input[1])
    shape = broadcast_shape(shape_of(a), shape_of(b))
    float_kind = FloatBinary.FMOD if fmod else FloatBinary.MOD
    op = qnn.FloatBinaryOp(float_kind, a, b, tensor_type(shape, f32))
    g.define(node.output[0], g.add(op, node.output[0]))


@handles("Reciprocal")
def reciprocal(g: GraphImporter, node) -> None:
    """Reciprocal as ORT computes it (Eigen's `cwiseInverse`): the division 1 / x (marked
    Reciprocal: no Div node to ORT's DivMulFusion)."""
    x = float_value(g, node.input[0])
    last = g.block.last_op
    one = g.float_constant(np.float32(1))
    op = qnn.FloatBinaryOp(FloatBinary.DIV, one, x, x.type)
    g.define(node.output[0], g.add(op, node.output[0]))
    g.mark_decomposed(last, "Reciprocal")


def _reduced_axes(g: GraphImporter, node, rank: int) -> list[int] | None:
    """The axes of a Reduce* node (an attribute before opset 18, an input from it; ReduceSum's
    input from opset 13); None for none with `noop_with_empty_axes` (ORT copies the input)."""
    a = attrs(node)
    data = g.optional_constant(1, "axes")
    axes = [int(v) for v in data.ravel()] if data is not None else list(a.get("axes", []))
    if not axes and a.get("noop_with_empty_axes", 0):
        return None
    return sorted({normalize_axis(v, rank) for v in axes}) if axes else list(range(rank))


def merged_reduce_shape(shape: tuple[int, ...], axes: list[int]) -> list[tuple[int, bool]]:
    """ORT's `fast_shape` of a reduction: runs of adjacent axes that are all reduced or all
    kept, merged into one (size, reduced) each (size-1 axes are not dropped)."""
    runs: list[tuple[int, bool]] = []
    for axis, size in enumerate(shape):
        reduced = axis in axes
        if runs and runs[-1][1] == reduced:
            runs[-1] = (runs[-1][0] * size, reduced)
        else:
            runs.append((size, reduced))
    return runs


def _sum_path(node, shape: tuple[int, ...], axes: list[int]) -> str:
    """Which of ONNX Runtime's ReduceSum/ReduceMean loops (reduction_ops.cc, one thread) sums
    over `axes`: "rows" (`FastReduceKR`: Eigen's sum of each row of the trailing axes, or of
    the whole tensor), "blocks" (`FastReduceRKR`: Eigen's sum of each contiguous block of the
    trailing axes, those added in order), "ones_gemm" (`FastReduceKRK` over [K0 ≥ 2, R, K1]:
    MLAS's product by ones) or "in_order" (the generic loop). Its copy of the first row for a
    large [R, K] (`FastReduceRK`) is refused."""
    runs = merged_reduce_shape(shape, axes)
    kinds = tuple(reduced for _, reduced in runs)
    if kinds in ((True,), (False, True)):
        return "rows"
    if kinds == (True, False, True) and runs[1][0] >= 2:
        return "blocks"
    if kinds == (False, True, False) and runs[0][0] >= 2:
        return "ones_gemm"
    if kinds == (True, False) and runs[0][0] > 16 and max(runs[0][0], runs[1][0]) > 256:
        raise NodeError(
            f"{node.op_type} over axes {axes} of {list(shape)} is not imported (ORT's "
            "FastReduceRK starts from the first row)"
        )
    return "in_order"


@handles(*REDUCE)
def reduce(g: GraphImporter, node) -> None:
    x = float_value(g, node.input[0])
    xs = shape_of(x)
    axes = _reduced_axes(g, node, len(xs))
    if axes is None:
        return identity(g, node)
    kind = REDUCE[node.op_type]
    if attrs(node).get("keepdims", 1):
        shape = [1 if i in axes else d for i, d in enumerate(xs)]
    else:
        shape = [d for i, d in enumerate(xs) if i not in axes]
    path = "rows"
    if kind in (Reduction.SUM, Reduction.MEAN) and math.prod(xs):
        path = _sum_path(node, xs, axes)
    elif kind is Reduction.PROD and len(axes) < len(xs):  # no fast path (ORT's aggregator)
        path = "in_order"
    if path == "blocks":
        return _block_sums(g, node, x, axes, shape)
    op = qnn.ReduceOp(kind, x, axes, tensor_type(shape, f32))
    if path in ("in_order", "ones_gemm"):
        op.properties[path] = UnitAttr()
    g.define(node.output[0], g.add(op, node.output[0]))


# ReduceL1, ReduceL2, ReduceSumSquare, ReduceLogSum: the step before the sum (|x|, x·x) and the
# one after it (sqrtss, glibc's logf), each as ORT's aggregator computes it
NORMS = {
    "ReduceL1": (UnaryFunction.ABS, None),  # (or `x > 0 ? x : -x`: `reduce_norm`)
    "ReduceL2": ("square", UnaryFunction.SQRT),
    "ReduceSumSquare": ("square", None),
    "ReduceLogSum": (None, UnaryFunction.LOGF),
}


@handles(*NORMS)
def reduce_norm(g: GraphImporter, node) -> None:
    """ReduceL1, ReduceL2, ReduceSumSquare and ReduceLogSum as ONNX Runtime's aggregators
    compute them (reduction_ops.h; none has a fast path): over every axis, one Eigen sum of the
    whole buffer (`aggall`, SSE packets from its first element); over any other axes, each
    result's elements in row-major order from +0.0 (`NoTransposeReduce1Loop`). With
    `noop_with_empty_axes` and no axes, each element alone: `0 + |x|`, ...)."""
    x = float_value(g, node.input[0])
    xs = shape_of(x)
    if not math.prod(xs):
        raise NodeError(f"{node.op_type} of an empty tensor ({list(xs)}) is not imported")
    axes = _reduced_axes(g, node, len(xs))
    before, after = NORMS[node.op_type]
    last = g.block.last_op

    every_axis = axes is not None and len(axes) == len(xs)
    terms = x
    if before == "square":
        terms = g.add(qnn.MulOp(x, x, x.type))
    elif before is not None and every_axis:  # Eigen's cwiseAbs: the sign cleared
        terms = g.add(unary_activation(before, x))
    elif before is not None:  # the aggregator's `x > 0 ? x : -x` (a NaN's sign flips)
        zero = g.float_constant(np.float32(0))
        positive = g.add(
            qnn.CompareOp.create(
                operands=[x, zero],
                result_types=[tensor_type(xs, BOOL)],
                properties={"kind": StringAttr(Comparison.GREATER.value)},
            )
        )
        negated = g.add(unary_activation(UnaryFunction.NEG, x))
        terms = g.add(qnn.SelectOp.create(operands=[positive, x, negated], result_types=[x.type]))
    if axes is None:  # the aggregator's start, +0.0, added (-0.0 becomes +0.0)
        y = g.add(qnn.AddOp(terms, g.float_constant(np.float32(0)), x.type))
    else:
        keep = attrs(node).get("keepdims", 1)
        shape = [1 if i in axes else d for i, d in enumerate(xs) if keep or i not in axes]
        op = qnn.ReduceOp(Reduction.SUM, terms, axes, tensor_type(shape, f32))
        if not every_axis:
            op.properties["in_order"] = UnitAttr()
        y = g.add(op)
    if after is not None:
        y = g.add(unary_activation(after, y))
    y.name_hint = None
    g.define(node.output[0], reshaped(g, y, list(shape_of(y)), node.output[0]))
    g.mark_decomposed(last, node.op_type)


@handles("LpNormalization")
def lp_normalization(g: GraphImporter, node) -> None:
    """LpNormalization (p 1 or 2) as ORT 1.31's kernel: each vector along the axis divided by
    its norm, the |x| or x·x summed in order (Eigen's sum of a strided vector) and, for p = 2,
    its sqrt; a vector whose norm is 0 gives zeros."""
    x = float_value(g, node.input[0])
    xs = shape_of(x)
    a = attrs(node)
    p = a.get("p", 2)
    if p not in (1, 2):
        raise NodeError(f"p must be 1 or 2, got {p}")
    axis = normalize_axis(a.get("axis", -1), len(xs))
    last = g.block.last_op
    terms = g.add(unary_activation(UnaryFunction.ABS, x) if p == 1 else qnn.MulOp(x, x, x.type))
    shape = [1 if i == axis else d for i, d in enumerate(xs)]
    norm = qnn.ReduceOp(Reduction.SUM, terms, [axis], tensor_type(shape, f32))
    norm.properties["in_order"] = UnitAttr()
    norm = g.add(norm)
    if p == 2:
        norm = g.add(unary_activation(UnaryFunction.SQRT, norm))
    quotient = g.add(qnn.FloatBinaryOp(FloatBinary.DIV, x, norm, x.type))
    zero = g.float_constant(np.float32(0))
    empty = qnn.CompareOp.create(
        operands=[norm, zero],
        result_types=[tensor_type(shape, BOOL)],
        properties={"kind": StringAttr(Comparison.EQUAL.value)},
    )
    select = qnn.SelectOp.create(operands=[g.add(empty), zero, quotient], result_types=[x.type])
    y = g.add(select, node.output[0])
    g.mark_decomposed(last, "LpNormalization")
    g.define(node.output[0], y)


def _block_sums(g: GraphImporter, node, x, axes: list[int], shape: list[int]) -> None:
    """`FastReduceRKR` over [A, B, C] (A and C reduced): per b, from +0.0, the Eigen sums of
    the A blocks x[a, b, :] in order of a; a mean divides that by A·C."""
    (a, _), (b, _), (c, _) = merged_reduce_shape(shape_of(x), axes)
    last = g.block.last_op
    blocks = reshaped(g, x, [a * b, c])
    rows = g.add(qnn.ReduceOp(Reduction.SUM, blocks, [1], tensor_type([a * b], f32)))
    in_order = qnn.ReduceOp(Reduction.SUM, reshaped(g, rows, [a, b]), [0], tensor_type([b], f32))
    in_order.properties["in_order"] = UnitAttr()
    sums = g.add(in_order)
    if REDUCE[node.op_type] is Reduction.MEAN:
        count = g.float_constant(np.float32(a * c))
        sums = g.add(qnn.FloatBinaryOp(FloatBinary.DIV, sums, count, sums.type))
    g.define(node.output[0], reshaped(g, sums, shape, node.output[0]))
    g.mark_decomposed(last, node.op_type)


@handles("Round")
def round_half_to_even(g: GraphImporter, node) -> None:
    x = float_value(g, node.input[0])
    g.define(node.output[0], g.add(qnn.RoundOp(x, x.type), node.output[0]))


def cast(g: GraphImporter, node, to: int | None = None) -> None:
    """Cast of a run-time float32 tensor to an integer type (or to float32: a `qnn.cast` that
    `qnn-default` drops, `rewrites.float_casts`), or of
    an int32/int64/boolean one (an attention mask) to float32 or to a boolean. `to`: the
    ONNX type (a CastLike's target's), else the node's attribute."""
    to = attrs(node).get("to") if to is None else to
    source = g.values.get(node.input[0])
    if source is not None and integer_signature(element_type(source.type)) in INTEGER_SOURCES:
        elem = element_type(source.type)
        target = {TensorProto.FLOAT: f32, TensorProto.BOOL: BOOL, TensorProto.INT64: i64}.get(to)
        if target is None and to in CAST_TARGETS:
            target = IntegerType(CAST_TARGETS[to][0], CAST_TARGETS[to][1])
        if target is None:
            name = TensorProto.DataType.Name(to) if to in TensorProto.DataType.values() else to
            raise NodeError(
                f"Cast of {elem} to {name} is not imported (to FLOAT, BOOL and integers are)"
            )
        if target == elem:
            return g.define(node.output[0], source)
        op = qnn.CastOp(source, tensor_type(shape_of(source), target))
        return g.define(node.output[0], g.add(op, node.output[0]))
    x = float_value(g, node.input[0])
    if to == TensorProto.FLOAT:  # kept: ONNX Runtime's quantizer gives this tensor its own range
        return g.define(node.output[0], g.add(qnn.CastOp(x, x.type), node.output[0]))
    if to not in CAST_TARGETS:
        name = TensorProto.DataType.Name(to) if to in TensorProto.DataType.values() else to
        targets = ", ".join(TensorProto.DataType.Name(t) for t in CAST_TARGETS)
        raise NodeError(f"Cast of float32 to {name} is not imported (to {targets}, FLOAT are)")
    elem = IntegerType(*CAST_TARGETS[to])
    op = qnn.CastOp(x, tensor_type(shape_of(x), elem))
    g.define(node.output[0], g.add(op, node.output[0]))


@handles("CastLike")
def cast_like(g: GraphImporter, node) -> None:
    """CastLike: the Cast to its second input's type (which only its type is read of)."""
    cast(g, node, onnx_type_of(g, node.input[1]))


@handles("InstanceNormalization")
def instance_norm(g: GraphImporter, node) -> None:
    """InstanceNormalization as ONNX Runtime's CPU kernel computes it (instance_norm.cc), in
    float ops that take the same steps: per (n, c) row of L spatial values, `mean = Σx / L`
    (Eigen's vectorized sum of the row: `qnn.reduce`'s order), the centred sum of squares
    `Σ(x - mean)²` (Eigen's sum of an expression: lanes from the row's first element,
    `from_first`), `inv = 1 / sqrt(ss / L + epsilon)`, `s = inv · scale[c]`,
    `t = B[c] - mean · s`, `y = x · s + t` (no FMA: ORT's Eigen is built for SSE2). The ops
    stand for the node."""
    x = float_value(g, node.input[0])
    scale, bias = float_value(g, node.input[1]), float_value(g, node.input[2])
    shape = shape_of(x)
    if len(shape) < 3 or shape_of(scale) != (shape[1],) or shape_of(bias) != (shape[1],):
        raise NodeError(
            f"input must be [N, C, ...] with a scale and a bias of C values, got {list(shape)}, "
            f"{list(shape_of(scale))} and {list(shape_of(bias))}"
        )
    n, c, length = shape[0], shape[1], math.prod(shape[2:])
    last = g.block.last_op
    rows = reshaped(g, x, [n, c, length])
    per_row = tensor_type([n, c, 1], f32)

    def binary(kind: FloatBinary, a, b, result=per_row):
        return g.add(qnn.FloatBinaryOp(kind, a, b, result))

    def arithmetic(op_class, a, b, result=per_row):
        return g.add(op_class(a, b, result))

    mean = g.add(qnn.ReduceOp(Reduction.MEAN, rows, [2], per_row))
    centred = binary(FloatBinary.SUB, rows, mean, rows.type)
    squares = arithmetic(qnn.MulOp, centred, centred, rows.type)
    norm = qnn.ReduceOp(Reduction.SUM, squares, [2], per_row)
    norm.properties["from_first"] = UnitAttr()
    variance = binary(FloatBinary.DIV, g.add(norm), g.float_constant(np.float32(length)))
    epsilon = np.float32(attrs(node).get("epsilon", 1e-5))
    shifted = arithmetic(qnn.AddOp, variance, g.float_constant(epsilon))
    sqrt = {"function": StringAttr(UnaryFunction.SQRT.value)}
    root = g.add(
        qnn.ActivationOp.create(operands=[shifted], result_types=[per_row], properties=sqrt)
    )
    inverse = binary(FloatBinary.DIV, g.float_constant(np.float32(1)), root)
    channel_scale = arithmetic(qnn.MulOp, inverse, reshaped(g, scale, [c, 1]))
    product = arithmetic(qnn.MulOp, mean, channel_scale)
    channel_shift = binary(FloatBinary.SUB, reshaped(g, bias, [c, 1]), product)
    scaled = arithmetic(qnn.MulOp, rows, channel_scale, rows.type)
    y = arithmetic(qnn.AddOp, scaled, channel_shift, rows.type)
    y = reshaped(g, y, list(shape), node.output[0])
    g.mark_decomposed(last, "InstanceNormalization")
    g.define(node.output[0], y)
