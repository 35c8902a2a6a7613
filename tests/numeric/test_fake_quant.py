"""Fake quantization: the typed `qnn.fake_quant`, the quantizer's `--fake` form, QAT imports.

- A typed fake_quant computes what ONNX Runtime's QuantizeLinear → DequantizeLinear computes
  (ties, saturation, infinities, per axis), interpreted and compiled.
- The fake graph `quantize(form="fake")` writes converts back (`fake-to-qdq`) to exactly the
  QDQ module `quantize` writes (same text); run as written it is a float simulation that the
  compiled code reproduces bit for bit, and its outputs are within the measured distance of
  the integer model's (`measured_lsb`).
- torch QAT models (`prepare_qat`, FakeQuantize modules) exported by the TorchScript exporter
  run exactly: compiled = reference = ONNX Runtime.
"""

from __future__ import annotations

import importlib.util
import subprocess
import warnings
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.passes import PassPipeline

from qdialect.onnx_import import import_onnx
from qdialect.textio import make_context, parse_module
from rewrites.registry import PASSES
from runtime.compiled import compile_module
from runtime.quantization import calibrate, quantize
from runtime.reference import run_function

from . import float_models
from .onnxruntime_session import run_ort

EXAMPLES = Path(__file__).parents[2] / "examples"
_spec = importlib.util.spec_from_file_location("onnx_models", EXAMPLES / "onnx_models.py")
examples = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(examples)


def passes(module, spec: str):
    module = module.clone()
    PassPipeline.parse_spec(PASSES, spec).apply(make_context(), module)
    return module


def bits(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, np.float32).view(np.int32)


# ---------------------------------------------------------------- the op against its peer

TYPES = [  # (our type, ONNX scale, zero point, zero-point dtype, axis)
    ("!quant.uniform<i8:f32, 0.5:-3>", [0.5], [-3], np.int8, None),
    ("!quant.uniform<u8:f32, 0.1:128>", [0.1], [128], np.uint8, None),
    (
        "!quant.uniform<u8:f32:1, {0.5:3,0.25:128,0.001}>",
        [0.5, 0.25, 0.001],
        [3, 128, 0],
        np.uint8,
        1,
    ),
]


def qdq_model(scale, zero, dtype, axis) -> onnx.ModelProto:
    attrs = {} if axis is None else {"axis": axis}
    shape = () if axis is None else (len(scale),)
    inits = [
        numpy_helper.from_array(np.array(scale, np.float32).reshape(shape), "s"),
        numpy_helper.from_array(np.array(zero, dtype).reshape(shape), "z"),
    ]
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], **attrs),
        helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"], **attrs),
    ]
    value = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [8, 3]) for n in ("x", "y")]
    graph = helper.make_graph(nodes, "qdq", [value[0]], [value[1]], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


@pytest.mark.parametrize("case", range(len(TYPES)))
def test_fake_quant_is_onnx_quantize_dequantize(case: int) -> None:
    """Interpreted and compiled, a typed fake_quant equals ONNX Runtime's Q → DQ pair."""
    qtype, scale, zero, dtype, axis = TYPES[case]
    text = f"""func.func @main(%x: tensor<8x3xf32>) -> tensor<8x3xf32> {{
      %y = qnn.fake_quant %x as {qtype} : tensor<8x3xf32> -> tensor<8x3xf32>
      func.return %y : tensor<8x3xf32>
    }}"""
    rng = np.random.default_rng(case)
    s = np.array(scale, np.float32)
    ties = (rng.integers(-300, 300, (4, 3)) + 0.5).astype(np.float32) * s  # k + .5 steps
    x = np.concatenate([ties, (rng.standard_normal((3, 3)) * 80).astype(np.float32)])
    x = np.concatenate([x, np.array([[np.inf, -np.inf, 1e30]], np.float32)])
    (ort,) = run_ort(qdq_model(scale, zero, dtype, axis), {"x": x})
    (ref,) = run_function(text, [x])
    (compiled,) = compile_module(text)(x)
    assert np.array_equal(bits(ref), bits(ort))
    assert np.array_equal(bits(compiled), bits(ort))


# ---------------------------------------------------------------- the quantizer's fake form

CONFIGS = [
    {"per_channel": True},
    {"per_channel": False, "activation_type": "QInt8"},
]


def fake_and_qdq(name: str, config: dict, samples: int = 4):
    rng = np.random.default_rng(sum(map(ord, name)))
    model = examples.MODELS[name](rng)
    shape = examples.input_shape(model)
    data = [{"x": rng.standard_normal(shape).astype(np.float32)} for _ in range(samples)]
    table = calibrate(model, data, progress=False)
    fake = quantize(model, table, config, form="fake").module
    return fake, quantize(model, table, config).module, shape, rng


@pytest.mark.parametrize("config", CONFIGS, ids=["pc-u8", "pt-i8"])
@pytest.mark.parametrize("name", ["resnet_block", "mlp"])
def test_fake_form_converts_back_to_the_qdq_form(name: str, config: dict) -> None:
    """fake-to-qdq of the fake graph prints exactly as the quantizer's QDQ module, and the
    fake graph's text reads back as itself (float weights in hex, bit for bit)."""
    fake, qdq, _, _ = fake_and_qdq(name, config)
    text = str(fake)
    assert "qnn.quantize" not in text and text.count("qnn.fake_quant") >= 4
    assert str(passes(fake, "fake-to-qdq")) == str(qdq)
    assert str(parse_module(text, "fake.mlir")) == text


@pytest.mark.parametrize("recv_nodes", [None, ["conv2"]], ids=["all-readers", "some-readers"])
def test_fake_form_of_a_converted_tensor(recv_nodes) -> None:
    """TensorQuantOverrides' `convert`: the fake graph computes what the QDQ module computes,
    and converts back to it exactly when every reader takes the converted type (a partly
    converted tensor's second fake_quant reads the first, where the QDQ form dequantizes Q1's
    result a second time)."""
    rng = np.random.default_rng(3)
    model = float_models.mixed_precision(rng)
    data = [{"x": rng.standard_normal((1, 8, 8, 8)).astype(np.float32)} for _ in range(4)]
    table = calibrate(model, data, progress=False)
    convert = {"quant_type": "QUInt16"} | ({"recv_nodes": recv_nodes} if recv_nodes else {})
    config = {"extra_options": {"TensorQuantOverrides": {"r1": [{"convert": convert}]}}}
    fake = quantize(model, table, config, form="fake").module
    qdq = quantize(model, table, config).module
    assert "u16" in str(fake)
    if recv_nodes is None:
        assert str(passes(fake, "fake-to-qdq")) == str(qdq)
    x = (rng.standard_normal((1, 8, 8, 8)) * 1.5).astype(np.float32)
    (expected,) = run_function(qdq, {"x": x})
    (result,) = run_function(fake, {"x": x})
    (compiled,) = compile_module(fake)(x=x)
    assert np.array_equal(bits(result), bits(expected))
    assert np.array_equal(bits(compiled), bits(expected))


def output_scale(qdq) -> float:
    """The scale of the dequantize giving the function's result."""
    (ret,) = [op for op in qdq.walk() if op.name == "func.return"]
    return ret.operands[0].owner.input.type.element_type.scale


def measured_lsb(name: str, config: dict, inputs: int) -> float:
    """Largest |fake graph (float) - integer model| over `inputs` inputs, in output steps;
    also checks compiled = interpreted = the fake-to-qdq module read literally. Measured
    (16 inputs, both configs): resnet_block and mlp 0, mobilenet_block 1, small_cnn (average
    pooling, rounded differently by the integer kernel) 1, 2 on another seed."""
    fake, qdq, shape, rng = fake_and_qdq(name, config)
    literal = passes(fake, "fake-to-qdq")
    run_fake, run_int = compile_module(fake.clone()), compile_module(qdq.clone())
    worst = 0.0
    for _ in range(inputs):
        x = (rng.standard_normal(shape) * 1.5).astype(np.float32)
        (ref,) = run_function(fake, {"x": x})
        (compiled,) = run_fake(x=x)
        (pairs,) = run_function(literal, {"x": x})
        assert np.array_equal(bits(compiled), bits(ref)) and np.array_equal(bits(pairs), bits(ref))
        (integer,) = run_int(x=x)
        worst = max(worst, float(np.abs(ref - integer).max()) / output_scale(qdq))
    return worst


def test_fake_graph_is_the_float_simulation() -> None:
    """Float accumulation against integer accumulation: at most one output step apart (the
    slow tier sweeps more models, configs and inputs)."""
    assert measured_lsb("mlp", CONFIGS[0], inputs=1) <= 1.0 + 1e-5


@pytest.mark.slow
@pytest.mark.parametrize("config", CONFIGS, ids=["pc-u8", "pt-i8"])
@pytest.mark.parametrize("name", ["resnet_block", "mlp", "mobilenet_block"])
def test_fake_graph_distance_sweep(name: str, config: dict) -> None:
    assert measured_lsb(name, config, inputs=16) <= 1.0 + 1e-5


def big_bias_conv() -> onnx.ModelProto:
    """A conv whose int32 bias needs more than float32's 24 bits (q ≈ 3e7)."""
    inits = [
        numpy_helper.from_array(np.full((2, 1, 1, 1), 0.01, np.float32), "w"),
        numpy_helper.from_array(np.array([300.0, 0.25], np.float32), "b"),
    ]
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], name="conv")
    value = [
        helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 2, 2]),
        helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 2, 2]),
    ]
    graph = helper.make_graph([node], "g", [value[0]], [value[1]], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)


def test_bias_out_of_float32_reach_keeps_its_stored_form() -> None:
    model = big_bias_conv()
    table = {"x": (-1.0, 1.0), "y": (-400.0, 400.0)}
    fake = quantize(model, table, {}, form="fake").module
    text = str(fake)
    assert "!quant.uniform<i32:f32" in text and "fake_quant" in text
    assert "qnn.fake_quant %b" not in text and "as !quant.uniform<i32" not in text
    assert str(passes(fake, "fake-to-qdq")) == str(quantize(model, table, {}).module)


def test_unknown_form_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown form 'qat': expected one of qdq, fake"):
        quantize(big_bias_conv(), {}, {}, form="qat")


def test_qopt_fake_round_trip(tmp_path: Path) -> None:
    model = big_bias_conv()
    onnx.save(model, tmp_path / "m.onnx")
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x=rng.standard_normal((4, 1, 1, 2, 2)).astype(np.float32))
    (tmp_path / "cfg.json").write_text("{}")
    base = ["qopt"]
    common = [str(tmp_path / "m.onnx"), "--quantize", str(tmp_path / "cfg.json")]
    table = tmp_path / "table.json"  # written by the first run
    common += ["--calibration-data", str(tmp_path / "d.npz"), "--calibration-table", str(table)]
    fake = subprocess.run([*base, *common, "--fake", "--quiet"], capture_output=True, text=True)
    assert fake.returncode == 0 and "qnn.fake_quant" in fake.stdout, fake.stderr
    back = subprocess.run(
        [*base, "-p", "fake-to-qdq"], input=fake.stdout, capture_output=True, text=True
    )
    assert back.stdout == str(quantize(model, table, {}).module) + "\n"
    alone = subprocess.run(
        [*base, str(tmp_path / "m.onnx"), "--fake"], capture_output=True, text=True
    )
    assert alone.returncode == 1
    assert alone.stderr.strip().splitlines()[-1] == (
        "qopt: error: --fake needs --quantize CONFIG.json (it is a form of the quantized model)"
    )


# ---------------------------------------------------------------- torch QAT exports


def qat_model(tmp_path: Path, weight: str) -> Path:
    """A conv+relu → linear net through eager-mode `prepare_qat` with torch's default QAT
    qconfig (activations u8 with reduce_range: 0..127, exported as Q → Clip → DQ), per-tensor
    or per-channel int8 weights, four training steps of observers, then the TorchScript
    exporter (`dynamo=False`): fake_quantize_per_tensor/per_channel_affine become
    QuantizeLinear/DequantizeLinear."""
    torch = pytest.importorskip("torch", reason="torch (optional) exports the QAT models")
    tq = torch.ao.quantization
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.quant, self.dequant = tq.QuantStub(), tq.DeQuantStub()
            self.conv, self.relu = nn.Conv2d(3, 8, 3, padding=1), nn.ReLU()
            self.fc = nn.Linear(8 * 8 * 8, 10)

        def forward(self, x):
            x = self.relu(self.conv(self.quant(x)))
            return self.dequant(self.fc(torch.flatten(x, 1)))

    torch.manual_seed(0)
    net = Net().train()
    net.qconfig = (
        tq.default_qat_qconfig
        if weight == "per_tensor"
        else tq.QConfig(
            activation=tq.default_fake_quant, weight=tq.default_per_channel_weight_fake_quant
        )
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tq.fuse_modules_qat(net, [["conv", "relu"]], inplace=True)
        tq.prepare_qat(net, inplace=True)
        for _ in range(4):
            net(torch.randn(2, 3, 8, 8) * 2)
        net.eval()
        net.apply(tq.disable_observer)
        path = tmp_path / "qat.onnx"
        example = torch.randn(1, 3, 8, 8)
        torch.onnx.export(
            net,
            example,
            str(path),
            dynamo=False,
            opset_version=13,
            input_names=["x"],
            output_names=["y"],
        )
    return path


@pytest.mark.parametrize("weight", ["per_tensor", "per_channel"])
def test_torch_qat_export_runs_exactly(tmp_path: Path, weight: str) -> None:
    path = qat_model(tmp_path, weight)
    ops = [n.op_type for n in onnx.load(path).graph.node]
    assert ops.count("QuantizeLinear") == 5 and ops.count("DequantizeLinear") == 5
    module = import_onnx(str(path))
    fused = passes(module, "qnn-default")
    run = compile_module(module.clone())
    rng = np.random.default_rng(7)
    for _ in range(4):
        x = (rng.standard_normal((1, 3, 8, 8)) * 2).astype(np.float32)
        (compiled,) = run(x=x)
        (reference,) = run_function(fused, {"x": x})
        (ort,) = run_ort(onnx.load(path), {"x": x})
        assert np.array_equal(bits(compiled), bits(reference))
        assert np.array_equal(bits(reference), bits(ort))
