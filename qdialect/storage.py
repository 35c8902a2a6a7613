"""Which machine integer holds a storage type, named once for C and numpy.

A `width`-bit storage integer (sub-byte types unpacked, one per byte) lives in the smallest of
int8/16/32/64 that holds it. `integer_name` is that container's name; codegen spells it as a C
type (`int8_t`) and the runtimes as a numpy dtype (`np.dtype("int8")`), so the two agree by
construction. Element types map through `element_name` (float32 is `float32`). The storage
ranges are here too: a width's default bounds, the int32 accumulator's (INT32_MIN/INT32_MAX),
and the wrap of a value into a width (what upstream's APInt zero points hold).
"""

from __future__ import annotations

from xdsl.dialects.builtin import IntegerType, Signedness
from xdsl.ir import Attribute

from qdialect.float_types import is_float_type

MAX_STORAGE_BITS = 32  # the widest storage a quantized type may have (upstream's limit)
CONTAINER_BITS = (8, 16, 32, 64)
FLOAT_NAMES = {"f16": "float16", "f32": "float32", "f64": "float64"}


def storage_bounds(width: int, signed: bool) -> tuple[int, int]:
    """Default [min, max] of a `width`-bit storage integer."""
    if signed:
        return -(1 << (width - 1)), (1 << (width - 1)) - 1
    return 0, (1 << width) - 1


INT32_MIN, INT32_MAX = storage_bounds(32, signed=True)  # the accumulator's range


def wrap_to_storage(value: int, width: int, signed: bool) -> int:
    """`value` as a `width`-bit integer (what upstream's APInt zero points hold)."""
    value &= (1 << width) - 1
    if signed and value >= 1 << (width - 1):
        value -= 1 << width
    return value


def integer_name(width: int, signed: bool) -> str:
    """The container of a `width`-bit storage integer, e.g. (4, False) -> 'uint8'."""
    for bits in CONTAINER_BITS:
        if width <= bits:
            return f"{'' if signed else 'u'}int{bits}"
    raise ValueError(f"no machine integer holds {width}-bit storage")


def integer_signature(element: Attribute) -> tuple[int, bool] | None:
    """(width, signed) of a quantized or integer element type, None for anything else."""
    from qdialect.types import AnyQuantizedType, UniformQuantizedType  # types imports us

    if isinstance(element, UniformQuantizedType | AnyQuantizedType):
        return element.storage_width, element.signed
    if isinstance(element, IntegerType):
        return element.width.data, element.signedness.data is not Signedness.UNSIGNED
    return None


def element_name(element: Attribute) -> str | None:
    """The container name ('int8', 'float32', ...) of an element type, None if it has none."""
    signature = integer_signature(element)
    if signature is not None:
        return integer_name(*signature)
    if is_float_type(element) and element.name in FLOAT_NAMES:
        return FLOAT_NAMES[element.name]
    return None
