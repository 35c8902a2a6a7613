"""Batched QLinearMatMul and MatMulInteger (ONNX MatMul broadcasting over batch dimensions):
each form the importer lowers to (one matrix, matrices side by side, a grouped 1×1 conv)
against ONNX Runtime, with compiled code and the reference interpreter, and the refusals."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from qdialect.onnx_import import import_onnx
from qdialect.textio import print_module
from runtime.compiled import compile_module
from runtime.qopt_run import apply_qnn_default
from runtime.reference import run_function

from . import float_models
from .onnxruntime_session import run_ort
from .test_onnx_import import make_model
from .test_onnx_quantize_linear import run_both
from .test_quantize_static import ort_quantized

U8, I8, I32 = TensorProto.UINT8, TensorProto.INT8, TensorProto.INT32
QLINEAR_PARAMS = {
    "sa": np.float32(0.03),
    "za": np.int8(-5),
    "sb": np.float32(0.02),
    "zb": np.int8(3),
    "sy": np.float32(0.07),
    "zy": np.int8(-2),
}


def _qlinear(a_shape, b_shape) -> tuple:
    node = helper.make_node(
        "QLinearMatMul", ["a", "sa", "za", "b", "sb", "zb", "sy", "zy"], ["y"], name="mm"
    )
    inputs = [("a", I8, a_shape), ("b", I8, b_shape)]
    model = make_model([node], inputs, [("y", I8)], QLINEAR_PARAMS, opset=21)
    rng = np.random.default_rng(len(a_shape) * 10 + len(b_shape))
    feeds = {
        "a": rng.integers(-128, 128, a_shape, dtype=np.int8),
        "b": rng.integers(-128, 128, b_shape, dtype=np.int8),
    }
    return model, feeds


@pytest.mark.parametrize(
    ("a_shape", "b_shape", "lowered_to"),
    [
        ([2, 3, 5, 7], [2, 3, 7, 4], "qnn.conv2d"),  # equal batches: grouped conv
        # no lhs batch: matrices side by side; rhs batch of ones: one matrix
        pytest.param([5, 7], [3, 7, 4], "qnn.dot", marks=pytest.mark.slow),
        pytest.param([2, 1, 5, 7], [1, 7, 4], "qnn.dot", marks=pytest.mark.slow),
        # batches broadcast both ways: both expanded to [2, 3], then the grouped conv
        ([2, 1, 5, 7], [1, 3, 7, 4], "qnn.conv2d"),
    ],
)
def test_batched_qlinear_matmul_matches_onnxruntime(a_shape, b_shape, lowered_to) -> None:
    model, feeds = _qlinear(a_shape, b_shape)
    (expected,) = run_ort(model, feeds)
    (got,) = run_both(model, feeds)
    assert got.dtype == expected.dtype and np.array_equal(got, expected)
    text = print_module(import_onnx(model))
    assert lowered_to in text and ("qnn.conv2d" in text) == (lowered_to == "qnn.conv2d")


def test_batched_matmul_integer_matches_onnxruntime() -> None:
    node = helper.make_node("MatMulInteger", ["a", "b", "za", "zb"], ["y"])
    inputs = [("a", U8, [3, 4, 6]), ("b", U8, [3, 6, 5])]
    model = make_model([node], inputs, [("y", I32)], {"za": np.uint8(128), "zb": np.uint8(7)})
    rng = np.random.default_rng(7)
    feeds = {
        "a": rng.integers(0, 256, (3, 4, 6), dtype=np.uint8),
        "b": rng.integers(0, 256, (3, 6, 5), dtype=np.uint8),
    }
    (expected,) = run_ort(model, feeds)
    (got,) = run_both(model, feeds)
    assert got.dtype == np.int32 and np.array_equal(got, expected)


def _attention_scores(rng: np.random.Generator) -> onnx.ModelProto:
    """Q·Kᵀ of two heads: a float MatMul of two activations, [1, 2, 6, 4] x [1, 2, 4, 6]."""
    weights = {
        "wq": (rng.standard_normal((8, 8)) * 0.3).astype(np.float32),
        "wk": (rng.standard_normal((8, 8)) * 0.3).astype(np.float32),
        "heads": np.array([1, 6, 2, 4], np.int64),
    }
    nodes = [
        helper.make_node("MatMul", ["x", "wq"], ["q0"], name="q"),
        helper.make_node("MatMul", ["x", "wk"], ["k0"], name="k"),
        helper.make_node("Reshape", ["q0", "heads"], ["q1"], name="q_heads"),
        helper.make_node("Reshape", ["k0", "heads"], ["k1"], name="k_heads"),
        helper.make_node("Transpose", ["q1"], ["q2"], perm=[0, 2, 1, 3], name="q_t"),
        helper.make_node("Transpose", ["k1"], ["k2"], perm=[0, 2, 3, 1], name="k_t"),
        helper.make_node("MatMul", ["q2", "k2"], ["y"], name="scores"),
    ]
    return float_models.onnx_model(nodes, [1, 6, 8], [1, 2, 6, 6], weights)


def test_float_matmul_of_two_activations() -> None:
    """A transformer's attention scores (float MatMul with a batched right-hand side that is an
    activation) import as the grouped conv; compiled equals the reference, and both are the
    product up to float32 rounding."""
    model = _attention_scores(np.random.default_rng(11))
    x = np.random.default_rng(12).standard_normal((1, 6, 8)).astype(np.float32)
    (got,) = run_both(model, {"x": x})
    (expected,) = run_ort(model, {"x": x})
    assert got.shape == (1, 2, 6, 6)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_qdq_attention_scores_match_onnxruntime() -> None:
    """The same graph quantized by `quantize_static` (QDQ): DQ -> batched MatMul -> Q folds
    into the integer grouped conv, then one integer dot per batch element, ONNX Runtime's
    QLinearMatMul bit for bit."""
    rng = np.random.default_rng(13)
    model = _attention_scores(rng)
    samples = [{"x": rng.standard_normal((1, 6, 8)).astype(np.float32)} for _ in range(4)]
    config = {
        "quant_format": "QDQ",
        "per_channel": False,
        "reduce_range": True,
        "activation_type": "QUInt8",
    }
    x = rng.standard_normal((1, 6, 8)).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        qmodel, _ = ort_quantized(model, samples, config, Path(tmp))
    (expected,) = run_ort(qmodel, {"x": x})
    (got,) = run_both(qmodel, {"x": x})
    assert np.array_equal(got, expected)
    module = import_onnx(qmodel)
    apply_qnn_default(module)
    text = print_module(module)
    # batched-matmul-dots: one integer dot per batch element, no transposes, no conv
    dots = [line for line in text.splitlines() if "qnn.dot" in line]
    assert dots and not any(line.rstrip().endswith("xf32>") for line in dots)  # integer
    assert "qnn.conv2d" not in text and '{qnn.op_type = "MatMul", permutation' not in text


@pytest.mark.parametrize("quant_format", ["QDQ", "QOperator"])
def test_quantized_encoder_layer_runs_as_onnxruntime(quant_format: str) -> None:
    """A whole encoder layer (attention, softmax, LayerNormalization, Erf-GELU) quantized by
    `quantize_static`: compiled equals the reference after `qnn-default`, and ONNX Runtime's
    output (reduce_range, where ORT's integer kernels are exact) bit for bit in QDQ form, whose
    output is quantized, and in QOperator form, whose last LayerNormalization stays float
    (MLAS's float32 steps, see qnn.LayerNormOp)."""
    rng = np.random.default_rng(40)
    model = float_models.encoder_layer(rng)
    samples = [{"x": rng.standard_normal((1, 8, 16)).astype(np.float32)} for _ in range(4)]
    config = {"quant_format": quant_format, "per_channel": False, "reduce_range": True,
              "activation_type": "QUInt8"}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        qmodel, _ = ort_quantized(model, samples, config, Path(tmp))
    x = rng.standard_normal((1, 8, 16)).astype(np.float32)
    module = import_onnx(qmodel)
    apply_qnn_default(module)
    assert '{qnn.op_type = "MatMul", permutation' not in print_module(module)  # dots, no transposes
    (reference,) = run_function(module, {"x": x})
    (got,) = compile_module(module)(x)
    assert np.array_equal(got, reference)
    (expected,) = run_ort(qmodel, {"x": x})
    assert np.array_equal(got.view(np.uint32), expected.view(np.uint32))
