"""The `quant` dialect's types, spelled exactly as upstream MLIR 22.

Grammar and rules follow llvm-project's `mlir/lib/Dialect/Quant/IR/TypeParser.cpp` and
`QuantTypes.cpp`; diagnostics reuse upstream's wording so MLIR-style `expected-error` tests
carry over. The one deliberate difference: scales print as the shortest decimal that re-parses
to the same double (upstream prints 6 significant digits where they round-trip).

    !quant.uniform<i8:f32, 0.5:-3>                  per tensor
    !quant.uniform<i8<-127:127>:f32:0, {0.1,0.2:3}> per axis (axis 0)
    !quant.uniform<u8:f32:{0:1, 1:2}, {{2.0:120, 3.0}}>  sub-channel (axis:block size)
    !quant.any<i8<-8:7>:f32>
    !quant.calibrated<f32<-1.0:1.0>>
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Sequence
from enum import Enum

from xdsl.dialects.builtin import (
    ArrayAttr,
    FloatData,
    IntAttr,
    IntegerType,
    NoneAttr,
    Signedness,
    StringAttr,
)
from xdsl.ir import Attribute, ParametrizedAttribute, TypeAttribute
from xdsl.irdl import irdl_attr_definition, param_def
from xdsl.parser import AttrParser
from xdsl.printer import Printer
from xdsl.utils.exceptions import ParseError, VerifyException

from qdialect.floats import is_float_type, round_to, scale_range
from qdialect.numbers import format_float, storage_bounds

MAX_STORAGE_BITS = 32
_NOT_FLOAT = "invalid kind of type specified: expressed type must be floating point"
_MAX_INTEGER_WIDTH = (1 << 24) - 1  # MLIR's IntegerType::kMaxWidth
_STORAGE_SPELLING = re.compile(r"(si|ui|i)(\d+)$")


class Granularity(Enum):
    """How many (scale, zero point) pairs a uniform type carries."""

    PER_TENSOR = "per_tensor"
    PER_AXIS = "per_axis"
    SUB_CHANNEL = "sub_channel"


def _int_array(values: Sequence[int]) -> ArrayAttr[IntAttr]:
    return ArrayAttr(IntAttr(v) for v in values)


def _storage_integer_type(width: int, spelling: str) -> IntegerType:
    """The builtin integer type a storage spelling denotes (upstream: `u8` is signless)."""
    signedness = {"si": Signedness.SIGNED, "ui": Signedness.UNSIGNED}.get(
        spelling, Signedness.SIGNLESS
    )
    return IntegerType(width, signedness)


class QuantizedType(TypeAttribute):
    """Storage part shared by `!quant.uniform` and `!quant.any`.

    Subclasses declare the parameters `storage_type`, `is_signed`, `storage_min`,
    `storage_max`, `expressed_type`.
    """

    storage_type: IntegerType
    is_signed: IntAttr
    storage_min: IntAttr
    storage_max: IntAttr
    expressed_type: Attribute

    @property
    def storage_width(self) -> int:
        return self.storage_type.width.data

    @property
    def signed(self) -> bool:
        return bool(self.is_signed.data)

    @property
    def qmin(self) -> int:
        return self.storage_min.data

    @property
    def qmax(self) -> int:
        return self.storage_max.data

    @property
    def storage_spelling(self) -> str:
        """`i8`, `u8`, ...: how the storage prints (and a valid constructor argument)."""
        return ("i" if self.signed else "u") + str(self.storage_width)

    @property
    def has_storage_bounds(self) -> bool:
        """True when the bounds differ from the storage type's full range."""
        return (self.qmin, self.qmax) != storage_bounds(self.storage_width, self.signed)

    @property
    def expressed(self) -> Attribute | None:
        return None if isinstance(self.expressed_type, NoneAttr) else self.expressed_type

    def _verify_storage(self) -> None:
        width = self.storage_width
        if width == 0 or width > MAX_STORAGE_BITS:
            raise VerifyException(f"illegal storage type size: {width}")
        lo, hi = storage_bounds(width, self.signed)
        if self.qmax - self.qmin <= 0 or self.qmin < lo or self.qmax > hi:
            raise VerifyException(f"illegal storage min and storage max: ({self.qmin}:{self.qmax})")

    def _verify_expressed_float(self) -> None:
        if self.expressed is None:
            raise VerifyException("uniform quantization requires expressed type")
        if not is_float_type(self.expressed):
            raise VerifyException("expressed type must be floating point")

    def _print_storage(self, printer: Printer) -> None:
        printer.print_string(self.storage_spelling)
        if self.has_storage_bounds:
            printer.print_string(f"<{self.qmin}:{self.qmax}>")


# --------------------------------------------------------------------------- parsing helpers


def _parse_storage(parser: AttrParser) -> tuple[IntegerType, bool, int, int]:
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
    lo, hi = storage_bounds(width, signed)
    qmin, qmax = lo, hi
    if parser.parse_optional_punctuation("<") is not None:
        min_pos = parser.pos
        qmin = parser.parse_integer(allow_boolean=False)
        _expect_punct(parser, ":")
        max_pos = parser.pos
        qmax = parser.parse_integer(allow_boolean=False)
        _expect_punct(parser, ">")
        if qmin < lo:
            parser.raise_error(f"illegal storage type minimum: {qmin}", min_pos)
        if qmax > hi:
            parser.raise_error(f"illegal storage type maximum: {qmax}", max_pos)
        if qmax - qmin <= 0:
            parser.raise_error(f"illegal storage min and storage max: ({qmin}:{qmax})", start)
    return _storage_integer_type(width, prefix), signed, qmin, qmax


def _parse_float_type(parser: AttrParser, message: str) -> Attribute:
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
        if integer >= 1 << 64:
            parser.raise_error("hexadecimal float constant out of range for type", int_pos)
        value = struct.unpack("<d", struct.pack("<Q", integer))[0]
    return -value if negative else value


def _check_scale(parser: AttrParser, expressed: Attribute, scale: float) -> None:
    lo, hi = scale_range(expressed)
    if not (lo <= scale <= hi):  # NaN fails both comparisons
        parser.raise_error(
            f"scale {scale:e} out of expressed type range [{lo:e}, {hi:e}]", parser.pos
        )


def _parse_scale_zero(parser: AttrParser, expressed: Attribute) -> tuple[float, int]:
    """scale-zero ::= float-literal (`:` integer-literal)?"""
    scale = parse_float_literal(parser)
    _check_scale(parser, expressed, scale)
    zero_point = 0
    if parser.parse_optional_punctuation(":") is not None:
        zero_point = parser.expect(
            lambda: parser.parse_optional_integer(allow_boolean=False), "expected integer value"
        )
    return scale, zero_point


def _parse_param_tensor(
    parser: AttrParser, expressed: Attribute, scales: list[float], zeros: list[int]
) -> list[int]:
    """Nested `{...}` list after its opening brace; returns its shape (upstream's dims)."""
    size = 0
    inner: list[int] | None = None
    while True:
        if parser.parse_optional_punctuation("{") is not None:
            dims = _parse_param_tensor(parser, expressed, scales, zeros)
        else:
            scale, zero = _parse_scale_zero(parser, expressed)
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
    _expect_punct(parser, "}")
    return [size, *inner]


_CLOSERS = {">": "<", "]": "[", ")": "(", "}": "{"}


def _check_balanced(parser: AttrParser) -> None:
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


def _expect_punct(parser: AttrParser, punctuation: str) -> None:
    """Like `parse_punctuation`, with MLIR's wording ("expected ':'")."""
    if parser.parse_optional_punctuation(punctuation) is None:  # type: ignore[arg-type]
        parser.raise_error(f"expected '{punctuation}'")


def _expect_integer(parser: AttrParser) -> int:
    return parser.expect(
        lambda: parser.parse_optional_integer(allow_boolean=False), "expected integer value"
    )


# --------------------------------------------------------------------------- types


@irdl_attr_definition
class UniformQuantizedType(ParametrizedAttribute, QuantizedType):
    """An affine map from storage integers to reals: `real = scale * (q - zero_point)`.

    One class covers upstream's UniformQuantizedType, UniformQuantizedPerAxisType and
    UniformQuantizedSubChannelType (they share the mnemonic `uniform`); `granularity` says which.
    Per axis, `scales[i]` applies to index `i` of dimension `axis`. Sub-channel, the parameters
    form a tensor of shape `params_shape`; element `(i, j, ...)` of the data uses parameter
    `(i // block[0], j // block[1], ...)`.
    """

    name = "quant.uniform"

    storage_type: IntegerType = param_def()
    is_signed: IntAttr = param_def()
    storage_min: IntAttr = param_def()
    storage_max: IntAttr = param_def()
    expressed_type: Attribute = param_def()
    granularity_attr: StringAttr = param_def()
    quantized_dimensions: ArrayAttr[IntAttr] = param_def()
    block_sizes: ArrayAttr[IntAttr] = param_def()
    params_shape: ArrayAttr[IntAttr] = param_def()
    scales_attr: ArrayAttr[FloatData] = param_def()
    zero_points_attr: ArrayAttr[IntAttr] = param_def()

    # ---- construction
    @staticmethod
    def _make(
        storage: IntegerType,
        signed: bool,
        expressed: Attribute,
        granularity: Granularity,
        scales: Sequence[float],
        zero_points: Sequence[int],
        *,
        qmin: int | None,
        qmax: int | None,
        dims: Sequence[int] = (),
        blocks: Sequence[int] = (),
        shape: Sequence[int] = (),
    ) -> UniformQuantizedType:
        lo, hi = storage_bounds(storage.width.data, signed)
        return UniformQuantizedType(
            storage,
            IntAttr(int(signed)),
            IntAttr(lo if qmin is None else qmin),
            IntAttr(hi if qmax is None else qmax),
            expressed,
            StringAttr(granularity.value),
            _int_array(dims),
            _int_array(blocks),
            _int_array(shape),
            ArrayAttr(FloatData(float(s)) for s in scales),
            _int_array(zero_points),
        )

    @staticmethod
    def per_tensor(
        storage: IntegerType | str,
        expressed: Attribute,
        scale: float,
        zero_point: int = 0,
        *,
        qmin: int | None = None,
        qmax: int | None = None,
    ) -> UniformQuantizedType:
        """`UniformQuantizedType.per_tensor("i8", f32, 0.5, -3)` is `<i8:f32, 0.5:-3>`."""
        itype, signed = storage_spec(storage)
        return UniformQuantizedType._make(
            itype,
            signed,
            expressed,
            Granularity.PER_TENSOR,
            [scale],
            [zero_point],
            qmin=qmin,
            qmax=qmax,
        )

    @staticmethod
    def per_axis(
        storage: IntegerType | str,
        expressed: Attribute,
        axis: int,
        scales: Sequence[float],
        zero_points: Sequence[int] | None = None,
        *,
        qmin: int | None = None,
        qmax: int | None = None,
    ) -> UniformQuantizedType:
        """`per_axis("i8", f32, 0, [0.1, 0.2], [0, 3])` is `<i8:f32:0, {0.1,0.2:3}>`."""
        itype, signed = storage_spec(storage)
        zps = [0] * len(scales) if zero_points is None else list(zero_points)
        return UniformQuantizedType._make(
            itype,
            signed,
            expressed,
            Granularity.PER_AXIS,
            scales,
            zps,
            qmin=qmin,
            qmax=qmax,
            dims=[axis],
            shape=[len(scales)],
        )

    @staticmethod
    def sub_channel(
        storage: IntegerType | str,
        expressed: Attribute,
        block_sizes: Sequence[tuple[int, int]],
        shape: Sequence[int],
        scales: Sequence[float],
        zero_points: Sequence[int] | None = None,
        *,
        qmin: int | None = None,
        qmax: int | None = None,
    ) -> UniformQuantizedType:
        """Sub-channel type; `block_sizes` are (axis, size) pairs, parameters row-major."""
        itype, signed = storage_spec(storage)
        zps = [0] * len(scales) if zero_points is None else list(zero_points)
        zps = [wrap_to_storage(z, itype.width.data, signed) for z in zps]
        return UniformQuantizedType._make(
            itype,
            signed,
            expressed,
            Granularity.SUB_CHANNEL,
            [round_to(expressed, s) for s in scales],
            zps,
            qmin=qmin,
            qmax=qmax,
            dims=[a for a, _ in block_sizes],
            blocks=[b for _, b in block_sizes],
            shape=shape,
        )

    # ---- accessors
    @property
    def granularity(self) -> Granularity:
        return Granularity(self.granularity_attr.data)

    @property
    def scales(self) -> tuple[float, ...]:
        return tuple(s.data for s in self.scales_attr.data)

    @property
    def zero_points(self) -> tuple[int, ...]:
        return tuple(z.data for z in self.zero_points_attr.data)

    @property
    def scale(self) -> float:
        """The scale of a per-tensor type."""
        assert self.granularity is Granularity.PER_TENSOR, "per-axis type has no single scale"
        return self.scales[0]

    @property
    def zero_point(self) -> int:
        assert self.granularity is Granularity.PER_TENSOR, "per-axis type has no single zp"
        return self.zero_points[0]

    @property
    def axis(self) -> int:
        """The quantized dimension of a per-axis type."""
        assert self.granularity is Granularity.PER_AXIS
        return self.quantized_dimensions.data[0].data

    @property
    def block_size_info(self) -> tuple[tuple[int, int], ...]:
        return tuple(
            (d.data, b.data)
            for d, b in zip(self.quantized_dimensions.data, self.block_sizes.data, strict=True)
        )

    @property
    def shape_of_params(self) -> tuple[int, ...]:
        return tuple(d.data for d in self.params_shape.data)

    def with_storage(
        self, storage: IntegerType | str, zero_points: Sequence[int], qmin: int, qmax: int
    ) -> UniformQuantizedType:
        """This type with other storage, zero points and bounds (used by u8→i8)."""
        itype, signed = storage_spec(storage)
        lo, hi = storage_bounds(itype.width.data, signed)
        return UniformQuantizedType._make(
            itype,
            signed,
            self.expressed_type,
            self.granularity,
            self.scales,
            zero_points,
            qmin=qmin,
            qmax=qmax,
            dims=[d.data for d in self.quantized_dimensions.data],
            blocks=[b.data for b in self.block_sizes.data],
            shape=self.shape_of_params,
        )

    # ---- invariants
    def verify(self) -> None:
        self._verify_storage()
        self._verify_expressed_float()
        scales, zeros = self.scales, self.zero_points
        if len(scales) != len(zeros):
            raise VerifyException(
                f"illegal number of scales and zeroPoints: {len(scales)}, {len(zeros)}"
            )
        if math.prod(self.shape_of_params) != len(scales):
            raise VerifyException(
                f"{len(scales)} scales do not fill a parameter tensor of shape "
                f"{list(self.shape_of_params)}"
            )
        lo, hi = scale_range(self.expressed_type)
        for scale in scales:
            if not (lo <= scale <= hi):
                raise VerifyException(f"scale out of expressed type range [{lo:e}, {hi:e}]")
        granularity = self.granularity
        dims = [d.data for d in self.quantized_dimensions.data]
        if granularity is Granularity.PER_TENSOR and (dims or len(scales) != 1):
            raise VerifyException("a per-tensor type has exactly one scale and no axis")
        if granularity is Granularity.PER_AXIS and len(dims) != 1:
            raise VerifyException("a per-axis type has exactly one quantized dimension")
        if granularity is not Granularity.SUB_CHANNEL and self.block_sizes.data:
            raise VerifyException("only sub-channel types have block sizes")
        if len(dims) != len(self.block_sizes.data) and granularity is Granularity.SUB_CHANNEL:
            raise VerifyException("number of quantized dimensions and block sizes does not match")
        for dim in dims:
            if dim < 0:
                raise VerifyException(f"illegal quantized dimension: {dim}")
        for block in self.block_sizes.data:
            if block.data <= 0:
                raise VerifyException(f"illegal block size: {block.data}")

    # ---- text
    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        _check_balanced(parser)
        _expect_punct(parser, "<")
        storage, signed, qmin, qmax = _parse_storage(parser)
        _expect_punct(parser, ":")
        expressed = _parse_float_type(parser, _NOT_FLOAT)
        granularity = Granularity.PER_TENSOR
        dims: list[int] = []
        blocks: list[int] = []
        if parser.parse_optional_punctuation(":") is not None:
            if parser.parse_optional_punctuation("{") is not None:
                granularity = Granularity.SUB_CHANNEL
                if parser.parse_optional_punctuation("}") is None:
                    while True:
                        dim_pos = parser.pos
                        dims.append(_expect_integer(parser))
                        if dims[-1] < 0:
                            parser.raise_error(f"illegal quantized dimension: {dims[-1]}", dim_pos)
                        _expect_punct(parser, ":")
                        block_pos = parser.pos
                        blocks.append(_expect_integer(parser))
                        if blocks[-1] <= 0:
                            parser.raise_error(f"illegal block size: {blocks[-1]}", block_pos)
                        if parser.parse_optional_punctuation(",") is None:
                            break
                    _expect_punct(parser, "}")
            else:
                granularity = Granularity.PER_AXIS
                dim_pos = parser.pos
                dims.append(_expect_integer(parser))
                if dims[0] < 0:
                    parser.raise_error(f"illegal quantized dimension: {dims[0]}", dim_pos)
        _expect_punct(parser, ",")
        scales: list[float] = []
        zeros: list[int] = []
        if granularity is Granularity.PER_TENSOR:
            scale, zero = _parse_scale_zero(parser, expressed)
            scales, zeros, shape = [scale], [zero], []
        else:
            _expect_punct(parser, "{")
            shape = _parse_param_tensor(parser, expressed, scales, zeros)
            if granularity is Granularity.SUB_CHANNEL:
                # Upstream stores these as dense tensors of the expressed and storage types.
                scales = [round_to(expressed, s) for s in scales]
                zeros = [wrap_to_storage(z, storage.width.data, signed) for z in zeros]
        _expect_punct(parser, ">")
        return (
            storage,
            IntAttr(int(signed)),
            IntAttr(qmin),
            IntAttr(qmax),
            expressed,
            StringAttr(granularity.value),
            _int_array(dims),
            _int_array(blocks),
            _int_array(shape),
            ArrayAttr(FloatData(s) for s in scales),
            _int_array(zeros),
        )

    def print_parameters(self, printer: Printer) -> None:
        printer.print_string("<")
        self._print_storage(printer)
        printer.print_string(":")
        printer.print_attribute(self.expressed_type)
        granularity = self.granularity
        if granularity is Granularity.PER_AXIS:
            printer.print_string(f":{self.axis}")
        elif granularity is Granularity.SUB_CHANNEL:
            pairs = ", ".join(f"{d}:{b}" for d, b in self.block_size_info)
            printer.print_string(f":{{{pairs}}}")
        printer.print_string(", ")
        params = [
            _format_scale_zero(s, z) for s, z in zip(self.scales, self.zero_points, strict=True)
        ]
        if granularity is Granularity.PER_TENSOR:
            printer.print_string(params[0])
        elif granularity is Granularity.PER_AXIS:
            printer.print_string("{" + ",".join(params) + "}")
        else:
            printer.print_string(_nest(params, self.shape_of_params))
        printer.print_string(">")


def wrap_to_storage(value: int, width: int, signed: bool) -> int:
    """`value` as a `width`-bit integer (what upstream's APInt zero points hold)."""
    value &= (1 << width) - 1
    if signed and value >= 1 << (width - 1):
        value -= 1 << width
    return value


def _format_scale_zero(scale: float, zero_point: int) -> str:
    text = format_float(scale)
    return f"{text}:{zero_point}" if zero_point else text


def _nest(items: Sequence[str], shape: Sequence[int]) -> str:
    """Row-major `items` as nested braces of `shape`, upstream's sub-channel layout."""
    if len(shape) <= 1:
        return "{" + ", ".join(items) + "}"
    step = len(items) // shape[0]
    return (
        "{"
        + ", ".join(_nest(items[i : i + step], shape[1:]) for i in range(0, len(items), step))
        + "}"
    )


@irdl_attr_definition
class AnyQuantizedType(ParametrizedAttribute, QuantizedType):
    """A quantized type whose scale and zero point are not chosen yet: `!quant.any<i8:f32>`."""

    name = "quant.any"

    storage_type: IntegerType = param_def()
    is_signed: IntAttr = param_def()
    storage_min: IntAttr = param_def()
    storage_max: IntAttr = param_def()
    expressed_type: Attribute = param_def()

    @staticmethod
    def get(
        storage: IntegerType | str,
        expressed: Attribute | None = None,
        *,
        qmin: int | None = None,
        qmax: int | None = None,
    ) -> AnyQuantizedType:
        itype, signed = storage_spec(storage)
        lo, hi = storage_bounds(itype.width.data, signed)
        return AnyQuantizedType(
            itype,
            IntAttr(int(signed)),
            IntAttr(lo if qmin is None else qmin),
            IntAttr(hi if qmax is None else qmax),
            NoneAttr() if expressed is None else expressed,
        )

    def verify(self) -> None:
        self._verify_storage()
        if self.expressed is not None and not is_float_type(self.expressed):
            raise VerifyException("expressed type must be floating point")

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        _check_balanced(parser)
        _expect_punct(parser, "<")
        storage, signed, qmin, qmax = _parse_storage(parser)
        expressed: Attribute = NoneAttr()
        if parser.parse_optional_punctuation(":") is not None:
            expressed = _parse_float_type(parser, _NOT_FLOAT)
        _expect_punct(parser, ">")
        return (storage, IntAttr(int(signed)), IntAttr(qmin), IntAttr(qmax), expressed)

    def print_parameters(self, printer: Printer) -> None:
        printer.print_string("<")
        self._print_storage(printer)
        if self.expressed is not None:
            printer.print_string(":")
            printer.print_attribute(self.expressed)
        printer.print_string(">")


@irdl_attr_definition
class CalibratedQuantizedType(ParametrizedAttribute, TypeAttribute):
    """A float type annotated with an observed range: `!quant.calibrated<f32<-1.0:1.0>>`."""

    name = "quant.calibrated"

    expressed_type: Attribute = param_def()
    min_attr: FloatData = param_def()
    max_attr: FloatData = param_def()

    @staticmethod
    def get(expressed: Attribute, lo: float, hi: float) -> CalibratedQuantizedType:
        return CalibratedQuantizedType(expressed, FloatData(lo), FloatData(hi))

    @property
    def expressed(self) -> Attribute:
        return self.expressed_type

    @property
    def min(self) -> float:
        return self.min_attr.data

    @property
    def max(self) -> float:
        return self.max_attr.data

    def verify(self) -> None:
        if not is_float_type(self.expressed_type):
            raise VerifyException("expressed type must be floating point")
        if not self.max > self.min:
            raise VerifyException(f"illegal min and max: ({self.min:e}:{self.max:e})")

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        _check_balanced(parser)
        _expect_punct(parser, "<")
        type_pos = parser.pos
        expressed = _parse_float_type(
            parser, "expecting float expressed type (invalid kind of type specified)"
        )
        try:
            _expect_punct(parser, "<")
            lo = parse_float_literal(parser)
            _expect_punct(parser, ":")
            hi = parse_float_literal(parser)
            _expect_punct(parser, ">")
        except ParseError as err:  # re-located like upstream's diagnostic
            parser.raise_error(f"calibrated values must be present ({err.msg})", type_pos)
        _expect_punct(parser, ">")
        if not hi > lo:
            parser.raise_error(f"illegal min and max: ({lo:e}:{hi:e})", type_pos)
        return (expressed, FloatData(lo), FloatData(hi))

    def print_parameters(self, printer: Printer) -> None:
        printer.print_string("<")
        printer.print_attribute(self.expressed_type)
        printer.print_string(f"<{format_float(self.min)}:{format_float(self.max)}>>")


def storage_spec(storage: IntegerType | str) -> tuple[IntegerType, bool]:
    """(builtin integer type, signed) for a spelling like "i8", "u8", "si4" or an IntegerType."""
    if isinstance(storage, IntegerType):
        return storage, storage.signedness.data is not Signedness.UNSIGNED
    match = _STORAGE_SPELLING.match(storage)
    if match is not None:
        prefix, digits = match.groups()
        return _storage_integer_type(int(digits), prefix), prefix != "ui"
    if storage.startswith("u") and storage[1:].isdigit():
        return IntegerType(int(storage[1:])), False
    raise ValueError(f"illegal storage type {storage!r}")


QUANT_TYPES = (UniformQuantizedType, AnyQuantizedType, CalibratedQuantizedType)

__all__ = [
    "AnyQuantizedType",
    "CalibratedQuantizedType",
    "Granularity",
    "QuantizedType",
    "UniformQuantizedType",
    "storage_spec",
]
