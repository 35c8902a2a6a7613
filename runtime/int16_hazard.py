"""The int16 saturation hazard of a u8 x s8 conv/dot (`vpmaddubsw`), emulated on real inputs.

ONNX Runtime's and PyTorch's u8 x s8 GEMM on AVX2 without VNNI multiply the raw stored bytes
with `vpmaddubsw`: two adjacent products along K, `a[k]*w[k] + a[k+1]*w[k+1]`, are summed
with int16 saturation before `vpmaddwd` widens them to int32 (exactly). With full-range int8
weights a pair reaches 2*255*127 = 64770, far past 32767, so ordinary data gets wrong outputs;
that is why ONNX Runtime recommends `reduce_range` (7-bit weights: at most 255*64*2 = 32640).
Zero points are corrected from row/column sums outside the kernel, so only the raw products
saturate. DESIGN §2 forbids this saturation in our kernels; this module counts what a kernel
that has it would get wrong: both accumulators (exact and pair-saturated) are requantized the
way the reference interpreter does, and the outputs that differ are the hazard.

K order is the kernels' order: a dot's inner dimension; for a conv, ONNX Runtime's NHWC
im2col (`kh, kw, c` with channels innermost, per group), padded taps holding the input zero
point. Pairs start at k = 0; an odd K is padded with a zero product.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qdialect.qnn.modes import RequantMode
from qdialect.types import UniformQuantizedType
from runtime.reference.kernels import requantize_accumulator

INT16_MIN, INT16_MAX = -32768, 32767
CHUNK = 4096  # rows of the (rows, columns, K/2) pair tensor built at once


@dataclass(frozen=True)
class Hazard:
    """How many outputs the saturating kernel gets wrong, and the largest error in output LSB."""

    outputs: int
    max_lsb: int


@dataclass(frozen=True)
class Epilogue:
    """What turns an int32 accumulator into the stored output: scales, bias, output type."""

    input_scale: float
    weight_scales: tuple[float, ...]
    bias: np.ndarray | None  # int32 values, one per output channel
    output: UniformQuantizedType
    relu: bool = False


def pair_sums(rows: np.ndarray, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(exact Σ_k a·w, what int16 pair saturation loses) for rows (M, K) x columns (O, K) of
    raw stored integers; both (M, O) int64."""
    rows, columns = rows.astype(np.int64), columns.astype(np.int64)
    if rows.shape[1] % 2:
        rows = np.pad(rows, ((0, 0), (0, 1)))
        columns = np.pad(columns, ((0, 0), (0, 1)))
    exact = np.empty((rows.shape[0], columns.shape[0]), dtype=np.int64)
    lost = np.empty_like(exact)
    for start in range(0, rows.shape[0], CHUNK):
        a = rows[start : start + CHUNK]
        pairs = (
            a[:, None, 0::2] * columns[None, :, 0::2] + a[:, None, 1::2] * columns[None, :, 1::2]
        )
        exact[start : start + CHUNK] = pairs.sum(-1)
        lost[start : start + CHUNK] = (pairs - np.clip(pairs, INT16_MIN, INT16_MAX)).sum(-1)
    return exact, lost


def _requantize(acc: np.ndarray, epilogue: Epilogue, channel_axis: int) -> np.ndarray:
    if epilogue.bias is not None:
        shape = [1] * acc.ndim
        shape[channel_axis] = -1
        acc = acc + epilogue.bias.astype(np.int64).reshape(shape)
    scales = np.array(epilogue.weight_scales, dtype=np.float64)
    y = requantize_accumulator(
        acc, epilogue.input_scale, scales, epilogue.output, channel_axis, RequantMode.FLOAT
    ).astype(np.int64)
    return np.maximum(y, epilogue.output.zero_point) if epilogue.relu else y


def _hazard(exact: np.ndarray, lost: np.ndarray, epilogue: Epilogue, axis: int) -> Hazard:
    right = _requantize(exact, epilogue, axis)
    wrong = _requantize(exact - lost, epilogue, axis)
    error = np.abs(right - wrong)
    return Hazard(int(np.count_nonzero(error)), int(error.max(initial=0)))


def dot_hazard(
    a: np.ndarray, a_zero: int, w: np.ndarray, w_zero: int, epilogue: Epilogue
) -> Hazard:
    """u8 `a` (..., M, K) x s8 `w` (K, N), raw stored values."""
    k = a.shape[-1]
    rows = a.reshape(-1, k).astype(np.int64)
    columns = w.T.astype(np.int64)
    raw, lost = pair_sums(rows, columns)
    exact = raw - a_zero * columns.sum(1)[None, :] - w_zero * rows.sum(1)[:, None]
    exact = exact + k * a_zero * w_zero
    return _hazard(exact, lost, epilogue, 1)


def conv_rows(x: np.ndarray, zero: int, kernel: tuple[int, int], groups: int, window) -> np.ndarray:
    """NCHW stored input -> (groups, N*OH*OW, KH*KW*C/groups) im2col rows in NHWC K order."""
    (kh, kw), (top, left, bottom, right) = kernel, window.pads
    padded = np.pad(
        x.astype(np.int64), ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=zero
    )
    (sh, sw), (dh, dw) = window.strides, window.dilations
    oh = (padded.shape[2] - dh * (kh - 1) - 1) // sh + 1
    ow = (padded.shape[3] - dw * (kw - 1) - 1) // sw + 1
    taps = np.stack(
        [
            padded[
                :,
                :,
                i * dh : i * dh + sh * (oh - 1) + 1 : sh,
                j * dw : j * dw + sw * (ow - 1) + 1 : sw,
            ]
            for i in range(kh)
            for j in range(kw)
        ]
    )  # (KH*KW, N, C, OH, OW)
    n, c = x.shape[:2]
    taps = taps.reshape(kh * kw, n, groups, c // groups, oh, ow)
    return taps.transpose(2, 1, 4, 5, 0, 3).reshape(groups, n * oh * ow, -1)


def conv_hazard(
    x: np.ndarray, x_zero: int, w: np.ndarray, w_zero: int, groups: int, window, epilogue: Epilogue
) -> Hazard:
    """u8 NCHW `x` conv s8 OIHW `w` (raw stored values), `window` strides/pads/dilations."""
    o, _, kh, kw = w.shape
    rows = conv_rows(x, x_zero, (kh, kw), groups, window)
    columns = w.astype(np.int64).transpose(0, 2, 3, 1).reshape(groups, o // groups, -1)
    exact_parts, lost_parts = [], []
    for g in range(groups):
        raw, lost = pair_sums(rows[g], columns[g])
        k = rows.shape[2]
        exact = raw - x_zero * columns[g].sum(1)[None, :] - w_zero * rows[g].sum(1)[:, None]
        exact_parts.append(exact + k * x_zero * w_zero)
        lost_parts.append(lost)
    exact, lost = np.concatenate(exact_parts, 1), np.concatenate(lost_parts, 1)
    return _hazard(exact, lost, epilogue, 1)
