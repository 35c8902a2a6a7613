"""The quantizer's node selection and rules: ONNX Runtime's own options against ONNX Runtime,
Intel Neural Compressor's and NNI's rule forms against the ORT option they amount to, presets
against `qparams.choose_qparams`, the calibrated IR round trip, and config errors."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from qdialect.onnx_import import import_onnx  # noqa: E402
from qdialect.qparams import Scheme, choose_qparams  # noqa: E402
from qdialect.quant_config import ConfigError, QuantizeConfig  # noqa: E402
from qdialect.textio import parse_module, print_module  # noqa: E402
from qdialect.types import UniformQuantizedType  # noqa: E402
from runtime.quantization import QuantizeWarning, calibrated_module, quantize, read_ranges  # noqa: E402
from runtime.reference import run_function  # noqa: E402

from . import float_models  # noqa: E402
from .test_quantize_static import ort_quantized  # noqa: E402

BASE = {
    "quant_format": "QDQ",
    "per_channel": False,
    "reduce_range": True,
    "activation_type": "QUInt8",
}


@pytest.fixture(scope="module")
def movement():
    logging.getLogger().setLevel(logging.ERROR)
    rng = np.random.default_rng(3)
    model = float_models.movement(rng)
    samples = [{"x": rng.standard_normal((1, 3, 12, 12)).astype(np.float32)} for _ in range(3)]
    x = rng.standard_normal((1, 3, 12, 12)).astype(np.float32)
    return model, samples, x


def ort_and_ours(movement, ort_options: dict, our_config: dict):
    model, samples, x = movement
    with tempfile.TemporaryDirectory() as tmp:
        theirs, cache = ort_quantized(model, samples, {**BASE, **ort_options}, Path(tmp))
        ours = quantize(model, cache, {**BASE, **our_config})
    (expected,) = run_function(import_onnx(theirs), {"x": x})
    (got,) = run_function(ours.module, {"x": x})
    return expected, got, ours


@pytest.mark.parametrize(
    ("ort_options", "our_config"),
    [
        ({"nodes_to_exclude": ["conv2"]}, {"nodes_to_exclude": ["conv2"]}),
        ({"nodes_to_quantize": ["conv1", "head"]}, {"nodes_to_quantize": ["conv1", "head"]}),
        ({"op_types_to_quantize": ["Conv"]}, {"op_types_to_quantize": ["Conv"]}),
        # INC's fp32 rule and NNI's exclude are nodes_to_exclude in their users' words
        (
            {"nodes_to_exclude": ["conv2"]},
            {"op_name_dict": {"conv2": {"weight": {"dtype": ["fp32"]}}}},
        ),
        (
            {"nodes_to_exclude": ["conv1", "conv2"]},
            {"op_name_dict": {"conv[12]": {"activation": {"dtype": "fp32"}}}},
        ),
        (
            {"nodes_to_exclude": ["concat"]},
            {"op_type_dict": {"Concat": {"activation": {"dtype": "fp32"}}}},
        ),
        (
            {"nodes_to_exclude": ["conv1", "conv2"]},
            {"config_list": [{"op_types": ["Conv2d"], "exclude": True}]},
        ),
        # INC per-channel granularity on every Conv is per_channel for the weighted ops here
        (
            {"per_channel": True, "nodes_to_exclude": ["head"]},
            {
                "op_type_dict": {
                    "Conv": {"weight": {"granularity": "per_channel"}},
                    "MatMul": {"weight": {"dtype": "fp32"}},
                }
            },
        ),
    ],
)
def test_node_selection_matches_onnxruntime(movement, ort_options, our_config) -> None:
    expected, got, _ = ort_and_ours(movement, ort_options, our_config)
    assert np.array_equal(got, expected)


@pytest.mark.parametrize(
    "extra_options",
    [
        {"ActivationSymmetric": True},
        {"WeightSymmetric": False},
        {"MinimumRealRange": 0.5},
        {"QDQDisableWeightAdjustForInt32Bias": True},
        {"QDQKeepRemovableActivations": True},
        {"OpTypesToExcludeOutputQuantization": ["Conv"]},
        {"ForceQuantizeNoInputCheck": True},
    ],
    ids=lambda options: next(iter(options)),
)
@pytest.mark.parametrize("per_channel", [False, True])
def test_extra_options_match_onnxruntime(movement, extra_options, per_channel) -> None:
    options = {"extra_options": extra_options, "per_channel": per_channel}
    expected, got, _ = ort_and_ours(movement, options, options)
    assert np.array_equal(got, expected)


def test_summary_names_the_nodes_left_float(movement) -> None:
    _, _, ours = ort_and_ours(
        movement, {"nodes_to_exclude": ["conv2"]}, {"nodes_to_exclude": ["conv2"]}
    )
    assert ours.summary.left_float == ["Conv 'conv2'"]
    assert "Conv 'conv1'" in ours.summary.quantized


@pytest.mark.parametrize(
    ("quant_format", "left_float"),
    [
        ("QDQ", ["Div 'scale'", "Div 'gelu_scale'", "Erf 'erf'"]),
        (
            "QOperator",
            [
                "Div 'scale'",
                "LayerNormalization 'ln1'",
                "Div 'gelu_scale'",
                "Erf 'erf'",
                "LayerNormalization 'ln2'",
            ],
        ),
    ],
)
def test_summary_lists_each_node_once_as_onnxruntime_quantizes_it(quant_format, left_float):
    """Nodes the importer wrote as several ops (the attention MatMuls, Split, Resize) are one
    line each; LayerNormalization is quantized in QDQ form only (QDQNormalization has no
    QOperator counterpart), Erf and the Divs (not in the default op types) in neither, as
    ONNX Runtime does."""
    rng = np.random.default_rng(5)
    model = float_models.encoder_layer(rng)
    samples = [{"x": rng.standard_normal((1, 8, 16)).astype(np.float32)} for _ in range(2)]
    config = {**BASE, "quant_format": quant_format}
    with tempfile.TemporaryDirectory() as tmp:
        _, cache = ort_quantized(model, samples, config, Path(tmp))
        ours = quantize(model, cache, config)
    assert ours.summary.left_float == left_float
    assert ours.summary.quantized.count("MatMul 'scores'") == 1
    assert "MatMul 'context'" in ours.summary.quantized


@pytest.mark.parametrize("quant_format", ["QDQ", "QOperator"])
def test_a_relu_of_a_float_tensor_is_listed_as_float(quant_format) -> None:
    """A Relu of the graph input (no quantized node wrote it) stays float in both of ORT's
    quantizers, reading x itself; the summary says so."""
    rng = np.random.default_rng(9)
    nodes = [
        onnx.helper.make_node("Relu", ["x"], ["r"], name="relu"),
        onnx.helper.make_node("Conv", ["r", "w"], ["y"], name="conv"),
    ]
    model = float_models.onnx_model(
        nodes, [1, 2, 5, 5], [1, 3, 5, 5], {"w": float_models.normal(rng, 3, 2, 1, 1)}
    )
    samples = [{"x": rng.standard_normal((1, 2, 5, 5)).astype(np.float32)} for _ in range(2)]
    config = {**BASE, "quant_format": quant_format}
    with tempfile.TemporaryDirectory() as tmp:
        theirs, cache = ort_quantized(model, samples, config, Path(tmp))
        ours = quantize(model, cache, config)
    (relu,) = [n for n in theirs.graph.node if n.op_type == "Relu"]
    assert list(relu.input) == ["x"]
    assert ours.summary.left_float == ["Relu 'relu'"]
    assert ours.summary.quantized == ["Conv 'conv'"]


def test_nni_last_matching_entry_wins(movement) -> None:
    config = {
        "config_list": [
            {"op_types": ["default"], "exclude": True},
            {"op_names": ["conv1"], "quant_types": ["weight"], "quant_bits": 8},
        ]
    }
    _, _, ours = ort_and_ours(movement, {}, config)
    assert "Conv 'conv1'" in ours.summary.quantized
    assert ours.summary.left_float == ["Conv 'conv2'", "MatMul 'head'"]


def element_named(module, hint: str) -> UniformQuantizedType:
    """The quantized element type of the value the quantizer named `hint`."""
    (result,) = [r for op in module.walk() for r in op.results if r.name_hint == hint]
    return result.type.element_type


@pytest.mark.parametrize("preset", ["pytorch", "symmetric_power2", "tensorflow"])
def test_preset_scales_are_the_schemes(movement, preset) -> None:
    model, samples, _ = movement
    with tempfile.TemporaryDirectory() as tmp:
        _, cache = ort_quantized(model, samples, BASE, Path(tmp))
        ours = quantize(model, cache, {**BASE, "reduce_range": False, "preset": preset})
        ranges = read_ranges(cache)
    config = QuantizeConfig.from_dict({"preset": preset})
    weights = onnx.numpy_helper.to_array(next(t for t in model.graph.initializer if t.name == "w1"))
    w_type = element_named(ours.module, "w1_quantized")
    w_scheme = config.scheme(config.weight_type)
    expected = choose_qparams(float(weights.min()), float(weights.max()), "i8", w_scheme)
    assert (w_type.scale, w_type.zero_point) == expected
    lo, hi = ranges["x"]
    x_type = element_named(ours.module, "x_QuantizeLinear_Output")
    x_scheme = config.scheme(config.activation_type)
    assert (x_type.scale, x_type.zero_point) == choose_qparams(float(lo), float(hi), "u8", x_scheme)
    assert {w_scheme, x_scheme} <= set(Scheme)


def test_calibrated_ir_round_trips_into_the_same_quantized_module(movement) -> None:
    model, samples, x = movement
    with tempfile.TemporaryDirectory() as tmp:
        _, cache = ort_quantized(model, samples, BASE, Path(tmp))
        direct = quantize(model, cache, BASE)
        calibrated = calibrated_module(model, cache)
    text = print_module(calibrated)
    assert (
        "quant.qcast %x : tensor<1x3x12x12xf32> to tensor<1x3x12x12x!quant.calibrated<f32<" in text
    )
    via_text = quantize(parse_module(text), None, BASE)
    assert print_module(via_text.module) == print_module(direct.module)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"per_chanel": True},
            "unknown config key 'per_chanel' (valid: activation_type, calibrate_method, calibration_providers, config_list, extra_options, mode, nodes_to_exclude, nodes_to_quantize, op_name_dict, op_type_dict, op_types_to_quantize, per_channel, preset, quant_format, recipes, reduce_range, use_external_data_format, weight_type)",
        ),
        (
            {"calibration_providers": ["CUDAExecutionProvider"]},
            "'calibration_providers': calibration computes what ONNX Runtime's CPUExecutionProvider computes; got ['CUDAExecutionProvider']",
        ),
        (
            {"use_external_data_format": "yes"},
            "'use_external_data_format' must be true or false, got 'yes'",
        ),
        ({"quant_format": "QDQQ"}, "'quant_format' must be \"QDQ\" or \"QOperator\", got 'QDQQ'"),
        (
            {"activation_type": "QUint8"},
            "'activation_type': unknown quantization type 'QUint8' (valid: QInt8, QUInt8, QInt16, QUInt16, QInt4, QUInt4)",
        ),
        (
            {"extra_options": {"ActivationSymetric": True}},
            "unknown extra_options key 'ActivationSymetric'",
        ),
        (
            {"extra_options": {"WeightSymmetric": 0}},
            "extra_options 'WeightSymmetric' must be true or false, got 0",
        ),
        (
            {"extra_options": {"MinimumRealRange": -1}},
            "extra_options 'MinimumRealRange' must be a number >= 0 or null, got -1",
        ),
        (
            {"extra_options": {"QDQOpTypePerChannelSupportToAxis": {"MatMul": "1"}}},
            "extra_options 'QDQOpTypePerChannelSupportToAxis' must map op types to integer "
            "axes, got {'MatMul': '1'}",
        ),
        ({"mode": "qat"}, "'mode' must be one of static, dynamic, weight_only, got 'qat'"),
        # quantize_static's own refusals (check_static_quant_arguments), in its words
        (
            {"activation_type": "QInt8", "weight_type": "QUInt8"},
            "ONNXRuntime quantization doesn't support data format:activation_type=QuantType.QInt8, weight_type=QuantType.QUInt8",
        ),
        (
            {"quant_format": "QOperator", "activation_type": "QUInt16"},
            "Only QuantFormat.QDQ supports 16-bit quantization types.",
        ),
        (
            {"mode": "dynamic", "weight_type": "QInt4"},
            "'weight_type' must be QInt8 or QUInt8 in dynamic mode (quantize_dynamic's integer "
            "kernels take 8-bit weights), got QInt4",
        ),
        (
            {"mode": "dynamic", "activation_type": "QInt8"},
            "'activation_type' is no quantize_dynamic argument (dynamic mode quantizes "
            "activations to uint8 at run time, from no calibration)",
        ),
        (
            {"mode": "dynamic", "extra_options": {"TensorQuantOverrides": {"w": [{}]}}},
            "'TensorQuantOverrides' is supported in static mode only",
        ),
        (
            {"mode": "dynamic", "extra_options": {"MatMulConstBOnly": False}},
            "'MatMulConstBOnly' false (a MatMul of two activations, dynamically quantized) is not supported",
        ),
        (
            {"preset": "caffe"},
            "'preset' must be one of asymmetric, symmetric, symmetric_uint8, symmetric_power2, ipex, mxnet, onnxruntime, pytorch, pytorch_asymmetric, tensorflow, got 'caffe'",
        ),
        (
            {"op_type_dict": {"Conv": {"weights": {}}}},
            "unknown key 'weights' in op_type_dict['Conv'] (valid: weight, activation)",
        ),
        ({"config_list": [{"op_type": ["Conv2d"]}]}, "unknown key 'op_type' in config_list[0]"),
        (
            {"config_list": [{"quant_types": ["weight"], "quant_bits": 3}]},
            "config_list[0]: no 3-bit storage (4, 8 and 16 exist)",
        ),
    ],
)
def test_config_errors_name_the_key(config, message) -> None:
    with pytest.raises(ConfigError) as info:
        QuantizeConfig.from_dict(config)
    assert message in str(info.value)


def test_none_is_quantize_statics_default() -> None:
    """quantize_static's keyword defaults are None: a config that spells them out is the
    default config."""
    spelled = {k: None for k in ("extra_options", "op_types_to_quantize", "nodes_to_quantize")}
    spelled["nodes_to_exclude"] = None
    assert QuantizeConfig.from_dict(spelled) == QuantizeConfig.from_dict({})
    # its keyword arguments that change no number here are accepted at their CPU values
    spelled |= {"use_external_data_format": True, "calibration_providers": ["CPUExecutionProvider"]}
    assert QuantizeConfig.from_dict(spelled) == QuantizeConfig.from_dict({})


def test_missing_range_names_the_tensor(movement) -> None:
    model, _, _ = movement
    with pytest.raises(ValueError, match="no calibration range for tensor 'x'"):
        quantize(model, {}, BASE)


@pytest.mark.parametrize("symmetric", [False, True])
def test_an_infinite_range_names_the_tensor(symmetric) -> None:
    """A causal mask's -inf reaches a tensor's range: no scale fits it (ORT's quantize_static
    writes an infinite scale). The error names the tensor and the ways out."""
    from onnx import TensorProto, helper, numpy_helper

    nodes = [
        helper.make_node("Where", ["mask", "x", "ninf"], ["masked"], name="where"),
        helper.make_node("Softmax", ["masked"], ["y"], name="softmax"),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 4])],
        [
            numpy_helper.from_array(np.tril(np.ones((4, 4), bool)), "mask"),
            numpy_helper.from_array(np.array(-np.inf, np.float32), "ninf"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    table = {"x": (-1.0, 1.0), "masked": (-np.inf, 1.0), "y": (0.0, 1.0)}
    config = {
        "op_types_to_quantize": ["Where", "Softmax"],
        "extra_options": {"ActivationSymmetric": symmetric},
    }
    with pytest.raises(ValueError) as info:
        quantize(model, table, config)
    assert str(info.value).startswith("tensor 'masked': its range [")
    assert "is not finite (a -inf mask?), so no scale fits it" in str(info.value)
    assert "(nodes_to_exclude) or give it a range (TensorQuantOverrides rmin/rmax)" in str(
        info.value
    )


@pytest.mark.parametrize(
    ("activation_type", "weight_type"), [("QInt16", "QInt8"), ("QUInt16", "QInt16")]
)
def test_sixteen_bit_types_match_onnxruntime(movement, activation_type, weight_type) -> None:
    options = {"activation_type": activation_type, "weight_type": weight_type}
    model, samples, x = movement
    with tempfile.TemporaryDirectory() as tmp:
        theirs, cache = ort_quantized(model, samples, {**BASE, **options}, Path(tmp))
        ours = quantize(model, cache, {**BASE, **options})
    (expected,) = run_function(import_onnx(theirs), {"x": x})
    (got,) = run_function(ours.module, {"x": x})
    assert np.array_equal(got, expected)


def test_int4_weights_are_onnxruntimes(movement) -> None:
    """4-bit weights: the stored integers and scales ONNX Runtime writes (its QDQ model with
    int4 initializers does not import; the weights are compared directly)."""
    model, samples, _ = movement
    options = {**BASE, "weight_type": "QInt4", "per_channel": True}
    with tempfile.TemporaryDirectory() as tmp:
        theirs, cache = ort_quantized(model, samples, options, Path(tmp))
        ours = quantize(model, cache, options)
    initializers = {t.name: onnx.numpy_helper.to_array(t) for t in theirs.graph.initializer}
    w_type = element_named(ours.module, "w1_quantized")
    assert w_type.storage_spelling == "i4"
    assert list(w_type.scales) == [float(s) for s in initializers["w1_scale"]]
    (stored,) = [
        op.input.owner.value
        for op in ours.module.walk()
        if op.results and op.results[0].name_hint == "w1_quantized"
    ]
    ints = np.array([v.value.data for v in stored.get_attrs()]).reshape(8, 3, 3, 3)
    assert np.array_equal(ints, initializers["w1_quantized"].astype(np.int64))


def test_a_rule_matching_no_node_is_a_warning(movement) -> None:
    model, samples, _ = movement
    config = {**BASE, "op_name_dict": {"conv9": {"weight": {"dtype": "fp32"}}},
              "op_type_dict": {"Conv": {"weight": {"scheme": "sym"}}}}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        _, cache = ort_quantized(model, samples, BASE, Path(tmp))
        with pytest.warns(QuantizeWarning, match=r"rule op_name_dict\['conv9'\] matches no node"):
            result = quantize(model, cache, config)
    assert result.summary.unmatched_rules == ["op_name_dict['conv9']"]


@pytest.mark.parametrize("mode", ["static", "dynamic", "weight_only"])
def test_a_selection_naming_no_node_is_a_warning(movement, mode: str) -> None:
    """A typo in nodes_to_exclude / nodes_to_quantize / op_types_to_quantize (which ORT
    ignores silently) is named in a warning, in every mode that reads it."""
    model, samples, _ = movement
    config = {"mode": mode, "nodes_to_exclude": ["conv9"]}
    expected = ["nodes_to_exclude['conv9']"]
    if mode != "weight_only":
        config |= {"op_types_to_quantize": ["Conv", "Convv"]}
        expected.append("op_types_to_quantize['Convv']")
    with tempfile.TemporaryDirectory() as tmp:
        table = ort_quantized(model, samples, BASE, Path(tmp))[1] if mode == "static" else None
        with pytest.warns(QuantizeWarning, match=r"rule nodes_to_exclude\['conv9'\] matches"):
            result = quantize(model, table, config)
    assert result.summary.unmatched_rules == expected


def test_torch_style_tensor_names_become_valid_ssa_names() -> None:
    """torch names the weights it folds `onnx::Conv_51`: the quantized constants' SSA names are
    sanitized as the importer's are (xDSL rejected `onnx::Conv_51_quantized` outright), and the
    module still runs as ONNX Runtime's quantization of the same model."""
    rng = np.random.default_rng(5)
    model = float_models.named_cnn(rng)
    renames = {"conv1.weight": "onnx::Conv_51", "conv2.bias": "onnx::Conv_52"}
    for tensor in model.graph.initializer:
        tensor.name = renames.get(tensor.name, tensor.name)
    for node in model.graph.node:
        node.input[:] = [renames.get(name, name) for name in node.input]
    samples = [{"x": rng.standard_normal((1, 3, 8, 8)).astype(np.float32)} for _ in range(3)]
    x = rng.standard_normal((1, 3, 8, 8)).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        theirs, cache = ort_quantized(model, samples, BASE, Path(tmp))
        ours = quantize(model, cache, BASE)
    text = print_module(ours.module)
    assert "%onnx__Conv_51_quantized = quant.scast" in text
    assert "%onnx__Conv_52_quantized = quant.scast" in text
    (expected,) = run_function(import_onnx(theirs), {"x": x})
    (got,) = run_function(parse_module(text), {"x": x})
    np.testing.assert_array_equal(got, expected)


def test_node_types_are_onnxruntimes_registries() -> None:
    """The node types each format quantizes are those of the installed ONNX Runtime's
    registries, and the default `op_types_to_quantize` is their union, as quantize_static's."""
    from onnxruntime.quantization import registry

    from qdialect import quant_config

    assert set(registry.QLinearOpsRegistry) == quant_config.QLINEAR_OP_TYPES
    assert set(registry.QDQRegistry) == quant_config.QDQ_OP_TYPES
    assert QuantizeConfig().op_types_to_quantize == quant_config.DEFAULT_OP_TYPES


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("slicing", {"extra_options": {"ForceQuantizeNoInputCheck": True}}),
        ("slicing", {"op_types_to_quantize": ["Conv", "Split", "Resize"]}),
        ("slicing", {"nodes_to_exclude": ["split", "bn"]}),
        ("slicing", {"quant_format": "QOperator", "op_types_to_quantize": ["Conv", "Split"]}),
        ("encoder_layer", {"nodes_to_exclude": ["scores"]}),
        ("encoder_layer", {"op_types_to_quantize": ["MatMul"]}),
        (
            "encoder_layer",
            {
                "per_channel": True,
                "extra_options": {"QDQOpTypePerChannelSupportToAxis": {"LayerNormalization": 0}},
            },
        ),
    ],
)
def test_options_on_nodes_written_as_several_ops(name: str, options: dict) -> None:
    """Node selection and per-channel options reach Split, Resize, the attention MatMuls and
    the normalizations as they reach them in ONNX Runtime's quantizer."""
    logging.getLogger().setLevel(logging.ERROR)
    rng = np.random.default_rng(11)
    model = getattr(float_models, name)(rng)
    shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    samples = [{"x": rng.standard_normal(shape).astype(np.float32)} for _ in range(3)]
    config = {**BASE, **options}
    with tempfile.TemporaryDirectory() as tmp:
        theirs, cache = ort_quantized(model, samples, config, Path(tmp))
        ours = quantize(model, cache, config)
    x = {"x": rng.standard_normal(shape).astype(np.float32)}
    (expected,) = run_function(import_onnx(theirs), x)
    (got,) = run_function(ours.module, x)
    assert np.array_equal(got, expected), np.abs(got - expected).max()


def test_the_extra_options_onnxruntimes_runner_writes_are_accepted(monkeypatch) -> None:
    """ORT's `static_quantize_runner` spells out every extra option at its default, those this
    quantizer does not implement included (EnableSubgraph False, ...): a config holding them
    reads, as the same options. The dict is taken from the runner itself."""
    from onnxruntime.quantization import static_quantize_runner as runner

    captured = {}
    monkeypatch.setattr(runner, "OnnxModelCalibrationDataReader", lambda model_path: None)
    monkeypatch.setattr(runner, "quantize", lambda **kw: captured.update(kw))
    monkeypatch.setattr("sys.argv", ["runner", "-i", "in.onnx", "-o", "out.onnx"])
    runner.main()
    extra = captured["quant_config"].extra_options
    assert {"EnableSubgraph", "MatMulConstBOnly", "QuantizeBias"} <= set(extra)
    config = QuantizeConfig.from_dict({"extra_options": extra})
    assert config.min_real_range == 0.0001 and config.option("QuantizeBias") is True
    with pytest.raises(ConfigError) as info:
        QuantizeConfig.from_dict({"extra_options": {**extra, "EnableSubgraph": True}})
    assert str(info.value) == (
        "extra_options key 'EnableSubgraph' (ONNX Runtime's) is not supported by this "
        "quantizer (only its default, False)"
    )
