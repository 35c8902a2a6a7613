"""ONNX node → qnn/quant/tensor ops, one handler per ONNX op type.

QOperator nodes (QLinearConv, QGemm, …) become quantized qnn ops directly. QDQ graphs are
imported literally — float ops between DequantizeLinear and QuantizeLinear — and the
`fold-qdq` rewrite turns them into integer ops the way ONNX Runtime does. Data-movement ops
work on float and quantized tensors alike.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from xdsl.dialects import tensor
from xdsl.dialects.builtin import (
    BoolAttr,
    FloatAttr,
    IntegerAttr,
    StringAttr,
    f32,
    f64,
    i32,
    i64,
)
from xdsl.ir import SSAValue

from qdialect import qnn
from qdialect.arithmetic import quantize_value
from qdialect.float32 import f32 as to_f32
from qdialect.onnx_import.graph import GraphImporter, NodeError, shape_of, tensor_type
from qdialect.qnn.common import int_array
from qdialect.qnn.movement import permuted_element
from qdialect.tensors import element_type
from qdialect.types import Granularity, UniformQuantizedType

Handler = Callable[[GraphImporter, object], None]
HANDLERS: dict[str, Handler] = {}

# Ops with a reason they are not imported (named in the one error listing all of them).
UNSUPPORTED_REASONS = {
    "QLinearLeakyRelu": "qnn has no lookup-table op to run it exactly",
    "QLinearSigmoid": "qnn has no lookup-table op to run it exactly",
    "QLinearSoftmax": "qnn has no lookup-table op to run it exactly",
    "QLinearMul": "qnn has no quantized multiply",
}


def handles(*op_types: str):
    def register(fn: Handler) -> Handler:
        for op_type in op_types:
            HANDLERS[op_type] = fn
        return fn

    return register


def quant_param_positions(node) -> list[tuple[int, int | None, int | None]]:
    """(tensor, scale, zero point) input positions of the quantized tensors `node` reads."""
    op = node.op_type
    if op == "DequantizeLinear":
        return [(0, 1, 2)]
    if op in ("QLinearConv", "QLinearMatMul", "QLinearAdd", "QLinearMul", "QGemm"):
        return [(0, 1, 2), (3, 4, 5)]
    if op in ("QLinearAveragePool", "QLinearGlobalAveragePool", "QLinearLeakyRelu"):
        return [(0, 1, 2)]
    if op == "QLinearSigmoid":
        return [(0, 1, 2)]
    if op == "QLinearConcat":
        return [(i, i + 1, i + 2) for i in range(2, len(node.input), 3)]
    if op in ("ConvInteger", "MatMulInteger"):
        return [(0, None, 2), (1, None, 3)]
    return []


def unsupported_nodes(graph) -> list[str]:
    """'OpType (node 'name'[: why])' for every node no handler imports."""
    found = []
    for node in graph.node:
        if node.op_type in HANDLERS and node.domain in ("", "ai.onnx", "com.microsoft"):
            continue
        label = f"{node.op_type} (node '{node.name}'"
        reason = UNSUPPORTED_REASONS.get(node.op_type)
        found.append(label + (f": {reason})" if reason else ")"))
    return found


# ----------------------------------------------------------------------------- attributes


def attrs(node) -> dict:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _decode(value):
    return value.decode() if isinstance(value, bytes) else value


def window_pads(node, spatial, kernel, strides, dilations) -> list[int]:
    """[top, left, bottom, right] from `pads` or `auto_pad` (SAME_UPPER/LOWER, VALID)."""
    a = attrs(node)
    auto = _decode(a.get("auto_pad", "NOTSET"))
    if auto in ("NOTSET", "VALID"):
        pads = list(a.get("pads", [0, 0, 0, 0])) if auto == "NOTSET" else [0, 0, 0, 0]
        if len(pads) != 4:
            raise NodeError(f"pads {pads} are not 2-D [top, left, bottom, right]")
        return pads
    begin, end = [], []
    for size, k, s, d in zip(spatial, kernel, strides, dilations, strict=True):
        out = -(-size // s)
        total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
        small, large = total // 2, total - total // 2
        begin.append(small if auto == "SAME_UPPER" else large)
        end.append(large if auto == "SAME_UPPER" else small)
    return [begin[0], begin[1], end[0], end[1]]


def _out_size(size, k, s, lo, hi, d, ceil_mode: bool) -> int:
    span = d * (k - 1) + 1
    if size + lo + hi < span:
        raise NodeError(f"window of extent {span} does not fit the padded input ({size + lo + hi})")
    floor = (size + lo + hi - span) // s + 1
    if ceil_mode and -(-(size + lo + hi - span) // s) + 1 != floor:
        raise NodeError("ceil_mode=1 with a partial last window is not supported")
    return floor


def window(node, x_shape, kernel=None, nhwc: bool = False) -> dict:
    """Kernel, strides, pads, dilations and result spatial size of a conv/pool node."""
    a = attrs(node)
    spatial = x_shape[1:3] if nhwc else x_shape[2:]
    if len(x_shape) != 4:
        raise NodeError(f"only 2-D windows (rank-4 tensors) are imported, got rank {len(x_shape)}")
    kernel = list(a.get("kernel_shape", kernel))
    strides = list(a.get("strides", [1, 1]))
    dilations = list(a.get("dilations", [1, 1]))
    pads = window_pads(node, spatial, kernel, strides, dilations)
    ceil = bool(a.get("ceil_mode", 0))
    out = [
        _out_size(spatial[i], kernel[i], strides[i], pads[i], pads[i + 2], dilations[i], ceil)
        for i in range(2)
    ]
    return {"kernel": kernel, "strides": strides, "pads": pads, "dilations": dilations, "out": out}


def _conv_props(w: dict, groups: int, layout: str = "nchw") -> dict:
    return {
        "strides": int_array(w["strides"]),
        "pads": int_array(w["pads"]),
        "dilations": int_array(w["dilations"]),
        "groups": IntegerAttr(groups, i64),
        "layout": StringAttr(layout),
    }


def _axis(axis: int, rank: int) -> int:
    normalized = axis + rank if axis < 0 else axis
    if not 0 <= normalized < rank:
        raise NodeError(f"axis {axis} is out of range for rank {rank}")
    return normalized


def _input(node, index: int) -> str | None:
    return node.input[index] if index < len(node.input) and node.input[index] else None


# ----------------------------------------------------------------------------- Q / DQ


@handles("QuantizeLinear")
def quantize_linear(g: GraphImporter, node) -> None:
    x = g.value(node.input[0])
    if element_type(x.type) != f32:
        raise NodeError(f"input must be float32, got {element_type(x.type)}")
    a = attrs(node)
    if a.get("saturate", 1) != 1 or a.get("block_size", 0):
        raise NodeError("only saturating, per-tensor or per-axis QuantizeLinear is imported")
    qtype = g.quant_type(
        node.input[1], _input(node, 2), a.get("axis", 1), len(shape_of(x)), "output"
    )
    y = qnn.QuantizeOp(x, tensor_type(shape_of(x), qtype))
    g.define(node.output[0], g.add(y, node.output[0]))


@handles("DequantizeLinear")
def dequantize_linear(g: GraphImporter, node) -> None:
    name = node.input[0]
    rank = _rank(g, name)
    if attrs(node).get("block_size", 0):
        raise NodeError("blocked DequantizeLinear is not imported")
    qtype = g.quant_type(node.input[1], _input(node, 2), attrs(node).get("axis", 1), rank, "input")
    x = g.quantized(name, qtype)
    y = qnn.DequantizeOp(x, tensor_type(shape_of(x), f32))
    g.define(node.output[0], g.add(y, node.output[0]))


# ----------------------------------------------------------------------------- QOperator


def _operand(g: GraphImporter, node, index: int, scale: int, zp: int, axis: int = 1) -> SSAValue:
    name = node.input[index]
    rank = _rank(g, name)
    qtype = g.quant_type(node.input[scale], _input(node, zp), axis, rank, f"input #{index}")
    return g.quantized(name, qtype)


def _result_type(g: GraphImporter, node, scale: int, zp: int, shape) -> object:
    return tensor_type(shape, g.quant_type(node.input[scale], _input(node, zp), 1, 0, "output"))


def _bias(g: GraphImporter, node, index: int, channels: int) -> list[SSAValue]:
    data = g.optional_constant(index, "bias")
    if data is None:
        return []
    if data.shape != (channels,) or data.dtype != np.int32:
        raise NodeError(
            f"bias must be int32 of shape [{channels}], got {data.dtype}{list(data.shape)}"
        )
    return [g.integer_constant(data, i32)]


@handles("QLinearConv")
def qlinear_conv(g: GraphImporter, node) -> None:
    x = _operand(g, node, 0, 1, 2)
    w = _operand(g, node, 3, 4, 5, axis=0)
    _conv(
        g,
        node,
        x,
        w,
        _bias(g, node, 8, shape_of(w)[0]),
        lambda shape: _result_type(g, node, 6, 7, shape),
    )


@handles("ConvInteger")
def conv_integer(g: GraphImporter, node) -> None:
    x = g.quantized(node.input[0], integer_operand_type(g, node, 0, 2, _rank(g, node.input[0])))
    w = g.quantized(node.input[1], integer_operand_type(g, node, 1, 3, 4))
    _conv(g, node, x, w, [], lambda shape: tensor_type(shape, i32))


def _rank(g: GraphImporter, name: str) -> int:
    """The rank of tensor `name`, an initializer or an earlier value."""
    return g.initializers[name].ndim if name in g.initializers else len(shape_of(g.value(name)))


def integer_operand_type(g: GraphImporter, node, index: int, zp: int, rank: int):
    """Scale-1 type of a ConvInteger/MatMulInteger operand; a weight's zero point may be per
    output channel (ConvInteger: axis 0, MatMulInteger: axis 1)."""
    name = node.input[index]
    zp_name = _input(node, zp)
    if zp_name:
        zps = g.constant_array(zp_name, "zero point")
        dtype = zps.dtype
    else:
        zps = np.zeros((), np.uint8)
        dtype = g.input_dtype(name)
    storage = {np.dtype(np.uint8): "u8", np.dtype(np.int8): "i8"}.get(np.dtype(dtype))
    if storage is None:
        raise NodeError(f"operand '{name}' must be uint8 or int8, got {dtype}")
    if zps.size == 1:
        return UniformQuantizedType.per_tensor(storage, f32, 1.0, int(zps.ravel()[0]))
    if index == 0:
        raise NodeError("a per-row zero point of the data operand is not imported")
    axis = 0 if node.op_type == "ConvInteger" else 1
    zeros = [int(z) for z in zps.ravel()]
    return UniformQuantizedType.per_axis(storage, f32, axis, [1.0] * zps.size, zeros)


def _conv(
    g: GraphImporter, node, x: SSAValue, w: SSAValue, bias, result_type, bias_float=None
) -> None:
    xs, ws = shape_of(x), shape_of(w)
    if len(ws) != 4:
        raise NodeError(f"only 2-D convolutions are imported, weight has rank {len(ws)}")
    groups = attrs(node).get("group", 1)
    win = window(node, xs, kernel=ws[2:])
    shape = [xs[0], ws[0], *win["out"]]
    op = qnn.Conv2DOp.build(
        operands=[x, w, bias, []],
        result_types=[result_type(shape)],
        properties=_conv_props(win, groups),
    )
    g.define(node.output[0], g.add(op, node.output[0]))


@handles("QLinearMatMul")
def qlinear_matmul(g: GraphImporter, node) -> None:
    a = _operand(g, node, 0, 1, 2)
    b = _operand(g, node, 3, 4, 5, axis=1)
    _dot(g, node, a, b, [], lambda shape: _result_type(g, node, 6, 7, shape))


@handles("MatMulInteger")
def matmul_integer(g: GraphImporter, node) -> None:
    a = g.quantized(node.input[0], integer_operand_type(g, node, 0, 2, _rank(g, node.input[0])))
    b = g.quantized(node.input[1], integer_operand_type(g, node, 1, 3, 2))
    _dot(g, node, a, b, [], lambda shape: tensor_type(shape, i32))


def _dot(g: GraphImporter, node, a: SSAValue, b: SSAValue, bias, result_type) -> None:
    sa, sb = shape_of(a), shape_of(b)
    if len(sb) != 2 or len(sa) < 2:
        raise NodeError(f"imported as [..., M, K] x [K, N]; got shapes {list(sa)} and {list(sb)}")
    shape = [*sa[:-1], sb[1]]
    op = qnn.DotOp.build(operands=[a, b, bias, []], result_types=[result_type(shape)])
    g.define(node.output[0], g.add(op, node.output[0]))


@handles("QGemm")
def qgemm(g: GraphImporter, node) -> None:
    a_attrs = attrs(node)
    if a_attrs.get("alpha", 1.0) != 1.0:
        raise NodeError("alpha other than 1 is not imported")
    if len(node.input) < 8 or not node.input[7]:
        raise NodeError("QGemm with a float output (no y_scale) is not imported")
    b_name = node.input[3]
    b_data = g.constant_array(b_name, "B")
    trans_b = a_attrs.get("transB", 0)
    b_type = g.quant_type(node.input[4], _input(node, 5), 0 if trans_b else 1, 2, "B")
    if trans_b:
        b_data = b_data.T
        if b_type.granularity is Granularity.PER_AXIS:
            b_type = permuted_element(b_type, (1, 0))
    b = g.quantized_constant(np.ascontiguousarray(b_data), b_type, b_name)
    a = _operand(g, node, 0, 1, 2)
    if a_attrs.get("transA", 0):
        a = _transposed(g, a)
    _dot(g, node, a, b, _bias(g, node, 6, shape_of(b)[1]), lambda s: _result_type(g, node, 7, 8, s))


def _transposed(
    g: GraphImporter, value: SSAValue, perm=(1, 0), name: str | None = None
) -> SSAValue:
    shape = [shape_of(value)[p] for p in perm]
    elem = permuted_element(element_type(value.type), tuple(perm))
    op = qnn.TransposeOp.create(
        operands=[value],
        result_types=[tensor_type(shape, elem)],
        properties={"permutation": int_array(perm)},
    )
    return g.add(op, name)


@handles("QLinearAdd")
def qlinear_add(g: GraphImporter, node) -> None:
    a = _operand(g, node, 0, 1, 2)
    b = _operand(g, node, 3, 4, 5)
    shape = np.broadcast_shapes(shape_of(a), shape_of(b))
    op = qnn.AddOp(a, b, _result_type(g, node, 6, 7, shape))
    g.define(node.output[0], g.add(op, node.output[0]))


@handles("QLinearConcat")
def qlinear_concat(g: GraphImporter, node) -> None:
    parts = [_operand(g, node, i, i + 1, i + 2) for i in range(2, len(node.input), 3)]
    _concat(g, node, parts, attrs(node).get("axis", 0), lambda s: _result_type(g, node, 0, 1, s))


def _concat(g: GraphImporter, node, parts: list[SSAValue], axis: int, result_type) -> None:
    axis = _axis(axis, len(shape_of(parts[0])))
    shape = list(shape_of(parts[0]))
    shape[axis] = sum(shape_of(p)[axis] for p in parts)
    op = qnn.ConcatOp.create(
        operands=parts,
        result_types=[result_type(shape)],
        properties={"axis": IntegerAttr(axis, i64)},
    )
    g.define(node.output[0], g.add(op, node.output[0]))


@handles("QLinearAveragePool", "QLinearGlobalAveragePool")
def qlinear_avg_pool(g: GraphImporter, node) -> None:
    x = _operand(g, node, 0, 1, 2)
    nhwc = bool(attrs(node).get("channels_last", 0))
    _avg_pool(g, node, x, nhwc, lambda shape: _result_type(g, node, 3, 4, shape))


def _avg_pool(g: GraphImporter, node, x: SSAValue, nhwc: bool, result_type) -> None:
    xs = shape_of(x)
    if len(xs) != 4:
        raise NodeError(f"only 2-D pooling (rank-4 tensors) is imported, got rank {len(xs)}")
    spatial = list(xs[1:3] if nhwc else xs[2:])
    win = window(node, xs, kernel=spatial, nhwc=nhwc)
    if "GlobalAveragePool" in node.op_type:
        win |= {"kernel": spatial, "strides": [1, 1], "pads": [0, 0, 0, 0], "out": [1, 1]}
    shape = [xs[0], *win["out"], xs[3]] if nhwc else [xs[0], xs[1], *win["out"]]
    props = _pool_props(win, nhwc) | {
        "count_include_pad": BoolAttr.from_bool(bool(attrs(node).get("count_include_pad", 0)))
    }
    op = qnn.AvgPool2DOp.create(operands=[x], result_types=[result_type(shape)], properties=props)
    g.define(node.output[0], g.add(op, node.output[0]))


def _pool_props(win: dict, nhwc: bool) -> dict:
    return {
        "kernel": int_array(win["kernel"]),
        "strides": int_array(win["strides"]),
        "pads": int_array(win["pads"]),
        "dilations": int_array(win["dilations"]),
        "layout": StringAttr("nhwc" if nhwc else "nchw"),
    }


# ----------------------------------------------------------------------------- float (QDQ) ops


def _float(g: GraphImporter, name: str) -> SSAValue:
    value = g.value(name)
    if element_type(value.type) != f32:
        raise NodeError(f"input '{name}' must be float32 here, got {element_type(value.type)}")
    return value


@handles("Conv")
def conv(g: GraphImporter, node) -> None:
    x, w = _float(g, node.input[0]), _float(g, node.input[1])
    bias = [_float(g, node.input[2])] if _input(node, 2) else []
    _conv(g, node, x, w, bias, lambda shape: tensor_type(shape, f32))


@handles("MatMul")
def matmul(g: GraphImporter, node) -> None:
    a, b = g.value(node.input[0]), g.value(node.input[1])
    if element_type(a.type) != f32:  # MatMul on quantized tensors is not ONNX
        raise NodeError("MatMul inputs must be float32")
    _dot(g, node, a, b, [], lambda shape: tensor_type(shape, f32))


@handles("Gemm")
def gemm(g: GraphImporter, node) -> None:
    a_attrs = attrs(node)
    if a_attrs.get("alpha", 1.0) != 1.0 or a_attrs.get("beta", 1.0) != 1.0:
        raise NodeError("alpha or beta other than 1 is not imported")
    a, b = _float(g, node.input[0]), _float(g, node.input[1])
    if a_attrs.get("transA", 0):
        a = _transposed(g, a)
    if a_attrs.get("transB", 0):
        b = _transposed(g, b)
    bias: list[SSAValue] = []
    if _input(node, 2):
        c = _float(g, node.input[2])
        n = shape_of(b)[1]
        if shape_of(c) not in ((n,), (1, n)):
            raise NodeError(
                f"C must have shape [{n}] or [1, {n}] to be a bias, got {list(shape_of(c))}"
            )
        bias = [_reshaped(g, c, (n,)) if shape_of(c) != (n,) else c]
    _dot(g, node, a, b, bias, lambda shape: tensor_type(shape, f32))


@handles("Add")
def add(g: GraphImporter, node) -> None:
    a, b = _float(g, node.input[0]), _float(g, node.input[1])
    shape = np.broadcast_shapes(shape_of(a), shape_of(b))
    g.define(node.output[0], g.add(qnn.AddOp(a, b, tensor_type(shape, f32)), node.output[0]))


@handles("Relu")
def relu(g: GraphImporter, node) -> None:
    x = g.value(node.input[0])
    g.define(node.output[0], g.add(qnn.ReluOp(x, x.type), node.output[0]))


@handles("Clip")
def clip(g: GraphImporter, node) -> None:
    x = g.value(node.input[0])
    a = attrs(node)
    bounds = []
    for index, key, default in ((1, "min", -math.inf), (2, "max", math.inf)):
        data = g.optional_constant(index, key)
        bounds.append(float(data) if data is not None else float(a.get(key, default)))
    elem = element_type(x.type)
    if isinstance(elem, UniformQuantizedType):  # bounds are stored values on a quantized tensor
        bounds = [b if math.isinf(b) else _stored_to_real(int(b), elem, "Clip") for b in bounds]
    op = qnn.ClampOp(x, x.type, min=FloatAttr(bounds[0], f64), max=FloatAttr(bounds[1], f64))
    g.define(node.output[0], g.add(op, node.output[0]))


@handles("MaxPool", "GlobalMaxPool")
def max_pool(g: GraphImporter, node) -> None:
    if len([o for o in node.output if o]) > 1 or attrs(node).get("storage_order", 0):
        raise NodeError("the Indices output and storage_order are not imported")
    x = g.value(node.input[0])
    xs = shape_of(x)
    win = window(node, xs, kernel=xs[2:])
    if node.op_type == "GlobalMaxPool":
        win |= {"kernel": list(xs[2:]), "strides": [1, 1], "pads": [0, 0, 0, 0], "out": [1, 1]}
    op = qnn.MaxPool2DOp.create(
        operands=[x],
        result_types=[tensor_type([xs[0], xs[1], *win["out"]], element_type(x.type))],
        properties=_pool_props(win, False),
    )
    g.define(node.output[0], g.add(op, node.output[0]))


@handles("AveragePool", "GlobalAveragePool")
def avg_pool(g: GraphImporter, node) -> None:
    x = _float(g, node.input[0])
    _avg_pool(g, node, x, False, lambda shape: tensor_type(shape, f32))


@handles("Concat")
def concat(g: GraphImporter, node) -> None:
    parts = [g.value(n) for n in node.input]
    elem = element_type(parts[0].type)
    _concat(g, node, parts, attrs(node)["axis"], lambda shape: tensor_type(shape, elem))


# ----------------------------------------------------------------------------- data movement


def _reshaped(g: GraphImporter, value: SSAValue, shape, name: str | None = None) -> SSAValue:
    if math.prod(shape) != math.prod(shape_of(value)):
        raise NodeError(f"cannot reshape {list(shape_of(value))} to {list(shape)}")
    elem = element_type(value.type)
    if isinstance(elem, UniformQuantizedType) and elem.granularity is not Granularity.PER_TENSOR:
        raise NodeError("reshaping a per-axis quantized tensor is not imported")
    target = g.integer_constant(np.array(shape, np.int64), i64)
    op = tensor.ReshapeOp(value, target, tensor_type(shape, elem))
    return g.add(op, name)


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
    g.define(node.output[0], _reshaped(g, x, shape, node.output[0]))


@handles("Flatten")
def flatten(g: GraphImporter, node) -> None:
    x = g.value(node.input[0])
    xs = shape_of(x)
    axis = attrs(node).get("axis", 1)
    axis = axis + len(xs) if axis < 0 else axis
    shape = [math.prod(xs[:axis]), math.prod(xs[axis:])]
    g.define(node.output[0], _reshaped(g, x, shape, node.output[0]))


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
        {_axis(a, len(xs)) for a in axes}
        if axes is not None
        else {i for i, d in enumerate(xs) if d == 1}
    )
    if any(xs[a] != 1 for a in drop):
        raise NodeError(f"cannot squeeze axes {sorted(drop)} of shape {list(xs)}")
    shape = [d for i, d in enumerate(xs) if i not in drop]
    g.define(node.output[0], _reshaped(g, x, shape, node.output[0]))


@handles("Unsqueeze")
def unsqueeze(g: GraphImporter, node) -> None:
    x = g.value(node.input[0])
    xs = list(shape_of(x))
    axes = _axes(g, node)
    if axes is None:
        raise NodeError("axes are required")
    rank = len(xs) + len(axes)
    shape = []
    inserted = {_axis(a, rank) for a in axes}
    it = iter(xs)
    for i in range(rank):
        shape.append(1 if i in inserted else next(it))
    g.define(node.output[0], _reshaped(g, x, shape, node.output[0]))


@handles("Transpose")
def transpose(g: GraphImporter, node) -> None:
    x = g.value(node.input[0])
    perm = list(attrs(node).get("perm", range(len(shape_of(x)))[::-1]))
    g.define(node.output[0], _transposed(g, x, perm, node.output[0]))


@handles("Pad")
def pad(g: GraphImporter, node) -> None:
    x = g.value(node.input[0])
    xs = shape_of(x)
    a = attrs(node)
    mode = _decode(a.get("mode", "constant"))
    if mode not in ("constant", "edge", "reflect"):
        raise NodeError(f"mode '{mode}' is not imported (constant, edge, reflect are)")
    pads_data = g.optional_constant(1, "pads")
    pads = [int(p) for p in pads_data.ravel()] if pads_data is not None else list(a.get("pads", []))
    axes = g.optional_constant(3, "axes")
    rank = len(xs)
    low, high = [0] * rank, [0] * rank
    chosen = [_axis(int(v), rank) for v in axes.ravel()] if axes is not None else list(range(rank))
    if len(pads) != 2 * len(chosen):
        raise NodeError(f"pads {pads} need {2 * len(chosen)} entries")
    for i, axis in enumerate(chosen):
        low[axis], high[axis] = pads[i], pads[i + len(chosen)]
    if any(p < 0 for p in low + high):
        raise NodeError("negative pads (cropping) are not imported")
    fill = g.optional_constant(2, "constant_value")
    value = float(fill) if fill is not None else float(a.get("value", 0.0))
    elem = element_type(x.type)
    if isinstance(elem, UniformQuantizedType) and mode == "constant":
        value = _stored_to_real(int(value), elem, "constant Pad")
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


def _stored_to_real(stored: int, elem: UniformQuantizedType, what: str) -> float:
    """The real a stored value (a Pad or Clip constant on a quantized tensor) stands for; qnn
    ops take reals, and this one must quantize back to `stored`."""
    if elem.granularity is not Granularity.PER_TENSOR:
        raise NodeError(f"{what} on a per-axis quantized tensor is not imported")
    real = float(to_f32(to_f32(stored - elem.zero_point) * to_f32(elem.scale)))
    if quantize_value(real, elem.scale, elem.zero_point, elem.qmin, elem.qmax) != stored:
        raise NodeError(f"{what} value {stored} is outside the tensor's storage range")
    return real


@handles("Identity", "Dropout")
def identity(g: GraphImporter, node) -> None:
    if len([o for o in node.output if o]) > 1:
        raise NodeError("Dropout's mask output is not imported")
    g.define(node.output[0], g.value(node.input[0]))


@handles("Shape", "Gather", "Slice", "Cast", "Sub", "Mul")
def shape_arithmetic(g: GraphImporter, node) -> None:
    raise NodeError("imported only as constant shape arithmetic (its inputs must be constant)")


@handles("Constant")
def constant(g: GraphImporter, node) -> None:
    from onnx import numpy_helper

    a = node.attribute[0]
    if a.name != "value":
        raise NodeError(f"Constant with '{a.name}' is not imported")
    g.initializers[node.output[0]] = numpy_helper.to_array(a.t)
