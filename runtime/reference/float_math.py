"""The reference of the float32 ops of qdialect/qnn/float_math.py, written as the C computes
them (float_math.c.j2) so that NaN bits and signed zeros agree too, not only values.
"""

from __future__ import annotations

import numpy as np

from qdialect import qnn
from qdialect.float32_arrays import batch_norm_affine
from qdialect.qnn import FloatBinary, Reduction
from qdialect.storage import integer_signature, storage_bounds
from qdialect.tensors import element_type
from runtime.reference.f32math import F32
from runtime.reference.interpreter import Frame, handles

# C's NAN (GCC's __builtin_nanf("")): what a reduction over a set holding a NaN returns.
QUIET_NAN = np.array(0x7FC00000, np.uint32).view(F32)


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
    a, b = np.broadcast_arrays(a, b)
    return (minimum if kind is FloatBinary.MIN else maximum)(a, b).astype(F32)


def reduce(kind: Reduction, x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """`qnn.reduce`: a fold over the reduced elements of each result in row-major order from
    +inf (min) or -inf (max); a NaN anywhere in the set gives `QUIET_NAN`. Result shape: the
    axes dropped."""
    x = np.asarray(x, F32)
    kept = [d for d in range(x.ndim) if d not in axes]
    out_shape = tuple(x.shape[d] for d in kept)
    columns = x.transpose(kept + list(axes)).reshape(int(np.prod(out_shape)), -1)
    combine = minimum if kind is Reduction.MIN else maximum
    acc = np.full(columns.shape[0], np.inf if kind is Reduction.MIN else -np.inf, F32)
    for column in columns.T:
        acc = combine(acc, column)
    acc = np.where(np.isnan(acc), QUIET_NAN, acc)
    return acc.reshape(out_shape)


def cast(x: np.ndarray, width: int, signed: bool) -> np.ndarray:
    """`qnn.cast`: truncated toward zero, saturated to the integer range, NaN to 0 (int64)."""
    qmin, qmax = storage_bounds(width, signed)
    x64 = np.asarray(x, np.float64)
    clipped = np.clip(np.trunc(np.nan_to_num(x64, nan=0.0)), qmin, qmax)
    return clipped.astype(np.int64)


@handles(qnn.FloatBinaryOp)
def _binary(op, frame: Frame) -> list[np.ndarray]:
    return [binary(op.kind_value, frame[op.lhs], frame[op.rhs])]


@handles(qnn.ReduceOp)
def _reduce(op, frame: Frame) -> list[np.ndarray]:
    y = reduce(op.kind_value, frame[op.input], op.axis_list)
    return [y.reshape(op.result.type.get_shape())]


@handles(qnn.RoundOp)
def _round(op, frame: Frame) -> list[np.ndarray]:
    return [np.rint(frame[op.input]).astype(F32)]


@handles(qnn.CastOp)
def _cast(op, frame: Frame) -> list[np.ndarray]:
    width, signed = integer_signature(element_type(op.result.type))
    dtype = np.dtype(f"{'' if signed else 'u'}int{width}")
    return [cast(frame[op.input], width, signed).astype(dtype)]


@handles(qnn.LayerNormOp)
def _layer_norm(op, frame: Frame) -> list[np.ndarray]:
    """The float32 steps of qnn.LayerNormOp, the row sums in element order."""
    x = np.asarray(frame[op.input], F32)
    axis = op.axis_value
    n = int(np.prod(x.shape[axis:]))
    rows = x.reshape(-1, n)
    scale = np.asarray(frame[op.scale], F32).reshape(n)
    mean = np.zeros(rows.shape[0], F32)
    mean_square = np.zeros(rows.shape[0], F32)
    with np.errstate(all="ignore"):
        for h in range(n):
            column = rows[:, h]
            mean = mean + column
            mean_square = mean_square + column * column
        length, epsilon = F32(n), F32(op.epsilon.value.data)
        mean = mean / length
        d = np.sqrt(mean_square / length - mean * mean + epsilon)
        y = (rows - mean[:, None]) / d[:, None] * scale
        if op.bias is not None:
            y = y + np.asarray(frame[op.bias], F32).reshape(n)
    return [y.astype(F32).reshape(x.shape)]


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
