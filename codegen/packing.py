"""Weight layouts of the fast integer kernels, and the bounds that make them exact.

The GEMM micro-kernel (templates/gemm.c.j2) multiplies int16 pairs with `vpmaddwd`: a packed
weight block holds, for a pair of reduction steps `k = 2p, 2p + 1` and 16 output channels, the
values `w - zw` interleaved as `[p][n][2]`. Both operands are already zero-point corrected, so a
padded tap or a padded channel is a real zero and no correction term is needed; int16 holds
every difference of two 8-bit values, and `vpmaddwd` never saturates (it sums two products into
int32). Weights that are constants are packed here, once, when the function is emitted; weights
passed as arguments are packed by C code that writes exactly the same layout.
"""

from __future__ import annotations

import numpy as np

from qdialect.float_sum import SumOrder

MR = 6  # rows of the micro-kernel (output pixels / GEMM rows)
NR = 16  # columns of the micro-kernel (output channels): two AVX2 vectors of int32
INT32_MAX = 2**31 - 1
# The GEMV kernel sums u·v with u = x + offset in [0, 255] and v in [-128, 127] in int32:
# K·255·128 plus the zero-point correction stay below 2^31 up to this K.
GEMV_MAX_K = 1 << 15
# vpmaddubsw adds two products u·v (u in [0, 255], v int8) into a saturating int16: a pair
# cannot saturate iff 255·(|v0| + |v1|) <= 32767, i.e. |v0| + |v1| <= 128 (255·128 = 32640).
MADDUBS_PAIR_BOUND = (2**15 - 1) // 255
# The sign-magnitude kernels multiply |s| (s = x + offset in [-128, 127], so |s| <= 128) by
# v · sign(s) (`vpsignb`): exact for every |v| <= 127, since a pair sum is then at most
# 2 · 128 · 127 = 32512 and negating v cannot wrap. Only v = -128 is out.
SIGN_BOUND = 127


def exact_in_int16_pairs(x_range: int, w_range: int, k: int) -> bool:
    """True if `Σ_k (x - zx)(w - zw)` cannot leave int32 and both factors fit int16.

    `x_range`, `w_range` bound |x - zx| and |w - zw|; the int16-pair kernels are used only then
    (16-bit storage and enormous reductions take the generic int64 kernel).
    """
    return x_range <= 2**15 - 1 and w_range <= 2**15 - 1 and k * x_range * w_range <= INT32_MAX


def gemm_weights(w: np.ndarray, w_zp: list[int], layout: str, groups: int) -> np.ndarray:
    """Weights as the (K, N) matrices of each group, reduction order (kh, kw, c) for convs.

    `layout` is "dot" (w is K×O), "nchw" (O×C×KH×KW) or "nhwc" (O×KH×KW×C). Returns shape
    (groups, K, O / groups) holding `w - zw[o]`: int16 for 8-bit weights (every difference of two
    8-bit values fits, and a ResNet-18's 11 M weights then take 22 MB of temporaries instead of
    88), else int64.
    """
    narrow = w.dtype.itemsize == 1 and all(-(2**8) < z < 2**8 for z in w_zp)
    w = w.astype(np.int16 if narrow else np.int64)
    if layout == "dot":
        mats = w.T[None]  # (1, O, K)
    else:
        if layout == "nchw":
            w = w.transpose(0, 2, 3, 1)
        mats = w.reshape(groups, w.shape[0] // groups, -1)  # (G, Og, K)
    zero = np.asarray(w_zp, dtype=w.dtype).reshape(groups, -1, 1) if len(w_zp) > 1 else w_zp[0]
    return (mats - zero).astype(w.dtype, copy=False).transpose(0, 2, 1)


def quads_fit(mats: np.ndarray) -> bool:
    """True if the u8 x s8 tile of gemm.c.j2 can hold these (G, K, N) weights `w - zw` with
    `vpdpbusd` (no int16 step): every value is int8, and K is short enough that `Σ u v` (u in
    [0, 255]) and its correction stay in int32."""
    if mats.size == 0 or mats.shape[1] > GEMV_MAX_K:
        return False
    return bool(mats.min() >= -128 and mats.max() <= 127)


def maddubs_exact(mats: np.ndarray) -> bool:
    """True if the u8 x s8 `vpmaddubsw` kernel of gemm.c.j2 is exact on these (G, K, N) weights
    `w - zw`: they fit the tile (quads_fit) and, for every column and every pair `k = 2p, 2p + 1`
    that the kernel multiplies together (K zero-padded to whole quads), `|v0| + |v1| <=
    MADDUBS_PAIR_BOUND`, so no int16 pair sum saturates whatever the activations are."""
    if not quads_fit(mats):
        return False
    magnitude = np.abs(mats)
    even = mats.shape[1] // 2 * 2  # an odd K's last k pairs with a zero
    pairs = magnitude[:, 0:even:2] + magnitude[:, 1:even:2]
    last = magnitude[:, even:].max(initial=0)
    return int(max(pairs.max(initial=0), last)) <= MADDUBS_PAIR_BOUND


def sign_exact(mats: np.ndarray) -> bool:
    """True if the sign-magnitude `vpmaddubsw` kernels of gemm.c.j2 are exact on these
    (G, K, N) weights `w - zw`: every |v| <= SIGN_BOUND (symmetric int8 weights, as ONNX
    Runtime quantizes them) and K short enough that `Σ s v` and its correction stay in int32."""
    return mats.size > 0 and mats.shape[1] <= GEMV_MAX_K and int(np.abs(mats).max()) <= SIGN_BOUND


def pack_gemm(
    mats: np.ndarray, dtype: type = np.int16, depth: int = 2, kpad: int | None = None
) -> np.ndarray:
    """(G, K, N) → blocks (G, ceil(N/NR), KPAD/depth, NR, depth) of `dtype` (int16, or int8
    when every value fits), zero-padded: depth 2 for the `vpmaddwd` pairs, 4 for the
    `vpmaddubsw` quads (whose pairs are again `k = 2p, 2p + 1`). KPAD is K rounded up to
    `depth` unless given (the AMX tiles take whole 64-byte rows of k). A block of quads is the
    layout AMX reads as its B tile: a row per quad, 16 columns × 4 bytes."""
    groups, k, n = mats.shape
    kpad, npad = kpad or -(-k // depth) * depth, -(-n // NR) * NR
    padded = np.zeros((groups, kpad, npad), dtype=dtype)
    padded[:, :k, :n] = mats
    blocks = padded.reshape(groups, kpad // depth, depth, npad // NR, NR)
    return np.ascontiguousarray(blocks.transpose(0, 3, 1, 4, 2))


def pack_depthwise(w: np.ndarray, w_zp: list[int], layout: str) -> np.ndarray:
    """Depthwise weights as int16 `[kh][kw][o]` (`w - zw[o]`): one tap is a contiguous vector
    over output channels."""
    w = w.astype(np.int64)
    if layout == "nchw":  # (O, 1, KH, KW)
        w = w.transpose(0, 2, 3, 1)
    zero = np.asarray(w_zp, dtype=np.int64).reshape(-1, 1, 1, 1) if len(w_zp) > 1 else w_zp[0]
    return np.ascontiguousarray((w - zero)[..., 0].transpose(1, 2, 0).astype(np.int16))


def gemv_corrections(mats: np.ndarray, zero: int) -> list[int]:
    """`zero · Σ_k v[k, n]` per output channel, padded to whole NR blocks: the GEMV kernel
    multiplies `u = x + offset` instead of `x - zx`, and `Σ (x - zx) v = Σ u v - zero Σ v`
    with `zero = zx + offset`."""
    k, n = mats.shape
    sums = np.zeros(-(-n // NR) * NR, dtype=np.int64)
    sums[:n] = mats.sum(axis=0)
    return [int(v) for v in sums * zero]


def depthwise_pairs(packed: np.ndarray, rows: int, pairs: int, c0s: list[int]) -> np.ndarray:
    """Weights of the NHWC row-pair depthwise kernel from `pack_depthwise`'s `[kh][kw][o]`:
    `[k][s][block][q][c][h]` int16, the weight of tap row `2k + h - q` (zero outside the
    kernel) for output row offset `q` and channel `c0s[block] + c` (8 channels a block)."""
    kh, kw, _ = packed.shape
    out = np.zeros((pairs, kw, len(c0s), rows, 8, 2), dtype=np.int16)
    for k in range(pairs):
        for q in range(rows):
            for h in range(2):
                r = 2 * k + h - q
                if 0 <= r < kh:
                    for b, c0 in enumerate(c0s):
                        out[k, :, b, q, :, h] = packed[r][:, c0 : c0 + 8]
    return out


CACHE_LINE = 64


def line_aligned_floats(count: int) -> np.ndarray:
    """`count` uninitialised float32 values starting on a cache line, as runtime.native hands
    constants to the C (numpy aligns to 16 bytes only), so a packed constant made in one is
    handed in without a second copy (runtime.native.cache_line_aligned; codegen cannot import
    the runtime, and the runtime's load path must not import codegen)."""
    raw = np.empty(count + CACHE_LINE // 4, dtype=np.float32)
    start = (-raw.ctypes.data % CACHE_LINE) // 4
    return raw[start : start + count]


def float_panels(
    w: np.ndarray, layout: str, groups: int, nr: int, order: SumOrder | None = None
) -> np.ndarray:
    """float32 weights as the panels of fgemm.c.j2: `[group][channel block][k][nr]`, the taps k
    in the reference's order (a conv's `order.tap`), channels past the last zero-padded.

    `layout` is "dot" (w is K×O), "nchw" (O×C×KH×KW) or "nhwc" (O×KH×KW×C)."""
    w = np.asarray(w, dtype=np.float32)
    if layout == "dot":
        mats = w[None]  # (1, K, O)
    else:
        if layout == "nhwc":
            w = w.transpose(0, 3, 1, 2)
        _, c, kh, kw = w.shape
        k = c * kh * kw
        mats = w.reshape(groups, w.shape[0] // groups, k).transpose(0, 2, 1)  # (G, K, Og)
        if order is not None and order.channels:
            taps = order.tap(np.arange(k), c, kh, kw)
            mats = mats[:, (taps[0] * kh + taps[1]) * kw + taps[2]]
    g, k, n = mats.shape
    blocks = -(-n // nr)
    panels = line_aligned_floats(g * blocks * k * nr)
    view = panels.reshape(g, blocks, k, nr)
    whole = n // nr * nr
    view[:, : n // nr] = mats[:, :, :whole].reshape(g, k, n // nr, nr).transpose(0, 2, 1, 3)
    if whole < n:  # the last block: its channels, then zeros
        view[:, -1, :, : n - whole] = mats[:, :, whole:]
        view[:, -1, :, n - whole :] = 0.0
    return panels
