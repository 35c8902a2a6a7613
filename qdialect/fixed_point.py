"""Fixed-point requantization: gemmlowp/TFLite's Q31 multipliers and TOSA's scale32.

Pure functions on Python integers that reproduce the peers' int32 arithmetic bit for bit
(DESIGN §2, fixed-point mode): a real multiplier becomes an integer multiplier and a shift, and
an int32 accumulator is scaled by them with the peer's rounding.
"""

from __future__ import annotations

import math

from qdialect.float32 import round_half_away
from qdialect.storage import INT32_MAX, INT32_MIN


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
