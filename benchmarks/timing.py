"""Seconds per call: the median of several samples, each long enough for the clock."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def seconds_per_call(call: Callable[[], object], budget: float = 1.0, samples: int = 7) -> float:
    """Median over `samples` samples of a batch of calls sized so all samples take ~`budget`
    seconds (at least one call each; one warm-up call first, which also pages in buffers)."""
    start = time.perf_counter()
    call()
    once = max(time.perf_counter() - start, 1e-7)
    batch = max(1, int(budget / samples / once))
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        for _ in range(batch):
            call()
        times.append((time.perf_counter() - start) / batch)
    return statistics.median(times)
