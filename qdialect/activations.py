"""The float functions of `qnn.activation` in float32, and the 256-entry tables of `qnn.table`.

Each function is ONNX Runtime's CPU kernel step by step (checked bit for bit against ORT's
float Sigmoid/Tanh/LeakyRelu/HardSigmoid/HardSwish in tests/numeric/test_tables.py):

- sigmoid: MLAS's logistic (`MlasLogisticKernelFma3`, Eigen's rational approximation, not
  `1/(1+exp(-x))`): clamp to [-18, 18], p and q by fused multiply-adds in x², `p·x / q + 0.5`,
  then `max(0, ·)`.
- tanh: MLAS's Eigen rational approximation with fused multiply-adds, x clamped to [-9, 9].
- erf: MLAS's `MlasErfKernelFma3` (the AVX2/FMA3 kernel ORT runs on this class of CPU): |x|
  clamped to 3.925, below 0.921875 an odd polynomial in x², above it `1 - exp(-P(|x|))` with
  MLAS's exp (range reduction by log 2, a degree-6 polynomial, 2^i from the exponent bits),
  the sign copied back; every step a float32 FMA or one rounding.
- leaky_relu: `x >= 0 ? x : alpha·x`. hard_sigmoid: `max(0, min(1, alpha·x + beta))`, one
  rounding per operation. hard_swish: `x · hard_sigmoid(x)` with alpha = 1/6, beta = 0.5.
- silu: `x · sigmoid(x)`, the sigmoid above rounded to float32, then the product (ORT's
  QuickGelu with alpha 1, which its QuickGeluFusion makes of the same Mul).
- sqrt: the correctly rounded square root (`sqrtps`, what ORT's Eigen kernel runs).
- neg, abs: the sign flipped or cleared (exact; NaN stays NaN).
- gelu: ORT's Gelu kernel (`gelu.cc`): `0.5·x·(erf(x·(1/√2)) + 1)` with MLAS's erf above;
  gelu_tanh (approximate = "tanh"): `0.5·x·(tanh(x·(C·x·x + B)) + 1)` with MLAS's tanh,
  B = √(2/π), C = 0.044715·√(2/π) in float32 (`GELU_TANH`); one rounding per operation,
  in the kernel's order.

A table is the function as `fold-qdq` sees it: dequantize each stored input value (float32),
apply the function, quantize with the output type (DESIGN §2), which is also what ONNX
Runtime's QLinearSigmoid/QLinearLeakyRelu build (`QlinearBuildLookupTable`: dequantize,
transform, `MlasQuantizeLinear`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from qdialect.arithmetic import float32_scale, quantize_value
from qdialect.float32_arrays import (
    F32,
    fmaf,
    libm_of,
    onnx_celu,
    onnx_elu,
    onnx_log,
    onnx_selu,
    onnx_softplus,
)
from qdialect.qnn.modes import SumExpKernel
from qdialect.qnn.table import EIGEN_TRIG, LIBM, TABLE_SIZE, UnaryFunction
from qdialect.qparams import choose_qparams
from qdialect.softmax import mlas_exp
from qdialect.types import Granularity, UniformQuantizedType

# MLAS's MlasLogisticConstants and MlasTanhConstants (onnxruntime/core/mlas/lib/logistic.cpp,
# tanh.cpp): the clamp bound, then the numerator's and the denominator's coefficients from the
# highest power of x² down.
LOGISTIC = (
    18.0,
    (4.37031012579801e-11, 1.15627324459942e-07, 6.08574864600143e-05, 8.51377133304701e-03,
     2.48287947061529e-01),
    (6.10247389755681e-13, 5.76102136993427e-09, 6.29106785017040e-06, 1.70198817374094e-03,
     1.16817656904453e-01, 9.93151921023180e-01),
)  # fmt: skip
TANH = (
    9.0,
    (-2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11, 5.12229709037114e-08,
     1.48572235717979e-05, 6.37261928875436e-04, 4.89352455891786e-03),
    (1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03, 4.89352518554385e-03),
)  # fmt: skip


# MlasErfConstants (onnxruntime/core/mlas/lib/erf.cpp): |x| bound, split point, the small and
# big polynomials (highest power first), and the exp's lower clamp, 1/log 2, log 2 as hi + lo,
# polynomial and rounding constant (1.5 · 2^23).
ERF = {
    "upper": 3.925,
    "split": 0.921875,
    "small": (-5.99104969e-4, 4.99339588e-3, -2.67667342e-2, 1.12818025e-1, -3.76124859e-1,
              1.28379151e-1),
    "big": (1.72948930e-5, -3.83208680e-4, 3.88393435e-3, -2.42545605e-2, 1.06777847e-1,
            6.34846687e-1, 1.28717512e-1),
    "exp_lower": -88.3762626647949,
    "log2_reciprocal": 1.44269504088896341,
    "log2_hi": -6.93145752e-1,
    "log2_lo": -1.42860677e-6,
    "exp": (1.38319808e-3, 8.37550033e-3, 4.16689515e-2, 1.66664466e-1, 4.99999851e-1, 1.0, 1.0),
    "round": 1.25829120e7,
}  # fmt: skip


# ORT's Gelu kernel's tanh approximation constants (gelu.cc): B = sqrt(2 / pi), C = 0.044715 B
GELU_TANH = {"B": 0.7978845608028654, "C": 0.035677408136300125}
SQRT1_2 = 0.7071067811865476  # M_SQRT1_2, the erf form's factor


def _poly(value: np.ndarray, coefficients, x: np.ndarray) -> np.ndarray:
    """`value` then, per coefficient c, `fmaf(value, x, c)`: MLAS's Horner steps."""
    for c in coefficients:
        value = fmaf(value, x, F32(c))
    return value


def erf(x: np.ndarray) -> np.ndarray:
    """`MlasErfKernelFma3` lane for lane (module docstring); min/max as vminps/vmaxps, whose
    second operand wins on NaN (a NaN input stays NaN)."""
    c = ERF
    bits = np.asarray(x, F32).view(np.uint32)
    sign = bits & np.uint32(0x80000000)
    a = (bits & np.uint32(0x7FFFFFFF)).view(F32)
    a = np.where(F32(c["upper"]) < a, F32(c["upper"]), a)
    small = _poly(F32(c["small"][0]), c["small"][1:], a * a)
    small = fmaf(small, a, a)
    big = F32(c["split"]) <= a
    small = np.where(big, F32(0), small)
    a_big = np.where(big, a, F32(0))
    r = fmaf(_poly(F32(c["big"][0]), c["big"][1:], a_big), a_big, a_big)
    e = -r
    e = np.where(e > F32(c["exp_lower"]), e, F32(c["exp_lower"]))
    t = fmaf(F32(c["log2_reciprocal"]), e, F32(c["round"])) - F32(c["round"])
    f = fmaf(F32(c["log2_lo"]), t, fmaf(F32(c["log2_hi"]), t, e))
    p = _poly(F32(c["exp"][0]), c["exp"][1:], f)
    power = ((t.astype(np.int32) + 127).astype(np.uint32) << np.uint32(23)).view(F32)
    y = F32(1) - p * power
    return (y.view(np.uint32) | small.view(np.uint32) | sign).view(F32)


def horner(x2: np.ndarray, coefficients: tuple[float, ...]) -> np.ndarray:
    """c0·x2ⁿ + … + cₙ by fused multiply-adds, as MLAS's FMA3 kernels evaluate it."""
    value = fmaf(x2, F32(coefficients[0]), F32(coefficients[1]))
    for c in coefficients[2:]:
        value = fmaf(x2, value, F32(c))
    return value


def rational(x: np.ndarray, constants) -> np.ndarray:
    """x·P(x²)/Q(x²) with x clamped to ±bound (NaN stays NaN), in float32."""
    bound, numerator, denominator = constants
    x = np.minimum(F32(bound), np.maximum(F32(-bound), x))
    x2 = x * x
    return (x * horner(x2, numerator)) / horner(x2, denominator)


def deepcpu_tanh(x: np.ndarray, bound: float, factor: float) -> np.ndarray:
    """ORT DeepCPU's rational tanh (`rnn_activation_functions.cc`, the GRU's gates): x clamped
    to ±bound by `np.minimum`/`np.maximum` (NaN stays), times `factor`, then x·p(x²)/q(x²)
    with MLAS's coefficients (`TANH`), each multiply and add rounded (no FMA)."""
    _, numerator, denominator = TANH
    x = F32(factor) * np.maximum(np.minimum(x, F32(bound)), F32(-bound))
    x2 = x * x

    def plain_horner(coefficients: tuple[float, ...]) -> np.ndarray:
        value = x2 * F32(coefficients[0]) + F32(coefficients[1])
        for c in coefficients[2:]:
            value = x2 * value + F32(c)
        return value

    return (x * plain_horner(numerator)) / plain_horner(denominator)


def deepcpu_clip(x: np.ndarray, clip: float) -> np.ndarray:
    """DeepCPU's `clip_add_bias` after its add: `std::max(-c, std::min(c, x))`, whose
    comparisons (`x < c ? x : c`, then `-c < m ? m : -c`) turn NaN into +c."""
    below = np.where(x < F32(clip), x, F32(clip))
    return np.where(F32(-clip) < below, below, F32(-clip))


def hard_sigmoid(x: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    return np.maximum(F32(0), np.minimum(F32(1), F32(alpha) * x + F32(beta)))


def evaluate(function: UnaryFunction, x: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """`function` on a float32 array, ONNX Runtime's float32 steps (module docstring)."""
    x = np.asarray(x, F32)
    with np.errstate(over="ignore", invalid="ignore"):
        if function is UnaryFunction.SIGMOID:
            return np.maximum(F32(0), rational(x, LOGISTIC) + F32(0.5))
        if function is UnaryFunction.SILU:
            return x * evaluate(UnaryFunction.SIGMOID, x, alpha, beta)
        if function is UnaryFunction.TANH:
            return rational(x, TANH)
        if function is UnaryFunction.DEEPCPU_TANH:
            return deepcpu_tanh(x, alpha, beta)
        if function is UnaryFunction.DEEPCPU_CLIP:
            return deepcpu_clip(x, alpha)
        if function is UnaryFunction.LEAKY_RELU:
            return np.where(x >= 0, x, F32(alpha) * x)
        if function is UnaryFunction.HARD_SIGMOID:
            return hard_sigmoid(x, alpha, beta)
        if function is UnaryFunction.ERF:
            return erf(x)
        if function is UnaryFunction.SQRT:
            return np.sqrt(x)
        if function is UnaryFunction.NEG:
            return np.negative(x)
        if function is UnaryFunction.ABS:
            return np.abs(x)
        if function is UnaryFunction.FLOOR:
            return np.floor(x)
        if function is UnaryFunction.CEIL:
            return np.ceil(x)
        if function is UnaryFunction.SIGN:
            signs = np.where(x > 0, F32(1), np.where(x < 0, F32(-1), F32(0)))
            return np.where(np.isnan(x), x, signs)
        if function is UnaryFunction.GELU:
            return F32(0.5) * x * (erf(x * F32(SQRT1_2)) + F32(1))
        if function is UnaryFunction.GELU_TANH:
            inner = x * (F32(GELU_TANH["C"]) * x * x + F32(GELU_TANH["B"]))
            return F32(0.5) * x * (rational(inner, TANH) + F32(1))
        if function is UnaryFunction.EXP:  # MlasComputeExp's AVX-512F kernel (no upper clamp)
            return np.where(x == np.inf, x, mlas_exp(x, SumExpKernel.AVX512F))
        if function is UnaryFunction.LOG:
            return onnx_log(x)
        if function in LIBM:
            return libm_of(LIBM[function], x)
        if function in EIGEN_TRIG:
            from qdialect import eigen_trig

            return getattr(eigen_trig, f"onnx_{function.value}")(x)
        if function is UnaryFunction.SOFTPLUS:
            return onnx_softplus(x)
        if function is UnaryFunction.ELU:
            return onnx_elu(x, alpha)
        if function is UnaryFunction.SELU:
            return onnx_selu(x, alpha, beta)
        if function is UnaryFunction.CELU:
            return onnx_celu(x, alpha)
        return x * hard_sigmoid(x, 1 / 6, 0.5)


def table_inputs(in_type: UniformQuantizedType) -> np.ndarray:
    """The stored input values in table order: -128..127 (signed) or 0..255."""
    low = -(TABLE_SIZE // 2) if in_type.signed else 0
    return np.arange(low, low + TABLE_SIZE, dtype=np.int64)


def lookup_table(
    transform: Callable[[np.ndarray], np.ndarray],
    in_type: UniformQuantizedType,
    out_type: UniformQuantizedType,
) -> np.ndarray:
    """The result's stored values for every 8-bit input: quantize(transform(dequantize(x)))
    with DESIGN §2's float32 dequantize and quantize (int64, in table order)."""
    for t in (in_type, out_type):
        if t.granularity is not Granularity.PER_TENSOR or t.storage_width != 8:
            raise ValueError(f"a table maps per-tensor 8-bit types, got {t}")
    scale = F32(float32_scale(in_type.scale))
    real = (table_inputs(in_type) - in_type.zero_point).astype(F32) * scale
    values = np.asarray(transform(real), F32)
    out = (out_type.scale, out_type.zero_point, out_type.qmin, out_type.qmax)
    return np.array([quantize_value(float(v), *out) for v in values], np.int64)


def function_table(
    function: UnaryFunction,
    alpha: float,
    beta: float,
    in_type: UniformQuantizedType,
    out_type: UniformQuantizedType,
) -> np.ndarray:
    """The table of `qnn.activation` between a dequantize from `in_type` and a quantize to
    `out_type` (what fold-qdq fuses them into)."""
    return lookup_table(lambda x: evaluate(function, x, alpha, beta), in_type, out_type)


# Glow's lowering of quantized sigmoid/tanh (lib/Quantization/Quantization.cpp,
# replaceQuantized{Sigmoid,Tanh}WithLookupTable): the input rescaled to an int8 type for this
# range, the table between it and an int8 type for the output range, the result rescaled.
GLOW_RANGES = {
    UnaryFunction.SIGMOID: ((-6.0, 6.0), (0.0, 1.0)),
    UnaryFunction.TANH: ((-3.0, 3.0), (-1.0, 1.0)),
}


def glow_table(
    function: UnaryFunction, in_type: UniformQuantizedType, out_type: UniformQuantizedType
) -> np.ndarray:
    """Glow's three steps (rescale, table, rescale) composed into one 8-bit → 8-bit table:
    the rescales are DESIGN §2's requantize, the middle types Glow's asymmetric int8 types
    of `GLOW_RANGES`, the function `evaluate`'s (ONNX Runtime's) float32 steps. Not the
    function as the QDQ model describes it: inputs beyond ±6 (±3) are clipped first."""
    (in_lo, in_hi), (out_lo, out_hi) = GLOW_RANGES[function]
    middle = [
        UniformQuantizedType.per_tensor("i8", in_type.expressed_type, *choose_qparams(lo, hi))
        for lo, hi in ((in_lo, in_hi), (out_lo, out_hi))
    ]
    rescale_in = lookup_table(lambda x: x, in_type, middle[0])
    inner = function_table(function, 0.0, 0.0, middle[0], middle[1])
    rescale_out = lookup_table(lambda x: x, middle[1], out_type)
    low = TABLE_SIZE // 2  # the int8 middle types index entry v + 128
    return rescale_out[inner[rescale_in + low] + low]
