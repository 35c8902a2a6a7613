"""SmoothQuant (Intel Neural Compressor's ONNX recipe): scales, rewritten weights, function kept,
quantization error reduced, config and command-line errors.

The expected numbers are a transcription of INC 2.x's code (`adaptor/ox_utils/calibration.py`
`_get_max_per_channel`, `adaptor/ox_utils/smooth_quant.py` `_get_smooth_scale`,
`_adjust_weights` and the absorb functions of `_fold_scale`) run here on the float model's own
activations, so the comparison is exact; the activations ONNX Runtime computes (what INC
collects) give the same scales to float32 rounding.
"""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from qdialect.constants import dense_array
from qdialect.names import node_name
from qdialect.quant_config import ConfigError, QuantizeConfig
from qdialect.recipes import SmoothQuantRecipe
from runtime.accuracy import _qnn_default, float_tensors, sqnr_db
from runtime.qopt import run
from runtime.quantization import calibrate, load_float_model, quantize
from runtime.reference import run_function
from runtime.signature import find_function
from runtime.smooth_quant import smooth_module

OUTLIERS = [3, 11, 25]


def _model(nodes, inputs, outputs, weights) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs],
        [numpy_helper.from_array(v, k) for k, v in weights.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)


def ffn(rng: np.random.Generator, tokens: int = 16, width: int = 32) -> onnx.ModelProto:
    """A transformer FFN behind a normalisation whose gain makes input channels OUTLIERS ×50.
    The float IR has no LayerNormalization, so an affine Gemm stands for it (its output is the
    FFN's input, one consumer: INC folds 1/s into a Gemm as into a LayerNorm's γ and β)."""
    norm = (rng.standard_normal((width, width)) * 0.2).astype(np.float32)
    shift = (rng.standard_normal(width) * 0.1).astype(np.float32)
    norm[:, OUTLIERS] *= 50
    shift[OUTLIERS] *= 50
    weights = {
        "wn": norm,
        "bn": shift,
        "w1": (rng.standard_normal((width, 4 * width)) * 0.2).astype(np.float32),
        "b1": (rng.standard_normal(4 * width) * 0.1).astype(np.float32),
        "w2": (rng.standard_normal((4 * width, width)) * 0.1).astype(np.float32),
        "b2": (rng.standard_normal(width) * 0.1).astype(np.float32),
    }
    nodes = [
        helper.make_node("Gemm", ["x", "wn", "bn"], ["n"], name="norm"),
        helper.make_node("MatMul", ["n", "w1"], ["h0"], name="fc1"),
        helper.make_node("Add", ["h0", "b1"], ["h1"], name="fc1_bias"),
        helper.make_node("Relu", ["h1"], ["h2"], name="act"),
        helper.make_node("MatMul", ["h2", "w2"], ["h3"], name="fc2"),
        helper.make_node("Add", ["h3", "b2"], ["h4"], name="fc2_bias"),
        helper.make_node("Add", ["h4", "x"], ["y"], name="residual"),
    ]
    return _model(nodes, [("x", [tokens, width])], [("y", [tokens, width])], weights)


def convnet(rng: np.random.Generator) -> onnx.ModelProto:
    """Every fold kind: conv with bias → conv without bias (a fold into a bias-less conv) →
    depthwise conv → Flatten → Gemm transB (skipped: its input comes from a reshape) → MatMul
    (a fold into a transB Gemm, weight and bias)."""

    def rand(*shape, scale=0.5):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    weights = {
        "wa": rand(6, 3, 3, 3),
        "ba": rand(6),
        "wb": rand(4, 6, 1, 1),
        "wc": rand(4, 1, 3, 3),
        "bc": rand(4),
        "wg": rand(10, 64),
        "bg": rand(10),
        "wm": rand(10, 5),
    }
    nodes = [
        helper.make_node("Conv", ["x", "wa", "ba"], ["ca"], name="conv_a", pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["ca", "wb"], ["cb"], name="conv_b"),
        helper.make_node("Conv", ["cb", "wc", "bc"], ["cc"], name="conv_c", group=4),
        helper.make_node("Flatten", ["cc"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "wg", "bg"], ["g"], name="gemm", transB=1),
        helper.make_node("MatMul", ["g", "wm"], ["y"], name="mm"),
    ]
    return _model(nodes, [("x", [2, 3, 6, 6])], [("y", [2, 5])], weights)


# --- INC's code, transcribed -------------------------------------------------------------


def inc_max_per_channel(datas, percentile=99.999):
    permute_datas = []
    for data in datas:
        if len(data.shape) == 3:
            permute_datas.append(np.abs(np.reshape(data, (-1, data.shape[-1]))))
        elif len(data.shape) == 4:
            tensor = np.swapaxes(data, 1, -1)
            permute_datas.append(np.abs(np.reshape(tensor, (-1, tensor.shape[-1]))))
        elif len(data.shape) == 2:
            permute_datas.append(np.abs(data))
    permute_datas = np.stack(permute_datas, axis=0)
    permute_datas = permute_datas.reshape(-1, permute_datas.shape[-1])
    return np.percentile(permute_datas, percentile, axis=0).astype(np.single)


def inc_smooth_scale(weight, transposed, act_max, alpha):
    if (len(weight.shape) == 4 and weight.shape[1] != 1) or transposed:
        weight = np.moveaxis(weight, 0, 1)
    weights = np.abs(weight.reshape(weight.shape[0], -1))
    weights_max = np.amax(weights, axis=-1)
    input_power = np.power(act_max, alpha)
    weight_power = np.clip(np.power(weights_max, 1 - alpha), a_min=1e-5, a_max=None)
    return np.clip(input_power / weight_power, a_min=1e-5, a_max=None)


def inc_adjust(weight, transposed, depthwise, scale):
    if len(weight.shape) == 2:
        return weight * (np.expand_dims(scale, 0) if transposed else np.expand_dims(scale, -1))
    return weight * np.reshape(scale, (-1, 1, 1, 1) if depthwise else (1, -1, 1, 1))


def inc_fold(weight, bias, transposed, scale):
    """The absorb functions on 1.0 / s; a conv's weight scaled with or without a bias and a
    transB Gemm's along N (INC's code: only under `if bias`, and along K)."""
    r = 1.0 / scale
    if len(weight.shape) == 4:
        weight = weight * r.reshape(-1, 1, 1, 1)
    else:
        weight = weight * (r[:, None] if transposed else r)
    return weight, None if bias is None else bias * r


# --- helpers -----------------------------------------------------------------------------


def _constants(module) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """node name -> (weight initializer as stored, bias) of every conv/dot."""
    out = {}
    for op in find_function(module, None).body.block.ops:
        if op.name in ("qnn.conv2d", "qnn.dot"):
            weight = op.weight.owner
            source = weight.input if weight.name == "qnn.transpose" else op.weight
            bias = None if op.bias is None else dense_array(op.bias).astype(np.float32)
            out[node_name(op)] = (dense_array(source).astype(np.float32), bias)
    return out


def _samples(rng, shape, count=4):
    return [{"x": rng.standard_normal(shape).astype(np.float32)} for _ in range(count)]


def _expected(model, samples, smoothed: dict[str, tuple[str, str]], alpha):
    """INC's scales and constants: smoothed maps a target node to (its input, its producer)."""
    module = load_float_model(model)
    before = _constants(module)
    transposed = {"gemm"}
    depthwise = {"conv_c"}
    inputs = [t for t, _ in smoothed.values()]
    acts = [float_tensors(module, inputs, s) for s in samples]
    scales, after = {}, dict(before)
    for node, (tensor, _) in smoothed.items():
        act_max = inc_max_per_channel([a[tensor] for a in acts])
        scales[node] = inc_smooth_scale(before[node][0], node in transposed, act_max, alpha)
        w, b = after[node]
        after[node] = (inc_adjust(w, node in transposed, node in depthwise, scales[node]), b)
    for node, (_, producer) in smoothed.items():
        w, b = after[producer]
        after[producer] = inc_fold(w, b, producer in transposed, scales[node])
    return scales, after


CONV_TARGETS = {"conv_b": ("ca", "conv_a"), "conv_c": ("cb", "conv_b"), "mm": ("g", "gemm")}


@pytest.mark.parametrize("alpha", [0.5, 0.8])
def test_scales_and_weights_equal_inc_transcription(alpha):
    rng = np.random.default_rng(1)
    model = convnet(rng)
    samples = _samples(rng, (2, 3, 6, 6))
    module = load_float_model(model)
    summary = smooth_module(module, samples, SmoothQuantRecipe(alpha))
    assert summary.smoothed == ("conv_b", "conv_c", "mm")
    assert [(s.node, s.reason) for s in summary.skipped] == [
        ("conv_a", "its input is a function argument"),
        ("gemm", "its input comes from tensor.reshape, which has no weights to fold 1/s into"),
    ]
    scales, constants = _expected(model, samples, CONV_TARGETS, alpha)
    for node, s in zip(summary.smoothed, summary.scales, strict=True):
        assert s.dtype == np.float32
        np.testing.assert_array_equal(s, scales[node])
    got = _constants(module)
    for node, (weight, bias) in constants.items():
        assert got[node][0].tobytes() == weight.astype(np.float32).tobytes(), node
        if bias is not None:
            assert got[node][1].tobytes() == bias.astype(np.float32).tobytes(), node


def test_scales_from_onnxruntime_activations_agree():
    """INC takes the activations from an ONNX Runtime session; its scales and ours differ by
    float32 rounding of the activations only."""
    import onnxruntime as ort

    rng = np.random.default_rng(2)
    model = convnet(rng)
    samples = _samples(rng, (2, 3, 6, 6))
    summary = smooth_module(load_float_model(model), samples, SmoothQuantRecipe(0.5))
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    probe.graph.output.extend(helper.ValueInfoProto(name=t) for t, _ in CONV_TARGETS.values())
    session = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    runs = [session.run(None, s)[1:] for s in samples]
    weights = _constants(load_float_model(model))
    for i, (node, s) in enumerate(zip(summary.smoothed, summary.scales, strict=True)):
        act_max = inc_max_per_channel([r[i] for r in runs])
        expected = inc_smooth_scale(weights[node][0], node == "gemm", act_max, 0.5)
        np.testing.assert_allclose(s, expected, rtol=1e-5)


@pytest.mark.parametrize("make, shape", [(convnet, (2, 3, 6, 6)), (ffn, (16, 32))])
def test_smoothed_model_computes_the_same_function(make, shape):
    rng = np.random.default_rng(3)
    model = make(rng)
    module = load_float_model(model)
    smooth_module(module, _samples(rng, shape), SmoothQuantRecipe(0.5))
    x = rng.standard_normal(shape).astype(np.float32)
    (y,) = run_function(load_float_model(model), {"x": x})
    (z,) = run_function(module, {"x": x})
    np.testing.assert_allclose(z, y, rtol=1e-5, atol=1e-5 * float(np.abs(y).max()))


def _output_sqnr(model, samples, x, config) -> float:
    if config.get("recipes"):
        result = quantize(model, None, config, samples=samples)
    else:
        result = quantize(model, calibrate(model, samples), config)
    module = result.module
    _qnn_default(module)
    (reference,) = run_function(load_float_model(model), {"x": x})
    (y,) = run_function(module, {"x": x})
    return sqnr_db(reference, y)


# measured on this model and data: per-tensor 26.68 -> 30.32 dB, per-channel 28.75 -> 30.36 dB
@pytest.mark.parametrize("per_channel, margin", [(False, 3.0), (True, 1.0)])
def test_ffn_with_outlier_channels_quantizes_better(per_channel, margin):
    rng = np.random.default_rng(0)
    model = ffn(rng)
    samples = {"x": rng.standard_normal((8, 16, 32)).astype(np.float32)}
    x = rng.standard_normal((16, 32)).astype(np.float32)
    plain = _output_sqnr(model, samples, x, {"per_channel": per_channel})
    recipe = {"smooth_quant": True, "smooth_quant_args": {"alpha": 0.5}}
    smoothed = _output_sqnr(model, samples, x, {"per_channel": per_channel, "recipes": recipe})
    assert smoothed - plain > margin, (plain, smoothed)


def test_ffn_smooths_the_op_behind_the_norm_only():
    rng = np.random.default_rng(0)
    summary = smooth_module(
        load_float_model(ffn(rng)), _samples(rng, (16, 32), 2), SmoothQuantRecipe()
    )
    assert summary.smoothed == ("fc1",)
    assert [(s.node, s.reason) for s in summary.skipped] == [
        ("norm", "its input is a function argument"),
        ("fc2", "its input comes from qnn.relu, which has no weights to fold 1/s into"),
    ]


@pytest.mark.parametrize(
    "recipes, message",
    [
        (
            {"smoothquant": True},
            "unknown recipe 'smoothquant' (valid: smooth_quant, smooth_quant_args)",
        ),
        (
            {"smooth_quant": True, "smooth_quant_args": {"alpha": 0.5, "percentile": 99}},
            "unknown smooth_quant_args key 'percentile' (valid: alpha, folding)",
        ),
        (
            {"smooth_quant": True, "smooth_quant_args": {"alpha": 1.5}},
            "smooth_quant_args 'alpha' must be in [0, 1], got 1.5",
        ),
        (
            {"smooth_quant": True, "smooth_quant_args": {"alpha": "auto"}},
            "smooth_quant_args 'alpha' must be a number in [0, 1], got 'auto' "
            "(INC's alpha tuning is not implemented)",
        ),
        ({"smooth_quant": "yes"}, "recipe 'smooth_quant' must be true or false, got 'yes'"),
        (
            {"smooth_quant": True, "smooth_quant_args": {"folding": False}},
            "smooth_quant_args 'folding' must be true: the float IR has no elementwise "
            "multiply to insert where INC's unfolded form puts one",
        ),
    ],
)
def test_recipe_errors(recipes, message):
    with pytest.raises(ConfigError) as err:
        QuantizeConfig.from_dict({"recipes": recipes})
    assert str(err.value) == message


def test_recipe_read():
    config = QuantizeConfig.from_dict({"recipes": {"smooth_quant": True}})
    assert config.smooth_quant == SmoothQuantRecipe(0.5)
    off = {"smooth_quant": False, "smooth_quant_args": {"alpha": 0.7}}
    assert QuantizeConfig.from_dict({"recipes": off}).smooth_quant is None


def test_quantize_without_samples_is_an_error():
    model = ffn(np.random.default_rng(0))
    with pytest.raises(ConfigError, match="the smooth_quant recipe needs calibration samples"):
        quantize(model, {"x": (0.0, 1.0)}, {"recipes": {"smooth_quant": True}})


def _qopt(capsys, *argv) -> tuple[int, str, str]:
    capsys.readouterr()
    status = run([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_qopt_quantize_honours_the_recipe(tmp_path, capsys):
    rng = np.random.default_rng(0)
    onnx.save(ffn(rng), tmp_path / "ffn.onnx")
    np.savez(tmp_path / "d.npz", x=rng.standard_normal((4, 16, 32)).astype(np.float32))
    (tmp_path / "sq.json").write_text(json.dumps({"recipes": {"smooth_quant": True}}))
    (tmp_path / "plain.json").write_text("{}")
    model, data = tmp_path / "ffn.onnx", tmp_path / "d.npz"
    args = [model, "--calibration-data", data, "--quiet", "--quantize"]
    status, smoothed, err = _qopt(capsys, *args, tmp_path / "sq.json")
    assert status == 0, err
    assert err.splitlines()[:3] == [
        "qopt: smooth_quant: smoothed fc1",
        "qopt: smooth_quant: left norm: its input is a function argument",
        "qopt: smooth_quant: left fc2: its input comes from qnn.relu, which has no weights "
        "to fold 1/s into",
    ]
    status, plain, err = _qopt(capsys, *args, tmp_path / "plain.json")
    assert status == 0 and "smooth_quant" not in err
    assert smoothed != plain
    table = tmp_path / "t.json"
    status, _, err = _qopt(
        capsys, model, "--quantize", tmp_path / "sq.json", "--calibration-table", table
    )
    assert status == 1
    assert err == (
        "qopt: error: the smooth_quant recipe needs --calibration-data: its scales come from "
        "the activations, which a calibration table does not hold\n"
    )
