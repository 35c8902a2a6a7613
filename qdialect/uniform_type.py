"""`!quant.uniform`: the affine map from storage integers to reals, in its three granularities.

Per tensor, per axis and sub-channel share upstream's mnemonic `uniform`, so one class covers
upstream's UniformQuantizedType, UniformQuantizedPerAxisType and UniformQuantizedSubChannelType.
`QuantizedType` is the storage part it shares with `!quant.any` (`qdialect.types`). The grammar
pieces come from `qdialect.type_syntax`; import the types from `qdialect.types`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import Enum

from xdsl.dialects.builtin import (
    ArrayAttr,
    FloatData,
    IntAttr,
    IntegerType,
    NoneAttr,
    StringAttr,
)
from xdsl.ir import Attribute, ParametrizedAttribute, TypeAttribute
from xdsl.irdl import irdl_attr_definition, param_def
from xdsl.parser import AttrParser
from xdsl.printer import Printer
from xdsl.utils.exceptions import VerifyException

from qdialect.float_types import is_float_type, round_all, round_to, scale_range
from qdialect.storage import MAX_STORAGE_BITS, storage_bounds, wrap_to_storage
from qdialect.type_syntax import (
    check_balanced,
    expect_punct,
    format_scale_zero,
    nest_braces,
    parse_block_sizes,
    parse_float_type,
    parse_param_tensor,
    parse_quantized_dimension,
    parse_scale_zero,
    parse_storage,
    storage_spec,
)


class Granularity(Enum):
    """How many (scale, zero point) pairs a uniform type carries."""

    PER_TENSOR = "per_tensor"
    PER_AXIS = "per_axis"
    SUB_CHANNEL = "sub_channel"


def _int_array(values: Sequence[int]) -> ArrayAttr[IntAttr]:
    return ArrayAttr(IntAttr(v) for v in values)


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
        width = itype.width.data
        lo, hi = storage_bounds(width, signed)
        if any(z < lo or z > hi for z in zps):
            zps = [wrap_to_storage(z, width, signed) for z in zps]
        return UniformQuantizedType._make(
            itype,
            signed,
            expressed,
            Granularity.SUB_CHANNEL,
            round_all(expressed, scales),
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
            if scale < lo or scale > hi:  # as upstream: a NaN scale passes
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
        check_balanced(parser)
        expect_punct(parser, "<")
        storage, signed, qmin, qmax = parse_storage(parser)
        expect_punct(parser, ":")
        expressed = parse_float_type(parser)
        granularity, dims, blocks = _parse_quantized_dimensions(parser)
        expect_punct(parser, ",")
        scales, zeros, shape = _parse_parameters(parser, granularity, expressed, storage, signed)
        expect_punct(parser, ">")
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
        pairs = zip(self.scales, self.zero_points, strict=True)
        if granularity is Granularity.PER_TENSOR:
            printer.print_string(format_scale_zero(*next(pairs)))
        elif granularity is Granularity.PER_AXIS:
            printer.print_string("{" + ",".join(format_scale_zero(s, z) for s, z in pairs) + "}")
        else:
            # Upstream holds the zero points as a dense tensor of the signless storage integer
            # and prints them as those bits read signed (u8 255 prints -1, -1 reads back as 255).
            width = self.storage_width
            params = [format_scale_zero(s, wrap_to_storage(z, width, True)) for s, z in pairs]
            printer.print_string(nest_braces(params, self.shape_of_params))
        printer.print_string(">")


def _parse_quantized_dimensions(parser: AttrParser) -> tuple[Granularity, list[int], list[int]]:
    """(`:` axis | `:` `{` axis `:` block (`,` axis `:` block)* `}`)? after the expressed type;
    returns the granularity, the quantized dimensions and the block sizes."""
    if parser.parse_optional_punctuation(":") is None:
        return Granularity.PER_TENSOR, [], []
    if parser.parse_optional_punctuation("{") is not None:
        dims, blocks = parse_block_sizes(parser)
        return Granularity.SUB_CHANNEL, dims, blocks
    return Granularity.PER_AXIS, [parse_quantized_dimension(parser)], []


def _parse_parameters(
    parser: AttrParser,
    granularity: Granularity,
    expressed: Attribute,
    storage: IntegerType,
    signed: bool,
) -> tuple[list[float], list[int], list[int]]:
    """`scale:zp` or a `{...}` tensor of them; returns (scales, zero points, params shape)."""
    if granularity is Granularity.PER_TENSOR:
        scale, zero = parse_scale_zero(parser, expressed)
        return [scale], [zero], []
    scales: list[float] = []
    zeros: list[int] = []
    expect_punct(parser, "{")
    shape = parse_param_tensor(parser, expressed, scales, zeros)
    if granularity is Granularity.SUB_CHANNEL:
        # Upstream stores these as dense tensors of the expressed and storage types.
        scales = [round_to(expressed, s) for s in scales]
        zeros = [wrap_to_storage(z, storage.width.data, signed) for z in zeros]
    return scales, zeros, shape
