"""`qnn.weight_only_dot` in the reference interpreter: the order of float32 operations
`qdialect.qnn.weight_only` fixes, with C's `fmaf` (`f32math.fmaf`), vectorised over rows and
columns (each output's own sequence of roundings is the documented one)."""

from __future__ import annotations

import numpy as np

from qdialect import qnn
from qdialect.qnn.weight_only import block_params, k_block
from runtime.reference.f32math import F32, fmaf
from runtime.reference.interpreter import Frame, handles, qtype


def weight_only_dot(
    x: np.ndarray, q: np.ndarray, scales: np.ndarray, zeros: np.ndarray, block: int,
    bias: np.ndarray | None,
) -> np.ndarray:  # fmt: skip
    """x [M, K] float32, q [K_w, N] stored integers (K_w: K or K padded to whole blocks),
    scales / zeros one row per block; the last block's sum stops at K."""
    x = np.asarray(x, dtype=F32)
    k = x.shape[1]
    y = np.zeros((x.shape[0], q.shape[1]), dtype=F32)
    for b in range(len(scales)):
        t = np.zeros_like(y)
        for kk in range(b * block, min((b + 1) * block, k)):
            w = (q[kk].astype(np.int64) - zeros[b]).astype(F32)
            t = fmaf(x[:, kk : kk + 1], w[None, :], t)
        y = fmaf(t, scales[b][None, :], y)
    if bias is not None:
        y = (y + np.asarray(bias, dtype=F32)[None, :]).astype(F32)
    return y


@handles(qnn.WeightOnlyDotOp)
def _weight_only_dot(op: qnn.WeightOnlyDotOp, frame: Frame) -> list[np.ndarray]:
    wq = qtype(op.weight)
    rows, n = op.weight.type.get_shape()  # type: ignore[union-attr]
    block = k_block(wq, rows)
    scales, zeros = block_params(wq, rows, n)
    bias = frame[op.bias] if op.bias is not None else None
    return [weight_only_dot(frame[op.input], frame[op.weight], scales, zeros, block, bias)]
