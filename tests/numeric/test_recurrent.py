"""LSTM, GRU and RNN (`qdialect/onnx_import/recurrent.py`): unrolled, compiled, equal to ONNX
Runtime's kernels bit for bit (DeepCPU's LSTM and GRU, `rnn.cc`'s RNN; one thread, no graph
optimizations): peepholes, biases, initial states, both directions, the GRU's
`linear_before_reset` either way, the RNN's three activations, a hidden size past MLAS's K
block of 256 (the recurrent GEMM accumulates block by block), batch 1 and 3; layout 1, which
ORT refuses, against ONNX's reference; what is not imported, refused by name; ORT's
DynamicQuantizeLSTM (`quantize_dynamic`'s LSTM) against ORT's kernel at one thread."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from qdialect.onnx_import import OnnxImportError, import_onnx
from runtime.compiled import compile_module
from runtime.reference import run_function

from .onnx_backend_cases import BackendCase
from .onnxruntime_session import ort_saturates_u8s8
from .test_onnx_backend_float_nodes import bits, ort_outputs

GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}


def recurrent_model(op: str, seq: int, batch: int, size: int, hidden: int, **attributes):
    """One node with every optional input (sequence_lens left out) and output, weights as
    initializers; X is (seq, batch, size), or (batch, seq, size) with layout 1."""
    rng = np.random.default_rng(hidden + batch)
    dirs = 2 if attributes.get("direction") == "bidirectional" else 1
    gates = GATES[op] * hidden
    batch_major = attributes.get("layout", 0) == 1
    state = (batch, dirs, hidden) if batch_major else (dirs, batch, hidden)
    arrays = {
        "W": rng.standard_normal((dirs, gates, size)) * 0.3,
        "R": rng.standard_normal((dirs, gates, hidden)) * 0.3,
        "B": rng.standard_normal((dirs, 2 * gates)) * 0.3,
        "h0": rng.standard_normal(state),
    }
    inputs, outputs = ["x", "W", "R", "B", "", "h0"], ["y", "y_h"]
    if op == "LSTM":
        arrays |= {"c0": rng.standard_normal(state), "P": rng.standard_normal((dirs, 3 * hidden))}
        inputs, outputs = [*inputs, "c0", "P"], [*outputs, "y_c"]
    node = helper.make_node(op, inputs, outputs, hidden_size=hidden, **attributes)
    x_shape = [batch, seq, size] if batch_major else [seq, batch, size]
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs],
        [numpy_helper.from_array(a.astype(np.float32), n) for n, a in arrays.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)], ir_version=8)
    x = np.random.default_rng(1).standard_normal(x_shape).astype(np.float32)
    return model, {"x": x}


def ours(model: onnx.ModelProto, feeds: dict) -> list[np.ndarray]:
    """Compiled outputs, checked equal to the reference interpreter's."""
    module = import_onnx(model)
    got = compile_module(module, threads=1)(**feeds)
    for a, b in zip(got, run_function(module, feeds), strict=True):
        assert bits(a) == bits(b)
    return got


SLOW = pytest.mark.slow  # the default tier keeps one case of each kind
CASES = [
    ("LSTM", 5, 3, 40, 32, {}),
    pytest.param(("LSTM", 4, 1, 20, 16, {"direction": "bidirectional"}), marks=SLOW),
    pytest.param(("LSTM", 3, 2, 300, 300, {"direction": "reverse"}), marks=SLOW),
    ("GRU", 5, 3, 40, 32, {}),
    ("GRU", 5, 3, 40, 32, {"linear_before_reset": 1}),
    pytest.param(
        ("GRU", 4, 1, 20, 16, {"direction": "bidirectional", "linear_before_reset": 1}),
        marks=SLOW,
    ),
    pytest.param(("GRU", 3, 2, 300, 300, {}), marks=SLOW),
    pytest.param(("GRU", 3, 2, 300, 300, {"linear_before_reset": 1}), marks=SLOW),
    ("RNN", 5, 3, 40, 32, {}),
    # one row a step: MLAS's one-row transposed-B kernel; K past its blocks of 128 and 256
    pytest.param(("RNN", 4, 1, 200, 300, {"direction": "bidirectional"}), marks=SLOW),
    ("RNN", 1, 1, 20, 16, {"activations": ["Sigmoid"]}),
    ("RNN", 3, 2, 20, 16, {"direction": "bidirectional", "activations": ["Relu", "Sigmoid"]}),
    pytest.param(("RNN", 6, 2, 130, 140, {"direction": "reverse"}), marks=SLOW),
]


def _case_id(case) -> str:
    op, _, batch, _, hidden, attributes = case
    return f"{op}-h{hidden}-b{batch}-{attributes}"


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_recurrent_node_is_onnxruntimes_bit_for_bit(case) -> None:
    op, seq, batch, size, hidden, attributes = case
    model, feeds = recurrent_model(op, seq, batch, size, hidden, **attributes)
    theirs = ort_outputs(BackendCase(op, model, feeds, {}))
    got = ours(model, feeds)
    assert len(got) == len(theirs)
    for a, b in zip(got, theirs, strict=True):
        assert a.shape == b.shape and bits(a) == bits(b)


def _check_against_onnxruntime(model: onnx.ModelProto, feeds: dict) -> None:
    theirs = ort_outputs(BackendCase("node", model, feeds, {}))
    got = ours(model, feeds)
    assert len(got) == len(theirs)
    for a, b in zip(got, theirs, strict=True):
        assert a.shape == b.shape and bits(a) == bits(b)


# (op, attributes, with B): a NaN, +inf and -inf in X; deepcpu clips every gate, with B as
# std::max(-clip, std::min(clip, v)), which turns NaN into +clip: ORT's outputs stay finite
NON_FINITE = [
    ("LSTM", {}, True),
    ("LSTM", {"clip": 0.5}, False),
    ("GRU", {}, True),
    *(
        pytest.param(case, marks=SLOW)  # the default tier keeps the three above
        for case in [
            ("LSTM", {"clip": 0.5}, True),
            ("LSTM", {}, False),
            ("GRU", {"linear_before_reset": 1, "direction": "bidirectional"}, True),
            ("GRU", {"clip": 3.0}, False),
        ]
    ),
]


def without_input(model: onnx.ModelProto, name: str) -> onnx.ModelProto:
    """`model` with its node's optional input `name` (B, P) left out."""
    node = model.graph.node[0]
    node.input[list(node.input).index(name)] = ""
    model.graph.initializer.remove(_initializer(model, name))
    return model


def non_finite(x: np.ndarray) -> np.ndarray:
    x = x * 3
    x[0, 0, 3], x[1, 1, 0], x[2, 0, 5] = np.nan, np.inf, -np.inf
    return x


@pytest.mark.parametrize("case", NON_FINITE, ids=str)
def test_non_finite_inputs_and_clip_are_onnxruntimes(case) -> None:
    op, attributes, with_bias = case
    model, feeds = recurrent_model(op, 4, 2, 8, 6, **attributes)
    if not with_bias:
        model = without_input(model, "B")
    _check_against_onnxruntime(model, {"x": non_finite(feeds["x"])})


@pytest.mark.parametrize(
    ("attributes", "with_bias"),
    [({}, True), ({"clip": 0.5, "direction": "bidirectional"}, True), ({"clip": 2.0}, False)],
    ids=str,
)
def test_an_lstm_without_peepholes_is_onnxruntimes(attributes, with_bias) -> None:
    """Without peepholes the importer takes each step's bias, clip and logistic over all the
    gates at once: the same bits, NaN and ±inf in X too."""
    model, feeds = recurrent_model("LSTM", 5, 3, 40, 32, **attributes)
    model = without_input(model, "P")
    if not with_bias:
        model = without_input(model, "B")
    _check_against_onnxruntime(model, feeds)
    _check_against_onnxruntime(model, {"x": non_finite(feeds["x"])})


@pytest.mark.slow
@pytest.mark.parametrize("op", ["LSTM", "GRU", "RNN"])
def test_batch_major_layout_is_onnxs_reference(op: str) -> None:
    """layout 1 (ORT's kernels refuse it): the same steps between transposes, against ONNX's
    reference implementation with its backend tests' tolerance."""
    model, feeds = recurrent_model(op, 4, 3, 12, 8, layout=1, direction="bidirectional")
    expected = ReferenceEvaluator(model).run(None, feeds)
    for a, b in zip(ours(model, feeds), expected, strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize(
    ("op", "attributes", "message"),
    [
        ("LSTM", {"input_forget": 1}, "input_forget = 1 (coupled input and forget gates)"),
        (
            "GRU",
            {"activations": ["Relu", "Tanh"]},
            "activations other than sigmoid, tanh (the defaults) are not imported",
        ),
        ("GRU", {"direction": "sideways"}, "direction must be forward, reverse or bidirectional"),
        ("RNN", {"activations": ["Softsign"]}, "activation 'Softsign' is not imported (Tanh,"),
        ("RNN", {"activations": ["Tanh"] * 3}, "activations must name 1, got 3"),
        ("RNN", {"clip": 1.0}, "attribute 'clip' is not imported"),
    ],
)
def test_what_is_not_imported_is_refused_by_name(op, attributes, message) -> None:
    model, _ = recurrent_model(op, 2, 1, 4, 3, **attributes)
    model.graph.node[0].name = "rnn"
    with pytest.raises(OnnxImportError) as err:
        import_onnx(model)
    assert str(err.value).startswith(f"node 'rnn' ({op}): ") and message in str(err.value)


def test_ragged_sequence_lengths_are_refused() -> None:
    model, _ = recurrent_model("LSTM", 3, 2, 4, 3)
    lengths = numpy_helper.from_array(np.array([3, 2], np.int32), "lens")
    model.graph.initializer.append(lengths)
    model.graph.node[0].input[4] = "lens"
    with pytest.raises(OnnxImportError, match="sequence_lens other than the whole sequence"):
        import_onnx(model)


@pytest.mark.slow
@pytest.mark.parametrize(
    "case", [("RNN", 6, 8, 300, 300, {}), ("LSTM", 3, 4, 300, 300, {})], ids=_case_id
)
def test_recurrent_node_on_two_threads_is_onnxruntimes(case) -> None:
    """MLAS splits each GEMM's columns between two threads, its blocks' K stride with them
    (`rewrites.mlas_threads`): the same bits as ORT's session on two threads."""
    import onnxruntime as ort

    op, seq, batch, size, hidden, attributes = case
    model, feeds = recurrent_model(op, seq, batch, size, hidden, **attributes)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    got = compile_module(import_onnx(model), threads=2)(**feeds)
    for a, b in zip(got, session.run(None, feeds), strict=True):
        assert bits(a) == bits(b)


def ort_dynamic_lstm(
    tmp_path, direction: str, batch: int, peepholes: bool = True, **options
) -> onnx.ModelProto:
    """`quantize_dynamic` of an LSTM (every optional input, P unless not `peepholes`): one
    DynamicQuantizeLSTM node."""
    from onnxruntime.quantization import quantize_dynamic

    model, _ = recurrent_model("LSTM", 5, batch, 12, 8, direction=direction)
    if not peepholes:
        model = without_input(model, "P")
    model.graph.node[0].name = "lstm"
    source, target = tmp_path / "lstm.onnx", tmp_path / "lstm_dynamic.onnx"
    onnx.save(model, source)
    quantize_dynamic(source, target, **options)
    quantized = onnx.load(target)
    assert [n.op_type for n in quantized.graph.node] == ["DynamicQuantizeLSTM"]
    return quantized


def lstm_feeds(model: onnx.ModelProto, scale: float) -> dict[str, np.ndarray]:
    (x,) = model.graph.input
    shape = [d.dim_value for d in x.type.tensor_type.shape.dim]
    return {"x": (np.random.default_rng(7).standard_normal(shape) * scale).astype(np.float32)}


def as_uint8_weights(model: onnx.ModelProto) -> onnx.ModelProto:
    """The same LSTM with W and R stored as uint8 (+128, zero points 128): ORT's u8×u8 GEMM.
    (`quantize_dynamic` writes int8 whatever its `weight_type`.)"""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    node = model.graph.node[0]
    for index in (1, 2, 9, 11):
        tensor = _initializer(model, node.input[index])
        data = numpy_helper.to_array(tensor).astype(np.int16) + 128
        tensor.CopyFrom(numpy_helper.from_array(data.astype(np.uint8), tensor.name))
    return model


def _initializer(model: onnx.ModelProto, name: str) -> onnx.TensorProto:
    return next(t for t in model.graph.initializer if t.name == name)


DYNAMIC_LSTM_CASES = [
    ("forward", 3, {}),
    ("reverse", 1, {"per_channel": True}),
    ("bidirectional", 3, {"per_channel": True, "reduce_range": True}),
    ("bidirectional", 2, {"uint8": True}),
    ("forward", 3, {"peepholes": False}),
] + [
    pytest.param((direction, batch, options), marks=SLOW)
    for direction in ("forward", "reverse", "bidirectional")
    for batch in (1, 4)
    for options in (
        {"per_channel": True, "uint8": True},
        {"reduce_range": True, "uint8": True},
        {"per_channel": True, "reduce_range": True},
    )
]


@pytest.mark.parametrize(
    "case", DYNAMIC_LSTM_CASES, ids=lambda c: f"{c[0]}-b{c[1]}-{'-'.join(map(str, c[2]))}"
)
def test_dynamic_quantize_lstm_is_onnxruntimes_bit_for_bit(case, tmp_path) -> None:
    """ORT's DynamicQuantizeLSTM at one thread (its batch rows quantized together): X·W of all
    steps on one dynamic scale, each step's H on its own, per direction or per column, int8
    or uint8 weights; inputs at 1, 4 and 0.02 times the weights' scale. (Full-range int8
    weights only where this host's ORT sums u8 × s8 exactly: `ort_saturates_u8s8`.)"""
    import onnxruntime as ort

    direction, batch, options = case
    uint8 = options.pop("uint8", False)
    exact_in_ort = uint8 or options.get("reduce_range") or not ort_saturates_u8s8()
    model = ort_dynamic_lstm(tmp_path, direction, batch, **options)
    if uint8:
        model = as_uint8_weights(model)
    session_options = ort.SessionOptions()
    session_options.intra_op_num_threads = 1
    session = ort.InferenceSession(
        model.SerializeToString(), session_options, providers=["CPUExecutionProvider"]
    )
    module = import_onnx(model)
    fn = compile_module(module)
    for scale in (1.0, 4.0, 0.02):
        feeds = lstm_feeds(model, scale)
        got = fn(**feeds)
        theirs = session.run(None, feeds)
        for a, b, c in zip(got, run_function(module, feeds), theirs, strict=True):
            assert bits(a) == bits(b) and (bits(a) == bits(c) or not exact_in_ort)


def _varied(zp: np.ndarray) -> np.ndarray:
    return zp + (np.arange(zp.size) % 2).astype(zp.dtype).reshape(zp.shape)


@pytest.mark.parametrize(
    ("uint8", "input_index", "values", "message"),
    [
        (False, 9, lambda zp: zp + 1, "W_zero_point must be zero for int8 W"),
        (True, 11, _varied, "R_zero_point must be one value for uint8 R"),
        (False, 10, lambda s: s[:, :5], "R_scale must have shape [1] (per direction) or [1, 32]"),
    ],
)
def test_dynamic_quantize_lstm_parameters_are_checked_as_onnxruntime_does(
    uint8, input_index, values, message, tmp_path
) -> None:
    model = ort_dynamic_lstm(tmp_path, "forward", 1, per_channel=True)
    if uint8:
        model = as_uint8_weights(model)
    tensor = _initializer(model, model.graph.node[0].input[input_index])
    tensor.CopyFrom(numpy_helper.from_array(values(numpy_helper.to_array(tensor)), tensor.name))
    with pytest.raises(OnnxImportError) as err:
        import_onnx(model)
    assert str(err.value).startswith("node 'lstm_quant' (DynamicQuantizeLSTM): ")
    assert message in str(err.value)
