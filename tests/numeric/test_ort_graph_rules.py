"""Rules of ONNX Runtime's graph optimizer that qnn-default mirrors, checked against ORT itself.

- DoubleQDQPairsRemover (`rewrites.double_qdq`): Q → DQ → Q → DQ becomes one pair with the
  intersection of the two ranges; the merged scale and zero point are ORT's, read from the
  model its optimizer writes.
- The QDQ Conv's bias-scale check (`rewrites.fold_qdq`): a Conv whose int32 bias is
  dequantized with scales within 1e-6 + 1% of x_scale · w_scale fuses (the stored integers as
  they are), any other stays the float simulation; a Gemm fuses whatever its bias scale.
  Outputs equal ORT's optimized session to the bit (7-bit weights: no u8 × s8 pair sum
  saturates on any host).
- Int8 activations on x86 (`rewrites.s8_to_u8`, `rewrites.fold_qdq`): ORT retypes an int8
  Q → DQ pair to uint8 only where the DQ has one reader, then its selectors fuse a group only
  on one storage type and never a Conv or MatMul on int8; which groups it fuses is read from
  the graph its optimizer writes, for each op and each of an input and an output read twice.
- NCHWc pools (`qdialect.host_cpu.nchwc_pool`): a quantized model's float AveragePool whose
  channels fill NCHWc blocks is ORT's NCHWc pool, to the bit.
"""

from __future__ import annotations

import itertools
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.dialects.builtin import f32

from qdialect import qnn
from qdialect.onnx_import import import_onnx
from qdialect.qnn.table import UnaryFunction
from qdialect.tensors import element_type
from qdialect.types import UniformQuantizedType
from rewrites.double_qdq import merged_type
from runtime.compiled import compile_module
from runtime.reference import run_function

from .onnxruntime_session import run_ort
from .test_quantize_static import qnn_default


def optimized_graph(model: onnx.ModelProto) -> onnx.GraphProto:
    """The graph ORT's optimizer (all levels, one thread) writes for `model`."""
    with tempfile.TemporaryDirectory() as tmp:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.optimized_model_filepath = str(Path(tmp) / "optimized.onnx")
        ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        return onnx.load(options.optimized_model_filepath).graph


def double_pair(signed: bool, s1, z1, s2, z2) -> onnx.ModelProto:
    dtype = np.int8 if signed else np.uint8
    params = {"s1": np.float32(s1), "z1": dtype(z1), "s2": np.float32(s2), "z2": dtype(z2)}
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s1", "z1"], ["a"]),
        helper.make_node("DequantizeLinear", ["a", "s1", "z1"], ["b"]),
        helper.make_node("QuantizeLinear", ["b", "s2", "z2"], ["c"]),
        helper.make_node("DequantizeLinear", ["c", "s2", "z2"], ["d"]),
        helper.make_node("Relu", ["d"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "double_qdq",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [64])],
        [numpy_helper.from_array(np.array(v), k) for k, v in params.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)


@pytest.mark.parametrize("signed", [False, True], ids=["u8", "s8"])
def test_double_qdq_pairs_merge_as_onnxruntime(signed: bool) -> None:
    rng = np.random.default_rng(7 + signed)
    lo, hi = (-128, 127) if signed else (0, 255)
    spelling = "i8" if signed else "u8"
    for _ in range(24):
        s1, s2 = (np.float32(rng.uniform(0.001, 0.1)) for _ in range(2))
        z1, z2 = (int(rng.integers(lo, hi + 1)) for _ in range(2))
        model = double_pair(signed, s1, z1, s2, z2)
        graph = optimized_graph(model)
        (q,) = [n for n in graph.node if n.op_type == "QuantizeLinear"]
        init = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        zero = int(init[q.input[2]])
        if signed and init[q.input[2]].dtype == np.uint8:  # ORT's QDQS8ToU8 ran after it
            zero -= 128
        ours = merged_type(
            UniformQuantizedType.per_tensor(spelling, f32, float(s1), z1),
            UniformQuantizedType.per_tensor(spelling, f32, float(s2), z2),
        )
        assert ours is not None
        assert (np.float32(ours.scales[0]), ours.zero_points[0]) == (init[q.input[1]], zero)
        x = rng.uniform(-3, 3, 64).astype(np.float32)
        (theirs,) = run_ort(model, {"x": x})
        (fused,) = run_function(qnn_default(import_onnx(model)), {"x": x})
        assert np.array_equal(fused, theirs)


def test_disjoint_double_qdq_pairs_stay() -> None:
    """Ranges that meet in one point: ORT would write a zero scale; both pairs stay."""
    first = UniformQuantizedType.per_tensor("i8", f32, 0.0078125, -128)  # [0, 2]
    second = UniformQuantizedType.per_tensor("i8", f32, 0.05, 127)  # [-12.75, 0]
    assert merged_type(first, second) is None


def qdq_linear(kind: str, sb, bias_zero: int = 0, per_channel: bool = False) -> onnx.ModelProto:
    """DQ(x), DQ(w), DQ(int32 bias with scale `sb`) → Conv or Gemm → Q → DQ, u8 activations,
    7-bit int8 weights (x_scale 0.02, w_scale 0.003, or 0.003..0.006 per channel)."""
    rng = np.random.default_rng(3)
    c = 4
    sw = np.array([0.003, 0.004, 0.005, 0.006] if per_channel else 0.003, np.float32)
    shape = (c, 3, 3, 3) if kind == "Conv" else (c, 8)
    params = {
        "sx": np.float32(0.02),
        "zx": np.uint8(128),
        "wq": rng.integers(-63, 64, shape).astype(np.int8),
        "sw": sw,
        "zw": np.zeros(sw.shape, np.int8),
        "bq": rng.integers(-2000, 2000, c).astype(np.int32),
        "sb": np.array(sb, np.float32),
        "zb": np.full(np.shape(sb), bias_zero, np.int32),
        "sy": np.float32(0.05),
        "zy": np.uint8(128),
    }
    axis = {"axis": 0} if per_channel else {}
    attrs = {"pads": [1, 1, 1, 1]} if kind == "Conv" else {"transB": 1}
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "sx", "zx"], ["xq"]),
        helper.make_node("DequantizeLinear", ["xq", "sx", "zx"], ["xd"]),
        helper.make_node("DequantizeLinear", ["wq", "sw", "zw"], ["wd"], **axis),
        helper.make_node("DequantizeLinear", ["bq", "sb", "zb"], ["bd"], **axis),
        helper.make_node(kind, ["xd", "wd", "bd"], ["c"], **attrs),
        helper.make_node("QuantizeLinear", ["c", "sy", "zy"], ["yq"]),
        helper.make_node("DequantizeLinear", ["yq", "sy", "zy"], ["y"]),
    ]
    x_shape = [1, 3, 6, 6] if kind == "Conv" else [2, 8]
    graph = helper.make_graph(
        nodes,
        "qdq_bias",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in params.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)


def fused_and_matches_ort(model: onnx.ModelProto) -> bool:
    """Whether ours fuses the group into an integer op, after checking that ORT's optimizer
    decides the same and that both give the same outputs."""
    graph = optimized_graph(model)
    ort_fused = any(n.op_type in ("QLinearConv", "QGemm") for n in graph.node)
    module = qnn_default(import_onnx(model))
    linear = [op for op in module.walk() if isinstance(op, qnn.Conv2DOp | qnn.DotOp)]
    ours_fused = all(
        isinstance(element_type(op.results[0].type), UniformQuantizedType) for op in linear
    )
    assert ours_fused == ort_fused
    shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    x = np.random.default_rng(5).uniform(-2.5, 2.5, shape).astype(np.float32)
    (theirs,) = run_ort(model, {"x": x})
    (fused,) = run_function(module, {"x": x})
    assert np.array_equal(fused, theirs), np.abs(fused - theirs).max()
    return ours_fused


PRODUCT = float(np.float32(0.02) * np.float32(0.003))  # x_scale · w_scale


@pytest.mark.parametrize(
    ("factor", "fused"),
    [(1.0, True), (1.009, True), (0.991, True), (1.03, False), (0.97, False), (2.0, False)],
)
def test_conv_bias_scale_decides_fusion_as_onnxruntime(factor: float, fused: bool) -> None:
    """At 6e-5, the tolerance 1e-6 + 1% is 1.6e-6: 2.7% of the product."""
    assert fused_and_matches_ort(qdq_linear("Conv", PRODUCT * factor)) is fused


def test_conv_bias_zero_point_and_per_channel_scales_as_onnxruntime() -> None:
    assert fused_and_matches_ort(qdq_linear("Conv", PRODUCT, bias_zero=1)) is False
    per_channel = np.float32(0.02) * np.array([0.003, 0.004, 0.005, 0.006], np.float32)
    assert fused_and_matches_ort(qdq_linear("Conv", per_channel, per_channel=True)) is True
    one_off = per_channel * np.array([1, 1, 1.05, 1], np.float32)
    assert fused_and_matches_ort(qdq_linear("Conv", one_off, per_channel=True)) is False
    # a per-tensor bias scale with per-channel weights: never fused
    assert fused_and_matches_ort(qdq_linear("Conv", per_channel[0], per_channel=True)) is False


@pytest.mark.parametrize("factor", [1.0, 1.5, 3.0])
def test_gemm_fuses_whatever_its_bias_scale_as_onnxruntime(factor: float) -> None:
    assert fused_and_matches_ort(qdq_linear("Gemm", PRODUCT * factor)) is True


# an op type, the float op qnn-default leaves where it does not fuse the group, and its inputs
SELECTED = {
    "Conv": (qnn.Conv2DOp, [1, 4, 6, 6]),
    "MatMul": (qnn.DotOp, [8, 8]),
    "Gemm": (qnn.DotOp, [8, 8]),
    "GemmWithoutC": (qnn.DotOp, [8, 8]),  # a Gemm still: QGemm takes an int8 input
    "Add": (qnn.AddOp, [1, 4, 6, 6]),
    "Mul": (qnn.MulOp, [1, 4, 6, 6]),
    "Concat": (qnn.ConcatOp, [1, 4, 6, 6]),
    "AveragePool": (qnn.AvgPool2DOp, [1, 4, 6, 6]),
    "GlobalAveragePool": (qnn.AvgPool2DOp, [1, 4, 6, 6]),
    "Softmax": (qnn.SoftmaxOp, [1, 4, 6, 6]),
}


def int8_group(
    op_type: str,
    input_read_twice: bool,
    output_read_twice: bool,
    dtype=np.int8,
    weight_bits: int = 8,
) -> onnx.ModelProto:
    """Q → DQ → `op_type` → Q → DQ on int8 activations (or `dtype`'s; 7-bit int8 weights, or
    int4 ones with `weight_bits` 4; an int32 bias for Conv and Gemm); a Relu reading the
    input's or the output's DQ as well makes that tensor read twice."""
    rng = np.random.default_rng(11)
    shape = SELECTED[op_type][1]
    offset = 0 if np.iinfo(dtype).min < 0 else np.iinfo(dtype).max // 2
    params = {
        "sx": np.float32(0.02),
        "zx": dtype(3 + offset),
        "sy": np.float32(0.03),
        "zy": dtype(-5 + offset),
    }
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "sx", "zx"], ["xq"]),
        helper.make_node("DequantizeLinear", ["xq", "sx", "zx"], ["xd"]),
    ]
    inputs, attrs = ["xd"], {}
    if op_type in ("Conv", "MatMul", "Gemm", "GemmWithoutC"):
        wshape = (4, 4, 3, 3) if op_type == "Conv" else (8, 8)
        params |= {
            "wq": rng.integers(-63, 64, wshape).astype(np.int8),
            "sw": np.float32(0.003),
            "zw": np.int8(0),
            "bq": rng.integers(-2000, 2000, wshape[0]).astype(np.int32),
            "sb": np.float32(0.02) * np.float32(0.003),
            "zb": np.int32(0),
        }
        nodes.append(helper.make_node("DequantizeLinear", ["wq", "sw", "zw"], ["wd"]))
        inputs.append("wd")
        if op_type in ("Conv", "Gemm"):
            nodes.append(helper.make_node("DequantizeLinear", ["bq", "sb", "zb"], ["bd"]))
            inputs.append("bd")
        attrs = {"pads": [1, 1, 1, 1]} if op_type == "Conv" else {}
        if op_type == "GemmWithoutC":
            op_type, attrs = "Gemm", {"transB": 1}
    elif op_type in ("Add", "Mul", "Concat"):
        nodes += [
            helper.make_node("QuantizeLinear", ["x2", "sx", "zx"], ["x2q"]),
            helper.make_node("DequantizeLinear", ["x2q", "sx", "zx"], ["x2d"]),
        ]
        inputs.append("x2d")
        attrs = {"axis": 1} if op_type == "Concat" else {}
    elif op_type == "AveragePool":
        attrs = {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}
    elif op_type == "Softmax":
        attrs = {"axis": -1}
    initializers = [numpy_helper.from_array(np.asarray(v), k) for k, v in params.items()]
    if weight_bits == 4:  # (opset 21's int4 DequantizeLinear)
        (i,) = (i for i, t in enumerate(initializers) if t.name == "wq")
        values = np.clip(params["wq"], -8, 7)
        initializers[i] = helper.make_tensor("wq", TensorProto.INT4, values.shape, values.ravel())
        initializers[[t.name for t in initializers].index("zw")] = helper.make_tensor(
            "zw", TensorProto.INT4, [], [0]
        )
    nodes += [
        helper.make_node(op_type, inputs, ["z"], **attrs),
        helper.make_node("QuantizeLinear", ["z", "sy", "zy"], ["zq"]),
        helper.make_node("DequantizeLinear", ["zq", "sy", "zy"], ["y"]),
    ]
    outputs = ["y"]
    if input_read_twice:
        nodes.append(helper.make_node("Relu", ["xd"], ["r"]))
        outputs.append("r")
    if output_read_twice:
        nodes.append(helper.make_node("Relu", ["y"], ["r2"]))
        outputs.append("r2")
    graph_inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)]
    if "x2d" in inputs:
        graph_inputs.append(helper.make_tensor_value_info("x2", TensorProto.FLOAT, shape))
    graph = helper.make_graph(
        nodes,
        "int8_group",
        graph_inputs,
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs],
        initializers,
    )
    opset = 17 if np.dtype(dtype).itemsize == 1 and weight_bits == 8 else 21  # (16 and 4 bits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)


def fuses_as_onnxruntime(model: onnx.ModelProto, op_type: str) -> None:
    """Ours leaves the group float exactly where ORT's optimizer does, with equal outputs."""
    onnx_type = "Gemm" if op_type == "GemmWithoutC" else op_type
    ort_fused = all(n.op_type != onnx_type for n in optimized_graph(model).node)
    module = qnn_default(import_onnx(model))
    float_op, shape = SELECTED[op_type]
    ours_fused = not any(
        isinstance(op, float_op) and element_type(op.results[0].type) == f32 for op in module.walk()
    )
    assert ours_fused == ort_fused
    rng = np.random.default_rng(5)
    feeds = {i.name: rng.uniform(-2.5, 2.5, shape).astype(np.float32) for i in model.graph.input}
    theirs = run_ort(model, feeds)
    ours = run_function(module, feeds)
    for got, want in zip(ours, theirs, strict=True):
        assert np.array_equal(got, want), np.abs(got - want).max()


@pytest.mark.parametrize(
    ("input_read_twice", "output_read_twice"), itertools.product([0, 1], [0, 1])
)
@pytest.mark.parametrize("op_type", SELECTED)
def test_int8_groups_fuse_as_onnxruntimes_x86_session(
    op_type: str, input_read_twice: int, output_read_twice: int
) -> None:
    model = int8_group(op_type, bool(input_read_twice), bool(output_read_twice))
    fuses_as_onnxruntime(model, op_type)


@pytest.mark.parametrize("dtype", [np.uint16, np.int16], ids=["u16", "s16"])
@pytest.mark.parametrize("op_type", SELECTED)
def test_16bit_groups_stay_float_as_onnxruntime_runs_them(op_type: str, dtype) -> None:
    """ORT's CPU selectors take no 16-bit activation (`allow_16bit` off): every group is the
    float simulation in its optimized session, and in ours."""
    fuses_as_onnxruntime(int8_group(op_type, False, False, dtype), op_type)


@pytest.mark.parametrize("op_type", ["Conv", "MatMul", "Gemm", "GemmWithoutC"])
def test_4bit_weight_groups_stay_float_as_onnxruntime_runs_them(op_type: str) -> None:
    """ORT's CPU selectors take no 4-bit weight (`allow_4bit` off, measured on 1.31.1: a
    Conv, MatMul or Gemm whose weight quantize_static made int4 runs as the float
    simulation): ours too, so a value within float rounding of a .5 step rounds as ORT's."""
    fuses_as_onnxruntime(int8_group(op_type, False, False, np.uint8, weight_bits=4), op_type)


def dequantized_pool(
    op_type: str, channels: int, attrs: dict, then: str | None = None
) -> onnx.ModelProto:
    """Q → DQ → a float AveragePool / GlobalAveragePool (opset 17), and optionally `then`
    reading the pool: a quantized model, run by ORT's optimized session, whose pools no
    QuantizeLinear follows."""
    params = {"s": np.float32(0.03), "z": np.uint8(120)}
    pooled = "p" if then else "y"
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s", "z"], ["xq"]),
        helper.make_node("DequantizeLinear", ["xq", "s", "z"], ["xd"]),
        helper.make_node(op_type, ["xd"], [pooled], **attrs),
    ]
    if then:
        nodes.append(helper.make_node(then, [pooled], ["y"]))
    graph = helper.make_graph(
        nodes,
        "dequantized_pool",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, channels, 14, 14])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in params.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)


POOLS = [
    ("AveragePool", {"kernel_shape": [2, 2], "strides": [2, 2]}),
    ("AveragePool", {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}),
    ("AveragePool", {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "count_include_pad": 1}),
    # not moved to NCHWc behind a DequantizeLinear: MLAS's global pool, as in a float model
    ("GlobalAveragePool", {}),
]


@pytest.mark.parametrize("channels", [8, 12, 16, 32, 48])
@pytest.mark.parametrize(("op_type", "attrs"), POOLS, ids=lambda v: str(v))
def test_float_pools_of_quantized_models_are_onnxruntimes_nchwc_pools(
    op_type: str, attrs: dict, channels: int
) -> None:
    """ORT's optimized session runs a float AveragePool whose channels fill whole NCHWc blocks
    (16 with AVX512F, else 8) as its NCHWc pool, which sums in row-major order, not MLAS's pool
    kernels; the importer marks those pools of a quantized model so (`host_cpu.nchwc_pool`)."""
    model = dequantized_pool(op_type, channels, attrs)
    x = np.random.default_rng(channels).uniform(-3.5, 3.5, (1, channels, 14, 14))
    feeds = {"x": x.astype(np.float32)}
    (theirs,) = run_ort(model, feeds)
    module = qnn_default(import_onnx(model))
    (ours,) = run_function(module, feeds)
    assert np.array_equal(ours, theirs), np.abs(ours - theirs).max()
    (compiled,) = compile_module(module)(**feeds)
    assert np.array_equal(compiled, theirs)


@pytest.mark.parametrize("channels", [8, 16, 32])
def test_a_global_pool_after_an_nchwc_pool_stays_nchwc(channels: int) -> None:
    """A GlobalAveragePool reading an AveragePool ORT moved to NCHWc blocks stays in them (ORT
    converts it with its producer) and sums as the NCHWc pool does; read from a DequantizeLinear
    it stays MLAS's global pool (above)."""
    pool = {"kernel_shape": [2, 2], "strides": [2, 2]}
    model = dequantized_pool("AveragePool", channels, pool, then="GlobalAveragePool")
    rng = np.random.default_rng(channels)
    for _ in range(8):
        feeds = {"x": rng.uniform(-3.5, 3.5, (1, channels, 14, 14)).astype(np.float32)}
        (theirs,) = run_ort(model, feeds)
        (ours,) = compile_module(qnn_default(import_onnx(model)))(**feeds)
        assert np.array_equal(ours, theirs), np.abs(ours - theirs).max()


# a float Gemm (float initializers: a node left out of quantization) between quantized tensors,
# with data movement on the far side of the QuantizeLinear or of the DequantizeLinear
MOVES_AROUND = {
    "q-backward-reshape": (["Reshape"], []),
    "q-backward-transpose-unsqueeze": (["Transpose", "Unsqueeze"], []),
    "dq-forward-transpose": ([], ["Transpose"]),
    "dq-forward-slice-squeeze": ([], ["Slice", "Squeeze"]),
    # the DequantizeLinear's output a graph output too, or read by a Relu too: ORT's
    # EnsureUniqueDQForNodeUnit gives each reader its own first
    "dq-forward-shared-output": ([], ["Transpose*"]),
    "dq-forward-shared-reader": ([], ["Transpose&"]),
    "flatten-stops-it": (["Flatten"], []),
    "second-reader-stops-it": (["Reshape*"], []),
}


def gemm_between_moves(after: list[str], before: list[str]) -> onnx.ModelProto:
    """Q → DQ → `before` moves → float Gemm → `after` moves → Q → DQ (opset 17). `Reshape*`:
    the Gemm's output is a graph output too, so the Q has no single-reader path back;
    `Transpose*`: the move's input is a graph output too, `Transpose&`: a Relu reads it too."""
    rng = np.random.default_rng(3)
    inits = {
        "sx": np.float32(0.02), "zx": np.uint8(128), "sy": np.float32(0.05), "zy": np.uint8(120),
        "w": (rng.standard_normal((8, 6)) * 0.3).astype(np.float32),
        "b": (rng.standard_normal(6) * 0.1).astype(np.float32),
        "flat": np.array([1, 48], np.int64), "back": np.array([8, 6], np.int64),
        "axes0": np.array([0], np.int64), "axes1": np.array([1], np.int64),
        "start": np.array([0], np.int64), "end": np.array([8], np.int64),
    }  # fmt: skip
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "sx", "zx"], ["xq"]),
        helper.make_node("DequantizeLinear", ["xq", "sx", "zx"], ["t0"]),
    ]
    shape, t, outputs = [8, 8], 0, []
    for op in before:
        inputs, attrs = [f"t{t}"], {}
        if op.endswith("*"):
            outputs.append(f"t{t}")
        elif op.endswith("&"):
            nodes.append(helper.make_node("Relu", [f"t{t}"], ["relu"]))
            outputs.append("relu")
        op = op.rstrip("*&")
        if op == "Transpose":
            attrs = {"perm": [1, 0]}
        elif op == "Slice":
            nodes.append(helper.make_node("Unsqueeze", [f"t{t}", "axes0"], [f"u{t}"]))
            inputs = [f"u{t}", "start", "end", "axes1"]
        elif op == "Squeeze":
            inputs.append("axes0")
        nodes.append(helper.make_node(op, inputs, [f"t{t + 1}"], **attrs))
        t += 1
    nodes.append(helper.make_node("Gemm", [f"t{t}", "w", "b"], ["g0"]))
    g = 0
    for op in after:
        inputs, attrs = [f"g{g}"], {}
        if op.startswith("Reshape"):
            inputs.append("flat")
            if op.endswith("*"):
                outputs.append(f"g{g}")
        elif op == "Transpose":
            attrs = {"perm": [1, 0]}
        elif op == "Unsqueeze":
            inputs.append("axes0")
        nodes.append(helper.make_node(op.rstrip("*"), inputs, [f"g{g + 1}"], **attrs))
        g += 1
    nodes += [
        helper.make_node("QuantizeLinear", [f"g{g}", "sy", "zy"], ["yq"]),
        helper.make_node("DequantizeLinear", ["yq", "sy", "zy"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "moves",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in ["y", *outputs]],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)


@pytest.mark.parametrize("case", sorted(MOVES_AROUND))
def test_qdq_pairs_propagate_across_data_movement_as_onnxruntime(case: str) -> None:
    """ORT's QDQPropagationTransformer moves a QuantizeLinear up across Reshape, Transpose,
    Squeeze/Unsqueeze, Slice and MaxPool (not Flatten), and a DequantizeLinear down: the float
    Gemm then sits between a DQ and a Q, so ORT quantizes its weights (WeightBiasQuantization)
    and fuses it (QGemm); `qnn-default` does the same (`qdq-propagation`)."""
    model = gemm_between_moves(*MOVES_AROUND[case])
    ort_fused = all(n.op_type != "Gemm" for n in optimized_graph(model).node)
    assert ort_fused == (case not in ("flatten-stops-it", "second-reader-stops-it"))
    module = qnn_default(import_onnx(model))
    float_dots = [
        op
        for op in module.walk()
        if isinstance(op, qnn.DotOp) and element_type(op.result.type) == f32
    ]
    assert (not float_dots) == ort_fused
    feeds = {"x": np.random.default_rng(1).uniform(-2.5, 2.5, (8, 8)).astype(np.float32)}
    for got, want in zip(run_function(module, feeds), run_ort(model, feeds), strict=True):
        assert np.array_equal(got, want), np.abs(got - want).max()


MATMUL_ADDS = {
    "2d": ((6, 16), (24,), False),
    "2d-row-bias": ((6, 16), (1, 24), False),
    "3d": ((1, 5, 16), (24,), False),
    "output-read-too": ((1, 5, 16), (24,), True),  # the MatMul's output is a graph output too
    # symbolic, the dimensions left to the arrays fed: a 3-D input of a shape ORT does not
    # know whole is not reshaped, so no Gemm; a 2-D one needs no reshape
    "3d-symbolic": (("batch", 5, 16), (24,), False),
    "2d-symbolic": (("rows", 16), (24,), False),
}


@pytest.mark.parametrize("case", sorted(MATMUL_ADDS))
def test_float_matmul_add_of_a_quantized_model_is_onnxruntimes_gemm(case: str) -> None:
    """ORT's MatMulAddFusion turns a float MatMul whose output only an Add reads into a Gemm
    (3-D inputs reshaped to 2-D), which starts its sums from the bias; a quantized model runs in
    that session, so the importer fuses them too (qdialect/ort_fusions.py)."""
    a_shape, bias_shape, output_too = MATMUL_ADDS[case]
    fed = tuple(6 if isinstance(d, str) else d for d in a_shape)
    rng = np.random.default_rng(len(case))
    inits = {
        "s": np.float32(0.03), "z": np.uint8(128),
        "w": (rng.standard_normal((16, 24)) * 0.3).astype(np.float32),
        "b": rng.standard_normal(bias_shape).astype(np.float32),
    }  # fmt: skip
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s", "z"], ["xq"]),
        helper.make_node("DequantizeLinear", ["xq", "s", "z"], ["xd"]),
        helper.make_node("MatMul", ["xd", "w"], ["m"]),
        helper.make_node("Add", ["m", "b"], ["y"]),
    ]
    outputs = ["y", "m"] if output_too else ["y"]
    graph = helper.make_graph(
        nodes,
        "matmul_add",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, a_shape)],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    ort_gemm = any(n.op_type == "Gemm" for n in optimized_graph(model).node)
    assert ort_gemm == (not output_too and case != "3d-symbolic")
    module = import_onnx(model, input_shapes={"x": fed})
    dots = [op for op in module.walk() if isinstance(op, qnn.DotOp)]
    assert [op.bias_first is not None for op in dots] == [ort_gemm]
    feeds = {"x": rng.uniform(-3.5, 3.5, fed).astype(np.float32)}
    theirs = run_ort(model, feeds)
    compiled = compile_module(qnn_default(module))(**feeds)
    for got, want in zip(compiled, theirs, strict=True):
        assert np.array_equal(got, want), np.abs(got - want).max()


def batch_norm_after(producer: str, channels: int, then: str | None) -> onnx.ModelProto:
    """Q → DQ → a float node ORT holds in NCHWc blocks (a conv whose output a Relu reads too,
    which keeps ConvBNFusion away; an AveragePool) → a float BatchNormalization of constant
    parameters → optionally `then`: a quantized model (ORT's optimized session)."""
    rng = np.random.default_rng(channels)
    inits = {
        "s": np.float32(0.03), "z": np.uint8(120),
        "w": (rng.standard_normal((channels, channels, 3, 3)) * 0.2).astype(np.float32),
        "gamma": (1 + 0.3 * rng.standard_normal(channels)).astype(np.float32),
        "beta": (0.2 * rng.standard_normal(channels)).astype(np.float32),
        "mean": (0.1 * rng.standard_normal(channels)).astype(np.float32),
        "var": (0.5 + rng.random(channels)).astype(np.float32),
    }  # fmt: skip
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s", "z"], ["xq"]),
        helper.make_node("DequantizeLinear", ["xq", "s", "z"], ["xd"]),
    ]
    if producer == "Conv":
        nodes.append(helper.make_node("Conv", ["xd", "w"], ["p"], pads=[1, 1, 1, 1]))
        nodes.append(helper.make_node("Relu", ["p"], ["side"]))
    else:
        nodes.append(helper.make_node("AveragePool", ["xd"], ["p"], kernel_shape=[2, 2]))
    bn = "y" if then is None else "n"
    nodes.append(helper.make_node("BatchNormalization", ["p", "gamma", "beta", "mean", "var"],
                                  [bn], epsilon=1e-3))  # fmt: skip
    if then is not None:
        nodes.append(helper.make_node(then, ["n"], ["y"]))
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)]
    if producer == "Conv":
        outputs.append(helper.make_tensor_value_info("side", TensorProto.FLOAT, None))
    graph = helper.make_graph(
        nodes,
        "batch_norm_after",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, channels, 10, 10])],
        outputs,
        [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)


@pytest.mark.parametrize("then", [None, "GlobalAveragePool", "Relu"])
@pytest.mark.parametrize("producer", ["Conv", "AveragePool"])
@pytest.mark.parametrize("channels", [16, 32])
def test_float_batch_norm_on_an_nchwc_tensor_is_onnxruntimes_depthwise_conv(
    producer: str, then: str | None, channels: int
) -> None:
    """ORT's NchwcTransformer makes a float BatchNormalization of an NCHWc tensor a depthwise
    1x1 NCHWc conv (weight scale / sqrt(var + eps), bias B - mean · weight), which rounds
    otherwise than the BatchNormalization kernel; a GlobalAveragePool after it then reads an
    NCHWc tensor. The importer converts it so; the optimized graph says ORT did."""
    model = batch_norm_after(producer, channels, then)
    assert any(n.name.endswith("_bn_nchwc") for n in optimized_graph(model).node)
    module = qnn_default(import_onnx(model))
    assert not any(isinstance(op, qnn.BatchNormOp) for op in module.walk())
    rng = np.random.default_rng(channels + 1)
    for _ in range(4):
        feeds = {"x": rng.uniform(-3.5, 3.5, (1, channels, 10, 10)).astype(np.float32)}
        theirs = run_ort(model, feeds)
        ours = compile_module(module)(**feeds)
        for a, b in zip(ours, theirs, strict=True):
            assert np.array_equal(a, b), np.abs(a - b).max()


def _projected(pattern: list, weights: dict, width: int = 16, opset: int = 18) -> onnx.ModelProto:
    """x → MatMul (quantize_dynamic's) → `pattern` (nodes reading "h", writing "y"), float."""
    rng = np.random.default_rng(7)
    inits = {
        "w": (rng.standard_normal((width, width)) * 0.3).astype(np.float32),
        "g": (1 + 0.2 * rng.standard_normal(width)).astype(np.float32),
        "b": (0.1 * rng.standard_normal(width)).astype(np.float32),
        "two": np.float32(2), "three": np.float32(3), "eps": np.float32(1e-6),
        "root2": np.float32(np.sqrt(2)), "one": np.float32(1), "half": np.float32(0.5),
        "last": np.array([-1], np.int64), "c": np.float32(0.044715),
        "root2pi": np.float32(np.sqrt(2 / np.pi)), **weights,
    }  # fmt: skip
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"])]
    nodes += [helper.make_node(op, ins, outs, **attrs) for op, ins, outs, attrs in pattern]
    graph = helper.make_graph(
        nodes,
        "projected",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, width])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=9)


RMS = [
    ("Pow", ["h", "two"], ["s0"], {}),
    ("ReduceMean", ["s0", "last"], ["s1"], {}),
    ("Add", ["eps", "s1"], ["s2"], {}),  # epsilon first: read all the same
    ("Sqrt", ["s2"], ["s3"], {}),
    ("Div", ["h", "s3"], ["s4"], {}),
    ("Mul", ["g", "s4"], ["y"], {}),
]
LAYER_NORM = [
    ("ReduceMean", ["h", "last"], ["m"], {}),
    ("Sub", ["h", "m"], ["d"], {}),
    ("Pow", ["d", "two"], ["s0"], {}),
    ("ReduceMean", ["s0", "last"], ["s1"], {}),
    ("Add", ["s1", "eps"], ["s2"], {}),
    ("Sqrt", ["s2"], ["s3"], {}),
    ("Div", ["d", "s3"], ["s4"], {}),
    ("Mul", ["s4", "g"], ["s5"], {}),
    ("Add", ["s5", "b"], ["y"], {}),
]
GELU = [
    ("Div", ["h", "root2"], ["e0"], {}),
    ("Erf", ["e0"], ["e1"], {}),
    ("Add", ["one", "e1"], ["e2"], {}),
]
FAST_GELU = [  # GPT-2's NewGELU as torch exports it
    ("Pow", ["h", "three"], ["f0"], {}),
    ("Mul", ["f0", "c"], ["f1"], {}),
    ("Add", ["h", "f1"], ["f2"], {}),
    ("Mul", ["f2", "root2pi"], ["f3"], {}),
    ("Tanh", ["f3"], ["f4"], {}),
    ("Add", ["f4", "one"], ["f5"], {}),
    ("Mul", ["half", "h"], ["f6"], {}),
    ("Mul", ["f6", "f5"], ["f7"], {}),
    ("Add", ["f7", "b"], ["y"], {}),  # (a GELU giving a graph output is not fused)
]
SUBGRAPHS = {
    "fast-gelu": FAST_GELU,
    "fast-gelu-first-formula": [("Mul", ["h", "c"], ["g0"], {}), ("Mul", ["g0", "h"], ["g1"], {}),
                                ("Add", ["g1", "one"], ["g2"], {}),
                                ("Mul", ["root2pi", "h"], ["g3"], {}),
                                ("Mul", ["g2", "g3"], ["f3"], {}), *FAST_GELU[4:]],
    "fast-gelu-tanh-read-twice": [*FAST_GELU[:-1], ("Add", ["f7", "f4"], ["y"], {})],
    "fast-gelu-graph-output": FAST_GELU[:-2] + [("Mul", ["f6", "f5"], ["y"], {})],
    "rms-norm": RMS,
    # T5 as torch's TorchScript exporter writes it: DivMulFusion, then SimplifiedLayerNormFusion
    "rms-norm-reciprocal": [*RMS[:4], ("Div", ["one", "s3"], ["s4"], {}),
                            ("Mul", ["h", "s4"], ["s5"], {}), ("Mul", ["g", "s5"], ["y"], {})],
    "div-one-mul": [*RMS[:4], ("Div", ["one", "s3"], ["s4"], {}), ("Mul", ["s4", "h"], ["y"], {})],
    "reciprocal-mul": [*RMS[:4], ("Reciprocal", ["s3"], ["s4"], {}),  # no Div node: not fused
                       ("Mul", ["h", "s4"], ["s5"], {}), ("Mul", ["g", "s5"], ["y"], {})],
    "div-two-mul": [*RMS[:4], ("Div", ["two", "s3"], ["s4"], {}), ("Mul", ["s4", "h"], ["y"], {})],
    "rms-norm-cubed": [("Pow", ["h", "three"], ["s0"], {}), *RMS[1:]],  # not 2: stays apart
    "layer-norm": LAYER_NORM,
    "layer-norm-opset-13": LAYER_NORM,
    "layer-norm-epsilon-first": [*LAYER_NORM[:4], ("Add", ["eps", "s1"], ["s2"], {}),
                                 *LAYER_NORM[5:]],  # ε then 1e-5, fused all the same
    "layer-norm-reversed-sub": [LAYER_NORM[0], ("Sub", ["m", "h"], ["d"], {}), *LAYER_NORM[2:]],
    "layer-norm-read-twice": [*LAYER_NORM[:-1], ("Add", ["s5", "b"], ["y0"], {}),
                              ("Add", ["y0", "d"], ["y"], {})],  # the Sub's third reader
    "gelu": [*GELU, ("Mul", ["h", "e2"], ["e3"], {}), ("Mul", ["e3", "half"], ["y"], {})],
    "gelu-half-first": [*GELU, ("Mul", ["half", "h"], ["e3"], {}),
                        ("Mul", ["e2", "e3"], ["y"], {})],  # fmt: skip
    "skip-layer-norm": [("Add", ["h", "x"], ["r"], {}),
                        ("LayerNormalization", ["r", "g", "b"], ["y"], {"epsilon": 1e-6})],
    "skip-layer-norm-bias-first": [("Add", ["h", "b"], ["hb"], {}), ("Add", ["hb", "x"], ["r"], {}),
                                   ("LayerNormalization", ["r", "g", "b"], ["y"], {})],
    "skip-layer-norm-input-bias-first": [("Add", ["x", "b"], ["xb"], {}),
                                         ("Add", ["xb", "h"], ["r"], {}),
                                         ("LayerNormalization", ["r", "g", "b"], ["y"], {})],
    "skip-layer-norm-bias-second": [("Add", ["x", "b"], ["xb"], {}), ("Add", ["h", "xb"], ["r"], {}),
                                    ("LayerNormalization", ["r", "g"], ["y"], {})],
    "skip-layer-norm-read-twice": [("Add", ["h", "x"], ["r"], {}),
                                   ("LayerNormalization", ["r", "g", "b"], ["n"], {}),
                                   ("Add", ["n", "r"], ["y"], {})],  # the Add's second reader
    "skip-spelled-layer-norm": [("Add", ["x", "h"], ["r"], {}),
                                *[(op, ["r" if i == "h" else i for i in ins], outs, attrs)
                                  for op, ins, outs, attrs in LAYER_NORM]],
    "gelu-of-a-mul-node": [("Mul", ["h", "three"], ["h3"], {}),  # ORT takes it for `X · 0.5`
                           ("Div", ["h3", "root2"], ["e0"], {}), *GELU[1:],
                           ("Mul", ["h3", "e2"], ["e3"], {}), ("Mul", ["e3", "half"], ["y"], {})],
    "gelu-read-twice": [*GELU, ("Mul", ["h", "e2"], ["e3"], {}), ("Mul", ["e3", "half"], ["y0"], {}),
                        ("Add", ["y0", "e1"], ["y"], {})],  # the Erf's second reader
}  # fmt: skip


FUSED_KINDS = {
    "LayerNormalization",
    "SimplifiedLayerNormalization",
    "SkipLayerNormalization",
    "Gelu",
    "FastGelu",
}


def _fused_kinds(module) -> set[str]:
    """The ORT kernels of FUSED_KINDS the module's ops stand for."""
    kinds = set()
    for op in module.walk():
        if isinstance(op, qnn.LayerNormOp):
            kinds.add(
                "SimplifiedLayerNormalization" if op.simplified is not None
                else "SkipLayerNormalization" if op.welford is not None
                else "LayerNormalization"
            )  # fmt: skip
        if isinstance(op, qnn.ActivationOp) and op.function_kind is UnaryFunction.GELU:
            kinds.add("Gelu")
        if isinstance(op, qnn.ActivationOp) and op.function_kind is UnaryFunction.GELU_TANH:
            kinds.add("FastGelu")
    return kinds


@pytest.mark.parametrize("name", sorted(SUBGRAPHS))
def test_float_subgraphs_fuse_as_onnxruntimes_session_fuses_them(name: str) -> None:
    """ORT's LayerNormFusion, SimplifiedLayerNormFusion, SkipLayerNormFusion, GeluFusion and
    FastGeluFusion in
    a quantize_dynamic model (the float nodes between its MatMuls): the importer fuses what
    ORT's optimizer fuses (its optimized graph says which) and computes what ORT's session
    computes."""
    from onnxruntime.quantization import QuantType

    from .test_dynamic import ort_dynamic

    model = _projected(SUBGRAPHS[name], {}, opset=13 if name.endswith("13") else 18)
    if name.endswith("13"):  # axes as an attribute before opset 18
        for node in model.graph.node:
            if node.op_type == "ReduceMean":
                del node.input[1:]
                node.attribute.append(helper.make_attribute("axes", [-1]))
    theirs = ort_dynamic(model, weight_type=QuantType.QUInt8, reduce_range=True)
    module = import_onnx(theirs)
    ort_kinds = {n.op_type for n in optimized_graph(theirs).node} & FUSED_KINDS
    assert _fused_kinds(module) == ort_kinds, name
    x = np.random.default_rng(8).standard_normal((1, 8, 16)).astype(np.float32)
    (theirs_out,) = run_ort(theirs, {"x": x})
    (got,) = compile_module(module)(x=x)
    assert np.array_equal(got.view(np.uint32), theirs_out.view(np.uint32)), name


@pytest.mark.parametrize("name", ["rms", "layer_norm"])
def test_a_norm_reading_a_dequantized_embedding_stays_unfused_as_in_onnxruntime(name) -> None:
    """quantize_dynamic stores the embedding as 8-bit and dequantizes the Gather's rows: that
    DequantizeLinear's output, read by the norm's first node and its Div or Sub, is two
    tensors to ORT's fusions (EnsureUniqueDQForNodeUnit gives each reader its own DQ first),
    so ORT does not fuse the norm from X (an RMSNorm stays nodes; a LayerNorm's centred part
    still fuses as an RMSNorm of X - mean); so do we."""
    from .test_dynamic import ort_dynamic

    pattern = RMS if name == "rms" else LAYER_NORM
    model = _projected(pattern, {"table": np.random.default_rng(9).standard_normal((40, 16))})
    model.graph.node[0].CopyFrom(helper.make_node("Gather", ["table", "ids"], ["h"]))
    model.graph.input[0].CopyFrom(helper.make_tensor_value_info("ids", TensorProto.INT64, [1, 8]))
    for init in model.graph.initializer:
        if init.name == "table":
            init.CopyFrom(
                numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float32), "table")
            )
    theirs = ort_dynamic(model)
    ort_kinds = {n.op_type for n in optimized_graph(theirs).node} & FUSED_KINDS
    assert ort_kinds == (set() if name == "rms" else {"SimplifiedLayerNormalization"})
    module = import_onnx(theirs)
    assert _fused_kinds(qnn_default(module)) == ort_kinds
    ids = np.random.default_rng(10).integers(0, 40, (1, 8))
    (theirs_out,) = run_ort(theirs, {"ids": ids})
    (got,) = compile_module(module)(ids=ids)
    assert np.array_equal(got.view(np.uint32), theirs_out.view(np.uint32))


def residual_norms(width: int = 16) -> onnx.ModelProto:
    """x → MatMul → h; LayerNorm(h + a) → y1 and LayerNorm(h + b) → y2, where x and a are
    [batch, seq, width] and b is [batch, len, width]: symbolic, ORT's SkipLayerNormFusion can
    tell h and a apart from h and b only by their dimensions' names."""
    rng = np.random.default_rng(11)
    inits = {
        "w": (rng.standard_normal((width, width)) * 0.3).astype(np.float32),
        "g": (1 + 0.2 * rng.standard_normal(width)).astype(np.float32),
        "beta": (0.1 * rng.standard_normal(width)).astype(np.float32),
    }
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["h"]),
        *(
            node
            for skip, out in (("a", "y1"), ("b", "y2"))
            for node in (
                helper.make_node("Add", ["h", skip], [f"{out}_sum"]),
                helper.make_node("LayerNormalization", [f"{out}_sum", "g", "beta"], [out], axis=-1),
            )
        ),
    ]
    graph = helper.make_graph(
        nodes,
        "residual_norms",
        [
            helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", seq, width])
            for name, seq in (("x", "seq"), ("a", "seq"), ("b", "len"))
        ],
        [helper.make_tensor_value_info(y, TensorProto.FLOAT, None) for y in ("y1", "y2")],
        [numpy_helper.from_array(v, k) for k, v in inits.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)


@pytest.mark.parametrize("overridden", [False, True])
def test_skip_layer_norms_on_symbolic_shapes_are_onnxruntimes(overridden: bool) -> None:
    """A session fed arrays keeps the dimensions symbolic, and ORT fuses h + a (the same
    names) but not h + b into SkipLayerNormalization: so do we, given `input_shapes`. With
    every dimension overridden (our `free_dimensions`) both fuse, in ORT and in ours."""
    from .test_dynamic import ort_dynamic

    theirs = ort_dynamic(residual_norms())
    rng = np.random.default_rng(12)
    feeds = {k: rng.standard_normal((2, 8, 16)).astype(np.float32) for k in ("x", "a", "b")}
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    if overridden:
        for name, size in (("batch", 2), ("seq", 8), ("len", 8)):
            options.add_free_dimension_override_by_name(name, size)
        module = import_onnx(theirs, free_dimensions={"batch": 2, "seq": 8, "len": 8})
    else:
        module = import_onnx(theirs, input_shapes={k: v.shape for k, v in feeds.items()})
    session = ort.InferenceSession(theirs.SerializeToString(), options, ["CPUExecutionProvider"])
    norms = [op for op in module.walk() if isinstance(op, qnn.LayerNormOp)]
    assert [op.welford is not None for op in norms] == [True, overridden]
    got = compile_module(module)(**feeds)
    for a, b in zip(got, session.run(None, feeds), strict=True):
        assert np.array_equal(a.view(np.uint32), b.view(np.uint32))


def test_without_onnxruntime_symbolic_shapes_fuse_as_overridden_ones(monkeypatch) -> None:
    """With no onnxruntime to ask, the importer decides from its static shapes: as ORT's
    session with every dimension overridden (both norms fuse)."""
    from .test_dynamic import ort_dynamic

    theirs = ort_dynamic(residual_norms())
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` fails
    module = import_onnx(theirs, input_shapes={k: (2, 8, 16) for k in ("x", "a", "b")})
    norms = [op for op in module.walk() if isinstance(op, qnn.LayerNormOp)]
    assert [op.welford is not None for op in norms] == [True, True]


def test_our_quantize_dynamic_on_symbolic_shapes_fuses_as_onnxruntimes_session() -> None:
    """Our `quantize_dynamic` of the same float model, its dimensions given by the samples:
    the norms fuse as in ORT's plain session running ORT's quantized model (which stores
    ONNX's inferred shapes: `ort_session_view.quantized_session_fusions`)."""
    from runtime.quantization import quantize

    from .test_dynamic import ort_dynamic

    model = residual_norms()
    rng = np.random.default_rng(13)
    feeds = {k: rng.standard_normal((2, 8, 16)).astype(np.float32) for k in ("x", "a", "b")}
    module = quantize(model, None, {"mode": "dynamic"}, samples=[feeds]).module
    norms = [op for op in module.walk() if isinstance(op, qnn.LayerNormOp)]
    assert [op.welford is not None for op in norms] == [True, False]
    assert "qnn.ort_session_fusions" not in str(module)  # taken by the quantizer
    got = compile_module(module)(**feeds)
    for a, b in zip(got, run_ort(ort_dynamic(model), feeds), strict=True):
        assert np.array_equal(a.view(np.uint32), b.view(np.uint32))


def scaled_matmul(case: str, m: int, k: int) -> onnx.ModelProto:
    """Q → DQ → a float MatMul by a float weight (prepacked) or a float graph input (streamed),
    with a scalar Mul or Div on an input or on the output: a quantized model whose MatMul ORT's
    MatMulScaleFusion makes a FusedMatMul."""
    rng = np.random.default_rng(k + m)
    inits = {
        "s": np.float32(0.03), "z": np.uint8(120),
        "w": (rng.standard_normal((k, 24)) * 0.2).astype(np.float32),
        "root": np.float32(np.sqrt(8)), "tenth": np.float32(0.1), "three": np.float32(3),
    }  # fmt: skip
    node = helper.make_node
    nodes = [
        node("QuantizeLinear", ["x", "s", "z"], ["xq"]),
        node("DequantizeLinear", ["xq", "s", "z"], ["xd"]),
    ]
    weight = "v" if "streamed" in case else "w"  # a float graph input (not a DQ: that pair
    # ORT's QDQ fusion makes a MatMulIntegerToFloat first)
    a = "xd"
    if "input" in case:
        nodes.append(node("Mul", ["tenth", "xd"], ["xs"]))
        a = "xs"
    outputs = ["y"]
    if "output" in case:
        nodes += [node("MatMul", [a, weight], ["mm"]), node("Div", ["mm", "root"], ["y"])]
    else:
        nodes.append(node("MatMul", [a, weight], ["y"]))
    if "shared" in case:  # the scaled input has another reader: the Mul stays for it
        nodes.append(node("Mul", ["xs", "three"], ["y2"]))
        outputs.append("y2")
    graph = helper.make_graph(
        nodes,
        "scaled_matmul",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [m, k])]
        + (
            [helper.make_tensor_value_info("v", TensorProto.FLOAT, [k, 24])]
            if weight == "v"
            else []
        ),
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs],
        [numpy_helper.from_array(np.asarray(v), n) for n, v in inits.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)


@pytest.mark.parametrize("shape", [(4, 300), (1, 64), (1, 600), (7, 40)], ids=str)
@pytest.mark.parametrize(
    "case", ["output", "input", "input-output", "streamed-output", "streamed-input-shared"]
)
def test_a_scaled_float_matmul_is_onnxruntimes_fused_matmul(case: str, shape) -> None:
    """ORT's MatMulScaleFusion: alpha (1/√8, 0.1, both) times each K block's sum, the first
    `acc·α`, the later `fma(acc, α, c)`; and no one-row or one-column kernel with alpha."""
    m, k = shape
    model = scaled_matmul(case, m, k)
    assert "FusedMatMul" in {n.op_type for n in optimized_graph(model).node}
    module = qnn_default(import_onnx(model))
    assert any(isinstance(op, qnn.DotOp) and op.alpha is not None for op in module.walk())
    rng = np.random.default_rng(m * k)
    for _ in range(3):
        feeds = {"x": rng.uniform(-3.5, 3.5, (m, k)).astype(np.float32)}
        if "streamed" in case:
            feeds["v"] = rng.standard_normal((k, 24)).astype(np.float32)
        assert_float_bits_are_onnxruntimes(model, module, feeds)


def assert_float_bits_are_onnxruntimes(model: onnx.ModelProto, module, feeds: dict) -> None:
    """Compiled `module` gives ORT's (optimized) outputs bit for bit, and its reference the
    compiled first output."""
    theirs = run_ort(model, feeds)
    ours = compile_module(module)(**feeds)
    for a, b in zip(ours, theirs, strict=True):
        assert np.array_equal(a.view(np.uint32), b.view(np.uint32))
    (reference,) = run_function(module, feeds)[:1]
    assert np.array_equal(reference.view(np.uint32), ours[0].view(np.uint32))


def scaled_attention_scores(case: str, seq: int, depth: int) -> onnx.ModelProto:
    """Attention's float scores `Q·Kᵀ` of 4 heads (a batched MatMul, B 4-D), Q scaled by a
    scalar Mul (`input`), the scores divided by √8 (`output`), in a model ORT runs optimized
    (a Q/DQ pair on a second output): ORT's MatMulScaleFusion makes it a FusedMatMul. With
    `dequantized`, Q and K are moves of the DequantizeLinear's output: ORT's QDQ fusion makes
    the MatMul a MatMulIntegerToFloat first, and the Div stays apart."""
    heads = 4
    inits = {
        "s": np.float32(0.03), "z": np.uint8(120), "root": np.float32(np.sqrt(8)),
        "tenth": np.float32(0.1), "shape": np.array([1, seq, heads, depth], np.int64),
    }  # fmt: skip
    node = helper.make_node
    nodes = [
        node("QuantizeLinear", ["x", "s", "z"], ["xq"]),
        node("DequantizeLinear", ["xq", "s", "z"], ["x2"]),
        node("Reshape", ["x2" if "dequantized" in case else "x", "shape"], ["r"]),
        node("Transpose", ["r"], ["q"], perm=[0, 2, 1, 3]),
        node("Transpose", ["r"], ["k"], perm=[0, 2, 3, 1]),
    ]
    q = "q"
    if "input" in case:
        nodes.append(node("Mul", ["q", "tenth"], ["qs"]))
        q = "qs"
    if "output" in case:
        nodes += [node("MatMul", [q, "k"], ["mm"]), node("Div", ["mm", "root"], ["y"])]
    else:
        nodes.append(node("MatMul", [q, "k"], ["y"]))
    graph = helper.make_graph(
        nodes,
        "scaled_attention_scores",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, seq, heads * depth])],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in ("y", "x2")],
        [numpy_helper.from_array(np.asarray(v), n) for n, v in inits.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)


@pytest.mark.parametrize("shape", [(17, 12), (9, 300), (1, 64)], ids=str)
@pytest.mark.parametrize("case", ["output", "input", "input-output", "dequantized-output"])
def test_scaled_float_attention_scores_are_onnxruntimes_fused_matmul(case: str, shape) -> None:
    """A float batched MatMul (B 4-D, through the importer's grouped conv) takes ORT's
    MatMulScaleFusion too: alpha times each batch element's K blocks, as the 2-D dot does; of
    two dequantized tensors it is the integer MatMul, then the Div."""
    seq, depth = shape
    model = scaled_attention_scores(case, seq, depth)
    fused = "dequantized" not in case
    assert ("FusedMatMul" in {n.op_type for n in optimized_graph(model).node}) == fused
    module = qnn_default(import_onnx(model))
    scaled = [op for op in module.walk() if isinstance(op, qnn.Conv2DOp) and op.alpha is not None]
    assert bool(scaled) == fused
    rng = np.random.default_rng(seq * depth)
    for _ in range(3):
        feeds = {"x": rng.uniform(-3.5, 3.5, (1, seq, 4 * depth)).astype(np.float32)}
        assert_float_bits_are_onnxruntimes(model, module, feeds)


# (activation node, its attributes or Clip bounds, the QuantizeLinear's scale and zero point)
ACTIVATION_BEFORE_Q = {
    "relu-u8-zp0": ("Relu", (), 0.01, np.uint8(0)),  # removed: QLinearConv
    "relu-u8-zp128": ("Relu", (), 0.01, np.uint8(128)),  # kept: the float FusedConv
    "relu-s8-min": ("Relu", (), 0.01, np.int8(-128)),
    "clip6-inside": ("Clip", (0.0, 6.0), 6.0 / 255, np.uint8(0)),  # the Q range lies within
    "clip6-wider": ("Clip", (0.0, 6.0), 0.03, np.uint8(0)),  # 255 steps reach past 6: kept
}


@pytest.mark.parametrize("case", sorted(ACTIVATION_BEFORE_Q))
def test_a_relu_or_clip_before_a_quantize_goes_as_in_onnxruntime(case: str) -> None:
    """ORT's ReluQuantFusion / ClipQuantFusion: a float Conv left out of quantization, then a
    Relu or Clip, then a QuantizeLinear whose own saturation does the activation's work loses
    the activation, and the conv becomes one QLinearConv (weights quantized by
    WeightBiasQuantization); otherwise it stays a float conv. Ours takes the same form and
    computes ORT's outputs."""
    op_type, bounds, scale, zero = ACTIVATION_BEFORE_Q[case]
    rng = np.random.default_rng(7)
    inits = {
        "sx": np.float32(0.02), "zx": np.uint8(128), "sy": np.float32(scale), "zy": zero,
        "w": (rng.standard_normal((8, 8, 3, 3)) * 0.1).astype(np.float32),
        "b": (rng.standard_normal(8) * 0.1).astype(np.float32),
        **{k: np.float32(v) for k, v in zip(("low", "high"), bounds, strict=False)},
    }  # fmt: skip
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "sx", "zx"], ["xq"]),
        helper.make_node("DequantizeLinear", ["xq", "sx", "zx"], ["xd"]),
        helper.make_node("Conv", ["xd", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node(op_type, ["c", *(["low", "high"] if bounds else [])], ["a"]),
        helper.make_node("QuantizeLinear", ["a", "sy", "zy"], ["yq"]),
        helper.make_node("DequantizeLinear", ["yq", "sy", "zy"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "activation_before_q",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    ort_fused = "QLinearConv" in {n.op_type for n in optimized_graph(model).node}
    assert ort_fused == (case in ("relu-u8-zp0", "relu-s8-min", "clip6-inside"))
    module = qnn_default(import_onnx(model))
    float_convs = [
        op
        for op in module.walk()
        if isinstance(op, qnn.Conv2DOp) and element_type(op.result.type) == f32
    ]
    assert (not float_convs) == ort_fused
    for seed in range(4):
        x = np.random.default_rng(seed).uniform(-2.5, 2.5, (1, 8, 6, 6)).astype(np.float32)
        (ours,) = compile_module(module)(x=x)
        (theirs,) = run_ort(model, {"x": x})
        assert np.array_equal(ours, theirs), np.abs(ours - theirs).max()


def twin_quantizes(returned: bool) -> onnx.ModelProto:
    """DedicatedQDQPair's form: a Conv's output quantized twice into one type, one pair for
    its Concat reader and one for its MaxPool reader (`returned`: the second Q's output is
    also a graph output, which no merge may take away)."""
    rng = np.random.default_rng(3)
    params = {
        "sx": np.float32(0.02), "zx": np.uint8(120), "sy": np.float32(0.05), "zy": np.uint8(110),
        "wq": rng.integers(-60, 60, (4, 4, 3, 3)).astype(np.int8), "sw": np.float32(0.004),
        "zw": np.int8(0),
    }  # fmt: skip
    node = helper.make_node
    nodes = [
        node("QuantizeLinear", ["x", "sx", "zx"], ["xq"]),
        node("DequantizeLinear", ["xq", "sx", "zx"], ["xd"]),
        node("DequantizeLinear", ["wq", "sw", "zw"], ["wd"]),
        node("Conv", ["xd", "wd"], ["c"], pads=[1, 1, 1, 1]),
        node("QuantizeLinear", ["c", "sy", "zy"], ["c1"]),
        node("DequantizeLinear", ["c1", "sy", "zy"], ["d1"]),
        node("QuantizeLinear", ["c", "sy", "zy"], ["c2"]),
        node("DequantizeLinear", ["c2", "sy", "zy"], ["d2"]),
        node("Concat", ["d1", "xd"], ["y1"], axis=1),
        node("MaxPool", ["d2"], ["y2"], kernel_shape=[2, 2], strides=[2, 2]),
    ]
    outputs = ["y1", "y2"] + (["c2"] if returned else [])
    graph = helper.make_graph(
        nodes,
        "twins",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs[:2]]
        + [helper.make_tensor_value_info(o, TensorProto.UINT8, None) for o in outputs[2:]],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in params.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)


@pytest.mark.parametrize("returned", [False, True], ids=["inner", "returned"])
def test_twin_quantizes_merge_as_onnxruntimes_cse_merges_them(returned: bool) -> None:
    """ORT's CommonSubexpressionElimination makes DedicatedQDQPair's two QuantizeLinear nodes
    of one tensor one, before its QDQ fusion: the Conv then has one Q and runs as QLinearConv,
    not as the float simulation; ours too (`merge-equal-quantizes`), with equal outputs."""
    model = twin_quantizes(returned)
    ort_fused = all(n.op_type != "Conv" for n in optimized_graph(model).node)
    module = qnn_default(import_onnx(model))
    ours_fused = not any(
        isinstance(op, qnn.Conv2DOp) and element_type(op.results[0].type) == f32
        for op in module.walk()
    )
    assert ours_fused == ort_fused
    feeds = {"x": np.random.default_rng(6).uniform(-2.5, 2.5, (1, 4, 8, 8)).astype(np.float32)}
    for got, want in zip(run_function(module, feeds), run_ort(model, feeds), strict=True):
        assert np.array_equal(got, want), np.abs(got - want).max()
