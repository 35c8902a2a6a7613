"""The scales an imported model may carry (a leaf: numpy and the scale range only, so the graph
walk and the type builders share it without importing each other)."""

from __future__ import annotations

import numpy as np

from qdialect.arithmetic import SCALE_RANGE, SCALE_RANGE_TEXT
from qdialect.onnx_import.errors import NodeError


def check_scales(scale: np.ndarray, what: str) -> None:
    """Scales must be positive normal finite float32 values, and within `SCALE_RANGE`
    (2^-40 .. 2^40, the range `qdialect.arithmetic` computes products and ratios of scales
    from, so a .mlir module with other scales is refused there with the same range); `what`
    names them in the error."""
    values = np.asarray(scale, np.float64).ravel()
    with np.errstate(over="ignore", invalid="ignore"):
        as_f32 = values.astype(np.float32).astype(np.float64)
        bad = ~(np.isfinite(as_f32) & (as_f32 >= SCALE_RANGE[0]) & (as_f32 <= SCALE_RANGE[1]))
    if bad.any():
        raise NodeError(
            f"{what} must hold positive normal finite float32 values from {SCALE_RANGE_TEXT}, "
            f"got {float(as_f32[np.argmax(bad)]):.6g}"
        )
