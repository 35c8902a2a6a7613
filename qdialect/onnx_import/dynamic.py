"""Dynamic quantization as ONNX Runtime writes it: DynamicQuantizeLinear, the chains
`quantize_dynamic` builds around MatMulInteger / ConvInteger (`Cast` to float, `Mul` by the
`Mul` of the two scales), and the contrib ops its optimizer fuses them into
(`MatMulIntegerToFloat`, `DynamicQuantizeMatMul`), all as qnn.dynamic_* ops; and a
QuantizeLinear / DequantizeLinear whose scale the graph computes, as `qnn.runtime_quantize` /
`qnn.runtime_dequantize`.

A chain is recognised as a whole before any of its nodes is imported (`Chains`), so the Cast
and Mul nodes inside it import as nothing and the chain's last Mul names the float result;
a Cast or Mul anywhere else is refused by name. MatMulInteger / ConvInteger with constant zero
points stay the raw-int32 ops of `qoperator`.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass

import numpy as np
from xdsl.dialects.builtin import IntegerType, Signedness, f32

from qdialect import qnn
from qdialect.onnx_import import (  # registered first: handlers wrapped here
    float_math,
    float_ops,
    qoperator,
)
from qdialect.onnx_import.builders import (
    as_2d,
    conv_props,
    rank_of,
    reshaped,
    weight_rows,
    window,
)
from qdialect.onnx_import.common import attrs, optional_input, shape_of, tensor_type
from qdialect.onnx_import.element_types import onnx_dtype, storage_of
from qdialect.onnx_import.errors import NodeError
from qdialect.onnx_import.folding import is_constant
from qdialect.onnx_import.graph import GraphImporter
from qdialect.onnx_import.registry import handles

FLOAT = 1  # onnx.TensorProto.FLOAT
U8 = IntegerType(8, Signedness.UNSIGNED)


@dataclass(frozen=True)
class Chain:
    """DynamicQuantizeLinear → MatMulInteger/ConvInteger → Cast → Mul(·, Mul(a_scale, w_scale))."""

    dql: object
    integer: object
    cast: object
    mul: object
    scales_mul: object
    w_scale: str


class Chains:
    """Every chain of a graph, by its integer node, and the nodes they absorb."""

    def __init__(self, g: GraphImporter) -> None:
        self.producer = {o: n for n in g.graph.node for o in n.output if o}
        self.consumers: dict[str, list] = {}
        for n in g.graph.node:
            for i in n.input:
                self.consumers.setdefault(i, []).append(n)
        self.by_node: dict[int, Chain] = {}
        for n in g.graph.node:
            if n.op_type in ("MatMulInteger", "ConvInteger"):
                chain = self._match(g, n)
                if chain is not None:
                    self.by_node[id(n)] = chain
        muls = {id(c.mul) for c in self.by_node.values()}
        self.absorbed = {id(c.cast) for c in self.by_node.values()} | muls
        for c in self.by_node.values():
            if all(id(m) in muls for m in self.consumers.get(c.scales_mul.output[0], [])):
                self.absorbed.add(id(c.scales_mul))

    def _sole_consumer(self, name: str, op_type: str):
        users = self.consumers.get(name, [])
        return users[0] if len(users) == 1 and users[0].op_type == op_type else None

    def _match(self, g: GraphImporter, n) -> Chain | None:
        dql = self.producer.get(n.input[0])
        a_zp = optional_input(n, 2)
        if dql is None or dql.op_type != "DynamicQuantizeLinear" or a_zp != dql.output[2]:
            return None
        cast = self._sole_consumer(n.output[0], "Cast")
        if cast is None or attrs(cast).get("to") != FLOAT:
            return None
        mul = self._sole_consumer(cast.output[0], "Mul")
        if mul is None:
            return None
        other = mul.input[1] if mul.input[0] == cast.output[0] else mul.input[0]
        scales = self.producer.get(other)
        if scales is None or scales.op_type != "Mul" or dql.output[1] not in scales.input:
            return None
        w_scale = scales.input[1] if scales.input[0] == dql.output[1] else scales.input[0]
        if not is_constant(g, w_scale):  # (a DynamicQuantizeLinear of a constant weight folds)
            return None
        return Chain(dql, n, cast, mul, scales, w_scale)


_CHAINS: weakref.WeakKeyDictionary[GraphImporter, Chains] = weakref.WeakKeyDictionary()


def chains(g: GraphImporter) -> Chains:
    if g not in _CHAINS:
        _CHAINS[g] = Chains(g)
    return _CHAINS[g]


@handles("DynamicQuantizeLinear")
def dynamic_quantize_linear(g: GraphImporter, node) -> None:
    x = g.value(node.input[0])
    if x.type.element_type != f32:
        raise NodeError(f"input must be float32, got {x.type.element_type}")
    op = qnn.DynamicQuantizeOp(x)
    g.add(op, node.output[0])
    for name, result in zip(node.output, op.results, strict=True):
        if name:
            g.define(name, result)


def _weight(g: GraphImporter, node, index: int, scale: str, zp: str | None, axis: int, rank: int):
    qtype = g.quant_type(scale, zp, axis, rank, "weight")
    if qtype.storage_width != 8:
        raise NodeError(f"weight must be 8-bit, got {qtype}")
    return g.quantized(node.input[index], qtype)


def _u8_input(g: GraphImporter, name: str, role: str):
    value = g.value(name)
    if value.type.element_type != U8:
        raise NodeError(f"{role} '{name}' must be the uint8 data of a DynamicQuantizeLinear")
    return value


def _parameter(g: GraphImporter, name: str, role: str, elem):
    """A run-time scale / zero point, or a constant initializer as a constant."""
    if name in g.initializers and name not in g.values:
        data = g.initializers[name]
        if data.size != 1:
            raise NodeError(f"{role} '{name}' must be a scalar")
        data = data.reshape(())
        return g.float_constant(data) if elem == f32 else g.integer_constant(data, elem)
    value = g.value(name)
    if value.type.element_type != elem or shape_of(value) not in ((), (1,)):
        raise NodeError(f"{role} '{name}' must be a scalar of {elem}")
    return value


def _dot(g: GraphImporter, node, a, a_scale, a_zp, b, bias, out: str) -> None:
    shape = (*shape_of(a)[:-1], shape_of(b)[1])
    operands = [a, a_scale, a_zp, b] + ([bias] if bias is not None else [])
    op = qnn.DynamicDotOp.create(operands=operands, result_types=[tensor_type(shape, f32)])
    g.define(out, g.add(op, out))


def _bias(g: GraphImporter, node, index: int):
    name = optional_input(node, index)
    return None if name is None else g.value(name)


@handles("MatMulInteger", "ConvInteger")
def integer_op(g: GraphImporter, node) -> None:
    """A chain's integer node; with constant zero points, the raw op of `qoperator`."""
    zp = optional_input(node, 2)
    if zp is None or zp in g.initializers:
        handler = (
            qoperator.matmul_integer if node.op_type == "MatMulInteger" else qoperator.conv_integer
        )
        return handler(g, node)
    chain = chains(g).by_node.get(id(node))
    if chain is None and node.op_type == "MatMulInteger" and node.input[1] in g.values:
        raise NodeError(
            "a MatMulInteger of two run-time tensors (quantize_dynamic with MatMulConstBOnly "
            "false: attention's Q·Kᵀ and P·V) is not imported; quantize with MatMulConstBOnly "
            "true, quantize_dynamic's default"
        )
    if chain is None:
        raise NodeError(
            "a run-time zero point is imported only in quantize_dynamic's chain "
            "DynamicQuantizeLinear -> " + node.op_type + " -> Cast(to=FLOAT) -> Mul(·, Mul(scales))"
        )
    a = _u8_input(g, node.input[0], "input A")
    a_scale, a_zp = g.value(chain.dql.output[1]), g.value(zp)
    out = chain.mul.output[0]
    if node.op_type == "MatMulInteger":
        b = _weight(g, node, 1, chain.w_scale, optional_input(node, 3), 1, 2)
        return _dot(g, node, a, a_scale, a_zp, b, None, out)
    w = _weight(g, node, 1, chain.w_scale, optional_input(node, 3), 0, rank_of(g, node.input[1]))
    one_d = len(shape_of(w)) == 3  # a 1-D conv: the 2-D one over a height of 1 (build_conv1d)
    last = g.block.last_op
    if one_d:
        node = as_2d(node)
        n, c, length = shape_of(a)
        a, w = reshaped(g, a, [n, c, 1, length]), weight_rows(g, w)
    ws = shape_of(w)
    win = window(node, shape_of(a), kernel=list(ws[2:]), fixed_kernel=ws[2:])
    shape = (shape_of(a)[0], ws[0], *win["out"])
    op = qnn.DynamicConv2DOp.create(
        operands=[a, a_scale, a_zp, w],
        result_types=[tensor_type(shape, f32)],
        properties=conv_props(win, attrs(node).get("group", 1)),
    )
    if not one_d:
        return g.define(out, g.add(op, out))
    y = reshaped(g, g.add(op), [shape[0], shape[1], shape[3]], out)
    g.mark_decomposed(last, "ConvInteger")
    g.define(out, y)


@handles("Cast", "Mul")
def chain_member(g: GraphImporter, node) -> None:
    """Nothing for a node a chain absorbed; else a float Mul (`float_ops`) or a float Cast
    (`float_math`). (This module imports both first, so these handlers are the ones
    registered.)"""
    if id(node) in chains(g).absorbed:
        return
    if node.op_type == "Mul":
        float_ops.add(g, node)
    else:
        float_math.cast(g, node)


@handles("QuantizeLinear")
def quantize_linear(g: GraphImporter, node) -> None:
    """With a scale the graph computes (ONNX's expansion of DynamicQuantizeLinear):
    `qnn.runtime_quantize`; with constant parameters, `qoperator`'s."""
    if node.input[1] in g.initializers and node.input[1] not in g.values:
        return qoperator.quantize_linear(g, node)
    a = attrs(node)
    if a.get("block_size", 0) or a.get("precision", FLOAT) != FLOAT:
        raise NodeError("a run-time scale is imported for per-tensor float32 QuantizeLinear only")
    x = g.value(node.input[0])
    if x.type.element_type != f32:
        raise NodeError(f"input must be float32 with a run-time scale, got {x.type.element_type}")
    scale = _parameter(g, node.input[1], "y_scale", f32)
    zp = _zero_point(g, node, a.get("output_dtype", 0))
    op = qnn.RuntimeQuantizeOp(x, _scalar(g, scale), _scalar(g, zp))
    g.define(node.output[0], g.add(op, node.output[0]))


@handles("DequantizeLinear")
def dequantize_linear(g: GraphImporter, node) -> None:
    """With a scale the graph computes (a DynamicQuantizeLinear's, where ONNX Runtime's
    `quantize_dynamic` ran a Transpose on the uint8 data): `qnn.runtime_dequantize`; with
    constant parameters, `qoperator`'s."""
    if node.input[1] in g.initializers and node.input[1] not in g.values:
        return qoperator.dequantize_linear(g, node)
    a = attrs(node)
    if a.get("block_size", 0) or a.get("output_dtype", FLOAT) != FLOAT:
        raise NodeError("a run-time scale is imported for per-tensor float32 DequantizeLinear only")
    name = node.input[0]
    if name in g.initializers and name not in g.values:
        data = g.initializers[name]
        x = g.integer_constant(data, _integer_type(data.dtype))
    else:
        x = g.value(name)
    elem = x.type.element_type
    if not isinstance(elem, IntegerType) or elem.width.data not in (8, 16):
        raise NodeError(f"input must be 8- or 16-bit integers with a run-time scale, got {elem}")
    scale = _parameter(g, node.input[1], "x_scale", f32)
    name = optional_input(node, 2)
    if name is None:
        zp = g.integer_constant(np.zeros((), np.int64), elem)
    else:
        zp = _parameter(g, name, "x_zero_point", elem)
        if zp.type.element_type != elem:
            raise NodeError(
                f"x_zero_point '{name}' must have the input's type {elem}, got {zp.type}"
            )
    op = qnn.RuntimeDequantizeOp(x, _scalar(g, scale), _scalar(g, zp))
    g.define(node.output[0], g.add(op, node.output[0]))


def _zero_point(g: GraphImporter, node, output_dtype: int):
    """QuantizeLinear's zero point as a value: the input (constant or run-time), else a 0 of
    `output_dtype` (default uint8)."""
    name = optional_input(node, 2)
    if name is None or name in g.initializers and name not in g.values:
        dtype = onnx_dtype(output_dtype) if output_dtype else np.dtype(np.uint8)
        data = g.initializers[name] if name else np.zeros((), dtype)
        if data.size != 1:
            raise NodeError("a run-time scale needs a scalar zero point (per tensor)")
        return g.integer_constant(data.reshape(()), _integer_type(data.dtype))
    value = g.value(name)
    if not isinstance(value.type.element_type, IntegerType) or math.prod(shape_of(value)) != 1:
        raise NodeError(f"y_zero_point '{name}' must be an integer scalar, got {value.type}")
    return value


def _integer_type(dtype: np.dtype) -> IntegerType:
    storage = storage_of(dtype, "y_zero_point")
    if storage not in ("u8", "i8", "u16", "i16", "i32"):
        raise NodeError(f"a run-time scale is imported for 8-, 16- and 32-bit storage, not {dtype}")
    signedness = Signedness.UNSIGNED if storage[0] == "u" else Signedness.SIGNLESS
    return IntegerType(int(storage[1:]), signedness)


def _scalar(g: GraphImporter, value):
    return value if shape_of(value) == () else reshaped(g, value, ())


@handles("MatMulIntegerToFloat")
def matmul_integer_to_float(g: GraphImporter, node) -> None:
    a = _u8_input(g, node.input[0], "input A")
    a_scale = _parameter(g, node.input[2], "a_scale", f32)
    zp_name = optional_input(node, 4)
    if zp_name:
        a_zp = _parameter(g, zp_name, "a_zero_point", U8)
    else:
        a_zp = g.integer_constant(np.zeros((), np.uint8), U8)
    b = _weight(g, node, 1, node.input[3], optional_input(node, 5), 1, rank_of(g, node.input[1]))
    _dot(g, node, a, a_scale, a_zp, b, _bias(g, node, 6), node.output[0])


@handles("DynamicQuantizeMatMul")
def dynamic_quantize_matmul(g: GraphImporter, node) -> None:
    x = g.value(node.input[0])
    if x.type.element_type != f32:
        raise NodeError(f"input A must be float32, got {x.type.element_type}")
    quantize = qnn.DynamicQuantizeOp(x)
    g.add(quantize)
    b = _weight(g, node, 1, node.input[2], optional_input(node, 3), 1, rank_of(g, node.input[1]))
    a, a_scale, a_zp = quantize.results
    _dot(g, node, a, a_scale, a_zp, b, _bias(g, node, 4), node.output[0])
