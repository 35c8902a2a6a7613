"""The ONNX importer: exact IR for a small QOperator graph, every data-movement op and the
integer ops against ONNX Runtime bit for bit, and the errors a user meets."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from qdialect.float32_arrays import onnx_log
from qdialect.onnx_import import OnnxImportError, import_onnx
from qdialect.textio import print_module
from runtime.compiled import compile_module
from runtime.reference import run_function
from runtime.signature import ExecutionError

from .onnxruntime_session import run_ort


def make_model(nodes, inputs, outputs, inits=(), opset: int = 17) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs],
        [helper.make_tensor_value_info(n, t, None) for n, t in outputs],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in dict(inits).items()],
    )
    opsets = [helper.make_opsetid("", opset), helper.make_opsetid("com.microsoft", 1)]
    return helper.make_model(graph, opset_imports=opsets, ir_version=8)


def check_against_ort(model: onnx.ModelProto, feeds: dict) -> None:
    expected = run_ort(model, feeds)
    module = import_onnx(model)
    assert all(
        np.array_equal(a, b) for a, b in zip(run_function(module, feeds), expected, strict=True)
    )
    compiled = compile_module(module)
    assert all(np.array_equal(a, b) for a, b in zip(compiled(**feeds), expected, strict=True))


F, U8 = TensorProto.FLOAT, TensorProto.UINT8
SCALES = {"s": np.float32(0.05), "z": np.uint8(120)}


def test_qoperator_matmul_imports_as_this_ir() -> None:
    model = make_model(
        [
            helper.make_node("QuantizeLinear", ["in", "s", "z"], ["q"]),
            helper.make_node(
                "QLinearMatMul", ["q", "s", "z", "w", "ws", "wz", "ys", "yz"], ["m"], name="mm"
            ),
            helper.make_node("DequantizeLinear", ["m", "ys", "yz"], ["out"]),
        ],
        [("in", F, [2, 3])],
        [("out", F)],
        SCALES
        | {
            "w": np.array([[1, 200], [3, 4], [5, 6]], np.uint8),
            "ws": np.float32(0.5),
            "wz": np.uint8(128),
            "ys": np.float32(0.25),
            "yz": np.uint8(10),
        },
    )
    assert print_module(import_onnx(model)) == (
        "builtin.module {\n"
        '  func.func @main(%in: tensor<2x3xf32> {qnn.name = "in"}) -> (tensor<2x2xf32> {qnn.name = "out"}) {\n'
        "    %q = qnn.quantize %in : tensor<2x3xf32> -> tensor<2x3x!quant.uniform<u8:f32, 0.05000000074505806:120>>\n"
        "    %0 = arith.constant dense<[[1, -56], [3, 4], [5, 6]]> : tensor<3x2xi8>\n"
        "    %w = quant.scast %0 : tensor<3x2xi8> to tensor<3x2x!quant.uniform<u8:f32, 0.5:128>>\n"
        "    %m = qnn.dot %q, %w : tensor<2x3x!quant.uniform<u8:f32, 0.05000000074505806:120>>, tensor<3x2x!quant.uniform<u8:f32, 0.5:128>> -> tensor<2x2x!quant.uniform<u8:f32, 0.25:10>>\n"
        "    %out = qnn.dequantize %m : tensor<2x2x!quant.uniform<u8:f32, 0.25:10>> -> tensor<2x2xf32>\n"
        "    func.return %out : tensor<2x2xf32>\n"
        "  }\n"
        "}\n"
    )


def _movement_nodes(pad_mode: str) -> list:
    pad_inputs = ["t", "pads", "zq"] if pad_mode == "constant" else ["t", "pads"]
    return [
        helper.make_node("Reshape", ["a", "shape"], ["r"]),
        helper.make_node("Transpose", ["r"], ["t"], perm=[2, 0, 1]),
        helper.make_node("Pad", pad_inputs, ["p"], mode=pad_mode),
        helper.make_node("Unsqueeze", ["p", "ax0"], ["u"]),
        helper.make_node("Squeeze", ["u", "ax0"], ["sq"]),
        helper.make_node("Flatten", ["sq"], ["f"], axis=2),
    ]


MOVEMENT_INITS = {
    "shape": np.array([0, -1, 5], np.int64),
    "pads": np.array([1, 0, 2, 0, 1, 1], np.int64),
    "ax0": np.array([0], np.int64),
}


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "wrap"])
def test_data_movement_on_quantized_tensors_matches_onnxruntime(mode: str) -> None:
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s", "z"], ["a"]),
        *_movement_nodes(mode),
        helper.make_node("DequantizeLinear", ["f", "s", "z"], ["y"]),
    ]
    inits = SCALES | MOVEMENT_INITS | {"zq": np.uint8(7)}
    model = make_model(nodes, [("x", F, [2, 3, 4, 5])], [("y", F), ("f", U8)], inits)
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5)).astype(np.float32) * 4
    check_against_ort(model, {"x": x})


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "wrap"])
def test_data_movement_on_float_tensors_matches_onnxruntime(mode: str) -> None:
    nodes = [helper.make_node("Identity", ["x"], ["a"]), *_movement_nodes(mode)]
    inits = MOVEMENT_INITS | {"zq": np.float32(-2.5)}
    model = make_model(nodes, [("x", F, [2, 3, 4, 5])], [("f", F)], inits)
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 5)).astype(np.float32)
    check_against_ort(model, {"x": x})


def test_qdq_data_movement_folds_to_integer_moves() -> None:
    """DQ → Transpose → Q (QDQ format) moves the stored values: no float left."""
    nodes = [
        helper.make_node("DequantizeLinear", ["x", "s", "z"], ["d"]),
        helper.make_node("Transpose", ["d"], ["t"], perm=[1, 0]),
        helper.make_node("QuantizeLinear", ["t", "s", "z"], ["y"]),
    ]
    model = make_model(nodes, [("x", U8, [3, 4])], [("y", U8)], SCALES)
    x = np.random.default_rng(2).integers(0, 256, (3, 4), dtype=np.uint8)
    check_against_ort(model, {"x": x})
    text = str(compile_module(import_onnx(model)).function)
    assert "qnn.transpose" in text and "xf32>" not in text and "dequantize" not in text


def test_integer_and_qlinear_contrib_ops_match_onnxruntime() -> None:
    rng = np.random.default_rng(3)
    inits = SCALES | {
        "w": rng.integers(0, 256, (4, 2, 3, 3), dtype=np.uint8),
        "wz": np.uint8(131),
        "m": rng.integers(0, 256, (48, 5), dtype=np.uint8),
        "ys": np.float32(0.1),
        "yz": np.uint8(100),
        "zs": np.float32(0.2),
        "zz": np.uint8(90),
        "k": rng.integers(0, 256, (1, 4, 1, 1), dtype=np.uint8),
    }
    nodes = [
        helper.make_node("ConvInteger", ["x", "w", "z", "wz"], ["ci"], pads=[1, 1, 1, 1]),
        helper.make_node("Reshape", ["x", "flat"], ["xf"]),
        helper.make_node("MatMulInteger", ["xf", "m", "z"], ["mi"]),
        helper.make_node(
            "QLinearConcat",
            ["ys", "yz", "x", "s", "z", "x", "zs", "zz"],
            ["cat"],
            axis=1,
            domain="com.microsoft",
        ),
        helper.make_node(
            "QLinearAveragePool",
            ["cat", "ys", "yz", "zs", "zz"],
            ["pool"],
            kernel_shape=[2, 2],
            strides=[2, 2],
            pads=[1, 1, 0, 0],
            domain="com.microsoft",
        ),
        helper.make_node(
            "QLinearAdd",
            ["pool", "zs", "zz", "k", "s", "z", "ys", "yz"],
            ["sum"],
            domain="com.microsoft",
        ),
        helper.make_node(
            "QLinearGlobalAveragePool",
            ["sum", "ys", "yz", "zs", "zz"],
            ["gap"],
            channels_last=0,
            domain="com.microsoft",
        ),
    ]
    inits["flat"] = np.array([1, 48], np.int64)
    outputs = [("ci", TensorProto.INT32), ("mi", TensorProto.INT32), ("sum", U8), ("gap", U8)]
    model = make_model(nodes, [("x", U8, [1, 2, 4, 6])], outputs, inits)
    x = rng.integers(0, 256, (1, 2, 4, 6), dtype=np.uint8)
    check_against_ort(model, {"x": x})


def test_unsupported_ops_are_listed_together() -> None:
    nodes = [
        helper.make_node("MaxRoiPool", ["x"], ["a"], name="roi"),
        helper.make_node("LpPool", ["a"], ["b"], name="pool", kernel_shape=[1, 1]),
        helper.make_node("DFT", ["b"], ["y"]),
    ]
    model = make_model(nodes, [("x", F, [2, 2])], [("y", F)], SCALES)
    with pytest.raises(OnnxImportError) as err:
        import_onnx(model)
    assert str(err.value) == (
        "3 unsupported node(s): MaxRoiPool (node 'roi'); LpPool (node 'pool'); DFT (node #2)"
    )


def test_scales_must_be_constant_initializers() -> None:
    """(QuantizeLinear alone takes a run-time scale: tests/numeric/test_float_math.py.)"""
    nodes = [helper.make_node("DequantizeLinear", ["q", "sx", "z"], ["y"], name="dequant_q")]
    model = make_model(nodes, [("q", U8, [2]), ("sx", F, [])], [("y", F)], {"z": np.uint8(0)})
    with pytest.raises(
        OnnxImportError,
        match=r"^node 'dequant_q' \(DequantizeLinear\): input scale 'sx' must be a constant initializer$",
    ):
        import_onnx(model)


def test_dynamic_input_dimensions_are_refused_with_advice() -> None:
    model = make_model([helper.make_node("Relu", ["x"], ["y"])], [("x", F, ["N", 3])], [("y", F)])
    with pytest.raises(OnnxImportError, match="graph input 'x' has a dynamic dimension 'N'"):
        import_onnx(model)


def test_not_a_model() -> None:
    with pytest.raises(OnnxImportError, match="^not an ONNX model"):
        import_onnx(b"\x08\x07garbage that is not protobuf \xff\xff")
    with pytest.raises(OnnxImportError, match="cannot read 'missing.onnx'"):
        import_onnx("missing.onnx")


def test_exported_shape_arithmetic_is_folded() -> None:
    """PyTorch's flatten (Shape → Gather → Unsqueeze → Concat → Reshape) on a static shape."""
    nodes = [
        helper.make_node("GlobalMaxPool", ["x"], ["g"]),
        helper.make_node("Dropout", ["g"], ["d"]),
        helper.make_node("Shape", ["d"], ["shape"]),
        helper.make_node("Gather", ["shape", "zero"], ["batch"], axis=0),
        helper.make_node("Unsqueeze", ["batch", "zero_axis"], ["batch1"]),
        helper.make_node("Concat", ["batch1", "minus_one"], ["target"], axis=0),
        helper.make_node("Reshape", ["d", "target"], ["flat"]),
        helper.make_node("QuantizeLinear", ["flat", "s", "z"], ["q"]),
        helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"]),
    ]
    inits = SCALES | {
        "zero": np.int64(0),
        "zero_axis": np.array([0], np.int64),
        "minus_one": np.array([-1], np.int64),
    }
    model = make_model(nodes, [("x", F, [2, 3, 4, 5])], [("y", F)], inits)
    x = np.random.default_rng(4).standard_normal((2, 3, 4, 5)).astype(np.float32) * 3
    check_against_ort(model, {"x": x})
    assert "-> tensor<2x3xf32>" in print_module(import_onnx(model)).split("tensor.reshape")[1]


def test_integer_shape_arithmetic_folds_by_onnxs_rules() -> None:
    """torch.chunk's and attention's size arithmetic: Div truncates toward zero (8 / -3 is
    -2, not numpy's -3), Mod takes the divisor's sign (fmod=1: the dividend's), and Where,
    Equal, Expand, Range and Neg fold too; the sizes they compute cut and shape the tensor."""
    node = helper.make_node
    nodes = [
        node("Shape", ["x"], ["shape"]),
        node("Gather", ["shape", "one"], ["c"], axis=0),  # 8
        node("Div", ["c", "minus3"], ["q"]),  # -2
        node("Neg", ["q"], ["two"]),  # 2
        node("Mod", ["c", "minus3"], ["r"]),  # -1
        node("Mod", ["c", "minus3"], ["f"], fmod=1),  # 2
        node("Add", ["two", "f"], ["four"]),  # 4
        node("Equal", ["r", "minus1"], ["odd"]),
        node("Where", ["odd", "two", "c"], ["rows"]),  # 2
        node("Range", ["zero", "rows", "one"], ["steps"]),  # [0, 1]
        node("Shape", ["steps"], ["count"]),  # [2]
        node("Unsqueeze", ["four", "zero_axis"], ["end_c"]),
        node("Concat", ["end_c", "count"], ["ends"], axis=0),
        node("Slice", ["x", "starts", "ends", "axes"], ["s"]),  # [1, 4, 2, 4]
        node("Expand", ["one_1", "count"], ["ones"]),  # [1, 1]
        node("Concat", ["ones", "minus1_1"], ["target"], axis=0),
        node("Reshape", ["s", "target"], ["y"]),  # [1, 1, 32]
    ]
    inits = {
        "one": np.int64(1), "zero": np.int64(0), "minus3": np.int64(-3), "minus1": np.int64(-1),
        "zero_axis": np.array([0], np.int64), "starts": np.array([0, 0], np.int64),
        "axes": np.array([1, 2], np.int64), "one_1": np.array([1], np.int64),
        "minus1_1": np.array([-1], np.int64),
    }  # fmt: skip
    model = make_model(nodes, [("x", F, [1, 8, 4, 4])], [("y", F)], inits)
    x = np.random.default_rng(5).standard_normal((1, 8, 4, 4)).astype(np.float32)
    check_against_ort(model, {"x": x})
    assert "-> tensor<1x1x32xf32>" in print_module(import_onnx(model))


def test_integer_reductions_of_shapes_fold() -> None:
    """torch's `var()` divides by the product of the reduced sizes (ReduceProd of a gathered
    shape, then Cast); ReduceSum with axes as an input (opset 13), ReduceMax/Min keeping their
    axis: all integer constants, so the division sees a constant."""
    node = helper.make_node
    nodes = [
        node("Shape", ["x"], ["shape"]),
        node("Gather", ["shape", "hw"], ["sizes"], axis=0),  # [4, 6]
        node("ReduceProd", ["sizes"], ["n"], keepdims=0),  # 24
        node("ReduceSum", ["sizes", "axis0"], ["sum"], keepdims=0),  # 10
        node("ReduceMax", ["sizes"], ["top"], keepdims=1),  # [6]
        node("ReduceMin", ["sizes"], ["low"], keepdims=1),  # [4]
        node("Sub", ["top", "low"], ["gap"]),  # [2]
        node("Mul", ["n", "sum"], ["n10"]),
        node("Mul", ["n10", "gap"], ["d"]),  # [480]
        node("Cast", ["d"], ["df"], to=TensorProto.FLOAT),
        node("Div", ["x", "df"], ["y"]),
    ]
    inits = {"hw": np.array([2, 3], np.int64), "axis0": np.array([0], np.int64)}
    model = make_model(nodes, [("x", F, [1, 2, 4, 6])], [("y", F)], inits, opset=13)
    x = np.random.default_rng(4).standard_normal((1, 2, 4, 6)).astype(np.float32)
    check_against_ort(model, {"x": x})
    assert "dense<4.800000e+02>" in print_module(import_onnx(model))


def test_a_folded_integer_read_as_a_float_is_named_as_such() -> None:
    nodes = [
        helper.make_node("Shape", ["x"], ["shape"]),
        helper.make_node("Add", ["x", "shape"], ["y"], name="add"),
    ]
    model = make_model(nodes, [("x", F, [4])], [("y", F)], {})
    with pytest.raises(
        OnnxImportError,
        match=r"^node 'add' \(Add\): int64 constant node output 'shape' is used where",
    ):
        import_onnx(model)


def test_run_time_shape_arithmetic_is_refused_by_name() -> None:
    nodes = [helper.make_node("ConstantOfShape", ["x"], ["y"], name="fill")]
    model = make_model(nodes, [("x", TensorProto.INT64, [2])], [("y", F)], {})
    with pytest.raises(OnnxImportError, match=r"^node 'fill' \(ConstantOfShape\): imported only"):
        import_onnx(model)


@pytest.mark.parametrize(
    ("elem", "fmod"), [(TensorProto.FLOAT, 1), (TensorProto.INT64, 0), (TensorProto.INT32, 1)]
)
def test_mod_of_run_time_tensors_is_onnxruntimes(elem: int, fmod: int) -> None:
    """Mod of a run-time tensor: fmodf of floats, the remainder with the divisor's sign (fmod 0)
    or the dividend's (1) of integers, both signs on both sides."""
    dtype = helper.tensor_dtype_to_np_dtype(elem)
    divisors = np.array([3, -3, 7, -2, 5, 4], dtype)
    nodes = [helper.make_node("Mod", ["x", "s"], ["y"], fmod=fmod)]
    model = make_model(nodes, [("x", elem, [4, 6])], [("y", elem)], {"s": divisors})
    rng = np.random.default_rng(45)
    x = (rng.standard_normal((4, 6)) * 20).astype(dtype)
    (ours,) = compile_module(import_onnx(model))(x)
    (expected,) = run_ort(model, {"x": x})
    assert ours.dtype == expected.dtype and np.array_equal(ours.view(dtype), expected)


@pytest.mark.parametrize("elem", [TensorProto.INT32, TensorProto.INT64])
def test_bit_shifts_and_bitwise_ops_follow_onnxs_reference(elem: int) -> None:
    """BitShift of run-time integers by counts in and out of [0, width) (0 past it, or -1 for
    a negative value shifted right; a left shift wraps), with broadcasting, counts computed
    by folding a shift of constants; BitwiseAnd/Or/Xor/Not: ONNX's reference evaluator's
    values (ORT has no signed BitShift kernel)."""
    dtype = helper.tensor_dtype_to_np_dtype(elem)
    width = dtype.itemsize * 8
    counts = np.array([[0], [1], [width - 1], [width], [width + 5], [-1], [-width]], dtype)
    nodes = [
        helper.make_node("BitShift", ["one", "c"], ["c2"], direction="LEFT"),  # folds: 2c
        helper.make_node("BitShift", ["x", "c"], ["l"], direction="LEFT"),
        helper.make_node("BitShift", ["x", "c2"], ["r"], direction="RIGHT"),
        helper.make_node("BitwiseAnd", ["l", "r"], ["a"]),
        helper.make_node("BitwiseOr", ["a", "x"], ["o"]),
        helper.make_node("BitwiseXor", ["o", "l"], ["e"]),
        helper.make_node("BitwiseNot", ["e"], ["y"]),
    ]
    model = make_model(
        nodes,
        [("x", elem, [1, 6])],
        [("l", elem), ("r", elem), ("y", elem)],
        {"c": counts, "one": np.array(1, dtype)},
        opset=18,
    )
    x = np.array([[5, -7, 1, -1, np.iinfo(dtype).min, np.iinfo(dtype).max]], dtype)
    expected = ReferenceEvaluator(model).run(None, {"x": x})
    module = import_onnx(model)
    for ours in (compile_module(module)(x), run_function(module, {"x": x})):
        for got, want in zip(ours, expected, strict=True):
            assert got.dtype == want.dtype and np.array_equal(got, want)


def test_expand_of_a_run_time_tensor_is_a_broadcast() -> None:
    nodes = [helper.make_node("Expand", ["x", "s"], ["y"], name="widen")]
    model = make_model(nodes, [("x", F, [4])], [("y", F)], {"s": np.array([2, 4], np.int64)})
    x = np.arange(4, dtype=np.float32)
    (y,) = compile_module(import_onnx(model))(x)
    (expected,) = run_ort(model, {"x": x})
    assert np.array_equal(y, expected) and y.shape == (2, 4)


@pytest.mark.parametrize(
    ("indices", "axis"),
    [(np.int64(0), 1), (np.array([2, 3, -1, 0], np.int64), 1), (np.array([[1, 2], [0, 0]]), 2)],
    ids=["class_token", "runs", "matrix"],
)
def test_gather_at_constant_indices_matches_onnxruntime(indices, axis) -> None:
    """A scalar index drops the axis; runs of consecutive indices are one slice each."""
    nodes = [
        helper.make_node("Relu", ["x"], ["r"]),
        helper.make_node("Gather", ["r", "i"], ["y"], axis=axis),
    ]
    model = make_model(nodes, [("x", F, [2, 5, 4])], [("y", F)], {"i": indices})
    x = np.random.default_rng(6).standard_normal((2, 5, 4)).astype(np.float32)
    check_against_ort(model, {"x": x})


@pytest.mark.parametrize("elem", [TensorProto.INT32, TensorProto.INT64])
def test_gather_of_run_time_integers_at_constant_indices_matches_onnxruntime(elem: int) -> None:
    """Integers (token ids, a shape computed at run time) have no concat of slices: one gather
    (GatherND's flat positions too, as ONNX's own backend case test_gathernd_example_int32)."""
    nodes = [
        helper.make_node("Gather", ["x", "i"], ["y"], axis=1),
        helper.make_node("GatherND", ["x", "n"], ["z"]),
    ]
    inits = {"i": np.array([[0, 4], [-1, 2]], np.int64), "n": np.array([[0, 0], [2, 3]], np.int64)}
    model = make_model(nodes, [("x", elem, [3, 5])], [("y", elem), ("z", elem)], inits)
    dtype = np.int32 if elem == TensorProto.INT32 else np.int64
    check_against_ort(model, {"x": (np.arange(15, dtype=dtype).reshape(3, 5) * 7 - 40)})


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "wrap"])
def test_negative_pads_crop_as_onnxruntime(mode: str) -> None:
    """A negative pad crops: the slice first, then the other pads onto it (edge, reflect and
    wrap read the slice, as ORT's kernel does); a crop and a pad on one axis, and on two."""
    nodes = [
        helper.make_node("Pad", ["x", "p"], ["y"], mode=mode),
        helper.make_node("Pad", ["x", "q"], ["z"], mode=mode),
    ]
    inits = {
        "p": np.array([0, 0, 1, -1, 0, 0, -2, 1], np.int64),
        "q": np.array([0, -1, -1, 2, 0, 0, 1, -3], np.int64),
    }
    model = make_model(nodes, [("x", F, [1, 2, 5, 6])], [("y", F), ("z", F)], inits, opset=19)
    x = np.random.default_rng(3).standard_normal((1, 2, 5, 6)).astype(np.float32)
    check_against_ort(model, {"x": x})


def test_an_initializer_may_be_a_graph_output() -> None:
    model = make_model(
        [helper.make_node("Relu", ["x"], ["y"])],
        [("x", F, [2, 3])],
        [("y", F), ("w", F)],
        {"w": np.array([0.5, -2.0], np.float32)},
    )
    check_against_ort(model, {"x": np.ones((2, 3), np.float32)})


def test_gather_indices_out_of_range_are_refused() -> None:
    nodes = [helper.make_node("Gather", ["x", "i"], ["y"], axis=0, name="pick")]
    model = make_model(nodes, [("x", F, [4])], [("y", F)], {"i": np.array([1, 4], np.int64)})
    with pytest.raises(
        OnnxImportError, match=r"indices \[1, 4\] out of range for axis 0 of size 4"
    ):
        import_onnx(model)


def _slice_and_split_model(opset: int) -> onnx.ModelProto:
    """Slices (negative indices and steps, an end past the axis, an axes subset) and Splits
    (given sizes; equal parts) of a run-time tensor, concatenated back so every piece counts."""
    nodes = [
        helper.make_node("Slice", ["a", "starts", "ends", "axes", "steps"], ["s1"]),
        helper.make_node("Slice", ["a", "starts2", "ends2"], ["s2"]),
        helper.make_node("Split", ["a", "sizes"], ["p1", "p2"], axis=1),
    ]
    if opset >= 18:
        nodes.append(helper.make_node("Split", ["a"], ["e1", "e2", "e3"], axis=-1, num_outputs=3))
    else:
        nodes.append(helper.make_node("Split", ["a"], ["e1", "e2", "e3"], axis=-1))
    flat = [n for n in ("s1", "s2", "p1", "p2", "e1", "e2", "e3")]
    for name in flat:
        nodes.append(helper.make_node("Flatten", [name], [f"{name}_f"], axis=0))
    nodes.append(helper.make_node("Concat", [f"{n}_f" for n in flat], ["y0"], axis=1))
    nodes.insert(0, helper.make_node("Relu", ["x"], ["a"]))
    nodes.append(helper.make_node("Identity", ["y0"], ["y"]))
    inits = {
        "starts": np.array([-1, 4], np.int64),
        "ends": np.array([-1000, 1], np.int64),
        "axes": np.array([1, -1], np.int64),
        "steps": np.array([-2, -1], np.int64),
        "starts2": np.array([0, 1, 0, 2], np.int64),
        "ends2": np.array([1, 1000, 3, 6], np.int64),
        "sizes": np.array([1, 2], np.int64),
    }
    return make_model(nodes, [("x", F, [2, 3, 4, 6])], [("y", F)], inits, opset)


@pytest.mark.parametrize("opset", [13, 18])
def test_slice_and_split_of_run_time_tensors_match_onnxruntime(opset: int) -> None:
    model = _slice_and_split_model(opset)
    x = np.random.default_rng(8).standard_normal((2, 3, 4, 6)).astype(np.float32)
    check_against_ort(model, {"x": x})
    assert print_module(import_onnx(model)).count("qnn.slice") == 7


def test_qdq_slice_folds_to_an_integer_slice() -> None:
    nodes = [
        helper.make_node("DequantizeLinear", ["x", "s", "z"], ["d"]),
        helper.make_node("Slice", ["d", "starts", "ends", "axes", "steps"], ["t"]),
        helper.make_node("QuantizeLinear", ["t", "s", "z"], ["y"]),
    ]
    inits = SCALES | {
        "starts": np.array([3], np.int64),
        "ends": np.array([0], np.int64),
        "axes": np.array([1], np.int64),
        "steps": np.array([-2], np.int64),
    }
    model = make_model(nodes, [("x", U8, [3, 4])], [("y", U8)], inits)
    x = np.random.default_rng(9).integers(0, 256, (3, 4), dtype=np.uint8)
    check_against_ort(model, {"x": x})
    text = str(compile_module(import_onnx(model)).function)
    assert "qnn.slice" in text and "xf32>" not in text and "dequantize" not in text


def test_constant_of_shape_and_transposed_constants_fold() -> None:
    """What torch's export of `F.pad` writes before `quant_pre_process` folds it."""
    nodes = [
        helper.make_node(
            "ConstantOfShape",
            ["count"],
            ["zeros"],
            value=helper.make_tensor("v", TensorProto.INT64, [1], [0]),
        ),
        helper.make_node("Concat", ["pads", "zeros"], ["pads8"], axis=0),
        helper.make_node("Transpose", ["w"], ["wt"], perm=[1, 0]),
        helper.make_node("Pad", ["x", "pads8"], ["p"]),
        helper.make_node("MatMul", ["p", "wt"], ["y"]),
    ]
    inits = {
        "count": np.array([2], np.int64),
        "pads": np.array([0, 0], np.int64),
        "w": np.arange(12, dtype=np.float32).reshape(4, 3) / 10,
    }
    model = make_model(nodes, [("x", F, [2, 3])], [("y", F)], inits)
    x = np.random.default_rng(10).standard_normal((2, 3)).astype(np.float32)
    module = import_onnx(model)
    assert "ConstantOfShape" not in print_module(module)
    (got,) = compile_module(module)(x)
    (expected,) = run_function(module, {"x": x})
    assert np.array_equal(got, expected)
    np.testing.assert_allclose(got, x @ inits["w"].T, rtol=1e-6, atol=1e-6)


def test_a_slice_with_a_bad_step_is_refused_by_name() -> None:
    node = helper.make_node("Slice", ["x", "st", "en", "ax", "sp"], ["y"], name="cut")
    inits = {
        "st": np.array([0], np.int64),
        "en": np.array([2], np.int64),
        "ax": np.array([0], np.int64),
        "sp": np.array([0], np.int64),
    }
    model = make_model([node], [("x", F, [4])], [("y", F)], inits)
    with pytest.raises(OnnxImportError, match=r"^node 'cut' \(Slice\): a step of 0$"):
        import_onnx(model)


def _conv_bn_relu(rng: np.random.Generator) -> onnx.ModelProto:
    """A BatchNormalization left in after a conv (what a torch export holds before
    `quant_pre_process` folds it)."""
    inits = {
        "w": (rng.standard_normal((4, 3, 3, 3)) * 0.3).astype(np.float32),
        "gamma": (rng.standard_normal(4) * 0.5 + 1).astype(np.float32),
        "beta": (rng.standard_normal(4) * 0.1).astype(np.float32),
        "mean": (rng.standard_normal(4) * 0.2).astype(np.float32),
        "var": (rng.random(4) + 0.5).astype(np.float32),
    }
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1], name="conv"),
        helper.make_node(
            "BatchNormalization",
            ["c", "gamma", "beta", "mean", "var"],
            ["b"],
            name="bn",
            epsilon=1e-3,
        ),
        helper.make_node("Relu", ["b"], ["y"], name="relu"),
    ]
    return make_model(nodes, [("x", F, [1, 3, 6, 6])], [("y", F)], inits)


def test_batch_normalization_is_onnxruntimes_to_float_rounding() -> None:
    model = _conv_bn_relu(np.random.default_rng(20))
    x = np.random.default_rng(21).standard_normal((1, 3, 6, 6)).astype(np.float32)
    module = import_onnx(model)
    (got,) = compile_module(module)(x)
    (reference,) = run_function(module, {"x": x})
    assert np.array_equal(got, reference)
    (expected,) = run_ort(model, {"x": x})
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_qdq_batch_normalization_runs_as_onnxruntime_within_one_step() -> None:
    """`quantize_static` (QDQ) quantizes a BatchNormalization's scale and bias too: the
    importer reads them through their DequantizeLinear."""
    from .test_quantize_static import ort_quantized

    rng = np.random.default_rng(22)
    model = _conv_bn_relu(rng)
    samples = [{"x": rng.standard_normal((1, 3, 6, 6)).astype(np.float32)} for _ in range(4)]
    config = {"quant_format": "QDQ", "per_channel": False, "reduce_range": True,
              "activation_type": "QUInt8"}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        qmodel, _ = ort_quantized(model, samples, config, Path(tmp))
    assert any(n.op_type == "BatchNormalization" for n in qmodel.graph.node)
    x = rng.standard_normal((1, 3, 6, 6)).astype(np.float32)
    (expected,) = run_ort(qmodel, {"x": x})
    module = import_onnx(qmodel)
    (got,) = compile_module(module)(x)
    (reference,) = run_function(module, {"x": x})
    assert np.array_equal(got, reference)
    step = float(numpy_helper.to_array(next(
        t for t in qmodel.graph.initializer if t.name == "y_scale")))  # fmt: skip
    assert np.abs(got - expected).max() <= step * 1.001


@pytest.mark.parametrize(
    ("attributes", "scales", "sizes"),
    [
        ({}, [1, 1, 2, 2], None),  # ONNX's defaults: half_pixel, round_prefer_floor
        ({"coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}, [1, 1, 2, 3],
         None),  # torch's nearest upsampling
        ({"coordinate_transformation_mode": "pytorch_half_pixel"}, None, [2, 3, 8, 5]),
        # not whole-number repeats: the picked rows and columns, gathered
        ({"nearest_mode": "floor"}, [1, 1, 2, 2], None),  # half_pixel: 0 0 0 1 1 2 ...
        ({}, [1, 1, 1.5, 1.7], None),
        ({"nearest_mode": "round_prefer_ceil"}, None, [2, 3, 6, 7]),
        ({"coordinate_transformation_mode": "align_corners"}, None, [2, 3, 7, 9]),
        ({"coordinate_transformation_mode": "asymmetric", "nearest_mode": "ceil"}, None,
         [2, 3, 3, 4]),  # downsampling
        ({"coordinate_transformation_mode": "tf_half_pixel_for_nn"}, [1, 1, 0.5, 0.6], None),
    ],
)  # fmt: skip
def test_nearest_upsampling_matches_onnxruntime(attributes, scales, sizes) -> None:
    """On float and on quantized (uint8) tensors alike: moves only."""
    inputs = ["q", "", "scales" if scales else "", *(["sizes"] if sizes else [])]
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"]),
        helper.make_node("Resize", inputs, ["r"], mode="nearest", **attributes),
        helper.make_node("DequantizeLinear", ["r", "s", "z"], ["y"]),
        helper.make_node("Resize", ["x", *inputs[1:]], ["f"], mode="nearest", **attributes),
    ]
    inits = SCALES | ({"scales": np.array(scales, np.float32)} if scales else {})
    inits |= {"sizes": np.array(sizes, np.int64)} if sizes else {}
    model = make_model(nodes, [("x", F, [2, 3, 4, 5])], [("y", F), ("f", F), ("r", U8)], inits)
    x = np.random.default_rng(23).standard_normal((2, 3, 4, 5)).astype(np.float32)
    check_against_ort(model, {"x": x})


@pytest.mark.parametrize(
    ("attributes", "scales", "sizes"),
    [
        ({"axes": [2, 3]}, None, [8, 10]),
        ({"axes": [-1, -2]}, [2.0, 3.0], None),
        ({"keep_aspect_ratio_policy": "not_larger"}, None, [1, 3, 12, 20]),
        ({"keep_aspect_ratio_policy": "not_smaller"}, None, [1, 3, 12, 12]),
        ({"axes": [3, 2], "keep_aspect_ratio_policy": "not_smaller", "mode": "linear"}, None,
         [7, 9]),
    ],
)  # fmt: skip
def test_resize_axes_and_aspect_ratio_policy_are_onnxruntimes(attributes, scales, sizes) -> None:
    """Opset 18's `axes` (the scales or sizes of some axes, the others kept) and
    `keep_aspect_ratio_policy` (one scale for the named axes, the smallest or the largest):
    shapes and values equal ORT's."""
    attributes = {"mode": "nearest"} | attributes
    inputs = ["x", "", "scales" if scales else "", *(["sizes"] if sizes else [])]
    inits = {"scales": np.array(scales, np.float32)} if scales else {}
    inits |= {"sizes": np.array(sizes, np.int64)} if sizes else {}
    node = helper.make_node("Resize", inputs, ["y"], **attributes)
    model = make_model([node], [("x", F, [1, 3, 4, 5])], [("y", F)], inits, opset=19)
    x = np.random.default_rng(24).standard_normal((1, 3, 4, 5)).astype(np.float32)
    check_against_ort(model, {"x": x})


@pytest.mark.parametrize(
    ("attributes", "scales", "reason"),
    [
        ({"mode": "lanczos"}, [1, 1, 2, 2],
         r"mode 'lanczos' is not imported \(only 'nearest', 'linear' and 'cubic'\)"),
        ({"mode": "linear"}, [1, 2, 2, 2], r"linear mode is imported for NCHW tensors resized "
         r"over H and W only, got \[1, 2, 4, 4\] -> \[1, 4, 8, 8\]"),
        ({"mode": "linear", "coordinate_transformation_mode": "tf_crop_and_resize"}, [1, 1, 2, 2],
         r"coordinate_transformation_mode 'tf_crop_and_resize' is not imported for linear mode"),
        ({"mode": "nearest", "coordinate_transformation_mode": "tf_crop_and_resize"},
         [1, 1, 2, 2], r"coordinate_transformation_mode 'tf_crop_and_resize' is not imported for "
         r"nearest mode"),
        ({"mode": "linear", "antialias": 1}, [1, 1, 0.5, 0.5],
         r"linear mode with antialias=1 is not imported"),
        ({"axes": [2, 3]}, [1, 1, 2, 2], r"'scales' has 4 values for 2 axes"),
    ],
)  # fmt: skip
def test_other_resizes_are_refused_by_name(attributes, scales, reason) -> None:
    node = helper.make_node("Resize", ["x", "", "scales"], ["y"], name="up", **attributes)
    inits = {"scales": np.array(scales, np.float32)}
    model = make_model([node], [("x", F, [1, 2, 4, 4])], [("y", F)], inits, opset=19)
    with pytest.raises(OnnxImportError, match=rf"^node 'up' \(Resize\): {reason}"):
        import_onnx(model)


def test_constant_scatters_tiles_and_float_sizes_fold_as_onnxruntime_computes_them() -> None:
    """A shifted-window mask written with ScatterND into zeros, tiled; a size computed in
    float32 scalars (`ceil(7 / 2) * 2`, Floor, Sign) cast to int64 for a Reshape: all folded,
    the model equals ORT's run."""
    node = helper.make_node
    nodes = [
        node("ScatterND", ["zeros", "where", "updates"], ["marked"]),
        node("Tile", ["marked", "repeats"], ["tiled"]),
        node("Div", ["seven", "two"], ["half"]),
        node("Ceil", ["half"], ["up"]),
        node("Floor", ["half"], ["down"]),
        node("Sign", ["minus"], ["sign"]),
        node("Mul", ["up", "two"], ["even"]),
        node("Sub", ["even", "down"], ["size0"]),
        node("Add", ["size0", "sign"], ["size"]),
        node("Cast", ["size"], ["size_int"], to=TensorProto.INT64),
        node("Concat", ["size_int", "eight"], ["shape"], axis=0),
        node("Reshape", ["x", "shape"], ["rows"]),
        node("Add", ["rows", "tiled"], ["y"]),
    ]
    inits = {
        "zeros": np.zeros((4, 4), np.float32),
        "where": np.array([[1], [3], [1]], np.int64),
        "updates": np.arange(12, dtype=np.float32).reshape(3, 4) - 5,
        "repeats": np.array([1, 2], np.int64),
        "seven": np.array([7.0], np.float32),
        "two": np.array([2.0], np.float32),
        "minus": np.array([-3.5], np.float32),
        "eight": np.array([8], np.int64),
    }
    model = make_model(nodes, [("x", F, [32])], [("y", F)], inits)
    check_against_ort(model, {"x": np.linspace(-1, 1, 32, dtype=np.float32)})


def test_constant_float_arithmetic_folds_to_onnxruntimes_bits() -> None:
    """Float arithmetic on constants folds: a T5 encoder's relative-position buckets (Range,
    Sub, Cast, Abs, Div, Log, Div, Mul, Cast back to int64, Min, Where; log(0) = -inf cast and
    then not chosen) index its bias table; and a Log of a constant array added to the input,
    where ORT's Log (Eigen's, not the correctly rounded one numpy's differs from) shows."""
    node = helper.make_node
    length = 24
    nodes = [
        node("Range", ["zero", "length", "one"], ["positions"]),
        node("Unsqueeze", ["positions", "axis0"], ["rows"]),
        node("Unsqueeze", ["positions", "axis1"], ["columns"]),
        node("Sub", ["rows", "columns"], ["relative"]),
        node("Greater", ["relative", "zero"], ["after"]),
        node("Cast", ["after"], ["after_int"], to=TensorProto.INT64),
        node("Mul", ["after_int", "half_buckets"], ["side"]),
        node("Abs", ["relative"], ["distance"]),
        node("Less", ["distance", "max_exact"], ["small"]),
        node("Cast", ["distance"], ["distance_float"], to=TensorProto.FLOAT),
        node("Div", ["distance_float", "max_exact_float"], ["ratio"]),
        node("Log", ["ratio"], ["log_ratio"]),
        node("Div", ["log_ratio", "log_range"], ["scaled"]),
        node("Mul", ["scaled", "span"], ["spread"]),
        node("Cast", ["spread"], ["spread_int"], to=TensorProto.INT64),
        node("Add", ["spread_int", "max_exact"], ["large"]),
        node("Min", ["large", "last_bucket"], ["capped"]),
        node("Where", ["small", "distance", "capped"], ["bucket"]),
        node("Add", ["side", "bucket"], ["buckets"]),
        node("Gather", ["table", "buckets"], ["bias"]),
        node("Log", ["values"], ["logs"]),
        node("Add", ["x", "bias"], ["biased"]),
        node("Add", ["biased", "logs"], ["y"]),
    ]
    rng = np.random.default_rng(17)
    values = np.exp(rng.uniform(-30, 30, (length, length))).astype(np.float32)
    inits = {
        "zero": np.array(0, np.int64),
        "one": np.array(1, np.int64),
        "length": np.array(length, np.int64),
        "axis0": np.array([0], np.int64),
        "axis1": np.array([1], np.int64),
        "half_buckets": np.array(16, np.int64),
        "max_exact": np.array(8, np.int64),
        "max_exact_float": np.array(8.0, np.float32),
        "log_range": np.log(np.float32(128 / 8)).astype(np.float32),
        "span": np.array(8.0, np.float32),
        "last_bucket": np.array(15, np.int64),
        "table": rng.standard_normal(32).astype(np.float32),
        "values": values,
    }
    model = make_model(nodes, [("x", F, [length, length])], [("y", F)], inits)
    with np.errstate(divide="ignore"):
        assert (np.log(values) != run_ort(make_model(
            [node("Log", ["v"], ["l"])], [("v", F, [length, length])], [("l", F)]
        ), {"v": values})[0]).any()  # fmt: skip
    check_against_ort(model, {"x": rng.standard_normal((length, length)).astype(np.float32)})


def test_disentangled_attention_gathers_and_tiles_like_onnxruntime() -> None:
    """DeBERTa's relative attention: positions clamped by an integer Clip (folded) index the
    run-time scores with GatherElements (negative indices too, on axis -1 and on axis 1), and
    a run-time Tile repeats a tensor (by ones, DeBERTa's, and by two along an axis)."""
    node = helper.make_node
    rows, span = 5, 3
    relative = np.arange(rows)[:, None] - np.arange(rows)[None, :]
    nodes = [
        node("Add", ["relative", "span"], ["shifted"]),
        node("Clip", ["shifted", "zero", "top"], ["positions"]),
        node("Expand", ["positions", "score_shape"], ["indices"]),
        node("GatherElements", ["x", "indices"], ["c2p"], axis=-1),
        node("GatherElements", ["x", "negative"], ["p2c"], axis=1),
        node("Tile", ["c2p", "ones"], ["same"]),
        node("Tile", ["p2c", "twice"], ["doubled"]),
        node("Concat", ["same", "doubled"], ["y"], axis=1),
    ]
    inits = {
        "relative": relative.astype(np.int64),
        "span": np.array(span, np.int64),
        "zero": np.array(0, np.int64),
        "top": np.array(2 * span - 1, np.int64),
        "score_shape": np.array([2, rows, rows], np.int64),
        "negative": -np.ones((2, 3, rows), np.int64) * np.arange(1, 4)[None, :, None],
        "ones": np.array([1, 1, 1], np.int64),
        "twice": np.array([1, 2, 1], np.int64),
    }
    model = make_model(nodes, [("x", F, [2, rows, 2 * span])], [("y", F)], inits)
    x = np.random.default_rng(8).standard_normal((2, rows, 2 * span)).astype(np.float32)
    check_against_ort(model, {"x": x})


def test_run_time_gather_elements_checks_its_constant_indices() -> None:
    model = make_model(
        [helper.make_node("GatherElements", ["x", "i"], ["y"], name="ge", axis=1)],
        [("x", F, [2, 3])],
        [("y", F)],
        {"i": np.array([[0, 3], [1, -4]], np.int64)},
    )
    with pytest.raises(OnnxImportError, match=r"node 'ge' \(GatherElements\): an index is "
                       r"outside \[-3, 2\] along axis 1"):  # fmt: skip
        import_onnx(model)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_gather_elements_at_run_time_indices_is_onnxruntimes(axis: int) -> None:
    """TopK's indices gathering the rows they name (a shape smaller than the data off the
    axis too), and int32 indices from the caller, negative ones counted from the end; an
    index out of range stops the call with ORT's message, nothing written."""
    nodes = [
        helper.make_node("TopK", ["x", "k"], ["v", "top"], axis=axis),
        helper.make_node("GatherElements", ["x", "top"], ["y"], axis=axis),
        helper.make_node("Slice", ["x", "zero", "two", "last"], ["part"]),
        helper.make_node("GatherElements", ["part", "i"], ["z"], axis=axis),
    ]
    model = make_model(
        nodes,
        [("x", F, [3, 5, 4]), ("i", TensorProto.INT32, [3, 5, 2])],
        [("y", F), ("z", F)],
        {k: np.array([v], np.int64) for k, v in (("k", 2), ("zero", 0), ("two", 2), ("last", -1))},
    )
    rng = np.random.default_rng(9)
    x = rng.standard_normal((3, 5, 4)).astype(np.float32)
    extent = (3, 5, 2)[axis]
    i = rng.integers(-extent, extent, (3, 5, 2)).astype(np.int32)
    if axis != -1:  # the indices may be shorter along the axis, not past it off the axis
        i = i[:, :, :2]
    check_against_ort(model, {"x": x, "i": i})
    i.flat[7] = extent
    with pytest.raises(ExecutionError, match=r"indices element out of data bounds"):
        compile_module(import_onnx(model))(x, i)


@pytest.mark.parametrize("op", ["ArgMax", "ArgMin"])
@pytest.mark.parametrize(
    "attributes",
    [{}, {"axis": 1, "keepdims": 0}, {"axis": -1, "select_last_index": 1}, {"axis": 2}],
    ids=str,
)
def test_arg_max_and_min_are_onnxruntimes(op: str, attributes: dict) -> None:
    """ArgMax / ArgMin of a float tensor with ties, zeros of both signs and NaN (leading and
    inner), and of an int32 one: ORT's scan, first or last index."""
    rng = np.random.default_rng(len(attributes))
    x = rng.integers(-3, 4, (3, 4, 5)).astype(np.float32)
    x[0, 0, :] = np.nan
    x[1, :, 0] = [-0.0, 0.0, np.nan, 0.0]
    x[2, 1, 1:4] = np.nan
    q = rng.integers(-2, 3, (3, 4, 5)).astype(np.int32)
    nodes = [
        helper.make_node(op, ["x"], ["y"], **attributes),
        helper.make_node(op, ["q"], ["z"], **attributes),
    ]
    model = make_model(
        nodes,
        [("x", F, [3, 4, 5]), ("q", TensorProto.INT32, [3, 4, 5])],
        [("y", TensorProto.INT64), ("z", TensorProto.INT64)],
        opset=13,
    )
    check_against_ort(model, {"x": x, "q": q})


@pytest.mark.parametrize(
    ("k", "attributes"),
    [(3, {}), (2, {"axis": 1, "largest": 0}), (5, {"axis": -1}), (0, {}), (1, {"axis": 0})],
    ids=str,
)
def test_top_k_is_onnxruntimes(k: int, attributes: dict) -> None:
    """TopK of a float tensor with many ties (and -0 against 0) and of an int32 one: ORT's
    order, better value first and equal values by index, values and indices."""
    rng = np.random.default_rng(k)
    x = rng.integers(-3, 4, (3, 4, 5)).astype(np.float32)
    x[1, :, 0] = [-0.0, 0.0, 0.0, -0.0]
    q = rng.integers(-2, 3, (3, 4, 5)).astype(np.int32)
    nodes = [
        helper.make_node("TopK", ["x", "k"], ["v", "i"], **attributes),
        helper.make_node("TopK", ["q", "k"], ["w", "j"], **attributes),
    ]
    model = make_model(
        nodes,
        [("x", F, [3, 4, 5]), ("q", TensorProto.INT32, [3, 4, 5])],
        [("v", F), ("i", TensorProto.INT64), ("w", TensorProto.INT32), ("j", TensorProto.INT64)],
        opset=13,
    )
    model.graph.initializer.append(numpy_helper.from_array(np.array([k], np.int64), "k"))
    check_against_ort(model, {"x": x, "q": q})


def test_top_k_keeps_torch_style_names_of_both_outputs() -> None:
    """Names an SSA hint cannot spell (torch's `/TopK_output_1`) are recorded for each result,
    the indices too, and survive printing and parsing."""
    from qdialect.names import tensor_name
    from qdialect.textio import parse_module

    outputs = ["/TopK_output_0", "/TopK_output_1"]
    model = make_model(
        [helper.make_node("TopK", ["x", "k"], outputs)],
        [("x", F, [2, 6])],
        [(outputs[0], F), (outputs[1], TensorProto.INT64)],
        opset=13,
    )
    model.graph.initializer.append(numpy_helper.from_array(np.array([3], np.int64), "k"))
    module = parse_module(print_module(import_onnx(model)))
    (top,) = [op for op in module.walk() if op.name == "qnn.top_k"]
    assert [tensor_name(r) for r in top.results] == outputs
    x = np.random.default_rng(2).standard_normal((2, 6)).astype(np.float32)
    check_against_ort(model, {"x": x})


def test_top_k_unsorted_is_refused_by_name() -> None:
    model = make_model(
        [helper.make_node("TopK", ["x", "k"], ["v", "i"], sorted=0, name="top")],
        [("x", F, [2, 4])],
        [("v", F), ("i", TensorProto.INT64)],
        opset=13,
    )
    model.graph.initializer.append(numpy_helper.from_array(np.array([2], np.int64), "k"))
    with pytest.raises(OnnxImportError, match=r"node 'top' \(TopK\): sorted=0 \(an order"):
        import_onnx(model)


def test_onnx_log_is_onnxruntimes_log() -> None:
    """`onnx_log` (the folder's Log) equals ORT's kernel bit for bit: Eigen's packets of 4 from
    the first element, `logf` on the last size % 4; zeros, negatives, infinities and NaN as
    ORT writes them (its NaN is all ones)."""
    rng = np.random.default_rng(3)
    for size in [*range(1, 13), 4099]:
        v = np.exp(rng.uniform(-87, 88, size)).astype(np.float32)  # float32's normal range
        v[rng.random(size) < 0.1] = 0.0
        v[rng.random(size) < 0.1] = -2.0
        v[rng.random(size) < 0.05] = np.inf
        v[rng.random(size) < 0.05] = np.nan
        v[rng.random(size) < 0.05] = 1e-42  # denormal
        model = make_model([helper.make_node("Log", ["v"], ["l"])], [("v", F, [size])], [("l", F)])
        with np.errstate(all="ignore"):
            want = run_ort(model, {"v": v})[0]
        assert onnx_log(v).tobytes() == want.tobytes(), size


@pytest.mark.parametrize(
    "mode",
    ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "half_pixel_symmetric"],
)
@pytest.mark.parametrize(
    ("shape", "target"),
    [((5, 7), ("sizes", (13, 29))), ((8, 8), ("sizes", (3, 5))), ((6, 4), ("scales", (1.5, 2.25)))],
)
def test_bilinear_resize_is_onnxruntimes(mode: str, shape, target) -> None:
    """Linear Resize of an NCHW image, by output sizes or by scales (ORT then divides by the
    given scale, not by the sizes' ratio): compiled and reference equal ORT to the bit."""
    kind, (a, b) = target
    h, w = shape
    if kind == "sizes":
        inits = {"roi": np.array([], np.float32), "sizes": np.array([1, 2, a, b], np.int64)}
        inputs = ["x", "roi", "", "sizes"]
    else:
        inits = {"roi": np.array([], np.float32), "scales": np.array([1, 1, a, b], np.float32)}
        inputs = ["x", "roi", "scales"]
    node = helper.make_node(
        "Resize", inputs, ["y"], mode="linear", coordinate_transformation_mode=mode
    )
    model = make_model([node], [("x", F, [1, 2, h, w])], [("y", F)], inits, opset=19)
    x = (np.random.default_rng(h * w).standard_normal((1, 2, h, w)) * 4).astype(np.float32)
    check_against_ort(model, {"x": x})


@pytest.mark.parametrize(
    "attributes",
    [
        {"pads": [1, 1]},
        {"strides": [2], "pads": [2, 1], "dilations": [2]},
        {"group": 2},
        {"auto_pad": "SAME_UPPER"},
    ],
)
def test_one_dimensional_convs_are_onnxruntimes(attributes) -> None:
    """A Conv over [N, C, W] runs as the 2-D conv over a height of 1 between reshapes, its
    taps summed in MLAS's order: compiled and reference equal ORT to the bit."""
    rng = np.random.default_rng(len(str(attributes)))
    groups = attributes.get("group", 1)
    inits = {
        "w": (rng.standard_normal((6, 4 // groups, 3)) * 0.3).astype(np.float32),
        "b": rng.standard_normal(6).astype(np.float32),
    }
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], name="conv", **attributes)
    model = make_model([node], [("x", F, [1, 4, 11])], [("y", F)], inits)
    check_against_ort(model, {"x": rng.standard_normal((1, 4, 11)).astype(np.float32)})


@pytest.mark.parametrize("shape", [(1, 4, 37), (2, 3, 5, 7), (1, 2, 300), (1, 3, 2)])
def test_instance_normalization_is_onnxruntimes(shape) -> None:
    """ORT's kernel in float ops: the mean an Eigen sum of the row, the centred squares an
    Eigen sum of an expression (lanes from the row's first element, whatever its alignment,
    which rows of 37 or 35 values tell apart), then the per-channel affine without FMA."""
    rng = np.random.default_rng(sum(shape))
    c = shape[1]
    inits = {
        "scale": rng.standard_normal(c).astype(np.float32),
        "bias": rng.standard_normal(c).astype(np.float32),
    }
    node = helper.make_node("InstanceNormalization", ["x", "scale", "bias"], ["y"], epsilon=1e-3)
    model = make_model([node], [("x", F, list(shape))], [("y", F)], inits)
    x = (rng.standard_normal(shape) * 3 + 1).astype(np.float32)
    check_against_ort(model, {"x": x})


@pytest.mark.parametrize("training", [False, True])
def test_dropout_is_an_identity_only_at_inference(training: bool) -> None:
    node = helper.make_node("Dropout", ["x", "ratio", "training"], ["y"], name="drop")
    inits = {"ratio": np.array(0.5, np.float32), "training": np.array(training)}
    model = make_model([node], [("x", F, [2, 3])], [("y", F)], inits)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    if training:
        with pytest.raises(OnnxImportError, match=r"^node 'drop' \(Dropout\): Dropout in training"):
            import_onnx(model)
    else:
        check_against_ort(model, {"x": x})


# (input shape, weight shape, bias, attributes): strides with pads and output_padding,
# dilations, auto_pad and output_shape (ORT pads more at the end only for SAME_UPPER; an
# output past the taps' reach holds the bias),
# a batch, groups, a one-pixel input (DCGAN's first layer: the one-column GEMM), K = 1, K past
# MLAS's 128-deep blocks, a UNet's 2 x 2 upsampling, and 1-D
CONV_TRANSPOSES = [
    ([1, 4, 5, 5], [4, 3, 3, 3], True, {}),
    ([1, 4, 5, 5], [4, 3, 4, 4], False, {"strides": [2, 2], "pads": [1, 1, 1, 1]}),
    ([1, 4, 5, 6], [4, 3, 3, 3], True, {"strides": [2, 2], "output_padding": [1, 1]}),
    ([1, 4, 5, 5], [4, 3, 3, 3], True, {"dilations": [2, 2]}),
    ([1, 4, 5, 5], [4, 3, 3, 3], True, {"strides": [2, 2], "auto_pad": "SAME_UPPER"}),
    ([1, 4, 5, 5], [4, 3, 3, 3], True, {"strides": [2, 2], "auto_pad": "SAME_LOWER"}),
    ([1, 4, 5, 5], [4, 3, 3, 3], True, {"strides": [2, 2], "output_shape": [9, 10]}),
    ([1, 1, 3, 3], [1, 2, 3, 3], True, {"strides": [3, 2], "output_shape": [10, 8]}),
    ([2, 4, 5, 5], [4, 3, 3, 3], True, {"strides": [2, 2]}),
    ([2, 6, 4, 4], [6, 2, 2, 2], True, {"group": 3, "strides": [2, 2]}),
    ([1, 200, 1, 1], [200, 16, 4, 4], True, {}),
    ([1, 1, 6, 6], [1, 4, 3, 3], True, {"strides": [2, 2]}),
    ([1, 300, 7, 7], [300, 8, 2, 2], True, {"strides": [2, 2]}),
    ([1, 4, 9], [4, 3, 4], True, {"strides": [2], "pads": [1, 1], "output_padding": [1]}),
]


@pytest.mark.parametrize(("x_shape", "w_shape", "bias", "attributes"), CONV_TRANSPOSES, ids=str)
def test_conv_transpose_is_onnxruntimes(x_shape, w_shape, bias, attributes) -> None:
    """ConvTranspose as ORT's kernel computes it: MLAS's GEMM of the transposed filter and the
    image, Col2im adding each tap's pixels into the output in order, then the bias: compiled
    and reference equal ORT to the bit."""
    rng = np.random.default_rng(sum(x_shape) + len(str(attributes)))
    inits = {"w": (rng.standard_normal(w_shape) * 0.5).astype(np.float32)}
    if bias:
        inits["b"] = rng.standard_normal(w_shape[1] * attributes.get("group", 1)).astype(np.float32)
    inputs = ["x", "w", "b"] if bias else ["x", "w"]
    node = helper.make_node("ConvTranspose", inputs, ["y"], name="up", **attributes)
    model = make_model([node], [("x", F, x_shape)], [("y", F)], inits)
    check_against_ort(model, {"x": rng.standard_normal(x_shape).astype(np.float32)})


def test_a_dequantized_conv_transpose_filter_sums_as_onnxruntime_reads_it() -> None:
    """A QDQ model's filter comes from a DequantizeLinear, which ORT reads transposed rather
    than prepacked: a one-pixel input then sums in the one-row kernel's groups of four."""
    rng = np.random.default_rng(31)
    inits = {
        "wq": rng.integers(-127, 128, (64, 8, 4, 4)).astype(np.int8),
        "ws": np.float32(0.01),
        "wz": np.int8(0),
        "b": rng.standard_normal(8).astype(np.float32),
    }
    nodes = [
        helper.make_node("DequantizeLinear", ["wq", "ws", "wz"], ["w"]),
        helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], name="up"),
    ]
    model = make_model(nodes, [("x", F, [1, 64, 1, 1])], [("y", F)], inits)
    check_against_ort(model, {"x": rng.standard_normal((1, 64, 1, 1)).astype(np.float32)})


def test_conv_transposes_outside_onnxruntimes_sums_are_refused_by_name() -> None:
    rng = np.random.default_rng(32)
    inits = {"w": rng.standard_normal((4, 1, 1, 1)).astype(np.float32)}
    node = helper.make_node("ConvTranspose", ["x", "w"], ["y"], name="up")
    model = make_model([node], [("x", F, [1, 4, 6, 6])], [("y", F)], inits)
    with pytest.raises(OnnxImportError, match=r"^node 'up' \(ConvTranspose\): one output channel"):
        import_onnx(model)
    node = helper.make_node("ConvTranspose", ["x", "w"], ["y"], name="up", strides=[2, 2],
                            output_padding=[2, 2])  # fmt: skip
    inits = {"w": rng.standard_normal((4, 2, 3, 3)).astype(np.float32)}
    model = make_model([node], [("x", F, [1, 4, 6, 6])], [("y", F)], inits)
    with pytest.raises(OnnxImportError, match=r"output_padding \[2, 2\] not below the strides"):
        import_onnx(model)


def test_reciprocal_and_size_are_onnxruntimes() -> None:
    """Reciprocal is the division 1 / x (zeros of both signs, infinity, NaN, a subnormal
    whose reciprocal overflows); Size folds from the static shape of a run-time tensor."""
    nodes = [
        helper.make_node("Reciprocal", ["x"], ["r"]),
        helper.make_node("Size", ["x"], ["s"]),
        helper.make_node("Cast", ["s"], ["sf"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["r", "sf"], ["y"]),
    ]
    model = make_model(nodes, [("x", F, [3, 5])], [("y", F)])
    x = np.random.default_rng(33).standard_normal((3, 5)).astype(np.float32)
    x[0] = [0.0, -0.0, np.inf, 1e-40, -2.0]
    check_against_ort(model, {"x": x})


def test_a_gathered_table_dequantized_after_a_transpose_is_onnxruntimes() -> None:
    """A QOperator model's embedding for a float LSTM: Gather of the uint8 table, Transpose,
    then DequantizeLinear, whose scale and zero point the table takes (`_reader_type`)."""
    rng = np.random.default_rng(5)
    nodes = [
        helper.make_node("Gather", ["table", "ids"], ["rows"]),
        helper.make_node("Transpose", ["rows"], ["moved"], perm=[1, 0, 2]),
        helper.make_node("DequantizeLinear", ["moved", "s", "z"], ["y"]),
    ]
    inits = {
        "table": rng.integers(0, 256, (30, 8), dtype=np.uint8),
        "s": np.array(0.05, np.float32),
        "z": np.array(131, np.uint8),
    }
    model = make_model(nodes, [("ids", TensorProto.INT64, [2, 6])], [("y", F)], inits)
    check_against_ort(model, {"ids": rng.integers(0, 30, (2, 6), dtype=np.int64)})


@pytest.mark.parametrize(("storage", "zero", "scale"), [(np.int8, -1, 0.05), (np.uint8, 127, 0.03)])
def test_empty_slices_compile_as_onnxruntime_runs_them(storage, zero, scale) -> None:
    """torch exports roll(x, 0) as a Slice of 0:0 and a Concat: the empty tensor between its
    own QuantizeLinear and DequantizeLinear (requantized: another scale) has no kernel."""
    node = helper.make_node
    nodes = [
        node("QuantizeLinear", ["x", "s", "z"], ["xq"]),
        node("DequantizeLinear", ["xq", "s", "z"], ["xd"]),
        node("Slice", ["xd", "zero", "zero", "one"], ["e"]),
        node("QuantizeLinear", ["e", "t", "z"], ["eq"]),
        node("DequantizeLinear", ["eq", "t", "z"], ["ed"]),
        node("Concat", ["xd", "ed"], ["c"], axis=1),
        node("QuantizeLinear", ["c", "s", "z"], ["cq"]),
        node("DequantizeLinear", ["cq", "s", "z"], ["y"]),
    ]
    inits = {
        "s": np.float32(0.03),
        "t": np.float32(scale),
        "z": storage(zero),
        "zero": np.array([0], np.int64),
        "one": np.array([1], np.int64),
    }
    model = make_model(nodes, [("x", F, [1, 4, 8])], [("y", F)], inits)
    x = np.random.default_rng(0).standard_normal((1, 4, 8)).astype(np.float32)
    check_against_ort(model, {"x": x})
