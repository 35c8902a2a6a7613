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
from xdsl.dialects.builtin import ArrayAttr, DictionaryAttr, ModuleOp, StringAttr, TensorType
from xdsl.ir import Attribute, SSAValue

from qdialect.storage import element_name

NAME_ATTR = "qnn.name"  # argument/result attribute recording an external (e.g. ONNX) name


class ExecutionError(Exception):
    """The IR cannot be run here (unsupported op or type), or inputs do not fit it."""


def numpy_dtype(element: Attribute) -> np.dtype:
    """The numpy dtype a tensor of `element` crosses the Python boundary as."""
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


def _names(function: func.FuncOp, attrs, prefix: str, count: int) -> list[str]:
    names = []
    for index in range(count):
        name = f"{prefix}{index}"
        if attrs is not None and index < len(attrs.data):
            recorded = attrs.data[index].data.get(NAME_ATTR)
            if isinstance(recorded, StringAttr):
                name = recorded.data
        names.append(name)
    return names


def argument_names(function: func.FuncOp) -> list[str]:
    return _names(function, function.arg_attrs, "arg", len(function.function_type.inputs))


def result_names(function: func.FuncOp) -> list[str]:
    return _names(function, function.res_attrs, "out", len(function.function_type.outputs))


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
    """Inputs given by position and by name, as one mapping by argument name: bound as Python
    binds a call, each argument once (never by position and by name), no unknown names."""
    names = argument_names(function)
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


def check_inputs(
    function: func.FuncOp, inputs: Sequence[np.ndarray] | Mapping[str, np.ndarray]
) -> list[np.ndarray]:
    """Inputs in argument order, each checked for dtype and shape against its type."""
    names = argument_names(function)
    types = function.function_type.inputs.data
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
    for name, value_type, array in zip(names, types, arrays, strict=True):
        dtype, shape = expected_array(value_type)
        array = np.asarray(array)
        if array.dtype != dtype:
            raise ExecutionError(f"argument '{name}' must have dtype {dtype}, got {array.dtype}")
        if array.shape != shape:
            raise ExecutionError(
                f"argument '{name}' must have shape {list(shape)}, got {list(array.shape)}"
            )
        checked.append(array)
    return checked


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
