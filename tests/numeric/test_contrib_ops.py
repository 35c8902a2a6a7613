"""com.microsoft ops of ORT's transformer optimizer (`qdialect/onnx_import/contrib.py`) against
ONNX Runtime's CPU kernels, bit for bit, at row lengths on both sides of MLAS's kernel sizes
(8, 16) and BERT's 768: compiled code, reference and ORT agree."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from qdialect.onnx_import import import_onnx
from runtime.compiled import compile_module
from runtime.reference import run_function

from .onnxruntime_session import run_ort


def check_against_onnxruntime(node, shape, inits: dict[str, np.ndarray]) -> None:
    outputs = [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in node.output if o]
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        outputs,
        [numpy_helper.from_array(v, k) for k, v in inits.items()],
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    model = helper.make_model(graph, opset_imports=opsets, ir_version=8)
    x = (np.random.default_rng(shape[-1]).standard_normal(shape) * 3).astype(np.float32)
    module = import_onnx(model)
    compiled = compile_module(module)(x)
    reference = run_function(module, [x])
    expected = run_ort(model, {"x": x}, "ORT_DISABLE_ALL")
    for ours, ref, theirs in zip(compiled, reference, expected, strict=True):
        assert np.array_equal(ours.view(np.uint32), theirs.view(np.uint32))
        assert np.array_equal(ref.view(np.uint32), theirs.view(np.uint32))


def weights(*shape: int) -> np.ndarray:
    return np.random.default_rng(sum(shape)).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("hidden", [8, 37, 768])
@pytest.mark.parametrize("op_type", ["FastGelu", "BiasGelu"])
def test_bias_gelus_are_onnxruntimes(op_type: str, hidden: int) -> None:
    node = helper.make_node(op_type, ["x", "b"], ["y"], domain="com.microsoft")
    check_against_onnxruntime(node, (2, 5, hidden), {"b": weights(hidden)})


def test_quick_gelu_is_onnxruntimes() -> None:
    node = helper.make_node("QuickGelu", ["x"], ["y"], domain="com.microsoft", alpha=1.5)
    check_against_onnxruntime(node, (2, 5, 37), {})


@pytest.mark.parametrize("hidden", [7, 16, 37, 768])
def test_skip_layer_normalization_is_onnxruntimes(hidden: int) -> None:
    """Welford's scalar loop at every length (not LayerNormalization's MLAS kernel; 21 rows:
    16 at once, then 5 alone); the fourth output is input + skip + bias."""
    shape = (3, 7, hidden)
    inits = {
        "s": weights(*shape),
        "g": weights(hidden),
        "be": weights(hidden),
        "b": weights(hidden),
    }
    node = helper.make_node(
        "SkipLayerNormalization", ["x", "s", "g", "be", "b"], ["y", "", "", "sum"],
        domain="com.microsoft", epsilon=1e-5,
    )  # fmt: skip
    check_against_onnxruntime(node, shape, inits)


@pytest.mark.parametrize("hidden", [7, 16, 768])
def test_skip_simplified_layer_normalization_is_onnxruntimes(hidden: int) -> None:
    """RMSNorm's scalar loop at every length (21 rows: 16 at once, then 5 alone); a skip of
    [S, H] broadcasts over the batch."""
    shape = (3, 7, hidden)
    inits = {"s": weights(7, hidden), "g": weights(hidden), "b": weights(hidden)}
    node = helper.make_node(
        "SkipSimplifiedLayerNormalization", ["x", "s", "g", "b"], ["y"],
        domain="com.microsoft", epsilon=1e-6,
    )  # fmt: skip
    check_against_onnxruntime(node, shape, inits)
