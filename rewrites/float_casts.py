"""`drop-float-casts`: a float32 → float32 `qnn.cast` (ONNX's Cast to FLOAT of a float tensor)
is replaced by its input.

The importer keeps such a Cast so that the float graph still has the tensor ONNX Runtime's
quantizer calibrates and quantizes on its own (a quantized node reading the Cast's output
gets a Q/DQ pair with that tensor's range). Once quantization has placed its pairs, the Cast
computes nothing: `qnn-default` drops it first, so the QDQ folds see DequantizeLinear →
QuantizeLinear, as they do in ONNX Runtime's own model imported. An Identity giving a graph
output is such a cast too; ONNX Runtime keeps it where its input has other readers (its
EliminateIdentity), and so does `qnn-default` until its folds are done.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import Float32Type, ModuleOp
from xdsl.ir import BlockArgument
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from qdialect import qnn
from qdialect.tensors import element_type


@dataclass
class DropFloatCast(RewritePattern):
    keep_graph_outputs: bool = False

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qnn.CastOp, rewriter: PatternRewriter) -> None:
        if not isinstance(element_type(op.input.type), Float32Type) or not isinstance(
            element_type(op.result.type), Float32Type
        ):
            return
        if self.keep_graph_outputs and _kept_by_ort(op):
            return
        rewriter.replace(op, [], [op.input])


def _kept_by_ort(op: qnn.CastOp) -> bool:
    """ONNX Runtime's EliminateIdentity removes a node giving a graph output only where a node
    computes its input, nothing else reads that, and it is no graph output itself; else the
    node stays, a reader of its input to the rest of ORT's optimizer."""
    if not any(isinstance(use.operation, func.ReturnOp) for use in op.result.uses):
        return False
    source = op.input
    return isinstance(source, BlockArgument) or len(list(source.uses)) > 1


@dataclass(frozen=True)
class DropFloatCastsPass(ModulePass):
    """`keep_graph_outputs`: leave the casts ONNX Runtime keeps (`qnn-default` drops them
    after its folds)."""

    name = "drop-float-casts"
    keep_graph_outputs: bool = False

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(
            DropFloatCast(self.keep_graph_outputs), apply_recursively=False
        ).rewrite_module(op)
