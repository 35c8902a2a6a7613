"""The reference interpreter on hand-computed cases: every op, float and quantized."""

from __future__ import annotations

import math
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from qdialect.float32 import f32
from qdialect.qnn import QNN
from qdialect.qparams import choose_qparams
from qdialect.quant_ops import Quant
from qdialect.textio import IRError, parse_module
from runtime.reference import ExecutionError, run_function
from runtime.reference.f32math import fmaf
from runtime.signature import expected_array

from .round_trip_suite import ROUND_TRIP_SUITE

ROOT = Path(__file__).resolve().parents[2]
Q = "!quant.uniform"


def run1(body: str, *inputs: np.ndarray) -> np.ndarray:
    (out,) = run_function(body, list(inputs))
    return out


def unary(op: str, in_type: str, out_type: str, attrs: str = "") -> str:
    return f"""func.func @main(%x: {in_type}) -> {out_type} {{
  %y = {op} %x {attrs} : {in_type} -> {out_type}
  func.return %y : {out_type}
}}"""


# ----------------------------------------------------------------------------- quantize


def test_quantize_ties_saturation_and_nan() -> None:
    x = np.array([0.25, 0.75, -0.25, -0.75, 1e30, -np.inf, np.nan, 63.74], dtype=np.float32)
    t = f"tensor<8x{Q}<i8:f32, 0.5>>"
    y = run1(unary("qnn.quantize", "tensor<8xf32>", t), x)
    assert y.dtype == np.int8
    assert y.tolist() == [0, 2, 0, -2, 127, -128, -128, 127]


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("half_to_even", [0, 2, 0, -2, 0, 0, 2, -2]),
        ("half_away_from_zero", [1, 2, -1, -2, 0, 0, 2, -2]),
        ("half_toward_zero", [0, 1, 0, -1, 0, 0, 2, -2]),
        ("half_up", [1, 2, 0, -1, 0, 0, 2, -2]),
        ("half_down", [0, 1, -1, -2, 0, 0, 2, -2]),
        ("away_from_zero", [1, 2, -1, -2, 1, -1, 3, -3]),
        ("toward_zero", [0, 1, 0, -1, 0, 0, 2, -2]),
        ("up", [1, 2, 0, -1, 1, 0, 3, -2]),
        ("down", [0, 1, -1, -2, 0, -1, 2, -3]),
    ],
)
def test_quantize_round_modes(mode: str, expected: list[int]) -> None:
    x = np.array([0.5, 1.5, -0.5, -1.5, 0.25, -0.25, 2.25, -2.25], dtype=np.float32)
    t = f"tensor<8x{Q}<i8:f32, 1.0>>"
    y = run1(unary("qnn.quantize", "tensor<8xf32>", t, f'{{round_mode = "{mode}"}}'), x)
    assert y.tolist() == expected


def test_quantize_true_division_not_reciprocal() -> None:
    # x / s and x * (1/s) differ here in float32; DESIGN requires the division.
    s = np.float32(0.1)
    x = np.arange(1, 20000, dtype=np.float32) * np.float32(0.01)
    t = f"tensor<{x.size}x{Q}<i16:f32, {float(s)!r}>>"
    y = run1(unary("qnn.quantize", f"tensor<{x.size}xf32>", t), x)
    expected = np.rint((x / s).astype(np.float64)).astype(np.int16)
    assert np.array_equal(y, expected)
    assert not np.array_equal(expected, np.rint((x * (np.float32(1) / s)).astype(np.float64)))


def test_quantize_per_axis_and_bounds() -> None:
    x = np.array([[1.0, -1.0, 200.0], [1.0, -1.0, 200.0]], dtype=np.float32)
    t = f"tensor<2x3x{Q}<i8<-127:127>:f32:0, {{0.5:3,0.25:-7}}>>"
    y = run1(unary("qnn.quantize", "tensor<2x3xf32>", t), x)
    assert y.tolist() == [[5, 1, 127], [-3, -11, 127]]


def test_dequantize_and_upstream_casts() -> None:
    q = np.array([-128, 0, 127], dtype=np.int8)
    t = f"tensor<3x{Q}<i8:f32, 0.5:-1>>"
    assert run1(unary("qnn.dequantize", t, "tensor<3xf32>"), q).tolist() == [-63.5, 0.5, 64.0]
    text = f"""func.func @main(%x: tensor<3xf32>) -> tensor<3xi8> {{
  %q = quant.qcast %x : tensor<3xf32> to {t}
  %i = quant.scast %q : {t} to tensor<3xi8>
  func.return %i : tensor<3xi8>
}}"""
    assert run1(text, np.array([1.0, -1.0, 1e9], dtype=np.float32)).tolist() == [1, -3, 127]


def test_requantize_u8_to_i8_is_the_xor_shift() -> None:
    q = np.arange(256, dtype=np.uint8)
    src, dst = f"tensor<256x{Q}<u8:f32, 0.1:130>>", f"tensor<256x{Q}<i8:f32, 0.1:2>>"
    y = run1(unary("qnn.requantize", src, dst), q)
    assert np.array_equal(y, (q ^ 0x80).view(np.int8))


# ----------------------------------------------------------------------------- elementwise


def test_relu_and_clamp_quantized_and_float() -> None:
    t = f"tensor<5x{Q}<u8:f32, 0.5:10>>"
    q = np.array([0, 9, 10, 11, 255], dtype=np.uint8)
    assert run1(unary("qnn.relu", t, t), q).tolist() == [10, 10, 10, 11, 255]
    clamp = unary("qnn.clamp", t, t, "{min = -1.0 : f32, max = 3.0 : f32}")
    assert run1(clamp, q).tolist() == [8, 9, 10, 11, 16]
    x = np.array([-2.0, -0.0, 0.5, 7.0, np.nan], dtype=np.float32)
    f = "tensor<5xf32>"
    assert run1(unary("qnn.relu", f, f), x).tolist()[:4] == [0.0, 0.0, 0.5, 7.0]
    y = run1(unary("qnn.clamp", f, f, "{min = 0.0 : f32, max = 6.0 : f32}"), x)
    assert y.tolist()[:4] == [0.0, 0.0, 0.5, 6.0] and math.isnan(y[4])


def test_fake_quant() -> None:
    attrs = (
        "{levels = 5 : i64, input_low = 0.0 : f32, input_high = 4.0 : f32, "
        "output_low = -1.0 : f32, output_high = 1.0 : f32}"
    )
    x = np.array([-1.0, 0.0, 0.4, 0.5, 1.6, 4.0, 9.0], dtype=np.float32)
    y = run1(unary("qnn.fake_quant", "tensor<7xf32>", "tensor<7xf32>", attrs), x)
    assert y.tolist() == [-1.0, -1.0, -1.0, -1.0, 0.0, 1.0, 1.0]


def add_ir(a: str, b: str, y: str) -> str:
    return f"""func.func @main(%a: {a}, %b: {b}) -> {y} {{
  %y = qnn.add %a, %b : {a}, {b} -> {y}
  func.return %y : {y}
}}"""


def test_add_quantized_matches_qlinearadd_formula_with_broadcast() -> None:
    a_t, b_t, y_t = (
        f"tensor<2x3x{Q}<u8:f32, 0.05:120>>",
        f"tensor<3x{Q}<i8:f32, 0.02:-5>>",
        f"tensor<2x3x{Q}<i8:f32, 0.1:4>>",
    )
    a = np.array([[0, 120, 255], [17, 200, 3]], dtype=np.uint8)
    b = np.array([-128, 0, 127], dtype=np.int8)
    y = run1(add_ir(a_t, b_t, y_t), a, b)
    real = (a.astype(np.float64) - 120) * 0.05 + (b.astype(np.float64) + 5) * 0.02
    # No value here is near a rounding tie, so float64 reals give the same integers.
    assert np.array_equal(y, np.clip(np.rint(real / 0.1 + 4), -128, 127))
    x = np.array([1.5, -2.0, 3.25], dtype=np.float32)
    f = "tensor<3xf32>"
    assert run1(add_ir(f, f, f), x, x).tolist() == [3.0, -4.0, 6.5]


def exact_fma(a: float, b: float, c: float) -> float:
    """`a·b + c` rounded once to float32, to nearest, ties to even: the float32 neighbours
    of the exact value compared as fractions (rounding through float64 first would round
    twice where a·b sits on a float32 midpoint and c is tiny)."""
    exact = Fraction(a) * Fraction(b) + Fraction(c)
    guess = np.float32(float(exact))
    if not np.isfinite(guess):
        return float(guess)
    candidates = [
        np.nextafter(guess, np.float32(-np.inf)),
        guess,
        np.nextafter(guess, np.float32(np.inf)),
    ]
    finite = [v for v in candidates if np.isfinite(v)]
    distances = [abs(Fraction(float(v)) - exact) for v in finite]
    best = min(distances)
    nearest = [v for v, d in zip(finite, distances, strict=True) if d == best]
    even = [v for v in nearest if int(np.asarray(v).view(np.int32)) % 2 == 0]
    return float((even or nearest)[0])


@given(
    st.floats(-1e6, 1e6, width=32), st.floats(-1e6, 1e6, width=32), st.floats(-1e6, 1e6, width=32)
)
@example(1.5, 128.84523010253906, -1.401298464324817e-45)  # a·b on a midpoint, c below it
def test_fmaf_rounds_once(a: float, b: float, c: float) -> None:
    got = fmaf(np.float32(a), np.float32(b), np.float32(c))
    want = exact_fma(a, b, c)
    assert float(got) == want or (got == 0 and want == 0)


def test_fmaf_on_double_rounding_traps() -> None:
    # a*b + c exactly one float64 ulp beside a float32 midpoint: naive float64 rounding lands
    # on the midpoint and ties to even, the wrong way.
    one_plus = 1.0 + 2.0**-23
    a = np.float32(one_plus)
    b = np.float32(1.0 + 2.0**-23)
    for c in (np.float32(2.0**-24), np.float32(-(2.0**-24)), np.float32(3 * 2.0**-24)):
        assert float(fmaf(a, b, c)) == exact_fma(float(a), float(b), float(c))


# ----------------------------------------------------------------------------- conv / dot


def conv_ir(x_t: str, w_t: str, y_t: str, attrs: str, bias: str | None = None) -> str:
    bias_arg = f", %b: {bias}" if bias else ""
    bias_use = f" bias(%b : {bias})" if bias else ""
    return f"""func.func @main(%x: {x_t}, %w: {w_t}{bias_arg}) -> {y_t} {{
  %y = qnn.conv2d %x, %w{bias_use} {attrs} : {x_t}, {w_t} -> {y_t}
  func.return %y : {y_t}
}}"""


def test_conv_raw_accumulator_pads_with_input_zero_point() -> None:
    x = np.array([[[[10, 11], [12, 13]]]], dtype=np.uint8)
    w = np.array([[[[1, 2], [3, 4]]]], dtype=np.int8)
    text = conv_ir(
        f"tensor<1x1x2x2x{Q}<u8:f32, 1.0:10>>",
        f"tensor<1x1x2x2x{Q}<i8:f32, 1.0:1>>",
        "tensor<1x1x3x3xi32>",
        "{pads = array<i64: 1, 1, 1, 1>}",
    )
    y = run1(text, x, w)
    # x - zx = [[0,1],[2,3]] padded with 0; w - zw = [[0,1],[2,3]]
    xz = np.pad(np.array([[0, 1], [2, 3]]), 1)
    wz = np.array([[0, 1], [2, 3]])
    expected = [[int((xz[i : i + 2, j : j + 2] * wz).sum()) for j in range(3)] for i in range(3)]
    assert y[0, 0].tolist() == expected


def test_conv_requantize_bias_relu_per_channel_nchw_equals_nhwc() -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(0, 256, (1, 3, 5, 5), dtype=np.uint8)
    w = rng.integers(-127, 128, (2, 3, 3, 3), dtype=np.int8)
    b = np.array([1000, -3000], dtype=np.int32)
    x_t, y_t = f"{Q}<u8:f32, 0.02:100>", f"{Q}<u8:f32, 0.15:20>"
    w_t = f"{Q}<i8:f32:0, {{0.01,0.004}}>"
    attrs = '{strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, activation = "relu"}'
    y = run1(
        conv_ir(
            f"tensor<1x3x5x5x{x_t}>",
            f"tensor<2x3x3x3x{w_t}>",
            f"tensor<1x2x3x3x{y_t}>",
            attrs,
            "tensor<2xi32>",
        ),
        x,
        w,
        b,
    )
    acc = np.zeros((2, 3, 3), dtype=np.int64)
    xp = np.pad(x[0].astype(np.int64) - 100, ((0, 0), (1, 1), (1, 1)))
    for o in range(2):
        for i in range(3):
            for j in range(3):
                acc[o, i, j] = (xp[:, 2 * i : 2 * i + 3, 2 * j : 2 * j + 3] * w[o]).sum() + b[o]
    m = [f32(f32(f32(0.02) * f32(s)) / f32(0.15)) for s in (0.01, 0.004)]
    v = np.stack([(acc[o].astype(np.float32) * np.float32(m[o])) for o in range(2)])
    expected = np.clip(np.rint(v.astype(np.float64)) + 20, 20, 255)
    assert np.array_equal(y[0], expected.astype(np.uint8))
    nhwc = run1(
        conv_ir(
            f"tensor<1x5x5x3x{x_t}>",
            f"tensor<2x3x3x3x{w_t}>",
            f"tensor<1x3x3x2x{y_t}>",
            attrs[:-1] + ', layout = "nhwc"}',
            "tensor<2xi32>",
        ),
        x.transpose(0, 2, 3, 1).copy(),
        w.transpose(0, 2, 3, 1).copy(),
        b,
    )
    assert np.array_equal(nhwc.transpose(0, 3, 1, 2), y)


def test_depthwise_dilated_float_conv() -> None:
    x = np.arange(2 * 5 * 5, dtype=np.float32).reshape(1, 2, 5, 5)
    w = np.array([[[[1.0, -1.0], [0.5, 2.0]]], [[[0.0, 1.0], [1.0, 0.0]]]], dtype=np.float32)
    attrs = "{groups = 2 : i64, dilations = array<i64: 2, 2>}"
    y = run1(
        conv_ir("tensor<1x2x5x5xf32>", "tensor<2x1x2x2xf32>", "tensor<1x2x3x3xf32>", attrs), x, w
    )
    for c in range(2):
        for i in range(3):
            for j in range(3):
                taps = x[0, c, i : i + 3 : 2, j : j + 3 : 2]
                assert y[0, c, i, j] == np.float32((taps * w[c, 0]).sum())


def dot_ir(a_t: str, b_t: str, y_t: str, attrs: str = "", bias: str | None = None) -> str:
    bias_arg = f", %c: {bias}" if bias else ""
    bias_use = f" bias(%c : {bias})" if bias else ""
    return f"""func.func @main(%a: {a_t}, %b: {b_t}{bias_arg}) -> {y_t} {{
  %y = qnn.dot %a, %b{bias_use} {attrs} : {a_t}, {b_t} -> {y_t}
  func.return %y : {y_t}
}}"""


@pytest.mark.parametrize("mode", ["float", "tflite", "tosa_single", "tosa_double"])
def test_dot_requant_modes_agree_on_an_exact_multiplier(mode: str) -> None:
    # sx*sw/sy = 0.5 exactly: every mode must give the same (ties to even vs. away aside).
    a = np.array([[3, -5, 7, 1]], dtype=np.int8)
    b = np.array([[1], [2], [3], [4]], dtype=np.int8)
    t = (
        f"tensor<1x4x{Q}<i8:f32, 0.5>>",
        f"tensor<4x1x{Q}<i8:f32, 0.25>>",
        f"tensor<1x1x{Q}<i8:f32, 0.25:1>>",
    )
    y = run1(dot_ir(*t, f'{{requant_mode = "{mode}"}}'), a, b)
    assert y.tolist() == [[(3 - 10 + 21 + 4) // 2 + 1]]


def test_dot_fixed_point_rounds_ties_differently_from_float() -> None:
    a = np.array([[1, 3, -1, -3]], dtype=np.int8).reshape(4, 1)
    b = np.array([[1]], dtype=np.int8)
    t = (
        f"tensor<4x1x{Q}<i8:f32, 0.5>>",
        f"tensor<1x1x{Q}<i8:f32, 1.0>>",
        f"tensor<4x1x{Q}<i8:f32, 1.0>>",
    )
    results = {
        m: run1(dot_ir(*t, f'{{requant_mode = "{m}"}}'), a, b).ravel().tolist()
        for m in ("float", "tflite", "tosa_single")
    }
    assert results["float"] == [0, 2, 0, -2]  # half to even
    assert results["tflite"] == [1, 2, 0, -1]  # gemmlowp: ties toward +inf after the nudge
    assert results["tosa_single"] == [1, 2, 0, -1]


def test_dot_raw_int32_and_batched_float() -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (2, 3, 5), dtype=np.uint8)
    b = rng.integers(0, 256, (5, 4), dtype=np.uint8)
    t = (
        f"tensor<2x3x5x{Q}<u8:f32, 1.0:128>>",
        f"tensor<5x4x{Q}<u8:f32, 1.0:7>>",
        "tensor<2x3x4xi32>",
    )
    y = run1(dot_ir(*t), a, b)
    assert np.array_equal(y, (a.astype(np.int64) - 128) @ (b.astype(np.int64) - 7))
    fa, fb = a.astype(np.float32) / 7, b.astype(np.float32) / 3
    fy = run1(dot_ir("tensor<2x3x5xf32>", "tensor<5x4xf32>", "tensor<2x3x4xf32>"), fa, fb)
    # a dot by a weight sums like ONNX Runtime's prepacked MatMul: FMA chains (one block here)
    acc = np.zeros((2, 3, 4), dtype=np.float32)
    for k in range(5):
        acc = fmaf(fa[..., k, None], fb[k], acc)
    assert np.array_equal(fy, acc)


# ----------------------------------------------------------------------------- pools, concat


def test_pools() -> None:
    x = np.arange(16, dtype=np.uint8).reshape(1, 1, 4, 4)
    t = f"{Q}<u8:f32, 0.5:3>"
    mp = unary(
        "qnn.max_pool2d",
        f"tensor<1x1x4x4x{t}>",
        f"tensor<1x1x2x2x{t}>",
        "{kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>}",
    )
    assert run1(mp, x)[0, 0].tolist() == [[5, 7], [13, 15]]
    gap = unary(
        "qnn.avg_pool2d",
        f"tensor<1x1x4x4x{t}>",
        f"tensor<1x1x1x1x{Q}<u8:f32, 0.25:1>>",
        "{kernel = array<i64: 4, 4>}",
    )
    # mean of (x - 3) * 0.5 = 2.25 -> 2.25 / 0.25 + 1 = 10
    assert run1(gap, x).item() == 10
    avg = unary(
        "qnn.avg_pool2d",
        "tensor<1x1x4x4xf32>",
        "tensor<1x1x4x4xf32>",
        "{kernel = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>}",
    )
    y = run1(avg, x.astype(np.float32))
    assert y[0, 0, 0, 0] == np.float32((0 + 1 + 4 + 5) / 4)
    inc = avg.replace("1, 1, 1, 1>}", "1, 1, 1, 1>, count_include_pad = true}")
    assert run1(inc, x.astype(np.float32))[0, 0, 0, 0] == np.float32(10 / 9)


def test_concat_requantizes_inputs_of_other_types() -> None:
    text = f"""func.func @main(%a: tensor<2x{Q}<i8:f32, 0.5>>, %b: tensor<1x{Q}<u8:f32, 0.25:128>>) -> tensor<3x{Q}<i8:f32, 0.5>> {{
  %y = qnn.concat %a, %b {{axis = 0 : i64}} : (tensor<2x{Q}<i8:f32, 0.5>>, tensor<1x{Q}<u8:f32, 0.25:128>>) -> tensor<3x{Q}<i8:f32, 0.5>>
  func.return %y : tensor<3x{Q}<i8:f32, 0.5>>
}}"""
    y = run1(text, np.array([-7, 9], dtype=np.int8), np.array([140], dtype=np.uint8))
    assert y.tolist() == [-7, 9, 6]


# ----------------------------------------------------------------------------- scaled builders


def test_scaled_builders_use_the_scheme() -> None:
    text = """func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
  %q = qnn.scaled_quantize %x {min = -1.0 : f32, max = 2.0 : f32, scheme = "symmetric"} : tensor<4xf32> -> tensor<4x!quant.any<i8:f32>>
  %y = qnn.scaled_dequantize %q {min = -1.0 : f32, max = 2.0 : f32, scheme = "symmetric"} : tensor<4x!quant.any<i8:f32>> -> tensor<4xf32>
  func.return %y : tensor<4xf32>
}"""
    x = np.array([-1.0, 0.3, 2.0, 5.0], dtype=np.float32)
    scale, zero = choose_qparams(-1.0, 2.0, "i8", "symmetric")
    assert zero == 0
    q = np.clip(np.rint(x / np.float32(scale)), -128, 127)
    assert np.array_equal(run1(text, x), (q.astype(np.float32) * np.float32(scale)))


def test_every_op_in_the_round_trip_suite_runs() -> None:
    """Each function of the op round-trip files of tests/filecheck runs on random data, and
    together they hold every qnn and quant op."""
    rng = np.random.default_rng(5)
    executed: set[str] = set()
    for name in ROUND_TRIP_SUITE:
        module = parse_module((ROOT / "tests" / "filecheck" / name).read_text())
        for function in module.ops:
            try:
                specs = [expected_array(t) for t in function.function_type.inputs.data]
            except ExecutionError:
                continue  # unranked/dynamic signatures only check the IR round trip
            inputs = []
            for dtype, shape in specs:
                if dtype.kind == "f":
                    inputs.append(rng.standard_normal(shape).astype(dtype))
                else:
                    info = np.iinfo(dtype)
                    lo, hi = max(info.min, -1000), min(info.max, 1000)
                    inputs.append(rng.integers(lo, hi, shape, endpoint=True).astype(dtype))
            try:
                outputs = run_function(module, inputs, function.sym_name.data)
            except IRError as err:
                assert "sub-channel" in str(err), str(err)
                continue
            for out, t in zip(outputs, function.function_type.outputs.data, strict=True):
                dtype, shape = expected_array(t)
                assert out.dtype == dtype and out.shape == shape
            executed |= {op.name for op in function.walk()}
    every_op = {op.name for op in (*QNN.operations, *Quant.operations)}
    assert every_op <= executed, every_op - executed


def test_input_errors_name_the_argument() -> None:
    text = unary("qnn.relu", "tensor<4xf32>", "tensor<4xf32>")
    with pytest.raises(ExecutionError, match="argument 'arg0' must have dtype float32, got int8"):
        run_function(text, [np.zeros(4, dtype=np.int8)])
    with pytest.raises(ExecutionError, match=r"argument 'arg0' must have shape \[4\], got \[5\]"):
        run_function(text, [np.zeros(5, dtype=np.float32)])
    with pytest.raises(ExecutionError, match=r"inputs must be named \['arg0'\]"):
        run_function(text, {"x": np.zeros(4, dtype=np.float32)})
    with pytest.raises(ExecutionError, match="expected 1 inputs"):
        run_function(text, [])


def test_qopt_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    x = np.random.default_rng(2).random((1, 3, 8, 8), dtype=np.float32)
    np.savez(tmp_path / "in.npz", arg0=x)
    example = str(ROOT / "examples" / "conv_block.mlir")
    out = tmp_path / "out.npz"
    result = subprocess.run(
        ["qopt", example, "--run", "--inputs", str(tmp_path / "in.npz"), "--outputs", str(out)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    with np.load(out) as saved:
        assert np.array_equal(
            saved["out0"], run_function((ROOT / "examples" / "conv_block.mlir").read_text(), [x])[0]
        )
    summary = subprocess.run(
        ["qopt", example, "--run", "--inputs", str(tmp_path / "in.npz")],
        capture_output=True,
        text=True,
    )
    assert summary.stdout.startswith("out0: float32[1, 4, 8, 8] min 0.0 max ")
    from runtime.qopt import run  # in process: the message of this tree

    assert run([example, "--run"]) == 1
    assert capsys.readouterr().err.startswith(
        "qopt: error: @main takes inputs ['arg0']; no --inputs given"
    )


def test_results_are_fresh_c_ordered_arrays() -> None:
    """A result the interpreter holds as a view (an NHWC op computed in NCHW and moved back)
    comes back as its own C-ordered array, as the compiled function's results do (callers
    pass them on as `out=`)."""
    text = """func.func @f(%x: tensor<1x4x4x3xf32>) -> (tensor<1x4x4x3xf32>, tensor<1x4x4x3xf32>) {
  %p = qnn.max_pool2d %x {kernel = array<i64: 1, 1>, layout = "nhwc"} : tensor<1x4x4x3xf32> -> tensor<1x4x4x3xf32>
  func.return %p, %x : tensor<1x4x4x3xf32>, tensor<1x4x4x3xf32>
}"""
    x = np.arange(48, dtype=np.float32).reshape(1, 4, 4, 3)
    pooled, same = run_function(text, [x])
    assert pooled.flags.c_contiguous and np.array_equal(pooled, x)
    assert same.flags.c_contiguous and not np.shares_memory(same, x)
