"""The `kl-glow` method: Glow's KLMinimization calibration, ported from pytorch/glow.

Sources (pytorch/glow master): `lib/Quantization/Base/Base.cpp` `chooseQuantizationParams`
(include zero, widen for the symmetric schemas, then rescale + optimize the profile histogram),
`lib/Quantization/Base/Profile.cpp` `rescaleHistogram` and `getBin`,
`lib/Quantization/Base/Calibration.cpp` `optimizeKL`, `conditionHistogram`, `computeKL`.
Glow is not installed here, so this port is checked on hand-computed cases, not against Glow.

Every float expression is evaluated as written in C++ on float32 (`float` variables) or float64
(`double` ones), one rounding per operation, i.e. without fused multiply-adds; a Release build of
Glow with `-march=native` may contract some of them. `std::log(float)` is taken correctly
rounded (log in double, rounded to float); glibc's logf is within 1 ulp of that.
Glow's histogram is float: counts above 2**24 saturate there and are rounded here.
"""

from __future__ import annotations

import math

import numpy as np

_F32 = np.float32
_QMIN, _QMAX = -128, 127  # Glow's default ElemKind::Int8QTy
_NUM_QUANTIZED_BINS = 255  # chooseQuantizationParams: "Default value from TVM / MXNet"


def kl_glow_range(
    counts: np.ndarray, profile_min: np.float32, profile_max: np.float32, schema: str
) -> tuple[np.float32, np.float32]:
    """The [min, max] Glow's `chooseQuantizationParams(..., Calibration::KLMinimization)`
    computes its scale from, for a profile (min, max, histogram) and a schema, int8."""
    prof_min, prof_max = _F32(profile_min), _F32(profile_max)
    low, high = prof_min, prof_max
    # min = std::min(min, 0.f); max = std::max(max, 0.f);
    low = _F32(0.0) if _F32(0.0) < low else low
    high = _F32(0.0) if high < _F32(0.0) else high
    if schema == "symmetric_uint8" and not low >= 0:
        schema = "symmetric"  # SymmetricWithUnsigned falls back when the range has negatives
    symmetric = schema in ("symmetric", "symmetric_power2")
    if symmetric:
        ratio_min = float(low) / float(_QMIN)
        ratio_max = float(high) / float(_QMAX)
        if ratio_min > ratio_max:
            high = _F32(ratio_min * _QMAX)
        else:
            low = _F32(ratio_max * _QMIN)
    finfo = np.finfo(_F32)
    low = max(low, finfo.min)
    high = min(high, finfo.max)
    if prof_min != prof_max and low != high:
        histogram = np.asarray(counts).astype(_F32)
        rescaled = rescale_histogram(histogram, prof_min, prof_max, low, high)
        low, high = optimize_kl(rescaled, low, high, _NUM_QUANTIZED_BINS, symmetric)
    return _F32(low), _F32(high)


def rescale_histogram(
    src: np.ndarray, src_min: np.float32, src_max: np.float32, dst_min, dst_max
) -> np.ndarray:
    """Profile.cpp `rescaleHistogram`: redistribute src bins over [dst_min, dst_max] by their
    overlap, integer amounts (std::round) capped by what is left of the source bin."""
    if src.size == 0 or (src_min == dst_min and src_max == dst_max):
        return src
    if not (src_min < src_max and dst_min < dst_max):
        raise ValueError("rescaleHistogram: invalid min/max range")
    bins = src.size
    src_width = _F32(_F32(src_max - src_min) / _F32(bins))
    dst_width = _F32(_F32(dst_max - dst_min) / _F32(bins))
    index = np.arange(bins + 1, dtype=_F32)
    src_edges = _F32(src_min) + index * src_width  # srcHistMin + idx * srcBinWidth
    dst_edges = _F32(dst_min) + index * dst_width
    first = np.floor((src_edges[:-1] - _F32(dst_min)) / dst_width)
    last = np.ceil((src_edges[1:] - _F32(dst_min)) / dst_width)
    first = np.minimum(np.maximum(first, _F32(0)).astype(np.int64), bins - 1)
    last = np.minimum(np.maximum(last, _F32(0)).astype(np.int64), bins - 1)
    dest = np.zeros(bins, dtype=_F32)
    for i in np.flatnonzero(src != 0):
        value = src[i]
        remaining = value
        start, stop = src_edges[i], src_edges[i + 1]
        for d in range(first[i], last[i] + 1):
            overlap_start = max(start, dst_edges[d])
            overlap_stop = min(stop, dst_edges[d + 1])
            ratio = _F32(_F32(overlap_stop - overlap_start) / src_width)
            ratio = ratio if ratio >= _F32(0) else _F32(0)
            ratio = ratio if ratio <= _F32(1) else _F32(1)
            share = _round_half_away(_F32(ratio * value))
            share = share if share <= remaining else remaining
            dest[d] = _F32(dest[d] + share)
            remaining = _F32(remaining - share)
    return dest


def optimize_kl(
    hist: np.ndarray, hist_min, hist_max, num_quantized_bins: int, symmetric: bool
) -> tuple[np.float32, np.float32]:
    """Calibration.cpp `optimizeKL`: shrink the window while it holds >= num_quantized_bins
    bins (symmetrically, or on the side losing least data), keep the first minimum of
    KL(P || Q)."""
    hist = np.asarray(hist, dtype=_F32)
    hist_min, hist_max = _F32(hist_min), _F32(hist_max)
    bins = hist.size
    if bins == 0 or bins < num_quantized_bins:
        return hist_min, hist_max
    if not hist_min < hist_max:
        raise ValueError("optimizeKL: invalid histogram min/max range")
    bin_width = _F32(_F32(hist_max - hist_min) / _F32(bins))
    divergence_opt = _F32(np.inf)
    threshold_min, threshold_max = hist_min, hist_max
    left_sums = np.cumsum(hist, dtype=_F32)  # leftSum for start s: hist[0] + ... + hist[s]
    start, stop = 0, bins - 1
    while stop - start + 1 >= num_quantized_bins:
        size = stop - start + 1
        window = hist[start : stop + 1]
        p = np.zeros(size, dtype=_F32)
        p[0] = _F32(p[0] + left_sums[start])
        p[1 : size - 1] = hist[start + 1 : stop]
        p[-1] = _F32(p[-1] + _sequential_sum(hist[stop:]))
        q = _spread_quantized(window, p, num_quantized_bins)
        divergence = _compute_kl(_condition(p), _condition(q))
        if divergence < divergence_opt:
            divergence_opt = divergence
            threshold_min = _F32(hist_min + _F32(_F32(start) * bin_width))
            threshold_max = _F32(hist_min + _F32(_F32(stop + 1) * bin_width))
        if symmetric:
            start, stop = start + 1, stop - 1
            continue
        symm_loss = _F32(hist[start] + hist[stop])
        left_loss = _F32(hist[start] + hist[start + 1])
        right_loss = _F32(hist[stop] + hist[stop - 1])
        losses = [symm_loss, left_loss, right_loss]
        best = losses.index(min(losses))  # std::min_element: the first minimum
        if best == 0:
            start, stop = start + 1, stop - 1
        elif best == 1:
            start += 2
        else:
            stop -= 2
    if symmetric:
        ratio_min = float(threshold_min) / float(hist_min)
        ratio_max = float(threshold_max) / float(hist_max)
        if ratio_min > ratio_max:
            threshold_max = _F32(ratio_min * float(hist_max))
        else:
            threshold_min = _F32(ratio_max * float(hist_min))
    return threshold_min, threshold_max


def _spread_quantized(window: np.ndarray, p: np.ndarray, num_quantized_bins: int) -> np.ndarray:
    """optimizeKL's Q: the window merged into num_quantized_bins bins (the last takes the
    remainder), each bin's float sum / its nonzero count put back where P is nonzero."""
    size = window.size
    merged = size // num_quantized_bins
    body = (num_quantized_bins - 1) * merged
    if merged:
        groups = window[:body].reshape(-1, merged)
        sums = np.cumsum(groups, axis=1, dtype=_F32)[:, -1]  # float sum, index order
        norms = np.count_nonzero(groups, axis=1)
    else:
        sums, norms = np.zeros(0, dtype=_F32), np.zeros(0, dtype=np.int64)
    sums = np.append(sums, _sequential_sum(window[body:])).astype(_F32)
    norms = np.append(norms, np.count_nonzero(window[body:]))
    with np.errstate(divide="ignore", invalid="ignore"):
        values = (sums / norms.astype(_F32)).astype(_F32)
    # quantized bin of every window position: k for [k * merged, (k + 1) * merged), the last
    # bin for the rest
    owner = np.minimum(np.arange(size) // max(merged, 1), num_quantized_bins - 1)
    keep = (p != 0) & (norms[owner] != 0)
    return np.where(keep, values[owner], _F32(0)).astype(_F32)


def _condition(hist: np.ndarray) -> np.ndarray:
    """Calibration.cpp `conditionHistogram` (epsZero 0.0001f), on a copy."""
    hist = hist.copy()
    if hist.size == 0:
        return hist
    is_zero = (hist == 0).astype(_F32)
    zeros = int(np.count_nonzero(hist == 0))
    if zeros == hist.size:
        return hist
    eps_zero = _F32(0.0001)
    eps_nonzero = _F32(_F32(eps_zero * _F32(zeros)) / _F32(hist.size - zeros))
    if eps_nonzero >= 1.0:
        return hist
    hist = (hist + eps_zero * is_zero).astype(_F32)
    return (hist - eps_nonzero * (_F32(1) - is_zero)).astype(_F32)


def _compute_kl(p: np.ndarray, q: np.ndarray) -> np.float32:
    """Calibration.cpp `computeKL`: float sums, 0 if either is all zero, then the sum in index
    order of P * log(P / Q) over the bins where both are positive."""
    sum_p, sum_q = _sequential_sum(p), _sequential_sum(q)
    if sum_p == 0 or sum_q == 0:
        return _F32(0)
    p = (p / sum_p).astype(_F32)
    q = (q / sum_q).astype(_F32)
    both = (p > 0) & (q > 0)
    ratio = (p[both] / q[both]).astype(_F32)
    terms = (p[both] * np.log(ratio.astype(np.float64)).astype(_F32)).astype(_F32)
    return _sequential_sum(terms)


def _sequential_sum(values: np.ndarray) -> np.float32:
    """std::accumulate / a += loop in float from 0.f."""
    if values.size == 0:
        return _F32(0)
    return _F32(np.cumsum(np.concatenate([[_F32(0)], values.astype(_F32)]), dtype=_F32)[-1])


def _round_half_away(value: np.float32) -> np.float32:
    """std::round on a float."""
    return _F32(math.copysign(math.floor(abs(float(value)) + 0.5), float(value)))
