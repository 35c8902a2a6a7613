"""Block-wise weight quantization as ONNX Runtime's `MatMulNBitsQuantizer` does it, and the
`MatMulNBits` weight layout.

ORT's default weight-only recipe is MLAS's `MlasQuantizeBlockwise` (onnxruntime/core/mlas/lib/
q4_dq.cpp, `BlockwiseQuantizer::quantizeAndTranspose`), all in float32, one block of
`block_size` consecutive rows of one column of the [K, N] weight at a time (K padded with zeros
to whole blocks):

- asymmetric (`range2scalezp`): `lo = min(min, 0)`, `hi = max(max, 0)`,
  `s = fl((hi - lo) / (2^bits - 1))`, `zp = roundf(clamp(0 - lo / s, 0, 2^bits - 1))` (0 when
  `s == 0`);
- symmetric (`range2scale`): `m` = the one of max/min with the larger magnitude,
  `s = fl(-m / 2^(bits-1))`, zero point 2^(bits-1) (implied: no zero-point input);
- values: `q = clamp(roundf(fl(fl(v * r) + zp)), 0, 2^bits - 1)` with `r = fl(1 / s)` (0 when
  `s == 0`), `roundf` rounding ties away from zero.

`MatMulNBits` stores the result transposed: B is uint8 [N, k_blocks, blob] with the values of a
block packed little end first (two 4-bit values a byte), scales [N, k_blocks], zero points
uint8 [N, ceil(k_blocks * bits / 8)] packed the same way (a missing last nibble holds 8, as
MLAS leaves it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

F32 = np.float32


@dataclass(frozen=True)
class BlockQuantized:
    """A [K, N] weight quantized in blocks along K: `q` [K_padded, N] unpacked unsigned values,
    `scales` and `zero_points` [k_blocks, N] (the zero points are the implied midpoint when
    `symmetric`)."""

    q: np.ndarray
    scales: np.ndarray
    zero_points: np.ndarray
    bits: int
    block_size: int
    symmetric: bool


def roundf(v: np.ndarray) -> np.ndarray:
    """C's `roundf`: to nearest, ties away from zero (exact on float32 inputs)."""
    v64 = np.asarray(v, dtype=np.float64)
    return np.sign(v64) * np.floor(np.abs(v64) + 0.5)


def quantize_blockwise(
    w: np.ndarray, bits: int, block_size: int, symmetric: bool
) -> BlockQuantized:
    """`MlasQuantizeBlockwise<float, bits>` on a float32 [K, N] weight (see the module doc)."""
    w = np.asarray(w, dtype=F32)
    k, n = w.shape
    blocks = -(-k // block_size)
    padded = np.zeros((blocks * block_size, n), dtype=F32)
    padded[:k] = w
    grouped = padded.reshape(blocks, block_size, n)
    lo, hi = grouped.min(axis=1), grouped.max(axis=1)
    qmax, mid = (1 << bits) - 1, 1 << (bits - 1)
    if symmetric:
        m = np.where(np.abs(hi) > np.abs(lo), hi, lo)
        scales = (-m / F32(mid)).astype(F32)
        zps = np.full((blocks, n), mid, dtype=np.int64)
    else:
        lo, hi = np.minimum(lo, F32(0)), np.maximum(hi, F32(0))
        scales = ((hi - lo) / F32(qmax)).astype(F32)
        with np.errstate(divide="ignore", invalid="ignore"):
            zp_fp = np.where(scales != 0, F32(0) - lo / scales, lo).astype(F32)
        zps = roundf(np.clip(zp_fp, 0, qmax)).astype(np.int64)
    with np.errstate(divide="ignore"):
        recip = np.where(scales != 0, F32(1) / scales, F32(0)).astype(F32)
    v = (grouped * recip[:, None, :]).astype(F32) + zps[:, None, :].astype(F32)
    q = np.clip(roundf(v.astype(F32)), 0, qmax).astype(np.uint8).reshape(-1, n)
    _mlas_padding(q, k, bits, block_size)
    return BlockQuantized(q, scales, zps, bits, block_size, symmetric)


def _mlas_padding(q: np.ndarray, k: int, bits: int, block_size: int) -> None:
    """The rows past K as MLAS leaves them: 0 (never written), except that with 4 bits and K
    odd the nibble sharing a byte with row K - 1 repeats the value its pair slot held last
    (row K - 2, unless that pair started MLAS's thread block, whose slots start at 0)."""
    q[k:] = 0
    if bits == 4 and k % 2 and (k - 1) % (2 * block_size):
        q[k] = q[k - 2]


def pack_values(values: np.ndarray, bits: int) -> np.ndarray:
    """Unsigned values along the last axis packed into bytes, the first in the low bits."""
    per = 8 // bits
    v = np.asarray(values, dtype=np.uint8)
    pad = -v.shape[-1] % per
    if pad:
        fill = np.full((*v.shape[:-1], pad), 1 << (bits - 1), dtype=np.uint8)
        v = np.concatenate([v, fill], axis=-1)
    v = v.reshape(*v.shape[:-1], -1, per).astype(np.uint16)
    shifts = (np.arange(per) * bits).astype(np.uint16)
    return (v << shifts).sum(axis=-1).astype(np.uint8)


def unpack_values(packed: np.ndarray, bits: int, count: int) -> np.ndarray:
    """The first `count` values of each row of `packed` (inverse of `pack_values`)."""
    per = 8 // bits
    p = np.asarray(packed, dtype=np.uint8)
    shifts = (np.arange(per) * bits).astype(np.uint8)
    values = (p[..., None] >> shifts) & ((1 << bits) - 1)
    return values.reshape(*p.shape[:-1], -1)[..., :count]


@dataclass(frozen=True)
class NBitsTensors:
    """`MatMulNBits`'s B, scales and zero points (None when symmetric) as ORT's quantizer
    writes them."""

    b: np.ndarray
    scales: np.ndarray
    zero_points: np.ndarray | None


def to_matmul_nbits(quantized: BlockQuantized) -> NBitsTensors:
    """The `MatMulNBits` initializers of a block-quantized weight."""
    n = quantized.q.shape[1]
    blocks = quantized.scales.shape[0]
    q = quantized.q.T.reshape(n, blocks, quantized.block_size)
    b = pack_values(q, quantized.bits)
    zps = None
    if not quantized.symmetric:
        zps = pack_values(quantized.zero_points.T, quantized.bits)
    return NBitsTensors(b, np.ascontiguousarray(quantized.scales.T), zps)


def from_matmul_nbits(
    b: np.ndarray, scales: np.ndarray, zero_points: np.ndarray | None, k: int, n: int,
    bits: int, block_size: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """(q [k_blocks * block_size, N] (K padded to whole blocks, the rows past K as stored),
    scales [k_blocks, N] float32, zero points [k_blocks, N]) from `MatMulNBits` initializers;
    absent zero points are the midpoint 2^(bits-1)."""
    blocks = -(-k // block_size)
    q = unpack_values(np.asarray(b).reshape(n, blocks, -1), bits, block_size)
    q = q.reshape(n, blocks * block_size).T
    s = np.asarray(scales, dtype=F32).reshape(n, blocks).T
    if zero_points is None:
        zps = np.full((blocks, n), 1 << (bits - 1), dtype=np.int64)
    else:
        zps = unpack_values(np.asarray(zero_points).reshape(n, -1), bits, blocks).T
    return np.ascontiguousarray(q), np.ascontiguousarray(s), zps.astype(np.int64)


def positive_scales(
    q: np.ndarray, scales: np.ndarray, zero_points: np.ndarray, bits: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The same weights with every scale positive, as `!quant.uniform` requires (upstream
    refuses scales ≤ 0; ORT's symmetric recipe gives `-max / 2^(bits-1)`, negative for a block
    whose largest magnitude is positive, and an all-zero block gets scale 0).

    A block with s < 0 is stored as `q' = qmax - q`, `zp' = qmax - zp`, `s' = -s`: every
    `q' - zp'` is `-(q - zp)`, so each block sum is negated exactly and `s'·(-t) = s·t` bit for
    bit. A block with s = 0 (it dequantizes to zeros) becomes `q = zp` with scale 1.
    q is [K, N], scales and zero points [K / block, N]."""
    qmax = (1 << bits) - 1
    blocks, n = scales.shape
    grouped = q.reshape(blocks, -1, n)  # broadcasting per block, not repeating: 4096 x 11008
    negative, zero = (scales < 0)[:, None, :], (scales == 0)[:, None, :]
    q = np.where(negative, qmax - grouped, grouped)
    q = np.where(zero, zero_points[:, None, :].astype(q.dtype), q).reshape(-1, n)
    zps = np.where(scales < 0, qmax - zero_points, zero_points)
    s = np.where(scales < 0, -scales, np.where(scales == 0, np.float32(1), scales))
    return q, s.astype(F32), zps
