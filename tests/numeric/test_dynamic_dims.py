"""Models with dynamic input dimensions ("batch"), as training frameworks export them and
ONNX Runtime's `quantize_static` keeps them: sized by name (`free_dimensions`, qopt's
`--free-dimension-override`, ONNX Runtime's `add_free_dimension_override_by_name`) or by the
arrays fed (`input_shapes`, `qopt --inputs`, the first calibration sample)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from qdialect.onnx_import import OnnxImportError, import_onnx  # noqa: E402
from qdialect.onnx_import.input_dims import bind_input_dims, open_dimensions  # noqa: E402
from runtime.compiled import compile_module  # noqa: E402
from runtime.qopt import run  # noqa: E402
from runtime.quantization import calibrate, quantize  # noqa: E402
from runtime.reference import run_function  # noqa: E402

from .onnxruntime_session import run_ort  # noqa: E402
from .test_quantize_static import MODELS, ort_quantized, qnn_default, static_config  # noqa: E402


def with_dynamic_batch(model: onnx.ModelProto) -> onnx.ModelProto:
    """`model` with the first dimension of its input and output named "batch" (as
    `torch.onnx.export(dynamic_axes=...)` writes it); inner shapes dropped, as such a model
    carries no fixed ones."""
    dynamic = onnx.ModelProto()
    dynamic.CopyFrom(model)
    for info in [*dynamic.graph.input, *dynamic.graph.output]:
        info.type.tensor_type.shape.dim[0].dim_param = "batch"
    del dynamic.graph.value_info[:]
    return dynamic


def reshaping_model() -> onnx.ModelProto:
    """A dense layer whose output is split into heads by a Reshape to a shape computed from
    its own Shape (batch and sequence both open): the pattern exported attention has."""
    rng = np.random.default_rng(7)
    constants = [
        numpy_helper.from_array((rng.standard_normal((64, 64)) * 0.1).astype(np.float32), "W"),
        numpy_helper.from_array((rng.standard_normal(64) * 0.1).astype(np.float32), "B"),
        numpy_helper.from_array(np.array([0, 1], np.int64), "leading"),
        numpy_helper.from_array(np.array([4, 16], np.int64), "heads"),
    ]
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["mm"], name="mm"),
        helper.make_node("Add", ["mm", "B"], ["y"], name="add"),
        helper.make_node("Relu", ["y"], ["r"], name="relu"),
        helper.make_node("Shape", ["r"], ["shape"], name="shape"),
        helper.make_node("Gather", ["shape", "leading"], ["ns"], axis=0, name="gather"),
        helper.make_node("Concat", ["ns", "heads"], ["split"], axis=0, name="concat"),
        helper.make_node("Reshape", ["r", "split"], ["rs"], name="reshape"),
        helper.make_node("Transpose", ["rs"], ["t"], perm=[0, 2, 1, 3], name="transpose"),
        helper.make_node("Softmax", ["t"], ["z"], axis=-1, name="softmax"),
    ]
    graph = helper.make_graph(
        nodes,
        "reshaping",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", 64])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", 4, "seq", 16])],
        constants,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def signature(module) -> str:
    return str(module).splitlines()[1].strip()


def test_free_dimensions_size_the_inputs_by_name() -> None:
    module = import_onnx(reshaping_model(), free_dimensions={"batch": 2, "seq": 3})
    assert signature(module) == (
        'func.func @main(%x: tensor<2x3x64xf32> {qnn.name = "x"}) -> '
        '(tensor<2x4x3x16xf32> {qnn.name = "z"}) {'
    )


def test_input_shapes_size_only_the_open_dimensions() -> None:
    model = reshaping_model()
    assert open_dimensions(model) == {"x": ["batch", "seq"]}
    module = import_onnx(model, input_shapes={"x": (1, 5, 64)})
    assert signature(module).startswith("func.func @main(%x: tensor<1x5x64xf32>")
    # a fixed dimension the array does not match stays as declared, for the call to report
    fixed = bind_input_dims(model, {"seq": 5}, {"x": (2, 9, 32)})
    dims = fixed.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims] == [2, 5, 64]
    assert open_dimensions(model) == {"x": ["batch", "seq"]}  # the model itself is unchanged
    # a shape of another rank sizes nothing
    assert open_dimensions(bind_input_dims(model, None, {"x": (1, 5)})) == {"x": ["batch", "seq"]}


def test_an_input_without_a_shape_takes_the_arrays() -> None:
    model = reshaping_model()
    model.graph.input[0].type.tensor_type.ClearField("shape")
    assert open_dimensions(model) == {"x": ["*"]}
    module = import_onnx(model, input_shapes={"x": (2, 3, 64)})
    assert signature(module).startswith("func.func @main(%x: tensor<2x3x64xf32>")


@pytest.mark.parametrize(
    ("free", "message"),
    [
        (
            {"bach": 1},
            "no graph input has a dimension named 'bach' (the open ones: 'batch', 'seq')",
        ),
        ({"batch": 0}, "free dimension 'batch' must be a positive integer, got 0"),
        ({"batch": True}, "free dimension 'batch' must be a positive integer, got True"),
        (
            {"batch": 1},
            "graph input 'x' has a dynamic dimension 'seq': give it a size "
            "(free_dimensions={'seq': 1} or qopt --free-dimension-override seq:1, or arrays "
            "whose shapes fix it: input_shapes=, qopt --inputs, calibration data)",
        ),
    ],
)
def test_dimension_errors_name_the_dimension(free: dict, message: str) -> None:
    with pytest.raises(OnnxImportError) as err:
        import_onnx(reshaping_model(), free_dimensions=free)
    assert str(err.value) == message


def test_an_unnamed_dimension_asks_for_arrays() -> None:
    model = reshaping_model()
    model.graph.input[0].type.tensor_type.shape.dim[0].ClearField("dim_param")
    with pytest.raises(OnnxImportError, match=r"dynamic dimension '\?': give it a size \(arrays"):
        import_onnx(model, free_dimensions={"seq": 5})


def test_a_fixed_model_has_no_free_dimension() -> None:
    fixed = bind_input_dims(reshaping_model(), {"batch": 1, "seq": 5})
    with pytest.raises(OnnxImportError, match="every input dimension of this model is fixed"):
        import_onnx(fixed, free_dimensions={"batch": 1})


@pytest.mark.parametrize("name", ["resnet_block", "transformer_ffn"])
def test_a_dynamic_batch_quantizes_as_quantize_static(name: str, tmp_path: Path) -> None:
    """ORT quantizes the dynamic model (its calibrator feeds batch-1 samples); ours quantizes
    the same model from ORT's cache at batch 2 and computes what ORT's quantized model does,
    both ours compiled and ORT itself (7-bit weights: ORT exact)."""
    logging.getLogger().setLevel(logging.ERROR)
    combo = ("QDQ", True, "QUInt8", True)
    config = static_config(combo)
    rng = np.random.default_rng(3)
    model = with_dynamic_batch(MODELS[name](rng))
    shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim[1:]]
    samples = [{"x": rng.standard_normal([1, *shape]).astype(np.float32)} for _ in range(4)]
    theirs, cache = ort_quantized(model, samples, config, tmp_path)
    assert open_dimensions(theirs) == {"x": ["batch"]}
    ours = quantize(model, cache, config, free_dimensions={"batch": 2})
    x = (rng.standard_normal([2, *shape]) * 1.5).astype(np.float32)
    reference = qnn_default(import_onnx(theirs, input_shapes={"x": x.shape}))
    (expected,) = run_function(reference, {"x": x})
    (result,) = compile_module(ours.module)(x=x)
    assert np.array_equal(result, expected), np.abs(result - expected).max()
    (ort,) = run_ort(theirs, {"x": x})
    assert np.array_equal(ort, expected), np.abs(ort - expected).max()


def test_calibration_sizes_the_model_by_its_first_sample() -> None:
    model = reshaping_model()
    rng = np.random.default_rng(5)
    samples = {"x": rng.standard_normal((6, 1, 5, 64)).astype(np.float32)}
    dynamic = calibrate(model, samples, progress=False).ranges
    fixed_model = bind_input_dims(model, {"batch": 1, "seq": 5})
    fixed = calibrate(fixed_model, samples, progress=False).ranges
    assert dynamic == fixed
    assert list(dynamic) == ["x", "mm", "y", "r", "rs", "t", "z"]
    # an iterator is read one sample ahead and still calibrates on every sample
    streamed = calibrate(model, iter([{"x": s} for s in samples["x"]]), progress=False).ranges
    assert streamed == fixed


def qopt(capsys, *argv: str) -> tuple[int, str, str]:
    """qopt in this process: exit status (argparse's too), stdout, stderr."""
    try:
        status = run(list(argv))
    except SystemExit as done:
        status = int(done.code)
    out, err = capsys.readouterr()
    return status, out, err


def test_qopt_runs_a_dynamic_model_at_the_inputs_shapes(tmp_path: Path, capsys) -> None:
    model = reshaping_model()
    path = tmp_path / "model.onnx"
    onnx.save(model, path)
    rng = np.random.default_rng(9)
    for shape in [(1, 5, 64), (2, 3, 64)]:
        x = rng.standard_normal(shape).astype(np.float32)
        np.savez(tmp_path / "x.npz", x=x)
        status, _, err = qopt(capsys, str(path), "--run", "--inputs", str(tmp_path / "x.npz"),
                              "--outputs", str(tmp_path / "y.npz"))  # fmt: skip
        assert status == 0, err
        (ort,) = run_ort(model, {"x": x})
        with np.load(tmp_path / "y.npz") as outputs:
            assert np.array_equal(outputs["z"], ort)


def test_qopt_quantizes_a_dynamic_model_sized_by_name(tmp_path: Path, capsys) -> None:
    model = reshaping_model()
    path = tmp_path / "model.onnx"
    onnx.save(model, path)
    (tmp_path / "config.json").write_text("{}")
    rng = np.random.default_rng(11)
    np.savez(tmp_path / "calib.npz", x=rng.standard_normal((4, 2, 3, 64)).astype(np.float32))
    status, named, err = qopt(capsys, str(path), "--quantize", str(tmp_path / "config.json"),
                              "--calibration-data", str(tmp_path / "calib.npz"),
                              "--free-dimension-override", "seq:3",
                              "--free-dimension-override", "batch=2")  # fmt: skip
    assert status == 0, err
    assert 'func.func @main(%x: tensor<2x3x64xf32> {qnn.name = "x"})' in named
    # sized by the calibration samples alone, the same module
    status, alone, err = qopt(capsys, str(path), "--quantize", str(tmp_path / "config.json"),
                              "--calibration-data", str(tmp_path / "calib.npz"))  # fmt: skip
    assert status == 0, err
    assert alone == named


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("batch", "qopt: error: argument --free-dimension-override: 'batch' is not NAME:SIZE"),
        ("batch:0", "qopt: error: argument --free-dimension-override: 'batch:0' is not NAME:SIZE"),
        ("bach:1", "model.onnx:1:1: error: no graph input has a dimension named 'bach'"),
    ],
)
def test_qopt_names_a_bad_free_dimension(flag: str, message: str, tmp_path: Path, capsys):
    onnx.save(reshaping_model(), tmp_path / "model.onnx")
    status, _, err = qopt(capsys, str(tmp_path / "model.onnx"), "--free-dimension-override", flag)
    assert status != 0
    assert message in err


def test_compile_model_sizes_by_name_and_keys_the_sizes(tmp_path: Path, monkeypatch) -> None:
    """The model cache keeps one entry per set of sizes: batch 1 and batch 2 of one file are
    two functions, each loaded again on a hit."""
    from runtime.model_cache import compile_model

    monkeypatch.setenv("QDIALECT_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "model.onnx"
    model = reshaping_model()
    onnx.save(model, path)
    rng = np.random.default_rng(13)
    for batch in (1, 2, 1):
        fn = compile_model(path, free_dimensions={"batch": batch, "seq": 3})
        x = rng.standard_normal((batch, 3, 64)).astype(np.float32)
        (ort,) = run_ort(model, {"x": x})
        assert np.array_equal(fn(x)[0], ort)


def test_qopt_cached_runs_key_the_free_dimensions(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("QDIALECT_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "model.onnx"
    model = reshaping_model()
    onnx.save(model, path)
    x = np.random.default_rng(17).standard_normal((2, 3, 64)).astype(np.float32)
    np.savez(tmp_path / "x.npz", x=x)
    (ort,) = run_ort(model, {"x": x})
    for _ in range(2):  # a miss, then a hit
        status, _, err = qopt(capsys, str(path), "--free-dimension-override", "seq:3", "--run",
                              "--inputs", str(tmp_path / "x.npz"), "--outputs",
                              str(tmp_path / "y.npz"))  # fmt: skip
        assert status == 0, err
        with np.load(tmp_path / "y.npz") as outputs:
            assert np.array_equal(outputs["z"], ort)


@pytest.mark.parametrize("cast_to", [TensorProto.FLOAT, TensorProto.INT64])
def test_a_range_over_a_sized_dimension_folds(cast_to: int) -> None:
    """torch's `arange(seq).float()` (RoPE's positions): Shape, Gather, Cast to float, Range.
    With the dimension sized, the float Range of whole numbers folds as the integer one does
    (its values exact either way); it was refused before (sweep 9)."""
    float_range = cast_to == TensorProto.FLOAT
    kind = TensorProto.FLOAT if float_range else TensorProto.INT64
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "one"], ["t"], axis=0),
        helper.make_node("Cast", ["t"], ["tc"], to=cast_to),
        helper.make_node("Range", ["zero", "tc", "step"], ["r"]),
        helper.make_node("Cast", ["r"], ["rf"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["rf", "axis"], ["ru"]),
        helper.make_node("Add", ["x", "ru"], ["y"]),
    ]
    initializers = [
        numpy_helper.from_array(np.array(1, np.int64), "one"),
        numpy_helper.from_array(np.array([0], np.int64), "axis"),
        helper.make_tensor("zero", kind, [], [0]),
        helper.make_tensor("step", kind, [], [1]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "seq"])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    x = np.random.default_rng(0).standard_normal((2, 7)).astype(np.float32)
    (expected,) = run_ort(model, {"x": x})
    (got,) = compile_module(import_onnx(model, input_shapes={"x": [2, 7]}), threads=1)(x)
    assert np.array_equal(got, expected)
