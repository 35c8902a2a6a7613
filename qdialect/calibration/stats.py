"""What observing a float tensor over a calibration set yields (DESIGN §4).

Calibration runs in two passes over the samples. Pass 1 collects, per observed tensor and per
sample, the nan-aware min and max (and min |x|); pass 2, only for histogram methods, counts
values into bins whose edges pass 1 fixed. Because the edges are fixed before any counting,
histograms of shards merge by plain integer addition: a run split over processes gives the
same counts, bit for bit, as a serial run. ONNX Runtime's histogram calibrators see every
sample at once (`collect_data` concatenates all batches before `np.histogram`), so with the
same edges the counts are theirs too.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np


class HistogramKind(Enum):
    """Which values a histogram counts, and over which range (ONNX Runtime's two collectors)."""

    # HistogramCollector.collect_value: x over [-T, T], T = max(|min|, |max|)
    VALUE = "value"
    # HistogramCollector.collect_absolute_value: |x| over [min |x|, max |x|] (np.histogram's
    # own range when given no range)
    ABSOLUTE = "absolute"
    # torch.histc over [min, max] (torch HistogramObserver, one forward call)
    HISTC = "histc"
    # Glow's profile: x over [min, max], numpy binning
    MINMAX = "minmax"


@dataclass(frozen=True, eq=False)
class Histogram:
    """Counts of one tensor's values per bin: `counts[i]` values fell in [edges[i], edges[i+1])
    (the last bin closed), edges as the peer computes them (float32 for numpy's rule)."""

    kind: HistogramKind
    counts: np.ndarray  # int64, shape [bins]
    edges: np.ndarray  # shape [bins + 1]


@dataclass(frozen=True, eq=False)
class TensorStats:
    """Everything the calibration methods need about one float tensor.

    `sample_minima`/`sample_maxima` are per sample (nan-aware, float32); `minimum`/`maximum`
    are `np.nanmin`/`np.nanmax` of them (what ONNX Runtime's histogram calibrators take).
    `reduce_minima`/`reduce_maxima` are ONNX Runtime's ReduceMin/ReduceMax of each sample
    (its MinMax calibrator's, `qnn.observe`), the same unless a sample holds NaN or zeros of
    both signs; absent, they are taken to be `sample_minima`/`sample_maxima`. `abs_minimum`
    is min |x| over all samples (the lower edge of ONNX Runtime's absolute-value histogram).
    """

    name: str
    sample_minima: np.ndarray  # float32, shape [samples]
    sample_maxima: np.ndarray  # float32, shape [samples]
    abs_minimum: np.float32
    histogram: Histogram | None = None
    reduce_minima: np.ndarray | None = None  # float32, shape [samples]
    reduce_maxima: np.ndarray | None = None

    @property
    def minimum(self) -> np.float32:
        return np.float32(np.nanmin(self.sample_minima))

    @property
    def maximum(self) -> np.float32:
        return np.float32(np.nanmax(self.sample_maxima))

    @property
    def reduced(self) -> tuple[np.ndarray, np.ndarray]:
        """ONNX Runtime's per-sample ReduceMin and ReduceMax."""
        lo = self.sample_minima if self.reduce_minima is None else self.reduce_minima
        hi = self.sample_maxima if self.reduce_maxima is None else self.reduce_maxima
        return lo, hi


@dataclass(frozen=True)
class TensorRange:
    """A chosen real range [lowest, highest] of one tensor, float32 as ONNX Runtime stores it."""

    lowest: np.float32
    highest: np.float32
