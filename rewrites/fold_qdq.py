"""`fold-qdq`: quantize∘dequantize pairs and the ONNX QDQ format.

- `quantize(dequantize(x))` (default rounding) is `requantize(x)`, or `x` itself when the
  types are equal. DESIGN §2 defines requantize this way, so this part is exact.
- `dequantize` sinks below data movement (`tensor.reshape`, `qnn.transpose`, `qnn.slice`,
  `qnn.pad`), which then moves the stored values instead: exact, because these ops only copy
  values (a constant pad value sinks only when the quantized type represents it exactly; a
  per-axis type through a reshape only when that inserts or drops unit dimensions after its
  axis). A
  per-tensor `quantize` rises above a reshape, transpose or slice the same way.
- `dequantize → float conv2d/dot/add/relu/max_pool2d/avg_pool2d/concat/softmax → quantize`, the
  pattern ONNX's QDQ format uses to *simulate* an integer kernel, becomes that integer kernel,
  as ONNX Runtime does when it runs such a model. This is **not** bit-preserving with respect
  to the float simulation: the quantized op rounds once where the simulation rounds the float
  result; it reproduces what ONNX Runtime's QLinear kernels compute instead. The integer op
  takes the float op's location. A group whose kernel could not compute with its scales
  (`rewrites.scale_limits`: a product or ratio of scales outside 2^-40 .. 2^40, where the
  add's ratios or the mul's multiplier are not themselves in range) stays the float
  simulation, which computes no such product. An attention mask of a quantized transformer
  (the float minimum, a scale near 1e36) fuses as ORT fuses it: `(1 - mask) * min` into the
  integer multiply, the masked scores' add with its ratios.
- A MatMul or Gemm between DQs that no quantize reads becomes ONNX Runtime's
  MatMulIntegerToFloat / QGemm with a float output: the int32 sum scaled by sx · sw in float32.
- Outside a function written in QOperator form, a group fuses only where ONNX Runtime's QDQ
  selectors (`qdq_selectors.cc`) fuse it: equal storage types in and out (QLinearAdd, Mul,
  Concat, the pools: every input too), none of them 16-bit (its CPU kernels have no 16-bit
  form: `allow_16bit` is off), 8-bit weights (no 4-bit Conv, MatMul or Gemm kernel:
  `allow_4bit` is off; measured on 1.31.1), and, unless `int8_allowed` (ORT's
  `session.qdqisint8allowed`, off on x86), no int8 activation into a Conv or MatMul, whose
  fast kernels are u8×s8 (a Gemm takes one). With `s8-to-u8` before it, this is ORT's x86
  session on an int8-activation model: a tensor read twice stays int8 and the groups around it
  run as float simulation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import func, tensor
from xdsl.dialects.builtin import IntegerType, ModuleOp, StringAttr, TensorType, i32
from xdsl.dialects.builtin import f32 as f32_type
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from qdialect import qnn
from qdialect.arithmetic import float32_scale, quantize_value
from qdialect.constants import dense_array, splat_value
from qdialect.float32 import f32
from qdialect.gemm_alpha import alpha_scaled
from qdialect.names import OP_TYPE_ATTR, PROPAGATED_ATTR, QOPERATOR_ATTR, carry_node
from qdialect.qnn.compute import FLOAT_SUM_PROPERTIES
from qdialect.qnn.modes import Activation, PadMode, RoundMode
from qdialect.qnn.movement import permuted_element, reshaped_axis
from qdialect.qparams import quantize_bias
from qdialect.quant_ops import StorageCastOp
from qdialect.tensors import element_type
from qdialect.types import Granularity, UniformQuantizedType
from rewrites.common import dense_constant, single_use, stored_constant, with_element
from rewrites.fake_quant import quantized_values
from rewrites.fold_tables import FuseQdqTable, TableStyle
from rewrites.onnx_nodes import inner_op, node_of
from rewrites.retype import requantize_constant
from rewrites.scale_limits import ScaleRangeError, check_op, check_requantization


def _dequantized(value: SSAValue) -> SSAValue | None:
    """x if `value` is `qnn.dequantize(x)`."""
    op = value.owner
    return op.input if isinstance(op, qnn.DequantizeOp) else None


class SinkDequantize(RewritePattern):
    """`move(dequantize(x))` is `dequantize(move(x))` for reshape, transpose, slice and pad."""

    @op_type_rewrite_pattern
    def match_and_rewrite(
        self,
        op: tensor.ReshapeOp | qnn.TransposeOp | qnn.SliceOp | qnn.PadOp,
        rewriter: PatternRewriter,
    ) -> None:
        source = _dequantized(op.operands[0])
        if source is None:
            return
        q_type = element_type(source.type)
        per_tensor = q_type.granularity is Granularity.PER_TENSOR
        if isinstance(op, qnn.TransposeOp):
            moved_elem = permuted_element(q_type, tuple(op.permutation.get_values()))
        elif isinstance(op, tensor.ReshapeOp) and not per_tensor:
            # the quantized axis keeps its place only through unit dimensions after it (a 1-D
            # conv's weight read as 2-D, whose QDQ group ORT fuses into QLinearConv); a
            # reshape keeps its element type
            axis = None
            if q_type.granularity is Granularity.PER_AXIS:
                old = source.type.get_shape()  # type: ignore[union-attr]
                axis = reshaped_axis(old, op.result.type.get_shape(), q_type.axis)
            if axis is None or axis != q_type.axis:
                return
            moved_elem = q_type
        elif isinstance(op, qnn.SliceOp) and not per_tensor:
            return  # the quantized axis has no place in the new shape in general
        elif (
            isinstance(op, qnn.PadOp)
            and op.mode_kind is PadMode.CONSTANT
            and (not per_tensor or not _represents(q_type, op.value.value.data))
        ):
            return
        else:
            moved_elem = q_type
        moved_type = with_element(op.result.type, moved_elem)
        new = type(op).create(
            operands=[source, *op.operands[1:]],
            result_types=[moved_type],
            properties=dict(op.properties),
            attributes=dict(op.attributes),
        )
        rewriter.replace(op, [new, qnn.DequantizeOp(new.results[0], op.result.type)])


class SinkDequantizeInnerConcat(RewritePattern):
    """`concat(dequantize(x_i))` is `dequantize(concat(x_i))` when every `x_i` has one
    per-tensor type, for the concats the importer writes inside a node (a 3-D conv's depth
    taps, `onnx_import.convolution`): exact, as a concat copies values. An ONNX Concat node is left
    to `FuseQdqElementwise`, as ONNX Runtime's QDQ rules see it."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qnn.ConcatOp, rewriter: PatternRewriter) -> None:
        if not inner_op(op):
            return
        sources = [_dequantized(operand) for operand in op.operands]
        if any(source is None for source in sources):
            return
        q_type = element_type(sources[0].type)  # type: ignore[union-attr]
        if q_type.granularity is not Granularity.PER_TENSOR or any(
            element_type(source.type) != q_type  # type: ignore[union-attr]
            for source in sources
        ):
            return
        new = qnn.ConcatOp.create(
            operands=sources,
            result_types=[with_element(op.result.type, q_type)],
            properties=dict(op.properties),
            attributes=dict(op.attributes),
        )
        rewriter.replace(op, [new, qnn.DequantizeOp(new.results[0], op.result.type)])


class HoistQuantize(RewritePattern):
    """`quantize(move(y))` is `move(quantize(y))` for reshape, transpose and slice with per-tensor
    parameters (an elementwise map commutes with moving elements): the quantize then meets the
    float op that computed `y`, as in a batched MatMul, which the importer writes as a float
    conv between transposes and reshapes (`onnx_import.batched`)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qnn.QuantizeOp, rewriter: PatternRewriter) -> None:
        move = op.input.owner
        movable = tensor.ReshapeOp | qnn.TransposeOp | qnn.SliceOp
        if not isinstance(move, movable) or not single_use(op.input):
            return
        q_type = element_type(op.result.type)
        if q_type.granularity is not Granularity.PER_TENSOR:
            return
        source = move.operands[0]
        quantize = qnn.QuantizeOp.create(
            operands=[source],
            result_types=[with_element(source.type, q_type)],
            properties=dict(op.properties),
        )
        moved = type(move).create(
            operands=[quantize.results[0], *move.operands[1:]],
            result_types=[op.result.type],
            properties=dict(move.properties),
            attributes=dict(move.attributes),
        )
        rewriter.replace(op, [quantize, moved])
        rewriter.erase(move)


def _fold_stored(
    op: Operation,
    source: SSAValue,
    move: Callable[[np.ndarray], np.ndarray],
    rewriter: PatternRewriter,
) -> None:
    """Replace a data movement `op` of a constant `source` (floats or integers, or stored
    integers behind a `quant.scast`) by the constant `move(values)`."""
    cast = source.owner
    if isinstance(cast, StorageCastOp):
        values = dense_array(cast.input)
        if values is not None:
            result_type = op.results[0].type
            ints = dense_constant(
                move(values), with_element(result_type, element_type(cast.input.type))
            )
            rewriter.replace(op, [ints, StorageCastOp(ints.result, result_type)])
        return
    values = dense_array(source)
    if values is not None:
        rewriter.replace(op, dense_constant(move(values), op.results[0].type))


class FoldConstantTranspose(RewritePattern):
    """A transposed constant (stored integers behind a `quant.scast`, or floats) is a constant:
    Gemm's `transB` weights are packed once at compile time, not moved on every call."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qnn.TransposeOp, rewriter: PatternRewriter) -> None:
        perm = tuple(op.permutation.get_values())
        _fold_stored(op, op.input, lambda v: v.transpose(perm), rewriter)  # a splat stays one


class FoldConstantReshape(RewritePattern):
    """A reshaped constant is a constant (a ConvTranspose's filter, reshaped for its GEMM and
    then transposed, is moved once at compile time, not on every call; a 1-D conv's stored
    weights, reshaped to 2-D, are constant weights the NHWC layout packs). Integer constants
    that are not stored values (shapes, indices) keep their reshape."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: tensor.ReshapeOp, rewriter: PatternRewriter) -> None:
        if isinstance(op.source.owner, StorageCastOp) or element_type(op.result.type) == f32_type:
            shape = op.result.type.get_shape()  # type: ignore[union-attr]
            _fold_stored(op, op.source, lambda v: v.reshape(shape), rewriter)


class FoldConstantSlice(RewritePattern):
    """A slice of a constant is a constant (an LSTM's weights of one direction)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qnn.SliceOp, rewriter: PatternRewriter) -> None:
        shape = op.result.type.get_shape()
        starts, steps = op.starts.get_values(), op.steps.get_values()
        strided = tuple(slice(a, None, b) for a, b in zip(starts, steps, strict=True))
        window = tuple(slice(0, n) for n in shape)
        _fold_stored(op, op.input, lambda v: np.ascontiguousarray(v[strided][window]), rewriter)


class FoldConstantGather(RewritePattern):
    """A gather of a constant by constant indices in range is a constant."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qnn.GatherOp, rewriter: PatternRewriter) -> None:
        indices = dense_array(op.indices)
        size = op.data.type.get_shape()[op.axis_value]
        if indices is None or ((indices < -size) | (indices >= size)).any():
            return  # out of range: the kernel's run-time error stays
        axis = op.axis_value
        _fold_stored(op, op.data, lambda v: np.take(v, indices % size, axis=axis), rewriter)


def _represents(q_type: UniformQuantizedType, value: float) -> bool:
    stored = quantize_value(value, q_type.scale, q_type.zero_point, q_type.qmin, q_type.qmax)
    return f32(f32(stored - q_type.zero_point) * f32(q_type.scale)) == f32(value)


class QuantizeOfDequantize(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qnn.QuantizeOp, rewriter: PatternRewriter) -> None:
        source = _dequantized(op.input)
        if source is None or op.round_mode_kind is not RoundMode.HALF_TO_EVEN:
            return
        if source.type == op.result.type:
            rewriter.replace(op, [], [source])
        else:
            rewriter.replace(op, qnn.RequantizeOp(source, op.result.type))


class FoldQuantizedConstant(RewritePattern):
    """A default-rounding quantize of a float constant is stored constants (the executors'
    quantize, `fake_quant.quantized_values`; a splat stays one): a weight ONNX Runtime keeps
    float between a QuantizeLinear and a DequantizeLinear (AddQDQPairToWeight) is packed once,
    as a stored weight is."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qnn.QuantizeOp, rewriter: PatternRewriter) -> None:
        values = dense_array(op.input)
        if values is None or op.round_mode_kind is not RoundMode.HALF_TO_EVEN:
            return
        if element_type(op.input.type) != f32_type:
            return
        qtype = element_type(op.result.type)
        if qtype.granularity is Granularity.SUB_CHANNEL:
            return
        one = splat_value(values)
        if one is not None and qtype.granularity is Granularity.PER_TENSOR:
            stored = np.broadcast_to(quantized_values(np.array([one]), qtype)[0], values.shape)
        else:
            stored = quantized_values(np.asarray(values), qtype)
        storage = TensorType(IntegerType(qtype.storage_width), values.shape)
        constant = dense_constant(stored, storage)
        rewriter.replace(op, [constant, StorageCastOp(constant.result, op.result.type)])


class FoldRequantizedConstant(RewritePattern):
    """A requantize of stored constants is stored constants (`retype.requantize_constant`,
    the reference's steps; a splat stays one): a weight ONNX Runtime's quantizer re-quantized
    as an activation (ALBERT's tied projections) stays constant for the integer kernels."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qnn.RequantizeOp, rewriter: PatternRewriter) -> None:
        cast = op.input.owner
        values = dense_array(cast.input) if isinstance(cast, StorageCastOp) else None
        source, target = element_type(op.input.type), element_type(op.result.type)
        per_tensor = source.granularity is target.granularity is Granularity.PER_TENSOR
        if values is None or not per_tensor:
            return
        stored = requantize_constant(values, source, target, declared_bounds=True)
        shape = values.shape
        constant = dense_constant(stored, TensorType(IntegerType(target.storage_width), shape))
        rewriter.replace(op, [constant, StorageCastOp(constant.result, op.result.type)])


def _float_producer(op: qnn.QuantizeOp) -> Operation | None:
    """The float op a default-rounding quantize consumes, if the quantize is its only user."""
    producer = op.input.owner
    if op.round_mode_kind is not RoundMode.HALF_TO_EVEN or not single_use(op.input):
        return None
    return producer if isinstance(producer, Operation) else None


# ONNX Runtime 1.31's ConvNodeGroupSelector fuses a QDQ Conv whose int32 bias is dequantized
# with scales near x_scale * w_scale (|b - x·w| <= 1e-6 + 1e-2·|x·w| per channel, zero points 0;
# measured against its optimizer, the check of PR #28229) and then uses the stored integers as
# they are; otherwise the Conv stays the float simulation. Its Gemm selector checks no scale.
BIAS_SCALE_ATOL, BIAS_SCALE_RTOL = 1e-6, 1e-2


def _stored_bias(
    ints: np.ndarray, b_type: UniformQuantizedType, x_type: UniformQuantizedType, w_type, conv: bool
) -> list[int] | None:
    """The i32 bias of the integer kernel from a dequantized integer constant, as ONNX
    Runtime's fusion takes it (its stored values), or None where ORT leaves the op float."""
    if b_type.storage_width != 32 or not b_type.signed:
        return None  # the selectors take an int32 bias only
    if conv:
        n = ints.size
        w_scales = np.array(w_type.scales, np.float32)
        if (
            set(b_type.zero_points) != {0}
            or len(b_type.scales) not in (1, n)
            or (len(b_type.scales) == 1 and w_scales.size > 1)
        ):
            return None
        b_scales = np.broadcast_to(np.array(b_type.scales, np.float64), n)
        exact = np.broadcast_to((np.float32(x_type.scale) * w_scales).astype(np.float64), n)
        if np.any(np.abs(b_scales - exact) > BIAS_SCALE_ATOL + BIAS_SCALE_RTOL * np.abs(exact)):
            return None
    return [int(v) for v in ints.ravel()]


def _per_channel_bias(
    bias: SSAValue, x_type: UniformQuantizedType, w_type, conv: bool
) -> list[int] | None:
    """The i32 bias of the integer kernel: the stored values when the float bias is a
    dequantized i32 constant (ONNX's QDQ format writes it with scale x·w), or a float constant
    quantized as ONNX Runtime's WeightBiasQuantization does; None where ORT leaves the op float."""
    stored = stored_constant(bias)
    if stored is not None:
        return _stored_bias(*stored, x_type, w_type, conv)
    values = dense_array(bias)
    if values is None:
        return None
    scales = list(w_type.scales)
    if w_type.granularity is Granularity.PER_TENSOR:
        scales = scales * values.size
    return [
        quantize_bias([float(v)], x_type.scale, s)[0]
        for v, s in zip(values.ravel(), scales, strict=True)
    ]


def _qoperator_form(op: Operation, quantize: Operation | None = None) -> bool:
    """Whether `op` lies in a function `quantize_static` wrote in QOperator form, whose pairs
    stand for QLinear nodes (ORT's QDQ selectors do not see them); not when its group's
    `quantize` or a DequantizeLinear it reads is one ORT's QDQ propagation inserted (an ORT
    QDQ node: `rewrites.qdq_propagation`)."""
    parent = op.parent_op()
    while parent is not None and not isinstance(parent, func.FuncOp):
        parent = parent.parent_op()
    if parent is None or QOPERATOR_ATTR not in parent.attributes:
        return False
    group = [quantize, *(v.owner for v in op.operands)]
    return not any(isinstance(o, Operation) and PROPAGATED_ATTR in o.attributes for o in group)


def _storage(value_type) -> tuple[int, bool]:
    """The ONNX element type a quantized value is stored as: (bits, signed)."""
    elem = element_type(value_type)
    return elem.storage_width, elem.signed


def _is_gemm(dot: qnn.DotOp) -> bool:
    """A dot ONNX's Gemm wrote: its bias, C, comes first, or the importer says so (`qnn.op_type`
    on a Gemm without C)."""
    kind = dot.attributes.get(OP_TYPE_ATTR)
    gemm = isinstance(kind, StringAttr) and kind.data == "Gemm"
    return gemm or dot.bias is not None or "bias_first" in dot.properties


def _selector_fuses_conv_dot(
    producer: qnn.Conv2DOp | qnn.DotOp, x: SSAValue, w: SSAValue, y: SSAValue, int8_allowed: bool
) -> bool:
    """ORT's ConvNodeGroupSelector / MatMulNodeGroupSelector / GemmNodeGroupSelector."""
    if _qoperator_form(producer, y.owner if isinstance(y.owner, Operation) else None):
        return True
    x_type, w_type = _storage(x.type), _storage(w.type)
    if x_type != _storage(y.type) or 16 in (x_type[0], w_type[0]):
        return False  # one type in and out; no 16-bit kernel (`allow_16bit` is off)
    if w_type[0] != 8:
        return False  # no 4-bit kernel either (`allow_4bit` is off): a Conv, MatMul or Gemm
    if x_type != (8, True):
        return True
    gemm = isinstance(producer, qnn.DotOp) and _is_gemm(producer)
    return w_type == x_type and (gemm or int8_allowed)


def _qgemm_alpha(dot: qnn.DotOp, quantize: Operation) -> float | None | bool:
    """A dot's alpha as an integer kernel takes it: None when it has none; its value on a
    QGemm node of a QOperator-form function (alpha > 0); False where the float op stays:
    ORT's FusedMatMul, and a QDQ Gemm with alpha, which ORT 1.31's optimizer leaves float
    (measured: its Gemm selector fuses only alpha 1)."""
    if dot.alpha is None:
        return None
    alpha = float(dot.alpha.value.data)
    if _is_gemm(dot) and _qoperator_form(dot, quantize) and alpha > 0:
        return alpha
    return False


class FuseQdqConvDot(RewritePattern):
    def __init__(self, int8_allowed: bool = True):
        self.int8_allowed = int8_allowed

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qnn.QuantizeOp, rewriter: PatternRewriter) -> None:
        producer = _float_producer(op)
        if not isinstance(producer, qnn.Conv2DOp | qnn.DotOp) or producer.addend is not None:
            return
        x = _dequantized(producer.input)
        w = _dequantized(producer.weight)
        if x is None or w is None:
            return
        alpha = _qgemm_alpha(producer, op) if isinstance(producer, qnn.DotOp) else None
        if alpha is False:
            return
        if not _selector_fuses_conv_dot(producer, x, w, op.result, self.int8_allowed):
            return  # ORT runs the float simulation
        x_type, w_type = element_type(x.type), element_type(w.type)
        conv = isinstance(producer, qnn.Conv2DOp)
        weight_axis = 0 if conv else 1
        if x_type.granularity is not Granularity.PER_TENSOR or (
            w_type.granularity is Granularity.PER_AXIS and w_type.axis != weight_axis
        ):
            return  # the integer kernel has no such quantization
        bias = producer.bias
        if bias is not None and stored_constant(bias) is None and dense_array(bias) is None:
            return  # a computed float bias cannot be quantized here
        out_type = element_type(op.result.type)
        try:  # the multipliers first, as for an integer op; then the bias scale sx*sw
            if out_type.granularity is Granularity.PER_TENSOR:  # else the verifier refuses it
                check_requantization(x_type, w_type, out_type)
            ints = None if bias is None else _per_channel_bias(bias, x_type, w_type, conv)
        except ScaleRangeError:
            return  # the float simulation computes no product of these scales
        new_ops: list[Operation] = []
        if bias is not None:
            if ints is None:
                return
            constant = dense_constant(np.array(ints), with_element(producer.bias.type, i32))
            new_ops.append(constant)
            bias = constant.result
        if alpha is not None:
            new_ops.extend(alpha_scaled(x, alpha))
            x = new_ops[-1].results[0]
        properties = dict(producer.properties)
        for key in ("operandSegmentSizes", "alpha", *FLOAT_SUM_PROPERTIES):
            properties.pop(key, None)
        fused = type(producer).build(
            operands=[x, w, [bias] if bias is not None else [], []],
            result_types=[op.result.type],
            properties=properties,
        )
        fused.location = producer.location
        carry_node(producer, fused)
        rewriter.replace(op, [*new_ops, fused])
        rewriter.erase(producer)


class FuseQdqMatMulToFloat(RewritePattern):
    """DQ(x) x DQ(w) into a float MatMul or Gemm that no quantize reads, as ONNX
    Runtime's selectors take it with no Q node (its CPU EP allows that): a MatMul becomes
    MatMulIntegerToFloat, a Gemm (with no C, or an int32 C through a DQ) QGemm with a float
    output. Both sum Σ (x - zx)(w - zw) (+ C) in int32 and scale each column by the float32
    product sx · sw, in float32: `qnn.dot` to i32, then that scale's dequantize. A batched
    MatMul (the importer's grouped 1x1 conv, `onnx_import.batched`) likewise, as a conv."""

    def __init__(self, int8_allowed: bool = True):
        self.int8_allowed = int8_allowed

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qnn.DotOp | qnn.Conv2DOp, rewriter: PatternRewriter) -> None:
        # (in a QOperator-form function too: a dot with no Q is no QLinear node, its DQs are
        # DequantizeLinear nodes of ORT's model)
        batched = isinstance(op, qnn.Conv2DOp)
        if batched and op.batched_matmul is None:
            return  # a Conv with no Q stays float (ORT has no ConvIntegerToFloat)
        if op.addend is not None or op.alpha is not None:
            return  # (alpha: ORT's FusedMatMul, and a QDQ Gemm's, which stay float)
        if op.activation_kind is not Activation.NONE or element_type(op.result.type) != f32_type:
            return
        x, w = _dequantized(op.input), _dequantized(op.weight)
        if x is None or w is None:
            return
        node_output = node_of(op).results[0]  # a batched MatMul's dot feeds its reshapes
        if any(isinstance(use.operation, qnn.QuantizeOp) for use in node_output.uses):
            return  # QLinearMatMul's or QGemm's group, or none
        bias = None
        if not batched and _is_gemm(op) and op.bias is not None:
            stored = stored_constant(op.bias)
            if stored is None or stored[1].storage_width != 32:
                return  # a C not dequantized from int32: the Gemm stays float
            bias = dense_constant(stored[0].astype(np.int64), TensorType(i32, [stored[0].size]))
        elif op.bias is not None:
            return
        (x_bits, x_signed), w_storage = _storage(x.type), _storage(w.type)
        if x_bits != 8 or w_storage[0] != 8:
            return  # no 16-bit or 4-bit kernel (`allow_16bit`, `allow_4bit` off)
        gemm = not batched and _is_gemm(op)
        if x_signed and (w_storage != (8, True) or not (self.int8_allowed or gemm)):
            return
        x_type, w_type = element_type(x.type), element_type(w.type)
        shape = op.result.type.get_shape()
        if x_type.granularity is not Granularity.PER_TENSOR or (
            w_type.granularity is Granularity.PER_AXIS and (batched or w_type.axis != 1)
        ):
            return
        scales = np.float32(x_type.scale) * np.asarray(w_type.scales, np.float32)
        try:
            for scale in scales:
                float32_scale(float(scale))
        except ScaleRangeError:
            return  # a product of scales out of range: the float simulation computes none
        if w_type.granularity is Granularity.PER_TENSOR:
            scaled = UniformQuantizedType.per_tensor("i32", f32_type, float(scales[0]), 0)
        else:
            scaled = UniformQuantizedType.per_axis(
                "i32", f32_type, len(shape) - 1, [float(v) for v in scales], [0] * scales.size
            )
        properties = {k: v for k, v in op.properties.items() if k not in FLOAT_SUM_PROPERTIES}
        properties.pop("operandSegmentSizes", None)
        properties.pop("bias_first", None)
        product = type(op).build(
            operands=[x, w, [bias.result] if bias is not None else [], []],
            result_types=[TensorType(i32, shape)],
            properties=properties,
        )
        product.location = op.location
        carry_node(op, product)
        cast = StorageCastOp(product.results[0], TensorType(scaled, shape))
        scaled_product = qnn.DequantizeOp(cast.results[0], op.result.type)
        constants = [bias] if bias is not None else []
        rewriter.replace(op, [*constants, product, cast, scaled_product])


# nodes the importer writes as qnn.add / qnn.mul (`qnn.op_type`) that ONNX Runtime's
# optimizer has no QDQ selector for: between DQ and Q they stay the float simulation
UNSELECTED_NODES = frozenset({"Sum", "Mean", "Pow"})


class FuseQdqElementwise(RewritePattern):
    """add / mul / relu / max_pool2d / avg_pool2d / concat between dequantize and quantize."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qnn.QuantizeOp, rewriter: PatternRewriter) -> None:
        producer = _float_producer(op)
        if not isinstance(
            producer,
            qnn.AddOp
            | qnn.MulOp
            | qnn.ReluOp
            | qnn.ClampOp
            | qnn.MaxPool2DOp
            | qnn.AvgPool2DOp
            | qnn.ConcatOp,
        ):
            return
        recorded = producer.attributes.get(OP_TYPE_ATTR)
        if isinstance(recorded, StringAttr) and recorded.data in UNSELECTED_NODES:
            return
        sources = [_dequantized(v) for v in producer.operands]
        if any(s is None for s in sources):
            return
        if not _qoperator_form(producer, op) and (
            any(_storage(s.type) != _storage(op.result.type) for s in sources)
            or _storage(op.result.type)[0] == 16
        ):
            return  # ORT's Binary/Variadic/Unary selectors: one 8-bit type; else float simulation
        same_type = isinstance(producer, qnn.ReluOp | qnn.ClampOp | qnn.MaxPool2DOp)
        if same_type and element_type(sources[0].type) != element_type(op.result.type):
            return  # these ops keep their input's quantization
        if isinstance(producer, qnn.AddOp | qnn.MulOp | qnn.ConcatOp | qnn.AvgPool2DOp) and any(
            element_type(s.type).granularity is not Granularity.PER_TENSOR  # type: ignore[union-attr]
            for s in sources
        ):
            return
        properties = dict(producer.properties)
        if isinstance(producer, qnn.AvgPool2DOp):
            # QLinearAveragePool has no dilations, and its own arithmetic whatever the opset
            if set(producer.dilations.get_values()) != {1}:
                return
            properties.pop("row_major", None)
        fused = type(producer).build(
            operands=[sources] if isinstance(producer, qnn.ConcatOp) else sources,
            result_types=[op.result.type],
            properties=properties,
        )
        fused.location = producer.location
        carry_node(producer, fused)
        try:
            check_op(fused)
        except ScaleRangeError:
            fused.erase()  # never inserted: drop the uses it holds of the sources
            return  # the float simulation computes no product of these scales
        rewriter.replace(op, fused)
        rewriter.erase(producer)


class FuseQdqSoftmax(RewritePattern):
    """DQ → float softmax → Q on per-tensor 8-bit tensors of one signedness becomes the 8-bit
    `qnn.softmax` (QLinearSoftmax's exp table), as ONNX Runtime's optimized session fuses it:
    not the float simulation, which can differ by an output step."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qnn.QuantizeOp, rewriter: PatternRewriter) -> None:
        producer = _float_producer(op)
        if not isinstance(producer, qnn.SoftmaxOp) or producer.log is not None:
            return
        source = _dequantized(producer.input)
        if source is None:
            return
        x_type, y_type = element_type(source.type), element_type(op.result.type)
        if (
            any(
                t.granularity is not Granularity.PER_TENSOR or t.storage_width != 8
                for t in (x_type, y_type)
            )
            or x_type.signed != y_type.signed
        ):
            return
        fused = qnn.SoftmaxOp(
            source, op.result.type, producer.axis_value, producer.flatten is not None
        )
        fused.location = producer.location
        carry_node(producer, fused)
        rewriter.replace(op, fused)
        rewriter.erase(producer)


@dataclass(frozen=True)
class FoldQdqPass(ModulePass):
    """`tables`: `exact` (default) or `glow` (rewrites.fold_tables). `int8_allowed` (on by
    default): fuse a QDQ Conv or MatMul on int8 activations, as ORT's session does with
    `session.qdqisint8allowed` (its ARM default); `qnn-default` runs it off, after `s8-to-u8`,
    as ORT's x86 session does."""

    name = "fold-qdq"
    tables: str = TableStyle.EXACT.value
    int8_allowed: bool = True

    def __post_init__(self) -> None:
        choices = [s.value for s in TableStyle]
        if self.tables not in choices:
            raise ValueError(f"tables must be one of {choices}, got '{self.tables}'")

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        style = TableStyle(self.tables)
        PatternRewriteWalker(
            GreedyRewritePatternApplier(
                [
                    SinkDequantize(),
                    SinkDequantizeInnerConcat(),
                    HoistQuantize(),
                    FoldConstantTranspose(),
                    FoldConstantReshape(),
                    FoldConstantSlice(),
                    FoldConstantGather(),
                    QuantizeOfDequantize(),
                    FoldQuantizedConstant(),
                    FoldRequantizedConstant(),
                    FuseQdqConvDot(self.int8_allowed),
                    FuseQdqMatMulToFloat(self.int8_allowed),
                    FuseQdqElementwise(),
                    FuseQdqSoftmax(),
                    FuseQdqTable(style),
                ]
            )
        ).rewrite_module(op)
