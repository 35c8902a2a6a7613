"""Dynamic quantization of a float function: ONNX Runtime's `quantize_dynamic`, as a rewrite.

`quantize_dynamic` (onnxruntime 1.31.1, `quantize.py` / `onnx_quantizer.py` in IntegerOps mode)
quantizes MatMul (with a constant B only: `MatMulConstBOnly`, on by default) and Conv; each
float input becomes one shared DynamicQuantizeLinear (activations are always QUInt8), the
weight is quantized by `quantize_initializer` (per tensor; MatMul per column with
`per_channel`, Conv never: its `op_level_per_channel` is off), `reduce_range` and
`weight_type` as given. Here the float `qnn.dot` / `qnn.conv2d` become `qnn.dynamic_quantize` +
`qnn.dynamic_dot` / `qnn.dynamic_conv2d` with the weight's numbers from `qdialect.ort_qparams`,
which is what importing ORT's own output gives (the Conv bias stays an add after the scaling).
"""

from __future__ import annotations

import numpy as np
from xdsl.dialects import arith, func
from xdsl.ir import Operation, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter

from qdialect import qnn
from qdialect.constants import dense_array
from qdialect.names import node_name
from qdialect.ort_qparams import quantize_array, weight_qparams
from qdialect.quant_config import QuantizeConfig
from rewrites.onnx_nodes import float_constant, node_kind
from rewrites.qdq_ir import constant_chain
from rewrites.quantize_static import QuantizeSummary

CONV_PROPERTIES = ("strides", "pads", "dilations", "groups", "layout")
QUANTIZED_KINDS = ("MatMul", "Conv")  # of IntegerOpsRegistry, those a float MLP / CNN has


def _weight(rewriter: Rewriter, op: Operation, config: QuantizeConfig, per_column: bool):
    """The constant weight quantized as `quantize_initializer` does, as a quantized value."""
    data = dense_array(float_constant(op.weight)).astype(np.float32)  # type: ignore[arg-type]
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


def _quantizable(op: Operation, config: QuantizeConfig) -> str | None:
    kind = node_kind(op)
    if kind not in QUANTIZED_KINDS or not config.should_quantize(kind, node_name(op)):
        return None
    if float_constant(op.weight) is None:  # MatMulConstBOnly; a Conv weight must be constant
        return None
    if isinstance(op, qnn.DotOp) and len(op.weight.type.get_shape()) != 2:
        return None
    return kind


def _shared_quantize(
    rewriter: Rewriter, function: func.FuncOp, x: SSAValue, done: dict[SSAValue, Operation]
) -> Operation:
    """One DynamicQuantizeLinear per float tensor, right after its definition (ORT shares it
    among the tensor's consumers too)."""
    if x not in done:
        done[x] = qnn.DynamicQuantizeOp(x)
        owner = x.owner
        where = (
            InsertPoint.after(owner)
            if isinstance(owner, Operation)
            else InsertPoint.at_start(function.body.block)
        )
        rewriter.insert_op(done[x], where)
    return done[x]


def quantize_dynamic_function(function: func.FuncOp, config: QuantizeConfig) -> QuantizeSummary:
    """Rewrite `function` in place; the summary names the nodes quantized and left float."""
    summary = QuantizeSummary()
    rewriter = Rewriter()
    quantized: dict[SSAValue, Operation] = {}
    for op in list(function.body.block.ops):
        if isinstance(op, arith.ConstantOp | func.ReturnOp) or node_kind(op) is None:
            continue
        label = node_name(op) or op.name
        kind = _quantizable(op, config)
        if kind is None:
            summary.left_float.append(label)
            continue
        q = _shared_quantize(rewriter, function, op.input, quantized)
        w = _weight(rewriter, op, config, per_column=kind == "MatMul")
        operands = [*q.results, w] + ([op.bias] if op.bias is not None else [])
        kind_op = qnn.DynamicDotOp if isinstance(op, qnn.DotOp) else qnn.DynamicConv2DOp
        props = {k: v for k, v in op.properties.items() if k in CONV_PROPERTIES}
        new = kind_op.create(operands=operands, result_types=[op.result.type], properties=props)
        new.attributes.update(op.attributes)
        rewriter.replace_op(op, new)
        summary.quantized.append(label)
    return summary
