"""SmoothQuant's numbers as Intel Neural Compressor's ONNX adaptor computes them (2.x:
`adaptor/ox_utils/calibration.py` `_get_max_per_channel`, `adaptor/ox_utils/smooth_quant.py`
`_get_smooth_scales` / `_get_smooth_scale`), in the float32 INC computes them in.

An op y = X·W with a constant W computes the same y from X/s and W scaled by s along its input
channels; s_j = max|X_j|^α / max|W_j|^(1−α) evens out the channels' ranges so an activation
with a few outlier channels quantizes with less error, the difficulty moving into the weights.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

PERCENTILE = 99.999  # INC's default: the activation "max" leaves out the top 0.001 %
CLIP = 1e-5  # INC's floor on max|W_j|^(1-α) and on s_j


def channel_rows(data: np.ndarray) -> np.ndarray:
    """|X| of one sample as rows of input channels, as INC lays them out: rank 2 as is, rank 3
    ([batch, seq, channels]) flattened to rows, rank 4 (NCHW) with axes 1 and -1 swapped."""
    if data.ndim == 3:
        return np.abs(np.reshape(data, (-1, data.shape[-1])))
    if data.ndim == 4:
        swapped = np.swapaxes(data, 1, -1)
        return np.abs(np.reshape(swapped, (-1, swapped.shape[-1])))
    if data.ndim == 2:
        return np.abs(data)
    raise ValueError(f"SmoothQuant takes activations of rank 2, 3 or 4, got rank {data.ndim}")


def channel_max(samples: Sequence[np.ndarray], percentile: float = PERCENTILE) -> np.ndarray:
    """max|X_j| over the samples: numpy's (linear) percentile of |X| per channel, in float32."""
    rows = np.concatenate([channel_rows(s) for s in samples], axis=0)
    return np.percentile(rows, percentile, axis=0).astype(np.single)


def input_channel_rows(weight: np.ndarray, depthwise: bool) -> np.ndarray:
    """A weight with its input channels first: a conv's OIHW becomes IOHW (a depthwise conv's
    output channel is its input channel, so its weight stays); a [K, N] matrix is already so."""
    if weight.ndim == 4 and not depthwise:
        return np.moveaxis(weight, 0, 1)
    return weight


def smooth_scale(act_max: np.ndarray, weight_rows: np.ndarray, alpha: float) -> np.ndarray:
    """s_j = clip(max|X_j|^α / clip(max|W_j|^(1−α), 1e-5), 1e-5), all float32."""
    w = np.abs(weight_rows.reshape(weight_rows.shape[0], -1))
    w_max = np.amax(w, axis=-1)
    input_power = np.power(act_max, alpha)
    weight_power = np.clip(np.power(w_max, 1 - alpha), a_min=CLIP, a_max=None)
    return np.clip(input_power / weight_power, a_min=CLIP, a_max=None)
