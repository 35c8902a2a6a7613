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

`MatMulScaleFusion` (`matmul_scale_fusion.cc`, its extended level): a Mul or Div by a scalar
constant on a float MatMul's input, or on its output (its one reader), becomes a FusedMatMul
with alpha the float32 product of the scales (a Div's `1.0f / c`): `qnn.dot {alpha}`, or for a
batched MatMul (attention's scores, `Q·Kᵀ / √d`) the importer's grouped conv
`{batched_matmul, alpha}`, its scales found past its own reshapes and transposes. Not a MatMul
of two DequantizeLinear outputs, which ORT's QDQ fusion makes an integer MatMul first.

`ConvMulFusion`, `ConvAddFusion`, `ConvBNFusion` (`conv_mul_fusion.cc`, `conv_add_fusion.cc`,
`conv_bn_fusion.cc`): a float Conv with constant weights (and bias) whose output only a Mul,
an Add (by a constant second input) or a BatchNormalization (constant parameters) reads takes
that node into its weights and bias, computed in float32 as ORT's `Initializer` does: Mul by a
scalar or per output channel ([C, 1, 1] or [1, C, 1, 1]) scales the weights and the bias; Add
per output channel adds to the bias (or is the bias); BatchNormalization scales by
`scale / sqrt(var + epsilon)` and the bias becomes `(b - mean) · s + B` (no bias: `B - mean · s`).
"""

from __future__ import annotations

import numpy as np
from xdsl.dialects import arith, func, tensor
from xdsl.dialects.builtin import FloatAttr, TensorType, UnitAttr, f32
from xdsl.ir import Block, Operation, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter

from qdialect import qnn
from qdialect.constants import dense_array, dense_attr
from qdialect.names import NAME_ATTR, OP_TYPE_ATTR, tensor_name
from qdialect.ort_session_view import SessionFusions
from qdialect.ort_subgraph_fusions import fuse_div_mul, fuse_subgraphs
from qdialect.qnn import FloatBinary
from qdialect.quant_ops import DequantizeCastOp
from qdialect.tensors import element_type, reshape_ops

F32 = np.float32


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


def fuse_matmul_add(block: Block, session_adds: frozenset[str] | None = None) -> None:
    """ORT's MatMulAddFusion over a quantized model's function body (module docstring); where
    ORT's shapes are symbolic, only the Adds `session_adds` names (ORT's own decision)."""
    attention = _attention_adds(block)
    for dot in [op for op in block.ops if _float_matmul(op)]:
        readers = _readers(dot.result)
        add = readers[0] if len(readers) == 1 else None
        if not isinstance(add, qnn.AddOp) or element_type(add.result.type) != f32:
            continue
        bias = add.rhs if add.lhs is dot.result else add.lhs
        if bias is dot.result or add in attention:
            continue
        if session_adds is not None and tensor_name(add.result) not in session_adds:
            continue
        n = _shape(dot.weight)[1]
        flat = len(_shape(dot.input)) == 2
        if _shape(bias) != (n,) and not (flat and _shape(bias) == (1, n)):
            continue
        if _shape(bias) != (n,):
            bias = _reshaped(bias, (n,), add)
        fused_in_place(dot, add, [dot.input, dot.weight, [bias], []], {"bias_first": UnitAttr()})


def _reshaped(value: SSAValue, shape: tuple[int, ...], before: Operation) -> SSAValue:
    """`value` reshaped to `shape`, inserted before `before`."""
    ops = reshape_ops(value, shape)
    Rewriter.insert_op(ops, InsertPoint.before(before))
    return ops[-1].results[0]


def _constant(value: SSAValue | None) -> np.ndarray | None:
    """A float32 constant's values (an initializer, or what the importer folded to one)."""
    if value is None or not isinstance(value.owner, arith.ConstantOp):
        return None
    if element_type(value.type) != f32:
        return None
    return dense_array(value.owner)


def new_constant(values: np.ndarray, before: Operation) -> SSAValue:
    values = np.ascontiguousarray(values, dtype=F32)
    ttype = TensorType(f32, list(values.shape))
    op = arith.ConstantOp(dense_attr(values, ttype), ttype)
    Rewriter.insert_op(op, InsertPoint.before(before))
    return op.result


def _channel_values(b: np.ndarray, channels: int, allow_scalar: bool) -> np.ndarray | None:
    """A Mul/Add constant as one value per output channel (`[C, 1, 1]`, `[1, C, 1, 1]`; a
    scalar for Mul), else None."""
    if b.ndim == 0:
        return np.full(channels, b, F32) if allow_scalar else None
    axis = {3: 0, 4: 1}.get(b.ndim)
    if axis is None or b.shape[axis] != channels:
        return None
    if any(d != 1 for i, d in enumerate(b.shape) if i != axis):
        return None
    return b.reshape(channels).astype(F32)


def _folded(conv: qnn.Conv2DOp, follower: Operation):
    """(weights, bias or None) of `conv` with `follower` taken in, or None (not ORT's case)."""
    weights, channels = _constant(conv.weight), _shape(conv.weight)[0]
    bias = _constant(conv.bias) if conv.bias is not None else None
    if weights is None or (conv.bias is not None and bias is None):
        return None
    if isinstance(follower, qnn.MulOp | qnn.AddOp):
        if follower.lhs is not conv.result or follower.rhs is conv.result:
            return None  # ORT takes the constant as the second input only
        b = _constant(follower.rhs)
        per = None if b is None else _channel_values(b, channels, isinstance(follower, qnn.MulOp))
        if per is None:
            return None
        if isinstance(follower, qnn.MulOp):
            scaled = weights * per.reshape(-1, 1, 1, 1)
            return scaled.astype(F32), None if bias is None else (bias * per).astype(F32)
        return weights, per if bias is None else (bias + per).astype(F32)
    params = [_constant(v) for v in (follower.scale, follower.bias, follower.mean, follower.var)]
    if any(p is None or p.shape != (channels,) for p in params):
        return None
    scale, beta, mean, var = params
    epsilon = F32(follower.epsilon.value.data)
    s = (scale / np.sqrt((var + epsilon).astype(F32))).astype(F32)
    weights = (weights * s.reshape(-1, 1, 1, 1)).astype(F32)
    if bias is None:
        return weights, (beta - (mean * s).astype(F32)).astype(F32)
    return weights, ((((bias - mean).astype(F32)) * s).astype(F32) + beta).astype(F32)


def fuse_conv_constants(block: Block) -> None:
    """ORT's ConvMulFusion, ConvAddFusion and ConvBNFusion (module docstring) over a quantized
    model's function body: 2-D float convs of constant weights whose one reader is such a node,
    again while the fused conv has one."""
    pending = [op for op in block.ops if isinstance(op, qnn.Conv2DOp)]
    while pending:
        conv = pending.pop(0)
        if element_type(conv.result.type) != f32 or conv.addend is not None:
            continue
        if OP_TYPE_ATTR in conv.attributes or conv.batched_matmul is not None:
            continue  # a 1-D conv's, a batched MatMul's
        readers = _readers(conv.result)
        follower = readers[0] if len(readers) == 1 else None
        if not isinstance(follower, qnn.MulOp | qnn.AddOp | qnn.BatchNormOp):
            continue
        if element_type(follower.results[0].type) != f32:
            continue
        folded = _folded(conv, follower)
        if folded is not None:
            pending.append(_rebuilt(conv, follower, *folded))


def _rebuilt(
    conv: qnn.Conv2DOp, follower: Operation, weights: np.ndarray, bias: np.ndarray | None
) -> qnn.Conv2DOp:
    """`conv` with new constants, writing `follower`'s output in its place."""
    w = new_constant(weights, conv)
    b = [new_constant(bias, conv)] if bias is not None else []
    return fused_in_place(conv, follower, [conv.input, w, b, []], {})


def fused_in_place(
    op: qnn.Conv2DOp | qnn.DotOp, follower: Operation, operands: list, properties: dict
) -> qnn.Conv2DOp | qnn.DotOp:
    """A conv or dot like `op` (its properties and `properties`) of `operands` that writes
    `follower`'s output, named as that output; `op` and `follower` go. ORT's fusions move the
    second node's output to the fused one (`FinalizeNodeFusion`)."""
    merged = dict(op.properties) | properties
    merged.pop("operandSegmentSizes", None)
    fused = type(op).build(
        operands=operands, result_types=[follower.results[0].type], properties=merged
    )
    fused.attributes.update(op.attributes)
    fused.attributes.pop(NAME_ATTR, None)
    fused.attributes.update(follower.attributes)
    fused.attributes.pop(OP_TYPE_ATTR, None)
    Rewriter.insert_op(fused, InsertPoint.before(follower))
    fused.results[0].name_hint = follower.results[0].name_hint
    follower.results[0].replace_all_uses_with(fused.results[0])
    Rewriter.erase_op(follower)
    Rewriter.erase_op(op)
    return fused


# what a DequantizeLinear imports as (onnx_import's qoperator.py; blockwise_qdq.py for
# block-quantized ones)
DEQUANTIZE_OPS = (qnn.DequantizeOp, DequantizeCastOp)


def _scale(op: Operation | None, value: SSAValue) -> float | None:
    """`GetScaleFromNode`: the float32 scale of a float Mul (either input) or Div (its divisor;
    the scale `1.0f / c`) of `value` by a one-element constant of no higher rank."""
    if isinstance(op, qnn.MulOp) and element_type(op.result.type) == f32:
        others = [v for v in op.operands if v is not value]
    elif isinstance(op, qnn.FloatBinaryOp) and op.kind_value is FloatBinary.DIV and op.lhs is value:
        others = [op.rhs]
    else:
        return None
    if len(others) != 1 or not _shape(value):
        return None
    data = _constant(others[0])
    if data is None or data.size != 1 or data.ndim > len(_shape(value)):
        return None
    c = F32(data.reshape(()))
    return float(F32(1) / c) if isinstance(op, qnn.FloatBinaryOp) else float(c)


def _scaled_input(operand: SSAValue) -> tuple[SSAValue, float] | None:
    """(the unscaled value, the scale) when a Mul/Div by a scalar writes `operand`."""
    op = operand.owner
    if not isinstance(op, Operation):
        return None
    for value in op.operands:
        if not isinstance(value.owner, arith.ConstantOp):
            scale = _scale(op, value)
            if scale is not None:
                return value, scale
    return None


def fuse_matmul_scale(block: Block) -> None:
    """ORT's MatMulScaleFusion (level 2, `matmul_scale_fusion.cc`): a float MatMul whose
    inputs a Mul/Div by a scalar constant writes, or whose one reader is one, becomes a
    FusedMatMul of the unscaled values with `alpha` the float32 product of the scales
    (`qnn.dot {alpha}`: each K block's sum times alpha, as MLAS applies it). A scale node
    other nodes still read stays for them."""
    for dot in [op for op in block.ops if _float_matmul(op)]:
        if all(isinstance(v.owner, DEQUANTIZE_OPS) for v in dot.operands[:2]):
            continue  # ORT's QDQ fusions take it first (QLinearMatMul, MatMulIntegerToFloat)
        operands, alpha, merged = list(dot.operands[:2]), F32(1), []
        for i, operand in enumerate(operands):
            found = _scaled_input(operand)
            if found is not None:
                operands[i], scale = found
                alpha = F32(alpha * F32(scale))
                merged.append(operand.owner)
        readers = _readers(dot.result)
        last = readers[0] if len(readers) == 1 else None
        scale = _scale(last, dot.result) if not isinstance(last, func.ReturnOp) else None
        if scale is not None:
            alpha = F32(alpha * F32(scale))
        if not merged and scale is None:
            continue
        properties = dict(dot.properties) | {"alpha": FloatAttr(float(alpha), f32)}
        properties.pop("operandSegmentSizes", None)
        out = last if scale is not None else dot
        fused = qnn.DotOp.build(
            operands=[*operands, [], []], result_types=[out.results[0].type], properties=properties
        )
        fused.attributes.update(dot.attributes)
        Rewriter.insert_op(fused, InsertPoint.before(out))
        fused.results[0].name_hint = out.results[0].name_hint
        out.results[0].replace_all_uses_with(fused.results[0])
        Rewriter.erase_op(out)
        if out is not dot:
            Rewriter.erase_op(dot)
        for op in merged:
            if not any(True for _ in op.results[0].uses):
                Rewriter.erase_op(op)


def _matmul_own(op: Operation | None) -> bool:
    """Whether `op` is one of the reshapes and transposes the importer writes around a batched
    MatMul's conv (`onnx_import/batched.py`)."""
    own = isinstance(op, tensor.ReshapeOp | qnn.TransposeOp)
    return own and getattr(op.attributes.get(OP_TYPE_ATTR), "data", None) == "MatMul"  # type: ignore[union-attr]


def _batched_input(value: SSAValue) -> tuple[Operation | None, SSAValue]:
    """(the batched MatMul's own op reading its input, that input) for an operand of its conv."""
    first = None
    while _matmul_own(value.owner):  # type: ignore[arg-type]
        first = value.owner
        value = first.operands[0]  # type: ignore[union-attr]
    return first, value


def _dequantized_through_moves(value: SSAValue) -> bool:
    """Whether a DequantizeLinear writes `value`, past data movement (the MatMul's own ops,
    and the Reshape/Squeeze/Unsqueeze/Transpose/Slice nodes ORT's QDQ propagation moves a DQ
    across before its QDQ fusion sees the MatMul)."""
    while not isinstance(value.owner, DEQUANTIZE_OPS):
        owner = value.owner
        if not isinstance(owner, tensor.ReshapeOp | qnn.TransposeOp | qnn.SliceOp):
            return False
        value = owner.operands[0]
    return True


def _batched_output(value: SSAValue) -> SSAValue:
    """The batched MatMul's output: its conv's result past the MatMul's own ops."""
    while len(readers := _readers(value)) == 1 and _matmul_own(readers[0]):
        value = readers[0].results[0]
    return value


def fuse_batched_matmul_scale(block: Block) -> None:
    """MatMulScaleFusion of a batched MatMul (module docstring): the conv's `alpha`, each
    scaled input's own first op reading the unscaled value, the scale on the output dropped."""
    convs = [op for op in block.ops if isinstance(op, qnn.Conv2DOp) and op.batched_matmul]
    for conv in convs:
        starts = [_batched_input(v) for v in (conv.input, conv.weight)]
        if any(first is None for first, _ in starts) or all(
            _dequantized_through_moves(v) for _, v in starts
        ):
            continue  # ORT's QDQ fusion makes it an integer MatMul first
        alpha, merged = F32(1), []
        for first, value in starts:
            found = _scaled_input(value)
            if found is not None:
                unscaled, scale = found
                first.operands = (unscaled, *first.operands[1:])  # type: ignore[union-attr]
                alpha = F32(alpha * F32(scale))
                merged.append(value.owner)
        out = _batched_output(conv.result)
        readers = _readers(out)
        last = readers[0] if len(readers) == 1 else None
        scale = _scale(last, out) if not isinstance(last, func.ReturnOp) else None
        if scale is not None:
            alpha = F32(alpha * F32(scale))
            out.name_hint = last.results[0].name_hint  # type: ignore[union-attr]
            last.results[0].replace_all_uses_with(out)  # type: ignore[union-attr]
            Rewriter.erase_op(last)  # type: ignore[arg-type]
        if not merged and scale is None:
            continue
        conv.properties["alpha"] = FloatAttr(float(alpha), f32)
        for op in merged:
            if not any(True for _ in op.results[0].uses):
                Rewriter.erase_op(op)


def fuse_float_nodes(block: Block, session: SessionFusions | None = None) -> None:
    """All of the above on a quantized model's function body, as ORT's basic level runs them,
    then its fusions of whole float subgraphs (`qdialect.ort_subgraph_fusions`) and, at its
    extended level, MatMulScaleFusion. `session`: the shape-dependent fusions ORT's session
    made, where its shapes are symbolic (`ort_session_view`)."""
    fuse_div_mul(block)
    fuse_matmul_add(block, session.matmul_adds if session else None)
    fuse_conv_constants(block)
    fuse_subgraphs(block, session.skip_norms if session else None)
    fuse_matmul_scale(block)
    fuse_batched_matmul_scale(block)
