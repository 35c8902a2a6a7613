"""`nhwc-layout`: an integer conv net imported as NCHW computes channels-last.

ONNX convs are NCHW, and the NCHW kernels are the slow ones: a depthwise conv vectorises over a
row of a few pixels instead of over channels, and a GEMM conv scatters its output channels with
a stride of a whole plane. ONNX Runtime converts to its own blocked layout (NCHWc) inside;
this pass does it in the IR, where it can be read:

1. every integer `qnn.conv2d {layout = "nchw"}` becomes `transpose(conv{layout = "nhwc"}
   (transpose(x)), back)` with OHWI weights (constant: folded, packed once) and its fused
   addend transposed with x;
2. the transposes back to NCHW sink below the ops that do not care about the layout — unary
   elementwise ops on integers, adds and concats whose operands all come back the same way,
   pads, and pools (which take a layout of their own) — so that
3. a transpose meeting its inverse cancels: between two convs no layout change is left, only at
   the graph's boundaries (the quantized input, and whatever reads an NCHW tensor).

Every step moves integers without changing one (a transpose is a copy, and an integer conv or
pool computes the same sums in either layout), so the results are bit-for-bit those of the NCHW
module. Float convs keep their layout: their summation order is the reference's, tap by tap.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import tensor
from xdsl.dialects.builtin import IntegerAttr, ModuleOp, StringAttr, TensorType, i64
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.transforms.dead_code_elimination import DeadCodeElimination

from qdialect import qnn
from qdialect.constants import dense_array
from qdialect.names import carry_node
from qdialect.qnn.common import Kind, int_array, kind_of
from qdialect.qnn.modes import Layout
from qdialect.qnn.movement import permuted_element
from qdialect.quant_ops import StorageCastOp
from qdialect.tensors import element_type, per_tensor_type, reshape_ops
from qdialect.types import UniformQuantizedType
from rewrites.common import single_use
from rewrites.fold_qdq import FoldConstantReshape, FoldConstantTranspose

TO_NHWC = (0, 2, 3, 1)
TO_NCHW = (0, 3, 1, 2)
# elementwise ops with one operand whose only layout-dependent part is a per-axis type's axis,
# and whose result is no wider than their input (a transpose never sinks below a dequantize:
# it would move four bytes an element instead of one)
ELEMENTWISE = (qnn.QuantizeOp, qnn.RequantizeOp, qnn.ReluOp, qnn.ClampOp)


def permuted_type(value_type: TensorType, perm: tuple[int, ...]) -> TensorType:
    """The type of `value_type` transposed by `perm`."""
    shape = value_type.get_shape()
    return TensorType(permuted_element(element_type(value_type), perm), [shape[p] for p in perm])


def transpose(value: SSAValue, perm: tuple[int, ...]) -> qnn.TransposeOp:
    return qnn.TransposeOp.create(
        operands=[value],
        result_types=[permuted_type(value.type, perm)],  # type: ignore[arg-type]
        properties={"permutation": int_array(list(perm))},
    )


def _permutation(op: qnn.TransposeOp) -> tuple[int, ...]:
    return tuple(op.permutation.get_values())


def _back_from_nhwc(value: SSAValue) -> SSAValue | None:
    """x if `value` is `transpose(x, TO_NCHW)`."""
    owner = value.owner
    if isinstance(owner, qnn.TransposeOp) and _permutation(owner) == TO_NCHW:
        return owner.input
    return None


def _sink(
    op: Operation, operands: list[SSAValue], rewriter: PatternRewriter, **properties: Attribute
) -> None:
    """Replace `op` by itself on the NHWC `operands` (with `properties` changed), transposed
    back to NCHW."""
    moved = type(op).create(
        operands=operands,
        result_types=[permuted_type(op.results[0].type, TO_NHWC)],  # type: ignore[arg-type]
        properties=dict(op.properties) | properties,
        attributes=dict(op.attributes),
    )
    carry_node(op, moved)
    rewriter.replace(op, [moved, transpose(moved.results[0], TO_NCHW)])


class ConvToChannelsLast(RewritePattern):
    """Step 1: an integer NCHW conv with constant weights computes NHWC between transposes."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qnn.Conv2DOp, rewriter: PatternRewriter) -> None:
        if op.layout_kind is not Layout.NCHW or kind_of(op.input) is Kind.FLOAT:
            return
        if not _constant_weight(op.weight):
            return
        moved = [transpose(op.input, TO_NHWC), transpose(op.weight, TO_NHWC)]
        addend = []
        if op.addend is not None:
            moved.append(transpose(op.addend, TO_NHWC))
            addend = [moved[2].results[0]]
        properties = dict(op.properties) | {"layout": StringAttr(Layout.NHWC.value)}
        properties.pop("operandSegmentSizes", None)
        conv = qnn.Conv2DOp.build(
            operands=[
                moved[0].results[0],
                moved[1].results[0],
                [op.bias] if op.bias is not None else [],
                addend,
            ],
            result_types=[permuted_type(op.result.type, TO_NHWC)],  # type: ignore[arg-type]
            properties=properties,
            attributes=dict(op.attributes),
        )
        carry_node(op, conv)
        back = transpose(conv.results[0], TO_NCHW)
        rewriter.replace(op, [*moved, conv, back])


def _constant_weight(value: SSAValue) -> bool:
    """Weights a transpose folds into a constant (FoldConstantTranspose)."""
    owner = value.owner
    if isinstance(owner, StorageCastOp):
        return dense_array(owner.input) is not None
    return dense_array(value) is not None


class SinkThroughElementwise(RewritePattern):
    """Step 2: op(transpose(x, p)) is transpose(op(x), p) for a one-operand elementwise op."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if not isinstance(op, ELEMENTWISE):
            return
        source = _back_from_nhwc(op.operands[0])
        if source is not None:
            _sink(op, [source], rewriter)


class SinkThroughAdd(RewritePattern):
    """Step 2: add(transpose(a, p), transpose(b, p)) is transpose(add(a, b), p)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qnn.AddOp, rewriter: PatternRewriter) -> None:
        lhs, rhs = _back_from_nhwc(op.lhs), _back_from_nhwc(op.rhs)
        if lhs is None or rhs is None or lhs.type.get_shape() != rhs.type.get_shape():  # type: ignore[union-attr]
            return
        _sink(op, [lhs, rhs], rewriter)


class SinkThroughConcat(RewritePattern):
    """Step 2: concat(transpose(a, p), transpose(b, p), axis) is transpose(concat(a, b, axis'),
    p) with axis' where p moved that axis."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qnn.ConcatOp, rewriter: PatternRewriter) -> None:
        sources = [_back_from_nhwc(v) for v in op.inputs]
        if any(v is None for v in sources):
            return
        axis = op.axis.value.data % len(TO_NHWC)
        _sink(op, sources, rewriter, axis=IntegerAttr(TO_NHWC.index(axis), i64))  # type: ignore[arg-type]


class SinkThroughPad(RewritePattern):
    """Step 2: pad(transpose(x, TO_NCHW)) is transpose(pad(x), TO_NCHW) with the pads of each
    dimension moved along."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qnn.PadOp, rewriter: PatternRewriter) -> None:
        source = _back_from_nhwc(op.input)
        if source is None:
            return
        low, high = op.low.get_values(), op.high.get_values()
        _sink(
            op,
            [source],
            rewriter,
            low=int_array([low[d] for d in TO_NHWC]),
            high=int_array([high[d] for d in TO_NHWC]),
        )


class SinkThroughPool(RewritePattern):
    """Step 2: an NCHW pool of transpose(x, TO_NCHW) is the NHWC pool of x, transposed."""

    @op_type_rewrite_pattern
    def match_and_rewrite(
        self, op: qnn.MaxPool2DOp | qnn.AvgPool2DOp, rewriter: PatternRewriter
    ) -> None:
        source = _back_from_nhwc(op.input)
        if source is None or op.layout_kind is not Layout.NCHW:
            return
        _sink(op, [source], rewriter, layout=StringAttr(Layout.NHWC.value))


class ComposeTransposes(RewritePattern):
    """Step 3: transpose(transpose(x, p), q) is x when the two cancel, else one transpose."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qnn.TransposeOp, rewriter: PatternRewriter) -> None:
        inner = op.input.owner
        if not isinstance(inner, qnn.TransposeOp):
            return
        outer_perm, inner_perm = _permutation(op), _permutation(inner)
        composed = tuple(inner_perm[p] for p in outer_perm)
        if composed == tuple(range(len(composed))):
            rewriter.replace(op, [], [inner.input])
        else:
            rewriter.replace(op, transpose(inner.input, composed))


class ComposeTransposesThroughReshape(RewritePattern):
    """transpose(reshape(transpose(x, p)), q), the reshape only adding or dropping dimensions
    of size 1 (attention's heads moved first, then a batch of one dropped, then Kᵀ): one
    transpose of x's other dimensions, between reshapes (which move no data). A reshape to
    its own type goes. Float and per-tensor types only (a per-axis type's axis would move)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: tensor.ReshapeOp | qnn.TransposeOp, rewriter) -> None:
        if isinstance(op, tensor.ReshapeOp):
            if op.source.type == op.result.type:
                rewriter.replace(op, [], [op.source])
            return
        reshape = op.input.owner
        if not isinstance(reshape, tensor.ReshapeOp) or not single_use(op.input):
            return
        inner = reshape.source.owner
        if not isinstance(inner, qnn.TransposeOp) or not single_use(reshape.source):
            return
        x = inner.input
        if isinstance(element_type(x.type), UniformQuantizedType) and per_tensor_type(x) is None:
            return
        moved, reshaped, result = (v.type.get_shape() for v in (inner.result, op.input, op.result))
        if [d for d in moved if d != 1] != [d for d in reshaped if d != 1]:
            return
        sources = iter(p for p, d in zip(_permutation(inner), moved, strict=True) if d != 1)
        axis_of = [next(sources) if d != 1 else None for d in reshaped]
        order = [axis_of[p] for p, d in zip(_permutation(op), result, strict=True) if d != 1]
        kept = sorted(order)  # x's dimensions of size above 1, in x's order
        shape = x.type.get_shape()
        new_ops: list[Operation] = []
        value = x
        if len(kept) != len(shape):
            new_ops += reshape_ops(value, [shape[a] for a in kept])
            value = new_ops[-1].results[0]
        perm = tuple(kept.index(a) for a in order)
        if perm != tuple(range(len(perm))):
            new_ops.append(transpose(value, perm))
            value = new_ops[-1].results[0]
        if tuple(value.type.get_shape()) != tuple(result):
            new_ops += reshape_ops(value, list(result))
            value = new_ops[-1].results[0]
        rewriter.replace(op, new_ops, [value])


@dataclass(frozen=True)
class NhwcLayoutPass(ModulePass):
    name = "nhwc-layout"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(
            GreedyRewritePatternApplier(
                [
                    ConvToChannelsLast(),
                    SinkThroughElementwise(),
                    SinkThroughAdd(),
                    SinkThroughConcat(),
                    SinkThroughPad(),
                    SinkThroughPool(),
                    ComposeTransposes(),
                    ComposeTransposesThroughReshape(),
                    FoldConstantTranspose(),
                    FoldConstantReshape(),
                ]
            )
        ).rewrite_module(op)
        DeadCodeElimination().apply(ctx, op)  # the transposes every user moved past
        _merge_equal_transposes(op)


def _merge_equal_transposes(module: ModuleOp) -> None:
    """One transpose per (value, permutation): convs reading the same tensor each asked for
    their own (the full CSE would also merge constants the user wrote twice)."""
    seen: dict[tuple[SSAValue, tuple[int, ...]], qnn.TransposeOp] = {}
    for op in list(module.walk()):
        if not isinstance(op, qnn.TransposeOp):
            continue
        key = (op.input, _permutation(op))
        first = seen.setdefault(key, op)
        if first is not op:
            op.result.replace_all_uses_with(first.result)
            op.detach()
            op.erase()
