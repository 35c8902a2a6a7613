"""`instrument`: observation points on a float function, for calibration (DESIGN §4).

Each observed tensor gets an observation op right after the op defining it (so no tensor lives
longer than it did: the compiled function's arena does not grow), and the op's result becomes
an extra result of the function, marked `{qnn.observed = "<tensor name>"}`. Tensors are named
as `qdialect.names.tensor_name` reads them (the ONNX names of an imported model).

- `instrument` (pass 1): `qnn.observe`, a sample's extremes (`qnn.observe.Extreme`).
  `tensors` lists the names to observe; by default every named float32 function argument and
  op result but a weight's transpose, and the constants the importer marked as node outputs
  (not the initializers).
- `instrument-histograms` (pass 2): `qnn.histogram` with the edges pass 1 fixed, one request
  per tensor. Its edges are data, not options, so it is built from Python, not from `-p`.

Both change every function of the module that has a body.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseIntOrFPElementsAttr,
    DictionaryAttr,
    Float32Type,
    ModuleOp,
    StringAttr,
    TensorType,
)
from xdsl.ir import Block, BlockArgument, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.utils.exceptions import VerifyException

from qdialect import qnn
from qdialect.names import NODE_OUTPUT_ATTR, tensor_name
from qdialect.qnn import HistogramRule
from qdialect.tensors import element_type
from rewrites.onnx_nodes import is_untyped, transb_transpose

OBSERVED_ATTR = "qnn.observed"  # result attribute: the name of the tensor a result observes
LISTED = 8  # names an error lists before "and N more"


class InstrumentError(ValueError):
    """A tensor that cannot be observed as asked (one line, naming it)."""


@dataclass(frozen=True)
class HistogramRequest:
    """Pass 2 for one tensor: count its values (|x| with `absolute`) by `rule` between
    `edges` (float32 values: B + 1 edges for `edges`, [lo, hi] for `linear`) into `bins`."""

    tensor: str
    edges: tuple[float, ...]
    bins: int
    rule: HistogramRule = HistogramRule.EDGES
    absolute: bool = False


def functions(module: ModuleOp, entry: str | None = None) -> list[func.FuncOp]:
    """The functions with a body (only `entry`, when named)."""
    return [
        op
        for op in module.ops
        if isinstance(op, func.FuncOp)
        and op.body.blocks
        and (entry is None or op.sym_name.data == entry)
    ]


def _is_float32(value: SSAValue) -> bool:
    return isinstance(value.type, TensorType) and isinstance(element_type(value.type), Float32Type)


def named_values(function: func.FuncOp) -> dict[str, list[SSAValue]]:
    """Tensor name -> the values of that name, arguments first, then op results in order."""
    block = function.body.block
    values: list[SSAValue] = [*block.args]
    values += [r for op in block.ops if not isinstance(op, func.ReturnOp) for r in op.results]
    names: dict[str, list[SSAValue]] = {}
    for value in values:
        name = tensor_name(value)
        if name is not None:
            names.setdefault(name, []).append(value)
    return names


def _observed(value: SSAValue) -> bool:
    """Whether ONNX Runtime's calibrator observes `value`: it leaves out initializers only, so
    a function argument or any op's result is observed (the gather of a position table, the
    Sqrt of a constant, a parameter read through Identity, all computed from constants), and
    of the constants those the importer marked as an ONNX node's output. A weight's
    transpose (Gemm's transB, which is no node) is not, nor a tensor ONNX's shape inference
    gives no type (`select_tensors_to_calibrate` finds no value_info for it)."""
    owner = value.owner
    if isinstance(owner, arith.ConstantOp):
        return NODE_OUTPUT_ATTR in owner.attributes
    return not transb_transpose(value) and not is_untyped(value)


def _unique(name: str, values: list[SSAValue]) -> SSAValue:
    if len(values) > 1:
        raise InstrumentError(
            f"{len(values)} values are named '{name}' (xDSL reads %{name}_1 as another "
            f"'{name}'); give them distinct names or a qnn.name attribute"
        )
    return values[0]


def _listing(names: Sequence[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:LISTED])
    more = len(names) - LISTED
    return f"{shown}, and {more} more" if more > 0 else shown or "none"


def select(
    module: ModuleOp, tensors: Sequence[str] | None, entry: str | None = None
) -> list[tuple[str, SSAValue]]:
    """(name, value) of each tensor to observe: `tensors` in their order, or by default every
    named float32 argument and op result and node-output constant, in definition order."""
    chosen: list[tuple[str, SSAValue]] = []
    available: dict[str, list[SSAValue]] = {}
    for function in functions(module, entry):
        named = named_values(function)
        if tensors is None:
            for name, values in named.items():
                if any(_is_float32(v) and _observed(v) for v in values):
                    chosen.append((name, _unique(name, values)))
        available |= named
    if tensors is None:
        return chosen
    missing = [n for n in tensors if n not in available]
    if missing:
        known = sorted(n for n, vs in available.items() if any(_is_float32(v) for v in vs))
        raise InstrumentError(
            f"no tensor named {_listing(missing)} to observe (float32 tensors: {_listing(known)})"
        )
    for name in dict.fromkeys(tensors):
        value = _unique(name, available[name])
        if not _is_float32(value):
            raise InstrumentError(f"tensor '{name}' is {value.type}; only float32 is observed")
        chosen.append((name, value))
    return chosen


def _insert_after_definition(value: SSAValue, op: Operation) -> None:
    if isinstance(value, BlockArgument):
        block = value.block
        first = block.first_op
        block.insert_op_before(op, first) if first is not None else block.add_op(op)
    else:
        assert isinstance(value.owner, Operation) and isinstance(value.owner.parent, Block)
        value.owner.parent.insert_op_after(op, value.owner)


def _return_results(function: func.FuncOp, ops: list[tuple[str, Operation]]) -> None:
    """The results of `ops` become extra results of `function`, marked with OBSERVED_ATTR."""
    ret = function.body.block.last_op
    assert isinstance(ret, func.ReturnOp)
    count = len(ret.arguments)
    new_ret = func.ReturnOp(*ret.arguments, *(op.results[0] for _, op in ops))
    function.body.block.insert_op_before(new_ret, ret)
    function.body.block.erase_op(ret)
    old = list(function.res_attrs.data) if function.res_attrs else []
    old += [DictionaryAttr({})] * (count - len(old))
    marks = [DictionaryAttr({OBSERVED_ATTR: StringAttr(name)}) for name, _ in ops]
    function.res_attrs = ArrayAttr([*old, *marks])
    function.update_function_type()


def _function_of(value: SSAValue) -> Operation | None:
    if isinstance(value, BlockArgument):
        return value.block.parent_op()
    return value.owner.parent_op()  # type: ignore[union-attr]


def _place(module: ModuleOp, built: list[tuple[str, SSAValue, Operation]]) -> None:
    """Insert each op after its tensor's definition; return the results per function."""
    for function in functions(module):
        mine = [(n, v, op) for n, v, op in built if _function_of(v) is function]
        for _, value, op in mine:
            _insert_after_definition(value, op)
        if mine:
            _return_results(function, [(n, op) for n, _, op in mine])


def observe(
    module: ModuleOp, tensors: Sequence[str] | None = None, entry: str | None = None
) -> list[str]:
    """Pass 1 on `module` (in place; only function `entry` when named): a `qnn.observe` per
    selected tensor. Returns the observed names, in the order of the extra results."""
    chosen = select(module, tensors, entry)
    built = [(name, value, qnn.ObserveOp(value)) for name, value in chosen]
    _place(module, built)
    return [name for name, _, _ in built]


def _histogram_op(value: SSAValue, request: HistogramRequest) -> Operation:
    edges_type = TensorType(Float32Type(), [len(request.edges)])
    edges = DenseIntOrFPElementsAttr.from_list(edges_type, [float(e) for e in request.edges])
    op = qnn.HistogramOp(value, edges, request.bins, request.rule, request.absolute)
    try:
        op.verify()
    except VerifyException as err:
        raise InstrumentError(f"histogram of '{request.tensor}': {err}") from None
    return op


def histograms(
    module: ModuleOp, requests: Sequence[HistogramRequest], entry: str | None = None
) -> list[str]:
    """Pass 2 on `module` (in place; only function `entry` when named): a `qnn.histogram` per
    request, in request order."""
    chosen = select(module, [r.tensor for r in requests], entry)
    by_name = {r.tensor: r for r in requests}
    built = [(name, value, _histogram_op(value, by_name[name])) for name, value in chosen]
    _place(module, built)
    return [name for name, _, _ in built]


def observations(function: func.FuncOp) -> list[tuple[int, str]]:
    """(result index, tensor name) of each result an instrument pass added."""
    if function.res_attrs is None:
        return []
    return [
        (index, attrs.data[OBSERVED_ATTR].data)
        for index, attrs in enumerate(function.res_attrs.data)
        if isinstance(attrs.data.get(OBSERVED_ATTR), StringAttr)
    ]


@dataclass(frozen=True)
class InstrumentPass(ModulePass):
    """Pass 1: `qnn.observe` on `tensors` (default: every computed float32 tensor)."""

    name = "instrument"
    tensors: tuple[str, ...] = ()

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        observe(op, self.tensors or None)


@dataclass(frozen=True)
class InstrumentHistogramsPass(ModulePass):
    """Pass 2: `qnn.histogram` per request (built from Python: edges are data)."""

    name = "instrument-histograms"
    requests: tuple[HistogramRequest, ...] = ()

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        histograms(op, self.requests)
