"""The per-op profiler (`runtime.profile`, `qopt --run --profile`): timers compiled in only
when asked, the time of every kernel attributed to its op and ONNX node, Chrome's trace format.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from qdialect.onnx_import import import_onnx
from runtime.compiled import compile_module
from runtime.profile import profile_function, profile_module
from runtime.qopt import run as qopt_main
from runtime.signature import argument_names, find_function
from tests.numeric.float_models import transformer_ffn

sys.path.insert(0, str(Path(__file__).parents[2] / "examples"))
import onnx_models  # noqa: E402

CONV = """
func.func @main(%x: tensor<1x8x8x3x!quant.uniform<u8:f32, 0.05:128>>) -> tensor<1x8x8x4x!quant.uniform<u8:f32, 0.1:0>> {
  %w = arith.constant dense<[[[[1, -2, 3], [4, 5, -6], [7, 8, 9]], [[1, 1, 1], [1, 1, 1], [1, 1, 1]], [[2, 0, -2], [0, 2, 0], [-2, 0, 2]]], [[[1, -2, 3], [4, 5, -6], [7, 8, 9]], [[1, 1, 1], [1, 1, 1], [1, 1, 1]], [[2, 0, -2], [0, 2, 0], [-2, 0, 2]]], [[[1, -2, 3], [4, 5, -6], [7, 8, 9]], [[1, 1, 1], [1, 1, 1], [1, 1, 1]], [[2, 0, -2], [0, 2, 0], [-2, 0, 2]]], [[[1, -2, 3], [4, 5, -6], [7, 8, 9]], [[1, 1, 1], [1, 1, 1], [1, 1, 1]], [[2, 0, -2], [0, 2, 0], [-2, 0, 2]]]]> : tensor<4x3x3x3xi8>
  %wq = quant.scast %w : tensor<4x3x3x3xi8> to tensor<4x3x3x3x!quant.uniform<i8:f32, 0.01>>
  %y = qnn.conv2d %x, %wq {pads = array<i64: 1, 1, 1, 1>, layout = "nhwc"} : tensor<1x8x8x3x!quant.uniform<u8:f32, 0.05:128>>, tensor<4x3x3x3x!quant.uniform<i8:f32, 0.01>> -> tensor<1x8x8x4x!quant.uniform<u8:f32, 0.1:0>>
  %z = qnn.relu %y : tensor<1x8x8x4x!quant.uniform<u8:f32, 0.1:0>> -> tensor<1x8x8x4x!quant.uniform<u8:f32, 0.1:0>>
  return %z : tensor<1x8x8x4x!quant.uniform<u8:f32, 0.1:0>>
}
"""


@pytest.fixture(scope="module")
def ffn() -> tuple:
    """ONNX Runtime's QDQ quantization of a transformer FFN with named nodes, and an input."""
    rng = np.random.default_rng(7)
    model = onnx_models.quantize(transformer_ffn(rng), rng, samples=4)
    x = rng.standard_normal(onnx_models.input_shape(model)).astype(np.float32)
    return model, x


def test_timers_only_when_asked() -> None:
    plain = compile_module(CONV)
    timed = compile_module(CONV, profile=True)
    assert "qd_now_ns" not in plain.c_source and "qd_profile_read" not in plain.c_source
    assert timed.c_source.count("= qd_now_ns();") == 2 * timed.emitted.kernel_count
    x = np.random.default_rng(0).integers(0, 256, (1, 8, 8, 3), dtype=np.uint8)
    np.testing.assert_array_equal(plain(x)[0], timed(x)[0])
    with pytest.raises(ValueError, match="compiled without profiling"):
        profile_function(plain, {"arg0": x})


def test_ops_work_and_trace() -> None:
    x = np.random.default_rng(1).integers(0, 256, (1, 8, 8, 3), dtype=np.uint8)
    profile = profile_module(CONV, {"arg0": x}, runs=3)
    (conv,) = profile.ops  # relu fused into the conv: one kernel
    assert conv.op == "qnn.conv2d" and conv.name == "y"  # the relu fused into it
    assert conv.arith_ops == 2 * (4 * 8 * 8) * (3 * 3 * 3)
    assert conv.bytes_moved == x.nbytes + 4 * 27 + 4 * 64
    assert conv.seconds > 0 and conv.gops == conv.arith_ops / conv.seconds / 1e9
    events = profile.chrome_trace()
    assert [e["cat"] for e in events] == ["Session", "Node"] * 3
    for run, node in zip(events[::2], events[1::2], strict=True):
        assert {run["ph"], node["ph"]} == {"X"}
        assert run["ts"] <= node["ts"] and node["ts"] + node["dur"] <= run["ts"] + run["dur"]
        assert node["args"] == {"op_name": "qnn.conv2d", "provider": "qdialect"}
    assert events[2]["ts"] >= events[0]["ts"] + events[0]["dur"]


def test_onnx_node_names_survive_fusion(ffn) -> None:
    model, x = ffn
    module = import_onnx(model, node_names=True)
    name = argument_names(find_function(module, None))[0]
    profile = profile_module(module, {name: x}, runs=2)
    dots = [op for op in profile.ops if op.op == "qnn.dot"]
    assert [op.name for op in dots] == ["fc1", "fc2"]
    assert [op.arith_ops for op in dots] == [2 * 16 * 32 * 128, 2 * 16 * 128 * 32]
    table = profile.table()
    rows = table.splitlines()[2 : 2 + len(profile.ops)]
    times = [float(row.split()[0]) for row in rows]
    assert times == sorted(times, reverse=True)
    assert "by op:" in table and "qnn.dot ×2" in table


def test_qopt_profile(ffn, tmp_path: Path, capsys) -> None:
    import onnx

    model, x = ffn
    onnx.save(model, tmp_path / "ffn.onnx")
    np.savez(tmp_path / "x.npz", x=x)
    trace = tmp_path / "trace.json"
    argv = [str(tmp_path / "ffn.onnx"), "--run", "--inputs", str(tmp_path / "x.npz")]
    assert qopt_main([*argv, "--profile-json", str(trace), "--bench", "3", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "@main: 3 runs" in out and " fc1\n" in out and " fc2\n" in out
    events = json.loads(trace.read_text())
    assert sum(e["name"] == "model_run" for e in events) == 3
    assert {e["name"] for e in events if e["args"].get("op_name") == "qnn.dot"} == {"fc1", "fc2"}
    assert qopt_main([str(tmp_path / "ffn.onnx"), "--profile"]) == 1
    assert "--profile and --profile-json time the compiled C of --run" in capsys.readouterr().err
    assert qopt_main([*argv, "--threads", "0"]) == 1
    assert "--threads needs a positive count, got 0" in capsys.readouterr().err
