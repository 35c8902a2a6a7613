"""ONNX Runtime's basic-level float fusions that change what a quantized model computes.

ORT runs a quantized model in its optimized session, whose level-1 transformers rewrite the
float nodes left in it (a node in `nodes_to_exclude`, a MatMul whose output
`OpTypesToExcludeOutputQuantization` leaves float) before anything else sees them. A float
model runs in ORT's calibrator session, unoptimized, and keeps its nodes as written.

`MatMulAddFusion` (`matmul_add_fusion.cc`): a float MatMul whose output only an Add reads
becomes a Gemm whose C is the Add's other input, the MatMul's input reshaped to 2-D (and the
result back); that Gemm starts its sums from C (`qnn.dot {bias_first}`) instead of adding the
bias to them, which moves roundings. Conditions, as ORT checks them: B is 2-D, the MatMul's
output is no graph output, C has shape [N] (or [1, N] for a 2-D input; ORT's [M, 1] and [M, N]
have no `qnn.dot` form and stay apart), and the pair is not one of an attention block's
(ORT's AttentionFusion takes those: the input a LayerNormalization read by three MatMuls and
one Add, that Add's other input an Add).
"""

from __future__ import annotations

from xdsl.dialects import arith, tensor
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, TensorType, UnitAttr, f32, i64
from xdsl.ir import Block, Operation, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter

from qdialect import qnn
from qdialect.names import OP_TYPE_ATTR, tensor_name
from qdialect.tensors import element_type


def _shape(value: SSAValue) -> tuple[int, ...]:
    return tuple(value.type.get_shape())  # type: ignore[attr-defined]


def _float_matmul(op: Operation) -> bool:
    """A float `qnn.dot` that is an ONNX MatMul node of a 2-D B (not a Gemm: no bias, no
    transB transpose of its own, no `qnn.op_type`)."""
    if not isinstance(op, qnn.DotOp) or element_type(op.result.type) != f32:
        return False
    if op.bias is not None or op.addend is not None or OP_TYPE_ATTR in op.attributes:
        return False
    own_transpose = isinstance(op.weight.owner, qnn.TransposeOp) and not tensor_name(op.weight)
    return not own_transpose and len(_shape(op.weight)) == 2


def _readers(value: SSAValue) -> list[Operation]:
    return [use.operation for use in value.uses]


def _attention_adds(block: Block) -> set[Operation]:
    """The Adds of attention blocks' MatMul-Add pairs ORT's MatMulAddFusion leaves to
    AttentionFusion (`AttentionPatternCache`): the Add reading a LayerNormalization that three
    MatMuls also read, and the Add producing that Add's other input."""
    found: set[Operation] = set()
    for norm in block.ops:
        if not isinstance(norm, qnn.LayerNormOp):
            continue
        readers = _readers(norm.results[0])
        adds = [r for r in readers if isinstance(r, qnn.AddOp)]
        matmuls = [r for r in readers if _float_matmul(r)]
        if len(adds) != 1 or len(matmuls) != 3 or len(readers) != 4:
            continue
        (add,) = adds
        other = add.rhs if add.lhs is norm.results[0] else add.lhs
        if isinstance(other.owner, qnn.AddOp):
            found |= {add, other.owner}
    return found


def fuse_matmul_add(block: Block) -> None:
    """ORT's MatMulAddFusion over a quantized model's function body (module docstring)."""
    attention = _attention_adds(block)
    for dot in [op for op in block.ops if _float_matmul(op)]:
        readers = _readers(dot.result)
        add = readers[0] if len(readers) == 1 else None
        if not isinstance(add, qnn.AddOp) or element_type(add.result.type) != f32:
            continue
        bias = add.rhs if add.lhs is dot.result else add.lhs
        if bias is dot.result or add in attention:
            continue
        n = _shape(dot.weight)[1]
        flat = len(_shape(dot.input)) == 2
        if _shape(bias) != (n,) and not (flat and _shape(bias) == (1, n)):
            continue
        if _shape(bias) != (n,):
            bias = _reshaped(bias, (n,), add)
        properties = dict(dot.properties) | {"bias_first": UnitAttr()}
        properties.pop("operandSegmentSizes", None)
        gemm = qnn.DotOp.build(
            operands=[dot.input, dot.weight, [bias], []],
            result_types=[add.result.type],
            properties=properties,
        )
        gemm.attributes.update(add.attributes)
        Rewriter.insert_op(gemm, InsertPoint.before(add))
        gemm.result.name_hint = add.result.name_hint
        add.result.replace_all_uses_with(gemm.result)
        Rewriter.erase_op(add)
        Rewriter.erase_op(dot)


def _reshaped(value: SSAValue, shape: tuple[int, ...], before: Operation) -> SSAValue:
    """`value` reshaped to `shape`, inserted before `before`."""
    target = arith.ConstantOp(
        DenseIntOrFPElementsAttr.from_list(TensorType(i64, [len(shape)]), list(shape))
    )
    reshape = tensor.ReshapeOp(value, target.result, TensorType(f32, list(shape)))
    Rewriter.insert_op([target, reshape], InsertPoint.before(before))
    return reshape.result
