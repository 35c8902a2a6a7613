"""`remove-double-qdq`: ONNX Runtime's DoubleQDQPairsRemover on Q1 → DQ1 → Q2 → DQ2.

Two per-tensor 8-bit pairs in a row (a Cast or Identity between them is gone by then: ORT's
CastElimination, our `drop-float-casts`) become one pair whose range is the intersection of
theirs, in ORT's float32 steps (`double_qdq_pairs_remover.cc`, `FindNewZeroPointAndScale`):

    real_min = max((qmin - zp1)·s1, (qmin - zp2)·s2)
    real_max = min((qmax - zp1)·s1, (qmax - zp2)·s2)
    scale = (real_max - real_min) / (qmax - qmin)
    zero_point = roundf(qmin - real_min / scale)

over the storage type's full range. ORT's optimizer does this at its basic level, before it
fuses QDQ groups; the graph as written (DISABLE_ALL, the literal reading) requantizes twice.
HF attention's probabilities (Softmax → Q/DQ → Cast → Q/DQ → MatMul) and BART's position
embeddings meet it. Conditions, as ORT checks them: DQ1 and Q2 each have one user and are no
graph output, Q1 has one user and is no result, the zero points share one 8-bit type; equal
parameters leave the outer pair as it is. Not in a function `quantize_static` wrote in QOperator
form (`QOPERATOR_ATTR`): there the pairs stand for QLinear nodes, which read and write stored
values, and ORT's QOperator graph has no such back-to-back pairs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from qdialect import qnn
from qdialect.names import QOPERATOR_ATTR
from qdialect.qnn.modes import RoundMode
from qdialect.storage import storage_bounds
from qdialect.tensors import element_type
from qdialect.types import Granularity, UniformQuantizedType
from rewrites.common import sole_user


def _eight_bit(qtype) -> bool:
    return (
        isinstance(qtype, UniformQuantizedType)
        and qtype.granularity is Granularity.PER_TENSOR
        and qtype.storage_width == 8
    )


def merged_type(
    first: UniformQuantizedType, second: UniformQuantizedType
) -> UniformQuantizedType | None:
    """The type of the one pair that replaces both (`first` when their parameters are equal),
    or None when their ranges meet in one point only (ORT would write a zero scale: a model
    without meaning, whose two pairs we leave as they are)."""
    zp1, zp2 = first.zero_points[0], second.zero_points[0]
    s1, s2 = np.float32(first.scales[0]), np.float32(second.scales[0])
    if zp1 == zp2 and abs(float(s1) - float(s2)) < 1e-20:
        return first
    qmin, qmax = storage_bounds(8, first.signed)
    real_min = max(np.float32(qmin - zp1) * s1, np.float32(qmin - zp2) * s2)
    real_max = min(np.float32(qmax - zp1) * s1, np.float32(qmax - zp2) * s2)
    scale = np.float32(real_max - real_min) / np.float32(qmax - qmin)
    if not np.isfinite(scale) or scale < np.finfo(np.float32).tiny:
        return None
    shifted = np.float32(qmin) - np.float32(real_min / scale)
    rounded = math.copysign(math.floor(abs(float(shifted)) + 0.5), shifted)  # roundf: exact in f64
    zero_point = int(np.array(int(rounded)).astype(np.int8 if first.signed else np.uint8))
    return UniformQuantizedType.per_tensor(
        first.storage_spelling, first.expressed, float(scale), zero_point
    )


class RemoveDoubleQdq(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, dq1: qnn.DequantizeOp, rewriter: PatternRewriter) -> None:
        function = dq1.parent_op()
        if isinstance(function, func.FuncOp) and QOPERATOR_ATTR in function.attributes:
            return  # QLinear nodes between the pairs (a quantized Gather, then a Cast)
        q1 = dq1.input.owner
        q2 = sole_user(dq1.result)
        if not isinstance(q1, qnn.QuantizeOp) or not isinstance(q2, qnn.QuantizeOp):
            return
        dq2 = sole_user(q2.result)
        if not isinstance(dq2, qnn.DequantizeOp) or sole_user(q1.result) is not dq1:
            return
        first, second = element_type(q1.result.type), element_type(q2.result.type)
        if not (_eight_bit(first) and _eight_bit(second)) or first.signed != second.signed:
            return
        if q1.round_mode_kind is not RoundMode.HALF_TO_EVEN:
            return
        qtype = merged_type(first, second)
        if qtype is None:
            return
        shape = q1.result.type.get_shape()  # type: ignore[union-attr]
        quantize = qnn.QuantizeOp(q1.input, TensorType(qtype, shape))
        dequantize = qnn.DequantizeOp(quantize.result, dq2.result.type)
        quantize.result.name_hint = q1.result.name_hint
        dequantize.result.name_hint = dq2.result.name_hint
        rewriter.replace(dq2, [quantize, dequantize])
        for op in (q2, dq1, q1):
            rewriter.erase(op)


@dataclass(frozen=True)
class RemoveDoubleQdqPass(ModulePass):
    name = "remove-double-qdq"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(RemoveDoubleQdq(), apply_recursively=True).rewrite_module(op)
