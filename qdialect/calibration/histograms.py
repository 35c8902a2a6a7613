"""Which histogram a method needs, its bin edges, and the rule that counts values into it.

Pass 2 of calibration counts every observed value into bins whose edges pass 1 fixed. The edges
here are the ones each peer computes when it sees all samples at once:

- VALUE (ONNX Runtime `HistogramCollector.collect_value`, entropy / distribution / asymmetric
  percentile): `np.histogram(x, bins, range=(-T, T))`, T = float32 max(|min|, |max|);
- ABSOLUTE (`collect_absolute_value`, symmetric percentile): `np.histogram(|x|, bins)`, numpy
  taking the range from min |x| and max |x| (and widening an empty one by +-0.5);
- HISTC (torch `HistogramObserver.forward`, one call): `torch.histc(x, bins, min, max)`, edges
  `torch.linspace(lo, hi, bins + 1)` in float32 after histc's widening of an empty range;
- MINMAX (Glow `generateTensorHistogram`, one call): bins of float32 width w = (max - min) /
  bins from min: edges min + i * w (Glow's `srcBinStart`), the last one max itself.

`count_histogram` is the counting rule of each, in numpy: the reference the observer kernels
are checked against. ONNX Runtime and this module treat NaN alike for VALUE (numpy drops it);
for ABSOLUTE, HISTC and MINMAX the peers fail or misbehave on NaN, and NaN is skipped here.
"""

from __future__ import annotations

import numpy as np

from ..float32 import fmaf
from .options import CalibrationOptions
from .stats import HistogramKind, TensorStats

_F32 = np.float32


def histogram_plan(options: CalibrationOptions) -> tuple[HistogramKind, int] | None:
    """The histogram `options.method` reads (kind, number of bins), or None for minmax."""
    method = options.method
    if method == "minmax":
        return None
    if method == "percentile":
        # HistogramCollector.collect: percentile + symmetric -> collect_absolute_value
        kind = HistogramKind.ABSOLUTE if options.symmetric else HistogramKind.VALUE
        return kind, options.num_bins
    if method in ("entropy", "distribution"):
        return HistogramKind.VALUE, options.num_bins
    if method == "mse":
        return HistogramKind.HISTC, options.num_bins
    return HistogramKind.MINMAX, options.num_bins  # kl-glow


def histogram_edges(kind: HistogramKind, bins: int, stats: TensorStats) -> np.ndarray:
    """The `bins + 1` float32 edges the peer of `kind` uses for all of `stats`' samples at once.

    Raises ValueError where the peer raises: a non-finite range (inf in the data; numpy's
    "supplied range ... is not finite", torch.histc's "range of [...] is not finite"), or more
    bins than the range can hold (numpy's "Too many bins for data range").
    """
    if bins < 1:
        raise ValueError(f"tensor {stats.name!r}: number of bins must be positive, not {bins}")
    lowest, highest = stats.minimum, stats.maximum
    if kind is HistogramKind.VALUE:
        # collect_value: threshold = np.array(max(abs(min_value), abs(max_value)), dtype)
        threshold = np.array(max(abs(lowest), abs(highest)), dtype=_F32)
        return _numpy_edges(stats.name, bins, (-threshold, threshold))
    if kind is HistogramKind.ABSOLUTE:
        # np.histogram(np.absolute(x), bins): range (a.min(), a.max()) of |x|
        abs_max = _F32(max(abs(lowest), abs(highest)))
        return _numpy_edges(stats.name, bins, (_F32(stats.abs_minimum), abs_max))
    if kind is HistogramKind.HISTC:
        lo, hi = histc_outer_edges(stats.name, float(lowest), float(highest))
        return torch_linspace_f32(lo, hi, bins + 1)
    if kind is HistogramKind.MINMAX:
        _require_finite(stats.name, lowest, highest, "Glow's profile asserts finite values")
        width = glow_bin_width(lowest, highest, bins)
        edges = (_F32(lowest) + np.arange(bins + 1, dtype=_F32) * width).astype(_F32)
        edges[-1] = highest
        return edges
    raise ValueError(f"unknown histogram kind {kind!r}")


def count_histogram(kind: HistogramKind, edges: np.ndarray, values: np.ndarray) -> np.ndarray:
    """int64 counts of float32 `values` in the bins `edges` describe, by the peer's rule.

    VALUE / ABSOLUTE: `edges[i] <= x < edges[i+1]`, the last bin closed, values outside and NaN
    dropped (what np.histogram computes; ABSOLUTE counts |x|). HISTC: torch.histc's
    `(int64)((x - lo) * bins / (hi - lo))` in float32, x = hi in the last bin, values outside
    [lo, hi] and NaN dropped. MINMAX: Glow's getBin, `min((size_t)((x - min) / width), bins - 1)`
    (bin 0 when width is 0), NaN dropped.
    """
    x = np.asarray(values, dtype=_F32).reshape(-1)
    edges = np.asarray(edges, dtype=_F32)
    bins = edges.size - 1
    if kind is HistogramKind.ABSOLUTE:
        x = np.abs(x)
    if kind in (HistogramKind.VALUE, HistogramKind.ABSOLUTE):
        x = x[(x >= edges[0]) & (x <= edges[-1])]
        index = np.searchsorted(edges, x, side="right") - 1
        index[index == bins] = bins - 1
        return np.bincount(index, minlength=bins).astype(np.int64)
    if kind is HistogramKind.HISTC:
        lo, hi = edges[0], edges[-1]
        x = x[(x >= lo) & (x <= hi)]
        with np.errstate(over="ignore", invalid="ignore"):
            position = ((x - lo) * _F32(bins)) / (hi - lo)
            index = position.astype(np.int64)
        index[index == bins] = bins - 1
        # torch's int64 cast is undefined when (x - lo) * bins overflows (ranges over ~1e35)
        index = np.clip(index, 0, bins - 1)
        return np.bincount(index, minlength=bins).astype(np.int64)
    if kind is HistogramKind.MINMAX:
        x = x[~np.isnan(x)]
        width = glow_bin_width(edges[0], edges[-1], bins)
        if width == 0:
            return np.array([x.size] + [0] * (bins - 1), dtype=np.int64)
        index = np.minimum(((x - edges[0]) / width).astype(np.int64), bins - 1)
        return np.bincount(index, minlength=bins).astype(np.int64)
    raise ValueError(f"unknown histogram kind {kind!r}")


def glow_bin_width(lowest: np.float32, highest: np.float32, bins: int) -> np.float32:
    """Glow's `float binWidth = (max - min) / nBins` (Profile.cpp)."""
    return _F32(_F32(_F32(highest) - _F32(lowest)) / _F32(bins))


def histc_outer_edges(name: str, lowest: float, highest: float) -> tuple[float, float]:
    """torch.histc's outer edges for min=lowest, max=highest (`histc_select_outer_bin_edges`,
    aten/src/ATen/native/Histogram.cpp): an empty range becomes
    [min(nextafter down, lo - 1), max(nextafter up, hi + 1)] in double, as for float32 input."""
    if lowest == highest:
        down = float(np.nextafter(_F32(lowest), _F32(-np.inf)))
        up = float(np.nextafter(_F32(highest), _F32(np.inf)))
        lowest, highest = min(down, lowest - 1.0), max(up, highest + 1.0)
    if not (np.isfinite(lowest) and np.isfinite(highest)):
        raise ValueError(
            f"tensor {name!r}: torch.histc: range of [{lowest}, {highest}] is not finite "
            "(torch's HistogramObserver drops ±inf values first; qdialect does not)"
        )
    if not lowest < highest:
        raise ValueError(f"tensor {name!r}: torch.histc: max must be larger than min")
    return lowest, highest


def torch_linspace_f32(start: float, end: float, steps: int) -> np.ndarray:
    """`torch.linspace(start, end, steps)` in float32 as torch 2.13's CPU kernel computes it
    (RangeFactoriesKernel.cpp `linspace_kernel`, scalar since the vector path was removed):
    step = (end - start) / (steps - 1) in float; element i is start + step * i below
    steps / 2 and end - step * (steps - 1 - i) from there, each one fused multiply-add (the
    compiler contracts it; checked against torch bit for bit)."""
    first, last = _F32(start), _F32(end)
    if steps == 1:
        return np.array([first], dtype=_F32)
    step = _F32(_F32(last - first) / _F32(steps - 1))
    index = np.arange(steps, dtype=np.int64)
    half = steps // 2
    low = index < half
    multiplier = np.where(low, index, steps - 1 - index).astype(_F32)
    step_signed = np.where(low, step, -step).astype(_F32)
    addend = np.where(low, first, last).astype(_F32)
    return fma_f32(step_signed, multiplier, addend)


def fma_f32(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Elementwise fmaf(a, b, c) on float32 arrays: a * b + c rounded once.

    The product of two float32 is exact in float64; rounding the float64 sum again to float32
    can only go wrong when that sum was inexact and landed on a float32 midpoint. Those
    elements are redone exactly (`qdialect.float32.fmaf`).
    """
    a64, b64, c64 = (np.asarray(v, dtype=_F32).astype(np.float64) for v in (a, b, c))
    product = a64 * b64
    total = product + c64
    # TwoSum error of product + c64
    back = total - product
    error = (product - (total - back)) + (c64 - back)
    out = total.astype(_F32)
    with np.errstate(invalid="ignore", over="ignore"):
        rounded = out.astype(np.float64)
        neighbour = np.nextafter(out, np.where(total > rounded, _F32(np.inf), _F32(-np.inf)))
        midpoint = (rounded + neighbour.astype(np.float64)) / 2
    for i in np.flatnonzero((error != 0) & (total == midpoint)):
        out[i] = fmaf(float(a64[i]), float(b64[i]), float(c64[i]))
    return out


def _numpy_edges(name: str, bins: int, outer: tuple) -> np.ndarray:
    """np.histogram's edges for float32 data and this range (numpy's own code path)."""
    try:
        edges = np.histogram_bin_edges(np.empty(0, dtype=_F32), bins=bins, range=outer)
    except ValueError as error:
        raise ValueError(f"tensor {name!r}: np.histogram: {error}") from None
    return edges.astype(_F32)


def _require_finite(name: str, lowest: np.float32, highest: np.float32, why: str) -> None:
    if not (np.isfinite(lowest) and np.isfinite(highest)):
        raise ValueError(f"tensor {name!r}: range [{lowest}, {highest}] is not finite ({why})")
