"""The `quant` dialect's types, spelled exactly as upstream MLIR 22.

Grammar and rules follow llvm-project's `mlir/lib/Dialect/Quant/IR/TypeParser.cpp` and
`QuantTypes.cpp`; diagnostics reuse upstream's wording so MLIR-style `expected-error` tests
carry over. The one deliberate difference: scales print as the shortest decimal that re-parses
to the same double (upstream prints 6 significant digits where they round-trip), and a NaN
sub-channel scale as the double it widens to (upstream prints the expressed type's bits, which
its own parser then rejects). Like upstream, other NaN scales print as a double's hexadecimal
bits, and sub-channel zero points as the storage bits read signed (u8 255 prints as -1).

Import every type from here. `!quant.uniform` lives in `qdialect.uniform_type`, the grammar
pieces the types share in `qdialect.type_syntax`.

    !quant.uniform<i8:f32, 0.5:-3>                  per tensor
    !quant.uniform<i8<-127:127>:f32:0, {0.1,0.2:3}> per axis (axis 0)
    !quant.uniform<u8:f32:{0:1, 1:2}, {{2.0:120, 3.0}}>  sub-channel (axis:block size)
    !quant.any<i8<-8:7>:f32>
    !quant.calibrated<f32<-1.0:1.0>>
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import (
    FloatData,
    IntAttr,
    IntegerType,
    NoneAttr,
)
from xdsl.ir import Attribute, ParametrizedAttribute, TypeAttribute
from xdsl.irdl import irdl_attr_definition, param_def
from xdsl.parser import AttrParser
from xdsl.printer import Printer
from xdsl.utils.exceptions import ParseError, VerifyException

from qdialect.float_types import is_float_type
from qdialect.storage import storage_bounds
from qdialect.type_syntax import (
    check_balanced,
    expect_punct,
    format_e,
    format_float,
    parse_float_literal,
    parse_float_type,
    parse_storage,
    storage_spec,
)
from qdialect.uniform_type import Granularity, QuantizedType, UniformQuantizedType


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
        check_balanced(parser)
        expect_punct(parser, "<")
        storage, signed, qmin, qmax = parse_storage(parser)
        expressed: Attribute = NoneAttr()
        if parser.parse_optional_punctuation(":") is not None:
            expressed = parse_float_type(parser)
        expect_punct(parser, ">")
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
        if self.max <= self.min:  # as upstream: NaN bounds pass
            raise VerifyException(
                f"illegal min and max: ({format_e(self.min)}:{format_e(self.max)})"
            )

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        check_balanced(parser)
        expect_punct(parser, "<")
        type_pos = parser.pos
        expressed = parse_float_type(
            parser, "expecting float expressed type (invalid kind of type specified)"
        )
        try:
            expect_punct(parser, "<")
            lo = parse_float_literal(parser)
            expect_punct(parser, ":")
            hi = parse_float_literal(parser)
            expect_punct(parser, ">")
        except ParseError as err:  # re-located like upstream's diagnostic
            parser.raise_error(f"calibrated values must be present ({err.msg})", type_pos)
        expect_punct(parser, ">")
        if hi <= lo:  # as upstream: NaN bounds pass
            parser.raise_error(f"illegal min and max: ({format_e(lo)}:{format_e(hi)})", type_pos)
        return (expressed, FloatData(lo), FloatData(hi))

    def print_parameters(self, printer: Printer) -> None:
        printer.print_string("<")
        printer.print_attribute(self.expressed_type)
        printer.print_string(f"<{format_float(self.min)}:{format_float(self.max)}>>")


__all__ = [
    "AnyQuantizedType",
    "CalibratedQuantizedType",
    "Granularity",
    "QuantizedType",
    "UniformQuantizedType",
    "storage_spec",
]
