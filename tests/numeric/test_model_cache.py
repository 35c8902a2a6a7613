"""runtime.model_cache: a model compiled once is loaded from its bytes' key the next time, with
the same results bit for bit; anything that could change the result misses; a damaged entry is
rebuilt; `qopt --run` is served from it without importing the compiler.

Every test has its own QDIALECT_CACHE_DIR. A hit is told from a miss by what comes back: a miss
compiles (a CompiledFunction, which holds the IR), a hit is a bare NativeFunction.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import runtime.model_cache as model_cache
import runtime.qopt as qopt_driver
from runtime.compiled import CompiledFunction
from runtime.model_cache import compile_model
from runtime.native import ExecutionError, NativeFunction
from runtime.qopt import run as qopt

ROOT = Path(__file__).resolve().parents[2]
MODEL = (ROOT / "examples" / "conv_block.mlir").read_text()
X = np.random.default_rng(5).random((1, 3, 8, 8), dtype=np.float32)

pytestmark = pytest.mark.skipif(
    shutil.which(os.environ.get("CC", "cc")) is None, reason="no C compiler on PATH"
)


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("QDIALECT_CACHE_DIR", str(directory))
    monkeypatch.delenv("QDIALECT_CFLAGS", raising=False)
    return directory


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "conv_block.mlir"
    path.write_text(MODEL)
    return path


def is_hit(function: NativeFunction) -> bool:
    return type(function) is NativeFunction


def test_a_second_compile_is_a_hit_with_identical_results(model: Path) -> None:
    first = compile_model(model)
    second = compile_model(model)
    assert isinstance(first, CompiledFunction) and is_hit(second)
    assert second.signature == first.signature
    (expected,) = first(X)
    (got,) = second(X)
    assert got.dtype == expected.dtype and np.array_equal(got, expected)
    (by_name,) = second(arg0=X)  # the checked path of a hit binds names as a compile does
    assert np.array_equal(by_name, expected)


def test_what_decides_the_result_is_in_the_key(
    model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The model's bytes, the pipeline, the flags and the compiler's own code each miss."""
    compile_model(model)
    assert is_hit(compile_model(model))
    changed = model.with_name("changed.mlir")
    changed.write_text(MODEL.replace("-45, 115", "-44, 115"))
    assert not is_hit(compile_model(changed))
    assert not is_hit(compile_model(model, passes="fold-scaled-builders"))
    assert not is_hit(compile_model(model, flags=["-O1", "-march=native"]))
    assert not is_hit(compile_model(model.read_bytes(), entry="main"))  # entry is keyed too
    monkeypatch.setattr(model_cache, "code_version", lambda: "another qdialect")
    assert not is_hit(compile_model(model))


def test_a_damaged_entry_is_rebuilt(model: Path, private_cache: Path) -> None:
    (expected,) = compile_model(model)(X)
    (entry,) = private_cache.glob("_qm_*.model")
    data = bytearray(entry.read_bytes())
    data[-1] ^= 0x01  # the last constant's last byte
    entry.write_bytes(data)
    rebuilt = compile_model(model)
    assert not is_hit(rebuilt)
    assert np.array_equal(rebuilt(X)[0], expected)
    hit = compile_model(model)
    assert is_hit(hit) and np.array_equal(hit(X)[0], expected)
    # an entry whose object is gone is a miss as well
    for library in private_cache.glob("_qd_*.so"):
        library.unlink()
    assert not is_hit(compile_model(model))


def test_qopt_run_is_served_from_the_cache(
    model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    inputs, first, second = tmp_path / "x.npz", tmp_path / "y1.npz", tmp_path / "y2.npz"
    np.savez(inputs, arg0=X)
    assert qopt([str(model), "--run", "--inputs", str(inputs), "--outputs", str(first)]) == 0

    def no_compiler(*_args, **_kwargs):
        raise AssertionError("a hit must not compile")

    monkeypatch.setattr(qopt_driver, "run_module", no_compiler)  # the full way
    assert qopt([str(model), "--run", "--inputs", str(inputs), "--outputs", str(second)]) == 0
    with np.load(first) as a, np.load(second) as b:
        assert a.files == b.files and all(np.array_equal(a[k], b[k]) for k in a.files)
    # an option outside the key goes the full way (qopt reports the stub's refusal)
    capsys.readouterr()
    assert qopt([str(model), "--run", "--inputs", str(inputs), "--print-op-generic"]) == 1
    assert "a hit must not compile" in capsys.readouterr().err


def test_a_qopt_hit_does_not_import_the_compiler(model: Path, tmp_path: Path) -> None:
    inputs = tmp_path / "x.npz"
    np.savez(inputs, arg0=X)
    argv = [str(model), "--run", "--inputs", str(inputs)]
    assert qopt(argv) == 0
    child = (
        "import sys; from runtime.qopt import run; status = run(sys.argv[1:]); "
        "print('imported', sorted(m for m in ('xdsl', 'codegen', 'jinja2', 'onnx') "
        "if m in sys.modules)); sys.exit(status)"
    )
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", child, *argv], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "imported []" in result.stdout
    assert "out0: float32[1, 4, 8, 8]" in result.stdout


GATHER = """func.func @lookup(%ids: tensor<4xi64>) -> tensor<4x3xf32> {
  %table = arith.constant dense<[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]]> : tensor<3x3xf32>
  %rows = qnn.gather %table, %ids {axis = 0 : i64} : tensor<3x3xf32>, tensor<4xi64> -> tensor<4x3xf32>
  func.return %rows : tensor<4x3xf32>
}
"""


def test_a_hit_keeps_the_entry_points_run_time_failures(tmp_path: Path) -> None:
    """A cached function raises a kernel's failure (a gather's index out of range) by the
    message the compile located, as the compiled function does."""
    path = tmp_path / "lookup.mlir"
    path.write_text(GATHER)
    first, second = compile_model(path), compile_model(path)
    assert is_hit(second) and second.signature.failures == first.signature.failures
    ids = np.array([0, -1, 2, 1], np.int64)
    assert np.array_equal(second(ids)[0], first(ids)[0])
    for function in (first, second):
        with pytest.raises(ExecutionError, match=r"lookup.mlir:3:11: error: 'qnn.gather': "):
            function(np.array([0, 3, 1, 1], np.int64))
