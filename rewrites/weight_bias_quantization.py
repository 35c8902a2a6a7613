"""`weight-bias-quantization`: ONNX Runtime's WeightBiasQuantization, a graph transformer its
default session runs from level 1 (`onnxruntime/core/optimizer/qdq_transformer/
weight_bias_quantization.cc`).

A float Conv, ConvTranspose or Gemm whose input comes from a DequantizeLinear with one scale,
and whose output reaches a QuantizeLinear through nothing but single-reader Relu/Clip nodes (a
node left float between quantized ones: a QOperator model's ConvTranspose, a node in
`nodes_to_exclude`), gets
- its float weight quantized to int8 per tensor, `GetQuantizationParameter<int8_t>`: the range
  of the values and 0, scale `(max - min) / 255` (1 for an all-zero weight), zero point
  `round(-128 - min / scale)` clamped, then dequantized in front of the node;
- its float bias quantized to int32 with scale `f32(input scale · weight scale)`:
  `Round(f32(b / scale))` half to even, dequantized in front of the node (a weight already
  dequantized keeps its parameters, and only the bias is quantized).
ONNX Runtime's QDQ fusion then runs a Conv or Gemm group in integers (`fold-qdq` does the same)
and a ConvTranspose in float on the dequantized weight. ORT's session quantizes these weights
whatever the model says; so does `qnn-default`, before `fold-qdq`, so that an imported model
computes what ORT computes. A Gemm without C or transB is not told apart from a MatMul here
and keeps its float weight.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import arith, func, tensor
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass

from qdialect import qnn
from qdialect.arithmetic import SCALE_RANGE
from qdialect.constants import dense_array
from qdialect.names import DEQUANTIZED_ATTR, tensor_name
from qdialect.ort_qparams import QParams, QType, quantize_array
from qdialect.storage import INT32_MAX, INT32_MIN
from qdialect.tensors import element_type
from qdialect.types import Granularity, UniformQuantizedType
from rewrites.common import stored_constant
from rewrites.onnx_nodes import (
    conv_transpose_inputs,
    inner_op,
    is_float_tensor,
    node_inputs,
    node_kind,
    node_ops,
)
from rewrites.qdq_ir import constant_chain

F32 = np.float32
KINDS = ("Conv", "ConvTranspose", "Gemm")


@dataclass(frozen=True)
class ConvLikeNode:
    """A Conv, ConvTranspose or Gemm node of the module: its input, its weight and bias as
    read (a Gemm's weight through its transB transpose), the node's ops, its output."""

    kind: str
    input: SSAValue
    weight: SSAValue
    bias: SSAValue | None
    ops: frozenset[Operation]
    output: SSAValue
    transposed_weight: bool  # Gemm's transB: the weight's output channels are its axis 0


def conv_like_node(op: Operation) -> ConvLikeNode | None:
    """The node whose output `op` writes, if it is one WeightBiasQuantization looks at."""
    kind = node_kind(op)
    if kind not in KINDS or inner_op(op):
        return None
    ops = node_ops(op)
    if kind == "ConvTranspose":
        found = conv_transpose_inputs(op) or _dequantized_filter_inputs(op)
        if found is None:
            return None
        x, weight, bias = found
        return ConvLikeNode(kind, x, weight, bias, frozenset(ops), op.results[0], False)
    compute = op if isinstance(op, qnn.Conv2DOp | qnn.DotOp) else None
    if compute is None:  # a 1-D conv: the conv2d between two reshapes
        compute = next((o for o in ops if isinstance(o, qnn.Conv2DOp)), None)
    if compute is None:  # a dynamically quantized one
        return None
    if compute.addend is not None or not is_float_tensor(compute.results[0]):
        return None
    x = compute.input
    if isinstance(x.owner, tensor.ReshapeOp) and x.owner in ops:
        x = x.owner.source
    weight, transposed = compute.weight, False
    if isinstance(weight.owner, qnn.TransposeOp):
        weight, transposed = weight.owner.input, True
        ops = ops | {compute.weight.owner}
    return ConvLikeNode(kind, x, weight, compute.bias, frozenset(ops), op.results[0], transposed)


def _dequantized_filter_inputs(op: Operation) -> tuple[SSAValue, SSAValue, SSAValue | None] | None:
    """A ConvTranspose's input, dequantized filter (a DequantizeLinear of a stored constant)
    and constant bias; `_quantize` then takes the filter's scales as ORT does (one, or one per
    output channel along axis 1)."""
    inputs = node_inputs(op)
    filters = [
        v
        for v in inputs
        if isinstance(v.owner, qnn.DequantizeOp) and len(_shape(v)) > 1 and stored_constant(v)
    ]
    others = [v for v in inputs if v not in filters]
    computed = [v for v in others if not _float_constant(v)]
    biases = [v for v in others if _float_constant(v)]
    if len(filters) != 1 or len(computed) != 1 or len(biases) > 1:
        return None
    return computed[0], filters[0], biases[0] if biases else None


def quantize_weights_and_biases(function: func.FuncOp) -> None:
    for op in list(function.body.block.ops):
        node = conv_like_node(op)
        if node is not None:
            _quantize(node)


def _quantize(node: ConvLikeNode) -> None:
    dequantize = node.input.owner
    if not isinstance(dequantize, qnn.DequantizeOp):
        return
    x_type = element_type(dequantize.input.type)
    if (
        not isinstance(x_type, UniformQuantizedType)
        or x_type.granularity is not Granularity.PER_TENSOR
    ):
        return
    if not _reaches_quantize(node.output):
        return
    weight = node.weight
    bias = None
    if node.bias is not None:
        if not _float_constant(node.bias) or len(_shape(node.bias)) != 1:
            return
        bias = dense_array(node.bias.owner).astype(F32)
    weight_dq = weight.owner if isinstance(weight.owner, qnn.DequantizeOp) else None
    if weight_dq is None and not _float_constant(weight):
        return
    weight_params = None
    if weight_dq is not None:
        weight_scale = _dequantized_scale(weight_dq, node, bias.size) if bias is not None else None
        if weight_scale is None:
            return  # nothing to quantize, or a weight's axis ORT does not take
    else:
        weight_params = int8_weight_params(dense_array(weight.owner).astype(F32))
        weight_scale = weight_params.scale.reshape(-1)
    bias_scale = None if bias is None else (F32(x_type.scale) * weight_scale).astype(F32)
    low, high = SCALE_RANGE
    scales = [*weight_scale, *(bias_scale if bias_scale is not None else [])]
    if not all(low <= s <= high for s in scales):
        return  # left to fold-qdq, which refuses such scales by name, located at the node
    if weight_params is not None:
        values = quantize_array(dense_array(weight.owner), weight_params)
        name = _name(weight, "weight")
        chain = constant_chain(values, weight_params, None, weight.owner.next_op, name)
        _replace_in(node, weight, chain)
    if bias is not None and bias_scale is not None and node.bias is not None:
        _quantize_bias(node, node.bias, bias, bias_scale)


def _quantize_bias(node: ConvLikeNode, value: SSAValue, bias: np.ndarray, scale: np.ndarray):
    """The bias as ORT's rewrite writes it: Round(b / scale) in float32, an int32 DQ'd."""
    per_channel = scale.size > 1
    params = QParams(
        np.zeros(scale.shape if per_channel else (), np.int64),
        scale if per_channel else scale.reshape(()),
        QType.QInt8,
        0 if per_channel else None,
    )
    values = np.round((bias / (scale if per_channel else scale[0])).astype(F32))
    values = np.clip(values, INT32_MIN, INT32_MAX).astype(np.int64)
    chain = constant_chain(values, params, "i32", value.owner.next_op, _name(value, "bias"))
    _replace_in(node, value, chain)


def int8_weight_params(data: np.ndarray) -> QParams:
    """`GetQuantizationParameter<int8_t>` (ORT's `qmath.h`): the range of the data and 0,
    `scale = (max - min) / 255` in float32 (1 when the range is empty), `zero point =
    RoundHalfToEven(clamp(-128 - min / scale, -128, 127))`."""
    low = min(F32(data.min()), F32(0)) if data.size else F32(0)
    high = max(F32(data.max()), F32(0)) if data.size else F32(0)
    scale = F32(1) if high == low else F32(F32(high - low) / F32(255))
    initial = F32(F32(-128) - F32(low / scale))
    zero_point = int(np.round(np.clip(initial, F32(-128), F32(127))))
    return QParams(np.array(zero_point, np.int64), np.array(scale, F32), QType.QInt8)


def _dequantized_scale(weight_dq: qnn.DequantizeOp, node: ConvLikeNode, bias_size: int):
    """A dequantized weight's scales, if ORT takes them: one, or one per output channel on
    the axis it expects."""
    qtype = element_type(weight_dq.input.type)
    if not isinstance(qtype, UniformQuantizedType):
        return None
    scales = np.asarray(qtype.scales, F32)
    if qtype.granularity is Granularity.PER_TENSOR:
        return scales.reshape(-1)
    # the output channels: a ConvTranspose filter's axis 1 (ORT 1.31 takes it so, as its own
    # quantizer writes it), a Gemm's 1 unless transB, a Conv's 0
    gemm_n = node.kind == "Gemm" and not node.transposed_weight
    expected = 1 if node.kind == "ConvTranspose" or gemm_n else 0
    if qtype.granularity is not Granularity.PER_AXIS or qtype.axis != expected:
        return None
    return scales if scales.size == bias_size else None


def _reaches_quantize(value: SSAValue) -> bool:
    """ORT's `IsNoBranchPathToQuantizeLinear`: one reader, a QuantizeLinear, or a Relu/Clip
    with one reader that leads to one (the graph's outputs are no readers)."""
    while True:
        readers = {u.operation for u in value.uses if not isinstance(u.operation, func.ReturnOp)}
        if len(readers) != 1:
            return False
        (reader,) = readers
        if isinstance(reader, qnn.QuantizeOp):
            return True
        if not isinstance(reader, qnn.ReluOp | qnn.ClampOp):
            return False
        value = reader.results[0]


def _float_constant(value: SSAValue) -> bool:
    """An initializer (ORT counts a Constant node's output as one too; a filter we folded
    from a DequantizeLinear is none)."""
    owner = value.owner
    return (
        isinstance(owner, arith.ConstantOp)
        and DEQUANTIZED_ATTR not in owner.attributes
        and is_float_tensor(value)
    )


def _shape(value: SSAValue) -> tuple[int, ...]:
    return tuple(value.type.get_shape())  # type: ignore[union-attr]


def _replace_in(node: ConvLikeNode, old: SSAValue, new: SSAValue) -> None:
    """`old` replaced by `new` where the node's ops read it (others may share the constant)."""
    old.replace_uses_with_if(new, lambda use: use.operation in node.ops)


def _name(value: SSAValue, role: str) -> str:
    return tensor_name(value) or role


@dataclass(frozen=True)
class WeightBiasQuantizationPass(ModulePass):
    name = "weight-bias-quantization"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for function in op.walk():
            if isinstance(function, func.FuncOp) and function.body.blocks:
                quantize_weights_and_biases(function)
