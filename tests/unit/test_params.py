"""The pure number modules: qdialect.qparams (schemes), qdialect.fixed_point (multipliers),
qdialect.float32 (fmaf), qdialect.arithmetic (DESIGN §2's formulas), qdialect.storage
(containers) and qdialect.constants (dense constant values)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from xdsl.dialects.builtin import (
    BFloat16Type,
    Float16Type,
    Float32Type,
    Float64Type,
    IndexType,
    IntegerType,
    Signedness,
)

from qdialect.arithmetic import (
    INT32_MAX,
    INT32_MIN,
    AddConstants,
    add_constants,
    clamp_bounds,
    fixed_point_multipliers,
    global_pool_scale,
    requant_multiplier,
)
from qdialect.constants import dense_array, splat_value
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
from qdialect.storage import element_name, integer_name, storage_bounds, wrap_to_storage
from qdialect.textio import parse_module
from qdialect.types import AnyQuantizedType, UniformQuantizedType

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


# ----------------------------------------------------------------------------- arithmetic


def test_add_constants_by_hand() -> None:
    # ra = 0.5/1, rb = 0.25/1, k = zy - (ra*za + rb*zb) = 3 - (1 - 1): all exact.
    assert add_constants((0.5, 2), (0.25, -4), (1.0, 3)) == AddConstants(0.5, 0.25, 3.0)
    # ra = fl(fl(0.1)/fl(0.3)) is not the float32 nearest 1/3 (0.3333333432674408).
    assert add_constants((0.1, 3), (0.2, 100), (0.3, -7)) == AddConstants(
        0.3333333134651184, 0.6666666269302368, -74.66666412353516
    )


def test_add_constants_fuse_the_multiply_add() -> None:
    """k = fl(zy - fma(ra, za, fl(rb*zb))): one rounding for ra*za + fl(rb*zb)."""
    c = add_constants((0.1, 3), (0.2, 100), (0.3, -7))
    fused = fmaf(c.ra, 3.0, f32(c.rb * 100.0))
    assert c.k == f32(-7.0 - fused)


def test_global_pool_scale() -> None:
    assert global_pool_scale(0.5, 0.25, 4) == 0.5  # 0.5 / (0.25 * 4)
    # fl(sx / fl(sy * N)), not sx / sy / N: numpy float32 evaluates the same two roundings.
    expected = np.float32(np.float32(0.1) / (np.float32(0.2) * np.float32(49)))
    assert global_pool_scale(0.1, 0.2, 49) == float(expected) == 0.010204081423580647


def test_clamp_bounds_per_channel() -> None:
    # channel 0: 0/0.5 - 3 = -3, 6/0.5 - 3 = 9; channel 1: 0/0.1 + 10 = 10, 60 + 10 = 70.
    assert clamp_bounds(0.0, 6.0, [0.5, 0.1], [-3, 10], -128, 127) == ([-3, 10], [9, 70])
    # ends beyond the storage saturate to [qmin, qmax]
    assert clamp_bounds(-100.0, 100.0, [0.5], [-3], -128, 127) == ([-128], [127])
    # relu6 on u8 at scale 0.05: 6 / fl(0.05) rounds to 120
    assert clamp_bounds(0.0, 6.0, [0.05], [0], 0, 255) == ([0], [120])


def test_fixed_point_multipliers_tflite_and_tosa() -> None:
    # reals 0.25 and 0.75: Q31 0.5·2^31 shifted right 1, and 0.75·2^31 unshifted
    assert fixed_point_multipliers("tflite", 0.5, [0.25, 0.75], 0.5) == [
        (1 << 30, -1),
        (3 << 29, 0),
    ]
    # TOSA: m · 2^-shift with m < 2^31; single and double round share the encoding
    for mode in ("tosa_single", "tosa_double"):
        assert fixed_point_multipliers(mode, 0.5, [0.25, 0.75], 0.5) == [
            (1 << 30, 32),
            (3 << 29, 31),
        ]
    # the real multiplier is taken in double from the float32 scales (TFLite), so its 31 bits
    # are not those of the float32 requantization multiplier
    assert fixed_point_multipliers("tflite", 0.1, [0.3], 0.7) == [(1472560321, -4)]
    assert quantize_multiplier(requant_multiplier(0.1, 0.3, 0.7)) == (1472560256, -4)
    assert fixed_point_multipliers("tosa_single", 0.1, [0.3], 0.7) == [(1472560321, 35)]


# ----------------------------------------------------------------------------- storage


@pytest.mark.parametrize(
    ("width", "signed", "name"),
    [
        (1, True, "int8"),
        (1, False, "uint8"),
        (4, True, "int8"),
        (4, False, "uint8"),
        (8, True, "int8"),
        (8, False, "uint8"),
        (9, True, "int16"),
        (9, False, "uint16"),
        (16, True, "int16"),
        (16, False, "uint16"),
        (17, True, "int32"),
        (17, False, "uint32"),
        (32, True, "int32"),
        (32, False, "uint32"),
        (33, True, "int64"),
        (33, False, "uint64"),
        (64, True, "int64"),
        (64, False, "uint64"),
    ],
)
def test_integer_name(width: int, signed: bool, name: str) -> None:
    assert integer_name(width, signed) == name


@pytest.mark.parametrize("signed", [True, False])
def test_integer_name_beyond_64_bits(signed: bool) -> None:
    with pytest.raises(ValueError, match="no machine integer holds 65-bit storage"):
        integer_name(65, signed)


@pytest.mark.parametrize(
    ("element", "name"),
    [
        (Float32Type(), "float32"),
        (Float16Type(), "float16"),
        (Float64Type(), "float64"),
        (BFloat16Type(), None),
        (IntegerType(8), "int8"),
        (IntegerType(8, Signedness.UNSIGNED), "uint8"),
        (IntegerType(32, Signedness.SIGNED), "int32"),
        (IndexType(), None),
        (UniformQuantizedType.per_tensor("i8", Float32Type(), 0.5, -3), "int8"),
        (UniformQuantizedType.per_tensor("u4", Float32Type(), 0.5, 8), "uint8"),
        (UniformQuantizedType.per_axis("i16", Float32Type(), 0, [0.1, 0.2]), "int16"),
        (AnyQuantizedType.get("u16", Float32Type()), "uint16"),
        (AnyQuantizedType.get("i32"), "int32"),
    ],
)
def test_element_name(element, name: str | None) -> None:
    assert element_name(element) == name


def test_storage_ranges() -> None:
    assert storage_bounds(8, True) == (-128, 127)
    assert storage_bounds(4, False) == (0, 15)
    assert (INT32_MIN, INT32_MAX) == (-(2**31), 2**31 - 1)
    assert wrap_to_storage(200, 8, True) == -56
    assert wrap_to_storage(-1, 4, False) == 15


# ----------------------------------------------------------------------------- constants


def _constant_op(text: str):
    module = parse_module(f"func.func @f() {{\n  %0 = {text}\n  func.return\n}}")
    return next(op for op in module.walk() if op.name == "arith.constant")


def test_dense_array_splat_is_broadcast() -> None:
    op = _constant_op("arith.constant dense<-3> : tensor<2x3xi8>")
    values = dense_array(op)
    assert values.dtype == np.int64 and values.shape == (2, 3)
    assert (values == -3).all()
    # a read-only view of the one value (qdialect.splat): its size costs nothing
    assert values.strides == (0, 0) and not values.flags.writeable
    assert splat_value(values) == -3
    copy = values.astype(np.int8)  # what a writer takes: an ordinary array
    copy[0, 0] = 1
    assert dense_array(op.results[0])[0, 0] == -3


def test_dense_array_of_a_list_is_fresh_and_writable() -> None:
    op = _constant_op("arith.constant dense<[1, 2]> : tensor<2xi8>")
    values = dense_array(op)
    assert values.flags.c_contiguous and values.flags.writeable
    values[0] = 5
    assert dense_array(op)[0] == 1


def test_dense_array_values_and_dtypes() -> None:
    ints = dense_array(_constant_op("arith.constant dense<[[1, 2], [3, 4]]> : tensor<2x2xi32>"))
    assert ints.dtype == np.int64 and ints.tolist() == [[1, 2], [3, 4]]
    floats = dense_array(_constant_op("arith.constant dense<[0.5, -1.25]> : tensor<2xf32>"))
    assert floats.dtype == np.float64 and floats.tolist() == [0.5, -1.25]
    single = dense_array(_constant_op("arith.constant dense<7> : tensor<1xi8>"))
    assert single.shape == (1,) and single.tolist() == [7]
    empty = dense_array(_constant_op("arith.constant dense<> : tensor<0xi8>"))
    assert empty.dtype == np.int64 and empty.shape == (0,)  # the element type decides


def test_dense_array_of_anything_else_is_none() -> None:
    assert dense_array(_constant_op("arith.constant 3 : i32")) is None
    module = parse_module(
        "func.func @f(%a: tensor<2xf32>) -> tensor<2xf32> {\n  func.return %a : tensor<2xf32>\n}"
    )
    function = next(op for op in module.walk() if op.name == "func.func")
    assert dense_array(function.body.block.args[0]) is None
    assert dense_array(function) is None
