"""Passes preserve semantics bit for bit: the interpreter agrees before and after.

Random valid programs (tests/numeric/program_gen.py) run on random inputs through the
reference interpreter before and after each pass. fold-qdq is included because the generated
programs contain only quantize∘dequantize pairs (its exact part), not QDQ-simulated float ops;
qnn-default is compared with the program after `remove-double-qdq`, the one rewrite of its
that changes values on purpose (ONNX Runtime's DoubleQDQPairsRemover).
Each pass is also idempotent: a second application changes nothing. The default tier tries
DEFAULT_PROGRAMS programs per pass, the slow tier (`-m slow`) PROGRAMS.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xdsl.dialects import func
from xdsl.passes import PassPipeline

from qdialect.tensors import element_type
from qdialect.textio import make_context, parse_module, print_module
from rewrites.registry import PASSES
from rewrites.u8_to_i8 import is_u8
from runtime.reference import run_function

from .program_gen import core_program, scaled_program

PROGRAMS = int(os.environ.get("QDIALECT_PASS_PROGRAMS", "150"))
DEFAULT_PROGRAMS = 25
CASES = {
    "fold-scaled-builders": [scaled_program],
    "quant-to-qnn": [core_program],
    "fuse-conv-dot": [core_program],
    "nhwc-layout": [core_program],
    "fold-qdq": [core_program],
    "u8-to-i8": [core_program],
    "qnn-default": [core_program, scaled_program],
}


def apply(spec: str, text: str):
    module = parse_module(text)
    PassPipeline.parse_spec(PASSES, spec).apply(make_context(), module)
    return module


def random_input(text: str, seed: int) -> np.ndarray:
    module = parse_module(text)
    shape = module.ops.first.function_type.inputs.data[0].get_shape()
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32) * np.float32(rng.choice([0.5, 2.0, 8.0]))
    x.flat[:: max(1, x.size // 5)] = np.float32(0.25)  # some exact ties
    return x


# passes that change values on purpose, as ONNX Runtime's optimizer does before it fuses
# (`remove-double-qdq`: two pairs in a row become one): qnn-default is exact after them
REFERENCE_REWRITES = {"qnn-default": "quant-to-qnn,drop-float-casts,remove-double-qdq"}


def check_pass(pass_name: str, seed: int, which: int) -> None:
    generators = CASES[pass_name]
    text = generators[which % len(generators)](seed)
    x = random_input(text, seed)
    reference = (
        apply(REFERENCE_REWRITES[pass_name], text) if pass_name in REFERENCE_REWRITES else text
    )
    before = run_function(reference, [x])
    once = apply(pass_name, text)
    after = run_function(once, [x])
    for b, a in zip(before, after, strict=True):
        assert b.dtype == a.dtype and np.array_equal(b, a, equal_nan=True), text
    printed = print_module(once)
    assert print_module(apply(pass_name, printed)) == printed


@pytest.mark.parametrize("pass_name", sorted(CASES))
@settings(max_examples=DEFAULT_PROGRAMS, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**31 - 1), which=st.integers(0, 1))
def test_pass_is_exact_and_idempotent(pass_name: str, seed: int, which: int) -> None:
    check_pass(pass_name, seed, which)


@pytest.mark.slow
@pytest.mark.parametrize("pass_name", sorted(CASES))
@settings(max_examples=PROGRAMS, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**31 - 1), which=st.integers(0, 1))
def test_pass_is_exact_and_idempotent_on_many_programs(
    pass_name: str, seed: int, which: int
) -> None:
    check_pass(pass_name, seed, which)


def test_u8_to_i8_leaves_no_u8_value_in_the_body() -> None:
    for seed in range(30):
        module = apply("u8-to-i8", core_program(seed))
        function = module.ops.first
        converted = set()
        for op in function.body.block.ops:
            for result in op.results:
                if is_u8(element_type(result.type)):
                    # only the conversions back to the u8 signature, right before return
                    assert all(isinstance(u.operation, func.ReturnOp) for u in result.uses)
                    converted.add(result)
        assert len(converted) <= len(function.function_type.outputs.data)


@pytest.mark.parametrize("pass_name", sorted(CASES))
def test_passes_fire_on_generated_programs(pass_name: str) -> None:
    """The property above is not vacuous: each pass changes most generated programs."""
    generators = CASES[pass_name]
    changed = 0
    for seed in range(20):
        text = generators[seed % len(generators)](seed)
        if print_module(apply(pass_name, text)) != print_module(parse_module(text)):
            changed += 1
    assert changed >= 5, pass_name


@pytest.mark.parametrize("rounding", ["tflite", "tosa_single", "tosa_double"])
def test_fixed_point_lowering_moves_results_by_at_most_one_step(rounding: str) -> None:
    """lower-requant-fixed-point changes rounding by design; a conv moves by <= 1 quantum."""
    for seed in range(25):
        rng = np.random.default_rng(seed)
        cin, cout = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        x_t = f"tensor<1x{cin}x5x5x!quant.uniform<u8:f32, 0.05:{rng.integers(0, 256)}>>"
        scales = ",".join(str(float(s)) for s in rng.choice([0.01, 0.003, 0.02], cout))
        w_t = f"tensor<{cout}x{cin}x3x3x!quant.uniform<i8:f32:0, {{{scales}}}>>"
        y_t = f"tensor<1x{cout}x5x5x!quant.uniform<i8:f32, 0.07:{rng.integers(-128, 128)}>>"
        text = (
            f"func.func @main(%x: {x_t}, %w: {w_t}) -> {y_t} {{\n"
            f"  %y = qnn.conv2d %x, %w {{pads = array<i64: 1, 1, 1, 1>}} : {x_t}, {w_t} -> {y_t}\n"
            f"  func.return %y : {y_t}\n}}"
        )
        x = rng.integers(0, 256, (1, cin, 5, 5), dtype=np.uint8)
        w = rng.integers(-128, 128, (cout, cin, 3, 3), dtype=np.int8)
        (ref,) = run_function(text, [x, w])
        (low,) = run_function(
            apply(f"lower-requant-fixed-point{{rounding={rounding}}}", text), [x, w]
        )
        diff = np.abs(ref.astype(np.int64) - low.astype(np.int64))
        assert diff.max() <= 1


def test_u8_to_i8_on_constants_raw_casts_add_and_pool() -> None:
    """u8 constants are re-stored (q ^ 0x80), raw u8 bits requantized, raw-value rounding
    of add/avg_pool kept; with keep-signature=false the caller passes i8 data."""
    text = (Path(__file__).parent / "u8_program.mlir").read_text()
    rng = np.random.default_rng(0)
    for _ in range(20):
        x = rng.integers(0, 256, (1, 2, 4, 4), dtype=np.uint8)
        w = rng.integers(-128, 128, (2, 2, 1, 1), dtype=np.int8)
        (before,) = run_function(text, [x, w])
        (kept,) = run_function(apply("u8-to-i8", text), [x, w])
        flipped = (x ^ 0x80).view(np.int8)
        (changed,) = run_function(apply("u8-to-i8{keep-signature=false}", text), [flipped, w])
        assert np.array_equal(kept, before)
        assert np.array_equal(changed.view(np.uint8) ^ 0x80, before)


def test_symmetric_schema_zeroes_zero_points_and_stays_close() -> None:
    text = (Path(__file__).parents[2] / "examples" / "mlp.mlir").read_text()
    x = np.random.default_rng(1).standard_normal((2, 16)).astype(np.float32)
    (before,) = run_function(text, [x])
    for values in ("weights", "activations", "all"):
        module = apply(f"symmetric-schema{{values={values}}}", text)
        printed = print_module(module)
        body = printed.split("{", 2)[2]
        if values != "weights":
            assert "0.03125:-8" not in body and "0.0625:-128" not in body
        (after,) = run_function(module, [x])
        # Symmetric types halve the resolution of one-sided (relu) data: by design the
        # results move, but only by a few output quanta (0.125 here) on values up to ~4.
        assert np.abs(after - before).max() <= 1.5
