"""Our quantizer against ONNX Runtime's `quantize_static`, bit for bit.

For every float model (conv nets with residual adds and pools, an MLP, a transformer FFN, a
data-movement net) and every combination of QDQ/QOperator x per-channel x u8/s8 activations x
reduce_range, ONNX Runtime quantizes the model and saves its calibration cache; our quantizer
quantizes the same float model from that cache. Our module must compute exactly what the
reference interpreter computes on ONNX Runtime's quantized model (compiled and interpreted), and
where ONNX Runtime is exact (7-bit weights) what ONNX Runtime itself computes.
"""

from __future__ import annotations

import importlib.util
import itertools
import logging
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from xdsl.passes import PassPipeline  # noqa: E402

from qdialect import qnn  # noqa: E402
from qdialect.onnx_import import OnnxImportError, import_onnx  # noqa: E402
from qdialect.onnx_import.graph import QUANTIZED_MODEL_NODES  # noqa: E402
from qdialect.tensors import element_type  # noqa: E402
from qdialect.textio import make_context  # noqa: E402
from qdialect.types import UniformQuantizedType  # noqa: E402
from rewrites.quantize_static import QuantizeError  # noqa: E402
from rewrites.registry import PASSES  # noqa: E402
from runtime.compiled import compile_module  # noqa: E402
from runtime.quantization import calibrate, quantize  # noqa: E402
from runtime.reference import run_function  # noqa: E402

from . import float_models  # noqa: E402
from .onnxruntime_session import run_ort  # noqa: E402

EXAMPLES = Path(__file__).parents[2] / "examples"
_spec = importlib.util.spec_from_file_location("onnx_models", EXAMPLES / "onnx_models.py")
examples = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(examples)

MODELS = {
    **examples.MODELS,
    "transformer_ffn": float_models.transformer_ffn,
    "gpt2_mlp": float_models.gpt2_mlp,
    "movement": float_models.movement,
    "activations": float_models.activations,
    "slicing": float_models.slicing,
    "encoder_layer": float_models.encoder_layer,
    "decomposed_encoder_layer": float_models.decomposed_encoder_layer,
    "squeeze_excitation": float_models.squeeze_excitation,
    "mixed_consumers": float_models.mixed_consumers,
    "shared_activation_input": float_models.shared_activation_input,
    "mixed_precision": float_models.mixed_precision,
    "identity_between": float_models.identity_between,
    "identity_output": float_models.conv_output_node("Identity"),
    "cast_output": float_models.conv_output_node("Cast"),
    "split_readers": float_models.split_readers,
    "projection_head": float_models.projection_head,
    "gathered_scores": float_models.gathered_scores,
    "doubled_input": float_models.doubled_input,
    "class_token": float_models.class_token,
    "bilinear": float_models.bilinear,
    "conv1d": float_models.conv1d,
    "pools_1d": float_models.pools_1d,
    "matmul_shapes": float_models.matmul_shapes,
    "untyped_gelu": float_models.untyped_gelu,
    "untyped_group_norm": float_models.untyped_group_norm,
    "lrn_stem": float_models.lrn_stem,
    "composed_head": float_models.composed_head,
    "optimized_ffn": float_models.optimized_ffn,
    "bicubic": float_models.bicubic,
    "instance_norm": float_models.instance_norm,
    "conv_transpose": float_models.conv_transpose,
    "conv_transpose_1d": float_models.conv_transpose_1d,
    "constant_nodes": float_models.constant_nodes,
    "tiny_weights": float_models.tiny_weights,
    "where_select": float_models.where_select,
    "cumulative": float_models.cumulative,
    "float_casts": float_models.float_casts,
    "tied_parameters": float_models.tied_parameters,
    "constant_pad_value": float_models.constant_pad_value,
    "masked_scores": float_models.masked_scores,
    "top_scores": float_models.top_scores,
    "shape_from_constants": float_models.shape_from_constants,
    "row_bias_head": float_models.row_bias_head,
    "transposed_initializer": float_models.transposed_initializer,
    "newer_float_ops": float_models.newer_float_ops,
    "wide_float_conv": float_models.wide_float_conv,
    "graph_convolution": float_models.graph_convolution,
    "scaled_gemms": float_models.scaled_gemms,
    "multiplied_mask": float_models.multiplied_mask,
    "einsum_mixer": float_models.einsum_mixer,
    "recurrent_mixer": float_models.recurrent_mixer,
    "gemm_of_activations": float_models.gemm_of_activations,
    "dotted_conv1d": float_models.dotted_conv1d,
    "identity_bias_gemm": float_models.identity_bias_gemm,
    "video_block": float_models.video_block,
    "ceil_pool": float_models.ceil_pool,
    "video_pool": float_models.video_pool,
}
FAST_MODELS = (
    "resnet_block",
    "transformer_ffn",
    "movement",
    "slicing",
    "bilinear",
    "conv1d",
    "pools_1d",
    "instance_norm",
    "conv_transpose",
    "conv_transpose_1d",
)
COMBOS = list(
    itertools.product(["QDQ", "QOperator"], [False, True], ["QUInt8", "QInt8"], [False, True])
)
# Where ORT is exact, ORT's optimized session is compared with bit for bit, int8 activations
# included: qnn-default retypes and declines QDQ groups as ORT's x86 session does
# (`rewrites.s8_to_u8`, `rewrites.fold_qdq`); without that, small_cnn and movement with int8
# activations were one output step off ORT.


# Between QLinearConvs, ORT's layout optimization (level ENABLE_ALL only) runs a QOperator linear
# Resize in NHWC with 10-bit fixed-point weights, not the float weights of its NCHW kernel that
# every lower level runs (and that ours computes): checked against ORT at ENABLE_EXTENDED.
ORT_NHWC_RESIZE = {("bilinear", "QOperator")}
# A MatMul of a float activation and a dequantized constant weight, ORT's extended level fuses
# into MatMulNBits (8 bits, accuracy_level 4: the activation quantized to int8 by blocks of
# 32), which we do not reproduce: checked against ORT at ENABLE_BASIC.
ORT_MATMUL_NBITS = {("untyped_gelu", "QDQ"), ("optimized_ffn", "QDQ")}
# Our QOperator modules are written as QDQ groups that qnn-default fuses; where the float
# simulation of a group overflows (the mask's float minimum dequantized with a scale near 1e36
# is -inf) only the fused programs, ORT's QLinearMul and ours, are compared.
FLOAT_SIMULATION_OVERFLOWS = {("multiplied_mask", "QOperator")}


def qnn_default(module):
    """`module` through qnn-default; what comes out verifies (the integer ops fused from QDQ
    groups keep none of the float ones' properties)."""
    module = module.clone()
    PassPipeline.parse_spec(PASSES, "qnn-default").apply(make_context(), module)
    module.verify()
    return module


GROUP_OPS = (qnn.Conv2DOp, qnn.DotOp, qnn.AddOp, qnn.MulOp, qnn.ConcatOp, qnn.AvgPool2DOp)


def group_kinds(module) -> Counter:
    """How many ops of each kind QDQ groups can fuse into run in float and how many integer:
    both quantizers' models must leave the same groups to the float simulation."""
    return Counter(
        (op.name, isinstance(element_type(op.results[0].type), UniformQuantizedType))
        for op in module.walk()
        if isinstance(op, GROUP_OPS)
    )


def output_scale(model) -> float | None:
    """The scale of the DequantizeLinear that produces the float output `y` (None: a float op
    produces it)."""
    (node,) = [n for n in model.graph.node if "y" in n.output]
    if node.op_type != "DequantizeLinear":
        return None
    (scale,) = [t for t in model.graph.initializer if t.name == node.input[1]]
    return float(onnx.numpy_helper.to_array(scale))


def input_shape(model) -> list[int]:
    return [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]


def ort_quantized(model, samples, config: dict, tmp: Path, cache: Path | None = None):
    """quantize_static's model and the calibration cache it wrote (or read: `cache`)."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.samples = iter(samples)

        def get_next(self):
            return next(self.samples, None)

    source, target = tmp / "float.onnx", tmp / "quant.onnx"
    cache = cache or tmp / "cache.json"
    onnx.save(model, source)
    quantize_static(
        str(source),
        str(target),
        Reader() if samples else None,
        quant_format=getattr(QuantFormat, config["quant_format"]),
        per_channel=config["per_channel"],
        reduce_range=config["reduce_range"],
        activation_type=getattr(QuantType, config["activation_type"]),
        weight_type=getattr(QuantType, config.get("weight_type", "QInt8")),
        calibration_cache_path=str(cache),
        op_types_to_quantize=config.get("op_types_to_quantize"),
        nodes_to_quantize=config.get("nodes_to_quantize"),
        nodes_to_exclude=config.get("nodes_to_exclude"),
        extra_options=config.get("extra_options"),
    )
    return onnx.load(target), cache


def session_level(model) -> str:
    """The ORT session our import of `model` reproduces: the optimized one for a quantized
    model, the unoptimized one (its calibrator's) for a model with nothing quantized, whose
    float pools and convolutions we sum as that session does (README)."""
    quantized = any(
        node.op_type in QUANTIZED_MODEL_NODES or node.op_type.startswith("QLinear")
        for node in model.graph.node
    )
    return "ORT_ENABLE_ALL" if quantized else "ORT_DISABLE_ALL"


def case_ids(combo) -> str:
    fmt, per_channel, act, reduce_range = combo
    return f"{fmt}-{'pc' if per_channel else 'pt'}-{act}-{'rr' if reduce_range else 'full'}"


def first_two_fast(combos: list[tuple]) -> list:
    """pytest params of `combos`: the first two in the default tier, the rest in the slow one
    (one QDQ and one QOperator combination where the list alternates them)."""
    return [
        pytest.param(combo, id=case_ids(combo), marks=() if index < 2 else pytest.mark.slow)
        for index, combo in enumerate(combos)
    ]


def static_config(combo, **options) -> dict:
    """quantize_static's keyword arguments for a (format, per channel, activation type,
    reduce_range) combination, int8 weights unless `options` say otherwise."""
    fmt, per_channel, act, reduce_range = combo
    return {
        "quant_format": fmt,
        "per_channel": per_channel,
        "activation_type": act,
        "weight_type": "QInt8",
        "reduce_range": reduce_range,
        **options,
    }


def quantized_types(module) -> Counter:
    """How many results of each quantized type (storage, scale, zero point) a module has."""
    return Counter(
        str(element_type(result.type))
        for op in module.walk()
        for result in op.results
        if isinstance(element_type(result.type), UniformQuantizedType)
    )


def check_model(
    name: str,
    combo,
    compiled: bool,
    *,
    same_groups: bool = False,
    same_types: bool = False,
    **options,
) -> None:
    """`options`: more of quantize_static's keyword arguments (both quantizers get them);
    `same_groups`: qnn-default must also leave the same QDQ groups float on both models;
    `same_types`: both modules, as written, must hold the same quantized types (a bias's
    scale, a pair a folded Relu would have removed)."""
    logging.getLogger().setLevel(logging.ERROR)  # quantize_static's pre-processing advice
    fmt, _, _, reduce_range = combo
    config = static_config(combo, **options)
    rng = np.random.default_rng(sum(map(ord, name)))
    model = MODELS[name](rng)
    shape = input_shape(model)
    samples = [{"x": rng.standard_normal(shape).astype(np.float32)} for _ in range(4)]
    with tempfile.TemporaryDirectory() as tmp:
        theirs, cache = ort_quantized(model, samples, config, Path(tmp))
        ours = quantize(model, cache, config)
    x = (rng.standard_normal(shape) * 1.5).astype(np.float32)
    # the QDQ modules as written (float simulation), then both fused by qnn-default
    if same_types:
        assert quantized_types(ours.module) == quantized_types(import_onnx(theirs))
    if (name, fmt) not in FLOAT_SIMULATION_OVERFLOWS:
        (literal,) = run_function(import_onnx(theirs), {"x": x})
        (interpreted,) = run_function(ours.module, {"x": x})
        assert np.array_equal(interpreted, literal), np.abs(interpreted - literal).max()
    theirs_fused, ours_fused = qnn_default(import_onnx(theirs)), qnn_default(ours.module)
    if same_groups:
        assert group_kinds(ours_fused) == group_kinds(theirs_fused)
    (expected,) = run_function(theirs_fused, {"x": x})
    (fused,) = run_function(ours_fused, {"x": x})
    assert np.array_equal(fused, expected), np.abs(fused - expected).max()
    if compiled:
        (result,) = compile_module(ours.module)(x=x)
        assert np.array_equal(result, expected), np.abs(result - expected).max()
    if reduce_range:  # 7-bit weights: ONNX Runtime's u8xs8 kernels do not saturate
        level = "ORT_ENABLE_EXTENDED" if (name, fmt) in ORT_NHWC_RESIZE else session_level(theirs)
        level = "ORT_ENABLE_BASIC" if (name, fmt) in ORT_MATMUL_NBITS else level
        (ort,) = run_ort(theirs, {"x": x}, level)
        scale = output_scale(theirs)
        if scale is None:  # QOperator's float LayerNormalization: ORT's float32 steps
            assert np.array_equal(ort.view(np.uint32), expected.view(np.uint32))
            return
        steps = np.abs(ort - expected) / scale
        assert steps.max() == 0, steps.max()


# The default tier's (model, combination) pairs: of the combinations that go per tensor with
# full-range weights or per channel with reduce_range, each model takes every third one, the
# next model the next third, so every one of them runs on a third of the models.
DEFAULT_PAIRS = [
    (name, combo)
    for index, name in enumerate(FAST_MODELS)
    for position, combo in enumerate(c for c in COMBOS if c[1] == c[3])
    if (index + position) % 3 == 0
]


@pytest.mark.parametrize(
    ("name", "combo"),
    DEFAULT_PAIRS,
    ids=lambda v: v if isinstance(v, str) else case_ids(v),
)
def test_quantizer_is_quantize_static(name: str, combo) -> None:
    """A sixth of the combinations in the default tier (both formats and activation types;
    per tensor with full-range weights, per channel with reduce_range; DEFAULT_PAIRS); the
    slow tier runs them all, compiled, on every model."""
    check_model(name, combo, compiled=combo in COMBOS[::3])


@pytest.mark.parametrize("combo", COMBOS[::5], ids=case_ids)
def test_activations_are_quantized_like_quantize_static(combo) -> None:
    """Sigmoid, LeakyRelu, Mul and Softmax: tables, qnn.mul and (QOperator's QLinearSoftmax)
    a quantized qnn.softmax, or a float softmax between Q/DQ pairs (QDQ). Both formats, both
    activation types, reduce_range on and off; the slow tier runs every combination."""
    check_model("activations", combo, compiled=combo[0] == "QOperator")


@pytest.mark.parametrize("combo", COMBOS[::3], ids=case_ids)
def test_float_consumers_get_what_quantize_static_gives_them(combo) -> None:
    """QOperator quantizes a tensor a float node writes only for the quantized nodes that read
    it (its float readers get it as it is) and keeps a GlobalAveragePool of it float; QDQ
    gives every reader the Q/DQ pair's output."""
    check_model("mixed_consumers", combo, compiled=True)


# (model, combo, options): QOperator's per-channel weights follow WeightSymmetric (QDQ's stay
# symmetric); QOperator keeps Relu float with symmetric activations, and the pool after it;
# with only Conv quantized, QOperator's float ops read the float tensors
OPTIONS = [
    ("resnet_block", ("QOperator", True, "QUInt8", False), {"extra_options": {"WeightSymmetric": False}}),
    ("resnet_block", ("QDQ", True, "QUInt8", False), {"extra_options": {"WeightSymmetric": False}}),
    ("resnet_block", ("QOperator", False, "QInt8", True), {"extra_options": {"ActivationSymmetric": True}}),
    ("mixed_consumers", ("QOperator", False, "QUInt8", False), {"op_types_to_quantize": ["Conv"]}),
    ("class_token", ("QDQ", True, "QInt8", False), {"extra_options": {"ForceQuantizeNoInputCheck": True}}),
    # QLinearConv's per-channel weights are int8 whatever weight_type says (QDQ's follow it)
    ("resnet_block", ("QOperator", True, "QUInt8", False), {"weight_type": "QUInt8"}),
    ("resnet_block", ("QDQ", True, "QUInt8", False), {"weight_type": "QUInt8"}),
    # the int32 bias's weight-scale adjustment: QOperator's too, per channel and per tensor
    ("tiny_weights", ("QOperator", True, "QUInt8", False), {}),
    ("tiny_weights", ("QOperator", False, "QInt8", True), {}),
    ("tiny_weights", ("QDQ", False, "QUInt8", False), {}),
    # Where: QDQ's own pairs and QOperator's QLinearWhere when forced; QDQ's output pair only
    ("where_select", ("QDQ", True, "QInt8", True), {"extra_options": {"ForceQuantizeNoInputCheck": True}}),
    ("where_select", ("QOperator", False, "QUInt8", True), {"extra_options": {"ForceQuantizeNoInputCheck": True}}),
    ("where_select", ("QDQ", False, "QUInt8", True), {}),
    # float weights through Q/DQ pairs (folded to stored weights: the same numbers); the pairs
    # in the com.microsoft domain
    ("resnet_block", ("QDQ", True, "QInt8", False), {"extra_options": {"AddQDQPairToWeight": True}}),
    ("transformer_ffn", ("QDQ", False, "QUInt8", True), {"extra_options": {"AddQDQPairToWeight": True}}),
    ("resnet_block", ("QDQ", False, "QUInt8", True), {"extra_options": {"UseQDQContribOps": True}}),
    # QOperator's forced data movement quantizes initializers only: of activations, float
    ("movement", ("QOperator", False, "QUInt8", True), {"extra_options": {"ForceQuantizeNoInputCheck": True}}),
    ("movement", ("QOperator", True, "QInt8", True), {"extra_options": {"ForceQuantizeNoInputCheck": True}}),
    # dedicated pairs for the nodes to quantize only (a Split one), a float Sub reads float
    ("split_readers", ("QDQ", False, "QUInt8", True), {"extra_options": {"DedicatedQDQPair": True}}),
    ("split_readers", ("QDQ", True, "QInt8", True), {"extra_options": {"DedicatedQDQPair": True}}),
    # a Gather at constant indices (several ops here) is one receiving node
    ("gathered_scores", ("QDQ", False, "QInt8", True), {"extra_options": {"DedicatedQDQPair": True}}),
    ("gathered_scores", ("QDQ", True, "QUInt8", True), {"extra_options": {"DedicatedQDQPair": True}}),
    # a node reading a tensor twice is two receivers
    ("doubled_input", ("QDQ", False, "QUInt8", True), {"extra_options": {"DedicatedQDQPair": True}}),
    # a MatMul no quantize reads: ORT's session runs it as MatMulIntegerToFloat (uint8 input)
    ("projection_head", ("QDQ", True, "QUInt8", True), {"extra_options": {"OpTypesToExcludeOutputQuantization": ["MatMul"]}}),
    ("projection_head", ("QDQ", False, "QUInt8", False), {"extra_options": {"OpTypesToExcludeOutputQuantization": ["MatMul"]}}),
    ("projection_head", ("QDQ", False, "QInt8", True), {"extra_options": {"OpTypesToExcludeOutputQuantization": ["MatMul"]}}),
    ("encoder_layer", ("QDQ", False, "QUInt8", True), {"extra_options": {"OpTypesToExcludeOutputQuantization": ["MatMul"]}}),
    # ... and a Gemm as QGemm with a float output (its int32 C summed with the products)
    ("mlp", ("QDQ", False, "QUInt8", True), {"extra_options": {"OpTypesToExcludeOutputQuantization": ["Gemm"]}}),
    ("small_cnn", ("QDQ", True, "QInt8", True), {"extra_options": {"OpTypesToExcludeOutputQuantization": ["Gemm"]}}),
    # a QDQ option: QOperator's QLinearConv writes its quantized output all the same
    ("resnet_block", ("QOperator", False, "QInt8", True), {"extra_options": {"OpTypesToExcludeOutputQuantization": ["Conv"]}}),
    # uint8 activations with their zero points snapped to 0 or 128
    ("resnet_block", ("QDQ", False, "QUInt8", True), {"extra_options": {"ActivationRestrictedAsymmetric": True}}),
    ("encoder_layer", ("QOperator", True, "QUInt8", True), {"extra_options": {"ActivationRestrictedAsymmetric": True}}),
    # float biases beside adjusted weight scales (QDQ); the attention's MatMuls of two
    # activations float (QOperator only)
    ("resnet_block", ("QDQ", True, "QInt8", True), {"extra_options": {"QuantizeBias": False}}),
    ("resnet_block", ("QDQ", False, "QUInt8", True), {"extra_options": {"QuantizeBias": False}}),

    ("encoder_layer", ("QOperator", False, "QUInt8", True), {"extra_options": {"MatMulConstBOnly": True}}),
    ("encoder_layer", ("QDQ", False, "QUInt8", True), {"extra_options": {"MatMulConstBOnly": True}}),
]  # fmt: skip


@pytest.mark.parametrize("combo", COMBOS[::3], ids=case_ids)
def test_activations_of_a_shared_tensor_are_quantize_statics(combo) -> None:
    """Relu and Clip of a tensor with other readers: kept in QDQ, dropped by QOperator."""
    check_model("shared_activation_input", combo, compiled=True, same_groups=True)


@pytest.mark.parametrize("combo", COMBOS[::3], ids=case_ids)
def test_float_casts_get_their_own_pairs(combo) -> None:
    """A Cast(to=FLOAT) between quantized nodes is a tensor of its own to ONNX Runtime's
    quantizer (its range, its Q/DQ pair); the importer keeps it (`qnn.cast` f32 -> f32)
    until qnn-default drops it."""
    check_model("float_casts", combo, compiled=True)


@pytest.mark.parametrize("combo", COMBOS[1::3], ids=case_ids)
def test_top_k_is_quantize_statics(combo) -> None:
    """TopK's values share the input's parameters in QDQ (a data movement of stored values);
    QOperator leaves it float. Ties among the stored values rank by index, as ORT's do."""
    check_model("top_scores", combo, compiled=True)


@pytest.mark.parametrize("combo", COMBOS[::2], ids=case_ids)
def test_masked_attention_is_quantize_statics(combo) -> None:
    """Scores plus a mask of the float minimum: quantize_static quantizes the mask with a scale
    near 1.3e36. QOperator's QLinearAdd computes with the ratios of the scales (the scores'
    one underflows: ORT drops them) and its QLinearSoftmax with that scale; QDQ runs the
    groups whose products leave float32 as the float simulation. ORT's model imports and
    both equal ORT itself."""
    check_model("masked_scores", combo, compiled=True)


@pytest.mark.parametrize("combo", first_two_fast([c for c in COMBOS if c[3]]))
def test_a_mask_multiplied_by_the_float_minimum_is_quantize_statics(combo) -> None:
    """`(1 - mask) * finfo.min`: the constant's scale near 1e36 overflows its dequantized value
    to -inf, but QLinearMul's multiplier fl(fl(sa*sb)/sy) is an ordinary number, and ORT's
    session (QDQ: its selector) runs the integer multiply: so do we, not the float simulation
    (whose 0 * -inf masked every token)."""
    check_model("multiplied_mask", combo, compiled=True)


@pytest.mark.parametrize("combo", COMBOS[2::3], ids=case_ids)
def test_pad_values_from_constant_nodes_import(combo) -> None:
    """ORT's model reads the Pad's constant_value through its quantization (QDQ: Q and DQ;
    QOperator: the stored value); the importer evaluates the chain."""
    check_model("constant_pad_value", combo, compiled=True)


@pytest.mark.parametrize("combo", [c for c in COMBOS[1::2] if c[0] == "QDQ"], ids=case_ids)
def test_parameters_tied_through_identity_are_quantize_statics(combo) -> None:
    """A bias and a weight read twice, once through Identity: quantized for the first reader,
    an activation (or, for the bias, float) for the second, as quantize_static does."""
    check_model("tied_parameters", combo, compiled=True)


@pytest.mark.parametrize("combo", COMBOS[::2], ids=case_ids)
def test_a_constant_first_matmul_input_is_quantize_statics(combo) -> None:
    """A graph convolution's constant adjacency times the features: QDQ quantizes it as a
    weight, QOperator's QLinearMatMul as a constant activation (the activation type, per
    tensor, never reduced), as quantize_static does."""
    check_model("graph_convolution", combo, compiled=True, same_types=True)


@pytest.mark.parametrize("combo", first_two_fast(COMBOS[::2]))
def test_gemm_alpha_and_beta_are_quantize_statics(combo) -> None:
    """Gemms with alpha and beta other than 1: quantize_static folds beta into the int32 bias
    scale (sx·sw·beta, C divided by it) and leaves the node's beta 1; a QGemm keeps alpha in
    its output scale, a QDQ Gemm with alpha stays float in ORT's optimized session."""
    check_model("scaled_gemms", combo, compiled=True, same_types=combo[0] == "QDQ")


def test_a_float_conv_between_int8_pairs_compiles_again_to_the_same_program() -> None:
    """A Conv on int8 activations whose output two Concats read stays the float simulation
    (ORT's x86 session); fold-dequantized-filters then makes its filter a float constant,
    which a second qnn-default must not quantize again as an initializer (ORT's
    WeightBiasQuantization never sees it): compiling the quantizer's module twice (the first
    compile rewrites it in place) gives ORT's numbers twice (sweep 7's F2)."""
    logging.getLogger().setLevel(logging.ERROR)
    rng = np.random.default_rng(7)
    channels, size = 8, 6
    nodes = [
        helper.make_node("Relu", ["x"], ["r"]),
        helper.make_node("Conv", ["r", "w"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Concat", ["x", "c"], ["y1"], axis=1),
        helper.make_node("Concat", ["c", "x"], ["y"], axis=1),
    ]
    weights = {"w": float_models.normal(rng, 4, channels, 3, 3)}
    model = float_models.onnx_model(nodes, [1, channels, size, size], None, weights)
    model.graph.output.insert(0, helper.make_tensor_value_info("y1", TensorProto.FLOAT, None))
    shape = [1, channels, size, size]
    samples = [{"x": rng.standard_normal(shape).astype(np.float32)} for _ in range(4)]
    combo = ("QDQ", True, "QInt8", False)
    with tempfile.TemporaryDirectory() as tmp:
        theirs, cache = ort_quantized(model, samples, static_config(combo), Path(tmp))
        ours = quantize(model, cache, static_config(combo))
    once = qnn_default(ours.module)
    assert str(qnn_default(once)) == str(once)
    x = rng.standard_normal(shape).astype(np.float32)
    (_, expected) = run_ort(theirs, {"x": x}, "ORT_ENABLE_ALL")
    for _ in range(2):
        (_, got) = compile_module(ours.module)(x=x)
        assert np.array_equal(got, expected)


@pytest.mark.parametrize("fmt", ["QDQ", "QOperator"])
def test_a_quantized_gemm_c_of_every_output_is_refused_by_name(fmt: str) -> None:
    """A Gemm whose C is [M, N] (or [M, 1], or one value): quantize_static quantizes it into
    QGemm's int32 C broadcast over the rows, an epilogue qnn.dot does not have. Our quantizer
    and the importer of ORT's model say so, naming the node (the float model imports)."""
    logging.getLogger().setLevel(logging.ERROR)
    combo = (fmt, False, "QUInt8", True)
    rng = np.random.default_rng(3)
    model = float_models.matrix_c_gemms(rng)
    samples = [{"x": rng.standard_normal((6, 16)).astype(np.float32)} for _ in range(2)]
    with tempfile.TemporaryDirectory() as tmp:
        theirs, cache = ort_quantized(model, samples, static_config(combo), Path(tmp))
        with pytest.raises(QuantizeError) as ours:
            quantize(model, cache, static_config(combo))
    assert str(ours.value) == (
        "Gemm 'every': a C of shape [6, 12] is not quantized (only one of [N] or [1, N] is, a bias)"
    )
    with pytest.raises(OnnxImportError) as imported:
        import_onnx(theirs)
    assert str(imported.value).endswith(
        "a quantized C of shape [6, 12] is not imported (only [12] or [1, 12] is, a bias)"
        if fmt == "QDQ"
        else "bias must be int32 of shape [12] or [1, 12], got int32[6, 12]"
    )


@pytest.mark.parametrize("combo", first_two_fast(COMBOS[::3]))
def test_a_gemm_of_two_activations_is_quantize_statics(combo) -> None:
    """A Gemm whose B is an activation: QOperator's QGemm reads a run-time B (imported as
    such, ORT's model too), QDQ's Gemm stays a float simulation, as quantize_static writes."""
    check_model("gemm_of_activations", combo, compiled=True)


@pytest.mark.parametrize("combo", first_two_fast(COMBOS[::3]))
def test_a_gemm_whose_c_is_no_initializer_is_quantize_statics(combo) -> None:
    """C an Identity of an initializer: QDQ quantizes the Gemm but not C; QOperator's
    QLinearGemm quantizes the weight, then falls back to a float Gemm reading it dequantized."""
    check_model("identity_bias_gemm", combo, compiled=True)


@pytest.mark.parametrize("combo", first_two_fast(COMBOS[1::4]))
def test_einsums_stay_float_as_in_quantize_static(combo) -> None:
    """Einsums between quantized MatMuls: quantize_static has no rule for them, so they stay
    float (ORT's kernel's sums, `onnx_import.einsum`) between the pairs."""
    check_model("einsum_mixer", combo, compiled=True, same_types=True)


@pytest.mark.parametrize("combo", first_two_fast(COMBOS[::4]))
def test_recurrent_nodes_stay_float_as_in_quantize_static(combo) -> None:
    """An LSTM and a GRU between quantized MatMuls stay float, whole (their inner ops, the
    gates' clips among them, are no nodes of the quantizer's)."""
    check_model("recurrent_mixer", combo, compiled=True, same_types=True)


def test_the_gate_clips_of_recurrent_nodes_are_no_clip_nodes() -> None:
    """`op_types_to_quantize` naming Clip on a model whose only clips are an LSTM's and a
    GRU's gates': no node of that type, so the listed type is warned about."""
    from runtime.quantization import QuantizeWarning, calibrate

    rng = np.random.default_rng(3)
    model = float_models.recurrent_mixer(rng)
    samples = [{"x": rng.standard_normal((6, 1, 8)).astype(np.float32)} for _ in range(2)]
    table = calibrate(model, samples)
    with pytest.warns(QuantizeWarning, match=r"^rule op_types_to_quantize\['Clip'\] matches no"):
        quantize(model, table, {"op_types_to_quantize": ["MatMul", "Clip"]})


@pytest.mark.parametrize("combo", COMBOS[1::3], ids=case_ids)
def test_gathers_of_activations_are_quantize_statics(combo) -> None:
    """Gather at constant indices (a class token, a pair of tokens): float between the pairs
    in QDQ, a quantized data movement in QOperator."""
    check_model("class_token", combo, compiled=True)


def every_other_slow(cases: list[tuple], ids: list[str]) -> list:
    """pytest params of `cases`: the even-numbered ones in the default tier, the others in the
    slow tier (neighbouring cases mostly check one option two ways)."""
    return [
        pytest.param(*case, id=case_id, marks=() if index % 2 == 0 else pytest.mark.slow)
        for index, (case, case_id) in enumerate(zip(cases, ids, strict=True))
    ]


@pytest.mark.parametrize(
    ("name", "combo", "options"), every_other_slow(OPTIONS, [str(case) for case in OPTIONS])
)
def test_options_are_quantize_statics(name: str, combo, options: dict) -> None:
    check_model(name, combo, compiled=True, same_groups=True, **options)


@pytest.mark.parametrize(
    ("name", "combo"),
    [("resnet_block", ("QDQ", True, "QInt8", True)), ("small_cnn", ("QDQ", False, "QInt8", True))],
    ids=lambda v: v if isinstance(v, str) else case_ids(v),
)
def test_dedicated_pairs_fuse_what_onnxruntime_fuses(name: str, combo) -> None:
    """DedicatedQDQPair: a pair per reading node. With int8 activations ORT's x86 session then
    retypes every pair and fuses the residual block it otherwise runs as float simulation;
    our model must leave the same groups float (none), not only give the same numbers."""
    check_model(
        name, combo, compiled=True, same_groups=True, extra_options={"DedicatedQDQPair": True}
    )


@pytest.mark.parametrize("act", ["QUInt8", "QInt8"])
def test_per_channel_conv1d_groups_fuse_in_both_models(act: str) -> None:
    """ORT's QDQ model dequantizes a 1-D conv's per-channel weight before the importer's
    reshape to 2-D: the dequantize sinks through it (unit dimensions only), so the group
    fuses as in our quantizer's model and as ORT fuses it (QLinearConv)."""
    check_model("conv1d", ("QDQ", True, act, True), compiled=True, same_groups=True)


@pytest.mark.parametrize("combo", COMBOS[1::2], ids=case_ids)
def test_quantized_shape_arithmetic_folds(combo) -> None:
    """ORT's quantizer puts Q/DQ pairs (QLinearMul) on float shape arithmetic of Constant
    nodes; the importer folds them (qdialect/onnx_import/folding.py), so its model imports."""
    check_model("shape_from_constants", combo, compiled=True)


# ORT 1.31's QOperator quantizer writes an invalid model for a Where it does not force: it
# keeps the node reading the float tensor a QLinearConv no longer writes ("unknown
# initializers/tensors"); the forced case is in OPTIONS
ORT_INVALID = {("where_select", "QOperator"), ("tied_parameters", "QOperator")}
# ... and its QOperator quantizer fails on a MatMul reading an untyped tensor (QOpMatMul
# quantizes the node, then gets no quantized input: "'NoneType' object has no attribute")
ORT_INVALID |= {("untyped_gelu", "QOperator"), ("optimized_ffn", "QOperator")}
# ... and a cubic Resize of stored 8-bit values (QOperator's QResize), which our importer
# refuses by name (a test of its own below)
ORT_INVALID |= {("bicubic", "QOperator")}
# ... and per channel, for a Gemm's C [1, N] it fails (int8 weights) or writes a bias
# DequantizeLinear its own session refuses (a test of its own below)
ORT_INVALID_PER_CHANNEL = {("row_bias_head", "QDQ"), ("row_bias_head", "QOperator")}
# ... and its QLinearMatMul of a 1-D weight quantized per channel (one scale per row of K) its
# own session refuses ("weight zero point must be a scalar...")
ORT_INVALID_PER_CHANNEL |= {("matmul_shapes", "QOperator")}
# ... and between int8 pairs in QDQ form, a ceil_mode pool counting padding is run either way
# by its session: the importer refuses its model and our quantizer refuses too (a test below)
REFUSED_INT8_QDQ = {"ceil_pool", "video_pool"}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "combo"),
    [
        (n, c)
        for n in sorted(MODELS)
        for c in COMBOS
        if (n, c[0]) not in ORT_INVALID
        and not (c[1] and (n, c[0]) in ORT_INVALID_PER_CHANNEL)
        and not (n in REFUSED_INT8_QDQ and c[0] == "QDQ" and c[2] == "QInt8")
    ],
    ids=lambda v: v if isinstance(v, str) else case_ids(v),
)
def test_quantizer_is_quantize_static_compiled(name: str, combo) -> None:
    check_model(name, combo, compiled=True)


def test_a_bias_after_an_untyped_tensor_is_refused_as_by_quantize_static(tmp_path: Path) -> None:
    """A conv with a bias reading GroupNormalization-21's untyped output: ORT's QDQ quantizer
    stops ("Unable to get valid quantization scale"), and so does ours, naming the tensor."""
    logging.getLogger().setLevel(logging.ERROR)
    rng = np.random.default_rng(2)
    model = float_models.untyped_group_norm(rng)
    model.graph.initializer.append(numpy_helper.from_array(float_models.normal(rng, 4), "b2"))
    model.graph.node[2].input.append("b2")
    samples = [{"x": rng.standard_normal((1, 3, 6, 6)).astype(np.float32)} for _ in range(2)]
    config = static_config(("QDQ", False, "QUInt8", False))
    with pytest.raises(ValueError, match="Unable to get valid quantization scale for input 'n'"):
        ort_quantized(model, samples, config, tmp_path)
    with pytest.raises(
        QuantizeError,
        match=r"^bias 'b2' needs a quantized input, and ONNX's "
        r"shape inference gives its input 'n' no type",
    ):
        quantize(model, {"x": (-3.0, 3.0), "c1": (-2.0, 2.0), "y": (-1.0, 1.0)}, config)


def test_a_qoperator_cubic_resize_is_refused_by_name(tmp_path: Path) -> None:
    """ORT's QOperator model resizes the stored values (QResize) by cubic, which neither our
    import nor our quantizer reproduce: both say so by name (the QDQ form runs, above)."""
    logging.getLogger().setLevel(logging.ERROR)
    rng = np.random.default_rng(4)
    model = float_models.bicubic(rng)
    samples = [{"x": rng.standard_normal((1, 3, 6, 6)).astype(np.float32)} for _ in range(2)]
    config = static_config(("QOperator", False, "QUInt8", True))
    theirs, _ = ort_quantized(model, samples, config, tmp_path)
    with pytest.raises(
        OnnxImportError,
        match=r"^node 'resize' \(Resize\): cubic mode is imported for float32 tensors only",
    ):
        import_onnx(theirs)
    with pytest.raises(QuantizeError, match=r"^Resize 'resize': QOperator resizes the stored"):
        quantize(model, {"x": (-3.0, 3.0), "r1": (0.0, 2.0), "up": (0.0, 2.0)}, config)


CLASS_MAP_CASES = [(c, None) for c in COMBOS[::3]] + [
    # ArgMax alone: QDQ quantizes its input (QDQOperatorBase); QOperator keeps it float
    (("QDQ", False, "QUInt8", True), ["ArgMax"]),
    (("QDQ", True, "QInt8", False), ["ArgMax"]),
    (("QOperator", False, "QUInt8", True), ["ArgMax"]),
]


@pytest.mark.parametrize(
    ("combo", "op_types"),
    CLASS_MAP_CASES,
    ids=lambda v: case_ids(v) if isinstance(v, tuple) else str(v),
)
def test_class_maps_are_quantize_statics(combo, op_types) -> None:
    """A segmentation head's ArgMax over the classes: ORT's QOperator ArgMax reads the stored
    values of the QLinearConv before it, its QDQ ArgMax the dequantized ones; ours gives the
    same class map, as does ORT itself. With only ArgMax to quantize, ORT's QDQ quantizer
    gives its input a pair of its own (the class map of the quantized logits)."""
    reduce_range = combo[3]
    config = static_config(combo, op_types_to_quantize=op_types)
    rng = np.random.default_rng(11)
    nodes = [
        onnx.helper.make_node("Conv", ["x", "w"], ["logits"], pads=[1, 1, 1, 1], name="head"),
        onnx.helper.make_node("ArgMax", ["logits"], ["y"], axis=1, keepdims=0, name="classes"),
    ]
    model = float_models.onnx_model(
        nodes, [1, 3, 8, 8], [1, 8, 8], {"w": float_models.normal(rng, 5, 3, 3, 3)}
    )
    model.graph.output[0].type.tensor_type.elem_type = onnx.TensorProto.INT64
    samples = [{"x": rng.standard_normal((1, 3, 8, 8)).astype(np.float32)} for _ in range(4)]
    with tempfile.TemporaryDirectory() as tmp:
        theirs, cache = ort_quantized(model, samples, config, Path(tmp))
        ours = quantize(model, cache, config)
    assert "ArgMax" in [n.op_type for n in theirs.graph.node]
    x = (rng.standard_normal((1, 3, 8, 8)) * 1.5).astype(np.float32)
    (expected,) = run_function(qnn_default(import_onnx(theirs)), {"x": x})
    (literal,) = compile_module(import_onnx(theirs))(x=x)
    (result,) = compile_module(ours.module)(x=x)
    assert expected.dtype == np.int64 and len(np.unique(expected)) > 1
    assert np.array_equal(literal, expected) and np.array_equal(result, expected)
    if op_types is not None:
        listed = ours.summary.quantized if combo[0] == "QDQ" else ours.summary.left_float
        assert "ArgMax 'classes'" in listed
    if reduce_range:
        (ort,) = run_ort(theirs, {"x": x})
        assert np.array_equal(ort, expected)


@pytest.mark.parametrize("fmt", ["QDQ", "QOperator"])
def test_an_unforced_where_of_float_tensors_is_listed_float(fmt: str) -> None:
    """Without ForceQuantizeNoInputCheck ORT quantizes a Where only when its X and Y are
    quantized already (QDQ) or never (QOperator): here it stays float, and the summary says so."""
    rng = np.random.default_rng(2)
    model = float_models.where_select(rng)
    samples = [{"x": rng.standard_normal((1, 3, 6, 6)).astype(np.float32)} for _ in range(2)]
    config = static_config((fmt, False, "QUInt8", True))
    with tempfile.TemporaryDirectory() as tmp:
        theirs, cache = ort_quantized(model, samples, config, Path(tmp))
        ours = quantize(model, cache, config)
    assert "Where" in [n.op_type for n in theirs.graph.node]  # float in ORT's model too
    assert "Where 'where'" in ours.summary.left_float
    assert "Where 'where'" not in ours.summary.quantized


@pytest.mark.parametrize("fmt", ["QDQ", "QOperator"])
def test_an_unforced_data_movement_of_a_float_tensor_is_listed_float(fmt: str) -> None:
    """Without ForceQuantizeNoInputCheck ORT's QDQDirect8BitOp / QDirect8BitOp quantize a
    Transpose (TopK, Reshape, ...) only when its input is quantized already: the graph input's
    Transpose stays float (the MatMul after it quantizes its output), and the summary says so."""
    rng = np.random.default_rng(4)
    nodes = [
        onnx.helper.make_node("Transpose", ["x"], ["t"], perm=[1, 0], name="turn"),
        onnx.helper.make_node("MatMul", ["t", "w"], ["y"], name="proj"),
    ]
    weights = {"w": (rng.standard_normal((8, 8)) * 0.3).astype(np.float32)}
    model = float_models.onnx_model(nodes, [8, 8], [8, 8], weights)
    samples = [{"x": rng.standard_normal((8, 8)).astype(np.float32)} for _ in range(2)]
    config = static_config((fmt, False, "QUInt8", True))
    with tempfile.TemporaryDirectory() as tmp:
        theirs, cache = ort_quantized(model, samples, config, Path(tmp))
        ours = quantize(model, cache, config)
    (transpose,) = [n for n in theirs.graph.node if n.op_type == "Transpose"]
    assert transpose.input == ["x"]  # float in ORT's model: it reads the graph input itself
    assert "Transpose 'turn'" in ours.summary.left_float
    assert "Transpose 'turn'" not in ours.summary.quantized
    x = rng.standard_normal((8, 8)).astype(np.float32)
    (expected,) = run_function(qnn_default(import_onnx(theirs)), {"x": x})
    (result,) = compile_module(ours.module)(x=x)
    assert np.array_equal(result, expected)


def _f32(value: float) -> np.ndarray:
    """A float32 scalar: ORT's arithmetic on overrides needs numpy's (JSON numbers read as
    float32 in ours)."""
    return np.array(value, np.float32)


# (label, model, combo, TensorQuantOverrides) in the values ORT's own callers pass; ours reads
# the same dict. Each fails without the overrides applied (checked by hand).
_QT = pytest.importorskip("onnxruntime.quantization").QuantType
OVERRIDES = [
    ("activation-range", "resnet_block", ("QDQ", False, "QUInt8", True), {"r1": [{"rmin": _f32(0), "rmax": _f32(2.5)}]}),
    ("activation-given", "resnet_block", ("QDQ", True, "QInt8", True), {"c2": [{"scale": _f32(0.03), "zero_point": np.array(-3, np.int8)}]}),
    ("activation-symmetric", "resnet_block", ("QOperator", False, "QUInt8", True), {"x": [{"symmetric": True}]}),
    ("activation-u16", "resnet_block", ("QDQ", False, "QUInt8", True), {"r1": [{"quant_type": _QT.QUInt16}]}),
    ("weight-range", "resnet_block", ("QDQ", False, "QInt8", True), {"c1_w": [{"rmin": _f32(-0.5), "rmax": _f32(0.5)}]}),
    ("weight-per-tensor-in-per-channel", "resnet_block", ("QDQ", True, "QUInt8", True), {"c2_w": [{"symmetric": True}]}),
    ("weight-empty-dict", "resnet_block", ("QDQ", True, "QInt8", True), {"c1_w": [{}]}),  # per tensor
    ("weight-per-channel-in-per-tensor", "resnet_block", ("QDQ", False, "QUInt8", True), {"c2_w": [{"axis": 0}]}),
    ("weight-channel-ranges", "resnet_block", ("QDQ", True, "QUInt8", True), {"c1_w": [{"axis": 0, "rmin": _f32(-0.3), "rmax": _f32(0.3)}] + [{"rmin": _f32(-0.2 * i), "rmax": _f32(0.1)} for i in range(2, 17)]}),
    # one dict with an axis: channel 0's range in QDQ, every channel's in QOperator
    ("weight-one-channel-dict", "resnet_block", ("QDQ", True, "QInt8", True), {"c1_w": [{"axis": 0, "rmin": _f32(-0.3), "rmax": _f32(0.3)}]}),
    ("weight-one-channel-dict", "resnet_block", ("QOperator", True, "QInt8", True), {"c1_w": [{"axis": 0, "rmin": _f32(-0.3), "rmax": _f32(0.3)}]}),
    ("weight-given", "resnet_block", ("QOperator", False, "QUInt8", True), {"c1_w": [{"scale": _f32(0.004), "zero_point": np.array(0, np.int8)}]}),
    # ORT's own tests give zero points as float32 arrays
    ("weight-float-zero-point", "resnet_block", ("QDQ", False, "QUInt8", True), {"c1_w": [{"scale": _f32(0.02), "zero_point": np.array(4, np.float32)}]}),
    ("weight-reduce-range", "resnet_block", ("QDQ", False, "QUInt8", False), {"c1_w": [{"reduce_range": True}]}),
    # another weight type: QOperator's per-tensor weight then follows ActivationSymmetric
    ("weight-u8", "resnet_block", ("QOperator", False, "QUInt8", True), {"c2_w": [{"quant_type": _QT.QUInt8}]}),
    ("weight-u8", "resnet_block", ("QDQ", False, "QUInt8", True), {"c2_w": [{"quant_type": _QT.QUInt8}]}),
    ("weight-asymmetric-channels", "resnet_block", ("QDQ", True, "QUInt8", True), {"c1_w": [{"axis": 0, "symmetric": False}]}),
    # a bias with overrides is quantized as a weight (int8, no int32)
    ("bias-as-weight", "resnet_block", ("QDQ", False, "QUInt8", True), {"c1_b": [{"symmetric": True}]}),
    ("matmul-weight-channels", "encoder_layer", ("QOperator", True, "QUInt8", True), {"w1": [{"axis": 1, "rmin": _f32(-0.2), "rmax": _f32(0.2)}]}),
    ("constant-addend", "encoder_layer", ("QDQ", False, "QUInt8", True), {"b1": [{"rmin": _f32(-1), "rmax": _f32(1)}]}),
    # a 1-D conv's weight, which the importer rewrites as [O, C, 1, K], known by its name
    ("conv1d-weight-per-tensor", "conv1d", ("QDQ", True, "QUInt8", True), {"w1": [{"symmetric": True}]}),
    ("conv1d-weight-u8", "conv1d", ("QDQ", True, "QUInt8", False), {"w2": [{"quant_type": _QT.QUInt8}]}),
    ("conv1d-dotted-weight-u8", "dotted_conv1d", ("QDQ", False, "QUInt8", True), {"conv1.weight": [{"quant_type": _QT.QUInt8}]}),
    ("conv1d-dotted-weight-per-tensor", "dotted_conv1d", ("QDQ", True, "QUInt8", True), {"conv2.weight": [{"symmetric": True}]}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("label", "name", "combo", "overrides"),
    every_other_slow(OVERRIDES, [f"{label}-{case_ids(combo)}" for label, _, combo, _ in OVERRIDES]),
)
def test_tensor_overrides_are_quantize_statics(label, name, combo, overrides) -> None:
    check_model(
        name, combo, compiled=True, same_groups=True,
        extra_options={"TensorQuantOverrides": overrides},
    )  # fmt: skip


@pytest.mark.parametrize("combo", COMBOS, ids=case_ids)
def test_identity_outputs_are_tensors_of_their_own(combo) -> None:
    """The quantizer's import keeps a float Identity (ORT's quantizers see its output as
    another tensor); QOperator dropped the Relu after one before that."""
    check_model(
        "identity_between", combo, compiled=combo in COMBOS[::4], same_groups=True,
        same_types=combo[0] == "QDQ",
    )  # fmt: skip


# TensorQuantOverrides' `convert` (mixed precision) on `mixed_precision`: (label, combo, overrides,
# more of quantize_static's arguments). r1 is read by conv2 and a Transpose (which shares the
# parameters it reads), g by an AveragePool whose output y shares them; each case fails without
# its rule (checked by hand: the converted bias scale, the shared parameters, the unfolded Relu,
# the float reader `recv_nodes` names, the opset a 16-bit type brings).
CONVERTS = [
    ("some-readers-u16", ("QDQ", False, "QUInt8", True), {"r1": [{"convert": {"quant_type": _QT.QUInt16, "recv_nodes": {"conv2"}}}]}, {}),
    ("all-readers-u16", ("QDQ", True, "QUInt8", True), {"r1": [{"convert": {"quant_type": _QT.QUInt16}}]}, {}),
    ("shared-symmetric-s8", ("QDQ", False, "QUInt8", True), {"r1": [{"convert": {"quant_type": _QT.QInt8, "symmetric": True, "recv_nodes": {"transpose"}}}]}, {}),
    ("given", ("QDQ", False, "QUInt8", True), {"c2": [{"convert": {"quant_type": _QT.QInt8, "scale": _f32(0.05), "zero_point": np.array(3, np.int8)}}]}, {}),
    ("shared-output", ("QDQ", False, "QUInt8", True), {"y": [{"convert": {"quant_type": _QT.QUInt16, "symmetric": True}}]}, {}),
    ("float-reader", ("QDQ", False, "QUInt8", True), {"g": [{"convert": {"quant_type": _QT.QUInt16, "recv_nodes": {"pool"}}}]}, {"nodes_to_exclude": ["pool"]}),
    ("int8-to-uint8", ("QDQ", True, "QInt8", True), {"r1": [{"convert": {"quant_type": _QT.QUInt8, "rmin": _f32(0), "rmax": _f32(3)}}]}, {}),
    ("overridden-type", ("QDQ", False, "QUInt8", True), {"r1": [{"quant_type": _QT.QInt8, "convert": {"quant_type": _QT.QUInt8, "recv_nodes": {"conv2"}}}]}, {}),
    ("opset-21", ("QDQ", False, "QUInt8", True), {"r1": [{"convert": {"quant_type": _QT.QUInt16}}]}, {"nodes_to_exclude": ["pool"]}),
    ("opset-21-ignored", ("QOperator", False, "QUInt8", True), {"r1": [{"convert": {"quant_type": _QT.QUInt16}}]}, {"nodes_to_exclude": ["pool"]}),
    ("opset-21-quant-type", ("QDQ", False, "QUInt8", True), {"g": [{"quant_type": _QT.QUInt16}]}, {"nodes_to_exclude": ["pool"]}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("label", "combo", "overrides", "options"),
    CONVERTS,
    ids=[f"{label}-{case_ids(combo)}" for label, combo, _, _ in CONVERTS],
)
def test_converted_tensors_are_quantize_statics(label, combo, overrides, options) -> None:
    check_model(
        "mixed_precision", combo, compiled=True, same_groups=True,
        same_types=combo[0] == "QDQ", extra_options={"TensorQuantOverrides": overrides},
        **options,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("activation_type", "init_overrides"),
    [("QUInt8", {"r1": "QUInt16"}), ("QUInt16", {"s": "QUInt8", "t": "QUInt8"})],
    ids=["u16-region", "u8-region"],
)
def test_mixed_precision_configs_of_get_qnn_qdq_config_are_quantize_statics(
    tmp_path, activation_type: str, init_overrides: dict
) -> None:
    """ORT's own mixed-precision flow: `get_qnn_qdq_config` with `init_overrides` writes the
    converts at the region's borders (`MixedPrecisionTensorQuantOverridesFixer`); its
    config, passed as it is (QuantType values, sets of node names), is ours too."""
    from onnxruntime.quantization import CalibrationDataReader, QuantType
    from onnxruntime.quantization.execution_providers.qnn import get_qnn_qdq_config

    class NoSamples(CalibrationDataReader):
        def get_next(self):
            return None

    model = MODELS["mixed_precision"](np.random.default_rng(sum(map(ord, "mixed_precision"))))
    onnx.save(model, tmp_path / "float.onnx")
    qnn = get_qnn_qdq_config(
        str(tmp_path / "float.onnx"), NoSamples(), activation_type=QuantType[activation_type],
        weight_type=QuantType.QUInt8,
        init_overrides={k: [{"quant_type": QuantType[v]}] for k, v in init_overrides.items()},
    )  # fmt: skip
    overrides = qnn.extra_options["TensorQuantOverrides"]
    assert any("convert" in dicts[0] for dicts in overrides.values())
    check_model(
        "mixed_precision", ("QDQ", False, activation_type, False), compiled=True,
        same_groups=True, same_types=True, weight_type="QUInt8",
        extra_options=qnn.extra_options, op_types_to_quantize=qnn.op_types_to_quantize,
    )  # fmt: skip


@pytest.mark.parametrize("activation_type", ["QUInt8", "QUInt16"])
@pytest.mark.parametrize("name", ["identity_output", "cast_output"])
def test_graph_output_nodes_stay_readers_as_in_onnxruntime(name: str, activation_type: str):
    """A converted conv output (no quantized reader: its second pair is read by nothing) that
    a last Identity or Cast gives the graph: ORT keeps that node (EliminateIdentity, as the
    input has another reader), so WeightBiasQuantization leaves the conv's float bias float."""
    check_model(
        name, ("QDQ", False, activation_type, True), compiled=True,
        extra_options={
            "QuantizeBias": False,
            "TensorQuantOverrides": {"c1": [{"convert": {"quant_type": _QT.QInt8}}]},
        },
    )  # fmt: skip


def test_converted_tensors_refuse_dedicated_pairs(resnet_cache) -> None:
    """ORT's own refusal: `convert` on a tensor two nodes read, with DedicatedQDQPair."""
    model, cache = resnet_cache
    config = static_config(("QDQ", False, "QUInt8", False))
    config["extra_options"] = {
        "DedicatedQDQPair": True,
        "TensorQuantOverrides": {"x": [{"convert": {"quant_type": "QUInt16"}}]},
    }
    with pytest.raises(ValueError, match="when the `dedicated_qdq_pair` extra_option is enabled"):
        quantize(model, cache, config)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"nowhere": [{"symmetric": True}]}, "Tensor 'nowhere' in TensorQuantOverrides is not present in the model"),
        ({"r1": [{"reduce_range": True}]}, "Option 'reduce_range' is only supported for initializers, not for activation r1"),
        ({"r1": [{"axis": 0}]}, "Tensor 'r1' has per-channel overrides, but is not an initializer"),
        ({"c1_w": [{"axis": 4}]}, "Axis override value is out-of-bounds for tensor c1_w (rank 4)"),
        ({"c1_w": [{"axis": 0}, {}, {}]}, "Incorrect number of channel overrides for tensor c1_w (axis 0), expected 16, but found 3."),
        ({"c2": [{"scale": 0.1, "zero_point": 300}]}, "TensorQuantOverrides for 'c2': zero_point 300 is outside QUInt8 [0, 255]"),
        ({"s": [{"scale": 0.1}]}, "Must provide both 'scale' and 'zero_point' if one of the overrides is provided"),
        ({"c1_w": [{"convert": {"quant_type": "QUInt16"}}]}, "Cannot use 'convert' override for initializers"),
        ({"c1_w": [{"axis": 0, "convert": {"quant_type": "QUInt16"}}]}, "Cannot use 'convert' override for initializers, such as c1_w."),
        ({"s": [{"convert": {"quant_type": "QUInt8"}}]}, "'convert' quant_type must differ from original quant_type (tensor 's')"),
        ({"s": [{"convert": {"symmetric": True}}]}, "'convert' options (tensor 's') must specify a 'quant_type'"),
        ({"s": [{"convert": {"quant_type": "QUInt16", "reduce_range": True}}]}, "Option 'reduce_range' is only supported for initializers, not for activation s"),
        ({"s": [{"convert": {"quant_type": "QUInt16", "scale": 0.1}}]}, "Must provide both 'scale' and 'zero_point' if one of the overrides is provided (tensor 's')"),
        ({"s": [{"convert": {"quant_type": "QUInt16", "scale": 0.1, "zero_point": 0, "rmin": 0.0}}]}, "Tensor override option(s) [rmin] are invalid with 'scale' and 'zero_point' (tensor 's')"),
        ({"s": [{"convert": {"quant_type": "QUInt16", "axis": 1}}]}, "TensorQuantOverrides for 's': unknown 'convert' key 'axis' (valid: quant_type, scale, zero_point, symmetric, rmin, rmax, recv_nodes)"),
        ({"s": [{"convert": {"quant_type": "QUInt16", "recv_nodes": "add"}}]}, "TensorQuantOverrides for 's': 'convert': 'recv_nodes' must be a list of node names, got 'add'"),
        ({"s": [{"rmax": "big"}]}, "TensorQuantOverrides for 's': expected a number, got 'big'"),
        ({"s": [{"scale": 0.1, "zero_point": 2.5}]}, "TensorQuantOverrides for 's': zero_point must be a whole number, got 2.5"),
    ],
)  # fmt: skip
def test_tensor_override_errors_name_the_tensor(resnet_cache, overrides, message) -> None:
    """ORT's own messages where ORT checks the same (`TensorQuantOverridesHelper.is_valid`)."""
    model, cache = resnet_cache
    config = static_config(("QDQ", False, "QUInt8", False))
    config["extra_options"] = {"TensorQuantOverrides": overrides}
    with pytest.raises(ValueError) as info:
        quantize(model, cache, config)
    assert str(info.value) == message


@pytest.fixture(scope="module")
def resnet_cache(tmp_path_factory):
    rng = np.random.default_rng(0)
    model = MODELS["resnet_block"](rng)
    samples = [{"x": rng.standard_normal(input_shape(model)).astype(np.float32)}]
    tmp = tmp_path_factory.mktemp("resnet")
    _, cache = ort_quantized(model, samples, static_config(("QDQ", False, "QUInt8", False)), tmp)
    return model, cache


@pytest.mark.parametrize("op_type", ["Reshape", "Flatten", "Squeeze", "Unsqueeze"])
def test_reshaping_nodes_are_told_apart_as_quantize_static_tells_them(op_type: str) -> None:
    """Flatten, Squeeze and Unsqueeze import as reshapes, but `op_types_to_quantize` names
    them apart (a Flatten is no Reshape): only the named one is quantized, as ORT does."""
    logging.getLogger().setLevel(logging.ERROR)
    rng = np.random.default_rng(2)
    inits = {
        "shape": np.array([1, 36], np.int64), "axes": np.array([0], np.int64),
        "w": (rng.standard_normal((36, 5)) * 0.3).astype(np.float32),
    }  # fmt: skip
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("Reshape", ["r", "shape"], ["a"], name="reshape"),
        helper.make_node("Unsqueeze", ["a", "axes"], ["b"], name="unsqueeze"),
        helper.make_node("Squeeze", ["b", "axes"], ["c"], name="squeeze"),
        helper.make_node("Flatten", ["c"], ["d"], name="flatten"),
        helper.make_node("MatMul", ["d", "w"], ["y"], name="matmul"),
    ]
    graph = helper.make_graph(
        nodes,
        "reshapes",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 3, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(v, k) for k, v in inits.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    config = {
        "quant_format": "QDQ", "per_channel": False, "activation_type": "QUInt8",
        "reduce_range": True, "op_types_to_quantize": [op_type],
        "extra_options": {"ForceQuantizeNoInputCheck": True},
    }  # fmt: skip
    samples = [{"x": rng.standard_normal((1, 4, 3, 3)).astype(np.float32)} for _ in range(3)]
    with tempfile.TemporaryDirectory() as tmp:
        theirs, cache = ort_quantized(model, samples, config, Path(tmp))
        ours = quantize(model, cache, config)
    quantized_by_ort = {n.name for n in theirs.graph.node if n.op_type == "DequantizeLinear"}
    assert ours.summary.quantized == [f"{op_type} '{op_type.lower()}'"] and quantized_by_ort
    x = {"x": rng.standard_normal((1, 4, 3, 3)).astype(np.float32)}
    (expected,) = run_function(qnn_default(import_onnx(theirs)), x)
    (got,) = run_function(qnn_default(ours.module), x)
    assert np.array_equal(got, expected)


@pytest.mark.parametrize("combo", [c for c in COMBOS if not c[1]], ids=case_ids)
def test_a_gemm_bias_of_one_row_is_quantize_statics(combo) -> None:
    """A Gemm's C [1, N] is its int32 bias (before, ours quantized it as an 8-bit constant)."""
    check_model("row_bias_head", combo, compiled=combo in COMBOS[::5], same_types=combo[0] == "QDQ")


def test_a_per_channel_gemm_bias_of_one_row_is_quantized_along_its_row() -> None:
    """Per channel, ORT's QDQ quantizer gives that [1, N] bias an axis-0 DequantizeLinear of N
    scales, which its own unoptimized session refuses; ours quantizes it along axis 1, and the
    model runs (within a few output steps of the float model)."""
    rng = np.random.default_rng(5)
    model = float_models.row_bias_head(rng)
    samples = [{"x": rng.standard_normal((1, 4, 6, 6)).astype(np.float32)} for _ in range(4)]
    config = static_config(("QDQ", True, "QUInt8", False), weight_type="QUInt8")
    with tempfile.TemporaryDirectory() as tmp:
        theirs, cache = ort_quantized(model, samples, config, Path(tmp))
        ours = quantize(model, cache, config)
    with pytest.raises(Exception, match="For per axis quantization"):
        run_ort(theirs, samples[0], "ORT_DISABLE_ALL")
    (bias,) = (
        element_type(op.input.type)
        for op in ours.module.walk()
        if isinstance(op, qnn.DequantizeOp) and element_type(op.input.type).storage_width == 32
    )
    assert bias.axis == 1 and len(bias.scales) == 5
    (got,) = compile_module(ours.module)(**samples[0])
    (want,) = run_ort(model, samples[0], "ORT_DISABLE_ALL")
    assert np.abs(got - want).max() < 0.1, np.abs(got - want).max()


@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("combo", COMBOS[::3], ids=case_ids)
def test_a_transpose_node_of_an_initializer_is_quantize_statics(combo, force: bool) -> None:
    """The Transpose node stays a node (with ForceQuantizeNoInputCheck it quantizes its
    initializer as one: reduce_range and all), and so does an Expand to its own shape."""
    options = {"extra_options": {"ForceQuantizeNoInputCheck": True}} if force else {}
    # (QOperator: the importer folds the Transpose of ORT's quantized initializer, one type less)
    same_types = combo[0] == "QDQ"
    check_model("transposed_initializer", combo, compiled=force, same_types=same_types, **options)


@pytest.mark.parametrize("combo", COMBOS[::2], ids=case_ids)
def test_newer_float_ops_between_quantized_convs_are_quantize_statics(combo) -> None:
    check_model("newer_float_ops", combo, compiled=combo in COMBOS[::4], same_groups=True)


@pytest.mark.parametrize("fmt", ["QDQ", "QOperator"])
def test_a_model_left_all_float_runs_as_onnxruntimes_float_model(fmt: str) -> None:
    """Every node excluded: quantize_static writes no QuantizeLinear, and ORT runs the model
    as a float one (its plain convs, not the NCHWc ones of its optimized session)."""
    nodes = ["t1", "t2", "conv"]
    check_model("wide_float_conv", (fmt, False, "QUInt8", True), compiled=True,
                nodes_to_exclude=nodes)  # fmt: skip


@pytest.mark.parametrize("fmt", ["QDQ", "QOperator"])
def test_listed_op_types_of_no_quantizer_class_are_quantize_statics(fmt: str) -> None:
    """Sub, Div and Erf named in op_types_to_quantize: ORT's QDQ quantizer gives any listed
    type its generic class (`QDQOperatorBase`: every float input, a constant divisor too, and
    the output get pairs); its QOperator quantizer, with no QLinear op for them, leaves them
    float (`QuantOperatorBase`). Ours quantizes the same tensors: the same outputs."""
    config = static_config((fmt, False, "QUInt8", True), op_types_to_quantize=None)
    config["op_types_to_quantize"] = ["MatMul", "Sub", "Div", "Erf"]
    rng = np.random.default_rng(13)
    nodes = [
        onnx.helper.make_node("MatMul", ["x", "w"], ["m"], name="mm"),
        onnx.helper.make_node("Sub", ["m", "half"], ["s"], name="sub"),
        onnx.helper.make_node("Div", ["s", "three"], ["d"], name="div"),
        onnx.helper.make_node("Erf", ["d"], ["y"], name="erf"),
    ]
    inits = {"w": float_models.normal(rng, 16, 12), "half": np.float32(0.5)}
    inits["three"] = np.float32(3.0)
    model = float_models.onnx_model(nodes, [4, 16], [4, 12], inits)
    samples = [{"x": rng.standard_normal((4, 16)).astype(np.float32)} for _ in range(4)]
    with tempfile.TemporaryDirectory() as tmp:
        theirs, cache = ort_quantized(model, samples, config, Path(tmp))
        ours = quantize(model, cache, config)
    kinds = {n.op_type for n in theirs.graph.node}
    assert ("Sub" in kinds and "Div" in kinds) and (("QLinearMatMul" in kinds) == (fmt != "QDQ"))
    listed = ours.summary.quantized if fmt == "QDQ" else ours.summary.left_float
    assert {"Sub 'sub'", "Div 'div'", "Erf 'erf'"} <= set(listed)
    x = (rng.standard_normal((4, 16)) * 1.5).astype(np.float32)
    (expected,) = run_function(qnn_default(import_onnx(theirs)), {"x": x})
    (result,) = compile_module(ours.module)(x=x)
    assert np.array_equal(result.view(np.uint32), expected.view(np.uint32))


def test_qoperator_4bit_weights_are_quantize_statics() -> None:
    """QOperator with a 4-bit weight type: ORT's QLinearConv takes its per-channel weights as
    int8 whatever the type (a conv net quantizes, as ours does, to the same model), and ORT's
    quantizer fails on a weight it would pack as 4 bits (a per-tensor Gemm's): ours names it."""
    rng = np.random.default_rng(17)
    config = static_config(("QOperator", True, "QUInt8", True), weight_type="QUInt4")
    conv = [onnx.helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1], name="conv")]
    model = float_models.onnx_model(
        conv, [1, 3, 6, 6], [1, 4, 6, 6], {"w": float_models.normal(rng, 4, 3, 3, 3)}
    )
    samples = [{"x": rng.standard_normal((1, 3, 6, 6)).astype(np.float32)} for _ in range(3)]
    with tempfile.TemporaryDirectory() as tmp:
        theirs, cache = ort_quantized(model, samples, config, Path(tmp))
        ours = quantize(model, cache, config)
    x = rng.standard_normal((1, 3, 6, 6)).astype(np.float32)
    (expected,) = run_function(qnn_default(import_onnx(theirs)), {"x": x})
    (result,) = compile_module(ours.module)(x=x)
    assert np.array_equal(result, expected)
    gemm = [onnx.helper.make_node("Gemm", ["x", "w"], ["y"], name="fc")]
    model = float_models.onnx_model(gemm, [2, 8], [2, 4], {"w": float_models.normal(rng, 8, 4)})
    config = static_config(("QOperator", False, "QUInt8", True), weight_type="QInt4")
    samples = [{"x": rng.standard_normal((2, 8)).astype(np.float32)} for _ in range(3)]
    ort_refusal = pytest.raises(RuntimeError, match=r"w_quantized must be 8-bit before packing")
    with tempfile.TemporaryDirectory() as tmp, ort_refusal:
        ort_quantized(model, samples, config, Path(tmp))
    with pytest.raises(QuantizeError, match=r"^Quantized weights for w_quantized must be 8-bit"):
        quantize(model, {"x": (-3.0, 3.0), "y": (-5.0, 5.0)}, config)


@pytest.mark.parametrize(
    "combo",
    [
        pytest.param(("QDQ", False, "QUInt8", True), id="QDQ-pt-QUInt8-rr"),
        pytest.param(
            ("QOperator", True, "QInt8", True), id="QOp-pc-QInt8-rr", marks=pytest.mark.slow
        ),
    ],
)
def test_a_ceil_mode_pool_counting_padding_is_quantize_statics(combo) -> None:
    """ORT's session runs it as QLinearAveragePool, not as the float loop our import of the
    float model reads (sweep 9: up to 41 LSB apart before)."""
    check_model("ceil_pool", combo, compiled=True)


def test_a_ceil_mode_pool_counting_padding_between_int8_qdq_pairs_is_refused_by_name() -> None:
    """ORT may run it either way there (its QDQS8ToU8), and its quantized model is refused by
    the importer; our quantizer refuses it too, naming the node."""
    rng = np.random.default_rng(0)
    model = float_models.ceil_pool(rng)
    samples = [{"x": rng.standard_normal([1, 3, 9, 9]).astype(np.float32)} for _ in range(2)]
    table = calibrate(model, samples, progress=False)
    config = static_config(("QDQ", False, "QInt8", False))
    with pytest.raises(QuantizeError, match=r"AveragePool .pool. between int8 pairs in QDQ form"):
        quantize(model, table, config)


def test_a_float_ceil_mode_pool_of_a_quantized_model_is_onnxruntimes() -> None:
    """Left float (only Conv quantized), ORT's optimized session runs it in its own loop where
    it makes no NCHWc pool of it (12 channels fill no block): as its calibrator does, which the
    importer reproduces (it refused it before: sweep 9)."""
    logging.getLogger().setLevel(logging.ERROR)
    rng = np.random.default_rng(5)
    model = float_models.ceil_pool(rng, channels=12)
    samples = [{"x": rng.standard_normal([1, 3, 9, 9]).astype(np.float32)} for _ in range(2)]
    config = static_config(("QDQ", False, "QUInt8", True), op_types_to_quantize=["Conv"])
    with tempfile.TemporaryDirectory() as tmp:
        theirs, _ = ort_quantized(model, samples, config, Path(tmp))
    assert {"AveragePool", "QuantizeLinear"} <= {node.op_type for node in theirs.graph.node}
    x = rng.standard_normal([1, 3, 9, 9]).astype(np.float32)
    (expected,) = run_ort(theirs, {"x": x})
    (got,) = compile_module(import_onnx(theirs), threads=1)(x)
    assert np.array_equal(got, expected)


@pytest.mark.parametrize(
    "combo",
    [
        pytest.param(("QDQ", True, "QUInt8", True), id="QDQ-pc-QUInt8-rr", marks=pytest.mark.slow),
        pytest.param(("QOperator", False, "QInt8", True), id="QOp-pt-QInt8-rr"),
    ],
)
def test_3d_average_pools_are_quantize_statics(combo) -> None:
    """ORT's session runs them as QLinearAveragePool (sweep 9's follow-up: the float pool
    between the pairs was 1 LSB off on up to 7 % of the outputs)."""
    check_model("video_pool", combo, compiled=True)
