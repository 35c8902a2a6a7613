"""`s8-to-u8`: ONNX Runtime's QDQS8ToU8Transformer, which its x86 session runs before it fuses
QDQ groups.

ORT on x86 does not take int8 activations into its integer Conv and MatMul (its session option
`session.qdqisint8allowed` is off there: MLAS's fast kernels are u8×s8), so it first turns each
int8 Q → DQ pair it can into uint8, the zero point plus 128. It can only where the Q feeds one
DQ and nothing else: `EnsureUniqueDQForNodeUnit` has by then given each consumer of a shared DQ
its own copy, so a tensor read twice (a residual block's input, a DQ that is also a graph
output) keeps its int8 pair. The fusion selectors then need equal types (`fold-qdq` with
`int8_allowed=false`), so the groups around such a tensor run as float simulation.

A retyped pair stands for the same reals (DESIGN §2) but stores other raw values, which
QLinearAdd's and QLinearAveragePool's rounding sees: that is why the pair is retyped here rather
than only marked. Conditions, as `qdq_s8_to_u8.cc` checks them: a per-tensor 8-bit signed
QuantizeLinear (default rounding) whose one user is a DequantizeLinear with at most one output
edge: one node input (a function result counts as one; the ops the importer writes for one
node input, a Gather's or a Split's slices, count once). In a function `quantize_static` wrote in
QOperator form (`QOPERATOR_ATTR`) only the pairs ORT's QDQ propagation inserted: the others stand
for QLinear nodes, which ORT runs in int8.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from qdialect import qnn
from qdialect.names import PROPAGATED_ATTR, QOPERATOR_ATTR
from qdialect.qnn.modes import RoundMode
from qdialect.tensors import element_type
from qdialect.types import Granularity, UniformQuantizedType
from rewrites.common import with_element
from rewrites.onnx_nodes import inner_op, node_of, split_node

SHIFT = 128


def _int8_per_tensor(elem) -> bool:
    return (
        isinstance(elem, UniformQuantizedType)
        and elem.signed
        and elem.storage_width == 8
        and elem.granularity is Granularity.PER_TENSOR
    )


def _retyped_pair(quantize: qnn.QuantizeOp) -> qnn.DequantizeOp | None:
    """The DequantizeLinear of `quantize` if ORT turns the pair into uint8, else None."""
    elem = element_type(quantize.result.type)
    if not _int8_per_tensor(elem) or quantize.round_mode_kind is not RoundMode.HALF_TO_EVEN:
        return None
    uses = list(quantize.result.uses)
    if len(uses) != 1 or not isinstance(uses[0].operation, qnn.DequantizeOp):
        return None
    dequantize = uses[0].operation
    # ORT's DQ has an output edge per node input it feeds: an op reading it twice counts
    # twice, the ops the importer writes for one node input (a Gather's inner slices, a
    # Split's slices) once
    edges = {_edge(use.operation, use.index) for use in dequantize.result.uses}
    return dequantize if len(edges) <= 1 else None


def _edge(op: Operation, index: int) -> object:
    """The ONNX node input an operand of `op` stands for."""
    if inner_op(op):
        return node_of(op)
    return split_node(op) or (op, index)


def retype_function(function: func.FuncOp) -> None:
    qoperator = QOPERATOR_ATTR in function.attributes
    for quantize in [op for op in function.walk() if isinstance(op, qnn.QuantizeOp)]:
        if qoperator and PROPAGATED_ATTR not in quantize.attributes:
            continue  # a QLinear node's output, which ORT runs in int8
        dequantize = _retyped_pair(quantize)
        if dequantize is None:
            continue
        elem = element_type(quantize.result.type)
        u8 = elem.with_storage(
            "u8", [z + SHIFT for z in elem.zero_points], elem.qmin + SHIFT, elem.qmax + SHIFT
        )
        new_q = qnn.QuantizeOp(
            quantize.input, with_element(quantize.result.type, u8), **dict(quantize.properties)
        )
        new_dq = qnn.DequantizeOp(new_q.result, dequantize.result.type)
        for old, new in ((quantize, new_q), (dequantize, new_dq)):
            new.attributes.update(old.attributes)
            new.result.name_hint = old.result.name_hint
        Rewriter.insert_op(new_q, InsertPoint.before(quantize))
        Rewriter.replace_op(dequantize, new_dq)
        Rewriter.erase_op(quantize)


@dataclass(frozen=True)
class S8ToU8Pass(ModulePass):
    name = "s8-to-u8"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for function in op.ops:
            if isinstance(function, func.FuncOp):
                retype_function(function)
