"""`qnn.batch_norm` has no kernel of its own: `qnn-default` lowers it to a multiply and an add
by constants (rewrites.batch_norm), which needs constant parameters; this says so by name."""

from __future__ import annotations

from codegen.c_text import CodegenError
from codegen.kernel import EmitContext, Kernel
from qdialect import qnn


def batch_norm(op: qnn.BatchNormOp, ctx: EmitContext) -> Kernel:
    raise CodegenError(
        "scale, B, mean and var must be constants (or dequantized constants) to be compiled; "
        "this one's are computed at run time"
    )
