"""ONNX Runtime's static-quantization arithmetic, to the bit (onnxruntime 1.31.1).

Every function names the function of `onnxruntime/quantization/quant_utils.py`,
`base_quantizer.py` or `qdq_quantizer.py` it reproduces. The float types are theirs: ranges
are float32, `compute_scale_zp` computes the scale in float64 and the zero point from that
float64 scale before casting the scale to float32; weights are quantized in float32
(`quantize_nparray`); biases in float64 against a float32 product of scales. These numbers
differ from `qparams.choose_qparams` (PyTorch's float32 recipe) in the last bit often enough
that a quantizer claiming to be `quantize_static` must use these.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


class QType(Enum):
    """ONNX Runtime's `QuantType` names, with the storage spelling of `!quant.uniform`."""

    QInt8 = "i8"
    QUInt8 = "u8"
    QInt16 = "i16"
    QUInt16 = "u16"
    QInt4 = "i4"
    QUInt4 = "u4"

    @property
    def signed(self) -> bool:
        return self.value.startswith("i")

    @property
    def bits(self) -> int:
        return int(self.value[1:])

    @property
    def dtype(self) -> np.dtype:
        """The numpy dtype ONNX Runtime stores quantized values in (int4 in int8/uint8)."""
        return np.dtype(f"{'int' if self.signed else 'uint'}{max(self.bits, 8)}")

    @staticmethod
    def parse(spelling: str) -> QType:
        """`"QUInt8"` (or ORT's `QuantType.QUInt8` printed) to `QType.QUInt8`."""
        name = spelling.rsplit(".", 1)[-1]
        try:
            return QType[name]
        except KeyError:
            valid = ", ".join(q.name for q in QType)
            raise ValueError(f"unknown quantization type '{spelling}' (valid: {valid})") from None


def qrange(qtype: QType, reduce_range: bool = False, symmetric: bool = False) -> tuple[int, int]:
    """`get_qmin_qmax_for_qType`: the reduced range wins over the symmetric one.

    Reduced: u8 [0, 127], i8 [-64, 64], u16 [0, 32767], i16 [-16384, 16384], u4 [0, 7],
    i4 [-4, 3]; symmetric (signed 8/16 bit only): [-127, 127] / [-32767, 32767].
    """
    bits, signed = qtype.bits, qtype.signed
    if reduce_range:
        if qtype is QType.QInt4:
            return -4, 3
        if signed:
            half = 2 ** (bits - 2)
            return -half, half
        return 0, 2 ** (bits - 1) - 1
    if symmetric and signed and bits in (8, 16):
        return -(2 ** (bits - 1)) + 1, 2 ** (bits - 1) - 1
    return (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)


@dataclass(frozen=True)
class QParams:
    """Zero point(s) and float32 scale(s) of one tensor; `axis` is set when per channel."""

    zero_point: np.ndarray  # int64, shape [] or [channels]
    scale: np.ndarray  # float32, same shape
    qtype: QType
    axis: int | None = None


class NonFiniteRange(ValueError):
    """A range with an infinite or NaN end: no scale exists (ONNX Runtime's compute_scale_zp
    writes an infinite scale and a NaN zero point)."""


def compute_scale_zp(
    rmin: np.float32,
    rmax: np.float32,
    qmin: int,
    qmax: int,
    symmetric: bool = False,
    min_real_range: float | None = None,
) -> tuple[int, np.float32]:
    """`quant_utils.compute_scale_zp`: (zero point, scale) of a float32 range.

    The range is widened to contain 0 (and to `min_real_range`), made symmetric if asked (an
    infinite or NaN end: `NonFiniteRange`);
    scale = (f64(rmax) - f64(rmin)) / (qmax - qmin) in float64; a scale below float32's tiny
    gives (0, 1.0); the zero point is np.round (half to even) of qmin - rmin/scale with the
    float64 scale, or of (qmin + qmax)/2 when symmetric; the scale is cast to float32 last.
    """
    rmin = np.minimum(np.float32(rmin), np.float32(0))
    rmax = np.maximum(np.float32(rmax), np.float32(0))
    if min_real_range is not None:
        rmax = max(rmax, rmin + np.float32(min_real_range))
    if symmetric:
        absmax = np.maximum(np.abs(rmin), np.abs(rmax))
        rmin, rmax = -absmax, +absmax
    scale = (np.float64(rmax) - np.float64(rmin)) / (np.float64(qmax) - np.float64(qmin))
    if not np.isfinite(scale):
        raise NonFiniteRange(f"range [{rmin}, {rmax}] is not finite")
    if scale < np.finfo(np.float32).tiny:
        return 0, np.float32(1.0)
    if symmetric:
        zero_point = np.round((qmin + qmax) / np.float64(2.0))
    else:
        zero_point = np.round(qmin - np.float64(rmin) / scale)
    return int(zero_point), np.float32(scale)


def snap_zero_point_to_uint8(
    rmin: np.float32, rmax: np.float32, qmin: int, qmax: int, min_real_range: float | None
) -> tuple[int, np.float32]:
    """`quant_utils.snap_zero_point_to_uint8` (ORT's `ActivationRestrictedAsymmetric`): the
    zero point is qmin for a range without negatives, else the middle (qmin + qmax + 1) // 2,
    and the scale the smallest that reaches both ends from there. Python floats (float64)
    throughout, the minimum real range added in float64, the scale cast to float32 last; an
    empty range keeps a scale of |range| / steps (1 / steps at zero), not compute_scale_zp's 1.0.
    """
    mid = (qmin + qmax + 1) // 2
    lo, hi = min(float(rmin), 0.0), max(float(rmax), 0.0)
    if min_real_range is not None and min_real_range > 0:
        hi = max(hi, lo + float(min_real_range))
    floor = None if min_real_range is None else min_real_range / (qmax - qmin)
    if hi <= lo:  # the floor applies before the cast here, after it below
        zero_point = qmin if lo >= 0.0 else mid
        absmax = max(abs(lo), abs(hi)) or 1.0
        steps = qmax - qmin if zero_point == qmin else max(1, (qmax - qmin) // 2)
        degenerate = absmax / max(1, steps)
        return zero_point, np.float32(degenerate if floor is None else max(degenerate, floor))
    if lo >= 0.0:
        zero_point, scale = qmin, np.float32(hi / (qmax - qmin))
    else:
        zero_point, scale = mid, np.float32(max(-lo / (mid - qmin), hi / (qmax - mid)))
    if floor is not None and float(scale) < floor:
        scale = np.float32(floor)
    return zero_point, scale


def activation_qparams(
    rmin: np.float32,
    rmax: np.float32,
    qtype: QType,
    symmetric: bool,
    min_real_range: float | None = None,
    restricted_asymmetric: bool = False,
) -> QParams:
    """`QDQQuantizer.calc_quant_params`: activations never use the reduced range;
    `restricted_asymmetric` (uint8, asymmetric only) snaps the zero point."""
    qmin, qmax = qrange(qtype, reduce_range=False, symmetric=symmetric)
    if restricted_asymmetric and qtype is QType.QUInt8 and not symmetric:
        zp, scale = snap_zero_point_to_uint8(rmin, rmax, qmin, qmax, min_real_range)
    else:
        zp, scale = compute_scale_zp(rmin, rmax, qmin, qmax, symmetric, min_real_range)
    return QParams(np.array(zp, np.int64), np.array(scale, np.float32), qtype)


def data_qparams(
    data: np.ndarray,
    qtype: QType,
    symmetric: bool,
    reduce_range: bool,
    min_real_range: float | None = None,
    rmin: np.float32 | None = None,
    rmax: np.float32 | None = None,
) -> tuple[int, np.float32]:
    """`quant_utils.compute_data_quant_params` of one tensor or one channel (float32 data);
    `rmin`/`rmax` replace the data's extremes (`rmin_override`, `rmax_override`)."""
    flat = np.asarray(data, np.float32).ravel()
    lo = (flat.min() if flat.size else 0.0) if rmin is None else rmin
    hi = (flat.max() if flat.size else 0.0) if rmax is None else rmax
    qmin, qmax = qrange(qtype, reduce_range, symmetric)
    return compute_scale_zp(np.float32(lo), np.float32(hi), qmin, qmax, symmetric, min_real_range)


def weight_qparams(
    data: np.ndarray,
    qtype: QType,
    symmetric: bool,
    reduce_range: bool,
    axis: int | None,
    min_real_range: float | None = None,
) -> QParams:
    """`QDQQuantizer._calc_initializer_quant_params`: per tensor, or one range per slice of
    `axis` (`data.take(i, axis)`)."""
    if axis is None:
        zp, scale = data_qparams(data, qtype, symmetric, reduce_range, min_real_range)
        return QParams(np.array(zp, np.int64), np.array(scale, np.float32), qtype)
    pairs = [
        data_qparams(data.take(i, axis), qtype, symmetric, reduce_range, min_real_range)
        for i in range(data.shape[axis])
    ]
    zps = np.array([zp for zp, _ in pairs], np.int64)
    scales = np.array([s for _, s in pairs], np.float32)
    return QParams(zps, scales, qtype, axis)


def quantize_array(data: np.ndarray, params: QParams) -> np.ndarray:
    """`quant_utils.quantize_onnx_initializer` / `quantize_nparray`: per slice,
    clip(round(f32(x) / f32(scale)) + zp) in float32, round half to even; int64 out."""
    qmin, qmax = qrange(params.qtype)
    data = np.asarray(data, np.float32)
    if params.axis is None:
        slices = [(data, params.scale, params.zero_point)]
    else:
        moved = np.moveaxis(data, params.axis, 0)
        slices = list(zip(moved, params.scale, params.zero_point, strict=True))
    out = []
    for values, scale, zp in slices:
        q = np.asarray((values / np.float32(scale)).round() + np.float32(zp), np.float32)
        out.append(np.clip(q, qmin, qmax).astype(np.int64))
    if params.axis is None:
        return out[0]
    return np.moveaxis(np.stack(out), 0, params.axis)


def bias_qparams(
    input_scale: np.float32, weight_scale: np.ndarray, beta: float = 1.0
) -> np.ndarray:
    """`quantize_bias_static_impl`'s bias scale: f32(input_scale * weight_scale * beta)."""
    scale = np.float32(input_scale) * np.asarray(weight_scale, np.float32) * np.float32(beta)
    return np.asarray(scale, np.float32).reshape(-1)


def quantize_bias(bias: np.ndarray, bias_scale: np.ndarray) -> np.ndarray:
    """`quantize_bias_static_impl`: round half to even of f64(b) / f64(scale), clipped to
    int32 (ORT warns; the values are the clipped ones)."""
    scale = bias_scale if bias_scale.size > 1 else bias_scale.reshape(())
    q = (np.asarray(bias, np.float64) / np.asarray(scale, np.float64)).round()
    return np.clip(q, INT32_MIN, INT32_MAX).astype(np.int64)


def adjust_weight_scale_for_int32_bias(
    input_scale: np.float32, weight_scale: np.ndarray, bias: np.ndarray, per_channel: bool
) -> np.ndarray:
    """`QDQQuantizer._adjust_weight_scale_for_int32_bias`: raise the weight scale (per channel
    when per channel) so that input_scale * weight_scale is at least
    1.0001 * 2 * |bias| / (2^32 - 2), so the int32 bias does not clip."""
    qrange64 = np.float64(INT32_MAX) - np.float64(INT32_MIN + 1)
    scale = np.array(weight_scale, np.float32, copy=True)
    bias = np.asarray(bias, np.float32)
    if per_channel:
        limits = [np.abs(bias[i]) for i in range(scale.shape[0])]
    else:
        rmin = np.minimum(bias.min(), np.float64(0))
        rmax = np.maximum(bias.max(), np.float64(0))
        limits = [np.maximum(np.abs(rmin), np.abs(rmax))]
    flat = scale.reshape(-1)
    for i, absmax in enumerate(limits):
        # per channel |b| is float32 and ORT's `1.0001 * (2.0 * |b|)` stays float32 (NEP 50);
        # per tensor it is float64
        smallest = 1.0001 * (2.0 * absmax) / qrange64
        candidate = np.float64(input_scale) * np.float64(flat[i])
        if 0.0 < candidate < smallest:
            flat[i] = np.float32(np.float64(flat[i]) * (smallest / candidate))
    return scale
