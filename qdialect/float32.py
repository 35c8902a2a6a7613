"""IEEE float32 arithmetic emulated on Python floats (no numpy needed).

DESIGN §2 writes `fl(·)` for one float32 rounding; `f32(x)` is that rounding of a double, and
formulas apply it after every operation, in the order written. `fmaf` is C's fused multiply-add
(one rounding). The two integer roundings the peers use are here too: `rint` (half to even) and
`std::round` (half away from zero).
"""

from __future__ import annotations

import math
import struct
from fractions import Fraction


def f32(value: float) -> float:
    """`value` rounded to the nearest float32 (ties to even), as a double; overflow -> ±inf."""
    try:
        return struct.unpack("<f", struct.pack("<f", value))[0]
    except OverflowError:
        return math.copysign(math.inf, value)


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


def round_half_even(value: float) -> int:
    """rint: nearest integer, ties to even (Python's round on floats)."""
    return round(value)


def round_half_away(value: float) -> int:
    """std::round: nearest integer, ties away from zero."""
    return int(math.copysign(math.floor(abs(value) + 0.5), value))
