"""The float models of `benchmarks/models.py`, written out as ONNX graphs (torchvision's layouts,
random weights, BatchNorm folded into the convolutions' weights and biases).

- ResNet-18 (width 64; basic blocks [2, 2, 2, 2]; 1×1 stride-2 downsample convolutions),
- ResNet-50 (bottleneck blocks [3, 4, 6, 3], 25.6 M weights, 4.1 GMAC),
- MobileNetV2 1.0 (inverted residuals (t, c, n, s) as torchvision, ReLU6 as Clip(0, 6), last
  channel 1280),
- two BERT-base feed-forward blocks (d 768, hidden 3072, 128 tokens: MatMul + bias, Relu,
  MatMul + bias, residual add),
- a BERT-base encoder layer (`bert_layer`, 12 heads: attention with Softmax, LayerNormalization,
  an Erf-GELU feed-forward block; used by `benchmarks/calibration.py --gaps`),
- R3D-18 (torchvision's video ResNet: 3-D convs, a (3, 7, 7) stem, basic blocks [2, 2, 2, 2]
  of 3×3×3 convs, 1×1×1 stride-2 downsample convolutions; 8 frames of 112×112, 400 classes).

Weights are He-scaled normals so activations keep their size through the depth (trained-looking
ranges without a training run).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


@dataclass
class GraphBuilder:
    """Nodes and initializers of one float graph, with fresh tensor names."""

    rng: np.random.Generator
    nodes: list = field(default_factory=list)
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    count: int = 0

    def fresh(self, stem: str) -> str:
        self.count += 1
        return f"{stem}{self.count}"

    def const(self, stem: str, array: np.ndarray, dtype=np.float32) -> str:
        name = self.fresh(stem)
        self.weights[name] = array.astype(dtype)
        return name

    def node(self, op: str, inputs: list[str], stem: str, **attrs) -> str:
        out = self.fresh(stem)
        self.nodes.append(helper.make_node(op, inputs, [out], name=f"{stem}_{self.count}", **attrs))
        return out

    def conv(
        self, x: str, cin: int, cout: int, k: int, stride: int = 1, groups: int = 1, act=None
    ) -> str:
        """Conv (BatchNorm folded: a bias) then Relu / ReLU6 / nothing."""
        fan_in = cin // groups * k * k
        w = self.rng.standard_normal((cout, cin // groups, k, k)) * np.sqrt(2.0 / fan_in)
        b = self.rng.standard_normal(cout) * 0.1
        pad = k // 2
        y = self.node(
            "Conv",
            [x, self.const("w", w), self.const("b", b)],
            "conv",
            kernel_shape=[k, k],
            strides=[stride, stride],
            pads=[pad] * 4,
            group=groups,
        )
        if act == "relu":
            return self.node("Relu", [y], "relu")
        if act == "relu6":
            lo = self.const("lo", np.array(0.0))
            hi = self.const("hi", np.array(6.0))
            return self.node("Clip", [y, lo, hi], "relu6")
        return y

    def conv3d(self, x: str, cin: int, cout: int, kernel, stride, act=None) -> str:
        """A 3-D Conv (BatchNorm folded: a bias), padded to keep size at stride 1, then Relu
        or nothing."""
        fan_in = cin * int(np.prod(kernel))
        w = self.rng.standard_normal((cout, cin, *kernel)) * np.sqrt(2.0 / fan_in)
        b = self.rng.standard_normal(cout) * 0.1
        y = self.node(
            "Conv",
            [x, self.const("w", w), self.const("b", b)],
            "conv",
            kernel_shape=list(kernel),
            strides=list(stride),
            pads=[k // 2 for k in kernel] * 2,
        )
        return self.node("Relu", [y], "relu") if act == "relu" else y

    def head(self, x: str, channels: int, classes: int = 1000) -> str:
        pooled = self.node("GlobalAveragePool", [x], "gap")
        flat = self.node("Flatten", [pooled], "flatten", axis=1)
        w = self.rng.standard_normal((classes, channels)) * np.sqrt(1.0 / channels)
        b = self.rng.standard_normal(classes) * 0.01
        return self.node(
            "Gemm", [flat, self.const("fc_w", w), self.const("fc_b", b)], "fc", transB=1
        )

    def model(self, name: str, x_shape: list[int], y: str, y_shape: list[int]) -> onnx.ModelProto:
        graph = helper.make_graph(
            self.nodes,
            name,
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
            [helper.make_tensor_value_info(y, TensorProto.FLOAT, y_shape)],
            [numpy_helper.from_array(a, n) for n, a in self.weights.items()],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
        model.ir_version = 9
        onnx.checker.check_model(model)
        return model


def resnet18(
    rng: np.random.Generator, size: int = 224, width: int = 64, classes: int = 1000
) -> onnx.ModelProto:
    g = GraphBuilder(rng)
    x = g.conv("x", 3, width, 7, stride=2, act="relu")
    x = g.node("MaxPool", [x], "maxpool", kernel_shape=[3, 3], strides=[2, 2], pads=[1] * 4)
    cin = width
    for cout, stride in [(width, 1), (2 * width, 2), (4 * width, 2), (8 * width, 2)]:
        for block in range(2):
            s = stride if block == 0 else 1
            y = g.conv(x, cin, cout, 3, stride=s, act="relu")
            y = g.conv(y, cout, cout, 3)
            shortcut = g.conv(x, cin, cout, 1, stride=s) if (s != 1 or cin != cout) else x
            x = g.node("Relu", [g.node("Add", [y, shortcut], "add")], "relu")
            cin = cout
    return g.model("resnet18", [1, 3, size, size], g.head(x, cin, classes), [1, classes])


def resnet50(rng: np.random.Generator, size: int = 224, classes: int = 1000) -> onnx.ModelProto:
    """torchvision's ResNet-50: bottleneck blocks [3, 4, 6, 3] (1×1, 3×3 with the stride, 1×1
    to 4× the width), 1×1 projection shortcuts."""
    g = GraphBuilder(rng)
    x = g.conv("x", 3, 64, 7, stride=2, act="relu")
    x = g.node("MaxPool", [x], "maxpool", kernel_shape=[3, 3], strides=[2, 2], pads=[1] * 4)
    cin = 64
    for width, blocks, stride in [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]:
        for block in range(blocks):
            s = stride if block == 0 else 1
            y = g.conv(x, cin, width, 1, act="relu")
            y = g.conv(y, width, width, 3, stride=s, act="relu")
            y = g.conv(y, width, 4 * width, 1)
            shortcut = g.conv(x, cin, 4 * width, 1, stride=s) if block == 0 else x
            x = g.node("Relu", [g.node("Add", [y, shortcut], "add")], "relu")
            cin = 4 * width
    return g.model("resnet50", [1, 3, size, size], g.head(x, cin, classes), [1, classes])


# torchvision's MobileNetV2 inverted-residual settings: expansion t, channels c, repeats n, stride s
MOBILENET_V2 = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1)]
MOBILENET_V2 += [(6, 160, 3, 2), (6, 320, 1, 1)]


def mobilenet_v2(rng: np.random.Generator, size: int = 224) -> onnx.ModelProto:
    g = GraphBuilder(rng)
    x = g.conv("x", 3, 32, 3, stride=2, act="relu6")
    cin = 32
    for t, c, n, s in MOBILENET_V2:
        for repeat in range(n):
            stride = s if repeat == 0 else 1
            hidden = cin * t
            y = g.conv(x, cin, hidden, 1, act="relu6") if t != 1 else x
            y = g.conv(y, hidden, hidden, 3, stride=stride, groups=hidden, act="relu6")
            y = g.conv(y, hidden, c, 1)
            x = g.node("Add", [x, y], "add") if stride == 1 and cin == c else y
            cin = c
    x = g.conv(x, cin, 1280, 1, act="relu6")
    return g.model("mobilenet_v2", [1, 3, size, size], g.head(x, 1280), [1, 1000])


def bert_ffn(
    rng: np.random.Generator, blocks: int = 2, tokens: int = 128, d: int = 768
) -> onnx.ModelProto:
    g = GraphBuilder(rng)
    x = "x"
    for _ in range(blocks):
        w1 = rng.standard_normal((d, 4 * d)) * np.sqrt(2.0 / d)
        w2 = rng.standard_normal((4 * d, d)) * np.sqrt(1.0 / (4 * d))
        h = g.node("MatMul", [x, g.const("w", w1)], "fc1")
        h = g.node("Add", [h, g.const("b", rng.standard_normal(4 * d) * 0.1)], "fc1_bias")
        h = g.node("Relu", [h], "relu")
        h = g.node("MatMul", [h, g.const("w", w2)], "fc2")
        h = g.node("Add", [h, g.const("b", rng.standard_normal(d) * 0.1)], "fc2_bias")
        x = g.node("Add", [h, x], "residual")
    return g.model("bert_ffn", [tokens, d], x, [tokens, d])


def bert_layer(
    rng: np.random.Generator, tokens: int = 128, d: int = 768, heads: int = 12
) -> onnx.ModelProto:
    """One encoder layer as torch exports it: Q/K/V projections, heads by Reshape and
    Transpose, Q·Kᵀ / √(d / heads), Softmax, ·V, the output projection, residual and
    LayerNormalization, an Erf-GELU feed-forward block, residual and LayerNormalization."""
    g = GraphBuilder(rng)
    head = d // heads

    def linear(x: str, n_in: int, n_out: int, stem: str) -> str:
        w = rng.standard_normal((n_in, n_out)) * np.sqrt(1.0 / n_in)
        y = g.node("MatMul", [x, g.const("w", w)], stem)
        return g.node("Add", [y, g.const("b", rng.standard_normal(n_out) * 0.1)], f"{stem}_bias")

    def layer_norm(x: str) -> str:
        gamma, beta = rng.standard_normal(d) * 0.1 + 1, rng.standard_normal(d) * 0.1
        return g.node("LayerNormalization", [x, g.const("g", gamma), g.const("be", beta)], "ln")

    split = g.const("heads", np.array([1, tokens, heads, head]), np.int64)
    q, k, v = (
        g.node("Transpose", [g.node("Reshape", [linear("x", d, d, n), split], f"{n}_heads")],
               f"{n}_t", perm=perm)
        for n, perm in (("q", [0, 2, 1, 3]), ("k", [0, 2, 3, 1]), ("v", [0, 2, 1, 3]))
    )  # fmt: skip
    scores = g.node("MatMul", [q, k], "scores")
    scores = g.node("Div", [scores, g.const("root", np.array(np.sqrt(head)))], "scale")
    probs = g.node("Softmax", [scores], "softmax", axis=-1)
    context = g.node(
        "Transpose", [g.node("MatMul", [probs, v], "context")], "c_t", perm=[0, 2, 1, 3]
    )
    merged = g.const("merged", np.array([1, tokens, d]), np.int64)
    context = g.node("Reshape", [context, merged], "c_merge")
    n1 = layer_norm(g.node("Add", ["x", linear(context, d, d, "out")], "residual"))
    h = linear(n1, d, 4 * d, "fc1")  # GELU: h · (1 + erf(h / √2)) · 0.5
    erf = g.node(
        "Erf", [g.node("Div", [h, g.const("root2", np.array(np.sqrt(2)))], "gelu_scale")], "erf"
    )
    gelu = g.node(
        "Mul", [h, g.node("Add", [erf, g.const("one", np.array(1.0))], "gelu_one")], "gelu_mul"
    )
    gelu = g.node("Mul", [gelu, g.const("half", np.array(0.5))], "gelu_half")
    y = layer_norm(g.node("Add", [n1, linear(gelu, 4 * d, d, "fc2")], "residual"))
    return g.model("bert_layer", [1, tokens, d], y, [1, tokens, d])


def r3d_18(
    rng: np.random.Generator, frames: int = 8, size: int = 112, classes: int = 400
) -> onnx.ModelProto:
    g = GraphBuilder(rng)
    x = g.conv3d("x", 3, 64, (3, 7, 7), (1, 2, 2), act="relu")
    cin = 64
    for cout, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
        for block in range(2):
            s = (stride,) * 3 if block == 0 else (1, 1, 1)
            y = g.conv3d(x, cin, cout, (3, 3, 3), s, act="relu")
            y = g.conv3d(y, cout, cout, (3, 3, 3), (1, 1, 1))
            downsample = s != (1, 1, 1) or cin != cout
            shortcut = g.conv3d(x, cin, cout, (1, 1, 1), s) if downsample else x
            x = g.node("Relu", [g.node("Add", [y, shortcut], "add")], "relu")
            cin = cout
    shape = [1, 3, frames, size, size]
    return g.model("r3d_18", shape, g.head(x, cin, classes), [1, classes])


MODELS = {
    "resnet18": resnet18,
    "resnet50": resnet50,
    "mobilenet_v2": mobilenet_v2,
    "bert_ffn": bert_ffn,
    "bert_layer": bert_layer,
    "r3d_18": r3d_18,
}
