"""Integer array functions the reference interpreter and the importer's constant folding share
(the generated C spells the same rule in `logical.c.j2`)."""

from __future__ import annotations

import numpy as np


def bit_shift(a: np.ndarray, b: np.ndarray, left: bool) -> np.ndarray:
    """ONNX BitShift: `a` shifted by `b` bits, bits past the width dropped (a left shift wraps
    around in two's complement), a right shift of a signed value filling with its sign. A count
    below 0 or at least the width shifts every bit out: 0, or -1 for a negative value shifted
    right (ONNX's rule, numpy's; C leaves both undefined)."""
    width = a.dtype.itemsize * 8
    out_of_range = (b < 0) | (b >= width)
    count = np.where(out_of_range, 0, b).astype(np.uint64)
    if left:
        unsigned = np.dtype(f"u{a.dtype.itemsize}")
        shifted = (a.astype(unsigned) << count.astype(unsigned)).astype(unsigned).view(a.dtype)
        return np.where(out_of_range, np.zeros((), a.dtype), shifted)
    shifted = a >> count.astype(a.dtype)
    fill = np.where(a < 0, -1, 0).astype(a.dtype)
    return np.where(out_of_range, fill, shifted).astype(a.dtype)
