"""`lower-batch-norm`: `qnn.batch_norm` with constant parameters becomes `qnn.mul` and `qnn.add`
by per-channel constants, the kernel ONNX Runtime runs (`x · s + t`).

The parameters may be float constants or dequantized stored constants (a QDQ model's
BatchNormalization, whose scale and bias `quantize_static` quantizes); `s` and `t` are
`qdialect.float32_arrays.batch_norm_affine` of their values, so the lowered ops compute what the
reference interpreter computes for `qnn.batch_norm`, bit for bit. An op whose parameters are
computed at run time is left for the code generator to refuse by name.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, TensorType, f32
from xdsl.ir import SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from qdialect import qnn
from qdialect.constants import dense_array
from qdialect.float32_arrays import batch_norm_affine, dequantized_values
from qdialect.names import NAME_ATTR, carry_node
from qdialect.qnn.modes import RoundMode
from qdialect.tensors import element_type
from qdialect.types import Granularity
from rewrites.common import dense_constant, stored_constant
from rewrites.fake_quant import quantized_values


def constant_reals(value: SSAValue) -> np.ndarray | None:
    """The float32 values of a constant, or of `qnn.dequantize` of a stored constant (per
    tensor or along axis 0), or of a quantize/dequantize pair on such values (a parameter
    ONNX Runtime's quantizer took as an activation: tied through Identity), else None."""
    owner = value.owner
    if isinstance(owner, qnn.DequantizeOp) and isinstance(owner.input.owner, qnn.QuantizeOp):
        quantize = owner.input.owner
        reals = constant_reals(quantize.input)
        qtype = element_type(quantize.result.type)
        if reals is None or quantize.round_mode_kind is not RoundMode.HALF_TO_EVEN:
            return None
        if qtype.granularity is Granularity.PER_AXIS and qtype.axis != 0:
            return None
        return dequantized_values(quantized_values(reals, qtype), qtype)
    stored = stored_constant(value)
    if stored is not None:
        ints, qtype = stored
        if qtype.granularity is Granularity.PER_AXIS and qtype.axis != 0:
            return None
        return dequantized_values(ints, qtype)
    values = dense_array(value)
    return None if values is None else np.asarray(values, np.float32)


class LowerBatchNorm(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qnn.BatchNormOp, rewriter: PatternRewriter) -> None:
        params = [constant_reals(v) for v in (op.scale, op.bias, op.mean, op.var)]
        if any(p is None for p in params):
            return
        s, t = batch_norm_affine(*params, op.epsilon.value.data)  # type: ignore[arg-type]
        shape = op.input.type.get_shape()  # type: ignore[union-attr]
        channel = [shape[1]] + [1] * (len(shape) - 2)
        s_const = dense_constant(s.reshape(channel), TensorType(f32, channel))
        t_const = dense_constant(t.reshape(channel), TensorType(f32, channel))
        scaled = qnn.MulOp(op.input, s_const.result, op.result.type)
        shifted = qnn.AddOp(scaled.results[0], t_const.result, op.result.type)
        for new in (scaled, shifted):
            new.location = op.location
            carry_node(op, new)
        if NAME_ATTR in op.attributes:
            shifted.attributes[NAME_ATTR] = op.attributes[NAME_ATTR]
        hint = op.result.name_hint
        if hint:
            for new, suffix in ((s_const, "_s"), (t_const, "_t"), (scaled, "_xs")):
                new.results[0].name_hint = hint + suffix
        shifted.results[0].name_hint = hint
        rewriter.replace(op, [s_const, t_const, scaled, shifted])


@dataclass(frozen=True)
class LowerBatchNormPass(ModulePass):
    name = "lower-batch-norm"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(LowerBatchNorm()).rewrite_module(op)
