"""Calling a loaded entry point `qd_entry` on numpy arrays: checks, pointer tables, arena.

Needs numpy and the loaded library only (no xDSL, no codegen), so that a cache hit of a whole
model (runtime.model_cache) goes from reading the file to running without importing the
compiler. runtime.compiled builds the same object from a freshly compiled function.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from runtime.jit import CompiledLibrary

ArraySpec = tuple[np.dtype, tuple[int, ...]]

THREADS_ENV = "QDIALECT_NUM_THREADS"


class ExecutionError(Exception):
    """The IR cannot be run here (unsupported op or type), or inputs do not fit it."""


def bind_by_name(
    names: Sequence[str], positional: Sequence[object], named: Mapping[str, object]
) -> dict[str, object]:
    """Inputs given by position and by name, as one mapping by argument name: bound as Python
    binds a call, each argument once (never by position and by name), no unknown names."""
    names = list(names)
    if len(positional) > len(names):
        raise ExecutionError(
            f"expected {len(names)} inputs {names}, got {len(positional)} by position"
        )
    bound = dict(zip(names, positional, strict=False))
    for name, value in named.items():
        if name not in names:
            raise ExecutionError(f"unknown argument {name!r}; the arguments are {names}")
        if name in bound:
            raise ExecutionError(
                f"argument {name!r} given twice: by position (input {names.index(name)}) "
                "and by name"
            )
        bound[name] = value
    return bound


def check_arrays(
    names: Sequence[str],
    specs: Sequence[ArraySpec],
    inputs: Sequence[object] | Mapping[str, object],
) -> list[np.ndarray]:
    """Inputs in argument order, each checked for dtype and shape against its spec."""
    names = list(names)
    if isinstance(inputs, Mapping):
        missing = [n for n in names if n not in inputs]
        extra = [n for n in inputs if n not in names]
        if missing or extra:
            raise ExecutionError(
                f"inputs must be named {names}; missing {missing}, unexpected {extra}"
            )
        arrays = [inputs[n] for n in names]
    else:
        arrays = list(inputs)
        if len(arrays) != len(names):
            raise ExecutionError(f"expected {len(names)} inputs {names}, got {len(arrays)}")
    checked = []
    for name, (dtype, shape), array in zip(names, specs, arrays, strict=True):
        array = np.asarray(array)
        if array.dtype != dtype:
            raise ExecutionError(f"argument '{name}' must have dtype {dtype}, got {array.dtype}")
        if array.shape != shape:
            raise ExecutionError(
                f"argument '{name}' must have shape {list(shape)}, got {list(array.shape)}"
            )
        checked.append(array)
    return checked


CACHE_LINE = 64


def cache_line_aligned(array: np.ndarray) -> np.ndarray:
    """`array` C-contiguous and starting on a cache line: itself when it already is (callers
    hand in arrays they own: constants the kernels only read, a fresh arena), else a copy.
    The kernels' packed weight blocks and scratch rows are whole lines apart, so their vector
    loads then never straddle two lines (numpy aligns to 16 bytes only; a split load costs an
    extra cycle). codegen.packing.line_aligned_floats makes packed weights this way."""
    if array.flags.c_contiguous and array.ctypes.data % CACHE_LINE == 0:
        return array
    buffer = np.empty(array.nbytes + CACHE_LINE, dtype=np.uint8)
    start = -buffer.ctypes.data % CACHE_LINE
    aligned = buffer[start : start + array.nbytes].view(array.dtype).reshape(array.shape)
    aligned[...] = array
    return aligned


def zeroed_cache_line_aligned(nbytes: int) -> np.ndarray:
    """`nbytes` zero bytes starting on a cache line, without touching them (numpy's zeros are
    calloc's: pages the kernels never reach are never written; an aligned copy would write
    every page of a model's tens of megabytes of arena)."""
    buffer = np.zeros(nbytes + CACHE_LINE, dtype=np.uint8)
    start = -buffer.ctypes.data % CACHE_LINE
    return buffer[start : start + nbytes]


@dataclass(frozen=True)
class Signature:
    """What crosses the boundary: the entry's name, its arguments and results by name, and the
    numpy dtype and shape of each (runtime.signature reads them off a function's types), and
    the located message of each failure the entry point may return (1, 2, ...: a gather's
    index out of range; codegen.kernel.Kernel.failure)."""

    name: str
    arguments: tuple[str, ...]
    inputs: tuple[ArraySpec, ...]
    results: tuple[str, ...]
    outputs: tuple[ArraySpec, ...]
    failures: tuple[str, ...] = ()


def checked_entry(run: Callable[[], int], failures: Sequence[str]) -> Callable[[], None]:
    """`run` (the entry point with its tables) raising its failure's message as an
    ExecutionError; `run` itself when it cannot fail, so a call costs nothing more."""
    if not failures:
        return run

    def checked() -> None:
        failure = run()
        if failure:
            raise ExecutionError(failures[failure - 1])

    return checked


class NativeFunction:
    """A loaded entry point: call it with numpy arrays in argument order (or by name).

    Built from a loaded library, its signature, its constant table (arrays in the dtype the
    kernels read, cache-line aligned) and its arena size: no IR, so a cached model
    (runtime.model_cache) runs without importing the compiler. Calls are not reentrant: the
    scratch arena and the pointer tables are shared by all calls of one NativeFunction (and the
    C releases the GIL), so call it from one thread at a time.
    """

    def __init__(
        self,
        library: CompiledLibrary,
        signature: Signature,
        constants: Sequence[np.ndarray],
        arena_size: int,
    ) -> None:
        ffi = library.ffi
        self.library = library
        self.signature = signature
        self.arena_size = arena_size
        self._inputs = list(signature.inputs)
        self._arity = len(self._inputs)
        self._outputs = list(signature.outputs)
        self._constants = list(constants)
        self._arena = zeroed_cache_line_aligned(max(arena_size, 1))
        # Pointer tables and the entry point are looked up once; a call only fills them in.
        # `ffi.from_buffer` is the cheapest way to a numpy array's address (≈ 0.3 µs, against
        # ≈ 1.5 µs for `__array_interface__` or `.ctypes.data`, which build Python objects).
        pointers = [ffi.from_buffer(a) for a in self._constants]
        self._constant_ptrs = ffi.new("void *[]", pointers or 1)
        self._in_ptrs = ffi.new("void *[]", max(len(self._inputs), 1))
        self._out_ptrs = ffi.new("void *[]", max(len(self._outputs), 1))
        self._arena_ptr = ffi.from_buffer(self._arena)
        # the entry point with its tables: a call only fills the tables in, then runs this
        self._run = checked_entry(
            functools.partial(
                library.lib.qd_entry,
                self._in_ptrs,
                self._out_ptrs,
                self._constant_ptrs,
                self._arena_ptr,
            ),
            signature.failures,
        )
        self._address = ffi.from_buffer
        # Objects built before the entry point existed lack it; threads are then left alone.
        self._set_threads = getattr(library.lib, "qd_set_threads", None)
        self._fast = unrolled_call(
            self._inputs,
            self._outputs,
            run=self._run,
            address=ffi.from_buffer,
            in_ptrs=self._in_ptrs,
            out_ptrs=self._out_ptrs,
        )

    @property
    def arena_bytes(self) -> int:
        return self.arena_size

    @property
    def argument_names(self) -> list[str]:
        return list(self.signature.arguments)

    @property
    def constant_arrays(self) -> list[np.ndarray]:
        """The constant table as handed to the C (what runtime.model_cache stores)."""
        return list(self._constants)

    def set_constant(self, index: int, array: np.ndarray) -> None:
        """Hand the kernels `array` (of the entry's dtype and shape, made cache-line aligned)
        as constant `index` from the next call on: data a kernel reads, such as a histogram's
        bin edges (runtime.calibration_cache), changes without a new object or arena."""
        old = self._constants[index]
        if array.dtype != old.dtype or array.shape != old.shape:
            raise ValueError(
                f"constant {index} is {old.dtype}{list(old.shape)}, "
                f"got {array.dtype}{list(array.shape)}"
            )
        self._constants[index] = cache_line_aligned(array)
        self._constant_ptrs[index] = self.library.ffi.from_buffer(self._constants[index])

    def _check(self, inputs: Sequence[object] | Mapping[str, object]) -> list[np.ndarray]:
        return check_arrays(self.signature.arguments, self._inputs, inputs)

    def set_threads(self, n: int) -> None:
        """Threads the kernels use from now on (OpenMP's `omp_set_num_threads`, which holds for
        the calling thread and every library of the process). A no-op when compiled without
        OpenMP."""
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"thread count must be a positive integer, got {n!r}")
        if self._set_threads is not None:
            self._set_threads(n)

    def __call__(
        self, *inputs: np.ndarray, out: Sequence[np.ndarray] | None = None, **named: np.ndarray
    ) -> list[np.ndarray]:
        """Run on `inputs` (positional, or keyed by argument name); results are new arrays, or
        the arrays of `out` (C-contiguous, of the results' dtypes and shapes) filled in place."""
        ordered = self._all_named(inputs, named) if named else inputs
        if ordered is not None and len(ordered) == self._arity:
            try:
                results = self._fast(ordered, out)
            except (AttributeError, TypeError, ValueError):
                results = None  # not arrays, not contiguous, out= of the wrong length: below
            if results is not None:
                return results
        return self._checked_call(inputs, out, named)

    def _all_named(self, inputs: Sequence[np.ndarray], named: dict) -> tuple | None:
        """The inputs in argument order when every one is given by name, once (the fast path
        of `fn(x=x)`); else None: the checked call binds them and names what is wrong."""
        if inputs or len(named) != self._arity:
            return None
        try:
            return tuple(named[name] for name in self.signature.arguments)
        except KeyError:
            return None

    def _checked_call(
        self, inputs: Sequence[np.ndarray], out: Sequence[np.ndarray] | None, named: dict
    ) -> list[np.ndarray]:
        """The general call: converts what it can (lists, non-contiguous arrays, names) and
        raises the error that names the argument for the rest."""
        if named:
            # Names map to positions (each argument once); check_inputs names what is missing.
            inputs = tuple(self._check(bind_by_name(self.signature.arguments, inputs, named)))
        elif len(inputs) != self._arity:
            inputs = tuple(self._check(inputs))  # names the count expected
        address, in_ptrs, expected = self._address, self._in_ptrs, self._inputs
        for index, array in enumerate(inputs):
            dtype, shape = expected[index]
            try:
                matches = array.dtype == dtype and array.shape == shape
            except (AttributeError, TypeError):  # not a numpy array
                matches = False
            if not matches:
                # _check raises the error naming the argument, or converts (e.g. a list).
                return self(*self._check(inputs), out=out)
            # C loads elements as their type: one aligned C-contiguous buffer, else a copy
            with contextlib.suppress(ValueError, TypeError):  # address(): not one buffer
                if array.flags.aligned:
                    in_ptrs[index] = address(array)
                    continue
            return self(*[np.require(a, requirements=["C", "A"]) for a in inputs], out=out)
        out_ptrs = self._out_ptrs
        if out is None:
            outputs = [np.empty(shape, dtype) for dtype, shape in self._outputs]
            for index, array in enumerate(outputs):
                out_ptrs[index] = address(array)
        else:
            outputs = self._bind_out(out, inputs)
        self._run()
        return outputs

    def _bind_out(self, out: Sequence[np.ndarray], inputs) -> list[np.ndarray]:
        """Point the output table at the arrays of `out=`: the common case in one cheap loop
        (from_buffer with require_writable refuses read-only and non-C-contiguous arrays); any
        doubt goes to `_reject_out`, which raises the error that names what is wrong."""
        out = list(out)
        address, out_ptrs, share = self._address, self._out_ptrs, np.may_share_memory
        if len(out) != len(self._outputs):
            self._reject_out(out, inputs)
        for index, array in enumerate(out):
            dtype, shape = self._outputs[index]
            try:
                if array.dtype != dtype or array.shape != shape or not array.flags.aligned:
                    self._reject_out(out, inputs)
                out_ptrs[index] = address("char[]", array, True)  # require_writable
            except (AttributeError, TypeError, ValueError):
                self._reject_out(out, inputs)
            for other in (*inputs, *out[:index]):
                if share(array, other):
                    self._reject_out(out, inputs)
        return out

    def _reject_out(self, out: list[np.ndarray], inputs) -> None:
        """Raise the error naming the first problem of `out=`: each array must be C-contiguous,
        writeable, of its result's dtype and shape (C writes every byte of it), and, as kernels
        write results while still reading inputs, overlap no input and no other output."""
        if len(out) != len(self._outputs):
            raise ExecutionError(f"expected {len(self._outputs)} arrays in out=, got {len(out)}")
        for index, (array, (dtype, shape)) in enumerate(zip(out, self._outputs, strict=True)):
            what = f"out[{index}]"
            if not isinstance(array, np.ndarray) or array.dtype != dtype:
                got = array.dtype if isinstance(array, np.ndarray) else type(array).__name__
                raise ExecutionError(f"{what} must be a numpy array of dtype {dtype}, got {got}")
            if array.shape != shape:
                raise ExecutionError(
                    f"{what} must have shape {list(shape)}, got {list(array.shape)}"
                )
            if not (array.flags.c_contiguous and array.flags.writeable):
                raise ExecutionError(f"{what} must be a writeable C-contiguous array")
            if not array.flags.aligned:
                raise ExecutionError(
                    f"{what} must be aligned to its {dtype.itemsize}-byte elements (C writes them)"
                )
            named = zip(self.signature.arguments, inputs, strict=True)
            earlier = ((f"out[{j}]", o) for j, o in enumerate(out[:index]))
            for name, other in [*named, *earlier]:
                if np.may_share_memory(array, other):
                    raise ExecutionError(f"{what} overlaps {name!r}; results need their own memory")
        raise ExecutionError("out= was refused for a reason the checks do not name")


def unrolled_call(
    inputs: list[tuple[np.dtype, tuple[int, ...]]],
    outputs: list[tuple[np.dtype, tuple[int, ...]]],
    **bound: object,
) -> Callable[[tuple, Sequence[np.ndarray] | None], list[np.ndarray] | None]:
    """`fast(inputs, out)`: the common call, unrolled for these argument and result counts.

    A Python loop over the arguments cost more than the C call of a small kernel (2.3 µs a
    call, 0.2 of it in C), so, as `dataclasses` does for `__init__`, the checks are written out
    once per function and compiled with `exec`. `fast` returns None, or raises AttributeError,
    TypeError or ValueError, wherever the general path has to look closer: an argument that is
    not an array of the exact dtype and shape, not C-contiguous or (elements wider than a byte)
    not aligned to its itemsize (`flags.aligned`, ≈ 0.05 µs), or an `out=` array that is
    not of its result's dtype and shape, not writeable (from_buffer's `require_writable`), or
    might overlap another array. Two distinct arrays that own their data are separate
    allocations; anything else (views) goes to `np.may_share_memory` on the general path.
    `bound` supplies `run` (the entry point with its tables), `address` (ffi.from_buffer),
    `in_ptrs` and `out_ptrs`.
    """
    xs = [f"x{i}" for i in range(len(inputs))]
    ys = [f"y{j}" for j in range(len(outputs))]
    namespace: dict[str, object] = {"empty": np.empty, **bound}
    for names, signature in ((xs, inputs), (ys, outputs)):
        for name, (dtype, shape) in zip(names, signature, strict=True):
            namespace[f"{name}_dtype"], namespace[f"{name}_shape"] = dtype, shape

    def unpack(names: list[str]) -> str:
        return "(" + "".join(f"{n}, " for n in names) + ")"

    def matches(name: str) -> str:
        return f"{name}.dtype == {name}_dtype and {name}.shape == {name}_shape"

    def fits(name: str, dtype: np.dtype) -> str:
        """An input's check: bytes are always aligned, wider elements are checked."""
        return matches(name) + (f" and {name}.flags.aligned" if dtype.itemsize > 1 else "")

    lines = ["def fast(inputs, out):", f"    {unpack(xs)} = inputs"]
    checks = [fits(x, dtype) for x, (dtype, _) in zip(xs, inputs, strict=True)]
    lines += [f"    if not ({check}):\n        return None" for check in checks]
    lines += [f"    in_ptrs[{i}] = address({x})" for i, x in enumerate(xs)]
    lines += ["    if out is None:"]
    lines += [f"        {y} = empty({y}_shape, {y}_dtype)" for y in ys]
    lines += [f"        out_ptrs[{j}] = address({y})" for j, y in enumerate(ys)]
    lines += ["        run()", f"        return [{', '.join(ys)}]"]
    # a generator would be used up here before the general path could read it
    lines += ["    if type(out) is not list and type(out) is not tuple:\n        return None"]
    lines += [f"    {unpack(ys)} = out"]
    owners = " and ".join(f"{a}.flags.owndata" for a in (*xs, *ys)) or "True"
    distinct = [f"{y} is not {a}" for j, y in enumerate(ys) for a in (*xs, *ys[:j])]
    for y in ys:
        lines += [f"    if not ({matches(y)}):\n        return None"]
    lines += [f"    if not ({' and '.join([owners, *distinct])}):\n        return None"]
    lines += [f'    out_ptrs[{j}] = address("char[]", {y}, True)' for j, y in enumerate(ys)]
    lines += ["    run()", f"    return [{', '.join(ys)}]"]
    exec("\n".join(lines), namespace)  # noqa: S102 - our own text, built above
    return namespace["fast"]  # type: ignore[return-value]


def apply_threads(function: NativeFunction, threads: int | None) -> None:
    """`threads`, else $QDIALECT_NUM_THREADS, else OpenMP's default (left alone)."""
    if threads is None and os.environ.get(THREADS_ENV, "").strip():
        try:
            threads = int(os.environ[THREADS_ENV])
        except ValueError:
            raise ValueError(
                f"{THREADS_ENV} must be a positive integer, got {os.environ[THREADS_ENV]!r}"
            ) from None
    if threads is not None:
        function.set_threads(threads)
