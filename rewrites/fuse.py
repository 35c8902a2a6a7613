"""`fuse-conv-dot`: conv2d/dot absorb the add (residual or per-channel constant), relu and clamp
that follow them.

Each pattern fires only when the conv/dot result has a single user, and each fusion is
exact by DESIGN §1: a fused addend means add(conv result requantized to `intermediate`,
addend); a fused relu/clamp is the same clamp on the same stored values. A float bias added
after a float conv, or after a dynamic dot / conv without one, folds into its bias operand
(the kernel adds it after the sum, too). A float `x · sigmoid(x)` becomes one `silu` activation
(`FuseSiluGate`), as ONNX Runtime's QuickGeluFusion makes one QuickGelu of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, StringAttr, TensorType, UnitAttr
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint

from qdialect import qnn
from qdialect.constants import dense_array, splat_value
from qdialect.names import carry_node
from qdialect.qnn.common import Kind, kind_of
from qdialect.qnn.modes import Activation, Layout
from qdialect.qnn.table import UnaryFunction
from qdialect.tensors import element_type
from rewrites.common import dense_constant, single_use

FUSABLE = (qnn.Conv2DOp, qnn.DotOp)
DYNAMIC = (qnn.DynamicDotOp, qnn.DynamicConv2DOp)


def _sole_producer(value: SSAValue) -> Operation | None:
    """The conv/dot defining `value` if `value` has no other user and no epilogue yet."""
    op = value.owner
    if not isinstance(op, FUSABLE) or not single_use(value):
        return None
    if op.activation_kind is not Activation.NONE:
        return None
    return op


def _with(op: Operation, result_type=None, operands=None, **properties) -> Operation:
    """A copy of conv/dot `op` with other operands/result type/properties."""
    new_properties = dict(op.properties) | properties
    new_properties.pop("operandSegmentSizes", None)
    x, w, bias, addend = operands or (op.input, op.weight, op.bias, op.addend)
    new = type(op).build(
        operands=[x, w, [bias] if bias is not None else [], [addend] if addend is not None else []],
        result_types=[result_type or op.results[0].type],
        properties=new_properties,
    )
    carry_node(op, new)
    return new


class FuseActivation(RewritePattern):
    """conv → relu / clamp becomes conv{activation}."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if not isinstance(op, qnn.ReluOp | qnn.ClampOp):
            return
        producer = _sole_producer(op.input)
        if producer is None:
            return
        if isinstance(op, qnn.ReluOp):
            fused = _with(producer, activation=StringAttr(Activation.RELU.value))
        else:
            fused = _with(
                producer,
                activation=StringAttr(Activation.CLAMP.value),
                clamp_min=op.min,
                clamp_max=op.max,
            )
        rewriter.replace(producer, fused)
        rewriter.replace(op, [], [fused.results[0]])


class FuseAddend(RewritePattern):
    """add(conv, r) becomes conv{addend = r}, and add(r, conv) conv{addend = r, addend_first}
    (QLinearAdd is not symmetric in its operands' rounding, so the order is recorded; the conv
    on the left is taken when both operands could fuse). r has the result's shape, or is one
    value per channel on the result's last axis: the quantized bias Add that ONNX Runtime's
    quantizer writes after a MatMul it did not fuse into a Gemm."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qnn.AddOp, rewriter: PatternRewriter) -> None:
        for first, conv_value, other in ((False, op.lhs, op.rhs), (True, op.rhs, op.lhs)):
            producer = _sole_producer(conv_value)
            if producer is None or producer.addend is not None:
                continue
            if not _addend_shape_fits(producer, other, op):
                continue
            extra = {}
            if kind_of(op.result) is Kind.QUANTIZED:
                if kind_of(producer.results[0]) is not Kind.QUANTIZED:
                    return
                extra["intermediate"] = element_type(producer.results[0].type)
                if first:
                    extra["addend_first"] = UnitAttr()
            fused = _with(
                producer,
                result_type=op.result.type,
                operands=(producer.input, producer.weight, producer.bias, other),
                **extra,
            )
            rewriter.replace(op, fused)
            rewriter.erase(producer)
            return


def _addend_shape_fits(producer: Operation, addend: SSAValue, add: qnn.AddOp) -> bool:
    """The add broadcasts neither the conv result nor, beyond one value per channel on a
    quantized result (a float one takes a constant per channel as its bias), r."""
    shape = tuple(add.result.type.get_shape())  # type: ignore[union-attr]
    if tuple(producer.results[0].type.get_shape()) != shape:
        return False
    other = tuple(addend.type.get_shape())  # type: ignore[union-attr]
    if other == shape:
        return True
    if kind_of(add.result) is not Kind.QUANTIZED:
        return False
    channel_last = not (isinstance(producer, qnn.Conv2DOp) and producer.layout_kind is Layout.NCHW)
    return channel_last and other == shape[-1:]


class FoldDynamicBias(RewritePattern):
    """add(dynamic_dot / dynamic_conv2d, constant broadcast along the channel) → the same op
    with that bias: its result is fl(fl(acc · m) + bias[c]), the float add this replaces
    (ONNX Runtime fuses the same Add into MatMulIntegerToFloat)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qnn.AddOp, rewriter: PatternRewriter) -> None:
        producer = op.lhs.owner
        if not isinstance(producer, DYNAMIC) or producer.bias is not None:
            return
        if not single_use(op.lhs) or op.rhs.type == op.result.type:
            return
        bias = _bias_constant(op, producer)
        if bias is None or op.result.type != op.lhs.type:
            return
        fused = type(producer).build(
            operands=[*producer.operands[:4], [bias.result]],
            result_types=[producer.results[0].type],
            properties=dict(producer.properties),
            attributes=dict(producer.attributes),
        )
        carry_node(producer, fused)
        rewriter.insert(bias, InsertPoint.before(producer))
        rewriter.replace(producer, fused)
        rewriter.replace(op, [], [fused.results[0]])


class FoldFloatBias(RewritePattern):
    """add(float conv/dot, constant broadcast along the channel) → conv{bias}, the constant on
    either side (PyTorch writes a Linear's Add(bias, MatMul)): a float add is commutative, so
    `acc + b` is the add this replaces either way."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qnn.AddOp, rewriter: PatternRewriter) -> None:
        if kind_of(op.result) is not Kind.FLOAT:
            return
        for conv_value, other in ((op.lhs, op.rhs), (op.rhs, op.lhs)):
            producer = _sole_producer(conv_value)
            if producer is None or producer.bias is not None or producer.addend is not None:
                continue
            if other.type == op.result.type:
                continue
            bias = _bias_constant(op, producer, other)
            if bias is None:
                continue
            fused = _with(producer, operands=(producer.input, producer.weight, bias.result, None))
            rewriter.insert(bias, InsertPoint.before(producer))
            rewriter.replace(producer, fused)
            rewriter.replace(op, [], [fused.results[0]])
            return


def _bias_constant(
    add: qnn.AddOp, producer: Operation, constant: SSAValue | None = None
) -> Operation | None:
    """The bias operand (a new constant, not yet inserted) equal to what `add` adds to the
    result of `producer`, if its other operand (`constant`, by default the right one) is a
    constant vector along the channel."""
    values = dense_array(add.rhs if constant is None else constant)
    channels = None if values is None else _channel_vector(producer, values)
    if channels is None:
        return None
    return dense_constant(channels, TensorType(element_type(add.result.type), [channels.size]))


def _channel_vector(producer: Operation, values: np.ndarray) -> np.ndarray | None:
    """The per-channel vector a broadcast constant adds, if it is one."""
    shape = tuple(producer.results[0].type.get_shape())
    convs = (qnn.Conv2DOp, qnn.DynamicConv2DOp)
    nchw = isinstance(producer, convs) and producer.layout_kind is Layout.NCHW
    axis = 1 if nchw else len(shape) - 1
    try:
        full = np.broadcast_to(values, shape)
    except ValueError:
        return None
    splat = splat_value(values)  # a splat's view is never expanded to the conv's shape
    if splat is not None:
        return np.full(shape[axis], splat, values.dtype)
    moved = np.moveaxis(full, axis, -1).reshape(-1, shape[axis])
    if not (moved == moved[0]).all():
        return None
    return moved[0]


class FuseSiluGate(RewritePattern):
    """mul(x, sigmoid(x)), in either order, becomes activation{silu}(x) when nothing else reads
    the sigmoid: the same two float32 roundings (the logistic, then the product) in one pass
    over x instead of three (EfficientNet's and YOLO's SiLU)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qnn.MulOp, rewriter: PatternRewriter) -> None:
        if kind_of(op.result) is not Kind.FLOAT:
            return
        for x, gate in ((op.lhs, op.rhs), (op.rhs, op.lhs)):
            sigmoid = gate.owner
            if (
                isinstance(sigmoid, qnn.ActivationOp)
                and sigmoid.function_kind is UnaryFunction.SIGMOID
                and sigmoid.input == x
                and x.type == op.result.type
                and single_use(gate)
            ):
                silu = qnn.ActivationOp.create(
                    operands=[x],
                    result_types=[x.type],
                    properties={"function": StringAttr(UnaryFunction.SILU.value)},
                )
                carry_node(op, silu)
                rewriter.replace(op, silu)
                rewriter.erase(sigmoid)
                return


@dataclass(frozen=True)
class FuseConvDotPass(ModulePass):
    name = "fuse-conv-dot"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(
            GreedyRewritePatternApplier(
                [
                    FoldFloatBias(),
                    FoldDynamicBias(),
                    FuseAddend(),
                    FuseActivation(),
                    FuseSiluGate(),
                ]
            )
        ).rewrite_module(op)
