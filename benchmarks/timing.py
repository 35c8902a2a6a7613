"""Seconds per call: the median of several samples, each long enough for the clock."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence


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


def interleaved_best(
    calls: Sequence[Callable[[], object]],
    rounds: int = 9,
    budget: float = 2.0,
    pause: float = 0.05,
) -> list[float]:
    """Seconds per call of each of `calls`, timed in turns: each round times a batch of every
    call in order, pausing `pause` s after each batch, and each call keeps its best batch.

    Why: on this shared 2-vCPU VM a burst of host load lasts about as long as a whole
    `seconds_per_call` run, so timing one peer after the other moved whole-model ratios by
    ±30 %; in turns a burst hits every peer's batches alike, and noise only ever adds time, so
    the best batch is the steadiest estimate (timeit's advice). The pause lets ONNX Runtime's
    intra-op threads, which spin after a run, go to sleep before the next peer's batch.
    """
    batches = []
    for call in calls:  # one warm-up call each, which also sizes its batch
        start = time.perf_counter()
        call()
        once = max(time.perf_counter() - start, 1e-7)
        batches.append(max(1, int(budget / rounds / len(calls) / once)))
    best = [float("inf")] * len(calls)
    for _ in range(rounds):
        for index, (call, batch) in enumerate(zip(calls, batches, strict=True)):
            start = time.perf_counter()
            for _ in range(batch):
                call()
            best[index] = min(best[index], (time.perf_counter() - start) / batch)
            time.sleep(pause)
    return best
