"""Constant folding of the shape arithmetic exported graphs carry.

PyTorch's exporter writes `Flatten` as Shape → Gather → Unsqueeze → Concat → Reshape, and
`torch.chunk` or attention's head split as Div and Mod of sizes; with static input shapes every
one of those is a constant, so the importer evaluates them with numpy (ONNX's integer rules:
Div truncates) and the Reshape sees a constant shape. Such ops on run-time tensors are not
imported.

Float constants fold where numpy computes ONNX Runtime's bits: the IEEE operations (Add, Sub,
Mul, Div, Neg, Abs, comparisons: one correctly rounded step each), Pow and Log as ORT's kernels
compute them (`qdialect.float32_arrays`). That covers the relative-position buckets T5 and
DeBERTa compute from constant positions (Cast, Div, Log, Mul, then back to int64), where one
ulp moves a bucket. Min, Max, Clip, Mod, Range, CumSum and the Sum, Prod, Max and Min
reductions fold on integers only (NaN and
summation order are ORT's own there). QuantizeLinear and DequantizeLinear fold (DESIGN §2's
steps, per tensor) where ORT's quantizer put a pair on shape arithmetic (MobileViT's patch
count: Ceil → Q/DQ → Mul → Q/DQ → Cast to INT64): a QuantizeLinear of a folded value, and a
DequantizeLinear of one whose every reader folds too, so a pair an activation's op reads stays
for the fusion. The Mul between such pairs (QLinearMul in QOperator form) folds as the float
product of the dequantized values: exact on the integers shapes carry. A folded
float value still counts as a node output for calibration (`import_onnx(node_constants=)`);
ORT's QOperator quantizer would turn a Mul or Add of two such constants into a QLinearMul /
QLinearAdd, which the folded value does not reproduce.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

from qdialect.arithmetic import quantize_value
from qdialect.float32_arrays import dynamic_qparams_of, onnx_log, onnx_pow
from qdialect.integer_arrays import bit_shift
from qdialect.onnx_import.common import attrs, shape_of
from qdialect.onnx_import.errors import NodeError
from qdialect.onnx_import.tensor_types import onnx_type_of


def _shape(g, node, inputs) -> np.ndarray:
    del inputs
    name = node.input[0]
    dims = g.initializers[name].shape if name in g.initializers else shape_of(g.value(name))
    a = attrs(node)
    return np.array(dims[a.get("start", 0) : a.get("end", len(dims))], np.int64)


def _size(g, node, inputs) -> np.ndarray:
    """Size: the element count of the input's static shape (a run-time tensor's too)."""
    return np.array(math.prod(_shape(g, node, inputs)), np.int64)


def _axes(node, inputs) -> list[int] | None:
    if len(inputs) > 1 and inputs[1] is not None:
        return [int(v) for v in inputs[1].ravel()]
    axes = attrs(node).get("axes")
    return list(axes) if axes is not None else None


def _unsqueeze(g, node, inputs) -> np.ndarray:
    data, axes = inputs[0], _axes(node, inputs)
    rank = data.ndim + len(axes)
    return np.expand_dims(data, tuple(a % rank for a in axes))


def _squeeze(g, node, inputs) -> np.ndarray:
    axes = _axes(node, inputs)
    return np.squeeze(inputs[0], None if axes is None else tuple(axes))


def _slice(g, node, inputs) -> np.ndarray:
    data, starts, ends = inputs[0], inputs[1], inputs[2]
    axes = inputs[3] if len(inputs) > 3 and inputs[3] is not None else range(len(starts))
    steps = inputs[4] if len(inputs) > 4 and inputs[4] is not None else [1] * len(starts)
    index = [slice(None)] * data.ndim
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        index[int(axis)] = slice(int(start), int(end), int(step))
    return data[tuple(index)]


def _reshape(g, node, inputs) -> np.ndarray:
    data, spec = inputs
    shape = [data.shape[i] if d == 0 else int(d) for i, d in enumerate(spec)]
    return data.reshape(shape)


def _cast(g, node, inputs) -> np.ndarray:
    from onnx import helper

    with np.errstate(invalid="ignore"):  # T5's log(0) = -inf cast to int64, then not chosen
        return inputs[0].astype(helper.tensor_dtype_to_np_dtype(attrs(node)["to"]))


def _cast_like(g, node, inputs) -> np.ndarray:
    """CastLike of a constant (ONNX's function expansions cast their literals so) to its
    second input's type, which may be a run-time tensor's."""
    from onnx import helper

    with np.errstate(invalid="ignore"):
        return inputs[0].astype(helper.tensor_dtype_to_np_dtype(onnx_type_of(g, node.input[1])))


def _dynamic_quantize_linear(g, node, inputs) -> tuple[np.ndarray, ...]:
    """DynamicQuantizeLinear of a constant (`quantize_dynamic`'s ConvInteger weight when it is
    no initializer: a tied weight through an Identity): DESIGN §2's dynamic quantize, as ORT's
    constant folding computes it; three outputs."""
    x = np.asarray(inputs[0], np.float32)
    scale, zero = dynamic_qparams_of(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.rint(np.clip(x / np.float32(scale), -zero, 255 - zero))
    data = np.where(np.isnan(v), 0, v + zero).astype(np.uint8)
    return data, np.array(scale, np.float32), np.array(zero, np.uint8)


def _constant_of_shape(g, node, inputs) -> np.ndarray:
    from onnx import numpy_helper

    value = attrs(node).get("value")  # one element; float32 0 by default
    fill = np.zeros(1, np.float32) if value is None else numpy_helper.to_array(value).reshape(-1)
    return np.full([int(d) for d in inputs[0].ravel()], fill[0], fill.dtype)


def _eye_like(g, node, inputs) -> np.ndarray:
    """EyeLike of a run-time tensor: ones on the k-th diagonal of its static 2-D shape, in the
    `dtype` attribute's type or the input's."""
    from onnx import helper

    del inputs
    rows, columns = _shape(g, node, [])
    a = attrs(node)
    dtype = helper.tensor_dtype_to_np_dtype(a.get("dtype", onnx_type_of(g, node.input[0])))
    if dtype.kind == "f" and dtype != np.float32:
        raise NodeError(f"EyeLike to {dtype} is not imported (float32, integers, bool)")
    return np.eye(rows, columns, a.get("k", 0), dtype=dtype)


def _transpose(g, node, inputs) -> np.ndarray:
    return np.transpose(inputs[0], attrs(node).get("perm"))


def _div(g, node, inputs) -> np.ndarray:
    """ONNX integer Div truncates toward zero (ONNX Runtime's C++ `/`), as numpy's // does not;
    floats divide in their own type, correctly rounded."""
    if inputs[0].dtype.kind == "f":
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.divide(*inputs, dtype=inputs[0].dtype)
    a, b = (np.asarray(v, np.int64) for v in inputs)
    if not b.all():
        raise ValueError("integer division by zero")
    quotient = np.abs(a) // np.abs(b)
    return np.where((a < 0) != (b < 0), -quotient, quotient).astype(inputs[0].dtype)


def _mod(g, node, inputs) -> np.ndarray:
    """ONNX Mod: the divisor's sign (Python's %), or C's fmod with `fmod=1`."""
    a, b = inputs
    if not np.asarray(b).all():
        raise ValueError("integer modulo by zero")
    return np.fmod(a, b) if attrs(node).get("fmod", 0) else np.mod(a, b)


def _range(g, node, inputs) -> np.ndarray:
    start, limit, delta = (v.reshape(()) for v in inputs)
    return np.arange(start, limit, delta, dtype=inputs[0].dtype)


def _gather_elements(g, node, inputs) -> np.ndarray:
    """ONNX GatherElements: numpy's take_along_axis, a negative index counting from the end."""
    data, indices = inputs
    axis = attrs(node).get("axis", 0) % data.ndim
    size = data.shape[axis]
    if ((indices < -size) | (indices >= size)).any():
        raise ValueError(f"an index is outside [{-size}, {size - 1}]")
    return np.take_along_axis(data, np.where(indices < 0, indices + size, indices), axis)


def _scatter_nd(g, node, inputs) -> np.ndarray:
    """ONNX ScatterND (reduction none): `data` with the slices at `indices` replaced by
    `updates`, in index order (a later index wins, as in ONNX's reference)."""
    data, indices, updates = inputs
    if attrs(node).get("reduction", "none") != "none":
        raise ValueError("only reduction 'none' folds")
    out = data.copy()
    places = indices.reshape(-1, indices.shape[-1])
    for index, update in zip(
        places, updates.reshape(len(places), *data.shape[indices.shape[-1] :]), strict=True
    ):
        out[tuple(index)] = update
    return out


def _flatten(g, node, inputs) -> np.ndarray:
    x = inputs[0]
    axis = attrs(node).get("axis", 1) % (x.ndim + 1)
    return x.reshape(int(np.prod(x.shape[:axis])), -1)


def _cum_sum(g, node, inputs) -> np.ndarray:
    """ONNX CumSum along a constant axis, with its `exclusive` and `reverse` attributes."""
    x, axis = inputs[0], int(np.ravel(inputs[1])[0]) % max(inputs[0].ndim, 1)
    a = attrs(node)
    if a.get("reverse", 0):
        x = np.flip(x, axis)
    total = np.cumsum(x, axis=axis, dtype=x.dtype)
    if a.get("exclusive", 0):
        total = total - x
    return np.flip(total, axis) if a.get("reverse", 0) else total


def _zero_point(inputs) -> np.ndarray:
    return inputs[2] if len(inputs) > 2 and inputs[2] is not None else np.uint8(0)


def _quantize_linear(g, node, inputs) -> np.ndarray:
    x, scale, zero = inputs[0], float(inputs[1].reshape(())), _zero_point(inputs)
    info = np.iinfo(zero.dtype)
    z = int(zero.reshape(()))
    stored = [quantize_value(float(v), scale, z, int(info.min), int(info.max)) for v in x.ravel()]
    return np.array(stored, zero.dtype).reshape(x.shape)


def _dequantize_linear(g, node, inputs) -> np.ndarray:
    x, scale, zero = inputs[0], inputs[1].reshape(()), _zero_point(inputs)
    shifted = (x.astype(np.int64) - np.int64(zero.reshape(()))).astype(np.float32)
    return (shifted * np.float32(scale)).astype(np.float32)


def _qlinear_binary(operation: Callable) -> Callable:
    """QLinearAdd / QLinearMul of folded values: dequantized, the float operation, quantized
    (ORT's kernel computes in float too; on the integers shapes carry they agree)."""

    def folder(g, node, inputs) -> np.ndarray:
        a = _dequantize_linear(g, node, inputs[0:3])
        b = _dequantize_linear(g, node, inputs[3:6])
        result = operation(a, b).astype(np.float32)
        return _quantize_linear(g, node, [result, inputs[6], _zero_point(inputs[5:8])])

    return folder


def _clip(g, node, inputs) -> np.ndarray:
    """Clip of an integer constant (DeBERTa's `clamp(relative + span, 0, 2 span - 1)`): its
    bounds as inputs (opset 11) or attributes, min applied first."""
    x, a = inputs[0], attrs(node)
    low = inputs[1] if len(inputs) > 1 and inputs[1] is not None else a.get("min")
    high = inputs[2] if len(inputs) > 2 and inputs[2] is not None else a.get("max")
    if low is not None:
        x = np.maximum(x, np.asarray(low, x.dtype))
    if high is not None:
        x = np.minimum(x, np.asarray(high, x.dtype))
    return x


def _reduction(function: Callable) -> Callable:
    """ReduceSum/Prod/Max/Min of an integer constant (torch's `var()` divides by the product of
    some of a shape's sizes): axes from the input or the attribute, none meaning all (or none
    with `noop_with_empty_axes`), `keepdims`; integer arithmetic wraps as in C++."""

    def folder(g, node, inputs) -> np.ndarray:
        x, a = inputs[0], attrs(node)
        axes = _axes(node, inputs)
        if not axes:
            if a.get("noop_with_empty_axes", 0):
                return x
            axes = list(range(x.ndim))
        picked = tuple(axis % max(x.ndim, 1) for axis in axes)
        return function(x, axis=picked, keepdims=bool(a.get("keepdims", 1))).astype(x.dtype)

    return folder


FOLDERS: dict[str, Callable] = {
    "Shape": _shape,
    "Size": _size,
    "EyeLike": _eye_like,
    "Gather": lambda g, n, i: np.take(i[0], i[1], axis=attrs(n).get("axis", 0)),
    "Concat": lambda g, n, i: np.concatenate(i, axis=attrs(n)["axis"]),
    "Unsqueeze": _unsqueeze,
    "Squeeze": _squeeze,
    "Slice": _slice,
    "Reshape": _reshape,
    "Cast": _cast,
    "CastLike": _cast_like,
    "ConstantOfShape": _constant_of_shape,
    "DynamicQuantizeLinear": _dynamic_quantize_linear,
    "Transpose": _transpose,
    "Identity": lambda g, n, i: i[0],
    "Add": lambda g, n, i: i[0] + i[1],
    "Sub": lambda g, n, i: i[0] - i[1],
    "Mul": lambda g, n, i: i[0] * i[1],
    "Div": _div,
    "Mod": _mod,
    "Neg": lambda g, n, i: -i[0],
    "Abs": lambda g, n, i: np.abs(i[0]),
    "Min": lambda g, n, i: functools.reduce(np.minimum, i),  # inputs broadcast
    "Max": lambda g, n, i: functools.reduce(np.maximum, i),
    "Equal": lambda g, n, i: np.equal(i[0], i[1]),
    "Less": lambda g, n, i: np.less(i[0], i[1]),
    "Greater": lambda g, n, i: np.greater(i[0], i[1]),
    "LessOrEqual": lambda g, n, i: np.less_equal(i[0], i[1]),
    "GreaterOrEqual": lambda g, n, i: np.greater_equal(i[0], i[1]),
    "GatherElements": _gather_elements,
    "Not": lambda g, n, i: np.logical_not(i[0]),
    "BitwiseNot": lambda g, n, i: np.invert(i[0]),
    "BitwiseAnd": lambda g, n, i: np.bitwise_and(i[0], i[1]),
    "BitwiseOr": lambda g, n, i: np.bitwise_or(i[0], i[1]),
    "BitwiseXor": lambda g, n, i: np.bitwise_xor(i[0], i[1]),
    "BitShift": lambda g, n, i: bit_shift(i[0], i[1], attrs(n)["direction"] in (b"LEFT", "LEFT")),
    "And": lambda g, n, i: np.logical_and(i[0], i[1]),
    "Or": lambda g, n, i: np.logical_or(i[0], i[1]),
    "Where": lambda g, n, i: np.where(i[0], i[1], i[2]),
    "Expand": lambda g, n, i: i[0] * np.ones([int(d) for d in i[1].ravel()], i[0].dtype),
    "Range": _range,
    "CumSum": _cum_sum,
    "Flatten": _flatten,
    "ScatterND": _scatter_nd,
    "Tile": lambda g, n, i: np.tile(i[0], [int(r) for r in i[1].ravel()]),
    "Ceil": lambda g, n, i: np.ceil(i[0]),
    "Floor": lambda g, n, i: np.floor(i[0]),
    "Sign": lambda g, n, i: np.sign(i[0]),
    "Pow": lambda g, n, i: onnx_pow(i[0], i[1]),
    "Log": lambda g, n, i: onnx_log(i[0]),
    "Clip": _clip,
    "ReduceSum": _reduction(np.sum),
    "ReduceProd": _reduction(np.prod),
    "ReduceMax": _reduction(np.max),
    "ReduceMin": _reduction(np.min),
    "QuantizeLinear": _quantize_linear,
    "DequantizeLinear": _dequantize_linear,
    "QLinearAdd": _qlinear_binary(np.add),
    "QLinearMul": _qlinear_binary(np.multiply),
}
# data movement ONNX Runtime's quantizers quantize (QDQ and QOperator registries) that the
# importer folds on constants, except for quantizing (`node_constants`) on float data
QUANTIZED_MOVES = {"Transpose", "Reshape", "Squeeze", "Unsqueeze", "Flatten", "Slice", "Concat"}
# quantized nodes that fold only as shape arithmetic (`_folds_as_shape_arithmetic`)
QDQ = {"QuantizeLinear", "DequantizeLinear", "QLinearAdd", "QLinearMul"}
# ops that read only their input's static shape (a run-time tensor's too)
SHAPE_ONLY = {"Shape", "Size", "EyeLike"}
# integer (and boolean) operands only: on floats ORT's NaN handling or summation order decides
INTEGER_ONLY = {"Mod", "Min", "Max", "Range", "CumSum", "Clip"} | {
    "ReduceSum",
    "ReduceProd",
    "ReduceMax",
    "ReduceMin",
}
# float32 operands only, computed as ONNX Runtime computes them (an attention's 1/sqrt(d))
FLOAT_ONLY = {"Pow", "Log", "DynamicQuantizeLinear"}


def is_constant(g, name: str, depth: int = 0) -> bool:
    """Whether tensor `name` is a constant or shape arithmetic on constants (Q/DQ pairs too)."""
    if not name or name in g.initializers:
        return True
    node = g.producer(name)
    if node is None or depth > 16:
        return False
    if node.op_type == "Constant" or node.op_type in SHAPE_ONLY:
        return True
    return node.op_type in FOLDERS and all(is_constant(g, i, depth + 1) for i in _data(node))


def _data(node) -> list[str]:
    """The inputs whose values a fold reads (a CastLike reads only its second one's type)."""
    return list(node.input[:1] if node.op_type == "CastLike" else node.input)


def _folds_as_shape_arithmetic(g, node) -> bool:
    """A per-tensor Q/DQ that folds: a QuantizeLinear of a folded float value, or a
    DequantizeLinear of a folded one whose readers all fold (else its pair stays for the
    fusion of the op reading it)."""
    names = [n for n in node.input if n]
    if not all(n in g.initializers for n in names) or names[0] not in g.folded:
        return False
    if node.op_type.startswith("QLinear"):
        data = [names[0], names[3]]
        return (
            len(names) == 8
            and data[1] in g.folded
            and all(g.initializers[n].size == 1 for n in names if n not in data)
        )
    if any(g.initializers[n].size != 1 for n in names[1:]):
        return False
    if node.op_type == "QuantizeLinear":
        return g.initializers[names[0]].dtype == np.float32
    readers = g.readers(node.output[0])
    return bool(readers) and all(
        r.op_type in FOLDERS and all(is_constant(g, i) for i in r.input) for r in readers
    )


def _whole_float_range(node, g, names) -> bool:
    """A float32 Range of whole numbers within ±2^24 (torch's `arange(T).float()` positions):
    every value is exact, so ORT's running sum `val += delta` and numpy's `start + i·delta`
    give the same floats."""
    if node.op_type != "Range" or not all(n in g.initializers for n in names):
        return False
    start, limit, delta = (g.initializers[n] for n in names)
    if any(v.dtype != np.float32 or v.size != 1 for v in (start, limit, delta)):
        return False
    start, limit, delta = (float(v.reshape(())) for v in (start, limit, delta))
    whole = start.is_integer() and delta.is_integer() and delta != 0
    return whole and max(abs(start), abs(limit) + abs(delta)) <= 2**24


def fold(g, node) -> bool:
    """Evaluate `node` if it is shape arithmetic on constants; True if it was (`g` is the
    `GraphImporter`, which calls this for every node before its handler)."""
    folder = FOLDERS.get(node.op_type)
    if folder is None:
        return False
    if node.op_type in QDQ and not _folds_as_shape_arithmetic(g, node):
        return False
    if node.op_type not in SHAPE_ONLY:
        names = _data(node)
        # an Identity of an initializer an earlier node already read (ALBERT's tied weights)
        # is still a node output of its own: ORT's quantizers take it as an activation; for
        # them (`node_constants`) a float one stays a node (`movement.identity`)
        again = node.op_type == "Identity"
        source = g.initializers.get(names[0])
        if again and g.node_constants and source is not None and source.dtype == np.float32:
            return False
        # a data movement of a float initializer is a node to them too: with
        # ForceQuantizeNoInputCheck it quantizes the initializer (its parameters from the data,
        # reduce_range and all) and its output shares them
        float_data = source is not None and source.dtype == np.float32
        if g.node_constants and node.op_type in QUANTIZED_MOVES and float_data:
            return False
        if not all(not n or (n in g.initializers and (again or n not in g.values)) for n in names):
            return False
        integer = all(not n or g.initializers[n].dtype.kind in "iub" for n in names)
        if node.op_type == "Gather" and not integer:
            return False  # a float table's rows: the model's embedding, which quantizers see
        if node.op_type in INTEGER_ONLY and not integer and not _whole_float_range(node, g, names):
            return False
        if node.op_type in FLOAT_ONLY and any(
            n and g.initializers[n].dtype != np.float32 for n in names
        ):
            return False
        inputs = [g.initializers[n] if n else None for n in names]
    else:
        inputs = []
    try:
        results = folder(g, node, inputs)
    except (ValueError, IndexError, TypeError, KeyError, AttributeError) as err:
        raise NodeError(
            f"constant shape arithmetic cannot be evaluated: {type(err).__name__}: {err}"
        ) from None
    outputs = results if isinstance(results, tuple) else (results,)
    for name, result in zip(node.output, outputs, strict=False):
        if name:
            g.initializers[name] = np.asarray(result)
            g.folded[name] = None
    return True
