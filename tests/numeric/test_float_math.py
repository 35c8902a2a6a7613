"""The float32 ops of qdialect/qnn/float_math.py and qnn.runtime_quantize, imported from ONNX
(Sub, Div, Min, Max, ReduceMin, ReduceMax, Round, Cast, QuantizeLinear with a scale the graph
computes): the reference interpreter equals ONNX's reference evaluator bit for bit on data
full of NaN (with payloads), ±inf, -0.0 and .5 ties, and compiled code equals the reference.
Where ONNX leaves the result open (a reduction's NaN payload, Cast out of range) the test
checks our documented choice instead. One compile per model keeps the default tier short.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator
from xdsl.dialects.builtin import Float32Type

from codegen.c_text import CodegenError
from qdialect.onnx_import import OnnxImportError, import_onnx
from qdialect.storage import storage_bounds
from qdialect.textio import make_context, print_module
from qdialect.types import UniformQuantizedType
from rewrites.mlas_threads import MlasThreadsPass
from runtime.compiled import compile_module
from runtime.reference import kernels as K
from runtime.reference import run_function

from .onnxruntime_session import run_ort

SHAPE = (5, 9)
CASTS = {"u8": TensorProto.UINT8, "i8": TensorProto.INT8, "i16": TensorProto.INT16}
CASTS["i64"] = TensorProto.INT64  # shape arithmetic on run-time tensors (MobileViT)
NAN_PAYLOAD = np.array(0xFFC00123, np.uint32).view(np.float32)


def edge_data(rng, shape) -> np.ndarray:
    """Random values at several magnitudes, then NaN (two payloads), ±inf, ±0.0, .5 ties and
    values beyond the 8/16-bit ranges at random places."""
    x = (rng.standard_normal(shape) * rng.choice([0.3, 3.0, 300.0], shape)).astype(np.float32)
    edges = [np.float32(np.nan), NAN_PAYLOAD, np.inf, -np.inf, 0.0, -0.0, 0.5, -0.5, 1.5, 2.5, -2.5]
    edges += [255.5, 1e6, -3e9, 127.5, -128.5]
    edges = np.array(edges, np.float32)
    flat = x.ravel()
    count = min(len(edges), flat.size)
    flat[rng.choice(flat.size, count, replace=False)] = rng.choice(edges, count, replace=False)
    return flat.reshape(shape)


def _model(nodes, outputs, opset: int, inputs=(("a", SHAPE), ("b", (9,)), ("c", (5, 1)))):
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(n, *(t or [TensorProto.FLOAT]), s) for n, s, *t in inputs],
        [helper.make_tensor_value_info(n, t, None) for n, t in outputs],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=9)


def _reduce(op: str, out: str, axes, keepdims: int, opset: int) -> list[onnx.NodeProto]:
    if opset < 18:
        kwargs = {"axes": axes} if axes is not None else {}
        return [helper.make_node(op, ["a"], [out], keepdims=keepdims, **kwargs)]
    const = helper.make_node(
        "Constant", [], [out + "_axes"], value=numpy_helper.from_array(np.array(axes, np.int64))
    )
    return [const, helper.make_node(op, ["a", out + "_axes"], [out], keepdims=keepdims)]


def float_ops_model(opset: int) -> onnx.ModelProto:
    """Every float op once or twice, with broadcasting, several axes and keepdims both ways."""
    f = TensorProto.FLOAT
    nodes = [
        helper.make_node("Sub", ["a", "b"], ["sub"]),
        helper.make_node("Div", ["a", "c"], ["div"]),
        helper.make_node("Min", ["a", "b", "c"], ["min3"]),
        helper.make_node("Max", ["c", "a"], ["max2"]),
        helper.make_node("Round", ["a"], ["round"]),
        *_reduce("ReduceMin", "rmin_rows", [1], 1, opset),
        *_reduce("ReduceMax", "rmax_cols", [0], 0, opset),
        *_reduce("ReduceMin", "rmin_all", None if opset < 18 else [0, 1], 0, opset),
        *_reduce("ReduceMax", "rmax_neg", [-1, 0], 1, opset),
    ]
    nodes += [helper.make_node("Cast", ["a"], [f"cast_{k}"], to=t) for k, t in CASTS.items()]
    outputs = [(n, f) for n in ("sub", "div", "min3", "max2", "round")]
    outputs += [(n, f) for n in ("rmin_rows", "rmax_cols", "rmin_all", "rmax_neg")]
    outputs += [(f"cast_{k}", t) for k, t in CASTS.items()]
    return _model(nodes, outputs, opset)


def _check_cast(name: str, x: np.ndarray, got: np.ndarray, want: np.ndarray) -> None:
    """In range: ONNX's truncation; outside (undefined in ONNX): saturated; NaN: 0."""
    kind = name.removeprefix("cast_")
    qmin, qmax = storage_bounds(int(kind[1:]), kind[0] == "i")
    inside = (np.trunc(x) >= qmin) & (np.trunc(x) < float(qmax))
    assert np.array_equal(got[inside], want[inside]), name
    assert (got[x < qmin] == qmin).all() and (got[x > qmax] == qmax).all(), name
    assert (got[np.isnan(x)] == 0).all(), name


@pytest.mark.parametrize("opset", [13, 18])
def test_float_ops_match_onnx_reference(opset: int) -> None:
    rng = np.random.default_rng(opset)
    model = float_ops_model(opset)
    feeds = {"a": edge_data(rng, SHAPE), "b": edge_data(rng, (9,)), "c": edge_data(rng, (5, 1))}
    feeds["c"][0, 0], feeds["c"][1, 0] = 0.0, -0.0  # divisions by ±0
    names = [o.name for o in model.graph.output]
    with np.errstate(all="ignore"):
        expected = dict(zip(names, ReferenceEvaluator(model).run(None, feeds), strict=True))
    module = import_onnx(model)
    reference = run_function(module, feeds)
    compiled = compile_module(module)(**feeds)
    for name, ref, got in zip(names, reference, compiled, strict=True):
        want = np.asarray(expected[name])
        assert got.dtype == ref.dtype and got.tobytes() == ref.tobytes(), name
        assert ref.dtype == want.dtype and ref.shape == want.shape, name
        if name.startswith("cast_"):
            _check_cast(name, feeds["a"], ref, want)
        elif name.startswith("r") and name != "round":  # a NaN's payload is numpy's choice
            assert np.array_equal(np.isnan(ref), np.isnan(want)), name
            quiet = np.array(0x7FC00000, np.uint32)
            assert (ref[np.isnan(ref)].view(np.uint32) == quiet).all(), name
            assert ref[~np.isnan(ref)].tobytes() == want[~np.isnan(want)].tobytes(), name
        else:
            assert ref.tobytes() == want.tobytes(), f"{name}: {ref.ravel()} != {want.ravel()}"
    assert any(np.isnan(feeds["a"]).any(axis=1)) and not np.isnan(reference[5]).all()


RUNTIME_QUANTIZE = """
func.func @main(%x: tensor<75xf32>, %s: tensor<f32>, %zu8: tensor<ui8>, %zi8: tensor<i8>,
                %zu16: tensor<ui16>, %zi16: tensor<i16>)
    -> (tensor<75xui8>, tensor<75xi8>, tensor<75xui16>, tensor<75xi16>) {
  %a = qnn.runtime_quantize %x, %s, %zu8 : tensor<75xf32>, tensor<f32>, tensor<ui8> -> tensor<75xui8>
  %b = qnn.runtime_quantize %x, %s, %zi8 : tensor<75xf32>, tensor<f32>, tensor<i8> -> tensor<75xi8>
  %c = qnn.runtime_quantize %x, %s, %zu16 : tensor<75xf32>, tensor<f32>, tensor<ui16> -> tensor<75xui16>
  %d = qnn.runtime_quantize %x, %s, %zi16 : tensor<75xf32>, tensor<f32>, tensor<i16> -> tensor<75xi16>
  func.return %a, %b, %c, %d : tensor<75xui8>, tensor<75xi8>, tensor<75xui16>, tensor<75xi16>
}
"""
STORAGES = (("u8", np.uint8), ("i8", np.int8), ("u16", np.uint16), ("i16", np.int16))


@pytest.mark.parametrize("scale", [0.25, 0.1, 3.0e-3, 7.5])
def test_runtime_quantize_is_the_static_quantize(scale: float) -> None:
    """Same numbers, same bits as qnn.quantize with the scale and zero point in its type, on
    the AVX2 blocks of 32 and the scalar tail alike (75 elements)."""
    rng = np.random.default_rng(int(scale * 1000))
    s = np.float32(scale)
    ties = (np.arange(-6, 6) + np.float32(0.5)) * s  # exact ties when s is a power of 2
    x = np.concatenate([edge_data(rng, (63,)) * s, ties]).astype(np.float32)
    zeros = [int(rng.integers(*storage_bounds(int(k[1:]), k[0] == "i"))) for k, _ in STORAGES]
    args = [x, np.array(s)] + [np.array(z, d) for z, (_, d) in zip(zeros, STORAGES, strict=True)]
    reference = run_function(RUNTIME_QUANTIZE, args)
    compiled = compile_module(RUNTIME_QUANTIZE)(*args)
    for (storage, dtype), zp, ref, got in zip(STORAGES, zeros, reference, compiled, strict=True):
        qtype = UniformQuantizedType.per_tensor(storage, Float32Type(), float(s), zp)
        static = K.quantize(x, qtype)
        assert ref.dtype == dtype and ref.tobytes() == static.astype(dtype).tobytes(), storage
        assert got.tobytes() == ref.tobytes(), storage


def test_runtime_quantize_zero_scale() -> None:
    """A scale of 0 (an all-zero input in ONNX's expansion of DynamicQuantizeLinear): the
    quotients are ±inf and NaN, which saturate and go to qmin as in every quantize."""
    x = np.array([1.0, -1.0, 0.0, np.nan] * 18 + [2.0, -0.0, -3.0], np.float32)
    args = [x, np.array(0.0, np.float32)] + [np.array(3, d) for _, d in STORAGES]
    reference = run_function(RUNTIME_QUANTIZE, args)
    compiled = compile_module(RUNTIME_QUANTIZE)(*args)
    for (storage, _), ref, got in zip(STORAGES, reference, compiled, strict=True):
        qmin, qmax = storage_bounds(int(storage[1:]), storage[0] == "i")
        assert (ref[x > 0] == qmax).all() and (ref[x < 0] == qmin).all(), storage
        assert (ref[(x == 0) | np.isnan(x)] == qmin).all(), storage  # 0 / 0 is NaN
        assert got.tobytes() == ref.tobytes(), storage


RUNTIME_DEQUANTIZE = """
func.func @main(%a: tensor<37xui8>, %b: tensor<37xi8>, %c: tensor<37xui16>, %d: tensor<37xi16>,
                %s: tensor<f32>, %zu8: tensor<ui8>, %zi8: tensor<i8>, %zu16: tensor<ui16>,
                %zi16: tensor<i16>) -> (tensor<37xf32>, tensor<37xf32>, tensor<37xf32>, tensor<37xf32>) {
  %w = qnn.runtime_dequantize %a, %s, %zu8 : tensor<37xui8>, tensor<f32>, tensor<ui8> -> tensor<37xf32>
  %x = qnn.runtime_dequantize %b, %s, %zi8 : tensor<37xi8>, tensor<f32>, tensor<i8> -> tensor<37xf32>
  %y = qnn.runtime_dequantize %c, %s, %zu16 : tensor<37xui16>, tensor<f32>, tensor<ui16> -> tensor<37xf32>
  %z = qnn.runtime_dequantize %d, %s, %zi16 : tensor<37xi16>, tensor<f32>, tensor<i16> -> tensor<37xf32>
  func.return %w, %x, %y, %z : tensor<37xf32>, tensor<37xf32>, tensor<37xf32>, tensor<37xf32>
}
"""


@pytest.mark.parametrize("scale", [0.25, 3.0e-3, 7.5])
def test_runtime_dequantize_is_the_static_dequantize(scale: float) -> None:
    """qnn.runtime_dequantize gives qnn.dequantize's numbers (`float32(q - zp) * s`) with the
    scale and zero point as run-time values, every storage's full range included."""
    rng = np.random.default_rng(int(scale * 1000))
    s = np.float32(scale)
    data, zeros = [], []
    for storage, dtype in STORAGES:
        lo, hi = storage_bounds(int(storage[1:]), storage[0] == "i")
        q = np.concatenate([[lo, hi], rng.integers(lo, hi + 1, 35)]).astype(dtype)
        data.append(q)
        zeros.append(np.array(rng.integers(lo, hi + 1), dtype))
    args = [*data, np.array(s), *zeros]
    reference = run_function(RUNTIME_DEQUANTIZE, args)
    compiled = compile_module(RUNTIME_DEQUANTIZE)(*args)
    for (storage, _), q, zp, ref, got in zip(
        STORAGES, data, zeros, reference, compiled, strict=True
    ):
        qtype = UniformQuantizedType.per_tensor(storage, Float32Type(), float(s), int(zp))
        static = K.dequantize(q.astype(np.int64), qtype)
        assert ref.dtype == np.float32 and ref.tobytes() == static.tobytes(), storage
        assert got.tobytes() == ref.tobytes(), storage


def test_quantize_linear_with_graph_input_parameters() -> None:
    """QuantizeLinear whose scale (0-d or [1]) is a graph input, with a constant zero point or
    none (uint8, or `output_dtype`), equals ONNX's reference on finite data with ties and
    saturation. (A zero point computed in the graph: ONNX's DynamicQuantizeLinear expansion,
    tests/numeric/test_onnx_backend_nodes.py.)"""
    rng = np.random.default_rng(5)
    i8, u8, f = TensorProto.INT8, TensorProto.UINT8, TensorProto.FLOAT
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s", "z"], ["y_u8"]),
        helper.make_node("QuantizeLinear", ["x", "s1"], ["y_default"]),
        helper.make_node("QuantizeLinear", ["x", "s"], ["y_i8"], output_dtype=i8),
    ]
    inputs = [
        helper.make_tensor_value_info("x", f, [40]),
        helper.make_tensor_value_info("s", f, []),
        helper.make_tensor_value_info("s1", f, [1]),
    ]
    outputs = [
        helper.make_tensor_value_info(n, t, None)
        for n, t in (("y_u8", u8), ("y_default", u8), ("y_i8", i8))
    ]
    zero = numpy_helper.from_array(np.array(rng.integers(0, 256), np.uint8), "z")
    graph = helper.make_graph(nodes, "g", inputs, outputs, [zero])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], ir_version=10)
    scale = np.float32(0.125)
    x = np.concatenate([(np.arange(-10, 10) + 0.5) * scale, rng.standard_normal(20) * 30])
    feeds = {"x": x.astype(np.float32), "s": np.array(scale), "s1": np.array([scale * 3])}
    expected = ReferenceEvaluator(model).run(None, feeds)
    module = import_onnx(model)
    reference = run_function(module, feeds)
    compiled = compile_module(module)(**feeds)
    for want, ref, got in zip(expected, reference, compiled, strict=True):
        assert ref.dtype == want.dtype and ref.tobytes() == want.tobytes()
        assert got.tobytes() == ref.tobytes()


def _refused(nodes, opset: int = 13, inputs=(("a", SHAPE),)) -> str:
    model = _model(nodes, [("y", TensorProto.FLOAT)], opset, inputs)
    with pytest.raises(OnnxImportError) as err:
        import_onnx(model)
    message = str(err.value)
    assert "\n" not in message and message.startswith(("node '", "node #"))
    return message


@pytest.mark.parametrize(
    ("node", "opset", "inputs", "reason"),
    [
        (
            helper.make_node("ReduceMin", ["a"], ["y"], keepdims=0),
            13,
            (("a", SHAPE, TensorProto.FLOAT16),),
            "input 'a' must be FLOAT here, got FLOAT16",
        ),
        (
            helper.make_node("Cast", ["a"], ["y"], to=TensorProto.FLOAT16),
            13,
            (("a", SHAPE),),
            "Cast of float32 to FLOAT16 is not imported (to INT8, UINT8, INT16, UINT16, "
            "INT32, INT64, FLOAT are)",
        ),
        (
            helper.make_node("QuantizeLinear", ["a", "b"], ["y"], axis=0),
            13,
            (("a", SHAPE), ("b", (5,))),
            "y_scale 'b' must be a scalar of f32",
        ),
        (
            helper.make_node("ReduceMean", ["a"], ["y"], axes=[0]),
            13,
            (("a", (17, 260)),),
            "ReduceMean over axes [0] of [17, 260] is not imported (ORT's FastReduceRK starts "
            "from the first row)",
        ),
        (
            helper.make_node("Pow", ["a", "a"], ["y"]),
            13,
            (("a", SHAPE),),
            "Y 'a' must be a constant initializer",
        ),
    ],
    ids=[
        "reduce-float16",
        "cast-float16",
        "quantize-per-axis-scale",
        "mean-large-leading-axis",
        "pow-run-time-exponent",
    ],  # fmt: skip
)
def test_refusals_name_the_reason(node, opset, inputs, reason) -> None:
    assert _refused([node], opset, inputs).endswith(reason)


_SAME = object()


def _single_node_model(node, shape, inits=(), opset=17, output_shape=_SAME) -> onnx.ModelProto:
    out_shape = list(shape) if output_shape is _SAME else output_shape
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
        [numpy_helper.from_array(v, k) for k, v in dict(inits).items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=9)


def _ort(model: onnx.ModelProto, x: np.ndarray, optimize: bool = True) -> np.ndarray:
    import onnxruntime as ort

    options = ort.SessionOptions()
    if not optimize:  # e.g. no LayerNorm fusion of its decomposed form
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    return session.run(None, {"x": x})[0]


def _assert_onnxruntimes_bits(model: onnx.ModelProto, x: np.ndarray, optimize=True) -> None:
    """The compiled code, the reference interpreter and ONNX Runtime agree to the bit."""
    module = import_onnx(model)
    (compiled,) = compile_module(module)(x)
    (reference,) = run_function(module, {"x": x})
    expected = _ort(model, x, optimize)
    assert np.array_equal(reference.view(np.uint32), expected.view(np.uint32))
    assert np.array_equal(compiled.view(np.uint32), expected.view(np.uint32))


def test_erf_is_onnxruntimes_bit_for_bit() -> None:
    """Erf as MLAS's FMA3 kernel computes it (qdialect.activations.erf): every value, NaN, ±inf,
    ±0, subnormals and both sides of the 0.921875 split, in compiled code and the reference."""
    rng = np.random.default_rng(30)
    special = [np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45, -1e-38, 0.921875, -0.921875]
    x = np.concatenate(
        [special, rng.standard_normal(20000) * 4, np.linspace(-10, 10, 10001)]
    ).astype(np.float32)
    model = _single_node_model(helper.make_node("Erf", ["x"], ["y"]), x.shape)
    module = import_onnx(model)
    (compiled,) = compile_module(module)(x)
    (reference,) = run_function(module, {"x": x})
    expected = _ort(model, x)
    assert np.array_equal(compiled.view(np.uint32), reference.view(np.uint32))
    assert np.array_equal(compiled.view(np.uint32), expected.view(np.uint32))


@pytest.mark.parametrize(
    ("shape", "axis", "bias"),
    [
        ((2, 16, 128), -1, True),  # MLAS's kernel, no tail
        ((3, 4, 5, 6), 1, True),  # 120 normalized together over three axes
        ((5, 768), 1, False),  # without a bias: no FMA in the output
        ((64, 13), 1, True),  # a tail of 5: 4 unfused products, then an FMA
        ((64, 43), 1, False),  # a tail of 3: FMAs only
        ((64, 7), 1, True),  # shorter than 8: the scalar Welford kernel (16 rows at once)
        ((16, 3), 1, False),
        ((37, 5), 1, True),  # ... two groups of 16 rows, then 5 alone
        ((9, 1), 1, True),  # one element: 0 · inv + bias
    ],
)
def test_layer_normalization_is_onnxruntimes_bit_for_bit(shape, axis, bias) -> None:
    """Rows of 8 or more in MLAS's AVX2 order, shorter rows in the scalar kernel's (see
    qnn.LayerNormOp): the compiled code, the reference and ONNX Runtime agree to the bit, on
    values with a large mean (the float64 mean and the centred variance matter there)."""
    rng = np.random.default_rng(31)
    normalized = shape[axis:]
    inits = {"g": rng.standard_normal(normalized).astype(np.float32)}
    if bias:
        inits["b"] = rng.standard_normal(normalized).astype(np.float32)
    node = helper.make_node("LayerNormalization", ["x", *inits], ["y"], axis=axis, epsilon=1e-5)
    model = _single_node_model(node, shape, inits)
    x = (rng.standard_normal(shape) * 3 + 100).astype(np.float32)
    _assert_onnxruntimes_bits(model, x)


@pytest.mark.parametrize(
    ("shape", "axis", "outputs"),
    [
        ((2, 16, 128), -1, ["y", "mean", "inv"]),  # MLAS's kernel
        ((64, 13), 1, ["y", "mean", "inv"]),  # ... with a tail
        ((3, 4, 5, 6), 0, ["y", "mean", "inv"]),  # one row of everything
        ((64, 7), 1, ["y", "mean", "inv"]),  # the scalar Welford loop: 1 / its deviation
        ((5, 3), -1, ["y", "mean"]),  # no InvStdDev
        ((6, 9), 1, ["y", "", "inv"]),  # InvStdDev without Mean
    ],
)
def test_layer_normalization_mean_and_inv_std_dev_are_onnxruntimes(shape, axis, outputs) -> None:
    """LayerNormalization's Mean and InvStdDev outputs (`qnn.layer_norm_stats`): the numbers
    of ORT's kernel, compiled and reference, with the leading dimensions and ones after."""
    import onnxruntime as ort

    rng = np.random.default_rng(32)
    inits = {"g": rng.standard_normal(shape[axis:]).astype(np.float32)}
    node = helper.make_node("LayerNormalization", ["x", "g"], outputs, axis=axis, epsilon=1e-3)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in outputs if name],
        [numpy_helper.from_array(v, k) for k, v in inits.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    x = (rng.standard_normal(shape) * 3 + 100).astype(np.float32)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options)
    expected = session.run(None, {"x": x})
    module = import_onnx(model)
    compiled = compile_module(module)(x)
    reference = run_function(module, {"x": x})
    ranked = axis % len(shape)
    assert expected[-1].shape == (*shape[:ranked], *[1] * (len(shape) - ranked))
    for want, got, ref in zip(expected, compiled, reference, strict=True):
        assert got.shape == want.shape
        assert np.array_equal(got.view(np.uint32), want.view(np.uint32))
        assert np.array_equal(ref.view(np.uint32), want.view(np.uint32))


@pytest.mark.parametrize(
    ("shape", "axis"),
    [
        ((2, 8, 768), -1),  # MLAS's kernel, no tail
        ((16, 16), 1),  # the shortest row the kernel takes
        ((64, 29), 1),  # a tail of 5: 4 unfused products, then an FMA
        ((64, 43), 1),  # a tail of 3: FMAs only
        ((64, 15), 1),  # shorter: the scalar loop (16 rows at once)
        ((9, 3), 1),
        ((21, 9), 1),  # ... 16 rows at once, then 5 alone
        ((3, 4, 5, 6), 1),  # 120 normalized together over three axes
    ],
)
def test_simplified_layer_normalization_is_onnxruntimes_bit_for_bit(shape, axis) -> None:
    """ORT's SimplifiedLayerNormalization (RMSNorm, what its optimizer fuses Llama's RMSNorm
    into): rows of 16 or more in MLAS's kernel, shorter ones in the scalar loop."""
    rng = np.random.default_rng(32)
    inits = {"g": rng.standard_normal(shape[axis:]).astype(np.float32)}
    node = helper.make_node(
        "SimplifiedLayerNormalization", ["x", "g"], ["y"], axis=axis, epsilon=1e-6
    )
    model = _single_node_model(node, shape, inits)
    x = (rng.standard_normal(shape) * 3 + 1).astype(np.float32)
    _assert_onnxruntimes_bits(model, x)


@pytest.mark.parametrize(
    ("op_type", "shape", "axes", "opset"),
    [
        ("ReduceMean", (64, 13), [-1], 18),  # rows start off the 16-byte grid: lead, packets, tail
        ("ReduceSum", (7, 768), [1], 13),
        ("ReduceMean", (2, 3, 4, 5), [2, 3], 13),  # a squeeze-and-excitation's spatial mean
        ("ReduceMean", (5, 3), [1], 18),  # no whole packet after the aligned start: in order
        ("ReduceSum", (3, 5), [0, 1], 18),  # everything: one row
        ("ReduceMean", (1, 16, 7, 7), [1], 18),  # a channel mean: ORT's generic loop, in order
        ("ReduceMean", (1, 50, 64), [1], 13),  # a mean over tokens
        ("ReduceSum", (2, 6, 3, 5), [0, 2], 18),  # four alternating runs: in order
        ("ReduceSum", (16, 40), [0], 18),  # [R, K] below FastReduceRK's sizes: in order
        ("ReduceSum", (3, 4, 10), [0, 2], 18),  # FastReduceRKR: Eigen's block sums, in order
        ("ReduceMean", (2, 8, 5, 5), [0, 2, 3], 18),
        ("ReduceSum", (3, 2, 2), [1], 18),  # FastReduceKRK: MLAS's product by ones (ONNX's case)
        ("ReduceMean", (2, 11, 3, 5), [1], 13),  # blocks of 4, then of 2 and of 1
        ("ReduceSum", (2, 300, 7), [1], 18),  # past MLAS's K stride of 256
    ],
)
def test_sum_and_mean_are_onnxruntimes_bit_for_bit(op_type, shape, axes, opset) -> None:
    """ReduceSum / ReduceMean sum as the loop ORT picks for the axes does (see
    `float_math._sum_path`, qnn.ReduceOp): compiled, reference and ONNX Runtime agree to the
    bit."""
    x = (np.random.default_rng(41).standard_normal(shape) * 3 + 1).astype(np.float32)
    as_input = opset >= 18 or op_type == "ReduceSum"
    inits = {"axes": np.array(axes, np.int64)} if as_input else {}
    extra = {} if as_input else {"axes": axes}
    node = helper.make_node(op_type, ["x", *inits], ["y"], keepdims=1, **extra)
    model = _single_node_model(node, shape, inits, opset, output_shape=None)
    _assert_onnxruntimes_bits(model, x)


NORM_REDUCTIONS = ["ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSum", "ReduceProd"]


@pytest.mark.parametrize("op_type", NORM_REDUCTIONS)
@pytest.mark.parametrize(
    ("shape", "axes"),
    [
        ((3, 37), None),  # every axis: Eigen's sum of the whole buffer
        ((2, 3, 50), [0, 1, 2]),
        ((4, 37), [1]),  # trailing: in order (none of these aggregators has a fast path)
        ((5, 6, 7), [0]),  # leading
        ((3, 4, 5, 6), [1, 3]),  # alternating
        ((2, 9, 11), [-2]),
        ((6, 5), []),  # noop_with_empty_axes: each element alone
    ],
)
def test_norm_reductions_are_onnxruntimes_bit_for_bit(op_type, shape, axes) -> None:
    """ReduceL1, ReduceL2, ReduceSumSquare, ReduceLogSum, ReduceProd (opset 18, axes as an
    input) with ±0, inf and NaN among the values: compiled, reference and ONNX Runtime agree to
    the bit."""
    rng = np.random.default_rng(43)
    x = (rng.standard_normal(shape) * 3).astype(np.float32)
    if op_type == "ReduceProd":  # products of ~1 (no overflow to inf)
        x = (1 + rng.standard_normal(shape) * 0.2).astype(np.float32)
    if op_type == "ReduceLogSum":
        x = np.abs(x)  # (a negative sum's log is a NaN)
    flat = x.reshape(-1)
    if op_type != "ReduceProd":  # (0 · inf would make a second NaN: which one wins is the
        flat[:3] = (0.0, -0.0, 1e-30)  # order's, and numpy's SIMD picks differently)
    if flat.size > 40:
        flat[-2:] = (np.inf, np.nan)
    inits = {"axes": np.array(axes, np.int64)} if axes is not None else {}
    noop = {"noop_with_empty_axes": 1} if axes == [] else {}
    node = helper.make_node(op_type, ["x", *inits], ["y"], keepdims=0, **noop)
    model = _single_node_model(node, shape, inits, 18, output_shape=None)
    _assert_onnxruntimes_bits(model, x, optimize=False)


@pytest.mark.parametrize(
    ("shape", "axis", "scale_shape"),
    [((2, 8, 64), -1, (64,)), ((4, 6, 5), 1, (6, 5)), ((3, 20), -1, (20,)), ((5, 9), 1, (9,))],
)
def test_rms_normalization_is_onnxruntimes_bit_for_bit(shape, axis, scale_shape) -> None:
    """ONNX's RMSNormalization (opset 23) is ORT's SimplifiedLayerNormalization kernel: rows of
    16 or more in MLAS's kernel, shorter ones in the scalar loop."""
    rng = np.random.default_rng(44)
    inits = {"g": rng.standard_normal(scale_shape).astype(np.float32)}
    node = helper.make_node("RMSNormalization", ["x", "g"], ["y"], axis=axis, epsilon=1e-5)
    model = _single_node_model(node, shape, inits, 23)
    x = (rng.standard_normal(shape) * 3 + 1).astype(np.float32)
    _assert_onnxruntimes_bits(model, x, optimize=False)


def test_a_broadcast_rms_normalization_scale_is_refused_by_name() -> None:
    inits = {"g": np.ones((5,), np.float32)}
    node = helper.make_node("RMSNormalization", ["x", "g"], ["y"], axis=1)
    with pytest.raises(
        OnnxImportError, match=r"Scale has shape \[5\], not the normalized \[6, 5\]"
    ):
        import_onnx(_single_node_model(node, (4, 6, 5), inits, 23))


@pytest.mark.parametrize(
    "exponent", [np.array(2.0, np.float32), np.array(3.0, np.float32), np.array([3], np.int64)]
)
def test_pow_by_two_and_three_is_onnxruntimes(exponent: np.ndarray) -> None:
    """ORT squares and cubes in float32 multiplies ((x · x) · x); its powf would round the
    cube otherwise on about a quarter of these values."""
    node = helper.make_node("Pow", ["x", "e"], ["y"])
    model = _single_node_model(node, (64, 48), {"e": exponent}, opset=13)
    x = (np.random.default_rng(8).standard_normal((64, 48)) * 3).astype(np.float32)
    x.flat[:6] = [np.nan, np.inf, -np.inf, -0.0, 1e-20, 3e13]  # NaN, overflow, underflow
    _assert_onnxruntimes_bits(model, x)


@pytest.mark.parametrize(
    "exponent",
    [np.array(0.5, np.float32), np.array(-0.5, np.float32), np.array(2.5, np.float32),
     np.linspace(-3, 3, 48, dtype=np.float32)],
    ids=["sqrt", "rsqrt", "2.5", "per_column"],
)  # fmt: skip
def test_pow_by_another_float_exponent_is_powf_as_onnxruntime(exponent: np.ndarray) -> None:
    """Any other float32 exponent is the C library's powf, as ORT's std::pow on floats (numpy's
    float32 power rounds otherwise)."""
    node = helper.make_node("Pow", ["x", "e"], ["y"])
    model = _single_node_model(node, (64, 48), {"e": exponent}, opset=13)
    x = (np.random.default_rng(9).standard_normal((64, 48)) * 3).astype(np.float32)
    x.flat[:6] = [np.nan, np.inf, -np.inf, -0.0, 1e-20, 3e13]
    _assert_onnxruntimes_bits(model, x)


@pytest.mark.parametrize(
    "exponent",
    [np.int64(5), np.int32(-3), np.int64(13), np.int32(0), np.array([4, -1, 7], np.int64)],
)
def test_pow_by_integer_exponents_is_onnxruntimes(exponent) -> None:
    """ORT raises to integer exponents in double (C's pow), then rounds to float32: a powf
    differs on about half the values at 5; a single 2 or 3 multiplies (above)."""
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.standard_normal(4002) * 3, rng.random(4002) * 10]).astype(np.float32)
    x[:6] = [0.0, -0.0, np.inf, -np.inf, 1e-30, -2.5]
    x = x.reshape(-1, 3)
    node = helper.make_node("Pow", ["x", "e"], ["y"])
    model = _single_node_model(node, x.shape, {"e": np.array(exponent)}, opset=15)
    _assert_onnxruntimes_bits(model, x, optimize=False)


@pytest.mark.parametrize(("stored", "scale"), [(255, 2 / 255), (127, 2 / 127)])
def test_pow_by_a_dequantized_constant_is_onnxruntimes(stored: int, scale: float) -> None:
    """ORT's quantizers quantize a constant exponent a Mul shares (a QDQ model's DequantizeLinear
    of it feeds the Pow); ORT dequantizes it at run time: 2.0000002 is powf, an exact 2 the
    square."""
    nodes = [
        helper.make_node("DequantizeLinear", ["q", "s", "z"], ["e"]),
        helper.make_node("Pow", ["x", "e"], ["y"]),
    ]
    inits = {
        "q": np.array(stored, np.uint8),
        "s": np.array(scale, np.float32),
        "z": np.array(0, np.uint8),
    }
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [64, 48])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(v, k) for k, v in inits.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    x = (np.random.default_rng(10).standard_normal((64, 48)) * 3).astype(np.float32)
    _assert_onnxruntimes_bits(model, x)


def test_pow_by_a_float64_exponent_is_refused_by_name() -> None:
    node = helper.make_node("Pow", ["x", "e"], ["y"])
    model = _single_node_model(node, (2, 3), {"e": np.array([4.0, 5.0, 6.0])})
    with pytest.raises(OnnxImportError, match=r"Pow by an exponent of type float64 is not"):
        import_onnx(model)


def test_constant_pow_folds_as_onnxruntime_computes_it() -> None:
    """An attention's scale, Pow(Constant, Constant) = d ** -0.5, folds with powf: the model's
    output is ORT's to the bit."""
    nodes = [
        helper.make_node(
            "Constant", [], ["d"], value=numpy_helper.from_array(np.array(24.0, np.float32))
        ),
        helper.make_node(
            "Constant", [], ["e"], value=numpy_helper.from_array(np.array(-0.5, np.float32))
        ),
        helper.make_node("Pow", ["d", "e"], ["scale"]),
        helper.make_node("Mul", ["x", "scale"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    x = np.random.default_rng(10).standard_normal((4, 6)).astype(np.float32)
    _assert_onnxruntimes_bits(model, x)
    assert "qnn.binary" not in print_module(import_onnx(model))


@pytest.mark.parametrize("opset", [13, 18])
def test_a_decomposed_layer_norm_is_onnxruntimes_bit_for_bit(opset) -> None:
    """LayerNormalization as exporters write it before opset 17: ReduceMean, Sub, Pow by 2,
    ReduceMean, Add, Sqrt, Div, Mul, Add; each op ORT's float32 steps, so the whole agrees with
    ONNX Runtime (graph optimizations off, as its calibrator runs) to the bit."""
    rng = np.random.default_rng(43)
    inits = {
        "two": np.array(2.0, np.float32),
        "eps": np.array(1e-5, np.float32),
        "g": (rng.standard_normal(96) * 0.1 + 1).astype(np.float32),
        "b": (rng.standard_normal(96) * 0.1).astype(np.float32),
    }
    if opset >= 18:
        inits["ax"] = np.array([-1], np.int64)

    def mean(x: str, y: str):
        if opset >= 18:
            return helper.make_node("ReduceMean", [x, "ax"], [y])
        return helper.make_node("ReduceMean", [x], [y], axes=[-1])

    nodes = [
        mean("x", "mu"),
        helper.make_node("Sub", ["x", "mu"], ["c"]),
        helper.make_node("Pow", ["c", "two"], ["sq"]),
        mean("sq", "var"),
        helper.make_node("Add", ["var", "eps"], ["ve"]),
        helper.make_node("Sqrt", ["ve"], ["sd"]),
        helper.make_node("Div", ["c", "sd"], ["n"]),
        helper.make_node("Mul", ["n", "g"], ["s"]),
        helper.make_node("Add", ["s", "b"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "ln",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16, 96])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16, 96])],
        [numpy_helper.from_array(v, k) for k, v in inits.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=9)
    x = (rng.standard_normal((1, 16, 96)) * 3 + 2).astype(np.float32)
    _assert_onnxruntimes_bits(model, x, optimize=False)


@pytest.mark.parametrize("shape", [(1, 8, 5, 7), (2, 3, 4), (4, 16)])
def test_batch_normalization_is_onnxruntimes_bit_for_bit(shape) -> None:
    """`qnn.batch_norm` computes ONNX Runtime's float32 steps (1/sqrt(var + eps), s = inv·scale,
    t = B - mean·s, x·s + t): the reference, the compiled (lowered) code and ONNX Runtime agree
    to the bit."""
    rng = np.random.default_rng(37)
    channels = shape[1]
    inits = {
        "scale": (rng.standard_normal(channels) * 0.5 + 1).astype(np.float32),
        "B": rng.standard_normal(channels).astype(np.float32),
        "mean": rng.standard_normal(channels).astype(np.float32),
        "var": (rng.random(channels) * 3 + 1e-3).astype(np.float32),
    }
    node = helper.make_node("BatchNormalization", ["x", *inits], ["y"], epsilon=1e-3)
    model = _single_node_model(node, shape, inits)
    x = (rng.standard_normal(shape) * 3).astype(np.float32)
    _assert_onnxruntimes_bits(model, x)


def test_batch_normalization_with_run_time_parameters_is_refused_by_name() -> None:
    """Interpreted, any parameters work; compiled code needs them constant and says so."""
    shape, channels = (1, 4, 3, 3), 4
    node = helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"])
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)]
        + [helper.make_tensor_value_info(n, TensorProto.FLOAT, [channels]) for n in "sbmv"],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)], ir_version=9)
    module = import_onnx(model)
    rng = np.random.default_rng(3)
    feeds = {"x": rng.standard_normal(shape).astype(np.float32)}
    feeds |= {n: (rng.random(channels) + 0.5).astype(np.float32) for n in "sbmv"}
    import onnxruntime as ort

    (expected,) = ort.InferenceSession(model.SerializeToString()).run(None, feeds)
    (reference,) = run_function(module, feeds)
    np.testing.assert_allclose(reference, expected, rtol=1e-6, atol=1e-6)
    with pytest.raises(CodegenError, match=r"'qnn.batch_norm': scale, B, mean and var must be"):
        compile_module(module)


EIGEN_FUNCTIONS = [
    ("Exp", {}),
    ("Log", {}),
    ("Softplus", {}),
    ("Elu", {}),
    ("Elu", {"alpha": 0.3}),
    ("Selu", {}),
    ("Selu", {"alpha": 1.5, "gamma": 2.0}),
    ("Celu", {}),
    ("Celu", {"alpha": 0.7}),
    ("Mish", {}),  # ORT runs ONNX's function body: Softplus, Tanh, Mul
]


@pytest.mark.parametrize(("op_type", "attributes"), EIGEN_FUNCTIONS)
@pytest.mark.parametrize("shape", [(1,), (3,), (6,), (2, 7), (1, 8, 7, 5)])
def test_exp_log_and_their_activations_are_onnxruntimes(op_type, attributes, shape) -> None:
    """Exp (MLAS's kernel), and Log, Softplus, Elu, Selu, Celu (Eigen's SSE packets on all
    but the last size % 4 elements, glibc on those: every length 1..7 of the tail rule), with
    overflow, underflow, ±0, ±inf and NaN: compiled, reference and ORT agree to the bit."""
    x = (np.random.default_rng(len(shape)).standard_normal(shape) * 5).astype(np.float32)
    special = [0.0, -0.0, np.inf, -np.inf, np.nan, 88.8, -87.5, -104.5, 1e-40, 200.0, -200.0]
    count = min(x.size, len(special))
    x.flat[:count] = special[:count]
    if op_type == "Log":
        x = np.abs(x) * np.float32(1e-30 if len(shape) == 2 else 1.0)
    if op_type == "Mish":  # NaN · NaN keeps either payload (the compiler orders the operands)
        x[np.isnan(x)] = 1.0
    node = helper.make_node(op_type, ["x"], ["y"], **attributes)
    _assert_onnxruntimes_bits(_single_node_model(node, shape, opset=18), x, optimize=False)


@pytest.mark.parametrize("op_type", ["Sin", "Cos", "Asin", "Acos", "Atan"])
@pytest.mark.parametrize("size", [1, 3, 7, 20003])
def test_eigen_trig_functions_are_onnxruntimes(op_type: str, size: int) -> None:
    """Sin, Cos, Asin, Acos, Atan: Eigen's SSE packets (huge arguments by Payne-Hanek) and
    glibc on the last size % 4 elements, NaN payloads, ±0, ±inf and |x| past 1 included."""
    rng = np.random.default_rng(54)
    scale = 1.3 if op_type in ("Asin", "Acos") else 3e4
    special = [0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 1.0, -1.0, 0.5, 1e-40, 3e38]
    x = np.concatenate([special, rng.uniform(-scale, scale, size)]).astype(np.float32)[:size]
    node = helper.make_node(op_type, ["x"], ["y"])
    _assert_onnxruntimes_bits(_single_node_model(node, x.shape, opset=18), x, optimize=False)


@pytest.mark.parametrize("op_type", ["Tan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh"])
def test_glibc_functions_are_onnxruntimes(op_type: str) -> None:
    """ORT's Tan, Sinh, Cosh, Asinh, Acosh and Atanh call glibc on every element: 20000 values
    across each function's domain and past it, ±0, ±inf, NaN."""
    rng = np.random.default_rng(51)
    special = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 1e-40, 90.0, -90.0]
    x = np.concatenate([special, rng.uniform(-12, 12, 20000)]).astype(np.float32)
    node = helper.make_node(op_type, ["x"], ["y"])
    _assert_onnxruntimes_bits(_single_node_model(node, x.shape, opset=18), x, optimize=False)


@pytest.mark.parametrize("op_type", ["Floor", "Ceil", "Sign"])
def test_floor_ceil_and_sign_of_run_time_tensors_are_onnxruntimes(op_type: str) -> None:
    """Exact functions, ±0, ±inf, NaN and subnormals included (Sign: +0 for ±0, NaN kept)."""
    special = [0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 1e-45, -1e-45, -0.5, 0.5, 2.5]
    x = (np.random.default_rng(3).standard_normal(64) * 1e4).astype(np.float32)
    x[: len(special)] = special
    node = helper.make_node(op_type, ["x"], ["y"])
    _assert_onnxruntimes_bits(_single_node_model(node, x.shape, opset=13), x, optimize=False)


LRN_CASES = [
    ((1, 8, 5, 5), {"size": 5}),  # AlexNet's and GoogLeNet's: beta 0.75, Eigen's double-word pow
    ((2, 3, 4, 3), {"size": 5, "alpha": 0.5, "beta": 1.0, "bias": 2.0}),  # C < size; 1/scale
    ((1, 6, 3, 3), {"size": 3, "alpha": 0.5, "beta": 2.0, "bias": 0.5}),  # squared
    ((1, 7, 2, 3), {"size": 1, "beta": 4.0}),  # Eigen's generic_pow at an integer exponent
    ((3, 20, 13, 1), {"size": 7, "alpha": 0.01, "beta": 5.5, "bias": 1.0}),  # 1560 % 4 == 0
    ((1, 5, 3, 1), {"size": 3, "beta": 0.3}),  # 15 values: the last 3 through powf
]


@pytest.mark.parametrize(("shape", "attributes"), LRN_CASES)
def test_lrn_is_onnxruntimes_bit_for_bit(shape, attributes) -> None:
    """LRN (`qdialect.lrn`): the running sum of squares, then Eigen's packet pow and glibc's
    powf at the tail, with ±0, ±inf, NaN, squares that overflow and scales that go negative:
    compiled, reference and ORT agree to the bit."""
    rng = np.random.default_rng(sum(shape))
    x = (rng.standard_normal(shape) * 10.0 ** rng.uniform(-3, 3, (1, shape[1], 1, 1))).astype(
        np.float32
    )
    special = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e19, -2e19, 3e38, 1e-40]
    at = np.arange(0, x.size, max(1, x.size // len(special)))[: len(special)]
    x.flat[at] = special[: len(at)]
    node = helper.make_node("LRN", ["x"], ["y"], **attributes)
    model = _single_node_model(node, shape, opset=13)
    module = import_onnx(model)
    (compiled,) = compile_module(module)(x)
    (reference,) = run_function(module, {"x": x})
    (expected,) = run_ort(model, {"x": x}, "ORT_DISABLE_ALL")  # one thread: ORT's last loop
    assert np.array_equal(reference.view(np.uint32), expected.view(np.uint32))  # unsplit
    assert np.array_equal(compiled.view(np.uint32), expected.view(np.uint32))


@pytest.mark.parametrize(
    ("threads", "shape"),
    [(2, (1, 16, 9, 9)), (3, (1, 15, 9, 7))],  # blocks (from 654 values on) of 162 and 158
)
def test_lrn_on_several_threads_is_onnxruntimes(threads: int, shape) -> None:
    """On several intra-op threads ORT cuts LRN's last loop into blocks whose unaligned edges
    take powf (`qdialect.lrn.ort_blocks`); `mlas-threads` writes them (what calibration runs),
    and the module equals ORT's session on as many threads, not its one-thread result."""
    import onnxruntime as ort

    x = np.random.default_rng(threads).standard_normal(shape).astype(np.float32) * 3
    model = _single_node_model(helper.make_node("LRN", ["x"], ["y"], size=5), shape, opset=13)
    module = import_onnx(model)
    MlasThreadsPass(threads).apply(make_context(), module)
    assert f"threads = {threads} : i64" in print_module(module)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.intra_op_num_threads = threads
    (expected,) = ort.InferenceSession(model.SerializeToString(), options).run(None, {"x": x})
    (single,) = run_ort(model, {"x": x}, "ORT_DISABLE_ALL")
    assert not np.array_equal(expected.view(np.uint32), single.view(np.uint32))
    (compiled,) = compile_module(module)(x)
    (reference,) = run_function(module, {"x": x})
    assert np.array_equal(compiled.view(np.uint32), expected.view(np.uint32))
    assert np.array_equal(reference.view(np.uint32), expected.view(np.uint32))


CUBIC_CASES = [
    ("half_pixel", -0.75, 0, None, [1, 2, 5, 7], [1, 2, 12, 10]),  # sizes: ORT's float ratio
    ("pytorch_half_pixel", -0.75, 1, [1.0, 1.0, 1.7, 0.6], None, [1, 1, 6, 9]),
    ("align_corners", -0.5, 0, [1.0, 1.0, 0.8, 2.0], None, [2, 1, 5, 4]),
    ("asymmetric", -0.5, 1, None, [1, 3, 3, 1], [1, 3, 7, 4]),
    ("half_pixel", -0.75, 1, None, [1, 1, 1, 9], [1, 1, 4, 2]),  # one row: every tap clamped
    ("half_pixel_symmetric", -0.75, 0, [1.0, 1.0, 1.3, 0.7], None, [1, 2, 9, 11]),  # in double
]


@pytest.mark.parametrize(("mode", "a", "exclude", "scales", "sizes", "shape"), CUBIC_CASES)
def test_cubic_resize_is_onnxruntimes_bit_for_bit(mode, a, exclude, scales, sizes, shape) -> None:
    """Resize in cubic mode (`qdialect.bicubic`): Keys' coefficients in ORT's float32 steps,
    the columns' divided by their sum first, the rows' after, NaN and ±inf carried as ORT
    carries them: compiled, reference and ORT agree to the bit."""
    rng = np.random.default_rng(len(mode) + int(exclude))
    x = (rng.standard_normal(shape) * 10).astype(np.float32)
    x.flat[[0, x.size // 2, x.size - 1]] = [np.nan, np.inf, -np.inf]
    inits = {"roi": np.array([], np.float32)}
    if scales:
        inputs, inits["scales"] = ["x", "roi", "scales"], np.array(scales, np.float32)
    else:
        inputs, inits["sizes"] = ["x", "roi", "", "sizes"], np.array(sizes, np.int64)
    node = helper.make_node(
        "Resize",
        inputs,
        ["y"],
        mode="cubic",
        coordinate_transformation_mode=mode,
        cubic_coeff_a=a,
        exclude_outside=exclude,
    )
    model = _single_node_model(node, shape, inits, opset=13, output_shape=None)
    module = import_onnx(model)
    (compiled,) = compile_module(module)(x)
    (reference,) = run_function(module, {"x": x})
    (expected,) = run_ort(model, {"x": x}, "ORT_DISABLE_ALL")
    assert "qnn.resize_cubic" in print_module(module)
    assert np.array_equal(reference.view(np.uint32), expected.view(np.uint32))
    assert np.array_equal(compiled.view(np.uint32), expected.view(np.uint32))


@pytest.mark.parametrize("count", [2, 3, 5])
def test_mean_is_the_sum_times_the_reciprocal_as_onnxruntime(count: int) -> None:
    """Mean: the inputs added left to right (one broadcast), times fl(1/n); a division by n
    would round otherwise on about a third of the values."""
    rng = np.random.default_rng(count)
    shapes = [(4, 9)] + [(4, 9) if k % 2 else (9,) for k in range(1, count)]
    inits = {f"m{k}": (rng.standard_normal(s) * 3).astype(np.float32) for k, s in enumerate(shapes)}
    node = helper.make_node("Mean", ["x", *list(inits)[1:]], ["y"])
    model = _single_node_model(node, (4, 9), dict(list(inits.items())[1:]))
    _assert_onnxruntimes_bits(model, (rng.standard_normal((4, 9)) * 3).astype(np.float32))


@pytest.mark.parametrize(
    ("shape", "heads", "rotated", "interleaved", "positions"),
    [
        ((1, 4, 37, 64), 0, 0, 0, True),  # 4-D, whole heads: every pair fused
        ((2, 19, 256), 4, 0, 1, True),  # 3-D, interleaved blocks of 8 pairs
        ((1, 2, 9, 40), 0, 36, 1, True),  # 18 pairs: 16 in blocks, one fused, one not; a tail
        ((1, 2, 5, 24), 0, 20, 0, False),  # caches per token (no position_ids), partial
    ],
)
def test_rotary_embedding_is_onnxruntimes_bit_for_bit(
    shape, heads, rotated, interleaved, positions
) -> None:
    """RotaryEmbedding (opset 23) as ORT's MLAS kernel: fused multiply-adds, the interleaved
    scalar tail unfused, the unrotated part copied."""
    rng = np.random.default_rng(46)
    length = shape[2] if len(shape) == 4 else shape[1]
    size = shape[3] if len(shape) == 4 else shape[2] // heads
    half = (rotated or size) // 2
    angles = (
        rng.uniform(-4, 4, (64, half))
        if positions
        else rng.uniform(-4, 4, (shape[0], length, half))
    )
    inits = {"cos": np.cos(angles).astype(np.float32), "sin": np.sin(angles).astype(np.float32)}
    names = ["x", "cos", "sin"]
    if positions:
        inits["ids"] = rng.integers(0, 64, (shape[0], length)).astype(np.int64)
        names.append("ids")
    attributes = {"interleaved": interleaved, "num_heads": heads, "rotary_embedding_dim": rotated}
    node = helper.make_node("RotaryEmbedding", names, ["y"], **attributes)
    model = _single_node_model(node, shape, inits, 23)
    x = (rng.standard_normal(shape) * 3).astype(np.float32)
    _assert_onnxruntimes_bits(model, x, optimize=False)


def test_col2im_is_onnxruntimes_bit_for_bit() -> None:
    """Col2Im of two images of three channels, strides, dilations and pads: ConvTranspose's
    scatter-add, each image and channel on its own."""
    image, block, strides, dilations, pads = [9, 10], [3, 2], [2, 1], [1, 2], [1, 0, 2, 1]
    spans = [d * (k - 1) + 1 for d, k in zip(dilations, block, strict=True)]
    blocks = [(image[i] + pads[i] + pads[i + 2] - spans[i]) // strides[i] + 1 for i in range(2)]
    shape = (2, 3 * block[0] * block[1], blocks[0] * blocks[1])
    inits = {"image": np.array(image, np.int64), "block": np.array(block, np.int64)}
    node = helper.make_node(
        "Col2Im", ["x", "image", "block"], ["y"], strides=strides, dilations=dilations, pads=pads
    )
    model = _single_node_model(node, shape, inits, 18, output_shape=None)
    x = (np.random.default_rng(47).standard_normal(shape) * 3).astype(np.float32)
    _assert_onnxruntimes_bits(model, x, optimize=False)


@pytest.mark.parametrize("positions", ["per_token", "offset"])
def test_contrib_rotary_embedding_is_onnxruntimes_bit_for_bit(positions: str) -> None:
    """com.microsoft's RotaryEmbedding (what ORT's optimizer writes for LLMs): the same kernel,
    inputs (x, position_ids, cos, sin); one position id is the first token's position."""
    rng = np.random.default_rng(48)
    batch, length, heads, size = 2, 7, 4, 64
    angles = rng.uniform(-4, 4, (32, size // 2))
    inits = {"cos": np.cos(angles).astype(np.float32), "sin": np.sin(angles).astype(np.float32)}
    if positions == "offset":
        inits["ids"] = np.array([5], np.int64)
    else:
        inits["ids"] = rng.integers(0, 32, (batch, length)).astype(np.int64)
    node = helper.make_node(
        "RotaryEmbedding",
        ["x", "ids", "cos", "sin"],
        ["y"],
        domain="com.microsoft",
        num_heads=heads,
    )
    shape = (batch, length, heads * size)
    model = _single_node_model(node, shape, inits)
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    x = (rng.standard_normal(shape) * 3).astype(np.float32)
    _assert_onnxruntimes_bits(model, x, optimize=False)


@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize(("shape", "axis"), [((3, 4, 37), -1), ((5, 9, 3), 0), ((2, 6, 7), 1)])
def test_lp_normalization_is_onnxruntimes_bit_for_bit(p: int, shape, axis: int) -> None:
    """LpNormalization: each vector over its norm summed in order; a zero vector stays 0."""
    rng = np.random.default_rng(49)
    x = (rng.standard_normal(shape) * 3).astype(np.float32)
    np.moveaxis(x, axis, -1)[0, 0] = 0.0  # one vector of zeros
    node = helper.make_node("LpNormalization", ["x"], ["y"], axis=axis, p=p)
    _assert_onnxruntimes_bits(_single_node_model(node, shape, {}, 22), x, optimize=False)


@pytest.mark.parametrize(("exclusive", "reverse"), [(0, 0), (1, 1)])
def test_cumprod_is_onnxruntimes_bit_for_bit(exclusive: int, reverse: int) -> None:
    """CumProd (opset 26): running products in order along the axis, from 1."""
    rng = np.random.default_rng(50)
    shape = (3, 17, 4)
    x = (1 + rng.standard_normal(shape) * 0.3).astype(np.float32)
    inits = {"axis": np.array(1, np.int64)}
    node = helper.make_node("CumProd", ["x", "axis"], ["y"], exclusive=exclusive, reverse=reverse)
    model = _single_node_model(node, shape, inits, 26)
    _assert_onnxruntimes_bits(model, x, optimize=False)


@pytest.mark.parametrize("align_corners", [0, 1])
@pytest.mark.parametrize("padding", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("mode", ["linear", "nearest", "cubic"])
def test_grid_sample_is_onnxruntimes_bit_for_bit(mode: str, padding: str, align_corners) -> None:
    """GridSample (opset 20) of a run-time image at a run-time grid: points inside, on the
    edges, at pixel centres and beyond them; a one-pixel-wide image too (reflection's span 0)."""
    rng = np.random.default_rng(52)
    for shape, out in (((2, 3, 7, 9), (5, 6)), ((1, 2, 4, 1), (3, 4))):
        x = (rng.standard_normal(shape) * 3).astype(np.float32)
        grid = rng.uniform(-1.4, 1.4, (shape[0], *out, 2)).astype(np.float32)
        grid.flat[::5] = rng.choice([-1.0, 0.0, 1.0, 0.5, -0.25], grid.flat[::5].shape)
        node = helper.make_node(
            "GridSample", ["x", "grid"], ["y"], mode=mode, padding_mode=padding,
            align_corners=align_corners,
        )  # fmt: skip
        graph = helper.make_graph(
            [node],
            "g",
            [
                helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape)),
                helper.make_tensor_value_info("grid", TensorProto.FLOAT, list(grid.shape)),
            ],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)], ir_version=9)
        module = import_onnx(model)
        feeds = {"x": x, "grid": grid}
        (compiled,) = compile_module(module)(**feeds)
        (reference,) = run_function(module, feeds)
        (expected,) = run_ort(model, feeds, "ORT_DISABLE_ALL")
        assert np.array_equal(compiled.view(np.uint32), expected.view(np.uint32))
        assert np.array_equal(reference.view(np.uint32), expected.view(np.uint32))


@pytest.mark.parametrize(
    ("op_type", "opset", "scales", "mode"),
    [
        ("Upsample", 9, [1.0, 1.0, 2.0, 3.0], "nearest"),
        ("Upsample", 9, [1.0, 1.0, 1.5, 2.0], "linear"),
        ("Resize", 10, [1.0, 1.0, 0.6, 1.7], "nearest"),  # ceil downsampling, else truncated
        ("Resize", 10, [1.0, 1.0, 2.0, 0.5], "linear"),
    ],
)
def test_upsample_and_resize_10_are_onnxruntimes(op_type, opset, scales, mode) -> None:
    """Upsample and opset 10's Resize (X, scales): asymmetric coordinates and ORT's "simple"
    nearest rounding."""
    shape = (1, 2, 5, 4)
    inits = {"scales": np.array(scales, np.float32)}
    node = helper.make_node(op_type, ["x", "scales"], ["y"], mode=mode)
    model = _single_node_model(node, shape, inits, opset, output_shape=None)
    x = (np.random.default_rng(53).standard_normal(shape) * 3).astype(np.float32)
    _assert_onnxruntimes_bits(model, x, optimize=False)


@pytest.mark.parametrize(("batch_axis", "time_axis"), [(1, 0), (0, 1)])
def test_reverse_sequence_is_onnxruntimes(batch_axis: int, time_axis: int) -> None:
    shape = (5, 4, 3) if batch_axis == 1 else (4, 5, 3)
    inits = {"lens": np.array([5, 1, 0, 3], np.int64)}
    node = helper.make_node(
        "ReverseSequence", ["x", "lens"], ["y"], batch_axis=batch_axis, time_axis=time_axis
    )
    x = np.random.default_rng(55).standard_normal(shape).astype(np.float32)
    _assert_onnxruntimes_bits(_single_node_model(node, shape, inits, 17), x, optimize=False)


def test_max_unpool_is_onnxruntimes() -> None:
    """Values written at their flat indices into the whole output (as MaxPool's Indices count),
    a repeated index taking the last value."""
    shape = (2, 3, 3, 3)
    rng = np.random.default_rng(56)
    inits = {"i": rng.integers(0, 2 * 3 * 36, shape).astype(np.int64)}
    node = helper.make_node("MaxUnpool", ["x", "i"], ["y"], kernel_shape=[2, 2], strides=[2, 2])
    x = rng.standard_normal(shape).astype(np.float32)
    model = _single_node_model(node, shape, inits, 11, output_shape=None)
    _assert_onnxruntimes_bits(model, x, optimize=False)


def test_where_merges_as_onnxruntime_and_trilu_copies() -> None:
    """ORT's Where merges `cond ? x : 0` with `cond ? 0 : y` by `x_sel != 0`: a chosen x of -0
    comes out +0, a chosen y of -0 stays -0 (`qnn.select {merged}`); its Trilu copies, so the
    Trilu the importer writes as a select keeps -0."""
    x = np.array([[-0.0, 1.0, -0.0], [-0.0, np.nan, 2.0], [3.0, -0.0, -0.0]], np.float32)
    inits = {"c": np.array([True, False, True]), "z": np.array([-0.0, -0.0, 5.0], np.float32)}
    where = helper.make_node("Where", ["c", "x", "z"], ["y"])
    _assert_onnxruntimes_bits(_single_node_model(where, x.shape, inits), x, optimize=False)
    trilu = helper.make_node("Trilu", ["x"], ["y"], upper=1)
    _assert_onnxruntimes_bits(_single_node_model(trilu, x.shape, {}, 14), x, optimize=False)


@pytest.mark.parametrize("op_type", ["ReduceMax", "ReduceMin"])
@pytest.mark.parametrize(
    ("shape", "axes", "path"),
    [
        ((3, 4, 37), [2], "8 lanes"),  # a row each: AVX2 lanes, a tail of 5
        ((2, 64), [-1], "8 lanes"),
        ((3, 6, 5, 8), [2, 3], "8 lanes"),  # two trailing axes: one row of 40
        ((2, 33, 7), [1], "a row of 7 results"),  # a middle axis: results side by side
        ((9, 16), [0], "a row of 16 results"),
    ],
)
def test_min_max_reductions_keep_the_folds_zero_and_nan(op_type, shape, axes, path) -> None:
    """The fold's value (a NaN anywhere: the quiet NaN; an extreme of 0: the sign of the
    row's last zero, as the sequential fold ends) from the vectorized paths: compiled equals
    the reference bit for bit on rows of ±0 only, rows with NaN or ±inf, and random ones."""
    rng = np.random.default_rng(len(shape) + sum(axes))
    x = rng.standard_normal(shape).astype(np.float32)
    flat = x.reshape(-1)
    flat[::3] = 0.0
    flat[1::5] = -0.0
    flat[::29] = np.inf
    flat[7::31] = -np.inf
    flat[11::97] = NAN_PAYLOAD
    x[0] = np.where(rng.random(x[0].shape) < 0.5, -0.0, 0.0)  # folds over zeros only
    node = helper.make_node(op_type, ["x", "axes"], ["y"], keepdims=0)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.array(axes, np.int64), "axes")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=8)
    module = import_onnx(model)
    compiled = compile_module(module)
    assert path in compiled.c_source
    (want,) = run_function(module, [x])
    got = compiled(x)[0]
    assert np.array_equal(got.view(np.uint32), want.view(np.uint32))
