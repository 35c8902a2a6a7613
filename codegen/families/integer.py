"""Which 8-bit qnn.dot / qnn.conv2d take the fast kernels, and the implicit-GEMM geometry
they share: M output pixels (or rows) x K taps x COLS channels, per group."""

from __future__ import annotations

import math
from dataclasses import dataclass

from codegen import packing
from codegen.c_text import INT8_RANGES
from codegen.families.depthwise import depthwise_kernel
from codegen.families.epilogue import EpilogueSpec
from codegen.families.gemm import gemm_kernel
from codegen.geometry import Window, conv_window
from codegen.kernel import EmitContext, Kernel
from codegen.plan import shape_of
from qdialect import qnn


@dataclass(frozen=True)
class GemmGeometry:
    """The GEMM of each group: M rows (pixels) x K taps x COLS columns (output channels per
    group)."""

    kind: str  # dot or conv
    M: int
    K: int
    COLS: int
    G: int
    row_stride: int  # the result's element stride between GEMM rows
    o_stride: int  # ... and between output channels


@dataclass(frozen=True)
class DotGeometry(GemmGeometry):
    """A dot is one group of [M, K] x [K, O]."""

    O: int  # noqa: E741
    ys: tuple[int, ...]


@dataclass(frozen=True)
class ConvGeometry(GemmGeometry):
    """A conv reads its K = KH·KW·Cg taps from the zero-padded HWC copy of its input
    (HP x WP pixels); its window (codegen.geometry.Window) has the rest."""

    layout: str
    HP: int
    WP: int
    Cg: int  # input channels per group
    run: int  # taps contiguous in the HWC copy
    ws: tuple[int, ...]


def dot_geometry(op: qnn.DotOp) -> DotGeometry:
    xs, o = shape_of(op.input), shape_of(op.result)[-1]
    return DotGeometry("dot", math.prod(xs[:-1]), xs[-1], o, 1, o, 1, O=o, ys=(0,))


def conv_geometry(op: qnn.Conv2DOp) -> tuple[Window, ConvGeometry]:
    conv = conv_window(op)
    g = conv.window
    cg = g.C // conv.groups
    return g, ConvGeometry(
        "conv",
        g.OH * g.OW,
        g.KH * g.KW * cg,
        g.O // conv.groups,
        conv.groups,
        g.ys[3],
        g.ys[1],
        op.layout_kind.value,
        max(g.H + g.PT, (g.OH - 1) * g.SH + (g.KH - 1) * g.DH + 1),
        max(g.W + g.PL, (g.OW - 1) * g.SW + (g.KW - 1) * g.DW + 1),
        cg,
        g.KW * cg if g.DW == 1 and conv.groups == 1 else cg,
        conv.ws,
    )


def integer_kernel(op, ep: EpilogueSpec, ctx: EmitContext) -> Kernel | None:
    """The fast kernel (gemm.c.j2, depthwise.c.j2) of an 8-bit qnn.dot / qnn.conv2d when its
    int16-pair arithmetic is exact for this op; None leaves it to the generic int64 kernel
    (16-bit storage, reductions long enough to leave int32)."""
    if ep.x_ctype not in INT8_RANGES or ep.w_ctype not in INT8_RANGES:
        return None
    x_range = max(abs(b - ep.x_zp) for b in INT8_RANGES[ep.x_ctype])
    w_range = max(abs(b - z) for b in INT8_RANGES[ep.w_ctype] for z in ep.w_zp)
    if op.name in ("qnn.dot", "qnn.dynamic_dot"):  # or a view of one (families.dynamic)
        window, geometry = None, dot_geometry(op)
    else:
        window, geometry = conv_geometry(op)
    if not packing.exact_in_int16_pairs(x_range, w_range, geometry.K):
        return None
    if isinstance(geometry, ConvGeometry) and geometry.Cg == 1 and geometry.G > 1:
        return depthwise_kernel(op, ep, window, geometry, x_range * w_range, ctx)
    return gemm_kernel(op, ep, window, geometry, ctx)
