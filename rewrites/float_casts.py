"""`drop-float-casts`: a float32 → float32 `qnn.cast` (ONNX's Cast to FLOAT of a float tensor)
is replaced by its input.

The importer keeps such a Cast so that the float graph still has the tensor ONNX Runtime's
quantizer calibrates and quantizes on its own (a quantized node reading the Cast's output
gets a Q/DQ pair with that tensor's range). Once quantization has placed its pairs, the Cast
computes nothing: `qnn-default` drops it first, so the QDQ folds see DequantizeLinear →
QuantizeLinear, as they do in ONNX Runtime's own model imported.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import Float32Type, ModuleOp
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from qdialect import qnn
from qdialect.tensors import element_type


class DropFloatCast(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qnn.CastOp, rewriter: PatternRewriter) -> None:
        if isinstance(element_type(op.input.type), Float32Type) and isinstance(
            element_type(op.result.type), Float32Type
        ):
            rewriter.replace(op, [], [op.input])


@dataclass(frozen=True)
class DropFloatCastsPass(ModulePass):
    name = "drop-float-casts"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(DropFloatCast(), apply_recursively=False).rewrite_module(op)
