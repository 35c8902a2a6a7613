"""float32 arithmetic on numpy arrays: C's `fmaf` and `powf`, elementwise, ONNX Runtime's Pow and
Log, `qnn.dequantize` of stored constants, BatchNormalization's per-channel affine map, and
`qnn.binary` (which the reference interpreter runs and `fold-qdq` tabulates).

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

from qdialect.arithmetic import dynamic_qparams
from qdialect.qnn.float_math import FloatBinary

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


def dynamic_qparams_of(x: np.ndarray) -> tuple[float, int]:
    """`dynamic_qparams` of an array's extremes as MLAS finds them (`mlas_min_max`):
    ONNX Runtime's DynamicQuantizeLinear's scale and zero point for `x` (one thread)."""
    return dynamic_qparams(*(float(v) for v in mlas_min_max(np.asarray(x, F32).ravel())))


def mlas_min_max(x: np.ndarray) -> tuple[F32, F32]:
    """`MlasReduceMinimumMaximumF32KernelAvx` (min_max_elements.cpp) on a float32 vector: from
    32 elements on, four 8-lane running extremes (`_mm256_min_ps(acc, x)`: a NaN element
    takes its lane, the next element there replaces it), joined 0|1, 2|3, then the two;
    8-element blocks into the first; the 8 lanes halved and reduced 4 → 1 (lanes 0|2 and 1|3,
    then those); then the last `n % 8` by `std::min` / `std::max` (a NaN element is skipped,
    a NaN extreme stays). Without NaN: the extremes."""
    n, lo, hi = x.size, F32(np.finfo(F32).max), LOWEST
    i = 0
    if n >= 8:
        lows, highs = [np.full(8, lo, F32)], [np.full(8, hi, F32)]
        if n >= 32:
            lows, highs = lows * 4, highs * 4
            while n - i >= 32:
                blocks = [x[i + 8 * k : i + 8 * k + 8] for k in range(4)]
                highs = [maxps(h, b) for h, b in zip(highs, blocks, strict=True)]
                lows = [minps(lo4, b) for lo4, b in zip(lows, blocks, strict=True)]
                i += 32
            highs = [maxps(maxps(highs[0], highs[1]), maxps(highs[2], highs[3]))]
            lows = [minps(minps(lows[0], lows[1]), minps(lows[2], lows[3]))]
        high, low = highs[0], lows[0]
        while n - i >= 8:
            high, low = maxps(high, x[i : i + 8]), minps(low, x[i : i + 8])
            i += 8
        high, low = maxps(high[:4], high[4:]), minps(low[:4], low[4:])
        high = maxps(maxps(high[0], high[2]), maxps(high[1], high[3]))
        low = minps(minps(low[0], low[2]), minps(low[1], low[3]))
        hi, lo = F32(high), F32(low)
    for v in x[i:]:
        hi = v if hi < v else hi  # std::max(hi, v)
        lo = v if v < lo else lo  # std::min(lo, v)
    return lo, hi


LOWEST = F32(np.finfo(np.float32).min)  # -FLT_MAX: MLAS's identity of max (not -inf)


def maxps(a: np.ndarray, v: np.ndarray) -> np.ndarray:
    """`_mm_max_ps(a, v)`: a where a > v, else v (a NaN on either side gives v)."""
    return np.where(a > v, a, v)


def minps(a: np.ndarray, v: np.ndarray) -> np.ndarray:
    """`_mm_min_ps(a, v)`: a where a < v, else v (a NaN on either side gives v)."""
    return np.where(a < v, a, v)


def std_max(a: np.ndarray, v: np.ndarray) -> np.ndarray:
    """`std::max(a, v)`: v where a < v, else a (a NaN on either side gives a)."""
    return np.where(a < v, v, a)


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
def _libm():
    return ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")


@functools.cache
def _libm_powf():
    libm = _libm()
    libm.powf.restype = ctypes.c_float
    libm.powf.argtypes = [ctypes.c_float, ctypes.c_float]
    return np.frompyfunc(libm.powf, 2, 1)


def libm_of(name: str, values: np.ndarray) -> np.ndarray:
    """C's float function `name` (`logf`, `tanhf`, `sinhf`...: glibc's, what ONNX Runtime's
    C++ calls when `std::log` and the others are handed a float) elementwise, float32 in and
    out."""
    values = np.asarray(values, F32)
    if values.size == 0:
        return values.copy()
    return np.asarray(_libm_unary(name)(values), F32)


def logf(x: float) -> float:
    """C's `logf` of one float32 value."""
    return float(libm_of("logf", F32(x)))


def powf(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """C's `powf` elementwise with broadcasting: the C library's own (glibc's), which is what
    ONNX Runtime's float Pow calls (`std::pow` on floats) and what compiled code links; numpy's
    float32 power rounds differently."""
    a, b = np.asarray(a, F32), np.asarray(b, F32)
    with np.errstate(invalid="ignore", over="ignore"):
        result = np.asarray(_libm_powf()(a, b), dtype=F32)
    return result.reshape(np.broadcast_shapes(a.shape, b.shape))


MULTIPLIED_EXPONENTS = (2.0, 3.0)  # ORT's Pow multiplies by a one-element exponent of these


def x86_quiet(a: np.ndarray) -> np.ndarray:
    """A NaN quieted (bit 22 set), as x86 propagates a signalling operand."""
    return (np.asarray(a, F32).view(np.uint32) | np.uint32(0x00400000)).view(F32)


def _nan_first(a, b, r: np.ndarray) -> np.ndarray:
    """x86 SSE's NaN for `a op b`: a's if a is NaN, else b's (quieted), else the result's own
    (numpy's loops pick either operand's)."""
    a, b = np.broadcast_to(a, r.shape), np.broadcast_to(b, r.shape)
    r = np.where(np.isnan(b), x86_quiet(b), r)
    return np.where(np.isnan(a), x86_quiet(a), r).astype(F32)


def x86_mul(a, b) -> np.ndarray:
    """float32 `a * b` with x86's NaN: the first NaN operand's (C's `qd_x86_mul`)."""
    return _nan_first(a, b, np.asarray(np.multiply(a, b), F32))


def x86_add(a, b) -> np.ndarray:
    """float32 `a + b` with x86's NaN: the first NaN operand's (C's `qd_x86_add`)."""
    return _nan_first(a, b, np.asarray(np.add(a, b), F32))


def pow_in_double(x: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    """float32 `x` to integer powers as ORT raises them: C's pow in double, rounded."""
    with np.errstate(all="ignore"):
        return np.power(np.asarray(x, np.float64), np.asarray(exponent, np.float64)).astype(F32)


def onnx_pow(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """ONNX Runtime's float32 Pow (element_wise_ops.cc, PowImpl): a one-element exponent of 2
    or 3 multiplies, `x · x` and `(x · x) · x`; another integer one is `pow_in_double`;
    anything else is `powf`."""
    integer = np.asarray(y).dtype.kind in "iu"
    x, y = np.asarray(x, F32), np.asarray(y, F32)
    if integer and not (y.size == 1 and float(y.reshape(())) in MULTIPLIED_EXPONENTS):
        return pow_in_double(x, y)
    if y.size == 1 and float(y.reshape(())) in MULTIPLIED_EXPONENTS:
        square = (x * x).astype(F32)
        result = square if float(y.reshape(())) == 2.0 else (square * x).astype(F32)
        return result.reshape(np.broadcast_shapes(x.shape, y.shape))
    return powf(x, y)


# Eigen's rational approximation of log(1 + x) on [sqrt(1/2) - 1, sqrt(2) - 1]:
# x · p(x) / q(x), the coefficients highest power first (`plog_impl_float`)
_LOG_P = tuple(F32(c) for c in (0.18256296349849254, 1.0000000190281063, 1.0000000190281136))
_LOG_Q = tuple(F32(c) for c in (0.049616247954120038, 0.59923249590823520, 1.4999999999999927, 1))
_SQRT_HALF = F32(0.707106781186547524)
_LN2 = F32(0.693147180559945309417)
_EIGEN_NAN = np.array(0xFFFFFFFF, np.uint32).view(F32)  # the invalid mask OR'ed in: all ones
_PACKET = 4  # ONNX Runtime's Eigen runs on SSE packets of 4 floats


def _eigen_plog(x: np.ndarray) -> np.ndarray:
    """Eigen's `plog_impl_float` on float32 values, its multiply-adds unfused (SSE)."""
    m, e = np.frexp(x)  # m in [0.5, 1); denormals split exactly, as Eigen's pfrexp does
    m, e = m.astype(F32), e.astype(F32)
    low = m < _SQRT_HALF  # [0.5, 1) moved to [sqrt(1/2), sqrt(2)), less 1
    e = e - np.where(low, F32(1), F32(0))
    t = (m - F32(1)) + np.where(low, m, F32(0))
    p = np.full_like(t, _LOG_P[0])
    for c in _LOG_P[1:]:
        p = p * t + c
    q = np.full_like(t, _LOG_Q[0])
    for c in _LOG_Q[1:]:
        q = q * t + c
    y = (t * p) / q
    y = e * _LN2 + y
    y = np.where(x == np.inf, F32(np.inf), y)
    y = np.where((x < 0) | np.isnan(x), _EIGEN_NAN, y)
    return np.where(x == 0, F32(-np.inf), y).astype(F32)


def onnx_log(x: np.ndarray) -> np.ndarray:
    """ONNX Runtime 1.31's float32 Log (element_wise_ops.cc: Eigen's `array().log()` on an
    aligned buffer): Eigen's rational `plog` on packets of 4 from the first element, the last
    `size % 4` through the C library's `logf` (glibc's, which ORT links). Checked against ORT
    on 2^20 values and every size up to 19; numpy's float32 log differs on about 17 %."""
    return packets_then_tail(x, _eigen_plog, _c("logf"))


@functools.cache
def _libm_unary(name: str):
    function = getattr(_libm(), name)
    function.restype = ctypes.c_float
    function.argtypes = [ctypes.c_float]
    return np.frompyfunc(function, 1, 1)


def _eigen_floor(a: np.ndarray) -> np.ndarray:
    """Eigen's `generic_floor` (no SSE4.1): rint by adding and taking 2^23, then down."""
    big = F32(8388608.0)
    r = np.copysign((np.abs(a) + big) - big, a).astype(F32)
    r = np.where(a < r, r - F32(1), r).astype(F32)
    return np.where(np.abs(a) < big, r, a)


def _bits_float(bits: np.ndarray) -> np.ndarray:
    return (np.asarray(bits, np.int64) & 0xFFFFFFFF).astype(np.uint32).view(F32)


def eigen_pexp(x_in: np.ndarray) -> np.ndarray:
    """Eigen's `pexp_float` (SSE, no FMA) lane by lane: `pldexp_fast` where |x| <= 87, the
    generic `pldexp` (and 0 below -104) elsewhere (the two agree wherever both apply, so the
    packet-wide choice Eigen makes is no matter)."""
    x = np.where(x_in > F32(88.723), F32(88.723), x_in)  # minps(88.723, x): NaN stays
    m = _eigen_floor(x * F32(1.44269504088896341) + F32(0.5))
    r = m * F32(-0.693359375) + x
    r = m * F32(2.12194440e-4) + r
    r2 = r * r
    even = r2 * F32(1.37449637986719608306884765625e-3) + F32(4.166965186595916748046875e-2)
    odd = r2 * F32(8.36894474923610687255859375e-3) + F32(0.16666518151760101318359375)
    even = r2 * even + F32(0.49999988079071044921875)
    y = r2 * (r * odd + even) + (r + F32(1))
    t = np.minimum(F32(255), np.maximum(F32(0), m + F32(127)))
    fast = y * _bits_float(np.where(np.isnan(t), -(2**31), t.astype(np.int64)) << 23)
    c = np.minimum(F32(278), np.maximum(F32(-278), m))
    e = np.where(np.isnan(c), -(2**31), np.nan_to_num(c).astype(np.int64))
    b = e >> 2
    f = _bits_float((b + 127) << 23)
    slow = ((y * f) * f) * f * _bits_float((e - 3 * b + 127) << 23)
    slow = np.where(x_in < F32(-104), F32(0), np.where(x_in > slow, x_in, slow))
    fast = np.where(x_in > fast, x_in, fast)  # maxps(x, ldexp): NaN gives the ldexp's
    return np.where(np.abs(x) > F32(87), slow, fast).astype(F32)


def _eigen_plog1p(x: np.ndarray) -> np.ndarray:
    """Eigen's `generic_log1p`: Kahan's `x · log(u) / (u - 1)` with u = 1 + x."""
    u = (x + F32(1)).astype(F32)
    log_u = _eigen_plog(u)
    q = np.where(np.isnan(log_u), log_u, log_u / (u - F32(1)))
    large = np.where(np.isnan(q), q, x * q)
    return np.where((u == F32(1)) | (u == log_u), x, large).astype(F32)


def packets_then_tail(x: np.ndarray, packet, tail) -> np.ndarray:
    """An Eigen array expression over an aligned buffer: `packet` (numpy, the SSE lanes) on
    the first `size - size % 4` elements, `tail` (the C library's scalar functions) on the
    rest, as ONNX Runtime's one-thread kernels run them over the whole tensor."""
    x = np.asarray(x, F32)
    flat = x.reshape(-1)
    packed = flat.size // _PACKET * _PACKET
    with np.errstate(all="ignore"):
        head = np.asarray(packet(flat[:packed]), F32)
        rest = np.asarray(tail(flat[packed:]), F32) if packed < flat.size else flat[:0]
    return np.concatenate([head, rest]).reshape(x.shape)


def _c(name: str):
    return lambda v: libm_of(name, v)


def onnx_softplus(x: np.ndarray) -> np.ndarray:
    """ONNX Runtime 1.31's Softplus (activations.h): `x > 0 ? x + log1p(exp(-x)) :
    log1p(exp(x))`, both sides computed."""

    def formula(v, exp, log1p):
        return np.where(v > 0, v + log1p(exp(-v)), log1p(exp(v)))

    return packets_then_tail(
        x,
        lambda v: formula(v, eigen_pexp, _eigen_plog1p),
        lambda v: formula(v, _c("expf"), _c("log1pf")),
    )


def onnx_elu(x: np.ndarray, alpha: float) -> np.ndarray:
    """ONNX Runtime's Elu: `x >= 0 ? x : alpha · (exp(x) - 1)`."""

    def formula(v, exp):
        return np.where(v >= 0, v, F32(alpha) * (exp(v) - F32(1)))

    return packets_then_tail(x, lambda v: formula(v, eigen_pexp), lambda v: formula(v, _c("expf")))


def onnx_selu(x: np.ndarray, alpha: float, gamma: float) -> np.ndarray:
    """ONNX Runtime's Selu: `x > 0 ? gamma · x : (gamma · alpha) · (exp(x) - 1)`, the product
    of the parameters rounded first."""
    scale = F32(gamma) * F32(alpha)

    def formula(v, exp):
        return np.where(v > 0, F32(gamma) * v, scale * (exp(v) - F32(1)))

    return packets_then_tail(x, lambda v: formula(v, eigen_pexp), lambda v: formula(v, _c("expf")))


def onnx_celu(x: np.ndarray, alpha: float) -> np.ndarray:
    """ONNX Runtime's Celu (`activations.h`): `max(x, 0) + min(alpha · (exp(x / alpha) - 1), 0)`
    with Eigen's `cwiseMax`/`cwiseMin` (std::max/min: a NaN first operand is kept, and
    max(-0, 0) is -0)."""
    a = F32(alpha)

    def formula(v, exp):
        negative = a * (exp(v / a) - F32(1))
        return np.where(v < 0, F32(0), v) + np.where(F32(0) < negative, F32(0), negative)

    return packets_then_tail(x, lambda v: formula(v, eigen_pexp), lambda v: formula(v, _c("expf")))


def minimum(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`np.minimum` bit for bit: `a < b || isnan(a) ? a : b`."""
    return np.where((a < b) | np.isnan(a), a, b)


def maximum(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`np.maximum` bit for bit: `a > b || isnan(a) ? a : b`."""
    return np.where((a > b) | np.isnan(a), a, b)


def binary(kind: FloatBinary, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`qnn.binary` on float32 arrays (numpy broadcasting)."""
    a, b = np.asarray(a, F32), np.asarray(b, F32)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if kind is FloatBinary.SUB:
            return (a - b).astype(F32)
        if kind is FloatBinary.DIV:
            return (a / b).astype(F32)
        if kind is FloatBinary.PRELU:
            return np.where(a < 0, a * b, a).astype(F32)
        if kind is FloatBinary.POW:
            return powf(a, b)
        if kind is FloatBinary.POW_DOUBLE:
            return pow_in_double(a, b)
        if kind is FloatBinary.FMOD:
            return np.fmod(a, b).astype(F32)
        if kind is FloatBinary.MOD:
            return np.mod(a, b).astype(F32)
    a, b = np.broadcast_arrays(a, b)
    return (minimum if kind is FloatBinary.MIN else maximum)(a, b).astype(F32)
