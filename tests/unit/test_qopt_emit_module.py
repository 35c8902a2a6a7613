"""`qopt --emit-c` on a module of several functions, and `--run --reference` on the module
`--run` compiles (issue 18).

A module translates as `mlir-translate` translates one: every public function into one C unit,
each with its own kernels and entry point `qd_entry_<name>`; `--entry` picks one function's own
unit (the C `--run` compiles). `--run --reference` interprets the module after qnn-default, so it
agrees with `--run` even where fold-qdq's QDQ fusion is not the literal reading;
`--no-qnn-default` gives the literal one.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from xdsl.passes import PassPipeline

from codegen.emit import emit_module
from qdialect.textio import make_context, parse_module
from rewrites.registry import PASSES
from runtime.compiled import cache_line_aligned, compile_module
from runtime.jit import compile_c
from runtime.qopt import run
from runtime.signature import expected_array, public_functions

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
UPSTREAM = EXAMPLES / "upstream_quant.mlir"
CC = shutil.which("cc") or shutil.which("gcc")
needs_cc = pytest.mark.skipif(CC is None, reason="no C compiler (cc/gcc) on PATH")

# The exported (non-static) functions a unit defines: `int name(` / `void name(` at a line start.
EXPORTED = re.compile(r"^(?:int|void) (\w+)\(", re.MULTILINE)

# float16 tensors have no C type: a function upstream reads that is not compiled
HALF = """func.func @half(%x: tensor<2x4xf16>) -> tensor<2x4x!quant.uniform<i8:f16, 0.5>> {
  %q = quant.qcast %x : tensor<2x4xf16> to tensor<2x4x!quant.uniform<i8:f16, 0.5>>
  return %q : tensor<2x4x!quant.uniform<i8:f16, 0.5>>
}
"""
RELU = """func.func @{name}(%a: tensor<4xf32>) -> tensor<4xf32> {{
  %0 = qnn.relu %a : tensor<4xf32> -> tensor<4xf32>
  func.return %0 : tensor<4xf32>
}}
"""

# A QDQ dot on one pair of nonzero values where the two readings part: literally (dequantize,
# float32 product, quantize) (34 - 104)·0.02 × (3 - 128)·0.01 / 0.1 rounds 17.500002 up to 18;
# fused (fold-qdq, ONNX Runtime's integer kernel) the int32 product 8750 times the float32
# multiplier 0.02·0.01/0.1 gives 17.5 or below, hence 17. Output zero point 147.
QDQ_DOT = """!qx = !quant.uniform<u8:f32, 0.02:104>
!qw = !quant.uniform<u8:f32, 0.01:128>
!qy = !quant.uniform<u8:f32, 0.1:147>
func.func @main(%x: tensor<1x2x!qx>) -> tensor<1x1x!qy> {
  %xf = quant.dcast %x : tensor<1x2x!qx> to tensor<1x2xf32>
  %wi = arith.constant dense<[[3], [-128]]> : tensor<2x1xi8>
  %wq = quant.scast %wi : tensor<2x1xi8> to tensor<2x1x!qw>
  %wf = quant.dcast %wq : tensor<2x1x!qw> to tensor<2x1xf32>
  %yf = qnn.dot %xf, %wf : tensor<1x2xf32>, tensor<2x1xf32> -> tensor<1x1xf32>
  %y = quant.qcast %yf : tensor<1x1xf32> to tensor<1x1x!qy>
  return %y : tensor<1x1x!qy>
}
"""
QDQ_INPUT = np.array([[34, 7]], np.uint8)
FUSED, LITERAL = 17 + 147, 18 + 147


def _write(tmp_path: Path, text: str, name: str = "module.mlir") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _private(text: str, name: str) -> str:
    return text.replace(f"func.func @{name}(", f"func.func private @{name}(")


def _emit(path: Path, *extra: str, capsys) -> str:
    status = run([str(path), "--emit-c", *extra])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    return captured.out


def _compiles(source: str, tmp_path: Path, *flags: str) -> None:
    """`cc -c` of the unit, warnings as errors."""
    unit = tmp_path / "unit.c"
    unit.write_text(source)
    command = [CC, "-std=c11", "-Wall", "-Wextra", "-Werror", *flags, "-c", str(unit)]
    result = subprocess.run(
        [*command, "-o", str(tmp_path / "unit.o")], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr


# ----------------------------------------------------------------------------- --emit-c


def test_a_function_that_cannot_compile_is_a_located_error_naming_it(
    tmp_path: Path, capsys
) -> None:
    """examples/upstream_quant.mlir plus a function quantizing float16 with a float16 scale:
    float16 crosses the boundary (ONNX's Q/DQ take it), but no kernel computes in it."""
    text = UPSTREAM.read_text() + HALF
    path = _write(tmp_path, text)
    line = text[: text.index("func.func @half")].count("\n") + 2  # its qcast
    assert run([str(path), "--emit-c"]) == 1
    err = capsys.readouterr().err
    expected = (
        f"{path}:{line}:8: error: in function @half: 'qnn.quantize': no C type for element type f16"
    )
    assert err.startswith(expected), err
    assert "--entry" not in err and "Traceback" not in err


@needs_cc
def test_upstream_example_is_one_unit_with_an_entry_per_public_function(
    tmp_path: Path, capsys
) -> None:
    """With @sub_channel private (left out), the other two functions of the example."""
    path = _write(tmp_path, _private(UPSTREAM.read_text(), "sub_channel"))
    source = _emit(path, capsys=capsys)
    assert EXPORTED.findall(source) == ["qd_set_threads", "qd_entry_round_trip", "qd_entry_weights"]
    assert source.count("#include <stdint.h>") == 1  # one prelude
    assert "sub_channel" not in source
    _compiles(source, tmp_path, "-fsyntax-only")
    _compiles(source, tmp_path, "-O1")


def test_entry_picks_one_function_as_run_compiles_it(tmp_path: Path, capsys) -> None:
    text = _private(UPSTREAM.read_text(), "sub_channel")
    path = _write(tmp_path, text)
    source = _emit(path, "--entry", "weights", capsys=capsys)
    assert EXPORTED.findall(source) == ["qd_set_threads", "qd_entry"]
    assert source == compile_module(text, "weights").c_source
    # a private function is emitted when --entry asks for it
    assert run([str(path), "--emit-c", "--entry", "sub_channel"]) == 0
    assert EXPORTED.findall(capsys.readouterr().out) == ["qd_set_threads", "qd_entry"]


def test_single_public_function_keeps_its_own_unit(tmp_path: Path, capsys) -> None:
    text = RELU.format(name="f") + _private(RELU.format(name="helper"), "helper")
    source = _emit(_write(tmp_path, text), capsys=capsys)
    assert EXPORTED.findall(source) == ["qd_set_threads", "qd_entry"]


def test_no_public_function_says_so(tmp_path: Path, capsys) -> None:
    path = _write(tmp_path, _private(RELU.format(name="f"), "f"))
    assert run([str(path), "--emit-c"]) == 1
    err = capsys.readouterr().err
    assert "no public function to emit (--entry NAME emits a private one)" in err
    assert run([str(path), "--emit-c", "--entry", "f"]) == 0
    assert "int qd_entry(" in capsys.readouterr().out


def _multi_module() -> str:
    """conv_block (8-bit fast kernels) and mlp as two functions, the upstream example's
    compilable functions, and two names that spell the same C identifier."""
    conv = (EXAMPLES / "conv_block.mlir").read_text().replace("@main(", "@conv(")
    mlp = (EXAMPLES / "mlp.mlir").read_text().replace("@main(", "@mlp(")
    upstream = _private(UPSTREAM.read_text(), "sub_channel")
    return conv + mlp + upstream + RELU.format(name='"a.b"') + RELU.format(name="a_b")


@needs_cc
def test_module_entries_compute_what_each_function_compiles_to(tmp_path: Path) -> None:
    """Kernels and helpers of different functions do not clash (the unit compiles, warnings as
    errors, with and without the SIMD paths), and each entry point gives bit for bit what
    `compile_module` of its function gives."""
    text = _multi_module()
    module = parse_module(text, "multi.mlir")
    PassPipeline.parse_spec(PASSES, "qnn-default").apply(make_context(), module)
    emitted = emit_module(public_functions(module))
    names = [(e.function, e.c_name) for e in emitted.entries]
    assert names == [
        ("conv", "qd_entry_conv"),
        ("mlp", "qd_entry_mlp"),
        ("round_trip", "qd_entry_round_trip"),
        ("weights", "qd_entry_weights"),
        ("a.b", "qd_entry_a_b"),
        ("a_b", "qd_entry_a_b_2"),
    ]
    assert EXPORTED.findall(emitted.source) == ["qd_set_threads"] + [c for _, c in names]
    assert any(e.emitted.fast for e in emitted.entries)  # the int16-pair kernels are in it
    _compiles(emitted.source, tmp_path, "-O1")
    _compiles(emitted.source, tmp_path, "-O2", "-march=native", "-fopenmp")

    signature = "(const void *const *, void *const *, const void *const *, void *);"
    cdef = "\n".join(f"int {c}{signature}" for _, c in names) + "\nvoid qd_set_threads(int n);"
    library = compile_c(emitted.source, cdef, origin="the test module")
    ffi, rng = library.ffi, np.random.default_rng(18)
    for entry in emitted.entries:
        function = compile_module(text, entry.function)
        inputs = []
        for dtype, shape in (expected_array(t) for t in function.function.function_type.inputs):
            if dtype.kind == "f":
                inputs.append(rng.standard_normal(shape).astype(dtype))
            else:
                info = np.iinfo(dtype)
                inputs.append(rng.integers(info.min, info.max, shape, endpoint=True, dtype=dtype))
        expected = function(*inputs)
        plan = entry.emitted.plan
        constants = [
            cache_line_aligned(array.astype(expected_array(value.type)[0]))
            for value, array in plan.constants
        ]
        arena = cache_line_aligned(np.zeros(max(plan.arena_size, 1), np.uint8))
        outputs = [np.empty(a.shape, a.dtype) for a in expected]

        def table(arrays: list[np.ndarray]):
            return ffi.new("void *[]", [ffi.from_buffer(a) for a in arrays] or 1)

        status = getattr(library.lib, entry.c_name)(
            table(inputs), table(outputs), table(constants), ffi.from_buffer(arena)
        )
        assert status == 0
        for got, want in zip(outputs, expected, strict=True):
            assert np.array_equal(got, want), entry.function


# ----------------------------------------------------------------------------- --run --reference


def _run_to_array(path: Path, tmp_path: Path, *extra: str, capsys) -> np.ndarray:
    inputs, outputs = tmp_path / "x.npz", tmp_path / "y.npz"
    np.savez(inputs, arg0=QDQ_INPUT)
    status = run([str(path), "--run", *extra, "--inputs", str(inputs), "--outputs", str(outputs)])
    assert status == 0, capsys.readouterr().err
    with np.load(outputs) as archive:
        return archive["out0"]


@needs_cc
def test_reference_runs_the_module_run_compiles(tmp_path: Path, capsys) -> None:
    path = _write(tmp_path, QDQ_DOT)
    compiled = _run_to_array(path, tmp_path, capsys=capsys)
    reference = _run_to_array(path, tmp_path, "--reference", capsys=capsys)
    literal = _run_to_array(path, tmp_path, "--reference", "--no-qnn-default", capsys=capsys)
    assert compiled.tolist() == reference.tolist() == [[FUSED]]
    assert literal.tolist() == [[LITERAL]]
    # the same through -p: the rewrites already applied change nothing
    spelled = _run_to_array(path, tmp_path, "-p", "qnn-default", "--reference", capsys=capsys)
    assert spelled.tolist() == [[FUSED]]


def test_literal_reading_is_the_unrewritten_interpreter_run() -> None:
    from runtime.reference import run_function

    (literal,) = run_function(QDQ_DOT, [QDQ_INPUT])
    assert literal.tolist() == [[LITERAL]]


def test_no_qnn_default_needs_run_reference(tmp_path: Path, capsys) -> None:
    path = _write(tmp_path, QDQ_DOT)
    for extra in (["--run"], ["--emit-c"], []):
        assert run([str(path), *extra, "--no-qnn-default"]) == 1
        err = capsys.readouterr().err
        assert err.startswith("qopt: error: --no-qnn-default applies to --run --reference"), err


def test_missing_inputs_hint_keeps_the_literal_flag(tmp_path: Path, capsys) -> None:
    path = _write(tmp_path, QDQ_DOT)
    assert run([str(path), "--run", "--reference", "--no-qnn-default"]) == 1
    err = capsys.readouterr().err
    assert f"qopt {path} --run --reference --no-qnn-default --inputs inputs.npz" in err


def test_help_documents_the_literal_flag(capsys) -> None:
    with pytest.raises(SystemExit):
        run(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--no-qnn-default" in out
    assert "--run --reference runs the same rewritten module" in out
    assert "qd_entry_<name> per public function" in out
