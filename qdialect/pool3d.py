"""float32 MaxPool and AveragePool of NCDHW tensors (3-D windows) as ONNX Runtime 1.31 computes
them, in numpy: the semantics of `qnn.pool3d`, which the reference runs and `pool3d.c.j2`
spells in C.

ORT takes one of three paths (`onnxruntime/core/providers/cpu/nn/pool.cc`, MLAS `pooling.cpp`):

- LOOP, ORT's own loop: an AveragePool from opset 19 (any window, dilations too) and a dilated
  MaxPool. The in-image taps in row-major (d, h, w) order; the average sums them from +0 and
  divides by the kernel's size (`count_include_pad`) or their count; the maximum starts from
  the first of them and takes a later tap when it is greater (`x > best`: a NaN first stays).
- VECTOR, `MlasPool3DVectorKernel` (the last stride at most 2, every kernel side at most 32, the
  padded row within MLAS's 2048-float buffer): per output (d, h) row, each input column is
  folded over the window's in-image planes and rows from the identity (-FLT_MAX, or +0): four
  columns at a time by `maxps` (`a > v ? a : v`) or an add, the last W mod 4 one at a time by
  `std::max` (`a < v ? v : a`) or an add. Then each output takes the window's columns of that
  row (padding columns hold the identity) from its first by `maxps` or adds, and an average
  divides by the kernel's size or by (in-image columns) · (in-image planes · rows).
- GENERIC, `MlasPool3DKernel`: the in-image taps in row-major order from the identity by
  `std::max` or adds; divided by the kernel's size or the taps' count.

A window the size of the image (stride 1, no padding) is MLAS's global kernel, the 2-D one's
over the flattened image: the importer writes those as 2-D pools (`onnx_import.pool3d`).
"""

from __future__ import annotations

import numpy as np

from qdialect.float32_arrays import F32, LOWEST, maxps, std_max
from qdialect.float_sum import VECTOR_PADDING, Pool3DKernel, Window3D, pool3d_kernel


def _taps(x: np.ndarray, window: Window3D, out: tuple[int, int, int]):
    """(taps, inside): every window's taps [N, C, OD, OH, OW, kd·kh·kw] in row-major order
    (0 where outside the image) and whether each is in the image."""
    begins, ends = window.pads[:3], window.pads[3:]
    extra = window.reach(x.shape[2:], out)
    widths = [(0, 0), (0, 0)] + [(b, e + r) for b, e, r in zip(begins, ends, extra, strict=True)]
    padded = np.pad(x, widths)
    mask = np.pad(np.ones(x.shape[2:], bool), widths[2:])
    taps, inside = [], []
    for i in range(window.kernel[0]):
        for j in range(window.kernel[1]):
            for k in range(window.kernel[2]):
                picks = tuple(
                    slice(t * d, t * d + (o - 1) * s + 1, s)
                    for t, d, o, s in zip(
                        (i, j, k), window.dilations, out, window.strides, strict=True
                    )
                )
                taps.append(padded[(..., *picks)])
                inside.append(mask[picks])
    return np.stack(taps, -1), np.stack(inside, -1)


@np.errstate(all="ignore")  # inf - inf and 0 / 0 are the NaN ORT computes too
def pool3d(
    x: np.ndarray,
    window: Window3D,
    out: tuple[int, int, int],
    maximum: bool,
    count_include_pad: bool,
    loop: bool,
) -> np.ndarray:
    """The float32 pool of `x` [N, C, D, H, W] to [N, C, *out] (module docstring)."""
    x = np.asarray(x, F32)
    kind = pool3d_kernel(window, x.shape[2:], loop)
    if kind is Pool3DKernel.VECTOR:
        return _vector(x, window, out, maximum, count_include_pad)
    taps, inside = _taps(x, window, out)
    count = inside.sum(-1).astype(F32)
    if not maximum:
        total = np.zeros(taps.shape[:-1], F32)
        for t in range(taps.shape[-1]):  # +0 for a tap outside: the sum is never -0
            total = total + np.where(inside[..., t], taps[..., t], F32(0))
        if count_include_pad:  # the taps in the padded image (a ceil_mode window may pass it)
            count = _padded_count(x.shape[2:], window, out)
        return (total / count).astype(F32)
    if kind is Pool3DKernel.GENERIC:
        best = np.full(taps.shape[:-1], LOWEST, F32)
        for t in range(taps.shape[-1]):
            best = np.where(inside[..., t], std_max(best, taps[..., t]), best)
        return best
    best = np.zeros(taps.shape[:-1], F32)
    first = np.ones(best.shape, bool)
    for t in range(taps.shape[-1]):
        here = inside[..., t]
        greater = np.where(taps[..., t] > best, taps[..., t], best)
        best = np.where(here & first, taps[..., t], np.where(here, greater, best))
        first &= ~here
    return best


def _padded_count(image, window: Window3D, out) -> np.ndarray:
    """Per window, its taps inside the image and its declared padding, [OD, OH, OW]."""
    counts = []
    for i in range(3):
        starts = np.arange(out[i]) * window.strides[i] - window.pads[i]
        taps = starts[:, None] + np.arange(window.kernel[i]) * window.dilations[i]
        counts.append((taps < image[i] + window.pads[i + 3]).sum(-1))
    return (counts[0][:, None, None] * counts[1][None, :, None] * counts[2]).astype(F32)


def _vector(x: np.ndarray, window: Window3D, out, maximum: bool, count_include_pad: bool):
    n, c, depth, height, width = x.shape
    (kd, kh, kw), (sd, sh, sw) = window.kernel, window.strides
    pd, ph, left, right = window.pads[0], window.pads[1], window.pads[2], window.pads[5]
    identity = LOWEST if maximum else F32(0)
    lanes = width // 4 * 4
    y = np.empty((n, c, *out), F32)
    for od in range(out[0]):
        d0 = od * sd - pd
        planes = range(max(d0, 0), min(d0 + kd, depth))
        for oh in range(out[1]):
            h0 = oh * sh - ph
            rows = range(max(h0, 0), min(h0 + kh, height))
            columns = np.full((n, c, width), identity, F32)
            for d in planes:
                for h in rows:
                    v = x[:, :, d, h]
                    if maximum:
                        columns[..., :lanes] = maxps(columns[..., :lanes], v[..., :lanes])
                        columns[..., lanes:] = std_max(columns[..., lanes:], v[..., lanes:])
                    else:
                        columns = columns + v
            edges = [np.full((n, c, p), identity, F32) for p in (left, right + VECTOR_PADDING)]
            buffer = np.concatenate([edges[0], columns, edges[1]], -1)
            starts = np.arange(out[2]) * sw
            acc = buffer[..., starts]
            for s in range(1, kw):
                acc = (
                    maxps(acc, buffer[..., starts + s])
                    if maximum
                    else acc + buffer[..., starts + s]
                )
            if not maximum:
                if count_include_pad:
                    divisor = np.full(out[2], kd * kh * kw, F32)
                else:
                    inside = np.minimum(starts + kw, left + width) - np.maximum(starts, left)
                    divisor = np.maximum(inside * (len(planes) * len(rows)), 1).astype(F32)
                acc = (acc / divisor).astype(F32)
            y[:, :, od, oh] = acc
    return y
