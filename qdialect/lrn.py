"""ONNX Runtime 1.31's CPU LRN (LocalResponseNormalization) on float32 NCHW arrays, bit for bit
(measured: 0 differing bits over 1.4 million outputs, NaN payloads included, on one to four
intra-op threads).

`lrn.cc`, as Caffe2 wrote it:
1. the scale, per pixel, a running sum over the channel window: from `bias`, `a·x²` of the
   window's channels added in order (`a = alpha / size` in float32, the squares of the padding
   channels +0), then per channel the head's `a·x²` added and the tail's `(-a)·x²` added, each
   a float32 multiply, then an add (no FMA);
2. `y = x · scale^(-beta)` as one Eigen assignment over the flattened tensor (on several
   threads, one per block of `ort_blocks`): elements in whole aligned groups of four take
   Eigen's SSE `pow` (`packet_pow`: repeated squaring for an integer exponent in [-3, 7], else
   its double-word `generic_pow`), the others (the last `size % 4`; a block's unaligned head
   and tail) the C library's `powf`.

`qdialect` keeps ORT's float arithmetic in numpy, as the compiled code (`lrn.c.j2`) computes it.
"""

from __future__ import annotations

import numpy as np

from qdialect.float32_arrays import eigen_pexp, powf, x86_add, x86_mul, x86_quiet

F32 = np.float32
U32 = np.uint32


def _from_bits(bits) -> np.ndarray:
    return np.asarray(bits, dtype=U32).view(F32)


# ---- Eigen's float pow on SSE packets (Eigen 1d8b82b07, GenericPacketMathFunctions.h), no FMA
def _veltkamp(x):
    gamma = F32(4097.0) * x
    rho = x - gamma
    hi = rho + gamma
    return hi, x - hi


def _twoprod(x, y):
    """Dekker's exact product as a double word, its multiply-adds unfused."""
    xh, xl = _veltkamp(x)
    yh, yl = _veltkamp(y)
    p_hi = x * y
    p_lo = xh * yh + (-p_hi)
    p_lo = xh * yl + p_lo
    p_lo = xl * yh + p_lo
    return p_hi, xl * yl + p_lo


def _fast_twosum(x, y):
    s = x + y
    return s, y - (s - x)


def _fast_twosum_dd(xh, xl, yh, yl):
    rh, rl = _fast_twosum(xh, yh)
    return _fast_twosum(rh, (yl + rl) + xl)


def _twoprod_df(xh, xl, y):
    c_hi, c_lo1 = _twoprod(xh, y)
    t_hi, t_lo1 = _fast_twosum(c_hi, xl * y)
    return _fast_twosum(t_hi, t_lo1 + c_lo1)


_C0 = 1.442695041742110273474963832995854318141937255859375
_C1 = -7.2134751588268664068692714863573201000690460205078125e-01
_C0H, _C1H = F32(_C0), F32(_C1)
_C0L, _C1L = F32(_C0 - float(_C0H)), F32(_C1 - float(_C1H))
_LOG2_POLY = tuple(
    F32(c)
    for c in (
        9.7010828554630279541015625e-02,
        -1.6896486282348632812500000e-01,
        1.7200836539268493652343750e-01,
        -1.7892272770404815673828125e-01,
        2.0505344867706298828125000e-01,
        -2.4046677350997924804687500e-01,
        2.8857553005218505859375000e-01,
        -3.6067414283752441406250000e-01,
        4.8089790344238281250000000e-01,
    )
)


def _accurate_log2(z):
    """log2(z) for z in [sqrt(1/2), sqrt(2)) as a double word."""
    x = z - F32(1)
    p = np.full_like(x, _LOG2_POLY[0])
    for c in _LOG2_POLY[1:]:
        p = p * x + c
    ph, pl = _twoprod(x, p)
    ph, pl = _fast_twosum_dd(_C1H, _C1L, ph, pl)
    ph, pl = _twoprod_df(ph, pl, x)
    ph, pl = _fast_twosum_dd(_C0H, _C0L, ph, pl)
    return _twoprod_df(ph, pl, x)


def _frexp(a):
    """Eigen's `pfrexp`: mantissa in [0.5, 1) and exponent, as floats (0 and non-finite kept)."""
    denormal = np.abs(a) < F32(1.1754944e-38)
    scaled = np.where(denormal, a * F32(16777216.0), a).astype(F32)
    e = (np.abs(scaled).view(U32) >> U32(23)).astype(np.int32).astype(F32)
    offset = np.where(denormal, F32(-150), F32(-126)).astype(F32)
    kept = (a == 0) | (e == F32(255))
    m = np.where(kept, a, _from_bits((scaled.view(U32) & U32(0x807FFFFF)) | U32(0x3F000000)))
    return m.astype(F32), np.where(kept, F32(0), e + offset).astype(F32)


def _round_away(x):
    magnitude = np.abs(x)
    floor = np.floor(magnitude)
    rounded = floor + np.where(magnitude - floor >= F32(0.5), F32(1), F32(0)).astype(F32)
    return np.copysign(rounded, x).astype(F32)


def _ldexp_fast(a, e):
    biased = np.clip(e + F32(127), F32(0), F32(255)).astype(np.int32)
    return a * _from_bits(biased.astype(U32) << U32(23))


def _ldexp_generic(a, e):
    """Eigen's `pldexp_generic`: four factors, for exponents out of one float's range."""
    ei = np.clip(e, F32(-278), F32(278)).astype(np.int32)
    b = ei >> 2
    c = _from_bits(((b + 127).astype(U32) << U32(23)) & U32(0xFFFFFFFF))
    out = ((a * c) * c) * c
    return out * _from_bits((ei - 3 * b + 127).astype(U32) << U32(23))


def _exp2(x0):
    """Eigen's `generic_exp2`: exp of the double-word product by ln 2 (its argument, a
    fraction of one, keeps `pexp_float` on its fast path)."""
    x = np.maximum(np.minimum(x0, F32(129)), F32(-151))
    hi, lo = _twoprod(np.full_like(x, F32(0.6931471805599453)), x)
    return eigen_pexp(hi) * (F32(1) + lo)


def _pow_positive(x, y: F32, any_lane):
    """Eigen's `generic_pow_impl`: x^y for x > 0 through double-word log2 and exp2."""
    m, e = _frexp(x)
    low = m < F32(0.70710678118654752440)
    m = np.where(low, F32(2) * m, m).astype(F32)
    e = np.where(low, e - F32(1), e).astype(F32)
    rh, rl = _accurate_log2(m)
    f1h, f1l = _twoprod(e, np.full_like(x, y))
    f2h, f2l = _twoprod_df(rh, rl, np.full_like(x, y))
    fh, fl = _fast_twosum_dd(f1h, f1l, f2h, f2l)
    n = _round_away(fh)
    r = (fh - n) + fl
    n_r = _round_away(r)
    r, n = r - n_r, n + n_r
    e_r = _exp2(r)
    scaled = np.where(any_lane(np.abs(n) > F32(125.0)), _ldexp_generic(e_r, n), _ldexp_fast(e_r, n))
    return scaled.astype(F32)


def _non_integer_errors(x, p, y: F32):
    """Eigen's `handle_nonint_nonint_errors` for a finite non-integer exponent."""
    magnitude = np.abs(x)
    r = np.where(x <= 0, _from_bits(U32(0xFFFFFFFF)), p)
    r = np.where(x == 0, F32(0) if y > 0 else F32(np.inf), r)
    r = np.where(magnitude == np.inf, F32(np.inf) if y > 0 else F32(0), r)
    return np.where(magnitude == 1, np.where(x >= 0, F32(1), r), r).astype(F32)


def _integer_pow(x, y: F32, any_lane):
    """Eigen's `generic_pow` for an integer exponent outside [-3, 7] (x a scale)."""
    p = _pow_positive(np.abs(x), y, any_lane)
    odd = abs(float(y)) % 2 == 1
    p = np.where(x == 0, F32(np.inf) if y < 0 else F32(0), p)
    p = np.where(np.signbit(x) & odd, -p, p)
    infinite = F32(0) if y < 0 else F32(np.inf)
    p = np.where(np.isinf(x), np.where((x < 0) & odd, -infinite, infinite), p)
    p = np.where(np.isnan(x), F32(np.nan), p)
    return np.where(x == 1, F32(1), p).astype(F32)


def packet_pow(s: np.ndarray, y: float) -> np.ndarray:
    """Eigen's `unary_pow` on whole SSE packets (`s` of a length divisible by 4): the choices
    Eigen makes for any lane of a packet hold for its four."""
    y = F32(y)

    def any_lane(mask):
        return np.repeat(mask.reshape(-1, 4).any(axis=1), 4)

    if _round_away(np.array([y]))[0] == y:
        if -3 <= y <= 7:  # repeated squaring
            if y == 0:
                return np.ones_like(s)
            r = (F32(1) / s).astype(F32) if y < 0 else s.copy()
            result, m = np.ones_like(s), int(abs(y))
            while m > 1:
                if m % 2:
                    result = result * r
                r, m = r * r, m // 2
            return (result * r).astype(F32)
        return _integer_pow(s, y, any_lane)
    p = _non_integer_errors(s, _pow_positive(s, y, any_lane), y)
    return np.where(np.isnan(s), x86_quiet(s), p).astype(F32)


def lrn_scale(x: np.ndarray, size: int, alpha: float, bias: float) -> np.ndarray:
    """Step 1: `bias + (alpha / size) · Σ x²` over each channel's window, as a running sum."""
    n, c, h, w = x.shape
    a = F32(F32(alpha) / F32(size))
    pre = (size - 1) // 2
    squares = np.zeros((n, c + size - 1, h, w), F32)
    squares[:, pre : pre + c] = x86_mul(x, x)
    scale = np.empty_like(x)
    running = np.full((n, h, w), F32(bias), F32)
    for k in range(size):
        running = x86_add(x86_mul(squares[:, k], a), running)
    scale[:, 0] = running
    for k in range(1, c):
        running = x86_add(x86_mul(squares[:, k + size - 1], a), running)  # the window's new head
        running = x86_add(x86_mul(squares[:, k - 1], -a), running)  # ... less its old tail
        scale[:, k] = running
    return scale


def _divide_up(a: int, b: int) -> int:
    return -(-a // b)


# Eigen's TensorCostModel cost of one element of the last loop: 4 bytes loaded, 4 stored,
# 320 cycles (ORT's `TensorOpCost` for LRN), as `TryParallelFor` weighs it
_COST = 4 * (11.0 / 64) + 4 * (11.0 / 64) + 320.0


def ort_blocks(total: int, threads: int) -> list[tuple[int, int]]:
    """The blocks ORT's `ThreadPool::TryParallelFor` cuts the last loop into on `threads`
    intra-op threads (Eigen's cost model and block coarsening, fixed-block shards): each is an
    Eigen assignment of its own, so its unaligned head and tail take `powf`. One block on one
    thread and for small tensors (measured for 2, 3 and 4 threads)."""
    if threads <= 1 or total <= 1:
        return [(0, total)]
    wanted = (total * _COST - 100000.0) / 100000.0 + 0.9
    if min(threads, max(1, int(wanted))) == 1:
        return [(0, total)]
    block = min(total, max(_divide_up(total, 4 * threads), int(1.0 / (_COST / 40000.0))))
    largest = min(total, 2 * block)
    count = _divide_up(total, block)
    efficiency = count / (_divide_up(count, threads) * threads)
    previous = count
    while efficiency < 1.0 and previous > 1:
        coarser = _divide_up(total, previous - 1)
        if coarser > largest:
            break
        coarser_count = previous = _divide_up(total, coarser)
        coarser_efficiency = coarser_count / (_divide_up(coarser_count, threads) * threads)
        if coarser_efficiency + 0.01 >= efficiency:
            block, efficiency = coarser, max(efficiency, coarser_efficiency)
    if total <= block:
        return [(0, total)]
    shards = min(total // block, 8, threads)
    per_shard = (total // block // shards) * block
    blocks = []
    for shard in range(shards):
        start = shard * per_shard
        end = total if shard == shards - 1 else (shard + 1) * per_shard
        blocks += [(b, min(end, b + block)) for b in range(start, end, block)]
    return blocks


def lrn(
    x: np.ndarray, size: int, alpha: float, beta: float, bias: float, threads: int = 1
) -> np.ndarray:
    """ONNX LRN of a float32 [N, C, H, W] array as ORT's kernel computes it (module docstring)
    on `threads` intra-op threads (`ort_blocks`)."""
    x = np.ascontiguousarray(x, dtype=F32)
    exponent = -F32(beta)
    with np.errstate(all="ignore"):
        scale = lrn_scale(x, size, alpha, bias).ravel()
        flat = x.ravel()
        out = np.empty_like(flat)
        for first, last in ort_blocks(flat.size, threads):
            start = min(last, _divide_up(first, 4) * 4)  # the output buffer is 16-byte aligned
            end = start + (last - start) // 4 * 4
            out[start:end] = x86_mul(flat[start:end], packet_pow(scale[start:end], exponent))
            for lo, hi in ((first, start), (end, last)):
                tail = powf(scale[lo:hi], np.full(hi - lo, exponent, F32))
                out[lo:hi] = x86_mul(tail, flat[lo:hi])
    return out.reshape(x.shape)
