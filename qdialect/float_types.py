"""Facts about float element types that the quantized types need.

Upstream MLIR bounds a scale by the smallest positive (denormal) and the largest finite value of
the expressed type, and stores sub-channel scales rounded to that type. Both need per-type
knowledge that xDSL's builtin float types do not expose uniformly.
"""

from __future__ import annotations

import math
import struct

from xdsl.dialects.builtin import (
    BFloat16Type,
    Float16Type,
    Float32Type,
    Float64Type,
    Float80Type,
    Float128Type,
    ReducedPrecisionFloatType,
)
from xdsl.ir import Attribute

FLOAT_TYPES = (
    BFloat16Type,
    Float16Type,
    Float32Type,
    Float64Type,
    Float80Type,
    Float128Type,
    ReducedPrecisionFloatType,
)

# (smallest positive denormal, largest finite) as doubles, as APFloat gives them.
_IEEE_RANGES: dict[type[Attribute], tuple[float, float]] = {
    Float16Type: (2.0**-24, 65504.0),
    BFloat16Type: (2.0**-133, 3.3895313892515355e38),
    Float32Type: (2.0**-149, 3.4028234663852886e38),
    Float64Type: (5e-324, 1.7976931348623157e308),
    # Their extremes do not fit a double: APFloat's convertToDouble gives 0 and inf.
    Float80Type: (0.0, math.inf),
    Float128Type: (0.0, math.inf),
}


def is_float_type(attr: Attribute) -> bool:
    """True for every builtin float type (MLIR's FloatType)."""
    return isinstance(attr, FLOAT_TYPES)


def scale_range(float_type: Attribute) -> tuple[float, float]:
    """Allowed scale interval [smallest positive, largest finite] of an expressed type."""
    for cls, bounds in _IEEE_RANGES.items():
        if isinstance(float_type, cls):
            return bounds
    assert isinstance(float_type, ReducedPrecisionFloatType)
    sem = float_type.SEMANTICS
    smallest = 2.0 ** (1 - sem.exponent_bias - sem.mantissa_bits)
    top_exponent = sem.max_exponent - sem.exponent_bias
    if sem.nonfinite.name == "IEEE":
        top_exponent -= 1
    largest = (2.0 - 2.0**-sem.mantissa_bits) * 2.0**top_exponent
    return smallest, largest


def round_to(float_type: Attribute, value: float) -> float:
    """`value` rounded (nearest, ties to even) to `float_type`, returned as a double."""
    if isinstance(float_type, Float32Type):
        return struct.unpack("<f", struct.pack("<f", value))[0]
    if isinstance(float_type, Float16Type):
        try:
            return struct.unpack("<e", struct.pack("<e", value))[0]
        except OverflowError:
            return math.copysign(math.inf, value)
    if isinstance(float_type, BFloat16Type):
        bits = struct.unpack("<I", struct.pack("<f", value))[0]
        bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
        return struct.unpack("<f", struct.pack("<I", bits))[0]
    return value
