"""Which layer lost the accuracy: a quantized model compared with its float model, per tensor.

    report = compare("model_int8.onnx", "model_fp32.onnx", {"x": x})
    print(report.table())

The models are matched tensor by tensor by name (the importer and the quantizer keep ONNX
names). A *quantized tensor* is a `qnn.quantize` of a computed value (an activation) in the
quantized model, QDQ form (ours, or ONNX Runtime's `QuantFormat.QDQ`); its name is the name of
the value it quantizes, else of its dequantized value (ONNX Runtime renames a graph output's
producer `y_QuantizeLinear_Input`). Where the quantized model dropped an activation the float
model has (Conv+Relu: the relu is the output quantization's clamp), the float tensor compared
is the activation's output.

Every number is computed on the quantized model as it executes: the module after
`qnn-default` (integer kernels, bit-exact with ONNX Runtime's, without int16 saturation), in
the reference interpreter; its quantized tensors are returned raw and dequantized here
(`float32(q - zp) * s`).

- `sqnr_db` (cumulative, as ONNX Runtime's `qdq_loss_debug` and torch's `compare_results`):
  `10·log10(Σx² / Σ(x−y)²)` in float64, x the float model's tensor, y the quantized model's
  dequantized tensor on the same inputs: all error accumulated up to this tensor. `inf` when
  y equals x exactly (no error), `-inf` when x is all zeros and y is not.
- `local_sqnr_db` (torch's shadow mode, made to isolate one op): the producing op run as the
  quantized model runs it (same weights, bias, requantization, fusion) against the float op,
  both fed the float model's own inputs quantized with the quantized model's types for them.
  Every op at once, in two runs: in the quantized model the consumers of every quantized
  tensor read a fresh `quantize` of the float model's tensor of that name (a new function
  argument); in the float model every such tensor is replaced, for its consumers, by its
  `dequantize(quantize(.))` with that type. An input's own quantization error (clipping by a
  too small scale, say) so stays in its producer's row: the consumer's local SQNR measures
  weight quantization, integer arithmetic and output rounding/clipping only. The signal is
  the float model's tensor: `10·log10(Σx² / Σ(r−y)²)`, r the float op's result on the
  quantized inputs, y the quantized op's (a clipped input shrinking r would otherwise move
  the consumer's SQNR without any error of its own).
- `clipped`: the share of the float tensor's values outside the real range the type can hold,
  `[float32(qmin − zp)·s, float32(qmax − zp)·s]`.
- `hazard_outputs`, `hazard_max_lsb`: for a conv/dot with u8 input and s8 weights, what a
  `vpmaddubsw` kernel gets wrong on these inputs (`runtime.int16_hazard`); None elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    ArrayAttr,
    DictionaryAttr,
    ModuleOp,
    StringAttr,
    TensorType,
)
from xdsl.ir import BlockArgument, Operation, SSAValue

from qdialect import qnn
from qdialect.names import NAME_ATTR, node_name, tensor_name
from qdialect.types import UniformQuantizedType
from rewrites.instrument import named_values
from rewrites.onnx_nodes import is_float_tensor, node_kind
from runtime.accuracy_report import Report, TensorRecord
from runtime.reference.kernels import dequantize
from runtime.signature import return_extra as _return_extra

LOCAL_PREFIX = "qnn.local."  # names of the arguments feeding float tensors to the local run
FUSED_ACTIVATIONS = (qnn.ReluOp, qnn.ClampOp)


class AccuracyError(ValueError):
    """A comparison that cannot be made (one line: which file, which tensor)."""


@dataclass(frozen=True)
class Match:
    """A quantized tensor: its quantize op (by position), name, and the float tensor it is
    compared with (the name itself, or the float activation the quantized model fused)."""

    index: int
    tensor: str
    reference: str
    qtype: UniformQuantizedType


def load_model(model: Any, role: str, feeds: Mapping[str, np.ndarray] | None = None) -> ModuleOp:
    """A fresh module from a path, an `onnx.ModelProto` or a `ModuleOp`, node names kept; an
    ONNX model's dynamic input dimensions take the shapes of the arrays it will be `feeds`."""
    from runtime.quantization import InputDims, load_float_model

    if isinstance(model, (str, Path)) and not Path(model).is_file():
        raise AccuracyError(f"no such file: '{model}' ({role} model)")
    try:
        dims = InputDims(input_shapes={k: v.shape for k, v in (feeds or {}).items()})
        return load_float_model(model, dims=dims)
    except Exception as err:  # the importer's and parser's errors, one line each
        raise AccuracyError(f"cannot read the {role} model: {err}".splitlines()[0]) from None


def main_function(module: ModuleOp) -> func.FuncOp:
    functions = [op for op in module.ops if isinstance(op, func.FuncOp) and op.body.blocks]
    named = [f for f in functions if f.sym_name.data == "main"]
    if len(named) != 1 and len(functions) != 1:
        raise AccuracyError(f"{len(functions)} functions and none is main: which one to compare?")
    return named[0] if named else functions[0]


def quantize_ops(function: func.FuncOp) -> list[qnn.QuantizeOp]:
    """The function's `qnn.quantize` ops, in order (positions are stable under `clone`)."""
    return [op for op in function.body.block.ops if isinstance(op, qnn.QuantizeOp)]


def _fused_reference(value: SSAValue, quantized_names: set[str]) -> SSAValue:
    """`value`, or the relu/clip reading it when that is its only use and the quantized model
    has no tensor of that name (the activation became the output quantization's clamp)."""
    uses = list(value.uses)
    if len(uses) == 1 and isinstance(uses[0].operation, FUSED_ACTIVATIONS):
        activation = uses[0].operation.results[0]
        if tensor_name(activation) not in quantized_names:
            return activation
    return value


def match_tensors(quantized: func.FuncOp, float_fn: func.FuncOp) -> list[Match]:
    """Every quantized tensor that has a float tensor of its name, in definition order."""
    float_values = {n: vs[0] for n, vs in named_values(float_fn).items() if is_float_tensor(vs[0])}
    quantized_names = set(named_values(quantized))
    matches: list[Match] = []
    seen: set[str] = set()
    for index, op in enumerate(quantize_ops(quantized)):
        qtype = op.result.type.element_type  # type: ignore[union-attr]
        if not isinstance(qtype, UniformQuantizedType) or op.input.owner is None:
            continue
        candidates = [tensor_name(op.input)] + [
            tensor_name(u.operation.results[0])
            for u in op.result.uses
            if isinstance(u.operation, qnn.DequantizeOp)
        ]
        name = next((n for n in candidates if n in float_values and n not in seen), None)
        if name is None:
            continue
        seen.add(name)
        reference = _fused_reference(float_values[name], quantized_names)
        matches.append(Match(index, name, tensor_name(reference) or name, qtype))
    return matches


def _run(module: ModuleOp, inputs: Mapping[str, np.ndarray], extra: int) -> list[np.ndarray]:
    """The last `extra` results of the module's main function on `inputs`."""
    from runtime.reference import ExecutionError, run_function

    try:
        results = run_function(module, dict(inputs), main_function(module).sym_name.data)
    except ExecutionError as err:
        raise AccuracyError(str(err).splitlines()[0]) from None
    return list(results[len(results) - extra :]) if extra else []


def _qnn_default(module: ModuleOp) -> None:
    from xdsl.passes import PassPipeline

    from qdialect.textio import make_context
    from rewrites.registry import PASSES

    PassPipeline.parse_spec(PASSES, "qnn-default").apply(make_context(), module)


def float_tensors(module: ModuleOp, names: list[str], inputs) -> dict[str, np.ndarray]:
    """The float model's tensors `names` on `inputs`."""
    module = module.clone()
    function = main_function(module)
    values = named_values(function)
    _return_extra(function, [values[n][0] for n in names])
    return dict(zip(names, _run(module, inputs, len(names)), strict=True))


def quantized_tensors(module: ModuleOp, inputs) -> list[np.ndarray]:
    """Every `qnn.quantize` result (raw stored values) of the quantized model on `inputs`."""
    module = module.clone()
    function = main_function(module)
    ops = quantize_ops(function)
    _return_extra(function, [op.result for op in ops])
    _qnn_default(module)
    return _run(module, inputs, len(ops))


def _add_argument(function: func.FuncOp, value_type, name: str) -> BlockArgument:
    block = function.body.block
    arg = block.insert_arg(value_type, len(block.args))
    count = len(block.args) - 1
    old = list(function.arg_attrs.data) if function.arg_attrs is not None else []
    old += [DictionaryAttr({})] * (count - len(old))
    function.arg_attrs = ArrayAttr([*old, DictionaryAttr({NAME_ATTR: StringAttr(name)})])
    function.update_function_type()
    return arg


def local_tensors(module: ModuleOp, matches: list[Match], floats, inputs) -> list[np.ndarray]:
    """Each matched tensor's op run quantized on the float model's inputs (raw stored values):
    the consumers of every matched quantize read `quantize(float tensor)` of the same type."""
    module = module.clone()
    function = main_function(module)
    ops = quantize_ops(function)
    feeds = dict(inputs)
    chosen = [ops[m.index] for m in matches]
    for match, op in zip(matches, chosen, strict=True):
        name = LOCAL_PREFIX + match.tensor
        arg = _add_argument(function, op.input.type, name)
        fresh = qnn.QuantizeOp.create(
            operands=[arg], result_types=[op.result.type], properties=dict(op.properties)
        )
        function.body.block.insert_op_before(fresh, function.body.block.first_op)
        op.result.replace_all_uses_with(fresh.results[0])
        feeds[name] = floats[match.reference]
    _return_extra(function, [op.result for op in chosen])
    _qnn_default(module)
    return _run(module, feeds, len(chosen))


def shadow_floats(module: ModuleOp, matches: list[Match], floats, inputs) -> dict:
    """Each matched tensor's float op fed `dequantize(quantize(float tensor))` of its inputs
    (new function arguments carry the float tensors), float weights: the local reference."""
    module = module.clone()
    function = main_function(module)
    values = named_values(function)
    feeds, wanted = dict(inputs), []
    for match in matches:
        value = values[match.reference][0]
        name = LOCAL_PREFIX + match.reference
        arg = _add_argument(function, value.type, name)
        shape = value.type.get_shape()  # type: ignore[union-attr]
        q = qnn.QuantizeOp.create(operands=[arg], result_types=[TensorType(match.qtype, shape)])
        dq = qnn.DequantizeOp.create(operands=[q.results[0]], result_types=[value.type])
        function.body.block.insert_ops_before([q, dq], function.body.block.first_op)
        value.replace_all_uses_with(dq.results[0])
        feeds[name] = floats[match.reference]
        wanted.append(value)
    _return_extra(function, wanted)
    references = [m.reference for m in matches]
    return dict(zip(references, _run(module, feeds, len(wanted)), strict=True))


def sqnr_db(x: np.ndarray, y: np.ndarray, reference: np.ndarray | None = None) -> float:
    """`10·log10(Σx² / Σ(r−y)²)` in float64, r = `reference` or x; inf without error, -inf
    for a zero signal."""
    x64, y64 = np.asarray(x, np.float64), np.asarray(y, np.float64)
    r64 = x64 if reference is None else np.asarray(reference, np.float64)
    signal, noise = float(np.sum(x64 * x64)), float(np.sum((r64 - y64) ** 2))
    if noise == 0.0:
        return float("inf")
    if signal == 0.0:
        return float("-inf")
    return float(10.0 * np.log10(signal / noise))


def clipped_share(x: np.ndarray, qtype: UniformQuantizedType) -> float:
    """The share of `x` outside `[float32(qmin − zp)·s, float32(qmax − zp)·s]`."""
    lo, hi = dequantize(np.array([qtype.qmin, qtype.qmax]), qtype)
    outside = (x < lo) | (x > hi)
    return float(np.count_nonzero(outside)) / max(x.size, 1)


def _weight_constant(value: SSAValue) -> tuple[np.ndarray, UniformQuantizedType] | None:
    """(raw stored values, type) of `dequantize(scast(constant))`, the QDQ form of a weight."""
    from qdialect.constants import dense_array
    from qdialect.quant_ops import StorageCastOp

    dq = value.owner
    if not isinstance(dq, qnn.DequantizeOp) or not isinstance(dq.input.owner, StorageCastOp):
        return None
    raw = dense_array(dq.input.owner.operands[0])
    qtype = dq.input.type.element_type  # type: ignore[union-attr]
    return (raw, qtype) if raw is not None else None


def _activation_source(value: SSAValue, ops: list[qnn.QuantizeOp]) -> int | None:
    """Position of the quantize whose dequantized result `value` is."""
    dq = value.owner
    if isinstance(dq, qnn.DequantizeOp) and dq.input.owner in ops:
        return ops.index(dq.input.owner)  # type: ignore[arg-type]
    return None


def _is_u8_s8(a: UniformQuantizedType, w: UniformQuantizedType) -> bool:
    return (a.storage_width, a.signed, w.storage_width, w.signed) == (8, False, 8, True)


def hazard(op: qnn.QuantizeOp, ops: list[qnn.QuantizeOp], raw: list[np.ndarray]):
    """The int16 hazard of the u8 x s8 conv/dot producing `op`'s input, None for other ops."""
    from runtime.int16_hazard import Epilogue, conv_hazard, dot_hazard
    from runtime.reference.kernels import Window

    producer, relu = op.input.owner, False
    if isinstance(producer, qnn.ReluOp):
        producer, relu = producer.input.owner, True
    if not isinstance(producer, (qnn.Conv2DOp, qnn.DotOp)) or producer.addend is not None:
        return None
    source = _activation_source(producer.input, ops)
    weight = _weight_constant(producer.weight)
    bias = _weight_constant(producer.bias) if producer.bias is not None else None
    if source is None or weight is None or (producer.bias is not None and bias is None):
        return None
    a_type = ops[source].result.type.element_type  # type: ignore[union-attr]
    (w, w_type), channels = weight, producer.result.type.get_shape()[1]  # type: ignore[union-attr]
    if not _is_u8_s8(a_type, w_type) or producer.activation.data != "none":
        return None
    if isinstance(producer, qnn.DotOp):
        channels = producer.result.type.get_shape()[-1]  # type: ignore[union-attr]
    scales = w_type.scales if len(w_type.scales) > 1 else w_type.scales * channels
    epilogue = Epilogue(
        a_type.scale,
        tuple(scales),
        None if bias is None else bias[0],
        op.result.type.element_type,
        relu,
    )  # type: ignore[union-attr]
    a = raw[source]
    if isinstance(producer, qnn.DotOp):
        return dot_hazard(a, a_type.zero_point, w, w_type.zero_point, epilogue)
    window = Window(
        tuple(producer.strides.get_values()),
        tuple(producer.pads.get_values()),
        tuple(producer.dilations.get_values()),
    )  # type: ignore[arg-type]
    return conv_hazard(
        a, a_type.zero_point, w, w_type.zero_point, producer.groups.value.data, window, epilogue
    )


def _describe(op: qnn.QuantizeOp, float_value: SSAValue) -> tuple[str, str]:
    """(ONNX op type, node name) of what produces a quantized tensor ("input" for an input)."""
    producer = op.input.owner
    if not isinstance(producer, Operation):
        return "input", ""
    if isinstance(producer, qnn.ReluOp) and isinstance(producer.input.owner, Operation):
        producer = producer.input.owner
    kind = node_kind(producer) or producer.name
    float_owner = float_value.owner
    node = node_name(producer) or (
        node_name(float_owner) if isinstance(float_owner, Operation) else None
    )
    return kind, node or ""


def read_inputs(inputs: Any) -> dict[str, np.ndarray]:
    """Inputs by argument name: a mapping, or an `.npz` path as `numpy.savez` writes it."""
    if isinstance(inputs, Mapping):
        return {k: np.asarray(v) for k, v in inputs.items()}
    if not Path(inputs).is_file():
        raise AccuracyError(f"no such file: '{inputs}' (inputs)")
    try:
        with np.load(inputs) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError) as err:
        raise AccuracyError(f"cannot read inputs '{inputs}': {err}".splitlines()[0]) from None


def compare(quantized: Any, float_model: Any, inputs: Any) -> Report:
    """The per-tensor report of `quantized` against `float_model` on `inputs` (module docs)."""
    feeds = read_inputs(inputs)
    qmodule = load_model(quantized, "quantized", feeds)
    fmodule = load_model(float_model, "float", feeds)
    qfn, ffn = main_function(qmodule), main_function(fmodule)
    matches = match_tensors(qfn, ffn)
    if not matches:
        raise AccuracyError(
            "the models share no quantized tensor name: is the first a quantized (QDQ) form "
            "of the second?"
        )
    floats = float_tensors(fmodule, sorted({m.reference for m in matches}), feeds)
    raw = quantized_tensors(qmodule, feeds)
    local = local_tensors(qmodule, matches, floats, feeds)
    shadow = shadow_floats(fmodule, matches, floats, feeds)
    ops, float_values = quantize_ops(qfn), named_values(ffn)
    records = []
    for position, (match, local_raw) in enumerate(zip(matches, local, strict=True)):
        x = floats[match.reference]
        op = ops[match.index]
        kind, node = _describe(op, float_values[match.reference][0])
        found = hazard(op, ops, raw)
        records.append(
            TensorRecord(
                tensor=match.tensor,
                op=kind,
                node=node,
                sqnr_db=sqnr_db(x, dequantize(raw[match.index], match.qtype)),
                local_sqnr_db=sqnr_db(
                    x, dequantize(local_raw, match.qtype), shadow[match.reference]
                ),
                clipped=clipped_share(x, match.qtype),
                hazard_outputs=None if found is None else found.outputs,
                hazard_max_lsb=None if found is None else found.max_lsb,
                per_channel=_per_channel(op),
                position=position,
            )
        )
    return Report.sorted(records)


def _per_channel(op: qnn.QuantizeOp) -> bool | None:
    """Whether the conv/dot producing the tensor has per-channel weights (None: no weights)."""
    producer = op.input.owner
    if isinstance(producer, qnn.ReluOp):
        producer = producer.input.owner
    if not isinstance(producer, (qnn.Conv2DOp, qnn.DotOp)):
        return None
    weight = _weight_constant(producer.weight)
    return None if weight is None else len(weight[1].scales) > 1
