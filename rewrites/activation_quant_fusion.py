"""`activation-quant-fusion`: ONNX Runtime's ReluQuantFusion and ClipQuantFusion, rewrite rules
of its basic level (`relu_quantizelinear.cc`, `clip_quantizelinear.cc`).

A float Relu or Clip whose one reader is a per-tensor QuantizeLinear goes when the quantize's
own saturation already does its work: a Relu when the zero point is the storage minimum (0
quantizes to it, as every negative value does), a Clip when its bounds lie outside the
values that round to the storage minimum and maximum (`QuantizeDomain::MinUpper` /
`MaxLower`, in ORT's float32 steps). Each removal keeps every quantized value. What changes is
the graph ORT's QDQ fusions then see: a float Conv left out of quantization, then a Relu and
a QuantizeLinear, becomes DQ → Conv → Q, which `weight-bias-quantization` and `fold-qdq` make
one integer conv, as ORT makes it a QLinearConv (the float simulation with the Relu rounds
once more, a step apart at near-ties).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.rewriter import Rewriter

from qdialect import qnn
from qdialect.qnn.common import float_value
from qdialect.storage import storage_bounds
from qdialect.tensors import element_type
from qdialect.types import Granularity, UniformQuantizedType
from rewrites.common import sole_user
from rewrites.onnx_nodes import is_float_tensor

F32 = np.float32


def _quantize_reader(op: Operation) -> UniformQuantizedType | None:
    """The per-tensor 8- or 16-bit type of the QuantizeLinear that alone reads `op`."""
    reader = sole_user(op.results[0])
    if not isinstance(reader, qnn.QuantizeOp):
        return None
    qtype = element_type(reader.result.type)
    if (
        not isinstance(qtype, UniformQuantizedType)
        or qtype.granularity is not Granularity.PER_TENSOR
    ):
        return None
    return qtype if qtype.storage_width in (8, 16) else None


def _domain(qtype: UniformQuantizedType) -> tuple[F32, F32]:
    """(MinUpper, MaxLower): the largest real that quantizes to the storage minimum and the
    smallest that quantizes to the maximum, as ORT's `QuantizeDomain` computes them."""
    qmin, qmax = storage_bounds(qtype.storage_width, qtype.signed)
    zp, scale = qtype.zero_points[0], F32(qtype.scales[0])

    def bound(biased: int, toward: float) -> F32:
        before = F32(biased) + F32(toward)
        if biased > 0 and biased % 2 == 1:  # C++'s `biased % 2 == 1`: -1 for a negative odd
            before = np.nextafter(before, F32(biased), dtype=F32)
        return F32(before * scale)

    return bound(qmin - zp, 0.5), bound(qmax - zp, -0.5)


def _removable(op: Operation) -> bool:
    if not isinstance(op, qnn.ReluOp | qnn.ClampOp) or not is_float_tensor(op.results[0]):
        return False
    qtype = _quantize_reader(op)
    if qtype is None:
        return False
    low, high = _domain(qtype)
    if isinstance(op, qnn.ReluOp):
        return bool(low >= 0)
    return bool(F32(float_value(op.min)) <= low and high <= F32(float_value(op.max)))


def fuse_activation_quantize(block) -> None:
    for op in [o for o in block.ops if _removable(o)]:
        op.results[0].replace_all_uses_with(op.operands[0])
        Rewriter.erase_op(op)


@dataclass(frozen=True)
class ActivationQuantFusionPass(ModulePass):
    name = "activation-quant-fusion"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for function in op.walk():
            if isinstance(function, func.FuncOp) and function.body.blocks:
                fuse_activation_quantize(function.body.block)
