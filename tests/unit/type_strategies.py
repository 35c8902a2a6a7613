"""Hypothesis strategies for random valid quant types."""

from __future__ import annotations

import math

from hypothesis import strategies as st
from xdsl.dialects.builtin import BFloat16Type, Float16Type, Float32Type, Float64Type

from qdialect.float_types import scale_range
from qdialect.storage import storage_bounds
from qdialect.types import AnyQuantizedType, CalibratedQuantizedType, UniformQuantizedType

EXPRESSED = [Float16Type(), BFloat16Type(), Float32Type(), Float64Type()]


@st.composite
def storage(draw):
    """(spelling, qmin, qmax) with possibly narrowed bounds."""
    width = draw(st.integers(1, 32))
    prefix = draw(st.sampled_from(["i", "si", "u", "ui"]))
    lo, hi = storage_bounds(width, prefix in ("i", "si"))
    qmin = draw(st.integers(lo, hi - 1))
    qmax = draw(st.integers(qmin + 1, hi))
    if draw(st.booleans()):
        qmin, qmax = lo, hi
    return f"{prefix}{width}", qmin, qmax


@st.composite
def scale(draw, expressed, margin: float = 1.0):
    lo, hi = scale_range(expressed)
    lo, hi = lo * margin, hi / margin
    exponent = draw(st.floats(math.log2(max(lo, 1e-300)), math.log2(min(hi, 1e300))))
    value = draw(st.sampled_from([2.0**exponent, float(f"{2.0**exponent:.3g}")]))
    return min(max(value, lo), hi)


@st.composite
def uniform_types(draw):
    spelling, qmin, qmax = draw(storage())
    expressed = draw(st.sampled_from(EXPRESSED))
    zero = st.integers(qmin, qmax)
    kind = draw(st.sampled_from(["tensor", "axis", "sub"]))
    if kind == "tensor":
        return UniformQuantizedType.per_tensor(
            spelling, expressed, draw(scale(expressed)), draw(zero), qmin=qmin, qmax=qmax
        )
    if kind == "axis":
        n = draw(st.integers(1, 5))
        return UniformQuantizedType.per_axis(
            spelling,
            expressed,
            draw(st.integers(0, 4)),
            [draw(scale(expressed)) for _ in range(n)],
            [draw(zero) for _ in range(n)],
            qmin=qmin,
            qmax=qmax,
        )
    if int(spelling.lstrip("isu")) == 1:
        # MLIR 22 prints a 1-bit sub-channel zero point 1 as `:-1` (its bit sign-extended) and
        # reads `:-1` back as 0, so its own text does not round-trip there: zero points 0 only
        zero = st.just(0)  # in range: a 1-bit storage has its whole range, 0..1 or -1..0
    shape = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    blocks = [(axis, draw(st.integers(1, 4))) for axis in range(len(shape)) if draw(st.booleans())]
    count = math.prod(shape)
    # Upstream prints sub-channel scales as values of the expressed type, whose spelling at the
    # range edges (5.960460e-08 for the smallest f16, 3.4028235E+38 for the largest f32) falls
    # outside the range as a double, so MLIR rejects its own output there. Keep a factor 2.
    return UniformQuantizedType.sub_channel(
        spelling,
        expressed,
        blocks,
        shape,
        [draw(scale(expressed, margin=2.0)) for _ in range(count)],
        [draw(zero) for _ in range(count)],
        qmin=qmin,
        qmax=qmax,
    )


@st.composite
def any_types(draw):
    spelling, qmin, qmax = draw(storage())
    expressed = draw(st.sampled_from([None, *EXPRESSED]))
    return AnyQuantizedType.get(spelling, expressed, qmin=qmin, qmax=qmax)


@st.composite
def calibrated_types(draw):
    finite = st.floats(-1e30, 1e30, allow_nan=False, allow_infinity=False)
    lo = draw(finite)
    hi = draw(finite.filter(lambda v: v > lo))
    return CalibratedQuantizedType.get(draw(st.sampled_from(EXPRESSED)), lo, hi)


quant_types = st.one_of(uniform_types(), any_types(), calibrated_types())
