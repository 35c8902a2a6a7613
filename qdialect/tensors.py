"""Small helpers over container types shared by the verifiers and the rewrites."""

from __future__ import annotations

from xdsl.dialects import arith, tensor
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    DenseIntOrFPElementsAttr,
    TensorType,
    UnrankedTensorType,
    i64,
)
from xdsl.ir import Attribute, Operation, SSAValue

from qdialect.types import Granularity, UniformQuantizedType


def element_type(container: Attribute) -> Attribute:
    """The element type of a tensor, or the type itself for a scalar."""
    if isinstance(container, TensorType | UnrankedTensorType):
        return container.element_type
    return container


def is_dynamic(size: int) -> bool:
    return size == DYNAMIC_INDEX


def per_tensor_type(value: SSAValue) -> UniformQuantizedType | None:
    """`value`'s element type if it is quantized per tensor, else None."""
    qtype = element_type(value.type)
    if isinstance(qtype, UniformQuantizedType) and qtype.granularity is Granularity.PER_TENSOR:
        return qtype
    return None


def reshape_ops(value: SSAValue, shape: list[int] | tuple[int, ...]) -> list[Operation]:
    """The shape constant and the `tensor.reshape` of `value` to `shape` (its element type
    kept); the reshaped value is the last op's result."""
    target = arith.ConstantOp(
        DenseIntOrFPElementsAttr.from_list(TensorType(i64, [len(shape)]), list(shape))
    )
    elem = element_type(value.type)
    return [target, tensor.ReshapeOp(value, target.result, TensorType(elem, list(shape)))]
