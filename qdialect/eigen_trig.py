"""ONNX Runtime 1.31.1's float32 Sin, Cos, Asin, Acos and Atan (element_wise_ops.cc: Eigen array
expressions, `array().sin()`, over an aligned buffer): Eigen's SSE packet functions (Eigen
commit 1d8b82b0, GenericPacketMathFunctions.h; ORT builds them without FMA, so every `pmadd(a,
b, c)` is `(a * b) + c` rounded twice and `pnmadd(a, b, c)` is `c - a * b`) on the first
`size - size % 4` elements, glibc's `sinf`... on the rest (`packets_then_tail`). A helper
measured it: 0 mismatched bits against ORT over 2 to 4 million values per function, huge
arguments (Payne-Hanek), NaN payloads and every tail length included. Each packet function is
elementwise, so it runs on the whole flat array at once, float32 after every operation; the
C kernel's `qd_eigen_sin`... (the prelude) are the same steps for one lane.

- sin, cos (`psincos_float`): y = round(|x| · 2/π) by the 1.5·2^23 trick (its low bits the
  quadrant), |x| − y·π/2 in four unfused pieces; finite |x| past 25966 (sin) or 18838 (cos)
  reduced by `trig_reduce_huge` (192 bits of 2/π, 2.62 fixed point, the rest times π/2 in
  double); the sine or cosine polynomial by the quadrant's parity, the sign xor'd in.
- asin (`pasin_float`): |x| > 0.5 through sqrt(0.5 − 0.5|x|) and π/2 − 2·p; a degree-4 Horner
  polynomial; all-ones NaN past 1.
- acos (`pacos_float`): sqrt(1 − |x|) times an even/odd split polynomial; π − that where the
  sign bit is set; a NaN comes back quieted.
- atan (`generic_atan`): |x| > 1 through 1/|x| (a true division) and π/2 − p; p = t·(P/Q).
"""

from __future__ import annotations

import numpy as np

from qdialect.float32_arrays import F32, libm_of, packets_then_tail

U32 = np.uint32
_SIGN = U32(0x80000000)
_ALL_ONES = U32(0xFFFFFFFF)  # por(invalid_mask, p): Eigen's NaN for asin outside [-1, 1]


def _bits(a):
    return np.asarray(a, F32).view(U32)


def _float(b):
    return np.asarray(b, U32).view(F32)


def _madd(a, b, c):
    """Eigen's pmadd on SSE without FMA: padd(pmul(a, b), c)."""
    return ((a * b).astype(F32) + c).astype(F32)


def _horner(coefficients: tuple[F32, ...], x: np.ndarray) -> np.ndarray:
    """Eigen's `ppolevl`: Horner's steps with `pmadd` (unfused), highest power first."""
    p = np.full_like(x, coefficients[0])
    for c in coefficients[1:]:
        p = _madd(p, x, c)
    return p


def _nmadd(a, b, c):
    """Eigen's pnmadd on SSE without FMA: psub(c, pmul(a, b))."""
    return (c - (a * b).astype(F32)).astype(F32)


# ---------------------------------------------------------------------------------------------
# psincos_float
# 192 bits of 2/pi for the Payne-Hanek reduction, as Eigen stores them (`trig_reduce_huge`)
_TWO_OVER_PI = np.array(
    [
        0x00000028,
        0x000028BE,
        0x0028BE60,
        0x28BE60DB,
        0xBE60DB93,
        0x60DB9391,
        0xDB939105,
        0x9391054A,
        0x91054A7F,
        0x054A7F09,
        0x4A7F09D5,
        0x7F09D5F4,
        0x09D5F47D,
        0xD5F47D4D,
        0xF47D4D37,
        0x7D4D3770,
        0x4D377036,
        0x377036D8,
        0x7036D8A5,
        0x36D8A566,
        0xD8A5664F,
        0xA5664F10,
        0x664F10E4,
        0x4F10E410,
        0x10E41000,
        0xE4100000,
    ],
    np.uint64,
)
_PIO2_62 = 3.4061215800865545e-19  # pi/2 * 2^-62 (double)
_M32 = np.uint64(0xFFFFFFFF)


def _trig_reduce_huge(val: np.ndarray):
    """Eigen's `trig_reduce_huge` on finite |x| >= 2^14 (float32 in, the reduced float32 and
    the quadrant 0..3 out): x * 2/pi in 2.62 fixed point, rounded, the rest times pi/2 in double."""
    xi = _bits(val).astype(np.uint64)
    e = ((xi >> np.uint64(23)) - np.uint64(118)) & _M32
    xi = (((xi & np.uint64(0x7FFFFF)) | np.uint64(0x800000)) << (e & np.uint64(7))) & _M32
    i = (e >> np.uint64(3)).astype(np.int64)
    t1, t2, t3 = _TWO_OVER_PI[i - 1], _TWO_OVER_PI[i + 3], _TWO_OVER_PI[i + 7]
    with np.errstate(over="ignore"):
        p = xi * t3
        p = xi * t2 + (p >> np.uint64(32))
        p = (((xi * t1) & _M32) << np.uint64(32)) + p
        q = (p + (np.uint64(1) << np.uint64(61))) >> np.uint64(62)
        p = p - (q << np.uint64(62))
    r = (p.view(np.int64).astype(np.float64) * _PIO2_62).astype(F32)
    return r, q.astype(np.int64).astype(np.uint32)


_COS_POLY = tuple(
    F32(c)
    for c in (
        2.4372266125283204019069671630859375e-05,
        -0.00138865201734006404876708984375,
        0.041666619479656219482421875,
        -0.5,
        1.0,
    )
)
_SIN_POLY = tuple(
    F32(c)
    for c in (
        -0.0001959234114083702898469196984621021329076029360294342041015625,
        0.0083326873655616851693794799871284340042620897293090820312500000,
        -0.1666666203982298255503735617821803316473960876464843750000000000,
    )
)
# without FMA: four pmadd steps subtracting y * pi/2 in pieces (0xbfc90000, 0xb9fdc000,
# 0x342ee000, 0x2e74b9ee)
_PIO2_PIECES = tuple(
    F32(c)
    for c in (
        -1.5703125,
        -0.000483989715576171875,
        1.62865035235881805419921875e-07,
        5.5644315544167710640977020375430583953857421875e-11,
    )
)


def _eigen_psincos(x_in: np.ndarray, sine: bool) -> np.ndarray:
    x_in = np.asarray(x_in, F32)
    x = np.abs(x_in)
    y = (x * F32(0.636619746685028076171875)).astype(F32)
    y_round = (y + F32(12582912.0)).astype(F32)  # 1.5 * 2^23: the integer lands in the low bits
    y_int = _bits(y_round).copy()
    y = (y_round - F32(12582912.0)).astype(F32)
    for c in _PIO2_PIECES:
        x = _madd(y, c, x)
    huge_th = F32(25966.0) if sine else F32(18838.0)
    huge = (np.abs(x_in) >= huge_th) & np.isfinite(x_in)  # per lane: other lanes keep the fast path
    if huge.any():
        x = x.copy()
        x[huge], y_int[huge] = _trig_reduce_huge(np.abs(x_in[huge]))
    quadrant_sign = (y_int << U32(30)) if sine else ((y_int + U32(1)) << U32(30))
    sign = ((_bits(x_in) if sine else U32(0)) ^ quadrant_sign) & _SIGN
    use_first = (y_int & U32(1)) == 0
    x2 = (x * x).astype(F32)
    y1 = _horner(_COS_POLY, x2)
    y2 = (_horner(_SIN_POLY, x2) * x2).astype(F32)
    y2 = _madd(y2, x, x)
    r = np.where(use_first, y2, y1) if sine else np.where(use_first, y1, y2)
    return _float(_bits(r) ^ sign)


def eigen_psin(x):
    with np.errstate(all="ignore"):
        return _eigen_psincos(x, True)


def eigen_pcos(x):
    with np.errstate(all="ignore"):
        return _eigen_psincos(x, False)


# ---------------------------------------------------------------------------------------------
_PI = F32(np.pi)  # EIGEN_PI as float: 3.14159274
_PI_2 = F32(np.pi / 2)  # 1.57079637
_ACOS_P = tuple(
    F32(c)
    for c in (
        2.36423197202384471893310546875e-3,
        -1.1368644423782825469970703125e-2,
        2.717843465507030487060546875e-2,
        -4.8969544470310211181640625e-2,
        8.8804088532924652099609375e-2,
        -0.214591205120086669921875,
        1.57079637050628662109375,
    )
)  # p6 .. p0


def eigen_pacos(x_in):
    """Eigen's `pacos_float`: acos(|x|) = sqrt(1 - |x|) * P(|x|), P of degree 6 split into even
    and odd halves in x^2; pi - that where the sign bit of x is set (also -0 and -NaN)."""
    with np.errstate(all="ignore"):
        x_in = np.asarray(x_in, F32)
        p6, p5, p4, p3, p2, p1, p0 = _ACOS_P
        neg = (_bits(x_in) & _SIGN) != 0
        abs_x = np.abs(x_in)
        x2 = (x_in * x_in).astype(F32)
        p_even = _madd(p6, x2, p4)
        p_odd = _madd(p5, x2, p3)
        p_even = _madd(p_even, x2, p2)
        p_odd = _madd(p_odd, x2, p1)
        p_even = _madd(p_even, x2, p0)
        p = _madd(p_odd, abs_x, p_even)
        denom = np.sqrt((F32(1) - abs_x).astype(F32)).astype(F32)
        result = (denom * p).astype(F32)
        result = np.where(neg, (_PI - result).astype(F32), result).astype(F32)
        # A NaN comes out as x86 hands it on through ORT's compiled code: the input's, quieted
        # (the product denom * p keeps p's NaN, which carries x's sign through x * x).
        return np.where(np.isnan(x_in), _float(_bits(x_in) | U32(0x00400000)), result)


_ASIN_ALPHA = tuple(
    F32(c)
    for c in (
        5.08838854730129241943359375e-2,
        3.95139865577220916748046875e-2,
        7.550220191478729248046875e-2,
        0.16664917767047882080078125,
        1.00000011920928955078125,
    )
)


def eigen_pasin(x_in):
    """Eigen's `pasin_float`: |x| > 0.5 mapped to sqrt(0.5 - 0.5|x|) (pi/2 - 2 asin of it), asin(t)
    = t * P(t^2) (degree 4, Horner), the sign of x put back by xor, all-ones NaN where |x| > 1."""
    with np.errstate(all="ignore"):
        x_in = np.asarray(x_in, F32)
        abs_x = np.abs(x_in)
        sign = _bits(x_in) & _SIGN
        invalid = F32(1) < abs_x
        x_large = np.sqrt(_nmadd(F32(0.5), abs_x, F32(0.5))).astype(F32)
        large = F32(0.5) < abs_x
        x = np.where(large, x_large, abs_x).astype(F32)
        x2 = (x * x).astype(F32)
        p = (_horner(_ASIN_ALPHA, x2) * x).astype(F32)
        p = np.where(large, _nmadd(F32(2), p, _PI_2), p).astype(F32)
        p = _bits(p) ^ sign
        return _float(np.where(invalid, _ALL_ONES, p))


_ATAN_ALPHA = tuple(
    F32(c)
    for c in (1.12026982009410858154296875e-01, 7.296695709228515625e-01, 8.109951019287109375e-01)
)
_ATAN_BETA = tuple(
    F32(c)
    for c in (
        1.00917108356952667236328125e-02,
        2.8318560123443603515625e-01,
        1.0,
        8.109951019287109375e-01,
    )
)


def eigen_patan(x_in):
    """Eigen's `generic_atan` with `patan_reduced<float>`: |x| > 1 replaced by 1/|x| (a true
    division: `preciprocal` is `pdiv(1, a)` without FMA) and the result by pi/2 - atan, atan(t) =
    t * (P(t^2) / Q(t^2)), P of degree 2, Q of degree 3, the sign of x put back by xor."""
    with np.errstate(all="ignore"):
        x_in = np.asarray(x_in, F32)
        abs_x = np.abs(x_in)
        sign = _bits(x_in) & _SIGN
        large = F32(1) < abs_x
        x = np.where(large, (F32(1) / abs_x).astype(F32), abs_x).astype(F32)
        x2 = (x * x).astype(F32)
        p, q = _horner(_ATAN_ALPHA, x2), _horner(_ATAN_BETA, x2)
        p = (x * (p / q).astype(F32)).astype(F32)
        r = np.where(large, (_PI_2 - p).astype(F32), p).astype(F32)
        return _float(_bits(r) ^ sign)


def _onnx(packet, tail_name: str):
    def function(x: np.ndarray) -> np.ndarray:
        return packets_then_tail(x, packet, lambda v: libm_of(tail_name, v))

    return function


onnx_sin = _onnx(eigen_psin, "sinf")
onnx_cos = _onnx(eigen_pcos, "cosf")
onnx_asin = _onnx(eigen_pasin, "asinf")
onnx_acos = _onnx(eigen_pacos, "acosf")
onnx_atan = _onnx(eigen_patan, "atanf")
