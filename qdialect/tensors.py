"""Small helpers over container types shared by the verifiers."""

from __future__ import annotations

from xdsl.dialects.builtin import DYNAMIC_INDEX, TensorType, UnrankedTensorType
from xdsl.ir import Attribute


def element_type(container: Attribute) -> Attribute:
    """The element type of a tensor, or the type itself for a scalar."""
    if isinstance(container, TensorType | UnrankedTensorType):
        return container.element_type
    return container


def is_dynamic(size: int) -> bool:
    return size == DYNAMIC_INDEX
