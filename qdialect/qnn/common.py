"""Vocabulary and checks shared by the `qnn` op families.

Values are either all-float tensors or quantized ones (`!quant.uniform` elements); a few ops
may also produce raw `i32` accumulators (ONNX ConvInteger / MatMulInteger). These helpers
classify operands and check what every kernel later relies on.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import ClassVar

from xdsl.dialects.builtin import (
    DenseArrayBase,
    FloatAttr,
    IntegerType,
    Signedness,
    StringAttr,
    TensorType,
    i64,
)
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    ParsePropInAttrDict,
    operand_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from qdialect.float_types import is_float_type
from qdialect.qnn.modes import enum_value
from qdialect.tensors import element_type, is_dynamic
from qdialect.types import AnyQuantizedType, Granularity, UniformQuantizedType


class Kind(Enum):
    FLOAT = "float"
    QUANTIZED = "quantized"
    INTEGER = "integer"
    PENDING = "pending"  # `!quant.any`: storage chosen, parameters not yet


def kind_of(value: SSAValue | Attribute) -> Kind:
    container = value.type if isinstance(value, SSAValue) else value
    elem = element_type(container)
    if is_float_type(elem):
        return Kind.FLOAT
    if isinstance(elem, UniformQuantizedType):
        return Kind.QUANTIZED
    if isinstance(elem, AnyQuantizedType):
        return Kind.PENDING
    if isinstance(elem, IntegerType):
        return Kind.INTEGER
    raise VerifyException(f"unsupported element type {elem}")


def ranked_shape(value: SSAValue, role: str, rank: int | None = None) -> tuple[int, ...]:
    """Static shape of a ranked tensor operand, checking its rank."""
    if not isinstance(value.type, TensorType):
        raise VerifyException(f"{role} must be a ranked tensor, got {value.type}")
    shape = tuple(value.type.get_shape())
    if any(is_dynamic(d) for d in shape):
        raise VerifyException(f"{role} must have a static shape, got {value.type}")
    if rank is not None and len(shape) != rank:
        raise VerifyException(f"{role} must have rank {rank}, got {value.type}")
    return shape


def quantized_element(value: SSAValue) -> UniformQuantizedType:
    elem = element_type(value.type)
    assert isinstance(elem, UniformQuantizedType)
    return elem


def check_zero_points(elem: UniformQuantizedType, role: str) -> None:
    """Every zero point must be a storable value (upstream types allow any integer)."""
    for zp in elem.zero_points:
        if not elem.qmin <= zp <= elem.qmax:
            raise VerifyException(
                f"{role} zero point {zp} is outside the storage range [{elem.qmin}, {elem.qmax}]"
            )


def check_per_tensor(value: SSAValue, role: str) -> None:
    elem = quantized_element(value)
    if elem.granularity is not Granularity.PER_TENSOR:
        raise VerifyException(f"{role} must be quantized per tensor, got {elem}")


def check_quantized_operand(value: SSAValue, role: str) -> UniformQuantizedType:
    """A quantized operand: zero points storable, per-axis axis inside the shape."""
    return check_quantized_container(value.type, role)


def check_quantized_container(container: Attribute, role: str) -> UniformQuantizedType:
    """`check_quantized_operand` of a tensor type (an operand's, or one an op implies)."""
    elem = element_type(container)
    assert isinstance(elem, UniformQuantizedType)
    check_zero_points(elem, role)
    if elem.granularity is Granularity.SUB_CHANNEL:
        raise VerifyException(f"{role}: sub-channel quantization is not supported by qnn ops")
    if elem.granularity is Granularity.PER_AXIS:
        shape = container.get_shape() if isinstance(container, TensorType) else ()
        if elem.axis >= len(shape):
            raise VerifyException(f"{role} quantized dimension must be less than tensor rank")
        if not is_dynamic(shape[elem.axis]) and shape[elem.axis] != len(elem.scales):
            raise VerifyException(
                f"{role} quantized dimension size does not match number of scales"
            )
    return elem


def check_same_expressed(values: Sequence[tuple[SSAValue, str]]) -> None:
    expressed = {
        role: quantized_element(v).expressed_type
        for v, role in values
        if kind_of(v) is Kind.QUANTIZED
    }
    if len(set(expressed.values())) > 1:
        listing = ", ".join(f"{role}: {t}" for role, t in expressed.items())
        raise VerifyException(f"expressed types must agree ({listing})")


def is_i32(value: SSAValue) -> bool:
    elem = element_type(value.type)
    return (
        isinstance(elem, IntegerType)
        and elem.width.data == 32
        and elem.signedness.data is not Signedness.UNSIGNED
    )


def int_array(values: Sequence[int]) -> DenseArrayBase:
    return DenseArrayBase.from_list(i64, values)


def array_values(attr: DenseArrayBase, prop: str, length: int) -> tuple[int, ...]:
    values = attr.get_values()
    if len(values) != length:
        raise VerifyException(f"{prop} must have {length} entries, got {len(values)}")
    return tuple(int(v) for v in values)


def raw_offsets(attr: DenseArrayBase | None, count: int) -> tuple[int, ...]:
    """Offsets added to stored values (and zero points) before raw-value arithmetic.

    QLinearAdd and QLinearAveragePool round on raw stored values, so moving their data from
    u8 to i8 (`u8-to-i8`) must hand the kernel the u8 values back: offset 128. Default: none.
    """
    if attr is None:
        return (0,) * count
    return array_values(attr, "raw_offsets", count)


def float_value(attr: FloatAttr | None) -> float | None:
    return None if attr is None else attr.value.data


def window_output_size(
    size: int, kernel: int, stride: int, pad_lo: int, pad_hi: int, dilation: int, what: str
) -> int:
    """floor((size + pads - dilation*(kernel-1) - 1) / stride) + 1, checked positive."""
    span = dilation * (kernel - 1) + 1
    padded = size + pad_lo + pad_hi
    if padded < span:
        raise VerifyException(
            f"{what}: window of extent {span} does not fit the padded input of size {padded}"
        )
    return (padded - span) // stride + 1


def check_window(strides: Sequence[int], dilations: Sequence[int], pads: Sequence[int]) -> None:
    if any(s <= 0 for s in strides):
        raise VerifyException(f"strides must be positive, got {list(strides)}")
    if any(d <= 0 for d in dilations):
        raise VerifyException(f"dilations must be positive, got {list(dilations)}")
    if any(p < 0 for p in pads):
        raise VerifyException(f"pads must be non-negative, got {list(pads)}")


class KindedBinaryOp(IRDLOperation):
    """Two tensors in (numpy broadcasting), one out, the operation named by `kind` (a value of
    the subclass's `KINDS` enum): the shape the float, boolean and integer binary ops share."""

    KINDS: ClassVar[type[Enum]]
    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    result = result_def(TensorType)
    kind = prop_def(StringAttr)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)"

    def __init__(self, kind: Enum, lhs: SSAValue, rhs: SSAValue, result_type: Attribute):
        super().__init__(
            operands=[lhs, rhs],
            result_types=[result_type],
            properties={"kind": StringAttr(kind.value)},
        )

    @property
    def kind_value(self) -> Enum:
        return enum_value(self.KINDS, self.kind, "kind")

    def broadcast_shapes(self) -> list[tuple[int, ...]]:
        """The operands' shapes, after checking `kind` names one of `KINDS`."""
        self.kind_value  # noqa: B018 - raises for an unknown kind
        return [ranked_shape(self.lhs, "lhs"), ranked_shape(self.rhs, "rhs")]
