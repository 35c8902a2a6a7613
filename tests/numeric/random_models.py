"""Random float ONNX graphs for comparing our quantizer with `quantize_static` on structure
no hand-written model has: convolutional graphs (`random_cnn`) and token graphs
(`random_sequence`), each from a seed. Tensors are reused at random (several readers, residual
adds, concats of earlier tensors), and nodes no output depends on are dropped, as exported
models have none (ORT keeps dead nodes, which changes its int8 retyping around them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

Shape = tuple[int, ...]


@dataclass
class Graph:
    """Nodes, initializers and the tensors built so far (name, shape), in order."""

    rng: np.random.Generator
    nodes: list = field(default_factory=list)
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    tensors: list[tuple[str, Shape]] = field(default_factory=list)
    count: int = 0
    wide: bool = False  # channels that fill ORT's NCHWc blocks (random_wide_cnn)

    def fresh(self, stem: str) -> str:
        self.count += 1
        return f"{stem}{self.count}"

    def const(self, array, dtype=np.float32) -> str:
        name = self.fresh("w")
        self.weights[name] = np.asarray(array).astype(dtype)
        return name

    def node(self, op: str, inputs: list[str], shape: Shape, **attrs) -> str:
        out = self.fresh("t")
        self.nodes.append(helper.make_node(op, inputs, [out], name=self.fresh(op.lower()), **attrs))
        self.tensors.append((out, shape))
        return out

    def pick(self) -> tuple[str, Shape]:
        """The newest tensor mostly, an earlier one sometimes."""
        if self.rng.random() < 0.4:
            return self.tensors[int(self.rng.integers(len(self.tensors)))]
        return self.tensors[-1]

    def same_shape(self, shape: Shape) -> str:
        matching = [name for name, s in self.tensors if s == shape]
        return matching[int(self.rng.integers(len(matching)))]

    def model(self, output: str, shape: Shape, opset: int) -> onnx.ModelProto:
        self.nodes.append(helper.make_node("Identity", [output], ["y"], name="output"))
        live, kept = {"y"}, []
        for node in reversed(self.nodes):
            if any(o in live for o in node.output):
                kept.append(node)
                live.update(i for i in node.input if i)
        graph = helper.make_graph(
            list(reversed(kept)),
            "random",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(self.tensors[0][1]))],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(shape))],
            [numpy_helper.from_array(v, k) for k, v in self.weights.items() if k in live],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        model.ir_version = 9
        onnx.checker.check_model(model, full_check=True)
        return model


def _conv(g: Graph, x: str, shape: Shape) -> None:
    _, c, h, _ = shape
    k, co = int(g.rng.choice([1, 3])), int(g.rng.integers(2, 9))
    if g.wide:
        co = int(g.rng.choice([8, 16, 20, 32]))
    groups = c if k == 3 and g.rng.random() < 0.25 else 1
    co = c if groups > 1 else co
    fan_in = c // groups * k * k
    inputs = [x, g.const(g.rng.standard_normal((co, c // groups, k, k)) * np.sqrt(2 / fan_in))]
    if g.rng.random() < 0.8:
        inputs.append(g.const(g.rng.standard_normal(co) * 0.1))
    stride = int(g.rng.choice([1, 1, 2])) if h > 4 else 1
    out = (h + 2 * (k // 2) - k) // stride + 1
    g.node("Conv", inputs, (1, co, out, out), pads=[k // 2] * 4, strides=[stride] * 2, group=groups)


def _cnn_step(g: Graph) -> None:
    x, shape = g.pick()
    _, c, h, w = shape
    op = str(g.rng.choice(CNN_OPS))
    if op == "Conv":
        _conv(g, x, shape)
    elif op in ("Relu", "Sigmoid", "LeakyRelu"):
        g.node(op, [x], shape)
    elif op == "Clip":
        g.node(op, [x, g.const(np.array(0.0)), g.const(np.array(6.0))], shape)
    elif op in ("Add", "Mul", "Sub"):
        other = g.same_shape(shape) if g.rng.random() < 0.6 else None
        if other is None:
            offset = 1.0 if op == "Mul" else 0.0
            other = g.const(g.rng.standard_normal((1, c, 1, 1)) * 0.5 + offset)
        g.node(op, [x, other], shape)
    elif op in ("MaxPool", "AveragePool") and h >= 4:
        g.node(op, [x], (1, c, h // 2, w // 2), kernel_shape=[2, 2], strides=[2, 2])
    elif op == "Concat":
        matching = [t for t in g.tensors if t[1][2:] == shape[2:]]
        name, other = matching[int(g.rng.integers(len(matching)))]
        g.node(op, [x, name], (1, c + other[1], h, w), axis=1)
    elif op == "Transpose":
        g.node(op, [x], (1, c, w, h), perm=[0, 1, 3, 2])
    elif op == "Pad":
        pads = g.const(np.array([0, 0, 1, 1, 0, 0, 1, 1]), np.int64)
        mode = str(g.rng.choice(["constant", "reflect", "edge"]))
        mode = mode if min(h, w) >= 2 else "constant"  # reflecting needs two values
        g.node(op, [x, pads], (1, c, h + 2, w + 2), mode=mode)
    elif op == "Resize" and h <= 8:
        scales = g.const(np.array([1, 1, 2, 2]))
        mode = str(g.rng.choice(["nearest", "linear"]))
        g.node(op, [x, "", scales], (1, c, 2 * h, 2 * w), mode=mode)
    elif op == "Reshape":  # flattened and back (the flat tensor is no one else's input)
        flat = g.node(op, [x, g.const(np.array([1, c, h * w, 1]), np.int64)], (1, c, h * w, 1))
        g.tensors.pop()
        g.node(op, [flat, g.const(np.array(shape), np.int64)], shape)
    elif op == "Softmax":
        g.node(op, [x], shape, axis=1)
    elif op == "SqueezeExcite":  # GAP -> 1x1 conv -> Sigmoid -> Mul (MobileNetV3, EfficientNet)
        pooled = g.node("GlobalAveragePool", [x], (1, c, 1, 1))
        weight = g.const(g.rng.standard_normal((c, c, 1, 1)) * 0.5)
        gate = g.node("Sigmoid", [g.node("Conv", [pooled, weight], (1, c, 1, 1))], (1, c, 1, 1))
        g.node("Mul", [x, gate], shape)
    elif op == "ConvTranspose" and h <= 8:
        co = int(g.rng.integers(2, 9))
        weight = g.const(g.rng.standard_normal((c, co, 2, 2)) * np.sqrt(1 / c))
        inputs = [x, weight] + (
            [g.const(g.rng.standard_normal(co) * 0.1)] if g.rng.random() < 0.5 else []
        )
        g.node(op, inputs, (1, co, 2 * h, 2 * w), strides=[2, 2])
    elif op == "InstanceNormalization":
        scale, bias = 1 + 0.1 * g.rng.standard_normal(c), 0.1 * g.rng.standard_normal(c)
        g.node(op, [x, g.const(scale), g.const(bias)], shape, epsilon=1e-5)
    elif op == "HardSigmoid":
        g.node(op, [x], shape)
    elif op == "Split" and c >= 2:
        halves = g.const(np.array([c // 2, c - c // 2]), np.int64)
        a, b = g.fresh("t"), g.fresh("t")
        g.nodes.append(helper.make_node(op, [x, halves], [a, b], name=g.fresh("split"), axis=1))
        g.tensors += [(a, (1, c // 2, h, w)), (b, (1, c - c // 2, h, w))]


CNN_OPS = ["Conv"] * 3 + ["Relu", "Clip", "Add", "Mul", "Sub", "MaxPool", "AveragePool"]
CNN_OPS += ["Concat", "Sigmoid", "LeakyRelu", "Transpose", "Pad", "Resize", "Reshape"]
CNN_OPS += ["Softmax", "Split", "SqueezeExcite", "ConvTranspose", "InstanceNormalization"]
CNN_OPS += ["HardSigmoid"]


def random_cnn(seed: int, wide: bool = False) -> onnx.ModelProto:
    """Convolutions, activations, pools, elementwise ops and data movement on an NCHW image,
    sometimes ending in GlobalAveragePool, Flatten and a Gemm classifier."""
    rng = np.random.default_rng(seed)
    c, h = int(rng.integers(3, 9)), int(rng.choice([6, 8, 9]))
    if wide:
        c = int(rng.choice([3, 16, 20, 32]))
    g = Graph(rng, tensors=[("x", (1, c, h, h))], wide=wide)
    for _ in range(int(rng.integers(3, 10))):
        _cnn_step(g)
    x, shape = g.tensors[-1]
    if rng.random() < 0.3:
        pooled = g.node("GlobalAveragePool", [x], (1, shape[1], 1, 1))
        flat = g.node("Flatten", [pooled], (1, shape[1]))
        n = int(rng.integers(3, 10))
        weight = g.const(rng.standard_normal((n, shape[1])) * 0.3)
        x = g.node("Gemm", [flat, weight, g.const(rng.standard_normal(n) * 0.1)], (1, n), transB=1)
        shape = (1, n)
    return g.model(x, shape, opset=17)


def _sequence_step(g: Graph) -> None:
    x, shape = g.pick()
    if len(shape) != 3:
        return
    _, t, d = shape
    op = str(g.rng.choice(SEQUENCE_OPS))
    if op == "MatMul":
        n = int(g.rng.choice([8, 12, 16, 24]))
        y = g.node(op, [x, g.const(g.rng.standard_normal((d, n)) / np.sqrt(d))], (1, t, n))
        if g.rng.random() < 0.5:
            g.node("Add", [y, g.const(g.rng.standard_normal(n) * 0.1)], (1, t, n))
    elif op in ("Relu", "Sigmoid", "Erf", "Tanh"):
        g.node(op, [x], shape)
    elif op in ("Add", "Mul", "Div"):
        if op != "Div" and g.rng.random() < 0.6:
            other = g.same_shape(shape)
        else:
            other = g.const(g.rng.standard_normal(d) * 0.5 + (0.0 if op == "Add" else 1.5))
        g.node(op, [x, other], shape)
    elif op == "LayerNormalization":
        scale, bias = 1 + 0.1 * g.rng.standard_normal(d), 0.1 * g.rng.standard_normal(d)
        g.node(op, [x, g.const(scale), g.const(bias)], shape, axis=-1, epsilon=1e-5)
    elif op == "Softmax":
        g.node(op, [x], shape, axis=-1)
    elif op == "Attention":  # x (x^T) -> softmax -> @ x
        scores = g.node("MatMul", [x, g.node("Transpose", [x], (1, d, t), perm=[0, 2, 1])],
                        (1, t, t))  # fmt: skip
        g.node("MatMul", [g.node("Softmax", [scores], (1, t, t), axis=-1), x], shape)
    elif op == "Gather":
        g.node(op, [x, g.const(np.array([0, t - 1]), np.int64)], (1, 2, d), axis=1)
    elif op == "Slice" and t >= 2:
        bounds = [g.const(np.array([v]), np.int64) for v in (1, t, 1)]
        g.node(op, [x, *bounds], (1, t - 1, d))
    elif op == "Concat":
        matching = [s for s in g.tensors if len(s[1]) == 3 and s[1][2] == d]
        name, other = matching[int(g.rng.integers(len(matching)))]
        g.node(op, [x, name], (1, t + other[1], d), axis=1)
    elif op == "Transpose":
        g.node(op, [x], (1, d, t), perm=[0, 2, 1])
    elif op == "Where":
        condition = g.const(g.rng.random((1, t, d)) < 0.5, bool)
        g.node(op, [condition, x, g.const(np.full((1, t, d), -1.0))], shape)
    elif op == "Unsqueeze":
        axis = g.const(np.array([1]), np.int64)
        g.node("Squeeze", [g.node(op, [x, axis], (1, 1, t, d)), axis], shape)
    elif op == "ReduceMean":
        g.node(op, [x, g.const(np.array([-1]), np.int64)], (1, t, 1), keepdims=1)
    elif op == "Split" and d >= 4:
        halves = g.const(np.array([d // 2, d - d // 2]), np.int64)
        a, b = g.fresh("t"), g.fresh("t")
        g.nodes.append(helper.make_node(op, [x, halves], [a, b], name=g.fresh("split"), axis=2))
        g.tensors += [(a, (1, t, d // 2)), (b, (1, t, d - d // 2))]
    elif op == "LeakyRelu":
        g.node(op, [x], shape, alpha=0.1)
    elif op == "Gemm":  # a Gemm on the flattened tokens
        flat = g.node("Reshape", [x, g.const(np.array([t, d]), np.int64)], (t, d))
        g.tensors.pop()
        n = int(g.rng.choice([8, 16]))
        weight = g.const(g.rng.standard_normal((n, d)) / np.sqrt(d))
        y = g.node(op, [flat, weight, g.const(g.rng.standard_normal(n) * 0.1)], (t, n), transB=1)
        g.tensors.pop()
        g.node("Reshape", [y, g.const(np.array([1, t, n]), np.int64)], (1, t, n))


SEQUENCE_OPS = ["MatMul"] * 3 + ["Relu", "Add", "Mul", "LayerNormalization", "Softmax"]
SEQUENCE_OPS += ["Attention", "Sigmoid", "Gather", "Slice", "Concat", "Transpose", "Where"]
SEQUENCE_OPS += ["Erf", "Unsqueeze", "ReduceMean", "Tanh", "Div", "Split", "LeakyRelu", "Gemm"]


def random_sequence(seed: int) -> onnx.ModelProto:
    """Projections (MatMul, + bias), attention-like products of activations, LayerNorm,
    Softmax, Gather, Slice, Concat, Where and elementwise ops on a [1, tokens, width] input."""
    rng = np.random.default_rng(seed)
    t, d = int(rng.choice([4, 6, 8])), int(rng.choice([8, 12, 16]))
    g = Graph(rng, tensors=[("x", (1, t, d))])
    for _ in range(int(rng.integers(3, 10))):
        _sequence_step(g)
    x, shape = g.tensors[-1]
    return g.model(x, shape, opset=18)


def random_wide_cnn(seed: int) -> onnx.ModelProto:
    """`random_cnn` with 16 to 32 channels: the float convs ORT's optimized session runs as
    NCHWc convs when quantization leaves them out (`test_quantize_random` excludes nodes)."""
    return random_cnn(seed, wide=True)


BUILDERS: dict[str, Callable[[int], onnx.ModelProto]] = {
    "cnn": random_cnn,
    "sequence": random_sequence,
    "wide_cnn": random_wide_cnn,
    "sequence_excluded": random_sequence,
}
# kinds whose configs leave a third of the nodes out of quantization (`nodes_to_exclude`)
EXCLUDING = frozenset({"wide_cnn", "sequence_excluded"})
