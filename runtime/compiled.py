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
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from jinja2 import FileSystemBytecodeCache
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import PassPipeline

from codegen.c_text import TEMPLATES
from codegen.emit import EmittedFunction, emit_function
from codegen.units import split_units
from qdialect.textio import make_context, parse_module
from rewrites.registry import PASSES
from runtime.cache_files import private_subdirectory
from runtime.cc import target_of
from runtime.jit import CacheDirError, CompiledLibrary, cache_dir, compile_c
from runtime.native import THREADS_ENV, NativeFunction, Signature, apply_threads, cache_line_aligned
from runtime.signature import argument_names, expected_array, find_function, result_names

CDEF = (
    "int qd_entry(const void *const *inputs, void *const *outputs, "
    "const void *const *constants, void *arena);\n"
    "void qd_set_threads(int n);"
)

# what a profiled unit exports besides (codegen.emit.PROFILE_SUPPORT)
PROFILE_CDEF = "void qd_profile_read(int64_t *out);"


# Below this much kernel C (about four conv kernels) a function compiles as one unit.
PART_MIN_CHARS = 50_000

__all__ = [
    "THREADS_ENV",
    "CompiledFunction",
    "cache_line_aligned",
    "compile_module",
    "function_signature",
    "import_model",
]


@dataclass(eq=False)
class CompiledFunction(NativeFunction):
    """A compiled function: call it with numpy arrays in argument order (or by name); the
    calls are NativeFunction's. Keeps what it was compiled from: the C, the emitted function
    (plan, kernel ops) and the function itself.
    """

    name: str
    c_source: str
    library: CompiledLibrary
    emitted: EmittedFunction
    function: func.FuncOp

    def __post_init__(self) -> None:
        # Constants are packed once, at load, in the dtype the kernels read; an entry the C
        # never reads (weights a kernel reads from their packed copy) is handed in empty.
        plan = self.emitted.plan
        constants = [
            cache_line_aligned(
                array.astype(dtype, copy=False) if index in plan.referenced else np.empty(0, dtype)
            )
            for index, (value, array) in enumerate(plan.constants)
            for dtype in [expected_array(value.type)[0]]
        ]
        NativeFunction.__init__(
            self,
            self.library,
            function_signature(self.function, self.emitted.failures),
            constants,
            self.emitted.plan.arena_size,
        )


def part_count(emitted: EmittedFunction) -> int:
    """How many kernel units to compile in parallel (codegen.units): one per core this process
    may run on, at most one per PART_MIN_CHARS of kernel C; 0 (one unit, as emitted) for a
    function too small to gain from more compiler processes."""
    size = sum(len(text) for text in emitted.kernel_texts)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return min(cores, len(emitted.kernel_texts), size // PART_MIN_CHARS)


class TemplateCache(FileSystemBytecodeCache):
    """Jinja2's file cache of compiled templates, where a directory that went away (a
    temporary $QDIALECT_CACHE_DIR removed while the process runs) is a miss, not an error."""

    def load_bytecode(self, bucket) -> None:
        with contextlib.suppress(OSError):
            super().load_bytecode(bucket)

    def dump_bytecode(self, bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def cache_templates() -> None:
    """Keep the templates' compiled Python in the cache directory (Jinja2's bytecode cache,
    checked against each template's source): compiling them costs a first compile in a new
    process about half a second. Without a private cache directory they compile as before.
    The directory follows $QDIALECT_CACHE_DIR as it is now."""
    try:
        directory = private_subdirectory(cache_dir() / "templates")
    except CacheDirError:
        directory = None
    if directory is None:
        TEMPLATES.bytecode_cache = None
    elif getattr(TEMPLATES.bytecode_cache, "directory", None) != str(directory):
        TEMPLATES.bytecode_cache = TemplateCache(str(directory))


def function_signature(function: func.FuncOp, failures: Sequence[str] = ()) -> Signature:
    """The boundary of a function, read off its types and recorded names, with the failures
    its emitted entry point may return (EmittedFunction.failures)."""
    types = function.function_type
    return Signature(
        name=function.sym_name.data,
        arguments=tuple(argument_names(function)),
        inputs=tuple(expected_array(t) for t in types.inputs.data),
        results=tuple(result_names(function)),
        outputs=tuple(expected_array(t) for t in types.outputs.data),
        failures=tuple(failures),
    )


def compile_module(
    module: ModuleOp | str,
    entry: str | None = None,
    *,
    flags: Sequence[str] | None = None,
    name: str = "<input>",
    threads: int | None = None,
    profile: bool = False,
) -> CompiledFunction:
    """Rewrite `module` with qnn-default in place (the reference interpreter then runs what
    was compiled; qnn-default leaves a rewritten module as it is, so compiling it again gives
    the same function), emit C for `entry`, compile (cached) and load it.

    `threads` sets the kernels' thread count (see CompiledFunction.set_threads); None takes
    $QDIALECT_NUM_THREADS, and without it OpenMP's default (OMP_NUM_THREADS, else all cores).
    `profile` times every kernel call in C (`runtime.profile` reads the times); a separate
    object, so the unprofiled one stays free of timing.
    """
    if isinstance(module, str):
        module = parse_module(module, name)
    cache_templates()
    PassPipeline.parse_spec(PASSES, "qnn-default").apply(make_context(), module)
    function = find_function(module, entry)
    emitted = emit_function(function, profile=profile, target=target_of(flags))
    cdef = f"{CDEF}\n{PROFILE_CDEF}" if emitted.profiled else CDEF
    origin = f"function @{function.sym_name.data} of {name}"
    count = part_count(emitted)
    if count:
        units = split_units(emitted, count)
        library = compile_c(units.main, cdef, origin=origin, flags=flags, parts=units.parts)
    else:
        library = compile_c(emitted.source, cdef, origin=origin, flags=flags)
    compiled = CompiledFunction(function.sym_name.data, emitted.source, library, emitted, function)
    apply_threads(compiled, threads)
    return compiled


def import_model(
    data: bytes,
    name: str,
    frontend: str,
    passes: str = "",
    free_dimensions: Mapping[str, int] | None = None,
) -> ModuleOp:
    """The module of a model's bytes (`frontend` "onnx" or "mlir" text, an ONNX model's
    dynamic input dimensions sized by `free_dimensions`) after the `passes` pipeline: what
    runtime.model_cache compiles on a miss (qopt reads models its own way)."""
    if frontend == "onnx":
        from qdialect.onnx_import import import_onnx

        module = import_onnx(data, free_dimensions=free_dimensions)
    else:
        module = parse_module(data.decode("utf-8"), name)
    if passes:
        PassPipeline.parse_spec(PASSES, passes).apply(make_context(), module)
    return module
