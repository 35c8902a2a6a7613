"""The qopt command line: input handling, outputs, passes, diagnostics, exit status."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from runtime.qopt import run

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.mlir"))
GOOD = """func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {
  %0 = qnn.relu %a : tensor<4xf32> -> tensor<4xf32>
  func.return %0 : tensor<4xf32>
}
"""


def qopt(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[str]:
    """Run the installed console script, as a user would."""
    return subprocess.run(["qopt", *args], input=stdin, capture_output=True, timeout=60)


def test_examples_exist() -> None:
    assert {p.name for p in EXAMPLES} >= {"conv_block.mlir", "mlp.mlir", "upstream_quant.mlir"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_print_text_that_reparses_identically(path: Path, tmp_path: Path, capsys) -> None:
    assert run([str(path)]) == 0
    first = capsys.readouterr().out
    printed = tmp_path / "printed.mlir"
    printed.write_text(first)
    assert run([str(printed)]) == 0
    assert capsys.readouterr().out == first
    assert run([str(path), "--print-op-generic", "-o", str(printed)]) == 0
    assert run([str(printed)]) == 0
    assert capsys.readouterr().out == first


def test_reads_stdin_and_writes_output_file(tmp_path: Path) -> None:
    out = tmp_path / "out.mlir"
    result = qopt("-o", str(out), stdin=GOOD.encode())
    assert result.returncode == 0 and result.stdout == b""
    assert "qnn.relu %a : tensor<4xf32> -> tensor<4xf32>" in out.read_text()


@pytest.mark.parametrize(
    ("stdin", "expected"),
    [
        (b"", "<stdin>:1:1: error: empty input: expected an MLIR module"),
        (b"\x7fELF\x02\x01\x01\x00\xff\xfe", "<stdin>:1:9: error: input is not UTF-8 text"),
        (b"func.func @f() {\x00}", "<stdin>:1:17: error: unexpected NUL character"),
        (
            b"%0 = qnn.bogus() : () -> ()",
            "<stdin>:1:6: error: unregistered operation 'qnn.bogus'",
        ),
        (
            b"func.func @f(%a: tensor<4xf32>) {\n"
            b"  %0 = qnn.relu %a : tensor<4xf32> -> tensor<4xf16>\n"
            b"  func.return\n}",
            "<stdin>:2:8: error: 'qnn.relu' op input and result types must be equal",
        ),
        (b"!q = !quant.uniform<i8:f32, 1.0", "<stdin>:1:20: error: unbalanced '<'"),
        (b"func.func @f( {", "<stdin>:1:15: error:"),
    ],
)
def test_bad_input_gives_located_error_without_traceback(stdin: bytes, expected: str) -> None:
    result = qopt(stdin=stdin)
    err = result.stderr.decode()
    assert result.returncode == 1
    assert err.startswith(expected), err
    assert "Traceback" not in err


def test_missing_file() -> None:
    result = qopt("does/not/exist.mlir")
    assert result.returncode == 1
    assert result.stderr.decode().startswith(
        "does/not/exist.mlir:1:1: error: could not open input file: No such file or directory"
    )


def test_split_input_file_keeps_line_numbers(capsys) -> None:
    text = (
        GOOD
        + "// -----\n"
        + GOOD.replace("tensor<4xf32>", "tensor<5xf32>")
        .replace("%a : tensor<5xf32>", "%a : tensor<4xf32>")
        .replace("%a: tensor<5xf32>", "%a: tensor<4xf32>")
    )
    path_result = qopt("--split-input-file", stdin=text.encode())
    assert path_result.returncode == 1
    assert path_result.stderr.decode().startswith("<stdin>:7:8: error: 'qnn.relu' op")


def test_verify_diagnostics_checks_annotations(tmp_path: Path, capsys) -> None:
    case = tmp_path / "case.mlir"
    case.write_text(
        "func.func @f(%a: tensor<4xf32>) -> tensor<4xf16> {\n"
        "  // expected-error@+1 {{input and result types must be equal}}\n"
        "  %0 = qnn.relu %a : tensor<4xf32> -> tensor<4xf16>\n"
        "  func.return %0 : tensor<4xf16>\n}\n// -----\n"
        "// expected-error@+1 {{illegal storage type size: 33}}\n"
        "!q = !quant.uniform<i33:f32, 1.0>\n"
    )
    assert run([str(case), "--split-input-file", "--verify-diagnostics"]) == 0
    case.write_text(case.read_text().replace("size: 33", "size: 34"))
    assert run([str(case), "--split-input-file", "--verify-diagnostics"]) == 1
    err = capsys.readouterr().err
    assert f"{case}:8:21: error: unexpected error: illegal storage type size: 33" in err
    assert (
        f'{case}:7:1: error: expected error "illegal storage type size: 34" was not produced' in err
    )


def test_unknown_pass_is_a_clear_error() -> None:
    result = qopt("-p", "no-such-pass", stdin=GOOD.encode())
    assert result.returncode == 1
    err = result.stderr.decode()
    assert err.startswith("qopt: error: invalid pass pipeline 'no-such-pass'")
    assert "no-such-pass" in err and "Traceback" not in err


def test_xdsl_opt_sees_our_dialects() -> None:
    result = subprocess.run(
        ["xdsl-opt", str(ROOT / "examples" / "mlp.mlir")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "qnn.dot %xq, %w1 bias(%b1 : tensor<8xi32>)" in result.stdout
    with_pass = subprocess.run(
        ["xdsl-opt", str(ROOT / "examples" / "conv_block.mlir"), "-p", "fold-scaled-builders"],
        capture_output=True,
        text=True,
    )
    assert with_pass.returncode == 0, with_pass.stderr
    assert "qnn.conv2d" in with_pass.stdout and "scaled_conv2d" not in with_pass.stdout


def test_printing_ir_does_not_import_numeric_stacks() -> None:
    code = (
        "import sys; from runtime.qopt import run; "
        f"run([{str(EXAMPLES[0])!r}]); "
        "assert not {'numpy', 'cffi', 'onnx'} & set(sys.modules), sorted(sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_readme_main_job_runs_end_to_end() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "run_conv_block.py")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "identical before and after the rewrites: True" in result.stdout
    assert "qnn.conv2d" in result.stdout and "qnn.scaled_conv2d" not in result.stdout


def _onnx_model(path: Path) -> None:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inits = [
        numpy_helper.from_array(np.float32(0.1), "s"),
        numpy_helper.from_array(np.uint8(128), "z"),
    ]
    nodes = [
        helper.make_node("QuantizeLinear", ["image", "s", "z"], ["q"]),
        helper.make_node("Relu", ["q"], ["r"]),
        helper.make_node("DequantizeLinear", ["r", "s", "z"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [2, 3])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.save(model, path)


def test_onnx_frontend_runs_with_onnx_names_and_benchmarks(tmp_path: Path) -> None:
    import numpy as np

    model = tmp_path / "model.onnx"
    _onnx_model(model)
    printed = qopt(str(model))
    assert printed.returncode == 0, printed.stderr.decode()
    assert (
        'func.func @main(%image: tensor<2x3xf32> {qnn.name = "image"})' in printed.stdout.decode()
    )
    assert "qnn.relu %q" in printed.stdout.decode()
    emitted = qopt(str(model), "-p", "qnn-default", "--emit-c")
    assert emitted.returncode == 0 and "int qd_entry(" in emitted.stdout.decode()
    image = np.array([[-1.0, 0.26, 0.34], [3.0, -0.05, 20.0]], np.float32)
    np.savez(tmp_path / "in.npz", image=image)
    ran = qopt(
        str(model),
        "--run",
        "--inputs",
        str(tmp_path / "in.npz"),
        "--outputs",
        str(tmp_path / "out.npz"),
        "--bench",
        "3",
    )
    assert ran.returncode == 0, ran.stderr.decode()
    assert re.fullmatch(r"bench: \d+\.\d{4} ms\n", ran.stdout.decode())
    with np.load(tmp_path / "out.npz") as out:
        assert list(out.files) == ["logits"]
        expected = np.array([[0.0, 0.3, 0.3], [3.0, 0.0, 12.7]], np.float32)
        assert np.array_equal(out["logits"], expected)


def test_onnx_frontend_errors_are_located_and_tracebackless(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07 not a model \xff")
    result = qopt(str(bad))
    assert result.returncode == 1
    assert result.stderr.decode().startswith(f"{bad}:1:1: error: not an ONNX model")
    assert b"Traceback" not in result.stderr
    text = tmp_path / "model.txt"
    _onnx_model(text)
    assert qopt(str(text), "--frontend", "onnx").returncode == 0


def _write(tmp_path: Path, text: str, name: str = "case.mlir") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_run_without_inputs_says_how_to_give_them(tmp_path: Path, capsys) -> None:
    import numpy as np

    path = _write(tmp_path, GOOD)
    for extra in ([], ["--reference"]):
        assert run([str(path), "--run", *extra]) == 1
        err = capsys.readouterr().err
        assert "@f takes inputs ['arg0']; no --inputs given. Pass them as --inputs FILE.npz" in err
        assert "np.savez('inputs.npz', arg0=np.zeros((4,), np.float32))" in err
        assert f"qopt {path} --run {' '.join(extra + [''])}--inputs inputs.npz" in err
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, x=np.zeros(4, np.float32))
    assert run([str(path), "--run", "--inputs", str(wrong)]) == 1
    err = capsys.readouterr().err
    assert f"{wrong} holds ['x']: missing ['arg0'], unexpected ['x']" in err
    assert "np.savez('inputs.npz', arg0=" in err


def test_help_groups_run_with_compilation(capsys) -> None:
    with pytest.raises(SystemExit):
        run(["--help"])
    out = capsys.readouterr().out
    assert "reference interpreter)" not in out  # the old group title
    group = out[out.index("compilation and execution:") :]
    assert "compile the function to C" in group and "--reference" in group
    assert "--run " in group and "--emit-c " in group and "compile and run a function" in group


SUB_CHANNEL = """func.func @f(%a: tensor<2x4x!quant.uniform<i8:f32:{0:1, 1:2}, {{1.0, 2.0}, {3.0, 4.0}}>>) -> tensor<2x4xf32> {
  %0 = quant.dcast %a : tensor<2x4x!quant.uniform<i8:f32:{0:1, 1:2}, {{1.0, 2.0}, {3.0, 4.0}}>> to tensor<2x4xf32>
  func.return %0 : tensor<2x4xf32>
}
"""
CALIBRATED = """func.func @f(%a: tensor<4x!quant.calibrated<f32<-1.0:1.0>>>) -> tensor<4x!quant.calibrated<f32<-1.0:1.0>>> {
  func.return %a : tensor<4x!quant.calibrated<f32<-1.0:1.0>>>
}
"""
NO_KERNEL = GOOD.replace(
    "qnn.relu %a : tensor<4xf32> -> tensor<4xf32>", "arith.addf %a, %a : tensor<4xf32>"
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (CALIBRATED, ":1:1: error: 'func.func': argument 0 %a of type tensor<4x!quant.calibrated"),
        (NO_KERNEL, ":2:8: error: 'arith.addf': has no C kernel"),
    ],
    ids=["calibrated", "no-kernel"],
)
def test_compile_refusals_suggest_reference_only_where_it_runs(
    text: str, message: str, tmp_path: Path, capsys
) -> None:
    path = _write(tmp_path, text)
    assert run([str(path), "--run"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{path}{message}"), err  # located, without a 'qopt: error:' prefix
    assert "--reference" not in err
    assert "qnn-default first" not in err


def test_sub_channel_dequantize_runs_compiled_as_in_the_reference(tmp_path: Path, capsys) -> None:
    """A sub-channel dequantize outside a weight-only dot compiles; the compiled run and the
    reference give the same values (block (0, 1) of scale 2.0: -3 → -6.0)."""
    path = _write(tmp_path, SUB_CHANNEL)
    inputs = tmp_path / "a.npz"
    np.savez(inputs, arg0=np.array([[1, 2, -3, 4], [5, 6, 7, 8]], np.int8))
    results = {}
    for extra in ([], ["--reference"]):
        out = tmp_path / f"out{len(extra)}.npz"
        assert (
            run([str(path), "--run", *extra, "--inputs", str(inputs), "--outputs", str(out)]) == 0
        )
        results[len(extra)] = np.load(out)["out0"]
    expected = np.array([[1, 2, -6, 8], [15, 18, 28, 32]], np.float32)
    assert np.array_equal(results[0], expected) and np.array_equal(results[1], expected)


def test_compile_failure_suggests_reference_when_it_runs(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    import runtime.compiled
    from runtime.jit import CompileError

    def fail(*args, **kwargs):
        raise CompileError("cc: not found")

    monkeypatch.setattr(runtime.compiled, "compile_c", fail)
    assert run([str(_write(tmp_path, GOOD)), "--run"]) == 1
    err = capsys.readouterr().err
    assert "cc: not found (--run --reference runs the reference interpreter instead)" in err


def test_emit_c_does_not_ask_for_the_pipeline_it_ran(tmp_path: Path, capsys) -> None:
    assert run([str(_write(tmp_path, NO_KERNEL)), "--emit-c"]) == 1
    err = capsys.readouterr().err
    assert "'arith.addf': has no C kernel" in err and "run qnn-default first" not in err


@pytest.mark.parametrize(
    ("signature", "body", "message"),
    [
        ("%a: f32", "func.return %a : f32", "argument 0 %a of type f32: not a tensor"),
        (
            "%a: tensor<*xf32>",
            "func.return %a : tensor<*xf32>",
            "argument 0 %a of type tensor<*xf32>: an unranked tensor",
        ),
        (
            "%a: !quant.any<i8:f32>",
            "func.return %a : !quant.any<i8:f32>",
            "argument 0 %a of type !quant.any<i8:f32>: not a tensor",
        ),
        (
            "%a: tensor<?xf32>",
            "func.return %a : tensor<?xf32>",
            "argument 0 %a of type tensor<?xf32>: a tensor of dynamic shape",
        ),
    ],
    ids=["scalar", "unranked", "quant-any", "dynamic"],
)
def test_unsupported_boundary_types_are_located_errors(
    signature: str, body: str, message: str, tmp_path: Path, capsys
) -> None:
    result_type = body.rsplit(" : ", 1)[1]
    text = f"func.func @f({signature}) -> {result_type} {{\n  {body}\n}}\n"
    path = _write(tmp_path, text)
    for mode in ("--emit-c", "--run"):
        assert run([str(path), mode]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"{path}:1:1: error: 'func.func': {message}; only tensors"), err
        assert "internal error" not in err and "AssertionError" not in err


def test_scalar_result_is_located_at_the_return(tmp_path: Path, capsys) -> None:
    text = GOOD.replace("-> tensor<4xf32> {", "-> f32 {").replace(
        "func.return %0 : tensor<4xf32>", "%c = arith.constant 1.0 : f32\n  func.return %c : f32"
    )
    path = _write(tmp_path, text)
    assert run([str(path), "--emit-c"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{path}:4:3: error: 'func.return': result 0 %c of type f32"), err


def test_unreadable_pass_option_is_a_clear_error() -> None:
    """xDSL raises ArgSpecParseError, a BaseException, for an option value it cannot read."""
    result = qopt("-p", "x{a=b.c}", stdin=GOOD.encode())
    assert result.returncode == 1
    err = result.stderr.decode()
    assert err.startswith("qopt: error: invalid pass pipeline 'x{a=b.c}'")
    assert "Traceback" not in err
