"""Calibration runs: the statistics of a float function's tensors over samples (DESIGN §4).

    stats = collect_statistics(module, "calib.npz")                # pass 1: min / max
    stats = collect_statistics(module, samples, histogram=(HistogramKind.VALUE, 2048),
                               edges_for=edges, executor=ProcessPoolExecutor(4))

Pass 1 instruments the function with `qnn.observe` (rewrites.instrument), compiles it once and
runs every sample: each run returns three floats per observed tensor, so memory holds
observers x samples x 3 floats and never an intermediate tensor. Pass 2, when a histogram is
asked for, instruments with `qnn.histogram` whose edges `edges_for` chooses from pass 1's
statistics, and adds up int64 counts.

With an `executor` (any `concurrent.futures.Executor`: threads, processes, dask's
`Client.get_executor()`), the samples split into contiguous shards by index; a worker compiles
the module (a JIT cache hit after the first) and returns its shard's statistics, and the caller
merges them in shard order: per-sample extremes concatenated, counts added. The result is the
serial run's, bit for bit, whatever the shard count. A shard travels as the instrumented
module's text and its samples (arrays, or a path and an index range).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, Future, as_completed
from dataclasses import dataclass, replace

import numpy as np
from xdsl.dialects.builtin import ModuleOp

from codegen.families.observe import histogram_data
from qdialect.calibration.stats import Histogram, HistogramKind, TensorStats
from qdialect.qnn import HistogramRule
from qdialect.textio import parse_module, print_module
from rewrites.instrument import HistogramRequest, histograms, observe
from runtime.calibration_cache import CachedPass, ModelSource, load_pass, pass_key, store_pass
from runtime.compiled import CompiledFunction, compile_module
from runtime.native import NativeFunction
from runtime.samples import (
    CalibrationDataError,
    Samples,
    StreamSamples,
    check_sample,
    input_specs,
    open_samples,
    signature_specs,
)
from runtime.signature import find_function

# How each histogram kind counts: the op's rule, and whether it counts |x|.
RULES = {
    HistogramKind.VALUE: (HistogramRule.EDGES, False),
    HistogramKind.ABSOLUTE: (HistogramRule.EDGES, True),
    HistogramKind.MINMAX: (HistogramRule.EDGES, False),
    HistogramKind.HISTC: (HistogramRule.LINEAR, False),
}
EdgesFor = Callable[[HistogramKind, int, TensorStats], np.ndarray]
Tick = Callable[[int], object]  # told how many more samples ran (a progress bar's update)


@dataclass(frozen=True)
class Shard:
    """One task: `entry` of the instrumented `module_text` on `samples`; its last `observers`
    results are observations (counts when `histogram`, else extremes)."""

    module_text: str
    entry: str
    samples: Samples
    observers: int
    histogram: bool
    threads: int | None


@dataclass(frozen=True, eq=False)
class ShardResult:
    """A run's statistics: `extremes[sample, observer]` = [min, max, min |x|] (pass 1), or
    int64 `counts` per observer (pass 2); `samples` runs in all."""

    extremes: np.ndarray
    counts: tuple[np.ndarray, ...]
    samples: int


_LOCAL = threading.local()  # per thread: compiled functions are not reentrant


def _compiled(text: str, entry: str, threads: int | None) -> CompiledFunction:
    """This thread's compiled function of `text` (compiled once per thread and module)."""
    cache: dict[tuple[str, str, int | None], CompiledFunction] = _LOCAL.__dict__.setdefault(
        "functions", {}
    )
    key = (text, entry, threads)
    if key not in cache:
        cache.clear()  # a worker holds the module of the current pass only
        cache[key] = compile_module(text, entry, threads=threads)
    return cache[key]


def run_samples(
    fn: NativeFunction,
    samples: Samples | StreamSamples,
    observers: int,
    histogram: bool,
    tick: Tick = lambda n: None,
) -> ShardResult:
    """Run `fn` on each sample (checked first) and keep its observations."""
    specs = signature_specs(fn.signature)
    rows: list[np.ndarray] = []
    counts: list[np.ndarray] = []
    runs = 0
    for label, sample in samples.labelled():
        outputs = fn(*check_sample(label, sample, specs))
        observed = outputs[len(outputs) - observers :]
        if histogram:
            counts = (
                observed if not counts else [c + o for c, o in zip(counts, observed, strict=True)]
            )
        else:
            rows.append(np.stack(observed) if observed else np.empty((0, 3), np.float32))
        runs += 1
        tick(1)
    extremes = np.stack(rows) if rows else np.empty((0, observers, 3), np.float32)
    return ShardResult(extremes, tuple(counts), runs)


def run_shard(shard: Shard) -> ShardResult:
    """The executor's task (a module-level function, so it pickles by name)."""
    fn = _compiled(shard.module_text, shard.entry, shard.threads)
    return run_samples(fn, shard.samples, shard.observers, shard.histogram)


def _merge(results: Sequence[ShardResult], observers: int, histogram: bool) -> ShardResult:
    """Shards in order: per-sample extremes concatenated, counts added (exact in int64)."""
    extremes = np.concatenate([r.extremes for r in results])
    counts = tuple(
        np.sum([r.counts[j] for r in results], axis=0, dtype=np.int64)
        for j in range(observers if histogram else 0)
    )
    return ShardResult(extremes, counts, sum(r.samples for r in results))


def _sharded(
    executor: Executor, template: Shard, data: Samples, shards: int | None, tick: Tick
) -> ShardResult:
    """Run `template`'s module on `data` split into contiguous shards; merge in order."""
    total = len(data)
    count = max(1, min(total, shards or os.cpu_count() or 1))
    bounds = [(i * total // count, (i + 1) * total // count) for i in range(count)]
    futures: list[Future] = [
        executor.submit(run_shard, replace(template, samples=data.shard(a, b))) for a, b in bounds
    ]
    sizes = {future: b - a for future, (a, b) in zip(futures, bounds, strict=True)}
    for future in as_completed(futures):
        if future.exception() is not None:
            for other in futures:
                other.cancel()
            break
        tick(sizes[future])
    for future in futures:  # the first failure in shard order, as a serial run meets it
        if future.done() and not future.cancelled() and future.exception() is not None:
            raise future.exception()  # type: ignore[misc]
    return _merge([f.result() for f in futures], template.observers, template.histogram)


def _progress(total: int | None, description: str, progress: bool | None):
    """A tqdm bar on stderr: shown when stderr is a terminal, or when `progress` says so."""
    show = sys.stderr.isatty() if progress is None else progress
    if not show:
        return contextlib.nullcontext(None)
    from tqdm import tqdm

    return tqdm(total=total, desc=description, file=sys.stderr, unit="sample")


@dataclass(frozen=True)
class _Run:
    """What both passes share: the float module (loaded on first need), its entry, the data
    and how to run."""

    module: Callable[[], ModuleOp]
    entry: str | None
    data: Samples | StreamSamples
    executor: Executor | None
    shards: int | None
    threads: int | None
    progress: bool | None

    def run(
        self,
        instrument: Callable[[ModuleOp, str], list[str]],
        histogram: bool,
        label: str,
        cached: CachedPass | None = None,
        key: str | None = None,
        edges: Sequence[np.ndarray] = (),
    ) -> tuple[list[str], ShardResult]:
        """Run the instrumented module on every sample: the observed names and the merged
        statistics. The function is `cached` (reading `edges`), else a copy of the module
        instrumented, compiled and stored under `key`."""
        serial: NativeFunction | None = None
        if cached is not None:
            names, serial = list(cached.names), cached.with_edges(edges)
        else:
            module = self.module().clone()
            entry = find_function(module, self.entry).sym_name.data
            names = instrument(module, entry)
            if self.executor is None:  # compiled before the bar starts: it times samples only
                serial = compile_module(module, entry, threads=self.threads)
                if key is not None:
                    store_pass(key, serial, names)
        total = None if isinstance(self.data, StreamSamples) else len(self.data)
        with _progress(total, label, self.progress) as bar:
            tick = bar.update if bar is not None else (lambda n: None)
            if serial is not None:
                result = run_samples(serial, self.data, len(names), histogram, tick)
            else:
                template = Shard(
                    print_module(module), entry, self.data, len(names), histogram, self.threads
                )
                result = _sharded(self.executor, template, self.data, self.shards, tick)
        if result.samples == 0:
            raise CalibrationDataError("calibration data is empty: no samples")
        return names, result


def _stats(names: list[str], extremes: np.ndarray) -> dict[str, TensorStats]:
    stats = {}
    for j, name in enumerate(names):
        smallest = extremes[:, j, 2]
        seen = smallest[~np.isnan(smallest)]
        abs_minimum = np.float32(seen.min()) if seen.size else np.float32(np.nan)
        minima, maxima = extremes[:, j, 0].copy(), extremes[:, j, 1].copy()
        stats[name] = TensorStats(name, minima, maxima, abs_minimum)
    return stats


def _checked_edges(name: str, bins: int, edges: np.ndarray) -> np.ndarray:
    """The edges `edges_for` chose for one tensor, checked: bins + 1 float32 values."""
    if edges.shape != (bins + 1,):
        raise ValueError(
            f"edges_for gave {list(edges.shape)} edges for '{name}', expected [{bins + 1}] "
            "(bins + 1)"
        )
    if not np.array_equal(edges.astype(np.float32), edges, equal_nan=True):
        raise ValueError(f"edges_for gave edges for '{name}' that are not float32 values")
    return edges.astype(np.float32)


def _request(name: str, kind: HistogramKind, bins: int, edges: np.ndarray) -> HistogramRequest:
    """What pass 2 counts for one tensor (the edges checked)."""
    rule, absolute = RULES[kind]
    values = edges if rule is HistogramRule.EDGES else edges[[0, -1]]
    return HistogramRequest(name, tuple(float(e) for e in values), bins, rule, absolute)


def collect_statistics(
    module: ModuleOp | str | Callable[[], ModuleOp],
    samples: str | os.PathLike | Iterable[object],
    *,
    tensors: Sequence[str] | None = None,
    histogram: tuple[HistogramKind, int] | None = None,
    edges_for: EdgesFor | None = None,
    executor: Executor | None = None,
    progress: bool | None = None,
    entry: str | None = None,
    shards: int | None = None,
    threads: int | None = None,
    source: ModelSource | None = None,
) -> dict[str, TensorStats]:
    """Statistics of the observed tensors of `entry` of a float module (a ModuleOp, left
    unchanged, or IR text), keyed by tensor name (qdialect.names.tensor_name).

    `samples`: an iterable of dicts of arrays keyed by input name, an `.npz` of arrays with a
    leading axis of samples, or a directory of one-sample `.npz` files (runtime.samples).
    `tensors`: names to observe (default: every computed float32 tensor). `histogram`:
    (kind, bins) for a second pass, whose edges `edges_for(kind, bins, stats)` gives per
    tensor (float32, bins + 1 of them). `executor`: run `shards` contiguous shards (default:
    one per core, at most one per sample) there. `progress`: a tqdm bar on stderr (default:
    when stderr is a terminal). `threads`: the kernels' thread count (compile_module's).
    `source`: the bytes of the file the module is read from; a serial run then takes its
    compiled passes from runtime.calibration_cache, and `module` may be a function that
    loads the module, called only when a pass is not there.
    """
    if histogram is not None and edges_for is None:
        raise ValueError("a histogram needs edges_for, which chooses each tensor's bin edges")
    load = _loader(module)

    def key(observes: str) -> str | None:  # a sharded pass compiles from text in the workers
        cached = source is not None and executor is None
        return pass_key(source, entry, observes) if cached else None  # type: ignore[arg-type]

    first_key = key(_observes(tensors))
    first = load_pass(first_key, threads) if first_key is not None else None
    if first is not None:
        specs = signature_specs(first.function.signature)
    else:
        specs = input_specs(find_function(load(), entry))
    data = open_samples(samples, specs)
    if isinstance(data, StreamSamples) and (executor is not None or histogram is not None):
        data = data.materialized()  # shards must find their samples; pass 2 reads them again
    run = _Run(load, entry, data, executor, shards, threads, progress)
    passes = "1/2" if histogram is not None else "1/1"
    names, extremes = run.run(
        lambda m, e: observe(m, tensors, e), False, f"calibration {passes}", first, first_key
    )
    stats = _stats(names, extremes.extremes)
    if histogram is None:
        return stats
    kind, bins = histogram
    edges = {
        n: _checked_edges(n, bins, np.asarray(edges_for(kind, bins, stats[n])))  # type: ignore[misc]
        for n in names
    }
    rule, absolute = RULES[kind]
    second_key = key(_observes(tensors, (bins, rule.value, absolute)))
    second = load_pass(second_key, threads) if second_key is not None else None
    if second is not None and (second.names != tuple(names) or not second.edge_slots):
        second = None  # not the pass these requests describe: compiled (and stored) again
    kernel_edges = [histogram_data(edges[n], rule is HistogramRule.LINEAR) for n in names]
    _, counted = run.run(
        lambda m, e: histograms(m, [_request(n, kind, bins, edges[n]) for n in names], e),
        True,
        "calibration 2/2",
        second,
        second_key,
        kernel_edges,
    )
    return {
        name: replace(
            stats[name],
            histogram=Histogram(kind, counts, edges[name]),
        )
        for name, counts in zip(names, counted.counts, strict=True)
    }


def _observes(tensors: Sequence[str] | None, histogram: tuple | None = None) -> str:
    """What a pass observes, as its cache key spells it: the tensors (None: every float32
    one) and, for pass 2, the bins, the rule and whether it counts |x|."""
    return json.dumps(
        {"tensors": None if tensors is None else list(tensors), "histogram": histogram}
    )


def _loader(module: ModuleOp | str | Callable[[], ModuleOp]) -> Callable[[], ModuleOp]:
    """The module, parsed or loaded once, on first need."""
    if isinstance(module, ModuleOp):
        return lambda: module
    if isinstance(module, str):
        text = module
        return functools.cache(lambda: parse_module(text))
    return functools.cache(module)
