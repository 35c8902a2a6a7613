"""Compiled C against the reference interpreter: bit for bit.

Random programs (tests/numeric/program_gen.py) exercise quantize / requantize / conv2d
(per-axis weights, bias, padding) / fused relu, clamp and residual add / avg and max pooling /
concat with requantized inputs / scaled builders with every scheme; the round-trip suite adds
NHWC, groups, dilation, strides, dot, float kernels and round modes.
"""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from xdsl.dialects import func

from codegen.emit import CodegenError
from qdialect.textio import parse_module, print_module
from runtime.cc import effective_flags, target_of
from runtime.compiled import compile_module
from runtime.reference import run_function
from runtime.signature import expected_array

from .program_gen import conv_program, core_program, misc_program, scaled_program
from .round_trip_suite import ROUND_TRIP_SUITE
from .tiers import tiered_range

ROOT = Path(__file__).resolve().parents[2]
# Random programs and configurations: the first DEFAULT_* in the default tier, the rest of the
# full counts (which the environment may change) under -m slow.
PROGRAMS = int(os.environ.get("QDIALECT_COMPILED_PROGRAMS", "40"))
CONFIGS = int(os.environ.get("QDIALECT_COMPILED_CONFIGS", "120"))
DEFAULT_PROGRAMS, DEFAULT_CONFIGS = 10, 30
STRICT = ["-O1", "-ffp-contract=off", "-Wall", "-Wextra", "-Werror"]
# Tests that compile with flags of their own (not $QDIALECT_CFLAGS) are marked `pins_flags`:
# test_sanitizers.py's child, which sets $QDIALECT_CFLAGS, leaves them out.
pins_flags = pytest.mark.pins_flags
FLAG_VARIANTS = {"default-flags": None, "strict": STRICT}


def flag_params(cases: list[tuple], ids: list[str], default_tier) -> list:
    """Each case (a tuple of arguments) with the default flags and with STRICT (`pins_flags`);
    `default_tier(case_index, flags_id)` picks the ones of the default tier, the others are
    `slow`."""
    params = []
    for index, (case, case_id) in enumerate(zip(cases, ids, strict=True)):
        for flags_id, flags in FLAG_VARIANTS.items():
            marks = [] if default_tier(index, flags_id) else [pytest.mark.slow]
            if flags is not None:
                marks.append(pins_flags)
            params.append(pytest.param(*case, flags, marks=marks, id=f"{case_id}-{flags_id}"))
    return params


def random_inputs(function: func.FuncOp, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = []
    for t in function.function_type.inputs.data:
        dtype, shape = expected_array(t)
        if dtype.kind == "f":
            x = rng.standard_normal(shape).astype(dtype) * dtype.type(rng.choice([0.5, 4.0, 40.0]))
            x.flat[:: max(1, x.size // 7)] = dtype.type(0.25)  # exact ties for some scales
            arrays.append(x)
        else:
            info = np.iinfo(dtype)
            lo, hi = max(info.min, -(2**15)), min(info.max, 2**15)
            arrays.append(rng.integers(lo, hi, shape, endpoint=True).astype(dtype))
    return arrays


def check(text: str, seed: int, flags=None, entry: str | None = None) -> None:
    compiled = compile_module(text, entry, flags=flags)
    inputs = random_inputs(compiled.function, seed)
    expected = run_function(text, inputs, entry)
    got = compiled(*inputs)
    for e, g in zip(expected, got, strict=True):
        assert e.dtype == g.dtype and np.array_equal(e, g, equal_nan=True), compiled.c_source


@pytest.mark.parametrize("seed", tiered_range(PROGRAMS, DEFAULT_PROGRAMS))
def test_random_programs_bit_exact(seed: int) -> None:
    check(core_program(seed), seed)
    check(scaled_program(seed), seed)


@pytest.mark.parametrize("seed", tiered_range(CONFIGS, DEFAULT_CONFIGS))
def test_conv_and_dot_configurations_bit_exact(seed: int) -> None:
    """Layouts, groups, dilation, strides, padding, i8/u8/i16, per-axis, fused epilogues."""
    check(conv_program(seed), seed)


@pytest.mark.parametrize("seed", tiered_range(CONFIGS, DEFAULT_CONFIGS))
def test_pool_add_concat_configurations_bit_exact(seed: int) -> None:
    """Pooling windows/padding/layouts, broadcasting adds, concats of mixed types."""
    check(misc_program(seed), seed)


# why a round-trip function may not compile: an op without a kernel, weights that are not
# constants, sub-channel types outside the weight-only dot
REFUSALS = (
    "has no C kernel",
    "compiles constant weights only",
    "sub-channel",
    "no C type for",
    "only tensors of static shape",
)


@pins_flags
@pytest.mark.parametrize(
    "name",
    [
        n if n == "qnn_ops.mlir" else pytest.param(n, marks=pytest.mark.slow)
        for n in ROUND_TRIP_SUITE
    ],
)
def test_round_trip_suite_functions_bit_exact_and_warning_free(name: str) -> None:
    """Every function of an op round-trip file the code generator takes, compiled with
    -Werror; the others are refused for a reason the generator names."""
    module = parse_module((ROOT / "tests" / "filecheck" / name).read_text())
    text = print_module(module)
    compiled = 0
    for function in module.ops:
        if not function.function_type.outputs.data:
            # These only round-trip IR; give them a result to compare by returning nothing.
            continue
        try:
            check(text, 7, STRICT, function.sym_name.data)
        except CodegenError as err:
            assert any(reason in str(err) for reason in REFUSALS), str(err)
            continue
        compiled += 1
    assert compiled >= 1


@pins_flags
@pytest.mark.parametrize("generator", [core_program, scaled_program], ids=["core", "scaled"])
@pytest.mark.parametrize("seed", range(12))
def test_generated_c_is_warning_free_for_every_template(seed: int, generator) -> None:
    compile_module(generator(seed), flags=STRICT)


def test_compile_module_user_api(tmp_path) -> None:
    text = (ROOT / "examples" / "conv_block.mlir").read_text()
    fn = compile_module(text, entry="main", name="examples/conv_block.mlir")
    x = np.random.default_rng(0).random((1, 3, 8, 8), dtype=np.float32)
    (y,) = fn(x)
    assert np.array_equal(y, run_function(text, [x])[0])
    assert "int qd_entry(" in fn.c_source and "restrict" in fn.c_source
    assert fn.arena_bytes > 0
    (named,) = fn(arg0=x)
    assert np.array_equal(named, y)
    with pytest.raises(Exception, match="argument 'arg0' must have dtype float32, got float64"):
        fn(x.astype(np.float64))
    with pytest.raises(Exception, match=r"must have shape \[1, 3, 8, 8\]"):
        fn(x[:, :, :4])
    strided = np.asfortranarray(x)
    (again,) = fn(strided)  # non-contiguous input: copied, never passed as a wrong buffer
    assert np.array_equal(again, y)


DOT = """func.func @main(%a: tensor<2x16x!quant.uniform<u8:f32, 0.02:128>>, %b: tensor<16x8x!quant.uniform<i8:f32, 0.01>>) -> tensor<2x8x!quant.uniform<u8:f32, 0.5:128>> {
  %y = qnn.dot %a, %b : tensor<2x16x!quant.uniform<u8:f32, 0.02:128>>, tensor<16x8x!quant.uniform<i8:f32, 0.01>> -> tensor<2x8x!quant.uniform<u8:f32, 0.5:128>>
  func.return %y : tensor<2x8x!quant.uniform<u8:f32, 0.5:128>>
}"""


def test_call_checks_every_argument_and_fills_out() -> None:
    fn = compile_module(DOT)
    rng = np.random.default_rng(5)
    a = rng.integers(0, 256, (2, 16), dtype=np.uint8)
    b = rng.integers(-128, 128, (16, 8), dtype=np.int8)
    (y,) = fn(a, b)
    assert np.array_equal(y, run_function(DOT, [a, b])[0])
    with pytest.raises(Exception, match="argument 'arg1' must have dtype int8, got uint8"):
        fn(a, b.view(np.uint8))
    with pytest.raises(
        Exception, match=r"argument 'arg1' must have shape \[16, 8\], got \[8, 16\]"
    ):
        fn(a, np.ascontiguousarray(b.T))
    with pytest.raises(Exception, match="argument 'arg0' must have dtype uint8, got int64"):
        fn(a.tolist(), b)
    with pytest.raises(Exception, match=r"expected 2 inputs \['arg0', 'arg1'\], got 1"):
        fn(a)
    (strided,) = fn(a, np.asfortranarray(b))  # copied to C order, never read in the wrong order
    assert np.array_equal(strided, y)
    out = np.full_like(y, 7)
    (same,) = fn(a, b, out=[out])
    assert same is out and np.array_equal(out, y)
    bad = {
        r"out\[0\] must be a numpy array of dtype uint8, got int8": [out.view(np.int8)],
        r"out\[0\] must have shape \[2, 8\], got \[8, 2\]": [np.empty((8, 2), np.uint8)],
        r"out\[0\] must be a writeable C-contiguous array": [np.empty((8, 2), np.uint8).T],
        r"expected 1 arrays in out=, got 2": [out, out],
        r"out\[0\] overlaps 'arg0'; results need their own memory": [
            a.reshape(-1)[:16].reshape(2, 8)
        ],
    }
    for message, arrays in bad.items():
        with pytest.raises(Exception, match=message):
            fn(a, b, out=arrays)
    frozen = out.copy()
    frozen.flags.writeable = False
    with pytest.raises(Exception, match="writeable C-contiguous"):
        fn(a, b, out=[frozen])


@pins_flags
def test_results_written_in_place_and_copied_where_needed() -> None:
    """Returned results are computed in the output buffers; a result returned twice, one also
    read by a later kernel, an argument and a constant returned as they are still come out."""
    q = "!quant.uniform<i8:f32, 0.5:3>"
    text = f"""func.func @main(%x: tensor<40xf32>) -> (tensor<40x{q}>, tensor<40xf32>, tensor<40x{q}>, tensor<40xf32>, tensor<2xi8>) {{
  %q = qnn.quantize %x : tensor<40xf32> -> tensor<40x{q}>
  %d = qnn.dequantize %q : tensor<40x{q}> -> tensor<40xf32>
  %c = arith.constant dense<[4, -5]> : tensor<2xi8>
  func.return %q, %d, %q, %x, %c : tensor<40x{q}>, tensor<40xf32>, tensor<40x{q}>, tensor<40xf32>, tensor<2xi8>
}}"""
    fn = compile_module(text, flags=STRICT)
    x = np.linspace(-30, 30, 40, dtype=np.float32)
    for got, expected in zip(fn(x), run_function(text, [x]), strict=True):
        assert np.array_equal(got, expected)
    assert "memcpy(outputs[0]" not in fn.c_source and "memcpy(outputs[2]" in fn.c_source


@pins_flags
def test_reshapes_share_buffers_only_where_nothing_reads_the_source_later() -> None:
    """A reshape of an argument, or the last reader of an intermediate, is its source's buffer
    (no copy kernel); one whose source is read again later, or which is returned, copies. The
    answers equal the reference's either way."""
    text = """func.func @main(%x: tensor<4x6xf32>) -> (tensor<6x4xf32>, tensor<24xf32>, tensor<3x8xf32>) {
  %s0 = arith.constant dense<[6, 4]> : tensor<2xi64>
  %s1 = arith.constant dense<[24]> : tensor<1xi64>
  %s2 = arith.constant dense<[3, 8]> : tensor<2xi64>
  %s3 = arith.constant dense<[8, 3]> : tensor<2xi64>
  %xr = tensor.reshape %x(%s0) : (tensor<4x6xf32>, tensor<2xi64>) -> tensor<6x4xf32>
  %r = qnn.relu %xr : tensor<6x4xf32> -> tensor<6x4xf32>
  %flat = tensor.reshape %r(%s1) : (tensor<6x4xf32>, tensor<1xi64>) -> tensor<24xf32>
  %twice = qnn.add %flat, %flat : tensor<24xf32>, tensor<24xf32> -> tensor<24xf32>
  %a = tensor.reshape %twice(%s2) : (tensor<24xf32>, tensor<2xi64>) -> tensor<3x8xf32>
  %b = tensor.reshape %a(%s3) : (tensor<3x8xf32>, tensor<2xi64>) -> tensor<8x3xf32>
  %c = tensor.reshape %b(%s2) : (tensor<8x3xf32>, tensor<2xi64>) -> tensor<3x8xf32>
  %sum = qnn.add %c, %c : tensor<3x8xf32>, tensor<3x8xf32> -> tensor<3x8xf32>
  func.return %r, %flat, %sum : tensor<6x4xf32>, tensor<24xf32>, tensor<3x8xf32>
}"""
    fn = compile_module(text, flags=STRICT)
    x = np.linspace(-3, 3, 24, dtype=np.float32).reshape(4, 6)
    for got, expected in zip(fn(x), run_function(text, [x]), strict=True):
        assert np.array_equal(got, expected)
    body = fn.c_source[fn.c_source.index("qd_entry") :]
    # kernels: relu (reading the argument: %xr is it), the copy of %flat into its output
    # buffer (a returned reshape), the two adds (the second reading %twice's buffer: %a, %b
    # and %c are it); without the shared buffers there would be five reshape copies more
    assert body.count("qd_kernel") == 4
    assert "qd_kernel0(((float *)inputs[0])" in body


@pins_flags
def test_out_of_several_results_views_and_read_only_inputs() -> None:
    """The unrolled common call and the general path agree: views (which may overlap and so
    take np.may_share_memory), tuples, read-only inputs and several results."""
    q = "!quant.uniform<i8:f32, 0.5:3>"
    text = f"""func.func @main(%x: tensor<40xf32>) -> (tensor<40x{q}>, tensor<40xf32>) {{
  %q = qnn.quantize %x : tensor<40xf32> -> tensor<40x{q}>
  %d = qnn.dequantize %q : tensor<40x{q}> -> tensor<40xf32>
  func.return %q, %d : tensor<40x{q}>, tensor<40xf32>
}}"""
    fn = compile_module(text, flags=STRICT)
    x = np.linspace(-30, 30, 40, dtype=np.float32)
    x.flags.writeable = False
    expected = run_function(text, [x])
    q_out, d_out = np.zeros(40, np.int8), np.zeros(40, np.float32)
    results = fn(x, out=(q_out, d_out))
    assert results[0] is q_out and results[1] is d_out
    assert all(np.array_equal(r, e) for r, e in zip(results, expected, strict=True))
    backing = np.zeros(100, np.float32)  # views of one array that do not overlap: accepted
    xs, ds = backing[:40], backing[50:90]
    xs[...] = x
    (q_view, d_view) = fn(xs, out=[np.zeros(40, np.int8), ds])
    assert np.array_equal(d_view, expected[1]) and np.shares_memory(d_view, backing)
    with pytest.raises(Exception, match=r"out\[1\] overlaps 'arg0'"):
        fn(xs, out=[q_out, backing[30:70]])
    with pytest.raises(Exception, match=r"out\[1\] overlaps 'arg0'"):
        fn(d_out, out=[q_out, d_out])
    with pytest.raises(Exception, match=r"out\[0\] must be a numpy array of dtype int8, got list"):
        fn(x, out=[[0] * 40, d_out])


def test_thread_count_is_settable(monkeypatch: pytest.MonkeyPatch) -> None:
    fn = compile_module(DOT, threads=1)
    assert "void qd_set_threads(int n)" in fn.c_source
    a = np.zeros((2, 16), np.uint8)
    b = np.ones((16, 8), np.int8)
    fn.set_threads(2)
    (y,) = fn(a, b)
    assert np.array_equal(y, run_function(DOT, [a, b])[0])
    with pytest.raises(ValueError, match="thread count must be a positive integer, got 0"):
        fn.set_threads(0)
    monkeypatch.setenv("QDIALECT_NUM_THREADS", "two")
    with pytest.raises(
        ValueError, match="QDIALECT_NUM_THREADS must be a positive integer, got 'two'"
    ):
        compile_module(DOT)
    monkeypatch.setenv("QDIALECT_NUM_THREADS", "1")
    assert compile_module(DOT).name == "main"


ROUND_MODES = [
    "half_to_even",
    "half_away_from_zero",
    "half_toward_zero",
    "half_up",
    "half_down",
    "away_from_zero",
    "toward_zero",
    "up",
    "down",
]


@pins_flags
@pytest.mark.parametrize("storage", ["i8", "u8", "i16", "u16", "i32", "i4", "u4"])
@pytest.mark.parametrize("mode", ROUND_MODES)
def test_quantize_round_modes_and_storage(storage: str, mode: str) -> None:
    q = f"!quant.uniform<{storage}:f32, 0.25:1>"
    text = f"""func.func @main(%x: tensor<3x7xf32>) -> (tensor<3x7x{q}>, tensor<3x7xf32>) {{
  %q = qnn.quantize %x {{round_mode = "{mode}"}} : tensor<3x7xf32> -> tensor<3x7x{q}>
  %d = qnn.dequantize %q : tensor<3x7x{q}> -> tensor<3x7xf32>
  func.return %q, %d : tensor<3x7x{q}>, tensor<3x7xf32>
}}"""
    x = np.array(
        [0.125, -0.125, 0.375, -0.375, 1e30, -np.inf, np.nan] * 3, dtype=np.float32
    ).reshape(3, 7)
    x[1] *= np.float32(37.0)
    got, expected = compile_module(text, flags=STRICT)(x), run_function(text, [x])
    for g, e in zip(got, expected, strict=True):
        assert np.array_equal(g, e, equal_nan=True)


@pins_flags
def test_per_axis_and_elementwise_kernels() -> None:
    w = "!quant.uniform<i8:f32:1, {0.5:3,0.25,0.125:-7}>"
    t = "!quant.uniform<u8:f32, 0.1:128>"
    text = f"""func.func @main(%x: tensor<2x3x4xf32>, %u: tensor<2x3x4x{t}>) -> (tensor<2x3x4xf32>, tensor<2x3x4x{t}>, tensor<2x3x4x{t}>, tensor<2x3x4xf32>, tensor<2x3x4xf32>) {{
  %q = qnn.quantize %x : tensor<2x3x4xf32> -> tensor<2x3x4x{w}>
  %d = qnn.dequantize %q : tensor<2x3x4x{w}> -> tensor<2x3x4xf32>
  %r = qnn.relu %u : tensor<2x3x4x{t}> -> tensor<2x3x4x{t}>
  %c = qnn.clamp %u {{min = -2.0 : f32, max = 1.0 : f32}} : tensor<2x3x4x{t}> -> tensor<2x3x4x{t}>
  %f = qnn.fake_quant %x {{levels = 5 : i64, input_low = -1.0 : f32, input_high = 1.0 : f32, output_low = -2.0 : f32, output_high = 2.0 : f32}} : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  %g = qnn.clamp %x {{min = -0.5 : f32, max = 0.5 : f32}} : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  func.return %d, %r, %c, %f, %g : tensor<2x3x4xf32>, tensor<2x3x4x{t}>, tensor<2x3x4x{t}>, tensor<2x3x4xf32>, tensor<2x3x4xf32>
}}"""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 4)).astype(np.float32) * np.float32(3)
    u = rng.integers(0, 256, (2, 3, 4), dtype=np.uint8)
    got, expected = compile_module(text, flags=STRICT)(x, u), run_function(text, [x, u])
    for g, e in zip(got, expected, strict=True):
        assert np.array_equal(g, e, equal_nan=True)


@pins_flags
def test_hostile_function_name_never_reaches_c() -> None:
    name = "x*/ int system(const char*); /*"
    text = f"""func.func @"{name}"(%x: tensor<4xf32>) -> tensor<4xf32> {{
  %y = qnn.relu %x : tensor<4xf32> -> tensor<4xf32>
  func.return %y : tensor<4xf32>
}}"""
    compiled = compile_module(text, flags=STRICT)
    assert "system" not in compiled.c_source
    x = np.array([-1.0, 0.0, 2.0, -0.0], dtype=np.float32)
    assert compiled(x)[0].tolist() == [0.0, 0.0, 2.0, 0.0]


def test_second_process_loads_from_cache(tmp_path) -> None:
    """compile_module in a new process: a cache hit, no compiler run."""
    import subprocess
    import sys

    code = (
        "from runtime.compiled import compile_module; from runtime.jit import compiler_invocations;"
        f"fn = compile_module(open({str(ROOT / 'examples' / 'mlp.mlir')!r}).read());"
        "print(fn.library.from_cache, compiler_invocations())"
    )
    env = os.environ | {"QDIALECT_CACHE_DIR": str(tmp_path)}
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    second = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert first.stdout.split() == ["False", "1"], first.stderr
    assert second.stdout.split() == ["True", "0"], second.stderr


@pins_flags
def test_per_axis_relu_and_clamp() -> None:
    t = "!quant.uniform<i8:f32:1, {0.5:3,0.25:-100,0.125:-7}>"
    text = f"""func.func @main(%x: tensor<2x3x5x{t}>) -> (tensor<2x3x5x{t}>, tensor<2x3x5x{t}>) {{
  %r = qnn.relu %x : tensor<2x3x5x{t}> -> tensor<2x3x5x{t}>
  %c = qnn.clamp %x {{min = -3.0 : f32, max = 2.0 : f32}} : tensor<2x3x5x{t}> -> tensor<2x3x5x{t}>
  func.return %r, %c : tensor<2x3x5x{t}>, tensor<2x3x5x{t}>
}}"""
    x = np.random.default_rng(4).integers(-128, 128, (2, 3, 5), dtype=np.int8)
    got, expected = compile_module(text, flags=STRICT)(x), run_function(text, [x])
    for g, e in zip(got, expected, strict=True):
        assert np.array_equal(g, e)


ELEMENTS = ["f32", "!quant.uniform<u8:f32, 0.5:7>", "!quant.uniform<i8:f32, 0.25:-3>", "i16"]


@pins_flags
@pytest.mark.parametrize("seed", range(24))
def test_transpose_pad_reshape_bit_exact(seed: int) -> None:
    """Random ranks, permutations, pads and modes; warning-free C; moves never read outside."""
    rng = np.random.default_rng(seed)
    elem = ELEMENTS[seed % len(ELEMENTS)]
    rank = int(rng.integers(1, 5))
    shape = [int(d) for d in rng.integers(1, 5, rank)]
    perm = [int(p) for p in rng.permutation(rank)]
    mode = ["constant", "edge", "reflect", "wrap"][seed % 4]
    limit = [d - 1 if mode == "reflect" else 3 for d in shape]
    low = [int(rng.integers(0, m + 1)) for m in limit]
    high = [int(rng.integers(0, m + 1)) for m in limit]
    t = lambda dims: "tensor<" + "".join(f"{d}x" for d in dims) + f"{elem}>"  # noqa: E731
    moved = [shape[p] for p in perm]
    padded = [d + a + b for d, a, b in zip(shape, low, high, strict=True)]
    arr = lambda v: ", ".join(map(str, v))  # noqa: E731
    value = "" if mode != "constant" else ", value = 1.5"
    text = f"""func.func @main(%x: {t(shape)}) -> ({t(moved)}, {t(padded)}, {t([int(np.prod(shape))])}) {{
  %t = qnn.transpose %x {{permutation = array<i64: {arr(perm)}>}} : {t(shape)} -> {t(moved)}
  %p = qnn.pad %x {{low = array<i64: {arr(low)}>, high = array<i64: {arr(high)}>, mode = "{mode}"{value}}} : {t(shape)} -> {t(padded)}
  %s = arith.constant dense<[{int(np.prod(shape))}]> : tensor<1xi64>
  %r = tensor.reshape %x(%s) : ({t(shape)}, tensor<1xi64>) -> {t([int(np.prod(shape))])}
  func.return %t, %p, %r : {t(moved)}, {t(padded)}, {t([int(np.prod(shape))])}
}}
"""
    check(text, seed, flags=STRICT)


# layout changes of image-sized tensors: 16x16 byte blocks and 8x8 four-byte blocks with rows
# and columns left over, a source stride of 4 KiB (NCHW -> NHWC of 64x64 images), batches,
# other element types, attention's heads moved (the planes of a [12, 128, 64] transposed)
BLOCKED_TRANSPOSES = [
    ((1, 48, 64, 64), (0, 2, 3, 1), "!quant.uniform<u8:f32, 0.5:7>"),
    ((1, 64, 64, 48), (0, 3, 1, 2), "!quant.uniform<u8:f32, 0.5:7>"),
    ((2, 37, 19, 23), (0, 2, 3, 1), "!quant.uniform<i8:f32, 0.25:-3>"),
    ((2, 19, 23, 37), (0, 3, 1, 2), "i8"),
    ((3, 17, 33), (0, 2, 1), "f32"),
    ((5, 40, 18), (2, 0, 1), "i16"),
    ((12, 128, 64), (0, 2, 1), "f32"),
    ((1, 128, 12, 64), (0, 2, 3, 1), "f32"),
    ((3, 21, 45), (0, 2, 1), "i32"),
    ((16, 3, 5, 16), (3, 1, 2, 0), "!quant.uniform<u8:f32, 0.5:7>"),  # a loop outside the blocks
]


@pytest.mark.parametrize(("shape", "perm", "elem"), BLOCKED_TRANSPOSES)
def test_blocked_transposes_bit_exact(shape, perm, elem) -> None:
    t = lambda dims: "tensor<" + "".join(f"{d}x" for d in dims) + f"{elem}>"  # noqa: E731
    moved = [shape[p] for p in perm]
    text = f"""func.func @main(%x: {t(shape)}) -> {t(moved)} {{
  %t = qnn.transpose %x {{permutation = array<i64: {", ".join(map(str, perm))}>}} : {t(shape)} -> {t(moved)}
  func.return %t : {t(moved)}
}}
"""
    source = compile_module(text).c_source
    assert "/* tiled: " in source
    assert ("qd_transpose16_u8(xs" in source) == ("8" in elem)
    assert ("qd_transpose8_b32(xs" in source) == (elem in ("f32", "i32"))
    check(text, len(shape))


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("u8:f32, 0.037:131", "u8:f32, 0.05:7"),
        ("i8:f32, 0.11:-5", "u8:f32, 0.3:128"),
        ("u8:f32, 0.02:0", "i8:f32, 0.013:3"),
        ("i8<-127:127>:f32, 0.5:0", "i8:f32, 0.5:1"),
    ],
)
def test_concat_requantizes_every_stored_value(source: str, target: str) -> None:
    """A concat input of another 8-bit type goes through a table of its 256 stored values."""
    a, b = f"!quant.uniform<{source}>", f"!quant.uniform<{target}>"
    text = f"""func.func @main(%x: tensor<2x256x{a}>, %y: tensor<2x3x{b}>) -> tensor<2x259x{b}> {{
  %c = qnn.concat %x, %y {{axis = 1 : i64}} : (tensor<2x256x{a}>, tensor<2x3x{b}>) -> tensor<2x259x{b}>
  func.return %c : tensor<2x259x{b}>
}}
"""
    compiled = compile_module(text)
    assert "static const" in compiled.c_source and "table0[256] = {" in compiled.c_source
    dtype = np.int8 if source.startswith("i8") else np.uint8
    x = np.tile(np.arange(256) + np.iinfo(dtype).min, (2, 1)).astype(dtype)
    x[1] = x[1, ::-1]
    y = np.zeros((2, 3), np.int8 if target.startswith("i8") else np.uint8)
    assert np.array_equal(compiled(x, y)[0], run_function(text, [x, y])[0])


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize(
    ("shape", "out", "mode", "elem"),
    [
        ((1, 32, 32, 32), (64, 64), "half_pixel", "f32"),  # planes split between the threads
        ((2, 3, 7, 5), (17, 13), "align_corners", "f32"),  # rows read by 2 or 3 output rows
        ((1, 2, 9, 12), (4, 5), "asymmetric", "f32"),  # down: output rows skip input rows
        ((1, 4, 6, 6), (15, 9), "pytorch_half_pixel", "!quant.uniform<u8:f32, 0.25:128>"),
        ((1, 64, 24, 24), (48, 48), "half_pixel", "!quant.uniform<u8:f32, 0.25:128>"),
    ],
)
def test_bilinear_resize_bit_exact(shape, out, mode, elem, threads) -> None:
    """Each input row is gathered once into the two rows a kernel holds: upsampling, odd
    ratios, downsampling, 8-bit data and planes split between threads equal the reference."""
    t = lambda dims: "tensor<" + "".join(f"{d}x" for d in dims) + f"{elem}>"  # noqa: E731
    moved = [*shape[:2], *out]
    sh, sw = out[0] / shape[2], out[1] / shape[3]
    text = f"""func.func @main(%x: {t(shape)}) -> {t(moved)} {{
  %r = qnn.resize_bilinear %x {{mode = "{mode}", scale_h = {sh} : f32, scale_w = {sw} : f32}} : {t(shape)} -> {t(moved)}
  func.return %r : {t(moved)}
}}
"""
    compiled = compile_module(text, threads=threads)
    x = random_inputs(compiled.function, threads)
    assert np.array_equal(compiled(*x)[0], run_function(text, x)[0])


# ------------------------------------------------------------- fast integer kernels
# Shapes that hit every edge of gemm.c.j2 / depthwise.c.j2: M, N, K off the 6 × 16 × 2 blocks,
# K = 1, groups, depthwise with a channel multiplier, strides, dilations, asymmetric pads, batch.
# (kind, layout, x shape as N,C,H,W or M,K, out channels, kernel, strides, dilations, pads, groups)
FAST_SHAPES = [
    ("dot", "-", (1, 1), 1, None, None, None, None, 1),
    ("dot", "-", (7, 5), 13, None, None, None, None, 1),
    ("dot", "-", (13, 33), 35, None, None, None, None, 1),
    ("dot", "-", (12, 64), 32, None, None, None, None, 1),
    ("dot", "-", (64, 1537), 20, None, None, None, None, 1),  # several row chunks, tail 4
    ("dot", "-", (1, 301), 50, None, None, None, None, 1),  # GEMV: block pairs, K and N tails
    ("dot", "-", (1, 34), 35, None, None, None, None, 1),  # GEMV: a pair and a single block
    ("conv", "nchw", (1, 3, 9, 11), 5, (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 1),
    ("conv", "nhwc", (1, 3, 9, 11), 5, (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 1),
    ("conv", "nhwc", (2, 4, 8, 7), 6, (3, 2), (2, 1), (2, 1), (2, 0, 1, 1), 2),
    ("conv", "nchw", (1, 6, 7, 9), 12, (3, 3), (1, 2), (1, 1), (0, 1, 2, 1), 6),
    ("conv", "nhwc", (1, 6, 7, 9), 12, (3, 3), (1, 2), (1, 1), (0, 1, 2, 1), 6),
    ("conv", "nhwc", (1, 5, 6, 6), 5, (3, 3), (2, 2), (1, 2), (1, 2, 1, 2), 5),
    ("conv", "nchw", (2, 16, 5, 5), 16, (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 16),
    ("conv", "nhwc", (1, 8, 5, 5), 19, (1, 1), (1, 1), (1, 1), (0, 0, 0, 0), 1),
    ("conv", "nchw", (2, 8, 5, 5), 19, (1, 1), (1, 1), (1, 1), (0, 0, 0, 0), 1),
    ("conv", "nchw", (1, 3, 12, 12), 4, (7, 7), (2, 2), (1, 1), (3, 3, 3, 3), 1),
    ("conv", "nchw", (1, 1, 6, 5), 3, (1, 1), (1, 1), (1, 1), (0, 0, 0, 0), 1),
    ("conv", "nhwc", (1, 20, 6, 5), 20, (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 20),
    ("conv", "nchw", (1, 3, 5, 21), 3, (3, 3), (1, 1), (2, 1), (2, 1, 1, 1), 3),
    ("conv", "nchw", (1, 2, 4, 35), 2, (1, 5), (1, 1), (1, 2), (0, 1, 0, 3), 2),
    # NHWC depthwise with 8+ channels (the row-pair kernel): stride 2 and odd sizes, 5x5,
    # dilated rows, an even kernel height and a last channel block overlapping the one before
    ("conv", "nhwc", (2, 40, 9, 11), 40, (3, 3), (2, 2), (1, 1), (1, 1, 1, 1), 40),
    ("conv", "nhwc", (1, 24, 8, 13), 24, (5, 5), (1, 1), (1, 1), (2, 2, 2, 2), 24),
    ("conv", "nhwc", (1, 16, 9, 10), 16, (3, 3), (1, 2), (2, 1), (0, 2, 1, 1), 16),
    ("conv", "nhwc", (1, 9, 5, 7), 9, (2, 3), (1, 1), (1, 1), (1, 0, 0, 1), 9),
]
# (x storage, weights constant, per-axis weights, output, requant mode, bias, addend, activation)
FAST_EPILOGUES = [
    ("u8", True, False, "u8", "float", False, False, "clamp"),
    ("i8", True, True, "i8", "float", True, False, "relu"),
    ("u8", False, True, "i8", "tflite", True, False, "clamp"),
    ("i8", True, False, "i32", None, True, False, "none"),
    ("u8", True, True, "u8", "float", True, True, "relu"),
    ("i8", False, False, "u8", "tosa_double", False, True, "none"),
    ("u8", False, True, "u8", "float", True, False, "clamp"),  # weights an argument, float
]


def _fast_program(
    shape_index: int, epilogue_index: int, rng: np.random.Generator, y_scale: float = 0.25
):
    """A qnn.dot / qnn.conv2d (weights a constant or an argument) and full-range inputs."""
    kind, layout, xs, o, kernel, strides, dilations, pads, groups = FAST_SHAPES[shape_index]
    xq, const_w, per_axis, yq, mode, bias, addend, act = FAST_EPILOGUES[epilogue_index]
    x_zp = {"u8": 255, "i8": -128}[xq] if shape_index % 2 else {"u8": 3, "i8": 100}[xq]
    xt = f"!quant.uniform<{xq}:f32, 0.05:{x_zp}>"
    if kind == "dot":
        m, k = xs
        x_shape, w_shape, y_shape, axis = [m, k], [k, o], [m, o], 1
    else:
        n, c, h, w = xs
        kh, kw = kernel
        oh = (h + pads[0] + pads[2] - dilations[0] * (kh - 1) - 1) // strides[0] + 1
        ow = (w + pads[1] + pads[3] - dilations[1] * (kw - 1) - 1) // strides[1] + 1
        nchw = layout == "nchw"
        x_shape = [n, c, h, w] if nchw else [n, h, w, c]
        w_shape = [o, c // groups, kh, kw] if nchw else [o, kh, kw, c // groups]
        y_shape = [n, o, oh, ow] if nchw else [n, oh, ow, o]
        axis = 0
    if per_axis:
        pairs = ",".join(f"{0.01 + 0.003 * (i % 5)}:{(-1) ** i * (i * 37 % 128)}" for i in range(o))
        wt = f"!quant.uniform<i8:f32:{axis}, {{{pairs}}}>"
    else:
        wt = f"!quant.uniform<i8:f32, 0.02:{0 if epilogue_index in (0, 5) else -128}>"
    yt = "i32" if yq == "i32" else f"!quant.uniform<{yq}:f32, {y_scale}:{7 if yq == 'u8' else -5}>"
    info = np.iinfo(np.uint8 if xq == "u8" else np.int8)
    x = rng.integers(info.min, info.max, x_shape, endpoint=True).astype(info.dtype)
    x.flat[::5] = info.min
    x.flat[1::7] = info.max
    w = rng.integers(-128, 127, w_shape, endpoint=True).astype(np.int8)
    w.flat[::3] = -128
    w.flat[1::4] = 127
    ty = lambda shape, elem: "tensor<" + "x".join(map(str, shape)) + f"x{elem}>"  # noqa: E731
    args = [f"%x: {ty(x_shape, xt)}"]
    inputs = [x]
    body = []
    if const_w:
        dense = str(w.tolist())
        body += [
            f"  %wi = arith.constant dense<{dense}> : {ty(w_shape, 'i8')}",
            f"  %w = quant.scast %wi : {ty(w_shape, 'i8')} to {ty(w_shape, wt)}",
        ]
    else:
        args.append(f"%w: {ty(w_shape, wt)}")
        inputs.append(w)
    operands, attrs = "", []
    if bias:
        args.append(f"%b: tensor<{o}xi32>")
        b = rng.integers(-(2**31), 2**31 - 1, o, endpoint=True).astype(np.int32)
        b[: o // 2] //= 2**14  # most biases ordinary; the rest overflow int32 with the sum
        inputs.append(b)
        operands += f" bias(%b : tensor<{o}xi32>)"
    if addend:
        rt = "!quant.uniform<u8:f32, 0.1:200>"
        args.append(f"%r: {ty(y_shape, rt)}")
        inputs.append(rng.integers(0, 255, y_shape, endpoint=True).astype(np.uint8))
        operands += f" addend(%r : {ty(y_shape, rt)})"
        attrs.append("intermediate = !quant.uniform<i8:f32, 0.3:2>")
    if mode not in (None, "float"):
        attrs.append(f'requant_mode = "{mode}"')
    if act != "none":
        attrs.append(f'activation = "{act}"')
    if act == "clamp":
        attrs += ["clamp_min = -1.5 : f32", "clamp_max = 3.0 : f32"]
    if kind == "conv":
        attrs += [
            f"strides = array<i64: {strides[0]}, {strides[1]}>",
            f"dilations = array<i64: {dilations[0]}, {dilations[1]}>",
            f"pads = array<i64: {', '.join(map(str, pads))}>",
            f"groups = {groups} : i64",
            f'layout = "{layout}"',
        ]
    op = "qnn.dot" if kind == "dot" else "qnn.conv2d"
    props = f" {{{', '.join(attrs)}}}" if attrs else ""
    out = ty(y_shape, yt)
    body += [
        f"  %y = {op} %x, %w{operands}{props} : {ty(x_shape, xt)}, {ty(w_shape, wt)} -> {out}",
        f"  func.return %y : {out}",
    ]
    text = f"func.func @main({', '.join(args)}) -> {out} {{\n" + "\n".join(body) + "\n}\n"
    return text, inputs


@functools.cache
def _fast_case(seed: int, shape_index: int, epilogues: tuple[int, ...], at: int, y_scale: float):
    """The program for `epilogues[at]` and its reference result, made from one generator that
    also made the programs of the epilogues before it (so every case keeps its data when run
    alone); cached, as the flag variants of a case share it."""
    rng = np.random.default_rng(seed)
    for epilogue_index in epilogues[:at]:
        _fast_program(shape_index, epilogue_index, rng, y_scale)
    text, inputs = _fast_program(shape_index, epilogues[at], rng, y_scale)
    return text, inputs, run_function(text, inputs)


FAST_CASES = [(s, e) for s in range(len(FAST_SHAPES)) for e in range(len(FAST_EPILOGUES))]


def _fast_default_tier(index: int, flags_id: str) -> bool:
    """Each shape with one epilogue under the default flags and another under STRICT (so every
    epilogue meets several shapes, both flag sets); the rest of the cross product is slow."""
    shape_index, epilogue_index = FAST_CASES[index]
    offsets = (0,) if flags_id == "default-flags" else (5,)
    return any(epilogue_index == (shape_index + k) % len(FAST_EPILOGUES) for k in offsets)


@pytest.mark.parametrize(
    ("shape_index", "epilogue_index", "flags"),
    flag_params(FAST_CASES, [f"{s}-{e}" for s, e in FAST_CASES], _fast_default_tier),
)
def test_fast_integer_kernels_bit_exact(
    shape_index: int, epilogue_index: int, flags, monkeypatch
) -> None:
    """The int16-pair GEMM / depthwise kernels on every edge shape and epilogue, full-range data,
    with -march=native (AVX2 where the host has it) and with the portable C path (-Werror);
    every loop that may run in parallel does (the small random programs cover serial ones)."""
    monkeypatch.setattr("codegen.threads.PARALLEL_MACS", 0)
    monkeypatch.setattr("codegen.threads.PARALLEL_GEMV_MACS", 0)
    monkeypatch.setattr("codegen.threads.PARALLEL_ELEMENTS", 0)
    epilogues = tuple(range(len(FAST_EPILOGUES)))
    text, inputs, expected = _fast_case(shape_index, shape_index, epilogues, epilogue_index, 0.25)
    compiled = compile_module(text, flags=flags)
    assert "_tile(" in compiled.c_source or "depthwise" in compiled.c_source
    (got,) = compiled(*inputs)
    assert got.dtype == expected[0].dtype and np.array_equal(got, expected[0]), text
    (again,) = compiled(*inputs)  # scratch reused by a second call
    assert np.array_equal(again, got)


@pins_flags  # the object code inspected is built with flags of its own
@pytest.mark.parametrize(
    "isa",
    [["-mavxvnni"], ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512vnni"]],
    ids=["avx-vnni", "avx512-vnni"],
)
def test_vnni_is_selected_from_the_compiler_target(isa: list[str], tmp_path: Path) -> None:
    """Where the target has VNNI, the int16-pair kernels accumulate with vpdpwssd instead of
    vpmaddwd + vpaddd. This machine may lack VNNI, so the kernels are only compiled (not
    run) and their object code inspected; the AVX2 path runs in every other test."""
    text, _ = _fast_program(2, 1, np.random.default_rng(5))  # a GEMM ...
    dw_text, _ = _fast_program(18, 0, np.random.default_rng(5))  # ... and an NHWC depthwise
    for program, name in ((text, "gemm"), (dw_text, "depthwise")):
        source = tmp_path / f"{name}.c"
        source.write_text(compile_module(program).c_source)
        obj = tmp_path / f"{name}.o"
        subprocess.run(
            ["cc", "-O2", "-mavx2", "-mfma", *isa, "-c", str(source), "-o", str(obj)], check=True
        )
        code = subprocess.run(
            ["objdump", "-d", str(obj)], capture_output=True, text=True, check=True
        ).stdout
        # (the depthwise kernel still starts a sum without bias with a plain vpmaddwd)
        assert "vpdpwssd" in code and (name == "depthwise" or "vpmaddwd" not in code), name


GEMV_SIZES = [(1, 1), (63, 33), (301, 50), (2048, 16), (130, 70)]
GEMV_INPUTS = [("u8", 0), ("u8", 255), ("i8", -128), ("i8", 77)]
# without vpdpbusd, int8 weights with -128 take the nibble kernel and symmetric ones (|w| <= 127)
# the sign-magnitude one; with it (AVX-VNNI, AVX512-VNNI), any int8 weights take the
# dot-product kernel. The vpmaddubsw kernels run here with VNNI turned off (NO_DOT_PRODUCT).
GEMV_WEIGHTS = {"nibble": -128, "sign-magnitude": -127, "dot-product": -128}
NO_DOT_PRODUCT = ("-mno-avxvnni", "-mno-avx512vnni")
GEMV_WEIGHTS_KINDS = list(GEMV_WEIGHTS)
GEMV_CASES = [
    (k, n, x, zp, kind) for k, n in GEMV_SIZES for x, zp in GEMV_INPUTS for kind in GEMV_WEIGHTS
]


def _gemv_default_tier(index: int, flags_id: str) -> bool:
    """Each size and vpmaddubsw kernel with a u8 and an i8 input under the default flags and a
    third input under STRICT; the dot-product kernel (which STRICT's portable C never takes) and
    the long K = 2048 with one input under the default flags; the rest is slow."""
    size, rest = divmod(index, len(GEMV_INPUTS) * len(GEMV_WEIGHTS))
    inputs, kind = divmod(rest, len(GEMV_WEIGHTS))
    offsets = (0, 2) if flags_id == "default-flags" else (1,)
    if GEMV_SIZES[size][0] == 2048 or GEMV_WEIGHTS_KINDS[kind] == "dot-product":
        offsets = (0,) if flags_id == "default-flags" else ()
    return any(inputs == (size + kind + k) % len(GEMV_INPUTS) for k in offsets)


@pytest.mark.parametrize(
    ("k", "n", "x_storage", "x_zp", "kernel", "flags"),
    flag_params(GEMV_CASES, ["-".join(map(str, case)) for case in GEMV_CASES], _gemv_default_tier),
)
def test_gemv_kernel_bit_exact(
    x_storage: str, x_zp: int, k: int, n: int, kernel: str, flags, monkeypatch
) -> None:
    """One row against constant int8 weights takes a GEMV: vpdpbusd where the target has it,
    else vpmaddubsw, the nibble kernel with full-range weights (every -128 and 127), the
    sign-magnitude one with symmetric weights (every -127 and 127); full-range activations,
    per-axis scales, bias and relu, exactly; also through the portable C path, and split
    across threads (any size, on odd N)."""
    monkeypatch.setattr("codegen.threads.PARALLEL_GEMV_MACS", 0 if n % 2 else 1 << 40)
    rng = np.random.default_rng(k * n)
    info = np.iinfo(np.uint8 if x_storage == "u8" else np.int8)
    x = rng.integers(info.min, info.max, (1, k), endpoint=True).astype(info.dtype)
    x.flat[::3] = info.max
    x.flat[1::5] = info.min
    low = GEMV_WEIGHTS[kernel]
    w = rng.integers(low, 127, (k, n), endpoint=True).astype(np.int8)
    w.flat[::4] = low
    w.flat[1::3] = 127
    b = rng.integers(-(2**20), 2**20, n).astype(np.int32)
    scales = ",".join(f"{0.002 + 0.0001 * (i % 7)}:0" for i in range(n))
    xt = f"tensor<1x{k}x!quant.uniform<{x_storage}:f32, 0.05:{x_zp}>>"
    wt = f"tensor<{k}x{n}x!quant.uniform<i8:f32:1, {{{scales}}}>>"
    yt = f"tensor<1x{n}x!quant.uniform<i8:f32, 0.5:-3>>"
    text = f"""func.func @main(%x: {xt}, %b: tensor<{n}xi32>) -> {yt} {{
  %wi = arith.constant dense<{w.tolist()}> : tensor<{k}x{n}xi8>
  %w = quant.scast %wi : tensor<{k}x{n}xi8> to {wt}
  %y = qnn.dot %x, %w bias(%b : tensor<{n}xi32>) {{activation = "relu"}} : {xt}, {wt} -> {yt}
  func.return %y : {yt}
}}"""
    expected = run_function(text, [x, b])[0]
    if kernel != "dot-product" and flags is None:  # (the sanitizers' flags too)
        flags = (*effective_flags(None), *NO_DOT_PRODUCT)
    compiled = compile_module(text, flags=flags)
    if kernel != "dot-product":
        assert f"exact vpmaddubsw {kernel} GEMV" in compiled.c_source
    elif target_of(flags).dot_product:
        assert "exact vpdpbusd GEMV" in compiled.c_source
    else:  # (a host without VNNI, or STRICT's portable C)
        assert "exact vpmaddubsw nibble GEMV" in compiled.c_source
    assert np.array_equal(compiled(x, b)[0], expected)


# NHWC depthwise convs with 8+ channels: the shapes the row-pair kernel takes
ROW_PAIR_SHAPES = [
    i
    for i, (kind, layout, xs, o, *_, groups) in enumerate(FAST_SHAPES)
    if kind == "conv" and layout == "nhwc" and groups == o == xs[1] >= 8
]


ROW_PAIR_EPILOGUES = (0, 1, 6)


@pytest.mark.parametrize(
    "at", range(len(ROW_PAIR_EPILOGUES)), ids=[f"epilogue{e}" for e in ROW_PAIR_EPILOGUES]
)
@pytest.mark.parametrize("shape_index", ROW_PAIR_SHAPES)
def test_depthwise_row_pairs_bit_exact(shape_index: int, at: int, monkeypatch) -> None:
    """The NHWC row-pair depthwise kernel (8+ channels, float requantization to 8 bits) also
    with multipliers above 1, where it clamps in float instead of relying on saturating packs."""
    monkeypatch.setattr("codegen.threads.PARALLEL_MACS", 0)
    text, inputs, expected = _fast_case(
        100 + shape_index, shape_index, ROW_PAIR_EPILOGUES, at, 0.0004
    )
    compiled = compile_module(text)
    assert "_pairs(" in compiled.c_source
    (got,) = compiled(*inputs)
    assert np.array_equal(got, expected[0]), text


def test_qd_set_threads_is_exported() -> None:
    """`void qd_set_threads(int n)` sets the OpenMP thread count; results do not depend on it."""
    import cffi

    text, inputs = _fast_program(2, 1, np.random.default_rng(5))
    compiled = compile_module(text)
    ffi = cffi.FFI()
    ffi.cdef("void qd_set_threads(int n);")
    lib = ffi.dlopen(str(compiled.library.path))
    results = []
    for threads in (1, 2, 3, 0):
        lib.qd_set_threads(threads)
        results.append(compiled(*inputs)[0])
    assert all(np.array_equal(r, results[0]) for r in results)


@pytest.mark.parametrize("op", ["dot", "conv"])
def test_constant_u8_weights_keep_their_stored_values(op: str) -> None:
    """A u8 weight is written as the i8 view of its stored bytes (`quant.scast` of an i8
    constant: 200 is -56); packing must see 200, as the reference does."""
    rng = np.random.default_rng(7)
    u8x = "!quant.uniform<u8:f32, 0.5:120>"
    u8w = "!quant.uniform<u8:f32, 0.25:131>"
    u8y = "!quant.uniform<u8:f32, 4.0:100>"
    if op == "dot":
        w = rng.integers(-128, 128, (48, 20))
        x_t, w_t, y_t = f"tensor<5x48x{u8x}>", f"tensor<48x20x{u8w}>", f"tensor<5x20x{u8y}>"
        body = f"%y = qnn.dot %x, %w : {x_t}, {w_t} -> {y_t}"
    else:
        w = rng.integers(-128, 128, (8, 4, 3, 3))
        x_t, w_t, y_t = (
            f"tensor<1x4x9x9x{u8x}>",
            f"tensor<8x4x3x3x{u8w}>",
            f"tensor<1x8x9x9x{u8y}>",
        )
        body = f"%y = qnn.conv2d %x, %w {{pads = array<i64: 1, 1, 1, 1>}} : {x_t}, {w_t} -> {y_t}"
    shape = "x".join(map(str, w.shape))
    text = f"""func.func @main(%x: {x_t}) -> {y_t} {{
  %c = arith.constant dense<{w.tolist()}> : tensor<{shape}xi8>
  %w = quant.scast %c : tensor<{shape}xi8> to {w_t}
  {body}
  func.return %y : {y_t}
}}
"""
    check(text, 7)
