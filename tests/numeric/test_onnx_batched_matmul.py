"""Batched QLinearMatMul and MatMulInteger (ONNX MatMul broadcasting over batch dimensions):
each form the importer lowers to (one matrix, matrices side by side, a grouped 1×1 conv)
against ONNX Runtime, with compiled code and the reference interpreter, and the refusals."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper

from qdialect.onnx_import import OnnxImportError, import_onnx
from qdialect.textio import print_module

from .onnxruntime_session import run_ort
from .test_onnx_import import make_model
from .test_onnx_quantize_linear import run_both

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


def test_partially_broadcast_batches_are_refused_by_name() -> None:
    model, _ = _qlinear([2, 1, 5, 7], [1, 3, 7, 4])
    with pytest.raises(
        OnnxImportError,
        match=r"^node 'mm' \(QLinearMatMul\): batch dimensions \[2, 1\] and \[1, 3\] are "
        r"imported when equal or when one side has none \(or only ones\)$",
    ):
        import_onnx(model)
