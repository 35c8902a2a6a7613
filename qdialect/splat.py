"""Splat constants stay one value, as MLIR keeps them: `dense<-3> : tensor<10000000xi8>`.

MLIR stores a splat `DenseElementsAttr` as its one element (and a splat flag). xDSL 0.74's
`DenseIntOrFPElementsAttr` holds its elements as packed bytes, and its parser repeats a splat's
value once per element: a list of ten million Python ints for the constant above (23 s and
338 MB to parse; 2^32 elements end in a MemoryError). Its printer and verifier need no such
thing: the printer prints an attribute whose stored values are all equal as a splat (`dense<-3>`,
mlir-opt's spelling), and the verifier accepts one stored element under any shape. So we keep a
splat in MLIR's form, in xDSL's own class: its data holds the one value (`len(attr) == 1`) and
its type the shape. Such an attribute prints, compares and hashes cheaply whatever its shape.

`install()` (called by `qdialect/__init__.py`, next to the lexer fixes, so every parser of the
process, `qopt`'s and `xdsl-opt`'s alike, has it) wraps xDSL's dense-literal parser: a splat
literal, one element or a hex string of one element's bytes (`dense<"0xFD">`) under a type of
more than one element, becomes `splat_attr(type, value)`. Every other literal (element lists,
longer hex strings, empty, complex, and any literal that is not valid) goes to xDSL's parser
unchanged, which also keeps all its error messages.

Readers must not assume `len(attr)` is the element count: `qdialect.constants.dense_array`
reads values for every user (a splat as a broadcast view), and `dense_attr` builds constants,
a splat as `splat_attr` does. xDSL's `from_list(type, [v])` still expands; do not build
splats with it. Equality is by representation: a splat and the same values spelled out
element by element (`dense<[1, 1]>`, which xDSL's parser keeps expanded) print alike but are
different attributes.
"""

from __future__ import annotations

import math
import operator

from xdsl.dialects.builtin import (
    AnyFloat,
    BytesAttr,
    DenseIntOrFPElementsAttr,
    IndexType,
    IntegerType,
)
from xdsl.parser import AttrParser
from xdsl.utils.exceptions import ParseError
from xdsl.utils.mlir_lexer import MLIRTokenKind

_xdsl_parse_dense = AttrParser.parse_dense_int_or_fp_elements_attr


def element_count(attr: DenseIntOrFPElementsAttr) -> int:
    """Elements of the attribute's type (`len(attr)` is what it stores: 1 for a splat)."""
    return math.prod(attr.get_shape())


def is_splat(attr: DenseIntOrFPElementsAttr) -> bool:
    """Whether the attribute stores one value for a shape of another element count, the
    form `splat_attr` builds. O(1), unlike xDSL's `is_splat`, which compares every value."""
    return len(attr) == 1 and element_count(attr) != 1


def splat_attr(type, value: int | float) -> DenseIntOrFPElementsAttr:
    """`dense<value> : type` holding the one value (an int is wrapped to the element type's
    width, as xDSL's `from_list` does), whatever the element count of `type`."""
    element = type.get_element_type()
    if isinstance(element, IntegerType):
        value = element.get_normalized_value(operator.index(value))
    elif isinstance(element, IndexType):
        value = operator.index(value)
    elif isinstance(element, AnyFloat):
        value = float(value)
    else:
        raise TypeError(f"no splat of element type {element}")
    return DenseIntOrFPElementsAttr(type, BytesAttr(element.pack((value,))))


def _parse_splat(parser: AttrParser, type) -> DenseIntOrFPElementsAttr | None:
    """The rest of `dense<` when it is a splat (the value, `>` and, unless given, the type);
    None when it is not one. A ParseError means: let xDSL's parser read it."""
    token = parser._current_token
    if token.kind in (MLIRTokenKind.L_SQUARE, MLIRTokenKind.GREATER, MLIRTokenKind.L_PAREN):
        return None  # an element list, empty, a complex value: xDSL's
    hex_bytes = None
    if token.kind is MLIRTokenKind.STRING_LIT:
        text = parser.parse_str_literal()
        try:
            hex_bytes = bytes.fromhex(text[2:]) if text.startswith("0x") else None
        except ValueError:
            return None
        if hex_bytes is None:
            return None
    else:
        element = parser._parse_tensor_literal_element()
    parser.parse_punctuation(">", " in dense attribute")
    if type is None:
        parser.parse_punctuation(":", " in dense attribute")
        type = parser._parse_dense_literal_type()
    elem = type.get_element_type()
    if math.prod(type.get_shape()) in (0, 1) or not isinstance(
        elem, IntegerType | IndexType | AnyFloat
    ):
        return None
    if hex_bytes is not None:
        if len(hex_bytes) != elem.compile_time_size:
            return None
        return DenseIntOrFPElementsAttr(type, BytesAttr(hex_bytes))
    return splat_attr(type, element.to_type(parser, elem))


def _parse_dense(self: AttrParser, type=None) -> DenseIntOrFPElementsAttr:
    start = self._current_token.span.start
    self.parse_punctuation("<", " in dense attribute")
    try:
        splat = _parse_splat(self, type)
    except ParseError:
        splat = None
    if splat is not None:
        return splat
    self._resume_from(start)  # not a splat (or not valid): xDSL reads it and says what is wrong
    return _xdsl_parse_dense(self, type)


def install() -> None:
    """Install the splat-keeping dense parser on xDSL's `AttrParser` (idempotent)."""
    AttrParser.parse_dense_int_or_fp_elements_attr = _parse_dense
