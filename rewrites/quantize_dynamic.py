"""Dynamic quantization of a float function: ONNX Runtime's `quantize_dynamic`, as a rewrite.

`quantize_dynamic` (onnxruntime 1.31.1, `quantize.py` / `onnx_quantizer.py` in IntegerOps mode)
quantizes MatMul (with a constant B only: `MatMulConstBOnly`, on by default), Conv, and the
Gather of a constant table (an embedding, `GatherQuant`: the table stored as uint8); each
float input becomes one shared DynamicQuantizeLinear (activations are always QUInt8), the
weight is quantized by `quantize_initializer` (per tensor; MatMul per column with
`per_channel`, Conv never: its `op_level_per_channel` is off), `reduce_range` and
`weight_type` as given. Here the float `qnn.dot` / `qnn.conv2d` become `qnn.dynamic_quantize` +
`qnn.dynamic_dot` / `qnn.dynamic_conv2d` with the weight's numbers from `qdialect.ort_qparams`,
which is what importing ORT's own output gives (the Conv bias stays an add after the scaling).

A Transpose (`Direct8BitOp`, also in IntegerOpsRegistry) moves the uint8 data when an earlier
node (in node order) already quantized its input, and keeps the input's run-time scale and zero
point; a float reader of its output gets a DequantizeLinear with those (`_dequantize_value`):
`qnn.runtime_dequantize`. A later MatMul / Conv reading the output reuses the moved data.
"""

from __future__ import annotations

import numpy as np
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import TensorType
from xdsl.ir import Operation, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter

from qdialect import qnn
from qdialect.constants import dense_array
from qdialect.float32_arrays import dynamic_qparams_of
from qdialect.names import node_name, tensor_name
from qdialect.ort_fusions import fuse_float_nodes
from qdialect.ort_qparams import QParams, QType, quantize_array, weight_qparams
from qdialect.ort_session_view import SessionFusions
from qdialect.quant_config import QuantizeConfig
from qdialect.tensors import element_type
from rewrites.onnx_nodes import (
    float_constant,
    inner_op,
    is_untyped,
    node_inputs,
    node_kind,
    node_ops,
    weight_source,
)
from rewrites.qdq_ir import constant_chain
from rewrites.quantize_static import QuantizeError, QuantizeSummary, nchwc_layout

CONV_PROPERTIES = ("strides", "pads", "dilations", "groups", "layout")
QUANTIZED_KINDS = ("MatMul", "Conv")  # of IntegerOpsRegistry, those a float MLP / CNN has


def _weight(rewriter: Rewriter, op: Operation, config: QuantizeConfig, per_column: bool):
    """The constant weight quantized as `quantize_initializer` does, as a quantized value (a
    Gemm's transposed B as `replace_gemm_with_matmul` writes it: the transposed initializer)."""
    source = weight_source(op.weight)
    tied = _tied_weight(op.weight)
    if source is None:  # a Conv's weight through an Identity: no initializer to ORT
        assert tied is not None  # _quantizable checked it
        return _dynamic_weight(dense_array(tied).astype(np.float32), op)
    data = dense_array(float_constant(source.value)).astype(np.float32)  # type: ignore[arg-type]
    if source.transposed:
        data = np.ascontiguousarray(data.T)
    qtype = config.weight_type
    axis = 1 if per_column and config.per_channel else None
    params = weight_qparams(
        data,
        qtype,
        config.weight_symmetric(qtype),
        config.reduce_range,
        axis,
        config.min_real_range,
    )
    dequantized = constant_chain(quantize_array(data, params), params, None, op, None)
    dequantize = dequantized.owner
    weight = dequantize.input  # the quant.scast: the dynamic op reads stored values
    rewriter.erase_op(dequantize)
    return weight


def _tied_weight(value: SSAValue) -> arith.ConstantOp | None:
    """The float constant an Identity node (a kept `qnn.cast`) hands a Conv as its weight,
    which torch's exporter writes for tied weights; None for any other weight."""
    owner = value.owner
    if not isinstance(owner, qnn.CastOp) or owner.input.type != value.type:
        return None
    return float_constant(owner.input)


def _dynamic_weight(data: np.ndarray, op: Operation) -> SSAValue:
    """A weight that is no initializer to ORT: its ConvInteger quantizer gives it a
    DynamicQuantizeLinear of its own (uint8, DESIGN §2's dynamic parameters), which ORT's
    constant folding computes once; the stored values as `_weight` returns them."""
    scale, zero = dynamic_qparams_of(data)
    params = QParams(np.array(zero, np.int64), np.array(scale, np.float32), QType.QUInt8)
    dequantized = constant_chain(quantize_array(data, params), params, None, op, None)
    weight = dequantized.owner.input  # type: ignore[union-attr]
    Rewriter.erase_op(dequantized.owner)  # type: ignore[arg-type]
    return weight


def _gather_table(rewriter: Rewriter, op: qnn.GatherOp, config: QuantizeConfig) -> None:
    """`GatherQuant` of a constant table (`quantize_activation(node, [0])`): the table stored
    in the activation type (QUInt8) by `quantize_initializer` (symmetric as the weights are
    when that is the weight type too, else as activations are; never reduced), the gather
    moving stored values, a DequantizeLinear after it with the table's parameters."""
    data = dense_array(float_constant(op.data)).astype(np.float32)  # type: ignore[arg-type]
    qtype = config.activation_type
    symmetric = (
        config.weight_symmetric(qtype)
        if qtype == config.weight_type
        else config.activation_symmetric
    )
    params = weight_qparams(data, qtype, symmetric, False, None, config.min_real_range)
    dequantize = constant_chain(quantize_array(data, params), params, None, op, None).owner
    table = dequantize.input  # the quant.scast: the gather reads stored values
    rewriter.erase_op(dequantize)
    elem = element_type(table.type)
    result_type = TensorType(elem, op.result.type.get_shape())
    gathered = qnn.GatherOp.create(
        operands=[table, op.indices], result_types=[result_type], properties=dict(op.properties)
    )
    gathered.attributes.update(op.attributes)
    rewriter.replace_op(op, [gathered, qnn.DequantizeOp(gathered.result, op.result.type)])


def _quantizable(op: Operation, config: QuantizeConfig) -> tuple[str, Operation] | None:
    """The node's kind and the conv/dot to quantize (a 1-D conv's is the conv2d between its
    reshapes), if quantize_dynamic quantizes the node."""
    kind = node_kind(op)
    if kind == "Gemm":  # `replace_gemm_with_matmul`: quantize_dynamic's Gemm is a MatMul + Add
        kind = "MatMul"
    if kind not in QUANTIZED_KINDS or not config.should_quantize(kind, node_name(op)):
        return None
    if kind == "Conv" and is_untyped(node_inputs(op)[0]):
        return None  # `QuantOperatorBase.should_quantize`: its input is no float tensor
    if kind == "MatMul" and is_untyped(op.results[0]) and not config.untyped_are_float:
        raise QuantizeError(
            f"MatMul '{node_name(op)}': ONNX's shape inference gives its output "
            f"'{tensor_name(op.results[0])}' no type, where ONNX Runtime's quantize_dynamic "
            'stops too ("Unable to find data type"): give the tensor a value_info, set '
            'extra_options "DefaultTensorType" to 1 (FLOAT), or exclude the node '
            "(nodes_to_exclude)"
        )
    if kind == "Conv" and not isinstance(op, qnn.Conv2DOp):
        op = next((o for o in node_ops(op) if isinstance(o, qnn.Conv2DOp)), op)
    if not isinstance(op, qnn.DotOp | qnn.Conv2DOp):  # a reshape of a batched MatMul's
        return None
    if weight_source(op.weight) is None and (kind != "Conv" or _tied_weight(op.weight) is None):
        return None  # MatMulConstBOnly; a Conv's weight a constant, or one through an Identity
    if isinstance(op, qnn.DotOp) and len(op.weight.type.get_shape()) != 2:
        return None
    return kind, op


# a float tensor's quantized form: uint8 data, run-time scale and zero point (ORT's
# `quantized_value_map` entry)
Quantized = tuple[SSAValue, SSAValue, SSAValue]


def _shared_quantize(
    rewriter: Rewriter, function: func.FuncOp, x: SSAValue, done: dict[SSAValue, Quantized]
) -> Quantized:
    """One DynamicQuantizeLinear per float tensor, right after its definition (ORT shares it
    among the tensor's consumers too)."""
    if x not in done:
        quantize = qnn.DynamicQuantizeOp(x)
        owner = x.owner
        where = (
            InsertPoint.after(owner)
            if isinstance(owner, Operation)
            else InsertPoint.at_start(function.body.block)
        )
        rewriter.insert_op(quantize, where)
        done[x] = (quantize.data, quantize.scale, quantize.zero_point)
    return done[x]


def _transpose_quantized(
    rewriter: Rewriter, op: qnn.TransposeOp, done: dict[SSAValue, Quantized]
) -> None:
    """`Direct8BitOp`: the transpose of the stored data, its readers reading it dequantized
    with the input's run-time parameters."""
    data, scale, zero_point = done[op.input]
    shape = op.result.type.get_shape()
    moved = qnn.TransposeOp.create(
        operands=[data],
        result_types=[TensorType(element_type(data.type), shape)],
        properties=dict(op.properties),
    )
    moved.attributes.update(op.attributes)
    back = qnn.RuntimeDequantizeOp(moved.result, scale, zero_point)
    rewriter.replace_op(op, [moved, back])
    done[back.result] = (moved.result, scale, zero_point)


def quantize_dynamic_function(function: func.FuncOp, config: QuantizeConfig) -> QuantizeSummary:
    """Rewrite `function` in place; the summary names the nodes quantized and left float.
    Once anything is quantized, its float pools become what ORT's optimized session, which
    runs the quantized model, computes (`nchwc_layout`), as the importer reads ORT's model."""
    summary = QuantizeSummary()
    rewriter = Rewriter()
    quantized: dict[SSAValue, Quantized] = {}
    for op in list(function.body.block.ops):
        if isinstance(op, arith.ConstantOp | func.ReturnOp) or node_kind(op) is None:
            continue
        if inner_op(op):  # one of several ops of a node: the node's last op speaks for it
            continue
        label = node_name(op) or op.name
        if (
            isinstance(op, qnn.GatherOp)
            and config.should_quantize("Gather", node_name(op))
            and float_constant(op.data) is not None
        ):
            _gather_table(rewriter, op, config)
            summary.quantized.append(label)
            continue
        if (
            isinstance(op, qnn.TransposeOp)
            and op.input in quantized
            and config.should_quantize("Transpose", node_name(op))
        ):
            _transpose_quantized(rewriter, op, quantized)
            summary.quantized.append(label)
            continue
        found = _quantizable(op, config)
        if found is None:
            summary.left_float.append(label)
            continue
        kind, op = found
        q = _shared_quantize(rewriter, function, op.input, quantized)
        w = _weight(rewriter, op, config, per_column=kind == "MatMul")
        operands = [*q, w] + ([op.bias] if op.bias is not None else [])
        kind_op = qnn.DynamicDotOp if isinstance(op, qnn.DotOp) else qnn.DynamicConv2DOp
        props = {k: v for k, v in op.properties.items() if k in CONV_PROPERTIES}
        new = kind_op.create(operands=operands, result_types=[op.result.type], properties=props)
        new.attributes.update(op.attributes)
        rewriter.replace_op(op, new)
        summary.quantized.append(label)
    session = SessionFusions.take(function)
    if summary.quantized:
        fuse_float_nodes(function.body.block, session)
        nchwc_layout(function.body.block)
    return summary
