"""Small float ONNX models of common shapes, and their ONNX Runtime static quantization.

Used by `examples/run_onnx_model.py` and the importer's tests: a ResNet basic block, a
MobileNetV2 inverted-residual block (depthwise-separable), a 3-layer MLP and a small CNN with
pooling and a classifier head. Weights are random; calibration data is random normal.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def _model(name, nodes, x_shape, y_shape, weights: dict[str, np.ndarray]) -> onnx.ModelProto:
    """A float model; integer-valued arrays (shapes, axes, pads) stay int64 initializers."""
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)],
        [
            numpy_helper.from_array(v if v.dtype == np.int64 else v.astype(np.float32), k)
            for k, v in weights.items()
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=8)
    onnx.checker.check_model(model)
    return model


def _conv_weights(rng, name: str, o: int, c: int, k: int, weights: dict) -> list[str]:
    fan_in = c * k * k
    weights[f"{name}_w"] = rng.standard_normal((o, c, k, k)) * np.sqrt(2.0 / fan_in)
    weights[f"{name}_b"] = rng.standard_normal(o) * 0.1
    return [f"{name}_w", f"{name}_b"]


def resnet_block(rng: np.random.Generator, channels: int = 16, size: int = 16) -> onnx.ModelProto:
    """conv3x3-relu-conv3x3, plus the input, relu (ResNet's basic block)."""
    w: dict[str, np.ndarray] = {}
    nodes = [
        helper.make_node(
            "Conv",
            ["x", *_conv_weights(rng, "c1", channels, channels, 3, w)],
            ["c1"],
            pads=[1, 1, 1, 1],
        ),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node(
            "Conv",
            ["r1", *_conv_weights(rng, "c2", channels, channels, 3, w)],
            ["c2"],
            pads=[1, 1, 1, 1],
        ),
        helper.make_node("Add", ["c2", "x"], ["s"]),
        helper.make_node("Relu", ["s"], ["y"]),
    ]
    shape = [1, channels, size, size]
    return _model("resnet_block", nodes, shape, shape, w)


def mobilenet_block(
    rng: np.random.Generator, channels: int = 16, size: int = 16
) -> onnx.ModelProto:
    """1x1 expand-relu6, 3x3 depthwise-relu6, 1x1 project, plus the input (MobileNetV2)."""
    w: dict[str, np.ndarray] = {}
    hidden = channels * 4
    w["zero"], w["six"] = np.array(0.0), np.array(6.0)
    nodes = [
        helper.make_node(
            "Conv", ["x", *_conv_weights(rng, "expand", hidden, channels, 1, w)], ["e"]
        ),
        helper.make_node("Clip", ["e", "zero", "six"], ["e6"]),
        helper.make_node(
            "Conv",
            ["e6", *_conv_weights(rng, "dw", hidden, 1, 3, w)],
            ["d"],
            pads=[1, 1, 1, 1],
            group=hidden,
        ),
        helper.make_node("Clip", ["d", "zero", "six"], ["d6"]),
        helper.make_node(
            "Conv", ["d6", *_conv_weights(rng, "project", channels, hidden, 1, w)], ["p"]
        ),
        helper.make_node("Add", ["p", "x"], ["y"]),
    ]
    shape = [1, channels, size, size]
    return _model("mobilenet_block", nodes, shape, shape, w)


def mlp(rng: np.random.Generator, batch: int = 4, features: int = 64) -> onnx.ModelProto:
    """Transpose in, Gemm(transB)-relu, MatMul+Add-relu, Gemm: a 3-layer perceptron."""
    w = {
        "w1": rng.standard_normal((128, features)) * np.sqrt(2.0 / features),
        "b1": rng.standard_normal(128) * 0.1,
        "w2": rng.standard_normal((128, 64)) * np.sqrt(2.0 / 128),
        "b2": rng.standard_normal(64) * 0.1,
        "w3": rng.standard_normal((10, 64)) * np.sqrt(1.0 / 64),
        "b3": rng.standard_normal(10) * 0.1,
    }
    nodes = [
        helper.make_node("Transpose", ["x"], ["xt"], perm=[1, 0]),
        helper.make_node("Gemm", ["xt", "w1", "b1"], ["h1"], transB=1),
        helper.make_node("Relu", ["h1"], ["a1"]),
        helper.make_node("MatMul", ["a1", "w2"], ["m2"]),
        helper.make_node("Add", ["m2", "b2"], ["h2"]),
        helper.make_node("Relu", ["h2"], ["a2"]),
        helper.make_node("Gemm", ["a2", "w3", "b3"], ["y"], transB=1),
    ]
    return _model("mlp", nodes, [features, batch], [batch, 10], w)


def small_cnn(rng: np.random.Generator, size: int = 32) -> onnx.ModelProto:
    """Pad-conv-relu-maxpool, conv-relu-avgpool, conv-relu, global pool, squeeze, classifier."""
    w: dict[str, np.ndarray] = {}
    w["pads"] = np.array([0, 0, 1, 1, 0, 0, 1, 1], dtype=np.int64)
    w["axes"] = np.array([2, 3], dtype=np.int64)
    nodes = [
        helper.make_node("Pad", ["x", "pads"], ["xp"]),
        helper.make_node("Conv", ["xp", *_conv_weights(rng, "c1", 8, 3, 3, w)], ["c1"]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node(
            "Conv", ["p1", *_conv_weights(rng, "c2", 16, 8, 3, w)], ["c2"], pads=[1, 1, 1, 1]
        ),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("AveragePool", ["r2"], ["p2"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node(
            "Conv",
            ["p2", *_conv_weights(rng, "c3", 32, 16, 3, w)],
            ["c3"],
            pads=[1, 1, 1, 1],
            strides=[2, 2],
        ),
        helper.make_node("Relu", ["c3"], ["r3"]),
        helper.make_node("GlobalAveragePool", ["r3"], ["g"]),
        helper.make_node("Squeeze", ["g", "axes"], ["f"]),
        helper.make_node("Gemm", ["f", "fc_w", "fc_b"], ["y"], transB=1),
    ]
    w["fc_w"] = rng.standard_normal((10, 32)) * np.sqrt(1.0 / 32)
    w["fc_b"] = rng.standard_normal(10) * 0.1
    return _model("small_cnn", nodes, [1, 3, size, size], [1, 10], w)


MODELS: dict[str, Callable[[np.random.Generator], onnx.ModelProto]] = {
    "resnet_block": resnet_block,
    "mobilenet_block": mobilenet_block,
    "mlp": mlp,
    "small_cnn": small_cnn,
}


def input_shape(model: onnx.ModelProto) -> list[int]:
    return [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]


def quantize(
    model: onnx.ModelProto,
    rng: np.random.Generator,
    *,
    fmt: str = "qdq",
    per_channel: bool = False,
    activations: str = "u8",
    samples: int = 8,
) -> onnx.ModelProto:
    """`onnxruntime.quantization.quantize_static` on random normal calibration data.

    Weights are int8 with `reduce_range` (7-bit): ONNX Runtime's AVX2 u8×s8 kernels saturate
    int16 pair sums on full-range weights and then are not exact; 7-bit weights keep them exact.
    """
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    shape = input_shape(model)
    batches = [{"x": rng.standard_normal(shape).astype(np.float32)} for _ in range(samples)]

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter(batches)

        def get_next(self):
            return next(self.batches, None)

    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp, "float.onnx"), Path(tmp, "quant.onnx")
        onnx.save(model, source)
        quantize_static(
            str(source),
            str(target),
            Reader(),
            quant_format=QuantFormat.QDQ if fmt == "qdq" else QuantFormat.QOperator,
            per_channel=per_channel,
            activation_type=QuantType.QUInt8 if activations == "u8" else QuantType.QInt8,
            weight_type=QuantType.QInt8,
            reduce_range=True,
        )
        return onnx.load(target)
