"""Float ONNX models for the quantizer tests, beyond examples/onnx_models.py's four.

`transformer_ffn`: MatMul+Add, Relu, MatMul+Add and a residual Add (what ORT's quantizer sees
in a BERT layer's feed-forward part). `movement`: data-movement ops around convolutions
(Transpose, Reshape, Flatten, Squeeze/Unsqueeze, Concat, MaxPool, Pad, AveragePool) so the
shared-parameter rules are exercised. `activations`: Sigmoid, LeakyRelu, Mul (of two
activations and by a constant) and Softmax, which ORT quantizes as QLinearSigmoid /
QLinearLeakyRelu / QLinearMul / QLinearSoftmax (QOperator) or between Q/DQ pairs (QDQ).
`slicing`: Split, Slice, nearest Resize and a standalone BatchNormalization. `encoder_layer`: attention (MatMuls of two
activations), Softmax, LayerNormalization and an Erf-GELU.
"""

from __future__ import annotations

import functools

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def normal(rng: np.random.Generator, *shape: int, scale: float = 0.3) -> np.ndarray:
    """float32 weights: normals of that scale."""
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def onnx_model(nodes, x_shape, y_shape, weights: dict[str, np.ndarray]) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)],
        [numpy_helper.from_array(v, k) for k, v in weights.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)


def transformer_ffn(rng: np.random.Generator, tokens: int = 16, width: int = 32) -> onnx.ModelProto:
    weights = {
        "w1": (rng.standard_normal((width, 4 * width)) * 0.2).astype(np.float32),
        "b1": (rng.standard_normal(4 * width) * 0.1).astype(np.float32),
        "w2": (rng.standard_normal((4 * width, width)) * 0.1).astype(np.float32),
        "b2": (rng.standard_normal(width) * 0.1).astype(np.float32),
    }
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h0"], name="fc1"),
        helper.make_node("Add", ["h0", "b1"], ["h1"], name="fc1_bias"),
        helper.make_node("Relu", ["h1"], ["h2"], name="act"),
        helper.make_node("MatMul", ["h2", "w2"], ["h3"], name="fc2"),
        helper.make_node("Add", ["h3", "b2"], ["h4"], name="fc2_bias"),
        helper.make_node("Add", ["h4", "x"], ["y"], name="residual"),
    ]
    return onnx_model(nodes, [tokens, width], [tokens, width], weights)


def gpt2_mlp(rng: np.random.Generator, tokens: int = 16, width: int = 32) -> onnx.ModelProto:
    """GPT-2's MLP as its exporter writes it: c_fc, the tanh GELU (`gelu_new`: Pow by 3,
    Mul, Add, Mul, Tanh, Add, Mul, Mul), c_proj."""
    weights = {
        "w1": (rng.standard_normal((width, 4 * width)) * 0.2).astype(np.float32),
        "b1": (rng.standard_normal(4 * width) * 0.1).astype(np.float32),
        "w2": (rng.standard_normal((4 * width, width)) * 0.1).astype(np.float32),
        "b2": (rng.standard_normal(width) * 0.1).astype(np.float32),
        "three": np.array(3.0, np.float32),
        "k": np.array(0.044715, np.float32),
        "root": np.array(np.sqrt(2 / np.pi), np.float32),
        "one": np.array(1.0, np.float32),
        "half": np.array(0.5, np.float32),
    }
    steps = [
        ("MatMul", ["x", "w1"], "h0"),
        ("Add", ["h0", "b1"], "h"),
        ("Pow", ["h", "three"], "cube"),
        ("Mul", ["cube", "k"], "kc"),
        ("Add", ["h", "kc"], "inner"),
        ("Mul", ["inner", "root"], "scaled"),
        ("Tanh", ["scaled"], "t"),
        ("Add", ["t", "one"], "t1"),
        ("Mul", ["h", "half"], "hh"),
        ("Mul", ["hh", "t1"], "g"),
        ("MatMul", ["g", "w2"], "p0"),
        ("Add", ["p0", "b2"], "y"),
    ]
    nodes = [helper.make_node(op, ins, [out], name=f"n_{out}") for op, ins, out in steps]
    return onnx_model(nodes, [tokens, width], [tokens, width], weights)


def movement(rng: np.random.Generator, size: int = 12) -> onnx.ModelProto:
    weights = {
        "w1": (rng.standard_normal((8, 3, 3, 3)) * 0.3).astype(np.float32),
        "b1": (rng.standard_normal(8) * 0.1).astype(np.float32),
        "w2": (rng.standard_normal((8, 8, 1, 1)) * 0.3).astype(np.float32),
        "lo": np.array(0.0, np.float32),
        "hi": np.array(6.0, np.float32),
        "shape": np.array([1, 8, size, size], np.int64),
        "pads": np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64),
        "axes": np.array([0], np.int64),
        "wf": (rng.standard_normal((16 * ((size // 2 + 2) // 2) ** 2, 10)) * 0.05).astype(
            np.float32
        ),
    }
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
        helper.make_node("Clip", ["c1", "lo", "hi"], ["r1"], name="clip1"),
        helper.make_node("Transpose", ["r1"], ["t1"], perm=[0, 1, 3, 2], name="transpose"),
        helper.make_node("Reshape", ["t1", "shape"], ["s1"], name="reshape"),
        helper.make_node("Conv", ["s1", "w2"], ["c2"], name="conv2"),
        helper.make_node("Concat", ["c2", "r1"], ["cat"], axis=1, name="concat"),
        helper.make_node(
            "MaxPool", ["cat"], ["mp"], kernel_shape=[2, 2], strides=[2, 2], name="maxpool"
        ),
        helper.make_node("Pad", ["mp", "pads"], ["pd"], mode="constant", name="pad"),
        helper.make_node(
            "AveragePool", ["pd"], ["ap"], kernel_shape=[2, 2], strides=[2, 2], name="avgpool"
        ),
        helper.make_node("Squeeze", ["ap", "axes"], ["sq"], name="squeeze"),
        helper.make_node("Unsqueeze", ["sq", "axes"], ["us"], name="unsqueeze"),
        helper.make_node("Flatten", ["us"], ["fl"], name="flatten"),
        helper.make_node("MatMul", ["fl", "wf"], ["y"], name="head"),
    ]
    return onnx_model(nodes, [1, 3, size, size], [1, 10], weights)


def named_cnn(rng: np.random.Generator, size: int = 8) -> onnx.ModelProto:
    """conv1-relu1-conv2-relu2-pool-flatten-fc, nodes named as torch names the modules (what
    NNI's calibration config is keyed by once its speedup re-keys it to ONNX nodes)."""
    weights = {
        "conv1.weight": (rng.standard_normal((8, 3, 3, 3)) * 0.3).astype(np.float32),
        "conv1.bias": (rng.standard_normal(8) * 0.1).astype(np.float32),
        "conv2.weight": (rng.standard_normal((8, 8, 3, 3)) * 0.15).astype(np.float32),
        "conv2.bias": (rng.standard_normal(8) * 0.1).astype(np.float32),
        "fc.weight": (rng.standard_normal((4, 8)) * 0.3).astype(np.float32),
        "fc.bias": (rng.standard_normal(4) * 0.1).astype(np.float32),
    }
    conv = {"pads": [1, 1, 1, 1], "kernel_shape": [3, 3]}
    nodes = [
        helper.make_node("Conv", ["x", "conv1.weight", "conv1.bias"], ["c1"], "conv1", **conv),
        helper.make_node("Relu", ["c1"], ["r1"], "relu1"),
        helper.make_node("Conv", ["r1", "conv2.weight", "conv2.bias"], ["c2"], "conv2", **conv),
        helper.make_node("Relu", ["c2"], ["r2"], "relu2"),
        helper.make_node("GlobalAveragePool", ["r2"], ["g"], "pool"),
        helper.make_node("Flatten", ["g"], ["f"], "flatten"),
        helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["y"], "fc", transB=1),
    ]
    return onnx_model(nodes, [1, 3, size, size], [1, 4], weights)


def activations(rng: np.random.Generator, tokens: int = 6, width: int = 16) -> onnx.ModelProto:
    weights = {
        "w1": (rng.standard_normal((width, width)) * 0.3).astype(np.float32),
        "gain": (rng.standard_normal(width) * 0.5 + 1).astype(np.float32),
        "w2": (rng.standard_normal((width, 10)) * 0.3).astype(np.float32),
    }
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h"], name="fc1"),
        helper.make_node("Sigmoid", ["h"], ["gate"], name="sigmoid"),
        helper.make_node("LeakyRelu", ["h"], ["leaky"], alpha=0.1, name="leaky"),
        helper.make_node("Mul", ["gate", "leaky"], ["gated"], name="mul"),
        helper.make_node("Mul", ["gated", "gain"], ["scaled"], name="gain"),
        helper.make_node("MatMul", ["scaled", "w2"], ["logits"], name="fc2"),
        helper.make_node("Softmax", ["logits"], ["y"], axis=-1, name="softmax"),
    ]
    return onnx_model(nodes, [tokens, width], [tokens, 10], weights)


def erf_gelu_ffn(x: str) -> list[onnx.NodeProto]:
    """A feed-forward block as BERT exports it, from `x` to "h3": MatMul by w1, Add b1, the
    Erf-GELU spelled out (÷ root2, Erf, + one, × the input, × half), MatMul by w2."""
    node = helper.make_node
    return [
        node("MatMul", [x, "w1"], ["h0"], name="fc1"),
        node("Add", ["h0", "b1"], ["h1"], name="fc1_bias"),
        node("Div", ["h1", "root2"], ["e0"], name="gelu_scale"),
        node("Erf", ["e0"], ["e1"], name="erf"),
        node("Add", ["e1", "one"], ["e2"], name="gelu_one"),
        node("Mul", ["h1", "e2"], ["e3"], name="gelu_mul"),
        node("Mul", ["e3", "half"], ["h2"], name="gelu_half"),
        node("MatMul", ["h2", "w2"], ["h3"], name="fc2"),
    ]


def encoder_layer(
    rng: np.random.Generator, tokens: int = 8, width: int = 16, heads: int = 2
) -> onnx.ModelProto:
    """A transformer encoder layer as torch exports it: Q/K/V projections, heads by Reshape and
    Transpose, Q·Kᵀ (a MatMul of two activations), Div by √d, Softmax, ·V, the output
    projection and residual, LayerNormalization, an Erf-GELU feed-forward block, residual and
    LayerNormalization."""
    d = width // heads

    w = functools.partial(normal, rng)

    weights = {
        "wq": w(width, width), "wk": w(width, width), "wv": w(width, width),
        "wo": w(width, width), "w1": w(width, 2 * width), "b1": w(2 * width, scale=0.1),
        "w2": w(2 * width, width, scale=0.2), "g1": w(width, scale=0.2) + 1,
        "be1": w(width, scale=0.1), "g2": w(width, scale=0.2) + 1, "be2": w(width, scale=0.1),
        "heads": np.array([1, tokens, heads, d], np.int64),
        "merged": np.array([1, tokens, width], np.int64),
        "root_d": np.array(np.sqrt(d), np.float32), "root2": np.array(np.sqrt(2), np.float32),
        "one": np.array(1, np.float32), "half": np.array(0.5, np.float32),
    }  # fmt: skip
    node = helper.make_node
    nodes = [
        node("MatMul", ["x", "wq"], ["q0"], name="q"),
        node("MatMul", ["x", "wk"], ["k0"], name="k"),
        node("MatMul", ["x", "wv"], ["v0"], name="v"),
        node("Reshape", ["q0", "heads"], ["q1"], name="q_heads"),
        node("Reshape", ["k0", "heads"], ["k1"], name="k_heads"),
        node("Reshape", ["v0", "heads"], ["v1"], name="v_heads"),
        node("Transpose", ["q1"], ["q2"], perm=[0, 2, 1, 3], name="q_t"),
        node("Transpose", ["k1"], ["k2"], perm=[0, 2, 3, 1], name="k_t"),
        node("Transpose", ["v1"], ["v2"], perm=[0, 2, 1, 3], name="v_t"),
        node("MatMul", ["q2", "k2"], ["s0"], name="scores"),
        node("Div", ["s0", "root_d"], ["s1"], name="scale"),
        node("Softmax", ["s1"], ["p"], axis=-1, name="softmax"),
        node("MatMul", ["p", "v2"], ["c0"], name="context"),
        node("Transpose", ["c0"], ["c1"], perm=[0, 2, 1, 3], name="c_t"),
        node("Reshape", ["c1", "merged"], ["c2"], name="c_merge"),
        node("MatMul", ["c2", "wo"], ["o"], name="out"),
        node("Add", ["x", "o"], ["r1"], name="residual1"),
        node("LayerNormalization", ["r1", "g1", "be1"], ["n1"], axis=-1, name="ln1"),
        *erf_gelu_ffn("n1"),
        node("Add", ["n1", "h3"], ["r2"], name="residual2"),
        node("LayerNormalization", ["r2", "g2", "be2"], ["y"], axis=-1, name="ln2"),
    ]
    return onnx_model(nodes, [1, tokens, width], [1, tokens, width], weights)


def decomposed_encoder_layer(rng: np.random.Generator) -> onnx.ModelProto:
    """`encoder_layer` as exporters write it before opset 17 (opset 13): each
    LayerNormalization spelled ReduceMean, Sub, Pow by 2, ReduceMean, Add ε, Sqrt, Div, Mul γ,
    Add β. ONNX Runtime's quantizer leaves those float."""
    model = encoder_layer(rng)
    graph = model.graph
    graph.initializer.extend(
        [
            numpy_helper.from_array(np.array(2.0, np.float32), "two"),
            numpy_helper.from_array(np.array(1e-5, np.float32), "eps"),
        ]
    )
    nodes = []
    for n in graph.node:
        if n.op_type != "LayerNormalization":
            nodes.append(n)
            continue
        (x, gamma, beta), y, p = n.input, n.output[0], n.name
        steps = [
            ("ReduceMean", [x], f"{p}_mu", {"axes": [-1]}),
            ("Sub", [x, f"{p}_mu"], f"{p}_c", {}),
            ("Pow", [f"{p}_c", "two"], f"{p}_sq", {}),
            ("ReduceMean", [f"{p}_sq"], f"{p}_var", {"axes": [-1]}),
            ("Add", [f"{p}_var", "eps"], f"{p}_ve", {}),
            ("Sqrt", [f"{p}_ve"], f"{p}_sd", {}),
            ("Div", [f"{p}_c", f"{p}_sd"], f"{p}_n", {}),
            ("Mul", [f"{p}_n", gamma], f"{p}_s", {}),
            ("Add", [f"{p}_s", beta], y, {}),
        ]
        nodes += [helper.make_node(op, ins, [out], name=f"{p}_{op.lower()}_{out}", **attrs)
                  for op, ins, out, attrs in steps]  # fmt: skip
    del graph.node[:]
    graph.node.extend(nodes)
    model.opset_import[0].version = 13
    return model


def squeeze_excitation(rng: np.random.Generator, size: int = 10) -> onnx.ModelProto:
    """An EfficientNet block: conv and SiLU (Sigmoid, Mul), the squeeze as a ReduceMean over
    H and W (a float op ORT's quantizer leaves float), two 1x1 convs and a Sigmoid gate that
    scales the channels (a broadcast Mul), a projecting conv."""

    w = functools.partial(normal, rng)

    weights = {
        "w1": w(16, 8, 3, 3), "b1": w(16, scale=0.1), "ws1": w(4, 16, 1, 1),
        "bs1": w(4, scale=0.1), "ws2": w(16, 4, 1, 1), "bs2": w(16, scale=0.1),
        "w2": w(8, 16, 1, 1), "hw": np.array([2, 3], np.int64),
    }  # fmt: skip
    node = helper.make_node
    nodes = [
        node("Conv", ["x", "w1", "b1"], ["c"], pads=[1, 1, 1, 1], name="conv"),
        node("Sigmoid", ["c"], ["cs"], name="silu_gate"),
        node("Mul", ["c", "cs"], ["a"], name="silu"),
        node("ReduceMean", ["a", "hw"], ["sq"], keepdims=1, name="squeeze"),
        node("Conv", ["sq", "ws1", "bs1"], ["e1"], name="reduce"),
        node("Relu", ["e1"], ["e2"], name="reduce_relu"),
        node("Conv", ["e2", "ws2", "bs2"], ["e3"], name="expand"),
        node("Sigmoid", ["e3"], ["gate"], name="gate"),
        node("Mul", ["a", "gate"], ["scaled"], name="excite"),
        node("Conv", ["scaled", "w2"], ["y"], name="project"),
    ]
    model = onnx_model(nodes, [1, 8, size, size], [1, 8, size, size], weights)
    model.opset_import[0].version = 18  # ReduceMean's axes as an input
    return model


def slicing(rng: np.random.Generator, size: int = 8) -> onnx.ModelProto:
    """Split, Slice and nearest Resize between convolutions (a UNet's moves), which ORT's QDQ
    quantizer quantizes as data movement sharing the input's parameters (QDQSplit,
    QDQDirect8BitOp, QDQResize) and its QOperator quantizer as QSplit and QResize, leaving
    Slice float; and a BatchNormalization no conv precedes (QDQNormalization: int8 scale,
    int32 bias; float in QOperator form)."""
    weights = {
        "w1": (rng.standard_normal((8, 3, 3, 3)) * 0.3).astype(np.float32),
        "b1": (rng.standard_normal(8) * 0.1).astype(np.float32),
        "w2": (rng.standard_normal((6, 4, 1, 1)) * 0.3).astype(np.float32),
        "w3": (rng.standard_normal((4, 10, 3, 3)) * 0.2).astype(np.float32),
        "starts": np.array([1, 0], np.int64),
        "ends": np.array([-1, 100], np.int64),
        "axes": np.array([2, 3], np.int64),
        "steps": np.array([1, 2], np.int64),
        "sizes": np.array([4, 4], np.int64),
        "scales": np.array([1, 1, 2, 2], np.float32),
        "roi": np.array([], np.float32),
        "bn_gamma": (rng.standard_normal(10) * 0.3 + 1).astype(np.float32),
        "bn_beta": (rng.standard_normal(10) * 0.2).astype(np.float32),
        "bn_running_mean": (rng.standard_normal(10) * 0.2).astype(np.float32),
        "bn_running_var": (rng.random(10) + 0.5).astype(np.float32),
    }
    node = helper.make_node
    nodes = [
        node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
        node("Relu", ["c1"], ["r1"], name="relu1"),
        node("Split", ["r1", "sizes"], ["a", "b"], axis=1, name="split"),
        node("Slice", ["b", "starts", "ends", "axes", "steps"], ["s"], name="slice"),
        node("MaxPool", ["a"], ["p"], kernel_shape=[2, 2], strides=[2, 2], name="pool"),
        node("Conv", ["p", "w2"], ["c2"], name="conv2"),
        node("Resize", ["c2", "roi", "scales"], ["u"], mode="nearest", name="resize"),
        node("Concat", ["u", "b"], ["cat"], axis=1, name="concat"),
        node(
            "BatchNormalization",
            ["cat", "bn_gamma", "bn_beta", "bn_running_mean", "bn_running_var"],
            ["bn"],
            name="bn",
        ),
        node("Conv", ["bn", "w3"], ["c3"], pads=[1, 1, 1, 1], name="conv3"),
        node("Slice", ["c3", "starts", "ends", "axes", "steps"], ["s3"], name="slice3"),
        node("Add", ["s3", "s"], ["y"], name="add"),
    ]
    return onnx_model(nodes, [1, 3, size, size], [1, 4, size - 2, size // 2], weights)


def mixed_consumers(rng: np.random.Generator, size: int = 8) -> onnx.ModelProto:
    """Tensors read by quantized and float nodes alike: a HardSwish (no quantized kernel in
    ORT's registries, so float) feeds a 1x1 conv, a Sub and a GlobalAveragePool; the input
    feeds a conv and the Sub too. QOperator hands the float consumers the float tensors and
    leaves the pool float (its input is not quantized); QDQ gives every reader the pair."""

    w = functools.partial(normal, rng)

    weights = {"w1": w(8, 8, 3, 3), "b1": w(8, scale=0.1), "w2": w(8, 8, 1, 1)}
    node = helper.make_node
    nodes = [
        node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
        node("HardSwish", ["c1"], ["a"], name="hswish"),
        node("Conv", ["a", "w2"], ["c2"], name="conv2"),
        node("Sub", ["a", "c2"], ["d"], name="sub"),
        node("Sub", ["d", "x"], ["e"], name="sub_input"),
        node("GlobalAveragePool", ["a"], ["g"], name="gap"),
        node("Mul", ["e", "g"], ["y"], name="scale"),
    ]
    return onnx_model(nodes, [1, 8, size, size], [1, 8, size, size], weights)


def mixed_precision(rng: np.random.Generator, size: int = 8) -> onnx.ModelProto:
    """Tensors with several readers for TensorQuantOverrides' `convert`: a Relu's output read
    by a conv and a Transpose (which shares the parameters it reads), and an AveragePool (its
    output shares its input's parameters) that a test may leave float: opset 21, which a 16-bit
    type brings, changes how ORT sums it."""
    w = functools.partial(normal, rng)
    weights = {"w1": w(8, 8, 3, 3), "b1": w(8, scale=0.1), "w2": w(8, 8, 1, 1)}
    weights["b2"] = w(8, scale=0.1)
    node = helper.make_node
    nodes = [
        node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
        node("Relu", ["c1"], ["r1"], name="relu1"),
        node("Conv", ["r1", "w2", "b2"], ["c2"], name="conv2"),
        node("Transpose", ["r1"], ["t"], perm=[0, 1, 3, 2], name="transpose"),
        node("Add", ["c2", "t"], ["s"], name="add"),
        node("Sigmoid", ["s"], ["g"], name="sigmoid"),
        node("AveragePool", ["g"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], name="pool"),
    ]
    return onnx_model(nodes, [1, 8, size, size], [1, 8, size, size], weights)


def identity_between(rng: np.random.Generator, size: int = 8) -> onnx.ModelProto:
    """An Identity between a conv and the Relu before another conv, and one before the graph
    output: ORT's quantizers see each Identity's output as another tensor, so the Relu reads a
    float tensor (QOperator keeps it, and quantizes its output for the conv)."""
    w = functools.partial(normal, rng)
    weights = {"w1": w(8, 8, 3, 3), "b1": w(8, scale=0.1), "w2": w(8, 8, 1, 1)}
    node = helper.make_node
    nodes = [
        node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
        node("Identity", ["c1"], ["c1b"], name="identity"),
        node("Relu", ["c1b"], ["r"], name="relu"),
        node("Conv", ["r", "w2"], ["c2"], name="conv2"),
        node("Add", ["c2", "c1"], ["s"], name="add"),
        node("Identity", ["s"], ["y"], name="output"),
    ]
    return onnx_model(nodes, [1, 8, size, size], [1, 8, size, size], weights)


def conv_output_node(op_type: str):
    """A conv whose output a last Identity or Cast (to FLOAT) gives the graph: ORT's optimizer
    keeps that node where the conv's output has another reader (a converted pair)."""

    def build(rng: np.random.Generator, size: int = 8) -> onnx.ModelProto:
        w = functools.partial(normal, rng)
        weights = {"w1": w(8, 8, 3, 3), "b1": w(8, scale=0.1)}
        last = {"to": TensorProto.FLOAT} if op_type == "Cast" else {}
        nodes = [
            helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
            helper.make_node(op_type, ["c1"], ["y"], name="output", **last),
        ]
        return onnx_model(nodes, [1, 8, size, size], [1, 8, size, size], weights)

    return build


def shared_activation_input(rng: np.random.Generator, size: int = 8) -> onnx.ModelProto:
    """A conv output read by a Relu, a Clip and the residual Add: its range is not narrowed to
    theirs (it has three readers). QDQ keeps both activations; ORT's QOperator quantizer drops
    them anyway (`QuantizeClipRelu`: the readers take the conv's quantized output), so its
    model computes no clip; a Relu of the graph input, before anything quantizes it, stays."""
    w = functools.partial(normal, rng)
    weights = {"w1": w(8, 8, 3, 3), "b1": w(8, scale=0.1), "w2": w(8, 8, 1, 1), "w3": w(8, 8, 1, 1)}
    weights |= {"lo": np.array(-0.5, np.float32), "hi": np.array(0.75, np.float32)}
    node = helper.make_node
    nodes = [
        node("Relu", ["x"], ["rx"], name="relu_input"),
        node("Conv", ["rx", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
        node("Relu", ["c1"], ["r"], name="relu"),
        node("Clip", ["c1", "lo", "hi"], ["k"], name="clip"),
        node("Conv", ["r", "w2"], ["c2"], name="conv2"),
        node("Conv", ["k", "w3"], ["c3"], name="conv3"),
        node("Add", ["c2", "c3"], ["s"], name="add"),
        node("Add", ["s", "c1"], ["y"], name="residual"),
    ]
    return onnx_model(nodes, [1, 8, size, size], [1, 8, size, size], weights)


def split_readers(rng: np.random.Generator, size: int = 8) -> onnx.ModelProto:
    """A tensor read by a Split (one node, two slices here), a Reshape and a Sub (not an op
    type quantize_static quantizes): DedicatedQDQPair gives the Split one pair and the Reshape
    one; the Sub reads the float tensor."""
    w = functools.partial(normal, rng)
    weights = {"w1": w(8, 8, 3, 3), "b1": w(8, scale=0.1), "w2": w(4, 4, 1, 1), "w3": w(8, 8, 1, 1)}
    weights |= {"half": np.array([4, 4], np.int64), "flat": np.array([1, 8, size * size, 1]),
                "back": np.array([1, 8, size, size]), "off": w(1, 8, 1, 1)}  # fmt: skip
    node = helper.make_node
    nodes = [
        node("Conv", ["x", "w1", "b1"], ["c"], pads=[1, 1, 1, 1], name="conv"),
        node("LeakyRelu", ["c"], ["t"], name="leaky"),
        node("Split", ["t", "half"], ["a", "b"], axis=1, name="split"),
        node("Reshape", ["t", "flat"], ["f"], name="flatten"),
        node("Reshape", ["f", "back"], ["u"], name="unflatten"),
        node("Sub", ["t", "off"], ["d"], name="shift"),
        node("Conv", ["a", "w2"], ["ca"], name="conv_a"),
        node("Concat", ["ca", "b"], ["cat"], axis=1, name="concat"),
        node("Conv", ["u", "w3"], ["cu"], name="conv_u"),
        node("Add", ["cat", "cu"], ["s"], name="add"),
        node("Mul", ["s", "d"], ["y"], name="gate"),
    ]
    return onnx_model(nodes, [1, 8, size, size], [1, 8, size, size], weights)


def projection_head(rng: np.random.Generator, tokens: int = 8, width: int = 32) -> onnx.ModelProto:
    """Tokens through a MatMul and a GELU-like gate to a last MatMul whose float result is the
    output: with MatMul outputs excluded from quantization ORT's session computes the last one
    as MatMulIntegerToFloat (an int32 sum scaled in float), not as the float simulation."""
    weights = {
        "w1": (rng.standard_normal((width, 2 * width)) * 0.2).astype(np.float32),
        "w2": (rng.standard_normal((2 * width, 10)) * 0.2).astype(np.float32),
    }
    node = helper.make_node
    nodes = [
        node("MatMul", ["x", "w1"], ["h"], name="fc1"),
        node("Sigmoid", ["h"], ["g"], name="gate"),
        node("Mul", ["h", "g"], ["a"], name="swish"),
        node("MatMul", ["a", "w2"], ["y"], name="fc2"),
    ]
    return onnx_model(nodes, [1, tokens, width], [1, tokens, 10], weights)


def doubled_input(rng: np.random.Generator, size: int = 6) -> onnx.ModelProto:
    """A Concat reading one tensor twice and a Sub (a type quantize_static leaves float)
    reading it too: with DedicatedQDQPair ORT lists the Concat as two receivers, so it takes
    the dedicated path: the Concat gets a pair, the Sub the float tensor."""
    w = functools.partial(normal, rng)
    weights = {
        "w1": w(8, 8, 1, 1),
        "b1": w(8, scale=0.1),
        "w2": w(8, 16, 1, 1),
        "b2": w(8, scale=0.1),
    }
    node = helper.make_node
    nodes = [
        node("Conv", ["x", "w1", "b1"], ["t"], name="conv1"),
        node("Concat", ["t", "t"], ["c"], axis=1, name="twice"),
        node("Conv", ["c", "w2", "b2"], ["u"], name="conv2"),
        node("Sub", ["u", "t"], ["y"], name="difference"),
    ]
    return onnx_model(nodes, [1, 8, size, size], [1, 8, size, size], weights)


def gathered_scores(rng: np.random.Generator, tokens: int = 8, width: int = 6) -> onnx.ModelProto:
    """Softmax scores of which a Gather at constant indices keeps two rows: one node reads
    the scores, however many ops the importer writes for it (ORT then fuses the Softmax)."""
    weights = {
        "w": (rng.standard_normal((width, width)) * 0.5).astype(np.float32),
        "rows": np.array([0, tokens - 1], np.int64),
    }
    node = helper.make_node
    nodes = [
        node("MatMul", ["x", "w"], ["s"], name="scores"),
        node("Softmax", ["s"], ["p"], axis=-1, name="softmax"),
        node("Gather", ["p", "rows"], ["y"], axis=1, name="pick"),
    ]
    return onnx_model(nodes, [1, tokens, width], [1, 2, width], weights)


def class_token(rng: np.random.Generator, tokens: int = 5, width: int = 16) -> onnx.ModelProto:
    """A ViT head: a token projection, the class token taken out with Gather (`t[:, 0]`),
    two chosen tokens gathered too and flattened, a classifier on each, summed. QDQ leaves a
    Gather of activations float; QOperator quantizes it (its output shares the input's
    parameters)."""
    weights = {
        "w1": (rng.standard_normal((width, width)) * 0.3).astype(np.float32),
        "b1": (rng.standard_normal(width) * 0.1).astype(np.float32),
        "w2": (rng.standard_normal((width, 4)) * 0.3).astype(np.float32),
        "w3": (rng.standard_normal((2 * width, 4)) * 0.3).astype(np.float32),
        "first": np.array(0, np.int64),
        "pair": np.array([3, -1], np.int64),
    }
    node = helper.make_node
    nodes = [
        node("MatMul", ["x", "w1"], ["p0"], name="proj"),
        node("Add", ["p0", "b1"], ["p"], name="proj_bias"),
        node("Gather", ["p", "first"], ["cls"], axis=1, name="cls_token"),
        node("Gather", ["p", "pair"], ["two"], axis=1, name="pair_tokens"),
        node("Flatten", ["two"], ["flat"], axis=1, name="flatten"),
        node("MatMul", ["cls", "w2"], ["y1"], name="head"),
        node("MatMul", ["flat", "w3"], ["y2"], name="pair_head"),
        node("Add", ["y1", "y2"], ["y"], name="logits"),
    ]
    return onnx_model(nodes, [1, tokens, width], [1, 4], weights)


def constant_nodes(rng: np.random.Generator, tokens: int = 16, width: int = 32) -> onnx.ModelProto:
    """Constants written as nodes, as PyTorch exports them: a Constant scalar factor, an
    attention-style scale Pow(Constant, Constant) = d ** -0.5 the importer folds, and an
    Expand of a Constant row. ONNX Runtime's calibrator observes every one of those node
    outputs (they are not initializers)."""
    weights = {"w": (rng.standard_normal((width, width)) * 0.3).astype(np.float32)}
    node = helper.make_node

    def const(name: str, value: np.ndarray) -> onnx.NodeProto:
        return node("Constant", [], [name], value=numpy_helper.from_array(value, name), name=name)

    nodes = [
        const("half", np.array(0.5, np.float32)),
        const("d", np.array(float(width), np.float32)),
        const("minus_half", np.array(-0.5, np.float32)),
        const("row", (rng.standard_normal((1, width)) * 0.1).astype(np.float32)),
        const("rows", np.array([tokens, width], np.int64)),
        node("MatMul", ["x", "w"], ["m"], name="proj"),
        node("Mul", ["m", "half"], ["h"], name="halve"),
        node("Pow", ["d", "minus_half"], ["scale"], name="scale"),
        node("Mul", ["h", "scale"], ["s"], name="scaled"),
        node("Expand", ["row", "rows"], ["bias"], name="expand"),
        node("Add", ["s", "bias"], ["a"], name="shift"),
        node("Relu", ["a"], ["y"], name="act"),
    ]
    return onnx_model(nodes, [tokens, width], [tokens, width], weights)


def shape_from_constants(rng: np.random.Generator, tokens: int = 16, width: int = 32):
    """A reshape whose shape is float arithmetic on Constant nodes (MobileViT's patch count:
    Ceil(4.0) * 2.0, then Cast to INT64 and Div): ORT's quantizer puts Q/DQ pairs on those
    float node outputs (a QLinearMul in QOperator form), which the importer folds as shape
    arithmetic."""
    weights = {"w": (rng.standard_normal((width, width)) * 0.3).astype(np.float32)}
    node = helper.make_node

    def const(name: str, value: np.ndarray) -> onnx.NodeProto:
        return node("Constant", [], [name], value=numpy_helper.from_array(value, name), name=name)

    nodes = [
        const("four", np.array(4.0, np.float32)),
        const("two", np.array(2.0, np.float32)),
        const("half", np.array(2, np.int64)),
        const("head", np.array([1], np.int64)),
        const("axis0", np.array([0], np.int64)),
        const("rest", np.array([-1], np.int64)),
        node("Ceil", ["four"], ["ceil"], name="ceil"),
        node("Mul", ["ceil", "two"], ["patches"], name="patches"),
        node("Cast", ["patches"], ["count"], to=TensorProto.INT64, name="count"),
        node("Div", ["count", "half"], ["groups"], name="groups"),
        node("Unsqueeze", ["groups", "axis0"], ["dims"], name="dims"),
        node("Concat", ["head", "dims", "rest"], ["shape"], axis=0, name="shape"),
        node("MatMul", ["x", "w"], ["m"], name="proj"),
        node("Reshape", ["m", "shape"], ["r"], name="split"),
        node("Softmax", ["r"], ["s"], axis=-1, name="softmax"),
        node("Reshape", ["s", "back"], ["y"], name="merge"),
    ]
    weights["back"] = np.array([tokens, width], np.int64)
    return onnx_model(nodes, [tokens, width], [tokens, width], weights)


def bicubic(rng: np.random.Generator) -> onnx.ModelProto:
    """`bilinear` with a cubic Resize (Keys' a = -0.5, exclude_outside): ORT's quantizers treat
    it as any Resize (its output shares its input's parameters)."""
    model = bilinear(rng)
    resize = next(node for node in model.graph.node if node.op_type == "Resize")
    del resize.attribute[:]
    resize.attribute.extend(
        [
            helper.make_attribute("mode", "cubic"),
            helper.make_attribute("cubic_coeff_a", -0.5),
            helper.make_attribute("exclude_outside", 1),
        ]
    )
    return model


def bilinear(rng: np.random.Generator, size: int = 6) -> onnx.ModelProto:
    """A segmentation head: convolutions around a bilinear Resize to a size that is no whole
    multiple (half_pixel, from `sizes`), which ORT's QDQ quantizer quantizes as data movement
    (QDQResize: the output shares the input's parameters) and runs between its Q/DQ pair in
    float; its QOperator quantizer as QResize, resizing the stored uint8 values."""
    w = functools.partial(normal, rng)
    weights = {
        "w1": w(4, 3, 3, 3),
        "b1": w(4, scale=0.1),
        "w2": w(2, 4, 1, 1),
        "roi": np.array([], np.float32),
        "sizes": np.array([1, 4, 2 * size + 3, 2 * size - 1], np.int64),
    }
    node = helper.make_node
    nodes = [
        node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
        node("Relu", ["c1"], ["r1"], name="relu1"),
        node("Resize", ["r1", "roi", "", "sizes"], ["up"], mode="linear", name="resize"),
        node("Conv", ["up", "w2"], ["y"], name="conv2"),
    ]
    return onnx_model(nodes, [1, 3, size, size], [1, 2, 2 * size + 3, 2 * size - 1], weights)


def conv1d(rng: np.random.Generator, length: int = 20) -> onnx.ModelProto:
    """Audio-style 1-D convolutions (Whisper's and wav2vec2's feature stems): a padded conv
    with bias and Relu, then a strided grouped one. ORT quantizes them as any Conv
    (QLinearConv on rank-3 tensors); we run each as a 2-D conv over a height of 1."""
    w = functools.partial(normal, rng)
    weights = {"w1": w(8, 4, 3), "b1": w(8, scale=0.1), "w2": w(6, 4, 5), "b2": w(6, scale=0.1)}
    node = helper.make_node
    nodes = [
        node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1], name="conv1"),
        node("Relu", ["c1"], ["r1"], name="relu1"),
        node("Conv", ["r1", "w2", "b2"], ["y"], strides=[2], pads=[2, 2], group=2, name="conv2"),
    ]
    return onnx_model(nodes, [1, 4, length], [1, 6, length // 2], weights)


def pools_1d(rng: np.random.Generator, length: int = 24) -> onnx.ModelProto:
    """A 1-D CNN (text and audio classifiers): 1-D convs between a MaxPool, a padded
    AveragePool and a GlobalAveragePool over rank-3 tensors. ORT quantizes the pools as any
    pool (MaxPool sharing its input's parameters, QLinearAveragePool, QLinearGlobalAveragePool);
    we run each as the 2-D pool over a height of 1."""
    w = functools.partial(normal, rng)
    weights = {"w1": w(8, 4, 3), "b1": w(8, scale=0.1), "w2": w(6, 8, 3), "w3": w(5, 6, 1)}
    node = helper.make_node
    nodes = [
        node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1], name="conv1"),
        node("Relu", ["c1"], ["r1"], name="relu1"),
        node("MaxPool", ["r1"], ["p1"], kernel_shape=[2], strides=[2], name="max"),
        node("Conv", ["p1", "w2"], ["c2"], pads=[1, 1], name="conv2"),
        node("AveragePool", ["c2"], ["p2"], kernel_shape=[3], pads=[1, 1], name="avg"),
        node("GlobalAveragePool", ["p2"], ["g"], name="global"),
        node("Conv", ["g", "w3"], ["y"], name="conv3"),
    ]
    return onnx_model(nodes, [1, 4, length], [1, 5, 1], weights)


def matmul_shapes(rng: np.random.Generator) -> onnx.ModelProto:
    """MatMuls of vectors, as ONNX multiplies them: a 1-D input (a matrix of one row whose axis
    the result drops) and a 1-D weight (one column)."""
    weights = {"w1": normal(rng, 16, 8), "w2": normal(rng, 8)}
    node = helper.make_node
    nodes = [
        node("Flatten", ["x"], ["f"], axis=0, name="flatten"),
        node("Reshape", ["f", "row"], ["v"], name="row"),
        node("MatMul", ["v", "w1"], ["m1"], name="vector_input"),
        node("Relu", ["m1"], ["r1"], name="relu"),
        node("MatMul", ["r1", "w2"], ["y"], name="vector_weight"),
    ]
    weights["row"] = np.array([16], np.int64)
    return onnx_model(nodes, [1, 16], [], weights)


def untyped_gelu(rng: np.random.Generator) -> onnx.ModelProto:
    """An MLP with ORT's contrib Gelu (com.microsoft, as its optimizer writes it): ONNX's
    shape inference gives its output, and so everything after it, no type. ORT's calibrator
    skips those tensors and its QDQ quantizer leaves them float ("failed to infer the type"):
    the second MatMul reads a float input and a dequantized weight."""
    weights = {"w1": normal(rng, 8, 16), "w2": normal(rng, 16, 4)}
    node = helper.make_node
    nodes = [
        node("MatMul", ["x", "w1"], ["m1"], name="mm1"),
        node("Gelu", ["m1"], ["g"], name="gelu", domain="com.microsoft"),
        node("MatMul", ["g", "w2"], ["m2"], name="mm2"),
        node("Relu", ["m2"], ["y"], name="relu"),
    ]
    model = onnx_model(nodes, [3, 8], [3, 4], weights)
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return model


def untyped_group_norm(rng: np.random.Generator, size: int = 6) -> onnx.ModelProto:
    """A diffusion-style block, conv, GroupNormalization (opset 21, whose output ONNX's shape
    inference leaves untyped), conv, Relu, conv: ORT's QDQ quantizer quantizes only the first
    conv, the later convs' weights and the typed graph output; its QOperator quantizer the
    first conv alone."""
    w = functools.partial(normal, rng)
    weights = {
        "w1": w(4, 3, 3, 3),
        "b1": w(4, scale=0.1),
        "gamma": (1 + w(4, scale=0.2)).astype(np.float32),
        "beta": w(4, scale=0.2),
        "w2": w(4, 4, 3, 3),
        "w3": w(2, 4, 1, 1),
    }
    node = helper.make_node
    nodes = [
        node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
        node("GroupNormalization", ["c1", "gamma", "beta"], ["n"], num_groups=2, name="norm"),
        node("Conv", ["n", "w2"], ["c2"], pads=[1, 1, 1, 1], name="conv2"),
        node("Relu", ["c2"], ["r"], name="relu"),
        node("Conv", ["r", "w3"], ["y"], name="conv3"),
    ]
    model = onnx_model(nodes, [1, 3, size, size], [1, 2, size, size], weights)
    model.opset_import[0].version = 21
    model.ir_version = 10
    return model


def lrn_stem(rng: np.random.Generator, size: int = 8) -> onnx.ModelProto:
    """GoogLeNet's and AlexNet's stem: conv, Relu, MaxPool, LRN, conv. ORT's quantizers leave
    LRN float (in no registry): the QDQ model dequantizes before it and quantizes after."""
    w = functools.partial(normal, rng)
    weights = {"w1": w(8, 3, 3, 3), "b1": w(8, scale=0.1), "w2": w(4, 8, 1, 1)}
    node = helper.make_node
    nodes = [
        node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
        node("Relu", ["c1"], ["r1"], name="relu1"),
        node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2], name="pool1"),
        node("LRN", ["p1"], ["n1"], size=5, alpha=1e-4, beta=0.75, bias=1.0, name="norm1"),
        node("Conv", ["n1", "w2"], ["y"], name="conv2"),
    ]
    return onnx_model(nodes, [1, 3, size, size], [1, 4, size // 2, size // 2], weights)


def composed_head(rng: np.random.Generator, tokens: int = 6, width: int = 16) -> onnx.ModelProto:
    """A causal scorer and a classifier: Softsign, a MatMul of two activations, Trilu's lower
    triangle, ThresholdedRelu, MatMul, LogSoftmax. ORT's quantizers leave the four ops the
    importer writes as several exact ones (`compositions`) or as a log softmax float; the
    MatMuls around them quantize."""
    w = functools.partial(normal, rng)
    weights = {"w1": w(width, width), "b1": w(width, scale=0.1), "w2": w(width, 10)}
    node = helper.make_node
    nodes = [
        node("MatMul", ["x", "w1"], ["h0"], name="fc1"),
        node("Add", ["h0", "b1"], ["h1"], name="fc1_bias"),
        node("Softsign", ["h1"], ["s"], name="softsign"),
        node("Transpose", ["s"], ["st"], perm=[1, 0], name="keys"),
        node("MatMul", ["s", "st"], ["scores"], name="scores"),
        node("Trilu", ["scores"], ["causal"], upper=0, name="causal"),
        node("ThresholdedRelu", ["causal"], ["kept"], alpha=0.05, name="threshold"),
        node("MatMul", ["kept", "s"], ["mixed"], name="mix"),
        node("MatMul", ["mixed", "w2"], ["logits"], name="fc2"),
        node("LogSoftmax", ["logits"], ["y"], axis=-1, name="log_probs"),
    ]
    return onnx_model(nodes, [tokens, width], [tokens, 10], weights)


def optimized_ffn(rng: np.random.Generator, tokens: int = 8, width: int = 32) -> onnx.ModelProto:
    """A BERT feed-forward block as ORT's transformer optimizer writes it: MatMul, FastGelu
    with its bias, MatMul, SkipLayerNormalization (the residual, the bias, the norm). ORT's
    quantizers quantize the MatMuls and leave the two contrib ops float; ONNX's shape
    inference gives FastGelu's output no type, so the second MatMul reads an untyped tensor
    (as `untyped_gelu`'s)."""
    w = functools.partial(normal, rng)
    weights = {
        "w1": w(width, 2 * width),
        "b1": w(2 * width, scale=0.1),
        "w2": w(2 * width, width),
        "b2": w(width, scale=0.1),
        "gamma": (1 + w(width, scale=0.2)).astype(np.float32),
        "beta": w(width, scale=0.2),
    }
    node = functools.partial(helper.make_node, domain="com.microsoft")
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h0"], name="fc1"),
        node("FastGelu", ["h0", "b1"], ["h1"], name="gelu"),
        helper.make_node("MatMul", ["h1", "w2"], ["h2"], name="fc2"),
        node("SkipLayerNormalization", ["h2", "x", "gamma", "beta", "b2"], ["y"], name="norm"),
    ]
    model = onnx_model(nodes, [tokens, width], [tokens, width], weights)
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return model


def instance_norm(rng: np.random.Generator, size: int = 6) -> onnx.ModelProto:
    """A style-transfer / wav2vec2 GroupNorm block: conv, InstanceNormalization with a
    learned scale and bias, Relu, conv. ORT's QDQ quantizer quantizes the normalization as
    `QDQNormalization` (input, scale as a weight, bias as int32, output) and runs it in float
    between the pairs; its QOperator quantizer leaves it float."""
    w = functools.partial(normal, rng)
    weights = {
        "w1": w(6, 3, 3, 3),
        "b1": w(6, scale=0.1),
        "gamma": (1 + w(6, scale=0.2)).astype(np.float32),
        "beta": w(6, scale=0.2),
        "w2": w(4, 6, 1, 1),
    }
    node = helper.make_node
    nodes = [
        node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
        node("InstanceNormalization", ["c1", "gamma", "beta"], ["n1"], epsilon=1e-5, name="norm"),
        node("Relu", ["n1"], ["r1"], name="relu"),
        node("Conv", ["r1", "w2"], ["y"], name="conv2"),
    ]
    return onnx_model(nodes, [1, 3, size, size], [1, 4, size, size], weights)


def conv_transpose(rng: np.random.Generator, size: int = 5) -> onnx.ModelProto:
    """A UNet / segmentation decoder's upsampling: conv, Relu, a stride-2 ConvTranspose with
    bias and output_padding, Relu, conv. ORT's QDQ quantizer quantizes the ConvTranspose as
    `QDQConv` (weight per channel along axis 1) and runs it in float between the pairs; its
    QOperator quantizer leaves it float."""
    w = functools.partial(normal, rng)
    weights = {
        "w1": w(6, 3, 3, 3),
        "b1": w(6, scale=0.1),
        "wt": w(6, 4, 3, 3),
        "bt": w(4, scale=0.1),
        "w2": w(2, 4, 1, 1),
    }
    node = helper.make_node
    nodes = [
        node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
        node("Relu", ["c1"], ["r1"], name="relu1"),
        node(
            "ConvTranspose",
            ["r1", "wt", "bt"],
            ["up"],
            strides=[2, 2],
            pads=[1, 1, 1, 1],
            output_padding=[1, 1],
            name="up",
        ),  # fmt: skip
        node("Relu", ["up"], ["r2"], name="relu2"),
        node("Conv", ["r2", "w2"], ["y"], name="conv2"),
    ]
    return onnx_model(nodes, [1, 3, size, size], [1, 2, 2 * size, 2 * size], weights)


def conv_transpose_1d(rng: np.random.Generator, length: int = 9) -> onnx.ModelProto:
    """A vocoder's upsampler (HiFi-GAN): conv, LeakyRelu, a stride-4 1-D ConvTranspose with
    bias, then a conv. Between a QOperator model's pairs the ConvTranspose stays float, and
    ORT's session quantizes its weight and bias (WeightBiasQuantization) as for 2-D ones."""
    w = functools.partial(normal, rng)
    weights = {
        "w1": w(8, 3, 3),
        "b1": w(8, scale=0.1),
        "wt": w(8, 4, 8),
        "bt": w(4, scale=0.1),
        "w2": w(2, 4, 1),
    }
    node = helper.make_node
    nodes = [
        node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1], name="conv1"),
        node("LeakyRelu", ["c1"], ["r1"], alpha=0.1, name="leaky1"),
        node("ConvTranspose", ["r1", "wt", "bt"], ["up"], strides=[4], pads=[2, 2], name="up"),
        node("Conv", ["up", "w2"], ["y"], name="conv2"),
    ]
    return onnx_model(nodes, [1, 3, length], [1, 2, 4 * length], weights)


def tiny_weights(rng: np.random.Generator, size: int = 6) -> onnx.ModelProto:
    """ORT's test_qoperator_adjust_int32_bias: a 1x1 conv whose weights (±1e-7) are far
    smaller than its bias (5, -4.5), then a second conv. With int8 weights (zero point 0) the
    int32 bias would clip at input_scale · weight_scale; both of ORT's quantizers raise that
    weight's scale until the bias fits."""
    signs = np.where(np.arange(8 * 3) % 2 == 0, 1.0, -1.0).reshape(8, 3, 1, 1)
    weights = {
        "w1": (signs * 1e-7).astype(np.float32),
        "b1": np.tile(np.array([5.0, -4.5], np.float32), 4),
        "w2": normal(rng, 2, 8, 1, 1),
    }
    node = helper.make_node
    nodes = [
        node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1"),
        node("Conv", ["c1", "w2"], ["y"], name="conv2"),
    ]
    return onnx_model(nodes, [1, 3, size, size], [1, 2, size, size], weights)


def where_select(rng: np.random.Generator, size: int = 6) -> onnx.ModelProto:
    """Where choosing, by a run-time comparison, between a conv's output and a float tensor
    no quantized node reads (x halved), as the graph's output. ORT quantizes the Where only
    with ForceQuantizeNoInputCheck (QDQ: X, Y and the output each with its own parameters;
    QOperator: QLinearWhere), and without it (QDQ) its output only when X and Y are quantized
    already (here they are not)."""
    weights = {"w1": normal(rng, 3, 3, 3, 3), "zero": np.zeros(1, np.float32)}
    weights["two"] = np.full(1, 2.0, np.float32)
    node = helper.make_node
    nodes = [
        node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
        node("Greater", ["c1", "zero"], ["positive"], name="positive"),
        node("Div", ["x", "two"], ["half"], name="half"),
        node("Where", ["positive", "c1", "half"], ["y"], name="where"),
    ]
    return onnx_model(nodes, [1, 3, size, size], [1, 3, size, size], weights)


def cumulative(rng: np.random.Generator, size: int = 6) -> onnx.ModelProto:
    """A running sum along the width after a conv, as the graph's output: ORT's QDQ quantizer
    quantizes CumSum's input and output (`QDQOperatorBase`), each with its own parameters, and
    ORT runs the sum in float between the pairs; its QOperator quantizer leaves it float."""
    weights = {"w1": normal(rng, 4, 3, 3, 3), "axis": np.array(3, np.int64)}
    node = helper.make_node
    nodes = [
        node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
        node("CumSum", ["c1", "axis"], ["y"], name="cumsum"),
    ]
    return onnx_model(nodes, [1, 3, size, size], [1, 4, size, size], weights)


def float_casts(rng: np.random.Generator, tokens: int = 6, width: int = 8) -> onnx.ModelProto:
    """Cast(to=FLOAT) of float tensors, as exporters leave them: BART's position embeddings
    (Gather of a table -> Cast -> Add) and HF attention's probabilities (Softmax -> Cast ->
    Cast -> MatMul). ONNX Runtime's quantizer gives a quantized node's input read through a
    Cast its own Q/DQ pair with the Cast output's range."""
    weights = {
        "positions": normal(rng, 4 * tokens, width, scale=1.0),
        "ids": np.arange(2, 2 + tokens, dtype=np.int64).reshape(1, tokens),
        "wq": normal(rng, width, tokens),
        "wv": normal(rng, width, width),
    }
    node = helper.make_node
    nodes = [
        node("Gather", ["positions", "ids"], ["p"], name="embed_positions"),
        node("Cast", ["p"], ["pc"], to=TensorProto.FLOAT, name="cast_positions"),
        node("Add", ["x", "pc"], ["h"], name="add_positions"),
        node("MatMul", ["h", "wq"], ["scores"], name="scores"),
        node("Softmax", ["scores"], ["probs"], axis=-1, name="softmax"),
        node("Cast", ["probs"], ["probs_c"], to=TensorProto.FLOAT, name="cast_probs"),
        node("Cast", ["probs_c"], ["probs_cc"], to=TensorProto.FLOAT, name="cast_probs_again"),
        node("MatMul", ["h", "wv"], ["v"], name="value"),
        node("MatMul", ["probs_cc", "v"], ["y"], name="context"),
    ]
    return onnx_model(nodes, [1, tokens, width], [1, tokens, width], weights)


def tied_parameters(rng: np.random.Generator, size: int = 6) -> onnx.ModelProto:
    """Parameters shared through Identity, as torch.onnx.export writes tied tensors: one
    BN-folded bias for two convs (the second reads Identity(bias), as in torchvision's
    ResNets), one set of batch-norm parameters for two BatchNormalizations (DenseNet) and
    one projection for two MatMuls (ALBERT's shared layers). ONNX Runtime's quantizer
    quantizes an initializer for its first reader and takes an Identity's output as an
    activation: the second conv's bias stays float (the DQ of the first conv's int32 bias,
    so its optimizer leaves that conv float), the second batch norm's parameters and the
    second MatMul's weight get Q/DQ pairs with their own ranges."""
    c = 4
    weights = {
        "w1": normal(rng, c, 3, 3, 3),
        "w2": normal(rng, c, c, 3, 3, scale=0.5),
        "bias": normal(rng, c, scale=0.2),
        "gamma": (1 + normal(rng, c)).astype(np.float32),
        "beta": normal(rng, c, scale=0.1),
        "mean": normal(rng, c, scale=0.1),
        "var": (1 + np.abs(normal(rng, c))).astype(np.float32),
        "proj": normal(rng, size, size),
    }
    node = helper.make_node
    tied = ["gamma", "beta", "mean", "var"]
    nodes = [node("Identity", [t], [t + "_tied"], name="tie_" + t) for t in ["bias", *tied]]
    nodes += [
        node("Conv", ["x", "w1", "bias"], ["h"], pads=[1, 1, 1, 1], name="conv1"),
        node("BatchNormalization", ["h", *tied], ["n1"], name="bn1"),
        node("Relu", ["n1"], ["r"], name="relu"),
        node("Conv", ["r", "w2", "bias_tied"], ["c2"], pads=[1, 1, 1, 1], name="conv2"),
        node("BatchNormalization", ["c2", *(t + "_tied" for t in tied)], ["n2"], name="bn2"),
        node("MatMul", ["n2", "proj"], ["m1"], name="shared_1"),
        node("Identity", ["proj"], ["proj_tied"], name="tie_proj"),
        node("MatMul", ["m1", "proj_tied"], ["y"], name="shared_2"),
    ]
    return onnx_model(nodes, [1, 3, size, size], [1, c, size, size], weights)


def constant_pad_value(
    rng: np.random.Generator, tokens: int = 4, width: int = 8
) -> onnx.ModelProto:
    """A Pad whose constant_value is a Constant node, as MobileBERT's embedding exports it:
    ONNX Runtime's quantizers quantize that node's output like an activation, so the Pad of
    its quantized model reads the value through QuantizeLinear (and DequantizeLinear)."""
    weights = {
        "w1": normal(rng, width, width),
        "w2": normal(rng, width, width),
        "pads": np.array([0, 1, 0, 0, 1, 0], np.int64),
    }
    node = helper.make_node
    nodes = [
        node("MatMul", ["x", "w1"], ["h"], name="embed"),
        node(
            "Constant",
            [],
            ["fill"],
            value=numpy_helper.from_array(np.array(0.0, np.float32)),
            name="fill",
        ),
        node("Pad", ["h", "pads", "fill"], ["p"], name="pad_tokens"),
        node("MatMul", ["p", "w2"], ["y"], name="project"),
    ]
    return onnx_model(nodes, [1, tokens, width], [1, tokens + 2, width], weights)


def masked_scores(rng: np.random.Generator, tokens: int = 8) -> onnx.ModelProto:
    """Attention scores plus a padding mask of the float minimum, as HF exporters write it
    (`Where(mask, 0, finfo.min)`), then Softmax and the weighted sum. quantize_static gives
    the mask a scale near 1.3e36: QLinearAdd's ratios then drop the scores' side."""
    mask = np.ones((1, 1, tokens), bool)
    mask[..., -3:] = False  # the last three tokens are padding
    weights = {
        "wq": normal(rng, tokens, tokens),
        "wv": normal(rng, tokens, tokens),
        "keep": mask,
        "zero": np.zeros(1, np.float32),
        "lowest": np.array([np.finfo(np.float32).min], np.float32),
    }
    node = helper.make_node
    nodes = [
        node("MatMul", ["x", "wq"], ["scores"], name="scores"),
        node("Where", ["keep", "zero", "lowest"], ["mask"], name="mask"),
        node("Add", ["scores", "mask"], ["masked"], name="add_mask"),
        node("Softmax", ["masked"], ["probs"], axis=-1, name="softmax"),
        node("MatMul", ["probs", "wv"], ["y"], name="context"),
    ]
    return onnx_model(nodes, [1, tokens, tokens], [1, tokens, tokens], weights)


def multiplied_mask(rng: np.random.Generator, tokens: int = 8) -> onnx.ModelProto:
    """The additive mask as HF's BERT family writes it, `(1 - mask) * finfo.min` (the mask
    here from the scores' sign, a graph input in a real model), added to the scores, then
    Softmax: quantize_static quantizes the float minimum as a weight with a scale near 1e36,
    whose dequantized value overflows float32; ORT's QLinearMul never dequantizes it."""
    weights = {
        "wq": normal(rng, tokens, tokens),
        "one": np.array(1.0, np.float32),
        "lowest": np.array(np.finfo(np.float32).min, np.float32),
    }
    node = helper.make_node
    nodes = [
        node("MatMul", ["x", "wq"], ["scores"], name="scores"),
        node("Greater", ["x", "one"], ["keep"], name="keep"),
        node("Cast", ["keep"], ["kept"], to=onnx.TensorProto.FLOAT, name="kept"),
        node("Sub", ["one", "kept"], ["dropped"], name="dropped"),
        node("Mul", ["dropped", "lowest"], ["mask"], name="mask"),
        node("Add", ["scores", "mask"], ["masked"], name="add_mask"),
        node("Softmax", ["masked"], ["y"], axis=-1, name="softmax"),
    ]
    return onnx_model(nodes, [1, tokens, tokens], [1, tokens, tokens], weights)


def top_scores(rng: np.random.Generator, tokens: int = 6, width: int = 16) -> onnx.ModelProto:
    """A projection's three best scores per token (TopK, its values the graph's output), as a
    classifier's or a detector's head keeps them: ORT's QDQ quantizer gives the values the
    input's parameters (QDQDirect8BitOp) and its optimizer ranks the stored values."""
    weights = {"w": normal(rng, width, width), "k": np.array([3], np.int64)}
    node = helper.make_node
    nodes = [
        node("MatMul", ["x", "w"], ["scores"], name="scores"),
        node("TopK", ["scores", "k"], ["y", "best"], axis=-1, name="top3"),
    ]
    return onnx_model(nodes, [1, tokens, width], [1, tokens, 3], weights)


def row_bias_head(rng: np.random.Generator, size: int = 6) -> onnx.ModelProto:
    """A classifier head whose Gemm C is [1, N] (as Keras converters write it): quantize_static
    quantizes it as the int32 bias all the same."""
    w = functools.partial(normal, rng)
    weights = {"w1": w(8, 4, 3, 3), "w2": w(8, 5), "c": w(1, 5, scale=0.1)}
    node = helper.make_node
    nodes = [
        node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1], name="conv"),
        node("Relu", ["c1"], ["r"], name="relu"),
        node("GlobalAveragePool", ["r"], ["p"], name="pool"),
        node("Flatten", ["p"], ["f"], name="flatten"),
        node("Gemm", ["f", "w2", "c"], ["y"], name="head"),
    ]
    return onnx_model(nodes, [1, 4, size, size], [1, 5], weights)


def transposed_initializer(rng: np.random.Generator, tokens: int = 6, width: int = 8):
    """A projection by a Transpose node of an initializer (a weight stored [out, in]) and an
    Expand to its input's own shape: both nodes to ORT's quantizers (the Transpose quantizes
    its initializer with ForceQuantizeNoInputCheck: 7-bit with reduce_range, its output
    sharing the parameters)."""
    weights = {
        "w": normal(rng, 12, width),
        "b": normal(rng, 12, scale=0.1),
        "axes": np.array([1], np.int64),
        "shape": np.array([1, 1, 12], np.int64),
    }
    node = helper.make_node
    nodes = [
        node("Transpose", ["w"], ["wt"], perm=[1, 0], name="transpose"),
        node("MatMul", ["x", "wt"], ["h"], name="proj"),
        node("Add", ["h", "b"], ["hb"], name="bias"),
        node("ReduceMax", ["hb", "axes"], ["m"], keepdims=1, name="max"),
        node("Expand", ["m", "shape"], ["e"], name="expand"),
        node("Relu", ["e"], ["y"], name="relu"),
    ]
    model = onnx_model(nodes, [1, tokens, width], [1, 1, 12], weights)
    model.opset_import[0].version = 18  # ReduceMax's axes as an input
    return model


def newer_float_ops(rng: np.random.Generator, size: int = 6) -> onnx.ModelProto:
    """Float ops quantize_static leaves float between quantized convs: Neg, Abs, Sum,
    DepthToSpace / SpaceToDepth, Gelu (opset 20, both forms), a nearest Resize that is no
    whole-number repeat (half_pixel with floor)."""
    w = functools.partial(normal, rng)
    weights = {"w1": w(8, 4, 3, 3), "w2": w(8, 8, 1, 1), "w3": w(4, 4, 3, 3),
               "scales": np.array([1, 1, 2, 2], np.float32)}  # fmt: skip
    node = helper.make_node
    nodes = [
        node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
        node("Neg", ["c1"], ["n"], name="neg"),
        node("Abs", ["c1"], ["a"], name="abs"),
        node("Sum", ["n", "a", "c1"], ["s"], name="sum"),
        node("Gelu", ["s"], ["g"], name="gelu"),
        node("Conv", ["g", "w2"], ["c2"], name="conv2"),
        node("Gelu", ["c2"], ["gt"], approximate="tanh", name="gelu_tanh"),
        node("DepthToSpace", ["gt"], ["d"], blocksize=2, mode="CRD", name="d2s"),
        node(
            "Resize",
            ["d", "", "scales"],
            ["u"],
            mode="nearest",
            nearest_mode="floor",
            name="resize",
        ),  # fmt: skip
        node("SpaceToDepth", ["u"], ["sd"], blocksize=2, name="s2d"),
        node("Conv", ["sd", "w3"], ["y"], pads=[1, 1, 1, 1], group=2, name="conv3"),
    ]
    model = onnx_model(nodes, [1, 4, size, size], [1, 4, 2 * size, 2 * size], weights)
    model.opset_import[0].version = 20
    return model


def wide_float_conv(rng: np.random.Generator, size: int = 6) -> onnx.ModelProto:
    """Transposes and a 16-channel conv, every node left out of quantization: quantize_static
    writes a float model (no QuantizeLinear), which ORT runs unoptimized (no NCHWc conv)."""
    weights = {"w": normal(rng, 16, 16, 3, 3), "b": normal(rng, 16, scale=0.1)}
    node = helper.make_node
    nodes = [
        node("Transpose", ["x"], ["t1"], perm=[0, 1, 3, 2], name="t1"),
        node("Transpose", ["t1"], ["t2"], perm=[0, 1, 3, 2], name="t2"),
        node("Conv", ["t2", "w", "b"], ["y"], pads=[1, 1, 1, 1], name="conv"),
    ]
    return onnx_model(nodes, [1, 16, size, size], [1, 16, size, size], weights)


def erf_gelu_mlp(rng: np.random.Generator, tokens: int = 8, width: int = 16) -> onnx.ModelProto:
    """Two projections around an Erf-GELU spelled out (BERT's, before opset 20) and an RMSNorm
    spelled out (Llama's): float between the MatMuls quantize_dynamic quantizes, so ORT's
    session fuses them into its Gelu and SimplifiedLayerNormalization kernels."""
    weights = {
        "w1": normal(rng, width, 2 * width), "b1": normal(rng, 2 * width, scale=0.1),
        "w2": normal(rng, 2 * width, width), "g": normal(rng, width, scale=0.2) + 1,
        "root2": np.array(np.sqrt(2), np.float32), "one": np.array(1, np.float32),
        "half": np.array(0.5, np.float32), "two": np.array(2, np.float32),
        "eps": np.array(1e-6, np.float32), "last": np.array([-1], np.int64),
    }  # fmt: skip
    node = helper.make_node
    nodes = [
        *erf_gelu_ffn("x"),
        node("Pow", ["h3", "two"], ["s0"], name="square"),
        node("ReduceMean", ["s0", "last"], ["s1"], name="mean_square"),
        node("Add", ["s1", "eps"], ["s2"], name="epsilon"),
        node("Sqrt", ["s2"], ["s3"], name="rms"),
        node("Div", ["h3", "s3"], ["s4"], name="normalize"),
        node("Mul", ["s4", "g"], ["y"], name="gain"),
    ]
    model = onnx_model(nodes, [1, tokens, width], [1, tokens, width], weights)
    model.opset_import[0].version = 18  # ReduceMean's axes as an input
    return model


def graph_convolution(rng: np.random.Generator, nodes: int = 10, width: int = 24):
    """A graph convolution: a constant adjacency times the node features (a MatMul whose
    constant is its first input), then a weight and a Relu."""
    adjacency = (rng.random((nodes, nodes)) < 0.4).astype(np.float32) / 3
    weights = {
        "adjacency": adjacency + np.eye(nodes, dtype=np.float32),
        "w": (rng.standard_normal((width, 8)) * 0.3).astype(np.float32),
    }
    graph_nodes = [
        helper.make_node("MatMul", ["adjacency", "x"], ["mixed"], name="aggregate"),
        helper.make_node("MatMul", ["mixed", "w"], ["h"], name="transform"),
        helper.make_node("Relu", ["h"], ["y"], name="relu"),
    ]
    return onnx_model(graph_nodes, [nodes, width], [nodes, 8], weights)


def scaled_gemms(rng: np.random.Generator, rows: int = 6, width: int = 16):
    """Gemms with alpha and beta other than 1 (a TensorFlow-style export): beta·C, alpha on
    the products, and both on a transposed B."""
    weights = {
        "w1": normal(rng, width, 12),
        "c1": normal(rng, 12, scale=0.1),
        "w2": normal(rng, 10, 12),
        "c2": normal(rng, 10, scale=0.1),
        "w3": normal(rng, 10, 8),
        "c3": normal(rng, 8, scale=0.1),
    }
    graph_nodes = [
        helper.make_node("Gemm", ["x", "w1", "c1"], ["h1"], name="beta", beta=1.3),
        helper.make_node("Relu", ["h1"], ["r1"], name="relu"),
        helper.make_node("Gemm", ["r1", "w2", "c2"], ["h2"], "both", alpha=0.7, beta=0.4, transB=1),
        helper.make_node("Gemm", ["h2", "w3", "c3"], ["y"], name="alpha", alpha=1.6),
    ]
    return onnx_model(graph_nodes, [rows, width], [rows, 8], weights)


def matrix_c_gemms(rng: np.random.Generator, rows: int = 6, width: int = 16):
    """Gemms whose C is no row of biases: one of every output ([M, N], beta 0.5), one per row
    ([M, 1]) and a scalar ([1]); ORT's Gemm copies C into Y, broadcast, before the products."""
    weights = {
        "w1": normal(rng, width, 12),
        "c1": normal(rng, rows, 12, scale=0.1),
        "w2": normal(rng, 12, 10),
        "c2": normal(rng, rows, 1, scale=0.1),
        "w3": normal(rng, 10, 8),
        "c3": normal(rng, 1, scale=0.1),
    }
    graph_nodes = [
        helper.make_node("Gemm", ["x", "w1", "c1"], ["h1"], name="every", beta=0.5),
        helper.make_node("Relu", ["h1"], ["r1"], name="relu"),
        helper.make_node("Gemm", ["r1", "w2", "c2"], ["h2"], name="per_row"),
        helper.make_node("Gemm", ["h2", "w3", "c3"], ["y"], name="scalar", alpha=1.5),
    ]
    return onnx_model(graph_nodes, [rows, width], [rows, 8], weights)


def einsum_mixer(rng: np.random.Generator, tokens: int = 8, width: int = 16):
    """Einsums between quantized MatMuls (which quantize_static leaves float): a projection by
    a constant, a product of two activations, a sum over tokens."""
    weights = {
        "w1": normal(rng, width, 24),
        "w2": normal(rng, 12, 24),
        "w3": normal(rng, 12, 8),
    }
    graph_nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h"], name="in"),
        helper.make_node("Einsum", ["h", "w2"], ["e"], name="project", equation="td,ed->te"),
        helper.make_node("Einsum", ["e", "e"], ["g"], name="gram", equation="te,tf->ef"),
        helper.make_node("Einsum", ["e", "g"], ["m"], name="mix", equation="te,ef->tf"),
        helper.make_node("MatMul", ["m", "w3"], ["y"], name="out"),
    ]
    return onnx_model(graph_nodes, [tokens, width], [tokens, 8], weights)


def recurrent_mixer(rng: np.random.Generator, steps: int = 6, width: int = 8):
    """An LSTM (with its bias: every gate clipped as deepcpu clips) and a GRU between
    quantized MatMuls (quantize_static leaves both float), over [steps, 1, width]."""
    hidden = 8
    weights = {
        "w_in": normal(rng, width, width),
        "lstm_w": normal(rng, 1, 4 * hidden, width),
        "lstm_r": normal(rng, 1, 4 * hidden, hidden),
        "lstm_b": normal(rng, 1, 8 * hidden),
        "gru_w": normal(rng, 1, 3 * hidden, hidden),
        "gru_r": normal(rng, 1, 3 * hidden, hidden),
        "gru_b": normal(rng, 1, 6 * hidden),
        "w_out": normal(rng, hidden, 4),
    }
    graph_nodes = [
        helper.make_node("MatMul", ["x", "w_in"], ["h"], name="in"),
        helper.make_node(
            "LSTM", ["h", "lstm_w", "lstm_r", "lstm_b"], ["l"], name="lstm", hidden_size=hidden
        ),
        helper.make_node("Squeeze", ["l", "one"], ["ls"], name="squeeze_l"),
        helper.make_node(
            "GRU", ["ls", "gru_w", "gru_r", "gru_b"], ["g"], name="gru", hidden_size=hidden
        ),
        helper.make_node("Squeeze", ["g", "one"], ["gs"], name="squeeze_g"),
        helper.make_node("MatMul", ["gs", "w_out"], ["y"], name="out"),
    ]
    weights["one"] = np.array([1], np.int64)
    return onnx_model(graph_nodes, [steps, 1, width], [steps, 1, 4], weights)


def gemm_of_activations(rng: np.random.Generator, rows: int = 6, width: int = 16):
    """A Gemm whose B is an activation (transposed): QOperator writes a QGemm with a run-time
    B, which ONNX Runtime does not pack."""
    weights = {"w1": normal(rng, width, 8), "w2": normal(rng, width, 8), "c": normal(rng, rows)}
    graph_nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h"], name="left"),
        helper.make_node("MatMul", ["x", "w2"], ["k"], name="right"),
        helper.make_node("Gemm", ["h", "k", "c"], ["y"], name="scores", transB=1),
    ]
    return onnx_model(graph_nodes, [rows, width], [rows, rows], weights)


def dotted_conv1d(rng: np.random.Generator) -> onnx.ModelProto:
    """`conv1d` with torch's tensor names ("conv1.weight": not an SSA name as it is)."""
    model = conv1d(rng)
    renamed = {"w1": "conv1.weight", "w2": "conv2.weight"}
    for tensor in model.graph.initializer:
        tensor.name = renamed.get(tensor.name, tensor.name)
    for node in model.graph.node:
        node.input[:] = [renamed.get(name, name) for name in node.input]
    return model


def identity_bias_gemm(rng: np.random.Generator, rows: int = 4, width: int = 8):
    """A Gemm whose C is an Identity of an initializer (torch's MultiheadAttention out_proj):
    QOperator's QLinearGemm then falls back to the float Gemm of the dequantized weight."""
    weights = {"w0": normal(rng, width, width), "w": normal(rng, 16, width), "b": normal(rng, 16)}
    graph_nodes = [
        helper.make_node("MatMul", ["x", "w0"], ["h"], name="in"),
        helper.make_node("Identity", ["b"], ["bi"], name="bias"),
        helper.make_node("Gemm", ["h", "w", "bi"], ["y"], name="out_proj", transB=1),
    ]
    return onnx_model(graph_nodes, [rows, width], [rows, 16], weights)


def video_block(rng: np.random.Generator, frames: int = 4, size: int = 12) -> onnx.ModelProto:
    """A video (or volumetric) net of 3-D convs (R(2+1)D's and X3D's kinds): a strided stem, a
    3-D max pool, a residual block of a 3×3×3 and a temporal 3×1×1 conv, a depthwise conv
    strided in time, a pointwise one and a global pool. ORT quantizes each as any Conv
    (QLinearConv on rank-5 tensors); we fold each conv's depth into the batch of a 2-D conv."""
    w = functools.partial(normal, rng)
    weights = {
        "w1": w(8, 3, 3, 5, 5),
        "b1": w(8, scale=0.1),
        "w2": w(8, 8, 3, 3, 3),
        "w3": w(8, 8, 3, 1, 1),
        "b3": w(8, scale=0.1),
        "wd": w(8, 1, 3, 3, 3),
        "wp": w(12, 8, 1, 1, 1),
        "bp": w(12, scale=0.1),
    }
    node = helper.make_node
    nodes = [
        node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 2, 2, 1, 2, 2], strides=[1, 2, 2]),
        node("Relu", ["c1"], ["r1"]),
        node(
            "MaxPool", ["r1"], ["p1"], kernel_shape=[1, 3, 3], strides=[1, 2, 2], pads=[0, 1, 1] * 2
        ),
        node("Conv", ["p1", "w2"], ["c2"], pads=[1] * 6),
        node("Relu", ["c2"], ["r2"]),
        node("Conv", ["r2", "w3", "b3"], ["c3"], pads=[1, 0, 0, 1, 0, 0]),
        node("Add", ["c3", "p1"], ["s"]),
        node("Relu", ["s"], ["r3"]),
        node("Conv", ["r3", "wd"], ["d"], group=8, strides=[2, 1, 1], pads=[1] * 6),
        node("Conv", ["d", "wp", "bp"], ["c4"]),
        node("GlobalAveragePool", ["c4"], ["y"]),
    ]
    return onnx_model(nodes, [1, 3, frames, size, size], [1, 12, 1, 1, 1], weights)


def ceil_pool(rng: np.random.Generator, size: int = 9, channels: int = 8) -> onnx.ModelProto:
    """An AveragePool (2×2, stride 2, ceil_mode, counting padding) whose last window reaches
    past the image (torch's `avg_pool2d(x, 2, ceil_mode=True)` of an odd size) between convs:
    ORT's calibrator runs it in its own loop, its quantized session as QLinearAveragePool (the
    window clipped, divided by the whole kernel)."""
    w = functools.partial(normal, rng)
    weights = {"w1": w(channels, 3, 3, 3), "b1": w(channels, scale=0.1), "w2": w(4, channels, 3, 3)}
    node = helper.make_node
    nodes = [
        node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1] * 4, name="conv1"),
        node("Relu", ["c1"], ["r1"], name="relu1"),
        node(
            "AveragePool",
            ["r1"],
            ["p"],
            kernel_shape=[2, 2],
            strides=[2, 2],
            ceil_mode=1,
            count_include_pad=1,
            name="pool",
        ),
        node("Conv", ["p", "w2"], ["y"], pads=[1] * 4, name="conv2"),
    ]
    half = -(-size // 2)
    return onnx_model(nodes, [1, 3, size, size], [1, 4, half, half], weights)


def video_pool(rng: np.random.Generator, frames: int = 5, size: int = 9) -> onnx.ModelProto:
    """3-D AveragePools between 3-D convs (I3D's and SlowFast's kinds): a strided one with a
    ceil_mode window past the image, counting padding, a padded one that does not count it, and
    one of the whole image. ORT's quantized session runs them as QLinearAveragePool."""
    w = functools.partial(normal, rng)
    weights = {"w1": w(6, 3, 3, 3, 3), "b1": w(6, scale=0.1), "w2": w(4, 6, 1, 1, 1)}
    node = helper.make_node
    nodes = [
        node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1] * 6, name="conv1"),
        node("Relu", ["c1"], ["r1"], name="relu1"),
        node(
            "AveragePool",
            ["r1"],
            ["p1"],
            kernel_shape=[2, 2, 2],
            strides=[2, 2, 2],
            ceil_mode=1,
            count_include_pad=1,
            name="pool1",
        ),
        node(
            "AveragePool", ["p1"], ["p2"], kernel_shape=[1, 3, 3], pads=[0, 1, 1] * 2, name="pool2"
        ),
        node("Conv", ["p2", "w2"], ["c2"], name="conv2"),
        node("AveragePool", ["c2"], ["y"], kernel_shape=[3, 5, 5], name="pool3"),
    ]
    return onnx_model(nodes, [1, 3, frames, size, size], [1, 4, 1, 1, 1], weights)
