"""The reference interpreter: runs a `func.func` of quant/qnn ops on numpy arrays.

It is the oracle every rewrite and every compiled kernel is checked against, so it favours
being obviously DESIGN §2 over being fast.

    outputs = run_function(text_or_module, {"x": x}, entry="main")
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from xdsl.dialects import arith, func, tensor
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, ModuleOp
from xdsl.ir import Operation, SSAValue

from qdialect import qnn, quant_ops
from qdialect.activations import evaluate
from qdialect.bicubic import resize_cubic
from qdialect.bilinear import resize_bilinear
from qdialect.calibration.histogram import count_edges, count_linear
from qdialect.constants import dense_array, reinterpret_bits
from qdialect.qnn import HistogramRule
from qdialect.qnn.common import Kind, kind_of, raw_offsets
from qdialect.qnn.modes import Activation, Layout, PadMode, RequantMode, RoundMode
from qdialect.qnn.movement import gather_out_of_range
from qdialect.qparams import quantize_bias, range_type
from qdialect.softmax import float_softmax, quantized_parameters, quantized_softmax, row_layout
from qdialect.storage import integer_signature
from qdialect.tensors import element_type
from qdialect.textio import IRError, op_location, parse_module
from qdialect.types import AnyQuantizedType, UniformQuantizedType
from runtime.reference import kernels as K
from runtime.signature import (
    ExecutionError,
    check_inputs,
    expected_array,
    find_function,
    numpy_dtype,
)


@dataclass
class Frame:
    """SSA value -> numpy array for one function execution."""

    values: dict[SSAValue, np.ndarray]

    def __getitem__(self, value: SSAValue) -> np.ndarray:
        return self.values[value]


Handler = Callable[[Operation, Frame], list[np.ndarray]]
HANDLERS: dict[type[Operation], Handler] = {}


def handles(*op_types: type[Operation]):
    def register(fn: Handler) -> Handler:
        for op_type in op_types:
            HANDLERS[op_type] = fn
        return fn

    return register


def run_function(
    module: ModuleOp | str,
    inputs: Sequence[np.ndarray] | Mapping[str, np.ndarray],
    entry: str | None = None,
) -> list[np.ndarray]:
    """Run `entry` of `module` (IR text or a parsed module) on numpy inputs."""
    if isinstance(module, str):
        module = parse_module(module)
    function = find_function(module, entry)
    # booleans cross as numpy's bool and are held as int8 inside, as the C holds them
    arrays = [a.view(np.int8) if a.dtype == np.bool_ else a for a in check_inputs(function, inputs)]
    frame = Frame(dict(zip(function.body.block.args, arrays, strict=True)))
    for op in function.body.block.ops:
        if isinstance(op, func.ReturnOp):
            # fresh C-ordered arrays in the boundary's dtypes (a frame may hold views)
            return [
                np.array(frame[v], dtype=numpy_dtype(element_type(v.type)), order="C")
                for v in op.arguments
            ]
        handler = HANDLERS.get(type(op))
        if handler is None:
            file, line, column = op_location(op)
            raise IRError(file, line, column, f"'{op.name}' is not supported by the interpreter")
        try:
            results = handler(op, frame)
        except (NotImplementedError, ExecutionError, ValueError) as err:
            file, line, column = op_location(op)
            raise IRError(file, line, column, f"'{op.name}': {err}") from None
        for result, array in zip(op.results, results, strict=True):
            frame.values[result] = array
    raise ExecutionError("function has no func.return")


def refusal(function: func.FuncOp) -> str | None:
    """Why `run_function` would refuse `function` whatever the inputs (an op it has no handler
    for, a value with no numpy array to hold it), or None. A look at
    the IR only: a handler may still refuse an attribute it meets."""
    values: list[SSAValue] = list(function.body.block.args)
    for op in function.body.block.ops:
        if not isinstance(op, func.ReturnOp) and type(op) not in HANDLERS:
            return f"'{op.name}' is not supported by the interpreter"
        values += op.results
    for value in values:
        try:
            expected_array(value.type)
        except ExecutionError as err:
            return str(err)
    return None


# ----------------------------------------------------------------------------- helpers


def qtype(value: SSAValue) -> UniformQuantizedType | None:
    elem = element_type(value.type)
    return elem if isinstance(elem, UniformQuantizedType) else None


def attr_float(attr) -> float:
    return float(attr.value.data)


def window_of(op) -> K.Window:
    return K.Window(
        tuple(op.strides.get_values()),
        tuple(op.pads.get_values()),
        tuple(op.dilations.get_values()),
    )


def nchw(array: np.ndarray, layout: Layout) -> np.ndarray:
    return array.transpose(0, 3, 1, 2) if layout is Layout.NHWC else array


def from_nchw(array: np.ndarray, layout: Layout) -> np.ndarray:
    return array.transpose(0, 2, 3, 1) if layout is Layout.NHWC else array


# ----------------------------------------------------------------------------- basic ops


@handles(arith.ConstantOp)
def _constant(op: arith.ConstantOp, frame: Frame) -> list[np.ndarray]:
    value = op.value
    if not isinstance(value, DenseIntOrFPElementsAttr):
        raise ExecutionError(f"only dense tensor constants are executed, got {value}")
    dtype, _ = expected_array(op.result.type)
    # A splat's broadcast view becomes an ordinary array here, at np.full's cost.
    return [dense_array(op).astype(dtype)]  # type: ignore[union-attr]


@handles(quant_ops.QuantizeCastOp, qnn.QuantizeOp)
def _quantize(op, frame: Frame) -> list[np.ndarray]:
    mode = op.round_mode_kind if isinstance(op, qnn.QuantizeOp) else RoundMode.HALF_TO_EVEN
    target = _uniform(op.result, "result")
    return [K.quantize(frame[op.input], target, mode)]


@handles(quant_ops.DequantizeCastOp, qnn.DequantizeOp)
def _dequantize(op, frame: Frame) -> list[np.ndarray]:
    return [K.dequantize(frame[op.input], _uniform(op.input, "input"))]


@handles(quant_ops.StorageCastOp)
def _storage_cast(op, frame: Frame) -> list[np.ndarray]:
    dtype, _ = expected_array(op.result.type)
    width, signed = integer_signature(element_type(op.result.type))
    return [reinterpret_bits(frame[op.input], width, signed, dtype)]  # same bits


@handles(qnn.RequantizeOp)
def _requantize(op, frame: Frame) -> list[np.ndarray]:
    return [K.requantize(frame[op.input], qtype(op.input), qtype(op.result))]


@handles(qnn.ReluOp)
def _relu(op, frame: Frame) -> list[np.ndarray]:
    return [K.relu(frame[op.input], qtype(op.input))]


@handles(qnn.ClampOp)
def _clamp(op, frame: Frame) -> list[np.ndarray]:
    return [K.clamp(frame[op.input], attr_float(op.min), attr_float(op.max), qtype(op.input))]


@handles(qnn.FakeQuantOp)
def _fake_quant(op, frame: Frame) -> list[np.ndarray]:
    if op.quant_type is not None:  # exactly the quantize/dequantize pair fake-to-qdq writes
        return [K.dequantize(K.quantize(frame[op.input], op.quant_type), op.quant_type)]
    bounds = [attr_float(b) for b in op.ngraph_bounds]
    return [K.fake_quant(frame[op.input], op.levels.value.data, *bounds)]


@handles(qnn.TableOp)
def _table(op, frame: Frame) -> list[np.ndarray]:
    x = frame[op.input]  # entry 0 belongs to the smallest stored value (TOSA's x + 128 for i8)
    return [frame[op.table][x.astype(np.int64) - np.iinfo(x.dtype).min]]


@handles(qnn.ActivationOp)
def _activation(op, frame: Frame) -> list[np.ndarray]:
    return [evaluate(op.function_kind, frame[op.input], *op.parameters())]


@handles(qnn.SoftmaxOp)
def _softmax(op, frame: Frame) -> list[np.ndarray]:
    x, axis, flatten = frame[op.input], op.axis_value, op.flatten is not None
    if kind_of(op.result) is Kind.FLOAT:
        return [float_softmax(x, axis, flatten, op.sum_exp_kernel, op.log is not None)]
    length = row_layout(x.shape, axis, flatten).length
    params = quantized_parameters(qtype(op.input), qtype(op.result), length)
    return [K.to_storage(quantized_softmax(x, params, axis, flatten), qtype(op.result))]


@handles(qnn.AddOp, qnn.MulOp)
def _binary(op, frame: Frame) -> list[np.ndarray]:
    kernel = K.add if isinstance(op, qnn.AddOp) else K.mul
    if kind_of(op.result) is not Kind.QUANTIZED:
        return [kernel(frame[op.lhs], frame[op.rhs], None)]
    types = (qtype(op.lhs), qtype(op.rhs), qtype(op.result))
    return [kernel(frame[op.lhs], frame[op.rhs], types, raw_offsets(op.raw_offsets, 3))]


@handles(qnn.ConcatOp)
def _concat(op, frame: Frame) -> list[np.ndarray]:
    parts = [frame[v] for v in op.inputs]
    if kind_of(op.result) is not Kind.QUANTIZED:
        return [K.concat(parts, None, None, op.axis.value.data)]
    types = [qtype(v) for v in op.inputs]
    return [K.concat(parts, types, qtype(op.result), op.axis.value.data)]


@handles(tensor.ReshapeOp)
def _reshape(op, frame: Frame) -> list[np.ndarray]:
    return [frame[op.source].reshape(op.result.type.get_shape())]


@handles(arith.ExtFOp, arith.TruncFOp)
def _convert_float(op, frame: Frame) -> list[np.ndarray]:
    """f16 <-> f32: exact one way, round to nearest even the other (C's conversions)."""
    return [frame[op.input].astype(numpy_dtype(element_type(op.result.type)))]


@handles(qnn.TransposeOp)
def _transpose(op, frame: Frame) -> list[np.ndarray]:
    return [np.ascontiguousarray(frame[op.input].transpose(op.permutation.get_values()))]


@handles(qnn.SliceOp)
def _slice(op, frame: Frame) -> list[np.ndarray]:
    starts, steps = op.starts.get_values(), op.steps.get_values()
    counts = op.result.type.get_shape()
    index = np.ix_(*(s + t * np.arange(n) for s, t, n in zip(starts, steps, counts, strict=True)))
    return [np.ascontiguousarray(frame[op.input][index])]


@handles(qnn.GatherOp)
def _gather(op, frame: Frame) -> list[np.ndarray]:
    data, indices, axis = frame[op.data], frame[op.indices], op.axis_value
    size = data.shape[axis]
    bad = (indices < -size) | (indices >= size)
    if bad.any():
        raise ExecutionError(gather_out_of_range(op, int(indices[bad].flat[0])))
    return [
        np.ascontiguousarray(np.take(data, np.where(indices < 0, indices + size, indices), axis))
    ]


@handles(qnn.ResizeBilinearOp)
def _resize_bilinear(op, frame: Frame) -> list[np.ndarray]:
    out_hw = tuple(op.result.type.get_shape()[2:])
    nchwc = op.nchwc is not None
    return [resize_bilinear(frame[op.input], out_hw, op.scales, op.mode.data, nchwc)]


@handles(qnn.GridSampleOp)
def _grid_sample(op, frame: Frame) -> list[np.ndarray]:
    from qdialect.grid_sample import grid_sample

    corners = op.align_corners is not None
    x, grid = frame[op.input], frame[op.grid]
    return [grid_sample(x, grid, op.mode.data, op.padding_mode.data, corners)]


@handles(qnn.ResizeCubicOp)
def _resize_cubic(op, frame: Frame) -> list[np.ndarray]:
    return [resize_cubic(frame[op.input], *op.taps())]


@handles(qnn.PadOp)
def _pad(op, frame: Frame) -> list[np.ndarray]:
    x = frame[op.input]
    widths = list(zip(op.low.get_values(), op.high.get_values(), strict=True))
    mode = op.mode_kind
    if mode is not PadMode.CONSTANT:
        return [np.pad(x, widths, mode=mode.value)]
    value = attr_float(op.value)
    q = qtype(op.input)
    fill = K.quantize(np.array(value, np.float32), q) if q is not None else np.array(value, x.dtype)
    return [np.pad(x, widths, mode="constant", constant_values=fill)]


@handles(qnn.MaxPool2DOp)
def _max_pool(op, frame: Frame) -> list[np.ndarray]:
    layout = op.layout_kind
    x = nchw(frame[op.input], layout)
    return [from_nchw(K.max_pool(x, op.kernel.get_values(), window_of(op)), layout)]


@handles(qnn.AvgPool2DOp)
def _avg_pool(op, frame: Frame) -> list[np.ndarray]:
    layout = op.layout_kind
    x = nchw(frame[op.input], layout)
    types = None if kind_of(op.result) is Kind.FLOAT else (qtype(op.input), qtype(op.result))
    offset = raw_offsets(op.raw_offsets, 2)[1]
    include_pad = op.count_include_pad.value.data != 0
    row_major = op.row_major is not None
    y = K.avg_pool(x, op.kernel.get_values(), window_of(op), include_pad, types, offset, row_major)
    return [from_nchw(y, layout)]


@handles(qnn.ObserveOp)
def _observe(op, frame: Frame) -> list[np.ndarray]:
    return [K.extremes(frame[op.input])]


@handles(qnn.HistogramOp)
def _histogram(op, frame: Frame) -> list[np.ndarray]:
    edges, absolute = op.edge_values, op.absolute is not None
    if op.rule_kind is HistogramRule.LINEAR:
        return [count_linear(frame[op.input], edges[0], edges[-1], op.bins, absolute)]
    return [count_edges(frame[op.input], np.array(edges, np.float32), absolute)]


def _uniform(value: SSAValue, role: str) -> UniformQuantizedType:
    t = qtype(value)
    if t is None:
        raise ExecutionError(f"{role} type {value.type} has no scale to execute with")
    return t


# ----------------------------------------------------------------------------- conv / dot


@dataclass(frozen=True)
class Epilogue:
    """Everything after the accumulator: types, fused bias/addend and activation."""

    x_type: UniformQuantizedType | None
    w_type: UniformQuantizedType | None
    out_type: UniformQuantizedType | None  # None: float result, or raw i32 when quantized
    intermediate: UniformQuantizedType | None
    addend_type: UniformQuantizedType | None
    activation: Activation
    clamp: tuple[float, float] | None
    requant_mode: RequantMode
    offsets: tuple[int, int, int] = (0, 0, 0)  # raw offsets of the fused add
    addend_first: bool = False  # the fused add is add(addend, result)


def _epilogue_of(op, x_type, w_type, out_type, addend_type, intermediate) -> Epilogue:
    clamp = None
    if op.activation_kind is Activation.CLAMP:
        clamp = (attr_float(op.clamp_min), attr_float(op.clamp_max))
    fused = isinstance(op, qnn.Conv2DOp | qnn.DotOp)
    mode = op.requant_mode_kind if fused else RequantMode.FLOAT
    offsets = raw_offsets(getattr(op, "raw_offsets", None), 3)
    return Epilogue(
        x_type,
        w_type,
        out_type,
        intermediate,
        addend_type,
        op.activation_kind,
        clamp,
        mode,
        offsets,
        getattr(op, "addend_first", None) is not None,
    )


def finish(
    acc: np.ndarray, bias, addend, ep: Epilogue, channel_axis: int, quantized: bool
) -> np.ndarray:
    """Bias, requantization, fused addend and activation on an accumulator."""
    if addend is not None and addend.ndim == 1 and acc.ndim > 1:  # one value per channel
        shape = [1] * acc.ndim
        shape[channel_axis] = -1
        addend = addend.reshape(shape)
    if not quantized:
        y = acc
        if bias is not None:
            shape = [1] * acc.ndim
            shape[channel_axis] = -1
            y = (y + bias.reshape(shape)).astype(acc.dtype)
        if addend is not None:
            y = (y + addend).astype(acc.dtype)
        if ep.activation is Activation.RELU:
            y = K.relu(y, None)
        elif ep.clamp is not None:
            y = K.clamp(y, *ep.clamp, None)
        return y
    if bias is not None:
        shape = [1] * acc.ndim
        shape[channel_axis] = -1
        acc = acc + bias.astype(np.int64).reshape(shape)
    if ep.out_type is None:  # raw i32 (ConvInteger / MatMulInteger)
        return acc.astype(np.int32)
    weight_scales = np.array(ep.w_type.scales, dtype=np.float64)
    if len(weight_scales) == 1:
        weight_scales = np.repeat(weight_scales, acc.shape[channel_axis])
    target = ep.intermediate if addend is not None else ep.out_type
    y = K.requantize_accumulator(
        acc, ep.x_type.scale, weight_scales, target, channel_axis, ep.requant_mode
    )
    if addend is not None and ep.addend_first:
        o_t, o_a, o_y = ep.offsets
        types = (ep.addend_type, ep.intermediate, ep.out_type)
        y = K.add(addend, y, types, (o_a, o_t, o_y)).astype(np.int64)
    elif addend is not None:
        types = (ep.intermediate, ep.addend_type, ep.out_type)
        y = K.add(y, addend, types, ep.offsets).astype(np.int64)
    if ep.activation is Activation.RELU:
        y = np.maximum(y, ep.out_type.zero_point)
    elif ep.clamp is not None:
        lo, hi = K.clamp_bounds(*ep.clamp, ep.out_type, y.ndim)
        y = np.clip(y, lo, hi)
    return K.to_storage(y, ep.out_type)


def run_conv(op, frame: Frame, x, w, bias, addend, ep: Epilogue) -> np.ndarray:
    layout = op.layout_kind
    x, w = nchw(x, layout), nchw(w, layout)
    groups = op.groups.value.data
    window = window_of(op)
    if addend is not None and addend.ndim > 1:
        addend = nchw(addend, layout)
    if ep.x_type is None:
        if op.sum_from_addend is not None:  # ORT's NCHWc Conv/Sum fusion: the sums start there
            acc = K.conv_float(x, w, groups, window, op.float_sum_order(), addend)
            return from_nchw(finish(acc, bias, None, ep, 1, quantized=False), layout)
        alpha = None if op.alpha is None else op.alpha.value.data
        acc = K.conv_float(x, w, groups, window, op.float_sum_order(), alpha=alpha)
        return from_nchw(finish(acc, bias, addend, ep, 1, quantized=False), layout)
    w_zero = np.array(ep.w_type.zero_points, dtype=np.int64)
    acc = K.conv_accumulate(x, w, groups, window, ep.x_type.zero_point, w_zero)
    return from_nchw(finish(acc, bias, addend, ep, 1, quantized=True), layout)


def run_dot(op, x, w, bias, addend, ep: Epilogue) -> np.ndarray:
    if ep.x_type is None:
        order = op.float_sum_order()
        alpha = None if op.alpha is None else op.alpha.value.data
        if op.bias_first is not None:  # ONNX Gemm: the sum starts from the bias
            acc = K.dot_float(x, w, order, bias, alpha=alpha)
            return finish(acc, None, addend, ep, -1, quantized=False)
        return finish(K.dot_float(x, w, order, alpha=alpha), bias, addend, ep, -1, quantized=False)
    w_zero = np.array(ep.w_type.zero_points, dtype=np.int64)
    acc = (x.astype(np.int64) - ep.x_type.zero_point) @ (w.astype(np.int64) - w_zero)
    return finish(acc, bias, addend, ep, -1, quantized=True)


def _operands(op, frame: Frame):
    bias = None if op.bias is None else frame[op.bias]
    addend = None if op.addend is None else frame[op.addend]
    return bias, addend


@handles(qnn.Conv2DOp, qnn.DotOp)
def _conv_or_dot(op, frame: Frame) -> list[np.ndarray]:
    x_value, w_value = op.input, op.weight
    bias, addend = _operands(op, frame)
    intermediate = op.intermediate if isinstance(op.intermediate, UniformQuantizedType) else None
    ep = _epilogue_of(
        op,
        qtype(x_value),
        qtype(w_value),
        qtype(op.result),
        None if op.addend is None else qtype(op.addend),
        intermediate,
    )
    x, w = frame[x_value], frame[w_value]
    if isinstance(op, qnn.Conv2DOp):
        return [run_conv(op, frame, x, w, bias, addend, ep)]
    return [run_dot(op, x, w, bias, addend, ep)]


# ----------------------------------------------------------------------------- scaled builders


def _range_type(value: SSAValue, lo, hi, op) -> UniformQuantizedType:
    pending = element_type(value.type)
    assert isinstance(pending, AnyQuantizedType)
    return range_type(
        pending, attr_float(lo), attr_float(hi), op.scheme.data, op.reduce_range is not None
    )


@handles(qnn.ScaledQuantizeOp)
def _scaled_quantize(op, frame: Frame) -> list[np.ndarray]:
    target = _range_type(op.result, op.min, op.max, op)
    return [K.quantize(frame[op.input], target, op.round_mode_kind)]


@handles(qnn.ScaledDequantizeOp)
def _scaled_dequantize(op, frame: Frame) -> list[np.ndarray]:
    return [K.dequantize(frame[op.input], _range_type(op.input, op.min, op.max, op))]


@handles(qnn.ScaledConv2DOp, qnn.ScaledDotOp)
def _scaled_conv_or_dot(op, frame: Frame) -> list[np.ndarray]:
    x_value, w_value = op.input, op.weight
    x_type = _range_type(x_value, op.input_min, op.input_max, op)
    w_type = _range_type(w_value, op.weight_min, op.weight_max, op)
    out_type = None
    if kind_of(op.result) is Kind.PENDING:
        out_type = _range_type(op.result, op.output_min, op.output_max, op)
    bias, addend = _operands(op, frame)
    if bias is not None and kind_of(op.bias) is Kind.FLOAT:
        bias = quantize_bias(bias.tolist(), x_type.scale, w_type.scale)
        bias = np.array(bias, dtype=np.int32)
    addend_type = None
    if op.addend is not None:
        addend_type = _range_type(op.addend, op.addend_min, op.addend_max, op)
    ep = _epilogue_of(
        op, x_type, w_type, out_type, addend_type, out_type if addend is not None else None
    )
    x, w = frame[x_value], frame[w_value]
    if isinstance(op, qnn.ScaledConv2DOp):
        return [run_conv(op, frame, x, w, bias, addend, ep)]
    return [run_dot(op, x, w, bias, addend, ep)]


@handles(qnn.ScaledConcatOp)
def _scaled_concat(op, frame: Frame) -> list[np.ndarray]:
    mins = [attr_float(a) for a in op.input_mins.data]
    maxs = [attr_float(a) for a in op.input_maxs.data]
    types = [
        range_type(element_type(v.type), lo, hi, op.scheme.data, op.reduce_range is not None)
        for v, lo, hi in zip(op.inputs, mins, maxs, strict=True)
    ]
    lo = attr_float(op.output_min) if op.output_min is not None else min(mins)
    hi = attr_float(op.output_max) if op.output_max is not None else max(maxs)
    out = range_type(
        element_type(op.result.type), lo, hi, op.scheme.data, op.reduce_range is not None
    )
    return [K.concat([frame[v] for v in op.inputs], types, out, op.axis.value.data)]
