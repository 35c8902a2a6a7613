"""The u8 x s8 tile of gemm.c.j2: with `vpmaddubsw`, taken only where `packing.maddubs_exact`
proves from the constant weights that no int16 pair sum can saturate (every pair |v0| + |v1| <=
128, e.g. reduce_range weights), and then bit-exact with the reference interpreter; weights one
step past the bound keep the exact int16-pair tile, unless the target has `vpdpbusd`, which
makes the tile exact for any int8 weights. The emitted C names its tile."""

from __future__ import annotations

import numpy as np
import pytest

from codegen import packing
from codegen.target import GENERIC, Target
from runtime.cc import target_of
from runtime.compiled import compile_module
from runtime.reference import run_function

from .test_compiled import STRICT, pins_flags

SLOW = pytest.mark.slow
FAST = "u8 x s8 vpmaddubsw tile"
EXACT = "exact int16-pair vpmaddwd tile"
DPBUSD = "u8 x s8 vpdpbusd tile"


def _ty(shape, elem: str) -> str:
    return "tensor<" + "x".join(map(str, shape)) + f"x{elem}>"


def _weight_type(zps: list[int], axis: int) -> str:
    """Per-tensor (one zero point) or per-axis int8 weights."""
    if len(zps) == 1:
        return f"!quant.uniform<i8:f32, 0.02:{zps[0]}>"
    pairs = ",".join(f"{0.01 + 0.002 * (i % 3)}:{z}" for i, z in enumerate(zps))
    return f"!quant.uniform<i8:f32:{axis}, {{{pairs}}}>"


def _program(x: np.ndarray, x_zp: int, w: np.ndarray, w_zps: list[int], conv: str | None) -> str:
    """`qnn.dot` (conv None) or `qnn.conv2d` with `conv` its attributes (the output shape is
    the reference's); constant weights, a bias and relu, u8 output."""
    storage = "u8" if x.dtype == np.uint8 else "i8"
    xt = _ty(x.shape, f"!quant.uniform<{storage}:f32, 0.05:{x_zp}>")
    wt = _ty(w.shape, _weight_type(w_zps, 1 if conv is None else 0))
    o = w.shape[1] if conv is None else w.shape[0]
    if conv is None:
        y_shape, op, attrs = (x.shape[0], o), "qnn.dot", ""
    else:
        y_shape, op, attrs = _conv_output(x.shape, w.shape, conv), "qnn.conv2d", f", {conv}"
    yt = _ty(y_shape, "!quant.uniform<u8:f32, 0.5:7>")
    wi = _ty(w.shape, "i8")
    bias = ",".join(str((i * 7919) % 4001 - 2000) for i in range(o))
    return f"""func.func @main(%x: {xt}) -> {yt} {{
  %wi = arith.constant dense<{w.tolist()}> : {wi}
  %w = quant.scast %wi : {wi} to {wt}
  %b = arith.constant dense<[{bias}]> : tensor<{o}xi32>
  %y = {op} %x, %w bias(%b : tensor<{o}xi32>) {{activation = "relu"{attrs}}} : {xt}, {wt} -> {yt}
  func.return %y : {yt}
}}"""


# (x shape, w shape, attributes): NHWC / NCHW, padding, stride, dilation, groups, 1x1 direct
# (C a multiple of 4) and not (C = 6: the rows are padded to whole quads), batch 2
CONVS = [
    ((1, 7, 9, 6), (12, 3, 3, 6), 'layout = "nhwc", pads = array<i64: 1, 1, 1, 1>'),
    (
        (2, 5, 9, 7),
        (10, 5, 3, 2),
        'layout = "nchw", strides = array<i64: 2, 1>, dilations = array<i64: 1, 2>, '
        "pads = array<i64: 2, 0, 1, 1>",
    ),
    ((1, 6, 5, 8), (19, 1, 1, 8), 'layout = "nhwc"'),
    ((2, 5, 4, 6), (17, 1, 1, 6), 'layout = "nhwc"'),
    (
        (1, 6, 6, 8),
        (6, 3, 3, 4),
        'layout = "nhwc", pads = array<i64: 1, 1, 1, 1>, groups = 2 : i64',
    ),
]


def _conv_output(xs, ws, attrs: str) -> tuple[int, ...]:
    """The output shape, from the same attributes the op gets."""

    def pair(name: str, default: list[int]) -> list[int]:
        key = f"{name} = array<i64: "
        if key not in attrs:
            return default
        return [int(v) for v in attrs.split(key)[1].split(">")[0].split(",")]

    (sh, sw), (dh, dw) = pair("strides", [1, 1]), pair("dilations", [1, 1])
    pt, pl, pb, pr = pair("pads", [0, 0, 0, 0])
    if '"nchw"' in attrs:
        (n, _, h, w), (o, _, kh, kw) = xs, ws
    else:
        (n, h, w, _), (o, kh, kw, _) = xs, ws
    oh = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1
    ow = (w + pl + pr - dw * (kw - 1) - 1) // sw + 1
    return (n, o, oh, ow) if '"nchw"' in attrs else (n, oh, ow, o)


def _activations(rng: np.random.Generator, shape, storage: str) -> np.ndarray:
    """Full range, with runs of the extremes."""
    info = np.iinfo(np.uint8 if storage == "u8" else np.int8)
    x = rng.integers(info.min, info.max, shape, endpoint=True).astype(info.dtype)
    x.flat[::5] = info.max
    x.flat[1::7] = info.min
    return x


def _seven_bit(rng: np.random.Generator, shape, zps: list[int], axis: int) -> np.ndarray:
    """reduce_range-style weights: w - zw in [-64, 64], both ends frequent."""
    v = rng.integers(-64, 64, shape, endpoint=True)
    v.flat[::3] = -64
    v.flat[1::4] = 64
    zero = np.asarray(zps).reshape([-1 if d == axis else 1 for d in range(len(shape))])
    return (v + zero).astype(np.int8)


def _check(text: str, inputs: list[np.ndarray], path: str, flags=None) -> None:
    compiled = compile_module(text, flags=flags)
    assert path in compiled.c_source
    expected = run_function(text, inputs)[0]
    got = compiled(*inputs)[0]
    assert got.dtype == expected.dtype and np.array_equal(got, expected), text


@pytest.fixture
def parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every loop that may run in parallel does."""
    monkeypatch.setattr("codegen.threads.PARALLEL_MACS", 0)
    monkeypatch.setattr("codegen.threads.PARALLEL_ELEMENTS", 0)


@pytest.mark.parametrize(
    ("m", "k", "n", "storage", "x_zp", "zps"),
    [
        (13, 37, 19, "u8", 255, [0]),
        (7, 64, 33, "i8", -128, [5]),
        pytest.param(
            6, 9, 16, "i8", 100, [(-1) ** i * (i * 11 % 60) for i in range(16)], marks=SLOW
        ),
    ],
)
def test_dot_with_seven_bit_weights_takes_the_u8_s8_tile(
    m, k, n, storage, x_zp, zps, parallel
) -> None:
    rng = np.random.default_rng(m * k * n)
    x, w = _activations(rng, (m, k), storage), _seven_bit(rng, (k, n), zps, 1)
    _check(_program(x, x_zp, w, zps, None), [x], FAST)


@pytest.mark.parametrize(
    "index", [0, 1, 2, *(pytest.param(i, marks=SLOW) for i in range(3, len(CONVS)))]
)
def test_conv_with_seven_bit_weights_takes_the_u8_s8_tile(index: int, parallel) -> None:
    xs, ws, attrs = CONVS[index]
    rng = np.random.default_rng(index)
    storage, x_zp = ("u8", 3) if index % 2 else ("i8", -128)
    zps = [0] if index % 2 else [(-1) ** i * (i * 13 % 50) for i in range(ws[0])]
    x, w = _activations(rng, xs, storage), _seven_bit(rng, ws, zps, 0)
    _check(_program(x, x_zp, w, zps, attrs), [x], FAST)


def _pairs_at_the_bound(k: int, n: int) -> np.ndarray:
    """Weights whose every pair (k = 2p, 2p + 1) has |w0| + |w1| = 128 exactly, with every sign
    pattern and -128 among them."""
    pairs = [(64, 64), (-64, -64), (127, 1), (-128, 0), (0, -128), (100, -28), (-1, -127)]
    w = np.zeros((k, n), dtype=np.int8)
    for p in range(k // 2):
        for c in range(n):
            w[2 * p : 2 * p + 2, c] = pairs[(p + c) % len(pairs)]
    return w


def _worst_activations(w: np.ndarray) -> np.ndarray:
    """All 255, all 0, and rows at 255 exactly where the weights of a column are positive (or
    negative), so pair sums reach +-255 * 128."""
    rows = [np.full(w.shape[0], 255), np.zeros(w.shape[0])]
    for c in range(3):
        rows += [np.where(w[:, c] > 0, 255, 0), np.where(w[:, c] < 0, 255, 0)]
    return np.stack(rows).astype(np.uint8)


@pytest.mark.parametrize("flags", [None, pytest.param(STRICT, marks=pins_flags)])
def test_weights_at_the_pair_bound_are_exact_on_worst_case_activations(flags) -> None:
    w = _pairs_at_the_bound(40, 21)
    x = _worst_activations(w)
    _check(_program(x, 255, w, [0], None), [x], FAST, flags)
    _check(_program(x, 0, w, [0], None), [x], FAST, flags)


def test_conv_at_the_pair_bound_is_exact_on_worst_case_activations(parallel) -> None:
    """+-64 everywhere: every pair sums to 128 whatever the tap order."""
    w = np.where(np.random.default_rng(1).random((16, 3, 3, 8)) < 0.5, 64, -64).astype(np.int8)
    x = np.full((2, 5, 5, 8), 255, dtype=np.uint8)
    x[1] = 0
    _check(_program(x, 0, w, [0], 'layout = "nhwc", pads = array<i64: 1, 1, 1, 1>'), [x], FAST)


def _target(monkeypatch: pytest.MonkeyPatch, target: Target) -> None:
    """Plan the kernels for `target` whatever this host is (the C still selects its
    instructions by the compiler's macros)."""
    monkeypatch.setattr("runtime.compiled.target_of", lambda flags=None: target)


def test_one_pair_past_the_bound_keeps_the_exact_tile(monkeypatch) -> None:
    _target(monkeypatch, GENERIC)
    w = _pairs_at_the_bound(40, 21)
    w[10:12, 7] = (65, 64)
    x = _worst_activations(w)
    _check(_program(x, 255, w, [0], None), [x], EXACT)


def _full_range(rng: np.random.Generator, shape) -> np.ndarray:
    """int8 weights with both ends frequent, so pairs reach |w0| + |w1| = 255."""
    w = rng.integers(-128, 127, shape, endpoint=True)
    w.flat[::3], w.flat[1::5] = -128, 127
    return w.astype(np.int8)


@pytest.mark.parametrize("flags", [None, pytest.param(STRICT, marks=pins_flags)])
def test_full_range_weights_take_the_dpbusd_tile_where_the_target_has_it(
    flags, monkeypatch
) -> None:
    """With vpdpbusd (no int16 step) any int8 weights are exact in the u8 x s8 tile; the C
    falls back to the tile's scalar loop under flags without it (STRICT), still exact."""
    _target(monkeypatch, Target(dot_product=True))
    rng = np.random.default_rng(7)
    w = _full_range(rng, (40, 21))
    x = _worst_activations(w)
    _check(_program(x, 255, w, [0], None), [x], DPBUSD, flags)
    xi = _activations(rng, (9, 40), "i8")
    _check(_program(xi, -3, w, [0], None), [xi], DPBUSD, flags)
    xs, ws, attrs = CONVS[1]
    xc, wc = _activations(rng, xs, "u8"), _full_range(rng, ws)
    _check(_program(xc, 3, wc, [0], attrs), [xc], DPBUSD, flags)


def test_the_host_target_decides_the_tile() -> None:
    """Unpatched: full-range weights take the vpdpbusd tile exactly when this host's compiler
    has vpdpbusd, else the int16-pair tile."""
    w = _full_range(np.random.default_rng(8), (40, 21))
    x = _worst_activations(w)
    _check(_program(x, 255, w, [0], None), [x], DPBUSD if target_of().dot_product else EXACT)


# The host's compiler without AVX-512: a wide plan then runs the 256-bit tile, or the scalar
# loop where the compiler has no vpdpbusd of any width.
NO_AVX512 = ["-O2", "-march=native", "-mno-avx512f", "-ffp-contract=off"]


@pytest.mark.parametrize(
    "flags",
    [None, pytest.param(NO_AVX512, marks=pins_flags), pytest.param(STRICT, marks=pins_flags)],
)
def test_a_wide_plan_is_exact_with_or_without_avx512(flags, monkeypatch) -> None:
    """A 512-bit vpdpbusd plan (Target.wide_vectors) tiles M by the 12 to 16 rows that waste
    the fewest (49 rows: 13, 4 tiles), full-range weights exact each way, u8 and i8
    activations, a tail tile, NHWC and NCHW convs."""
    _target(monkeypatch, Target(dot_product=True, wide_vectors=True))
    rng = np.random.default_rng(13)
    for m, rows, storage, x_zp in ((49, 13, "u8", 3), (128, 16, "i8", -5), (5, 12, "u8", 255)):
        x, w = _activations(rng, (m, 40), storage), _full_range(rng, (40, 21))
        _check(_program(x, x_zp, w, [0], None), [x], f"512-bit vpdpbusd {rows}-row tile", flags)
    for index, (xs, ws, attrs) in enumerate(CONVS[:2]):
        xc, wc = _activations(rng, xs, "i8" if index else "u8"), _full_range(rng, ws)
        _check(_program(xc, 3, wc, [0], attrs), [xc], "512-bit vpdpbusd", flags)


def test_the_proof_checks_exactly_the_pairs_the_kernel_forms() -> None:
    """Pairs are k = 2p, 2p + 1 (an odd K pads with zero); every value must be int8."""
    assert packing.MADDUBS_PAIR_BOUND * 255 <= 2**15 - 1 < (packing.MADDUBS_PAIR_BOUND + 1) * 255
    ok = np.array([[[64], [64], [-128], [0], [128 - 77], [-77], [-128]]])  # (1, K = 7, 1)
    assert packing.maddubs_exact(ok)
    assert not packing.maddubs_exact(np.concatenate([ok, [[[-1]]]], axis=1))  # -128, -1: 129
    shifted = np.array([[[0], [64], [64], [0]]])  # 128 across two pairs: fine
    assert packing.maddubs_exact(shifted)
    assert not packing.maddubs_exact(np.array([[[65], [64]]]))
    assert not packing.maddubs_exact(np.array([[[128], [0]]]))  # not int8


# The host's compiler without AMX: a tiles plan then runs its vector tile.
NO_AMX = ["-O2", "-march=native", "-mno-amx-tile", "-mno-amx-int8", "-ffp-contract=off"]
AMX = "AMX tdpbusd tiles"


@pytest.mark.parametrize(
    "flags", [None, pytest.param(NO_AMX, marks=pins_flags), pytest.param(STRICT, marks=pins_flags)]
)
def test_a_tiles_plan_is_exact_with_or_without_amx(flags, monkeypatch, parallel) -> None:
    """A tiles plan (K in whole k-steps, columns in pairs of 16-column blocks, rows in place
    where they can be) runs whole 32-row steps on AMX where the compiler and the OS allow and
    the other rows on the vector tile, else every row on the vector tile (NO_AMX) or the scalar
    loop (STRICT) over the same layout: exact each way, on row counts that are not whole AMX
    steps nor whole fallback tiles, K of one short step (36), of steps that divide it (96) and
    padded to 64-byte steps (100), u8 and i8 activations, NHWC, NCHW and grouped convs."""
    _target(monkeypatch, Target(dot_product=True, tiles=True))
    rng = np.random.default_rng(11)
    cases = ((37, 100, 50, "u8", 3), (70, 96, 16, "i8", -5), (64, 36, 40, "i8", 127))
    for m, k, n, storage, x_zp in cases:
        x, w = _activations(rng, (m, k), storage), _full_range(rng, (k, n))
        _check(_program(x, x_zp, w, [0], None), [x], AMX, flags)
    nchw = ((1, 6, 9, 9), (20, 6, 3, 3), 'layout = "nchw", pads = array<i64: 1, 1, 1, 1>')
    for index, (xs, ws, attrs) in enumerate((CONVS[0], nchw, CONVS[4])):  # 32+ output pixels
        storage = "u8" if index % 2 else "i8"
        xc, wc = _activations(rng, xs, storage), _full_range(rng, ws)
        _check(_program(xc, 3, wc, [0], attrs), [xc], AMX, flags)


def test_the_host_decides_amx_tiles() -> None:
    """Unpatched: 16 rows or more take the AMX step exactly when this host's compiler targets
    AMX and the OS grants it; fewer rows never do."""
    rng = np.random.default_rng(12)
    w = _full_range(rng, (40, 21))
    x = _activations(rng, (16, 40), "u8")
    compiled = compile_module(_program(x, 255, w, [0], None))
    assert (AMX in compiled.c_source) == target_of().tiles
    few = _activations(rng, (15, 40), "u8")
    _check(_program(few, 255, w, [0], None), [few], DPBUSD if target_of().dot_product else EXACT)
    assert AMX not in compile_module(_program(few, 255, w, [0], None)).c_source


@pytest.mark.parametrize(
    ("k", "step"),
    [(16, 16), (24, 24), (27, 28), (96, 48), (144, 48), (68, 64), (100, 64), (768, 64)],
)
def test_the_amx_k_step_divides_k_unless_padding_needs_fewer_steps(k, step) -> None:
    from codegen.families.gemm import tile_k_step

    assert tile_k_step(k) == step


def _dot_with_bias(w: np.ndarray, bias: list[int]) -> str:
    o = w.shape[1]
    xt, yt = (
        "tensor<4x8x!quant.uniform<u8:f32, 0.05>>",
        f"tensor<4x{o}x!quant.uniform<i8:f32, 2.0e+07>>",
    )
    wt = f"tensor<8x{o}x!quant.uniform<i8:f32, 0.02>>"
    return f"""func.func @main(%x: {xt}) -> {yt} {{
  %wi = arith.constant dense<{w.tolist()}> : tensor<8x{o}xi8>
  %w = quant.scast %wi : tensor<8x{o}xi8> to {wt}
  %b = arith.constant dense<{bias}> : tensor<{o}xi32>
  %y = qnn.dot %x, %w bias(%b : tensor<{o}xi32>) : {xt}, {wt} -> {yt}
  func.return %y : {yt}
}}"""


OVERFLOW_TEST = ("const __m256i overflow", "_mm512_cmplt_epi32_mask")


def test_the_bias_overflow_test_is_left_out_only_where_proven() -> None:
    """|acc| <= 8 · 255 · 127 here: a bias that keeps |acc| + |bias| below 2^31 drops the
    epilogue's overflow test, one more keeps it; both exact at acc + bias = 2^31 - 1 and past."""
    w = np.full((8, 16), 127, dtype=np.int8)
    x = np.full((4, 8), 255, dtype=np.uint8)
    edge = 2**31 - 1 - 8 * 255 * 127
    for bias, tested in ((edge, False), (edge + 1, True)):
        text = _dot_with_bias(w, [bias] * 16)
        source = compile_module(text).c_source
        assert any(t in source for t in OVERFLOW_TEST) == tested
        np.testing.assert_array_equal(compile_module(text)(x)[0], run_function(text, [x])[0])
