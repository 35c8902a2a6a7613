"""A Gemm's alpha on quantized operands, as ONNX Runtime's QGemm applies it: in the output
scale, `fl(fl(alpha · sa) · sb[i])` (then over sy; `qgemm.cc` ComputeOutputScale), never on
the sums. An integer dot whose lhs is read with the scale `fl(alpha · sa)` computes exactly
that, so a QGemm (imported, or fused from a QDQ Gemm) needs no op of its own."""

from __future__ import annotations

from xdsl.dialects.builtin import IntegerType, TensorType
from xdsl.ir import Operation, SSAValue

from qdialect.float32 import f32
from qdialect.quant_ops import StorageCastOp
from qdialect.tensors import element_type
from qdialect.types import UniformQuantizedType


def alpha_scaled(x: SSAValue, alpha: float) -> list[Operation]:
    """`x` read with the scale `fl(alpha · sx)`: the same stored values, through two storage
    casts (to its storage integers and back, retyped)."""
    x_type = element_type(x.type)
    shape = x.type.get_shape()
    scaled = UniformQuantizedType.per_tensor(
        ("i" if x_type.signed else "u") + str(x_type.storage_width),
        x_type.expressed_type,
        float(f32(f32(alpha) * f32(x_type.scale))),
        x_type.zero_point,
        qmin=x_type.qmin,
        qmax=x_type.qmax,
    )
    stored = StorageCastOp(x, TensorType(IntegerType(x_type.storage_width), shape))
    return [stored, StorageCastOp(stored.results[0], TensorType(scaled, shape))]
