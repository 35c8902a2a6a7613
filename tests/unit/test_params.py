"""The pure number modules: qdialect.qparams (schemes), qdialect.fixed_point (multipliers),
qdialect.float32 (fmaf), qdialect.arithmetic (DESIGN §2's formulas), qdialect.storage
(containers) and qdialect.constants (dense constant values)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qdialect.arithmetic import INT32_MAX, INT32_MIN, requant_multiplier
from qdialect.fixed_point import (
    multiply_by_quantized_multiplier,
    quantize_multiplier,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
    tosa_apply_scale_32,
    tosa_multiplier_shift,
)
from qdialect.float32 import f32, fmaf
from qdialect.qparams import (
    FRAMEWORK_SCHEMES,
    Storage,
    choose_qparams,
    choose_qparams_per_channel,
    framework_qparams,
)

RANGES = [(-1.0, 1.0), (-0.3, 2.7), (0.0, 6.0), (-5.5, -0.25), (0.1, 0.2), (-1e-3, 3e-3)]


def seed_formula(framework: str, dtype: str, rmin: float, rmax: float) -> tuple[float, int]:
    """Intel Neural Compressor's table (shared/seeds/002), written out literally, evaluated in
    float32 as the frameworks' numpy/torch code does."""
    rmin, rmax = min(f32(rmin), 0.0), max(f32(rmax), 0.0)
    absmax = max(abs(rmin), abs(rmax))
    if (framework, dtype) in {("onnxruntime", "uint8"), ("pytorch_asymmetric", "uint8")}:
        scale = f32(f32(rmax - rmin) / (255 - 0))
        return scale, 0 - round(f32(rmin / scale))
    if framework == "pytorch":
        return f32(absmax / (float(127 - (-128)) / 2)), 0 if dtype == "int8" else 128
    if dtype == "int8":  # TensorFlow, IPEX, MXNet, ONNX Runtime
        return f32(f32(2 * absmax) / (127 - (-128) - 1)), 0
    return f32(max(rmin, rmax) / (255 - 0)), 0  # TensorFlow, IPEX, MXNet uint8


@pytest.mark.parametrize("key", sorted(FRAMEWORK_SCHEMES))
@pytest.mark.parametrize("rng", RANGES)
def test_framework_table_reproduces_the_seed(key: tuple[str, str], rng) -> None:
    scale, zero = framework_qparams(*key, *rng)
    want_scale, want_zero = seed_formula(*key, *rng)
    if want_scale == 0.0:  # the formula degenerates (e.g. uint8 of negatives): unit scale
        want_scale = 1.0
    assert (scale, zero) == (want_scale, want_zero)
    assert scale == f32(scale)  # computed in float32, like the frameworks


def test_asymmetric_zero_is_exact_and_range_widened() -> None:
    scale, zero = choose_qparams(0.5, 2.0, "u8", "asymmetric")  # widened to [0, 2]
    assert (scale, zero) == (f32(2.0 / 255), 0)
    scale, zero = choose_qparams(-2.0, -0.5, "i8", "asymmetric")  # widened to [-2, 0]
    assert zero == 127 and scale == f32(2.0 / 255)


def test_symmetric_variants() -> None:
    assert choose_qparams(-1.0, 0.5, "i8", "symmetric") == (f32(1 / 127), 0)
    assert choose_qparams(-1.0, 0.5, "i8", "symmetric_pytorch") == (f32(1 / 127.5), 0)
    assert choose_qparams(-1.0, 0.5, "u8", "symmetric_pytorch") == (f32(1 / 127.5), 128)
    assert choose_qparams(-1.0, 0.5, "u8", "symmetric_uint8") == (f32(2 / 255), 128)
    assert choose_qparams(0.0, 3.0, "u8", "symmetric_uint8") == (f32(3 / 255), 0)
    assert choose_qparams(-1.0, 0.5, "i8", "symmetric_uint8") == (f32(1 / 127), 0)
    assert choose_qparams(-3.0, 1.0, "i8", "symmetric_power2") == (2.0**-5, 0)
    assert choose_qparams(-3.0, 1.0, "i8", "ngraph_scaled") == (f32(3 / 127), 0)
    assert choose_qparams(0.0, 3.0, "u8", "ngraph_scaled") == (f32(3 / 255), 0)


def test_reduce_range_drops_one_bit() -> None:
    assert Storage.parse("u8", reduce_range=True) == Storage(0, 127, False)
    assert Storage.parse("i8", reduce_range=True) == Storage(-64, 63, True)
    assert choose_qparams(0.0, 127.0, "u8", "asymmetric", reduce_range=True) == (1.0, 0)


def test_all_zero_range_gets_unit_scale() -> None:
    assert choose_qparams(0.0, 0.0, "u8", "asymmetric") == (1.0, 0)
    assert choose_qparams(0.0, 0.0, "i8", "symmetric") == (1.0, 0)


def test_per_channel() -> None:
    scales, zeros = choose_qparams_per_channel([-1.0, -2.0], [1.0, 4.0], "i8", "symmetric")
    assert scales == [f32(1 / 127), f32(4 / 127)] and zeros == [0, 0]


@given(
    st.floats(-1e6, 1e6, allow_nan=False),
    st.floats(-1e6, 1e6, allow_nan=False),
    st.sampled_from(["i8", "u8", "i4", "u16"]),
)
def test_asymmetric_zero_point_in_range_and_zero_exact(a: float, b: float, storage: str) -> None:
    lo, hi = min(a, b), max(a, b)
    scale, zero = choose_qparams(lo, hi, storage, "asymmetric")
    st_ = Storage.parse(storage)
    assert st_.qmin <= zero <= st_.qmax and scale > 0


def test_requant_multiplier_order() -> None:
    sx, sw, sy = 0.1, 0.03, 0.7
    assert requant_multiplier(sx, sw, sy) == f32(f32(f32(sx) * f32(sw)) / f32(sy))
    assert requant_multiplier(sx, sw, sy, alpha=0.5) == f32(
        f32(f32(f32(0.5) * f32(sx)) * f32(sw)) / f32(sy)
    )


@pytest.mark.parametrize(
    ("m", "expected"),
    [
        (0.5, (1 << 30, 0)),
        (1.0, (1 << 30, 1)),
        (0.75, (3 << 29, 0)),
        (1.0 - 2.0**-40, (1 << 30, 1)),  # the 2^31 carry
        (2.0**-31, (1 << 30, -30)),
        (2.0**-32, (1 << 30, -31)),
        (2.0**-33, (0, 0)),  # shift below -31 flushes to zero
        (0.0, (0, 0)),
    ],
)
def test_quantize_multiplier_edges(m: float, expected: tuple[int, int]) -> None:
    assert quantize_multiplier(m) == expected


def test_srdhm_edges() -> None:
    assert saturating_rounding_doubling_high_mul(INT32_MIN, INT32_MIN) == INT32_MAX
    assert saturating_rounding_doubling_high_mul(1 << 30, 1 << 30) == 1 << 29
    # ties: +1.5 -> 2, -1.5 -> -1 (gemmlowp's nudge)
    assert saturating_rounding_doubling_high_mul(3, 1 << 30) == 2
    assert saturating_rounding_doubling_high_mul(-3, 1 << 30) == -1
    assert saturating_rounding_doubling_high_mul(INT32_MAX, INT32_MAX) == INT32_MAX - 1


@pytest.mark.parametrize(
    ("x", "e", "expected"),
    [
        (5, 1, 3),
        (-5, 1, -3),
        (4, 1, 2),
        (-4, 1, -2),
        (6, 2, 2),
        (-6, 2, -2),
        (7, 0, 7),
        (INT32_MIN, 31, -1),
        (INT32_MAX, 31, 1),
    ],
)
def test_rounding_divide_by_pot_ties_away_from_zero(x: int, e: int, expected: int) -> None:
    assert rounding_divide_by_pot(x, e) == expected


@given(st.integers(-(2**20), 2**20), st.floats(2.0**-20, 0.99, allow_nan=False))
def test_fixed_point_tracks_the_real_product(x: int, m: float) -> None:
    q, shift = quantize_multiplier(m)
    assert abs(multiply_by_quantized_multiplier(x, q, shift) - x * m) <= 1.0 + abs(x) * 2.0**-30


def test_tosa_single_and_double_round() -> None:
    m, shift = tosa_multiplier_shift(0.5)
    assert (m, shift) == (1 << 30, 31)
    assert tosa_apply_scale_32(3, m, shift, False) == 2  # 1.5 rounds up
    assert tosa_apply_scale_32(-3, m, shift, False) == -1  # -1.5 rounds up too
    m, shift = tosa_multiplier_shift(2.0**-20)
    assert (m, shift) == (1 << 30, 50)
    assert tosa_apply_scale_32(3 << 18, m, shift, False) == 1  # 0.75 -> 1
    # (2^19 - 1) / 2^20 = 0.49999905: single round gives 0; double round first rounds away the
    # low 31 bits (to exactly 0.5) and then rounds that up.
    assert tosa_apply_scale_32((1 << 19) - 1, m, shift, False) == 0
    assert tosa_apply_scale_32((1 << 19) - 1, m, shift, True) == 1
    assert tosa_apply_scale_32(-((1 << 19) - 1), m, shift, True) == 0  # asymmetric, as TOSA
    with pytest.raises(ValueError):
        tosa_apply_scale_32(1, m, 63, False)
    assert math.isclose(tosa_multiplier_shift(0.3)[0] * 2.0 ** -tosa_multiplier_shift(0.3)[1], 0.3)


@given(
    st.floats(-1e6, 1e6, width=32), st.floats(-1e6, 1e6, width=32), st.floats(-1e6, 1e6, width=32)
)
def test_scalar_fmaf_is_the_nearest_float32(a: float, b: float, c: float) -> None:
    from fractions import Fraction

    import numpy as np

    exact = Fraction(a) * Fraction(b) + Fraction(c)
    result = np.float32(fmaf(a, b, c))
    for direction in (-np.inf, np.inf):  # both float32 neighbours are at least as far
        neighbour = np.nextafter(result, np.float32(direction))
        assert abs(Fraction(float(result)) - exact) <= abs(Fraction(float(neighbour)) - exact)


def test_quantize_value_follows_design() -> None:
    from qdialect.arithmetic import quantize_value, requantize_value

    assert [quantize_value(v, 0.5, 0, -128, 127) for v in (0.25, 0.75, -0.25, -0.75)] == [
        0,
        2,
        0,
        -2,
    ]
    assert quantize_value(math.inf, 0.5, 3, -128, 127) == 127
    assert quantize_value(-1e30, 0.5, 3, -128, 127) == -128
    assert quantize_value(math.nan, 0.5, 3, -128, 127) == -128
    assert requantize_value(200, (0.5, 128), (0.5, 0), -128, 127) == 72  # u8 -> i8: q ^ 0x80
