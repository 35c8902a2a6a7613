"""A function's signature at the Python boundary, for both runtimes.

Which function of a module runs (`find_function`; `public_functions`, what `qopt --emit-c`
translates), what its arguments and results are called (`argument_names`, `result_names`: a
recorded `qnn.name`, else `arg0`/`out0`), what numpy array each crosses as (`numpy_dtype`,
`expected_array`), how inputs given by position and by name bind (`bind_inputs`), and the check
of the inputs before any computation (`check_inputs`). The reference interpreter and the
compiled runtime share them, so both accept the same inputs and refuse bad ones with the same
`ExecutionError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ArrayAttr, DictionaryAttr, ModuleOp, TensorType, i1
from xdsl.ir import Attribute, SSAValue

from qdialect.names import recorded_names
from qdialect.storage import element_name
from runtime.native import ExecutionError, bind_by_name, check_arrays

__all__ = ["ExecutionError"]  # defined with the checks in runtime.native, imported from here too


def numpy_dtype(element: Attribute) -> np.dtype:
    """The numpy dtype a tensor of `element` crosses the Python boundary as: an `i1` as numpy's
    bool (ONNX's BOOL; both a byte of 0 or 1, what the C holds), every other integer in its
    container."""
    if element == i1:
        return np.dtype(np.bool_)
    name = element_name(element)
    if name is None:
        raise ExecutionError(f"no numpy representation for element type {element}")
    return np.dtype(name)


def expected_array(value_type: Attribute) -> tuple[np.dtype, tuple[int, ...]]:
    if not isinstance(value_type, TensorType):
        raise ExecutionError(f"only ranked tensors cross the boundary, got {value_type}")
    shape = tuple(value_type.get_shape())
    if any(d < 0 for d in shape):
        raise ExecutionError(f"dynamic shapes are not executed, got {value_type}")
    return numpy_dtype(value_type.element_type), shape


def _names(attrs: ArrayAttr | None, prefix: str, count: int) -> list[str]:
    """Recorded names, `<prefix><index>` where none is."""
    return [name or f"{prefix}{i}" for i, name in enumerate(recorded_names(attrs, count))]


def argument_names(function: func.FuncOp) -> list[str]:
    return _names(function.arg_attrs, "arg", len(function.function_type.inputs))


def result_names(function: func.FuncOp) -> list[str]:
    return _names(function.res_attrs, "out", len(function.function_type.outputs))


def defined_functions(module: ModuleOp) -> list[func.FuncOp]:
    """The functions of `module` that have a body, in order."""
    return [op for op in module.ops if isinstance(op, func.FuncOp) and op.body.blocks]


def is_public(function: func.FuncOp) -> bool:
    return function.sym_visibility is None or function.sym_visibility.data == "public"


def public_functions(module: ModuleOp) -> list[func.FuncOp]:
    """The defined functions that are not `private` (or `nested`), in order."""
    return [f for f in defined_functions(module) if is_public(f)]


def find_function(module: ModuleOp, entry: str | None) -> func.FuncOp:
    """`entry`, else the only public function, else `main`."""
    functions = defined_functions(module)
    if entry is not None:
        for function in functions:
            if function.sym_name.data == entry:
                return function
        known = ", ".join(f.sym_name.data for f in functions) or "none"
        raise ExecutionError(f"no function named '{entry}' (functions: {known})")
    public = [f for f in functions if is_public(f)]
    if len(public) == 1:
        return public[0]
    for function in functions:
        if function.sym_name.data == "main":
            return function
    raise ExecutionError(
        "several functions and none named 'main': choose one with --entry / entry="
    )


def bind_inputs(
    function: func.FuncOp, positional: Sequence[object], named: Mapping[str, object]
) -> dict[str, object]:
    """Inputs given by position and by name, as one mapping by argument name (bind_by_name)."""
    return bind_by_name(argument_names(function), positional, named)


def check_inputs(
    function: func.FuncOp, inputs: Sequence[np.ndarray] | Mapping[str, np.ndarray]
) -> list[np.ndarray]:
    """Inputs in argument order, each checked for dtype and shape against its type."""
    specs = [expected_array(t) for t in function.function_type.inputs.data]
    return check_arrays(argument_names(function), specs, inputs)


def return_extra(function: func.FuncOp, values: list[SSAValue]) -> None:
    """`values` appended to `function`'s results, unnamed: how a caller reads intermediate
    tensors of a run (the per-layer report, SmoothQuant's statistic)."""
    ret = function.body.block.last_op
    assert isinstance(ret, func.ReturnOp)
    count = len(ret.arguments)
    function.body.block.insert_op_before(func.ReturnOp(*ret.arguments, *values), ret)
    function.body.block.erase_op(ret)
    if function.res_attrs is not None:
        old = list(function.res_attrs.data) + [DictionaryAttr({})] * count
        function.res_attrs = ArrayAttr(old[:count] + [DictionaryAttr({})] * len(values))
    function.update_function_type()
