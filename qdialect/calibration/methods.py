"""Calibration methods: statistics of a tensor -> the range its quantization parameters come from.

`choose_range(stats, options)` runs one method exactly as its source computes it:

| method | source |
|---|---|
| minmax | ONNX Runtime 1.31.1 `MinMaxCalibrater.compute_data` / `merge_range` (`ort_methods`) |
| percentile | ONNX Runtime `HistogramCollector.compute_percentile` (`ort_methods`) |
| entropy | ONNX Runtime `HistogramCollector.get_entropy_threshold` (`ort_methods`) |
| distribution | ONNX Runtime `HistogramCollector.compute_distribution`, its range (`ort_methods`) |
| mse | torch 2.13 `HistogramObserver._non_linear_param_search` (`torch_mse`) |
| kl-glow | Glow `chooseQuantizationParams` KLMinimization (`glow_kl`) |

Histogram methods read `stats.histogram`, counted over `histogram_edges(*histogram_plan(options),
stats)`: the histogram the peer builds when it sees every sample at once. For ONNX Runtime that is
what `quantize_static` does (one `collect_data` call over the whole data reader); torch's
HistogramObserver and Glow's profile are equal to it when they observe one batch holding all
samples (their incremental re-binning across calls is not reproduced).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .glow_kl import kl_glow_range
from .histograms import count_histogram, histogram_edges, histogram_plan
from .options import METHODS, CalibrationOptions
from .ort_methods import distribution_range, entropy_range, minmax_range, percentile_range
from .stats import Histogram, TensorRange, TensorStats
from .torch_mse import mse_range

__all__ = [
    "METHODS",
    "CalibrationOptions",
    "choose_range",
    "choose_ranges",
    "count_histogram",
    "histogram_edges",
    "histogram_plan",
]


def choose_range(stats: TensorStats, options: CalibrationOptions) -> TensorRange:
    """The float32 range `options.method` chooses for one tensor (see the module table)."""
    if options.method == "minmax":
        return minmax_range(stats, options)
    histogram = _histogram(stats, options)
    if options.method == "percentile":
        return percentile_range(stats, histogram, options)
    if options.method == "entropy":
        return entropy_range(stats, histogram, options)
    if options.method == "distribution":
        return distribution_range(stats, histogram, options)
    if options.method == "mse":
        lowest, highest = mse_range(histogram.counts, stats.minimum, stats.maximum)
        return TensorRange(lowest, highest)
    lowest, highest = kl_glow_range(
        histogram.counts, stats.minimum, stats.maximum, options.glow_schema
    )
    return TensorRange(lowest, highest)


def choose_ranges(stats: Iterable[TensorStats], options: CalibrationOptions):
    """A `CalibrationTable` of `choose_range` for every tensor, in the order given."""
    from .table import CalibrationTable

    return CalibrationTable(
        method=options.method, ranges={s.name: choose_range(s, options) for s in stats}
    )


def _histogram(stats: TensorStats, options: CalibrationOptions) -> Histogram:
    """stats.histogram, checked to be the one `histogram_plan(options)` asks for."""
    if stats.sample_minima.size == 0:
        raise ValueError(f"tensor {stats.name!r}: no samples observed")
    plan = histogram_plan(options)
    assert plan is not None
    kind, bins = plan
    histogram = stats.histogram
    if histogram is None:
        raise ValueError(
            f"tensor {stats.name!r}: method {options.method} needs a {kind.value} histogram "
            f"of {bins} bins, and the statistics have none"
        )
    if histogram.kind is not kind or histogram.counts.size != bins:
        raise ValueError(
            f"tensor {stats.name!r}: method {options.method} needs a {kind.value} histogram "
            f"of {bins} bins, got a {histogram.kind.value} one of {histogram.counts.size}"
        )
    if histogram.edges.size != bins + 1:
        raise ValueError(
            f"tensor {stats.name!r}: histogram has {histogram.edges.size} edges for {bins} bins"
        )
    if histogram.counts.dtype.kind not in "iu" or np.any(histogram.counts < 0):
        raise ValueError(f"tensor {stats.name!r}: histogram counts must be non-negative integers")
    return histogram
