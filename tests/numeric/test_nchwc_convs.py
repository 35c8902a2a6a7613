"""Float convs of a quantized model sum as ONNX Runtime's optimized session runs them.

ORT's `NchwcTransformer` turns a float 2-D conv with constant weights into an MLAS NCHWc conv,
which sums in blocks of input channels with its taps in (kh, kw, c) order (float_sum.py,
`host_cpu.nchwc_conv_channels`). A quantized model runs in that session, so such a conv (a node
left out of quantization, a model whose convs `op_types_to_quantize` skips) must sum so, in the
importer's reading of ORT's model and in our quantizer's module alike; a float model keeps the
order of ORT's calibrator (its unoptimized session).
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from qdialect import qnn  # noqa: E402
from qdialect.host_cpu import nchwc_block_size  # noqa: E402
from qdialect.onnx_import import import_onnx  # noqa: E402
from qdialect.textio import parse_module  # noqa: E402
from runtime.compiled import compile_module  # noqa: E402
from runtime.quantization import quantize  # noqa: E402
from runtime.reference import run_function  # noqa: E402

from .onnxruntime_session import run_ort  # noqa: E402
from .test_quantize_static import ort_quantized, qnn_default  # noqa: E402

# (input channels, output channels, kernel, group, pads, strides, dilations, bias)
CONVS = {
    "nchw-input": (3, 16, 3, 1, [1, 1, 1, 1], [2, 2], [1, 1], True),
    "nchw-input-odd-outputs": (3, 10, 3, 1, [1, 1, 1, 1], [1, 1], [1, 1], True),
    "blocked-3x3": (32, 32, 3, 1, [1, 1, 1, 1], [1, 1], [1, 1], True),
    "blocked-asymmetric-pads": (32, 16, 3, 1, [0, 1, 2, 1], [1, 2], [1, 1], False),
    "blocked-dilated-5x5": (16, 32, 5, 1, [2, 2, 2, 2], [1, 1], [2, 1], True),
    "pointwise": (48, 16, 1, 1, [0, 0, 0, 0], [1, 1], [1, 1], True),
    "pointwise-two-batches": (160, 32, 1, 1, [0, 0, 0, 0], [2, 2], [1, 1], True),
    "padded-1x1": (32, 16, 1, 1, [1, 1, 1, 1], [1, 1], [1, 1], True),
    "depthwise": (32, 32, 3, 32, [1, 1, 1, 1], [1, 1], [1, 1], True),
    "grouped": (64, 32, 3, 2, [1, 1, 1, 1], [1, 1], [1, 1], True),
    # channel counts a multiple of 4 pad up to whole blocks (zeros), others stay MLAS's conv
    "padded-channels": (20, 16, 3, 1, [1, 1, 1, 1], [1, 1], [1, 1], True),
    "padded-pointwise": (36, 32, 1, 1, [0, 0, 0, 0], [1, 1], [1, 1], True),
    "padded-depthwise": (24, 24, 3, 24, [1, 1, 1, 1], [2, 2], [1, 1], False),
    "not-converted": (17, 16, 3, 1, [1, 1, 1, 1], [1, 1], [1, 1], True),
    "not-converted-depthwise": (18, 18, 3, 18, [1, 1, 1, 1], [1, 1], [1, 1], True),
    "not-converted-grouped": (48, 48, 3, 2, [1, 1, 1, 1], [1, 1], [1, 1], True),
}


def conv_node(name: str, x: str, y: str, spec, rng) -> tuple[onnx.NodeProto, list]:
    cin, cout, k, group, pads, strides, dilations, bias = spec
    fan_in = cin // group * k * k
    w = rng.standard_normal((cout, cin // group, k, k)) * np.sqrt(2 / fan_in)
    inits = [numpy_helper.from_array(w.astype(np.float32), f"{name}_w")]
    inputs = [x, f"{name}_w"]
    if bias:
        inits.append(
            numpy_helper.from_array(rng.standard_normal(cout).astype(np.float32), f"{name}_b")
        )
        inputs.append(f"{name}_b")
    node = helper.make_node(
        "Conv", inputs, [y], name=name, kernel_shape=[k, k], group=group, pads=pads,
        strides=strides, dilations=dilations,
    )  # fmt: skip
    return node, inits


def model_of(nodes, inits, channels: int) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes,
        "nchwc",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, channels, 13, 13])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)


def dequantized_conv(spec, rng) -> onnx.ModelProto:
    """Q → DQ → a float Conv with float initializers: a quantized model's left-out conv."""
    params = [
        numpy_helper.from_array(np.asarray(np.float32(0.03)), "s"),
        numpy_helper.from_array(np.asarray(np.uint8(120)), "z"),
    ]
    conv, inits = conv_node("conv", "xd", "y", spec, rng)
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s", "z"], ["xq"]),
        helper.make_node("DequantizeLinear", ["xq", "s", "z"], ["xd"]),
        conv,
    ]
    return model_of(nodes, params + inits, spec[0])


def runs_as_onnxruntime(model: onnx.ModelProto, feeds: dict) -> None:
    """The imported model, through `qnn-default`, interpreted and compiled, equals ORT's
    optimized session on `feeds`, bit for bit."""
    (theirs,) = run_ort(model, feeds)
    module = qnn_default(import_onnx(model))
    (ours,) = run_function(module, feeds)
    assert np.array_equal(ours, theirs), np.abs(ours - theirs).max()
    (compiled,) = compile_module(module)(**feeds)
    assert np.array_equal(compiled, theirs), np.abs(compiled - theirs).max()


@pytest.mark.parametrize("case", sorted(CONVS))
def test_float_convs_of_quantized_models_sum_as_onnxruntimes_nchwc_convs(case: str) -> None:
    rng = np.random.default_rng(len(case))
    model = dequantized_conv(CONVS[case], rng)
    feeds = {"x": rng.uniform(-3.5, 3.5, (1, CONVS[case][0], 13, 13)).astype(np.float32)}
    runs_as_onnxruntime(model, feeds)


def conv_of(module) -> qnn.Conv2DOp:
    return next(op for op in module.walk() if isinstance(op, qnn.Conv2DOp))


def test_which_convs_are_nchwc_convs_and_how_they_print() -> None:
    """The importer marks a quantized model's float convs with the channels of each block, and
    the mark survives printing and parsing; ORT leaves a conv whose input channels fill no
    whole block alone, and a float model runs unoptimized (no mark)."""
    rng = np.random.default_rng(0)
    block = nchwc_block_size()
    expected = {"nchw-input": 1, "depthwise": 1, "pointwise": 128, "padded-1x1": block}
    for case, channels in expected.items():
        conv = conv_of(import_onnx(dequantized_conv(CONVS[case], rng)))
        assert conv.nchwc_channels is not None and conv.nchwc_channels.value.data == channels
    for case in ("not-converted", "not-converted-depthwise"):
        assert conv_of(import_onnx(dequantized_conv(CONVS[case], rng))).nchwc_channels is None
    node, inits = conv_node("conv", "x", "y", CONVS["blocked-3x3"], rng)
    float_model = model_of([node], inits, 32)
    assert conv_of(import_onnx(float_model)).nchwc_channels is None


def test_nchwc_channels_marks_float_convs_only() -> None:
    text = """
func.func @f(%x: tensor<1x16x4x4xi8>, %w: tensor<16x16x1x1xi8>) -> tensor<1x16x4x4xi32> {
  %y = qnn.conv2d %x, %w {nchwc_channels = 16 : i64} : tensor<1x16x4x4xi8>, tensor<16x16x1x1xi8> -> tensor<1x16x4x4xi32>
  func.return %y : tensor<1x16x4x4xi32>
}
"""
    with pytest.raises(Exception, match="nchwc_channels marks a float NCHW conv only"):
        parse_module(text)


def three_convs(rng) -> onnx.ModelProto:
    """An NCHW-input conv, a 1x1 conv and a dilated 5x5 one: those left out of quantization
    stay float, the middle one is quantized (so ORT's model is a quantized one)."""
    first, a = conv_node("first", "x", "h", CONVS["nchw-input"], rng)
    relu = helper.make_node("Relu", ["h"], ["r"], name="relu")
    mid, b = conv_node("mid", "r", "m", (16, 16, 1, 1, [0, 0, 0, 0], [1, 1], [1, 1], True), rng)
    last, c = conv_node("last", "m", "y", CONVS["blocked-dilated-5x5"], rng)
    return model_of([first, relu, mid, last], a + b + c, 3)


@pytest.mark.parametrize("fmt", ["QDQ", "QOperator"])
@pytest.mark.parametrize("excluded", [["last"], ["first", "last"]])
def test_our_quantizer_leaves_excluded_convs_nchwc_as_onnxruntime_runs_them(
    fmt: str, excluded: list[str]
) -> None:
    logging.getLogger().setLevel(logging.ERROR)
    rng = np.random.default_rng(7)
    model = three_convs(rng)
    samples = [{"x": rng.standard_normal((1, 3, 13, 13)).astype(np.float32)} for _ in range(3)]
    config = {
        "quant_format": fmt, "per_channel": False, "activation_type": "QUInt8",
        "weight_type": "QInt8", "reduce_range": True, "nodes_to_exclude": excluded,
    }  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        theirs, cache = ort_quantized(model, samples, config, Path(tmp))
        ours = quantize(model, cache, config).module
    x = rng.standard_normal((1, 3, 13, 13)).astype(np.float32)
    (expected,) = run_ort(theirs, {"x": x})
    (compiled,) = compile_module(ours)(x=x)
    assert np.array_equal(compiled, expected), np.abs(compiled - expected).max()
    (imported,) = compile_module(import_onnx(theirs))(x=x)
    assert np.array_equal(imported, expected)


# what reads the conv before a GlobalAveragePool: ORT keeps a Relu's, Sigmoid's or MaxPool's
# output in NCHWc (the global pool then sums in row-major order), and a Clip's it fuses into the
# conv (ConvActivationFusion), not one after a Relu (the conv has its activation already)
CHAINS = {
    "conv": [],
    "relu": [("Relu", {})],
    "sigmoid-maxpool": [("Sigmoid", {}), ("MaxPool", {"kernel_shape": [2, 2], "strides": [2, 2]})],
    "clip": [("Clip", {})],
    "relu-clip": [("Relu", {}), ("Clip", {})],
    "leaky-relu": [("LeakyRelu", {"alpha": 0.1})],
    "leaky-relu-relu": [("LeakyRelu", {"alpha": 0.1}), ("Relu", {})],
}


@pytest.mark.parametrize("chain", sorted(CHAINS))
def test_a_global_pool_reading_an_nchwc_tensor_sums_as_onnxruntime(chain: str) -> None:
    rng = np.random.default_rng(len(chain))
    spec = CONVS["blocked-3x3"]
    model = dequantized_conv(spec, rng)
    graph = model.graph
    graph.node[-1].output[0] = "t0"
    graph.initializer.extend(
        [numpy_helper.from_array(np.float32(v), name) for name, v in (("lo", 0), ("hi", 6))]
    )
    for i, (op_type, attrs) in enumerate(CHAINS[chain]):
        bounds = ["lo", "hi"] if op_type == "Clip" else []
        graph.node.append(helper.make_node(op_type, [f"t{i}", *bounds], [f"t{i + 1}"], **attrs))
    last = f"t{len(CHAINS[chain])}"
    graph.node.append(helper.make_node("GlobalAveragePool", [last], ["y"]))
    feeds = {"x": rng.uniform(-3.5, 3.5, (1, spec[0], 13, 13)).astype(np.float32)}
    runs_as_onnxruntime(model, feeds)


# a linear Resize of an NCHWc conv's output: ORT's NCHWc Upsample for whole-number factors (from
# scales or sizes) in half_pixel, asymmetric or align_corners mode; its bilinear Resize otherwise
RESIZES = {
    "half-pixel-x2": ("half_pixel", [2.0, 2.0], None),
    "asymmetric-x3-x1": ("asymmetric", [3.0, 1.0], None),
    "align-corners-x2": ("align_corners", [2.0, 2.0], None),
    "pytorch-half-pixel": ("pytorch_half_pixel", [2.0, 2.0], None),
    "fractional": ("half_pixel", [1.5, 2.0], None),
    "sizes": ("half_pixel", None, [26, 39]),
    "fractional-sizes": ("half_pixel", None, [20, 26]),
}


@pytest.mark.parametrize("case", sorted(RESIZES))
def test_a_linear_resize_after_an_nchwc_conv_is_onnxruntimes(case: str) -> None:
    mode, scales, sizes = RESIZES[case]
    rng = np.random.default_rng(len(case))
    model = dequantized_conv(CONVS["padded-channels"], rng)
    graph = model.graph
    graph.node[-1].output[0] = "c"
    inputs = ["c", ""]
    if scales is not None:
        graph.initializer.append(
            numpy_helper.from_array(np.array([1, 1, *scales], np.float32), "k")
        )
        inputs.append("k")
    else:
        graph.initializer.append(numpy_helper.from_array(np.array([1, 16, *sizes], np.int64), "k"))
        inputs += ["", "k"]
    attrs = {"mode": "linear", "coordinate_transformation_mode": mode}
    graph.node.append(helper.make_node("Resize", inputs, ["y"], **attrs))
    feeds = {"x": rng.uniform(-3.5, 3.5, (1, 20, 13, 13)).astype(np.float32)}
    runs_as_onnxruntime(model, feeds)


# what follows the float conv: ORT's ConvMulFusion, ConvAddFusion and ConvBNFusion take a Mul
# by a scalar or per-channel constant, an Add of a per-channel constant or a BatchNormalization
# into its weights and bias (not a constant first input, nor a conv read twice)
FOLLOWERS = {
    "mul-scalar": ("Mul", (), False),
    "mul-c11": ("Mul", (32, 1, 1), False),
    "mul-1c11": ("Mul", (1, 32, 1, 1), False),
    "add-1c11": ("Add", (1, 32, 1, 1), False),
    "add-c11-no-bias": ("Add", (32, 1, 1), False),
    "batch-norm": ("BatchNormalization", (32,), False),
    "mul-constant-first": ("Mul", (32, 1, 1), True),
}


@pytest.mark.parametrize("case", sorted(FOLLOWERS))
def test_a_float_conv_takes_in_what_onnxruntime_fuses_into_it(case: str) -> None:
    op_type, shape, constant_first = FOLLOWERS[case]
    rng = np.random.default_rng(len(case))
    spec = CONVS["blocked-3x3"][:-1] + (case != "add-c11-no-bias",)
    model = dequantized_conv(spec, rng)
    graph = model.graph
    graph.node[-1].output[0] = "c"
    if op_type == "BatchNormalization":
        params = [rng.uniform(0.5, 2, 32), rng.standard_normal(32), rng.standard_normal(32),
                  rng.uniform(0.2, 3, 32)]  # fmt: skip
        names = ["g", "b", "m", "v"]
        graph.initializer.extend(
            numpy_helper.from_array(p.astype(np.float32), n)
            for p, n in zip(params, names, strict=True)
        )
        graph.node.append(helper.make_node(op_type, ["c", *names], ["y"], epsilon=1e-3))
    else:
        k = (rng.standard_normal(shape) + (1.0 if op_type == "Mul" else 0.0)).astype(np.float32)
        graph.initializer.append(numpy_helper.from_array(k, "k"))
        inputs = ["k", "c"] if constant_first else ["c", "k"]
        graph.node.append(helper.make_node(op_type, inputs, ["y"]))
    feeds = {"x": rng.uniform(-3.5, 3.5, (1, 32, 13, 13)).astype(np.float32)}
    runs_as_onnxruntime(model, feeds)


# Adds of NCHWc tensors: ORT fuses the Add into the first of its inputs that an NCHWc conv
# alone reads (the conv's sums start from the other input, the bias comes after them)
SUMS = {
    "second-input": (["c1", "c2"], False),  # c1 is read twice (a Relu too): c2 takes the sum
    "first-input": (["c2", "c1"], False),
    "then-relu": (["c2", "c1"], True),
    "with-the-input": (["c2", "xd"], False),  # xd is no NCHWc tensor: a plain Add
}


@pytest.mark.parametrize("case", sorted(SUMS))
def test_an_add_of_nchwc_convs_sums_as_onnxruntime(case: str) -> None:
    operands, relu = SUMS[case]
    rng = np.random.default_rng(len(case))
    spec = CONVS["blocked-3x3"]
    model = dequantized_conv(spec, rng)
    graph = model.graph
    graph.node[-1].output[0] = "c1"
    second, inits = conv_node("conv2", "r", "c2", spec, rng)
    graph.initializer.extend(inits)
    graph.node.extend([helper.make_node("Relu", ["c1"], ["r"]), second])
    graph.node.append(helper.make_node("Add", operands, ["sum" if relu else "y"]))
    if relu:
        graph.node.append(helper.make_node("Relu", ["sum"], ["y"]))
    feeds = {"x": rng.uniform(-3.5, 3.5, (1, 32, 13, 13)).astype(np.float32)}
    runs_as_onnxruntime(model, feeds)
