"""Number spellings shared by the type printers.

MLIR's lexer only reads a float literal when it has a `.` (`1e-05` lexes as the integer `1`
followed by an identifier), and upstream prints doubles with 6 significant digits, which does
not round-trip. We print the shortest decimal that re-parses to the same double and insert the
`.` MLIR needs.
"""

from __future__ import annotations

import math


def format_float(value: float) -> str:
    """Shortest round-tripping decimal spelling of `value` that MLIR lexes as a float.

    >>> format_float(0.5), format_float(1e-05), format_float(3.0), format_float(2.5e+20)
    ('0.5', '1.0e-05', '3.0', '2.5e+20')
    """
    if not math.isfinite(value):
        raise ValueError(f"{value} has no MLIR float literal spelling")
    text = repr(float(value))
    mantissa, sep, exponent = text.partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    return mantissa + sep + exponent


def storage_bounds(width: int, signed: bool) -> tuple[int, int]:
    """Default [min, max] of a `width`-bit storage integer."""
    if signed:
        return -(1 << (width - 1)), (1 << (width - 1)) - 1
    return 0, (1 << width) - 1
