"""Where a compiled function spends its time: per-op wall time from timers compiled into the C.

    prof = profile_module(module, {"x": x}, runs=20)
    print(prof.table())                      # sorted, slowest op first
    prof.write_chrome_trace("trace.json")    # chrome://tracing, Perfetto, next to ORT's trace

The profiled object is a separate compilation of the same kernels (`compile_module(...,
profile=True)`): every kernel call is bracketed by two `clock_gettime(CLOCK_MONOTONIC)`
readings, and the unprofiled object has no timing code at all. An op is named by the ONNX node
it was imported from where the importer recorded one (`qnn.node`), else by the name of the
tensor it computes; an op fused into another (relu into conv) adds no row. Work per op: arithmetic
operations (2 per multiply-accumulate) for conv/dot, bytes read and written for every op (each
operand and result once: a lower bound on the traffic).

The trace is Chrome's trace-event format as ONNX Runtime's `enable_profiling` writes it: a JSON
list of complete events (`"ph": "X"`, microseconds), one `model_run` per run (category
`Session`) and one event per op and run (category `Node`, `args.op_name` the op).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation

from codegen.plan import nbytes
from qdialect import qnn
from qdialect.names import node_name, tensor_name
from runtime.compiled import CompiledFunction, compile_module

MIN_RUNS = 1


@dataclass(frozen=True)
class OpTime:
    """One kernel of the function: what it computes and its mean time per run."""

    index: int  # position in the function (kernel order)
    op: str  # e.g. "qnn.conv2d"
    name: str  # ONNX node name, else the result's tensor name, else "%<index>"
    seconds: float  # mean wall time per run
    arith_ops: int | None  # arithmetic operations per run (conv/dot), else None
    bytes_moved: int  # operands and results, once each

    @property
    def gops(self) -> float | None:
        if self.arith_ops is None or self.seconds <= 0:
            return None
        return self.arith_ops / self.seconds / 1e9

    @property
    def gbs(self) -> float | None:
        return self.bytes_moved / self.seconds / 1e9 if self.seconds > 0 else None


@dataclass(frozen=True)
class TraceEvent:
    """One complete event of the trace, in microseconds from the first run's start."""

    name: str
    category: str  # "Session" or "Node"
    start_us: float
    duration_us: float
    op: str | None = None

    def as_json(self, pid: int) -> dict:
        event = {
            "cat": self.category,
            "pid": pid,
            "tid": 0,
            "dur": round(self.duration_us, 3),
            "ts": round(self.start_us, 3),
            "ph": "X",
            "name": self.name,
            "args": {},
        }
        if self.op is not None:
            event["args"] = {"op_name": self.op, "provider": "qdialect"}
        return event


@dataclass(frozen=True)
class Profile:
    """Per-op times of `runs` calls of a compiled function (after warm-up)."""

    function: str
    runs: int
    run_seconds: float  # mean wall time of a whole call, as the caller sees it
    ops: tuple[OpTime, ...]  # in kernel order
    events: tuple[TraceEvent, ...]

    @property
    def kernel_seconds(self) -> float:
        return sum(op.seconds for op in self.ops)

    def slowest_first(self) -> list[OpTime]:
        return sorted(self.ops, key=lambda op: (-op.seconds, op.index))

    def by_op_type(self) -> list[tuple[str, float, int]]:
        """(op, total mean seconds per run, kernels) per op kind, slowest first."""
        totals: dict[str, tuple[float, int]] = {}
        for op in self.ops:
            seconds, count = totals.get(op.op, (0.0, 0))
            totals[op.op] = (seconds + op.seconds, count + 1)
        rows = [(op, seconds, count) for op, (seconds, count) in totals.items()]
        return sorted(rows, key=lambda row: -row[1])

    def table(self, limit: int | None = None) -> str:
        """The ops slowest first (`limit` rows), then the totals per op kind."""
        from runtime.profile_table import format_profile

        return format_profile(self, limit)

    def chrome_trace(self) -> list[dict]:
        pid = os.getpid()
        return [event.as_json(pid) for event in self.events]

    def write_chrome_trace(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.chrome_trace(), indent=1) + "\n", encoding="utf-8")


def arith_ops(op: Operation) -> int | None:
    """2 per multiply-accumulate of a conv/dot (weight elements per output channel times
    outputs), None for other ops."""
    if not isinstance(op, (qnn.Conv2DOp, qnn.DotOp)):
        return None
    weight = op.weight.type.get_shape()
    outputs = int(np.prod(op.result.type.get_shape()))
    out_channels = weight[0] if isinstance(op, qnn.Conv2DOp) else weight[-1]
    return 2 * outputs * int(np.prod(weight)) // out_channels


def op_label(op: Operation, index: int) -> str:
    name = node_name(op)
    if name is None and op.results:
        name = tensor_name(op.results[0])
    return name if name else f"%{index}"


def profile_function(
    compiled: CompiledFunction,
    inputs: Mapping[str, np.ndarray],
    runs: int = 10,
    warmup: int = 1,
) -> Profile:
    """Call a function compiled with `profile=True` `warmup` + `runs` times on `inputs` and
    collect each kernel's time per run."""
    if not compiled.emitted.profiled:
        raise ValueError(
            f"@{compiled.name} was compiled without profiling (compile_module(..., profile=True))"
        )
    if runs < MIN_RUNS:
        raise ValueError(f"runs must be a positive integer, got {runs}")
    kernel_ops = compiled.emitted.kernel_ops
    ffi, read = compiled.library.ffi, compiled.library.lib.qd_profile_read
    stamps = ffi.new("int64_t[]", 2 * len(kernel_ops))
    arrays = [inputs[name] for name in compiled.argument_names]  # positional: the fast call
    for _ in range(warmup):
        compiled(*arrays)
    origin = time.monotonic_ns()
    per_run: list[np.ndarray] = []
    walls: list[tuple[int, int]] = []
    for _ in range(runs):
        start = time.monotonic_ns()
        compiled(*arrays)
        walls.append((start, time.monotonic_ns()))
        read(stamps)
        per_run.append(np.frombuffer(ffi.buffer(stamps), np.int64).copy().reshape(-1, 2))
    return assemble(compiled, per_run, walls, origin)


def assemble(
    compiled: CompiledFunction,
    per_run: list[np.ndarray],
    walls: list[tuple[int, int]],
    origin: int,
) -> Profile:
    """The profile of the collected (start, end) pairs: CLOCK_MONOTONIC in C and
    `time.monotonic_ns` in Python read the same clock on Linux."""
    kernel_ops = compiled.emitted.kernel_ops
    labels = [op_label(op, index) for index, op in enumerate(kernel_ops)]
    durations = np.stack([stamps[:, 1] - stamps[:, 0] for stamps in per_run])
    mean = durations.mean(axis=0) / 1e9
    ops = tuple(
        OpTime(
            index,
            op.name,
            labels[index],
            float(mean[index]),
            arith_ops(op),
            sum(nbytes(v) for v in (*op.operands, *op.results)),
        )
        for index, op in enumerate(kernel_ops)
    )
    events: list[TraceEvent] = []
    for stamps, (start, end) in zip(per_run, walls, strict=True):
        run = TraceEvent("model_run", "Session", (start - origin) / 1e3, (end - start) / 1e3)
        events.append(run)
        for index, (begin, finish) in enumerate(stamps):
            events.append(
                TraceEvent(
                    labels[index],
                    "Node",
                    (int(begin) - origin) / 1e3,
                    (int(finish) - int(begin)) / 1e3,
                    kernel_ops[index].name,
                )
            )
    run_seconds = float(np.mean([end - start for start, end in walls])) / 1e9
    return Profile(compiled.name, len(per_run), run_seconds, ops, tuple(events))


def profile_module(
    module: ModuleOp | str,
    inputs: Mapping[str, np.ndarray],
    entry: str | None = None,
    *,
    runs: int = 10,
    warmup: int = 1,
    threads: int | None = None,
    name: str = "<input>",
) -> Profile:
    """Compile `entry` with timers (qnn-default first, as `compile_module`) and profile it."""
    compiled = compile_module(module, entry, name=name, threads=threads, profile=True)
    return profile_function(compiled, inputs, runs=runs, warmup=warmup)
