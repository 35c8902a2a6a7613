"""Calibration runs: the statistics of a float function's tensors over samples (DESIGN §4).

    stats = collect_statistics(module, "calib.npz")                # pass 1: min / max
    stats = collect_statistics(module, samples, histogram=(HistogramKind.VALUE, 2048),
                               edges_for=edges, executor=ProcessPoolExecutor(4))

The function is instrumented once (rewrites.instrument) and compiled once: a `qnn.observe` per
observed tensor, and with a histogram a `qnn.histogram` per tensor too. Pass 1 runs every
sample with the histograms off (NaN bin edges: a kernel that counts nothing returns at once)
and keeps three floats per tensor and sample, so memory holds observers x samples x 3 floats
and never an intermediate tensor. Pass 2 hands the kernels the bin edges `edges_for` chose
from pass 1's statistics (edges are data, not code: runtime.native's `set_constant`), runs
every sample again and adds up int64 counts.

With an `executor` (any `concurrent.futures.Executor`: threads, processes, dask's
`Client.get_executor()`), the samples split into contiguous shards by index; a worker compiles
the module (a JIT cache hit after the first) and returns its shard's statistics, and the caller
merges them in shard order: per-sample extremes concatenated, counts added. The result is the
serial run's, bit for bit, whatever the shard count. A shard travels as the instrumented
module's text, the pass's bin edges and its samples (arrays, or a path and an index range).
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
from qdialect.qnn.observe import EXTREMES, Extreme, edges_problem
from qdialect.textio import parse_module, print_module
from rewrites.instrument import HistogramRequest, InstrumentError, histograms, observe
from runtime.calibration_cache import (
    CachedFunction,
    ModelSource,
    edge_slots,
    function_key,
    load_function,
    store_function,
)
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
    """One task: `entry` of the instrumented `module_text` on `samples`, whose last results
    are `observers` extremes and, when `counting`, as many counts, which its histograms count
    between `edges` (their kernel data; none given: off). `histogram`: keep the counts, else
    the extremes."""

    module_text: str
    entry: str
    samples: Samples
    observers: int
    histogram: bool
    counting: bool
    edges: tuple[np.ndarray, ...]
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
        cache.clear()  # a worker holds the module of the current calibration only
        cache[key] = compile_module(text, entry, threads=threads)
    return cache[key]


def set_edges(fn: NativeFunction, slots: Sequence[int], edges: Sequence[np.ndarray]) -> None:
    """Hand histogram j of `fn` (its data in constant `slots[j]`) the kernel data `edges[j]`;
    no edges turn every histogram off (NaN edges: nothing is counted)."""
    if not edges:
        edges = [np.full_like(fn.constant_arrays[slot], np.nan) for slot in slots]
    for slot, data in zip(slots, edges, strict=True):
        fn.set_constant(slot, data)


def run_samples(
    fn: NativeFunction,
    samples: Samples | StreamSamples,
    observers: int,
    histogram: bool,
    tick: Tick = lambda n: None,
    counting: bool = False,
) -> ShardResult:
    """Run `fn` on each sample (checked first) and keep its observations: its last results
    are `observers` extremes, then (`counting`) as many counts; `histogram` keeps the counts."""
    specs = signature_specs(fn.signature)
    rows: list[np.ndarray] = []
    counts: list[np.ndarray] = []
    runs = 0
    after = observers if counting else 0  # results past the extremes
    for label, sample in samples.labelled():
        outputs = fn(*check_sample(label, sample, specs))
        if histogram:
            observed = outputs[len(outputs) - observers :]
            counts = (
                observed if not counts else [c + o for c, o in zip(counts, observed, strict=True)]
            )
        else:
            observed = outputs[len(outputs) - after - observers : len(outputs) - after]
            rows.append(np.stack(observed) if observed else np.empty((0, EXTREMES), np.float32))
        runs += 1
        tick(1)
    extremes = np.stack(rows) if rows else np.empty((0, observers, EXTREMES), np.float32)
    return ShardResult(extremes, tuple(counts), runs)


def run_shard(shard: Shard) -> ShardResult:
    """The executor's task (a module-level function, so it pickles by name)."""
    fn = _compiled(shard.module_text, shard.entry, shard.threads)
    if shard.counting:
        set_edges(fn, edge_slots(fn, shard.observers), shard.edges)
    return run_samples(fn, shard.samples, shard.observers, shard.histogram, counting=shard.counting)


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
class _Instrumented:
    """The instrumented function of both passes: the observed names; for a serial run the
    loaded function (`serial`) and its histograms' edge constants (`slots`), else the module's
    text for the workers; `counting`: it has histograms."""

    names: list[str]
    entry: str
    counting: bool
    serial: NativeFunction | None
    slots: tuple[int, ...]
    text: str


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

    def instrument(
        self,
        tensors: Sequence[str] | None,
        counted: tuple[int, HistogramRule, bool] | None,
        cached: CachedFunction | None,
        key: str | None,
    ) -> _Instrumented:
        """The function observing `tensors` (and counting them: bins, rule, |x|): `cached`,
        else a copy of the module instrumented, compiled (serial runs) and stored under `key`.
        The histograms are built with placeholder edges; every pass hands in its own."""
        counting = counted is not None
        if cached is not None:
            fn = cached.function
            return _Instrumented(
                list(cached.names), fn.signature.name, counting, fn, cached.edge_slots, ""
            )
        module = self.module().clone()
        entry = find_function(module, self.entry).sym_name.data
        names = observe(module, tensors, entry)
        if counted is not None:
            bins, rule, absolute = counted
            count = bins + 1 if rule is HistogramRule.EDGES else 2
            placeholder = tuple(float(i) for i in range(count))
            requests = [HistogramRequest(n, placeholder, bins, rule, absolute) for n in names]
            histograms(module, requests, entry)
        if self.executor is not None:
            return _Instrumented(names, entry, counting, None, (), print_module(module))
        serial = compile_module(module, entry, threads=self.threads)
        slots = edge_slots(serial, len(names)) if counting else ()
        if key is not None:
            store_function(key, serial, names, slots)
        return _Instrumented(names, entry, counting, serial, slots, "")

    def run(
        self, fn: _Instrumented, histogram: bool, label: str, edges: Sequence[np.ndarray] = ()
    ) -> ShardResult:
        """Run the instrumented function on every sample, its histograms reading `edges`
        (none given: off); the merged statistics (counts with `histogram`, else extremes)."""
        total = None if isinstance(self.data, StreamSamples) else len(self.data)
        with _progress(total, label, self.progress) as bar:
            tick = bar.update if bar is not None else (lambda n: None)
            if fn.serial is not None:
                if fn.counting:
                    set_edges(fn.serial, fn.slots, edges)
                result = run_samples(
                    fn.serial, self.data, len(fn.names), histogram, tick, fn.counting
                )
            else:
                template = Shard(
                    fn.text, fn.entry, self.data, len(fn.names), histogram, fn.counting,
                    tuple(edges), self.threads,
                )  # fmt: skip
                result = _sharded(self.executor, template, self.data, self.shards, tick)
        if result.samples == 0:
            raise CalibrationDataError("calibration data is empty: no samples")
        return result


def _stats(names: list[str], extremes: np.ndarray) -> dict[str, TensorStats]:
    stats = {}
    for j, name in enumerate(names):
        column = extremes[:, j].T.copy()
        smallest = column[Extreme.ABS_MIN]
        seen = smallest[~np.isnan(smallest)]
        abs_minimum = np.float32(seen.min()) if seen.size else np.float32(np.nan)
        stats[name] = TensorStats(
            name,
            column[Extreme.MIN],
            column[Extreme.MAX],
            abs_minimum,
            reduce_minima=column[Extreme.REDUCE_MIN],
            reduce_maxima=column[Extreme.REDUCE_MAX],
        )
    return stats


def _checked_edges(name: str, bins: int, rule: HistogramRule, edges: np.ndarray) -> np.ndarray:
    """The edges `edges_for` chose for one tensor, checked as a histogram's verifier checks
    its edges (the kernels get them as data, past the verifier): bins + 1 float32 values."""
    if edges.shape != (bins + 1,):
        raise ValueError(
            f"edges_for gave {list(edges.shape)} edges for '{name}', expected [{bins + 1}] "
            "(bins + 1)"
        )
    if not np.array_equal(edges.astype(np.float32), edges, equal_nan=True):
        raise ValueError(f"edges_for gave edges for '{name}' that are not float32 values")
    values = edges.tolist() if rule is HistogramRule.EDGES else edges[[0, -1]].tolist()
    problem = edges_problem(values, bins, rule)
    if problem is not None:
        raise InstrumentError(f"histogram of '{name}': {problem}")
    return edges.astype(np.float32)


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
    variant: str = "",
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
    instrumented function from runtime.calibration_cache, and `module` may be a function that
    loads the module, called only when the function is not there; `variant` names what that
    function does to the file's module before instrumenting it (part of the cache key).
    """
    if histogram is not None and edges_for is None:
        raise ValueError("a histogram needs edges_for, which chooses each tensor's bin edges")
    load = _loader(module)
    counted = None
    if histogram is not None:
        rule, absolute = RULES[histogram[0]]
        counted = (histogram[1], rule, absolute)
    key = None
    if source is not None and executor is None:  # workers compile from text
        key = function_key(source, entry, _observes(tensors, counted) + variant)
    cached = load_function(key, threads) if key is not None else None
    if cached is not None:
        specs = signature_specs(cached.function.signature)
    else:
        specs = input_specs(find_function(load(), entry))
    data = open_samples(samples, specs)
    if isinstance(data, StreamSamples) and (executor is not None or histogram is not None):
        data = data.materialized()  # shards must find their samples; pass 2 reads them again
    run = _Run(load, entry, data, executor, shards, threads, progress)
    fn = run.instrument(tensors, counted, cached, key)
    names = fn.names
    passes = "1/2" if histogram is not None else "1/1"
    stats = _stats(names, run.run(fn, False, f"calibration {passes}").extremes)
    if histogram is None:
        return stats
    kind, bins = histogram
    rule = RULES[kind][0]
    edges = {
        n: _checked_edges(n, bins, rule, np.asarray(edges_for(kind, bins, stats[n])))  # type: ignore[misc]
        for n in names
    }
    kernel_edges = [histogram_data(edges[n], rule is HistogramRule.LINEAR) for n in names]
    counted_result = run.run(fn, True, "calibration 2/2", kernel_edges)
    return {
        name: replace(stats[name], histogram=Histogram(kind, counts, edges[name]))
        for name, counts in zip(names, counted_result.counts, strict=True)
    }


def _observes(
    tensors: Sequence[str] | None, counted: tuple[int, HistogramRule, bool] | None
) -> str:
    """What the instrumented function observes, as its cache key spells it: the tensors
    (None: every float32 one) and what its histograms count (bins, rule, |x|), if any."""
    histogram = None if counted is None else (counted[0], counted[1].value, counted[2])
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
