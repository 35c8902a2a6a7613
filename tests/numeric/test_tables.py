"""Lookup tables against ONNX Runtime: QLinearSigmoid / QLinearLeakyRelu, ORT's float
activations, and QDQ models whose activations fold-qdq tabulates; compiled == reference.

Every table test feeds all 256 stored values through ORT and through our compiled and
interpreted code, so each compares all 256 table entries.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.dialects.builtin import f32
from xdsl.passes import PassPipeline

from qdialect.activations import GLOW_RANGES, TANH, evaluate, glow_table
from qdialect.onnx_import import OnnxImportError, import_onnx
from qdialect.qnn.table import UnaryFunction
from qdialect.qparams import choose_qparams
from qdialect.textio import make_context, parse_module, print_module
from qdialect.types import UniformQuantizedType
from rewrites.registry import PASSES
from runtime.compiled import compile_module
from runtime.reference import run_function

from .onnxruntime_session import run_ort
from .test_compiled import pins_flags


def run_pipeline(module, spec: str) -> None:
    PassPipeline.parse_spec(PASSES, spec).apply(make_context(), module)


ONNX_TYPE = {np.uint8: TensorProto.UINT8, np.int8: TensorProto.INT8}
ALL = {np.uint8: np.arange(256, dtype=np.uint8), np.int8: np.arange(-128, 128, dtype=np.int8)}


def make_model(nodes, inputs, outputs, inits) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs],
        [helper.make_tensor_value_info(n, t, None) for n, t in outputs],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()],
    )
    gelu = any(node.op_type == "Gelu" for node in nodes)  # (from opset 20)
    opsets = [helper.make_opsetid("", 20 if gelu else 17), helper.make_opsetid("com.microsoft", 1)]
    return helper.make_model(graph, opset_imports=opsets, ir_version=9 if gelu else 8)


def qlinear_model(op: str, dtype, x_params, y_params, **attributes) -> onnx.ModelProto:
    """X (all 256 values) -> QLinearSigmoid/QLinearLeakyRelu -> Y."""
    (xs, xz), (ys, yz) = x_params, y_params
    inits = {"xs": np.float32(xs), "xz": dtype(xz), "ys": np.float32(ys), "yz": dtype(yz)}
    node = helper.make_node(
        op, ["x", "xs", "xz", "ys", "yz"], ["y"], domain="com.microsoft", **attributes
    )
    return make_model([node], [("x", ONNX_TYPE[dtype], [256])], [("y", ONNX_TYPE[dtype])], inits)


def ours(model: onnx.ModelProto, feeds: dict) -> list[np.ndarray]:
    """The compiled outputs, checked equal to the reference interpreter's on the module
    compile_module compiled (rewritten in place by qnn-default), printed and parsed back."""
    module = import_onnx(model)
    got = compile_module(module)(**feeds)
    reference = run_function(parse_module(print_module(module)), feeds)
    for a, b in zip(got, reference, strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    return got


# (input scale, zero point) x (output scale, zero point): wide and narrow input ranges, zero
# points at both ends and inside, output scales that clip and that do not.
X_GRID = [(0.001, 0), (0.0625, 255), (0.1, 128), (0.37, 17), (2.5, 200)]
Y_GRID = [(1 / 256, 0), (0.01, 3), (0.05, 100), (0.2, 250)]
OPS = [("QLinearSigmoid", {}), ("QLinearLeakyRelu", {"alpha": 0.1}), ("QLinearLeakyRelu", {})]


def signed(params: tuple[float, int], dtype) -> tuple[float, int]:
    """The same grid point for int8: zero points shifted by -128."""
    return (params[0], params[1] - 128) if dtype is np.int8 else params


def grid() -> list:
    cases = []
    for (op, attributes), dtype, x, y in itertools.product(
        OPS, (np.uint8, np.int8), X_GRID, Y_GRID
    ):
        default = x in (X_GRID[1], X_GRID[3]) and y in (Y_GRID[0], Y_GRID[2])
        case = (op, attributes, dtype, signed(x, dtype), signed(y, dtype))
        cases.append(case if default else pytest.param(*case, marks=pytest.mark.slow))
    return cases


@pytest.mark.parametrize(("op", "attributes", "dtype", "x_params", "y_params"), grid())
def test_qlinear_table_entries_equal_onnxruntime(op, attributes, dtype, x_params, y_params):
    model = qlinear_model(op, dtype, x_params, y_params, **attributes)
    feeds = {"x": ALL[dtype]}
    (expected,) = run_ort(model, feeds)
    (got,) = ours(model, feeds)
    assert got.dtype == expected.dtype
    assert np.array_equal(got, expected), np.flatnonzero(got != expected)


def test_model_with_table_ops_runs_like_onnxruntime():
    """QLinearConv -> QLinearSigmoid -> QLinearLeakyRelu -> QLinearAdd (the sigmoid again)."""
    rng = np.random.default_rng(7)
    inits = {
        "s": np.float32(0.05), "z": np.uint8(120), "w": rng.integers(-60, 60, (4, 3, 3, 3), np.int8),
        "ws": np.float32(0.01), "wz": np.int8(0), "cs": np.float32(0.2), "cz": np.uint8(128),
        "gs": np.float32(1 / 256), "gz": np.uint8(0), "ls": np.float32(0.004), "lz": np.uint8(10),
    }  # fmt: skip
    nodes = [
        helper.make_node(
            "QLinearConv", ["x", "s", "z", "w", "ws", "wz", "cs", "cz"], ["c"], pads=[1, 1, 1, 1]
        ),
        helper.make_node(
            "QLinearSigmoid", ["c", "cs", "cz", "gs", "gz"], ["g"], domain="com.microsoft"
        ),
        helper.make_node(
            "QLinearLeakyRelu",
            ["c", "cs", "cz", "ls", "lz"],
            ["l"],
            domain="com.microsoft",
            alpha=0.3,
        ),  # fmt: skip
        helper.make_node(
            "QLinearAdd",
            ["g", "gs", "gz", "l", "ls", "lz", "cs", "cz"],
            ["y"],
            domain="com.microsoft",
        ),  # fmt: skip
    ]
    model = make_model(nodes, [("x", TensorProto.UINT8, [1, 3, 8, 8])], [("y", 2)], inits)
    feeds = {"x": rng.integers(0, 256, (1, 3, 8, 8), np.uint8)}
    (expected,) = run_ort(model, feeds)
    (got,) = ours(model, feeds)
    assert np.array_equal(got, expected)


FLOAT_OPS = [
    ("Sigmoid", {}),
    ("Tanh", {}),
    ("LeakyRelu", {"alpha": 0.1}),
    ("HardSigmoid", {"alpha": 0.3, "beta": 0.4}),
    ("HardSigmoid", {}),
    ("HardSwish", {}),
    ("Erf", {}),
    ("Neg", {}),
    ("Abs", {}),
    ("Gelu", {}),
    ("Gelu", {"approximate": "tanh"}),
]


def float_inputs() -> np.ndarray:
    rng = np.random.default_rng(3)
    edges = [0.0, -0.0, 3.0, -3.0, 9.0, -9.0, 18.0, -18.0, 20.0, -20.0, 1e30, -1e30, 1e-40]
    ramp = np.arange(-2500, 2500, dtype=np.float32) * np.float32(0.01)
    return np.concatenate([rng.standard_normal(20000) * 6, ramp, edges]).astype(np.float32)


@pytest.mark.parametrize(("op", "attributes"), FLOAT_OPS)
def test_float_activations_equal_onnxruntime(op, attributes):
    """qnn.activation reproduces ORT's float32 kernels bit for bit (MLAS's rational sigmoid and
    tanh with fused multiply-adds, HardSigmoid with one rounding per operation, Gelu's two
    forms around MLAS's erf and tanh)."""
    node = helper.make_node(op, ["x"], ["y"], **attributes)
    x = float_inputs()
    model = make_model([node], [("x", TensorProto.FLOAT, [x.size])], [("y", 1)], {})
    (expected,) = run_ort(model, {"x": x})
    (got,) = ours(model, {"x": x})
    assert np.array_equal(got.view(np.int32), expected.view(np.int32))


def deepcpu_tanh_nodes(bound: float, factor: float) -> tuple[list, dict]:
    """DeepCPU's tanh as ORT's own Min, Max, Mul, Add and Div nodes (each correctly rounded
    per element, as `rnn_activation_functions.cc` spells it out in scalar C++)."""
    _, numerator, denominator = TANH
    inits = {"bound": np.float32(bound), "low": np.float32(-bound), "factor": np.float32(factor)}
    nodes = [
        helper.make_node("Min", ["x", "bound"], ["lo"]),
        helper.make_node("Max", ["lo", "low"], ["clamped"]),
        helper.make_node("Mul", ["factor", "clamped"], ["c"]),
        helper.make_node("Mul", ["c", "c"], ["x2"]),
    ]

    def horner(name: str, coefficients: tuple[float, ...]) -> str:
        """x2·c0 + c1, then (x2·value) + c per coefficient: each step one node."""
        inits.update({f"{name}{k}": np.float32(c) for k, c in enumerate(coefficients)})
        nodes.append(helper.make_node("Mul", ["x2", f"{name}0"], [f"{name}_0"]))
        value = f"{name}_0"
        for k in range(1, len(coefficients)):
            if k > 1:
                nodes.append(helper.make_node("Mul", ["x2", value], [f"{name}_x{k}"]))
                value = f"{name}_x{k}"
            nodes.append(helper.make_node("Add", [value, f"{name}{k}"], [f"{name}_{k}"]))
            value = f"{name}_{k}"
        return value

    p, q = horner("p", numerator), horner("q", denominator)
    nodes += [helper.make_node("Mul", ["c", p], ["cp"]), helper.make_node("Div", ["cp", q], ["y"])]
    return nodes, inits


@pytest.mark.parametrize(("bound", "factor"), [(20.0, 0.5), (10.0, 1.0)])
def test_deepcpu_tanh_is_its_plain_float_steps(bound, factor):
    """The GRU's `deepcpu_tanh` activation (reset gate: ±20 and x / 2; output: ±10), compiled
    and interpreted, equals ORT running its steps as separate float nodes."""
    x = float_inputs()
    nodes, inits = deepcpu_tanh_nodes(bound, factor)
    model = make_model(nodes, [("x", TensorProto.FLOAT, [x.size])], [("y", 1)], inits)
    (expected,) = run_ort(model, {"x": x})
    text = f"""func.func @main(%x: tensor<{x.size}xf32>) -> tensor<{x.size}xf32> {{
      %y = qnn.activation %x {{function = "deepcpu_tanh", alpha = {bound} : f32, beta = {factor} : f32}} : tensor<{x.size}xf32> -> tensor<{x.size}xf32>
      func.return %y : tensor<{x.size}xf32>
    }}"""  # noqa: E501
    (got,) = compile_module(parse_module(text))(x)
    (interpreted,) = run_function(text, [x])
    assert np.array_equal(got.view(np.int32), expected.view(np.int32))
    assert np.array_equal(interpreted.view(np.int32), expected.view(np.int32))


def test_deepcpu_clip_turns_nan_into_its_upper_bound():
    """`deepcpu_clip` is `std::max(-c, std::min(c, x))`: NaN becomes +c, -0.0 passes."""
    x = np.array([np.nan, np.inf, -np.inf, 0.75, -0.75, -0.0, 0.25], np.float32)
    text = """func.func @main(%x: tensor<7xf32>) -> tensor<7xf32> {
      %y = qnn.activation %x {function = "deepcpu_clip", alpha = 0.5 : f32} : tensor<7xf32> -> tensor<7xf32>
      func.return %y : tensor<7xf32>
    }"""  # noqa: E501
    expected = np.array([0.5, 0.5, -0.5, 0.5, -0.5, -0.0, 0.25], np.float32)
    for (got,) in (compile_module(parse_module(text))(x), run_function(text, [x])):
        assert np.array_equal(got.view(np.int32), expected.view(np.int32))


SILU_GRAPHS = {
    "x*sigmoid(x)": [("Sigmoid", ["x"], "s"), ("Mul", ["x", "s"], "y")],
    "sigmoid(x)*x": [("Sigmoid", ["x"], "s"), ("Mul", ["s", "x"], "y")],
    "QuickGelu(alpha=1)": [("QuickGelu", ["x"], "y")],
}


@pytest.mark.parametrize("graph", list(SILU_GRAPHS))
@pytest.mark.parametrize("level", ["ORT_DISABLE_ALL", "ORT_ENABLE_ALL"])
def test_silu_is_one_activation_equal_to_onnxruntime(graph, level):
    """x·sigmoid(x) runs as one `silu` activation with ORT's two roundings: equal to the
    Sigmoid and Mul of ORT's plain session and to the QuickGelu its optimizer fuses them into."""
    nodes = [
        helper.make_node(
            op,
            inputs,
            [out],
            **({"domain": "com.microsoft", "alpha": 1.0} if op == "QuickGelu" else {}),
        )
        for op, inputs, out in SILU_GRAPHS[graph]
    ]
    x = float_inputs()
    model = make_model(nodes, [("x", TensorProto.FLOAT, [x.size])], [("y", 1)], {})
    options = ort.SessionOptions()
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
    session = ort.InferenceSession(model.SerializeToString(), options, ["CPUExecutionProvider"])
    (expected,) = session.run(None, {"x": x})
    compiled = compile_module(import_onnx(model))
    kernels = re.findall(r"^/\* (qnn\.\w+[^*]*)\*/", compiled.c_source, re.MULTILINE)
    assert kernels == ["qnn.activation silu "], kernels
    (got,) = ours(model, {"x": x})
    assert np.array_equal(got.view(np.int32), expected.view(np.int32))


def qdq_model(op: str, dtype, attributes: dict, y_params: tuple[float, int]) -> onnx.ModelProto:
    x_scale, x_zero = signed((0.05, 128), dtype)
    inits = {
        "xs": np.float32(x_scale), "xz": dtype(x_zero),
        "ys": np.float32(y_params[0]), "yz": dtype(y_params[1]),
    }  # fmt: skip
    nodes = [
        helper.make_node("DequantizeLinear", ["x", "xs", "xz"], ["d"]),
        helper.make_node(op, ["d"], ["f"], **attributes),
        helper.make_node("QuantizeLinear", ["f", "ys", "yz"], ["y"]),
    ]
    return make_model(nodes, [("x", ONNX_TYPE[dtype], [256])], [("y", ONNX_TYPE[dtype])], inits)


def run_ort_unfused(model: onnx.ModelProto, feeds: dict) -> list[np.ndarray]:
    """ORT without graph optimizations: the float simulation, DQ -> float op -> Q."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, ["CPUExecutionProvider"])
    return session.run(None, feeds)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
@pytest.mark.parametrize(("op", "attributes"), FLOAT_OPS)
def test_qdq_activation_is_a_table_equal_to_onnxruntime(op, attributes, dtype):
    """DQ -> f -> Q folds into one qnn.table; all 256 entries equal ORT's fused session (its
    QDQ transformer makes QLinearSigmoid/QLinearLeakyRelu of some) and unfused session."""
    y_params = signed((1 / 128, 128), dtype)
    model = qdq_model(op, dtype, attributes, y_params)
    module = import_onnx(model)
    run_pipeline(module, "qnn-default")
    names = [o.name for o in module.walk()]
    assert "qnn.table" in names and "qnn.activation" not in names
    feeds = {"x": ALL[dtype]}
    (got,) = ours(model, feeds)
    (literal,) = run_function(import_onnx(model), feeds)  # the unfused reading
    assert np.array_equal(got, literal)
    for expected in (run_ort(model, feeds)[0], run_ort_unfused(model, feeds)[0]):
        assert np.array_equal(got, expected), np.flatnonzero(got != expected)


# DQ -> steps -> Q: (op, the constant's name or None, which input the chain's value is)
CHAINS = {
    "gelu_erf": [("Div", "sqrt2", 0), ("Erf", None, 0)],  # ORT's QDQ BERT: Div by √2, then Erf
    "scaled_sigmoid": [("Mul", "c", 1), ("Sigmoid", None, 0), ("Add", "c2", 0)],
    "reversed_sub": [("Sub", "c", 1), ("Tanh", None, 0), ("Max", "c2", 0)],  # c - x
}
CHAIN_CONSTANTS = {
    "sqrt2": np.float32(1.4142135),
    "c": np.full([256], 0.75, np.float32),  # a splat written out in full
    "c2": np.float32(-0.125),
}


def chain_model(steps, dtype, constants=CHAIN_CONSTANTS) -> onnx.ModelProto:
    x_scale, x_zero = signed((0.05, 128), dtype)
    y_scale, y_zero = signed((1 / 64, 128), dtype)
    inits = {"xs": np.float32(x_scale), "xz": dtype(x_zero), "ys": np.float32(y_scale)}
    inits |= {"yz": dtype(y_zero)} | constants
    nodes, value = [helper.make_node("DequantizeLinear", ["x", "xs", "xz"], ["d"])], "d"
    for index, (op, constant, position) in enumerate(steps):
        inputs = [value] if constant is None else [constant, value][:: -1 if position == 0 else 1]
        nodes.append(helper.make_node(op, inputs, [f"f{index}"]))
        value = f"f{index}"
    nodes.append(helper.make_node("QuantizeLinear", [value, "ys", "yz"], ["y"]))
    return make_model(nodes, [("x", ONNX_TYPE[dtype], [256])], [("y", ONNX_TYPE[dtype])], inits)


@pytest.mark.parametrize(
    ("chain", "dtype"),
    [
        *((name, np.uint8) for name in sorted(CHAINS)),
        *(pytest.param(name, np.int8, marks=pytest.mark.slow) for name in sorted(CHAINS)),
    ],
)
def test_qdq_chain_of_float_steps_is_one_table_equal_to_onnxruntime(chain, dtype):
    """DQ -> elementwise float steps (with constant scalars on either side) -> Q folds into one
    qnn.table whose 256 entries equal ORT's unfused session and the unfused module's."""
    model = chain_model(CHAINS[chain], dtype)
    module = import_onnx(model)
    run_pipeline(module, "qnn-default")
    names = [o.name for o in module.walk()]
    assert names.count("qnn.table") == 1 and "qnn.dequantize" not in names, names
    feeds = {"x": ALL[dtype]}
    (got,) = ours(model, feeds)
    assert np.array_equal(got, run_function(import_onnx(model), feeds)[0])
    (expected,) = run_ort_unfused(model, feeds)
    assert np.array_equal(got, expected), np.flatnonzero(got != expected)


def test_a_step_with_a_varying_constant_stays_float():
    """A Div by a tensor of different values is not a function of one element: no table."""
    varying = CHAIN_CONSTANTS | {"c": np.linspace(0.5, 2, 256, dtype=np.float32)}
    model = chain_model([("Mul", "c", 1), ("Erf", None, 0)], np.uint8, varying)
    module = import_onnx(model)
    run_pipeline(module, "qnn-default")
    names = [o.name for o in module.walk()]
    assert "qnn.table" not in names and "qnn.activation" in names
    feeds = {"x": ALL[np.uint8]}
    assert np.array_equal(ours(model, feeds)[0], run_ort_unfused(model, feeds)[0])


def glow_chain(function: UnaryFunction, x: np.ndarray, in_type, out_type) -> np.ndarray:
    """Glow's three steps written out as IR (requantize, DQ -> f -> Q, requantize), run by the
    reference interpreter with fold-qdq kept away."""
    (in_lo, in_hi), (out_lo, out_hi) = GLOW_RANGES[function]
    mid_in = UniformQuantizedType.per_tensor("i8", f32, *choose_qparams(in_lo, in_hi))
    mid_out = UniformQuantizedType.per_tensor("i8", f32, *choose_qparams(out_lo, out_hi))
    t = lambda q: f"tensor<256x{q}>"  # noqa: E731
    text = f"""func.func @main(%x: {t(in_type)}) -> {t(out_type)} {{
      %a = qnn.requantize %x : {t(in_type)} -> {t(mid_in)}
      %d = qnn.dequantize %a : {t(mid_in)} -> tensor<256xf32>
      %f = qnn.activation %d {{function = "{function.value}"}} : tensor<256xf32> -> tensor<256xf32>
      %q = qnn.quantize %f : tensor<256xf32> -> {t(mid_out)}
      %y = qnn.requantize %q : {t(mid_out)} -> {t(out_type)}
      func.return %y : {t(out_type)}
    }}"""
    return run_function(text, [x])[0]


@pytest.mark.parametrize("function", [UnaryFunction.SIGMOID, UnaryFunction.TANH])
def test_glow_tables_compose_glows_three_steps(function):
    in_type = UniformQuantizedType.per_tensor("u8", f32, 0.1, 100)
    out_type = UniformQuantizedType.per_tensor("u8", f32, 1 / 128, 128)
    x = ALL[np.uint8]
    expected = glow_chain(function, x, in_type, out_type)
    assert np.array_equal(glow_table(function, in_type, out_type), expected)
    text = f"""func.func @main(%x: tensor<256x{in_type}>) -> tensor<256x{out_type}> {{
      %d = qnn.dequantize %x : tensor<256x{in_type}> -> tensor<256xf32>
      %f = qnn.activation %d {{function = "{function.value}"}} : tensor<256xf32> -> tensor<256xf32>
      %q = qnn.quantize %f : tensor<256xf32> -> tensor<256x{out_type}>
      func.return %q : tensor<256x{out_type}>
    }}"""
    module = parse_module(text)
    run_pipeline(module, "fold-qdq{tables=glow}")
    assert np.array_equal(compile_module(module)(x)[0], expected)
    # inputs beyond Glow's range (here ±6 / ±3 as 100 ± 60 / ± 30) are clipped, unlike ORT's
    exact = run_function(text, [x])[0]
    limit = 60 if function is UnaryFunction.SIGMOID else 30
    inside = np.abs(x.astype(int) - 100) < limit
    assert not np.array_equal(exact[~inside], expected[~inside])


def test_u8_to_i8_keeps_table_results():
    """u8-to-i8 retypes and shifts the table as any u8 constant: the same bits come out."""
    model = qlinear_model("QLinearSigmoid", np.uint8, (0.0625, 255), (1 / 256, 0))
    module = import_onnx(model)
    before = run_function(module, {"x": ALL[np.uint8]})[0]
    run_pipeline(module, "u8-to-i8{keep-signature=true}")
    assert np.array_equal(run_function(module, {"x": ALL[np.uint8]})[0], before)
    assert np.array_equal(compile_module(module)(x=ALL[np.uint8])[0], before)


# the host's compiler without AVX-512 VBMI: the lookup runs its scalar loop only
NO_VBMI = ["-O2", "-march=native", "-mno-avx512vbmi", "-ffp-contract=off"]


@pytest.mark.parametrize("flags", [None, pytest.param(NO_VBMI, marks=pins_flags)])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
def test_table_kernel_on_random_tensor_matches_reference(dtype, flags):
    """A larger, odd-sized tensor through the compiled lookup: 156 blocks of 64 (vpermi2b
    under AVX-512 VBMI, the index's top bit choosing the half) and a tail of 23, with 1 and 2
    threads splitting the blocks; every output equals ORT's."""
    rng = np.random.default_rng(11)
    x_params, y_params = signed((0.1, 128), dtype), signed((1 / 256, 0), dtype)
    model = qlinear_model("QLinearSigmoid", dtype, x_params, y_params)
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 10007
    info = np.iinfo(dtype)
    x = rng.integers(info.min, info.max, 10007, dtype, endpoint=True)
    (expected,) = run_ort(model, {"x": x})
    compiled = compile_module(import_onnx(model), threads=1, flags=flags)
    assert np.array_equal(compiled(x=x)[0], expected)
    compiled.set_threads(2)
    assert np.array_equal(compiled(x=x)[0], expected)


def test_sixteen_bit_table_op_is_refused_by_name():
    model = qlinear_model("QLinearSigmoid", np.uint8, (0.1, 0), (0.01, 0))
    for name in ("xz", "yz"):
        next(t for t in model.graph.initializer if t.name == name).CopyFrom(
            numpy_helper.from_array(np.uint16(0), name)
        )
    model.graph.input[0].type.tensor_type.elem_type = onnx.TensorProto.UINT16
    model.graph.node[0].name = "sig"
    with pytest.raises(OnnxImportError) as err:
        import_onnx(model)
    assert str(err.value) == (
        "node 'sig' (QLinearSigmoid): X is u16; qnn.table maps 8-bit values to 8-bit values "
        "(256 entries)"
    )


def test_unknown_attribute_is_refused_by_name():
    model = qlinear_model("QLinearLeakyRelu", np.uint8, (0.1, 0), (0.01, 0), beta=0.5)
    with pytest.raises(OnnxImportError, match="attribute 'beta' is not imported for QLinear"):
        import_onnx(model)


def test_evaluate_is_not_the_textbook_sigmoid():
    """The rational approximation differs from 1/(1+exp(-x)) in the last bits somewhere;
    a table built from the textbook formula would not be ORT's."""
    x = float_inputs()
    textbook = (1 / (1 + np.exp(-x.astype(np.float64)))).astype(np.float32)
    assert not np.array_equal(evaluate(UnaryFunction.SIGMOID, x, 0.0, 0.0), textbook)


MUL_SCALES = [
    ((0.05, 120), (0.02, 128), (0.1, 100)),
    ((0.003, 0), (0.5, 255), (0.04, 7)),
    ((0.25, 17), (0.25, 200), (0.001, 128)),  # saturates at both ends
]


@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
@pytest.mark.parametrize("params", MUL_SCALES)
def test_qlinear_mul_equals_onnxruntime_on_every_pair(params, dtype):
    """All 65536 (a, b) pairs, and a scalar B (MLAS's IsScalarB path) broadcast over them."""
    (sa, za), (sb, zb), (sy, zy) = (signed(p, dtype) for p in params)
    inits = {
        "sa": np.float32(sa), "za": dtype(za), "sb": np.float32(sb), "zb": dtype(zb),
        "sy": np.float32(sy), "zy": dtype(zy), "k": dtype(signed((77, 0), dtype)[1] + 20),
    }  # fmt: skip
    nodes = [
        helper.make_node(
            "QLinearMul", ["a", "sa", "za", "b", "sb", "zb", "sy", "zy"], ["y"],
            domain="com.microsoft",
        ),
        helper.make_node(
            "QLinearMul", ["a", "sa", "za", "k", "sb", "zb", "sy", "zy"], ["s"],
            domain="com.microsoft",
        ),
    ]  # fmt: skip
    t = ONNX_TYPE[dtype]
    model = make_model(nodes, [("a", t, [256, 1]), ("b", t, [256])], [("y", t), ("s", t)], inits)
    feeds = {"a": ALL[dtype].reshape(256, 1), "b": ALL[dtype]}
    expected = run_ort(model, feeds)
    got = ours(model, feeds)
    for a, b in zip(got, expected, strict=True):
        assert np.array_equal(a, b), np.argwhere(a != b)[:5]


@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
def test_qdq_mul_folds_into_onnxruntimes_qlinear_mul(dtype):
    """DQ -> Mul -> Q becomes qnn.mul, which ORT's QDQ transformer makes QLinearMul too; the
    float simulation (ORT unfused, our reference before fold-qdq) rounds twice and differs."""
    (sa, za), (sy, zy) = signed((0.05, 120), dtype), signed((0.02, 130), dtype)
    inits = {"sa": np.float32(sa), "za": dtype(za), "sy": np.float32(sy), "zy": dtype(zy)}
    nodes = [
        helper.make_node("DequantizeLinear", ["a", "sa", "za"], ["da"]),
        helper.make_node("DequantizeLinear", ["b", "sa", "za"], ["db"]),
        helper.make_node("Mul", ["da", "db"], ["m"]),
        helper.make_node("QuantizeLinear", ["m", "sy", "zy"], ["y"]),
    ]
    t = ONNX_TYPE[dtype]
    model = make_model(nodes, [("a", t, [256, 1]), ("b", t, [256])], [("y", t)], inits)
    feeds = {"a": ALL[dtype].reshape(256, 1), "b": ALL[dtype]}
    module = import_onnx(model)
    run_pipeline(module, "qnn-default")
    assert "qnn.mul" in [o.name for o in module.walk()]
    (got,) = ours(model, feeds)
    (fused,) = run_ort(model, feeds)
    assert np.array_equal(got, fused)
    (literal,) = run_ort_unfused(model, feeds)
    assert np.array_equal(run_function(import_onnx(model), feeds)[0], literal)
