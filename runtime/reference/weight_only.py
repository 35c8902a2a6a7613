"""`qnn.weight_only_dot` in the reference interpreter: the order of float32 operations
`qdialect.qnn.weight_only` fixes, with C's `fmaf` (`f32math.fmaf`), vectorised over rows and
columns (each output's own sequence of roundings is the documented one)."""

from __future__ import annotations

import numpy as np

from qdialect import qnn
from qdialect.qnn.weight_only import k_block
from runtime.reference.f32math import F32, fmaf
from runtime.reference.interpreter import Frame, handles, qtype
from runtime.reference.kernels import params_of


def weight_only_dot(
    x: np.ndarray, q: np.ndarray, scales: np.ndarray, zeros: np.ndarray, block: int,
    bias: np.ndarray | None,
) -> np.ndarray:  # fmt: skip
    """x [M, K] float32, q [K, N] stored integers, scales / zeros one row per block of K."""
    x = np.asarray(x, dtype=F32)
    k = x.shape[1]
    y = np.zeros((x.shape[0], q.shape[1]), dtype=F32)
    for b in range(k // block):
        t = np.zeros_like(y)
        for kk in range(b * block, (b + 1) * block):
            w = (q[kk].astype(np.int64) - zeros[b]).astype(F32)
            t = fmaf(x[:, kk : kk + 1], w[None, :], t)
        y = fmaf(t, scales[b][None, :], y)
    if bias is not None:
        y = (y + np.asarray(bias, dtype=F32)[None, :]).astype(F32)
    return y


def block_params(op: qnn.WeightOnlyDotOp) -> tuple[np.ndarray, np.ndarray, int]:
    """(scales, zero points) of the weight type as [K / block, N], and the block size."""
    wq = qtype(op.weight)
    k, n = op.weight.type.get_shape()  # type: ignore[union-attr]
    block = k_block(wq, k)
    p = params_of(wq, 2)
    scales = np.broadcast_to(p.scale, (k, n))[::block]
    zeros = np.broadcast_to(p.zero, (k, n))[::block]
    return np.ascontiguousarray(scales), np.ascontiguousarray(zeros), block


@handles(qnn.WeightOnlyDotOp)
def _weight_only_dot(op: qnn.WeightOnlyDotOp, frame: Frame) -> list[np.ndarray]:
    scales, zeros, block = block_params(op)
    bias = frame[op.bias] if op.bias is not None else None
    return [weight_only_dot(frame[op.input], frame[op.weight], scales, zeros, block, bias)]
