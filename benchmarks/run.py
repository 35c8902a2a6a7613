"""Our compiled kernels next to ONNX Runtime and PyTorch, on issue 6's workloads.

    python -m benchmarks.run                        # every workload, 1 thread and all cores
    python -m benchmarks.run --threads 1 --quick    # skip the big GEMMs, shorter timing
    python -m benchmarks.run --only conv --only GEMV

Before anything is timed, our output is checked bit for bit against the reference interpreter
(runtime.reference) on full-range random data, and each peer's output is compared with ours
(the "peer vs ours" column: exact, or how many outputs differ and by how much). Missing peers
print "—". See docs/performance.md for what the columns mean.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from dataclasses import dataclass

import numpy as np

from benchmarks.peers import Candidate, ort_candidates, torch_candidates
from benchmarks.timing import seconds_per_call
from benchmarks.workloads import Workload, workloads
from runtime.compiled import CompiledFunction, compile_module
from runtime.reference import run_function


class MismatchError(AssertionError):
    """Our compiled output differs from the reference interpreter's."""


@dataclass
class Prepared:
    """A workload compiled and checked: `fn` on `inputs` gave exactly `expected`."""

    workload: Workload
    fn: CompiledFunction
    inputs: list[np.ndarray]
    weights: list[np.ndarray]
    expected: list[np.ndarray]


def prepare(workload: Workload, seed: int = 0) -> Prepared:
    """Build, compile and check one workload against the reference interpreter."""
    rng = np.random.default_rng(seed)
    weights = workload.weights(rng)
    inputs = workload.inputs(rng)
    module = workload.module(weights)
    expected = run_function(module.clone(), inputs)
    fn = compile_module(module, name=workload.name)
    got = fn(*inputs)
    for e, g in zip(expected, got, strict=True):
        if e.dtype != g.dtype or not np.array_equal(e, g, equal_nan=True):
            wrong = int(np.count_nonzero(e != g))
            raise MismatchError(
                f"{workload.name}: {wrong} of {e.size} outputs differ from the reference"
            )
    return Prepared(workload, fn, inputs, weights, expected)


def our_call(p: Prepared):
    """The timed call: results into preallocated arrays (as the peers' IO bindings), except for
    the per-call row, which measures the plain `fn(*inputs)` a user writes."""
    fn, inputs = p.fn, p.inputs
    if p.workload.unit == "us":
        return lambda: fn(*inputs)
    out = [np.empty_like(e) for e in p.expected]
    return lambda: fn(*inputs, out=out)


def agreement(ours: np.ndarray, theirs: np.ndarray) -> str:
    """'exact', or how many outputs differ and by how much (in stored units)."""
    if theirs.shape != ours.shape:
        return f"shape {theirs.shape}?"
    if np.array_equal(ours, theirs, equal_nan=True):
        return "exact"
    if ours.dtype.kind == "f":
        diff = np.abs(ours.astype(np.float64) - theirs.astype(np.float64))
        return f"{np.count_nonzero(diff) / diff.size:.1%} differ (max {diff.max():.3g})"
    diff = np.abs(ours.astype(np.int64) - theirs.astype(np.int64))
    return f"{np.count_nonzero(diff) / diff.size:.1%} differ (max {diff.max()} LSB)"


def rate(workload: Workload, seconds: float) -> float:
    return seconds * 1e6 if workload.unit == "us" else workload.work / seconds / 1e9


def measure_peer(workload: Workload, ours: np.ndarray, candidates: list[Candidate], budget: float):
    """[(rate, label, agreement with ours)] for every candidate, fastest first."""
    results = []
    for candidate in candidates:
        output = candidate.call()
        note = agreement(ours, candidate.to_ours(output)) if candidate.to_ours else "not compared"
        results.append(
            (rate(workload, seconds_per_call(candidate.call, budget)), candidate.label, note)
        )
    return sorted(results, key=lambda r: r[0], reverse=workload.unit != "us")


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    return f"{value:.2f}" if unit == "us" else f"{value:.1f}"


def run_row(p: Prepared, threads: int, budget: float) -> str:
    w = p.workload
    p.fn.set_threads(threads)
    # the previous row's peer sessions go now, and their pools' spinning threads stop, before
    # ours is timed (with 2 threads a spinning leftover halved some of our rows)
    gc.collect()
    time.sleep(0.2)
    ours = rate(w, seconds_per_call(our_call(p), budget))
    peers = {
        name: measure_peer(w, p.expected[0], offer(w, p.inputs, p.weights, threads), budget)
        for name, offer in (("ORT", ort_candidates), ("PyTorch", torch_candidates))
    }
    found = [results[0][0] for results in peers.values() if results]
    exact = [r for results in peers.values() for r, _, note in results if note == "exact"]
    ratios = [_ratio(w, ours, found), _ratio(w, ours, exact)]
    notes = "; ".join(
        f"{name} {label} {fmt(r, w.unit)}: {note}"
        for name, results in peers.items()
        for r, label, note in results
    )
    cells = [w.name, w.unit, fmt(ours, w.unit)]
    cells += [fmt(results[0][0] if results else None, w.unit) for results in peers.values()]
    return "| " + " | ".join([*cells, *ratios, notes or "—"]) + " |"


def _ratio(w: Workload, ours: float, rates: list[float]) -> str:
    """ours / the best of `rates` (for µs, best / ours: above 1 is better for us), or —."""
    if not rates:
        return "—"
    best = min(rates) if w.unit == "us" else max(rates)
    return f"{(best / ours if w.unit == 'us' else ours / best):.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", choices=["1", "all", "both"], default="both")
    parser.add_argument("--quick", action="store_true", help="skip the big GEMMs, time briefly")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help="workloads whose name contains NAME (repeatable)",
    )
    args = parser.parse_args(argv)
    cores = (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )
    counts = {"1": [1], "all": [cores], "both": [1, cores]}[args.threads]
    budget = 0.3 if args.quick else 1.0
    chosen = [
        w
        for w in workloads()
        if (not args.quick or not w.big)
        and (not args.only or any(n.lower() in w.name.lower() for n in args.only))
    ]
    prepared = []
    for w in chosen:
        print(f"checking {w.name} ...", file=sys.stderr, flush=True)
        prepared.append(prepare(w))
    for threads in dict.fromkeys(counts):
        print(f"\n### {threads} thread{'s' if threads > 1 else ''}\n")
        print(
            "| workload | unit | ours | ONNX Runtime | PyTorch | ours / best peer "
            "| ours / best exact peer | peer kernels: rate, output vs ours |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for p in prepared:
            print(run_row(p, threads, budget), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
