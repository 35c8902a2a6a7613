"""The grammar pieces of the `quant` types' text: storage specs, float literals, parameter lists.

Each `parse_*` function reads one production of upstream MLIR's
`mlir/lib/Dialect/Quant/IR/TypeParser.cpp` and reports errors in its wording at the source
location (`parser.raise_error`); the types in `qdialect.types` compose them. Numbers print the
other way round: MLIR's lexer only reads a float literal when it has a `.` (`1e-05` lexes as
the integer `1` followed by an identifier), and upstream prints doubles with 6 significant
digits, which does not round-trip. `format_float` prints the shortest decimal that re-parses to
the same double and inserts the `.` MLIR needs.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Sequence

from xdsl.dialects.builtin import IntegerType, Signedness
from xdsl.ir import Attribute
from xdsl.parser import AttrParser

from qdialect.float_types import is_float_type, nan_hex, scale_range
from qdialect.storage import MAX_STORAGE_BITS, storage_bounds

NOT_FLOAT = "invalid kind of type specified: expressed type must be floating point"
_MAX_INTEGER_WIDTH = (1 << 24) - 1  # MLIR's IntegerType::kMaxWidth
_STORAGE_SPELLING = re.compile(r"(si|ui|i)(\d+)$")
_CLOSERS = {">": "<", "]": "[", ")": "(", "}": "{"}
# Upstream's TypeParser.cpp reads zero points, storage bounds and block sizes as int64_t and
# quantized dimensions as int32_t (`parser.parseInteger`).
INT64_BITS = 64
INT32_BITS = 32


# --------------------------------------------------------------------------- printing


def format_float(value: float) -> str:
    """Shortest round-tripping decimal spelling of `value` that MLIR lexes as a float.

    NaN and infinity have no decimal literal: like MLIR, they print as a double's hexadecimal
    bits. (A sub-channel NaN scale, held in the expressed type, prints as the double it widens
    to, not as upstream's expressed-type bits such as `0x7FC00000`, which upstream's own parser
    reads as a double and rejects; the double reads back to the same NaN in both.)

    >>> format_float(0.5), format_float(1e-05), format_float(3.0), format_float(2.5e+20)
    ('0.5', '1.0e-05', '3.0', '2.5e+20')
    >>> format_float(float("nan"))
    '0x7FF8000000000000'
    """
    if not math.isfinite(value):
        return nan_hex(value)
    text = repr(float(value))
    mantissa, sep, exponent = text.partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    return mantissa + sep + exponent


def format_scale_zero(scale: float, zero_point: int) -> str:
    """`scale:zp`, or just `scale` when the zero point is 0."""
    text = format_float(scale)
    return f"{text}:{zero_point}" if zero_point else text


def format_e(value: float) -> str:
    """A double as MLIR's diagnostics print it (`%e`; `INF`, `-INF`, `nan`)."""
    if math.isinf(value):
        return "-INF" if value < 0 else "INF"
    if math.isnan(value):
        return "nan"
    return f"{value:e}"


def nest_braces(items: Sequence[str], shape: Sequence[int]) -> str:
    """Row-major `items` as nested braces of `shape`, upstream's sub-channel layout."""
    if len(shape) <= 1:
        return "{" + ", ".join(items) + "}"
    step = len(items) // shape[0]
    return (
        "{"
        + ", ".join(nest_braces(items[i : i + step], shape[1:]) for i in range(0, len(items), step))
        + "}"
    )


# --------------------------------------------------------------------------- storage


def storage_integer_type(width: int, spelling: str) -> IntegerType:
    """The builtin integer type a storage spelling denotes (upstream: `u8` is signless)."""
    signedness = {"si": Signedness.SIGNED, "ui": Signedness.UNSIGNED}.get(
        spelling, Signedness.SIGNLESS
    )
    return IntegerType(width, signedness)


def storage_spec(storage: IntegerType | str) -> tuple[IntegerType, bool]:
    """(builtin integer type, signed) for a spelling like "i8", "u8", "si4" or an IntegerType."""
    if isinstance(storage, IntegerType):
        return storage, storage.signedness.data is not Signedness.UNSIGNED
    match = _STORAGE_SPELLING.match(storage)
    if match is not None:
        prefix, digits = match.groups()
        return storage_integer_type(int(digits), prefix), prefix != "ui"
    if storage.startswith("u") and storage[1:].isdigit():
        return IntegerType(int(storage[1:])), False
    raise ValueError(f"illegal storage type {storage!r}")


def parse_storage(parser: AttrParser) -> tuple[IntegerType, bool, int, int]:
    """storage-spec ::= storage-type (`<` integer `:` integer `>`)?"""
    start = parser.pos
    ident = parser.parse_optional_identifier()
    if ident is None:
        parser.raise_error("illegal storage type prefix", start)
    match = _STORAGE_SPELLING.match(ident)
    if match is not None:
        prefix, digits = match.groups()
        signed = prefix != "ui"
    elif ident.startswith("u"):
        prefix, digits, signed = "u", ident[1:], False
        if not digits.isdigit():
            parser.raise_error("expected storage type width", start)
    else:
        parser.raise_error("illegal storage type prefix", start)
    width = int(digits)
    if width > _MAX_INTEGER_WIDTH:
        parser.raise_error("invalid integer width", start)
    if width == 0 or width > MAX_STORAGE_BITS:
        parser.raise_error(f"illegal storage type size: {width}", start)
    qmin, qmax = _parse_storage_bounds(parser, start, *storage_bounds(width, signed))
    return storage_integer_type(width, prefix), signed, qmin, qmax


def _parse_storage_bounds(parser: AttrParser, start: int, lo: int, hi: int) -> tuple[int, int]:
    """(`<` integer `:` integer `>`)? within the storage type's range [lo, hi]."""
    if parser.parse_optional_punctuation("<") is None:
        return lo, hi
    min_pos = parser.pos
    qmin = expect_integer(parser, INT64_BITS)
    expect_punct(parser, ":")
    max_pos = parser.pos
    qmax = expect_integer(parser, INT64_BITS)
    expect_punct(parser, ">")
    if qmin < lo:
        parser.raise_error(f"illegal storage type minimum: {qmin}", min_pos)
    if qmax > hi:
        parser.raise_error(f"illegal storage type maximum: {qmax}", max_pos)
    if qmax - qmin <= 0:
        parser.raise_error(f"illegal storage min and storage max: ({qmin}:{qmax})", start)
    return qmin, qmax


# ------------------------------------------------------------------- expressed type, numbers


def parse_float_type(parser: AttrParser, message: str = NOT_FLOAT) -> Attribute:
    """A builtin float type; anything else is an error with `message`."""
    pos = parser.pos
    parsed = parser.parse_optional_type()
    if parsed is None:
        parser.raise_error("expected non-function type", pos)
    if not is_float_type(parsed):
        parser.raise_error(message, pos)
    return parsed


def parse_float_literal(parser: AttrParser) -> float:
    """A float literal the way MLIR's `parseFloat` reads one.

    Hexadecimal integers are the bit pattern of a double; decimal integers are refused.
    """
    pos = parser.pos
    negative = parser.parse_optional_punctuation("-") is not None
    value = parser.parse_optional_float(allow_negative=False)
    if value is None:
        int_pos = parser.pos
        text = parser.lexer.input.content[int_pos : int_pos + 2]
        integer = parser.parse_optional_integer(allow_boolean=False, allow_negative=False)
        if integer is None:
            parser.raise_error("expected floating point literal", pos)
        if text.lower() != "0x":
            parser.raise_error(
                "unexpected decimal integer literal for a floating point value "
                "(add a trailing dot to make the literal a float)",
                int_pos,
            )
        if negative:
            parser.raise_error("hexadecimal float literal should not have a leading minus", int_pos)
        if integer >= 1 << 64:
            parser.raise_error("hexadecimal float constant out of range for type", int_pos)
        value = struct.unpack("<d", struct.pack("<Q", integer))[0]
    return -value if negative else value


def _check_scale(parser: AttrParser, expressed: Attribute, scale: float) -> None:
    lo, hi = scale_range(expressed)
    if scale < lo or scale > hi:  # upstream's test: a NaN scale passes
        parser.raise_error(
            f"scale {format_e(scale)} out of expressed type range [{lo:e}, {hi:e}]", parser.pos
        )


def parse_scale_zero(parser: AttrParser, expressed: Attribute) -> tuple[float, int]:
    """scale-zero ::= float-literal (`:` integer-literal)?"""
    scale = parse_float_literal(parser)
    _check_scale(parser, expressed, scale)
    zero_point = 0
    if parser.parse_optional_punctuation(":") is not None:
        zero_point = expect_integer(parser, INT64_BITS)
    return scale, zero_point


def parse_param_tensor(
    parser: AttrParser, expressed: Attribute, scales: list[float], zeros: list[int]
) -> list[int]:
    """Nested `{...}` list after its opening brace; returns its shape (upstream's dims)."""
    size = 0
    inner: list[int] | None = None
    while True:
        if parser.parse_optional_punctuation("{") is not None:
            dims = parse_param_tensor(parser, expressed, scales, zeros)
        else:
            scale, zero = parse_scale_zero(parser, expressed)
            scales.append(scale)
            zeros.append(zero)
            dims = []
        size += 1
        if inner is None:
            inner = dims
        elif inner != dims:
            parser.raise_error(
                "tensor literal is invalid; ranks are not consistent between elements"
            )
        if parser.parse_optional_punctuation(",") is None:
            break
    expect_punct(parser, "}")
    return [size, *inner]


# --------------------------------------------------------------------------- quantized dimensions


def parse_quantized_dimension(parser: AttrParser) -> int:
    """A non-negative axis number (an int32 upstream)."""
    pos = parser.pos
    dim = expect_integer(parser, INT32_BITS)
    if dim < 0:
        parser.raise_error(f"illegal quantized dimension: {dim}", pos)
    return dim


def parse_block_sizes(parser: AttrParser) -> tuple[list[int], list[int]]:
    """`axis:block (, axis:block)* }` after the opening brace; returns (axes, block sizes)."""
    dims: list[int] = []
    blocks: list[int] = []
    if parser.parse_optional_punctuation("}") is not None:
        return dims, blocks
    while True:
        dims.append(parse_quantized_dimension(parser))
        expect_punct(parser, ":")
        block_pos = parser.pos
        blocks.append(expect_integer(parser, INT64_BITS))
        if blocks[-1] <= 0:
            parser.raise_error(f"illegal block size: {blocks[-1]}", block_pos)
        if parser.parse_optional_punctuation(",") is None:
            break
    expect_punct(parser, "}")
    return dims, blocks


# --------------------------------------------------------------------------- tokens


def check_balanced(parser: AttrParser) -> None:
    """MLIR's lexer-level check of a dialect type body: brackets must nest and close.

    Upstream reports this before parsing the body, at the body's start, so a missing brace
    is diagnosed as such rather than as whatever token comes next.
    """
    text = parser.lexer.input.content
    start = parser.pos
    stack: list[str] = []
    index = start
    while index < len(text):
        char = text[index]
        index += 1
        if char in "<[({":
            stack.append(char)
        elif char == "-" and text.startswith(">", index):
            index += 1
        elif char in _CLOSERS:
            if not stack or stack[-1] != _CLOSERS[char]:
                opener = stack[-1] if stack else char
                parser.raise_error(f"unbalanced '{opener}' character in pretty dialect name", start)
            stack.pop()
        elif char == '"':
            end = text.find('"', index)
            index = len(text) if end < 0 else end + 1
        if not stack:
            return
    if stack:
        parser.raise_error(f"unbalanced '{stack[-1]}' character in pretty dialect name", start)


def expect_punct(parser: AttrParser, punctuation: str) -> None:
    """Like `parse_punctuation`, with MLIR's wording ("expected ':'")."""
    if parser.parse_optional_punctuation(punctuation) is None:  # type: ignore[arg-type]
        parser.raise_error(f"expected '{punctuation}'")


def expect_integer(parser: AttrParser, bits: int) -> int:
    """An integer literal that fits a signed `bits`-bit integer (MLIR's `parseInteger<intN_t>`:
    "integer value too large" at the literal, its `-` included)."""
    pos = parser.pos
    value = parser.expect(
        lambda: parser.parse_optional_integer(allow_boolean=False), "expected integer value"
    )
    if not -(1 << (bits - 1)) <= value < 1 << (bits - 1):
        parser.raise_error("integer value too large", pos)
    return value
