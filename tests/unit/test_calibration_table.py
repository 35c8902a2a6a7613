"""qdialect.calibration.table against ONNX Runtime 1.31.1's JSON calibration cache.

Both directions, float32 bit for bit: tables we write load with ORT's `load_tensors_data` and
drive `quantize_static(calibration_cache_path=...)` to the same model as ORT's own cache;
caches ORT's `save_tensors_data` / `quantize_static` write read back with ours.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging

import numpy as np
import pytest

from qdialect.calibration.stats import TensorRange
from qdialect.calibration.table import CalibrationTable, CalibrationTableError

F32 = np.float32


def bits(value) -> int:
    return int(np.asarray(value, dtype=F32).reshape(-1)[0].view(np.uint32))


def awkward_floats() -> list[np.float32]:
    """float32 values whose decimal spelling is delicate, in ascending pairs' order."""
    rng = np.random.default_rng(7)
    random_bits = rng.integers(0, 0x7F800000, 24, dtype=np.uint32).view(F32)  # finite, >= 0
    special = np.array(
        [0.0, -0.0, 1e-45, 1.1754942e-38, 0.1, 1 / 3, 3.4028235e38, 16777217.0, 2.5, np.inf],
        dtype=F32,
    )
    values = np.concatenate([random_bits, -random_bits, special])
    return [F32(v) for v in values]


def awkward_table(method: str) -> CalibrationTable:
    values = awkward_floats()
    ranges = {}
    for i, value in enumerate(values):
        low, high = (value, value) if i % 3 == 0 else (min(-abs(value), value), abs(value))
        ranges[f"t{i}/out:0"] = TensorRange(F32(low), F32(high))
    ranges["inf"] = TensorRange(F32(-np.inf), F32(np.inf))
    return CalibrationTable(method=method, ranges=ranges)


@pytest.fixture(scope="module")
def ort_calibrate():
    return pytest.importorskip("onnxruntime.quantization.calibrate")


# ---------------------------------------------------------------------------------------------
# round trips


@pytest.mark.parametrize(
    "method", ["minmax", "percentile", "entropy", "distribution", "mse", "kl-glow"]
)
def test_ours_load_with_onnxruntime(tmp_path, ort_calibrate, method):
    table = awkward_table(method)
    path = tmp_path / "table.json"
    table.write(path)
    loaded = ort_calibrate.load_tensors_data(path)
    ort_method = {
        "minmax": ort_calibrate.CalibrationMethod.MinMax,
        "percentile": ort_calibrate.CalibrationMethod.Percentile,
        "entropy": ort_calibrate.CalibrationMethod.Entropy,
        "distribution": ort_calibrate.CalibrationMethod.Distribution,
    }.get(method, method)
    assert loaded.calibration_method == ort_method
    assert list(loaded.keys()) == list(table)
    for name, expected in table.items():
        lowest, highest = loaded[name].range_value
        assert lowest.dtype == F32 and highest.dtype == F32
        assert (bits(lowest), bits(highest)) == (bits(expected.lowest), bits(expected.highest))
    again = CalibrationTable.read(path)
    assert again == table
    for name in table:
        assert bits(again[name].lowest) == bits(table[name].lowest)


def test_onnxruntime_saves_read_by_ours(tmp_path, ort_calibrate):
    """Every form save_tensors_data writes a bound in: one-element arrays (MinMax's
    compute_data), 0-d arrays and plain numbers (compute_percentile), float16 arrays, and the
    extra keys (hist, bins, hist_edges, avg, std) the histogram methods keep."""
    values = awkward_floats()[:20]
    TensorData, TensorsData = ort_calibrate.TensorData, ort_calibrate.TensorsData
    method = ort_calibrate.CalibrationMethod
    cases = {
        "minmax": TensorsData(
            method.MinMax,
            {
                f"m{i}": (np.array([-abs(v)], F32), np.array([abs(v)], F32))
                for i, v in enumerate(values)
            },
        ),
        "percentile": TensorsData(
            method.Percentile,
            {
                f"p{i}": (-np.array(abs(v), F32), F32(abs(v)), np.int64(7), np.int64(0))
                for i, v in enumerate(values)
            },
        ),
        "entropy": TensorsData(
            method.Entropy,
            {
                f"e{i}": (
                    F32(-abs(v)),
                    np.array(abs(v), F32),
                    np.arange(4),
                    np.linspace(-1, 1, 5, dtype=F32),
                )
                for i, v in enumerate(values)
            },
        ),
        "distribution": TensorsData(
            method.Distribution,
            {
                "d": TensorData(
                    avg=np.array(0.25, F32),
                    std=np.array(1.5, F32),
                    hist=np.arange(3),
                    hist_edges=np.array([-2, 0, 1, 2], F32),
                    lowest=F32(-2),
                    highest=F32(2),
                ),
                "half": TensorData(
                    lowest=np.array(-0.1, np.float16), highest=np.array(65504, np.float16)
                ),
            },
        ),
    }
    for name, data in cases.items():
        path = tmp_path / f"{name}.json"
        ort_calibrate.save_tensors_data(data, path)
        table = CalibrationTable.read(path)
        assert table.method == name
        assert list(table) == list(data.keys())
        for tensor, expected in data.items():
            lowest, highest = (np.asarray(v).astype(F32) for v in expected.range_value)
            assert (bits(table[tensor].lowest), bits(table[tensor].highest)) == (
                bits(lowest),
                bits(highest),
            )
        # and back: ours, written, loads in ORT with the same values
        out = tmp_path / f"{name}_ours.json"
        table.write(out)
        loaded = ort_calibrate.load_tensors_data(out)
        assert loaded.calibration_method == data.calibration_method
        for tensor in data:
            got = [bits(v) for v in loaded[tensor].range_value]
            assert got == [bits(table[tensor].lowest), bits(table[tensor].highest)]


@pytest.fixture(scope="module")
def float_model(tmp_path_factory):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.standard_normal((8, 6)).astype(F32), "W")
    bias = numpy_helper.from_array(rng.standard_normal(6).astype(F32), "B")
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "W"], ["h"], name="matmul"),
            helper.make_node("Add", ["h", "B"], ["a"], name="add"),
            helper.make_node("Relu", ["a"], ["y"], name="relu"),
        ],
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 6])],
        [weight, bias],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    path = tmp_path_factory.mktemp("model") / "mlp.onnx"
    onnx.save(model, str(path))
    return path


def quantize(model_path, output, cache, method_name, reader=None):
    quantization = pytest.importorskip("onnxruntime.quantization")
    logging.getLogger().setLevel(logging.ERROR)
    with contextlib.redirect_stdout(io.StringIO()):
        quantization.quantize_static(
            str(model_path),
            str(output),
            reader,
            calibrate_method=getattr(quantization.CalibrationMethod, method_name),
            calibration_cache_path=str(cache),
        )
    return output.read_bytes()


@pytest.mark.parametrize("method_name", ["MinMax", "Percentile", "Entropy"])
def test_quantize_static_accepts_ours(tmp_path, float_model, ort_calibrate, method_name):
    """quantize_static's own cache and ours (read, written again) give the same model."""
    quantization = pytest.importorskip("onnxruntime.quantization")
    rng = np.random.default_rng(1)
    samples = [{"x": rng.standard_normal((4, 8)).astype(F32)} for _ in range(5)]

    class Reader(quantization.CalibrationDataReader):
        def __init__(self):
            self.items = iter(samples)

        def get_next(self):
            return next(self.items, None)

    theirs = tmp_path / "ort_cache.json"
    reference = quantize(float_model, tmp_path / "ort.onnx", theirs, method_name, Reader())
    table = CalibrationTable.read(theirs)
    loaded = ort_calibrate.load_tensors_data(theirs)
    assert set(table) == set(loaded.keys()) == {"x", "h", "a", "y"}
    for name in table:
        assert [bits(v) for v in loaded[name].range_value] == [
            bits(table[name].lowest),
            bits(table[name].highest),
        ]
    ours = tmp_path / "our_cache.json"
    table.write(ours)
    assert quantize(float_model, tmp_path / "ours.onnx", ours, method_name) == reference


# ---------------------------------------------------------------------------------------------
# the table itself


def test_table_is_a_typed_read_only_mapping():
    table = CalibrationTable("minmax", {"x": TensorRange(F32(-1), F32(2))})
    assert dict(table) == {"x": TensorRange(F32(-1), F32(2))} and len(table) == 1
    with pytest.raises(TypeError):
        table.ranges["y"] = TensorRange(F32(0), F32(1))  # type: ignore[index]
    with pytest.raises(TypeError, match="np.float32"):
        CalibrationTable("minmax", {"x": TensorRange(-1.0, 2.0)})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a number"):
        CalibrationTable("minmax", {"x": TensorRange(F32("nan"), F32(2))})
    inverted = CalibrationTable("percentile", {"x": TensorRange(F32(3), F32(2))})
    assert inverted["x"] == TensorRange(F32(3), F32(2))  # ORT writes such ranges too
    with pytest.raises(ValueError, match="unknown calibration method 'MinMax'"):
        CalibrationTable("MinMax", {})


def test_smooth_quant_flag_round_trips(tmp_path):
    table = CalibrationTable("minmax", {"x": TensorRange(F32(-1), F32(1))}, smooth_quant=True)
    table.write(tmp_path / "t.json")
    assert json.loads((tmp_path / "t.json").read_text())["smooth_quant"] is True
    assert CalibrationTable.read(tmp_path / "t.json").smooth_quant is True


GOOD_ENTRY = {"lowest": 0.0, "highest": 1.0, "CLS": "TensorData"}
METHOD = {"CLS": "CalibrationMethod", "value": "CalibrationMethod.MinMax"}


def document(data=None, method=METHOD, **extra):
    return json.dumps(
        {
            "CLS": "TensorsData",
            "data": data or {"x": GOOD_ENTRY},
            "calibration_method": method,
            **extra,
        }
    )


@pytest.mark.parametrize(
    "text,message",
    [
        (
            "{'data': 1}",
            r"not JSON \(Expecting property name enclosed in double quotes at line 1 column 2\)",
        ),
        ("", r"not JSON"),
        ("[1, 2]", r"not a calibration table"),
        (json.dumps({"CLS": "TensorsData", "calibration_method": METHOD}), r"missing key 'data'"),
        (json.dumps({"data": {}}), r"missing key 'calibration_method'"),
        (document(data=[1]), r"'data' is not an object"),
        (document(data={"x": {"lowest": 0.0}}), r"tensor 'x' has no 'highest'"),
        (document(data={"x": [0, 1]}), r"tensor 'x': expected an object"),
        (
            document(data={"x": {"lowest": "low", "highest": 1.0}}),
            r"tensor 'x': 'lowest' is not a number \(\"low\"\)",
        ),
        (
            document(data={"x": {"lowest": None, "highest": 1.0}}),
            r"'lowest' is not a number \(null\)",
        ),
        (
            document(data={"x": {"lowest": True, "highest": 1.0}}),
            r"'lowest' is not a number \(true\)",
        ),
        (document(data={"x": {"lowest": [0.0], "highest": 1.0}}), r"'lowest' is not a number"),
        (
            document(
                data={
                    "x": {
                        "lowest": {"data": "a", "dtype": "float32", "CLS": "numpy.array"},
                        "highest": 1.0,
                    }
                }
            ),
            r"'lowest' is not a number \(\"a\"\)",
        ),
        (
            document(
                data={
                    "x": {
                        "lowest": {"data": [0.0], "dtype": "float64", "CLS": "numpy.array"},
                        "highest": 1.0,
                    }
                }
            ),
            r"'lowest' has dtype 'float64' \(ONNX Runtime accepts float16, float32\)",
        ),
        (
            document(
                data={
                    "x": {
                        "lowest": {"data": [0.0, 1.0], "dtype": "float32", "CLS": "numpy.array"},
                        "highest": 1.0,
                    }
                }
            ),
            r"'lowest' holds 2 values \(per-channel ranges are not supported\)",
        ),
        (
            document(data={"x": {"lowest": float("nan"), "highest": 1.0}}),
            r"tensor 'x': range \[nan, 1.0\] is not a number",
        ),
        (
            document(method={"CLS": "CalibrationMethod", "value": "CalibrationMethod.Mse"}),
            r"unknown CalibrationMethod 'CalibrationMethod.Mse'; valid: MinMax",
        ),
        (
            document(method=3),
            r"unknown calibration_method 3; valid: MinMax, Entropy, Percentile, Distribution, mse, kl-glow",
        ),
        (document(smooth_quant="no"), r"'smooth_quant' must be true or false"),
    ],
)
def test_bad_files_get_one_line_errors(tmp_path, text, message):
    """Each problem named in one line that starts with the file's path."""
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(CalibrationTableError, match=message) as error:
        CalibrationTable.read(path)
    text = str(error.value)
    assert text.startswith(f"{path}: ") and "\n" not in text


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(CalibrationTableError, match=r"missing.json: no such calibration table"):
        CalibrationTable.read(tmp_path / "missing.json")
    with pytest.raises(CalibrationTableError, match=r"cannot read"):
        CalibrationTable.read(tmp_path)
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(CalibrationTableError, match=r"binary.json: cannot read"):
        CalibrationTable.read(tmp_path / "binary.json")


def test_write_is_atomic_and_leaves_no_temporary(tmp_path):
    table = CalibrationTable("entropy", {"x": TensorRange(F32(-1), F32(1))})
    table.write(tmp_path / "sub" / "t.json")
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["t.json"]
    assert CalibrationTable.read(tmp_path / "sub" / "t.json") == table
