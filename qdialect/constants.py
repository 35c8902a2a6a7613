"""Reading and building the values of dense constants (`arith.constant dense<...>`), once for
every user.

The rewrites fold constants, the reference interpreter runs them and codegen stores them in
the compiled unit's constant table; all three read them through `dense_array`, and the rewrites
build new ones through `dense_attr`. A splat (`dense<-3> : tensor<10000000xi8>`) stays one value
on both sides (`qdialect.splat`): it is read as a broadcast view and built back as a splat, so no
step between parsing and the constant table pays for its element count. numpy is imported on
first use, so importing this module (and printing IR) does not pay for it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from xdsl.dialects import arith
from xdsl.dialects.builtin import (
    BytesAttr,
    DenseIntOrFPElementsAttr,
    Float16Type,
    Float32Type,
    Float64Type,
    IntegerType,
    Signedness,
)
from xdsl.ir import Operation, SSAValue

from qdialect.float_types import is_float_type
from qdialect.splat import splat_attr

if TYPE_CHECKING:
    import numpy as np

# numpy's little-endian layout of the float element types xDSL packs with struct
FLOAT_LAYOUTS = {Float16Type: "<f2", Float32Type: "<f4", Float64Type: "<f8"}


def dense_array(source: Operation | SSAValue) -> np.ndarray | None:
    """The values of an `arith.constant` holding a dense int/float tensor, None for anything
    else (another op, a block argument, a scalar or a resource constant).

    The array has the tensor's shape, and its dtype is float64 for a float element type and
    int64 for an integer or index one: the values exactly as the attribute holds them, before
    any conversion to the storage dtype (`qdialect.storage.element_name`). A splat is a
    read-only broadcast view of its one value (every stride 0: `splat_value` finds it at no
    cost, and a 2^32-element splat takes 8 bytes); any other constant is a fresh C-contiguous,
    writable array. Copy a splat before writing to it (`.astype`, `np.array`).
    """
    import numpy as np

    op = source.owner if isinstance(source, SSAValue) else source
    if not isinstance(op, arith.ConstantOp) or not isinstance(op.value, DenseIntOrFPElementsAttr):
        return None
    attr = op.value
    shape = tuple(attr.get_shape())
    element = attr.get_element_type()
    dtype = np.float64 if is_float_type(element) else np.int64
    layout = FLOAT_LAYOUTS.get(type(element))
    if isinstance(element, IntegerType) and element.bitwidth <= 64:
        layout = element.format  # struct's spelling, which numpy reads too ("<b", "<H", ...)
    if layout is not None:  # the bytes as xDSL packed them, without a Python object each
        data = np.frombuffer(attr.data.data, dtype=np.dtype(layout)).astype(dtype)
    else:
        data = np.array(attr.get_values(), dtype=dtype)
    if data.size == 1 and math.prod(shape) != 1:
        return np.broadcast_to(data.reshape(()), shape)
    return data.reshape(shape)


def splat_value(values: np.ndarray) -> int | float | None:
    """The one value of an array whose elements all hold it, bit for bit (-0.0 is not 0.0, a
    NaN is itself), as a Python number; None for an empty array or one of several values.
    Axes an array repeats along (stride 0) are looked at once, so on the broadcast view
    `dense_array` gives for a splat this costs nothing."""
    import numpy as np

    if values.size == 0:
        return None
    distinct = np.asarray(values[tuple(0 if s == 0 else slice(None) for s in values.strides)])
    flat = distinct.reshape(-1)
    value = flat[0].item()
    if flat.dtype.kind == "f":
        flat = flat.view(f"u{flat.itemsize}")
    return value if bool((flat == flat[0]).all()) else None


def _per_distinct(values: np.ndarray, convert) -> np.ndarray:
    """`convert(values)`, except that a broadcast view (a splat from `dense_array`) stays one:
    only its distinct values are converted (converting would write out every element)."""
    import numpy as np

    if values.size and 0 in values.strides:
        distinct = values[tuple(slice(0, 1) if s == 0 else slice(None) for s in values.strides)]
        return np.broadcast_to(convert(distinct), values.shape)
    return convert(values)


def as_dtype(values: np.ndarray, dtype) -> np.ndarray:
    """`values.astype(dtype)`, a splat staying a broadcast view."""
    return _per_distinct(values, lambda v: v.astype(dtype))


def reinterpret_bits(values: np.ndarray, width: int, signed: bool, dtype) -> np.ndarray:
    """The `width`-bit patterns of `values` read as signed or unsigned `width`-bit integers, in
    the container `dtype`: what a storage cast does (u8 200 is i8 -56, u4 9 is i4 -7). At a
    container's own width this is numpy's wrapping `astype`."""
    import numpy as np

    if width == np.dtype(dtype).itemsize * 8:
        return as_dtype(values, dtype)

    def wrap(v: np.ndarray) -> np.ndarray:
        bits = v.astype(np.int64) & ((1 << width) - 1)
        if signed:
            bits -= (bits >> (width - 1)) << width
        return bits.astype(dtype)

    return _per_distinct(values, wrap)


def dense_attr(values: np.ndarray, tensor_type) -> DenseIntOrFPElementsAttr:
    """The dense attribute of `values` (any dtype, already in the element type's range) under
    `tensor_type`, which holds as many elements. Values that are all one value make a splat
    (`qdialect.splat.splat_attr`), as MLIR builds one, whatever the element count."""
    import numpy as np

    values = np.asarray(values)
    if values.size != 1 and (value := splat_value(values)) is not None:
        return splat_attr(tensor_type, value)
    return packed_attr(values, tensor_type)


def _same_layout(dtype, elem: IntegerType) -> bool:
    """Whether every value of the integer `dtype` is one of `elem` with the same bytes: equal
    widths, and a signless element or matching signedness."""
    if dtype.kind not in "iu" or dtype.itemsize * 8 != elem.bitwidth:
        return False
    signedness = elem.signedness.data
    return signedness == Signedness.SIGNLESS or (signedness == Signedness.SIGNED) == (
        dtype.kind == "i"
    )


def packed_attr(values, tensor_type) -> DenseIntOrFPElementsAttr:
    """`DenseIntOrFPElementsAttr.from_list(tensor_type, values)`, byte for byte, packed by
    numpy: from_list normalizes element by element in Python, minutes for a ResNet's weights.
    Integers take xDSL's normalization (a signless value of the upper half is stored as its
    negative, e.g. i4 15 as -1); values out of the type's range, and element types numpy has
    no layout for, go through from_list itself (and its error)."""
    import struct

    import numpy as np

    values = np.asarray(values)
    elem = tensor_type.get_element_type()
    data = None
    if isinstance(elem, IntegerType) and _same_layout(values.dtype, elem):
        # already the bytes xDSL would pack (every value of the dtype is in range): no int64
        # copy, which for a ResNet's 11 M weights was 0.36 s of a first import
        size = values.dtype.itemsize
        unsigned = elem.signedness.data == Signedness.UNSIGNED
        data = values.astype(f"<{'u' if unsigned else 'i'}{size}", copy=False).tobytes()
    elif isinstance(elem, IntegerType) and values.dtype.kind in "biu":
        lo, hi = elem.value_range()
        ints = values.astype(np.int64, copy=False)
        low, high = (int(ints.min()), int(ints.max())) if ints.size else (lo, lo)
        if low >= lo and high < hi:
            width = elem.bitwidth
            size = struct.calcsize(elem.format)
            # a container wider than the element: the upper half moves down by hand (at equal
            # widths the wrapping cast below writes those bytes anyway)
            signless = elem.signedness.data == Signedness.SIGNLESS
            if signless and width < 8 * size and high >= 1 << (width - 1):
                ints = np.where(ints >= 1 << (width - 1), ints - (1 << width), ints)
            unsigned = elem.signedness.data == Signedness.UNSIGNED
            data = ints.astype(f"<{'u' if unsigned else 'i'}{size}").tobytes()
    elif type(elem) in FLOAT_LAYOUTS:
        data = values.astype(FLOAT_LAYOUTS[type(elem)]).tobytes()
    if data is None:
        flat = values.ravel().tolist()
        integers = values.dtype.kind in "biu"
        return DenseIntOrFPElementsAttr.from_list(
            tensor_type, [int(v) for v in flat] if integers else [float(v) for v in flat]
        )
    return DenseIntOrFPElementsAttr(tensor_type, BytesAttr(data))
