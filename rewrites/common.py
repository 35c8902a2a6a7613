"""Helpers shared by the rewrite patterns: retyping tensors, constants, scast chains."""

from __future__ import annotations

import numpy as np
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import TensorType
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern

from qdialect import qnn
from qdialect.constants import dense_array, dense_attr
from qdialect.quant_ops import StorageCastOp
from qdialect.tensors import element_type
from qdialect.types import UniformQuantizedType


def stored_constant(value: SSAValue) -> tuple[np.ndarray, UniformQuantizedType] | None:
    """(stored integers, type) if `value` is `qnn.dequantize(quant.scast(arith.constant))`; the
    integers read as the type's signedness (constants of unsigned types are stored signless)."""
    dequantize = value.owner
    if not isinstance(dequantize, qnn.DequantizeOp):
        return None
    cast = dequantize.input.owner
    values = dense_array(cast.input) if isinstance(cast, StorageCastOp) else None
    if values is None:
        return None
    qtype = element_type(dequantize.input.type)
    if not qtype.signed:
        values = values % (1 << qtype.storage_width)
    return values, qtype


def single_use(value: SSAValue) -> bool:
    return sum(1 for _ in value.uses) == 1


def sole_user(value: SSAValue) -> Operation | None:
    """The one op using `value`, or None (several users, or a function result)."""
    uses = list(value.uses)
    if len(uses) != 1 or isinstance(uses[0].operation, func.ReturnOp):
        return None
    return uses[0].operation


def with_element(container: Attribute, element: Attribute) -> TensorType:
    """`container`'s shape with another element type."""
    assert isinstance(container, TensorType)
    return TensorType(element, container.get_shape())


def dense_constant(values: np.ndarray, tensor_type: TensorType) -> arith.ConstantOp:
    """`arith.constant` of `values` (any layout; one value everywhere makes a splat)."""
    return arith.ConstantOp(dense_attr(values, tensor_type), tensor_type)


class FoldInverseStorageCasts(RewritePattern):
    """`scast(scast(x))` whose result type is x's type is x (upstream's StorageCastOp fold)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: StorageCastOp, rewriter: PatternRewriter) -> None:
        inner = op.input.owner
        if isinstance(inner, StorageCastOp) and inner.input.type == op.result.type:
            rewriter.replace(op, [], [inner.input])
