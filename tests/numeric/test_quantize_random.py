"""Our quantizer against ONNX Runtime's `quantize_static` on random graphs with random configs.

Each seed builds a float graph (`random_models`: convolutional or token graphs) and a config
(format, per channel, activation type, reduce_range and one of the extra options). ONNX
Runtime quantizes the model and writes its calibration cache; ours quantizes the same model from
that cache. After `qnn-default` both modules must compute the same integers, our compiled module
too, and so must ONNX Runtime's session where its kernels are exact. This comparison found
quantize_static's rules we had missed (QOperator's dropped Relu/Clip, its forced data
movement, DedicatedQDQPair's receivers, OpTypesToExcludeOutputQuantization being QDQ's) and
rules of ORT's session (its NCHWc layout, QDQ propagation, MatMulAddFusion). `wide_cnn` and
`sequence_excluded` graphs leave a third of their nodes out of quantization
(`nodes_to_exclude`).

A seed whose graph ONNX Runtime itself cannot quantize (it refuses some of them with "Invalid
model with unknown initializers/tensors") checks nothing; each chunk must check most of its
seeds.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from qdialect.onnx_import import OnnxImportError, import_onnx  # noqa: E402
from runtime.compiled import compile_module  # noqa: E402
from runtime.quantization import quantize  # noqa: E402
from runtime.reference import run_function  # noqa: E402

from .onnxruntime_session import ort_saturates_u8s8, run_ort  # noqa: E402
from .random_models import BUILDERS, EXCLUDING  # noqa: E402
from .test_quantize_static import ort_quantized, qnn_default, session_level  # noqa: E402

EXTRAS = [
    {},
    {"ActivationSymmetric": True},
    {"ForceQuantizeNoInputCheck": True},
    {"DedicatedQDQPair": True},
    {"QDQKeepRemovableActivations": True},
    {"WeightSymmetric": False},
    {"OpTypesToExcludeOutputQuantization": ["Conv", "MatMul"]},
    {"ActivationRestrictedAsymmetric": True},
    {"QuantizeBias": False},
    {"MinimumRealRange": 0.0001},
]
CHUNK = 20
ORT_REFUSALS = ("computation range", "does not match y_zero_point type")


def random_config(rng: np.random.Generator) -> dict:
    """Mostly 8-bit; in QDQ form sometimes 16-bit activations (and weights) or 4-bit weights,
    which ORT's session leaves to the float simulation. Not the pairs quantize_static refuses
    (int8 activations with uint8 weights, 16-bit in QOperator form)."""
    fmt = str(rng.choice(["QDQ", "QOperator"]))
    activation = str(rng.choice(["QUInt8", "QInt8"]))
    weight = "QInt8" if activation == "QInt8" else str(rng.choice(["QInt8", "QUInt8"]))
    if fmt == "QDQ" and rng.random() < 0.25:
        activation = str(rng.choice(["QUInt16", "QInt16", activation]))
        weight = str(rng.choice(["QInt4", "QInt8", "QInt16"]))
    return {
        "quant_format": fmt,
        "per_channel": bool(rng.random() < 0.5),
        "activation_type": activation,
        "weight_type": weight,
        "reduce_range": bool(rng.random() < 0.5),
        "extra_options": EXTRAS[int(rng.integers(len(EXTRAS)))],
    }


def excluded_nodes(model, seed: int) -> list[str]:
    """About a third of the nodes, at random (`nodes_to_exclude`)."""
    rng = np.random.default_rng(seed + 3_000_000)
    return [node.name for node in model.graph.node if rng.random() < 0.3]


CONVERT_TYPES = ["QUInt8", "QInt8", "QUInt16", "QInt16"]


def random_converts(model, config: dict, seed: int) -> dict:
    """TensorQuantOverrides' `convert` (mixed precision) for one to three activations: another
    type for all their quantized readers or for some readers by name, sometimes symmetric.
    `recv_nodes` is a set and the type ORT's QuantType, as ORT's own callers pass them (ORT
    subtracts the names from a set); ours reads the same dict."""
    from onnxruntime.quantization import QuantType

    rng = np.random.default_rng(seed + 4_000_000)
    readers: dict[str, list[str]] = {}
    for node in model.graph.node:
        for name in node.input:
            if node.name not in readers.setdefault(name, []):
                readers[name].append(node.name)
    constants = {i.name for i in model.graph.initializer}
    constants |= {out for n in model.graph.node if n.op_type == "Constant" for out in n.output}
    outputs = [out for node in model.graph.node for out in node.output]
    candidates = sorted({"x", *outputs} - constants)
    overrides = {}
    count = min(len(candidates), int(rng.integers(1, 4)))
    for name in rng.choice(candidates, size=count, replace=False):
        qtype = str(rng.choice([t for t in CONVERT_TYPES if t != config["activation_type"]]))
        convert: dict = {"quant_type": QuantType[qtype]}
        if readers.get(name) and rng.random() < 0.5:
            chosen = rng.choice(readers[name], size=int(rng.integers(1, len(readers[name]) + 1)))
            convert["recv_nodes"] = {str(n) for n in chosen}
        if rng.random() < 0.3:
            convert["symmetric"] = True
        overrides[str(name)] = [{"convert": convert}]
    return overrides


def check_seed(kind: str, seed: int, exclude: bool | None = None, converts: bool = False) -> bool:
    """False when ONNX Runtime cannot quantize the graph (nothing to compare with). `exclude`:
    leave nodes out of quantization (by default for the kinds in `EXCLUDING`); `converts`:
    give some activations a second type (`random_converts`; not with DedicatedQDQPair, which
    ORT refuses with it)."""
    logging.getLogger().setLevel(logging.ERROR)  # quantize_static's pre-processing advice
    model = BUILDERS[kind](seed)
    rng = np.random.default_rng(seed + 1_000_000)
    config = random_config(rng)
    if kind in EXCLUDING if exclude is None else exclude:
        # float nodes in a quantized model: ORT's optimized session rewrites them
        config["nodes_to_exclude"] = excluded_nodes(model, seed)
    if converts and "DedicatedQDQPair" not in config["extra_options"]:
        overrides = random_converts(model, config, seed)
        config["extra_options"] = {**config["extra_options"], "TensorQuantOverrides": overrides}
    shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    samples = [{"x": rng.standard_normal(shape).astype(np.float32)} for _ in range(3)]
    x = (rng.standard_normal(shape) * 1.3).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            theirs, cache = ort_quantized(model, samples, config, Path(tmp))
        except RuntimeError as err:
            assert "unknown initializers/tensors" in str(err), err
            return False
        except ValueError as err:  # its int32-bias weight-scale adjustment on a per-channel
            # Gemm whose C is [1, N] compares an array with a float
            assert "truth value of an array" in str(err), err
            return False
        except AssertionError as err:  # compute_scale_zp's own check, on a range whose
            # float64 width overflows to inf (a mixed-precision convert of a huge range)
            assert "scale issue" in str(err), err
            return False
        ours = quantize(model, cache, config)
    label = f"{kind} seed {seed}, {config}"
    try:
        imported = import_onnx(theirs)
    except OnnxImportError as err:  # a per-channel Gemm's C [1, N]: ORT's DequantizeLinear
        # has axis 0 (size 1), which ORT's own unoptimized session refuses; ours is axis 1
        assert "does not match number of scales" in str(err), err
        with pytest.raises(Exception, match="For per axis quantization"):
            run_ort(theirs, {"x": x}, "ORT_DISABLE_ALL")
        compile_module(ours.module)(x=x)
        return False
    (expected,) = run_function(qnn_default(imported), {"x": x})
    (fused,) = run_function(qnn_default(ours.module), {"x": x})
    assert np.array_equal(fused, expected), label
    (compiled,) = compile_module(ours.module)(x=x)
    assert np.array_equal(compiled, expected), label
    if (config["reduce_range"] or not ort_saturates_u8s8()) and not float_ops_rewritten(model):
        try:
            (ort,) = run_ort(theirs, {"x": x}, session_level(theirs))
        except Exception as err:  # ORT's session refuses its own model: nothing to compare
            # QLinearGlobalAveragePool's "out of computation range"; a Q its QDQ propagation
            # copies from an opset-21 DequantizeLinear, whose output_dtype contradicts its zero
            # point ("output_dtype INT8 does not match y_zero_point type UINT8")
            assert any(s in str(err) for s in ORT_REFUSALS), err
            return True
        assert np.array_equal(ort, expected), label
    return True


def check_chunk(kind: str, start: int, count: int, converts: bool = False) -> None:
    checked = sum(check_seed(kind, seed, converts=converts) for seed in range(start, start + count))
    assert checked >= 0.8 * count, f"ONNX Runtime quantized only {checked} of {count} graphs"


# seeds 0-5 of each kind: 0-2 in the default tier, 3-5 in the slow tier (with the chunks from
# CHUNK on)
@pytest.mark.parametrize("start", [0, pytest.param(3, marks=pytest.mark.slow)])
@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_random_graphs_quantize_as_quantize_static(kind: str, start: int) -> None:
    check_chunk(kind, start, 3)


@pytest.mark.parametrize("kind", ["cnn", "sequence"])
def test_random_mixed_precision_quantizes_as_quantize_static(kind: str) -> None:
    """TensorQuantOverrides' `convert` on random activations of random graphs."""
    check_chunk(kind, 0, 5, converts=True)


# seeds that found a rule of ORT's session we had missed, kept in the default tier
FOUND_STATIC = [
    ("sequence", 57),  # MatMulIntegerToFloat of two activations (an excluded MatMul output)
    ("cnn", 121),  # a ConvTranspose's float bias, quantized with its filter's per-channel scales
    ("cnn", 1080),  # DedicatedQDQPair: a Split (one slice per output) is one receiving node
    ("wide_cnn", 154),  # QDQ propagation: an excluded Conv's Transpose, then a Q (its weights)
    ("wide_cnn", 367),  # a global pool after an NCHWc conv of 8 channels stays NCHW
    ("sequence_excluded", 49),  # QOperator: an excluded MatMul of DQs is MatMulIntegerToFloat
    ("sequence_excluded", 59),  # MatMulAddFusion: MatMul (no output Q) + excluded Add
    ("sequence_excluded", 104),  # QOperator: QDQ propagation's pairs are ORT's (s8-to-u8)
    ("wide_cnn", 324),  # a MaxPool QDQ propagation makes integer: the Resize after it is NCHW
    ("sequence", 494),  # s8-to-u8: a DQ that a Split (two slices) reads has one output edge
    ("wide_cnn", 725),  # QOperator: an excluded Resize between a DQ and a Q stays float
    ("varied_cnn", 616),  # QOperator's Pad shares its input's parameters whatever its value
    ("varied_cnn", 658),  # a MaxPool whose window is the whole image is no GlobalMaxPool
    ("varied_sequence", 731),  # a batched MatMul of two DQs and no Q: MatMulIntegerToFloat
]
FOUND_EXCLUDED_CNN = [444]  # a linear Resize after an excluded conv: ORT's NCHWc Upsample
# random mixed-precision configs that found a rule of ORT's session (`rewrites.unread_pairs`)
FOUND_CONVERTS = [
    ("cnn", 156),  # a converted tensor's unread DQ keeps ORT's DoubleQDQPairsRemover off
    ("sequence_excluded", 167),  # an unread converted pair is a MatMul's Q consumer
    ("cnn", 676),  # a graph output's Identity stays a reader: no WeightBiasQuantization
    ("wide_cnn", 647),  # the same, with a converted conv input
]
FOUND_DYNAMIC = [
    ("cnn", 33),  # NCHWc pools in a quantize_dynamic model
    ("wide_cnn", 4),  # a global pool reading the graph input, and one after NCHWc Mul, Concat
]


@pytest.mark.parametrize(("kind", "seed"), FOUND_STATIC)
def test_static_seeds_that_found_onnxruntime_rules(kind: str, seed: int) -> None:
    assert check_seed(kind, seed)


@pytest.mark.parametrize("seed", FOUND_EXCLUDED_CNN)
def test_cnn_seeds_with_excluded_nodes_that_found_onnxruntime_rules(seed: int) -> None:
    """`cnn` graphs with `nodes_to_exclude`, as `wide_cnn`'s configs have them."""
    assert check_seed("cnn", seed, exclude=True)


@pytest.mark.parametrize(("kind", "seed"), FOUND_CONVERTS)
def test_mixed_precision_seeds_that_found_onnxruntime_rules(kind: str, seed: int) -> None:
    assert check_seed(kind, seed, converts=True)


@pytest.mark.parametrize(("kind", "seed"), FOUND_DYNAMIC)
def test_dynamic_seeds_that_found_onnxruntime_rules(kind: str, seed: int) -> None:
    check_dynamic_seed(kind, seed)


@pytest.mark.slow
@pytest.mark.parametrize("start", range(CHUNK, 10 * CHUNK, CHUNK))
@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_more_random_graphs_quantize_as_quantize_static(kind: str, start: int) -> None:
    check_chunk(kind, start, CHUNK)


@pytest.mark.slow
@pytest.mark.parametrize("start", range(CHUNK, 6 * CHUNK, CHUNK))
@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_more_random_mixed_precision_quantizes_as_quantize_static(kind: str, start: int) -> None:
    check_chunk(kind, start, CHUNK, converts=True)


def float_ops_rewritten(model) -> bool:
    """Whether ORT's optimized session rewrites float ops in a way we do not reproduce
    (README): a Pad folded into the MaxPool it feeds, a Transpose its transpose optimizer
    may push below a ReduceMean (another sum order), an Erf-GELU of a MatMul from opset 20."""
    producers = {out: node for node in model.graph.node for out in node.output}
    fused = {("Pad", "MaxPool")}
    pairs = {
        (getattr(producers.get(node.input[0]), "op_type", None), node.op_type)
        for node in model.graph.node
    }
    types = {node.op_type for node in model.graph.node}
    return bool(pairs & fused) or {"Transpose", "ReduceMean"} <= types or late_gelu(model)


def late_gelu(model) -> bool:
    """An Erf-GELU reading a MatMul's output from opset 20 on: ORT fuses GELUs at its basic
    level there, before its DynamicQuantizeMatMul fusion, whose Mul then blocks it
    (`qdialect.ort_subgraph_fusions`)."""
    opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    producers = {out: node for node in model.graph.node for out in node.output}
    readers = {i for node in model.graph.node if node.op_type == "Erf" for i in node.input}
    return opset >= 20 and any(
        node.op_type == "Div"
        and node.output[0] in readers
        and getattr(producers.get(node.input[0]), "op_type", None) == "MatMul"
        for node in model.graph.node
    )


def check_dynamic_seed(kind: str, seed: int) -> None:
    """`quantize_dynamic` on a random graph: ours computes what ORT's model computes, imported,
    compiled, and run by ORT's session."""
    from onnxruntime.quantization import QuantType

    from .test_dynamic import ort_dynamic

    logging.getLogger().setLevel(logging.ERROR)
    model = BUILDERS[kind](seed)
    rng = np.random.default_rng(seed + 2_000_000)
    options = {"per_channel": bool(rng.random() < 0.5), "reduce_range": bool(rng.random() < 0.5)}
    weight = str(rng.choice(["QInt8", "QUInt8"]))
    shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    x = (rng.standard_normal(shape) * 1.5).astype(np.float32)
    theirs = ort_dynamic(model, weight_type=QuantType[weight], **options)
    label = f"{kind} seed {seed}, {weight}, {options}"
    (expected,) = compile_module(import_onnx(theirs))(x=x)
    ours = quantize(model, None, {"mode": "dynamic", "weight_type": weight, **options}).module
    (compiled,) = compile_module(ours)(x=x)
    assert np.array_equal(compiled.view(np.uint32), expected.view(np.uint32)), label
    exact = options["reduce_range"] or weight == "QUInt8" or not ort_saturates_u8s8()
    if exact and not float_ops_rewritten(model):
        (ort,) = run_ort(theirs, {"x": x}, session_level(theirs))
        assert np.array_equal(ort.view(np.uint32), expected.view(np.uint32)), label


# (quantize_dynamic takes no nodes_to_exclude here: `sequence_excluded` is `sequence` to it)
DYNAMIC_KINDS = sorted(set(BUILDERS) - {"sequence_excluded"})


@pytest.mark.parametrize("start", [0, pytest.param(2, marks=pytest.mark.slow)])
@pytest.mark.parametrize("kind", DYNAMIC_KINDS)
def test_random_graphs_quantize_as_quantize_dynamic(kind: str, start: int) -> None:
    """Seeds 0-3 (2 and 3 in the slow tier, with the later chunks)."""
    for seed in range(start, start + 2):
        check_dynamic_seed(kind, seed)


@pytest.mark.slow
@pytest.mark.parametrize("start", range(CHUNK, 6 * CHUNK, CHUNK))
@pytest.mark.parametrize("kind", DYNAMIC_KINDS)
def test_more_random_graphs_quantize_as_quantize_dynamic(kind: str, start: int) -> None:
    for seed in range(start, start + CHUNK):
        check_dynamic_seed(kind, seed)
