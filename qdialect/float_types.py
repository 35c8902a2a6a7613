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


# (exponent bits, mantissa bits) of the expressed types whose sub-channel scales upstream
# stores narrower than a double (DenseElementsAttr of the expressed type).
_NARROW_FORMATS: dict[type[Attribute], tuple[int, int]] = {
    Float16Type: (5, 10),
    BFloat16Type: (8, 7),
    Float32Type: (8, 23),
}
_F64_MANTISSA = 52


def _double_bits(value: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", value))[0]


def _double_from_bits(bits: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


def _narrow_nan_bits(value: float, exponent_bits: int, mantissa_bits: int) -> int:
    """APFloat's conversion of a double NaN: sign kept, payload truncated, made quiet."""
    bits = _double_bits(value)
    sign = bits >> 63
    payload = (bits & ((1 << _F64_MANTISSA) - 1)) >> (_F64_MANTISSA - mantissa_bits)
    payload |= 1 << (mantissa_bits - 1)  # the quiet bit
    width = 1 + exponent_bits + mantissa_bits
    return (sign << (width - 1)) | (((1 << exponent_bits) - 1) << mantissa_bits) | payload


def _round_to_format(value: float, exponent_bits: int, mantissa_bits: int) -> float:
    """Round a finite double to an IEEE format directly (nearest, ties to even): no
    intermediate f32, which would round twice."""
    if value == 0:
        return value
    bias = (1 << (exponent_bits - 1)) - 1
    exponent = max(math.frexp(value)[1] - 1, 1 - bias)  # subnormals share the lowest step
    quantum = math.ldexp(1.0, exponent - mantissa_bits)
    rounded = round(value / quantum) * quantum  # both steps exact; round() ties to even
    largest = math.ldexp(2.0 - math.ldexp(1.0, -mantissa_bits), bias)
    if abs(rounded) > largest:
        return math.copysign(math.inf, value)
    return math.copysign(rounded, value)


def round_all(float_type: Attribute, values) -> list[float]:
    """`round_to` over many values, the format looked up once (a block-wise 4096 x 11008
    weight has 352k scales)."""
    if not isinstance(float_type, tuple(_NARROW_FORMATS)):
        return [float(v) for v in values]
    import numpy as np  # lazily: printing IR does not pay for numpy

    doubles = np.asarray(values, dtype=np.float64)
    if isinstance(float_type, Float32Type) and np.isfinite(doubles).all():
        with np.errstate(over="ignore"):  # IEEE nearest-even, overflow to inf: as round_to
            return doubles.astype(np.float32).astype(np.float64).tolist()
    return [round_to(float_type, v) for v in values]


def round_to(float_type: Attribute, value: float) -> float:
    """`value` rounded (nearest, ties to even) to `float_type`, returned as a double.

    A NaN becomes what APFloat makes of it (quiet, payload truncated to the narrower
    mantissa), widened back to a double exactly, so `nan_hex` recovers the narrow bits.
    """
    fmt = next((f for cls, f in _NARROW_FORMATS.items() if isinstance(float_type, cls)), None)
    if fmt is None:
        return value
    exponent_bits, mantissa_bits = fmt
    if math.isnan(value):
        narrow = _narrow_nan_bits(value, exponent_bits, mantissa_bits)
        width = 1 + exponent_bits + mantissa_bits
        sign = narrow >> (width - 1)
        payload = narrow & ((1 << mantissa_bits) - 1)
        return _double_from_bits(
            (sign << 63) | (0x7FF << _F64_MANTISSA) | (payload << (_F64_MANTISSA - mantissa_bits))
        )
    if isinstance(float_type, Float32Type):
        return struct.unpack("<f", struct.pack("<f", value))[0]
    return _round_to_format(value, exponent_bits, mantissa_bits)


def nan_hex(value: float) -> str:
    """A non-finite double as MLIR prints it: its hexadecimal bits, e.g. `0x7FF8000000000000`."""
    return f"0x{_double_bits(value):016X}"
