"""Booleans computed at run time (an attention mask built as transformers' newer exports build
it): And, Or, Xor, Not as `qnn.logical`, Where as `qnn.select`, Expand of a run-time tensor as
`qnn.broadcast` (qdialect/qnn/logical.py). With constant inputs only they fold as shape
arithmetic (folding.py) before they get here."""

from __future__ import annotations

import math

import numpy as np
from xdsl.dialects.builtin import IntegerAttr, IntegerType, StringAttr, UnitAttr, f32, i64
from xdsl.ir import SSAValue

from qdialect import qnn
from qdialect.names import record_name, ssa_name_hint
from qdialect.onnx_import import qoperator
from qdialect.onnx_import.builders import reshaped
from qdialect.onnx_import.common import attrs, normalize_axis, shape_of, tensor_type
from qdialect.onnx_import.errors import NodeError
from qdialect.onnx_import.graph import GraphImporter
from qdialect.onnx_import.registry import handles
from qdialect.qnn import Comparison, IntegerArithmetic, Logical
from qdialect.qnn.elementwise import broadcast_shape
from qdialect.qnn.logical import BOOL
from qdialect.tensors import element_type

LOGICAL = {"And": Logical.AND, "Or": Logical.OR, "Xor": Logical.XOR, "Not": Logical.XOR}
COMPARE = {
    "Equal": Comparison.EQUAL,
    "Less": Comparison.LESS,
    "LessOrEqual": Comparison.LESS_EQUAL,
    "Greater": Comparison.GREATER,
    "GreaterOrEqual": Comparison.GREATER_EQUAL,
}
INTEGER = {
    "Add": IntegerArithmetic.ADD,
    "Sub": IntegerArithmetic.SUB,
    "Mul": IntegerArithmetic.MUL,
    "Div": IntegerArithmetic.DIV,
    "Min": IntegerArithmetic.MIN,
    "Max": IntegerArithmetic.MAX,
}
# the kinds whose result depends on signedness: an unsigned constant (a signless integer
# type here, read as signed) is refused
SIGNED_ONLY = frozenset(
    {
        IntegerArithmetic.DIV,
        IntegerArithmetic.MOD,
        IntegerArithmetic.FMOD,
        IntegerArithmetic.MIN,
        IntegerArithmetic.MAX,
        IntegerArithmetic.SHIFT_RIGHT,
    }
)


def run_time_integer(g: GraphImporter, node) -> bool:
    """Whether one of `node`'s inputs is an integer (or boolean) tensor computed at run time:
    Add/Sub/Mul of those are `qnn.integer_binary`, not the float ops."""
    return any(
        name in g.values and isinstance(element_type(g.values[name].type), IntegerType)
        for name in node.input
    )


def boolean(g: GraphImporter, name: str) -> SSAValue:
    value = g.operand(name)
    if element_type(value.type) != BOOL:
        raise NodeError(f"input '{name}' must be a boolean tensor, got {element_type(value.type)}")
    return value


def broadcast(*values: SSAValue) -> tuple[int, ...]:
    shape: tuple[int, ...] | None = shape_of(values[0])
    for value in values[1:]:
        shape = None if shape is None else broadcast_shape(shape, shape_of(value))
    if shape is None:
        raise NodeError(f"input shapes {[list(shape_of(v)) for v in values]} do not broadcast")
    return shape


@handles("And", "Or", "Xor", "Not")
def logical(g: GraphImporter, node) -> None:
    """And/Or/Xor of booleans; Not is a xor with true."""
    lhs = boolean(g, node.input[0])
    if node.op_type == "Not":
        rhs = g.integer_constant(np.ones((), np.int8), BOOL)
    else:
        rhs = boolean(g, node.input[1])
    shape = broadcast(lhs, rhs)
    op = qnn.LogicalOp(LOGICAL[node.op_type], lhs, rhs, tensor_type(shape, BOOL))
    g.define(node.output[0], g.add(op, node.output[0]))


BITWISE = {
    "BitwiseAnd": IntegerArithmetic.BIT_AND,
    "BitwiseOr": IntegerArithmetic.BIT_OR,
    "BitwiseXor": IntegerArithmetic.BIT_XOR,
}
SHIFTS = {"LEFT": IntegerArithmetic.SHIFT_LEFT, "RIGHT": IntegerArithmetic.SHIFT_RIGHT}


@handles(*BITWISE, "BitwiseNot", "BitShift")
def bitwise(g: GraphImporter, node) -> None:
    """Bitwise And/Or/Xor and BitShift of run-time integers (constants fold); BitwiseNot is a
    xor with all ones."""
    if node.op_type == "BitwiseNot":
        x = g.operand(node.input[0])
        elem = element_type(x.type)
        if not isinstance(elem, IntegerType) or elem == BOOL:
            raise NodeError(f"input must be an integer tensor, got {elem}")
        ones = g.integer_constant(np.array(-1, f"i{elem.width.data // 8}"), elem)
        op = qnn.IntegerBinaryOp.create(
            operands=[x, ones],
            result_types=[x.type],
            properties={"kind": StringAttr(IntegerArithmetic.BIT_XOR.value)},
        )
        return g.define(node.output[0], g.add(op, node.output[0]))
    if node.op_type in BITWISE:
        return integer_binary(g, node, BITWISE[node.op_type])
    direction = attrs(node).get("direction", b"")
    direction = direction.decode() if isinstance(direction, bytes) else direction
    if direction not in SHIFTS:
        raise NodeError(f"direction must be 'LEFT' or 'RIGHT', got {direction!r}")
    integer_binary(g, node, SHIFTS[direction])


@handles("Where")
def where(g: GraphImporter, node) -> None:
    """Where as ORT's kernel merges its two selections (`qnn.select {merged}`: a selected X of
    -0.0 comes out +0.0)."""
    select(g, node, merged=True)


def select(g: GraphImporter, node, merged: bool = False) -> None:
    """`qnn.select` of a Where-shaped node (cond, X, Y); `merged`: ORT's Where's merge, for
    floats (a plain select copies, as ORT's Trilu or ScatterND do)."""
    cond = boolean(g, node.input[0])
    a, b = g.operand(node.input[1]), g.operand(node.input[2])
    elem = element_type(a.type)
    if element_type(b.type) != elem:
        raise NodeError(
            f"X and Y must have one element type, got {elem} and {element_type(b.type)}"
        )
    shape = broadcast(cond, a, b)
    properties = {"merged": UnitAttr()} if merged and elem == f32 else {}
    op = qnn.SelectOp.create(
        operands=[cond, a, b], result_types=[tensor_type(shape, elem)], properties=properties
    )
    g.define(node.output[0], g.add(op, node.output[0]))


@handles("ArgMax", "ArgMin")
def arg_reduce(g: GraphImporter, node) -> None:
    """ArgMax / ArgMin of a float32, integer or quantized tensor (ORT's QOperator ArgMax reads
    the stored values): `qnn.arg_reduce`, keepdims and select_last_index as given."""
    x = g.operand(node.input[0])
    shape = shape_of(x)
    if not shape:
        raise NodeError("input must have rank 1 or more")
    a = attrs(node)
    axis = normalize_axis(a.get("axis", 0), len(shape))
    out = [*shape[:axis], *([1] if a.get("keepdims", 1) else []), *shape[axis + 1 :]]
    properties = {
        "kind": StringAttr("max" if node.op_type == "ArgMax" else "min"),
        "axis": IntegerAttr(axis, i64),
    }
    if a.get("select_last_index", 0):
        properties["select_last_index"] = UnitAttr()
    op = qnn.ArgReduceOp.create(
        operands=[x], result_types=[tensor_type(out, i64)], properties=properties
    )
    g.define(node.output[0], g.add(op, node.output[0]))


@handles("TopK")
def top_k(g: GraphImporter, node) -> None:
    """TopK of a float32, integer or quantized tensor (ORT's fused QDQ TopK ranks the stored
    values), K a constant (an input from opset 10, the `k` attribute before): `qnn.top_k`,
    sorted. `sorted=0` leaves the order to the runtime and is refused by name."""
    x = g.operand(node.input[0])
    shape = shape_of(x)
    if not shape:
        raise NodeError("input must have rank 1 or more")
    a = attrs(node)
    if not a.get("sorted", 1):
        raise NodeError("sorted=0 (an order ONNX leaves open) is not imported; sorted=1 is")
    if len(node.input) > 1 and node.input[1]:
        k_data = g.constant_array(node.input[1], "K")
        if np.size(k_data) != 1:
            raise NodeError(f"K must hold one value, got shape {list(np.shape(k_data))}")
        k = int(np.ravel(k_data)[0])
    else:
        k = int(a.get("k", 0))
    axis = normalize_axis(a.get("axis", -1), len(shape))
    if not 0 <= k <= shape[axis]:
        raise NodeError(f"K = {k} must lie in 0 .. {shape[axis]}, the size of axis {axis}")
    out = [*shape[:axis], k, *shape[axis + 1 :]]
    properties = {"k": IntegerAttr(k, i64), "axis": IntegerAttr(axis, i64)}
    if not a.get("largest", 1):
        properties["smallest"] = UnitAttr()
    op = qnn.TopKOp.create(
        operands=[x],
        result_types=[tensor_type(out, element_type(x.type)), tensor_type(out, i64)],
        properties=properties,
    )
    values = g.add(op, node.output[0])
    g.define(node.output[0], values)
    if len(node.output) > 1 and node.output[1]:
        indices = op.results[1]
        indices.name_hint = ssa_name_hint(node.output[1])
        record_name(indices, node.output[1])
        g.define(node.output[1], indices)


@handles("QLinearWhere")
def qlinear_where(g: GraphImporter, node) -> None:
    """ONNX Runtime's QLinearWhere (com.microsoft; its QOperator Where under
    ForceQuantizeNoInputCheck): X and Y move to the output's parameters through lookup tables
    of quantize(dequantize(q)) (a copy where the parameters are the output's), which is the
    float select between dequantizes and a quantize."""
    cond = boolean(g, node.input[0])
    parts = [qoperator.quantized_operand(g, node, i, i + 1, i + 2) for i in (1, 4)]
    floats = [g.add(qnn.DequantizeOp(v, tensor_type(shape_of(v), f32))) for v in parts]
    shape = broadcast(cond, *floats)
    chosen = g.add(
        qnn.SelectOp.create(operands=[cond, *floats], result_types=[tensor_type(shape, f32)])
    )
    result = qnn.QuantizeOp(chosen, qoperator.quantized_result_type(g, node, 7, 8, shape))
    g.define(node.output[0], g.add(result, node.output[0]))


@handles("Expand")
def expand(g: GraphImporter, node) -> None:
    """Expand of a run-time tensor to a constant shape (ONNX's two-way broadcast)."""
    x = g.operand(node.input[0])
    target = tuple(int(d) for d in np.ravel(g.constant_array(node.input[1], "shape")))
    shape = broadcast_shape(shape_of(x), target)
    if shape is None:
        raise NodeError(f"input shape {list(shape_of(x))} does not broadcast to {list(target)}")
    if shape == shape_of(x):
        if g.node_constants and element_type(x.type) == f32:
            # an Expand to its input's shape is still a node to ORT's quantizers, its output
            # a tensor of its own (as an Identity's: `movement.identity`)
            last = g.block.last_op
            g.define(node.output[0], g.add(qnn.CastOp(x, x.type), node.output[0]))
            return g.mark_decomposed(last, "Expand")
        return g.define(node.output[0], x)
    op = qnn.BroadcastOp.create(
        operands=[x], result_types=[tensor_type(shape, element_type(x.type))]
    )
    g.define(node.output[0], g.add(op, node.output[0]))


@handles(*COMPARE)
def compare(g: GraphImporter, node) -> None:
    """A comparison of run-time tensors (with constants only, it folded)."""
    lhs, rhs = g.operand(node.input[0]), g.operand(node.input[1])
    if element_type(lhs.type) != element_type(rhs.type):
        raise NodeError(
            f"A and B must have one element type, got {element_type(lhs.type)} and "
            f"{element_type(rhs.type)}"
        )
    shape = broadcast(lhs, rhs)
    op = qnn.CompareOp.create(
        operands=[lhs, rhs],
        result_types=[tensor_type(shape, BOOL)],
        properties={"kind": StringAttr(COMPARE[node.op_type].value)},
    )
    g.define(node.output[0], g.add(op, node.output[0]))


def integer_binary(g: GraphImporter, node, kind: IntegerArithmetic | None = None) -> None:
    """Add, Sub, Mul, Div or Mod (`kind`) of integer tensors, or Min or Max of two or more
    (folded left), one computed at run time (float_ops and float_math hand them here)."""
    kind = kind or INTEGER[node.op_type]
    constants = [n for n in node.input if n in g.initializers]
    unsigned = [n for n in constants if g.initializers[n].dtype.kind == "u"]
    if kind in SIGNED_ONLY and unsigned:
        raise NodeError(f"{node.op_type} of the unsigned constant '{unsigned[0]}' is not imported")
    result = g.operand(node.input[0])
    elem = element_type(result.type)
    for name in node.input[1:]:
        rhs = g.operand(name)
        if element_type(rhs.type) != elem or elem == BOOL:
            raise NodeError(
                f"inputs must have one integer element type, got {elem} and "
                f"{element_type(rhs.type)}"
            )
        op = qnn.IntegerBinaryOp.create(
            operands=[result, rhs],
            result_types=[tensor_type(broadcast(result, rhs), elem)],
            properties={"kind": StringAttr(kind.value)},
        )
        result = g.add(op, node.output[0])
    g.define(node.output[0], result)


@handles("CumSum", "CumProd")
def cumsum(g: GraphImporter, node) -> None:
    """CumSum or CumProd of a run-time tensor along a constant axis."""
    x = g.operand(node.input[0])
    axis = normalize_axis(
        int(np.ravel(g.constant_array(node.input[1], "axis"))[0]), len(shape_of(x))
    )
    a = attrs(node)
    properties = {"axis": IntegerAttr(axis, i64)}
    for flag in ("exclusive", "reverse"):
        if a.get(flag, 0):
            properties[flag] = UnitAttr()
    if node.op_type == "CumProd":
        properties["product"] = UnitAttr()
    op = qnn.CumSumOp.create(operands=[x], result_types=[x.type], properties=properties)
    g.define(node.output[0], g.add(op, node.output[0]))


@handles("GatherElements")
def gather_elements(g: GraphImporter, node) -> None:
    """GatherElements of run-time data or indices (DeBERTa's disentangled attention scores,
    TopK's indices gathering their rows): a `qnn.gather` of the flattened data at the flat
    positions. Of a constant whose elements are all one value (a buffer of zero token types
    read at run-time positions): that value in the indices' shape, a constant (valid indices
    assumed; with constant indices it folded)."""
    data = g.initializers.get(node.input[0])
    indices = g.values.get(node.input[1])
    one_value = data is not None and data.size > 0 and (data == data.flat[0]).all()
    if indices is None or node.input[0] in g.values or not one_value:
        return _gather_elements_at(g, node, indices)
    g.initializers[node.output[0]] = np.full(shape_of(indices), data.flat[0], data.dtype)  # type: ignore[union-attr]
    g.folded[node.output[0]] = None


def _gather_elements_at(g: GraphImporter, node, run_time: SSAValue | None) -> None:
    """`out[t] = data[t with t_axis = indices[t]]` is the flattened data at
    `Σ_d coord_d · stride_d`, one `qnn.gather` along axis 0. Constant indices give those
    positions as a constant; `run_time` indices first gather from `0..n-1` along the axis (which
    counts a negative index from the end and stops at one out of range, as ORT's kernel does),
    then times the axis' stride plus the other coordinates' constant part."""
    x = g.value(node.input[0])
    shape = shape_of(x)
    if run_time is None:
        indices = np.asarray(g.constant_array(node.input[1], "indices"))
        kind, index_shape = indices.dtype.kind, indices.shape
    else:
        elem = element_type(run_time.type)
        kind = "i" if isinstance(elem, IntegerType) and elem != BOOL else "f"
        index_shape = shape_of(run_time)
    if kind not in "iu" or len(index_shape) != len(shape):
        raise NodeError(
            f"indices must be integers of the data's rank {len(shape)}, got "
            f"{indices.dtype if run_time is None else element_type(run_time.type)} of rank "
            f"{len(index_shape)}"
        )
    axis = normalize_axis(attrs(node).get("axis", 0), len(shape))
    size = shape[axis]
    if any(t > s for d, (t, s) in enumerate(zip(index_shape, shape, strict=True)) if d != axis):
        raise NodeError(f"indices of shape {list(index_shape)} reach past data {list(shape)}")
    coords = list(np.indices(index_shape, np.int64))
    last = g.block.last_op
    if run_time is None:
        if ((indices < -size) | (indices >= size)).any():
            raise NodeError(f"an index is outside [{-size}, {size - 1}] along axis {axis}")
        coords[axis] = np.where(indices < 0, indices + size, indices).astype(np.int64)
        ids = g.integer_constant(np.ravel_multi_index(coords, shape), i64)
    else:
        ids = _flat_positions(g, run_time, coords, shape, axis)
    rows = reshaped(g, x, [math.prod(shape)])
    op = qnn.GatherOp.create(
        operands=[rows, ids],
        result_types=[tensor_type(list(index_shape), element_type(x.type))],
        properties={"axis": IntegerAttr(0, i64)},
    )
    g.define(node.output[0], g.add(op, node.output[0]))
    g.mark_decomposed(last, "GatherElements")


def _flat_positions(g: GraphImporter, indices: SSAValue, coords, shape, axis: int) -> SSAValue:
    """The flat positions in data of `shape` that run-time `indices` along `axis` name."""
    elem = element_type(indices.type)
    dtype = np.dtype(f"i{elem.width.data // 8}")  # type: ignore[attr-defined]
    if math.prod(shape) > np.iinfo(dtype).max:
        raise NodeError(f"{dtype} indices cannot address the {math.prod(shape)} data elements")
    positions = g.integer_constant(np.arange(shape[axis], dtype=dtype), elem)
    index_type = tensor_type(list(coords[0].shape), elem)

    def binary(kind: IntegerArithmetic, lhs: SSAValue, constant: np.ndarray) -> SSAValue:
        rhs = g.integer_constant(constant.astype(dtype), elem)
        op = qnn.IntegerBinaryOp.create(
            operands=[lhs, rhs],
            result_types=[index_type],
            properties={"kind": StringAttr(kind.value)},
        )
        return g.add(op)

    along = g.add(
        qnn.GatherOp.create(
            operands=[positions, indices],
            result_types=[index_type],
            properties={"axis": IntegerAttr(0, i64)},
        )
    )
    stride = math.prod(shape[axis + 1 :])
    if stride != 1:
        along = binary(IntegerArithmetic.MUL, along, np.array(stride))
    coords[axis] = np.zeros_like(coords[axis])
    return binary(IntegerArithmetic.ADD, along, np.ravel_multi_index(coords, shape))
