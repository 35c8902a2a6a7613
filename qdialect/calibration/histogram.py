"""The counting rules of `qnn.histogram`, in numpy: what the reference interpreter computes
and what the compiled kernel must reproduce bit for bit (see `qdialect.qnn.HistogramRule`).

`count_edges` is numpy's `np.histogram` with the edges given. numpy, given a bin count and a
range, guesses each value's bin from a linear formula and then corrects the guess by comparing
the value with the edges array, so its counts too are defined by the edges alone (the
correction moves one bin, which suffices for `np.linspace` edges); `count_edges` states that
definition directly. `count_linear` is torch.histc's CPU kernel (aten HistogramKernel.cpp,
LINEAR_INTERPOLATION), whose bins come from float32 arithmetic and not from any edges array.
"""

from __future__ import annotations

import numpy as np


def _kept(values: np.ndarray, lo: np.float32, hi: np.float32, absolute: bool) -> np.ndarray:
    """The float32 values (|values| with `absolute`) inside [lo, hi]; NaN never is."""
    v = np.asarray(values, dtype=np.float32).ravel()
    if absolute:
        v = np.abs(v)
    return v[(v >= lo) & (v <= hi)]


def count_edges(values: np.ndarray, edges: np.ndarray, absolute: bool = False) -> np.ndarray:
    """int64 counts per bin: bin i holds `edges[i] <= v < edges[i+1]`, the last bin also
    `v == edges[-1]`; NaN and values outside the edges are not counted. `edges`: float32,
    non-decreasing (equal edges make empty bins, as in numpy)."""
    edges = np.asarray(edges, dtype=np.float32)
    bins = edges.size - 1
    kept = _kept(values, edges[0], edges[-1], absolute)
    index = np.minimum(np.searchsorted(edges, kept, side="right") - 1, bins - 1)
    return np.bincount(index, minlength=bins).astype(np.int64)


def count_linear(
    values: np.ndarray, lo: float, hi: float, bins: int, absolute: bool = False
) -> np.ndarray:
    """int64 counts per bin by torch.histc's rule: for `lo <= v <= hi`,
    `bin = int(fl(fl(fl(v - lo) * bins) / fl(hi - lo)))`, with `bins` itself going to the last
    bin; NaN and values outside [lo, hi] are not counted. `lo`, `hi`: float32 values."""
    lo32, hi32 = np.float32(lo), np.float32(hi)
    kept = _kept(values, lo32, hi32, absolute)
    position = ((kept - lo32) * np.float32(bins)) / (hi32 - lo32)
    index = np.minimum(position.astype(np.int64), bins - 1)
    return np.bincount(index, minlength=bins).astype(np.int64)
