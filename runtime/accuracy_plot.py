"""The per-tensor report as a PNG (`qopt --compare ... --plot R.png`); needs matplotlib.

Two panels over the quantized tensors in graph order (`TensorRecord.position`): cumulative
and local SQNR in dB (one point per tensor each), and the clipped share in %. Where cumulative
SQNR falls while local SQNR stays up, the error came from upstream; the layer to act on is
where local SQNR falls. An infinite SQNR (no error at all) is drawn at the top edge, 10 dB
above the best finite value, so every tensor keeps its point. matplotlib draws through its
Agg canvas directly: no pyplot, no window, no global backend switch.
"""

from __future__ import annotations

import math
from pathlib import Path

from runtime.accuracy_report import Report

HEADROOM_DB = 10.0  # where an infinite SQNR is drawn, above the best finite one


def _capped(values: list[float]) -> list[float]:
    finite = [v for v in values if math.isfinite(v)]
    top = (max(finite) if finite else 0.0) + HEADROOM_DB
    bottom = (min(finite) if finite else 0.0) - HEADROOM_DB
    return [v if math.isfinite(v) else (top if v > 0 else bottom) for v in values]


def plot_report(report: Report, path: str | Path):
    """Write the PNG and return the matplotlib `Figure` (its axes hold the data drawn)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    records = sorted(report.records, key=lambda r: r.position)
    x = list(range(len(records)))
    figure = Figure(figsize=(max(6.0, 0.5 * len(records) + 2), 6), layout="constrained")
    FigureCanvasAgg(figure)
    sqnr, clipped = figure.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    sqnr.plot(x, _capped([r.sqnr_db for r in records]), "o-", label="cumulative SQNR")
    sqnr.plot(x, _capped([r.local_sqnr_db for r in records]), "s--", label="local SQNR")
    sqnr.set_ylabel("SQNR (dB)")
    sqnr.legend()
    sqnr.grid(True, alpha=0.3)
    clipped.bar(x, [100 * r.clipped for r in records], color="tab:red")
    clipped.set_ylabel("clipped (%)")
    clipped.set_xticks(x, [r.tensor for r in records], rotation=60, ha="right")
    figure.savefig(path, format="png")
    return figure
