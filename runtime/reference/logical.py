"""Reference semantics of the boolean and integer ops (qdialect/qnn/logical.py): booleans are
int8 0/1."""

from __future__ import annotations

import numpy as np

from qdialect import qnn
from qdialect.integer_arrays import bit_shift
from qdialect.qnn import Comparison, IntegerArithmetic, Logical
from runtime.reference.interpreter import Frame, handles

LOGICAL = {Logical.AND: np.logical_and, Logical.OR: np.logical_or, Logical.XOR: np.logical_xor}


@handles(qnn.LogicalOp)
def _logical(op, frame: Frame) -> list[np.ndarray]:
    return [LOGICAL[op.kind_value](frame[op.lhs], frame[op.rhs]).astype(np.int8)]


@handles(qnn.SelectOp)
def _select(op, frame: Frame) -> list[np.ndarray]:
    chosen = frame[op.true_value]
    if op.merged is not None:  # ORT's merge: a zero (-0 too) of the true value is its +0
        chosen = np.where(chosen != 0, chosen, np.zeros((), chosen.dtype))
    picked = np.where(frame[op.cond] != 0, chosen, frame[op.false_value])
    return [np.ascontiguousarray(picked)]


@handles(qnn.BroadcastOp)
def _broadcast(op, frame: Frame) -> list[np.ndarray]:
    return [np.ascontiguousarray(np.broadcast_to(frame[op.input], op.result.type.get_shape()))]


COMPARE = {
    Comparison.EQUAL: np.equal,
    Comparison.LESS: np.less,
    Comparison.LESS_EQUAL: np.less_equal,
    Comparison.GREATER: np.greater,
    Comparison.GREATER_EQUAL: np.greater_equal,
}


def truncating_divide(a: np.ndarray, b: np.ndarray, dtype) -> np.ndarray:
    """C's integer division (toward zero) without its traps: by zero 0, MIN / -1 MIN."""
    safe = np.where(b == 0, 1, b).astype(dtype)
    with np.errstate(all="ignore"):  # MIN // -1 is MIN in numpy, as in the C
        floor = np.floor_divide(a, safe, dtype=dtype)
        rest = (a - floor * safe).astype(dtype)
    inexact_negative = (rest != 0) & ((a < 0) != (safe < 0))
    return np.where(b == 0, 0, floor + inexact_negative).astype(dtype)


def remainder(a: np.ndarray, b: np.ndarray, dtype, divisor_sign: bool) -> np.ndarray:
    """The integer remainder with the divisor's sign (numpy's mod) or the dividend's (C's %),
    without C's traps: by zero 0, MIN % -1 0."""
    safe = np.where(b == 0, 1, b).astype(dtype)
    with np.errstate(all="ignore"):
        rest = (np.mod if divisor_sign else np.fmod)(a, safe, dtype=dtype)
    return np.where(b == 0, 0, rest).astype(dtype)


INTEGER = {
    IntegerArithmetic.ADD: np.add,
    IntegerArithmetic.SUB: np.subtract,
    IntegerArithmetic.MUL: np.multiply,
    IntegerArithmetic.DIV: truncating_divide,
    IntegerArithmetic.MOD: lambda a, b, dtype: remainder(a, b, dtype, True),
    IntegerArithmetic.FMOD: lambda a, b, dtype: remainder(a, b, dtype, False),
    IntegerArithmetic.MIN: np.minimum,
    IntegerArithmetic.MAX: np.maximum,
    IntegerArithmetic.BIT_AND: np.bitwise_and,
    IntegerArithmetic.BIT_OR: np.bitwise_or,
    IntegerArithmetic.BIT_XOR: np.bitwise_xor,
    IntegerArithmetic.SHIFT_LEFT: lambda a, b, dtype: bit_shift(a, b, left=True),
    IntegerArithmetic.SHIFT_RIGHT: lambda a, b, dtype: bit_shift(a, b, left=False),
}


@handles(qnn.CompareOp)
def _compare(op, frame: Frame) -> list[np.ndarray]:
    return [COMPARE[op.kind_value](frame[op.lhs], frame[op.rhs]).astype(np.int8)]


@handles(qnn.IntegerBinaryOp)
def _integer_binary(op, frame: Frame) -> list[np.ndarray]:
    a, b = frame[op.lhs], frame[op.rhs]
    with np.errstate(over="ignore"):  # two's complement wrap-around, as the C computes
        return [INTEGER[op.kind_value](a, b, dtype=a.dtype)]


@handles(qnn.CumSumOp)
def _cumsum(op, frame: Frame) -> list[np.ndarray]:
    """In order along the axis: each sum the previous plus one element (float32 too); each
    product the previous times one."""
    x = np.moveaxis(frame[op.input], op.axis_value, 0)
    if op.reverse is not None:
        x = x[::-1]
    out = np.empty_like(x)
    product = op.product is not None
    total = np.ones_like(x[0]) if product else np.zeros_like(x[0])
    combine = np.multiply if product else np.add
    with np.errstate(over="ignore", invalid="ignore"):
        for i in range(x.shape[0]):
            if op.exclusive is not None:
                out[i] = total
                total = combine(total, x[i]).astype(x.dtype)
            else:
                total = combine(total, x[i]).astype(x.dtype)
                out[i] = total
    if op.reverse is not None:
        out = out[::-1]
    return [np.ascontiguousarray(np.moveaxis(out, 0, op.axis_value))]


@handles(qnn.ArgReduceOp)
def _arg_reduce(op, frame: Frame) -> list[np.ndarray]:
    """ONNX Runtime's scan along the axis: the running best replaced by each element strictly
    better (or, with `select_last_index`, better or equal); NaN compares false."""
    x = np.moveaxis(np.asarray(frame[op.input]), op.axis_value, 0)
    larger = op.kind_value is qnn.ArgKind.MAX
    last = op.select_last_index is not None
    best, index = x[0].copy(), np.zeros(x.shape[1:], np.int64)
    with np.errstate(invalid="ignore"):
        for i in range(1, x.shape[0]):
            if larger:
                better = x[i] >= best if last else x[i] > best
            else:
                better = x[i] <= best if last else x[i] < best
            best = np.where(better, x[i], best)
            index = np.where(better, i, index)
    return [np.expand_dims(index, op.axis_value).reshape(op.result.type.get_shape())]


@handles(qnn.TopKOp)
def _top_k(op, frame: Frame) -> list[np.ndarray]:
    """ONNX Runtime's order: by value (descending, or ascending with `smallest`), equal
    values by index; a stable sort of the axis gives it (the values as stored)."""
    x = np.moveaxis(np.asarray(frame[op.input]), op.axis_value, -1)
    wide = x.astype(np.float64 if x.dtype.kind == "f" else np.int64)  # -x of any stored value
    keys = wide if op.smallest is not None else -wide
    order = np.argsort(keys, axis=-1, kind="stable")[..., : op.k_value]
    values = np.take_along_axis(x, order, axis=-1)
    return [
        np.ascontiguousarray(np.moveaxis(values, -1, op.axis_value)),
        np.ascontiguousarray(np.moveaxis(order.astype(np.int64), -1, op.axis_value)),
    ]
