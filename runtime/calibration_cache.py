"""Calibration's instrumented function, cached by the float model file's bytes (model_cache).

    key = function_key(source, None, observes)  # what the function observes and counts
    cached = load_function(key, threads)        # None: instrument, compile, store_function

A calibration compiles its float model once, instrumented with observers (and histograms for
the histogram methods; runtime.calibration_run runs it twice). Without this cache a second
calibration of the same file still pays for importing the model, instrumenting it and
emitting the C whose object the JIT then finds (a third of a second for ResNet-18, over ten of
its samples). The function is keyed as runtime.model_cache keys a whole model (the file's
bytes, the code, the compiler and its flags) plus what it observes, so a second calibration of
the file, on other samples, loads it without importing the model or xDSL's IR.

The entry notes the observed tensors' names, in the order of the extra results, and which
constant holds each histogram's bin edges: those are data the kernels read
(codegen.plan.Plan.add_data), which every pass replaces with its own.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from runtime import model_cache
from runtime.cc import CompileError
from runtime.native import NativeFunction

if TYPE_CHECKING:
    from runtime.compiled import CompiledFunction


@dataclass(frozen=True)
class ModelSource:
    """A float model as its file's bytes (what keys its instrumented function) and how to
    read them."""

    data: bytes
    frontend: str  # "onnx" or "mlir"

    @functools.cached_property
    def digest(self) -> str:
        """sha256 of the bytes, computed once (45 MB of ResNet-18 take 25 ms)."""
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class CachedFunction:
    """An instrumented function loaded from the cache: its observed names, in the order of
    its extra results, and (when it counts) the constant holding each histogram's edges."""

    function: NativeFunction
    names: tuple[str, ...]
    edge_slots: tuple[int, ...]


def function_key(source: ModelSource, entry: str | None, observes: str) -> str | None:
    """The key of `source`'s `entry` instrumented as `observes` describes (what is observed
    and counted); None without a C compiler (compile_module then says so)."""
    try:
        passes = json.dumps(["calibration", observes])
        return model_cache.model_key(
            source.data, frontend=source.frontend, entry=entry, passes=passes, digest=source.digest
        )
    except CompileError:
        return None


def load_function(key: str, threads: int | None) -> CachedFunction | None:
    """The function stored under `key`, or None (a miss)."""
    entry = model_cache.load_entry(key, threads)
    if entry is None:
        return None
    function, notes = entry
    names, slots = notes.get("names"), notes.get("edge_slots")
    if not isinstance(names, list) or not isinstance(slots, list):
        return None
    return CachedFunction(function, tuple(names), tuple(slots))


def edge_slots(function: CompiledFunction, observers: int) -> tuple[int, ...]:
    """The constant holding each histogram's edges, in observer order, of a freshly compiled
    function (its plan says where they are) whose last `observers` results are counts."""
    plan = function.emitted.plan
    counted = plan.outputs[len(plan.outputs) - observers :]
    return tuple(plan.data_slots[value] for value in counted)


def store_function(
    key: str, function: NativeFunction, names: Sequence[str], slots: Sequence[int]
) -> None:
    """Store an instrumented function under `key`, with its observed names and its
    histograms' edge constants (`edge_slots`; none when it only observes); a cache that cannot
    hold it is no error."""
    model_cache.store(key, function, {"names": list(names), "edge_slots": list(slots)})
