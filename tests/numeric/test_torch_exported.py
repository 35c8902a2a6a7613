"""Models as torch.onnx.export writes them, through our importer and quantizer, against ORT.

The other quantizer tests build their graphs by hand; `torch_models` holds eleven architectures
as users bring them, from both of torch's exporters (TorchScript's and dynamo's), with what real
exports have: dynamo's value_info on every tensor (initializers too) and torch.export's
decompositions, TorchScript's Constant nodes, BatchNorm folded into convolutions, int64 token
inputs, two outputs. For each export:

- float: our import, compiled, computes what ONNX Runtime's unoptimized session computes (the
  session its calibrator runs), every output bit for bit;
- static: ONNX Runtime's `quantize_static` and ours from its calibration cache compute the same
  (`test_quantize_static`'s comparison), for every format x per-channel x activation type x
  reduce_range, and so does ORT's own session where its kernels are exact;
- dynamic: ours computes what `quantize_dynamic`'s model computes, imported, and what ORT's
  session computes where exact (`test_quantize_random`'s `check_dynamic_seed`); where
  quantize_dynamic itself fails, that failure is asserted and ours checked against itself.

Exports are made once per process (`torch_models.export`). The default tier checks most float
exports and four quantized cases; the slow tier the rest: all 22 exports x 16 static configs
and 3 dynamic ones.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("onnxscript")  # the dynamo exporter's
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx.shape_inference import InferenceError  # noqa: E402

from qdialect.onnx_import import import_onnx  # noqa: E402
from runtime.compiled import compile_module  # noqa: E402
from runtime.quantization import quantize  # noqa: E402
from runtime.reference import run_function  # noqa: E402

from .onnxruntime_session import ort_saturates_u8s8, run_ort  # noqa: E402
from .test_quantize_static import (  # noqa: E402
    COMBOS,
    case_ids,
    ort_quantized,
    qnn_default,
    session_level,
    static_config,
)
from .torch_models import EXPORTERS, MODELS, export, random_inputs  # noqa: E402

EXPORTS = [(name, exporter) for name in MODELS for exporter in EXPORTERS]
# The float checks of the default tier: two TorchScript exports (a conv net and a vision
# transformer; the rest, the U-Net, the depthwise net, the encoder-decoder and yolo_like's 440
# nodes among them, in the slow tier) and one dynamo one (a transformer; the dynamo conv net and
# token inputs in quantized cases below), whose exports take 1-4 s each, once per worker.
DEFAULT_TS = ("resnet_basic", "vit_tiny")
DEFAULT_EXPORTS = {(name, "ts") for name in DEFAULT_TS} | {("gpt2_block", "dynamo")}
# (model, exporter, (format, per channel, activation type, reduce_range)) run by default: QDQ
# and QOperator, uint8 and int8 activations, per tensor and per channel.
STATIC_DEFAULT = {
    ("resnet_basic", "dynamo", ("QDQ", True, "QUInt8", True)),
    ("gpt2_block", "ts", ("QOperator", False, "QInt8", True)),
    ("bert_tokens", "dynamo", ("QDQ", False, "QInt8", False)),
}
# (per_channel, reduce_range, weight type)
DYNAMIC_CONFIGS = [(False, True, "QInt8"), (True, False, "QUInt8"), (False, False, "QInt8")]
DYNAMIC_DEFAULT = {("gpt2_block", "dynamo", (False, True, "QInt8"))}


def assert_same(actual, expected, label: str) -> None:
    """Every output with the same shape, type and bits; on a mismatch, how many elements
    differ and by how much."""
    for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
        a, e = np.asarray(a), np.asarray(e)
        assert (a.shape, a.dtype) == (e.shape, e.dtype), f"{label}, output {i}"
        if a.tobytes() != e.tobytes():
            diff = np.abs(a.astype(np.float64) - e.astype(np.float64))
            raise AssertionError(
                f"{label}, output {i}: {np.count_nonzero(a != e)} of {a.size} differ, "
                f"max |diff| {diff.max()}"
            )


def tiered(cases, default: set, ids) -> list:
    """pytest params of `cases`: those in `default` plain, the others in the slow tier."""
    return [
        pytest.param(*case, marks=() if case in default else pytest.mark.slow, id=ids(*case))
        for case in cases
    ]


def config_params(configs, default: set, ids) -> list:
    """(model, exporter, config) for every export and config."""
    cases = [(name, exporter, config) for name, exporter in EXPORTS for config in configs]
    return tiered(cases, default, lambda name, exporter, config: f"{name}-{exporter}-{ids(config)}")


@pytest.mark.parametrize(
    ("name", "exporter"),
    tiered(EXPORTS, DEFAULT_EXPORTS, lambda name, exporter: f"{name}-{exporter}"),
)
def test_float_export_imports_as_ort_runs_it(name: str, exporter: str) -> None:
    """Before any quantization: the float graph as exported must import exactly."""
    model = export(name, exporter)
    x = random_inputs(name, np.random.default_rng(1))
    ours = compile_module(import_onnx(model))(**x)
    assert_same(ours, run_ort(model, x, "ORT_DISABLE_ALL"), f"{name} {exporter}")


@pytest.mark.parametrize(
    ("name", "exporter", "combo"), config_params(COMBOS, STATIC_DEFAULT, case_ids)
)
def test_export_quantizes_as_quantize_static(name: str, exporter: str, combo) -> None:
    """Both quantizers from one calibration cache: after qnn-default, the same integers."""
    logging.getLogger().setLevel(logging.ERROR)  # quantize_static's pre-processing advice
    model, config = export(name, exporter), static_config(combo)
    rng = np.random.default_rng(0)
    samples = [random_inputs(name, rng) for _ in range(4)]
    x = random_inputs(name, rng, 1.3)
    with tempfile.TemporaryDirectory() as tmp:
        theirs, cache = ort_quantized(model, samples, config, Path(tmp))
        ours = quantize(model, cache, config)
    label = f"{name} {exporter} {config}"
    expected = run_function(qnn_default(import_onnx(theirs)), x)
    assert_same(run_function(qnn_default(ours.module), x), expected, f"{label}, interpreted")
    assert_same(compile_module(ours.module)(**x), expected, f"{label}, compiled")
    if config["reduce_range"] or not ort_saturates_u8s8():
        ort = run_ort(theirs, x, session_level(theirs))
        assert_same(ort, expected, f"{label}, ORT's session")


def ort_transposes_declared_weight(model: onnx.ModelProto) -> bool:
    """True if quantize_dynamic fails on `model`: before quantizing, it rewrites a
    Gemm(transB=1) as a MatMul by transposing the weight initializer in place, under its name,
    but keeps the value_info the dynamo exporter wrote for that name, and its own shape
    inference of the rewritten model then refuses [N, K] against the new [K, N] (a square
    weight passes)."""
    declared = {
        info.name: [d.dim_value for d in info.type.tensor_type.shape.dim]
        for info in model.graph.value_info
    }
    gemms = [node for node in model.graph.node if node.op_type == "Gemm"]
    weights = [
        declared.get(node.input[1], [])
        for node in gemms
        if any(a.name == "transB" and a.i == 1 for a in node.attribute)
    ]
    return any(shape != shape[::-1] for shape in weights)


def dynamic_ids(options) -> str:
    per_channel, reduce_range, weight = options
    return f"{'pc' if per_channel else 'pt'}-{weight}-{'rr' if reduce_range else 'full'}"


@pytest.mark.parametrize(
    ("name", "exporter", "options"), config_params(DYNAMIC_CONFIGS, DYNAMIC_DEFAULT, dynamic_ids)
)
def test_export_quantizes_as_quantize_dynamic(name: str, exporter: str, options) -> None:
    """Where quantize_dynamic fails (the dynamo exports of the nets with a Linear head), ours
    is checked against itself: compiled, it computes what the reference interpreter does."""
    from onnxruntime.quantization import QuantType

    from .test_dynamic import ort_dynamic

    logging.getLogger().setLevel(logging.ERROR)
    per_channel, reduce_range, weight = options
    model = export(name, exporter)
    x = random_inputs(name, np.random.default_rng(2), 1.5)
    config = {"per_channel": per_channel, "reduce_range": reduce_range}
    ours = quantize(model, None, {"mode": "dynamic", "weight_type": weight, **config}).module
    compiled = compile_module(ours)(**x)
    label = f"{name} {exporter} {weight} {config}"
    if ort_transposes_declared_weight(model):
        with pytest.raises(InferenceError, match="Inferred shape and existing shape differ"):
            ort_dynamic(model, weight_type=QuantType[weight], **config)
        assert_same(compiled, run_function(qnn_default(ours), x), f"{label}, ours interpreted")
        return
    theirs = ort_dynamic(model, weight_type=QuantType[weight], **config)
    expected = compile_module(import_onnx(theirs))(**x)
    assert_same(compiled, expected, label)
    if reduce_range or weight == "QUInt8" or not ort_saturates_u8s8():
        assert_same(run_ort(theirs, x, session_level(theirs)), expected, f"{label}, ORT's session")
