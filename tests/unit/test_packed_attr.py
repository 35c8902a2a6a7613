"""`qdialect.constants.packed_attr` builds the attribute xDSL's `from_list` builds, byte for
byte (numpy packing instead of per-element normalization), and refuses what from_list refuses.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    IntegerType,
    Signedness,
    TensorType,
    f16,
    f32,
    f64,
)

from qdialect.constants import packed_attr

WIDTHS = [1, 2, 3, 4, 7, 8, 16, 24, 32, 64]


@settings(max_examples=200, deadline=None)
@given(
    width=st.sampled_from(WIDTHS),
    signedness=st.sampled_from(list(Signedness)),
    data=st.data(),
)
def test_integers_equal_from_list(width: int, signedness: Signedness, data) -> None:
    element = IntegerType(width, signedness)
    lo, hi = element.value_range()
    values = data.draw(
        st.lists(st.integers(lo, min(hi, 2**63) - 1), min_size=1, max_size=40), label="values"
    )
    tensor = TensorType(element, [len(values)])
    expected = DenseIntOrFPElementsAttr.from_list(tensor, values)
    assert packed_attr(np.array(values, np.int64), tensor) == expected


@pytest.mark.parametrize("element", [f16, f32, f64])
def test_floats_equal_from_list(element) -> None:
    values = np.random.default_rng(0).standard_normal(64).astype(np.float32)
    values[:3] = [np.inf, -0.0, np.float32(1e-40)]
    tensor = TensorType(element, [64])
    expected = DenseIntOrFPElementsAttr.from_list(tensor, [float(v) for v in values])
    assert packed_attr(values, tensor) == expected


def test_out_of_range_is_from_lists_error() -> None:
    with pytest.raises(ValueError, match=r"Integer value 300 is out of range for type i8"):
        packed_attr(np.array([1, 300]), TensorType(IntegerType(8), [2]))
