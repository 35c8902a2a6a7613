"""Softmax as ONNX Runtime's CPU kernels compute it: float32 (`Softmax`) and 8-bit
(`QLinearSoftmax`, domain com.microsoft), shared by `qnn.softmax`'s reference and C kernel.

Rows. A row is D elements `outer·D·inner + j·inner + k` (j < D). ONNX's Softmax before opset 13
(and QLinearSoftmax with `opset` < 13) flattens: D = the product of dims from `axis` on,
inner = 1. From opset 13: D = dims[axis], inner = the product of the dims after it (ONNX
Runtime transposes the axis last, computes, transposes back; rows are independent, so reading
them with a stride changes no bit).

Float (MLAS `MlasComputeSoftmax`): m = max of the row; e_j = MLAS's exp of `x_j + (-m)` (a
clamp below, range reduction by fused multiply-adds, a degree-6 polynomial, then the scale by
2^k); the sum accumulates in lanes (element j into lane j mod lanes, in order) and reduces
pairwise; y_j = e_j · fl(1/sum). LogSoftmax (`MlasComputeLogSoftmaxOutputF32Kernel`):
y_j = fl(fl(x_j + (-m)) − logf(sum)), the sum the same and glibc's `logf` (`std::log` of a
float). MLAS has two sum-exp kernels, and which one runs depends on
the host (`SumExpKernel`):
- `fma3` (`MlasComputeSumExpF32KernelFma3`, mlas/lib/x86_64/TransKernelFma3.S; AVX2 hosts): the
  clamp at -88.376 (`LowerRangeSumExp`), 2^k built from the rounding-biased integer's bits
  (results below 2^-126 flush to 0), 8 lanes reduced as `vhaddps` twice does:
  ((l0+l1)+(l2+l3)) + ((l4+l5)+(l6+l7)).
- `avx512f` (`MlasComputeSumExpF32KernelAvx512F`, TransKernelAvx512F.S; AVX-512 hosts): the
  clamp at -103.97 (`LowerRange`), 2^k by `vscalefps` (one rounding, subnormals kept), 16
  lanes, folded to 8 (`l_k + l_{k+8}`) and reduced as above.

Quantized (ORT's qlinear_softmax.cc, EXP_OUT_DTYPE = float): a 256-entry float table built
at compile time from the input scale and D: shift = max(0, logf(FLT_MAX / D) − 5) / s (the
quotient and its log in float32, as C++ picks `log(float)` for a float argument; the rest in
double), `table[i] = (float) exp((i − 255 + shift) · s)`; per row, `t_j = table[255 − (xmax − x_j)]`
(the zero point cancels), `sum = Σ t_j` in float32 in order, `c = floorf(1 / y_scale)`,
`v = fl(fl(t_j · c) / sum)` clamped to [qmin − zy, qmax − zy] in float, `y_j = rint(v) + zy`
(ONNX Runtime adds the zero point and saturates after rounding: the same integers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from qdialect.arithmetic import float32_scale
from qdialect.float32_arrays import F32, fmaf, libm_of, logf
from qdialect.qnn.modes import SumExpKernel
from qdialect.types import UniformQuantizedType

TABLE_SIZE = 256
FLT_MAX = float(np.finfo(np.float32).max)
RESERVE = 5.0  # ORT's reserve_bit for a float table


# the clamp below the exp's argument: where each kernel's 2^k still works
EXP_LOWER = {SumExpKernel.FMA3: F32(-88.3762626647949), SumExpKernel.AVX512F: F32(-103.9720840454)}
LANES = {SumExpKernel.FMA3: 8, SumExpKernel.AVX512F: 16}


# MlasExpConstants (mlas/lib/compute.cpp) as the sum-exp kernels read them
ROUNDING_BIAS = F32(12582912.0)  # MLAS_ROUNDING_BIAS_MAGIC, 1.5·2^23
ROUNDING_BIAS_BITS = int(ROUNDING_BIAS.view(np.uint32))  # biased's bits minus these: k
LOG2_RECIPROCAL = F32(1.44269504088896341)
LOG2_HIGH = F32(-6.93145752e-1)
LOG2_LOW = F32(-1.42860677e-6)
POLY = tuple(F32(float.fromhex(h)) for h in ("0x1.694p-10", "0x1.125edcp-7", "0x1.555b5ap-5",
             "0x1.55545p-3", "0x1.fffff6p-2", "0x1p+0"))  # fmt: skip
ONE_BITS = 0x3F800000  # MaximumExponent: the exponent bias of 1.0f


@dataclass(frozen=True)
class RowLayout:
    """A tensor seen as `outer` groups of rows of `length` elements `stride` apart."""

    outer: int
    length: int
    stride: int


def row_layout(shape: tuple[int, ...], axis: int, flatten: bool) -> RowLayout:
    """The rows of a softmax over `axis` (non-negative) of `shape` (module docstring)."""
    if flatten:
        return RowLayout(math.prod(shape[:axis]), math.prod(shape[axis:]), 1)
    return RowLayout(math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1 :]))


def as_rows(x: np.ndarray, layout: RowLayout) -> np.ndarray:
    """`x` as [rows, length] (a copy), rows in memory order of (outer, inner)."""
    grouped = x.reshape(layout.outer, layout.length, layout.stride)
    return np.ascontiguousarray(grouped.transpose(0, 2, 1)).reshape(-1, layout.length)


def from_rows(rows: np.ndarray, layout: RowLayout, shape: tuple[int, ...]) -> np.ndarray:
    grouped = rows.reshape(layout.outer, layout.stride, layout.length)
    return np.ascontiguousarray(grouped.transpose(0, 2, 1)).reshape(shape)


def mlas_exp(v: np.ndarray, kernel: SumExpKernel) -> np.ndarray:
    """MLAS's sum-exp kernel's exp of float32 values already reduced by the row maximum."""
    v = np.maximum(EXP_LOWER[kernel], v)
    biased = fmaf(v, LOG2_RECIPROCAL, ROUNDING_BIAS)
    m = biased - ROUNDING_BIAS
    v = fmaf(m, LOG2_HIGH, v)
    v = fmaf(m, LOG2_LOW, v)
    p = fmaf(np.full_like(v, POLY[0]), v, POLY[1])
    for c in (*POLY[2:], POLY[5]):
        p = fmaf(p, v, c)
    if kernel is SumExpKernel.AVX512F:  # vscalefps: p · 2^m rounded once
        exponent = np.nan_to_num(np.clip(m, -400, 400)).astype(np.int32)  # (past any overflow)
        return np.ldexp(p, exponent).astype(F32)
    bits = (biased.view(np.int32).astype(np.int64) << 23) + ONE_BITS
    scale = (bits & 0xFFFFFFFF).astype(np.uint32).view(F32)
    return (p * scale).astype(F32)


def lane_sum(e: np.ndarray, kernel: SumExpKernel) -> np.ndarray:
    """Row sums of [rows, D] float32 as the kernel adds: its lanes, then pairwise."""
    rows, length = e.shape
    width = LANES[kernel]
    padded = np.zeros((rows, -(-length // width) * width), F32)
    padded[:, :length] = e
    lanes = np.zeros((rows, width), F32)
    for start in range(0, padded.shape[1], width):
        lanes = lanes + padded[:, start : start + width]
    if width == 16:  # vextractf64x4 and an add: lane k + lane k + 8
        lanes = lanes[:, :8] + lanes[:, 8:]
    pairs = [lanes[:, i] + lanes[:, i + 1] for i in range(0, 8, 2)]
    return (pairs[0] + pairs[1]) + (pairs[2] + pairs[3])


def float_softmax(
    x: np.ndarray, axis: int, flatten: bool, kernel: SumExpKernel, log: bool = False
) -> np.ndarray:
    """ONNX Runtime's float32 Softmax, or LogSoftmax (`log`; module docstring)."""
    x = np.asarray(x, F32)
    layout = row_layout(x.shape, axis, flatten)
    rows = as_rows(x, layout)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        shifted = rows + (-rows.max(axis=1, keepdims=True))
        total = lane_sum(mlas_exp(shifted, kernel), kernel)
        if log:
            logarithm = libm_of("logf", total)
            y = (shifted - logarithm[:, None]).astype(F32)
        else:
            scale = (F32(1) / total).astype(F32)
            y = (mlas_exp(shifted, kernel) * scale[:, None]).astype(F32)
    return from_rows(y, layout, x.shape)


def exp_table(scale: float, length: int) -> np.ndarray:
    """ORT's `QlinearBuildLookupTableUint32` for a float table: entry i (0..255) holds
    exp of the real distance of i − 255 steps from the row maximum, shifted up so a row of
    `length` entries cannot overflow (computed in double, stored as float32). The shift's
    `log(std::numeric_limits<float>::max() / reduce_len)` is a float quotient and C++'s
    `log(float)`: measured against ORT on swin_t's attention, where the double log moves three
    of 57624 outputs by a step."""
    s = float(np.float32(scale))
    shift = max(0.0, logf(F32(FLT_MAX) / F32(length)) - RESERVE) / s
    return np.array([math.exp((i - 255 + shift) * s) for i in range(TABLE_SIZE)], F32)


@dataclass(frozen=True)
class QuantizedSoftmax:
    """The numbers of one QLinearSoftmax: the exp table, ORT's output multiplier
    `floorf(1.0f / y_scale)` (the output scale it really uses is 1/multiplier), and the
    output's zero point and storage bounds."""

    table: tuple[float, ...]
    multiplier: float
    zero: int
    qmin: int
    qmax: int
    signed: bool = False


def quantized_parameters(
    in_type: UniformQuantizedType, out_type: UniformQuantizedType, length: int
) -> QuantizedSoftmax:
    """The numbers for rows of `length` from `in_type` to `out_type` (per-tensor types)."""
    table = exp_table(float32_scale(in_type.scale), length)
    multiplier = float(np.floor(F32(1) / F32(float32_scale(out_type.scale))))
    out = (out_type.zero_point, out_type.qmin, out_type.qmax, out_type.signed)
    return QuantizedSoftmax(tuple(float(t) for t in table), multiplier, *out)


def quantized_softmax(
    x: np.ndarray, params: QuantizedSoftmax, axis: int, flatten: bool
) -> np.ndarray:
    """ORT's QLinearSoftmax on stored values (module docstring); int64 stored values."""
    table, multiplier = np.array(params.table, F32), F32(params.multiplier)
    zero, qmin, qmax = params.zero, params.qmin, params.qmax
    x = np.asarray(x).astype(np.int64)
    layout = row_layout(x.shape, axis, flatten)
    rows = as_rows(x, layout)
    t = table[255 - (rows.max(axis=1, keepdims=True) - rows)]
    total = np.zeros(rows.shape[0], F32)
    for j in range(rows.shape[1]):  # float32, in order
        total = (total + t[:, j]).astype(F32)
    with np.errstate(over="ignore", invalid="ignore"):
        v = ((t * multiplier).astype(F32) / total[:, None]).astype(F32)
    y = np.clip(qlinear_store(v, zero, params.signed), qmin, qmax)
    return from_rows(y, layout, x.shape)


def qlinear_store(v: np.ndarray, zero: int, signed: bool) -> np.ndarray:
    """The stored values ORT's QLinearSoftmax writes for `v = t·m / sum` (float32, >= 0),
    overflow included: `nearbyintf(v)` converted to an integer as x86-64 converts (uint8
    output: through int64, where inf and 2^63 or more give INT64_MIN; int8: through int32,
    INT32_MIN likewise), the zero point added with wrap-around, then `vq > 255 ? 255 : vq`
    (uint8) or the int8 range (int8). So where a tiny output scale's products overflow
    float32, uint8 writes the zero point and int8 the end the wrapped sum lands on, as ORT
    does (measured against it: tests/numeric/test_softmax.py)."""
    r = np.rint(v).astype(np.float64)
    if signed:
        ok = np.isfinite(r) & (r >= -(2.0**31)) & (r < 2.0**31)
        q = np.where(ok, np.where(ok, r, 0.0).astype(np.int64), -(2**31))
        vq = (q + zero + 2**31) % 2**32 - 2**31  # int32 addition, wrapping
        return np.clip(vq, -128, 127)
    ok = np.isfinite(r) & (np.abs(r) < 2.0**63)
    q = np.where(ok, np.where(ok, r, 0.0).astype(np.int64), -(2**63))
    vq = (q % 2**32 + zero) % 2**32  # uint32 addition, wrapping
    return np.where(vq > 255, 255, vq)
