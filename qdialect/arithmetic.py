"""The numbers DESIGN §2 fixes, computed once for both executors.

Codegen spells these numbers into C and the reference interpreter applies them to numpy
arrays; both take them from here, so the compiled kernels and the oracle cannot drift apart.
Everything is pure Python on float32-rounded values (`f32`), tested in tests/unit/test_params.py.
The scalar formulas (quantize, requantize, the requantization multiplier) are here too; the
parts they are built from live in `float32` (IEEE float32 emulation), `fixed_point` (Q31 and
TOSA multipliers) and `storage` (integer ranges, INT32_MIN/INT32_MAX).

Scale limits: the numbers computed from several scales (products and ratios: the bias scale
`sx*sw`, the requantization multiplier `sx*sw/sy`, QLinearAdd's `sa/sy` and `sb/sy`, the pools'
`sx/sy`) are only computed from scales in `SCALE_RANGE`, 2^-40 to 2^40 (QLinearAdd's also from
any float32 scales whose ratios are at most 2^40, `add_constants`). A product or ratio of
three such scales lies in 2^-120 .. 2^120, a normal float32 number, and no value the kernels
derive from them (`fl(float32(acc) * m)`, `fma(a, ra, fma(b, rb, k))`, the pools' float sums)
can become NaN. A scale outside it raises `ScaleRangeError` naming the product and the scale,
which the rewrites, the code generator and the reference interpreter report located at the op
(tests/unit/test_scale_limits.py). The ONNX importer refuses such scales up front with the same
range. Single-scale formulas (quantize, dequantize, requantize, clamp bounds) take any scale with
a float32 value, subnormal ones included: DESIGN §2 defines their overflow (±inf saturates, NaN
gives qmin). Only NaN, or a wider expressed type's scale beyond float32, is refused there
(`float32_scale`): there is nothing to compute with.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from qdialect.fixed_point import quantize_multiplier, tosa_multiplier_shift
from qdialect.float32 import f32, fmaf, round_half_even
from qdialect.storage import INT32_MAX, INT32_MIN

__all__ = [
    "INT32_MAX",
    "INT32_MIN",
    "SCALE_RANGE",
    "SCALE_RANGE_TEXT",
    "AddConstants",
    "ScaleRangeError",
    "add_constants",
    "qlinear_add_swaps",
    "average_pool_scales",
    "bias_scale",
    "check_scales",
    "clamp_bounds",
    "dynamic_qparams",
    "fixed_point_multipliers",
    "float32_scale",
    "global_pool_scale",
    "mul_multiplier",
    "quantize_value",
    "requant_multiplier",
    "requantize_value",
]


# The scales that products and ratios are computed from (see the module docstring); the ONNX
# importer accepts exactly these scales too.
SCALE_RANGE = (2.0**-40, 2.0**40)
SCALE_RANGE_TEXT = "2^{:g} to 2^{:g} ({:.6g} to {:.6g})".format(
    *(math.log2(b) for b in SCALE_RANGE), *SCALE_RANGE
)  # "2^-40 to 2^40 (9.09495e-13 to 1.09951e+12)", as error messages give the range
# What requant_mode's integer multipliers can hold: TFLite's left shift is at most 31, TOSA's
# scale32 shift at least 2 (the multiplier below 2^31 and 2^29).
_FIXED_POINT_LIMITS = {
    "tflite": "TFLite's Q31 multiplier takes multipliers below 2^31 (2.14748e+09)",
    "tosa_single": "TOSA's scale32 takes multipliers below 2^29 (5.36871e+08)",
    "tosa_double": "TOSA's scale32 takes multipliers below 2^29 (5.36871e+08)",
}


class ScaleRangeError(ValueError):
    """A product or ratio of scales asked for with a scale outside `SCALE_RANGE`, a
    fixed-point multiplier its mode cannot hold, or a scale with no float32 value. The message
    names the number and the scale; callers report it located at the op."""


def _g(value: float) -> str:
    return f"{value:.6g}"


def check_scales(product: str, scales: Iterable[tuple[str, float]]) -> None:
    """Raise `ScaleRangeError` unless every scale is in `SCALE_RANGE` (NaN is not).

    `product` is the number about to be computed, its formula with the values substituted, and
    `scales` the (role, value) pairs to check in order, the role naming the scale in the message:
    `requantization multiplier sx*sw/sy = 1e-45*0.5/0.5: input scale sx = 1e-45 is outside ...`.
    """
    low, high = SCALE_RANGE
    for role, value in scales:
        if not low <= value <= high:
            raise ScaleRangeError(
                f"{product}: {role} = {_g(value)} is outside the supported scale range "
                f"{SCALE_RANGE_TEXT}"
            )


def float32_scale(scale: float) -> float:
    """`fl(scale)`, the scale a single-scale formula (quantize, dequantize, requantize) computes
    with. NaN (which upstream's parser lets through) and a scale of a wider expressed type with
    no positive finite float32 value raise `ScaleRangeError`: there is nothing to compute with,
    and C has no literal for it."""
    rounded = f32(scale)
    if not 0.0 < rounded < math.inf:
        raise ScaleRangeError(
            f"scale {_g(scale)} has no positive finite float32 value to compute with "
            "(float32 scales lie in 1.4013e-45 to 3.40282e+38)"
        )
    return rounded


def _requant_check(input_scale: float, weight_scale: float, output_scale: float) -> None:
    sx, sw, sy = (float(s) for s in (input_scale, weight_scale, output_scale))
    check_scales(
        f"requantization multiplier sx*sw/sy = {_g(sx)}*{_g(sw)}/{_g(sy)}",
        (("input scale sx", sx), ("weight scale sw", sw), ("output scale sy", sy)),
    )


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
    """`m = fl(fl(sx * sw) / sy)`; with a Gemm alpha `fl(fl(fl(alpha * sx) * sw) / sy)`.
    Scales outside `SCALE_RANGE` raise `ScaleRangeError`."""
    _requant_check(input_scale, weight_scale, output_scale)
    sx, sw, sy = f32(input_scale), f32(weight_scale), f32(output_scale)
    if alpha is not None:
        sx = f32(f32(alpha) * sx)
    return f32(f32(sx * sw) / sy)


def mul_multiplier(lhs_scale: float, rhs_scale: float, output_scale: float) -> float:
    """QLinearMul's `m = fl(fl(sa * sb) / sy)` (MLAS's `ScaleRatio`). Scales in `SCALE_RANGE`
    are taken as for every product. Beyond it the multiply still computes when every scale
    has a float32 value and m lies in (0, 2^40]: the exact product (a - za)(b - zb), at most
    2^16, times m stays finite, as ONNX Runtime's QLinearMul computes it (a transformer's
    `(1 - mask) * finfo.min`, the constant quantized with a scale near 1e36). Otherwise
    `ScaleRangeError` names the first scale out of range."""
    try:
        return requant_multiplier(lhs_scale, rhs_scale, output_scale)
    except ScaleRangeError:
        scales = [f32(s) for s in (lhs_scale, rhs_scale, output_scale)]
        if not all(0.0 < s < math.inf for s in scales):
            raise
        m = f32(f32(scales[0] * scales[1]) / scales[2])
        if not 0.0 < m <= SCALE_RANGE[1]:
            raise
        return m


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
    (scale, zero point) pairs of a, b and y, zero points as the raw stored values see them.

    Scales in `SCALE_RANGE` are taken as for every product. Beyond it the add still computes
    when both ratios have float32 values of at most 2^40: then `fma(a, ra, fma(b, rb, k))`
    stays finite for any stored a, b, and a ratio that underflows only drops its operand, as
    ONNX Runtime's QLinearAdd does (a transformer's attention scores added to a mask quantized
    with a scale near 1e36). Otherwise `ScaleRangeError` names the first scale out of range."""
    sa, sb, sy = float(a[0]), float(b[0]), float(y[0])
    product = f"QLinearAdd ratios sa/sy, sb/sy = {_g(sa)}/{_g(sy)}, {_g(sb)}/{_g(sy)}"
    roles = (("lhs scale sa", sa), ("rhs scale sb", sb), ("output scale sy", sy))
    try:
        check_scales(product, roles)
    except ScaleRangeError:
        with_values = all(0.0 < f32(s) < math.inf for _, s in roles)
        if not with_values or not all(f32(f32(s) / f32(sy)) <= SCALE_RANGE[1] for s in (sa, sb)):
            raise
    (sa, za), (sb, zb), (sy, zy) = ((f32(s), f32(z)) for s, z in (a, b, y))
    ra, rb = f32(sa / sy), f32(sb / sy)
    return AddConstants(ra, rb, f32(zy - fmaf(ra, za, f32(rb * zb))))


def qlinear_add_swaps(lhs: tuple[int, ...], rhs: tuple[int, ...]) -> bool:
    """Whether ONNX Runtime's QLinearAdd exchanges its operands' roles for these shapes: its
    broadcaster hands MLAS one lhs value for a span of rhs values when the innermost axis the
    result keeps (of size above 1) broadcasts lhs and not rhs, and the kernel's "scalar B" form
    then takes rhs as its A (`qlinear_binary_op.cc`). `fma(a, ra, fma(b, rb, k))` rounds
    differently with the roles exchanged, so the reference and the C code exchange the
    operands too (a constant's `1 + tanh(·)` in a GELU, a per-row bias on the left)."""
    rank = max(len(lhs), len(rhs))
    a = (1,) * (rank - len(lhs)) + tuple(lhs)
    b = (1,) * (rank - len(rhs)) + tuple(rhs)
    for x, y in zip(reversed(a), reversed(b), strict=True):
        if max(x, y) != 1:
            return x == 1 and y != 1
    return False


def fixed_point_multipliers(
    mode: str, input_scale: float, weight_scales, output_scale: float
) -> list[tuple[int, int]]:
    """Per-channel (multiplier, shift) of the fixed-point requantization modes `tflite`,
    `tosa_single` and `tosa_double`. The real multiplier is taken in double from the float32
    scales, as TFLite does. Scales outside `SCALE_RANGE` raise `ScaleRangeError` as in
    `requant_multiplier` (every channel is checked before any is encoded), and so does a
    multiplier the mode cannot hold (TFLite: 2^31 and above, TOSA: 2^29 and above)."""
    weight_scales = list(weight_scales)
    for s in weight_scales:
        _requant_check(input_scale, s, output_scale)
    sx, sy = float(f32(input_scale)), float(f32(output_scale))
    encode = quantize_multiplier if mode == "tflite" else tosa_multiplier_shift
    pairs = []
    for s in weight_scales:
        real = sx * float(f32(s)) / sy
        try:
            pair = encode(real)
        except ValueError:
            pair = None
        if pair is None or (mode == "tflite" and pair[1] > 31):
            raise ScaleRangeError(
                f"requantization multiplier sx*sw/sy = {_g(sx)}*{_g(f32(s))}/{_g(sy)} = "
                f'{_g(real)} is too large for requant_mode "{mode}": '
                f"{_FIXED_POINT_LIMITS[mode]}"
            )
        pairs.append(pair)
    return pairs


def global_pool_scale(input_scale: float, output_scale: float, taps: int) -> float:
    """The multiplier of a global average pool on the int32 sum: `fl(sx / fl(sy * N))`.
    Scales outside `SCALE_RANGE` raise `ScaleRangeError`."""
    sx, sy = float(input_scale), float(output_scale)
    check_scales(
        f"global average pool multiplier sx/(sy*N) = {_g(sx)}/({_g(sy)}*{taps})",
        (("input scale sx", sx), ("output scale sy", sy)),
    )
    return f32(f32(input_scale) / f32(f32(output_scale) * f32(taps)))


def average_pool_scales(input_scale: float, output_scale: float) -> tuple[float, float]:
    """(sx, sy) of a (non-global) average pool, which computes `fl(sx * float(x - zx))` per
    tap and `fl(avg / sy)`: its rescaling is sx/sy. Scales outside `SCALE_RANGE` raise
    `ScaleRangeError`."""
    sx, sy = float(input_scale), float(output_scale)
    check_scales(
        f"average pool rescaling sx/sy = {_g(sx)}/{_g(sy)}",
        (("input scale sx", sx), ("output scale sy", sy)),
    )
    return f32(sx), f32(sy)


def bias_scale(input_scale: float, weight_scale: float) -> float:
    """The scale of the int32 bias, `fl(sx * sw)`. Scales outside `SCALE_RANGE` raise
    `ScaleRangeError`."""
    sx, sw = float(input_scale), float(weight_scale)
    check_scales(
        f"bias scale sx*sw = {_g(sx)}*{_g(sw)}",
        (("input scale sx", sx), ("weight scale sw", sw)),
    )
    return f32(f32(sx) * f32(sw))


def clamp_bounds(
    lo: float, hi: float, scales, zero_points, qmin: int, qmax: int
) -> tuple[list[int], list[int]]:
    """Per-channel stored bounds of a real clamp [lo, hi]: both ends quantized (DESIGN §2)."""
    pairs = [
        (quantize_value(lo, s, z, qmin, qmax), quantize_value(hi, s, z, qmin, qmax))
        for s, z in zip(scales, zero_points, strict=True)
    ]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def dynamic_qparams(lo: float, hi: float) -> tuple[float, int]:
    """(scale, zero point) of DESIGN §2's dynamic quantize from the float32 extremes of the data
    (ONNX Runtime's DynamicQuantizeLinear, u8, all float32): the range widened to include 0,
    `s = fl(fl(hi - lo) / 255)`, 1 when `hi == lo`; `zp = rint(max(0, min(255, -fl(lo / s))))`
    with C++'s `std::min`/`std::max`, so a NaN `lo / s` (infinite data) gives 255."""
    lo, hi = min(f32(lo), 0.0), max(f32(hi), 0.0)
    scale = 1.0 if hi == lo else f32(f32(hi - lo) / 255.0)
    initial = -_ieee_divide(lo, scale)
    bounded = initial if initial < 255.0 else 255.0  # std::min(qmax, initial)
    bounded = bounded if bounded > 0.0 else 0.0  # std::max(qmin, ...)
    return scale, round_half_even(bounded)


def _ieee_divide(a: float, b: float) -> float:
    """`fl(a / b)` as C computes it: a zero divisor (a subnormal range / 255) gives ±inf or NaN."""
    if b == 0.0:
        return math.nan if a == 0.0 or a != a else math.copysign(math.inf, a) * math.copysign(1, b)
    return f32(a / b)
