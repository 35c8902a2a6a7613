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


def _pool_size(size: int, k: int, stride: int, pad: int, ceil: bool) -> int:
    span = size + 2 * pad - k
    return (-(-span // stride) if ceil else span // stride) + 1


def _varied_conv(g: Graph, x: str, shape: Shape) -> None:
    """Kernels, dilations, asymmetric pads, groups and Gemm-like 1x1s the ResNet/MobileNet/
    EfficientNet exports have, which `_conv` does not draw."""
    _, c, h, w = shape
    k = int(g.rng.choice([1, 2, 3, 5]))
    dilation = 2 if k == 3 and min(h, w) >= 6 and g.rng.random() < 0.3 else 1
    stride = int(g.rng.choice([1, 2])) if min(h, w) > 4 else 1
    span = dilation * (k - 1)
    begin, end = span // 2, span - span // 2
    groups = 1
    if c % 2 == 0 and g.rng.random() < 0.3:
        groups = int(g.rng.choice([2, c]))
    co = int(g.rng.integers(2, 9)) * groups if groups < c else c
    if g.rng.random() < 0.2:
        co = c * 2 if groups == c else co  # depthwise with a channel multiplier
    fan_in = c // groups * k * k
    weight = g.rng.standard_normal((co, c // groups, k, k)) * np.sqrt(2 / fan_in)
    inputs = [x, g.const(weight)]
    if g.rng.random() < 0.7:
        inputs.append(g.const(g.rng.standard_normal(co) * 0.1))
    out = [(size + begin + end - span - 1) // stride + 1 for size in (h, w)]
    g.node("Conv", inputs, (1, co, *out), pads=[begin, begin, end, end], strides=[stride] * 2,
           dilations=[dilation] * 2, group=groups)  # fmt: skip


def _varied_cnn_step(g: Graph) -> None:
    x, shape = g.pick()
    if len(shape) != 4:
        return
    _, c, h, w = shape
    op = str(g.rng.choice(VARIED_CNN_OPS))
    if op == "Conv":
        _varied_conv(g, x, shape)
    elif op == "ConvBatchNorm":
        _varied_conv(g, x, shape)
        y, (_, co, oh, ow) = g.tensors[-1]
        mean, var = 0.1 * g.rng.standard_normal(co), 0.5 + g.rng.random(co)
        scale, bias = 1 + 0.2 * g.rng.standard_normal(co), 0.1 * g.rng.standard_normal(co)
        params = [g.const(v) for v in (scale, bias, mean, var)]
        g.node("BatchNormalization", [y, *params], (1, co, oh, ow), epsilon=1e-5)
    elif op in ("MaxPool", "AveragePool") and min(h, w) >= 3:
        k, stride = int(g.rng.choice([2, 3])), int(g.rng.choice([1, 2]))
        pad = int(g.rng.integers(0, k // 2 + 1))
        # (no window starting in the pad; an AveragePool's partial last window is refused)
        ceil = op == "MaxPool" and pad == 0 and bool(g.rng.random() < 0.4)
        attrs = {"kernel_shape": [k, k], "strides": [stride] * 2, "pads": [pad] * 4}
        if ceil:
            attrs["ceil_mode"] = 1
        if op == "AveragePool" and g.rng.random() < 0.5:
            attrs["count_include_pad"] = 1
        g.node(op, [x], (1, c, *(_pool_size(size, k, stride, pad, ceil) for size in (h, w))),
               **attrs)  # fmt: skip
    elif op in ("GlobalMaxPool", "GlobalAveragePool"):
        g.node(op, [x], (1, c, 1, 1))
    elif op in ("Relu", "Sigmoid", "Tanh", "HardSwish", "Neg", "Abs"):
        g.node(op, [x], shape)
    elif op == "Clip":
        low, high = [(0.0, 6.0), (-1.0, 1.0), (0.0, None), (None, 0.5)][int(g.rng.integers(4))]
        bounds = [g.const(np.array(low)) if low is not None else ""]
        bounds += [g.const(np.array(high))] if high is not None else []
        g.node(op, [x, *bounds], shape)
    elif op in ("Add", "Mul", "Sub", "Div", "Max", "Min"):
        kind = g.rng.random()
        if op in ("Div",) or kind < 0.3:
            other = g.const(np.array(0.5 + g.rng.random()))  # a scalar constant
        elif kind < 0.6:
            other = g.same_shape(shape)
        else:
            other = g.const(g.rng.standard_normal((c, 1, 1)) * 0.5 + (1.0 if op == "Mul" else 0.0))
        swap = op != "Div" and g.rng.random() < 0.2  # (no division by an activation's zeros)
        g.node(op, [other, x] if swap else [x, other], shape)
    elif op == "Sum":
        g.node(op, [x, g.same_shape(shape), g.same_shape(shape)], shape)
    elif op == "Concat":
        axis = int(g.rng.choice([1, 1, 2, 3, -1]))
        dim = axis % 4

        def fits(other: Shape) -> bool:  # equal to `shape` but along the axis
            return len(other) == 4 and all(
                a == b for i, (a, b) in enumerate(zip(other, shape, strict=True)) if i != dim
            )

        matching = [t for t in g.tensors if fits(t[1])]
        name, other = matching[int(g.rng.integers(len(matching)))]
        out = list(shape)
        out[dim] += other[dim]
        g.node(op, [x, name], tuple(out), axis=axis)
    elif op == "Transpose":
        g.node(op, [x], (1, h, w, c), perm=[0, 2, 3, 1])  # to NHWC, as TF exports are
        if g.rng.random() < 0.7:
            y = g.tensors[-1][0]
            g.tensors.pop()
            g.node(op, [y], shape, perm=[0, 3, 1, 2])
    elif op == "Pad":
        pads = g.const(np.array([0, 0, 0, 1, 0, 0, 1, 2]), np.int64)
        value = [g.const(np.array(float(g.rng.choice([0.0, -1.0, 0.5]))))]
        g.node(op, [x, pads, *value], (1, c, h + 1, w + 3), mode="constant")
    elif op == "Resize" and max(h, w) <= 8:
        mode = str(g.rng.choice(["nearest", "linear"]))
        transform = str(g.rng.choice(["half_pixel", "asymmetric", "align_corners",
                                      "pytorch_half_pixel"]))  # fmt: skip
        attrs = {"mode": mode, "coordinate_transformation_mode": transform}
        if mode == "nearest":
            attrs["nearest_mode"] = str(g.rng.choice(["round_prefer_floor", "floor"]))
        if g.rng.random() < 0.5:
            sizes = g.const(np.array([1, c, 2 * h, 2 * w]), np.int64)
            g.node(op, [x, "", "", sizes], (1, c, 2 * h, 2 * w), **attrs)
        else:
            g.node(op, [x, "", g.const(np.array([1, 1, 2, 2]))], (1, c, 2 * h, 2 * w), **attrs)
    elif op == "Flatten":  # flattened, then back to the image with Reshape
        flat = g.node(op, [x], (1, c * h * w))
        g.tensors.pop()
        g.node("Reshape", [flat, g.const(np.array([1, c, h, w]), np.int64)], shape)
    elif op == "Squeeze":
        axes = g.const(np.array([0]), np.int64)
        squeezed = g.node(op, [x, axes], (c, h, w))
        g.tensors.pop()
        g.node("Unsqueeze", [squeezed, axes], shape)
    elif op == "DepthToSpace" and c % 4 == 0:
        g.node(op, [x], (1, c // 4, 2 * h, 2 * w), blocksize=2, mode="DCR")
    elif op == "SpaceToDepth" and h % 2 == 0 and w % 2 == 0:
        g.node(op, [x], (1, 4 * c, h // 2, w // 2), blocksize=2)
    elif op == "Slice" and w >= 3:  # every second column from the second
        bounds = [g.const(np.array(v), np.int64) for v in ([0, 1], [h, w], [2, 3], [1, 2])]
        g.node(op, [x, *bounds], (1, c, h, w // 2))
    elif op == "Gather" and c >= 2:
        indices = g.const(g.rng.permutation(c)[: max(1, c // 2)], np.int64)
        g.node(op, [x, indices], (1, max(1, c // 2), h, w), axis=1)
    elif op == "MatMul":  # along the last axis, as a 1x1 conv in NHWC would be
        n = int(g.rng.choice([4, 8]))
        weight = g.const(g.rng.standard_normal((w, n)) / np.sqrt(w))
        g.node(op, [x, weight], (1, c, h, n))
    elif op == "Split" and c >= 3:
        parts = g.const(np.array([1, 1, c - 2]), np.int64)
        names = [g.fresh("t") for _ in range(3)]
        g.nodes.append(helper.make_node(op, [x, parts], names, name=g.fresh("split"), axis=1))
        g.tensors += [
            (names[0], (1, 1, h, w)),
            (names[1], (1, 1, h, w)),
            (names[2], (1, c - 2, h, w)),
        ]
    elif op == "Gemm":  # a mid-graph classifier head, its bias [1, n] or [n]
        flat = g.node("Flatten", [x], (1, c * h * w))
        n = int(g.rng.integers(3, 10))
        weight = g.rng.standard_normal((c * h * w, n)) / np.sqrt(c * h * w)
        bias = g.const(g.rng.standard_normal((1, n) if g.rng.random() < 0.5 else n) * 0.1)
        g.node(op, [flat, g.const(weight), bias], (1, n))
        y = g.tensors[-1][0]
        g.tensors.pop()
        g.node("Reshape", [y, g.const(np.array([1, n, 1, 1]), np.int64)], (1, n, 1, 1))


VARIED_CNN_OPS = ["Conv"] * 4 + ["ConvBatchNorm"] * 2 + ["MaxPool", "AveragePool", "Relu", "Clip"]
VARIED_CNN_OPS += ["GlobalMaxPool", "GlobalAveragePool", "Sigmoid", "Tanh", "HardSwish", "Neg"]
VARIED_CNN_OPS += ["Abs", "Add", "Add", "Mul", "Sub", "Div", "Max", "Min", "Sum", "Concat"]
VARIED_CNN_OPS += ["Transpose", "Pad", "Resize", "Flatten", "Squeeze", "DepthToSpace"]
VARIED_CNN_OPS += ["SpaceToDepth", "Slice", "Gather", "MatMul", "Split", "Gemm"]


def random_varied_cnn(seed: int) -> onnx.ModelProto:
    """Image graphs drawn from other ops and attributes than `random_cnn`'s: dilated, strided,
    grouped and asymmetric-pad convs, Conv + BatchNormalization, padded and ceil-mode pools,
    global max pools, scalar operands, NHWC transposes, Resize's modes, depth/space moves,
    Sum, Neg, Abs."""
    rng = np.random.default_rng(seed)
    c, h = int(rng.integers(2, 9)), int(rng.choice([5, 6, 8, 9]))
    g = Graph(rng, tensors=[("x", (1, c, h, h))])
    for _ in range(int(rng.integers(3, 11))):
        _varied_cnn_step(g)
    x, shape = g.tensors[-1]
    return g.model(x, shape, opset=int(rng.choice([17, 19])))


def _varied_sequence_step(g: Graph) -> None:
    x, shape = g.pick()
    if len(shape) != 3:
        return
    _, t, d = shape
    op = str(g.rng.choice(VARIED_SEQUENCE_OPS))
    if op == "MatMul":  # a projection by a transposed weight ([n, d] stored, as torch exports)
        n = int(g.rng.choice([8, 12, 16]))
        stored = g.const(g.rng.standard_normal((n, d)) / np.sqrt(d))
        weight = stored
        if g.rng.random() < 0.5:
            weight = g.node("Transpose", [stored], (d, n), perm=[1, 0])
            g.tensors.pop()
        else:
            g.weights[stored] = np.ascontiguousarray(g.weights[stored].T)
        g.node(op, [x, weight], (1, t, n))
    elif op == "RMSNorm":  # x / sqrt(mean(x²) + eps) · gain, as Llama exports it
        square = g.node("Pow", [x, g.const(np.array(2.0))], shape)
        g.tensors.pop()
        mean = g.node("ReduceMean", [square, g.const(np.array([-1]), np.int64)], (1, t, 1))
        g.tensors.pop()
        root = g.node("Sqrt", [g.node("Add", [mean, g.const(np.array(1e-5))], (1, t, 1))],
                      (1, t, 1))  # fmt: skip
        g.tensors.pop()
        g.tensors.pop()
        normed = g.node("Div", [x, root], shape)
        g.node("Mul", [normed, g.const(1 + 0.1 * g.rng.standard_normal(d))], shape)
    elif op == "SpelledLayerNorm":  # LayerNormalization as exporters before opset 17 write it
        last = g.const(np.array([-1]), np.int64)
        mean = g.node("ReduceMean", [x, last], (1, t, 1))
        centred = g.node("Sub", [x, mean], shape)
        square = g.node("Pow", [centred, g.const(np.array(2.0))], shape)
        var = g.node("ReduceMean", [square, last], (1, t, 1))
        root = g.node("Sqrt", [g.node("Add", [var, g.const(np.array(1e-5))], (1, t, 1))], (1, t, 1))
        normed = g.node("Div", [centred, root], shape)
        scaled = g.node("Mul", [normed, g.const(1 + 0.1 * g.rng.standard_normal(d))], shape)
        g.node("Add", [scaled, g.const(0.1 * g.rng.standard_normal(d))], shape)
        del g.tensors[-9:-1]  # (the steps are no one else's inputs)
    elif op == "ErfGelu":  # BERT's GELU before opset 20
        e = g.node("Erf", [g.node("Div", [x, g.const(np.array(np.sqrt(2)))], shape)], shape)
        product = g.node("Mul", [x, g.node("Add", [e, g.const(np.array(1.0))], shape)], shape)
        g.node("Mul", [product, g.const(np.array(0.5))], shape)
        del g.tensors[-5:-1]
    elif op == "Rotate" and d % 2 == 0:  # rotary embedding's rotate_half: cat(-x2, x1)
        bounds = [g.const(np.array([v]), np.int64) for v in (d // 2, d, 0, d // 2, 2)]
        second = g.node("Slice", [x, bounds[0], bounds[1], g.const(np.array([2]), np.int64)],
                        (1, t, d // 2))  # fmt: skip
        first = g.node("Slice", [x, bounds[2], bounds[3], bounds[4]], (1, t, d // 2))
        g.node("Concat", [g.node("Neg", [second], (1, t, d // 2)), first], shape, axis=-1)
    elif op == "Gelu":
        g.node(op, [x], shape, approximate=str(g.rng.choice(["none", "tanh"])))
    elif op == "Softmax":
        g.node(op, [x], shape, axis=int(g.rng.choice([1, -1])))
    elif op == "TopK" and d >= 4:
        values, indices = g.fresh("t"), g.fresh("t")
        k = g.const(np.array([d // 2]), np.int64)
        g.nodes.append(helper.make_node(op, [x, k], [values, indices], name=g.fresh("topk")))
        g.tensors.append((values, (1, t, d // 2)))
    elif op == "CumSum":
        g.node(op, [x, g.const(np.array(1), np.int64)], shape)
    elif op == "Expand":
        row = g.node("ReduceMax", [x, g.const(np.array([1]), np.int64)], (1, 1, d), keepdims=1)
        g.node(op, [row, g.const(np.array([1, t, d]), np.int64)], shape)
    elif op == "Where":  # a computed mask: x > 0
        mask = g.node("Greater", [x, g.const(np.array(0.0))], shape)
        g.tensors.pop()
        g.node(op, [mask, x, g.const(np.array(-0.5))], shape)
    elif op in ("Max", "Min", "Sum", "Sub", "Mul"):
        g.node(op, [x, g.same_shape(shape)], shape)
    elif op == "Scale":  # attention's 1/sqrt(d) by a scalar
        g.node(str(g.rng.choice(["Mul", "Div"])), [x, g.const(np.array(np.sqrt(d)))], shape)
    elif op == "Gemm":  # on the flattened tokens, the weight [d, n] (transB = 0)
        flat = g.node("Flatten", [x], (t, d), axis=2)
        g.tensors.pop()
        n = int(g.rng.choice([8, 16]))
        weight = g.const(g.rng.standard_normal((d, n)) / np.sqrt(d))
        y = g.node(op, [flat, weight, g.const(g.rng.standard_normal(n) * 0.1)], (t, n))
        g.tensors.pop()
        g.node("Unsqueeze", [y, g.const(np.array([0]), np.int64)], (1, t, n))
    elif op in ("Identity", "Dropout"):
        g.node(op, [x], shape)
    elif op == "HeadSplit" and d % 4 == 0:  # [1, t, d] -> [1, 4, t, d/4] -> back
        heads = g.node("Reshape", [x, g.const(np.array([1, t, 4, d // 4]), np.int64)],
                       (1, t, 4, d // 4))  # fmt: skip
        g.tensors.pop()
        moved = g.node("Transpose", [heads], (1, 4, t, d // 4), perm=[0, 2, 1, 3])
        g.tensors.pop()
        scores = g.node("MatMul", [moved, g.node("Transpose", [moved], (1, 4, d // 4, t),
                                                 perm=[0, 1, 3, 2])], (1, 4, t, t))  # fmt: skip
        g.tensors.pop()
        g.tensors.pop()
        mixed = g.node("MatMul", [g.node("Softmax", [scores], (1, 4, t, t), axis=-1), moved],
                       (1, 4, t, d // 4))  # fmt: skip
        g.tensors.pop()
        g.tensors.pop()
        back = g.node("Transpose", [mixed], (1, t, 4, d // 4), perm=[0, 2, 1, 3])
        g.tensors.pop()
        g.node("Reshape", [back, g.const(np.array([1, t, d]), np.int64)], shape)


VARIED_SEQUENCE_OPS = ["MatMul"] * 3 + ["RMSNorm", "Rotate", "Gelu", "Softmax", "TopK"]
VARIED_SEQUENCE_OPS += ["CumSum", "Expand", "Where", "Max", "Min", "Sum", "Sub"]
VARIED_SEQUENCE_OPS += ["Mul", "Scale", "Gemm", "Identity", "Dropout", "HeadSplit"]
VARIED_SEQUENCE_OPS += ["SpelledLayerNorm", "ErfGelu"]


def random_varied_sequence(seed: int) -> onnx.ModelProto:
    """Token graphs drawn from other ops than `random_sequence`'s: transposed projections,
    RMSNorm, LayerNorm and Erf-GELU spelled out, rotary's rotate_half, Gelu, TopK, CumSum, Expand,
    computed masks, multi-head attention with head reshapes, Gemm without transB."""
    rng = np.random.default_rng(seed)
    t, d = int(rng.choice([4, 6, 8])), int(rng.choice([8, 12, 16]))
    g = Graph(rng, tensors=[("x", (1, t, d))])
    for _ in range(int(rng.integers(3, 10))):
        _varied_sequence_step(g)
    x, shape = g.tensors[-1]
    return g.model(x, shape, opset=20)


def _function_cnn_step(g: Graph) -> None:
    x, shape = g.pick()
    _, c, h, w = shape
    op = str(g.rng.choice(FUNCTION_CNN_OPS))
    if op == "Conv":
        _conv(g, x, shape)
    elif op in ("Exp", "Softplus", "Elu", "Selu", "Mish"):
        if op == "Exp":  # (a bounded argument: the quantizers' ranges stay finite)
            x = g.node("Tanh", [x], shape)
        attrs = {"alpha": float(g.rng.choice([0.5, 1.0, 1.5]))} if op == "Elu" else {}
        g.node(op, [x], shape, **attrs)
    elif op == "Log":  # of a positive tensor
        g.node("Log", [g.node("Softplus", [x], shape)], shape)
    elif op == "SiLU":
        g.node("Mul", [x, g.node("Sigmoid", [x], shape)], shape)
    elif op in ("ReduceMean", "ReduceSum"):  # a channel mean (CBAM), or the batch and rows
        axes = [[1], [0, 2], [1, 3]][int(g.rng.integers(3))]
        reduced = tuple(1 if i in axes else d for i, d in enumerate(shape))
        mean = g.node(op, [x, g.const(np.array(axes), np.int64)], reduced, keepdims=1)
        g.tensors.pop()  # (scaling x back to its own shape: the convs take square images)
        g.node("Mul", [x, mean], shape)
    elif op in ("Add", "Concat"):
        other = g.same_shape(shape)
        if op == "Add":
            g.node("Add", [x, other], shape)
        else:
            g.node("Concat", [x, other], (1, 2 * c, h, w), axis=1)
    else:
        g.node(op, [x], shape)


FUNCTION_CNN_OPS = ["Conv"] * 4 + ["Exp", "Softplus", "Elu", "Selu", "Mish", "Log", "SiLU"]
FUNCTION_CNN_OPS += ["ReduceMean", "ReduceSum", "Add", "Concat", "Relu"]


def random_function_cnn(seed: int) -> onnx.ModelProto:
    """Image graphs of the ops ORT computes with Eigen's or MLAS's transcendental kernels (Exp,
    Log, Softplus, Elu, Selu), runs as an ONNX function body (Mish), or reduces in the order of
    its generic loop (ReduceMean and ReduceSum over a channel or over leading axes), between
    convs. (Not GroupNormalization: ONNX's shape inference gives its output no type, so ORT's
    quantizers leave every tensor after it float, and its QDQ quantizer stops at the bias of
    a conv reading one; `float_models.untyped_group_norm` is that case, ours and ORT's.)"""
    rng = np.random.default_rng(seed)
    c, h = int(rng.integers(2, 9)), int(rng.choice([5, 6, 8]))
    g = Graph(rng, tensors=[("x", (1, c, h, h))])
    for _ in range(int(rng.integers(3, 10))):
        _function_cnn_step(g)
    x, shape = g.tensors[-1]
    return g.model(x, shape, opset=21)


BUILDERS: dict[str, Callable[[int], onnx.ModelProto]] = {
    "cnn": random_cnn,
    "sequence": random_sequence,
    "wide_cnn": random_wide_cnn,
    "sequence_excluded": random_sequence,
    "varied_cnn": random_varied_cnn,
    "varied_sequence": random_varied_sequence,
    "function_cnn": random_function_cnn,
}
# kinds whose configs leave a third of the nodes out of quantization (`nodes_to_exclude`)
EXCLUDING = frozenset({"wide_cnn", "sequence_excluded"})
