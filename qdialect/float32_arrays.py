"""float32 arithmetic on numpy arrays: C's `fmaf` and `powf`, elementwise, `qnn.dequantize` of
stored constants, and BatchNormalization's per-channel affine map.

numpy's float32 operators round once per operation, as C does with -ffp-contract=off; what
numpy lacks is a fused multiply-add. ONNX Runtime's QLinearAdd and MLAS's FMA3 logistic and
tanh kernels use one, and both the reference interpreter and the compile-time tables
(`qdialect.activations`) need it, so it lives below both.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

import numpy as np

F32 = np.float32


def fmaf(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """float32 `a * b + c` rounded once (C's fmaf), elementwise with broadcasting.

    The product of two float32 values is exact in float64; the float64 sum `s` may round, but
    float32 rounding boundaries (midpoints) are float64 numbers, so rounding `s` to float32 is
    already correct unless `s` lands exactly on a midpoint; then the exact remainder of the sum
    (TwoSum) decides the direction. Only those elements (a normal float32's midpoint has its 29
    low float64 mantissa bits 1000...0; below 2^-125 every element is checked) take that path.
    """
    a64, b64, c64 = (np.asarray(v, dtype=np.float64) for v in (a, b, c))
    s = a64 * b64 + c64
    r = np.asarray(s.astype(F32))
    low = np.asarray(s).view(np.int64) & _LOW_BITS
    check = (low == _MIDPOINT_BITS) | (np.abs(s) < _SMALL)
    if not check.any():
        return r
    a64, b64, c64 = (np.broadcast_to(v, s.shape)[check] for v in (a64, b64, c64))
    r = r.copy()
    r[check] = _fmaf_exact(a64, b64, c64)
    return r


_LOW_BITS = np.int64((1 << 29) - 1)
_MIDPOINT_BITS = np.int64(1 << 28)
_SMALL = 2.0**-125


def _fmaf_exact(a64: np.ndarray, b64: np.ndarray, c64: np.ndarray) -> np.ndarray:
    """`fmaf` by TwoSum on float64 operands, for every element."""
    p = a64 * b64
    s = p + c64
    z = s - p
    err = (p - (s - z)) + (c64 - z)  # exact: p + c = s + err
    r = s.astype(F32)
    r64 = r.astype(np.float64)
    toward = np.where(s > r64, np.inf, -np.inf).astype(F32)
    other = np.nextafter(r, toward)
    midpoint = (r64 + other.astype(np.float64)) / 2
    on_mid = (s == midpoint) & (err != 0) & np.isfinite(s)
    # At a midpoint r is the even neighbour; move to `other` iff err points past the midpoint.
    move = on_mid & (np.sign(err) == np.sign(other.astype(np.float64) - r64))
    return np.where(move, other, r).astype(F32)


def dequantized_values(values: np.ndarray, qtype) -> np.ndarray:
    """`qnn.dequantize` of stored integers through a per-tensor or axis-0 `qtype`
    (`UniformQuantizedType`): `float32(q - zp) * s` in float32."""
    values = np.asarray(values)
    shape = (-1,) + (1,) * max(values.ndim - 1, 0)
    scales = np.array(qtype.scales, np.float64).astype(np.float32).reshape(shape)
    zeros = np.array(qtype.zero_points, np.int64).reshape(shape)
    return (values.astype(np.int64) - zeros).astype(np.float32) * scales


def batch_norm_affine(
    scale: np.ndarray, bias: np.ndarray, mean: np.ndarray, var: np.ndarray, epsilon: float
) -> tuple[np.ndarray, np.ndarray]:
    """ONNX Runtime's inference BatchNormalization (`batch_norm.h`) per channel, in its float32
    steps: `inv_std = 1 / sqrt(var + epsilon)`, `s = inv_std · scale`, `t = bias - mean · s`;
    the kernel then computes `x · s + t` (two roundings, no FMA)."""
    with np.errstate(all="ignore"):
        inv_std = F32(1) / np.sqrt(np.asarray(var, F32) + F32(epsilon))
        s = (inv_std * np.asarray(scale, F32)).astype(F32)
        t = (np.asarray(bias, F32) - np.asarray(mean, F32) * s).astype(F32)
    return s, t


@functools.cache
def _libm_powf():
    libm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
    libm.powf.restype = ctypes.c_float
    libm.powf.argtypes = [ctypes.c_float, ctypes.c_float]
    return np.frompyfunc(libm.powf, 2, 1)


def powf(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """C's `powf` elementwise with broadcasting: the C library's own (glibc's), which is what
    ONNX Runtime's float Pow calls (`std::pow` on floats) and what compiled code links; numpy's
    float32 power rounds differently."""
    a, b = np.asarray(a, F32), np.asarray(b, F32)
    with np.errstate(invalid="ignore", over="ignore"):
        result = np.asarray(_libm_powf()(a, b), dtype=F32)
    return result.reshape(np.broadcast_shapes(a.shape, b.shape))


MULTIPLIED_EXPONENTS = (2.0, 3.0)  # ORT's Pow multiplies by a one-element exponent of these


def onnx_pow(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """ONNX Runtime's float32 Pow (element_wise_ops.cc, PowImpl): a one-element exponent of 2
    or 3 multiplies, `x · x` and `(x · x) · x`; anything else is `powf`."""
    x, y = np.asarray(x, F32), np.asarray(y, F32)
    if y.size == 1 and float(y.reshape(())) in MULTIPLIED_EXPONENTS:
        square = (x * x).astype(F32)
        result = square if float(y.reshape(())) == 2.0 else (square * x).astype(F32)
        return result.reshape(np.broadcast_shapes(x.shape, y.shape))
    return powf(x, y)
