"""The per-tensor accuracy report against ONNX Runtime's own intermediate tensors.

A transformer FFN (MatMul+Add, Relu, MatMul+Add, residual) is quantized by ONNX Runtime's
quantize_static (QDQ, u8 activations, s8 weights per tensor) and by our quantizer from ORT's
calibration cache. The references are computed here, independently of runtime.accuracy:
ONNX Runtime runs the float model and the quantized model with every intermediate tensor
(the QuantizeLinear outputs) added as graph outputs; numpy dequantizes, computes SQNR, the
local result of one MatMul, and the vpmaddubsw pair-saturating sum.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx import helper, numpy_helper  # noqa: E402

from runtime.accuracy import AccuracyError, compare  # noqa: E402
from runtime.accuracy_report import JSON_FIELDS  # noqa: E402
from runtime.qopt import run  # noqa: E402
from runtime.quantization import quantize, read_ranges  # noqa: E402

from . import float_models  # noqa: E402
from .onnxruntime_session import ort_saturates_u8s8, run_ort  # noqa: E402
from .test_quantize_static import ort_quantized  # noqa: E402

SHAPE = [16, 32]
F32 = np.float32


def config(reduce_range: bool) -> dict:
    return {
        "quant_format": "QDQ",
        "per_channel": False,
        "activation_type": "QUInt8",
        "weight_type": "QInt8",
        "reduce_range": reduce_range,
    }


@pytest.fixture(scope="module", params=[False, True], ids=["full", "reduce_range"])
def case(request, tmp_path_factory):
    """(float model, ORT's quantized model, ORT's cache path, test input)."""
    logging.getLogger().setLevel(logging.ERROR)
    rng = np.random.default_rng(17)
    model = float_models.transformer_ffn(rng)
    samples = [{"x": rng.standard_normal(SHAPE).astype(F32)} for _ in range(4)]
    tmp = tmp_path_factory.mktemp("accuracy")
    theirs, cache = ort_quantized(model, samples, config(request.param), tmp)
    x = (rng.standard_normal(SHAPE) * 2.0).astype(F32)  # wider than calibration: clipping
    return model, theirs, cache, x, request.param


def with_outputs(model, names: list[str]):
    """`model` with the tensors `names` added as graph outputs (ONNX Runtime computes them)."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    have = {o.name for o in model.graph.output}
    for name in names:
        if name not in have:
            model.graph.output.append(helper.make_empty_tensor_value_info(name))
    return model


def ort_run(model, names: list[str], x) -> dict[str, np.ndarray]:
    """ONNX Runtime's values of the tensors `names`, by name, in that order."""
    extended = with_outputs(model, names)
    values = dict(
        zip([o.name for o in extended.graph.output], run_ort(extended, {"x": x}), strict=True)
    )
    return {name: values[name] for name in names}


def initializer(model, name: str) -> np.ndarray:
    (tensor,) = [t for t in model.graph.initializer if t.name == name]
    return numpy_helper.to_array(tensor)


def quantize_nodes(model) -> dict[str, onnx.NodeProto]:
    """Tensor name -> the QuantizeLinear of it (the tensor a DequantizeLinear names, for
    ORT's renamed graph output `y`)."""
    nodes = {n.input[0]: n for n in model.graph.node if n.op_type == "QuantizeLinear"}
    for node in model.graph.node:
        if node.op_type == "DequantizeLinear":
            source = [q for q in nodes.values() if q.output[0] == node.input[0]]
            if source and source[0].input[0] not in {i.name for i in model.graph.input}:
                nodes.setdefault(node.output[0], source[0])
    return nodes


def ort_tensors(model, quantized, x):
    """Float tensors and ONNX Runtime's dequantized quantized tensors, by name."""
    qnodes = quantize_nodes(quantized)
    names = [n for n in qnodes if n in {o for node in model.graph.node for o in node.output}]
    names += ["x"]
    floats = ort_run(model, names, x)
    raw = ort_run(quantized, [qnodes[n].output[0] for n in names], x).values()
    deq, params = {}, {}
    for name, q in zip(names, raw, strict=True):
        scale = initializer(quantized, qnodes[name].input[1])
        zero = initializer(quantized, qnodes[name].input[2])
        deq[name] = (q.astype(np.int64) - zero.astype(np.int64)).astype(F32) * scale
        params[name] = (q, F32(scale), int(zero))
    return floats, deq, params


def sqnr(x, y) -> float:
    x, y = x.astype(np.float64), y.astype(np.float64)
    return float(10 * np.log10(np.sum(x**2) / np.sum((x - y) ** 2)))


def requantize(acc, sx, sw, sy, zy) -> np.ndarray:
    """DESIGN §2: m = fl(fl(sx*sw)/sy), v = fl(float32(acc)*m), clamp, rint, + zy (u8)."""
    m = F32(F32(sx * sw) / F32(sy))
    v = np.clip(acc.astype(F32) * m, F32(0 - zy), F32(255 - zy))
    return np.rint(v).astype(np.int64) + zy


def test_sqnr_equals_onnxruntime(case) -> None:
    model, theirs, _, x, reduce_range = case
    report = compare(theirs, model, {"x": x})
    floats, deq, _ = ort_tensors(model, theirs, x)
    assert {r.tensor for r in report.records} == set(deq) == {"x", "h0", "h2", "h3", "h4", "y"}
    for record in report.records:
        expected = sqnr(floats[record.tensor], deq[record.tensor])
        # ORT's float sums run in another order (1e-7 relative); with full-range weights
        # ORT's own integers are wrong from h0 on (the hazard test), so only x compares
        if reduce_range or record.tensor == "x":
            assert record.sqnr_db == pytest.approx(expected, abs=1e-4), record.tensor
    clipped = np.mean(np.abs(x) > 0)  # every x is clipped or not: check the share directly
    (row,) = [r for r in report.records if r.tensor == "x"]
    _, scale, zero = ort_tensors(model, theirs, x)[2]["x"]
    lo, hi = F32(0 - zero) * scale, F32(255 - zero) * scale
    assert row.clipped == np.count_nonzero((x < lo) | (x > hi)) / x.size
    assert clipped == 1.0 and row.clipped > 0


def test_local_sqnr_is_the_op_on_float_inputs(case) -> None:
    """fc2 (MatMul h2 @ w2 -> h3) run in integers on quantize(float h2), in numpy, against the
    float MatMul on the same dequantized input."""
    model, theirs, _, x, _ = case
    report = compare(theirs, model, {"x": x})
    floats, _, params = ort_tensors(model, theirs, x)
    _, s2, z2 = params["h2"]
    _, s3, z3 = params["h3"]
    h2q = np.clip(np.rint(floats["h2"] / s2) + z2, 0, 255).astype(np.int64)
    w2 = initializer(theirs, "w2_quantized").astype(np.int64)
    sw = initializer(theirs, "w2_scale")
    h3q = requantize((h2q - z2) @ w2, s2, sw, s3, z3)
    # the float op on the same quantized input, with float weights
    reference = ((h2q - z2).astype(F32) * s2) @ initializer(model, "w2")
    y = ((h3q - z3).astype(F32) * s3).astype(np.float64)
    noise = np.sum((reference.astype(np.float64) - y) ** 2)
    expected = float(10 * np.log10(np.sum(floats["h3"].astype(np.float64) ** 2) / noise))
    (row,) = [r for r in report.records if r.tensor == "h3"]
    assert row.local_sqnr_db == pytest.approx(expected, abs=1e-4)
    assert row.op == "MatMul" and row.node == "fc2"


def pair_saturated(a: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Σ_k a·w with each adjacent-k pair saturated to int16, as vpmaddubsw sums them."""
    acc = np.zeros((a.shape[0], w.shape[1]), dtype=np.int64)
    for k in range(0, a.shape[1], 2):
        pair = a[:, k, None] * w[None, k] + a[:, k + 1, None] * w[None, k + 1]
        acc += np.clip(pair, -32768, 32767)
    return acc


def test_hazard_is_what_a_saturating_kernel_gets_wrong(case) -> None:
    model, theirs, _, x, reduce_range = case
    report = compare(theirs, model, {"x": x})
    _, _, params = ort_tensors(model, theirs, x)
    xq, sx, zx = params["x"]
    ort_h0, s0, z0 = params["h0"]
    a, w = xq.astype(np.int64), initializer(theirs, "w1_quantized").astype(np.int64)
    sw = initializer(theirs, "w1_scale")
    correction = zx * w.sum(0)[None, :]
    exact = requantize(a @ w - correction, sx, sw, s0, z0)
    saturated = requantize(pair_saturated(a, w) - correction, sx, sw, s0, z0)
    wrong = exact != saturated
    rows = {r.tensor: r for r in report.records}
    assert rows["h0"].hazard_outputs == np.count_nonzero(wrong)
    assert rows["h0"].hazard_max_lsb == np.abs(exact - saturated).max()
    assert rows["h3"].hazard_outputs is not None and rows["y"].hazard_outputs is None
    # ONNX Runtime's AVX2 kernel gets exactly the flagged outputs wrong (and by as much); with
    # VNNI or AMX its kernel is exact
    assert np.array_equal(ort_h0.astype(np.int64), saturated if ort_saturates_u8s8() else exact)
    if reduce_range:
        assert rows["h0"].hazard_outputs == 0 and rows["h3"].hazard_outputs == 0
    else:
        assert rows["h0"].hazard_outputs > 0
        assert "reduce_range" in rows["h0"].advice


def test_our_quantizer_reports_the_same(case) -> None:
    model, theirs, cache, x, reduce_range = case
    ours = quantize(model, cache, config(reduce_range)).module
    expected = {r.tensor: r for r in compare(theirs, model, {"x": x}).records}
    for record in compare(ours, model, {"x": x}).records:
        name = {"h1": "h2"}.get(record.tensor, record.tensor)  # ORT names the Add+Relu h2
        other = expected[name]
        assert (record.sqnr_db, record.local_sqnr_db, record.clipped) == (
            other.sqnr_db,
            other.local_sqnr_db,
            other.clipped,
        ), record.tensor
        assert (record.hazard_outputs, record.hazard_max_lsb) == (
            other.hazard_outputs,
            other.hazard_max_lsb,
        )


def test_table_order_and_json(case, tmp_path: Path) -> None:
    model, theirs, _, x, _ = case
    report = compare(theirs, model, {"x": x})
    local = [r.local_sqnr_db for r in report.records]
    assert local == sorted(local)
    lines = report.table().splitlines()
    assert lines[0].split()[:4] == ["tensor", "op", "node", "local"]
    assert [line.split()[0] for line in lines[1:]] == [r.tensor for r in report.records]
    path = tmp_path / "r.json"
    report.write_json(path)
    records = json.loads(path.read_text())
    assert [tuple(r) for r in records] == [JSON_FIELDS] * len(report.records)
    assert records[0]["tensor"] == report.records[0].tensor
    assert records[0]["local_sqnr_db"] == report.records[0].local_sqnr_db


def test_a_too_small_scale_is_first(case) -> None:
    """h3's range 8x too small: h3 is worst by local SQNR, clips, and drags h4's cumulative
    SQNR down while h4's local SQNR does not drop."""
    model, _, cache, x, reduce_range = case
    ranges = read_ranges(cache)
    good = quantize(model, ranges, config(reduce_range)).module
    lo, hi = ranges["h3"]
    ranges["h3"] = (lo / 8, hi / 8)
    bad = quantize(model, ranges, config(reduce_range)).module
    before = {r.tensor: r for r in compare(good, model, {"x": x}).records}
    report = compare(bad, model, {"x": x})
    after = {r.tensor: r for r in report.records}
    assert report.records[0].tensor == "h3"
    assert after["h3"].clipped > 0.2
    assert after["h4"].sqnr_db < before["h4"].sqnr_db - 6
    assert after["h4"].local_sqnr_db > before["h4"].local_sqnr_db - 0.5


def test_errors_are_one_line(case, tmp_path: Path) -> None:
    model, theirs, _, x, _ = case
    with pytest.raises(AccuracyError) as err:
        compare(str(tmp_path / "nope.onnx"), model, {"x": x})
    assert str(err.value) == f"no such file: '{tmp_path / 'nope.onnx'}' (quantized model)"
    other = onnx.ModelProto.FromString(model.SerializeToString())
    renamed = {o for node in other.graph.node for o in node.output} | {"x"}
    for node in other.graph.node:
        node.output[:] = [f"other_{o}" for o in node.output]
        node.input[:] = [f"other_{i}" if i in renamed else i for i in node.input]
    other.graph.input[0].name = "other_x"
    other.graph.output[0].name = "other_y"
    with pytest.raises(AccuracyError) as err:
        compare(theirs, other, {"x": x})
    assert str(err.value) == (
        "the models share no quantized tensor name: is the first a quantized (QDQ) form of "
        "the second?"
    )


def test_qopt_compare(case, tmp_path: Path, capsys) -> None:
    model, theirs, cache, x, reduce_range = case
    onnx.save(theirs, tmp_path / "int8.onnx")
    onnx.save(model, tmp_path / "fp32.onnx")
    np.savez(tmp_path / "x.npz", x=x)
    (tmp_path / "cfg.json").write_text(json.dumps(config(reduce_range)))
    base = [str(tmp_path / "int8.onnx"), "--compare", str(tmp_path / "fp32.onnx")]
    inputs = ["--inputs", str(tmp_path / "x.npz")]
    assert run([*base, *inputs, "--report", str(tmp_path / "r.json")]) == 0
    table = capsys.readouterr().out
    assert table == compare(theirs, model, {"x": x}).table()
    assert len(json.loads((tmp_path / "r.json").read_text())) == 6
    fresh = [str(tmp_path / "fp32.onnx"), "--quantize", str(tmp_path / "cfg.json")]
    fresh += ["--calibration-table", str(cache), "--compare", str(tmp_path / "fp32.onnx")]
    assert run([*fresh, *inputs, "--quiet"]) == 0
    ours = quantize(model, cache, config(reduce_range)).module
    assert capsys.readouterr().out == compare(ours, model, {"x": x}).table()
    assert run(base) == 1
    assert capsys.readouterr().err == (
        "qopt: error: --compare needs --inputs FILE.npz (the inputs both models run on)\n"
    )
    missing = [str(tmp_path / "int8.onnx"), "--compare", str(tmp_path / "no.onnx"), *inputs]
    assert run(missing) == 1
    assert capsys.readouterr().err == (
        f"qopt: error: no such file: '{tmp_path / 'no.onnx'}' (float model)\n"
    )


def test_qopt_plot_without_matplotlib(
    case, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """matplotlib hidden, as on a machine without the `plot` extra."""
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "matplotlib" else find_spec(name, *a),
    )
    _, theirs, _, x, _ = case
    onnx.save(theirs, tmp_path / "int8.onnx")
    np.savez(tmp_path / "x.npz", x=x)
    argv = [str(tmp_path / "int8.onnx"), "--compare", str(tmp_path / "int8.onnx")]
    assert run([*argv, "--inputs", str(tmp_path / "x.npz"), "--plot", "r.png"]) == 1
    assert capsys.readouterr().err == (
        "qopt: error: --plot needs matplotlib, which is not installed (pip install matplotlib)\n"
    )
