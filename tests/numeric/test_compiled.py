"""Compiled C against the reference interpreter: bit for bit.

Random programs (tests/numeric/program_gen.py) exercise quantize / requantize / conv2d
(per-axis weights, bias, padding) / fused relu, clamp and residual add / avg and max pooling /
concat with requantized inputs / scaled builders with every scheme; the round-trip suite adds
NHWC, groups, dilation, strides, dot, float kernels and round modes.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from xdsl.dialects import func

from codegen.emit import CodegenError
from qdialect.textio import parse_module, print_module
from runtime.compiled import compile_module
from runtime.reference import run_function
from runtime.reference.interpreter import expected_array

from .program_gen import conv_program, core_program, scaled_program

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = int(os.environ.get("QDIALECT_COMPILED_PROGRAMS", "40"))
CONFIGS = int(os.environ.get("QDIALECT_COMPILED_CONFIGS", "120"))
STRICT = ["-O1", "-ffp-contract=off", "-Wall", "-Wextra", "-Werror"]


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


@pytest.mark.parametrize("seed", range(PROGRAMS))
def test_random_programs_bit_exact(seed: int) -> None:
    check(core_program(seed), seed)
    check(scaled_program(seed), seed)


@pytest.mark.parametrize("seed", range(CONFIGS))
def test_conv_and_dot_configurations_bit_exact(seed: int) -> None:
    """Layouts, groups, dilation, strides, padding, i8/u8/i16, per-axis, fused epilogues."""
    check(conv_program(seed), seed)


def test_round_trip_suite_functions_bit_exact_and_warning_free() -> None:
    """Every function of qnn_ops.mlir the code generator takes, compiled with -Werror."""
    module = parse_module((ROOT / "tests" / "filecheck" / "qnn_ops.mlir").read_text())
    text = print_module(module)
    compiled_count = 0
    for function in module.ops:
        if not function.function_type.outputs.data:
            # These only round-trip IR; give them a result to compare by returning nothing.
            continue
        try:
            check(text, 7, STRICT, function.sym_name.data)
        except CodegenError as err:
            assert "not compiled yet" in str(err)
            continue
        compiled_count += 1
    assert compiled_count >= 1


def test_generated_c_is_warning_free_for_every_template() -> None:
    for seed in range(12):
        for program in (core_program(seed), scaled_program(seed)):
            compile_module(program, flags=STRICT)


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
