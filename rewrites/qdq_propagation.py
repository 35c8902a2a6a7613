"""`qdq-propagation`: ONNX Runtime's QDQPropagationTransformer (`qdq_propagation.cc`), which its
session runs at the basic level, before it fuses QDQ groups.

Around the data movement ops whose values a quantization does not change (MaxPool, Reshape,
Transpose, Squeeze, Unsqueeze, Slice; not Flatten), ORT moves quantization to the other side:
- **Q backward**: a per-tensor QuantizeLinear whose input such an op alone reads gets a copy of
  its pair in front of that op, and on up the chain while each tensor has one reader and is no
  graph output, until a DequantizeLinear's output (a graph input or constant ends it too);
- **DQ forward**: a per-tensor DequantizeLinear with one reader that is such an op puts a pair
  of its own behind it, one DequantizeLinear per reader, and on down the chain; never in front
  of a QuantizeLinear. A DequantizeLinear several nodes read (or a graph output too) has one
  per reader first: ORT's EnsureUniqueDQForNodeUnit gives each its own at the same level, and
  the level repeats, so each reader that is such an op propagates as a sole reader would.
The values those pairs quantize are the ones their Q or DQ already stood for, so nothing changes
by itself; what changes is what ORT's later rewrites then see: a float Conv or Gemm left out of
quantization with a DequantizeLinear before it and a QuantizeLinear after it
(`weight-bias-quantization`), and the QDQ groups ORT fuses (`fold-qdq`). `qnn-default` runs this
before both, as ORT does. The pairs are marked (`qnn.propagated`): in a function written in
QOperator form they are ORT's QDQ nodes all the same (`s8-to-u8` retypes them, `fold-qdq`
judges their groups by ORT's QDQ selectors).
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import ModuleOp, TensorType, UnitAttr
from xdsl.ir import Block, BlockArgument, Operation, SSAValue, Use
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from qdialect import qnn
from qdialect.names import PROPAGATED_ATTR, tensor_name
from qdialect.tensors import per_tensor_type
from qdialect.types import UniformQuantizedType
from rewrites.onnx_nodes import node_kind

# `CanNodePropagate` (a Flatten does not)
PROPAGATING = frozenset({"MaxPool", "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Slice"})


def _propagates(op: Operation | None) -> bool:
    """An op ORT's propagation passes: a whole data movement node on a float tensor (it writes
    a tensor of the graph: not a Gemm's transB transpose, say; an op of a node the importer
    wrote as several is that node's kind, `qnn.op_type`)."""
    if op is None:
        return False
    return node_kind(op) in PROPAGATING and tensor_name(op.results[0]) is not None


def _sole_use(value: SSAValue) -> Use | None:
    """The one use of `value` (an op's, or the function's result), else None."""
    uses = list(value.uses)
    return uses[0] if len(uses) == 1 else None


def _insert_pair(value: SSAValue, uses: list[Use], qtype: UniformQuantizedType) -> None:
    """`value → Q → DQ → user` for each of `uses` (a DequantizeLinear each), as ORT inserts
    them (`InsertQDQPairs`)."""
    shape = value.type.get_shape()  # type: ignore[attr-defined]
    quantize = qnn.QuantizeOp(value, TensorType(qtype, shape))
    quantize.attributes[PROPAGATED_ATTR] = UnitAttr()
    owner = value.owner
    point = (
        InsertPoint.at_start(owner) if isinstance(owner, Block) else InsertPoint.after(owner)  # type: ignore[arg-type]
    )
    Rewriter.insert_op(quantize, point)
    for use in uses:
        dequantize = qnn.DequantizeOp(quantize.result, value.type)
        dequantize.attributes[PROPAGATED_ATTR] = UnitAttr()
        Rewriter.insert_op(dequantize, InsertPoint.after(quantize))
        use.operation.operands[use.index] = dequantize.result


def propagate_q_backward(quantizes: list[qnn.QuantizeOp]) -> None:
    """`PropagateQBackward` from each of `quantizes` (the function's, in order)."""
    for q in quantizes:
        qtype = per_tensor_type(q.result)
        use = _sole_use(q.input)
        if qtype is None or use is None or use.operation is not q:
            continue
        node = q.input.owner
        while isinstance(node, Operation) and _propagates(node):
            value = node.operands[0]
            if isinstance(value, BlockArgument) or isinstance(value.owner, arith.ConstantOp):
                # a graph input or initializer: this reader's edge, then no further
                _insert_pair(value, [u for u in value.uses if u.operation is node], qtype)
                break
            before = _sole_use(value)
            if before is None or isinstance(value.owner, qnn.DequantizeOp):
                break  # (a function result is a second use)
            _insert_pair(value, [before], qtype)
            node = value.owner


def propagate_dq_forward(dequantizes: list[qnn.DequantizeOp]) -> None:
    """`PropagateDQForward` from each of `dequantizes` (the function's before either step)."""
    for dq in dequantizes:
        qtype = per_tensor_type(dq.input)
        if qtype is None:
            continue
        pending = [use.operation for use in dq.result.uses]
        while pending:
            node = pending.pop(0)
            if not _propagates(node):
                continue
            value = node.results[0]
            uses = list(value.uses)
            if not uses or any(isinstance(u.operation, qnn.QuantizeOp) for u in uses):
                continue
            readers = [u.operation for u in uses]
            _insert_pair(value, uses, qtype)
            pending += readers


def propagate(block: Block) -> None:
    """Both steps over one function's body, as ORT runs them: Q backward from every
    QuantizeLinear, then DQ forward from the DequantizeLinears the graph had before."""
    dequantizes = [op for op in block.ops if isinstance(op, qnn.DequantizeOp)]
    propagate_q_backward([op for op in block.ops if isinstance(op, qnn.QuantizeOp)])
    propagate_dq_forward(dequantizes)


@dataclass(frozen=True)
class QdqPropagationPass(ModulePass):
    name = "qdq-propagation"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for function in op.walk():
            if isinstance(function, func.FuncOp) and function.body.blocks:
                propagate(function.body.block)
