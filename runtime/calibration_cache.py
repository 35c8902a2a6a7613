"""Calibration's compiled passes, cached by the float model file's bytes (runtime.model_cache).

    key = pass_key(source, None, "observe all")
    cached = load_pass(key, threads)            # None: instrument and compile, then store_pass

A calibration compiles its float model once per pass: pass 1 (min/max observers) and, for the
histogram methods, pass 2 (counts in bins that pass 1's ranges chose). Without this cache a
second calibration of the same file still pays for importing the model, instrumenting it and
emitting the C whose object the JIT then finds (a third of a second for ResNet-18, over ten of
its samples). A pass is keyed as runtime.model_cache keys a whole model (the file's bytes, the
code, the compiler and its flags) plus what the pass observes, so a second calibration of the
file, on other samples or by another method, loads both passes without importing xDSL's IR.

The entry notes the observed tensors' names, in the order of the extra results, and for pass 2
which constant holds each observer's bin edges: those are data the kernels read
(codegen.plan.Plan.add_data), replaced on a hit by the edges the new samples' ranges give.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from runtime import model_cache
from runtime.cc import CompileError
from runtime.native import NativeFunction


@dataclass(frozen=True)
class ModelSource:
    """A float model as its file's bytes (what keys its passes) and how to read them."""

    data: bytes
    frontend: str  # "onnx" or "mlir"

    @functools.cached_property
    def digest(self) -> str:
        """sha256 of the bytes, once for both passes (45 MB of ResNet-18 take 25 ms)."""
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class CachedPass:
    """An instrumented function loaded from the cache: its observed names (the last results),
    and for a histogram pass the constant holding each observer's edges."""

    function: NativeFunction
    names: tuple[str, ...]
    edge_slots: tuple[int, ...]

    def with_edges(self, edges: Sequence[np.ndarray]) -> NativeFunction:
        """The function, reading `edges[j]` (the kernel's data) as observer j's bin edges."""
        for slot, data in zip(self.edge_slots, edges, strict=True):
            self.function.set_constant(slot, data)
        return self.function


def pass_key(source: ModelSource, entry: str | None, observes: str) -> str | None:
    """The key of the pass of `source`'s `entry` that `observes` describes (what is observed
    and how); None without a C compiler (compile_module then says so)."""
    try:
        passes = json.dumps(["calibration", observes])
        return model_cache.model_key(
            source.data, frontend=source.frontend, entry=entry, passes=passes, digest=source.digest
        )
    except CompileError:
        return None


def load_pass(key: str, threads: int | None) -> CachedPass | None:
    """The pass stored under `key`, or None (a miss)."""
    entry = model_cache.load_entry(key, threads)
    if entry is None:
        return None
    function, notes = entry
    names, slots = notes.get("names"), notes.get("edge_slots")
    if not isinstance(names, list) or not isinstance(slots, list):
        return None
    return CachedPass(function, tuple(names), tuple(slots))


def store_pass(key: str, function: NativeFunction, names: Sequence[str]) -> None:
    """Store a freshly compiled pass (a runtime.compiled.CompiledFunction, whose plan says
    where each histogram's edges are) under `key`; a cache that cannot hold it is no error."""
    plan = function.emitted.plan  # type: ignore[attr-defined]
    observed = plan.outputs[len(plan.outputs) - len(names) :]
    slots = [plan.data_slots[value] for value in observed if value in plan.data_slots]
    assert len(slots) in (0, len(names)), "every observer of a histogram pass reads edges"
    model_cache.store(key, function, {"names": list(names), "edge_slots": slots})
