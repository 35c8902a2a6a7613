"""`qnn.weight_only_dot`: a float matrix product whose weights stay quantized (weight-only
quantization, ONNX Runtime's `MatMulNBits`).

The weights are a constant `[K, N]` tensor of 4- or 8-bit storage, quantized per tensor, per
output column (axis 1) or in blocks (sub-channel `{0:B, 1:1}`, upstream's block-wise spelling:
an axis not listed is one block, so `{0:B}` alone shares each block's scale across columns). Its arithmetic is fixed here, so the compiled kernel
(which dequantizes blocks in registers, 8 columns a vector) and the reference interpreter agree
bit for bit: per row m and column n, over the blocks b of K in order,

    t = +0;  for k in block b, in order:  t = fma(x[m, k], float(q[k, n] - zp[b, n]), t)
    y = fma(t, s[b, n], y)          (y starts at +0; a per-tensor or per-axis type is one block)
    y = fl(y + bias[n])             (with a bias)

`q - zp` is an exact integer, so a block's sum is the float32 dot product of x with the
integer weights, scaled once per block.

K need not be a multiple of the block size: the weight then has the rows of the last block
past K too (`K_w = ceil(K / B)·B` rows, as `MatMulNBits` and ORT's quantizer store them, so
the sub-channel type's blocks divide the tensor as upstream requires), and those rows take no
part: the last block's sum stops at K. (Running them against zero inputs would give the same
bits, since `fma(0, w, t) = t` for every t the chain can hold: t starts at +0 and is never -0.)

    %y = qnn.weight_only_dot %x, %w : tensor<1x256xf32>, tensor<256x64x!quant.uniform<u4:f32:{0:128}, {...}>> -> tensor<1x64xf32>
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from xdsl.dialects.builtin import TensorType, f32
from xdsl.irdl import (
    AttrSizedOperandSegments,
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from qdialect.qnn.common import Kind, check_zero_points, kind_of, quantized_element, ranked_shape
from qdialect.tensors import element_type
from qdialect.types import Granularity, UniformQuantizedType

if TYPE_CHECKING:
    import numpy as np

WEIGHT_BITS = (4, 8)


def k_block(wq: UniformQuantizedType, k: int) -> int:
    """Rows of K sharing one (scale, zero point) per column: the block size along axis 0."""
    if wq.granularity is Granularity.SUB_CHANNEL:
        return dict(wq.block_size_info).get(0, k)  # an axis not listed is one block
    return k


def padded_rows(k: int, block: int) -> int:
    """Rows of a weight for K inputs in blocks of `block`: K rounded up to whole blocks."""
    return -(-k // block) * block


def block_params(wq: UniformQuantizedType, rows: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(scales float32, zero points int64), one row per block of the `rows` weight rows: [rows /
    block, N] (per-tensor and per-axis types are one block; a sub-channel type whose axis 1 is
    one block shares its parameters across columns)."""
    import numpy as np  # lazily: qdialect imports only xDSL at load

    scales = np.array(wq.scales, dtype=np.float64).astype(np.float32)
    zeros = np.array(wq.zero_points, dtype=np.int64)
    shape = (rows // k_block(wq, rows), n)
    columns = wq.shape_of_params[1] if wq.granularity is Granularity.SUB_CHANNEL else scales.size
    return (
        np.broadcast_to(scales.reshape(-1, columns), shape),
        np.broadcast_to(zeros.reshape(-1, columns), shape),
    )


def check_weight_type(wq: UniformQuantizedType, shape: tuple[int, ...]) -> None:
    """4/8-bit storage with storable zero points; per tensor, per column, or in blocks."""
    if wq.storage_width not in WEIGHT_BITS:
        raise VerifyException(f"weights must have 4- or 8-bit storage, got {wq.storage_spelling}")
    check_zero_points(wq, "weight")
    if wq.granularity is Granularity.PER_AXIS and wq.axis != 1:
        raise VerifyException(f"per-axis weights must be quantized along N (axis 1), got {wq.axis}")


@irdl_op_definition
class WeightOnlyDotOp(IRDLOperation):
    """`y[m, n] = Σ_b s[b, n] · Σ_{k ∈ b} x[m, k] · (q[k, n] - zp[b, n]) (+ bias[n])`, in the
    order the module doc fixes."""

    name = "qnn.weight_only_dot"
    input = operand_def(TensorType)
    weight = operand_def(TensorType)
    bias = opt_operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    irdl_options = (AttrSizedOperandSegments(as_property=True),)
    assembly_format = (
        "$input `,` $weight (`bias` `(` $bias^ `:` type($bias) `)`)? attr-dict "
        "`:` type($input) `,` type($weight) `->` type($result)"
    )

    def __init__(self, x, w, result_type, bias=None):
        super().__init__(
            operands=[x, w, [] if bias is None else [bias]], result_types=[result_type]
        )

    def verify_(self) -> None:
        m, k = ranked_shape(self.input, "input", 2)
        wk, n = ranked_shape(self.weight, "weight", 2)
        if element_type(self.input.type) != f32 or element_type(self.result.type) != f32:
            raise VerifyException("input and result must be float32 tensors")
        if kind_of(self.weight) is not Kind.QUANTIZED:
            raise VerifyException("weight must be a quantized tensor")
        wq = quantized_element(self.weight)
        check_weight_type(wq, (wk, n))
        if wk != padded_rows(k, k_block(wq, k)):
            raise VerifyException(
                f"weight has {wk} rows, the input {k} columns (rows must be K, or K padded to "
                "whole blocks)"
            )
        if ranked_shape(self.result, "result", 2) != (m, n):
            raise VerifyException(f"result must have shape [{m}, {n}]")
        if self.bias is not None and (
            element_type(self.bias.type) != f32 or ranked_shape(self.bias, "bias", 1) != (n,)
        ):
            raise VerifyException(f"bias must be tensor<{n}xf32>")
