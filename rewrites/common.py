"""Helpers shared by the rewrite patterns: retyping tensors, constants, scast chains."""

from __future__ import annotations

import numpy as np
from xdsl.dialects import arith
from xdsl.dialects.builtin import TensorType
from xdsl.ir import Attribute, SSAValue
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern

from qdialect.constants import dense_attr
from qdialect.quant_ops import StorageCastOp


def single_use(value: SSAValue) -> bool:
    return sum(1 for _ in value.uses) == 1


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
