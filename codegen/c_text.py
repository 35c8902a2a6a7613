"""How numbers and types are spelled in C: the only place numbers become C text.

Kernel specs hold numbers (floats already rounded to float32, ints); templates turn them into
literals through the `c_float`, `c_double` and `c_int` filters registered on `TEMPLATES`, so no
code ever parses C text back to decide something.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from xdsl.ir import Attribute

from qdialect.float32 import f32
from qdialect.storage import element_name


class CodegenError(Exception):
    """An op or type this code generator does not compile, with its source location."""


def c_float(value: float) -> str:
    """An exact C float literal (hex), e.g. 0x1.99999ap-4f; infinities as INFINITY."""
    return _float_literal(float(f32(value)))


def _float_literal(value: float) -> str:
    """`c_float` of a value already rounded to float32."""
    if math.isinf(value):
        return "INFINITY" if value > 0 else "-INFINITY"
    return value.hex() + "f"


def c_floats(values: Sequence[float]) -> str:
    """`c_float` of each value, comma-separated: a table of thousands (a histogram's edges)
    is rounded to float32 in one numpy step instead of one template call per value."""
    with np.errstate(over="ignore"):  # beyond float32's range: ±inf, as `f32` rounds
        rounded = np.asarray(values, dtype=np.float64).astype(np.float32).astype(np.float64)
    return ", ".join(map(_float_literal, rounded.tolist()))


def c_double(value: float) -> str:
    """An exact C double literal (hex), e.g. 0x1.999999999999ap-4; finite values only."""
    if not math.isfinite(value):
        raise CodegenError(f"no finite C double for {value}")
    return float(value).hex()


def c_int(value: int) -> str:
    """A C integer literal (decimal)."""
    return str(int(value))


def c_literal(value: float | int) -> str:
    """A float as `c_float` spells it, an integer as `c_int` does (pad fills, max-pool
    identities: a float or a stored integer, by the element type)."""
    return c_float(value) if isinstance(value, float) else c_int(value)


def ctype_of(elem: Attribute) -> str:
    """The C type a kernel computes on for `elem` (`int8_t`, `uint16_t`, `float`, ...)."""
    try:
        name = element_name(elem)
    except ValueError as error:
        raise CodegenError(str(error).replace("machine integer holds", "C type for")) from None
    if name is None or name in ("float16", "float64"):
        raise CodegenError(f"no C type for element type {elem}")
    return "float" if name == "float32" else f"{name}_t"


def buffer_ctype(elem: Attribute) -> str:
    """The C type of a buffer of `elem`: `ctype_of`'s, and `_Float16` for f16, which crosses
    the boundary and is converted (arith.extf / arith.truncf) but no kernel computes on."""
    try:
        return "_Float16" if element_name(elem) == "float16" else ctype_of(elem)
    except ValueError:
        return ctype_of(elem)


# The 8-bit C types and their storage ranges (what the fast kernels and packs take).
INT8_RANGES = {"int8_t": (-128, 127), "uint8_t": (0, 255)}


def c_sizeof(ctype: str) -> int:
    """Bytes of one element of a C type `ctype_of` returns."""
    if ctype in FLOAT_SIZES:
        return FLOAT_SIZES[ctype]
    return int(ctype.removeprefix("u").removeprefix("int")[:-2]) // 8


FLOAT_SIZES = {"float": 4, "_Float16": 2}


TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
TEMPLATES.filters["c_float"] = c_float
TEMPLATES.filters["c_floats"] = c_floats
TEMPLATES.filters["c_double"] = c_double
TEMPLATES.filters["c_int"] = c_int
TEMPLATES.filters["c_literal"] = c_literal
