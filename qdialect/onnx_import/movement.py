"""Data movement (Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Pad, Slice, Split, Gather at
constant indices, nearest-neighbour Resize), Identity, Constant.

They work on float and quantized tensors alike. Shape arithmetic on constants is folded before
any handler sees it (`folding`); reaching its handler here means an input was not constant.
"""

from __future__ import annotations

import math

import numpy as np
from xdsl.dialects import arith, tensor
from xdsl.dialects.builtin import (
    FloatAttr,
    IntegerAttr,
    IntegerType,
    StringAttr,
    UnitAttr,
    f32,
    f64,
    i64,
)

from qdialect import qnn
from qdialect.names import NODE_OUTPUT_ATTR, RESHAPE_OF_ATTR
from qdialect.nchwc import nchwc_resize
from qdialect.onnx_import.builders import (
    concatenated,
    constant_through_qdq,
    float_value,
    reshaped,
    sliced,
    stored_to_real,
    transposed,
)
from qdialect.onnx_import.common import (
    attrs,
    check_permutation,
    decode,
    normalize_axis,
    shape_of,
    tensor_type,
)
from qdialect.onnx_import.errors import NodeError
from qdialect.onnx_import.graph import GraphImporter
from qdialect.onnx_import.registry import handles
from qdialect.qnn.common import Kind, int_array, kind_of
from qdialect.qnn.logical import BOOL
from qdialect.qnn.movement import GATHER_INDEX_WIDTHS, gathered_shape
from qdialect.qnn.resize import MODES as BILINEAR_MODES
from qdialect.storage import integer_signature
from qdialect.tensors import element_type
from qdialect.types import Granularity, UniformQuantizedType


@handles("Reshape")
def reshape(g: GraphImporter, node) -> None:
    x = g.value(node.input[0])
    spec = [int(v) for v in g.constant_array(node.input[1], "shape")]
    allow_zero = attrs(node).get("allowzero", 0)
    shape = [shape_of(x)[i] if d == 0 and not allow_zero else d for i, d in enumerate(spec)]
    if shape.count(-1) > 1:
        raise NodeError(f"shape {spec} has more than one -1")
    if -1 in shape:
        known = math.prod(d for d in shape if d != -1)
        shape[shape.index(-1)] = math.prod(shape_of(x)) // known if known else 0
    g.define(node.output[0], reshaped(g, x, shape, node.output[0]))


@handles("Flatten")
def flatten(g: GraphImporter, node) -> None:
    x = g.value(node.input[0])
    xs = shape_of(x)
    axis = attrs(node).get("axis", 1)
    axis = axis + len(xs) if axis < 0 else axis
    shape = [math.prod(xs[:axis]), math.prod(xs[axis:])]
    g.define(node.output[0], reshaped_as(g, node, x, shape))


def _axes(g: GraphImporter, node) -> list[int] | None:
    data = g.optional_constant(1, "axes")
    if data is not None:
        return [int(v) for v in data.ravel()]
    axes = attrs(node).get("axes")
    return list(axes) if axes is not None else None


@handles("Squeeze")
def squeeze(g: GraphImporter, node) -> None:
    x = g.value(node.input[0])
    xs = shape_of(x)
    axes = _axes(g, node)
    drop = (
        {normalize_axis(a, len(xs)) for a in axes}
        if axes is not None
        else {i for i, d in enumerate(xs) if d == 1}
    )
    if any(xs[a] != 1 for a in drop):
        raise NodeError(f"cannot squeeze axes {sorted(drop)} of shape {list(xs)}")
    shape = [d for i, d in enumerate(xs) if i not in drop]
    g.define(node.output[0], reshaped_as(g, node, x, shape))


@handles("Unsqueeze")
def unsqueeze(g: GraphImporter, node) -> None:
    x = g.value(node.input[0])
    xs = list(shape_of(x))
    axes = _axes(g, node)
    if axes is None:
        raise NodeError("axes are required")
    rank = len(xs) + len(axes)
    shape = []
    inserted = {normalize_axis(a, rank) for a in axes}
    it = iter(xs)
    for i in range(rank):
        shape.append(1 if i in inserted else next(it))
    g.define(node.output[0], reshaped_as(g, node, x, shape))


def reshaped_as(g: GraphImporter, node, x, shape: list[int]):
    """`x` reshaped for a Flatten, Squeeze or Unsqueeze node, which the reshape records."""
    y = reshaped(g, x, shape, node.output[0])
    if isinstance(y.owner, tensor.ReshapeOp):  # (not a constant the importer folded)
        y.owner.attributes[RESHAPE_OF_ATTR] = StringAttr(node.op_type)
    return y


@handles("Transpose")
def transpose(g: GraphImporter, node) -> None:
    x = g.value(node.input[0])
    perm = check_permutation(
        attrs(node).get("perm", range(len(shape_of(x)))[::-1]), len(shape_of(x))
    )
    last = g.block.last_op
    g.define(node.output[0], transposed(g, x, perm, node.output[0]))
    if isinstance(x.owner, arith.ConstantOp):  # a node all the same (not a weight's layout)
        g.mark_decomposed(last, "Transpose")


@handles("Pad")
def pad(g: GraphImporter, node) -> None:
    """ONNX Pad; a negative pad crops: the input is sliced first and the rest padded onto the
    slice, as ONNX Runtime's Pad kernel does (its edge, reflect and wrap read the slice)."""
    x = g.value(node.input[0])
    xs = shape_of(x)
    a = attrs(node)
    mode = decode(a.get("mode", "constant"))
    if mode not in ("constant", "edge", "reflect", "wrap"):
        raise NodeError(f"mode '{mode}' is not imported (constant, edge, reflect, wrap are)")
    pads_data = g.optional_constant(1, "pads")
    pads = [int(p) for p in pads_data.ravel()] if pads_data is not None else list(a.get("pads", []))
    axes = g.optional_constant(3, "axes")
    rank = len(xs)
    low, high = [0] * rank, [0] * rank
    chosen = (
        [normalize_axis(int(v), rank) for v in axes.ravel()]
        if axes is not None
        else list(range(rank))
    )
    if len(pads) != 2 * len(chosen):
        raise NodeError(f"pads {pads} need {2 * len(chosen)} entries")
    for i, axis in enumerate(chosen):
        low[axis], high[axis] = pads[i], pads[i + len(chosen)]
    if any(p < 0 for p in low + high):
        if any(-lo - hi > size for lo, hi, size in zip(low, high, xs, strict=True)):
            raise NodeError(f"pads {pads} crop more than the input {list(xs)} holds")
        crops = {
            axis: range(-min(lo, 0), size + min(hi, 0))
            for axis, (lo, hi, size) in enumerate(zip(low, high, xs, strict=True))
            if min(lo, hi) < 0
        }
        x = sliced(g, x, crops)
        xs = shape_of(x)
        low, high = [max(p, 0) for p in low], [max(p, 0) for p in high]
    fill = None
    if len(node.input) > 2 and node.input[2]:
        name = node.input[2]
        fill = g.initializers.get(name)
        if fill is None and name in g.values:
            fill = constant_through_qdq(g.values[name])
        if fill is None:
            raise NodeError(
                f"constant_value '{name}' must be a constant (an initializer, or one through "
                "QuantizeLinear/DequantizeLinear)"
            )
    if fill is not None and np.size(fill) != 1:
        raise NodeError(f"constant_value must be one value, got shape {list(np.shape(fill))}")
    value = float(np.ravel(fill)[0]) if fill is not None else float(a.get("value", 0.0))
    elem = element_type(x.type)
    if isinstance(elem, UniformQuantizedType) and mode == "constant":
        value = stored_to_real(int(value), elem, "constant Pad")
    shape = [d + lo + hi for d, lo, hi in zip(xs, low, high, strict=True)]
    op = qnn.PadOp.create(
        operands=[x],
        result_types=[tensor_type(shape, elem)],
        properties={
            "low": int_array(low),
            "high": int_array(high),
            "mode": StringAttr(mode),
            "value": FloatAttr(value, f64),
        },
    )
    g.define(node.output[0], g.add(op, node.output[0]))


@handles("Identity", "Dropout")
def identity(g: GraphImporter, node) -> None:
    """Identity, and Dropout at inference (its `training_mode` absent or a constant false, or
    a constant ratio of 0, which ORT copies; its mask, if asked for, all true)."""
    if node.op_type == "Dropout" and np.any(g.optional_constant(2, "training_mode")):
        ratio = g.optional_constant(1, "ratio")
        if ratio is None or np.any(ratio != 0):
            raise NodeError("Dropout in training mode is not imported (only inference, or ratio 0)")
    x = g.value(node.input[0])
    if len(node.output) > 1 and node.output[1]:
        mask = np.ones(shape_of(x), np.int8)
        g.define(node.output[1], g.integer_constant(mask, BOOL, node.output[1]))
    graph_output = node.output[0] in {o.name for o in g.graph.output}
    if (g.node_constants or graph_output) and element_type(x.type) == f32:
        # ONNX Runtime's quantizer sees a float node of its own (in no registry: never
        # quantized) whose output is another tensor: a Relu reading it reads a float tensor,
        # the output has its own range and its own pair for quantized readers, and a tied
        # parameter (weights, biases) is quantized for its own readers while the Identity's
        # output is an activation. So the model for quantizing keeps the node (a cast
        # f32 -> f32 that qnn-default drops), observed in calibration as ORT's calibrator
        # observes it. One giving a graph output stays in any model: ORT's optimizer keeps
        # it where its input has other readers (`rewrites.float_casts`).
        op = qnn.CastOp(x, x.type)
        if isinstance(x.owner, arith.ConstantOp):
            op.attributes[NODE_OUTPUT_ATTR] = UnitAttr()
        x = g.add(op, node.output[0])
    g.define(node.output[0], x)


@handles("Shape", "Size", "EyeLike", "ConstantOfShape", "Range")
def shape_arithmetic(g: GraphImporter, node) -> None:
    """Ops the importer only folds (`folding`): sizes, masks, T5's relative-position buckets."""
    raise NodeError("imported only as constant arithmetic (its inputs must be constant)")


@handles("Tile")
def tile(g: GraphImporter, node) -> None:
    """Tile of a run-time tensor by constant repeats: the tensor concatenated with itself
    `repeats[d]` times along each axis d (DeBERTa repeats its position keys once per batch:
    an identity)."""
    x = g.value(node.input[0])
    repeats = [int(r) for r in np.ravel(g.constant_array(node.input[1], "repeats"))]
    shape = list(shape_of(x))
    if len(repeats) != len(shape) or min(repeats, default=1) < 1:
        raise NodeError(f"repeats {repeats} must be one positive count per axis of {shape}")
    last = g.block.last_op
    elem = element_type(x.type)
    for axis, count in enumerate(repeats):
        if count > 1:
            x = concatenated(g, [x] * count, axis, lambda s: tensor_type(s, elem))
    g.define(node.output[0], x)
    g.mark_decomposed(last, "Tile")


@handles("DepthToSpace", "SpaceToDepth")
def depth_space(g: GraphImporter, node) -> None:
    """DepthToSpace and SpaceToDepth (DCR or CRD) as ONNX defines them: a reshape to 6-D, a
    transpose and a reshape back (data movement; ORT's quantizer leaves both nodes float)."""
    x = g.value(node.input[0])
    a = attrs(node)
    if len(shape_of(x)) != 4:
        raise NodeError(f"the input must be 4-D [N, C, H, W], got {list(shape_of(x))}")
    n, c, h, w = shape_of(x)
    b = int(a.get("blocksize", 0))
    if b < 1:
        raise NodeError(f"blocksize must be a positive integer, got {b}")
    mode = decode(a.get("mode", "DCR"))
    if mode not in ("DCR", "CRD"):
        raise NodeError(f"mode must be 'DCR' or 'CRD', got {mode!r}")
    if node.op_type == "SpaceToDepth":  # (its mode from opset 25)
        if h % b or w % b:
            raise NodeError(f"H and W ({h}, {w}) must be multiples of blocksize {b}")
        inner = (n, c, h // b, b, w // b, b)
        perm = (0, 3, 5, 1, 2, 4) if mode == "DCR" else (0, 1, 3, 5, 2, 4)
        out = (n, c * b * b, h // b, w // b)
    else:
        if c % (b * b):
            raise NodeError(f"C ({c}) must be a multiple of blocksize² ({b * b})")
        if mode == "DCR":
            inner, perm = (n, b, b, c // (b * b), h, w), (0, 3, 4, 1, 5, 2)
        else:
            inner, perm = (n, c // (b * b), b, b, h, w), (0, 1, 4, 2, 5, 3)
        out = (n, c // (b * b), h * b, w * b)
    last = g.block.last_op
    moved = transposed(g, reshaped(g, x, inner), perm)
    g.define(node.output[0], reshaped(g, moved, out, node.output[0]))
    g.mark_decomposed(last, node.op_type)


@handles("Slice")
def slice_(g: GraphImporter, node) -> None:
    """ONNX Slice of a run-time tensor with constant starts, ends, axes and steps (inputs from
    opset 10, attributes before): numpy's slicing rules, which ONNX's are (negative indices
    count from the end, ends clamp, a negative step runs backwards)."""
    x = g.value(node.input[0])
    rank = len(shape_of(x))
    if len(node.input) > 1:
        starts = g.constant_array(node.input[1], "starts")
        ends = g.constant_array(node.input[2], "ends")
        axes = g.optional_constant(3, "axes")
        steps = g.optional_constant(4, "steps")
    else:
        a = attrs(node)
        starts, ends, axes, steps = a.get("starts"), a.get("ends"), a.get("axes"), None
        if starts is None or ends is None:
            raise NodeError("attributes 'starts' and 'ends' are required")
    starts, ends = [int(v) for v in np.ravel(starts)], [int(v) for v in np.ravel(ends)]
    axes = list(range(len(starts))) if axes is None else [int(v) for v in np.ravel(axes)]
    steps = [1] * len(starts) if steps is None else [int(v) for v in np.ravel(steps)]
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise NodeError("starts, ends, axes and steps must have one entry per sliced axis")
    if 0 in steps:
        raise NodeError("a step of 0")
    ranges: dict[int, range] = {}
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        axis = normalize_axis(axis, rank)
        if axis in ranges:
            raise NodeError(f"axis {axis} is sliced twice")
        ranges[axis] = range(*slice(start, end, step).indices(shape_of(x)[axis]))
    g.define(node.output[0], sliced(g, x, ranges, node.output[0]))


def float_constant_of(g: GraphImporter, name: str) -> bool:
    """Whether tensor `name` is a float initializer (a table, which folding leaves alone)."""
    data = g.initializers.get(name)
    return name not in g.values and data is not None and data.dtype.kind == "f"


def gather_indices(g: GraphImporter, name: str, size: int, axis: int):
    """Gather's indices for `qnn.gather`: a run-time int32/int64 tensor, or a constant one
    (checked here against the axis' `size`)."""
    data = g.initializers.get(name)
    if name in g.values or data is None:
        ids = g.value(name)
        signature = integer_signature(element_type(ids.type))
        if signature is None or signature[0] not in GATHER_INDEX_WIDTHS or not signature[1]:
            raise NodeError(f"indices must be int32 or int64, got {element_type(ids.type)}")
        return ids
    if data.dtype not in (np.int32, np.int64):
        raise NodeError(f"indices must be int32 or int64, got {data.dtype}")
    check_index_range(data, size, axis)
    return g.integer_constant(data, IntegerType(8 * data.dtype.itemsize), name)


def check_index_range(indices: np.ndarray, size: int, axis: int) -> None:
    """Constant Gather indices must lie in [-size, size): ONNX's rule, checked at import."""
    if ((indices < -size) | (indices >= size)).any():
        listed = indices.ravel().tolist()
        raise NodeError(f"indices {listed} out of range for axis {axis} of size {size}")


def gathered_data(g: GraphImporter, node):
    """Gather's data: a float or quantized value, or a quantized initializer (ONNX Runtime's
    QOperator and dynamic models gather an embedding table in its stored integers), whose
    scale and zero point the reader of the Gather's result gives (QLinearAdd,
    DequantizeLinear): a gather moves the stored values, so they are the table's."""
    name = node.input[0]
    data = g.initializers.get(name)
    if name in g.values or data is None or data.dtype.kind not in "iu":
        return g.value(name)
    qtype = _reader_type(g, node.output[0], list(data.shape))
    if qtype is None:
        raise NodeError(
            f"the {data.dtype} table '{name}' needs a reader of '{node.output[0]}' that gives "
            "its quantization (DequantizeLinear or a QLinear op)"
        )
    return g.quantized(name, qtype)


# the data movements between a QOperator model's gathered table and the node that dequantizes
# it (ORT's quantizer leaves an LSTM's input float: Gather, Transpose, DequantizeLinear)
STORED_MOVES = {"Transpose", "Reshape", "Squeeze", "Unsqueeze", "Flatten"}


def _reader_type(g: GraphImporter, name: str, dims: list[int], depth: int = 0):
    """The quantization a reader of `name` gives it, looking past data movements to theirs (a
    per-tensor one only: a movement keeps its scale and zero point, not an axis)."""
    qtype = g.consumer_type(name, dims)
    if qtype is not None or depth > 8:
        return qtype
    for reader in g.readers(name):
        if reader.op_type in STORED_MOVES and reader.input[0] == name:
            moved = _reader_type(g, reader.output[0], dims, depth + 1)
            if moved is not None and moved.granularity is Granularity.PER_TENSOR:
                return moved
    return None


@handles("Gather")
def gather(g: GraphImporter, node) -> None:
    """ONNX Gather. At constant indices (a class token `t[:, 0]`, chosen heads): a `qnn.slice`
    per run of consecutive indices, concatenated, reshaped to the indices' shape in place of
    the axis. At run-time indices (an embedding's token ids), or of a constant table (position
    embeddings, whose quantizers quantize the whole table): `qnn.gather`, which checks
    run-time indices when it runs."""
    table = float_constant_of(g, node.input[0])
    x = gathered_data(g, node)
    shape = list(shape_of(x))
    axis = normalize_axis(attrs(node).get("axis", 0), len(shape))
    # (a plain integer tensor, e.g. a shape or a token id, has no qnn.concat: one gather)
    if node.input[1] not in g.initializers or table or kind_of(x) is Kind.INTEGER:
        ids = gather_indices(g, node.input[1], shape[axis], axis)
        out = gathered_shape(tuple(shape), shape_of(ids), axis)
        op = qnn.GatherOp.create(
            operands=[x, ids],
            result_types=[tensor_type(out, element_type(x.type))],
            properties={"axis": IntegerAttr(axis, i64)},
        )
        g.define(node.output[0], g.add(op, node.output[0]))
        return
    indices = np.asarray(g.constant_array(node.input[1], "indices"))
    size = shape[axis]
    flat = indices.astype(np.int64).ravel()
    if indices.dtype.kind not in "iu" or flat.size == 0:
        raise NodeError(f"indices must be a non-empty integer constant, got {indices.dtype}")
    check_index_range(flat, size, axis)
    flat = np.where(flat < 0, flat + size, flat)
    runs = np.split(flat, np.flatnonzero(np.diff(flat) != 1) + 1)
    last = g.block.last_op
    parts = [sliced(g, x, {axis: range(int(r[0]), int(r[-1]) + 1)}) for r in runs]
    joined = parts[0]
    if len(parts) > 1:
        joined_shape = [*shape[:axis], int(flat.size), *shape[axis + 1 :]]
        concat = qnn.ConcatOp.create(
            operands=parts,
            result_types=[tensor_type(joined_shape, element_type(x.type))],
            properties={"axis": IntegerAttr(axis, i64)},
        )
        joined = g.add(concat)
    out = [*shape[:axis], *indices.shape, *shape[axis + 1 :]]
    g.define(node.output[0], reshaped(g, joined, out, node.output[0]))
    g.mark_decomposed(last, "Gather")


def _as_resize_11(g: GraphImporter, node):
    """An opset-11 Resize node computing what a Resize-10 or Upsample `node` computes."""
    from onnx import helper

    a = attrs(node)
    scales = node.input[1] if len(node.input) > 1 else ""
    if not scales:  # Upsample before opset 9: an attribute
        if "scales" not in a:
            raise NodeError("needs its scales")
        scales = f"{node.output[0]}/{node.op_type}/scales"
        g.initializers[scales] = np.asarray(a["scales"], np.float32)
    resize = helper.make_node(
        "Resize",
        [node.input[0], "", scales],
        list(node.output),
        name=node.name,
        mode=decode(a.get("mode", "nearest")),
        coordinate_transformation_mode="asymmetric",
        nearest_mode="simple",
    )
    return resize


@handles("Split")
def split(g: GraphImporter, node) -> None:
    """ONNX Split of a run-time tensor: one `qnn.slice` per output, sizes from the `split`
    input (opset 13) or attribute, else `num_outputs` (opset 18) or the outputs' count: equal
    parts, the last one smaller when the axis does not divide."""
    x = g.value(node.input[0])
    shape = shape_of(x)
    a = attrs(node)
    axis = normalize_axis(a.get("axis", 0), len(shape))
    outputs = list(node.output)
    given = g.optional_constant(1, "split") if len(node.input) > 1 else a.get("split")
    if given is not None:
        sizes = [int(v) for v in np.ravel(given)]
    else:
        count = a.get("num_outputs", len(outputs))
        part = -(-shape[axis] // count)
        sizes = [min(part, shape[axis] - i * part) for i in range(count)]
    if len(sizes) != len(outputs) or sum(sizes) != shape[axis] or min(sizes) < 0:
        raise NodeError(
            f"split sizes {sizes} do not divide axis {axis} ({shape[axis]}) into "
            f"{len(outputs)} outputs"
        )
    start, last = 0, g.block.last_op
    for name, size in zip(outputs, sizes, strict=True):
        if name:
            g.define(name, sliced(g, x, {axis: range(start, start + size)}, name))
        start += size
    g.mark_decomposed(last, "Split")


# a Constant's literal attributes: their numpy type and the AttributeProto field holding them
CONSTANT_LITERALS = {
    "value_float": (np.float32, "f"),
    "value_floats": (np.float32, "floats"),
    "value_int": (np.int64, "i"),
    "value_ints": (np.int64, "ints"),
}


@handles("Constant")
def constant(g: GraphImporter, node) -> None:
    from onnx import numpy_helper

    if len(node.attribute) != 1:
        raise NodeError("a Constant must have exactly one attribute (its value)")
    a = node.attribute[0]
    if a.name not in CONSTANT_LITERALS and a.name != "value":
        raise NodeError(f"Constant with '{a.name}' is not imported")
    try:
        if a.name == "value":
            value = numpy_helper.to_array(a.t)
        else:  # opset 12's literals: value_float(s), value_int(s)
            dtype, field = CONSTANT_LITERALS[a.name]
            value = np.array(getattr(a, field), dtype)
        g.initializers[node.output[0]] = value
    except Exception as err:  # data that does not fit its dims or type
        raise NodeError(f"its value cannot be read: {type(err).__name__}: {err}") from None
    g.folded[node.output[0]] = None


def nearest_indices(
    size: int, out: int, scale: float, transform: str, rounding: str
) -> list[int] | None:
    """The input index each output index of one axis reads in ONNX Resize's nearest mode
    (its coordinate transformation and rounding formulas, clamped to the axis), or None for
    a transformation this importer does not know. The coordinate is ORT's float32
    arithmetic (`upsamplebase.h`), which decides the ties the rounding modes tell apart."""
    f = np.float32
    half, s = f(0.5), f(scale)

    def original(i: int) -> float | None:
        x = f(i)
        with np.errstate(divide="ignore", invalid="ignore"):
            if transform == "asymmetric":
                return float(x / s)
            if transform == "half_pixel":
                return float((x + half) / s - half)
            if transform == "pytorch_half_pixel":
                return float((x + half) / s - half) if out > 1 else 0.0
            if transform == "tf_half_pixel_for_nn":
                return float((x + half) / s)
            if transform == "align_corners":
                return float(x * f(size - 1) / f(out - 1)) if out > 1 else 0.0
        return None

    picks = []
    for i in range(out):
        x = original(i)
        if x is None:
            return None
        if rounding == "simple":  # Resize-10 and Upsample: ceil downsampling, else truncated
            j = math.ceil(x) if scale < 1 else int(x)
        elif rounding == "floor":
            j = math.floor(x)
        elif rounding == "ceil":
            j = math.ceil(x)
        elif rounding == "round_prefer_ceil":
            j = math.floor(x + 0.5)
        else:  # round_prefer_floor
            j = math.ceil(x - 0.5)
        picks.append(min(max(j, 0), size - 1))
    return picks


def resize_output(g: GraphImporter, node, shape: list[int]) -> tuple[list[int], list[float]]:
    """The output shape and each axis's scale of a Resize, as ONNX Runtime computes them
    (`upsamplebase.h`): from constant `scales` (`int(scale · size)` in float32) or `sizes`
    (scale `size_out / size` in float32), over the axes `axes` names (opset 18; the others
    unchanged), with `keep_aspect_ratio_policy` (opset 18): `not_larger` / `not_smaller` give
    every named axis the smallest / largest of their scales, the size `round(scale · size)`
    (half away from zero)."""
    a = attrs(node)
    rank = len(shape)
    axes = [normalize_axis(v, rank) for v in a.get("axes", range(rank))]
    if len(set(axes)) != len(axes):
        raise NodeError(f"attribute 'axes' {list(a['axes'])} names an axis twice")
    scales = g.optional_constant(2, "scales") if len(node.input) > 2 else None
    sizes = g.optional_constant(3, "sizes") if len(node.input) > 3 else None
    given = scales if scales is not None and np.size(scales) else sizes
    if given is None or not np.size(given):
        raise NodeError("needs constant 'scales' or 'sizes'")
    role = "scales" if given is scales else "sizes"
    if np.size(given) != len(axes):
        raise NodeError(f"'{role}' has {np.size(given)} values for {len(axes)} axes")
    out, factors = list(shape), [1.0] * rank
    if given is scales:
        for axis, s in zip(axes, np.ravel(scales), strict=True):
            factors[axis] = float(np.float32(s))
            # ORT: static_cast<int64_t>(scale * input_dim), in float32
            out[axis] = int(np.float32(s) * np.float32(shape[axis]))
        return out, factors
    policy = decode(a.get("keep_aspect_ratio_policy", "stretch"))
    if policy not in ("stretch", "not_larger", "not_smaller"):
        raise NodeError(
            f"keep_aspect_ratio_policy '{policy}' is not one of stretch, not_larger, not_smaller"
        )
    wanted = [int(s) for s in np.ravel(sizes)]
    ratios = [np.float32(o) / np.float32(shape[axis]) for axis, o in zip(axes, wanted, strict=True)]
    for axis, o, ratio in zip(axes, wanted, ratios, strict=True):
        if policy != "stretch":
            ratio = min(ratios) if policy == "not_larger" else max(ratios)
            o = math.floor(float(np.float32(ratio) * np.float32(shape[axis])) + 0.5)  # std::round
        out[axis], factors[axis] = o, float(np.float32(ratio))
    return out, factors


@handles("Resize", "Upsample")
def resize(g: GraphImporter, node) -> None:
    """Nearest-neighbour Resize, moves only, so a quantized tensor keeps its type: an axis
    that repeats each input element a whole number of times (2x upsampling as torch exports
    it, in any coordinate mode that maps so) as a concat of copies along a new axis,
    reshaped; any other axis as a gather of the input elements ORT's coordinate arithmetic
    picks (`nearest_indices`). Linear and cubic Resize of a float32 image (`resize_bilinear`,
    `resize_cubic`). Resize before opset 11 (X, scales) and Upsample (its scales an input, or
    before opset 9 an attribute) are opset 11's asymmetric Resize with ORT's "simple" nearest
    rounding. Other resizes are refused by name."""
    if node.op_type == "Upsample" or len(node.input) == 2:  # (X, scales): Resize-10
        original, g.node = node, _as_resize_11(g, node)
        try:  # (constant inputs are read through the importer's current node)
            return resize(g, g.node)
        finally:
            g.node = original
    a = attrs(node)
    mode = decode(a.get("mode", "nearest"))
    if mode not in ("nearest", "linear", "cubic"):
        raise NodeError(f"mode '{mode}' is not imported (only 'nearest', 'linear' and 'cubic')")
    x = g.value(node.input[0])
    out, factors = resize_output(g, node, list(shape_of(x)))
    if mode != "nearest" and a.get("antialias", 0):
        raise NodeError(f"{mode} mode with antialias=1 is not imported")
    shape = list(shape_of(x))
    transform = decode(a.get("coordinate_transformation_mode", "half_pixel"))
    if mode == "linear":
        return resize_bilinear(g, node, x, out, factors, transform)
    if mode == "cubic":
        return resize_cubic(g, node, x, out, factors, transform)
    rounding = decode(a.get("nearest_mode", "round_prefer_floor"))
    y, last = x, g.block.last_op
    for axis in reversed(range(len(shape))):
        picks = nearest_indices(shape[axis], out[axis], factors[axis], transform, rounding)
        if picks is None:
            raise NodeError(
                f"coordinate_transformation_mode '{transform}' is not imported for nearest mode"
            )
        repeat = out[axis] // shape[axis] if shape[axis] else 0
        if repeat >= 1 and picks == [i // repeat for i in range(out[axis])]:
            if repeat > 1:
                y = _repeat_each(g, y, axis, repeat)
        else:  # any other pattern (downsampling, half_pixel with floor...): the picked rows
            y = _gathered(g, y, axis, picks)
    y = reshaped(g, y, out, node.output[0])
    g.mark_decomposed(last, "Resize")
    g.define(node.output[0], y)


def resize_bilinear(
    g: GraphImporter, node, x, out: list[int], factors: list[float], transform: str
):
    """Linear Resize of the last two axes of an NCHW float32 or 8-bit quantized tensor:
    `qnn.resize_bilinear` (ONNX Runtime's bilinear kernel; its other linear kernels are not
    imported)."""
    shape = list(shape_of(x))
    if len(shape) != 4 or out[:2] != shape[:2]:
        raise NodeError(
            f"linear mode is imported for NCHW tensors resized over H and W only, got "
            f"{list(shape)} -> {out}"
        )
    if transform not in BILINEAR_MODES:
        raise NodeError(
            f"coordinate_transformation_mode '{transform}' is not imported for linear mode "
            f"(only {', '.join(BILINEAR_MODES)})"
        )
    op = qnn.ResizeBilinearOp.create(
        operands=[x],
        result_types=[tensor_type(out, element_type(x.type))],
        properties={
            "mode": StringAttr(transform),
            "scale_h": FloatAttr(factors[2], f32),
            "scale_w": FloatAttr(factors[3], f32),
        },
    )
    if g.quantized_model and nchwc_resize(op, g.nchwc_average_pool):
        op.properties["nchwc"] = UnitAttr()  # ORT's optimized session runs its NCHWc Upsample
    g.define(node.output[0], g.add(op, node.output[0]))


def resize_cubic(
    g: GraphImporter, node, x, out: list[int], factors: list[float], transform: str
) -> None:
    """Cubic Resize of the last two axes of an NCHW float32 tensor: `qnn.resize_cubic` (ONNX
    Runtime's ResizeBiCubic); to the input's own size, the input (ORT copies it)."""
    shape = list(shape_of(x))
    if element_type(x.type) != f32:  # ORT's uint8/int8 kernel (QOperator's QResize)
        raise NodeError("cubic mode is imported for float32 tensors only (not stored values)")
    if len(shape) != 4 or out[:2] != shape[:2]:
        raise NodeError(
            f"cubic mode is imported for NCHW tensors resized over H and W only, got "
            f"{list(shape)} -> {out}"
        )
    if transform not in BILINEAR_MODES:
        raise NodeError(
            f"coordinate_transformation_mode '{transform}' is not imported for cubic mode "
            f"(only {', '.join(BILINEAR_MODES)})"
        )
    if out == shape:
        return identity(g, node)
    a = attrs(node)
    properties = {
        "mode": StringAttr(transform),
        "scale_h": FloatAttr(factors[2], f32),
        "scale_w": FloatAttr(factors[3], f32),
        "cubic_coeff_a": FloatAttr(float(a.get("cubic_coeff_a", -0.75)), f32),
    }
    if a.get("exclude_outside", 0):
        properties["exclude_outside"] = UnitAttr()
    op = qnn.ResizeCubicOp.create(
        operands=[x], result_types=[tensor_type(out, f32)], properties=properties
    )
    g.define(node.output[0], g.add(op, node.output[0]))


def _gathered(g: GraphImporter, x, axis: int, picks: list[int]):
    """`x` with the elements `picks` along `axis`, in that order (`qnn.gather` at constant
    indices)."""
    shape = list(shape_of(x))
    shape[axis] = len(picks)
    op = qnn.GatherOp.create(
        operands=[x, g.integer_constant(np.array(picks, np.int64), i64)],
        result_types=[tensor_type(shape, element_type(x.type))],
        properties={"axis": IntegerAttr(axis, i64)},
    )
    return g.add(op)


def _repeat_each(g: GraphImporter, x, axis: int, repeat: int):
    """`x` with every element along `axis` repeated `repeat` times in place."""
    shape = list(shape_of(x))
    column = reshaped(g, x, [*shape[: axis + 1], 1, *shape[axis + 1 :]])
    wide = [*shape[: axis + 1], repeat, *shape[axis + 1 :]]
    op = qnn.ConcatOp.create(
        operands=[column] * repeat,
        result_types=[tensor_type(wide, element_type(x.type))],
        properties={"axis": IntegerAttr(axis + 1, i64)},
    )
    return reshaped(g, g.add(op), [*shape[:axis], shape[axis] * repeat, *shape[axis + 1 :]])


@handles("GridSample")
def grid_sample(g: GraphImporter, node) -> None:
    """GridSample of an NCHW float32 image (opset 16's bilinear and bicubic are 20's linear
    and cubic) as `qnn.grid_sample`; 5-D volumes are not imported."""
    x, grid = float_value(g, node.input[0]), float_value(g, node.input[1])
    if len(shape_of(x)) != 4:
        raise NodeError(f"only 4-D images are imported, got rank {len(shape_of(x))}")
    a = attrs(node)
    mode = decode(a.get("mode", "bilinear" if g.opset < 20 else "linear"))
    mode = {"bilinear": "linear", "bicubic": "cubic"}.get(mode, mode)
    n, c = shape_of(x)[:2]
    out = [n, c, *shape_of(grid)[1:3]]
    properties = {
        "mode": StringAttr(mode),
        "padding_mode": StringAttr(decode(a.get("padding_mode", "zeros"))),
    }
    if a.get("align_corners", 0):
        properties["align_corners"] = UnitAttr()
    op = qnn.GridSampleOp.create(
        operands=[x, grid], result_types=[tensor_type(out, f32)], properties=properties
    )
    g.define(node.output[0], g.add(op, node.output[0]))
