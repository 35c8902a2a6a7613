"""NNI's calibration config applied to a float function: ranges, bits and weight parameters
by tensor, for the static quantizer to use as given (`quantize_static.quantize_function`).

A layer is the op imported from the ONNX node of that name (`qnn.node`). Its
`tracked_min/max_input` become the range of the op's first (activation) input,
`tracked_min/max_output` the range of its result; where a producer's output range and a
consumer's input range name the same tensor, the producer's wins (NNI's training quantized
the tensor where it was produced; ours quantizes each tensor once). `input_bits`/`output_bits`
pick the activation storage of that width (4, 8, 16), keeping the config's signedness.

`weight_scale`/`weight_zero_point` are the weight's parameters unchanged, per tensor or per
output channel (the quantizer's per-channel axis: 0 for Conv and Gemm transB, 1 for MatMul),
and the stored integers are NNI's `QAT_Quantizer._quantize` in eval mode, in float32:
`round(clamp(zp + w/s, qmin, qmax))` (torch.round: half to even), with NNI's
`calculate_qmin_qmax`: int [−2^(b−1)+1, 2^(b−1)−1], uint [0, 2^b−1]. The config does not say
int or uint; the weights do: int when a zero point is negative or a weight would fall below
stored 0 (NNI would clamp it there as uint), else uint. The storage is the narrowest of 4, 8,
16 bits holding `weight_bits`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects import func
from xdsl.ir import Operation, SSAValue

from qdialect.calibration.nni_config import NniCalibration, NniLayer
from qdialect.constants import dense_array
from qdialect.dorefa import dorefa_weights
from qdialect.names import node_name, tensor_name
from qdialect.ort_qparams import QParams, QType
from qdialect.quant_rules import NodeRule
from rewrites.onnx_nodes import node_kind, weight_source

WIDTHS = (4, 8, 16)


class NniConfigError(ValueError):
    """An NNI layer that cannot be applied to the model (one line naming the layer)."""


@dataclass(frozen=True)
class FixedWeight:
    """A weight's stored integers and parameters, decided outside the quantizer."""

    stored: np.ndarray  # int64, the weight's shape
    params: QParams


@dataclass(frozen=True)
class FixedParams:
    """What a calibration config fixes: ranges and activation bits by tensor name, weights
    (and bare `weight_bits`, for DoReFa) by their constant."""

    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    activation_bits: dict[str, int] = field(default_factory=dict)
    weights: dict[SSAValue, FixedWeight] = field(default_factory=dict)
    weight_bits: dict[SSAValue, tuple[str, int]] = field(default_factory=dict)
    layers: frozenset[str] = frozenset()  # the layers found in the function

    def activation_type(self, name: str | None, qtype: QType) -> QType:
        """`qtype` at the width the config gives tensor `name`, same signedness."""
        bits = self.activation_bits.get(name or "")
        if bits is None or bits == qtype.bits:
            return qtype
        return QType.parse(f"Q{'Int' if qtype.signed else 'UInt'}{bits}")


def _layer_ops(function: func.FuncOp, nni: NniCalibration) -> list[tuple[Operation, NniLayer]]:
    return [
        (op, nni[name])
        for op in function.body.walk()
        if (name := node_name(op)) in nni and node_kind(op) is not None
    ]


def resolve(function: func.FuncOp, nni: NniCalibration) -> FixedParams:
    """The fixed parameters of `function`'s ops that NNI's config names."""
    fixed = FixedParams()
    found = _layer_ops(function, nni)
    for side in ("input", "output"):  # outputs second: the producer's range wins
        for op, layer in found:
            value = op.operands[0] if side == "input" else op.results[0]
            span = getattr(layer, f"{side}_range")
            bits = getattr(layer, f"{side}_bits")
            name = tensor_name(value) or ""
            if span is not None:
                fixed.ranges[name] = (float(span[0]), float(span[1]))
            if bits is not None:
                fixed.activation_bits[name] = _width(bits, f"{node_name(op)}: {side}_bits")
    for op, layer in found:
        _weight(op, layer, fixed)
    return FixedParams(
        fixed.ranges,
        fixed.activation_bits,
        fixed.weights,
        fixed.weight_bits,
        frozenset(node_name(op) or "" for op, _ in found),
    )


def _width(bits: int, where: str) -> int:
    if bits not in WIDTHS:
        raise NniConfigError(f"layer {where} {bits}: no such storage (4, 8 and 16 bits exist)")
    return bits


def _weight(op: Operation, layer: NniLayer, fixed: FixedParams) -> None:
    name = node_name(op)
    if layer.weight_bits is None:
        return
    weight = getattr(op, "weight", None)
    source = weight_source(weight) if weight is not None else None
    if source is None:
        raise NniConfigError(f"layer '{name}' ({node_kind(op)}) has no constant weight")
    fixed.weight_bits[source.value] = (name or "", layer.weight_bits)
    if layer.weight_scale is None or layer.weight_zero_point is None:
        return
    default_axis = 0 if node_kind(op) == "Conv" or source.transposed else 1
    data = dense_array(source.value)
    axis = None if layer.weight_scale.size == 1 else default_axis
    if axis is not None and data.shape[axis] != layer.weight_scale.size:
        raise NniConfigError(
            f"layer '{name}': {layer.weight_scale.size} weight scales for "
            f"{data.shape[axis]} output channels"
        )
    fixed.weights[source.value] = nni_weight(data, layer, axis, name or "")


def nni_weight(data: np.ndarray, layer: NniLayer, axis: int | None, name: str) -> FixedWeight:
    """The weight quantized as NNI's QAT_Quantizer does in eval mode, with its parameters."""
    bits = layer.weight_bits or 8
    scale, zero = layer.weight_scale, layer.weight_zero_point
    assert scale is not None and zero is not None
    shape = [1] * data.ndim
    if axis is not None:
        shape[axis] = -1
    s, z = scale.reshape(shape), zero.astype(np.float32).reshape(shape)
    w = np.asarray(data, np.float32)
    signed = _signed(w, s, z, zero, bits, axis)
    if signed is None:
        raise NniConfigError(
            f"layer '{name}': weight_zero_point outside NNI's {bits}-bit ranges "
            f"(int [{-(2 ** (bits - 1)) + 1}, {2 ** (bits - 1) - 1}], uint [0, {2**bits - 1}])"
        )
    qmin, qmax = (-(2 ** (bits - 1)) + 1, 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    stored = np.rint(np.clip(z + w / s, qmin, qmax)).astype(np.int64)
    width = next((b for b in WIDTHS if b >= bits), None)
    if width is None:
        raise NniConfigError(f"layer '{name}': weight_bits {bits}: at most 16-bit storage exists")
    qtype = QType.parse(f"Q{'Int' if signed else 'UInt'}{width}")
    params = QParams(zero if axis is not None else zero.reshape(()),
                     scale if axis is not None else scale.reshape(()), qtype, axis)  # fmt: skip
    return FixedWeight(stored, params)


def _signed(w, s, z, zero: np.ndarray, bits: int, axis: int | None) -> bool | None:
    """NNI's dtype of the weight: what the zero points allow, and where both do, int when
    a weight would fall below stored 0 (uint would clamp it there); None: neither fits."""
    fits_int = bool((np.abs(zero) <= 2 ** (bits - 1) - 1).all())
    fits_uint = bool(((zero >= 0) & (zero <= 2**bits - 1)).all())
    if fits_int and fits_uint:
        lowest = (z + np.min(w, axis=_others(w.ndim, axis), keepdims=True) / s).min()
        return bool(lowest < np.float32(-0.5))
    return fits_int if fits_int or fits_uint else None


def _others(ndim: int, axis: int | None) -> tuple[int, ...] | None:
    return None if axis is None else tuple(i for i in range(ndim) if i != axis)


def special_weight(value: SSAValue, rule: NodeRule, fixed: FixedParams) -> FixedWeight | None:
    """A weight whose integers do not come from a range: NNI's given parameters, or DoReFa
    (`qdialect.dorefa`) when the node's rule asks for it, at the rule's bits (a bare
    `weight_bits` in the calibration config must agree, as NNI's loader asserts)."""
    if value in fixed.weights:
        return fixed.weights[value]
    if rule.weight_scheme != "dorefa":
        return None
    layer, given = fixed.weight_bits.get(value, ("", None))
    bits = rule.weight_bits or given
    if given is not None and given != bits:
        raise NniConfigError(
            f"layer '{layer}': weight_bits {given} in the calibration config, {bits} in the "
            "config (NNI: weight bits fail to match)"
        )
    try:
        stored, params = dorefa_weights(dense_array(value), int(bits or 0))
    except ValueError as err:
        raise NniConfigError(f"weight '{tensor_name(value)}': {err}") from None
    return FixedWeight(stored, params)
