"""SmoothQuant on the float IR: which ops it smooths, and the rewrite of their constants.

Intel Neural Compressor's ONNX adaptor (2.x, `adaptor/ox_utils/smooth_quant.py`) gives every
Gemm/Conv/MatMul with a constant weight its own scale s (`scales_per_op`, its ONNX default),
multiplies the weight's input channels by s and puts a `Mul(1/s)` before the op, then folds
that Mul into the op's producer when the producer has no other consumer and is one it can
absorb (LayerNorm/BatchNorm γ and β, a MatMul/Gemm/Mul initializer, Conv weight and bias).

The float IR has producers of one absorbable kind, a conv2d/dot with constant weights (INC's
Conv, MatMul, Gemm), and no elementwise multiply to insert. So an op is smoothed here exactly
when INC would fold its Mul into a Conv/MatMul/Gemm: its input is the only use of such an op's
result. Any other op is left as it is and reported with the reason (INC would leave a Mul
there; an unfolded Mul whose input ONNX Runtime still quantizes with the outlier range does not
help that input anyway). Group convs other than depthwise ones are skipped as INC skips them.

Where the fold departs from INC's code, it is to keep the function: INC's Conv fold scales
nothing when the Conv has no bias (its weight update sits under `if bias`), and its Gemm fold
scales a `transB` weight along K instead of N. Here the producer's output channels are always
the ones scaled, weight and bias.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from xdsl.dialects import arith, func
from xdsl.ir import Block, Operation, SSAValue

from qdialect import qnn
from qdialect.calibration.smoothing import input_channel_rows
from qdialect.constants import dense_array
from qdialect.names import NAME_ATTR, node_name, tensor_name
from qdialect.qnn.modes import Activation, Layout
from rewrites.common import dense_constant, single_use
from rewrites.onnx_nodes import float_constant, is_float_tensor, weight_source

WeightedOp = qnn.Conv2DOp | qnn.DotOp


@dataclass(frozen=True)
class Layer:
    """A float conv2d/dot with a constant weight, and how that constant is laid out:
    `transposed` for a Gemm `transB` ([N, K] behind a transpose), `depthwise` for a conv whose
    groups equal its channels ([C, 1, kh, kw])."""

    op: WeightedOp
    constant: SSAValue
    transposed: bool
    depthwise: bool

    def weight(self) -> np.ndarray:
        return np.asarray(dense_array(self.constant), np.float32)

    def bias(self) -> np.ndarray | None:
        return None if self.op.bias is None else np.asarray(dense_array(self.op.bias), np.float32)

    def input_rows(self, weight: np.ndarray) -> np.ndarray:
        """The weight with its input channels first (INC's view for the scale)."""
        return weight.T if self.transposed else input_channel_rows(weight, self.depthwise)

    def scale_inputs(self, weight: np.ndarray, s: np.ndarray) -> np.ndarray:
        """W's input channels times s (INC's `_adjust_weights`)."""
        if weight.ndim == 4:
            return weight * s.reshape((-1, 1, 1, 1) if self.depthwise else (1, -1, 1, 1))
        return weight * (s[None, :] if self.transposed else s[:, None])

    def scale_outputs(self, weight: np.ndarray, r: np.ndarray) -> np.ndarray:
        """W's output channels times r (the fold of `Mul(r)` after this op)."""
        if weight.ndim == 4:
            return weight * r.reshape(-1, 1, 1, 1)
        return weight * (r[:, None] if self.transposed else r[None, :])


def layer_of(op: Operation) -> Layer | None:
    """`op` as a smoothable layer: float, constant weight (and bias), NCHW, not grouped."""
    if not isinstance(op, WeightedOp) or not is_float_tensor(op.result):
        return None
    source = weight_source(op.weight)
    if source is None or op.addend is not None:
        return None
    if op.bias is not None and float_constant(op.bias) is None:
        return None
    depthwise = False
    if isinstance(op, qnn.Conv2DOp):
        if op.layout_kind is not Layout.NCHW:
            return None
        groups = op.groups.value.data
        shape = op.weight.type.get_shape()  # type: ignore[union-attr]
        depthwise = groups > 1 and shape[1] == 1 and groups == shape[0]
        if groups > 1 and not depthwise:
            return None
    return Layer(op, source.value, source.transposed, depthwise)


@dataclass(frozen=True)
class Target:
    """An op whose input is smoothed, and the producer its `1/s` folds into."""

    layer: Layer
    producer: Layer


@dataclass(frozen=True)
class Skipped:
    """A weighted op left unsmoothed, and why."""

    node: str
    reason: str


def describe(op: Operation) -> str:
    return node_name(op) or tensor_name(op.results[0]) or op.name


def _fold_problem(x: SSAValue) -> str | None:
    """Why `1/s` cannot fold into the producer of `x` (None: it can)."""
    if not isinstance(x.owner, Operation):
        return "its input is a function argument"
    if not single_use(x):
        return "its input has other consumers"
    producer = layer_of(x.owner)
    if producer is None:
        return f"its input comes from {x.owner.name}, which has no weights to fold 1/s into"
    if producer.op.activation_kind not in (Activation.NONE, Activation.RELU):
        return "its input's producer clamps (a clamp does not commute with scaling)"
    return None


def plan(function: func.FuncOp) -> tuple[list[Target], list[Skipped]]:
    """The ops SmoothQuant smooths in `function`, in order, and the ones it leaves."""
    targets: list[Target] = []
    skipped: list[Skipped] = []
    for op in function.body.block.ops:
        layer = layer_of(op)
        if layer is None:
            continue
        x = layer.op.input
        rank = len(x.type.get_shape())  # type: ignore[union-attr]
        problem = _fold_problem(x)
        if isinstance(op, qnn.DotOp) and rank not in (2, 3):
            problem = f"its input has rank {rank} (INC's statistic takes rank 2 or 3)"
        if problem is not None:
            skipped.append(Skipped(describe(op), problem))
            continue
        targets.append(Target(layer, layer_of(x.owner)))  # type: ignore[arg-type]
    return targets, skipped


def smooth(targets: Sequence[Target], scales: Sequence[np.ndarray]) -> None:
    """Rewrite the targets' constants: every target's input channels times its s first, then
    every producer's output channels times 1/s (INC's order, float32 throughout)."""
    weights: dict[Operation, np.ndarray] = {}
    biases: dict[Operation, np.ndarray | None] = {}
    layers: dict[Operation, Layer] = {}
    for target, s in zip(targets, scales, strict=True):
        layer = target.layer
        layers[layer.op] = layer
        weights[layer.op] = layer.scale_inputs(weights.get(layer.op, layer.weight()), s)
        biases.setdefault(layer.op, layer.bias())
    for target, s in zip(targets, scales, strict=True):
        producer = target.producer
        layers[producer.op] = producer
        r = 1.0 / s
        weights[producer.op] = producer.scale_outputs(
            weights.get(producer.op, producer.weight()), r
        )
        bias = biases.get(producer.op, producer.bias())
        biases[producer.op] = None if bias is None else bias * r
    for op, layer in layers.items():
        _replace_constants(layer, weights[op], biases[op])


def _constant_like(old: SSAValue, values: np.ndarray, block: Block, before: Operation):
    """A new constant of `values` typed and named as `old`, placed before `before`."""
    assert values.dtype == np.float32
    constant = dense_constant(values, old.type)  # type: ignore[arg-type]
    constant.result.name_hint = old.name_hint
    if isinstance(old.owner, arith.ConstantOp) and NAME_ATTR in old.owner.attributes:
        constant.attributes[NAME_ATTR] = old.owner.attributes[NAME_ATTR]
    block.insert_op_before(constant, before)
    return constant.result


def _replace_constants(layer: Layer, weight: np.ndarray, bias: np.ndarray | None) -> None:
    """Give `layer.op` its own constants (a shared initializer keeps its old values for the
    other users) and erase the old ones if nothing else reads them."""
    op, block = layer.op, layer.op.parent_block()
    assert block is not None
    old = list(dict.fromkeys([layer.constant, op.weight, *([op.bias] if op.bias else [])]))
    value = _constant_like(layer.constant, weight, block, op)
    if layer.transposed:
        old_transpose = op.weight.owner
        assert isinstance(old_transpose, qnn.TransposeOp)
        transpose = qnn.TransposeOp.create(
            operands=[value],
            result_types=[old_transpose.result.type],
            properties=dict(old_transpose.properties),
        )
        block.insert_op_before(transpose, op)
        value = transpose.result
    op.operands[1] = value
    if op.bias is not None and bias is not None:
        op.operands[2] = _constant_like(op.bias, bias, block, op)
    for stale in reversed(old):
        if isinstance(stale.owner, Operation) and not any(True for _ in stale.uses):
            block.erase_op(stale.owner)
