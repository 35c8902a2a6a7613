"""Reading the values of dense constants (`arith.constant dense<...>`), once for every user.

The rewrites fold constants, the reference interpreter runs them and codegen stores them in
the compiled unit's constant table; all three read them through `dense_array`. numpy is
imported on first use, so importing this module (and printing IR) does not pay for it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from xdsl.dialects import arith
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr
from xdsl.ir import Operation, SSAValue

from qdialect.float_types import is_float_type

if TYPE_CHECKING:
    import numpy as np


def dense_array(source: Operation | SSAValue) -> np.ndarray | None:
    """The values of an `arith.constant` holding a dense int/float tensor, None for anything
    else (another op, a block argument, a scalar or a resource constant).

    The array has the tensor's shape (a splat is broadcast to it), is C-contiguous and
    writable (a fresh copy), and its dtype is float64 for a float element type and int64 for
    an integer or index one: the values exactly as the attribute holds them, before any
    conversion to the storage dtype (`qdialect.storage.element_name`).
    """
    import numpy as np

    op = source.owner if isinstance(source, SSAValue) else source
    if not isinstance(op, arith.ConstantOp) or not isinstance(op.value, DenseIntOrFPElementsAttr):
        return None
    attr = op.value
    shape = tuple(attr.get_shape())
    dtype = np.float64 if is_float_type(attr.get_element_type()) else np.int64
    data = np.array(attr.get_values(), dtype=dtype)
    if data.size == 1 and math.prod(shape) != 1:
        return np.full(shape, data.reshape(()), dtype=dtype)
    return data.reshape(shape)
