"""ONNX Runtime's cubic Resize (`ResizeBiCubic`, upsample.cc of onnxruntime 1.31), as numbers:
which four input rows (columns) and which four Keys coefficients each output row (column) reads,
and the order ORT combines them in (measured: 0 differing bits over 5.8 million outputs, NaN
signs included).

Per axis, in float32: the coordinate transform (`bilinear.original_coordinates`), its floor
`base` and fraction `s`, the coefficients of `|s|` (`_coefficients`, ORT's association), the
taps `base - 1 .. base + 2` clamped to the input; with `exclude_outside` the coefficients of taps
outside the input are zeroed and their sum `((c0 + c1) + c2) + c3` kept (else 1). Per output:

    for each of the 4 rows:  r = 0;  r = (cx[j] / sx) · x[row][col_j] + r  over the 4 columns
    result = 0;  result = (r · cy[i]) / sy + result  over the rows

(each addition keeps the new term's NaN, x86's `addss term, acc`). An output of the input's
size is the input itself (ORT copies it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qdialect.bilinear import original_coordinates
from qdialect.float32_arrays import x86_add

F32 = np.float32


@dataclass(frozen=True)
class CubicTaps:
    """Per output index along one axis: four input indices, their coefficients, and the
    coefficients' sum (1 without `exclude_outside`)."""

    indices: np.ndarray  # int64 [out, 4]
    coefficients: np.ndarray  # float32 [out, 4]
    sums: np.ndarray  # float32 [out]


def _coefficients(s: np.ndarray, a: float) -> np.ndarray:
    """`GetCubicCoeffs`: Keys' four weights of the fraction `s`, float32, ORT's association."""
    a, s = F32(a), np.abs(s).astype(F32)
    one, two, three = F32(1), F32(2), F32(3)
    a5, a8, a4 = F32(5) * a, F32(8) * a, F32(4) * a

    def outer(t):
        return ((a * t - a5) * t + a8) * t - a4

    def inner(t):
        return ((a + two) * t - (a + three)) * t * t + one

    return np.stack([outer(s + one), inner(s), inner(one - s), outer(two - s)], axis=1)


def cubic_taps(
    out_len: int, in_len: int, scale: float, mode: str, a: float, exclude_outside: bool
) -> CubicTaps:
    coordinate = original_coordinates(out_len, in_len, scale, mode)
    base = np.floor(coordinate).astype(np.int64)
    with np.errstate(all="ignore"):
        weights = _coefficients((coordinate - base.astype(F32)).astype(F32), a).astype(F32)
    taps = base[:, None] + np.arange(-1, 3)
    sums = np.ones(out_len, F32)
    if exclude_outside:
        weights = np.where((taps < 0) | (taps >= in_len), F32(0), weights).astype(F32)
        sums = np.zeros(out_len, F32)
        for k in range(4):
            sums = (sums + weights[:, k]).astype(F32)
    return CubicTaps(np.clip(taps, 0, in_len - 1), weights, sums)


def column_weights(columns: CubicTaps) -> np.ndarray:
    """The columns' coefficients divided by their sum (ORT divides before it multiplies)."""
    with np.errstate(all="ignore"):
        return (columns.coefficients / columns.sums[:, None]).astype(F32)


def resize_cubic(x: np.ndarray, rows: CubicTaps, columns: CubicTaps) -> np.ndarray:
    """float32 [N, C, H, W] resized to the taps' lengths, in ORT's order (module docstring)."""
    x = np.asarray(x, F32)
    weights = column_weights(columns)
    out = np.empty((*x.shape[:2], len(rows.sums), len(columns.sums)), F32)
    with np.errstate(all="ignore"):
        for o in range(len(rows.sums)):
            result = np.zeros((*x.shape[:2], len(columns.sums)), F32)
            for i in range(4):
                row = x[:, :, rows.indices[o, i], :]
                r = np.zeros_like(result)
                for j in range(4):
                    r = x86_add((weights[:, j] * row[:, :, columns.indices[:, j]]).astype(F32), r)
                term = ((r * rows.coefficients[o, i]).astype(F32) / rows.sums[o]).astype(F32)
                result = x86_add(term, result)
            out[:, :, o, :] = result
    return out
