"""`normalize-quant-types`: upstream MLIR's pass of the same name (mlir/lib/Dialect/Quant/
Transforms/NormalizeQuantTypes.cpp).

A tensor whose element type is sub-channel but whose parameter tensor has a single element
becomes per tensor; one whose parameter tensor has exactly one dimension larger than 1 becomes
per axis on that dimension. Storage, bounds, expressed type and the parameters themselves are
kept. Every op's result types, every block argument and every `func.func` signature change, as
upstream's type converter changes them (and nothing else: types inside other attributes stay).

One deliberate difference: upstream makes a per-axis type out of parameters of shape [2, 1] on
a tensor<4x8> with blocks `{0:2}`, which says "one scale per row" for 4 rows with 2 scales, a
different (and invalid) meaning. Here a per-axis type is made only where the block size along
that dimension is 1, so the rewrite never changes what a value means.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import FunctionType, ModuleOp, TensorType, UnrankedTensorType
from xdsl.ir import Attribute
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    TypeConversionPattern,
    op_type_rewrite_pattern,
)

from qdialect.sub_channel import normalized_element
from qdialect.types import UniformQuantizedType


def normalized_type(container: Attribute) -> Attribute:
    """A tensor type with its sub-channel element normalized; any other type unchanged."""
    if not isinstance(container, TensorType | UnrankedTensorType):
        return container
    elem = container.element_type
    if not isinstance(elem, UniformQuantizedType):
        return container
    new = normalized_element(elem)
    if new is elem:
        return container
    if isinstance(container, UnrankedTensorType):
        return UnrankedTensorType(new)
    return TensorType(new, container.get_shape())


class NormalizeValueTypes(TypeConversionPattern):
    """Result types and block arguments of every op."""

    def convert_type(self, typ: Attribute, /) -> Attribute | None:
        new = normalized_type(typ)
        return None if new is typ else new


class NormalizeSignature(RewritePattern):
    """A `func.func`'s inputs and results (upstream's function-signature conversion)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: func.FuncOp, rewriter: PatternRewriter) -> None:
        old = op.function_type
        inputs = [normalized_type(t) for t in old.inputs.data]
        outputs = [normalized_type(t) for t in old.outputs.data]
        if inputs == list(old.inputs.data) and outputs == list(old.outputs.data):
            return
        new = func.FuncOp(
            op.sym_name.data,
            FunctionType.from_lists(inputs, outputs),
            op.detach_region(op.body),
            op.sym_visibility,
            arg_attrs=op.arg_attrs,
            res_attrs=op.res_attrs,
        )
        new.attributes.update(op.attributes)
        rewriter.replace(op, new)


@dataclass(frozen=True)
class NormalizeQuantTypesPass(ModulePass):
    name = "normalize-quant-types"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(
            GreedyRewritePatternApplier([NormalizeValueTypes(), NormalizeSignature()])
        ).rewrite_module(op)
