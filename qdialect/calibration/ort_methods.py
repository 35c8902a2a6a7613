"""ONNX Runtime's calibration methods: minmax, percentile, entropy, distribution.

Ports of onnxruntime 1.31.1 `onnxruntime/quantization/calibrate.py` (and `quant_utils.py`
`smooth_distribution`), each numpy expression kept with its dtype (float32 arrays, float64 for
Python scalars and the cdf), so the float32 results are ONNX Runtime's bit for bit given the
same per-sample extremes and histogram counts. Integer bookkeeping that ORT does bin by bin in
Python loops is vectorized here; it is exact either way.
"""

from __future__ import annotations

import warnings

import numpy as np

from .options import CalibrationOptions
from .stats import Histogram, TensorRange, TensorStats

_F32 = np.float32


def minmax_range(stats: TensorStats, options: CalibrationOptions) -> TensorRange:
    """ORT `MinMaxCalibrater.compute_data` (calibrate.py), as `quantize_static` drives it.

    Within one `collect_data` call: `np.nanmin`/`np.nanmax` over the per-sample ReduceMin /
    ReduceMax outputs (`np.nanmean` when moving_average), then with symmetric (-a, a),
    a = np.nanmax of the two magnitudes. CalibStridedMinMax (`strided_minmax`) calls
    `collect_data` once per chunk of that many samples and merges the chunk ranges with
    `merge_range`: Python's min/max, or old + c * (new - old) with moving_average.
    CalibMaxIntermediateOutputs (`max_intermediate_outputs` = n) behaves as in 1.31.1: each
    time n sample outputs are buffered `collect_data` drops them, so a chunk contributes only
    its last `len % n` samples, and ORT raises "No data is collected." if the first has none.
    """
    minima, maxima = (np.asarray(a, dtype=_F32).reshape(-1) for a in stats.reduced)
    count = minima.size
    if count == 0 or maxima.size != count:
        raise ValueError(f"tensor {stats.name!r}: minmax needs per-sample extremes, got none")
    stride = options.strided_minmax
    if stride is not None and count % stride != 0:
        # quantize_static with CalibStridedMinMax
        raise ValueError(f"Total data size ({count}) is not divisible by stride size ({stride}).")
    chunk = stride if stride is not None else count
    current: tuple[np.ndarray, np.ndarray] | None = None
    for begin in range(0, count, chunk):
        chunk_min, chunk_max = minima[begin : begin + chunk], maxima[begin : begin + chunk]
        if options.max_intermediate_outputs is not None:
            kept = chunk_min.size % options.max_intermediate_outputs
            chunk_min, chunk_max = (
                chunk_min[chunk_min.size - kept :],
                chunk_max[chunk_max.size - kept :],
            )
        if chunk_min.size == 0:
            if current is None:
                raise ValueError(
                    f"tensor {stats.name!r}: No data is collected. (ONNX Runtime 1.31.1 drops "
                    "every full buffer of CalibMaxIntermediateOutputs samples)"
                )
            continue
        pair = _compute_data(chunk_min, chunk_max, options)
        current = pair if current is None else _merge_range(current, pair, options)
    assert current is not None
    return TensorRange(_F32(current[0].reshape(-1)[0]), _F32(current[1].reshape(-1)[0]))


def _compute_data(
    minima: np.ndarray, maxima: np.ndarray, options: CalibrationOptions
) -> tuple[np.ndarray, np.ndarray]:
    # the per-sample outputs are arrays of shape [1] (ReduceMin keepdims + Reshape [-1])
    minima, maxima = minima.reshape(-1, 1), maxima.reshape(-1, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices, as ORT warns
        if options.moving_average:
            min_value = np.nanmean(minima, axis=0)
            max_value = np.nanmean(maxima, axis=0)
        else:
            min_value = np.nanmin(minima, axis=0)
            max_value = np.nanmax(maxima, axis=0)
        if options.symmetric:
            max_absolute = np.nanmax([np.abs(min_value), np.abs(max_value)], axis=0)
            return -max_absolute, max_absolute
    return min_value, max_value


def _merge_range(
    old: tuple[np.ndarray, np.ndarray],
    new: tuple[np.ndarray, np.ndarray],
    options: CalibrationOptions,
) -> tuple[np.ndarray, np.ndarray]:
    """`MinMaxCalibrater.merge_range` for one tensor."""
    (old_min, old_max), (new_min, new_max) = old, new
    if options.moving_average:
        constant = options.averaging_constant  # a Python number: float32 arithmetic
        with np.errstate(invalid="ignore", over="ignore"):  # inf - inf, as ORT
            return (
                old_min + constant * (new_min - old_min),
                old_max + constant * (new_max - old_max),
            )
    # Python's min(old, new) / max(old, new) on one-element arrays
    return (
        new_min if new_min < old_min else old_min,
        new_max if new_max > old_max else old_max,
    )


def percentile_range(stats: TensorStats, histogram: Histogram, options) -> TensorRange:
    """ORT `HistogramCollector.compute_percentile` (calibrate.py).

    cdf = np.cumsum(hist / hist.sum()) (float64). Symmetric (histogram of |x|): t =
    edges[searchsorted(cdf, p / 100)], range (-t, t); otherwise edges at searchsorted(cdf,
    (100 - p) / 200) and searchsorted(cdf, 1 - (100 - p) / 200). Then clipped to the observed
    [nanmin, nanmax] of the raw values (so symmetric on positive data gives (min, t)).
    """
    hist, edges = histogram.counts, histogram.edges
    total = hist.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        cdf = np.cumsum(hist / total)
    percentile = options.percentile
    if options.symmetric:
        idx_right = np.searchsorted(cdf, percentile / 100.0)
        lowest = -np.array(edges[idx_right], dtype=edges.dtype)
        highest = np.array(edges[idx_right], dtype=edges.dtype)
    else:
        percent_to_cut_one_side = (100.0 - percentile) / 200.0
        idx_right = np.searchsorted(cdf, 1.0 - percent_to_cut_one_side)
        idx_left = np.searchsorted(cdf, percent_to_cut_one_side)
        lowest = np.array(edges[idx_left], dtype=edges.dtype)
        highest = np.array(edges[idx_right], dtype=edges.dtype)
    return _clip(stats, lowest, highest)


def distribution_range(stats: TensorStats, histogram: Histogram, options) -> TensorRange:
    """ORT `HistogramCollector.compute_distribution` (calibrate.py): lowest = hist_edges.min(),
    highest = hist_edges.max() (the histogram's [-T, T]). Its avg/std (float 8 only) are not
    kept in a range."""
    edges = histogram.edges
    return TensorRange(_F32(edges.min()), _F32(edges.max()))


def entropy_range(stats: TensorStats, histogram: Histogram, options) -> TensorRange:
    """ORT `HistogramCollector.get_entropy_threshold` (calibrate.py), via `compute_entropy`.

    Windows [z - i, min(z + i + 1, bins)) for i = nq/2 .. z (z = bins // 2): p is the window
    with the outliers added to its end bins; q merges the window (without outliers) into nq
    bins of `len // nq` (remainder into the last), spreads each back as an int64-truncated
    `bin_sum / nonzeros(p)` (the remainder bins stay 0); both pass `smooth_distribution`
    (eps 1e-4) and ORT's float32 `entropy`; the first minimum wins, clipped to [min, max].
    With quantize_static's 128/128 bins there is one window, the whole histogram, so the
    range is the observed [min, max]. `symmetric` is ignored, as in ORT.
    """
    hist, hist_edges = histogram.counts, histogram.edges
    num_quantized_bins = options.num_quantized_bins
    num_bins = hist.size
    zero_bin_index = num_bins // 2
    num_half_quantized_bin = num_quantized_bins // 2
    dtype = hist_edges.dtype
    kl_divergence = np.zeros(zero_bin_index - num_half_quantized_bin + 1)
    thresholds = []
    prefix = np.concatenate([[0], np.cumsum(hist)])
    for i in range(num_half_quantized_bin, zero_bin_index + 1):
        start_index = zero_bin_index - i
        end_index = min(zero_bin_index + i + 1, num_bins)
        thresholds.append((hist_edges[start_index], hist_edges[end_index]))
        sliced = hist[start_index:end_index].copy()
        p = sliced.copy()
        p[0] += prefix[start_index]
        p[-1] += prefix[-1] - prefix[end_index]
        q = _expand_quantized(sliced, (p != 0).astype(np.int64), num_quantized_bins)
        p_smooth = smooth_distribution(p, stats.name)
        q_smooth = smooth_distribution(q, stats.name)
        if p_smooth is None or q_smooth is None:
            div = np.array(np.inf, dtype=dtype)
        else:
            div = np.array(entropy(p_smooth, q_smooth), dtype=dtype)
        kl_divergence[i - num_half_quantized_bin] = div
    lowest, highest = thresholds[int(np.argmin(kl_divergence))]
    return _clip(stats, lowest, highest)


def _expand_quantized(sliced: np.ndarray, nonzeros: np.ndarray, num_quantized_bins: int):
    """get_entropy_threshold's q: merged into num_quantized_bins bins, expanded back."""
    merged = sliced.size // num_quantized_bins
    body = num_quantized_bins * merged
    quantized_bins = sliced[:body].reshape(num_quantized_bins, merged).sum(axis=1)
    quantized_bins[-1] += sliced[body:].sum()
    norm = nonzeros[:body].reshape(num_quantized_bins, merged).sum(axis=1)
    q = np.zeros(sliced.size, dtype=np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        # np.int64 / np.int64 -> float64, stored into int64 (truncation)
        spread = (quantized_bins.astype(np.float64) / norm.astype(np.float64)).astype(np.int64)
    q[:body] = np.repeat(np.where(norm != 0, spread, 0), merged)
    return q


def smooth_distribution(p: np.ndarray, name: str = "", eps: float = 0.0001):
    """onnxruntime.quantization.quant_utils.smooth_distribution (None when all zero)."""
    is_zeros = (p == 0).astype(np.float32)
    is_nonzeros = (p != 0).astype(np.float32)
    n_zeros = is_zeros.sum()
    n_nonzeros = p.size - n_zeros
    if not n_nonzeros:
        return None
    eps1 = eps * float(n_zeros) / float(n_nonzeros)
    if not eps1 < 1.0:  # ORT asserts
        raise ValueError(
            f"tensor {name!r}: smooth_distribution: n_zeros={n_zeros}, n_nonzeros={n_nonzeros}, "
            f"eps1={eps1} (ONNX Runtime fails this assertion too)"
        )
    hist = p.astype(np.float32)
    hist += eps * is_zeros + (-eps1) * is_nonzeros
    if (hist <= 0).sum() != 0:
        raise ValueError(f"tensor {name!r}: smooth_distribution left a bin <= 0 (ORT asserts)")
    return hist


def entropy(pk: np.ndarray, qk: np.ndarray) -> np.ndarray:
    """calibrate.py's `entropy` (scipy.stats.entropy in float32) with its `rel_entr`."""
    pk = np.asarray(pk).astype(np.float32)
    pk = 1.0 * pk / np.sum(pk, axis=0, keepdims=True)
    qk = np.asarray(qk).astype(np.float32)
    pk, qk = np.broadcast_arrays(pk, qk)
    qk = 1.0 * qk / np.sum(qk, axis=0, keepdims=True)
    res = np.empty(pk.shape, dtype=pk.dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        res[:] = pk[:] * np.log(pk[:] / qk[:])
    res[(pk == 0) & (qk >= 0)] = 0
    res[~((pk > 0) & (qk > 0))] = np.inf
    return np.sum(res, axis=0).astype(pk.dtype)


def _clip(stats: TensorStats, lowest, highest) -> TensorRange:
    """The threshold clipped to the observed [min, max] (compute_percentile and
    get_entropy_threshold)."""
    min_value, max_value = stats.minimum, stats.maximum
    if lowest < min_value:
        lowest = min_value
    if highest > max_value:
        highest = max_value
    return TensorRange(_F32(lowest), _F32(highest))
