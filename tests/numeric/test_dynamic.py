"""Dynamic quantization (ORT's quantize_dynamic) on an MLP, a transformer FFN and a small conv
net: our import of ORT's model, interpreted and compiled, equals onnx's own numpy reference
(`onnx.reference.ReferenceEvaluator`: exact int32 MatMulInteger/ConvInteger, float32 Cast/Mul)
bit for bit; ORT equals it where its kernels are exact, i.e. except u8 x s8 full-range weights
(no reduce_range) whose int16 pair sums saturate in ORT's AVX2 kernel (checked against the
int16 hazard below); our `mode: dynamic` quantizer builds the same function as the import,
an LSTM text model's DynamicQuantizeLSTM included.
"""

from __future__ import annotations

import itertools
import logging
import os
import tempfile

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator
from onnxruntime.quantization import QuantType, quantize_dynamic

from qdialect.arithmetic import dynamic_qparams
from qdialect.onnx_import import OnnxImportError, import_onnx
from rewrites.quantize_static import QuantizeError
from runtime.compiled import compile_module
from runtime.quantization import quantize
from runtime.reference import run_function
from tests.numeric import float_models
from tests.numeric.float_models import conv1d, normal, onnx_model, transformer_ffn
from tests.numeric.onnxruntime_session import ort_saturates_u8s8, run_ort

logging.getLogger().setLevel(logging.ERROR)


def mlp(rng) -> onnx.ModelProto:
    w = {
        "w1": (rng.standard_normal((24, 48)) * 0.3).astype(np.float32),
        "b1": (rng.standard_normal(48) * 0.1).astype(np.float32),
        "w2": (rng.standard_normal((48, 10)) * 0.2).astype(np.float32),
    }
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h"], name="fc1"),
        helper.make_node("Add", ["h", "b1"], ["hb"], name="bias1"),
        helper.make_node("Relu", ["hb"], ["r"], name="relu"),
        helper.make_node("MatMul", ["r", "w2"], ["y"], name="fc2"),
    ]
    return onnx_model(nodes, [4, 24], [4, 10], w)


def conv_net(rng) -> onnx.ModelProto:
    w = {
        "w1": (rng.standard_normal((8, 3, 3, 3)) * 0.3).astype(np.float32),
        "b1": (rng.standard_normal(8) * 0.1).astype(np.float32),
        "w2": (rng.standard_normal((6, 8, 3, 3)) * 0.2).astype(np.float32),
        "wf": (rng.standard_normal((6 * 5 * 5, 10)) * 0.1).astype(np.float32),
    }
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu"),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], strides=[2, 2], name="conv2"),
        helper.make_node("Flatten", ["c2"], ["f"], name="flatten"),
        helper.make_node("MatMul", ["f", "wf"], ["y"], name="head"),
    ]
    return onnx_model(nodes, [2, 3, 11, 11], [2, 10], w)


def tied(rng) -> onnx.ModelProto:
    """One weight read twice, the second time through an Identity (how torch.onnx.export
    writes tied weights, ALBERT's shared layers): quantize_dynamic quantizes initializers only
    (MatMulConstBOnly), so the second MatMul stays float."""
    w = {"w": (rng.standard_normal((24, 24)) * 0.3).astype(np.float32)}
    nodes = [  # the Identity first, as the exporter writes it (after the quantized MatMul,
        # ORT would hand it the dequantized weight instead)
        helper.make_node("Identity", ["w"], ["w_tied"], name="tie"),
        helper.make_node("MatMul", ["x", "w"], ["h"], name="first"),
        helper.make_node("Relu", ["h"], ["r"], name="relu"),
        helper.make_node("MatMul", ["r", "w_tied"], ["y"], name="second"),
    ]
    return onnx_model(nodes, [4, 24], [4, 24], w)


def tied_conv(rng) -> onnx.ModelProto:
    """A conv weight shared through an Identity (YOLOv8's DFL heads as torch exports them):
    quantize_dynamic's ConvInteger quantizes a weight that is no initializer with a
    DynamicQuantizeLinear of its own (uint8, the data's own range), which ORT folds."""
    w = {"w": normal(rng, 6, 3, 3, 3), "w2": normal(rng, 6, 6, 1, 1)}
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c1"], name="first", pads=[1, 1, 1, 1]),
        helper.make_node("Identity", ["w2"], ["w2_tied"], name="tie"),
        helper.make_node("Conv", ["c1", "w2"], ["c2"], name="second"),
        helper.make_node("Relu", ["c2"], ["r"], name="relu"),
        helper.make_node("Conv", ["r", "w2_tied"], ["y"], name="third"),
    ]
    return onnx_model(nodes, [1, 3, 7, 7], [1, 6, 7, 7], w)


def sequence_reduction(rng) -> onnx.ModelProto:
    """Segformer's attention: one tensor feeds the query MatMul and, transposed and reshaped to
    an image, the sequence-reduction Conv. quantize_dynamic quantizes it once and runs the
    Transpose on the uint8 data (Transpose is in its IntegerOpsRegistry), then dequantizes with
    the DynamicQuantizeLinear's run-time scale and zero point for the Conv's float input."""
    w = {
        "wq": normal(rng, 8, 8),
        "image": np.array([1, 8, 4, 4], np.int64),
        "wc": normal(rng, 8, 8, 2, 2),
        "bc": normal(rng, 8),
        "tokens": np.array([1, 4, 8], np.int64),
    }
    nodes = [
        helper.make_node("MatMul", ["x", "wq"], ["q"], name="query"),
        helper.make_node("Transpose", ["x"], ["t"], name="to_channels", perm=[0, 2, 1]),
        helper.make_node("Reshape", ["t", "image"], ["r"], name="to_image"),
        helper.make_node("Conv", ["r", "wc", "bc"], ["c"], name="sr", strides=[2, 2]),
        helper.make_node("Reshape", ["c", "tokens"], ["k"], name="to_tokens"),
        helper.make_node("Concat", ["q", "k"], ["y"], name="queries_and_keys", axis=1),
    ]
    return onnx_model(nodes, [1, 16, 8], [1, 20, 8], w)


MODELS = {
    "mlp": (mlp, (4, 24)),
    "tied": (tied, (4, 24)),
    "tied_conv": (tied_conv, (1, 3, 7, 7)),
    "ffn": (transformer_ffn, (16, 32)),
    "conv": (conv_net, (2, 3, 11, 11)),
    "conv1d": (conv1d, (1, 4, 20)),  # Whisper's and wav2vec2's stems: ConvInteger on rank 3
    "sequence_reduction": (sequence_reduction, (1, 16, 8)),  # a DequantizeLinear's run-time scale
    # convs after a tensor ONNX's shape inference cannot type: ORT leaves them float
    "untyped_group_norm": (float_models.untyped_group_norm, (1, 3, 6, 6)),
}


# models whose quantized form keeps float convs, which onnx.reference sums in another order
FLOAT_CONVS = {"untyped_group_norm"}


def ort_dynamic(model: onnx.ModelProto, **options) -> onnx.ModelProto:
    with tempfile.TemporaryDirectory() as folder:
        source, target = os.path.join(folder, "f.onnx"), os.path.join(folder, "q.onnx")
        onnx.save(model, source)
        quantize_dynamic(source, target, **options)
        return onnx.load(target)


def bits(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, np.float32).view(np.int32)


def reference_opset(model: onnx.ModelProto) -> onnx.ModelProto:
    """`model` at opset 19 at least: onnx.reference implements DequantizeLinear from 19 on
    (the same arithmetic as 13's for 8-bit data and a float32 scale)."""
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    for opset in copy.opset_import:
        if opset.domain in ("", "ai.onnx"):
            opset.version = max(opset.version, 19)
    return copy


def check_case(name: str, per_channel: bool, weight: str, reduce_range: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    build, shape = MODELS[name]
    model = build(rng)
    options = {"per_channel": per_channel, "reduce_range": reduce_range}
    q = ort_dynamic(model, weight_type=QuantType[weight], **options)
    x = (rng.standard_normal(shape) * 2).astype(np.float32)
    module = import_onnx(q)
    if name in FLOAT_CONVS:  # ORT's session's float sums: its own outputs where it is exact
        exact = run_function(module, {"x": x})[0]
    else:
        exact = ReferenceEvaluator(reference_opset(q)).run(None, {"x": x})[0]
    ours = run_function(module, {"x": x})[0]
    np.testing.assert_array_equal(bits(ours), bits(exact))
    np.testing.assert_array_equal(bits(compile_module(module)(x=x)[0]), bits(exact))
    config = {"mode": "dynamic", "weight_type": weight, **options}
    mine = quantize(model, None, config).module
    np.testing.assert_array_equal(bits(compile_module(mine)(x=x)[0]), bits(exact))
    if reduce_range or weight == "QUInt8":  # ORT's u8 x u8 and 7-bit u8 x s8 kernels are exact
        np.testing.assert_array_equal(bits(run_ort(q, {"x": x})[0]), bits(exact))


CASES = list(itertools.product(MODELS, (False, True), ("QInt8", "QUInt8"), (False, True)))
FAST = {
    ("mlp", False, "QInt8", False),
    ("ffn", True, "QInt8", True),
    ("conv", False, "QUInt8", False),
    ("tied", False, "QInt8", False),
    ("tied_conv", False, "QInt8", True),
    ("conv1d", False, "QUInt8", True),
    ("sequence_reduction", True, "QUInt8", False),
    ("untyped_group_norm", False, "QInt8", True),
}


@pytest.mark.parametrize(
    "case",
    [c if c in FAST else pytest.param(c, marks=pytest.mark.slow) for c in CASES],
    ids=lambda c: "-".join(str(v) for v in c),
)
def test_quantize_dynamic_exact(case) -> None:
    check_case(*case, seed=hash(case) % 1000)


def test_a_matmul_writing_an_untyped_tensor_is_refused_as_by_quantize_dynamic() -> None:
    """A MatMul after ORT's contrib Gelu writes a tensor ONNX's shape inference cannot type:
    ORT's quantize_dynamic stops there, and ours says so, naming the node and the tensor."""
    model = float_models.untyped_gelu(np.random.default_rng(0))
    with pytest.raises(RuntimeError, match="Unable to find data type for weight_name='m2'"):
        ort_dynamic(model)
    with pytest.raises(QuantizeError, match=r"^MatMul 'mm2': ONNX's shape inference gives its "):
        quantize(model, None, {"mode": "dynamic"})


def test_an_output_inside_a_fused_matmul_chain_is_refused_by_name() -> None:
    """The Mul of a MatMulInteger's scales, made a graph output: the import computes the
    chain as one op, and says so (ORT would run it)."""
    model = ort_dynamic(mlp(np.random.default_rng(5)))
    mul = next(n for n in model.graph.node if n.op_type == "Mul")
    model.graph.output.append(helper.make_tensor_value_info(mul.output[0], TensorProto.FLOAT, None))
    with pytest.raises(OnnxImportError) as err:
        import_onnx(model)
    assert str(err.value) == (
        f"graph output '{mul.output[0]}' is an intermediate of node '{mul.name}' (Mul), which "
        "the import fused with its neighbours into one op: it cannot be an output"
    )


def test_ort_saturates_without_reduce_range() -> None:
    """ORT's u8 x s8 AVX2 kernel adds pairs of products in int16 with saturation: on data
    spanning the full u8 range against full-range s8 weights its output leaves the exact
    one; ours does not (the case the exact tests above leave out of the ORT comparison).
    Where ORT's kernel is exact (VNNI, AMX), its output is the exact one too."""
    rng = np.random.default_rng(3)
    model = transformer_ffn(rng)
    q = ort_dynamic(model, per_channel=True)
    x = (rng.standard_normal((16, 32)) * 3).astype(np.float32)
    exact = ReferenceEvaluator(q).run(None, {"x": x})[0]
    np.testing.assert_array_equal(bits(compile_module(import_onnx(q))(x=x)[0]), bits(exact))
    theirs = run_ort(q, {"x": x})[0]
    if ort_saturates_u8s8():
        assert not np.allclose(theirs, exact, rtol=0, atol=1e-3)
    else:
        np.testing.assert_allclose(theirs, exact, rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    "x",
    [
        [0.0, 0.0, 0.0],
        [1.0, 2.0, 3.0, 4.0],
        [-1.0, -2.0, -3.0, -4.0],
        [0.0, 0.5, -0.25, np.inf],
        [-1e-40, 0.0, 0.0],
        [0.1, -0.7, 2.5, np.nan, 1.25e-3, -3.0, 0.5, 7.0, -2.25, 3.75],
    ],
)
def test_dynamic_quantize_linear_like_ort(x) -> None:
    """DynamicQuantizeLinear alone: data, scale and zero point equal ORT's, compiled too."""
    check_dynamic_quantize_linear(np.array(x, np.float32))


def nan_rows() -> list[np.ndarray]:
    """Rows of 7, 16, 40 and 100 normals with a NaN (two, for 100) at each place in turn:
    the places MLAS's lanes, their joins and its scalar tail treat apart."""
    rng = np.random.default_rng(4)
    rows = []
    for n in (7, 16, 40, 100):
        for place in range(n):
            row = rng.standard_normal(n).astype(np.float32)
            row[[place, (place * 7 + 3) % n] if n == 100 else place] = np.nan
            rows.append(row)
    return rows


def test_dynamic_quantize_linear_with_a_nan_like_ort() -> None:
    """A NaN in the data: MLAS's min/max kernel lets it take its lane until the next element
    there, and its scalar tail skips it, so the scale is NaN (zero point 255) or comes from
    part of the data, by place: ORT's bits everywhere (`mlas_min_max`)."""
    for row in nan_rows():
        check_dynamic_quantize_linear(row)


def check_dynamic_quantize_linear(data: np.ndarray) -> None:
    """DynamicQuantizeLinear of the 1-D `data`: reference and compiled equal ORT's bits."""
    node = helper.make_node("DynamicQuantizeLinear", ["x"], ["y", "s", "z"])
    n = len(data)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n])],
        [
            helper.make_tensor_value_info("y", TensorProto.UINT8, [n]),
            helper.make_tensor_value_info("s", TensorProto.FLOAT, []),
            helper.make_tensor_value_info("z", TensorProto.UINT8, []),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    expected = run_ort(model, {"x": data})
    module = import_onnx(model)
    for got in (run_function(module, {"x": data}), compile_module(module)(x=data)):
        for a, b in zip(got, expected, strict=True):
            np.testing.assert_array_equal(
                np.atleast_1d(a).view(np.uint8), np.atleast_1d(b).view(np.uint8)
            )


def test_dynamic_qparams_numbers() -> None:
    assert dynamic_qparams(0.0, 0.0) == (1.0, 0)
    scale, zp = dynamic_qparams(-1.0, 3.0)
    assert scale == np.float32(np.float32(4.0) / np.float32(255.0)) and zp == 64


def test_contrib_ops_match_the_chain() -> None:
    """MatMulIntegerToFloat (with bias) and DynamicQuantizeMatMul import as the same qnn ops
    and compute what the unfused chain computes (ORT's own fusion keeps the bits)."""
    rng = np.random.default_rng(5)
    w = rng.integers(-127, 128, (24, 8)).astype(np.int8)
    bias = rng.standard_normal(8).astype(np.float32)
    inits = [
        numpy_helper.from_array(w, "w"),
        numpy_helper.from_array(np.array(0.02, np.float32), "ws"),
        numpy_helper.from_array(np.array(0, np.int8), "wz"),
        numpy_helper.from_array(bias, "b"),
    ]
    nodes = [
        helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
        helper.make_node(
            "MatMulIntegerToFloat",
            ["xq", "w", "xs", "ws", "xz", "wz", "b"],
            ["y1"],
            domain="com.microsoft",
        ),
        helper.make_node(
            "DynamicQuantizeMatMul", ["x", "w", "ws", "wz", "b"], ["y2"], domain="com.microsoft"
        ),
    ]
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [4, 8]) for n in ("y1", "y2")]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 24])], outs, inits
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    model = helper.make_model(graph, opset_imports=opsets, ir_version=9)
    x = (rng.standard_normal((4, 24)) * 0.5).astype(np.float32)
    xq, xs, xz = ReferenceEvaluator(
        helper.make_model(
            helper.make_graph(
                nodes[:1],
                "q",
                graph.input,
                [
                    helper.make_tensor_value_info(n, TensorProto.UNDEFINED, None)
                    for n in ("xq", "xs", "xz")
                ],
            ),
            opset_imports=opsets[:1],
            ir_version=9,
        )
    ).run(None, {"x": x})
    acc = (xq.astype(np.int64) - int(xz)) @ w.astype(np.int64)
    expected = (acc.astype(np.float32) * np.float32(xs * np.float32(0.02))).astype(
        np.float32
    ) + bias
    module = import_onnx(model)
    for got in (run_function(module, {"x": x}), compile_module(module)(x=x)):
        for y in got:
            np.testing.assert_array_equal(bits(y), bits(expected))


def test_run_time_zero_point_outside_the_chain_is_refused() -> None:
    nodes = [
        helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
        helper.make_node("MatMulInteger", ["xq", "w", "xz"], ["y"], name="mm"),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [2, 3])],
        [numpy_helper.from_array(np.ones((4, 3), np.int8), "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    with pytest.raises(
        OnnxImportError, match=r"node 'mm' \(MatMulInteger\): a run-time zero point"
    ):
        import_onnx(model)


def test_run_time_dequantize_of_wide_data_is_refused() -> None:
    """A DequantizeLinear with a run-time scale reads 8- or 16-bit data; int32 (a bias's
    type) is named in the error."""
    nodes = [
        helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
        helper.make_node("DequantizeLinear", ["b", "xs"], ["y"], name="dq"),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3])],
        [numpy_helper.from_array(np.ones(3, np.int32), "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    with pytest.raises(
        OnnxImportError,
        match=r"node 'dq' \(DequantizeLinear\): input must be 8- or 16-bit integers with a "
        r"run-time scale, got i32",
    ):
        import_onnx(model)


def test_float_pools_of_a_dynamic_model_run_as_onnxruntimes_session() -> None:
    """A float AveragePool (channels filling NCHWc blocks) and the GlobalAveragePool after it,
    in a model `quantize_dynamic` quantizes: ORT's optimized session runs both as NCHWc pools
    (row-major sums), and so do our quantizer's module and the import of ORT's."""
    rng = np.random.default_rng(3)
    weights = {"w": normal(rng, 16, 10), "shape": np.array([1, 16], np.int64)}
    nodes = [
        helper.make_node("Sigmoid", ["x"], ["s"]),
        helper.make_node("AveragePool", ["s"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("GlobalAveragePool", ["p"], ["g"]),
        helper.make_node("Reshape", ["g", "shape"], ["f"]),
        helper.make_node("MatMul", ["f", "w"], ["y"]),
    ]
    model = onnx_model(nodes, [1, 16, 8, 8], [1, 10], weights)
    theirs = ort_dynamic(model, weight_type=QuantType.QUInt8)
    ours = compile_module(
        quantize(model, None, {"mode": "dynamic", "weight_type": "QUInt8"}).module
    )
    imported = compile_module(import_onnx(theirs))
    for _ in range(20):
        x = (rng.standard_normal((1, 16, 8, 8)) * 3).astype(np.float32)
        (expected,) = run_ort(theirs, {"x": x})
        assert np.array_equal(bits(ours(x=x)[0]), bits(expected))
        assert np.array_equal(bits(imported(x=x)[0]), bits(expected))


def test_a_dynamic_matmul_of_two_activations_is_refused_by_name() -> None:
    """quantize_dynamic with MatMulConstBOnly false quantizes a MatMul of two activations
    (attention's Q·Kᵀ) into a MatMulInteger whose B and its zero point come at run time: not
    imported, and the message says which MatMul and why (not that the chain is missing)."""
    nodes = [
        helper.make_node("Transpose", ["x"], ["xt"], perm=[0, 2, 1]),
        helper.make_node("MatMul", ["x", "xt"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 6, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 6, 6])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    theirs = ort_dynamic(
        model, weight_type=QuantType.QInt8, extra_options={"MatMulConstBOnly": False}
    )
    assert "MatMulInteger" in {n.op_type for n in theirs.graph.node}
    with pytest.raises(
        OnnxImportError, match=r"\(MatMulInteger\): a MatMulInteger of two run-time"
    ):
        import_onnx(theirs)


def lstm_classifier(rng) -> onnx.ModelProto:
    """Embedding (Gather) → bidirectional LSTM → last hidden states → MatMul + Add: the text
    model whose LSTM `quantize_dynamic` turns into DynamicQuantizeLSTM."""
    vocab, width, hidden, steps = 50, 12, 8, 6
    arrays = {
        "table": rng.standard_normal((vocab, width)),
        "W": rng.standard_normal((2, 4 * hidden, width)) * 0.3,
        "R": rng.standard_normal((2, 4 * hidden, hidden)) * 0.3,
        "B": rng.standard_normal((2, 8 * hidden)) * 0.2,
        "w": rng.standard_normal((2 * hidden, 5)) * 0.3,
        "b": rng.standard_normal(5) * 0.1,
    }
    nodes = [
        helper.make_node("Gather", ["table", "tokens"], ["e"]),
        helper.make_node("Transpose", ["e"], ["seq"], perm=[1, 0, 2]),
        helper.make_node(
            "LSTM",
            ["seq", "W", "R", "B"],
            ["y", "y_h"],
            name="lstm",
            hidden_size=hidden,
            direction="bidirectional",
        ),  # fmt: skip
        helper.make_node("Transpose", ["y_h"], ["h"], perm=[1, 0, 2]),
        helper.make_node("Reshape", ["h", "flat"], ["hf"]),
        helper.make_node("MatMul", ["hf", "w"], ["z"], name="head"),
        helper.make_node("Add", ["z", "b"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("tokens", TensorProto.INT64, [2, steps])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [2, 5])],
        [numpy_helper.from_array(a.astype(np.float32), n) for n, a in arrays.items()]
        + [numpy_helper.from_array(np.array([2, -1], np.int64), "flat")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


@pytest.mark.parametrize(
    ("config", "quantized"),
    [
        ({}, ["table", "lstm", "head"]),
        ({"nodes_to_exclude": ["lstm"]}, ["table", "head"]),
        *(  # the default tier keeps the two above
            pytest.param(*case, marks=pytest.mark.slow)
            for case in [
                ({"per_channel": True, "reduce_range": True}, ["table", "lstm", "head"]),
                ({"extra_options": {"WeightSymmetric": False}}, ["table", "lstm", "head"]),
                ({"op_types_to_quantize": ["MatMul"]}, ["head"]),
            ]
        ),
    ],
    ids=["default", "lstm-excluded", "per-channel-7-bit", "asymmetric", "no-lstm"],
)
def test_quantize_dynamic_of_an_lstm_is_onnxruntimes(config, quantized) -> None:
    """`mode: dynamic` quantizes an LSTM as `quantize_dynamic` does (a DynamicQuantizeLSTM:
    int8 W and R per direction or per gate row, whatever `weight_type`), or leaves it float
    when the config does: the same bits as our import of ORT's model, and as ORT's session
    where its u8 × s8 sums are exact."""
    model = lstm_classifier(np.random.default_rng(3))
    model.graph.node[0].name = "table"
    theirs = ort_dynamic(model, **config)
    lstm_types = {n.op_type for n in theirs.graph.node} & {"LSTM", "DynamicQuantizeLSTM"}
    assert lstm_types == {"DynamicQuantizeLSTM" if "lstm" in quantized else "LSTM"}
    result = quantize(model, None, {"mode": "dynamic", **config})
    assert sorted(result.summary.quantized) == sorted(quantized)
    assert ("lstm" in result.summary.left_float) == ("lstm" not in quantized)
    fn, imported = compile_module(result.module), compile_module(import_onnx(theirs))
    exact_in_ort = config.get("reduce_range") or not ort_saturates_u8s8()
    for seed in range(3):
        tokens = np.random.default_rng(seed).integers(0, 50, (2, 6)).astype(np.int64)
        (ours,), (want,) = fn(tokens=tokens), imported(tokens=tokens)
        np.testing.assert_array_equal(bits(ours), bits(want))
        if exact_in_ort:
            np.testing.assert_array_equal(bits(ours), bits(run_ort(theirs, {"tokens": tokens})[0]))
