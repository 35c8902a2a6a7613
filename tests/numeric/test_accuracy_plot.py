"""`--plot`: the per-tensor report as a PNG, one point per tensor in graph order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnx")
matplotlib = pytest.importorskip("matplotlib")

import onnx  # noqa: E402

from qdialect.textio import print_module  # noqa: E402
from runtime.accuracy import compare, float_tensors, load_model  # noqa: E402
from runtime.accuracy_plot import HEADROOM_DB, plot_report  # noqa: E402
from runtime.qopt import run  # noqa: E402
from runtime.quantization import quantize  # noqa: E402

from . import float_models  # noqa: E402

NAMES = ("x", "c1", "r1", "c2", "r2", "g", "f", "y")


def test_plot(tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(5)
    model = float_models.named_cnn(rng)
    x = rng.standard_normal((1, 3, 8, 8)).astype(np.float32)
    floats = float_tensors(load_model(model, "float"), list(NAMES), {"x": x})
    ranges = {n: (float(v.min()), float(v.max())) for n, v in floats.items()}
    ranges["r2"] = (ranges["r2"][0] / 8, ranges["r2"][1] / 8)  # conv2+relu2's range 8x small
    quantized = quantize(model, ranges, {"activation_type": "QUInt8"}).module
    report = compare(quantized, model, {"x": x})
    figure = plot_report(report, tmp_path / "r.png")
    in_graph = sorted(report.records, key=lambda r: r.position)
    assert [r.tensor for r in in_graph] == ["x", "c1", "c2", "g", "f", "y"]
    sqnr, clipped = figure.axes
    cumulative, local = (line.get_xydata() for line in sqnr.lines)
    count = len(report.records)
    np.testing.assert_array_equal(cumulative[:, 0], np.arange(count))
    for line, field in ((cumulative, "sqnr_db"), (local, "local_sqnr_db")):
        values = [getattr(r, field) for r in in_graph]
        top = max(v for v in values if np.isfinite(v)) + HEADROOM_DB
        np.testing.assert_array_equal(line[:, 1], [v if np.isfinite(v) else top for v in values])
    assert in_graph[2].local_sqnr_db == min(r.local_sqnr_db for r in in_graph)
    heights = [bar.get_height() for bar in clipped.patches]
    assert heights == [100 * r.clipped for r in in_graph]
    assert heights[2] > 20  # conv2's output clips
    assert [t.get_text() for t in clipped.get_xticklabels()] == [r.tensor for r in in_graph]
    image = matplotlib.image.imread(tmp_path / "r.png")
    assert (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert image.ndim == 3 and image.shape[0] > 100

    onnx.save(model, tmp_path / "fp32.onnx")
    (tmp_path / "q.mlir").write_text(print_module(quantized))
    np.savez(tmp_path / "x.npz", x=x)
    argv = [str(tmp_path / "q.mlir"), "--compare", str(tmp_path / "fp32.onnx")]
    argv += ["--inputs", str(tmp_path / "x.npz"), "--plot"]
    assert run([*argv, str(tmp_path / "q.png")]) == 0
    assert capsys.readouterr().out == report.table()
    assert (tmp_path / "q.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert run([*argv, str(tmp_path / "no" / "q.png")]) == 1
    assert capsys.readouterr().err == (
        f"qopt: error: cannot write '{tmp_path / 'no' / 'q.png'}': No such file or directory\n"
    )
