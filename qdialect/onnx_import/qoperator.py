"""QuantizeLinear, DequantizeLinear and the QOperator nodes (QLinearConv, QGemm, ...).

QOperator nodes become quantized qnn ops directly: their scale and zero-point inputs give the
`!quant.uniform` types of their operands and result. ConvInteger and MatMulInteger read their
operands with scale 1 and give raw int32.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto
from xdsl.dialects import arith
from xdsl.dialects.builtin import f16, f32, i32
from xdsl.ir import SSAValue

from qdialect import qnn
from qdialect.gemm_alpha import alpha_scaled
from qdialect.onnx_import import blockwise_qdq
from qdialect.onnx_import.batched import build_matmul
from qdialect.onnx_import.blockwise_types import blocked
from qdialect.onnx_import.builders import (
    between_reshapes,
    build_avg_pool,
    build_concat,
    build_dot,
    over_one_row,
    rank_of,
    transposed,
)
from qdialect.onnx_import.common import (
    attrs,
    broadcast_shape,
    optional_input,
    shape_of,
    tensor_type,
)
from qdialect.onnx_import.convolution import build_conv
from qdialect.onnx_import.element_types import onnx_dtype
from qdialect.onnx_import.errors import NodeError
from qdialect.onnx_import.graph import GraphImporter
from qdialect.onnx_import.pool3d import (
    build_global_pool3d,
    build_qlinear_avg_pool3d,
    global_window,
)
from qdialect.onnx_import.registry import handles
from qdialect.qnn.movement import permuted_element
from qdialect.tensors import element_type
from qdialect.types import Granularity

# ----------------------------------------------------------------------------- Q / DQ


@handles("QuantizeLinear")
def quantize_linear(g: GraphImporter, node) -> None:
    """float16 data is widened to float32 first (exact) and divided by its float32 scale, as
    ONNX Runtime does; ONNX's reference rounds the quotient to float16 before `rint`, which
    ONNX Runtime does not (they differ on 1% of random inputs)."""
    x = g.value(node.input[0])
    if element_type(x.type) == f16:
        x = g.add(arith.ExtFOp(x, tensor_type(shape_of(x), f32)))
    if element_type(x.type) != f32:
        raise NodeError(f"input must be float32 or float16, got {element_type(x.type)}")
    a = attrs(node)
    if a.get("precision", TensorProto.FLOAT) != TensorProto.FLOAT:
        raise NodeError(
            f"attribute 'precision' = {TensorProto.DataType.Name(a['precision'])} is not "
            "imported: the division is float32 (FLOAT), as ONNX Runtime computes it"
        )
    if blocked(node):  # `saturate` applies to float8 only, which is refused
        blockwise_qdq.quantize(g, node, x)
        return
    declared = onnx_dtype(a["output_dtype"]) if a.get("output_dtype", 0) else None
    qtype = g.quant_type(
        node.input[1],
        optional_input(node, 2),
        a.get("axis", 1),
        len(shape_of(x)),
        "output",
        storage_dtype=declared,
    )
    y = qnn.QuantizeOp(x, tensor_type(shape_of(x), qtype))
    g.define(node.output[0], g.add(y, node.output[0]))


@handles("DequantizeLinear")
def dequantize_linear(g: GraphImporter, node) -> None:
    name = node.input[0]
    rank = rank_of(g, name)
    if blocked(node):
        blockwise_qdq.dequantize(g, node)
        return
    qtype = g.quant_type(
        node.input[1],
        optional_input(node, 2),
        attrs(node).get("axis", 1),
        rank,
        "input",
        g.stored_dtype(name),
        f"input '{name}'",
    )
    x = g.quantized(name, qtype)
    y = qnn.DequantizeOp(x, tensor_type(shape_of(x), f32))
    if _dequantized_type(g, node) == TensorProto.FLOAT16:
        # the float32 result rounded to float16 (ONNX and ONNX Runtime alike)
        y = arith.TruncFOp(g.add(y), tensor_type(shape_of(x), f16))
    g.define(node.output[0], g.add(y, node.output[0]))


def _dequantized_type(g: GraphImporter, node) -> int:
    """DequantizeLinear's output type: `output_dtype`, else the scale's (FLOAT or FLOAT16)."""
    declared = attrs(node).get("output_dtype", 0)
    if not declared:
        scale = g.constant_array(node.input[1], "input scale").dtype
        declared = TensorProto.FLOAT16 if scale == np.float16 else TensorProto.FLOAT
    if declared not in (TensorProto.FLOAT, TensorProto.FLOAT16):
        raise NodeError(
            f"output type {TensorProto.DataType.Name(declared)} is not imported "
            "(FLOAT and FLOAT16 are)"
        )
    return declared


# ----------------------------------------------------------------------------- QOperator


def quantized_operand(
    g: GraphImporter, node, index: int, scale: int, zp: int, axis: int = 1
) -> SSAValue:
    """Input `index` of a QOperator node as its quantized type, from the node's scale and zero
    point inputs."""
    name = node.input[index]
    rank = rank_of(g, name)
    role = f"input #{index}"
    qtype = g.quant_type(
        node.input[scale], optional_input(node, zp), axis, rank, role, g.stored_dtype(name), role
    )
    return g.quantized(name, qtype)


def quantized_result_type(g: GraphImporter, node, scale: int, zp: int, shape) -> object:
    return tensor_type(
        shape, g.quant_type(node.input[scale], optional_input(node, zp), 1, 0, "output")
    )


def _bias(g: GraphImporter, node, index: int, channels: int, row: bool = False) -> list[SSAValue]:
    """The int32 bias input [channels]; `row`: also [1, channels] (QGemm's C, which ORT's
    quantizer writes in the float Gemm's C shape)."""
    data = g.optional_constant(index, "bias")
    if data is None:
        return []
    shapes = [(channels,), (1, channels)] if row else [(channels,)]
    if data.shape not in shapes or data.dtype != np.int32:
        wanted = " or ".join(str(list(shape)) for shape in shapes)
        raise NodeError(f"bias must be int32 of shape {wanted}, got {data.dtype}{list(data.shape)}")
    return [g.integer_constant(data.reshape(channels), i32)]


@handles("QLinearConv")
def qlinear_conv(g: GraphImporter, node) -> None:
    x = quantized_operand(g, node, 0, 1, 2)
    w = quantized_operand(g, node, 3, 4, 5, axis=0)
    build_conv(
        g,
        node,
        x,
        w,
        _bias(g, node, 8, shape_of(w)[0]),
        lambda shape: quantized_result_type(g, node, 6, 7, shape),
    )


@handles("ConvInteger")
def conv_integer(g: GraphImporter, node) -> None:
    x = g.quantized(node.input[0], g.integer_operand_type(node, 0, 2, rank_of(g, node.input[0])))
    w = g.quantized(node.input[1], g.integer_operand_type(node, 1, 3, 4))
    build_conv(g, node, x, w, [], lambda shape: tensor_type(shape, i32))


@handles("QLinearMatMul")
def qlinear_matmul(g: GraphImporter, node) -> None:
    a = quantized_operand(g, node, 0, 1, 2)
    b = quantized_operand(g, node, 3, 4, 5, axis=-1)  # per column
    build_matmul(g, node, a, b, lambda shape: quantized_result_type(g, node, 6, 7, shape))


@handles("MatMulInteger")
def matmul_integer(g: GraphImporter, node) -> None:
    a = g.quantized(node.input[0], g.integer_operand_type(node, 0, 2, rank_of(g, node.input[0])))
    b = g.quantized(node.input[1], g.integer_operand_type(node, 1, 3, rank_of(g, node.input[1])))
    build_matmul(g, node, a, b, lambda shape: tensor_type(shape, i32))


@handles("QGemm")
def qgemm(g: GraphImporter, node) -> None:
    a_attrs = attrs(node)
    alpha = float(a_attrs.get("alpha", 1.0))
    if not alpha > 0:
        raise NodeError(f"alpha {alpha:g} is not imported (only alpha > 0)")
    if len(node.input) < 8 or not node.input[7]:
        raise NodeError("QGemm with a float output (no y_scale) is not imported")
    b = _qgemm_b(g, node, bool(a_attrs.get("transB", 0)))
    a = quantized_operand(g, node, 0, 1, 2)
    if len(shape_of(a)) != 2:
        raise NodeError(f"input A must be a 2-D matrix, got shape {list(shape_of(a))}")
    if a_attrs.get("transA", 0):
        a = transposed(g, a)
    if alpha != 1:  # the output scale fl(fl(alpha * sa) * sb) of ORT's QGemm
        for op in alpha_scaled(a, alpha):
            a = g.add(op)
    build_dot(
        g,
        node,
        a,
        b,
        _bias(g, node, 6, shape_of(b)[1], row=True),
        lambda s: quantized_result_type(g, node, 7, 8, s),
    )


def _qgemm_b(g: GraphImporter, node, trans_b: bool) -> SSAValue:
    """QGemm's B as [K, N]: a constant (per column, packed once) or, as ORT's quantizer
    writes a Gemm of two activations, a run-time tensor (per tensor; ORT does not pack it)."""
    b_name = node.input[3]
    if b_name not in g.initializers:
        b = quantized_operand(g, node, 3, 4, 5)
        if len(shape_of(b)) != 2:
            raise NodeError(f"input B '{b_name}' must be a 2-D matrix, got {list(shape_of(b))}")
        return transposed(g, b) if trans_b else b
    b_data = g.constant_array(b_name, "B")
    if b_data.ndim != 2:
        raise NodeError(f"input B '{b_name}' must be a 2-D matrix, got shape {list(b_data.shape)}")
    b_type = g.quant_type(node.input[4], optional_input(node, 5), 0 if trans_b else 1, 2, "B")
    if trans_b:
        b_data = b_data.T
        if b_type.granularity is Granularity.PER_AXIS:
            b_type = permuted_element(b_type, (1, 0))
    return g.quantized_constant(np.ascontiguousarray(b_data), b_type, b_name)


@handles("QLinearAdd", "QLinearMul")
def qlinear_add(g: GraphImporter, node) -> None:
    a = quantized_operand(g, node, 0, 1, 2)
    b = quantized_operand(g, node, 3, 4, 5)
    shape = broadcast_shape(shape_of(a), shape_of(b))
    kind = qnn.AddOp if node.op_type == "QLinearAdd" else qnn.MulOp
    op = kind(a, b, quantized_result_type(g, node, 6, 7, shape))
    g.define(node.output[0], g.add(op, node.output[0]))


@handles("QLinearConcat")
def qlinear_concat(g: GraphImporter, node) -> None:
    parts = [quantized_operand(g, node, i, i + 1, i + 2) for i in range(2, len(node.input), 3)]
    build_concat(
        g,
        node,
        parts,
        attrs(node).get("axis", 0),
        lambda s: quantized_result_type(g, node, 0, 1, s),
    )


@handles("QLinearAveragePool", "QLinearGlobalAveragePool")
def qlinear_avg_pool(g: GraphImporter, node) -> None:
    x = quantized_operand(g, node, 0, 1, 2)
    nhwc = bool(attrs(node).get("channels_last", 0))

    def build(g: GraphImporter, node, x: SSAValue) -> None:
        build_avg_pool(g, node, x, nhwc, lambda shape: quantized_result_type(g, node, 3, 4, shape))

    if len(shape_of(x)) == 3 and not nhwc:  # ORT's 1-D task: the 2-D one's sums, a row
        return over_one_row(g, node, x, build)
    if len(shape_of(x)) == 5 and node.op_type == "QLinearAveragePool" and not nhwc:
        y_type = element_type(quantized_result_type(g, node, 3, 4, [1]))
        if global_window(node, shape_of(x)):  # (as a 2-D one: the global pool's arithmetic)
            return build_global_pool3d(g, node, x, y_type)
        last = g.block.last_op
        reals = build_qlinear_avg_pool3d(g, node, x, y_type)
        y = g.add(qnn.QuantizeOp(reals, tensor_type(shape_of(reals), y_type)), node.output[0])
        g.mark_decomposed(last, node.op_type)
        return g.define(node.output[0], y)
    if len(shape_of(x)) == 5 and node.op_type == "QLinearGlobalAveragePool" and not nhwc:
        n, c, depth, height, width = shape_of(x)  # ORT's sum of the D·H·W values, as 2-D's
        image = [n, c, depth * height, width]
        return between_reshapes(g, node, x, image, build, lambda y: [*y[:2], 1, 1, 1])
    build(g, node, x)
