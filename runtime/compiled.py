"""Compile a function of quant/qnn ops to native code and call it on numpy arrays.

    fn = compile_module(open("examples/conv_block.mlir").read(), entry="main")
    (y,) = fn(x)            # bit-exact with runtime.reference.run_function
    print(fn.c_source)

The module goes through the `qnn-default` pipeline, `codegen.emit` writes one C translation
unit, `runtime.jit` compiles (or loads it from the cache). Every input is checked for dtype,
shape and contiguity here, before any pointer reaches C; outputs and the scratch arena are
allocated in Python (the arena once, at load).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import PassPipeline

from codegen.emit import EmittedFunction, emit_function
from qdialect.textio import make_context, parse_module
from rewrites.registry import PASSES
from runtime.jit import CompiledLibrary, compile_c
from runtime.reference.interpreter import (
    argument_names,
    check_inputs,
    expected_array,
    find_function,
)

CDEF = (
    "int qd_entry(const void *const *inputs, void *const *outputs, "
    "const void *const *constants, void *arena);"
)


@dataclass
class CompiledFunction:
    """A compiled function: call it with numpy arrays in argument order (or by name)."""

    name: str
    c_source: str
    library: CompiledLibrary
    emitted: EmittedFunction
    function: func.FuncOp

    def __post_init__(self) -> None:
        ffi = self.library.ffi
        self._outputs = [expected_array(t) for t in self.function.function_type.outputs.data]
        # Constants are packed once, at load, in the dtype the kernels read.
        self._constants = [
            np.ascontiguousarray(array.astype(expected_array(value.type)[0]))
            for value, array in self.emitted.plan.constants
        ]
        self._arena = np.zeros(max(self.emitted.plan.arena_size, 1), dtype=np.uint8)
        self._constant_ptrs = ffi.new(
            "void *[]", [ffi.cast("void *", a.ctypes.data) for a in self._constants] or [ffi.NULL]
        )
        self._arena_ptr = ffi.cast("void *", self._arena.ctypes.data)
        self._entry = self.library.lib.qd_entry

    @property
    def arena_bytes(self) -> int:
        return self.emitted.plan.arena_size

    @property
    def argument_names(self) -> list[str]:
        return argument_names(self.function)

    def __call__(self, *inputs: np.ndarray, **named: np.ndarray) -> list[np.ndarray]:
        arrays = check_inputs(self.function, named if named or not inputs else list(inputs))
        arrays = [np.ascontiguousarray(a) for a in arrays]  # C reads dense row-major buffers
        outputs = [np.empty(shape, dtype=dtype) for dtype, shape in self._outputs]
        ffi = self.library.ffi
        in_ptrs = ffi.new(
            "void *[]", [ffi.cast("void *", a.ctypes.data) for a in arrays] or [ffi.NULL]
        )
        out_ptrs = ffi.new(
            "void *[]", [ffi.cast("void *", a.ctypes.data) for a in outputs] or [ffi.NULL]
        )
        self._entry(in_ptrs, out_ptrs, self._constant_ptrs, self._arena_ptr)
        return outputs


def compile_module(
    module: ModuleOp | str,
    entry: str | None = None,
    *,
    flags: Sequence[str] | None = None,
    name: str = "<input>",
) -> CompiledFunction:
    """Rewrite with qnn-default, emit C for `entry`, compile (cached) and load it."""
    if isinstance(module, str):
        module = parse_module(module, name)
    PassPipeline.parse_spec(PASSES, "qnn-default").apply(make_context(), module)
    function = find_function(module, entry)
    emitted = emit_function(function)
    library = compile_c(
        emitted.source, CDEF, origin=f"function @{function.sym_name.data} of {name}", flags=flags
    )
    return CompiledFunction(function.sym_name.data, emitted.source, library, emitted, function)
