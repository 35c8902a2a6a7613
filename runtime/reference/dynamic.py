"""The reference of the dynamic-quantization ops (qdialect/qnn/dynamic.py): the parameters from
`qdialect.float32_arrays.dynamic_qparams_of`, the quantize with a run-time scale and zero point
(`quantize_with`, also qnn.runtime_quantize's), qnn.runtime_dequantize, exact int64
accumulation, and the float32 epilogue `fl(fl(float32(acc) * fl(sa * sw[c])) + b[c])`.
"""

from __future__ import annotations

import numpy as np

from qdialect import qnn
from qdialect.float32_arrays import dynamic_qparams_of
from qdialect.qnn.modes import RoundMode
from qdialect.qparams import Storage
from qdialect.storage import integer_signature, storage_bounds
from qdialect.tensors import element_type
from runtime.reference import kernels as K
from runtime.reference.f32math import F32, saturate_round
from runtime.reference.interpreter import Frame, from_nchw, handles, nchw, qtype, window_of

U8 = Storage.parse("u8")


def dynamic_quantize(x: np.ndarray) -> tuple[np.ndarray, np.float32, np.uint8]:
    """DESIGN §2's dynamic quantize of a float32 array: (u8 data, scale, zero point)."""
    x = np.asarray(x, dtype=F32)
    scale, zero = dynamic_qparams_of(x)
    return quantize_with(x, scale, zero, U8).astype(np.uint8), F32(scale), np.uint8(zero)


def quantize_with(x: np.ndarray, scale, zero, storage: Storage) -> np.ndarray:
    """DESIGN §2's quantize with a run-time scale and zero point, as int64 stored values:
    `fl(x / s)` (a true float32 division), clamped in float, rint, `+ zp`; NaN to qmin."""
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.asarray(x, dtype=F32) / F32(scale)
    return saturate_round(v, np.int64(zero), storage, RoundMode.HALF_TO_EVEN)


def to_float(acc: np.ndarray, x_scale, w_scales, bias, channel_axis: int) -> np.ndarray:
    """`fl(float32(acc) * fl(sa * sw[c]))`, then `fl(· + bias[c])`; acc is int32 in the peer."""
    channels = acc.shape[channel_axis]
    scales = np.asarray(w_scales, dtype=np.float64).astype(F32)
    if scales.size == 1:
        scales = np.repeat(scales, channels)
    shape = [1] * acc.ndim
    shape[channel_axis] = channels
    multiplier = (F32(x_scale) * scales).astype(F32).reshape(shape)
    acc32 = acc.astype(np.int32)  # wraps as the int32 accumulator of the peers
    y = (acc32.astype(F32) * multiplier).astype(F32)
    if bias is not None:
        y = (y + np.asarray(bias, F32).reshape(shape)).astype(F32)
    return y


@handles(qnn.DynamicQuantizeOp)
def _dynamic_quantize(op, frame: Frame) -> list[np.ndarray]:
    q, scale, zero = dynamic_quantize(frame[op.input])
    return [q, np.array(scale, F32), np.array(zero, np.uint8)]


@handles(qnn.RuntimeQuantizeOp)
def _runtime_quantize(op, frame: Frame) -> list[np.ndarray]:
    zero = frame[op.zero_point]
    width, signed = integer_signature(element_type(op.zero_point.type))
    storage = Storage(*storage_bounds(width, signed), signed)
    return [quantize_with(frame[op.input], frame[op.scale], int(zero), storage).astype(zero.dtype)]


@handles(qnn.RuntimeDequantizeOp)
def _runtime_dequantize(op, frame: Frame) -> list[np.ndarray]:
    """ONNX Runtime's DequantizeLinear: `float32(int32(q) - zp) * s`, one rounding."""
    q, zero = frame[op.input].astype(np.int32), np.int32(frame[op.zero_point])
    return [((q - zero).astype(F32) * F32(frame[op.scale])).astype(F32)]


@handles(qnn.DynamicDotOp, qnn.DynamicConv2DOp)
def _dynamic_compute(op, frame: Frame) -> list[np.ndarray]:
    x, w = frame[op.input].astype(np.int64), frame[op.weight]
    x_scale, x_zero = frame[op.input_scale], int(frame[op.input_zero_point])
    wq = qtype(op.weight)
    w_zero = np.array(wq.zero_points, dtype=np.int64)
    bias = None if op.bias is None else frame[op.bias]
    if isinstance(op, qnn.DynamicDotOp):
        acc = (x - x_zero) @ (w.astype(np.int64) - w_zero)
        return [to_float(acc, x_scale, wq.scales, bias, -1)]
    layout = op.layout_kind
    groups = op.groups.value.data
    acc = K.conv_accumulate(nchw(x, layout), nchw(w, layout), groups, window_of(op), x_zero, w_zero)
    return [from_nchw(to_float(acc, x_scale, wq.scales, bias, 1), layout)]
