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
        self._inputs = [expected_array(t) for t in self.function.function_type.inputs.data]
        self._outputs = [expected_array(t) for t in self.function.function_type.outputs.data]
        # Constants are packed once, at load, in the dtype the kernels read.
        self._constants = [
            np.ascontiguousarray(array.astype(expected_array(value.type)[0]))
            for value, array in self.emitted.plan.constants
        ]
        self._arena = np.zeros(max(self.emitted.plan.arena_size, 1), dtype=np.uint8)
        # Pointer tables and the entry point are looked up once; a call only fills them in.
        self._constant_ptrs = ffi.new("void *[]", [_address(ffi, a) for a in self._constants] or 1)
        self._in_ptrs = ffi.new("void *[]", max(len(self._inputs), 1))
        self._out_ptrs = ffi.new("void *[]", max(len(self._outputs), 1))
        self._arena_ptr = _address(ffi, self._arena)
        self._entry = self.library.lib.qd_entry
        self._cast = ffi.cast

    @property
    def arena_bytes(self) -> int:
        return self.emitted.plan.arena_size

    @property
    def argument_names(self) -> list[str]:
        return argument_names(self.function)

    def __call__(self, *inputs: np.ndarray, **named: np.ndarray) -> list[np.ndarray]:
        if (
            named
            or len(inputs) != len(self._inputs)
            or not all(
                isinstance(a, np.ndarray) and a.dtype == dtype and a.shape == shape
                for a, (dtype, shape) in zip(inputs, self._inputs, strict=False)
            )
        ):
            # The slow path names what is wrong (or maps names to positions).
            inputs = tuple(check_inputs(self.function, named if named or not inputs else inputs))
        cast, in_ptrs, out_ptrs = self._cast, self._in_ptrs, self._out_ptrs
        for index, array in enumerate(inputs):
            if not array.flags.c_contiguous:  # C reads dense row-major buffers
                array = np.ascontiguousarray(array)
                inputs = (*inputs[:index], array, *inputs[index + 1 :])
            in_ptrs[index] = cast("void *", array.__array_interface__["data"][0])
        outputs = [np.empty(shape, dtype=dtype) for dtype, shape in self._outputs]
        for index, array in enumerate(outputs):
            out_ptrs[index] = cast("void *", array.__array_interface__["data"][0])
        self._entry(in_ptrs, out_ptrs, self._constant_ptrs, self._arena_ptr)
        return outputs


def _address(ffi, array: np.ndarray):
    return ffi.cast("void *", array.__array_interface__["data"][0])


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
