"""Our calibration end to end against ONNX Runtime's calibrators, and through `qopt`.

Same float model, same samples: ONNX Runtime's `create_calibrator` (what `quantize_static` runs)
and our `calibrate` (compiled observers) must give the same tensors and the same float32 ranges,
bit for bit: our float Conv, MatMul, Gemm and AveragePool sum as MLAS's kernels do
(qdialect/float_sum.py), with ORT's calibrator session on one intra-op thread (on several, MLAS
splits a small image's pixels between them and changes its conv's block size). Our table must drive `quantize_static` (as its calibration cache) to the module
our quantizer writes from it, and `qopt`'s flags must give what the Python API gives.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from qdialect.calibration.table import CalibrationTable  # noqa: E402
from qdialect.onnx_import import import_onnx  # noqa: E402
from runtime.compiled import compile_module  # noqa: E402
from runtime.jit import compiler_invocations  # noqa: E402
from runtime.qopt import run  # noqa: E402
from runtime.quantization import calibrate, quantize  # noqa: E402
from runtime.reference import run_function  # noqa: E402

from . import float_models  # noqa: E402
from .test_quantize_static import MODELS, input_shape, ort_quantized, qnn_default  # noqa: E402

CASES = [
    ("minmax", {}),
    ("minmax", {"CalibMovingAverage": True}),
    ("minmax", {"CalibTensorRangeSymmetric": True}),
    ("percentile", {}),
    ("entropy", {}),
]
ORT_METHOD = {"minmax": "MinMax", "percentile": "Percentile", "entropy": "Entropy"}
ORT_CALIBRATOR_KEYS = {
    "CalibMovingAverage": "moving_average",
    "CalibTensorRangeSymmetric": "symmetric",
}


def bits(value) -> int:
    return int(np.asarray(value, np.float32).reshape(()).view(np.int32))


def ort_ranges(path: Path, samples, method: str, extra: dict, threads: int = 0) -> dict:
    """ONNX Runtime's ranges as `quantize_static` would calibrate them (its extra_options
    forwarded to `create_calibrator`, as quantize.py does; its session on ORT's default
    threads, or `threads`); `samples` an array of inputs `x`, or a list of feeds."""
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, create_calibrator

    options = {ORT_CALIBRATOR_KEYS[k]: v for k, v in extra.items()}
    if method == "percentile":
        options.setdefault("symmetric", True)
    calibrator = create_calibrator(
        str(path),
        augmented_model_path=str(path.with_suffix(".augmented.onnx")),
        calibrate_method=getattr(CalibrationMethod, ORT_METHOD[method]),
        extra_options=options,
    )
    # the calibrator's own session (calibrate.py: no graph optimizations)
    session_options = ort.SessionOptions()
    session_options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session_options.intra_op_num_threads = threads
    calibrator.infer_session = ort.InferenceSession(
        calibrator.augmented_model_path, session_options, providers=["CPUExecutionProvider"]
    )

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.samples = iter(s if isinstance(s, dict) else {"x": s} for s in samples)

        def get_next(self):
            return next(self.samples, None)

    calibrator.collect_data(Reader())
    return {
        name: tuple(np.float32(np.ravel(v)[0]) for v in data.range_value)
        for name, data in calibrator.compute_data().items()
    }


@pytest.fixture(
    scope="module",
    params=[
        "movement",
        "transformer_ffn",
        "gpt2_mlp",
        "resnet_block",
        "squeeze_excitation",
        "constant_nodes",
        "conv1d",
        "bilinear",
    ],
)
def float_model(request, tmp_path_factory):
    logging.getLogger().setLevel(logging.ERROR)
    rng = np.random.default_rng(11)
    model = MODELS[request.param](rng)
    path = tmp_path_factory.mktemp(request.param) / "float.onnx"
    onnx.save(model, path)
    samples = rng.standard_normal((6, *input_shape(model))).astype(np.float32)
    return request.param, path, samples


@pytest.mark.parametrize(("method", "extra"), CASES, ids=lambda c: str(c))
def test_ranges_match_onnxruntime(float_model, method, extra) -> None:
    _, path, samples = float_model
    ours = calibrate(path, {"x": samples}, method, extra_options=extra, progress=False)
    theirs = ort_ranges(path, samples, method, extra)
    assert set(ours) == set(theirs)
    got = {name: (bits(r.lowest), bits(r.highest)) for name, r in ours.items()}
    assert got == {name: (bits(lo), bits(hi)) for name, (lo, hi) in theirs.items()}


def test_our_table_drives_quantize_static(float_model, tmp_path: Path) -> None:
    name, path, samples = float_model
    table = calibrate(path, {"x": samples}, "minmax", progress=False)
    cache = tmp_path / "table.json"
    table.write(cache)
    config = {"quant_format": "QDQ", "per_channel": True, "reduce_range": True,
              "activation_type": "QUInt8", "weight_type": "QInt8"}  # fmt: skip
    theirs, _ = ort_quantized(onnx.load(path), [], config, tmp_path, cache=cache)
    ours = quantize(path, CalibrationTable.read(cache), config)
    x = samples[0] * 1.5
    (expected,) = run_function(qnn_default(import_onnx(theirs)), {"x": x})
    (got,) = compile_module(ours.module)(x=x)
    assert np.array_equal(got, expected)


@pytest.mark.parametrize("method", ["minmax", "percentile", "entropy"])
def test_a_model_files_second_calibration_neither_imports_nor_compiles(
    method: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its instrumented function comes from runtime.calibration_cache; pass 2 hands it the bin
    edges of the new samples (another range for every tensor), so it counts as a calibration
    that compiles from a ModelProto (never cached) does."""
    monkeypatch.setenv("QDIALECT_CACHE_DIR", str(tmp_path / "cache"))
    rng = np.random.default_rng(4)
    model = MODELS["resnet_block"](rng)
    path = tmp_path / "float.onnx"
    onnx.save(model, path)
    first = rng.standard_normal((3, *input_shape(model))).astype(np.float32)
    other = rng.standard_normal((4, *input_shape(model))).astype(np.float32) * np.float32(3)
    calibrate(path, {"x": first}, method, progress=False)
    expected = calibrate(model, {"x": other}, method, progress=False)

    def no_import(model):
        raise AssertionError(f"the cached calibration loaded {model}")

    monkeypatch.setattr("runtime.quantization.load_float_model", no_import)
    before = compiler_invocations()
    got = calibrate(path, {"x": other}, method, progress=False)
    assert compiler_invocations() == before
    assert {n: (bits(r.lowest), bits(r.highest)) for n, r in got.items()} == {
        n: (bits(r.lowest), bits(r.highest)) for n, r in expected.items()
    }
    assert {n: (bits(r.lowest), bits(r.highest)) for n, r in got.items()} != {
        n: (bits(r.lowest), bits(r.highest))
        for n, r in calibrate(path, {"x": first}, method, progress=False).items()
    }


def test_a_dask_cluster_gives_the_serial_table(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed", reason="dask[distributed] is not installed")
    model = float_models.transformer_ffn(np.random.default_rng(2))
    path = tmp_path / "ffn.onnx"
    onnx.save(model, path)
    samples = {"x": np.random.default_rng(3).standard_normal((8, 16, 32)).astype(np.float32)}
    serial = {m: calibrate(path, samples, m, progress=False) for m in ("minmax", "percentile")}
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster,
        distributed.Client(cluster) as client,
    ):
        executor = client.get_executor()
        for method, table in serial.items():
            assert calibrate(path, samples, method, executor=executor, progress=False) == table


def qopt(capsys, *argv: str) -> tuple[int, str, str]:
    status = run(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_qopt_calibrate_then_quantize_and_run(tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(5)
    model = float_models.transformer_ffn(rng)
    path, calib, table = tmp_path / "ffn.onnx", tmp_path / "calib.npz", tmp_path / "table.json"
    onnx.save(model, path)
    samples = rng.standard_normal((5, 16, 32)).astype(np.float32)
    np.savez(calib, x=samples)
    status, out, err = qopt(capsys, str(path), "--calibrate", str(calib),
                            "--calibrate-method", "percentile", "--calibration-table", str(table))  # fmt: skip
    assert status == 0, err
    assert "!quant.calibrated<f32<" in out and "quant.qcast %x" in out
    assert CalibrationTable.read(table) == calibrate(path, {"x": samples}, "percentile")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"activation_type": "QUInt8", "nodes_to_exclude": ["fc2"]}))
    x = tmp_path / "x.npz"
    np.savez(x, x=samples[0])
    y = tmp_path / "y.npz"
    status, _, err = qopt(capsys, str(path), "--quantize", str(config), "--calibration-table",
                          str(table), "--run", "--inputs", str(x), "--outputs", str(y))  # fmt: skip
    assert status == 0, err
    assert "qopt: quantized 5 node(s)" in err and "qopt: left float: MatMul 'fc2'" in err
    expected = compile_module(quantize(path, table, json.loads(config.read_text())).module)
    with np.load(y) as result:
        assert np.array_equal(result["y"], expected(x=samples[0])[0])


def write_test_data_sets(folder: Path, samples: list[dict[str, np.ndarray]]) -> None:
    """ONNX's test-data layout: `test_data_set_<n>/input_<i>.pb`, a TensorProto each."""
    for n, sample in enumerate(samples):
        data_set = folder / f"test_data_set_{n}"
        data_set.mkdir()
        for i, (name, array) in enumerate(sample.items()):
            tensor = onnx.numpy_helper.from_array(array, name)
            (data_set / f"input_{i}.pb").write_bytes(tensor.SerializeToString())


def test_qopt_calibrates_from_onnx_test_data_as_onnxruntimes_runner(tmp_path, capsys) -> None:
    """ONNX Runtime's `static_quantize_runner` calibrates from the model's `test_data_set_<n>`
    directories; `--calibration-data` reads the same layout, and with the runner's defaults
    (minmax, QDQ, MinimumRealRange 0.0001) our quantized model computes what the runner's
    does."""
    import subprocess
    import sys

    rng = np.random.default_rng(11)
    model = MODELS["resnet_block"](rng)
    shape = input_shape(model)
    path = tmp_path / "model.onnx"
    onnx.save(model, path)
    write_test_data_sets(
        tmp_path, [{"x": rng.standard_normal(shape).astype(np.float32)} for _ in range(11)]
    )
    theirs = tmp_path / "theirs.onnx"
    subprocess.run(
        [sys.executable, "-m", "onnxruntime.quantization.static_quantize_runner",
         "-i", str(path), "-o", str(theirs)],
        check=True, capture_output=True,
    )  # fmt: skip
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"activation_type": "QUInt8",
                                  "extra_options": {"MinimumRealRange": 0.0001}}))  # fmt: skip
    x = (rng.standard_normal(shape) * 1.5).astype(np.float32)
    inputs, y = tmp_path / "io", tmp_path / "io" / "y.npz"
    inputs.mkdir()
    np.savez(inputs / "x.npz", x=x)
    status, _, err = qopt(capsys, str(path), "--quantize", str(config), "--calibration-data",
                          str(tmp_path), "--run", "--inputs", str(inputs / "x.npz"),
                          "--outputs", str(y))  # fmt: skip
    assert status == 0, err
    np.savez(tmp_path / "stray.npz", x=x)  # which are the samples? (one line, no traceback)
    status, _, err = qopt(capsys, str(path), "--quantize", str(config), "--calibration-data",
                          str(tmp_path))  # fmt: skip
    assert status == 1
    assert err == (
        f"qopt: error: calibration data '{tmp_path}' holds both .npz files and ONNX "
        "test_data_set_<n> directories: which are the samples?\n"
    )
    (expected,) = run_function(qnn_default(import_onnx(onnx.load(theirs))), {"x": x})
    with np.load(y) as result:
        assert np.array_equal(result["y"], expected)


def test_qopt_quantizes_our_own_float_ir(tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(6)
    path, ir, calib = tmp_path / "ffn.onnx", tmp_path / "ffn.mlir", tmp_path / "calib.npz"
    onnx.save(float_models.transformer_ffn(rng), path)
    status, out, _ = qopt(capsys, str(path))
    ir.write_text(out)
    np.savez(calib, x=rng.standard_normal((3, 16, 32)).astype(np.float32))
    config = tmp_path / "config.json"
    config.write_text("{}")
    status, from_ir, err = qopt(
        capsys, str(ir), "--quantize", str(config), "--calibration-data", str(calib)
    )
    assert status == 0, err
    status, from_onnx, err = qopt(
        capsys, str(path), "--quantize", str(config), "--calibration-data", str(calib)
    )
    assert status == 0, err
    assert "qnn.quantize" in from_ir
    node_attr = re.compile(r'qnn\.node = "[^"]*"(, )?| \{qnn\.node = "[^"]*"\}')
    assert node_attr.sub("", from_ir) == node_attr.sub("", from_onnx)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--quantize", "{config}"], "qopt: error: unknown config key 'per_chanel'"),
        (["--calibrate", "{missing}"], "cannot read calibration data"),
        (["--calibrate", "{wrong}"], "'x'"),
        (
            ["--calibrate", "{wrong}", "--ort-threads", "0"],
            "qopt: error: ort_threads must be a positive integer, got 0",
        ),
    ],
)
def test_qopt_errors_are_one_line(tmp_path: Path, capsys, args, message) -> None:
    path = tmp_path / "ffn.onnx"
    onnx.save(float_models.transformer_ffn(np.random.default_rng(1)), path)
    config = tmp_path / "config.json"
    config.write_text('{"per_chanel": true}')
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, y=np.zeros((2, 16, 32), np.float32))
    values = {"config": config, "missing": tmp_path / "nope.npz", "wrong": wrong}
    argv = [a.format(**values) for a in args]
    status, _, err = qopt(capsys, str(path), *argv)
    assert status == 1
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_quantize_example_runs_end_to_end() -> None:
    """examples/quantize_onnx_model.py, the README's runnable example of this section."""
    import subprocess
    import sys

    example = Path(__file__).parents[2] / "examples" / "quantize_onnx_model.py"
    result = subprocess.run(
        [sys.executable, str(example), "--samples", "4"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "calibrated 6 tensors on 4 samples (minmax)" in result.stdout
    assert "equal to the reference interpreter on ONNX Runtime's quantized model: True" in (
        result.stdout
    )


def assert_minmax_ranges_are_onnxruntimes(path: Path, samples: np.ndarray) -> set[str]:
    """Our minmax table equals ORT's calibrator's to the bit, tensor for tensor; the names."""
    ours = calibrate(path, {"x": samples}, "minmax", progress=False)
    theirs = ort_ranges(path, samples, "minmax", {})
    assert set(ours) == set(theirs)
    gaps = {
        name: max(abs(bits(lo) - bits(ours[name].lowest)), abs(bits(hi) - bits(ours[name].highest)))
        for name, (lo, hi) in theirs.items()
    }
    assert gaps == dict.fromkeys(theirs, 0)
    return set(theirs)


def test_an_encoder_layer_calibrates_to_onnxruntimes_ranges_bit_for_bit(tmp_path: Path) -> None:
    """Attention (batched MatMuls, Softmax), LayerNormalization and an Erf-GELU FFN: every
    range equals ORT's to the bit, including those after the LayerNorms (MLAS's order)."""
    model = float_models.encoder_layer(np.random.default_rng(11))
    path = tmp_path / "encoder.onnx"
    onnx.save(model, path)
    samples = (np.random.default_rng(12).standard_normal((6, 1, 8, 16)) * 2).astype(np.float32)
    assert_minmax_ranges_are_onnxruntimes(path, samples)


def test_a_decomposed_layer_norm_calibrates_to_onnxruntimes_ranges_bit_for_bit(
    tmp_path: Path,
) -> None:
    """The encoder layer as opset-13 exporters write it (LayerNorm as ReduceMean, Sub, Pow,
    Sqrt, Div ...): every range, the float ops' outputs included, equals ORT's to the bit."""
    model = float_models.decomposed_encoder_layer(np.random.default_rng(11))
    path = tmp_path / "decomposed.onnx"
    onnx.save(model, path)
    samples = (np.random.default_rng(12).standard_normal((4, 1, 8, 16)) * 2).astype(np.float32)
    assert {"ln1_sq", "ln1_sd", "ln2_var"} <= assert_minmax_ranges_are_onnxruntimes(path, samples)


@pytest.mark.slow
def test_a_bert_base_encoder_layer_calibrates_to_onnxruntimes_ranges_bit_for_bit(
    tmp_path: Path,
) -> None:
    """The same at BERT-base size (128 tokens, width 768, 12 heads): rows of 768 and 128 go
    through MLAS's LayerNorm and Softmax kernels with their tails and lanes."""
    from benchmarks.model_zoo import bert_layer

    path = tmp_path / "bert_layer.onnx"
    onnx.save(bert_layer(np.random.default_rng(0)), path)
    samples = np.random.default_rng(1).standard_normal((2, 1, 128, 768)).astype(np.float32)
    assert_minmax_ranges_are_onnxruntimes(path, samples)


def test_a_nan_in_a_sample_flows_through_the_model_as_in_onnxruntime(float_model) -> None:
    """A NaN in one sample and an infinity in another reach the tensors downstream as ONNX
    Runtime's kernels carry them (Relu and MaxPool pass a NaN on as ORT's do), and both
    calibrators take nan-aware extremes: the same ranges, bit for bit."""
    _, path, samples = float_model
    samples = samples.copy()
    samples[1].flat[5] = np.nan
    samples[3].flat[17] = np.inf
    ours = calibrate(path, {"x": samples}, "minmax", progress=False)
    theirs = ort_ranges(path, samples, "minmax", {})
    got = {name: (bits(r.lowest), bits(r.highest)) for name, r in ours.items()}
    assert got == {name: (bits(lo), bits(hi)) for name, (lo, hi) in theirs.items()}


def scaled_by_a_computed_constant(rng: np.random.Generator) -> onnx.ModelProto:
    """A MatMul divided by Sqrt of an initializer (an attention's computed scale): a node's
    output computed from constants alone, which ORT's calibrator observes like any other."""
    nodes = [
        onnx.helper.make_node("MatMul", ["x", "w"], ["h"], name="proj"),
        onnx.helper.make_node("Sqrt", ["d"], ["root"], name="root"),
        onnx.helper.make_node("Div", ["h", "root"], ["y"], name="scale"),
    ]
    weights = {"w": float_models.normal(rng, 8, 8), "d": np.full(8, 3.0, np.float32)}
    return float_models.onnx_model(nodes, [1, 4, 8], [1, 4, 8], weights)


@pytest.mark.parametrize(
    "build",
    [float_models.float_casts, float_models.tied_parameters, scaled_by_a_computed_constant],
    ids=lambda f: f.__name__,
)
def test_node_outputs_of_constants_and_casts_calibrate_as_onnxruntime(build, tmp_path) -> None:
    """Every tensor ORT's calibrator observes (a Cast's output, an Identity of a weight, the
    Sqrt of a constant) is in our table with ORT's range to the bit; ours also has the few
    tensors it observes beyond them (the Cast of a Cast)."""
    rng = np.random.default_rng(3)
    model = build(rng)
    path = tmp_path / "float.onnx"
    onnx.save(model, path)
    samples = rng.standard_normal((4, *input_shape(model))).astype(np.float32)
    ours = calibrate(path, {"x": samples}, "minmax", progress=False)
    theirs = ort_ranges(path, samples, "minmax", {})
    assert set(theirs) <= set(ours)
    got = {name: (bits(ours[name].lowest), bits(ours[name].highest)) for name in theirs}
    assert got == {name: (bits(lo), bits(hi)) for name, (lo, hi) in theirs.items()}


@pytest.mark.parametrize(
    ("build", "untyped"),
    [(float_models.untyped_gelu, {"g", "m2"}), (float_models.untyped_group_norm, {"n", "c2", "r"})],
    ids=["contrib-gelu", "group-norm-21"],
)
def test_tensors_onnx_cannot_type_are_left_out_as_by_onnxruntime(build, untyped, tmp_path) -> None:
    """What ONNX's shape inference gives no type (after a contrib op, a GroupNormalization-21)
    ORT's calibrator does not observe; neither do we. The rest equals its ranges to the bit."""
    rng = np.random.default_rng(4)
    model = build(rng)
    path = tmp_path / "float.onnx"
    onnx.save(model, path)
    samples = rng.standard_normal((4, *input_shape(model))).astype(np.float32)
    names = assert_minmax_ranges_are_onnxruntimes(path, samples)
    assert not names & untyped and "y" in names


def test_an_lrn_stem_calibrates_to_onnxruntimes_ranges_bit_for_bit(tmp_path: Path) -> None:
    """GoogLeNet's stem (conv, Relu, MaxPool, LRN, conv) on 800 values a sample: ORT's
    calibrator runs LRN on its default threads, which cut the last loop into blocks whose
    edges take powf; `calibrate` writes the same blocks, so every range is ORT's to the bit."""
    rng = np.random.default_rng(6)
    path = tmp_path / "lrn.onnx"
    onnx.save(float_models.lrn_stem(rng, size=20), path)
    samples = (rng.standard_normal((4, 1, 3, 20, 20)) * 4).astype(np.float32)
    assert "n1" in assert_minmax_ranges_are_onnxruntimes(path, samples)
