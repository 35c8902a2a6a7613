"""qdialect.calibration's mse and kl-glow methods against torch and Glow.

mse: torch 2.13's HistogramObserver, one forward on all samples, against ours on TensorStats
whose histogram torch.histc counted over the edges `histogram_edges` gives; the emulated pieces
(torch.linspace, torch.sum, `_compute_quantization_error`) are checked on their own too.
kl-glow: Glow is not installed; its KL method is checked on hand-computed cases and against a
literal scalar transcription of the C++ (`_glow_optimize_kl_reference`).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from qdialect.calibration.glow_kl import kl_glow_range, optimize_kl, rescale_histogram
from qdialect.calibration.histograms import (
    count_histogram,
    fma_f32,
    histc_outer_edges,
    histogram_edges,
    histogram_plan,
    torch_linspace_f32,
)
from qdialect.calibration.methods import choose_range
from qdialect.calibration.options import CalibrationOptions
from qdialect.calibration.stats import HistogramKind
from qdialect.calibration.torch_mse import quantization_error, torch_sum_f32
from qdialect.float32 import f32

from .calibration_data import (
    F32,
    FINITE,
    assert_same_range,
    datasets,
    flat,
    make_stats,
)

# ---------------------------------------------------------------------------------------------
# torch: HistogramObserver (mse)


@pytest.fixture(scope="module")
def torch():
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield torch
    torch.set_num_threads(threads)


def torch_observer_range(torch, values: np.ndarray, bins: int = 2048):
    from torch.ao.quantization.observer import HistogramObserver

    observer = HistogramObserver(bins=bins)
    observer(torch.from_numpy(values))
    new_min, new_max = observer._non_linear_param_search()
    return observer, new_min.item(), new_max.item()


@pytest.mark.parametrize("data", FINITE)
def test_mse_equals_torch_histogram_observer(torch, data):
    samples = datasets()[data]
    values = flat(samples)
    observer, lowest, highest = torch_observer_range(torch, values)
    options = CalibrationOptions("mse")
    stats = make_stats("t", samples, histogram_plan(options))
    assert (observer.min_val.item(), observer.max_val.item()) == (stats.minimum, stats.maximum)
    assert np.array_equal(stats.histogram.counts, observer.histogram.numpy().astype(np.int64))
    edges = stats.histogram.edges
    assert np.array_equal(
        count_histogram(HistogramKind.HISTC, edges, values), stats.histogram.counts
    )
    assert_same_range(choose_range(stats, options), lowest, highest)


def test_mse_ignores_nan_where_torch_fails(torch):
    """torch's observer cannot histogram NaN (histc range [nan, nan]); ours skips NaN, which
    is torch on the values without NaN."""
    samples = datasets()["nan"]
    values = flat(samples)
    with pytest.raises(RuntimeError, match="not finite"):
        torch_observer_range(torch, values)
    _, lowest, highest = torch_observer_range(torch, values[~np.isnan(values)])
    options = CalibrationOptions("mse")
    stats = make_stats("t", samples, histogram_plan(options))
    assert_same_range(choose_range(stats, options), lowest, highest)


def test_mse_rejects_inf_which_torch_drops():
    stats = make_stats("t", datasets()["inf"])
    with pytest.raises(ValueError, match="drops ±inf"):
        histogram_edges(HistogramKind.HISTC, 2048, stats)


@pytest.mark.parametrize("steps", [2, 3, 17, 100, 257, 2001, 2049])
def test_histc_edges_are_torch_linspace(torch, steps):
    rng = np.random.default_rng(steps)
    for _ in range(20):
        low = F32(rng.standard_normal() * rng.choice([1e-3, 1.0, 1e3]))
        high = F32(low + abs(rng.standard_normal()) * rng.choice([1e-3, 1.0, 10.0]) + 1e-3)
        expected = torch.linspace(float(low), float(high), steps).numpy()
        assert np.array_equal(
            torch_linspace_f32(low, high, steps).view(np.uint32), expected.view(np.uint32)
        )


def test_fma_f32_rounds_once():
    """a * b = 64 + 2**-30 exactly; + 2**30 rounds (in double) onto the float32 midpoint
    2**30 + 64, where a second rounding would go to even (2**30): fmaf gives 2**30 + 128."""
    a, b, c = F32(64 * (1 + 2**-12)), F32(1 - 2**-12 + 2**-24), F32(2**30)
    assert F32(float(a) * float(b) + float(c)) == 2**30
    assert fma_f32(np.array([a, -a]), np.array([b, b]), np.array([c, -c])).tolist() == [
        2**30 + 128,
        -(2**30 + 128),
    ]


@pytest.mark.parametrize("value", [2.5, 0.0, -1e-30, 3e38])
def test_histc_widens_an_empty_range_as_torch(torch, value):
    values = np.full(10, value, dtype=F32)
    low, high = histc_outer_edges("t", float(F32(value)), float(F32(value)))
    edges = torch_linspace_f32(low, high, 2049)
    counts = torch.histc(torch.from_numpy(values), 2048, min=float(value), max=float(value))
    assert np.array_equal(count_histogram(HistogramKind.HISTC, edges, values), counts.numpy())


@pytest.mark.parametrize("size", [1, 5, 8, 9, 31, 64, 100, 1000, 2048, 2051, 8192, 30000])
def test_torch_sum_emulation(torch, size):
    rng = np.random.default_rng(size)
    for scale in (1.0, 1e-3, 1e6):
        values = (rng.standard_normal(size) * scale).astype(F32) ** 3
        assert float(torch_sum_f32(values)) == torch.sum(torch.from_numpy(values)).item()


def test_quantization_error_emulation(torch):
    values = (np.random.default_rng(1).standard_normal(4000) ** 2).astype(F32)
    observer, _, _ = torch_observer_range(torch, values)
    histogram = observer.histogram.numpy()
    low, high = observer.min_val.item(), observer.max_val.item()
    for start, end in [(0, 2047), (3, 2000), (700, 701), (0, 0), (2047, 2047), (100, 1900)]:
        expected = observer._compute_quantization_error(start, end)
        assert quantization_error(histogram, low, high, start, end) == expected


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(40))
def test_mse_sweep(torch, seed):
    rng = np.random.default_rng(seed)
    kind = seed % 4
    size = int(rng.integers(50, 20000))
    if kind == 0:
        values = rng.standard_normal(size) * rng.choice([1e-4, 1.0, 1e4])
    elif kind == 1:
        values = np.exp(rng.standard_normal(size) * 2)
    elif kind == 2:
        values = np.maximum(rng.standard_normal(size), 0) * 7
    else:
        values = rng.integers(-3, 4, size).astype(np.float64) * 0.25
    values = values.astype(F32)
    _, lowest, highest = torch_observer_range(torch, values)
    options = CalibrationOptions("mse")
    stats = make_stats("t", [values], histogram_plan(options))
    assert_same_range(choose_range(stats, options), lowest, highest)


# ---------------------------------------------------------------------------------------------
# Glow (not installed): hand-computed cases and a literal transcription of Calibration.cpp


def test_glow_rescale_histogram_by_hand():
    """[10, 0] on [0, 4] to [-1, 4]: source bin [0, 2) overlaps [-1, 1.5) by 0.75 -> round(7.5)
    = 8, and [1.5, 4) by 0.25 -> round(2.5) = 3 (half away from zero), capped to the 2 left."""
    rescaled = rescale_histogram(np.array([10, 0], dtype=F32), F32(0), F32(4), F32(-1), F32(4))
    assert rescaled.tolist() == [8.0, 2.0]
    same = np.array([1, 2, 3], dtype=F32)
    assert rescale_histogram(same, F32(0), F32(3), F32(0), F32(3)) is same


def test_glow_optimize_kl_by_hand():
    # two windows: [0, 4) with P = Q (divergence 0), then [1, 3) with divergence 0 again: the
    # first minimum stays
    assert optimize_kl(np.array([0, 5, 5, 0], dtype=F32), F32(0), F32(4), 2, False) == (0.0, 4.0)
    # fewer bins than quantized bins: the histogram range
    assert optimize_kl(np.ones(10, dtype=F32), F32(-1), F32(2), 255, False) == (-1.0, 2.0)


def test_glow_widening_without_kl():
    """Below 255 bins (Glow's loader default is 10) optimizeKL returns its input: the range is
    chooseQuantizationParams' include-zero / symmetric widening alone."""
    counts = np.ones(10, dtype=np.int64)
    assert kl_glow_range(counts, F32(1), F32(3), "asymmetric") == (0.0, 3.0)
    assert kl_glow_range(counts, F32(1), F32(3), "symmetric_uint8") == (0.0, 3.0)
    low = F32(3.0 / 127.0 * -128)  # rmax = 3 / 127 > rmin = -1 / -128: min = rmax * qmin
    assert kl_glow_range(counts, F32(-1), F32(3), "symmetric") == (low, 3.0)
    assert kl_glow_range(counts, F32(-1), F32(3), "symmetric_uint8") == (low, 3.0)
    assert kl_glow_range(counts, F32(-5), F32(-1), "asymmetric") == (-5.0, 0.0)
    assert kl_glow_range(counts, F32(2), F32(2), "asymmetric") == (0.0, 2.0)


def _glow_optimize_kl_reference(hist, hist_min, hist_max, nq, symmetric):
    """Calibration.cpp optimizeKL written out loop by loop on Python floats, f32() after every
    float operation (the C++ has `float` everywhere but the final ratios)."""
    hist = [f32(h) for h in hist]
    n = len(hist)
    if n == 0 or n < nq:
        return hist_min, hist_max
    width = f32(f32(hist_max - hist_min) / n)
    best, t_min, t_max = math.inf, hist_min, hist_max
    start, stop = 0, n - 1

    def condition(values):
        zeros = sum(1 for v in values if v == 0)
        if zeros == len(values):
            return values
        eps_nz = f32(f32(f32(0.0001) * zeros) / (len(values) - zeros))
        if eps_nz >= 1.0:
            return values
        out = []
        for v in values:
            z = 1 if v == 0 else 0
            v = f32(v + f32(f32(0.0001) * z))
            out.append(f32(v - f32(eps_nz * (1 - z))))
        return out

    def kl(p, q):
        sum_p = sum_q = 0.0
        for v in p:
            sum_p = f32(sum_p + v)
        for v in q:
            sum_q = f32(sum_q + v)
        if sum_p == 0 or sum_q == 0:
            return 0.0
        total = 0.0
        for a, b in zip(p, q, strict=True):
            a, b = f32(a / sum_p), f32(b / sum_q)
            if a > 0 and b > 0:
                total = f32(total + f32(a * f32(math.log(f32(a / b)))))
        return total

    while stop - start + 1 >= nq:
        size = stop - start + 1
        p = [0.0] * size
        left = 0.0
        for i in range(start + 1):
            left = f32(left + hist[i])
        p[0] = f32(p[0] + left)
        for i in range(start + 1, stop):
            p[i - start] = hist[i]
        right = 0.0
        for i in range(stop, n):
            right = f32(right + hist[i])
        p[-1] = f32(p[-1] + right)
        merged = size // nq
        q = [0.0] * size
        for k in range(nq):
            a = k * merged
            b = a + merged if k < nq - 1 else size
            total, norm = 0.0, 0
            for i in range(a, b):
                total = f32(total + hist[start + i])
                norm += hist[start + i] != 0
            if norm:
                for i in range(a, b):
                    if p[i]:
                        q[i] = f32(total / norm)
        divergence = kl(condition(p), condition(q))
        if divergence < best:
            best = divergence
            t_min = f32(hist_min + f32(start * width))
            t_max = f32(hist_min + f32((stop + 1) * width))
        if symmetric:
            start, stop = start + 1, stop - 1
        else:
            losses = [
                f32(hist[start] + hist[stop]),
                f32(hist[start] + hist[start + 1]),
                f32(hist[stop] + hist[stop - 1]),
            ]
            pick = losses.index(min(losses))
            if pick == 0:
                start, stop = start + 1, stop - 1
            elif pick == 1:
                start += 2
            else:
                stop -= 2
    if symmetric:
        ratio_min, ratio_max = t_min / hist_min, t_max / hist_max
        if ratio_min > ratio_max:
            t_max = f32(ratio_min * hist_max)
        else:
            t_min = f32(ratio_max * hist_min)
    return t_min, t_max


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("symmetric", [False, True])
def test_glow_optimize_kl_matches_transcription(seed, symmetric):
    rng = np.random.default_rng(seed)
    bins, nq = 72, 16
    hist = np.histogram(rng.standard_t(2, 3000), bins=bins, range=(-6, 6))[0].astype(F32)
    if seed % 2:
        hist[rng.integers(0, bins, 10)] = 0
    hist_min, hist_max = F32(-6), F32(6)
    ours = optimize_kl(hist, hist_min, hist_max, nq, symmetric)
    expected = _glow_optimize_kl_reference(hist, float(hist_min), float(hist_max), nq, symmetric)
    assert (float(ours[0]), float(ours[1])) == expected


def test_kl_glow_range_of_a_profile():
    """2000 bins (Glow's profile before #4378) shrink to a window holding the bulk."""
    values = np.concatenate(
        [np.random.default_rng(3).standard_normal(20000), [40.0, -30.0]]
    ).astype(F32)
    options = CalibrationOptions("kl-glow")
    stats = make_stats("t", [values], histogram_plan(options))
    assert stats.histogram.counts.sum() == values.size
    result = choose_range(stats, options)
    assert -30.0 < result.lowest < -2.0 and 2.0 < result.highest < 40.0
    options = CalibrationOptions("kl-glow", glow_schema="symmetric", num_bins=400)
    symmetric = choose_range(make_stats("t", [values], histogram_plan(options)), options)
    # the symmetric search keeps the -128:127 ratio of Glow's widened range
    assert symmetric.lowest < 0 < symmetric.highest
    assert abs(float(symmetric.lowest) / float(symmetric.highest) + 128 / 127) < 1e-6


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(4))
def test_glow_full_size_matches_transcription(seed):
    rng = np.random.default_rng(seed)
    values = (rng.standard_t(3, 5000) + seed).astype(F32)
    options = CalibrationOptions("kl-glow", num_bins=600)
    stats = make_stats("t", [values], histogram_plan(options))
    ours = choose_range(stats, options)
    hist = rescale_histogram(
        stats.histogram.counts.astype(F32),
        stats.minimum,
        stats.maximum,
        min(stats.minimum, F32(0)),
        max(stats.maximum, F32(0)),
    )
    expected = _glow_optimize_kl_reference(
        hist, float(min(stats.minimum, F32(0))), float(max(stats.maximum, F32(0))), 255, False
    )
    assert (float(ours.lowest), float(ours.highest)) == expected


def test_minmax_kind_edges_and_counts():
    """Glow's bins: width (max - min) / bins from min, getBin's truncation, max in the last."""
    stats = make_stats("t", [np.array([0.0, 1.0, 2.5, 9.999, 10.0], dtype=F32)])
    edges = histogram_edges(HistogramKind.MINMAX, 4, stats)
    assert edges.tolist() == [0.0, 2.5, 5.0, 7.5, 10.0]
    values = np.array([0.0, 2.4999998, 2.5, 5.0, 7.5, 10.0, np.nan], dtype=F32)
    assert count_histogram(HistogramKind.MINMAX, edges, values).tolist() == [2, 1, 1, 2]
    same = make_stats("t", [np.full(3, 4.0, dtype=F32)])
    edges = histogram_edges(HistogramKind.MINMAX, 3, same)
    assert count_histogram(HistogramKind.MINMAX, edges, np.full(3, 4.0, F32)).tolist() == [3, 0, 0]
