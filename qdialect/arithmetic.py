"""The numbers DESIGN §2 fixes, computed once for both executors.

Codegen spells these numbers into C and the reference interpreter applies them to numpy
arrays; both take them from here, so the compiled kernels and the oracle cannot drift apart.
Everything is pure Python on float32-rounded values (`f32`), tested in tests/unit/test_params.py.
The scalar formulas (quantize, requantize, the requantization multiplier) are here too; the
parts they are built from live in `float32` (IEEE float32 emulation), `fixed_point` (Q31 and
TOSA multipliers) and `storage` (integer ranges, INT32_MIN/INT32_MAX).
"""

from __future__ import annotations

from dataclasses import dataclass

from qdialect.fixed_point import quantize_multiplier, tosa_multiplier_shift
from qdialect.float32 import f32, fmaf, round_half_even
from qdialect.storage import INT32_MAX, INT32_MIN

__all__ = [
    "INT32_MAX",
    "INT32_MIN",
    "AddConstants",
    "add_constants",
    "clamp_bounds",
    "fixed_point_multipliers",
    "global_pool_scale",
    "quantize_value",
    "requant_multiplier",
    "requantize_value",
]


def quantize_value(value: float, scale: float, zero: int, qmin: int, qmax: int) -> int:
    """DESIGN §2's quantize of one real: `v = fl(x / s)` (a true division), clamped to
    [qmin - zp, qmax - zp] before rounding, `rint(v) + zp`; NaN gives qmin."""
    v = f32(f32(value) / f32(scale))
    if v != v:
        return qmin
    return round_half_even(min(max(v, qmin - zero), qmax - zero)) + zero


def requantize_value(
    q: int, source: tuple[float, int], target: tuple[float, int], qmin: int, qmax: int
) -> int:
    """One stored value moved between (scale, zero point) pairs: quantize(dequantize(q)) with
    DESIGN §2's float32 steps, `x = fl(float(q - zs) * ss)` first."""
    real = f32(f32(q - source[1]) * f32(source[0]))
    return quantize_value(real, target[0], target[1], qmin, qmax)


def requant_multiplier(
    input_scale: float, weight_scale: float, output_scale: float, alpha: float | None = None
) -> float:
    """`m = fl(fl(sx * sw) / sy)`; with a Gemm alpha `fl(fl(fl(alpha * sx) * sw) / sy)`."""
    sx, sw, sy = f32(input_scale), f32(weight_scale), f32(output_scale)
    if alpha is not None:
        sx = f32(f32(alpha) * sx)
    return f32(f32(sx * sw) / sy)


@dataclass(frozen=True)
class AddConstants:
    """ONNX Runtime's QLinearAdd: `r = fma(a, ra, fma(b, rb, k))` on the raw stored a, b."""

    ra: float
    rb: float
    k: float


def add_constants(
    a: tuple[float, float], b: tuple[float, float], y: tuple[float, float]
) -> AddConstants:
    """`ra = fl(sa/sy)`, `rb = fl(sb/sy)`, `k = fl(zy - fma(ra, za, fl(rb*zb)))` from the
    (scale, zero point) pairs of a, b and y, zero points as the raw stored values see them."""
    (sa, za), (sb, zb), (sy, zy) = ((f32(s), f32(z)) for s, z in (a, b, y))
    ra, rb = f32(sa / sy), f32(sb / sy)
    return AddConstants(ra, rb, f32(zy - fmaf(ra, za, f32(rb * zb))))


def fixed_point_multipliers(
    mode: str, input_scale: float, weight_scales, output_scale: float
) -> list[tuple[int, int]]:
    """Per-channel (multiplier, shift) of the fixed-point requantization modes `tflite`,
    `tosa_single` and `tosa_double`. The real multiplier is taken in double from the float32
    scales, as TFLite does."""
    sx, sy = float(f32(input_scale)), float(f32(output_scale))
    reals = [sx * float(f32(s)) / sy for s in weight_scales]
    encode = quantize_multiplier if mode == "tflite" else tosa_multiplier_shift
    return [encode(r) for r in reals]


def global_pool_scale(input_scale: float, output_scale: float, taps: int) -> float:
    """The multiplier of a global average pool on the int32 sum: `fl(sx / fl(sy * N))`."""
    return f32(f32(input_scale) / f32(f32(output_scale) * f32(taps)))


def clamp_bounds(
    lo: float, hi: float, scales, zero_points, qmin: int, qmax: int
) -> tuple[list[int], list[int]]:
    """Per-channel stored bounds of a real clamp [lo, hi]: both ends quantized (DESIGN §2)."""
    pairs = [
        (quantize_value(lo, s, z, qmin, qmax), quantize_value(hi, s, z, qmin, qmax))
        for s, z in zip(scales, zero_points, strict=True)
    ]
    return [p[0] for p in pairs], [p[1] for p in pairs]
