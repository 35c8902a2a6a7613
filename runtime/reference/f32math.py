"""float32 arithmetic the way C computes it, on numpy arrays.

numpy's float32 operators already round once per operation (like C with -ffp-contract=off).
What numpy lacks is `fmaf`, a fused multiply-add with a single rounding, which ONNX Runtime's
QLinearAdd uses; `qdialect.float32_arrays.fmaf` computes it exactly (re-exported here).
"""

from __future__ import annotations

import numpy as np

from qdialect.float32_arrays import F32, fmaf
from qdialect.qnn.modes import RoundMode
from qdialect.qparams import Storage

__all__ = ["F32", "fmaf", "round_values", "saturate_round"]


ROUNDERS = {
    RoundMode.HALF_TO_EVEN: np.rint,
    RoundMode.TOWARD_ZERO: np.trunc,
    RoundMode.UP: np.ceil,
    RoundMode.DOWN: np.floor,
    RoundMode.AWAY_FROM_ZERO: lambda v: np.where(v >= 0, np.ceil(v), np.floor(v)),
}


def round_values(v: np.ndarray, mode: RoundMode) -> np.ndarray:
    """Round float64 values to integers (still float64) by one of nGraph's nine modes."""
    if mode in ROUNDERS:
        return ROUNDERS[mode](v)
    low = np.floor(v)
    frac = v - low  # exact for doubles
    tie_up = {
        RoundMode.HALF_AWAY_FROM_ZERO: v > 0,
        RoundMode.HALF_TOWARD_ZERO: v < 0,
        RoundMode.HALF_UP: np.ones_like(v, dtype=bool),
        RoundMode.HALF_DOWN: np.zeros_like(v, dtype=bool),
    }[mode]
    return low + ((frac > 0.5) | ((frac == 0.5) & tie_up))


def saturate_round(
    v: np.ndarray, zero: np.ndarray, storage: Storage, mode: RoundMode
) -> np.ndarray:
    """DESIGN §2's tail of quantize: clamp v to [qmin - zp, qmax - zp] in float, round, add zp.

    Clamping happens in float64, where every int32 bound is exact, before any integer
    conversion, so ±inf and 1e30 saturate. NaN becomes qmin.
    """
    v64 = np.asarray(v, dtype=np.float64)
    zero64 = np.asarray(zero, dtype=np.float64)
    clamped = np.clip(v64, storage.qmin - zero64, storage.qmax - zero64)
    rounded = round_values(np.nan_to_num(clamped, nan=0.0), mode) + zero64
    return np.where(np.isnan(v64), storage.qmin, rounded.astype(np.int64))
