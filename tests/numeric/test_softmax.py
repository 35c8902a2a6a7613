"""qnn.softmax against ONNX Runtime: QLinearSoftmax (its exp table and per-row arithmetic) and
float32 Softmax (MLAS's exp and its 8-lane sum), u8 and s8, opset < 13 (flattened rows) and
>= 13 (one axis, strided rows); compiled == reference on every case (`ours`)."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper

from qdialect.onnx_import import OnnxImportError, import_onnx
from qdialect.qnn.modes import SumExpKernel
from qdialect.softmax import float_softmax
from qdialect.textio import parse_module
from runtime.compiled import compile_module
from runtime.reference import run_function

from .onnxruntime_session import run_ort
from .test_tables import ONNX_TYPE, make_model, ours, run_ort_unfused

# (shape, axis attribute or None, opset): rows along the last axis (the default, -1, at every
# opset), a middle axis (strided), the first axis, flattened before opset 13, long rows
LAYOUTS = [
    ((4, 3, 6), None, 13),
    ((2, 5, 3), 1, 13),
    ((6, 2, 2), 0, 13),
    ((2, 3, 4), None, 12),
    ((2, 3, 4), 1, 12),
    ((3, 37), -1, 13),
]
# (x scale, y scale, y zero point for u8): ORT's quantizer writes 1/256 and zero point 0
# (-128 for s8); the others round the output multiplier floor(1 / y_scale) down. The last two
# overflow ORT's store: sums above 255 (int8 writes them as -1), and with a tiny x scale the
# table's products beyond float32 (written as the zero point), as a ViT's merged pairs give
PARAMS = [(0.05, 1 / 256, 0), (0.3, 1 / 256, 0), (1.7, 0.01, 3), (0.0173, 1 / 100.5, 10)]
PARAMS += [(0.05, 0.001, 0), (0.00065, 0.00025, 0)]


def softmax_inputs(dtype, shape: tuple[int, ...], axis: int, rng) -> np.ndarray:
    """Random stored values, and along the softmax axis: ties (a constant row), the extremes
    side by side, and one dominant entry (probability ~1: the output saturates)."""
    info = np.iinfo(dtype)
    x = rng.integers(info.min, info.max + 1, shape).astype(dtype)
    rows = np.moveaxis(x, axis, -1)  # a view: writes land in x
    rows[(0,) * (x.ndim - 1)] = 7
    if x.size // shape[axis] > 2:
        rows[(1,) * (x.ndim - 1)][:2] = (info.min, info.max)
        rows[(-1,) * (x.ndim - 1)] = info.min
        rows[(-1,) * (x.ndim - 1)][0] = info.max
    return x


def layouts() -> list:
    """The default tier: a strided middle axis and flattened rows; the slow tier all."""
    cases = []
    for i, layout in enumerate(LAYOUTS):
        for dtype in (np.uint8, np.int8):
            marks = () if i in (1, 4) else (pytest.mark.slow,)
            cases.append(pytest.param(dtype, *layout, marks=marks))
    return cases


@pytest.mark.parametrize(("dtype", "shape", "axis", "opset"), layouts())
def test_qlinear_softmax_equals_onnxruntime(dtype, shape, axis, opset):
    """One model per layout: a QLinearSoftmax node for each of PARAMS."""
    shift = 128 if dtype is np.int8 else 0
    inits, nodes, outputs = {}, [], []
    for i, (xs, ys, yz) in enumerate(PARAMS):
        inits |= {f"xs{i}": np.float32(xs), f"xz{i}": dtype(40 - shift)}
        inits |= {f"ys{i}": np.float32(ys), f"yz{i}": dtype(yz - shift)}
        names = ["x", f"xs{i}", f"xz{i}", f"ys{i}", f"yz{i}"]
        extra = {} if axis is None else {"axis": axis}
        nodes.append(
            helper.make_node(
                "QLinearSoftmax", names, [f"y{i}"], domain="com.microsoft", opset=opset, **extra
            )
        )
        outputs.append((f"y{i}", ONNX_TYPE[dtype]))
    model = make_model(nodes, [("x", ONNX_TYPE[dtype], list(shape))], outputs, inits)
    x = softmax_inputs(dtype, shape, -1 if axis is None else axis, np.random.default_rng(5))
    expected = run_ort(model, {"x": x})
    got = ours(model, {"x": x})
    for e, g in zip(expected, got, strict=True):
        assert g.dtype == e.dtype and np.array_equal(g, e), np.argwhere(g != e)


# one row of swin_t's last attention block (uint8 scores, x scale 0.012069246, zero point 124,
# y scale 1/256): with the table's shift from a double log (not C++'s `log(float)`), three of
# its outputs, 4 in ORT's, come out 5 (t·c/sum lands on 4.500001 instead of 4.5)
SWIN_ROW = [133, 128, 122, 109, 112, 131, 131, 109, 141, 131, 120, 118, 148, 131, 117, 156, 122]
SWIN_ROW += [88, 128, 105, 163, 103, 119, 126, 148, 98, 125, 146, 131, 111, 118, 157, 121, 90]
SWIN_ROW += [102, 114, 113, 112, 112, 138, 149, 127, 102, 68, 108, 127, 118, 109, 154]


def test_qlinear_softmax_table_shift_is_onnxruntimes():
    names = ["x", "xs", "xz", "ys", "yz"]
    node = helper.make_node("QLinearSoftmax", names, ["y"], domain="com.microsoft", opset=17)
    inits = {"xs": np.float32(0.012069246), "xz": np.uint8(124)}
    inits |= {"ys": np.float32(1 / 256), "yz": np.uint8(0)}
    model = make_model(
        [node], [("x", TensorProto.UINT8, [1, 49])], [("y", TensorProto.UINT8)], inits
    )
    x = np.array([SWIN_ROW], np.uint8)
    (expected,) = run_ort(model, {"x": x})
    (got,) = ours(model, {"x": x})
    assert np.array_equal(got, expected), np.argwhere(got != expected)
    assert list(expected[0, x[0] == 112]) == [4, 4, 4]


def float_rows(shape: tuple[int, ...], rng) -> np.ndarray:
    x = (rng.standard_normal(shape) * np.float32(8)).astype(np.float32)
    flat = x.reshape(-1)
    flat[:4] = (-100.0, -100.0, 88.0, -88.0)  # ties and the exp clamp bounds
    flat[-3:] = (1e30, -1e30, 0.0)
    return x


@pytest.mark.parametrize("op_type", ["Softmax", "LogSoftmax"])
@pytest.mark.parametrize("opset", [pytest.param(11, marks=pytest.mark.slow), 13])
def test_float_softmax_equals_onnxruntime(opset, op_type):
    """Every layout's shape with every axis, one Softmax (LogSoftmax) node each, bit for bit:
    the importer names the MLAS kernel this host's ONNX Runtime runs (FMA3 on AVX2 hosts,
    AVX512F's 16 lanes and subnormal-keeping exp on AVX-512 ones), inputs include the exp
    clamps' edges; LogSoftmax subtracts glibc's logf of the same sum."""
    shape = (3, 5, 19)
    nodes = [helper.make_node(op_type, ["x"], [f"y{axis}"], axis=axis) for axis in (-1, 0, 1, 2)]
    outputs = [(f"y{axis}", TensorProto.FLOAT) for axis in (-1, 0, 1, 2)]
    model = make_model(nodes, [("x", TensorProto.FLOAT, list(shape))], outputs, {})
    model.opset_import[0].version = opset
    x = float_rows(shape, np.random.default_rng(opset))
    expected = run_ort(model, {"x": x})
    got = ours(model, {"x": x})
    for e, g in zip(expected, got, strict=True):
        assert np.array_equal(g.view(np.int32), e.view(np.int32))


@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("kernel", list(SumExpKernel))
def test_both_sum_exp_kernels_compile_as_the_reference_evaluates(kernel, log) -> None:
    """Each kernel on any host: compiled equals the reference to the bit, rows long enough for
    every lane and tail, gaps below both exp clamps (FMA3 flushes to 0, AVX512F keeps the
    subnormals), and the two kernels differ where they should."""
    x = float_rows((6, 53), np.random.default_rng(5)) * np.float32(4)
    gaps = np.array([-87.9, -88.5, -100.0, -103.5, -110.0], np.float32)
    top = x[:5].max(axis=1, keepdims=True)
    x[:5, 6:12] = np.concatenate([top, top + gaps], axis=1)
    text = (
        "func.func @main(%x: tensor<6x53xf32>) -> tensor<6x53xf32> {\n"
        f'  %y = qnn.softmax %x {{axis = 1 : i64, kernel = "{kernel.value}"{", log" if log else ""}}} '
        ": tensor<6x53xf32> -> tensor<6x53xf32>\n"
        "  func.return %y : tensor<6x53xf32>\n}\n"
    )
    module = parse_module(text)
    (compiled,) = compile_module(module)(x)
    (reference,) = run_function(module, [x])
    assert np.array_equal(compiled.view(np.int32), reference.view(np.int32))
    if log:  # the kernels' sums agree here: their differences are below a rounding of the log
        return
    other = next(k for k in SumExpKernel if k is not kernel)
    assert not np.array_equal(reference, float_softmax(x, 1, False, other))
    kept = reference[:5, 8:10] > 0  # 100 below the maximum: 2^-144
    assert np.all(kept) if kernel is SumExpKernel.AVX512F else not np.any(kept)


@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("kernel", list(SumExpKernel))
def test_float_softmax_special_rows_compile_as_the_reference_evaluates(kernel, log) -> None:
    """The vector maximum leaves NaN rows and rows whose maximum is 0 (its sign the first
    zero's) to the scalar fold: rows with a NaN in the vector part and in the tail, ±0 maxima
    either way round, infinities, all -inf; 37 elements: whole groups of 8 and 16, and tails."""
    x = np.full((8, 37), -3.0, np.float32)
    x[0, 5] = np.nan
    x[1, 35] = np.nan
    x[2, [3, 20]] = (-0.0, 0.0)
    x[3, [3, 20]] = (0.0, -0.0)
    x[4, :] = -0.0
    x[5, 9] = np.inf
    x[6, :] = -np.inf
    x[7, 30] = -0.0
    text = (
        "func.func @main(%x: tensor<8x37xf32>) -> tensor<8x37xf32> {\n"
        f'  %y = qnn.softmax %x {{axis = 1 : i64, kernel = "{kernel.value}"{", log" if log else ""}}} '
        ": tensor<8x37xf32> -> tensor<8x37xf32>\n"
        "  func.return %y : tensor<8x37xf32>\n}\n"
    )
    module = parse_module(text)
    (compiled,) = compile_module(module)(x)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        (reference,) = run_function(module, [x])
    nan = np.isnan(reference)
    assert np.array_equal(np.isnan(compiled), nan)
    assert np.array_equal(compiled.view(np.int32)[~nan], reference.view(np.int32)[~nan])


@pytest.mark.parametrize("signed", [False, True])
def test_qdq_softmax_folds_as_onnxruntime_fuses_it(signed: bool) -> None:
    """DQ -> Softmax -> Q folds into the 8-bit softmax, as ONNX Runtime's optimized session
    fuses it into QLinearSoftmax: its output bit for bit, which the float simulation (ORT
    unfused) is not."""
    dtype, onnx_type = (np.int8, TensorProto.INT8) if signed else (np.uint8, TensorProto.UINT8)
    inits = {"xs": np.float32(0.1), "xz": dtype(-3 if signed else 128)}
    inits |= {"ys": np.float32(1 / 255), "yz": dtype(-128 if signed else 0)}
    nodes = [
        helper.make_node("DequantizeLinear", ["x", "xs", "xz"], ["d"]),
        helper.make_node("Softmax", ["d"], ["f"]),
        helper.make_node("QuantizeLinear", ["f", "ys", "yz"], ["y"]),
    ]
    model = make_model(nodes, [("x", onnx_type, [8, 32])], [("y", onnx_type)], inits)
    x = softmax_inputs(dtype, (8, 32), 1, np.random.default_rng(9))
    (got,) = ours(model, {"x": x})
    (fused,) = run_ort(model, {"x": x})
    assert np.array_equal(got, fused)
    assert not np.array_equal(got, run_ort_unfused(model, {"x": x})[0])


def test_qlinear_softmax_without_opset_is_refused():
    names = ["x", "s", "z", "s", "z"]
    node = helper.make_node("QLinearSoftmax", names, ["y"], name="sm", domain="com.microsoft")
    inits = {"s": np.float32(0.1), "z": np.uint8(0)}
    model = make_model([node], [("x", TensorProto.UINT8, [2, 4])], [("y", 2)], inits)
    with pytest.raises(OnnxImportError) as err:
        import_onnx(model)
    assert str(err.value) == (
        "node 'sm' (QLinearSoftmax): attribute 'opset' (an int) is required, as ONNX Runtime "
        "requires it"
    )
