"""QuantizeLinear / DequantizeLinear spellings beyond opset 13's: `output_dtype` without a zero
point, 4- and 2-bit storage, float16 data and scales; compiled code and the reference
interpreter against ONNX Runtime (or ONNX's reference evaluator where ONNX Runtime has no
kernel), value for value."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

from qdialect.onnx_import import OnnxImportError, import_onnx
from runtime.compiled import compile_module
from runtime.reference import run_function

from .onnxruntime_session import run_ort
from .test_onnx_import import make_model

F = TensorProto.FLOAT


def run_both(model, feeds: dict) -> list[np.ndarray]:
    """The model's outputs from the reference interpreter, checked equal to compiled code's."""
    module = import_onnx(model)
    reference = run_function(module, feeds)
    compiled = compile_module(module)(**feeds)
    for ref, got in zip(reference, compiled, strict=True):
        assert ref.dtype == got.dtype and np.array_equal(ref, got)
    return reference


@pytest.mark.parametrize(
    ("dtype", "np_dtype"),
    [
        (TensorProto.INT8, np.int8),
        pytest.param(TensorProto.INT16, np.int16, marks=pytest.mark.slow),
        pytest.param(TensorProto.UINT16, np.uint16, marks=pytest.mark.slow),
    ],
)
def test_output_dtype_without_zero_point_sets_the_storage(dtype: int, np_dtype) -> None:
    """Opset 21: no zero point, `output_dtype` = INT8 is signed int8 arithmetic (zero point 0),
    not uint8's (which got 77 of these 132 values wrong by up to 128)."""
    node = helper.make_node("QuantizeLinear", ["x", "s"], ["y"], output_dtype=dtype)
    model = make_model([node], [("x", F, [11, 12])], [("y", dtype)], {"s": np.float32(0.5)}, 21)
    x = np.linspace(-100, 100, 132, dtype=np.float32).reshape(11, 12)
    x[0, :4] = [0.25, 0.75, -0.25, -0.75]  # ties to even
    (expected,) = run_ort(model, {"x": x})
    (got,) = run_both(model, {"x": x})
    assert expected.dtype == np_dtype and got.dtype == np_dtype
    assert np.array_equal(got, expected)
    info = np.iinfo(np_dtype)  # the signed types reach below zero, down to their minimum
    assert got.min() == np.clip(np.rint(x.min() / 0.5), info.min, info.max)


def test_output_dtype_must_be_the_zero_points_type() -> None:
    node = helper.make_node(
        "QuantizeLinear", ["x", "s", "z"], ["y"], name="q", output_dtype=TensorProto.INT8
    )
    inits = {"s": np.float32(0.5), "z": np.uint8(3)}
    model = make_model([node], [("x", F, [4])], [("y", TensorProto.INT8)], inits, 21)
    model.graph.output[0].type.tensor_type.elem_type = TensorProto.UINT8
    with pytest.raises(
        OnnxImportError,
        match=r"^node 'q' \(QuantizeLinear\): output zero point 'z' is uint8, but "
        r"output_dtype is int8$",
    ):
        import_onnx(model)


@pytest.mark.parametrize("opset", [pytest.param(19, marks=pytest.mark.slow), 21])
def test_float16_data_and_scales_match_onnxruntime(opset: int) -> None:
    """float16 x and scales: quantize divides in float32 (ONNX Runtime; ONNX's reference
    evaluator rounds the quotient to float16 first, and the data below hits the values where
    that changes the result), dequantize rounds its float32 result to float16."""
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], axis=0),
        helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"], axis=0),
    ]
    inits = {"s": np.array([0.37, 0.0123], np.float16), "z": np.array([128, 3], np.uint8)}
    outputs = [("q", TensorProto.UINT8), ("y", TensorProto.FLOAT16)]
    model = make_model(nodes, [("x", TensorProto.FLOAT16, [2, 500])], outputs, inits, opset)
    x = (np.random.default_rng(5).standard_normal((2, 500)) * [[40], [1.5]]).astype(np.float16)
    expected = run_ort(model, {"x": x})
    got = run_both(model, {"x": x})
    for want, have in zip(expected, got, strict=True):
        assert have.dtype == want.dtype and have.tobytes() == want.tobytes()
    (onnx_reference,) = ReferenceEvaluator(model).run(["q"], {"x": x})
    assert (onnx_reference != got[0]).any()


def test_dequantize_output_dtype_overrides_the_scales_type() -> None:
    """Opset 25: `output_dtype` FLOAT with a float16 scale gives float32, unrounded."""
    node = helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"], output_dtype=F)
    inits = {"s": np.float16(0.0123), "z": np.int8(-3)}
    model = make_model([node], [("q", TensorProto.INT8, [256])], [("y", F)], inits, 25)
    q = np.arange(-128, 128, dtype=np.int8)
    (expected,) = ReferenceEvaluator(model).run(None, {"q": q})
    (got,) = run_both(model, {"q": q})
    assert got.dtype == np.float32 and got.tobytes() == expected.tobytes()
    assert (got.astype(np.float16).astype(np.float32) != got).any()  # not float16 values


def test_saturate_is_ignored_for_integer_storage() -> None:
    """`saturate` applies to float8 only: an int8 QuantizeLinear with saturate=0 saturates."""
    node = helper.make_node("QuantizeLinear", ["x", "s", "z"], ["y"], saturate=0)
    inits = {"s": np.float32(0.5), "z": np.int8(0)}
    model = make_model([node], [("x", F, [3])], [("y", TensorProto.INT8)], inits, 21)
    x = np.array([-1000, 3.25, 1000], np.float32)
    (got,) = run_both(model, {"x": x})
    assert got.tolist() == np.clip(np.rint(x / 0.5), -128, 127).tolist()


@pytest.mark.parametrize(
    ("precision", "why"),
    [(TensorProto.FLOAT16, "FLOAT16"), (TensorProto.BFLOAT16, "BFLOAT16")],
)
def test_division_precision_other_than_float32_is_refused(precision: int, why: str) -> None:
    node = helper.make_node("QuantizeLinear", ["x", "s"], ["y"], name="q", precision=precision)
    model = make_model(
        [node], [("x", F, [3])], [("y", TensorProto.UINT8)], {"s": np.float32(1)}, 23
    )
    with pytest.raises(
        OnnxImportError,
        match=rf"^node 'q' \(QuantizeLinear\): attribute 'precision' = {why} is not imported: "
        r"the division is float32 \(FLOAT\), as ONNX Runtime computes it$",
    ):
        import_onnx(model)


def test_float6_storage_is_refused_by_name() -> None:
    node = helper.make_node(
        "QuantizeLinear", ["x", "s"], ["y"], name="q6", output_dtype=TensorProto.FLOAT6E2M3
    )
    model = make_model(
        [node], [("x", F, [3])], [("y", TensorProto.FLOAT6E2M3)], {"s": np.float32(1)}, 25
    )
    with pytest.raises(
        OnnxImportError,
        match=r"^node 'q6' \(QuantizeLinear\): float6 storage \(FLOAT6E2M3\) is not "
        r"representable in MLIR 22's quant.uniform$",
    ):
        import_onnx(model)
