"""Quantization-parameter math: pure functions on Python numbers (no numpy needed).

Everything that turns ranges into scales, or scales into multipliers and shifts, lives here so
that patterns, templates and the reference interpreter share one definition (DESIGN §2).

Float conventions: `f32(x)` rounds a double to float32 once; formulas that DESIGN writes with
`fl(·)` apply it after every operation, in the order written.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from enum import Enum
from fractions import Fraction

from qdialect.numbers import storage_bounds

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


def f32(value: float) -> float:
    """`value` rounded to the nearest float32 (ties to even), as a double; overflow -> ±inf."""
    try:
        return struct.unpack("<f", struct.pack("<f", value))[0]
    except OverflowError:
        return math.copysign(math.inf, value)


class Scheme(Enum):
    """How a real range [min, max] becomes (scale, zero point). See `choose_qparams`."""

    ASYMMETRIC = "asymmetric"
    SYMMETRIC = "symmetric"
    SYMMETRIC_PYTORCH = "symmetric_pytorch"
    SYMMETRIC_UINT8 = "symmetric_uint8"
    SYMMETRIC_POWER2 = "symmetric_power2"
    NGRAPH_SCALED = "ngraph_scaled"


@dataclass(frozen=True)
class Storage:
    """An integer storage range, e.g. `Storage.parse("i8")` = [-128, 127], signed."""

    qmin: int
    qmax: int
    signed: bool

    @staticmethod
    def parse(spelling: str, reduce_range: bool = False) -> Storage:
        """`i8`/`si8`, `u8`/`ui8`, any width 1..32. reduce_range drops one bit (PyTorch)."""
        signed = not spelling.startswith("u")
        width = int(spelling.lstrip("sui"))
        qmin, qmax = storage_bounds(width, signed)
        if reduce_range:
            qmin, qmax = qmin // 2, qmax // 2
        return Storage(qmin, qmax, signed)


def _widen(rmin: float, rmax: float) -> tuple[float, float]:
    """The range grown to contain 0, so that real 0 is exactly representable."""
    if not (math.isfinite(rmin) and math.isfinite(rmax)) or rmin > rmax:
        raise ValueError(f"invalid range [{rmin}, {rmax}]")
    return min(rmin, 0.0), max(rmax, 0.0)


def _nonzero(scale: float) -> float:
    """A range of width 0 (all zeros) gets scale 1.0, as PyTorch and ONNX Runtime do."""
    return scale if scale > 0.0 else 1.0


def choose_qparams(
    rmin: float,
    rmax: float,
    storage: str | Storage = "i8",
    scheme: Scheme | str = Scheme.ASYMMETRIC,
    reduce_range: bool = False,
) -> tuple[float, int]:
    """(scale, zero point) for reals in [rmin, rmax], computed in float32 like the frameworks.

    - asymmetric: `scale = (max - min) / (qmax - qmin)`, `zp = qmin - rint(min / scale)`.
    - symmetric (ONNX Runtime, TensorFlow, MXNet): signed `scale = 2·max|r| / (qmax - qmin - 1)`
      (/127 for int8), zp 0; unsigned storage is one-sided: `scale = max / (qmax - qmin)`, zp 0.
    - symmetric_pytorch: `scale = max|r| / ((qmax - qmin) / 2)` (/127.5); zp 0, or the middle
      of an unsigned range (128 for uint8).
    - symmetric_uint8 (Glow): unsigned storage centered at zp 128, `scale = 2·max|r| / 255`;
      a range without negatives uses the whole storage from zp 0; signed storage is symmetric.
    - symmetric_power2 (Glow): the symmetric scale rounded up to a power of two, zp 0.
    - ngraph_scaled (nGraph's builders): `scale = max|r| / qmax`, zp 0.
    """
    scheme = Scheme(scheme)
    st = storage if isinstance(storage, Storage) else Storage.parse(storage, reduce_range)
    lo, hi = _widen(f32(rmin), f32(rmax))
    absmax = max(-lo, hi)
    span = st.qmax - st.qmin
    if scheme is Scheme.ASYMMETRIC:
        scale = _nonzero(f32(f32(hi - lo) / span))
        zero = st.qmin - round_half_even(f32(lo / scale))
        return scale, min(max(zero, st.qmin), st.qmax)
    if scheme is Scheme.SYMMETRIC:
        if not st.signed:
            return _nonzero(f32(hi / span)), st.qmin
        return _nonzero(f32(f32(2.0 * absmax) / (span - 1))), 0
    if scheme is Scheme.SYMMETRIC_PYTORCH:
        zero = 0 if st.signed else (st.qmin + st.qmax + 1) // 2
        return _nonzero(f32(absmax / f32(span / 2.0))), zero
    if scheme is Scheme.SYMMETRIC_UINT8:
        if st.signed:  # Glow's schema: signed values stay plain symmetric
            return _nonzero(f32(f32(2.0 * absmax) / (span - 1))), 0
        if lo >= 0.0:
            return _nonzero(f32(hi / span)), st.qmin
        return _nonzero(f32(f32(2.0 * absmax) / span)), (st.qmin + st.qmax + 1) // 2
    if scheme is Scheme.SYMMETRIC_POWER2:
        scale = _nonzero(f32(f32(2.0 * absmax) / (span - 1)))
        return 2.0 ** math.ceil(math.log2(scale)), 0
    return _nonzero(f32(absmax / st.qmax)), 0


def choose_qparams_per_channel(
    mins: list[float],
    maxs: list[float],
    storage: str | Storage = "i8",
    scheme: Scheme | str = Scheme.SYMMETRIC,
    reduce_range: bool = False,
) -> tuple[list[float], list[int]]:
    """`choose_qparams` for each channel's range."""
    pairs = [
        choose_qparams(lo, hi, storage, scheme, reduce_range)
        for lo, hi in zip(mins, maxs, strict=True)
    ]
    return [s for s, _ in pairs], [z for _, z in pairs]


# Intel Neural Compressor's per-framework table (seeds/002): (framework, dtype) -> scheme.
FRAMEWORK_SCHEMES: dict[tuple[str, str], tuple[Scheme, str]] = {
    ("tensorflow", "int8"): (Scheme.SYMMETRIC, "i8"),
    ("tensorflow", "uint8"): (Scheme.SYMMETRIC, "u8"),
    ("pytorch", "int8"): (Scheme.SYMMETRIC_PYTORCH, "i8"),
    ("pytorch", "uint8"): (Scheme.SYMMETRIC_PYTORCH, "u8"),
    ("pytorch_asymmetric", "uint8"): (Scheme.ASYMMETRIC, "u8"),
    ("ipex", "int8"): (Scheme.SYMMETRIC, "i8"),
    ("ipex", "uint8"): (Scheme.SYMMETRIC, "u8"),
    ("mxnet", "int8"): (Scheme.SYMMETRIC, "i8"),
    ("mxnet", "uint8"): (Scheme.SYMMETRIC, "u8"),
    ("onnxruntime", "int8"): (Scheme.SYMMETRIC, "i8"),
    ("onnxruntime", "uint8"): (Scheme.ASYMMETRIC, "u8"),
}


def framework_qparams(framework: str, dtype: str, rmin: float, rmax: float) -> tuple[float, int]:
    """(scale, zp) the way `framework` quantizes `dtype` ("int8"/"uint8")."""
    scheme, storage = FRAMEWORK_SCHEMES[(framework, dtype)]
    return choose_qparams(rmin, rmax, storage, scheme)


# ----------------------------------------------------------------------------- rounding


def round_half_even(value: float) -> int:
    """rint: nearest integer, ties to even (Python's round on floats)."""
    return round(value)


# ----------------------------------------------------------------------------- multipliers


def requant_multiplier(
    input_scale: float, weight_scale: float, output_scale: float, alpha: float | None = None
) -> float:
    """`m = fl(fl(sx * sw) / sy)`; with a Gemm alpha `fl(fl(fl(alpha * sx) * sw) / sy)`."""
    sx, sw, sy = f32(input_scale), f32(weight_scale), f32(output_scale)
    if alpha is not None:
        sx = f32(f32(alpha) * sx)
    return f32(f32(sx * sw) / sy)


def quantize_multiplier(multiplier: float) -> tuple[int, int]:
    """TFLite's QuantizeMultiplier: `multiplier ≈ q31 · 2^(shift - 31)`, q31 in [2^30, 2^31).

    Returns (q31, shift); shift > 0 is a left shift. 0 gives (0, 0); tiny multipliers whose
    shift would fall below -31 flush to (0, 0), as TFLite does.
    """
    if multiplier < 0.0 or not math.isfinite(multiplier):
        raise ValueError(f"multiplier must be finite and non-negative, got {multiplier}")
    if multiplier == 0.0:
        return 0, 0
    fraction, shift = math.frexp(multiplier)
    q = round_half_away(fraction * (1 << 31))
    if q == 1 << 31:  # the carry: 0.99999999... rounds up to 1.0
        q //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q, shift


def round_half_away(value: float) -> int:
    """std::round: nearest integer, ties away from zero."""
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


def saturating_rounding_doubling_high_mul(a: int, b: int) -> int:
    """gemmlowp's SaturatingRoundingDoublingHighMul on int32 values."""
    if a == b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    return _trunc_div(ab + nudge, 1 << 31)


def _trunc_div(numerator: int, denominator: int) -> int:
    """C's integer division (toward zero)."""
    quotient = abs(numerator) // abs(denominator)
    return quotient if (numerator >= 0) == (denominator > 0) else -quotient


def rounding_divide_by_pot(x: int, exponent: int) -> int:
    """gemmlowp's RoundingDivideByPOT: x / 2^exponent, ties away from zero."""
    if not 0 <= exponent <= 31:
        raise ValueError(f"exponent must be in [0, 31], got {exponent}")
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def multiply_by_quantized_multiplier(x: int, q31: int, shift: int) -> int:
    """TFLite's MultiplyByQuantizedMultiplier: round(x · q31 · 2^(shift - 31))."""
    left = max(shift, 0)
    right = max(-shift, 0)
    shifted = _wrap32(x * (1 << left))
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, q31), right)


def _wrap32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def tosa_multiplier_shift(multiplier: float) -> tuple[int, int]:
    """TOSA scale32: `multiplier ≈ m · 2^-shift` with m < 2^31 and shift in [2, 62]."""
    if multiplier <= 0.0 or not math.isfinite(multiplier):
        raise ValueError(f"multiplier must be finite and positive, got {multiplier}")
    fraction, exponent = math.frexp(multiplier)
    m = round_half_away(fraction * (1 << 31))
    if m == 1 << 31:
        m //= 2
        exponent += 1
    shift = 31 - exponent
    if shift > 62:
        m >>= min(31, shift - 62)
        shift = 62
    if shift < 2:
        raise ValueError(f"multiplier {multiplier} is too large for TOSA scale32")
    return m, shift


def tosa_apply_scale_32(value: int, multiplier: int, shift: int, double_round: bool) -> int:
    """TOSA's apply_scale_32: `(value · multiplier + round) >> shift`.

    Single round adds 2^(shift-1); double round (TOSA's `double_round`) additionally moves the
    rounding point by ±2^30 when shift > 31, reproducing a rounding shift by 31 first.
    """
    if not 2 <= shift <= 62:
        raise ValueError(f"shift must be in [2, 62], got {shift}")
    rounding = 1 << (shift - 1)
    if double_round and shift > 31:
        rounding += (1 << 30) if value >= 0 else -(1 << 30)
    result = (value * multiplier + rounding) >> shift
    if not INT32_MIN <= result <= INT32_MAX:
        raise OverflowError(f"apply_scale_32 result {result} does not fit int32")
    return result


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


def symmetric_scale(scale: float, zero_point: int, qmin: int, qmax: int) -> float:
    """Scale of the zero-point-0 type covering the reals a (scale, zp) type represents."""
    absmax = max(abs(scale * (qmin - zero_point)), abs(scale * (qmax - zero_point)))
    return choose_qparams(-absmax, absmax, Storage(qmin, qmax, True), Scheme.SYMMETRIC)[0]


def fmaf(a: float, b: float, c: float) -> float:
    """C's fmaf on float32 values: `a * b + c` computed exactly, rounded to float32 once."""
    return f32_nearest(Fraction(a) * Fraction(b) + Fraction(c))


def f32_nearest(exact: Fraction) -> float:
    """The float32 nearest to an exact rational (ties to even), as a double.

    Rounding to double first and then to float32 can only go wrong when the double lands
    exactly on a float32 midpoint; the neighbour on the other side settles that case.
    """
    nearest = f32(float(exact))
    if math.isinf(nearest) or Fraction(nearest) == exact:
        return nearest
    other = _f32_adjacent(nearest, up=Fraction(nearest) < exact)
    gap, other_gap = abs(exact - Fraction(nearest)), abs(Fraction(other) - exact)
    if other_gap < gap or (other_gap == gap and _f32_bits(other) % 2 == 0):
        return other
    return nearest


def _f32_bits(value: float) -> int:
    return struct.unpack("<I", struct.pack("<f", value))[0]


def _f32_adjacent(value: float, up: bool) -> float:
    """The neighbouring float32 above (up) or below `value`."""
    bits = _f32_bits(value)
    if value == 0.0:
        return struct.unpack("<f", struct.pack("<I", 1 if up else 0x80000001))[0]
    moving_away = (value > 0) == up
    bits = bits + 1 if moving_away else bits - 1
    return struct.unpack("<f", struct.pack("<I", bits))[0]
