"""The reference of the float32 ops of qdialect/qnn/float_math.py, written as the C computes
them (float_math.c.j2) so that NaN bits and signed zeros agree too, not only values.
"""

from __future__ import annotations

import numpy as np

from qdialect import qnn
from qdialect.float32_arrays import batch_norm_affine, binary, fmaf, maximum, minimum
from qdialect.float_sum import pair_sum
from qdialect.lrn import lrn
from qdialect.pool3d import pool3d
from qdialect.qnn import Reduction
from qdialect.qnn.float_math import INTEGER_SOURCES, SIMPLIFIED_KERNEL_LENGTH
from qdialect.rotary import rotary
from qdialect.storage import integer_signature, storage_bounds
from qdialect.tensors import element_type
from runtime.reference.f32math import F32
from runtime.reference.interpreter import Frame, attr_float, handles
from runtime.signature import numpy_dtype

# C's NAN (GCC's __builtin_nanf("")): what a reduction over a set holding a NaN returns.
QUIET_NAN = np.array(0x7FC00000, np.uint32).view(F32)


def reduce(
    kind: Reduction,
    x: np.ndarray,
    axes: tuple[int, ...],
    from_first: bool = False,
    in_order: bool = False,
    ones_gemm: bool = False,
) -> np.ndarray:
    """`qnn.reduce`: a fold over the reduced elements of each result in row-major order from
    +inf (min) or -inf (max), a NaN anywhere in the set giving `QUIET_NAN`; or the rows' sums
    (`row_sums`; `in_order`: from +0.0 in row-major order; `ones_gemm`: `ones_gemm_sums`),
    divided by their length for a mean. Result shape: the axes dropped."""
    x = np.asarray(x, F32)
    kept = [d for d in range(x.ndim) if d not in axes]
    out_shape = tuple(x.shape[d] for d in kept)
    columns = x.transpose(kept + list(axes)).reshape(int(np.prod(out_shape)), -1)
    if kind is Reduction.PROD:
        with np.errstate(all="ignore"):
            if in_order or columns.shape[1] == 0:
                products = np.ones(columns.shape[0], F32)
                for column in columns.T:
                    products = (products * column).astype(F32)
            else:
                products = row_sums(columns, from_first, np.multiply)
            return products.reshape(out_shape)
    if kind in (Reduction.SUM, Reduction.MEAN):
        with np.errstate(all="ignore"):
            if ones_gemm:
                sums = ones_gemm_sums(columns)
            elif in_order:  # a sequential cumsum, then + 0.0 (an all -0.0 row sums to +0.0)
                sums = np.zeros(columns.shape[0], F32)
                if columns.shape[1]:
                    sums = (np.cumsum(columns, axis=1, dtype=F32)[:, -1] + F32(0)).astype(F32)
            else:
                sums = row_sums(columns, from_first)
            if kind is Reduction.MEAN:
                sums = (sums / F32(columns.shape[1])).astype(F32)
            return sums.reshape(out_shape)
    combine = minimum if kind is Reduction.MIN else maximum
    acc = np.full(columns.shape[0], np.inf if kind is Reduction.MIN else -np.inf, F32)
    for column in columns.T:
        acc = combine(acc, column)
    acc = np.where(np.isnan(acc), QUIET_NAN, acc)
    return acc.reshape(out_shape)


PACKET = 4  # floats in Eigen's SSE packet, 16 bytes


def ones_gemm_sums(rows: np.ndarray) -> np.ndarray:
    """MLAS's product of a ones row by a [n, m] matrix (`MlasSgemmKernelM1`), for each row of
    `rows` [m, n]: from +0.0, each block of four `((x0 + x1) + x2) + x3` added to the sum so far
    (block + sum), then a block of two, then one of one."""
    acc = np.zeros(rows.shape[0], F32)
    n, k = rows.shape[1], 0
    while n - k >= 4:
        block = ((rows[:, k] + rows[:, k + 1]).astype(F32) + rows[:, k + 2]).astype(F32)
        acc = ((block + rows[:, k + 3]).astype(F32) + acc).astype(F32)
        k += 4
    if (n - k) & 2:
        acc = ((rows[:, k] + rows[:, k + 1]).astype(F32) + acc).astype(F32)
        k += 2
    if (n - k) & 1:
        acc = (rows[:, k] + acc).astype(F32)
    return acc


def row_sums(rows: np.ndarray, from_first: bool = False, combine=np.add) -> np.ndarray:
    """Eigen's vectorized sum of each row of a row-major float32 [r, n] tensor whose first
    element sits on a 16-byte boundary (`redux_impl`, LinearVectorizedTraversal): lanes from
    the row's first aligned element, two packets in turn, their sum (and one more packet), the
    lanes paired `(l0 + l2) + (l1 + l3)`, then the leading and the trailing elements in order.
    Rows with no whole packet after their aligned start sum in order. `from_first`: every
    row's lanes start at its first element (Eigen's sum of an expression, which has no address
    to align to). `combine`: `np.multiply` for Eigen's product (`prod()`), the same order."""
    count, n = rows.shape
    out = np.zeros(count, F32)
    if n == 0:  # an empty sum
        return out
    if from_first:
        return _aligned_sums(rows, 0, combine)
    for start in {(-r * n) % PACKET for r in range(min(count, PACKET))}:
        members = np.arange(count)[(-np.arange(count) * n) % PACKET == start]
        out[members] = _aligned_sums(rows[members], min(start, n), combine)
    return out


def _aligned_sums(rows: np.ndarray, start: int, combine=np.add) -> np.ndarray:
    """`row_sums` of rows that share their aligned start."""
    n = rows.shape[1]
    whole = (n - start) // PACKET * PACKET
    if whole == 0:
        acc = rows[:, 0].copy()
        for h in range(1, n):
            acc = combine(acc, rows[:, h]).astype(F32)
        return acc
    pairs = (n - start) // (2 * PACKET) * 2 * PACKET
    lanes = rows[:, start : start + PACKET].copy()
    if whole > PACKET:
        second = rows[:, start + PACKET : start + 2 * PACKET].copy()
        for h in range(start + 2 * PACKET, start + pairs, 2 * PACKET):
            lanes = combine(lanes, rows[:, h : h + PACKET]).astype(F32)
            second = combine(second, rows[:, h + PACKET : h + 2 * PACKET]).astype(F32)
        lanes = combine(lanes, second).astype(F32)
        if whole > pairs:
            lanes = combine(lanes, rows[:, start + pairs : start + pairs + PACKET]).astype(F32)
    acc = combine(combine(lanes[:, 0], lanes[:, 2]), combine(lanes[:, 1], lanes[:, 3]))
    for h in [*range(start), *range(start + whole, n)]:
        acc = combine(acc, rows[:, h]).astype(F32)
    return acc


def cast(x: np.ndarray, width: int, signed: bool) -> np.ndarray:
    """`qnn.cast`: truncated toward zero, saturated to the integer range, NaN to 0 (int64)."""
    qmin, qmax = storage_bounds(width, signed)
    t = np.trunc(np.nan_to_num(np.asarray(x, np.float64), nan=0.0))
    high, low = t >= float(qmax), t <= float(qmin)  # int64's bounds are 2^63 as a float
    inside = np.where(high | low, 0.0, t).astype(np.int64)
    return np.where(high, qmax, np.where(low, qmin, inside)).astype(np.int64)


@handles(qnn.FloatBinaryOp)
def _binary(op, frame: Frame) -> list[np.ndarray]:
    return [binary(op.kind_value, frame[op.lhs], frame[op.rhs])]


@handles(qnn.ReduceOp)
def _reduce(op, frame: Frame) -> list[np.ndarray]:
    y = reduce(
        op.kind_value,
        frame[op.input],
        op.axis_list,
        op.from_first is not None,
        op.in_order is not None,
        op.ones_gemm is not None,
    )
    return [y.reshape(op.result.type.get_shape())]


@handles(qnn.RoundOp)
def _round(op, frame: Frame) -> list[np.ndarray]:
    return [np.rint(frame[op.input]).astype(F32)]


@handles(qnn.CastOp)
def _cast(op, frame: Frame) -> list[np.ndarray]:
    if integer_signature(element_type(op.input.type)) in INTEGER_SOURCES:
        result = integer_signature(element_type(op.result.type))
        if result == (1, True):
            return [(frame[op.input] != 0).astype(np.int8)]  # booleans: one byte, 0 or 1
        if result is not None:  # wraps around, as C's conversion does
            return [frame[op.input].astype(numpy_dtype(element_type(op.result.type)))]
        return [frame[op.input].astype(F32)]  # nearest, ties to even: C's conversion
    if integer_signature(element_type(op.result.type)) is None:
        return [frame[op.input]]  # float32 to float32: the same values
    width, signed = integer_signature(element_type(op.result.type))
    dtype = np.dtype(f"{'' if signed else 'u'}int{width}")
    return [cast(frame[op.input], width, signed).astype(dtype)]


def _layer_norm_vector(rows: np.ndarray, epsilon: F32) -> tuple[np.ndarray, np.ndarray]:
    """Mean and inverse deviation of rows of 8 or more, as `MlasLayerNormKernelAvx2`: the mean
    a float64 sum in 4 lanes (halves added, then the two lanes, then the rest in order) divided
    in float64; the centred sum of squares an FMA chain in 8 float32 lanes, their halves added
    and then `pair_sum`, and the tail as GCC compiles that loop: 4 unfused `d·d` added in
    order, then FMAs; `1 / sqrtf(var / n + epsilon)`."""
    count, n = rows.shape
    wide = rows.astype(np.float64)
    quads = n - n % 4
    lanes = np.zeros((count, 4))
    for h in range(0, quads, 4):  # in order, as the C adds (numpy's sum may pair them up)
        lanes = lanes + wide[:, h : h + 4]
    total = pair_sum(lanes)
    for h in range(quads, n):
        total = total + wide[:, h]
    mean = (total / n).astype(F32)
    var = _sum_of_squares_vector((rows - mean[:, None]).astype(F32))
    inverse = (F32(1) / np.sqrt((var / F32(n)).astype(F32) + epsilon)).astype(F32)
    return mean, inverse


def _layer_norm_scalar(rows: np.ndarray, epsilon: F32) -> tuple[np.ndarray, np.ndarray]:
    """Mean and deviation of rows shorter than 8, as `layer_norm_impl.cc`'s scalar loop:
    Welford's update in float32 without FMA, `sqrtf(m2 / n + epsilon)`."""
    count, n = rows.shape
    mean = np.zeros(count, F32)
    m2 = np.zeros(count, F32)
    for h in range(n):
        delta = (rows[:, h] - mean).astype(F32)
        mean = (mean + (delta / F32(h + 1)).astype(F32)).astype(F32)
        m2 = (m2 + (delta * (rows[:, h] - mean).astype(F32)).astype(F32)).astype(F32)
    return mean, np.sqrt((m2 / F32(n)).astype(F32) + epsilon).astype(F32)


def _sum_of_squares_vector(rows: np.ndarray) -> np.ndarray:
    """`_layer_norm_vector`'s FMA chain of squares (8 lanes, the halves, `pair_sum`, then the
    tail: 4 unfused products, then FMAs) on `rows` as they are."""
    n = rows.shape[1]
    octets = n - n % 8
    acc = np.zeros((rows.shape[0], 8), F32)
    for h in range(0, octets, 8):
        acc = fmaf(rows[:, h : h + 8], rows[:, h : h + 8], acc)
    total = pair_sum(acc[:, :4] + acc[:, 4:])
    unfused = octets + 4 if n - octets >= 4 else octets
    for h in range(octets, unfused):
        total = (total + (rows[:, h] * rows[:, h]).astype(F32)).astype(F32)
    for h in range(unfused, n):
        total = fmaf(rows[:, h], rows[:, h], total)
    return total


def _layer_norm_two_pass(rows: np.ndarray, epsilon: F32) -> tuple[np.ndarray, np.ndarray]:
    """Mean and deviation as EmbedLayerNormalization's kernel: float32 sums in order, the mean
    `Σx / n`, then `sqrtf(Σ (x - mean)² / n + epsilon)`, each square rounded (no FMA)."""
    count, n = rows.shape
    total = np.zeros(count, F32)
    for h in range(n):
        total = (total + rows[:, h]).astype(F32)
    mean = (total / F32(n)).astype(F32)
    centred = (rows - mean[:, None]).astype(F32)
    squares = (centred * centred).astype(F32)
    total = np.zeros(count, F32)
    for h in range(n):
        total = (total + squares[:, h]).astype(F32)
    return mean, np.sqrt((total / F32(n)).astype(F32) + epsilon).astype(F32)


def rms_norm(rows: np.ndarray, scale: np.ndarray, epsilon: F32, scalar: bool = False) -> np.ndarray:
    """A simplified (RMS) layer norm of float32 rows: from `SIMPLIFIED_KERNEL_LENGTH` on,
    `inv = 1 / sqrt(Σx² / n + epsilon)` with the kernel's sum and `y = x·inv·scale`; shorter
    rows (every row: `scalar`) the scalar loop, `Σ x·x` in order and
    `y = x / sqrt(Σ/n + epsilon) · scale`."""
    n = rows.shape[1]
    if n >= SIMPLIFIED_KERNEL_LENGTH and not scalar:
        mean_square = (_sum_of_squares_vector(rows) / F32(n)).astype(F32)
        inverse = (F32(1) / np.sqrt(mean_square + epsilon)).astype(F32)
        return ((rows * inverse[:, None]).astype(F32) * scale).astype(F32)
    total = np.zeros(rows.shape[0], F32)
    for h in range(n):
        total = (total + (rows[:, h] * rows[:, h]).astype(F32)).astype(F32)
    deviation = np.sqrt((total / F32(n)).astype(F32) + epsilon).astype(F32)
    return ((rows / deviation[:, None]).astype(F32) * scale).astype(F32)


def layer_norm(
    x: np.ndarray,
    scale: np.ndarray,
    bias: np.ndarray | None,
    axis: int,
    epsilon: F32,
    simplified: bool = False,
    welford: bool = False,
    two_pass: bool = False,
) -> np.ndarray:
    """`qnn.layer_norm` on float32 arrays: ONNX Runtime 1.31's CPU kernel, rows of 8 or more
    in `MlasLayerNormKernelAvx2`'s order, shorter rows (every row: `welford`) in the scalar
    kernel's; `simplified`: `rms_norm` (its scalar loop at every length with `welford`);
    `two_pass`: EmbedLayerNormalization's sums in order (`_layer_norm_two_pass`)."""
    x = np.asarray(x, F32)
    n = int(np.prod(x.shape[axis:]))
    rows = x.reshape(-1, n)
    scale = np.asarray(scale, F32).reshape(n)
    with np.errstate(all="ignore"):
        if simplified:
            y = rms_norm(rows, scale, epsilon, welford)
        elif n >= 8 and not welford and not two_pass:
            mean, inverse = _layer_norm_vector(rows, epsilon)
            normed = ((rows - mean[:, None]).astype(F32) * inverse[:, None]).astype(F32)
            if bias is None:
                y = normed * scale
            else:
                y = fmaf(normed, scale, np.asarray(bias, F32).reshape(n))
        else:
            stats = _layer_norm_two_pass if two_pass else _layer_norm_scalar
            mean, deviation = stats(rows, epsilon)
            normed = ((rows - mean[:, None]).astype(F32) / deviation[:, None]).astype(F32)
            y = (normed * scale).astype(F32)
            if bias is not None:
                y = y + np.asarray(bias, F32).reshape(n)
    return np.asarray(y, F32).reshape(x.shape)


@handles(qnn.LayerNormOp)
def _layer_norm(op, frame: Frame) -> list[np.ndarray]:
    bias = frame[op.bias] if op.bias is not None else None
    epsilon = F32(op.epsilon.value.data)
    x, scale, simplified = frame[op.input], frame[op.scale], op.simplified is not None
    modes = (op.welford is not None, op.two_pass is not None)
    return [layer_norm(x, scale, bias, op.axis_value, epsilon, simplified, *modes)]


def layer_norm_stats(x: np.ndarray, axis: int, epsilon: F32) -> tuple[np.ndarray, np.ndarray]:
    """`qnn.layer_norm_stats`: each row's mean and inverse deviation, as `layer_norm` computes
    them (rows of 8 or more `_layer_norm_vector`'s, shorter ones `1 / _layer_norm_scalar`'s)."""
    x = np.asarray(x, F32)
    n = int(np.prod(x.shape[axis:]))
    rows = x.reshape(-1, n)
    with np.errstate(all="ignore"):
        if n >= 8:
            mean, inverse = _layer_norm_vector(rows, epsilon)
        else:
            mean, deviation = _layer_norm_scalar(rows, epsilon)
            inverse = (F32(1) / deviation).astype(F32)
    shape = (*x.shape[:axis], *[1] * (x.ndim - axis))
    return mean.reshape(shape), inverse.reshape(shape)


@handles(qnn.LayerNormStatsOp)
def _layer_norm_stats(op, frame: Frame) -> list[np.ndarray]:
    return list(layer_norm_stats(frame[op.input], op.axis_value, F32(op.epsilon.value.data)))


@handles(qnn.RotaryOp)
def _rotary(op, frame: Frame) -> list[np.ndarray]:
    cos, sin = frame[op.cos], frame[op.sin]
    return [rotary(frame[op.input], cos, sin, op.interleaved is not None)]


@handles(qnn.LrnOp)
def _lrn(op, frame: Frame) -> list[np.ndarray]:
    values = (attr_float(v) for v in (op.alpha, op.beta, op.bias))
    return [lrn(frame[op.input], op.size.value.data, *values, threads=op.threads_value)]


@handles(qnn.Pool3DOp)
def _pool3d(op, frame: Frame) -> list[np.ndarray]:
    include_pad, loop = op.count_include_pad is not None, op.loop is not None
    return [pool3d(frame[op.input], op.window(), op.out_shape(), op.maximum, include_pad, loop)]


@handles(qnn.BatchNormOp)
def _batch_norm(op, frame: Frame) -> list[np.ndarray]:
    """`x · s + t` per channel (axis 1), two float32 roundings."""
    x = np.asarray(frame[op.input], F32)
    s, t = batch_norm_affine(
        *(frame[v] for v in (op.scale, op.bias, op.mean, op.var)), op.epsilon.value.data
    )
    channel = (1, -1) + (1,) * (x.ndim - 2)
    with np.errstate(all="ignore"):
        scaled = (x * s.reshape(channel)).astype(F32)
        return [(scaled + t.reshape(channel)).astype(F32)]
