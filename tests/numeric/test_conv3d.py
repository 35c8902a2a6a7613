"""3-D convolutions (`qdialect/onnx_import/conv3d.py`: the depth folded into a 2-D conv's batch)
against ONNX Runtime, bit for bit: float convs as its calibrator's session sums them on one and
two intra-op threads (MLAS's GEMMs over the volume's OD·OH·OW pixels), and a video net
quantized by `quantize_static` (QLinearConv on rank-5 tensors, an 8-bit 3-D MaxPool, a
QLinearGlobalAveragePool of a volume), run from ORT's model and from our quantizer."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.context import Context

from qdialect.onnx_import import OnnxImportError, import_onnx
from rewrites.mlas_threads import MlasThreadsPass
from runtime.compiled import compile_module
from runtime.quantization import calibrate
from runtime.reference import run_function

from . import float_models
from .test_onnx_backend_float_nodes import bits
from .test_quantize_static import check_model, ort_quantized, static_config

ort = pytest.importorskip("onnxruntime")

# (input shape, weight shape, attributes): ids name what each case reaches
CONVS = {
    "stem": ([1, 3, 4, 16, 16], [8, 3, 3, 7, 7], {"pads": [1, 3, 3] * 2, "strides": [1, 2, 2]}),
    "cube": ([1, 8, 4, 8, 8], [16, 8, 3, 3, 3], {"pads": [1] * 6}),
    "temporal": ([1, 16, 6, 5, 5], [16, 16, 3, 1, 1], {"pads": [1, 0, 0, 1, 0, 0]}),
    "pointwise": ([1, 16, 4, 7, 7], [24, 16, 1, 1, 1], {}),
    "depthwise": ([1, 8, 5, 6, 6], [8, 1, 3, 3, 3], {"pads": [1] * 6, "group": 8}),
    "grouped_dilated_strided": (
        [2, 4, 7, 9, 9],
        [6, 2, 3, 3, 3],
        {"group": 2, "pads": [2, 0, 1, 2, 0, 1], "strides": [2, 1, 2], "dilations": [2, 1, 1]},
    ),
    "same_upper": (
        [1, 4, 5, 6, 7],
        [8, 4, 2, 3, 2],
        {"auto_pad": "SAME_UPPER", "strides": [2] * 3},
    ),
    "one_pixel": ([1, 6, 3, 1, 1], [4, 6, 2, 1, 1], {}),
    # two threads cut its 80 pixels at 48: ranges of K blocks 256 and 512 (one thread: 128)
    "two_blocks": ([1, 32, 5, 4, 4], [16, 32, 3, 3, 3], {"pads": [1] * 6}),
}


def conv_model(x_shape, w_shape, attributes: dict, rng: np.random.Generator, bias: bool = True):
    weights = [numpy_helper.from_array(float_models.normal(rng, *w_shape), "w")]
    inputs = ["x", "w"]
    if bias:
        weights.append(numpy_helper.from_array(float_models.normal(rng, w_shape[0]), "b"))
        inputs.append("b")
    graph = helper.make_graph(
        [helper.make_node("Conv", inputs, ["y"], **attributes)],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        weights,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def ort_float(model: onnx.ModelProto, x: np.ndarray, threads: int) -> np.ndarray:
    """ORT's calibrator's session: no graph optimizations, `threads` intra-op threads."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    return session.run(None, {"x": x})[0]


# the default tier: the cases whose sums the volume's pixels or threads change, a depthwise
# and a grouped one; the slow tier all of them on one and two threads
DEFAULT_CASES = {("cube", 1), ("two_blocks", 1), ("two_blocks", 2), ("depthwise", 1)}
DEFAULT_CASES |= {("grouped_dilated_strided", 1), ("stem", 1)}
FLOAT_CASES = [
    pytest.param(
        name,
        threads,
        id=f"{name}-{threads}",
        marks=() if (name, threads) in DEFAULT_CASES else pytest.mark.slow,
    )
    for name in CONVS
    for threads in (1, 2)
]


@pytest.mark.parametrize(("name", "threads"), FLOAT_CASES)
def test_a_float_3d_conv_sums_as_onnxruntimes(name: str, threads: int) -> None:
    x_shape, w_shape, attributes = CONVS[name]
    rng = np.random.default_rng(len(name))
    model = conv_model(x_shape, w_shape, attributes, rng, bias=name != "cube")
    x = rng.standard_normal(x_shape).astype(np.float32)
    expected = ort_float(model, x, threads)
    module = import_onnx(model)
    MlasThreadsPass(threads=threads).apply(Context(), module)
    (reference,) = run_function(module, {"x": x})
    (compiled,) = compile_module(module, threads=1)(x=x)
    assert reference.shape == expected.shape
    assert bits(reference) == bits(expected)
    assert bits(compiled) == bits(expected)


def test_the_two_block_case_sums_otherwise_on_two_threads() -> None:
    """The case above is one whose sums two threads change (so it tests the thread rule)."""
    x_shape, w_shape, attributes = CONVS["two_blocks"]
    rng = np.random.default_rng(len("two_blocks"))
    model = conv_model(x_shape, w_shape, attributes, rng)
    x = rng.standard_normal(x_shape).astype(np.float32)
    assert bits(ort_float(model, x, 1)) != bits(ort_float(model, x, 2))


@pytest.mark.parametrize(
    "combo",
    [
        pytest.param(("QDQ", True, "QUInt8", True), marks=pytest.mark.slow),
        pytest.param(("QOperator", False, "QInt8", True), marks=pytest.mark.slow),
    ],
)
def test_onnxruntimes_quantized_video_net_runs_as_onnxruntime(combo) -> None:
    """ORT's own quantized model (7-bit weights: ORT's kernels are exact), compiled and
    interpreted, against ORT's optimized session."""
    logging.getLogger().setLevel(logging.ERROR)
    rng = np.random.default_rng(3)
    model = float_models.video_block(rng)
    samples = [{"x": rng.standard_normal([1, 3, 4, 12, 12]).astype(np.float32)} for _ in range(4)]
    with tempfile.TemporaryDirectory() as tmp:
        quantized, _ = ort_quantized(model, samples, static_config(combo), Path(tmp))
    ops = {node.op_type for node in quantized.graph.node}
    assert "QLinearConv" in ops or "DequantizeLinear" in ops
    x = rng.standard_normal([1, 3, 4, 12, 12]).astype(np.float32)
    (expected,) = ort_float_optimized(quantized, x)
    (reference,) = run_function(import_onnx(quantized), {"x": x})
    (compiled,) = compile_module(import_onnx(quantized), threads=1)(x=x)
    assert bits(reference) == bits(expected)
    assert bits(compiled) == bits(expected)


def ort_float_optimized(model: onnx.ModelProto, x: np.ndarray) -> list[np.ndarray]:
    from .onnxruntime_session import run_ort

    return run_ort(model, {"x": x})


@pytest.mark.parametrize(
    "combo",
    [
        pytest.param(("QDQ", True, "QInt8", False), marks=pytest.mark.slow),
        ("QOperator", True, "QUInt8", True),
    ],
)
def test_our_quantizer_on_a_video_net_is_quantize_statics(combo) -> None:
    """The rest of the combinations: test_quantize_static's slow tier (`video_block`)."""
    check_model("video_block", combo, compiled=True)


def test_our_calibration_of_a_video_net_is_onnxruntimes_cache() -> None:
    """minmax on ORT's default threads: the cache `quantize_static` writes, to the bit."""
    logging.getLogger().setLevel(logging.ERROR)
    rng = np.random.default_rng(4)
    model = float_models.video_block(rng)
    stacked = rng.standard_normal([4, 1, 3, 4, 12, 12]).astype(np.float32)
    samples = [{"x": sample} for sample in stacked]
    combo = ("QDQ", False, "QUInt8", False)
    with tempfile.TemporaryDirectory() as tmp:
        _, cache = ort_quantized(model, samples, static_config(combo), Path(tmp))
        from qdialect.calibration.table import CalibrationTable

        theirs = CalibrationTable.read(cache)
    ours = calibrate(model, samples, method="minmax", progress=False)
    assert len(theirs) > 10
    assert {name: theirs[name] for name in theirs} == {name: ours[name] for name in theirs}


def test_a_kernel_shape_other_than_the_weights_is_refused_by_name() -> None:
    model = conv_model(
        [1, 2, 4, 4, 4], [3, 2, 3, 3, 3], {"kernel_shape": [3, 3, 1]}, np.random.default_rng(0)
    )
    with pytest.raises(
        OnnxImportError,
        match=r"node #0 \(Conv\): attribute 'kernel_shape' must "
        r"be the weight's spatial shape \[3, 3, 3\], got \[3, 3, 1\]",
    ):
        import_onnx(model)


def test_a_4d_conv_is_refused_by_name() -> None:
    model = conv_model([1, 2, 3, 3, 3, 3], [3, 2, 2, 2, 2, 2], {}, np.random.default_rng(0))
    with pytest.raises(OnnxImportError, match=r"only 1-D, 2-D and 3-D convolutions are imported"):
        import_onnx(model)
