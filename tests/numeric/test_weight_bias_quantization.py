"""ONNX Runtime's WeightBiasQuantization, which its default session runs on every model: a
float Conv, ConvTranspose or Gemm left between a DequantizeLinear and a QuantizeLinear (a node
in `nodes_to_exclude`, a QOperator model's ConvTranspose) has its weight quantized per tensor
and its bias to int32 anyway. `qnn-default` does the same (`weight-bias-quantization`), so ORT's
model imported, and ours from the same float model, compute what ORT's session computes; the
literal reading (ORT without graph optimizations) differs, which shows the rewrite ran."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx import helper  # noqa: E402

from qdialect.onnx_import import import_onnx  # noqa: E402
from runtime.compiled import compile_module  # noqa: E402
from runtime.quantization import quantize  # noqa: E402
from runtime.reference import run_function  # noqa: E402

from . import float_models  # noqa: E402
from .onnxruntime_session import ort_saturates_u8s8, run_ort  # noqa: E402
from .test_quantize_static import ort_quantized  # noqa: E402
from .test_tuning import broken_mlp  # noqa: E402


def three_convs(rng: np.random.Generator) -> onnx.ModelProto:
    """conv1 → relu1 → conv2 → relu2 → conv3, every conv with a bias but the last."""
    w = {
        "w1": float_models.normal(rng, 6, 3, 3, 3),
        "b1": float_models.normal(rng, 6, scale=0.1),
        "w2": float_models.normal(rng, 6, 6, 3, 3),
        "b2": float_models.normal(rng, 6, scale=0.1),
        "w3": float_models.normal(rng, 2, 6, 1, 1),
    }
    node = helper.make_node
    nodes = [
        node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
        node("Relu", ["c1"], ["r1"], name="relu1"),
        node("Conv", ["r1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1], name="conv2"),
        node("Relu", ["c2"], ["r2"], name="relu2"),
        node("Conv", ["r2", "w3"], ["y"], name="conv3"),
    ]
    return float_models.onnx_model(nodes, [1, 3, 6, 6], [1, 2, 6, 6], w)


# (model, shape of x, quant_format, nodes_to_exclude): an excluded Conv between quantized
# ones in both formats, an excluded Gemm, and QOperator's float ConvTranspose
CASES = [
    (three_convs, [1, 3, 6, 6], "QDQ", ["conv2"]),
    (three_convs, [1, 3, 6, 6], "QOperator", ["conv2"]),
    (broken_mlp, [32, 16], "QDQ", ["fc2"]),
    (float_models.conv_transpose, [1, 3, 5, 5], "QOperator", []),
]


@pytest.mark.parametrize(
    ("build", "shape", "fmt", "excluded"),
    CASES,
    ids=[f"{case[0].__name__}-{case[2]}" for case in CASES],
)
def test_float_nodes_between_qdq_pairs_run_as_onnxruntimes_session(
    build, shape, fmt: str, excluded: list[str]
) -> None:
    logging.getLogger().setLevel(logging.ERROR)
    rng = np.random.default_rng(len(excluded) + len(fmt))
    model = build(rng)
    config = {
        "quant_format": fmt,
        "per_channel": False,
        "activation_type": "QUInt8",
        "weight_type": "QInt8",
        "reduce_range": False,
        "nodes_to_exclude": excluded,
    }
    samples = [{"x": rng.standard_normal(shape).astype(np.float32)} for _ in range(4)]
    with tempfile.TemporaryDirectory() as tmp:
        theirs, cache = ort_quantized(model, samples, config, Path(tmp))
        ours = quantize(model, cache, config)
    x = (rng.standard_normal(shape) * 1.5).astype(np.float32)
    (session,) = run_ort(theirs, {"x": x})
    (unoptimized,) = run_ort(theirs, {"x": x}, "ORT_DISABLE_ALL")
    (literal,) = run_function(import_onnx(theirs), {"x": x})
    assert np.array_equal(literal, unoptimized)  # ORT's graph as written: float weights
    (imported,) = compile_module(import_onnx(theirs))(x=x)
    (quantized,) = compile_module(ours.module)(x=x)
    assert np.array_equal(imported, quantized)
    assert not np.array_equal(quantized, unoptimized)
    if not ort_saturates_u8s8():  # the rewrite's int8 weights span the whole range
        assert np.array_equal(quantized, session)
