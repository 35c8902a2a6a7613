"""Models that read token ids: int64 graph inputs, embedding Gathers at run-time indices
(`qnn.gather`), an attention mask cast to float, position ids from folded shape arithmetic.

Checked against ONNX Runtime itself: the float model bit for bit (its calibrator's session),
ORT's own QDQ, QOperator and dynamic models of it run by us, our calibration and quantizer
against ORT's calibrator and quantize_static, and an index out of range refused by both.
"""

from __future__ import annotations

import logging
import re
import tempfile
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from qdialect.onnx_import import import_onnx  # noqa: E402
from qdialect.textio import IRError  # noqa: E402
from runtime import compiled as compiled_module  # noqa: E402
from runtime.compiled import compile_module  # noqa: E402
from runtime.quantization import calibrate, quantize  # noqa: E402
from runtime.reference import ExecutionError, run_function  # noqa: E402

from .float_models import normal  # noqa: E402
from .onnxruntime_session import ort_saturates_u8s8, run_ort  # noqa: E402
from .test_calibrate import ort_ranges  # noqa: E402
from .test_quantize_static import qnn_default  # noqa: E402

TOKENS, WIDTH, VOCAB = 8, 16, 50


def arithmetic_mask(node) -> list[onnx.NodeProto]:
    """The extended mask of older exports: `(1 - mask) · -10000` (Unsqueeze, Cast to float,
    Sub, Mul)."""
    return [
        node("Unsqueeze", ["mask", "axes_12"], ["m4"], name="unsqueeze"),
        node("Flatten", ["m4"], ["m2"], axis=1, name="flatten"),
        node("Cast", ["m2"], ["mf"], to=TensorProto.FLOAT, name="cast"),
        node("Sub", ["one_f", "mf"], ["inv"], name="invert"),
        node("Mul", ["inv", "big"], ["bias"], name="mask_bias"),
        node("Unsqueeze", ["bias", "one"], ["bias3"], name="bias_rows"),
    ]


def boolean_mask(node) -> list[onnx.NodeProto]:
    """The mask of transformers' newer exports, in booleans: Cast to BOOL, And with the rows
    allowed, Expand, then Where picks 0 or the float minimum (here with Not, Or and Xor too)."""
    return [
        node("Cast", ["mask"], ["mb"], to=TensorProto.BOOL, name="cast_bool"),
        node("Unsqueeze", ["mb", "axes_12"], ["mb4"], name="unsqueeze"),
        node("Not", ["mb4"], ["pad4"], name="padding"),
        node("Not", ["pad4"], ["keep4"], name="keep"),
        node("Expand", ["keep4", "square"], ["kx"], name="expand"),
        node("And", ["kx", "rows_ok"], ["allowed"], name="and_rows"),
        node("Or", ["allowed", "never"], ["allowed2"], name="or_never"),
        node("Xor", ["allowed2", "false"], ["allowed3"], name="xor_false"),
        node("Where", ["allowed3", "zero_f", "lowest"], ["bias4"], name="where_mask"),
        node("Reshape", ["bias4", "scores_shape"], ["bias3"], name="bias_rows"),
    ]


def token_encoder(rng: np.random.Generator, boolean: bool = False) -> onnx.ModelProto:
    """A BERT-style embedding and attention block, written as PyTorch exports it: word and
    token-type embeddings gathered at the id inputs, position embeddings at ids computed by
    shape arithmetic (CumSum of ones, LessOrEqual, Where, GatherElements), LayerNorm,
    self-attention with an arithmetic or `boolean` mask, and a projection."""
    w = {
        "word": normal(rng, VOCAB, WIDTH, scale=1.0),
        "types": normal(rng, 2, WIDTH, scale=0.5),
        "positions": normal(rng, TOKENS, WIDTH, scale=0.5),
        "gamma": (1 + normal(rng, WIDTH, scale=0.1)).astype(np.float32),
        "beta": normal(rng, WIDTH, scale=0.1),
        "wq": normal(rng, WIDTH, WIDTH),
        "wk": normal(rng, WIDTH, WIDTH),
        "wo": normal(rng, WIDTH, WIDTH),
        "bo": normal(rng, WIDTH, scale=0.1),
        "ones_shape": np.array([1, TOKENS], np.int64),
        "one": np.array(1, np.int64),
        "zero": np.array(0, np.int64),
        "last": np.array(TOKENS - 1, np.int64),
        "order": np.arange(TOKENS, dtype=np.int64).reshape(1, TOKENS)[:, ::-1].copy(),
        "axes_12": np.array([1, 2], np.int64),
        "one_f": np.array(1.0, np.float32),
        "big": np.array(-10000.0, np.float32),
        "scale": np.array(0.25, np.float32),
        "square": np.array([1, 1, TOKENS, TOKENS], np.int64),
        "rows_ok": np.arange(TOKENS).reshape(1, 1, TOKENS, 1) != 2,
        "never": np.zeros((1, 1, TOKENS, 1), bool),
        "false": np.array(False),
        "zero_f": np.array(0.0, np.float32),
        "lowest": np.array(np.finfo(np.float32).min, np.float32),
        "scores_shape": np.array([1, TOKENS, TOKENS], np.int64),
    }
    node = helper.make_node
    nodes = [
        node("Gather", ["word", "ids"], ["e_word"], name="word_embeddings"),
        node("Gather", ["types", "types_ids"], ["e_type"], name="token_type_embeddings"),
        node(
            "ConstantOfShape", ["ones_shape"], ["ones"], value=helper.make_tensor("v", 7, [1], [1])
        ),
        node("CumSum", ["ones", "one"], ["count"], name="cumsum"),
        node("Sub", ["count", "one"], ["pos0"], name="pos_sub"),
        node("LessOrEqual", ["pos0", "last"], ["inside"], name="le"),
        node("GreaterOrEqual", ["pos0", "zero"], ["nonneg"], name="ge"),
        node("And", ["inside", "nonneg"], ["ok"], name="and"),
        node("Where", ["ok", "pos0", "zero"], ["pos1"], name="where"),
        node("GatherElements", ["pos1", "order"], ["pos_rev"], axis=1, name="gather_elements"),
        node("GatherElements", ["pos_rev", "order"], ["pos"], axis=1, name="gather_back"),
        node("Gather", ["positions", "pos"], ["e_pos"], name="position_embeddings"),
        node("Add", ["e_word", "e_type"], ["e1"], name="add_types"),
        node("Add", ["e1", "e_pos"], ["e2"], name="add_positions"),
        node("LayerNormalization", ["e2", "gamma", "beta"], ["h"], axis=-1, epsilon=1e-5),
        node("MatMul", ["h", "wq"], ["q"], name="query"),
        node("MatMul", ["h", "wk"], ["k"], name="key"),
        node("Transpose", ["k"], ["ht"], perm=[0, 2, 1], name="keys"),
        node("MatMul", ["q", "ht"], ["s0"], name="scores"),
        node("Mul", ["s0", "scale"], ["s1"], name="scale_scores"),
        *(boolean_mask(node) if boolean else arithmetic_mask(node)),
        node("Add", ["s1", "bias3"], ["s2"], name="masked"),
        node("Softmax", ["s2"], ["p"], axis=-1, name="softmax"),
        node("MatMul", ["p", "h"], ["o"], name="context"),
        node("MatMul", ["o", "wo"], ["o1"], name="out"),
        node("Add", ["o1", "bo"], ["y"], name="out_bias"),
    ]
    ids = [
        helper.make_tensor_value_info(name, TensorProto.INT64, [1, TOKENS])
        for name in ("ids", "types_ids", "mask")
    ]
    graph = helper.make_graph(
        nodes,
        "token_encoder",
        ids,
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, TOKENS, WIDTH])],
        [numpy_helper.from_array(v, k) for k, v in w.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)


def token_inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    valid = int(rng.integers(3, TOKENS + 1))
    return {
        "ids": rng.integers(-VOCAB, VOCAB, (1, TOKENS)).astype(np.int64),  # negatives count back
        "types_ids": rng.integers(0, 2, (1, TOKENS)).astype(np.int64),
        "mask": (np.arange(TOKENS) < valid).astype(np.int64).reshape(1, TOKENS),
    }


def session(model: onnx.ModelProto, optimized: bool = False) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    if not optimized:  # the calibrator's session: ORT's own float kernels, unfused
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


@pytest.fixture(scope="module")
def model() -> onnx.ModelProto:
    return token_encoder(np.random.default_rng(5))


@pytest.fixture(scope="module", params=[False, True], ids=["arithmetic_mask", "boolean_mask"])
def any_model(request) -> onnx.ModelProto:
    return token_encoder(np.random.default_rng(5), boolean=request.param)


def test_float_model_is_onnxruntimes_to_the_bit(any_model) -> None:
    model = any_model
    rng = np.random.default_rng(1)
    compiled = compile_module(import_onnx(model), threads=1)
    assert [str(d) for d, _ in compiled.signature.inputs] == ["int64"] * 3
    for _ in range(3):
        feeds = token_inputs(rng)
        (expected,) = session(model).run(None, feeds)
        (got,) = compiled(**feeds)
        (interpreted,) = run_function(import_onnx(model), feeds)
        assert np.array_equal(got.view(np.uint32), expected.view(np.uint32))
        assert np.array_equal(interpreted.view(np.uint32), expected.view(np.uint32))


@pytest.mark.parametrize("bad", [VOCAB, -VOCAB - 1])
def test_an_id_out_of_range_is_refused_as_onnxruntime_refuses_it(
    model, bad: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    feeds = token_inputs(np.random.default_rng(2))
    feeds["ids"][0, 3] = bad
    with pytest.raises(Exception, match="out of data bounds"):
        session(model).run(None, feeds)
    expected = (
        "'qnn.gather': 'e_word': indices element out of data bounds: an index is outside "
        f"[{-VOCAB}, {VOCAB - 1}], the {VOCAB} entries of axis 0"
    )
    monkeypatch.setattr(compiled_module, "PART_MIN_CHARS", 10**9)  # one unit
    compiled = compile_module(import_onnx(model), threads=1)
    out = np.full((1, TOKENS, WIDTH), 7.0, np.float32)
    with pytest.raises(ExecutionError, match="^" + re.escape(expected) + "$"):
        compiled(**feeds, out=[out])
    assert (out == 7.0).all()  # nothing written: the gather checks before any kernel runs on
    with pytest.raises(IRError, match=f"'e_word': .* index {bad} is outside"):
        run_function(import_onnx(model), feeds)
    # the same error from a function whose kernels are spread over several units
    monkeypatch.setattr(compiled_module, "PART_MIN_CHARS", 1)
    compiled_parts = compile_module(import_onnx(model), threads=1)
    assert compiled_parts.library.path != compiled.library.path
    compiled_parts(**token_inputs(np.random.default_rng(3)))  # a good call still runs after
    with pytest.raises(ExecutionError, match="out of data bounds"):
        compiled_parts(**feeds)


def ort_quantized(
    model: onnx.ModelProto,
    kind: str,
    samples,
    tmp: Path,
    weight_type: str = "QUInt8",
    exclude: tuple[str, ...] = (),
) -> tuple[onnx.ModelProto, Path]:
    """ONNX Runtime's quantized model (`quantize_static` QDQ / QOperator, or
    `quantize_dynamic`) and the calibration cache quantize_static wrote."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )

    source, target, cache = tmp / "float.onnx", tmp / f"{kind}.onnx", tmp / "cache.json"
    onnx.save(model, source)
    if kind == "dynamic":
        quantize_dynamic(str(source), str(target), weight_type=getattr(QuantType, weight_type))
        return onnx.load(target), cache

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.samples = iter(samples)

        def get_next(self):
            return next(self.samples, None)

    quantize_static(
        str(source),
        str(target),
        Reader(),
        quant_format=getattr(QuantFormat, kind),
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        calibration_cache_path=str(cache),
        nodes_to_exclude=list(exclude),
    )
    return onnx.load(target), cache


@pytest.mark.parametrize(
    ("kind", "boolean"),
    [("QDQ", False), ("QOperator", False), ("dynamic", False), ("dynamic", True)],
)
def test_onnxruntimes_quantized_models_run_as_onnxruntime_runs_them(
    kind: str, boolean: bool
) -> None:
    """QOperator and dynamic gather the embedding tables in their stored integers (the
    Gather's reader gives the table's scale); QDQ dequantizes them first."""
    logging.getLogger().setLevel(logging.ERROR)
    model = token_encoder(np.random.default_rng(5), boolean=boolean)
    rng = np.random.default_rng(4)
    samples = [token_inputs(rng) for _ in range(4)]
    with tempfile.TemporaryDirectory() as tmp:
        theirs, _ = ort_quantized(model, kind, samples, Path(tmp))
    tables = {n.input[0] for n in theirs.graph.node if n.op_type == "Gather"}
    if kind != "QDQ":
        assert "word_quantized" in tables
    feeds = token_inputs(rng)
    module = import_onnx(theirs)
    (expected,) = run_function(qnn_default(module), feeds)
    (got,) = compile_module(module, threads=1)(**feeds)
    assert np.array_equal(got, expected)
    if kind == "dynamic" and ort_saturates_u8s8():
        return  # ORT's AVX2 u8 x s8 kernel saturates its pair sums; ours does not
    (ort_result,) = session(theirs, optimized=True).run(None, feeds)
    assert np.array_equal(got.view(np.uint32), ort_result.view(np.uint32)), np.abs(
        got - ort_result
    ).max()


def test_calibration_and_quantizer_are_onnxruntimes(any_model, tmp_path: Path) -> None:
    """Our minmax ranges equal quantize_static's cache on every tensor; with that cache our
    quantizer writes ORT's QDQ and QOperator models (the same integer program). A boolean
    mask's float minimum makes ORT quantize the masked scores with a scale near 1e36 (ORT's
    model collapses every unmasked score into one step): in QDQ form that group stays the
    float simulation and ours equals ORT's model; ORT's QOperator QLinearAdd computes with
    the ratios of those scales, and ours equals ORT's model there too (and with the masked
    scores kept float)."""
    model = any_model
    boolean = any(n.op_type == "Where" and n.name == "where_mask" for n in model.graph.node)

    logging.getLogger().setLevel(logging.ERROR)
    rng = np.random.default_rng(6)
    samples = [token_inputs(rng) for _ in range(4)]
    path = tmp_path / "float.onnx"
    onnx.save(model, path)
    stacked = {k: np.stack([s[k] for s in samples]) for k in samples[0]}
    ours = calibrate(path, stacked, "minmax", progress=False)

    theirs = ort_ranges(path, samples, "minmax", {})
    assert set(ours) == set(theirs)
    for name, (lo, hi) in theirs.items():
        assert (ours[name].lowest, ours[name].highest) == (lo, hi), name

    feeds = token_inputs(rng)
    for fmt in ("QDQ", "QOperator"):
        theirs_model, cache = ort_quantized(model, fmt, samples, tmp_path)
        config = {"quant_format": fmt, "activation_type": "QUInt8", "weight_type": "QInt8"}
        mine = quantize(path, cache, config)
        (expected,) = run_function(qnn_default(import_onnx(theirs_model)), feeds)
        (got,) = compile_module(mine.module, threads=1)(**feeds)
        assert np.array_equal(got, expected), fmt
        if boolean and fmt == "QOperator":
            assert theirs["bias3"][0] == np.finfo(np.float32).min
            # the remedy the README gives for the scores' precision: they stay float
            exclude = ("masked", "softmax")
            theirs_model, cache = ort_quantized(model, fmt, samples, tmp_path, exclude=exclude)
            mine = quantize(path, cache, {**config, "nodes_to_exclude": list(exclude)})
            (expected,) = run_function(qnn_default(import_onnx(theirs_model)), feeds)
            (got,) = compile_module(mine.module, threads=1)(**feeds)
            assert np.array_equal(got, expected), "QOperator, masked scores float"


@pytest.mark.parametrize("rows", [1, 3])
@pytest.mark.parametrize("columns", [5, 8])
def test_a_gemm_of_a_dequantized_transposed_weight_sums_as_onnxruntime(rows, columns) -> None:
    """ORT prepacks only initializers: a DequantizeLinear's output is read as computed, and
    with one row and transB its one-row transposed-B kernel sums in lanes and a tree."""
    rng = np.random.default_rng(rows * columns)
    k = 37
    weights = {
        "wq": rng.integers(-127, 128, (columns, k)).astype(np.int8),
        "ws": np.array(0.013, np.float32),
        "b": normal(rng, columns),
    }
    node = helper.make_node
    nodes = [
        node("DequantizeLinear", ["wq", "ws"], ["w"]),
        node("Gemm", ["x", "w", "b"], ["y"], transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [rows, k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [rows, columns])],
        [numpy_helper.from_array(v, n) for n, v in weights.items()],
    )
    gemm = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    x = (rng.standard_normal((rows, k)) * 3).astype(np.float32)
    (expected,) = session(gemm).run(None, {"x": x})
    (got,) = compile_module(import_onnx(gemm), threads=1)(x=x)
    (interpreted,) = run_function(import_onnx(gemm), {"x": x})
    assert np.array_equal(got.view(np.uint32), expected.view(np.uint32))
    assert np.array_equal(interpreted.view(np.uint32), expected.view(np.uint32))


GATHER_IR = """func.func @f(%t: tensor<5x3x2x{elem}>, %i: tensor<2x2x{index}>) -> tensor<5x2x2x2x{elem}> {{
  %y = qnn.gather %t, %i {{axis = 1 : i64}} : tensor<5x3x2x{elem}>, tensor<2x2x{index}> -> tensor<5x2x2x2x{elem}>
  func.return %y : tensor<5x2x2x2x{elem}>
}}"""


@pytest.mark.parametrize("index", ["i32", "i64"])
@pytest.mark.parametrize("elem", ["f32", "!quant.uniform<u8:f32, 0.5:3>"])
def test_gather_kernel_is_the_reference_and_fails_located(index: str, elem: str) -> None:
    ir = GATHER_IR.format(elem=elem, index=index)
    compiled = compile_module(ir, name="g.mlir", threads=1)
    data_dtype = np.float32 if elem == "f32" else np.uint8
    data = np.arange(30).reshape(5, 3, 2).astype(data_dtype)
    rows = np.array([[0, -1], [2, -3]], np.int64 if index == "i64" else np.int32)
    (got,) = compiled(data, rows)
    assert np.array_equal(got, np.take(data, rows % 3, axis=1))
    (interpreted,) = run_function(ir, [data, rows])
    assert np.array_equal(got, interpreted)
    rows[1, 0] = 3
    message = (
        "g.mlir:2:8: error: 'qnn.gather': 'y': indices element out of data bounds: an index "
        "is outside [-3, 2], the 3 entries of axis 1"
    )
    with pytest.raises(ExecutionError) as raised:
        compiled(data, rows)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("ir", "message"),
    [
        (GATHER_IR.format(elem="f32", index="f32"), "indices must be i32 or i64, got f32"),
        (GATHER_IR.format(elem="f32", index="i16"), "indices must be i32 or i64, got i16"),
        (
            GATHER_IR.format(elem="f32", index="i64").replace("5x2x2x2xf32", "5x2x2xf32"),
            "result shape must be [5, 2, 2, 2], got [5, 2, 2]",
        ),
        (
            GATHER_IR.format(elem="f32", index="i64").replace("axis = 1", "axis = 3"),
            "axis 3 is not",
        ),
    ],
)
def test_gather_verifier_names_the_problem(ir: str, message: str) -> None:
    with pytest.raises(IRError, match=re.escape(message)):
        run_function(ir, [])


BOOLEAN_IR = """func.func @f(%a: tensor<{a}>, %b: tensor<{b}>, %c: tensor<{c}>) -> tensor<{y}> {{
  %y = {op} : tensor<{a}>, tensor<{b}>{c_type} -> tensor<{y}>
  func.return %y : tensor<{y}>
}}"""


@pytest.mark.parametrize(
    ("types", "op", "message"),
    [
        (
            ("2xi1", "2xi8", "1xi1", "2xi1"),
            'qnn.logical %a, %b {kind = "and"}',
            "rhs must be an i1 tensor",
        ),
        (("2xi1", "3xi1", "1xi1", "2xi1"), 'qnn.logical %a, %b {kind = "or"}', "do not broadcast"),
        (
            ("2xi1", "2xi1", "1xi1", "2xi1"),
            'qnn.logical %a, %b {kind = "nand"}',
            "kind must be one of 'and', 'or', 'xor', got 'nand'",
        ),
        (
            ("2xi1", "2xi1", "1xi1", "1xi1"),
            'qnn.logical %a, %b {kind = "and"}',
            "broadcast shape [2]",
        ),
        (
            ("2xi64", "2xf32", "2xf32", "2xf32"),
            "qnn.select %a, %b, %c",
            "cond must be an i1 tensor",
        ),
        (("2xi1", "2xf32", "2xi32", "2xf32"), "qnn.select %a, %b, %c", "false value must have"),
    ],
)
def test_boolean_verifiers_name_the_problem(types, op: str, message: str) -> None:
    a, b, c, y = types
    c_type = f", tensor<{c}>" if "select" in op else ""
    ir = BOOLEAN_IR.format(a=a, b=b, c=c, y=y, op=op, c_type=c_type)
    with pytest.raises(IRError, match=re.escape(message)):
        run_function(ir, [])


def test_broadcast_verifier_names_the_shapes() -> None:
    ir = """func.func @f(%x: tensor<2x3xf32>) -> tensor<4x3xf32> {
  %y = qnn.broadcast %x : tensor<2x3xf32> -> tensor<4x3xf32>
  func.return %y : tensor<4x3xf32>
}"""
    with pytest.raises(IRError, match=re.escape("input shape [2, 3] does not broadcast to [4, 3]")):
        run_function(ir, [])


@pytest.mark.parametrize("weight_type", ["QUInt8", "QInt8"])
@pytest.mark.parametrize("boolean", [False, True])
def test_our_quantize_dynamic_is_onnxruntimes(boolean: bool, weight_type: str) -> None:
    """Embedding tables stored as uint8 (GatherQuant), Gemm as MatMul + Add
    (`replace_gemm_with_matmul`), MatMuls of constant weights as MatMulInteger: the same
    integer program as ORT's quantize_dynamic, every tensor."""
    logging.getLogger().setLevel(logging.ERROR)
    model = token_encoder(np.random.default_rng(5), boolean=boolean)
    with tempfile.TemporaryDirectory() as tmp:
        theirs, _ = ort_quantized(model, "dynamic", [], Path(tmp), weight_type)
        onnx.save(model, Path(tmp) / "float.onnx")
        ours = quantize(
            Path(tmp) / "float.onnx", None, {"mode": "dynamic", "weight_type": weight_type}
        )
    assert "word_embeddings" in ours.summary.quantized
    assert "position_embeddings" in ours.summary.quantized
    feeds = token_inputs(np.random.default_rng(8))
    (expected,) = run_function(qnn_default(import_onnx(theirs)), feeds)
    (interpreted,) = run_function(qnn_default(ours.module), feeds)
    assert np.array_equal(interpreted, expected), np.abs(interpreted - expected).max()
    (got,) = compile_module(ours.module, threads=1)(**feeds)
    assert np.array_equal(got, expected)


def roberta_embeddings(rng: np.random.Generator) -> onnx.ModelProto:
    """RoBERTa's embeddings as transformers exports them: position ids counted from the token
    ids at run time, `cumsum(ids != pad) * (ids != pad) + pad` (Equal, Not, Cast to INT32,
    CumSum, Mul, Cast to INT64, Add), gathered from the position table; token types read from
    a buffer of zeros at those positions (GatherElements); then LayerNorm and a projection."""
    pad = 1
    w = {
        "word": normal(rng, VOCAB, WIDTH, scale=1.0),
        "positions": normal(rng, TOKENS + pad + 1, WIDTH, scale=0.5),
        "types": normal(rng, 1, WIDTH, scale=0.5),
        "type_buffer": np.zeros((1, TOKENS + pad + 1), np.int64),
        "pad": np.array(pad, np.int64),
        "axis": np.array(1, np.int32),
        "gamma": (1 + normal(rng, WIDTH, scale=0.1)).astype(np.float32),
        "beta": normal(rng, WIDTH, scale=0.1),
        "wp": normal(rng, WIDTH, WIDTH),
    }
    node = helper.make_node
    nodes = [
        node("Equal", ["ids", "pad"], ["is_pad"], name="is_pad"),
        node("Not", ["is_pad"], ["keep"], name="keep"),
        node("Cast", ["keep"], ["keep32"], to=TensorProto.INT32, name="keep_int"),
        node("CumSum", ["keep32", "axis"], ["count"], name="count"),
        node("Mul", ["count", "keep32"], ["kept"], name="kept"),
        node("Cast", ["kept"], ["kept64"], to=TensorProto.INT64, name="kept_long"),
        node("Add", ["kept64", "pad"], ["pos"], name="positions_ids"),
        node("GatherElements", ["type_buffer", "pos"], ["type_ids"], axis=1, name="type_ids"),
        node("Gather", ["word", "ids"], ["e_word"], name="word_embeddings"),
        node("Gather", ["positions", "pos"], ["e_pos"], name="position_embeddings"),
        node("Gather", ["types", "type_ids"], ["e_type"], name="token_type_embeddings"),
        node("Add", ["e_word", "e_type"], ["e1"], name="add_types"),
        node("Add", ["e1", "e_pos"], ["e2"], name="add_positions"),
        node("LayerNormalization", ["e2", "gamma", "beta"], ["h"], axis=-1, epsilon=1e-5),
        node("MatMul", ["h", "wp"], ["y"], name="projection"),
    ]
    graph = helper.make_graph(
        nodes,
        "roberta_embeddings",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, TOKENS])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, TOKENS, WIDTH])],
        [numpy_helper.from_array(v, k) for k, v in w.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)


def roberta_ids(rng: np.random.Generator) -> dict[str, np.ndarray]:
    ids = rng.integers(2, VOCAB, (1, TOKENS)).astype(np.int64)
    ids[0, int(rng.integers(3, TOKENS)) :] = 1  # padding at the end
    return {"ids": ids}


def test_position_ids_counted_at_run_time_are_onnxruntimes() -> None:
    """Float to the bit against ORT; ORT's dynamic and static models run as ORT runs them;
    our quantize_dynamic and quantize_static write ORT's."""
    logging.getLogger().setLevel(logging.ERROR)
    model = roberta_embeddings(np.random.default_rng(9))
    rng = np.random.default_rng(10)
    compiled = compile_module(import_onnx(model), threads=1)
    for _ in range(3):
        feeds = roberta_ids(rng)
        (expected,) = session(model).run(None, feeds)
        (got,) = compiled(**feeds)
        assert np.array_equal(got.view(np.uint32), expected.view(np.uint32))
    samples = [roberta_ids(rng) for _ in range(4)]
    feeds = roberta_ids(rng)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "float.onnx"
        onnx.save(model, path)
        for kind in ("dynamic", "QDQ", "QOperator"):
            theirs, cache = ort_quantized(model, kind, samples, Path(tmp), "QInt8")
            config = (
                {"mode": "dynamic"}
                if kind == "dynamic"
                else {"quant_format": kind, "activation_type": "QUInt8", "weight_type": "QInt8"}
            )
            ours = quantize(path, None if kind == "dynamic" else cache, config)
            (expected,) = run_function(qnn_default(import_onnx(theirs)), feeds)
            (got,) = compile_module(ours.module, threads=1)(**feeds)
            assert np.array_equal(got, expected), kind
            (theirs_compiled,) = compile_module(import_onnx(theirs), threads=1)(**feeds)
            assert np.array_equal(theirs_compiled, expected), kind


INTEGER_IR = """func.func @f(%ids: tensor<4x5xi64>, %x: tensor<4x5xf32>) -> (tensor<4x5xi64>, tensor<4x5xi32>, tensor<4x5xf32>, tensor<4x5xi1>, tensor<4x5xi16>) {
  %pad = arith.constant dense<3> : tensor<i64>
  %keep = qnn.compare %ids, %pad {kind = "greater_equal"} : tensor<4x5xi64>, tensor<i64> -> tensor<4x5xi1>
  %k = qnn.cast %ids : tensor<4x5xi64> -> tensor<4x5xi32>
  %c = qnn.cumsum %k {axis = 0 : i64, exclusive, reverse} : tensor<4x5xi32> -> tensor<4x5xi32>
  %m = qnn.integer_binary %c, %k {kind = "mul"} : tensor<4x5xi32>, tensor<4x5xi32> -> tensor<4x5xi32>
  %s = qnn.integer_binary %ids, %ids {kind = "sub"} : tensor<4x5xi64>, tensor<4x5xi64> -> tensor<4x5xi64>
  %p = qnn.integer_binary %ids, %pad {kind = "mul"} : tensor<4x5xi64>, tensor<i64> -> tensor<4x5xi64>
  %q = qnn.integer_binary %p, %s {kind = "add"} : tensor<4x5xi64>, tensor<4x5xi64> -> tensor<4x5xi64>
  %f = qnn.cumsum %x {axis = 1 : i64} : tensor<4x5xf32> -> tensor<4x5xf32>
  %narrow = qnn.cast %keep : tensor<4x5xi1> -> tensor<4x5xi16>
  func.return %q, %m, %f, %keep, %narrow : tensor<4x5xi64>, tensor<4x5xi32>, tensor<4x5xf32>, tensor<4x5xi1>, tensor<4x5xi16>
}"""


def test_integer_ops_wrap_and_sum_in_order_compiled_as_the_reference() -> None:
    rng = np.random.default_rng(12)
    ids = rng.integers(np.iinfo(np.int64).min, np.iinfo(np.int64).max, (4, 5), dtype=np.int64)
    ids[0] = [3, 2, 4, -1, 0]
    x = (rng.standard_normal((4, 5)) * 1e4).astype(np.float32)
    compiled = compile_module(INTEGER_IR, threads=1)
    got = compiled(ids, x)
    expected = run_function(INTEGER_IR, [ids, x])
    for a, b in zip(got, expected, strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert np.array_equal(got[3][0], [1, 0, 1, 0, 0])  # the comparison's booleans
    assert np.array_equal(got[0][0], ids[0] * 3)
    with np.errstate(over="ignore"):
        assert np.array_equal(got[0], ids * np.int64(3))  # wrapped, as numpy wraps


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
@pytest.mark.parametrize("op_type", ["Div", "Min", "Max"])
def test_integer_div_min_max_are_onnxruntimes(op_type: str, dtype) -> None:
    """Div truncates toward zero (-7 / 2 = -3), as ORT's kernel divides: compiled, reference
    and ORT agree; where ORT's kernel traps (by zero, MIN / -1), ours gives 0 and MIN."""
    rng = np.random.default_rng(5)
    info = np.iinfo(dtype)
    a = rng.integers(info.min, info.max, (3, 8), dtype=dtype)
    b = rng.integers(-9, 10, (1, 8), dtype=dtype)
    a[0, :4], b[0, :4] = [-7, 7, -7, 7], [2, -2, -2, 2]
    b[b == 0] = 5
    node = helper.make_node(op_type, ["a", "b"], ["y"])
    kind = TensorProto.INT32 if dtype == np.int32 else TensorProto.INT64
    graph = helper.make_graph(
        [node],
        "g",
        [
            helper.make_tensor_value_info("a", kind, [3, 8]),
            helper.make_tensor_value_info("b", kind, [1, 8]),
        ],
        [helper.make_tensor_value_info("y", kind, [3, 8])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    feeds = {"a": a, "b": b}
    (expected,) = run_ort(model, feeds)
    module = import_onnx(model)
    (got,) = compile_module(module, threads=1)(**feeds)
    (reference,) = run_function(module, feeds)
    assert got.dtype == expected.dtype and np.array_equal(got, expected)
    assert np.array_equal(reference, expected)
    if op_type == "Div":
        assert list(got[0, :4]) == [-3, -3, 3, 3]
        edge = {"a": np.array([[info.min, 5, -5, 0, 0, 0, 0, 0]], dtype).repeat(3, 0), "b": b * 0}
        edge["b"][0, 0] = -1
        (got,) = compile_module(module, threads=1)(**edge)
        (reference,) = run_function(module, edge)
        assert list(got[0, :3]) == [info.min, 0, 0] and np.array_equal(got, reference)


def test_booleans_cross_the_boundary_as_numpys_bool_as_onnxruntimes() -> None:
    """A BOOL graph input and output are numpy bool arrays, as ORT takes and gives them (not
    the int8 bytes both are held in), from the compiled function and the reference alike."""
    node = helper.make_node
    graph = helper.make_graph(
        [
            node("Greater", ["x", "zero"], ["positive"]),
            node("And", ["positive", "keep"], ["both"]),
            node("Where", ["both", "x", "zero"], ["y"]),
        ],
        "g",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 4]),
            helper.make_tensor_value_info("keep", TensorProto.BOOL, [3, 4]),
        ],
        [
            helper.make_tensor_value_info("both", TensorProto.BOOL, [3, 4]),
            helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 4]),
        ],
        [numpy_helper.from_array(np.zeros((), np.float32), "zero")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    rng = np.random.default_rng(13)
    feeds = {"x": rng.standard_normal((3, 4)).astype(np.float32), "keep": rng.random((3, 4)) < 0.5}
    expected = session(model).run(None, feeds)
    module = import_onnx(model)
    for got in (compile_module(module, threads=1)(**feeds), run_function(module, feeds)):
        for ours, theirs in zip(got, expected, strict=True):
            assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs)
    with pytest.raises(ExecutionError, match="keep"):
        compile_module(module, threads=1)(x=feeds["x"], keep=feeds["keep"].astype(np.int8))
