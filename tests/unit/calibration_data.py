"""Shared data of the calibration method tests: seeded arrays and TensorStats built from them
with numpy (pass 1: per-sample nan-aware extremes; pass 2: counts over `histogram_edges`)."""

from __future__ import annotations

import warnings
from functools import cache

import numpy as np
import pytest

from qdialect.calibration.histograms import count_histogram, histogram_edges
from qdialect.calibration.stats import Histogram, HistogramKind, TensorRange, TensorStats

F32 = np.float32


@cache
def datasets() -> dict[str, tuple[np.ndarray, ...]]:
    """Several samples per case, shape [3, 40] each, float32, seeded."""
    rng = np.random.default_rng(20240614)
    shape = (3, 40)

    def samples(make, count=6):
        return tuple(np.asarray(make(), dtype=F32) for _ in range(count))

    with_nan = rng.standard_normal((6, *shape)).astype(F32)
    with_nan[with_nan > 1.6] = np.nan
    with_nan[2] = np.nan  # a sample of NaN only
    with_inf = rng.standard_normal((4, *shape)).astype(F32)
    with_inf[1, 0, 3] = np.inf
    return {
        "normal": samples(lambda: rng.standard_normal(shape)),
        "skewed": samples(lambda: np.maximum(rng.lognormal(0.0, 1.5, shape) - 2.0, 0.0)),
        "shifted": samples(lambda: rng.standard_normal(shape) * 0.01 + 5.0, count=5),
        "all_equal": samples(lambda: np.full(shape, 2.5), count=4),
        "all_negative": samples(lambda: -np.abs(rng.standard_normal(shape)) - 1.0, count=4),
        "all_zero": samples(lambda: np.zeros(shape), count=3),
        "nan": tuple(with_nan),
        "inf": tuple(with_inf),
    }


FINITE = ["normal", "skewed", "shifted", "all_equal", "all_negative", "all_zero"]


def flat(samples) -> np.ndarray:
    return np.concatenate([np.asarray(s, dtype=F32).reshape(-1) for s in samples])


def make_stats(name: str, samples, plan=None) -> TensorStats:
    """TensorStats from the arrays, with numpy: pass 1, then pass 2 over histogram_edges."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN samples
        minima = np.array([np.nanmin(s) for s in samples], dtype=F32)
        maxima = np.array([np.nanmax(s) for s in samples], dtype=F32)
        values = flat(samples)
        abs_minimum = F32(np.nanmin(np.abs(values)))
    stats = TensorStats(name, minima, maxima, abs_minimum)
    if plan is None:
        return stats
    kind, bins = plan
    edges = histogram_edges(kind, bins, stats)
    if kind is HistogramKind.VALUE:
        counts = np.histogram(values, bins=edges)[0]
    elif kind is HistogramKind.ABSOLUTE:
        counts = np.histogram(np.abs(values), bins=edges)[0]
    elif kind is HistogramKind.HISTC:
        torch = pytest.importorskip("torch")
        counts = torch.histc(
            torch.from_numpy(values), bins, min=float(edges[0]), max=float(edges[-1])
        ).numpy()
    else:
        counts = count_histogram(kind, edges, values)
    histogram = Histogram(kind, counts.astype(np.int64), edges)
    return TensorStats(name, minima, maxima, abs_minimum, histogram)


def bits(value) -> int:
    return int(np.asarray(value, dtype=F32).reshape(-1)[0].view(np.uint32))


def assert_same_range(ours: TensorRange, lowest, highest) -> None:
    assert (bits(ours.lowest), bits(ours.highest)) == (bits(lowest), bits(highest)), (
        f"ours [{ours.lowest!r}, {ours.highest!r}] vs peer [{lowest!r}, {highest!r}]"
    )
