"""The scales an imported model may carry (a leaf: numpy and the scale range only, so the graph
walk and the type builders share it without importing each other)."""

from __future__ import annotations

import numpy as np

from qdialect.arithmetic import SCALE_RANGE, SCALE_RANGE_TEXT
from qdialect.onnx_import.errors import NodeError

FLT_MIN, FLT_MAX = float(np.finfo(np.float32).tiny), float(np.finfo(np.float32).max)
# the nodes whose own arithmetic takes any normal float32 scale (DESIGN §2's single-scale
# quantize and dequantize; QLinearAdd and QLinearMul, whose ratio and multiplier
# `add_constants` and `mul_multiplier` check themselves; the softmax's exp table, a single
# scale); every other node's integer kernel computes products
QDQ_NODES = ("QuantizeLinear", "DequantizeLinear")
ANY_SCALE_NODES = (*QDQ_NODES, "QLinearAdd", "QLinearMul", "QLinearSoftmax")


def check_scales(scale: np.ndarray, what: str, op_type: str | None = None) -> None:
    """Scales must be positive normal finite float32 values; those of a QOperator op (any
    `op_type` but a Q/DQ node) also within `SCALE_RANGE` (2^-40 .. 2^40, the range
    `qdialect.arithmetic` computes products and ratios of scales from, so a .mlir module with
    other scales is refused there with the same range). A Q/DQ pair takes any normal scale:
    `fold-qdq` fuses a group only where its kernel's products are in range and otherwise runs
    the float simulation (a random net's vanishing activations). `what` names the scales in
    the error."""
    values = np.asarray(scale, np.float64).ravel()
    low, high = (FLT_MIN, FLT_MAX) if op_type in ANY_SCALE_NODES else SCALE_RANGE
    with np.errstate(over="ignore", invalid="ignore"):
        as_f32 = values.astype(np.float32).astype(np.float64)
        bad = ~(np.isfinite(as_f32) & (as_f32 >= low) & (as_f32 <= high))
    if bad.any():
        bounds = "" if op_type in ANY_SCALE_NODES else f" from {SCALE_RANGE_TEXT}"
        raise NodeError(
            f"{what} must hold positive normal finite float32 values{bounds}, "
            f"got {float(as_f32[np.argmax(bad)]):.6g}"
        )
