"""qnn.conv2d and qnn.dot: the float32 GEMM (families.float_gemm), the fast 8-bit kernels where
they are exact (families.integer), else the generic int64 kernels (conv.c.j2, dot.c.j2)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from codegen.families.epilogue import epilogue, operand_args
from codegen.families.float_gemm import float_kernel
from codegen.families.integer import integer_kernel
from codegen.geometry import conv_window
from codegen.kernel import EmitContext, Kernel
from codegen.plan import shape_of
from codegen.spec import SpecView
from qdialect import qnn


@dataclass(frozen=True)
class DotShape:
    """The generic dot: [M, K] x [K, O]."""

    M: int
    K: int
    O: int  # noqa: E741


@dataclass(frozen=True)
class GroupedConv:
    """The generic conv's weights (OCHW element strides) and channels per group."""

    ws: tuple[int, ...]
    C_per_group: int
    O_per_group: int


def conv_or_dot(op: qnn.Conv2DOp | qnn.DotOp, ctx: EmitContext) -> Kernel:
    ep = epilogue(op)
    if not ep.quantized:
        return float_kernel(op, ep, ctx)
    kernel = integer_kernel(op, ep, ctx)
    if kernel is not None:
        return kernel
    args = operand_args(ctx, op)
    if isinstance(op, qnn.DotOp):
        xs = shape_of(op.input)
        channels = shape_of(op.result)[-1]
        return Kernel(
            "dot.c.j2", SpecView(ep, DotShape(math.prod(xs[:-1]), xs[-1], channels)), args
        )
    conv = conv_window(op)
    window = conv.window
    groups = GroupedConv(conv.ws, window.C // conv.groups, window.O // conv.groups)
    return Kernel("conv.c.j2", SpecView(ep, window, groups), args)
