"""codegen.units: a function's kernels compiled as several units in parallel and linked into
one object compute what the single unit computes, bit for bit, profiled or not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import runtime.compiled as compiled_module
from codegen.emit import emit_function
from codegen.units import deal, split_units
from qdialect.textio import parse_module
from runtime.compiled import compile_module
from runtime.profile import profile_function
from runtime.qopt_run import apply_qnn_default
from runtime.reference import run_function
from runtime.signature import find_function

ROOT = Path(__file__).resolve().parents[2]
MODEL = (ROOT / "examples" / "conv_block.mlir").read_text()
X = np.random.default_rng(11).random((1, 3, 8, 8), dtype=np.float32)


def test_kernels_are_dealt_largest_first_to_the_lightest_unit() -> None:
    assert deal([5, 1, 4, 2], 2) == [[0, 1], [2, 3]]
    assert deal([3], 4) == [[0]]  # no empty unit


def test_each_kernel_is_in_exactly_one_part_and_called_from_the_main_unit() -> None:
    module = parse_module(MODEL)
    apply_qnn_default(module)
    emitted = emit_function(find_function(module, None))
    units = split_units(emitted, 2)
    assert len(units.parts) == 2
    for index in range(emitted.kernel_count):
        assert sum(f"void qd_kernel{index}(" in part for part in units.parts) == 1
        assert f"qd_step{index}(inputs, outputs, constants, arena);" in units.main
    assert "qd_set_threads" in units.main and all("qd_set_threads" not in p for p in units.parts)


@pytest.mark.parametrize("profile", [False, True])
def test_parts_compute_what_one_unit_computes(
    profile: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    (expected,) = run_function(MODEL, [X])
    single = compile_module(MODEL, profile=profile)
    monkeypatch.setattr(compiled_module, "PART_MIN_CHARS", 1)  # split even this small function
    split = compile_module(MODEL, profile=profile)
    assert split.library.path != single.library.path  # another object, built from parts
    for function in (single, split):
        (got,) = function(X)
        assert np.array_equal(got, expected)
    if profile:
        table = profile_function(split, {"arg0": X}, runs=2)
        assert [op.op for op in table.ops] == [op.name for op in split.emitted.kernel_ops]
        assert all(op.seconds > 0 for op in table.ops)
