"""quantize / dequantize / requantize kernels against the reference, bit for bit.

The compiled kernels have an AVX2 path (8 elements per step) and a scalar one (the tail, and
targets without AVX2); both are checked: once with the default flags (`-march=native`, or
$QDIALECT_CFLAGS, which test_sanitizers.py sets) and once with portable strict flags. Sizes
leave tails of every length; data covers NaN, ±inf, huge values, -0.0, subnormals, exact .5
ties and values a hair off a tie, and zero points at the storage extremes.
"""

from __future__ import annotations

import numpy as np
import pytest

from runtime.compiled import compile_module
from runtime.reference import run_function

from .test_compiled import ROUND_MODES

# The reference divides 1e30 by a scale in float32 on purpose (it saturates); numpy warns.
pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")

PORTABLE = ["-O2", "-ffp-contract=off", "-Wall", "-Wextra", "-Werror"]
FLAGS = {"default": None, "portable": PORTABLE}
# The portable variant pins its flags, so test_sanitizers.py's child leaves it out.
VARIANTS = ["default", pytest.param("portable", marks=pytest.mark.pins_flags)]

# (storage, zero point): zero points at both ends of the range, where the clamp bounds are widest.
STORAGES = [("i8", -128), ("u8", 255), ("i16", 32767), ("u16", 0), ("i4", 7), ("u4", 0), ("i32", 5)]


def special_floats(size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(size).astype(np.float32) * np.float32(rng.choice([0.3, 30.0, 3000.0]))
    specials = np.array(
        [np.nan, np.inf, -np.inf, 1e30, -1e30, 3e38, -0.0, 0.0, 1e-45, -1e-45, 1e-39, 2.0**24],
        dtype=np.float32,
    )
    ties = (np.arange(-40, 40, dtype=np.float32) + np.float32(0.5)) * np.float32(0.25)
    near = np.concatenate([np.nextafter(ties, np.float32(np.inf)), np.nextafter(ties, -np.inf)])
    fill = np.concatenate([specials, ties, near])
    positions = rng.choice(size, min(size, fill.size), replace=False)
    x[positions] = fill[: positions.size]
    return x


def check(text: str, inputs: list[np.ndarray], flags) -> None:
    got = compile_module(text, flags=flags)(*inputs)
    for g, e in zip(got, run_function(text, inputs), strict=True):
        assert g.dtype == e.dtype and np.array_equal(g, e, equal_nan=True)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize(("storage", "zp"), STORAGES)
def test_every_round_mode_with_special_values(storage: str, zp: int, variant: str) -> None:
    """All nine round modes in one function; 8·k + 7 elements, so every kernel has a tail."""
    q = f"!quant.uniform<{storage}:f32, 0.25:{zp}>"
    r = f"!quant.uniform<{storage}:f32, 0.1:{zp // 2}>"
    t = f"tensor<3x37x{q}>"
    body = "\n".join(
        f'  %q{i} = qnn.quantize %x {{round_mode = "{m}"}} : tensor<3x37xf32> -> {t}'
        for i, m in enumerate(ROUND_MODES)
    )
    results = [f"%q{i}" for i in range(len(ROUND_MODES))]
    types = [t] * len(ROUND_MODES)
    text = f"""func.func @main(%x: tensor<3x37xf32>) -> ({", ".join(types)}, tensor<3x37xf32>, tensor<3x37x{r}>) {{
{body}
  %d = qnn.dequantize %q0 : {t} -> tensor<3x37xf32>
  %r = qnn.requantize %q0 : {t} -> tensor<3x37x{r}>
  func.return {", ".join(results)}, %d, %r : {", ".join(types)}, tensor<3x37xf32>, tensor<3x37x{r}>
}}"""
    for seed in range(3):
        check(text, [special_floats(111, seed).reshape(3, 37)], FLAGS[variant])


@pytest.mark.parametrize("variant", VARIANTS)
def test_dequantize_and_requantize_full_range(variant: str) -> None:
    """Every stored value of i8 and u8, per-tensor and per-axis, through both paths."""
    a = "!quant.uniform<i8:f32, 0.0123:-128>"
    b = "!quant.uniform<u8:f32, 0.1:255>"
    w = "!quant.uniform<u8:f32:0, {0.5:0,0.03:128,7.0:255}>"
    text = f"""func.func @main(%x: tensor<3x171x{a}>, %u: tensor<3x171x{w}>) -> (tensor<3x171xf32>, tensor<3x171x{b}>, tensor<3x171xf32>, tensor<3x171x{a}>) {{
  %d = qnn.dequantize %x : tensor<3x171x{a}> -> tensor<3x171xf32>
  %r = qnn.requantize %x : tensor<3x171x{a}> -> tensor<3x171x{b}>
  %e = qnn.dequantize %u : tensor<3x171x{w}> -> tensor<3x171xf32>
  %s = qnn.requantize %u : tensor<3x171x{w}> -> tensor<3x171x{a}>
  func.return %d, %r, %e, %s : tensor<3x171xf32>, tensor<3x171x{b}>, tensor<3x171xf32>, tensor<3x171x{a}>
}}"""
    x = (np.arange(3 * 171) % 256 - 128).astype(np.int8).reshape(3, 171)
    u = (np.arange(3 * 171) % 256).astype(np.uint8).reshape(3, 171)
    check(text, [x, u], FLAGS[variant])


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize(
    ("shape", "axis"),
    [((3, 70), 0), ((19, 4), 1), ((2, 3, 40), 1), ((5, 12), 0)],
)
def test_per_axis_quantize_blocks(shape: tuple[int, ...], axis: int, variant: str) -> None:
    """Per-axis scales: long runs (vector + tail), runs of one, and runs shorter than a vector."""
    channels = shape[axis]
    params = ",".join(f"{0.05 * (c + 1)}:{(-1) ** c * 3 * c}" for c in range(channels))
    q = f"!quant.uniform<i8:f32:{axis}, {{{params}}}>"
    other = f"!quant.uniform<i8:f32:{len(shape) - 1}, {{{','.join(['0.2:1'] * shape[-1])}}}>"
    dims = "x".join(map(str, shape))
    text = f"""func.func @main(%x: tensor<{dims}xf32>) -> (tensor<{dims}x{q}>, tensor<{dims}xf32>, tensor<{dims}x{other}>) {{
  %q = qnn.quantize %x : tensor<{dims}xf32> -> tensor<{dims}x{q}>
  %d = qnn.dequantize %q : tensor<{dims}x{q}> -> tensor<{dims}xf32>
  %r = qnn.requantize %q : tensor<{dims}x{q}> -> tensor<{dims}x{other}>
  func.return %q, %d, %r : tensor<{dims}x{q}>, tensor<{dims}xf32>, tensor<{dims}x{other}>
}}"""
    size = int(np.prod(shape))
    check(text, [special_floats(size, 11).reshape(shape)], FLAGS[variant])


@pytest.mark.parametrize("variant", VARIANTS)
def test_chunked_parallel_conversions(variant: str, monkeypatch) -> None:
    """Large conversions split into chunks across threads: chunks of 40 elements (a tail in
    every chunk, blocks cut mid-run) give the same bits as the serial kernels."""
    monkeypatch.setattr("codegen.threads.PARALLEL_ELEMENTS", 0)
    monkeypatch.setattr("codegen.threads.CONVERT_CHUNK", 40)
    q = "!quant.uniform<u8:f32, 0.25:255>"
    text = f"""func.func @main(%x: tensor<3x171xf32>) -> (tensor<3x171x{q}>, tensor<3x171xf32>) {{
  %q = qnn.quantize %x : tensor<3x171xf32> -> tensor<3x171x{q}>
  %d = qnn.dequantize %q : tensor<3x171x{q}> -> tensor<3x171xf32>
  func.return %q, %d : tensor<3x171x{q}>, tensor<3x171xf32>
}}"""
    compiled = compile_module(text, flags=FLAGS[variant])
    assert compiled.c_source.count("QD_PARALLEL_FOR\n    for (int64_t task") == 2
    check(text, [special_floats(3 * 171, 5).reshape(3, 171)], FLAGS[variant])
    test_dequantize_and_requantize_full_range(variant)
    test_per_axis_quantize_blocks((2, 3, 40), 1, variant)


@pytest.mark.parametrize(("storage", "zp_range"), [("i8", (-128, 127)), ("u8", (0, 255))])
def test_division_free_quantize_near_ties_of_arbitrary_scales(
    storage: str, zp_range: tuple[int, int]
) -> None:
    """The 8-bit half-to-even path replaces x / s by Markstein's reciprocal correction: 48
    channels of log-uniform scales (2^-30 .. 2^30, none a power of two), values on the ties
    (k + 1/2) s of each channel and one or two ulps either side, where an inexact quotient
    would round the other way, plus the special values; and requantize the same way."""
    rng = np.random.default_rng(17)
    channels, run = 48, 232  # 7 vector steps of 32 and a tail of 8 per channel
    scales = (2.0 ** rng.uniform(-30, 30, channels)).astype(np.float32)
    zps = rng.integers(zp_range[0], zp_range[1] + 1, channels)
    params = ",".join(f"{float(s)!r}:{z}" for s, z in zip(scales, zps, strict=True))
    q = f"!quant.uniform<{storage}:f32:0, {{{params}}}>"
    narrow = f"!quant.uniform<{storage}<{zp_range[0] + 1}:{zp_range[1]}>:f32, 0.3:{zps[0]}>"
    out = f"!quant.uniform<{storage}:f32, 0.7:{zps[1]}>"
    t = f"tensor<{channels}x{run}xf32>"
    text = f"""func.func @main(%x: {t}) -> (tensor<{channels}x{run}x{q}>, tensor<{channels}x{run}x{out}>, tensor<{channels}x{run}x{narrow}>) {{
  %q = qnn.quantize %x : {t} -> tensor<{channels}x{run}x{q}>
  %r = qnn.requantize %q : tensor<{channels}x{run}x{q}> -> tensor<{channels}x{run}x{out}>
  %n = qnn.quantize %x : {t} -> tensor<{channels}x{run}x{narrow}>
  func.return %q, %r, %n : tensor<{channels}x{run}x{q}>, tensor<{channels}x{run}x{out}>, tensor<{channels}x{run}x{narrow}>
}}"""
    k = rng.integers(-300, 300, (channels, run)).astype(np.float32) + np.float32(0.5)
    x = k * scales[:, None]
    steps = rng.integers(-2, 3, (channels, run))
    for _ in range(2):
        x = np.where(steps > 0, np.nextafter(x, np.float32(np.inf)), x)
        x = np.where(steps < 0, np.nextafter(x, np.float32(-np.inf)), x)
        steps -= np.sign(steps)
    x[:, :12] = special_floats(12 * channels, 3).reshape(channels, 12)
    x[:, 12] = np.inf
    compiled = compile_module(text)
    # the quantize and the requantize take the path, the narrow storage range does not
    assert compiled.c_source.count("static const float reciprocal[]") == 2
    check(text, [x.astype(np.float32)], None)
