"""Compile a function of quant/qnn ops to native code and call it on numpy arrays.

    fn = compile_module(open("examples/conv_block.mlir").read(), entry="main")
    (y,) = fn(x)            # bit-exact with runtime.reference.run_function, after qnn-default
    print(fn.c_source)

The module goes through the `qnn-default` pipeline (in place, when given as a ModuleOp),
`codegen.emit` writes one C translation unit, `runtime.jit` compiles (or loads it from the
cache). The C computes what the interpreter computes on the rewritten module; on the module as
written too, except where `fold-qdq` fused a QDQ group into an integer op (ONNX Runtime's
reading, not an exact rewrite). Every input is checked for dtype, shape, contiguity and
alignment here, before any pointer reaches C; outputs and the scratch arena are allocated in
Python (the arena once, at load).
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import PassPipeline

from codegen.emit import EmittedFunction, emit_function
from qdialect.textio import make_context, parse_module
from rewrites.registry import PASSES
from runtime.jit import CompiledLibrary, compile_c
from runtime.signature import (
    ExecutionError,
    argument_names,
    bind_inputs,
    check_inputs,
    expected_array,
    find_function,
)

CDEF = (
    "int qd_entry(const void *const *inputs, void *const *outputs, "
    "const void *const *constants, void *arena);\n"
    "void qd_set_threads(int n);"
)

# what a profiled unit exports besides (codegen.emit.PROFILE_SUPPORT)
PROFILE_CDEF = "void qd_profile_read(int64_t *out);"

THREADS_ENV = "QDIALECT_NUM_THREADS"


CACHE_LINE = 64


def cache_line_aligned(array: np.ndarray) -> np.ndarray:
    """A C-contiguous copy of `array` starting on a cache line. The kernels' packed weight
    blocks and scratch rows are whole lines apart, so their 32-byte vector loads then never
    straddle two lines (numpy aligns to 16 bytes only; a split load costs an extra cycle)."""
    buffer = np.empty(array.nbytes + CACHE_LINE, dtype=np.uint8)
    start = -buffer.ctypes.data % CACHE_LINE
    aligned = buffer[start : start + array.nbytes].view(array.dtype).reshape(array.shape)
    aligned[...] = array
    return aligned


@dataclass
class CompiledFunction:
    """A compiled function: call it with numpy arrays in argument order (or by name).

    Calls are not reentrant: the scratch arena and the pointer tables are shared by all calls
    of one CompiledFunction (and the C releases the GIL), so call it from one thread at a time.
    """

    name: str
    c_source: str
    library: CompiledLibrary
    emitted: EmittedFunction
    function: func.FuncOp

    def __post_init__(self) -> None:
        ffi = self.library.ffi
        self._inputs = [expected_array(t) for t in self.function.function_type.inputs.data]
        self._arity = len(self._inputs)
        self._names = argument_names(self.function)
        self._outputs = [expected_array(t) for t in self.function.function_type.outputs.data]
        # Constants are packed once, at load, in the dtype the kernels read.
        self._constants = [
            cache_line_aligned(array.astype(expected_array(value.type)[0]))
            for value, array in self.emitted.plan.constants
        ]
        self._arena = cache_line_aligned(np.zeros(max(self.emitted.plan.arena_size, 1), np.uint8))
        # Pointer tables and the entry point are looked up once; a call only fills them in.
        # `ffi.from_buffer` is the cheapest way to a numpy array's address (≈ 0.3 µs, against
        # ≈ 1.5 µs for `__array_interface__` or `.ctypes.data`, which build Python objects).
        constants = [ffi.from_buffer(a) for a in self._constants]
        self._constant_ptrs = ffi.new("void *[]", constants or 1)
        self._in_ptrs = ffi.new("void *[]", max(len(self._inputs), 1))
        self._out_ptrs = ffi.new("void *[]", max(len(self._outputs), 1))
        self._arena_ptr = ffi.from_buffer(self._arena)
        # the entry point with its tables: a call only fills the tables in, then runs this
        self._run = functools.partial(
            self.library.lib.qd_entry,
            self._in_ptrs,
            self._out_ptrs,
            self._constant_ptrs,
            self._arena_ptr,
        )
        self._address = ffi.from_buffer
        # Objects built before the entry point existed lack it; threads are then left alone.
        self._set_threads = getattr(self.library.lib, "qd_set_threads", None)
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
        return self.emitted.plan.arena_size

    @property
    def argument_names(self) -> list[str]:
        return list(self._names)

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
        if not named and len(inputs) == self._arity:
            try:
                results = self._fast(inputs, out)
            except (AttributeError, TypeError, ValueError):
                results = None  # not arrays, not contiguous, out= of the wrong length: below
            if results is not None:
                return results
        return self._checked_call(inputs, out, named)

    def _checked_call(
        self, inputs: Sequence[np.ndarray], out: Sequence[np.ndarray] | None, named: dict
    ) -> list[np.ndarray]:
        """The general call: converts what it can (lists, non-contiguous arrays, names) and
        raises the error that names the argument for the rest."""
        if named:
            # Names map to positions (each argument once); check_inputs names what is missing.
            inputs = tuple(check_inputs(self.function, bind_inputs(self.function, inputs, named)))
        elif len(inputs) != self._arity:
            inputs = tuple(check_inputs(self.function, inputs))  # names the count expected
        address, in_ptrs, expected = self._address, self._in_ptrs, self._inputs
        for index, array in enumerate(inputs):
            dtype, shape = expected[index]
            try:
                matches = array.dtype == dtype and array.shape == shape
            except (AttributeError, TypeError):  # not a numpy array
                matches = False
            if not matches:
                # check_inputs raises the error naming the argument, or converts (e.g. a list).
                return self(*check_inputs(self.function, inputs), out=out)
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
            named = zip(self._names, inputs, strict=True)
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


def compile_module(
    module: ModuleOp | str,
    entry: str | None = None,
    *,
    flags: Sequence[str] | None = None,
    name: str = "<input>",
    threads: int | None = None,
    profile: bool = False,
) -> CompiledFunction:
    """Rewrite with qnn-default, emit C for `entry`, compile (cached) and load it.

    `threads` sets the kernels' thread count (see CompiledFunction.set_threads); None takes
    $QDIALECT_NUM_THREADS, and without it OpenMP's default (OMP_NUM_THREADS, else all cores).
    `profile` times every kernel call in C (`runtime.profile` reads the times); a separate
    object, so the unprofiled one stays free of timing.
    """
    if isinstance(module, str):
        module = parse_module(module, name)
    PassPipeline.parse_spec(PASSES, "qnn-default").apply(make_context(), module)
    function = find_function(module, entry)
    emitted = emit_function(function, profile=profile)
    cdef = f"{CDEF}\n{PROFILE_CDEF}" if emitted.profiled else CDEF
    library = compile_c(
        emitted.source, cdef, origin=f"function @{function.sym_name.data} of {name}", flags=flags
    )
    compiled = CompiledFunction(function.sym_name.data, emitted.source, library, emitted, function)
    if threads is None and os.environ.get(THREADS_ENV, "").strip():
        try:
            threads = int(os.environ[THREADS_ENV])
        except ValueError:
            raise ValueError(
                f"{THREADS_ENV} must be a positive integer, got {os.environ[THREADS_ENV]!r}"
            ) from None
    if threads is not None:
        compiled.set_threads(threads)
    return compiled
