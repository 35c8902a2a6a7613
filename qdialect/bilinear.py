"""ONNX Runtime's bilinear Resize, as numbers: which two input rows (columns) and which two
weights each output row (column) reads (`SetupUpsampleBilinear`, upsample.h/.cc of onnxruntime
1.31: the coordinate transform in float32, clamped to the input, its integer part and the next
index, their distances; 0.5 and 0.5 where both indices are the last). The reference interpreter
and the C kernel both read these tables and combine the four taps in ORT's order
(`UpsampleBilinear`): `((dx2·dy2)·x11 + (dx1·dy2)·x21) + (dx2·dy1)·x12 + (dx1·dy1)·x22`.

ORT's NCHWc Upsample (`NchwcUpsample`, `MlasNchwcUpsampleLinear`; its optimized session
behind an NCHWc tensor, whole-number scales) takes other taps (`nchwc_taps`: the coordinate
unclamped above, the next index clamped, weights `f` and `1 - f` of its fraction, even where
both indices are the last) and adds them in pairs:
`((dy2·dx2)·x11 + (dy2·dx1)·x21) + ((dy1·dx2)·x12 + (dy1·dx1)·x22)`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

F32 = np.float32


@dataclass(frozen=True)
class Taps:
    """Per output index along one axis: the two input indices and their weights (`d1` weighs
    the second index, `d2` the first, as ORT names them)."""

    first: np.ndarray  # int64
    second: np.ndarray  # int64
    d1: np.ndarray  # float32
    d2: np.ndarray  # float32


def original_coordinates(out_len: int, in_len: int, scale: float, mode: str) -> np.ndarray:
    """`get_original_coordinate` of every output index, in float32 (the identity at scale 1)."""
    scale32 = F32(scale)
    x = np.arange(out_len, dtype=F32)
    if scale32 == F32(1):
        return x
    if mode == "half_pixel" or (mode == "pytorch_half_pixel" and out_len > 1):
        return ((x + F32(0.5)) / scale32 - F32(0.5)).astype(F32)
    if mode == "half_pixel_symmetric":  # half_pixel shifted to keep the output centred
        adjustment = F32(out_len) / (scale32 * F32(in_len))
        offset = (F32(in_len) / F32(2)) * (F32(1) - adjustment)
        # ORT's literals 0.5 are doubles: the shift's sum is in double, rounded once
        shifted = float(offset) + (x.astype(np.float64) + 0.5) / float(scale32) - 0.5
        return shifted.astype(F32)
    if mode == "pytorch_half_pixel" or (mode == "align_corners" and out_len == 1):
        return np.zeros(out_len, F32)
    if mode == "align_corners":
        return (x * F32(in_len - 1) / F32(out_len - 1)).astype(F32)
    return (x / scale32).astype(F32)  # asymmetric


def bilinear_taps(out_len: int, in_len: int, scale: float, mode: str) -> Taps:
    c = original_coordinates(out_len, in_len, scale, mode)
    c = np.maximum(F32(0), np.minimum(c, F32(in_len - 1)))
    first = np.minimum(c.astype(np.int64), in_len - 1)
    second = np.minimum(first + 1, in_len - 1)
    d1 = np.abs(c - first.astype(F32)).astype(F32)
    d2 = np.abs(c - second.astype(F32)).astype(F32)
    same = first == second
    d1[same], d2[same] = F32(0.5), F32(0.5)
    return Taps(first, second, d1, d2)


def nchwc_taps(out_len: int, in_len: int, scale: float, mode: str) -> Taps:
    """`NchwcUpsample::ComputeInterpolation` and `MlasNchwcExtractInterpolation` along one
    axis: whole-number `scale`, coordinates in float32 (half_pixel's held at 0 or above)."""
    o = np.arange(out_len, dtype=F32)
    if scale == 1:
        c = o
    elif mode == "align_corners":
        c = (o * F32(in_len - 1) / F32(out_len - 1)).astype(F32)
    elif mode == "half_pixel":
        c = np.maximum(F32(0), (o + F32(0.5)) / F32(scale) - F32(0.5)).astype(F32)
    else:  # asymmetric
        c = (o / F32(scale)).astype(F32)
    first = c.astype(np.int64)
    second = np.minimum(first + 1, in_len - 1)
    d1 = (c - first.astype(F32)).astype(F32)
    return Taps(first, second, d1, (F32(1) - d1).astype(F32))


def axis_taps(out_len: int, in_len: int, scale: float, mode: str, nchwc: bool) -> Taps:
    return (nchwc_taps if nchwc else bilinear_taps)(out_len, in_len, scale, mode)


def resize_bilinear(
    x: np.ndarray,
    out_hw: tuple[int, int],
    scales: tuple[float, float],
    mode: str,
    nchwc: bool = False,
) -> np.ndarray:
    """`x` [..., H, W] resized to `out_hw` as ORT's kernel computes it (`nchwc`: its NCHWc
    Upsample): in float32, and for 8-bit (stored) values `static_cast` back, which truncates
    toward zero."""
    h, w = x.shape[-2:]
    ty = axis_taps(out_hw[0], h, scales[0], mode, nchwc)
    tx = axis_taps(out_hw[1], w, scales[1], mode, nchwc)
    y1, y2 = ty.first[:, None], ty.second[:, None]
    x1, x2 = tx.first[None, :], tx.second[None, :]
    dx1, dx2, dy1, dy2 = tx.d1[None, :], tx.d2[None, :], ty.d1[:, None], ty.d2[:, None]
    dtype = x.dtype
    x = x.astype(F32)
    if nchwc:
        top = ((dy2 * dx2) * x[..., y1, x1] + (dy2 * dx1) * x[..., y1, x2]).astype(F32)
        bottom = ((dy1 * dx2) * x[..., y2, x1] + (dy1 * dx1) * x[..., y2, x2]).astype(F32)
        return (top + bottom).astype(F32)
    out = (dx2 * dy2) * x[..., y1, x1] + (dx1 * dy2) * x[..., y1, x2]
    out = out + (dx2 * dy1) * x[..., y2, x1]
    out = (out + (dx1 * dy1) * x[..., y2, x2]).astype(F32)
    return out if dtype == F32 else np.trunc(out).astype(dtype)
