"""numpy implementations of DESIGN §2's arithmetic, one function per op family.

Quantized tensors are integer arrays of their storage values; the `!quant.uniform` type
says what they mean. Accumulators are int64 (exact); float math is float32, rounded once per
operation in the order DESIGN writes it.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from qdialect import arithmetic
from qdialect.arithmetic import (
    INT32_MAX,
    INT32_MIN,
    add_constants,
    average_pool_scales,
    fixed_point_multipliers,
    float32_scale,
    global_pool_scale,
    mul_multiplier,
    qlinear_add_swaps,
    requant_multiplier,
)
from qdialect.float32_arrays import LOWEST, maxps
from qdialect.float_sum import (
    TREE_LANES,
    PoolKernel,
    SumKind,
    SumOrder,
    group_sizes,
    pair_sum,
    pool_kernel,
    tree_rows,
    tree_sum,
)
from qdialect.qnn.modes import RequantMode, RoundMode
from qdialect.qnn.observe import EXTREMES
from qdialect.qparams import Storage
from qdialect.storage import integer_name
from qdialect.types import Granularity, UniformQuantizedType
from runtime.reference.f32math import F32, fmaf, saturate_round

# ----------------------------------------------------------------------------- types


def storage_of(qtype: UniformQuantizedType) -> Storage:
    return Storage(qtype.qmin, qtype.qmax, qtype.signed)


def dtype_of(qtype: UniformQuantizedType) -> np.dtype:
    """numpy dtype holding the storage integers (sub-byte types unpacked, one per byte)."""
    return np.dtype(integer_name(qtype.storage_width, qtype.signed))


@dataclass(frozen=True)
class Params:
    """A type's scales (float32) and zero points (int64), shaped to broadcast over a tensor."""

    scale: np.ndarray
    zero: np.ndarray


def params_shape(qtype: UniformQuantizedType, rank: int) -> list[int]:
    """How one value per (scale, zero point) pair reshapes to broadcast over a rank-`rank`
    tensor of `qtype`: a scalar per tensor, a vector along the axis per axis."""
    if qtype.granularity is Granularity.PER_TENSOR:
        return []
    assert qtype.granularity is Granularity.PER_AXIS, "sub-channel: expand_blocks"
    shape = [1] * rank
    shape[qtype.axis] = -1
    return shape


def params_of(qtype: UniformQuantizedType, rank: int) -> Params:
    scales = np.array(qtype.scales, dtype=np.float64).astype(F32)
    zeros = np.array(qtype.zero_points, dtype=np.int64)
    if qtype.granularity is Granularity.SUB_CHANNEL:
        return Params(*(expand_blocks(v, qtype) for v in (scales, zeros)))
    shape = params_shape(qtype, rank)
    return Params(scales.reshape(shape), zeros.reshape(shape))


def expand_blocks(values: np.ndarray, qtype: UniformQuantizedType) -> np.ndarray:
    """Sub-channel parameters (row-major, `params_shape`) repeated over their blocks: one per
    element of the tensor (element (i, j, ...) uses parameter (i // b0, j // b1, ...))."""
    out = values.reshape(qtype.shape_of_params)
    for axis, block in qtype.block_size_info:
        out = np.repeat(out, block, axis=axis)
    return out


def to_storage(values: np.ndarray, qtype: UniformQuantizedType) -> np.ndarray:
    return np.asarray(values).astype(dtype_of(qtype))


# ----------------------------------------------------------------------------- elementwise


def quantize(
    x: np.ndarray, qtype: UniformQuantizedType, round_mode: RoundMode = RoundMode.HALF_TO_EVEN
) -> np.ndarray:
    """`q = rint(x / s)` clamped in float to [qmin - zp, qmax - zp], plus zp; NaN → qmin."""
    for s in qtype.scales:  # a scale with no float32 value is refused
        float32_scale(s)
    p = params_of(qtype, x.ndim)
    v = np.asarray(x, dtype=F32) / p.scale  # a true float32 division
    return to_storage(saturate_round(v, p.zero, storage_of(qtype), round_mode), qtype)


def dequantize(q: np.ndarray, qtype: UniformQuantizedType) -> np.ndarray:
    """`x = float32(q - zp) * s`."""
    for s in qtype.scales:  # a scale with no float32 value is refused
        float32_scale(s)
    p = params_of(qtype, q.ndim)
    return (q.astype(np.int64) - p.zero).astype(F32) * p.scale


def requantize(
    q: np.ndarray, source: UniformQuantizedType, target: UniformQuantizedType
) -> np.ndarray:
    """`quantize(dequantize(q))` with the float32 steps, as DESIGN §2 defines requantize."""
    return quantize(dequantize(q, source), target)


def relu(x: np.ndarray, qtype: UniformQuantizedType | None) -> np.ndarray:
    if qtype is None:
        return np.where(x < 0, F32(0), x).astype(x.dtype)  # ORT's Relu: NaN and -0 pass
    zero = params_of(qtype, x.ndim).zero
    return to_storage(np.maximum(x.astype(np.int64), zero), qtype)


def clamp(x: np.ndarray, lo: float, hi: float, qtype: UniformQuantizedType | None) -> np.ndarray:
    """Real-valued bounds; on quantized data the bounds are quantize(lo), quantize(hi)."""
    if qtype is None:
        lo32, hi32 = F32(lo), F32(hi)
        return np.where(x < lo32, lo32, np.where(x > hi32, hi32, x)).astype(x.dtype)
    qlo, qhi = clamp_bounds(lo, hi, qtype, x.ndim)
    return to_storage(np.clip(x.astype(np.int64), qlo, qhi), qtype)


def clamp_bounds(
    lo: float, hi: float, qtype: UniformQuantizedType, rank: int
) -> tuple[np.ndarray, np.ndarray]:
    """Stored-value bounds of a real clamp (`qdialect.arithmetic.clamp_bounds`: its ends
    quantized into `qtype`), shaped to broadcast over a rank-`rank` tensor."""
    shape = params_shape(qtype, rank)
    ends = arithmetic.clamp_bounds(lo, hi, qtype.scales, qtype.zero_points, qtype.qmin, qtype.qmax)
    return tuple(np.array(e, dtype=np.int64).reshape(shape) for e in ends)


def fake_quant(
    x: np.ndarray, levels: int, in_lo: float, in_hi: float, out_lo: float, out_hi: float
) -> np.ndarray:
    """nGraph FakeQuantize in float32 steps (rint for the rounding)."""
    il, ih, ol, oh = (F32(v) for v in (in_lo, in_hi, out_lo, out_hi))
    steps = F32(levels - 1)
    q = np.rint((x - il) / (ih - il) * steps)
    mid = q / steps * (oh - ol) + ol
    return np.where(x <= il, ol, np.where(x > ih, oh, mid)).astype(F32)


def add(
    a: np.ndarray,
    b: np.ndarray,
    types: tuple[UniformQuantizedType, UniformQuantizedType, UniformQuantizedType] | None,
    offsets: tuple[int, int, int] = (0, 0, 0),
) -> np.ndarray:
    """Float: `a + b`. Quantized: ONNX Runtime's QLinearAdd, bit for bit (DESIGN §2).

    The formula works on raw stored values; `offsets` are added to values and zero points
    first (and taken off the result) so data moved from u8 to i8 still rounds as u8 did.
    """
    if types is None:
        return (a + b).astype(a.dtype)
    ta, tb, ty = types
    oa, ob, oy = offsets
    if qlinear_add_swaps(np.shape(a), np.shape(b)):
        a, b, ta, tb, oa, ob = b, a, tb, ta, ob, oa
    c = add_constants(
        (ta.scale, ta.zero_point + oa),
        (tb.scale, tb.zero_point + ob),
        (ty.scale, ty.zero_point + oy),
    )
    ra, rb, k = F32(c.ra), F32(c.rb), F32(c.k)
    raw_a = (a.astype(np.int64) + oa).astype(F32)
    raw_b = (b.astype(np.int64) + ob).astype(F32)
    r = fmaf(raw_a, ra, fmaf(raw_b, rb, k))
    y = np.clip(np.rint(r.astype(np.float64)), ty.qmin + oy, ty.qmax + oy) - oy
    return to_storage(y, ty)


def mul(
    a: np.ndarray,
    b: np.ndarray,
    types: tuple[UniformQuantizedType, UniformQuantizedType, UniformQuantizedType] | None,
    offsets: tuple[int, int, int] = (0, 0, 0),
) -> np.ndarray:
    """Float: `a * b`. Quantized: ONNX Runtime's QLinearMul (MLAS's SSE2/AVX kernel): the
    exact product `(a - za)(b - zb)` as float32, times `m = fl(fl(sa*sb)/sy)`, plus the raw
    output zero point, rint, saturate. (ORT's `cvtps2dq` makes a value beyond ±2^31 the
    integer minimum, so its result is qmin there; we saturate: multipliers ≥ 2^31/65025 only.)
    """
    if types is None:
        return (a * b).astype(a.dtype)
    ta, tb, ty = types
    m = F32(mul_multiplier(ta.scale, tb.scale, ty.scale))
    product = (a.astype(np.int64) - ta.zero_point) * (b.astype(np.int64) - tb.zero_point)
    r = product.astype(F32) * m + F32(ty.zero_point + offsets[2])
    y = np.clip(np.rint(r.astype(np.float64)), ty.qmin + offsets[2], ty.qmax + offsets[2])
    return to_storage(y - offsets[2], ty)


def concat(
    parts: list[np.ndarray],
    types: list[UniformQuantizedType] | None,
    out: UniformQuantizedType | None,
    axis: int,
) -> np.ndarray:
    """Join along `axis`; quantized inputs of another type are requantized to `out` first."""
    if types is None or out is None:
        return np.concatenate(parts, axis=axis)
    converted = [
        p if t == out else requantize(p, t, out) for p, t in zip(parts, types, strict=True)
    ]
    return to_storage(np.concatenate(converted, axis=axis), out)


# ----------------------------------------------------------------------------- conv / dot


@dataclass(frozen=True)
class Window:
    strides: tuple[int, int]
    pads: tuple[int, int, int, int]  # top, left, bottom, right
    dilations: tuple[int, int]


def _windows(x: np.ndarray, kh: int, kw: int, window: Window, fill) -> np.ndarray:
    """NCHW input -> [N, C, OH, OW, KH, KW] view of every window (padded with `fill`)."""
    t, left, b, r = window.pads
    padded = np.pad(x, ((0, 0), (0, 0), (t, b), (left, r)), constant_values=fill)
    (sh, sw), (dh, dw) = window.strides, window.dilations
    oh = (padded.shape[2] - dh * (kh - 1) - 1) // sh + 1
    ow = (padded.shape[3] - dw * (kw - 1) - 1) // sw + 1
    taps = np.empty((*x.shape[:2], oh, ow, kh, kw), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            taps[..., i, j] = padded[
                :,
                :,
                i * dh : i * dh + sh * (oh - 1) + 1 : sh,
                j * dw : j * dw + sw * (ow - 1) + 1 : sw,
            ]
    return taps


def conv_accumulate(x: np.ndarray, w: np.ndarray, groups: int, window: Window, x_zero, w_zero):
    """Exact int64 `Σ (x - zx)(w - zw)` for NCHW x and OIHW w; padded taps are real 0."""
    kh, kw = w.shape[2:]
    taps = _windows(x.astype(np.int64), kh, kw, window, int(x_zero)) - int(x_zero)
    wz = w.astype(np.int64) - np.asarray(w_zero, dtype=np.int64).reshape(-1, 1, 1, 1)
    return _grouped(taps, wz, groups, lambda t, k: np.einsum("nchwij,ocij->nohw", t, k))


def _grouped(taps, weights, groups: int, contract):
    cin = taps.shape[1] // groups
    cout = weights.shape[0] // groups
    return np.concatenate(
        [
            contract(taps[:, g * cin : (g + 1) * cin], weights[g * cout : (g + 1) * cout])
            for g in range(groups)
        ],
        axis=1,
    )


def sum_in_order(
    product, k: int, shape, order: SumOrder, start=None, rows=None, alpha=None
) -> np.ndarray:
    """float32 `Σ_k x_k · w_k` in ONNX Runtime's order (qdialect/float_sum.py), `product(k)`
    giving the pair (x_k, w_k); from `start` (a Gemm's bias) when given, else from nothing.
    `rows` (TREE): each output's group of GEMM rows, 4, 2 or 1, broadcast to `shape`.
    `alpha` (BLOCKED: a FusedMatMul's, a Gemm's): each block's sum times it, the first
    `acc·alpha` (from no start), the others `fma(acc, alpha, c)`."""
    begin = None if start is None else np.broadcast_to(start, shape).astype(F32)
    if order.kind is SumKind.GROUPED:
        c = np.zeros(shape, F32) if begin is None else begin
        k0 = 0
        for size in group_sizes(k):
            x, w = product(k0)
            t = x * w
            for j in range(k0 + 1, k0 + size):
                x, w = product(j)
                t = t + x * w
            c = (c + t).astype(F32)
            k0 += size
        return c
    if order.kind is SumKind.TREE:
        lanes = [np.zeros(shape, F32) for _ in range(TREE_LANES)]
        for j in range(k):
            x, w = product(j)
            lanes[j % TREE_LANES] = (lanes[j % TREE_LANES] + x * w).astype(F32)
        groups = np.broadcast_to(rows, shape)
        c = np.zeros(shape, F32)
        for group in (4, 2, 1):
            c = np.where(groups == group, tree_sum(lanes, group), c).astype(F32)
        return c if begin is None else (c + begin).astype(F32)
    c = begin
    for block in order.blocks(k):
        acc = np.zeros(shape, F32)
        for j in block:
            acc = fmaf(*product(j), acc)
        if alpha is not None:
            c = (acc * F32(alpha)).astype(F32) if c is None else fmaf(acc, F32(alpha), c)
        else:
            c = acc if c is None else (c + acc).astype(F32)
    return c


def conv_float(
    x: np.ndarray,
    w: np.ndarray,
    groups: int,
    window: Window,
    order: SumOrder,
    start=None,
    alpha=None,
) -> np.ndarray:
    """float32 conv, its taps in the order's (`SumOrder.tap`; padded taps included as 0)
    summed in ONNX Runtime's `order`, from `start` (NCHW, an NCHWc conv's Sum) when given;
    `alpha`: each block's sum scaled (a batched MatMul's FusedMatMul, `sum_in_order`)."""
    kh, kw = w.shape[2:]
    taps = _windows(x.astype(F32), kh, kw, window, F32(0))
    per_group = w.shape[0] // groups
    group = iter(range(groups))

    def contract(t, k):
        g = next(group)  # (`_grouped` contracts the groups in order)
        begin = None if start is None else start[:, g * per_group : (g + 1) * per_group]

        def product(j):
            c, i, s = order.tap(j, w.shape[1], kh, kw)
            return t[:, c, None, :, :, i, s], k[None, :, c, i, s, None, None]

        shape = (t.shape[0], k.shape[0], *t.shape[2:4])
        pixels = t.shape[2] * t.shape[3]
        if pixels > 1:  # the one-column tree's rows are the pixels (one filter, float_sum.py)
            rows = np.array(tree_rows(pixels)).reshape(1, 1, *t.shape[2:4])
        else:
            rows = np.array(tree_rows(k.shape[0])).reshape(1, -1, 1, 1)
        return sum_in_order(product, k.shape[1] * kh * kw, shape, order, begin, rows, alpha)

    return _grouped(taps, w.astype(F32), groups, contract)


def dot_float(a: np.ndarray, b: np.ndarray, order: SumOrder, start=None, alpha=None) -> np.ndarray:
    """float32 `a @ b` summed over k in ONNX Runtime's `order`, from `start` when given;
    `alpha`: each block's sum scaled (`sum_in_order`)."""
    a, b = a.astype(F32), b.astype(F32)
    shape = (*a.shape[:-1], b.shape[1])
    count = math.prod(a.shape[:-1])
    if count != 1:  # the one-column kernel's rows: the dot's rows
        rows = np.array(tree_rows(count)).reshape(*a.shape[:-1], 1)
    else:  # one row, B read transposed: the kernel's rows are B's columns
        rows = np.array(tree_rows(b.shape[1])).reshape(*a.shape[:-1], b.shape[1])
    product = lambda j: (a[..., j, None], b[j])  # noqa: E731
    return sum_in_order(product, a.shape[-1], shape, order, start, rows, alpha)


def requantize_accumulator(
    acc: np.ndarray,
    input_scale: float,
    weight_scales: np.ndarray,
    out: UniformQuantizedType,
    channel_axis: int,
    mode: RequantMode,
) -> np.ndarray:
    """int32 accumulator -> `out` storage values (before activation), by `mode`."""
    shape = [1] * acc.ndim
    shape[channel_axis] = -1
    zero = np.int64(out.zero_point)
    st = storage_of(out)
    if mode is RequantMode.FLOAT:
        m = np.array(
            [requant_multiplier(input_scale, s, out.scale) for s in weight_scales], dtype=F32
        ).reshape(shape)
        v = acc.astype(F32) * m
        return saturate_round(v, zero, st, RoundMode.HALF_TO_EVEN)
    pairs = fixed_point_multipliers(mode.value, input_scale, weight_scales, out.scale)
    m = np.array([p[0] for p in pairs], dtype=np.int64).reshape(shape)
    shift = np.array([p[1] for p in pairs], dtype=np.int64).reshape(shape)
    if mode is RequantMode.TFLITE:
        scaled = _multiply_by_quantized_multiplier(acc.astype(np.int64), m, shift)
    else:
        value = acc.astype(np.int64)
        rounding = np.left_shift(np.int64(1), shift - 1)
        if mode is RequantMode.TOSA_DOUBLE:
            rounding = rounding + np.where(shift > 31, np.where(value >= 0, 1 << 30, -(1 << 30)), 0)
        scaled = (value * m + rounding) >> shift
    return np.clip(scaled + zero, st.qmin, st.qmax)


def _multiply_by_quantized_multiplier(x, q, shift):
    """Vectorized TFLite MultiplyByQuantizedMultiplier (see qdialect.fixed_point)."""
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    shifted = _wrap32(x << left)
    ab = shifted * q
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    total = ab + nudge
    high = np.where(total >= 0, total >> 31, -((-total) >> 31))
    high = np.where((shifted == INT32_MIN) & (q == INT32_MIN), INT32_MAX, high)
    mask = (np.int64(1) << right) - 1
    remainder = high & mask
    threshold = (mask >> 1) + (high < 0)
    return (high >> right) + (remainder > threshold)


def _wrap32(v):
    return ((v + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


# ----------------------------------------------------------------------------- pooling


def max_pool(x: np.ndarray, kernel, window: Window) -> np.ndarray:
    """Window maximum on stored values (NCHW); padding never wins. Floats reduce as ONNX
    Runtime's kernels do (`max_pool_float`), which only NaN and the sign of a zero tell apart."""
    if np.issubdtype(x.dtype, np.floating):
        return max_pool_float(x.astype(F32), kernel, window)
    taps = _windows(x, *kernel, window, np.iinfo(x.dtype).min)
    return taps.max(axis=(4, 5)).astype(x.dtype)


def max_pool_float(x: np.ndarray, kernel, window: Window) -> np.ndarray:
    """float32 MaxPool as ONNX Runtime reduces it (qdialect/float_sum.py, `PoolKernel`), NCHW."""
    (kh, kw), (h, w) = kernel, x.shape[2:]
    order = pool_kernel(tuple(kernel), (h, w), window.strides, window.dilations, window.pads)
    if order is PoolKernel.GLOBAL:
        flat = x.reshape(*x.shape[:2], h * w)
        whole = flat.shape[-1] // 4 * 4
        lanes = np.full((*x.shape[:2], 4), LOWEST, F32)
        for i in range(0, whole, 4):
            lanes = maxps(lanes, flat[..., i : i + 4])
        best = maxps(maxps(lanes[..., 0], lanes[..., 2]), maxps(lanes[..., 1], lanes[..., 3]))
        for i in range(whole, h * w):
            best = _keep(best, flat[..., i], largest=True)
        return best[..., None, None]
    if order is PoolKernel.ROWS:
        taps = _windows(x, kh, kw, window, F32(np.nan))
        inside = _windows(np.ones((1, 1, h, w), np.int8), kh, kw, window, 0)
        best = np.full(taps.shape[:4], LOWEST, F32)
        first = np.full(inside.shape[:4], window.dilations != (1, 1))
        for i in range(kh):
            for j in range(kw):
                tap, here = taps[..., i, j], inside[..., i, j] > 0
                best = np.where(
                    here & first, tap, _keep(best, tap, largest=True)
                )  # a NaN pad: kept best
                first &= ~here
        return best
    (sh, sw), (top, left, bottom, right) = window.strides, window.pads
    oh = (h + top + bottom - kh) // sh + 1
    ow = (w + left + right - kw) // sw + 1
    whole = w // 4 * 4
    y = np.empty((*x.shape[:2], oh, ow), F32)
    for i in range(oh):
        first = i * sh - top
        r0, r1 = (first if 0 <= first < h else 0), min(first + kh, h)
        columns = x[:, :, r0].copy()
        for r in range(r0 + 1, r1):
            columns[..., :whole] = maxps(columns[..., :whole], x[:, :, r, :whole])
            columns[..., whole:] = _keep(columns[..., whole:], x[:, :, r, whole:], largest=True)
        edge = (*x.shape[:2], left), (*x.shape[:2], right + kw)
        padded = np.concatenate([np.full(edge[0], LOWEST), columns, np.full(edge[1], LOWEST)], 2)
        for j in range(ow):
            best = padded[:, :, j * sw]
            for s in range(1, kw):
                best = maxps(best, padded[:, :, j * sw + s])
            y[:, :, i, j] = best
    return y


def avg_pool(
    x: np.ndarray,
    kernel,
    window: Window,
    count_include_pad: bool,
    types: tuple[UniformQuantizedType, UniformQuantizedType] | None,
    output_offset: int = 0,
    row_major: bool = False,
) -> np.ndarray:
    """ONNX Runtime's (QLinear)AveragePool arithmetic (DESIGN §2), NCHW.

    `output_offset` shifts the result's raw values during the final rounding (`u8-to-i8`);
    the input side only ever sees `x - zx`, which no shift changes. `row_major`: a float pool
    in ORT's opset-19 loop (`pool_kernel`).
    """
    kh, kw = kernel
    h, w = x.shape[2:]
    global_pool = (kh, kw) == (h, w) and window.pads == (0, 0, 0, 0)
    if types is not None and global_pool:
        tx, ty = types
        n = kh * kw
        acc = x.astype(np.int64).sum(axis=(2, 3), keepdims=True) - n * tx.zero_point
        scale = F32(global_pool_scale(tx.scale, ty.scale, n))
        v = acc.astype(F32) * scale
        return to_storage(
            saturate_round(v, np.int64(ty.zero_point), storage_of(ty), RoundMode.HALF_TO_EVEN), ty
        )
    if types is None:
        return avg_pool_float(x.astype(F32), kernel, window, count_include_pad, row_major)
    tx, ty = types
    sx, sy = average_pool_scales(tx.scale, ty.scale)
    taps = F32(sx) * (
        _windows(x.astype(np.int64), kh, kw, window, tx.zero_point) - tx.zero_point
    ).astype(F32)
    avg = _row_major_average(taps, x.shape, kernel, window, count_include_pad)
    v = (avg / F32(sy)).astype(F32) + F32(ty.zero_point + output_offset)
    y = np.clip(np.rint(v.astype(np.float64)), ty.qmin + output_offset, ty.qmax + output_offset)
    return to_storage(y - output_offset, ty)


def _row_major_average(taps, shape, kernel, window: Window, count_include_pad: bool):
    """The in-image taps of each window summed in row-major order from +0, / the count."""
    kh, kw = kernel
    inside = _windows(np.ones(shape, dtype=np.int64), kh, kw, window, 0)
    total = np.zeros(taps.shape[:4], dtype=F32)
    for i in range(kh):
        for j in range(kw):
            total = total + np.where(inside[..., i, j] > 0, taps[..., i, j], F32(0))
    count = np.full(total.shape, kh * kw) if count_include_pad else inside.sum(axis=(4, 5))
    return (total / count.astype(F32)).astype(F32)


def avg_pool_float(
    x: np.ndarray, kernel, window: Window, count_include_pad: bool, row_major: bool = False
) -> np.ndarray:
    """float32 AveragePool as ONNX Runtime's kernels sum it (qdialect/float_sum.py,
    `PoolKernel`), NCHW."""
    (kh, kw), (h, w) = kernel, x.shape[2:]
    order = pool_kernel(
        tuple(kernel), (h, w), window.strides, window.dilations, window.pads, row_major
    )
    if order is PoolKernel.ROWS:
        taps = _windows(x, kh, kw, window, F32(0))
        return _row_major_average(taps, x.shape, kernel, window, count_include_pad)
    if order is PoolKernel.GLOBAL:
        flat = x.reshape(*x.shape[:2], h * w)
        whole = flat.shape[-1] // 4 * 4
        lanes = np.zeros((*x.shape[:2], 4), F32)
        for i in range(0, whole, 4):
            lanes = lanes + flat[..., i : i + 4]
        total = pair_sum(lanes)
        for i in range(whole, h * w):
            total = total + flat[..., i]
        return (total / F32(h * w))[..., None, None]
    (sh, sw), (top, left, bottom, right) = window.strides, window.pads
    oh = (h + top + bottom - kh) // sh + 1
    ow = (w + left + right - kw) // sw + 1
    y = np.empty((*x.shape[:2], oh, ow), F32)
    zeros = np.zeros((*x.shape[:2], left), F32)
    for i in range(oh):
        first = i * sh - top
        r0, r1 = (first if 0 <= first < h else 0), min(first + kh, h)
        columns = x[:, :, r0]
        for r in range(r0 + 1, r1):
            columns = columns + x[:, :, r]
        padded = np.concatenate([zeros, columns, np.zeros((*x.shape[:2], right + kw), F32)], 2)
        for j in range(ow):
            total = padded[:, :, j * sw]
            for s in range(1, kw):
                total = total + padded[:, :, j * sw + s]
            if count_include_pad:
                count = kh * kw
            else:
                count = (min(j * sw + kw, left + w) - max(j * sw, left)) * (r1 - r0)
            y[:, :, i, j] = total / F32(max(count, 1))
    return y


# ----------------------------------------------------------------------------- observation


def extremes(x: np.ndarray) -> np.ndarray:
    """`qnn.observe`: [nanmin(x), nanmax(x), nanmin(|x|), ReduceMin(x), ReduceMax(x)] as
    float32. The first three: NaN when every value is NaN, a zero extreme +0.0 (the kernel
    keeps whichever zero its lanes meet first, so the sign of a zero is not part of them). The
    last two are ONNX Runtime's (`ort_reduce`). An empty tensor gives zeros."""
    v = np.asarray(x, dtype=np.float32).ravel()
    if v.size == 0:
        return np.zeros(EXTREMES, np.float32)
    reduced = [ort_reduce(v, largest=False), ort_reduce(v, largest=True)]
    numbers = v[~np.isnan(v)]
    if numbers.size == 0:
        return np.array([np.nan] * 3 + reduced, np.float32)
    nan_aware = np.array([numbers.min(), numbers.max(), np.abs(numbers).min()], np.float32)
    return np.concatenate([nan_aware + np.float32(0.0), np.array(reduced, np.float32)])


def _keep(a: np.ndarray, b: np.ndarray, largest: bool) -> np.ndarray:
    """Eigen's `pmin(a, b)` (`pmax`) and `std::min(a, b)` (`std::max`): b where b is strictly
    smaller (larger), else a, so a NaN on either side keeps a."""
    return np.where(b > a if largest else b < a, b, a)


def _keep_rows(rows: np.ndarray, largest: bool) -> np.ndarray:
    """Each column of `rows` folded down by `_keep`: NaN if it starts with NaN, else its
    first value equal to the best of its numbers (later NaN lose every comparison)."""
    first = rows[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
        best = np.nanmax(rows, axis=0) if largest else np.nanmin(rows, axis=0)
    hit = rows == best
    chosen = rows[np.argmax(hit, axis=0), np.arange(rows.shape[1])]
    return np.where(np.isnan(first) | ~hit.any(axis=0), first, chosen)


def ort_reduce(v: np.ndarray, largest: bool) -> np.float32:
    """ONNX Runtime's ReduceMin (ReduceMax: `largest`) over a whole non-empty float32 tensor,
    as its calibrator's augmented graph computes it: Eigen's `minCoeff` on SSE packets of 4
    (`redux_impl`, the data 16-byte aligned). Two packet accumulators start from elements 0-3
    and 4-7 and fold every 8 elements after; they are combined, the packet at 8k..8k+3 left
    over is folded in, the four lanes reduce as (l0, l2), (l1, l3), then the pair; then the
    elements past the last packet one by one (fewer than 4 elements: one by one from the
    first). Every step is `_keep`, so a NaN is kept only where it starts a fold: the result
    is NaN when element 0 is, and a NaN elsewhere can hide a lane's values. Checked against
    ONNX Runtime 1.31 (tests/numeric/test_observe.py)."""
    v = v.ravel()
    n, packets = v.size, v.size // 4 * 4
    if packets == 0:
        return F32(_keep_rows(v[:, None], largest)[0])
    lanes = v[:4]
    if packets > 4:
        pairs = n // 8 * 8
        both = _keep_rows(v[:pairs].reshape(-1, 8), largest)
        lanes = _keep(both[:4], both[4:], largest)
        if packets > pairs:
            lanes = _keep(lanes, v[pairs : pairs + 4], largest)
    halves = _keep(lanes[:2], lanes[2:], largest)
    result = _keep(halves[0], halves[1], largest)
    return F32(_keep_rows(np.concatenate([[result], v[packets:]])[:, None], largest)[0])
