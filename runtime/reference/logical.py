"""Reference semantics of the boolean ops (qdialect/qnn/logical.py): booleans are int8 0/1."""

from __future__ import annotations

import numpy as np

from qdialect import qnn
from qdialect.qnn import Logical
from runtime.reference.interpreter import Frame, handles

LOGICAL = {Logical.AND: np.logical_and, Logical.OR: np.logical_or, Logical.XOR: np.logical_xor}


@handles(qnn.LogicalOp)
def _logical(op, frame: Frame) -> list[np.ndarray]:
    return [LOGICAL[op.kind_value](frame[op.lhs], frame[op.rhs]).astype(np.int8)]


@handles(qnn.SelectOp)
def _select(op, frame: Frame) -> list[np.ndarray]:
    picked = np.where(frame[op.cond] != 0, frame[op.true_value], frame[op.false_value])
    return [np.ascontiguousarray(picked)]


@handles(qnn.BroadcastOp)
def _broadcast(op, frame: Frame) -> list[np.ndarray]:
    return [np.ascontiguousarray(np.broadcast_to(frame[op.input], op.result.type.get_shape()))]
