"""Rotary position embedding as ONNX Runtime's CPU kernel computes it (RotaryEmbedding, opset 23:
MLAS's AVX2 rotary kernel, `rotary_embedding_kernel_avx2_fp32.cpp`, as the 1.31.1 build runs
it; measured bit for bit, 76 M outputs), shared by `qnn.rotary`'s reference and C kernel.

Each head vector of D elements rotates its first 2·half (the rotary dimension) in pairs, the
rest copied: pair p is (x[p], x[p + half]), or (x[2p], x[2p + 1]) when `interleaved`, with
c = cos[p], s = sin[p] of its token. The kernel fuses one product of each output into the other,
rounding once:

    y1 = fmaf(x1, c, -fl(x2 · s))        y2 = fmaf(x1, s, fl(x2 · c))

An interleaved row's whole blocks of 8 pairs and the first pair after them take that; the
pairs after it, the build's scalar tail, round every step: y1 = fl(x1·c) − fl(x2·s),
y2 = fl(x1·s) + fl(x2·c).
"""

from __future__ import annotations

import numpy as np

from qdialect.float32_arrays import F32, fmaf

BLOCK = 8  # pairs per AVX2 block


def fused_pairs(half: int, interleaved: bool) -> int:
    """How many leading pairs of a row the kernel computes with fused multiply-adds."""
    if not interleaved:
        return half
    return min(half, (2 * half) // (2 * BLOCK) * BLOCK + 1)


def rotary(x: np.ndarray, cos: np.ndarray, sin: np.ndarray, interleaved: bool) -> np.ndarray:
    """`x` [B, H, S, D] rotated by `cos`, `sin` [B, S, half] (module docstring)."""
    x = np.asarray(x, F32)
    half = cos.shape[-1]
    c, s = (np.asarray(v, F32)[:, None, :, :] for v in (cos, sin))
    if interleaved:
        x1, x2 = x[..., 0 : 2 * half : 2], x[..., 1 : 2 * half : 2]
    else:
        x1, x2 = x[..., :half], x[..., half : 2 * half]
    with np.errstate(all="ignore"):
        fused1 = fmaf(x1, c, -(x2 * s).astype(F32))
        fused2 = fmaf(x1, s, (x2 * c).astype(F32))
        plain1 = ((x1 * c).astype(F32) - (x2 * s).astype(F32)).astype(F32)
        plain2 = ((x1 * s).astype(F32) + (x2 * c).astype(F32)).astype(F32)
    fused = np.arange(half) < fused_pairs(half, interleaved)
    y1, y2 = np.where(fused, fused1, plain1), np.where(fused, fused2, plain2)
    out = x.copy()
    if interleaved:
        out[..., 0 : 2 * half : 2], out[..., 1 : 2 * half : 2] = y1, y2
    else:
        out[..., :half], out[..., half : 2 * half] = y1, y2
    return out
