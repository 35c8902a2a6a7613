"""quantize.c.j2: quantize, dequantize and requantize (qnn and quant ops).

The loop runs over (outer, channel, inner) blocks so a per-axis scale is fetched once per run;
AVX2 where it computes the same bits as DESIGN §2's scalar formula.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from xdsl.ir import Operation

from codegen import threads
from codegen.c_text import INT8_RANGES, ctype_of
from codegen.families.quant_params import QuantParams, quant_params, scale_limits
from codegen.kernel import EmitContext, Kernel
from codegen.plan import shape_of
from qdialect import qnn, quant_ops
from qdialect.arithmetic import float32_scale
from qdialect.float32 import f32
from qdialect.qnn import RoundMode
from qdialect.tensors import element_type
from qdialect.types import Granularity, UniformQuantizedType

# How the vector code breaks ties in the half_* round modes (see quantize.c.j2).
TIE_RULES = {
    RoundMode.HALF_UP: 0,
    RoundMode.HALF_DOWN: 1,
    RoundMode.HALF_AWAY_FROM_ZERO: 2,
    RoundMode.HALF_TOWARD_ZERO: 3,
}
# Markstein's division stays exact (and its residual representable) for these scales.
MARKSTEIN_SCALES = (2.0**-60, 2.0**60)


@dataclass(frozen=True)
class Markstein:
    """Per-channel constants of the division-free quantize: r = fl(1/s) and the floor x is
    first raised to, -2^20 s."""

    reciprocal: tuple[float, ...]
    floor: tuple[float, ...]


@dataclass(frozen=True)
class ConvertSpec:
    kind: str  # quantize, dequantize or requantize
    mode: str  # the round mode's spelling (common.saturate takes it)
    comment: str
    in_ctype: str
    out_ctype: str
    source: QuantParams
    target: QuantParams
    qmin: int
    qmax: int
    outer: int
    channels: int
    inner: int
    c_in: str  # the C index of the input's channel (c, 0 or computed from o)
    c_out: str
    tie_rule: int | None
    simd: bool  # the vector code keeps q - zp and the bounds in int32, exact in float32
    markstein: Markstein | None
    parallel: bool
    chunk: int  # elements per task: a multiple of the 32-element vector step


def markstein_constants(qtype: UniformQuantizedType, y_ctype: str) -> Markstein | None:
    """Constants of quantize.c.j2's division-free path, or None where it does not apply.

    `rint(x / s)` (DESIGN §2: the float32 quotient, rounded half to even) needs no division:
    with r = RN(1/s), p = RN(x r) is within an ulp of x / s, e = x - p s is exact with an FMA,
    and RN(p + e r) is the correctly rounded x / s (Markstein's theorem; Muller et al.,
    Handbook of Floating-Point Arithmetic, §4.7), barring overflow and underflow. x is first
    raised to at least -2^20 s, which turns NaN and -inf into values below every bound (both
    give qmin). The kernel rounds -(p + e r), so +inf, overflow and every quotient beyond int32
    come out of the conversion as INT_MIN, i.e. -q far below the bounds, q at qmax. The bounds
    are then the 8-bit saturation of the packs, so the type must span its whole storage range.
    """
    if INT8_RANGES.get(y_ctype) != (qtype.qmin, qtype.qmax):
        return None
    scales = [f32(s) for s in qtype.scales]  # one per tensor, or one per channel
    low, high = MARKSTEIN_SCALES
    if not all(low <= s <= high for s in scales):
        return None
    return Markstein(
        tuple(f32(f32(1) / s) for s in scales), tuple(-f32(2.0**20) * s for s in scales)
    )


def _blocks(size: int, source: QuantParams | None, target: QuantParams | None):
    """(channels, inner, C index of the input's channel, of the output's)."""
    axes = {side: (len(p.scales), p.inner) for side, p in (("in", source), ("out", target)) if p}
    per_axis = {pair for pair in axes.values() if pair[0] > 1}
    if len(per_axis) > 1:  # two different axes: blocks of one element, indices computed
        channels, inner = 1, 1
        index = {side: f"(o / {i}) % {n}" for side, (n, i) in axes.items()}
    else:
        channels, inner = per_axis.pop() if per_axis else (1, size)
        index = {side: "c" if n > 1 else "0" for side, (n, _) in axes.items()}
    return channels, inner, index.get("in", "0"), index.get("out", "0")


@dataclass(frozen=True)
class BlockLayout:
    """A sub-channel type over a tensor as the (outer, 1, inner) loop sees it: every parameter
    (row-major), the run of consecutive elements sharing one, and the C expression of the
    parameter index of run `o`."""

    params: QuantParams
    runs: int
    inner: int
    index: str


def block_layout(qtype: UniformQuantizedType, shape: tuple[int, ...]) -> BlockLayout:
    """Element (i, j, ...) uses parameter (i // b0, j // b1, ...). The dimensions after the last
    one whose parameters vary share a parameter, and so do `block` consecutive indices of that
    one: that is a run. Run `o` is a row-major index over the dimensions before it and the
    block index along it; each varying dimension adds `(its index / block) * stride` to the
    parameter index."""
    params = qtype.shape_of_params
    blocks = dict(qtype.block_size_info)
    varying = [d for d, n in enumerate(params) if n > 1]
    pstride = [math.prod(params[d + 1 :]) for d in range(len(params))]
    if not varying:
        return BlockLayout(_all_params(qtype), 1, math.prod(shape), "0")
    last = varying[-1]
    inner = blocks[last] * math.prod(shape[last + 1 :])
    run_dims = [(shape[d], blocks.get(d, shape[d])) for d in range(last)] + [(params[last], 1)]
    terms, ostride = [], 1
    for d in reversed(range(last + 1)):
        size, block = run_dims[d]
        if params[d] > 1:
            index = f"o / {ostride} % {size}" + (f" / {block}" if block > 1 else "")
            terms.append(f"({index}) * {pstride[d]}")
        ostride *= size
    return BlockLayout(_all_params(qtype), ostride, inner, " + ".join(reversed(terms)))


def _all_params(qtype: UniformQuantizedType) -> QuantParams:
    return QuantParams(tuple(qtype.scales), tuple(qtype.zero_points), 1)


def _layout(size: int, shape, x_type, y_type):
    """(source params, target params, channels, inner, C index of input's and output's)."""
    sub = [t for t in (x_type, y_type) if _is_sub_channel(t)]
    if sub:  # quant.qcast / quant.dcast: the other side is float
        layout = block_layout(sub[0], shape)
        source = layout.params if _is_sub_channel(x_type) else None
        target = None if source else layout.params
        return source, target, 1, layout.inner, layout.index, layout.index
    source = quant_params(x_type, shape) if isinstance(x_type, UniformQuantizedType) else None
    target = quant_params(y_type, shape) if isinstance(y_type, UniformQuantizedType) else None
    return source, target, *_blocks(size, source, target)


def _is_sub_channel(t) -> bool:
    return isinstance(t, UniformQuantizedType) and t.granularity is Granularity.SUB_CHANNEL


def convert(op: Operation, ctx: EmitContext) -> Kernel:
    x, y = op.operands[0], op.results[0]
    shape = shape_of(x)
    size = math.prod(shape)
    mode = op.round_mode_kind if isinstance(op, qnn.QuantizeOp) else RoundMode.HALF_TO_EVEN
    kind = {
        qnn.QuantizeOp: "quantize",
        quant_ops.QuantizeCastOp: "quantize",
        qnn.RequantizeOp: "requantize",
    }.get(type(op), "dequantize")
    x_type, y_type = element_type(x.type), element_type(y.type)
    with scale_limits():  # NaN, or a wider type's scale beyond float32, is no C literal
        for t in (x_type, y_type):
            for s in t.scales if isinstance(t, UniformQuantizedType) else ():
                float32_scale(s)
    source, target, channels, inner, c_in, c_out = _layout(size, shape, x_type, y_type)
    qtypes = [t for t in (x_type, y_type) if isinstance(t, UniformQuantizedType)]
    zero_points = (*(source or QuantParams()).zero_points, *(target or QuantParams()).zero_points)
    simd = all(t.storage_width <= 16 for t in qtypes) and all(abs(z) <= 2**16 for z in zero_points)
    out_ctype = ctype_of(y_type)
    markstein = (
        markstein_constants(y_type, out_ctype)
        if target is not None and mode is RoundMode.HALF_TO_EVEN and simd
        else None
    )
    parallel = size >= threads.PARALLEL_ELEMENTS
    spec = ConvertSpec(
        kind,
        mode.value,
        op.name,
        ctype_of(x_type),
        out_ctype,
        source or QuantParams(),
        target or QuantParams(),
        y_type.qmin if target else 0,
        y_type.qmax if target else 0,
        size // (channels * inner),
        channels,
        inner,
        c_in,
        c_out,
        TIE_RULES.get(mode),
        simd,
        markstein,
        parallel,
        min(inner, threads.CONVERT_CHUNK) if parallel else inner,
    )
    return Kernel("quantize.c.j2", spec, [ctx.plan.expr(x), ctx.plan.expr(y)])
