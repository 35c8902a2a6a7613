"""The reference of `qnn.col2im` (qdialect/qnn/col2im.py): ONNX Runtime's Col2im, tap by tap."""

from __future__ import annotations

import numpy as np

from qdialect import qnn
from runtime.reference.f32math import F32
from runtime.reference.interpreter import Frame, handles


def col2im(col: np.ndarray, out_hw: tuple[int, int], window) -> np.ndarray:
    """`col` [C, kh, kw, H, W] added into a +0 [C, OH, OW], one tap (kh, kw) after the other in
    row-major order; a tap's pixels land on distinct outputs, so each add is one float32 add."""
    (sh, sw), (dh, dw), (pt, pl) = window
    channels, kernel_h, kernel_w, height, width = col.shape
    y = np.zeros((channels, *out_hw), F32)
    for kh in range(kernel_h):
        rows = np.arange(height) * sh + kh * dh - pt
        row_in = (rows >= 0) & (rows < out_hw[0])
        for kw in range(kernel_w):
            columns = np.arange(width) * sw + kw * dw - pl
            column_in = (columns >= 0) & (columns < out_hw[1])
            target = np.ix_(np.arange(channels), rows[row_in], columns[column_in])
            y[target] = y[target] + col[:, kh, kw][:, row_in][:, :, column_in]
    return y


@handles(qnn.Col2ImOp)
def _col2im(op, frame: Frame) -> list[np.ndarray]:
    out_hw = tuple(op.result.type.get_shape()[1:])
    return [col2im(frame[op.input].astype(F32), out_hw, op.window)]
