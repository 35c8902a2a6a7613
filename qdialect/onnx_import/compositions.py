"""Ops imported as a few standard nodes that compute ONNX Runtime's bits: every step is exact
(a comparison, a select, one correctly rounded IEEE operation, an ArgMax) and in the order
ORT's kernel takes, measured on 1.31.1 (Softsign multiplies by the reciprocal of 1 + |x|, as
Eigen's `inverse() * x` does, not a division). The steps import through the ordinary
handlers (`functions.import_steps`), so they stand for the one node, which ORT's quantizers
leave float. Their selects copy the chosen value (`Steps.select`), as these kernels do; ONNX's
Where is ORT's merge, which would make a chosen -0.0 +0.0.

- Trilu: `mask ? x : 0`, the mask of the last two dimensions a constant (k constant).
- ThresholdedRelu: `x > alpha ? x : 0`; Shrink: `x < -lambd ? x + bias : x > lambd ?
  x - bias : 0`.
- IsNaN: `Not(x == x)`; IsInf: `x == inf`, `x == -inf` or both (neither: `x < -inf`).
- Hardmax: ArgMax (the first maximum) compared with the positions along the axis (opset < 13:
  over the input flattened to 2-D at the axis). A row holding NaN: ORT's Eigen row maximum
  decides which (if any) is set; this sets ArgMax's.
- OneHot: the indices (a float index truncated, a negative one plus depth) compared with the
  positions 0..depth-1 along the new axis, then `values[1]` or `values[0]`.
- GatherND, ScatterND, ScatterElements (Scatter) of run-time data at constant indices: a
  `Gather` of the flattened data (and updates) at the positions the indices name; a scatter's
  reduction combines each position with its updates in order, one select round per update.
  ReverseSequence (constant lengths) and MaxUnpool (constant indices) likewise.
- Compress with a constant condition: a Gather of the positions it keeps (of the flattened
  input when there is no axis).
"""

from __future__ import annotations

import math

import numpy as np

from qdialect.onnx_import.builders import float_value, unary_activation
from qdialect.onnx_import.common import attrs, normalize_axis, shape_of
from qdialect.onnx_import.errors import NodeError
from qdialect.onnx_import.functions import import_steps, inner_prefix
from qdialect.onnx_import.graph import GraphImporter
from qdialect.onnx_import.logical import select
from qdialect.onnx_import.registry import handles
from qdialect.onnx_import.tensor_types import onnx_type_of
from qdialect.qnn.table import UnaryFunction

SELECT = "qdialect.select"  # a step type no model can name (`Steps.select`)


class Steps:
    """The standard nodes of one composition, built in order, then imported as `node`."""

    def __init__(self, g: GraphImporter, node) -> None:
        self.g, self.node = g, node
        self.prefix = inner_prefix(node)
        self.nodes: list = []
        self.count = 0

    def fresh(self) -> str:
        """A new name inside the node (for a value defined between runs)."""
        self.count += 1
        return f"{self.prefix}{self.count}"

    def constant(self, values) -> str:
        name = self.fresh()
        self.g.initializers[name] = np.asarray(values)
        return name

    def add(self, op_type: str, inputs: list[str], output: str | None = None, **attributes) -> str:
        from onnx import helper

        name = output or self.fresh()
        self.nodes.append(helper.make_node(op_type, inputs, [name], **attributes))
        return name

    def select(self, cond: str, a: str, b: str, output: str | None = None) -> str:
        """`cond ? a : b`, a plain copy of the chosen value (ORT's Where would make a chosen
        -0.0 of `a` +0.0; Trilu, ScatterND and the others copy)."""
        return self.add(SELECT, [cond, a, b], output)

    def run(self, internal: dict | None = None) -> None:
        """Import the steps added so far (more may follow, reading theirs); `internal`: more
        handlers of step types no model can name."""
        handlers = {SELECT: select, **(internal or {})}
        import_steps(self.g, self.node, self.nodes, "its composition's", handlers)
        self.nodes = []

    def unary(self, function: UnaryFunction, x: str, **parameters: float) -> str:
        """`function` of `x` as a `qnn.activation`, after the steps added so far: for the
        functions no standard node computes as ORT's kernel does (the C library's `expf`)."""
        self.run()
        name, since = self.fresh(), self.g.block.last_op
        op = unary_activation(function, self.g.value(x), **parameters)
        self.g.define(name, self.g.add(op))
        self.g.mark_decomposed(since, self.node.op_type)  # one of the node's inner ops
        return name


def _float_input(g: GraphImporter, node) -> str:
    float_value(g, node.input[0])  # (raises for any other type)
    return node.input[0]


def _dtype(g: GraphImporter, name: str) -> np.dtype:
    from onnx import helper

    return np.dtype(helper.tensor_dtype_to_np_dtype(onnx_type_of(g, name)))


@handles("Compress")
def compress(g: GraphImporter, node) -> None:
    condition = g.initializers.get(node.input[1]) if len(node.input) > 1 else None
    if condition is None:
        raise NodeError("condition must be a constant (the result's shape depends on it)")
    kept = np.flatnonzero(np.asarray(condition).ravel())
    s = Steps(g, node)
    x, axis = node.input[0], attrs(node).get("axis")
    shape = shape_of(g.operand(x))
    extent = math.prod(shape) if axis is None else shape[normalize_axis(axis, len(shape))]
    if kept.size and kept[-1] >= extent:
        raise NodeError(f"condition keeps position {kept[-1]}, past the axis' {extent}")
    if axis is None:
        x, axis = s.add("Reshape", [x, s.constant(np.array([-1], np.int64))]), 0
    s.add("Gather", [x, s.constant(kept.astype(np.int64))], node.output[0], axis=axis)
    s.run()


@handles("Trilu")
def trilu(g: GraphImporter, node) -> None:
    x = node.input[0]
    shape = g.shape_of_input(x)
    if len(shape) < 2:
        raise NodeError(f"input must have rank 2 or more, got shape {list(shape)}")
    k = 0
    if len(node.input) > 1 and node.input[1]:
        k = int(g.constant_array(node.input[1], "k").reshape(-1)[0])
    rows, columns = np.arange(shape[-2])[:, None], np.arange(shape[-1])[None, :]
    diagonal = columns - rows
    keep = diagonal >= k if attrs(node).get("upper", 1) else diagonal <= k
    s = Steps(g, node)
    zero = s.constant(np.zeros((), _dtype(g, x)))
    s.select(s.constant(keep), x, zero, node.output[0])
    s.run()


@handles("ThresholdedRelu")
def thresholded_relu(g: GraphImporter, node) -> None:
    x = _float_input(g, node)
    s = Steps(g, node)
    above = s.add("Greater", [x, s.constant(np.float32(attrs(node).get("alpha", 1.0)))])
    s.select(above, x, s.constant(np.float32(0)), node.output[0])
    s.run()


@handles("Shrink")
def shrink(g: GraphImporter, node) -> None:
    x = _float_input(g, node)
    a = attrs(node)
    lambd, bias = np.float32(a.get("lambd", 0.5)), np.float32(a.get("bias", 0.0))
    s = Steps(g, node)
    below = s.add("Less", [x, s.constant(-lambd)])
    above = s.add("Greater", [x, s.constant(lambd)])
    raised = s.add("Add", [x, s.constant(bias)])
    lowered = s.add("Sub", [x, s.constant(bias)])
    upper = s.select(above, lowered, s.constant(np.float32(0)))
    s.select(below, raised, upper, node.output[0])
    s.run()


@handles("Softsign")
def softsign(g: GraphImporter, node) -> None:
    x = _float_input(g, node)
    s = Steps(g, node)
    magnitude = s.add("Abs", [x])
    denominator = s.add("Add", [magnitude, s.constant(np.float32(1))])
    s.add("Mul", [s.add("Reciprocal", [denominator]), x], node.output[0])
    s.run()


@handles("IsNaN")
def is_nan(g: GraphImporter, node) -> None:
    x = _float_input(g, node)
    s = Steps(g, node)
    s.add("Not", [s.add("Equal", [x, x])], node.output[0])
    s.run()


@handles("IsInf")
def is_inf(g: GraphImporter, node) -> None:
    x = _float_input(g, node)
    a = attrs(node)
    s = Steps(g, node)
    tests = []
    if a.get("detect_positive", 1):
        tests.append(s.add("Equal", [x, s.constant(np.float32(np.inf))]))
    if a.get("detect_negative", 1):
        tests.append(s.add("Equal", [x, s.constant(np.float32(-np.inf))]))
    if not tests:  # nothing is detected
        s.add("Less", [x, s.constant(np.float32(-np.inf))], node.output[0])
    elif len(tests) == 1:
        s.add("Identity", tests, node.output[0])
    else:
        s.add("Or", tests, node.output[0])
    s.run()


@handles("Hardmax")
def hardmax(g: GraphImporter, node) -> None:
    x = _float_input(g, node)
    shape = g.shape_of_input(x)
    if not shape:
        raise NodeError("input must have rank 1 or more")
    legacy = g.opset < 13
    axis = normalize_axis(attrs(node).get("axis", 1 if legacy else -1), len(shape))
    s = Steps(g, node)
    rows = x
    if legacy:  # opset < 13: the rows are the input flattened to 2-D at the axis
        flat = [math.prod(shape[:axis]), math.prod(shape[axis:])]
        rows = s.add("Reshape", [x, s.constant(np.array(flat, np.int64))])
        row_shape, axis = flat, 1
    else:
        row_shape = list(shape)
    first = s.add("ArgMax", [rows], axis=axis, keepdims=1)
    positions = np.arange(row_shape[axis], dtype=np.int64).reshape(
        [row_shape[axis] if d == axis else 1 for d in range(len(row_shape))]
    )
    chosen = s.add("Equal", [first, s.constant(positions)])
    one, zero = s.constant(np.float32(1)), s.constant(np.float32(0))
    if legacy:
        hard = s.select(chosen, one, zero)
        s.add("Reshape", [hard, s.constant(np.array(shape, np.int64))], node.output[0])
    else:
        s.select(chosen, one, zero, node.output[0])
    s.run()


@handles("OneHot")
def one_hot(g: GraphImporter, node) -> None:
    indices = node.input[0]
    shape = g.shape_of_input(indices)
    depth_values = g.constant_array(node.input[1], "depth").reshape(-1)
    values = g.constant_array(node.input[2], "values").reshape(-1)
    if depth_values.size != 1 or values.size != 2:
        raise NodeError(
            f"depth must hold one value and values two, got {depth_values.size} and {values.size}"
        )
    depth = int(depth_values[0])
    axis = normalize_axis(attrs(node).get("axis", -1), len(shape) + 1)
    s = Steps(g, node)
    index = indices
    dtype = _dtype(g, indices)
    kind = dtype.kind
    if kind == "f":  # ORT casts a float index to int64 (truncating)
        from onnx import TensorProto

        index = s.add("Cast", [indices], to=TensorProto.INT64)
    elif kind not in "iu":
        raise NodeError(f"indices must be numbers, got {dtype}")
    integer = np.int64 if kind == "f" else dtype.type
    negative = s.add("Less", [index, s.constant(integer(0))])
    wrapped = s.add("Add", [index, s.constant(integer(depth))])
    index = s.select(negative, wrapped, index)
    out_shape = [*shape[:axis], 1, *shape[axis:]]
    index = s.add("Reshape", [index, s.constant(np.array(out_shape, np.int64))])
    positions = np.arange(depth, dtype=integer).reshape(
        [depth if d == axis else 1 for d in range(len(out_shape))]
    )
    hot = s.add("Equal", [index, s.constant(positions)])
    on, off = s.constant(values[1:2].reshape(())), s.constant(values[0:1].reshape(()))
    s.select(hot, on, off, node.output[0])
    s.run()


def _positions(shape: tuple[int, ...]) -> np.ndarray:
    """Each element's flat position, in the tensor's shape."""
    return np.arange(math.prod(shape), dtype=np.int64).reshape(shape)


def _wrapped(indices: np.ndarray, sizes, what: str) -> np.ndarray:
    """Indices with a negative one counting from the end; out of range is an error."""
    sizes = np.asarray(sizes, np.int64)
    if ((indices < -sizes) | (indices >= sizes)).any():
        raise NodeError(f"an index of {what} is outside its dimension")
    return np.where(indices < 0, indices + sizes, indices).astype(np.int64)


def _constant_indices(g: GraphImporter, name: str) -> np.ndarray:
    indices = np.asarray(g.constant_array(name, "indices"))
    if indices.dtype.kind not in "iu":
        raise NodeError(f"indices must be integers, got {indices.dtype}")
    return indices.astype(np.int64)


def _gathered(s: Steps, source: str, size: int, positions: np.ndarray, output: str | None = None):
    """`source` flattened (`size` elements), read at `positions` (in their shape)."""
    flat = s.add("Reshape", [source, s.constant(np.array([size], np.int64))])
    picked = s.add("Gather", [flat, s.constant(positions.reshape(-1))], axis=0)
    shape = s.constant(np.array(positions.shape, np.int64))
    return s.add("Reshape", [picked, shape], output)


@handles("GatherND")
def gather_nd(g: GraphImporter, node) -> None:
    """GatherND of run-time data at constant indices: the flat positions it reads, gathered."""
    shape = g.shape_of_input(node.input[0])
    indices = _constant_indices(g, node.input[1])
    batch = attrs(node).get("batch_dims", 0)
    depth = indices.shape[-1] if indices.ndim else 0
    if indices.ndim < 1 or batch + depth > len(shape) or indices.shape[:batch] != shape[:batch]:
        raise NodeError(
            f"indices of shape {list(indices.shape)} do not index data {list(shape)} after "
            f"{batch} batch dimensions"
        )
    positions = _positions(shape)
    found = []
    for b in np.ndindex(*shape[:batch]):
        index = _wrapped(indices[b], shape[batch : batch + depth], "GatherND")
        found.append(positions[b][tuple(np.moveaxis(index, -1, 0))])
    read = np.stack(found).reshape(*indices.shape[:-1], *shape[batch + depth :])
    s = Steps(g, node)
    _gathered(s, node.input[0], positions.size, read, node.output[0])
    s.run()


# a reduction's combining op (ScatterND / ScatterElements from opsets 16 and 18)
COMBINE = {"add": "Add", "mul": "Mul", "max": "Max", "min": "Min"}


def _scatter(g: GraphImporter, node, shape: tuple[int, ...], targets: np.ndarray) -> None:
    """The data with update j (row-major) written to flat position `targets[j]`, in order:
    with no reduction the last write wins, a gather of data and updates concatenated; with one,
    round r combines each position with its r-th update (`Where` keeps the positions with
    fewer)."""
    reduction = attrs(node).get("reduction", "none")
    if isinstance(reduction, bytes):
        reduction = reduction.decode()
    if reduction != "none" and reduction not in COMBINE:
        raise NodeError(f"reduction '{reduction}' is not imported")
    size, count = math.prod(shape), targets.size
    targets = targets.reshape(-1)
    s = Steps(g, node)
    if reduction == "none":
        source = np.arange(size, dtype=np.int64)
        np.maximum.at(source, targets, size + np.arange(count))  # the last write wins, as ORT's
        both = s.add(
            "Concat",
            [
                s.add("Reshape", [node.input[0], s.constant(np.array([size], np.int64))]),
                s.add("Reshape", [node.input[2], s.constant(np.array([count], np.int64))]),
            ],
            axis=0,
        )
        _gathered(s, both, size + count, source.reshape(shape), node.output[0])
        s.run()
        return
    current = s.add("Reshape", [node.input[0], s.constant(np.array([size], np.int64))])
    updates = s.add("Reshape", [node.input[2], s.constant(np.array([count], np.int64))])
    rounds: list[dict[int, int]] = []
    seen: dict[int, int] = {}
    for j, target in enumerate(targets.tolist()):
        r = seen.get(target, 0)
        seen[target] = r + 1
        if r == len(rounds):
            rounds.append({})
        rounds[r][target] = j
    for writes in rounds:
        picks = np.zeros(size, np.int64)
        mask = np.zeros(size, np.bool_)
        picks[list(writes)] = list(writes.values())
        mask[list(writes)] = True
        update = s.add("Gather", [updates, s.constant(picks)], axis=0)
        combined = s.add(COMBINE[reduction], [current, update])
        current = s.select(s.constant(mask), combined, current)
    s.add("Reshape", [current, s.constant(np.array(shape, np.int64))], node.output[0])
    s.run()


@handles("ScatterND")
def scatter_nd(g: GraphImporter, node) -> None:
    """ScatterND of run-time data at constant indices (`_scatter`); all constant, it folds."""
    shape = g.shape_of_input(node.input[0])
    indices = _constant_indices(g, node.input[1])
    depth = indices.shape[-1] if indices.ndim else 0
    if indices.ndim < 1 or depth > len(shape):
        raise NodeError(f"indices of shape {list(indices.shape)} do not index data {list(shape)}")
    index = _wrapped(indices, shape[:depth], "ScatterND")
    _scatter(g, node, shape, _positions(shape)[tuple(np.moveaxis(index, -1, 0))])


@handles("ScatterElements", "Scatter")
def scatter_elements(g: GraphImporter, node) -> None:
    """ScatterElements (Scatter before opset 11) of run-time data at constant indices: update
    t goes to t with its axis coordinate replaced by `indices[t]` (`_scatter`)."""
    shape = g.shape_of_input(node.input[0])
    indices = _constant_indices(g, node.input[1])
    if indices.ndim != len(shape) or any(i > d for i, d in zip(indices.shape, shape, strict=True)):
        raise NodeError(f"indices of shape {list(indices.shape)} do not fit data {list(shape)}")
    axis = normalize_axis(attrs(node).get("axis", 0), len(shape))
    coords = list(np.indices(indices.shape, np.int64))
    coords[axis] = _wrapped(indices, shape[axis], "ScatterElements")
    _scatter(g, node, shape, np.ravel_multi_index(coords, shape))


@handles("ReverseSequence")
def reverse_sequence(g: GraphImporter, node) -> None:
    """ReverseSequence of a run-time tensor by constant lengths: each batch row's first
    `sequence_lens[b]` steps along the time axis reversed, a gather of the flat positions."""
    shape = tuple(g.shape_of_input(node.input[0]))
    lengths = _constant_indices(g, node.input[1]).reshape(-1)
    a = attrs(node)
    batch = normalize_axis(a.get("batch_axis", 1), len(shape))
    time = normalize_axis(a.get("time_axis", 0), len(shape))
    if {batch, time} != {0, 1} or lengths.size != shape[batch]:
        raise NodeError(
            f"batch_axis and time_axis must be 0 and 1 with one length per batch row, got "
            f"{batch}, {time} and {lengths.size} lengths for shape {list(shape)}"
        )
    if ((lengths < 0) | (lengths > shape[time])).any():
        raise NodeError(f"a sequence length is outside [0, {shape[time]}]")
    steps = np.arange(shape[time])[:, None]
    reversed_steps = np.where(steps < lengths[None, :], lengths[None, :] - 1 - steps, steps)
    if batch == 0:
        reversed_steps = reversed_steps.T
    index = [np.arange(d).reshape([-1 if i == k else 1 for i in range(len(shape))])
             for k, d in enumerate(shape)]  # fmt: skip
    index[time] = reversed_steps.reshape(*reversed_steps.shape, *[1] * (len(shape) - 2))
    read = np.ravel_multi_index(np.broadcast_arrays(*index), shape)
    s = Steps(g, node)
    _gathered(s, node.input[0], math.prod(shape), read, node.output[0])
    s.run()


@handles("MaxUnpool")
def max_unpool(g: GraphImporter, node) -> None:
    """MaxUnpool of run-time values at constant indices: zeros with each value written at its
    flat index (in order, the last write winning), a gather of zero and the values."""
    shape = tuple(g.shape_of_input(node.input[0]))
    indices = _constant_indices(g, node.input[1])
    if indices.shape != shape or len(shape) != 4:
        raise NodeError(f"indices must have the NCHW values' shape {list(shape)}")
    a = attrs(node)
    kernel = list(a.get("kernel_shape", []))
    strides = list(a.get("strides", [1] * len(kernel)))
    pads = list(a.get("pads", [0] * 2 * len(kernel)))
    if len(node.input) > 2 and node.input[2]:
        out = [int(v) for v in g.constant_array(node.input[2], "output_shape").ravel()]
    else:
        spatial = [
            (size - 1) * stride + k - pads[i] - pads[i + len(kernel)]
            for i, (size, stride, k) in enumerate(zip(shape[2:], strides, kernel, strict=True))
        ]
        out = [*shape[:2], *spatial]
    size = math.prod(out)
    targets = indices.reshape(-1)  # flat indices into the whole output (MaxPool's Indices)
    if ((targets < 0) | (targets >= size)).any():
        raise NodeError(f"an index is outside the output's {size} elements")
    source = np.zeros(size, np.int64)
    np.maximum.at(source, targets, 1 + np.arange(targets.size))  # the last write wins
    s = Steps(g, node)
    values = s.add("Reshape", [node.input[0], s.constant(np.array([targets.size], np.int64))])
    zero = s.constant(np.zeros(1, np.float32))
    both = s.add("Concat", [zero, values], axis=0)
    _gathered(s, both, targets.size + 1, source.reshape(out), node.output[0])
    s.run()
