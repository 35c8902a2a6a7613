"""Static quantization of a float function: ONNX Runtime's `quantize_static`, as a rewrite.

Given calibrated ranges (keyed by ONNX tensor name) and a `QuantizeConfig`, the function gets
the quantize/dequantize pairs ONNX Runtime's QDQ quantizer (`qdq_quantizer.py`, 1.31.1) would
write, with its numbers (`qdialect.ort_qparams`): the same tensors marked by the same per-node
rules, Relu/Clip folded into their producer's range, data movement sharing its input's
parameters, weights quantized per tensor or per channel, int32 biases, and the weight-scale
adjustment that keeps those biases in range. The result is what importing ONNX Runtime's own
QDQ model gives; `qnn-default` then fuses it into integer ops exactly as it fuses theirs.

The three phases are ONNX Runtime's: mark tensors node by node (`quantize_model`), compute
parameters (`_calc_initializer_quant_params`, `_adjust_weight_quant_params_for_bias_tensors`),
then insert the pairs (`_quantize_normal_tensors`, `_quantize_sharing_param_tensors`,
`_quantize_bias_tensors`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
from xdsl.dialects import func, tensor
from xdsl.dialects.builtin import StringAttr, TensorType, UnitAttr, f32
from xdsl.ir import Block, BlockArgument, Operation, OpResult, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter

from qdialect import qnn
from qdialect.constants import dense_array, splat_value
from qdialect.host_cpu import nchwc_pool
from qdialect.names import (
    INITIALIZER_ATTR,
    OP_TYPE_ATTR,
    QOPERATOR_ATTR,
    node_name,
    tensor_name,
)
from qdialect.nchwc import (
    fuse_nchwc_sums,
    mark_nchwc_conv,
    nchwc_batch_norms,
    nchwc_global_pool,
    nchwc_resize,
)
from qdialect.ort_fusions import fuse_float_nodes
from qdialect.ort_qparams import (
    NonFiniteRange,
    QParams,
    QType,
    adjust_weight_scale_for_int32_bias,
    bias_qparams,
    quantize_array,
    quantize_bias,
)
from qdialect.ort_session_view import SessionFusions
from qdialect.quant_config import QuantFormat, QuantizeConfig
from qdialect.quant_rules import NodeRule
from qdialect.tensor_overrides import TensorOverride
from qdialect.tensors import element_type
from qdialect.types import UniformQuantizedType
from rewrites.nni_params import FixedParams, FixedWeight, special_weight
from rewrites.onnx_nodes import (
    MOVES,
    conv_transpose_inputs,
    float_constant,
    inner_op,
    is_float_tensor,
    is_untyped,
    node_inputs,
    node_kind,
    node_of,
    node_ops,
    weight_source,
)
from rewrites.override_params import activation_params, constant_params
from rewrites.qdq_ir import (
    constant_chain,
    scheme_qparams,
    stream_dequantized_weights,
    uniform_type,
)
from rewrites.qlinear_pools import qlinear_average_pools
from rewrites.qlinear_softmax import fuse_softmax
from rewrites.qlinear_softmax import output_params as softmax_output_params
from rewrites.qoperator_resize import resize_stored_values
from rewrites.quantize_error import QuantizeError

Ranges = Mapping[str, tuple[float, float]]

# QDQDirect8BitOp's node types (and QDQResize, which is one): the output shares the input's
DIRECT_8BIT = {"Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten", "Slice", "Resize"}
DIRECT_8BIT |= {"AveragePool", "MaxPool"}  # MaxPool: QDQMaxPool, the same rule from opset 12
DIRECT_8BIT |= {"TopK"}  # QDQ's registry: its values share the input's parameters
# QOperator's `Direct8BitOp` node types (QLinearOpsRegistry; QMaxPool and QResize are ones)
QOPERATOR_DIRECT = {"Reshape", "Squeeze", "Unsqueeze", "Flatten", "Transpose", "MaxPool", "Resize"}
REMOVABLE = {"Relu", "Clip"}
# InstanceNormalization: the importer writes it as several float ops (`qnn.op_type`)
DECOMPOSED_NORMALIZATIONS = {"InstanceNormalization"}
NORMALIZATIONS = {"LayerNormalization", "BatchNormalization"} | DECOMPOSED_NORMALIZATIONS


@dataclass(frozen=True)
class Mark:
    """A tensor marked for quantization (ONNX Runtime's `QDQTensorQuantInfo`)."""

    weight: bool = False
    axis: int | None = None
    shared_from: SSAValue | None = None  # quantize_output_same_as_input
    rule: NodeRule = NodeRule()  # of the node that marked it (per-op rules)
    params: QParams | None = None  # fixed by the node's rule (QOperator Softmax's output)
    # the storage ORT uses whatever the config says: QLinearConv's per-channel weights are
    # int8 (`quantize_weight_per_channel(..., TensorProto.INT8, 0)` in operators/conv.py)
    weight_type: QType | None = None


@dataclass(frozen=True)
class BiasMark:
    """A bias to quantize to int32 with scale input_scale * weight_scale (`QDQBiasQuantInfo`)."""

    op: Operation  # whose operand `index` is the bias
    bias: SSAValue
    input: SSAValue
    weight: SSAValue
    index: int = 2
    gemm: qnn.DotOp | None = None  # the dot of a Gemm
    # its `beta·C` (the importer's qnn.mul): ORT folds beta into the bias scale
    beta: qnn.MulOp | None = None


@dataclass
class QuantizeSummary:
    """What the quantizer did, for `qopt` to print: nodes quantized and nodes left float."""

    quantized: list[str] = field(default_factory=list)
    left_float: list[str] = field(default_factory=list)
    unmatched_rules: list[str] = field(default_factory=list)  # per-op rules that matched no node


@dataclass(frozen=True)
class Conversion:
    """A tensor's second quantization (`QDQTensorQuantParams.converted`) and the names of the
    nodes that read it (`converted_recv_nodes`; None: every quantized reader)."""

    params: QParams
    recv_nodes: frozenset[str] | None

    def reads_converted(self, node: str | None) -> bool:
        """`get_for_consumer`'s choice for the node named `node`."""
        return self.recv_nodes is None or node in self.recv_nodes


def _node_name(ops: frozenset[Operation]) -> str | None:
    """The ONNX name of the node made of `ops`."""
    return next((name for op in ops if (name := node_name(op)) is not None), None)


def _either(rule_value: bool | None, default: bool) -> bool:
    return default if rule_value is None else rule_value


def _label(op: Operation, kind: str) -> str:
    name = node_name(op)
    return f"{kind} '{name}'" if name else f"{kind} ({tensor_name(op.results[0]) or op.name})"


class StaticQuantizer:
    """One function's quantization; `run` does the three phases."""

    def __init__(
        self,
        function: func.FuncOp,
        ranges: Ranges,
        config: QuantizeConfig,
        fixed: FixedParams | None = None,
    ) -> None:
        self.function = function
        self.fixed = fixed or FixedParams()  # NNI's calibration config, as given
        self.stored: dict[SSAValue, FixedWeight] = {}  # weights not quantized from a range
        self.block: Block = function.body.block
        self.config = config
        self.ranges = dict(ranges)
        self.names: dict[SSAValue, str] = {}  # tensors renamed by a removed Relu/Clip
        self.marks: dict[SSAValue, Mark] = {}
        self.biases: list[BiasMark] = []
        self.init_params: dict[SSAValue, QParams] = {}
        self.done: dict[SSAValue, QParams] = {}
        self.rule = NodeRule()  # of the node being marked
        self.node: set[Operation] = set()  # ... its ops
        self.node_inputs: list[SSAValue] = []  # ... and its inputs
        # QOperator: the ops of the quantized nodes that read each marked tensor quantized, and
        # the tensors quantized nodes write (ONNX Runtime's quantized_value_map, as it grows)
        self.readers: dict[SSAValue, set[Operation]] = {}
        self.written: set[SSAValue] = set()
        self.summary = QuantizeSummary()
        # the nodes to quantize that read each tensor (DedicatedQDQPair's pairs), node order
        self.receivers: dict[SSAValue, list[frozenset[Operation]]] = {}
        self.named_nodes: dict[str, frozenset[Operation]] = {}  # a multi-op node's ops, by name
        self.quantized_ops: set[Operation] = set()  # the ops of the nodes it quantizes

    # ---- names and ranges
    def name(self, value: SSAValue) -> str | None:
        """The ONNX tensor `value` is (an initializer the importer rewrote: its own name)."""
        found = self.names.get(value) or tensor_name(value)
        if found or not isinstance(value, OpResult):
            return found
        source = value.owner.attributes.get(INITIALIZER_ATTR)
        return source.data if isinstance(source, StringAttr) else None

    def has_range(self, value: SSAValue) -> bool:
        return self.name(value) in self.ranges

    def act_params(self, value: SSAValue, override: TensorOverride | None = None) -> QParams:
        """`calc_quant_params` of a calibrated tensor, with its per-tensor overrides or, for
        the second quantization of a converted tensor, its `convert` dict (`override`)."""
        name = self.name(value)
        if name not in self.ranges:
            raise QuantizeError(
                f"no calibration range for tensor '{name}': static quantization needs a range "
                "for every input and output of the nodes it quantizes"
            )
        lo, hi = self.ranges[name]
        rule = self.marks[value].rule if value in self.marks else NodeRule()
        qtype = self.fixed.activation_type(
            name, rule.activation_type or self.config.activation_type
        )
        scheme = self.config.scheme(qtype)
        if scheme is not None:
            return scheme_qparams([(lo, hi)], qtype, scheme, False, None)
        symmetric = _either(rule.activation_symmetric, self.config.activation_symmetric)
        if override is None:
            override = self.config.tensor_overrides.per_tensor(name)
        try:
            return activation_params(
                override,
                name,
                np.float32(lo),
                np.float32(hi),
                qtype,
                symmetric,
                self.config.min_real_range,
                self.config.activation_restricted_asymmetric,
            )
        except NonFiniteRange as err:
            raise QuantizeError(
                f"tensor '{name}': its {err} (a -inf mask?), so no scale fits it (ONNX "
                "Runtime's quantize_static writes an infinite scale): keep its nodes float "
                "(nodes_to_exclude) or give it a range (TensorQuantOverrides rmin/rmax)"
            ) from None

    def conversion(self, value: SSAValue) -> Conversion | None:
        """A calibrated tensor's `convert` override, computed (`calc_graph_quant_params`). The
        QDQ form only: QOperator's quantizer ignores the key."""
        if self.config.quant_format is not QuantFormat.QDQ or not self.has_range(value):
            return None
        convert = self.config.tensor_overrides.per_tensor(self.name(value)).convert
        if convert is None:
            return None
        return Conversion(self.act_params(value, convert), convert.recv_nodes)

    def reader_params(self, value: SSAValue, params: QParams, reader: Operation) -> QParams:
        """`get_for_consumer`: the parameters the node of op `reader` reads `value` with,
        `params` unless the node reads the tensor's converted type."""
        conversion = self.conversion(value)
        if conversion is not None and conversion.reads_converted(node_name(node_of(reader))):
            return conversion.params
        return params

    # ---- phase 1: marking (QDQQuantizer.quantize_model and the per-op quantizers)
    def check_overrides(self) -> None:
        """`TensorQuantOverridesHelper.is_valid`'s checks against the model: the tensor exists,
        a reduced range is an initializer's, per-channel overrides are an initializer's and fit
        its shape. (Without the model: `QuantizeConfig.tensor_overrides`.)"""
        overrides = self.config.tensor_overrides
        if overrides.by_name and self.config.preset is not None:
            raise QuantizeError(
                "TensorQuantOverrides change ONNX Runtime's arithmetic; a preset replaces it"
            )
        values: dict[str, SSAValue] = {}
        for value in self.block.args:
            values.setdefault(tensor_name(value) or "", value)
        for op in self.function.body.walk():
            for value in op.results:
                values.setdefault(tensor_name(value) or "", value)
        for name, dicts in overrides.by_name.items():
            value = values.get(name)
            if value is None and name not in self.ranges:
                raise QuantizeError(
                    f"Tensor '{name}' in TensorQuantOverrides is not present in the model"
                )
            initializer = value is not None and float_constant(value) is not None
            if not dicts:
                continue
            if dicts[0].axis is None:
                if dicts[0].reduce_range is not None and not initializer:
                    raise QuantizeError(
                        f"Option 'reduce_range' is only supported for initializers, not for "
                        f"activation {name}"
                    )
                if (convert := dicts[0].convert) is not None:
                    if initializer:
                        raise QuantizeError("Cannot use 'convert' override for initializers")
                    if convert.quant_type == (dicts[0].quant_type or self.config.activation_type):
                        raise QuantizeError(
                            f"'convert' quant_type must differ from original quant_type "
                            f"(tensor '{name}')"
                        )
                continue
            if not initializer:
                raise QuantizeError(
                    f"Tensor '{name}' has per-channel overrides, but is not an initializer"
                )
            shape = value.type.get_shape()  # type: ignore[union-attr]
            axis = dicts[0].axis
            if not -len(shape) <= axis < len(shape):
                raise QuantizeError(
                    f"Axis override value is out-of-bounds for tensor {name} (rank {len(shape)})"
                )
            if len(dicts) > 1 and len(dicts) != shape[axis]:
                raise QuantizeError(
                    f"Incorrect number of channel overrides for tensor {name} (axis {axis}), "
                    f"expected {shape[axis]}, but found {len(dicts)}."
                )
            if any(channel.convert is not None for channel in dicts):
                raise QuantizeError(
                    f"Cannot use 'convert' override for initializers, such as {name}."
                )

    def run(self) -> QuantizeSummary:
        self.check_overrides()
        if self.config.writes_opset_21:
            opset_19_pools(self.block)
        self.adjust_ranges()
        matched: set[str] = set()
        for op in list(self.block.ops):
            kind = node_kind(op)
            if kind is None or (inner_op(op) and kind not in MOVES):
                continue
            matched.update(self.config.rules.matching(kind, node_name(op)))
            name = node_name(op)
            quantized = self.config.should_quantize(kind, name) and not self.kept_float(op, kind)
            if kind in REMOVABLE and not self.is_marked(op.operands[0]):
                quantized = False  # a Relu/Clip of a float tensor stays float (both formats)
            if self.unforced_direct(op, kind):
                quantized = False  # `QDQDirect8BitOp`: nothing unless its input is quantized
            if self.config.should_quantize(kind, name):
                self.note_receiver(op)
            listed = self.summary.quantized if quantized else self.summary.left_float
            if (label := _label(op, kind)) not in listed:  # one line per node
                listed.append(label)
            if not quantized:
                continue
            if isinstance(op, qnn.ResizeCubicOp) and (
                self.config.quant_format is QuantFormat.QOperator
            ):
                raise QuantizeError(
                    f"{_label(op, kind)}: QOperator resizes the stored 8-bit values (QResize), "
                    "which a cubic Resize's import does not reproduce: quantize in QDQ form, "
                    "or exclude the node (nodes_to_exclude)"
                )
            self.rule = self.config.rule(kind, name)
            self.node, self.node_inputs = node_ops(op), node_inputs(op)
            self.quantized_ops |= self.node
            if self.rule.algorithm is not None:
                raise QuantizeError(
                    f"{_label(op, kind)}: a per-op calibration 'algorithm' is not supported; "
                    "choose the method for the whole model (calibrate_method)"
                )
            self.mark_node(op, kind)
        self.compute_initializer_params()
        if self.config.quant_format is QuantFormat.QOperator or not self.config.option(
            "QDQDisableWeightAdjustForInt32Bias", False
        ):
            self.adjust_weight_scales()
        self.insert_normal()
        self.insert_shared()
        if self.config.quant_format is QuantFormat.QOperator or self.config.option(
            "QuantizeBias", True
        ):
            self.insert_biases()  # QDQ's QuantizeBias=False: float biases (weights adjusted)
        stream_dequantized_weights(self.block)
        qoperator = self.config.quant_format is QuantFormat.QOperator
        qlinear_average_pools(self.block, qdq_int8_refused=not qoperator)
        if self.config.quant_format is QuantFormat.QOperator:
            fuse_softmax(self.block, self.quantized_ops.__contains__)
            resize_stored_values(self.block, self.quantized_ops.__contains__)
        session = SessionFusions.take(self.function)
        if writes_quantized_values(self.block):  # ORT's optimized session runs the model
            fuse_float_nodes(self.block, session)
            nchwc_layout(self.block)
        self.summary.unmatched_rules = [
            key for key in self.config.rules.patterns() if key not in matched
        ]
        return self.summary

    def note_receiver(self, op: Operation) -> None:
        """`quantize_model`: every input of a node to quantize lists the node as a receiver,
        before its quantizer runs and whatever it marks. The ops of a data movement the
        importer writes as several (each marked as a node of its own; a Split's slices, one
        an output) are one node here."""
        name = node_name(op)
        if name is not None and OP_TYPE_ATTR in op.attributes:
            if not self.named_nodes:  # the block's multi-op nodes, by name, once
                grouped: dict[str, set[Operation]] = {}
                for other in self.block.ops:
                    if (other_name := node_name(other)) is not None:
                        grouped.setdefault(other_name, set()).add(other)
                self.named_nodes = {k: frozenset(v) for k, v in grouped.items()}
            ops = self.named_nodes[name]
        else:
            ops = frozenset(node_ops(node_of(op)))
        one_op = OP_TYPE_ATTR not in op.attributes
        for value in node_inputs(op):  # a node reading a tensor twice is listed twice
            slots = sum(operand is value for operand in op.operands) if one_op else 1
            nodes = self.receivers.setdefault(value, [])
            nodes += [ops] * (slots - nodes.count(ops))

    def adjust_ranges(self) -> None:
        """`BaseQuantizer.adjust_tensor_ranges`: a Relu/Clip's single-use input takes the
        activation's output range; a Softmax's output range is [0, 1]."""
        for op in self.block.ops:
            kind = node_kind(op)
            if kind == "Softmax" and self.config.should_quantize(kind, node_name(op)):
                self.ranges[self.name(op.results[0]) or ""] = (0.0, 1.0)
            if kind not in REMOVABLE or not self.config.should_quantize(kind, node_name(op)):
                continue
            source = op.operands[0]
            if len(list(source.uses)) != 1:
                continue
            if self.has_range(source) and self.has_range(op.results[0]):
                self.ranges[self.name(source)] = self.ranges[self.name(op.results[0])]

    def quantizable(self, value: SSAValue) -> bool:
        """`_is_tensor_quantizable` / `is_float_tensor`: a float tensor that ONNX's shape
        inference gives a type (ORT's quantizers skip the others, "failed to infer the type")."""
        return is_float_tensor(value) and not is_untyped(value)

    def mark(self, value: SSAValue, mark: Mark = Mark()) -> None:
        """`QDQQuantizer.__quantize_tensor`: a shared mark overwrites, others are kept. The
        node being marked reads `value` quantized (an input, or the source it shares), or
        writes it."""
        if not self.quantizable(value):
            return
        if mark.shared_from is not None or value not in self.marks:
            self.marks[value] = replace(mark, rule=self.rule)
        self.note_access(value, mark.shared_from if mark.shared_from is not None else value)

    def note_access(self, value: SSAValue, read: SSAValue) -> None:
        """The node being marked reads `read` quantized, or writes `value`. (A 1-D conv's
        reshaped weight is a constant of the node itself, read by its conv.)"""
        if read in self.node_inputs or any(use.operation in self.node for use in read.uses):
            self.readers.setdefault(read, set()).update(self.node)
        if value.owner in self.node:
            self.written.add(value)

    def is_marked(self, value: SSAValue) -> bool:
        """`is_tensor_quantized`."""
        return value in self.marks or any(b.bias is value for b in self.biases)

    def output_excluded(self, kind: str) -> bool:
        """`OpTypesToExcludeOutputQuantization`, an option of the QDQ quantizer only
        (`QDQOperatorBase.disable_qdq_for_node_output`)."""
        return self.config.quant_format is QuantFormat.QDQ and kind in self.config.option(
            "OpTypesToExcludeOutputQuantization", []
        )

    def mark_node(self, op: Operation, kind: str) -> None:
        if kind in ("Conv", "Gemm"):
            self.mark_conv_or_gemm(op, kind)  # type: ignore[arg-type]
        elif kind == "ConvTranspose":
            self.mark_conv_transpose(op)
        elif kind == "MatMul":
            self.mark_matmul(op)  # type: ignore[arg-type]
        elif kind in REMOVABLE:
            self.mark_removable(op, kind)
        elif kind in DIRECT_8BIT and not self.own_output_params(kind):
            self.mark_direct(op, kind)
        elif kind == "Pad":
            self.mark_pad(op)  # type: ignore[arg-type]
        elif kind == "Split":
            self.mark_split(op)
        elif kind == "Gather":
            self.mark_gather(op)
        elif kind in NORMALIZATIONS:
            self.mark_normalization(op, kind)
        elif kind == "Where":
            self.mark_where(op)
        else:  # QDQOperatorBase: every input and output
            for value in node_inputs(op):
                self.mark(value)
            if not self.output_excluded(kind):
                self.mark(op.results[0], self.fixed_output(kind))

    def kept_float(self, op: Operation, kind: str) -> bool:
        """Where not forced (above); QOperator's operators that stay float unless their input
        is quantized already (`QGlobalAveragePool`, `QPad`, `QArgMax`; the Direct8Bit ops and
        Relu/Clip check it in their own marking), its Relu/Clip, float with symmetric
        activations (`QLinearActivation.QuantizeClipRelu`), its Gather of anything but a
        constant, and with MatMulConstBOnly its MatMul of two activations. With
        ForceQuantizeNoInputCheck its data-movement ops quantize an initializer only: those of
        activations stay float, even of a quantized one (`Direct8BitOp.quantize`)."""
        if kind == "Where" and not self.config.option("ForceQuantizeNoInputCheck", False):
            # `QLinearWhere` quantizes only when forced; `QDQWhere` its output when its X and Y
            # are quantized already (nothing else: it stays float otherwise)
            if self.config.quant_format is QuantFormat.QOperator:
                return True
            return not (self.is_marked(op.operands[1]) and self.is_marked(op.operands[2]))
        if self.config.quant_format is not QuantFormat.QOperator:
            return False
        inputs = node_inputs(op)
        if kind not in ("MatMul", "Gather") and inputs and not self.quantizable(inputs[0]):
            return True  # `QuantOperatorBase.should_quantize`: its first input is no float
        if kind in REMOVABLE:
            return self.config.activation_symmetric
        if kind == "Gather":  # `GatherQuant.should_quantize`: an initializer's gather only
            return float_constant(op.operands[0]) is None
        if kind in QOPERATOR_DIRECT and self.config.option("ForceQuantizeNoInputCheck", False):
            # `Direct8BitOp` forced: only a float initializer's (`is_valid_quantize_weight`)
            return float_constant(op.operands[0]) is None
        if kind == "MatMul" and self.config.option("MatMulConstBOnly", False):
            return float_constant(node_inputs(op)[1]) is None  # `QOpMatMul.should_quantize`
        # `QArgMax` reads a quantized input only where an earlier node quantized it
        kept = ("GlobalAveragePool", "Pad", "ArgMax", "ArgMin")
        return kind in kept and not self.is_marked(inputs[0])  # (a volume's: its reshape's)

    def fixed_output(self, kind: str) -> Mark:
        """QOperator's QLinearSoftmax quantizes its output with fixed parameters."""
        if kind != "Softmax" or self.config.quant_format is not QuantFormat.QOperator:
            return Mark()
        qtype = self.rule.activation_type or self.config.activation_type
        return Mark(params=softmax_output_params(qtype))

    def own_output_params(self, kind: str) -> bool:
        """QOperator's QLinearAveragePool (`QLinearPool.quantize`) quantizes its output with
        the output's own range; the QDQ rule shares the input's."""
        return kind == "AveragePool" and self.config.quant_format is QuantFormat.QOperator

    def per_channel_axis(self, weight: SSAValue, default_axis: int, kind: str) -> int | None:
        """`QDQQuantizer.is_tensor_per_channel`: QDQ's tensor overrides decide where given
        (per tensor; per channel along their axis); QOperator's ops follow the config."""
        per_channel = _either(self.rule.per_channel, self.config.per_channel)
        if float_constant(weight) is None:
            return None
        overrides, name = self.config.tensor_overrides, self.name(weight)
        channels = overrides.per_channel(name)
        if self.config.quant_format is QuantFormat.QDQ and name in overrides:
            per_channel = channels is not None
        if not per_channel:
            return None
        axis = default_axis
        if kind not in ("Conv", "ConvTranspose", "Gemm"):  # the op types that pass theirs
            axis = self.config.option("QDQOpTypePerChannelSupportToAxis", {}).get(kind, axis)
        if channels is not None and self.config.quant_format is QuantFormat.QDQ:
            axis = channels[0].axis  # type: ignore[assignment]
        rank = len(weight.type.get_shape())  # type: ignore[union-attr]
        if not -rank <= axis < rank:
            return None
        return axis % rank

    def mark_weight(self, weight: SSAValue, default_axis: int, kind: str) -> None:
        axis = self.per_channel_axis(weight, default_axis, kind)
        if weight in self.fixed.weights:
            axis = self.fixed.weights[weight].params.axis
        if axis is not None:
            forced = (
                QType.QInt8
                if kind == "Conv" and self.config.quant_format is QuantFormat.QOperator
                else None
            )
            self.marks[weight] = Mark(weight=True, axis=axis, rule=self.rule, weight_type=forced)
            self.note_access(weight, weight)
        else:
            self.mark(weight, Mark(weight=True))

    def mark_conv_or_gemm(self, op: Operation, kind: str) -> None:
        """`QDQConv.quantize` / `QDQGemm.quantize`. A 1-D or 3-D conv is a `qnn.conv2d` between
        data movement (its node's last op moves the result back): the node's input and output
        are the outer ends of those moves, its weight and bias the conv's."""
        compute = op
        ops = node_ops(op)
        if not isinstance(op, qnn.Conv2DOp | qnn.DotOp):
            (compute,) = (o for o in ops if isinstance(o, qnn.Conv2DOp))
        x = compute.input
        movement = tensor.ReshapeOp | qnn.TransposeOp | qnn.ConcatOp | qnn.SliceOp | qnn.PadOp
        while x.owner in ops and isinstance(x.owner, movement):
            x = x.owner.operands[0]  # (a 3-D conv's concat of depth taps: all slices of x)
        source = weight_source(compute.weight) if kind == "Gemm" else None
        weight = source.value if source is not None else compute.weight
        default_axis = 0 if kind == "Conv" or (source is not None and source.transposed) else 1
        self.mark_weight(weight, default_axis, kind)
        qoperator = self.config.quant_format is QuantFormat.QOperator
        if (
            kind == "Gemm"
            and qoperator
            and compute.bias is not None
            and float_constant(gemm_c(compute)) is None  # type: ignore[arg-type]
        ):
            # `QLinearGemm.quantize`: a C that is no initializer (an Identity of one, as torch
            # writes MultiheadAttention's out_proj bias) makes it fall back to the float Gemm
            # once it has quantized the weight: the Gemm reads that dequantized
            return
        self.mark(x)
        if not self.output_excluded(kind):
            self.mark(op.results[0])
        reader, bias, index = compute, compute.bias, 2
        beta = gemm_beta(bias)
        if beta is not None:
            bias = beta.lhs
        if bias is not None and isinstance(bias.owner, tensor.ReshapeOp) and inner_op(bias.owner):
            reader, bias, index = bias.owner, bias.owner.source, 0  # a Gemm's C [1, N]
        if bias is not None and reader is compute and len(bias.type.get_shape()) == 2:
            # ORT quantizes it into QGemm's int32 C broadcast over rows: an integer epilogue
            # qnn.dot does not have (a C of [M, 1], [M, N] or one value)
            shape = list(gemm_c(compute).type.get_shape())
            raise QuantizeError(
                f"Gemm '{node_name(compute) or self.name(compute.result)}': a C of shape "
                f"{shape} is not quantized (only one of [N] or [1, N] is, a bias)"
            )
        if bias is not None and float_constant(bias) is not None:
            if self.quantized_as_weight(bias):
                if beta is None:
                    self.mark_weight(bias, 0, kind)
            else:
                gemm = compute if kind == "Gemm" and isinstance(compute, qnn.DotOp) else None
                self.biases.append(BiasMark(reader, bias, x, weight, index, gemm, beta))

    def quantized_as_weight(self, bias: SSAValue) -> bool:
        """QDQ's `quantize_bias_tensor`: a bias with tensor overrides is quantized as a weight
        (the weight type, its own range; no int32, no weight-scale adjustment)."""
        return (
            self.config.quant_format is QuantFormat.QDQ
            and self.name(bias) in self.config.tensor_overrides
        )

    def mark_conv_transpose(self, op: Operation) -> None:
        """`QDQConv.quantize` of a ConvTranspose, the importer's ops: the input and the
        output, the constant weight (per channel along axis 1, its output channels), the bias
        as int32 where one of the node's ops reads it."""
        found = conv_transpose_inputs(op)
        if found is None:
            raise QuantizeError(
                f"ConvTranspose '{self.name(op.results[0])}' needs a constant weight to be "
                "quantized; keep it float (nodes_to_exclude)"
            )
        x, weight, bias = found
        self.mark(x)
        if not self.output_excluded("ConvTranspose"):
            self.mark(op.results[0])
        self.mark_weight(weight, 1, "ConvTranspose")
        if bias is not None:
            self.mark_bias_in_node(op, bias, x, weight)

    def mark_matmul(self, op: qnn.DotOp) -> None:
        """`QDQMatMul.quantize`: constant inputs are weights (axis 1), others activations.
        QOperator's `QLinearMatMul.quantize` takes input A by `quantize_activation`, so a
        constant A (a graph convolution's adjacency, `torch.matmul(buffer, x)`) is quantized
        as a constant activation (the activation type, per tensor, never reduced)."""
        values = node_inputs(op)
        if not self.output_excluded("MatMul"):
            values.append(op.results[0])
        qdq = self.config.quant_format is QuantFormat.QDQ
        for index, value in enumerate(values):
            if float_constant(value) is not None and (qdq or index == 1):
                self.mark_weight(value, 1, "MatMul")
            else:
                self.mark(value)

    def mark_where(self, op: Operation) -> None:
        """`QDQWhere.quantize` / `QLinearWhere.quantize`: with ForceQuantizeNoInputCheck, X, Y
        and the output, each with its own parameters; without it (QDQ), the output only
        when X and Y are quantized already."""
        x, y = op.operands[1], op.operands[2]
        forced = self.config.option("ForceQuantizeNoInputCheck", False)
        if forced:
            self.mark(x)
            self.mark(y)
        elif not (self.is_marked(x) and self.is_marked(y)):
            return
        if not self.output_excluded("Where"):
            self.mark(op.results[0])

    def mark_normalization(self, op: Operation, kind: str) -> None:
        """`QDQNormalization.quantize`: the input, the scale as a weight (an activation when
        not constant), the bias as an int32 bias, the output. An InstanceNormalization is the
        importer's float ops: its inputs are the values they read from outside, and its bias is
        quantized where one of them reads it."""
        x, scale, *bias = node_inputs(op) if kind in DECOMPOSED_NORMALIZATIONS else op.operands
        self.mark(x)
        if float_constant(scale) is not None:
            self.mark_weight(scale, 1, kind)
        else:
            self.mark(scale)
        if bias and float_constant(bias[0]) is not None:
            self.mark_bias_in_node(op, bias[0], x, scale)
        if not self.output_excluded(kind):
            self.mark(op.results[0])

    def mark_bias_in_node(self, op: Operation, bias: SSAValue, x: SSAValue, weight: SSAValue):
        """An int32 bias quantized where one of the node's ops reads it (the node's last op
        `op` reads it itself, or, for one the importer wrote as several ops, an inner op)."""
        ops = node_ops(op)
        (use,) = (u for u in bias.uses if u.operation in ops)
        self.biases.append(BiasMark(use.operation, bias, x, weight, use.index))

    def mark_removable(self, op: Operation, kind: str) -> None:
        """`QDQRemovableActivation.quantize`: fold into the producer when ranges allow.
        QOperator's `QuantizeClipRelu` drops the activation whenever its input is quantized
        already: every reader of the output reads the input's quantized value (the clip is
        gone, even where the input's range was not narrowed to the output's)."""
        source, result = op.operands[0], op.results[0]
        if not self.is_marked(source):
            return
        if self.config.quant_format is QuantFormat.QOperator:
            readers = self.readers.setdefault(source, set())
            readers.update(use.operation for use in result.uses)
            result.replace_all_uses_with(source)
            Rewriter.erase_op(op)
            return
        if (
            not self.config.activation_symmetric
            and not self.config.option("QDQKeepRemovableActivations", False)
            and self.replace_upstream(source, op)
        ):
            result = source
        else:
            self.mark(source)
        if not self.output_excluded(kind):
            self.mark(result)

    def replace_upstream(self, source: SSAValue, op: Operation) -> bool:
        """`try_replacing_upstream_output`: the producer takes the activation's output name
        and the activation disappears."""
        result = op.results[0]
        if not (self.has_range(result) and self.has_range(source)):
            return False
        if len(list(source.uses)) != 1 or isinstance(source, BlockArgument):
            return False
        if self.conversion(result) is not None or self.conversion(source) is not None:
            return False
        if any(isinstance(use.operation, func.ReturnOp) for use in source.uses):
            return False
        self.names[source] = self.name(result) or ""
        result.replace_all_uses_with(source)
        Rewriter.erase_op(op)
        self.marks.pop(source, None)
        return True

    def unforced_direct(self, op: Operation, kind: str) -> bool:
        """A data-movement op (`DIRECT_8BIT`) of a float tensor without ForceQuantizeNoInputCheck:
        `mark_direct` quantizes nothing, so it stays float."""
        return (
            kind in DIRECT_8BIT
            and not self.own_output_params(kind)
            and not self.config.option("ForceQuantizeNoInputCheck", False)
            and not self.is_marked(node_inputs(op)[0])
        )

    def mark_direct(self, op: Operation, kind: str) -> None:
        """`QDQDirect8BitOp.quantize`: the output shares the input's parameters (the node's
        input: a 1-D pool's last op is a reshape of the 2-D pool's result)."""
        source = node_inputs(op)[0]
        if self.config.option("ForceQuantizeNoInputCheck", False):
            self.mark(source)
            if not self.output_excluded(kind):
                self.mark(op.results[0], Mark(shared_from=source))
        elif self.is_marked(source) and not self.output_excluded(kind):
            self.mark(op.results[0], Mark(shared_from=source))

    def mark_split(self, op: Operation) -> None:
        """`QDQSplit.quantize` (and QOperator's `QSplit`) for one of the node's slices: the
        input is quantized in any case, every output shares its parameters."""
        self.mark(op.operands[0])
        if not self.output_excluded("Split"):
            self.mark(op.results[0], Mark(shared_from=op.operands[0]))

    def mark_gather(self, op: Operation) -> None:
        """A Gather at run-time indices (`qnn.gather`), or one op of a Gather at constant
        indices (a slice, the concat, the reshape): `QDQGather` / `GatherQuant` quantize a
        constant table (`is_valid_quantize_weight`) as an activation, from its own range,
        and have the output share the input's parameters, also when the input is quantized
        already (ForceQuantizeNoInputCheck quantizes it first)."""
        source = op.operands[0]
        if float_constant(source) is not None or self.config.option(
            "ForceQuantizeNoInputCheck", False
        ):
            self.mark(source)
        elif not self.is_marked(source):
            return
        if not self.output_excluded("Gather"):
            self.mark(op.results[0], Mark(shared_from=source))

    def mark_pad(self, op: qnn.PadOp) -> None:
        """`QDQPad.quantize`: zero constant padding (or edge/reflect) shares parameters.
        QOperator's `QPad` shares them whatever the value, which it quantizes with them
        (saturating: as the float pad's output quantized with the shared parameters)."""
        self.mark(op.input)
        if self.output_excluded("Pad"):
            return
        qoperator = self.config.quant_format is QuantFormat.QOperator
        shares = qoperator or op.mode_kind.value != "constant" or op.value.value.data == 0.0
        self.mark(op.results[0], Mark(shared_from=op.input) if shares else Mark())

    # ---- phase 2: parameters
    def compute_initializer_params(self) -> None:
        """`_calc_initializer_quant_params`: weights with the weight type (symmetric when
        per channel or signed), constant activations with the activation type."""
        config = self.config
        for value, mark in self.marks.items():
            if float_constant(value) is None or mark.shared_from is not None:
                continue
            special = special_weight(value, mark.rule, self.fixed) if mark.weight else None
            if special is not None:
                self.stored[value] = special
                self.init_params[value] = special.params
                continue
            reduce_range, rule = config.reduce_range, mark.rule
            data, name = dense_array(value), self.name(value) or ""
            qdq = config.quant_format is QuantFormat.QDQ
            overrides = config.tensor_overrides
            given = overrides.by_name.get(name)
            given_type = given[0].quant_type if given else None
            axis = mark.axis
            if qdq and (channels := overrides.per_channel(name)) is not None:
                axis = channels[0].axis % data.ndim  # type: ignore[operator]
            if mark.weight:
                qtype = given_type or rule.weight_type or mark.weight_type or config.weight_type
                symmetric = _either(rule.weight_symmetric, config.weight_symmetric(qtype))
                # QDQ quantizes per-channel weights symmetric whatever WeightSymmetric says
                # (QLinear ops need one zero point); QOperator's quantize_weight_per_channel
                # follows it, and its per-tensor weights of another type than weight_type
                # (an override's) follow ActivationSymmetric (`quantize_initializer_impl`)
                if qdq:
                    symmetric = symmetric or axis is not None
                elif qtype.bits == 4:  # (QLinearConv's per-channel weights are int8: no such)
                    raise QuantizeError(  # ORT's QOperator quantizer, packing it
                        f"Quantized weights for {name}_quantized must be 8-bit before packing "
                        "as 4-bit values (QOperator form takes no 4-bit weights; use QDQ)"
                    )
                elif given_type not in (None, config.weight_type) and axis is None:
                    symmetric = config.activation_symmetric
            else:
                qtype = given_type or rule.activation_type or config.activation_type
                symmetric = axis is not None or _either(
                    rule.activation_symmetric, config.activation_symmetric
                )
                if config.quant_format is QuantFormat.QOperator:
                    # ONNXQuantizer.quantize_activation on an initializer: never reduced, and
                    # symmetric as a weight when the activation type is the weight type
                    reduce_range = False
                    if qtype is config.weight_type:
                        symmetric = config.weight_symmetric(qtype)
            scheme = config.scheme(qtype)
            if scheme is not None:
                slices = [data] if axis is None else list(np.moveaxis(data, axis, 0))
                extremes = [(s.min(), s.max()) for s in slices]
                self.init_params[value] = scheme_qparams(
                    extremes, qtype, scheme, reduce_range, axis
                )
                continue
            self.init_params[value] = constant_params(
                overrides, name, data, qtype, symmetric, reduce_range, axis,
                config.min_real_range, qdq,
            )  # fmt: skip

    def adjust_weight_scales(self) -> None:
        """QDQ: `_adjust_weight_quant_params_for_bias_tensors` (int8 and int16 weights, per
        channel when the weight is). QOperator: the same check `quantize_bias_static` makes
        (the configured weight type int8; per channel when the config is, and then only for a
        weight with one scale per channel)."""
        qoperator = self.config.quant_format is QuantFormat.QOperator
        for bias in self.biases:
            if bias.input not in self.marks or not self.has_range(bias.input):
                continue
            params = self.init_params.get(bias.weight)
            if bias.weight in self.stored:  # given parameters are kept as given
                continue
            if params is None or params.zero_point.any():
                continue
            if qoperator:
                if self.config.weight_type is not QType.QInt8:
                    continue
                per_channel = self.config.per_channel
                if per_channel and params.scale.ndim != 1:
                    continue
            elif params.qtype in (QType.QInt8, QType.QInt16):
                per_channel = params.axis is not None
            else:
                continue
            input_scale = self.reader_params(bias.input, self.act_params(bias.input), bias.op).scale
            scale = adjust_weight_scale_for_int32_bias(
                input_scale, params.scale, dense_array(bias.bias), per_channel
            )
            self.init_params[bias.weight] = QParams(
                params.zero_point, scale, params.qtype, params.axis
            )

    # ---- phase 3: the IR
    def insert_normal(self) -> None:
        """`_quantize_normal_tensors`."""
        for value, mark in list(self.marks.items()):
            if mark.shared_from is not None or value in self.done:
                continue
            if value in self.init_params:
                self.quantize_constant(value, self.init_params[value])
            elif not isinstance(value.owner, qnn.DequantizeOp):
                params = mark.params if mark.params is not None else self.act_params(value)
                self.insert_pair(value, params)

    def insert_shared(self) -> None:
        """`_quantize_sharing_param_tensors`: in rounds, as sources get parameters."""
        pending = {v: m for v, m in self.marks.items() if m.shared_from is not None}
        while pending:
            ready = [v for v, m in pending.items() if m.shared_from in self.done]
            if not ready:
                names = ", ".join(f"'{self.name(v)}'" for v in pending)
                raise QuantizeError(f"tensors {names} share parameters of unquantized tensors")
            for value in ready:
                source = pending.pop(value).shared_from
                assert source is not None and isinstance(value.owner, Operation)
                self.insert_pair(value, self.reader_params(source, self.done[source], value.owner))

    def insert_biases(self) -> None:
        """`_quantize_bias_tensors` / `quantize_bias_static`. A bias two quantized nodes read
        is quantized for each (ORT duplicates the initializer); any other reader (an Identity
        tying it to a second conv) gets the first quantized node's, which in ORT's model
        bears the initializer's name."""
        first: dict[SSAValue, SSAValue] = {}
        for bias in self.biases:
            if bias.input not in self.done and is_untyped(bias.input):
                raise QuantizeError(  # (ORT: "Unable to get valid quantization scale")
                    f"bias '{self.name(bias.bias)}' needs a quantized input, and ONNX's shape "
                    f"inference gives its input '{self.name(bias.input)}' no type (as ONNX "
                    "Runtime's quantizer, ours leaves such a tensor float): give it a "
                    "value_info, or exclude the node (nodes_to_exclude)"
                )
            if bias.weight not in self.done or bias.input not in self.done:
                raise QuantizeError(
                    f"bias '{self.name(bias.bias)}' needs quantized input and weight scales"
                )
            input_params = self.reader_params(bias.input, self.done[bias.input], bias.op)
            beta = 1.0 if bias.beta is None else splat_value(dense_array(bias.beta.rhs))
            weight_scale = self.done[bias.weight].scale
            scale = bias_qparams(input_params.scale, weight_scale, beta)
            values = quantize_bias(dense_array(bias.bias), scale)
            alpha = None if bias.gemm is None or bias.gemm.alpha is None else bias.gemm.alpha
            if self.config.quant_format is QuantFormat.QOperator and alpha is not None:
                # QGemm adds C to the sums before its output scale fl(fl(alpha·sx)·sw): what
                # the dot's float simulation adds is C at that scale
                alpha_scale = np.float32(alpha.value.data) * np.float32(input_params.scale)
                scale = bias_qparams(alpha_scale, weight_scale)
            # per channel along the last axis: a Gemm's C [1, N] too (ORT's quantizer writes
            # axis 0 there, which its own DequantizeLinear then refuses)
            axis = values.ndim - 1 if scale.size > 1 else None
            scale = scale if axis is not None else scale.reshape(())
            params = QParams(np.zeros(scale.shape, np.int64), scale, QType.QInt8, axis)
            old = bias.op.operands[bias.index]
            bias.op.operands[bias.index] = self.bias_value(bias, values, params)
            first.setdefault(old, bias.op.operands[bias.index])
            if bias.beta is not None:
                drop_beta(bias.beta, bias.gemm)
        marked = {(b.op, b.index) for b in self.biases}
        for old, dequantized in first.items():
            if any((use.operation, use.index) not in marked for use in old.uses):
                chain = [dequantized.owner]  # constant -> scast -> dequantize, moved up to
                while chain[0].operands:  # where the float bias was, before its readers
                    chain.insert(0, chain[0].operands[0].owner)
                for op in chain:
                    op.detach()
                Rewriter.insert_op(chain, InsertPoint.before(old.owner))
                old.replace_uses_with_if(
                    dequantized, lambda use: (use.operation, use.index) not in marked
                )
            if not any(True for _ in old.uses):
                Rewriter.erase_op(old.owner)  # type: ignore[arg-type]

    # ---- IR building (the fake-quantization form overrides the three builders)
    def insert_pair(self, value: SSAValue, params: QParams) -> None:
        """`_add_qdq_pair_for_activation`: producer -> Q -> DQ -> every consumer. In QOperator
        form a tensor that no quantized node writes reaches only the quantized nodes that read
        it through the pair: ONNX Runtime quantizes it for them (`quantize_activation`) and
        leaves every float consumer the float tensor itself."""
        if isinstance(value, BlockArgument):
            point = InsertPoint.at_start(self.block)
        else:
            point = InsertPoint.after(value.owner)  # type: ignore[arg-type]
        conversion = self.conversion(value)
        if self.dedicated_pairs(value):
            if conversion is not None:
                raise QuantizeError(
                    "Do not currently support converted quant_types in TensorQuantOverrides "
                    "when the `dedicated_qdq_pair` extra_option is enabled"
                )
            self.done[value] = params
            return self.insert_dedicated_pairs(value, uniform_type(params), point)
        if conversion is not None:
            self.done[value] = params
            return self.insert_converted(value, params, conversion, point)
        ops = self.pair_ops(value, uniform_type(params))
        Rewriter.insert_op(ops, point)
        readers = None
        if self.config.quant_format is QuantFormat.QOperator and value not in self.written:
            readers = self.readers.get(value, set())
        value.replace_uses_with_if(
            ops[-1].results[0],
            lambda use: (
                use.operation is not ops[0] and (readers is None or use.operation in readers)
            ),
        )
        self.done[value] = params

    def insert_converted(
        self, value: SSAValue, params: QParams, conversion: Conversion, point: InsertPoint
    ) -> None:
        """`_add_qdq_ops_for_converted_activation`: producer -> Q1 -> DQ1 for the readers of
        the original type, and DQ1 -> Q2 -> DQ2 for the nodes that read the converted type
        (`recv_nodes`, or every quantized reader); when some quantized readers keep the
        original type, Q2 reads a second DQ of Q1's result. ORT replaces the inputs of nodes
        by name, so a float node `recv_nodes` names reads DQ2 too, and "every reader takes
        the converted type" is its count of names. Other float readers keep the float tensor,
        unless the tensor is a function result: then the DQ that takes over the tensor's name
        (DQ2 when every reader is converted, else DQ1) feeds them and the result."""
        names = {name for node in self.receiving_nodes(value) if (name := _node_name(node))}
        recv = conversion.recv_nodes
        converted_names = names if recv is None else recv
        original_names = set() if recv is None else names - recv
        all_converted = len(converted_names) == len(names)
        hint = value.name_hint
        first = self.pair_ops(value, uniform_type(params))
        again = [] if all_converted else self.dequantize_again(first)
        source = (again or first)[-1].results[0]
        second = self.pair_ops(
            source, uniform_type(conversion.params), f"{hint}_convert" if hint else None
        )
        ops = [*first, *again, *second]
        Rewriter.insert_op(ops, point)
        original, converted = first[-1].results[0], second[-1].results[0]
        named = original if not all_converted else converted
        is_result = any(isinstance(use.operation, func.ReturnOp) for use in value.uses)
        for use in list(value.uses):
            if use.operation in ops:
                continue
            reader = node_name(node_of(use.operation))
            if reader in converted_names:
                use.operation.operands[use.index] = converted
            elif reader in original_names:
                use.operation.operands[use.index] = original
            elif is_result:
                use.operation.operands[use.index] = named

    def dequantize_again(self, first: list[Operation]) -> list[Operation]:
        """A second DQ of the quantized value of the pair `first` (ORT's DQ clone, which
        keeps Q2's input apart from the readers of the original type)."""
        quantize, dequantize = first
        again = qnn.DequantizeOp(quantize.results[0], dequantize.results[0].type)
        if dequantize.results[0].name_hint:
            again.results[0].name_hint = f"{dequantize.results[0].name_hint}_clone"
        return [again]

    def receiving_nodes(self, value: SSAValue) -> list[frozenset[Operation]]:
        """ORT's `tensor_to_its_receiving_nodes`: the nodes to quantize (whatever their
        quantizer then marked) that still read `value`, in node order."""
        return [
            ops
            for ops in self.receivers.get(value, [])
            if any(use.operation in ops for use in value.uses)
        ]

    def dedicated_pairs(self, value: SSAValue) -> bool:
        """`DedicatedQDQPair` (QDQ form): a tensor two or more nodes to quantize read gets a
        pair each."""
        return (
            self.config.quant_format is QuantFormat.QDQ
            and bool(self.config.option("DedicatedQDQPair", False))
            and len(self.receiving_nodes(value)) > 1
        )

    def insert_dedicated_pairs(
        self, value: SSAValue, qtype: UniformQuantizedType, point: InsertPoint
    ) -> None:
        """One Q -> DQ per receiving node (a Split's slices share theirs), in order; float
        readers and a function result keep the float tensor, as ORT's dedicated pairs
        replace the inputs of the receiving nodes only."""
        for node in self.receiving_nodes(value):
            if not any(use.operation in node for use in value.uses):
                continue  # a node listed twice: its first pair feeds both its inputs
            ops = self.pair_ops(value, qtype)
            Rewriter.insert_op(ops, point)
            point = InsertPoint.after(ops[-1])
            value.replace_uses_with_if(ops[-1].results[0], lambda use, n=node: use.operation in n)

    def pair_ops(
        self, value: SSAValue, qtype: UniformQuantizedType, hint: str | None = None
    ) -> list[Operation]:
        """The quantize and dequantize an activation goes through (`hint`: the name their
        results' hints start from, the value's own by default)."""
        shape = value.type.get_shape()  # type: ignore[union-attr]
        quantize = qnn.QuantizeOp(value, TensorType(qtype, shape))
        dequantize = qnn.DequantizeOp(quantize.results[0], TensorType(f32, shape))
        hint = hint or value.name_hint
        if hint:
            quantize.results[0].name_hint = f"{hint}_QuantizeLinear_Output"
            dequantize.results[0].name_hint = f"{hint}_DequantizeLinear_Output"
        return [quantize, dequantize]

    def quantize_constant(self, value: SSAValue, params: QParams) -> None:
        """`_add_qdq_nodes_for_initializer`: stored integers -> DQ -> every consumer. In
        QOperator form ONNX Runtime writes a new initializer for the quantized nodes that read
        it and, going through the nodes in order, gives a float reader (an Identity) the
        DequantizeLinear of it once a quantized node has read it, the float one before."""
        special = self.stored.get(value)
        owner = value.owner
        add_pair = self.config.option("AddQDQPairToWeight", False)
        if special is None and add_pair and self.config.quant_format is QuantFormat.QDQ:
            # the float weight stays, quantized and dequantized where it is read
            # (`_add_qdq_pair_for_initializer`); QDQ only, as quantize_static has it
            self.insert_pair(value, params)
            return
        values = special.stored if special else quantize_array(dense_array(value), params)
        dequantized = constant_chain(values, params, None, owner, self.name(value))  # type: ignore[arg-type]
        if self.config.quant_format is QuantFormat.QOperator:
            order = {op: i for i, op in enumerate(self.block.ops)}
            readers = self.readers.get(value, set())
            first = min((order[op] for op in readers if op in order), default=len(order))

            def reads_quantized(op: Operation) -> bool:  # a Gemm's transB reads for the Gemm
                if isinstance(op, qnn.TransposeOp):
                    return any(use.operation in readers for use in op.results[0].uses)
                return op in readers or order[op] > first

            value.replace_uses_with_if(dequantized, lambda use: reads_quantized(use.operation))
        else:
            value.replace_all_uses_with(dequantized)
        if not any(True for _ in value.uses):
            Rewriter.erase_op(owner)  # type: ignore[arg-type]
        self.done[value] = params  # biases look their weight up by the float constant

    def bias_value(self, bias: BiasMark, values: np.ndarray, params: QParams) -> SSAValue:
        """The int32 bias `values` as stored integers -> DQ, before the conv/dot."""
        return constant_chain(values, params, "i32", bias.op, self.name(bias.bias))


def gemm_beta(bias: SSAValue | None) -> qnn.MulOp | None:
    """The importer's `beta·C` of a Gemm (an inner qnn.mul by a constant), if `bias` is one."""
    mul = None if bias is None else bias.owner
    if not (isinstance(mul, qnn.MulOp) and inner_op(mul) and node_kind(mul) == "Gemm"):
        return None
    factor = dense_array(mul.rhs)
    return mul if factor is not None and splat_value(factor) is not None else None


def gemm_c(dot: qnn.DotOp) -> SSAValue:
    """The C a Gemm's dot adds, as the node reads it: before the importer's `beta·C` and its
    reshape of a C [1, N]."""
    c = dot.bias
    assert c is not None
    beta = gemm_beta(c)
    if beta is not None:
        c = beta.lhs
    if isinstance(c.owner, tensor.ReshapeOp) and inner_op(c.owner):
        c = c.owner.source
    if isinstance(c.owner, qnn.BroadcastOp) and inner_op(c.owner):  # a C [M, 1]
        c = c.owner.input
    return c


def drop_beta(mul: qnn.MulOp, dot: qnn.DotOp) -> None:
    """`set_default_beta`: ORT's quantizer leaves the Gemm beta 1 once the bias scale holds
    beta, so the dot adds the quantized C itself, and only alpha (if not 1) scales its sums."""
    mul.result.replace_all_uses_with(mul.lhs)
    Rewriter.erase_op(mul)
    if dot.alpha is not None and dot.alpha.value.data == 1.0:
        del dot.properties["alpha"]


def opset_19_pools(block: Block) -> None:
    """The float AveragePools of a model quantize_static raises to opset 21: ONNX Runtime then
    runs them in its opset-19 loop (`qnn.avg_pool2d {row_major}`), as the importer reads them."""
    for op in block.ops:
        kind = node_kind(op) if isinstance(op, qnn.AvgPool2DOp) else None
        if kind == "AveragePool" and is_float_tensor(op.results[0]):
            op.properties["row_major"] = UnitAttr()


def writes_quantized_values(block: Block) -> bool:
    """Whether the quantized model holds a quantized tensor: ORT's quantizer then wrote
    QuantizeLinear/DequantizeLinear (or QLinear) nodes, and the model runs in ORT's optimized
    session; with none (every node left float: excluded, or data movement of unquantized
    tensors) it is a float model, which the importer reads as ORT's unoptimized session."""
    return any(
        isinstance(element_type(result.type), UniformQuantizedType)
        for op in block.walk()
        for result in op.results
        if isinstance(result.type, TensorType)
    )


def nchwc_layout(block: Block) -> None:
    """What ONNX Runtime's optimized session (which runs the quantized model) computes in its
    NCHWc layout (qdialect/nchwc.py), as the importer reads ORT's model: float convs with
    constant weights and bias (`Conv2DOp.mark_nchwc`; a DequantizeLinear's output is no
    constant), AveragePools whose channels fill whole blocks (`host_cpu.nchwc_pool`),
    GlobalAveragePools reading an NCHWc tensor and linear Resizes of one (`nchwc_resize`). An
    opset-19 pool (marked already: ORT's own loop) is none. Run after quantizing: a pool that
    fuses into an integer op drops its mark."""
    converted: set[Operation] = set()
    for op in block.ops:
        mark_nchwc_conv(op)
        if (
            isinstance(op, qnn.ResizeBilinearOp)
            and is_float_tensor(op.result)
            and nchwc_resize(op, converted.__contains__)
        ):
            op.properties["nchwc"] = UnitAttr()
        kind = node_kind(op) if isinstance(op, qnn.AvgPool2DOp) else None
        if kind is None or not is_float_tensor(op.results[0]) or "row_major" in op.properties:
            continue
        if kind == "GlobalAveragePool" and nchwc_global_pool(op.input, converted.__contains__):
            op.properties["row_major"] = UnitAttr()
            converted.add(op)
        if kind != "AveragePool":
            continue
        layout = op.properties.get("layout")
        nhwc = isinstance(layout, StringAttr) and layout.data == "nhwc"
        channels = op.input.type.get_shape()[3 if nhwc else 1]  # type: ignore[union-attr]
        if nchwc_pool(channels, nhwc, op.dilations.get_values()):
            op.properties["row_major"] = UnitAttr()
            converted.add(op)
    nchwc_batch_norms(block, converted.__contains__, converted.add)
    fuse_nchwc_sums(block, converted.__contains__)


def quantize_function(
    function: func.FuncOp,
    ranges: Ranges,
    config: QuantizeConfig,
    fixed: FixedParams | None = None,
) -> QuantizeSummary:
    """Quantize `function` in place as `quantize_static` would quantize its ONNX graph;
    `fixed` parameters (NNI's calibration config) are used as given. A QOperator function is
    marked as such (`QOPERATOR_ATTR`: `rewrites.double_qdq` leaves its pairs apart)."""
    summary = StaticQuantizer(function, ranges, config, fixed).run()
    if config.quant_format is QuantFormat.QOperator:
        function.attributes[QOPERATOR_ATTR] = UnitAttr()
    return summary
