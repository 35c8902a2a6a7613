"""3-D MaxPool and AveragePool (`qnn.pool3d`, `qdialect/pool3d.py`), and 2-D ones with
ceil_mode, against ONNX Runtime, bit for bit, NaN, infinities and signed zeros included: random
windows (kernels, strides, pads, dilations, ceil_mode, count_include_pad, opsets 18 and 22) land
on each of ORT's three paths (its own loop, MLAS's vector and generic kernels) and the global
one; the compiled code and the reference interpreter agree with ORT on every output."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper

from qdialect.float_sum import Pool3DKernel
from qdialect.onnx_import import OnnxImportError, import_onnx
from runtime.compiled import compile_module
from runtime.reference import run_function

from .onnxruntime_session import run_ort
from .test_onnx_backend_float_nodes import bits

SPECIALS = np.array([np.nan, -np.inf, np.inf, -0.0, 0.0], np.float32)


def pool_model(op: str, shape: list[int], opset: int, **attributes):
    node = helper.make_node(op, ["x"], ["y"], **attributes)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)


def image(rng: np.random.Generator, shape: list[int]) -> np.ndarray:
    """Normal values with a sixth of them NaN, ±inf or ±0."""
    x = rng.standard_normal(shape).astype(np.float32)
    special = rng.random(shape) < 1 / 6
    x[special] = rng.choice(SPECIALS, size=int(special.sum()))
    return x


def random_case(rng: np.random.Generator):
    shape = [int(rng.integers(1, 3)), int(rng.integers(1, 3))] + [
        int(v) for v in rng.integers(3, 12, 3)
    ]
    kernel = [int(v) for v in rng.integers(1, 4, 3)]
    attributes = {
        "kernel_shape": kernel,
        "strides": [int(v) for v in rng.integers(1, 4, 3)],
        "pads": [int(rng.integers(0, kernel[i % 3])) for i in range(6)],
        "ceil_mode": int(rng.random() < 0.4),
    }
    op = "MaxPool" if rng.random() < 0.5 else "AveragePool"
    opset = 22 if rng.random() < 0.5 else 18
    if rng.random() < 0.4 and (op == "MaxPool" or opset >= 19):
        attributes["dilations"] = [int(v) for v in rng.integers(1, 3, 3)]
    if op == "AveragePool":
        attributes["count_include_pad"] = int(rng.random() < 0.5)
    return op, shape, opset, attributes


def check(model, x: np.ndarray) -> bool:
    """Our outputs against ORT's; False where ORT refuses the case (windows it cannot fit)."""
    try:
        (theirs,) = run_ort(model, {"x": x}, "ORT_DISABLE_ALL")
    except Exception:  # noqa: BLE001 - ORT's errors have no common type
        return False
    module = import_onnx(model)
    (ours,) = compile_module(module, threads=1)(x)
    (reference,) = run_function(module, [x])
    assert ours.shape == theirs.shape
    assert bits(ours) == bits(theirs) and bits(reference) == bits(theirs)
    return True


def _sweep(seed: int, count: int) -> set[str]:
    rng = np.random.default_rng(seed)
    paths, checked = set(), 0
    while checked < count:
        op, shape, opset, attributes = random_case(rng)
        model = pool_model(op, shape, opset, **attributes)
        try:
            module = import_onnx(model)
        except OnnxImportError as err:  # a window wider than the padded image
            assert "does not fit the padded input" in str(err)
            continue
        if check(model, image(rng, shape)):
            checked += 1
            for op_ in module.walk():
                if op_.name == "qnn.pool3d":
                    paths.add(op_.path().value)  # type: ignore[attr-defined]
    return paths


def test_random_3d_pools_are_onnxruntimes_on_every_path() -> None:
    assert _sweep(0, 20) == {k.value for k in Pool3DKernel}


@pytest.mark.slow
def test_more_random_3d_pools_are_onnxruntimes() -> None:
    assert _sweep(1, 400) == {k.value for k in Pool3DKernel}


@pytest.mark.parametrize(
    ("op", "attributes"),
    [
        ("GlobalMaxPool", {}),
        ("GlobalAveragePool", {}),
        ("MaxPool", {"kernel_shape": [4, 5, 6]}),  # the image's window: MLAS's global kernel
        ("AveragePool", {"kernel_shape": [4, 5, 6]}),
        ("MaxPool", {"kernel_shape": [2, 2, 33], "pads": [0, 0, 16, 0, 0, 16]}),  # generic
        ("AveragePool", {"kernel_shape": [2, 3, 3], "strides": [1, 1, 3]}),
    ],
)
def test_3d_pool_forms_are_onnxruntimes(op: str, attributes: dict) -> None:
    shape = [2, 3, 4, 5, 6]
    model = pool_model(op, shape, 18, **attributes)
    assert check(model, image(np.random.default_rng(3), shape))


def test_2d_average_pools_with_ceil_mode_are_onnxruntimes() -> None:
    """2-D float AveragePool with ceil_mode: ORT's own loop from opset 19 and, before it, for a
    pool that counts its padding (a last window past the padding counts only the declared
    padding: `qnn.pool3d` over a depth of 1); MLAS's kernels for the rest."""
    rng = np.random.default_rng(4)
    checked = 0
    while checked < 16:
        shape = [1, 2, int(rng.integers(3, 12)), int(rng.integers(3, 12))]
        kernel = [int(v) for v in rng.integers(1, 4, 2)]
        attributes = {
            "kernel_shape": kernel,
            "strides": [int(v) for v in rng.integers(1, 4, 2)],
            "pads": [int(rng.integers(0, kernel[i % 2])) for i in range(4)],
            "ceil_mode": 1,
            "count_include_pad": int(rng.random() < 0.5),
        }
        model = pool_model("AveragePool", shape, 22 if rng.random() < 0.5 else 18, **attributes)
        try:
            import_onnx(model)
        except OnnxImportError as err:
            assert "does not fit the padded input" in str(err)
            continue
        checked += check(model, image(rng, shape))


@pytest.mark.parametrize(("length", "include_pad"), [(33, 1), (33, 0), (32, 1)])
def test_1d_average_pools_with_ceil_mode_are_onnxruntimes(length: int, include_pad: int) -> None:
    """A 1-D one (torch's `avg_pool1d(x, 2, ceil_mode=True)`): counting padding with a last
    window past it, ORT's own loop (its import once failed an assertion: sweep 9)."""
    attributes = {"kernel_shape": [2], "strides": [2], "ceil_mode": 1}
    model = pool_model(
        "AveragePool", [1, 4, length], 17, count_include_pad=include_pad, **attributes
    )
    assert check(model, image(np.random.default_rng(length), [1, 4, length]))


@pytest.mark.parametrize("op", ["AveragePool", "MaxPool"])
def test_2d_generic_window_loop_is_onnxruntimes(op: str) -> None:
    """Two outputs a row, the last window past the image: GCC 12 vectorized this loop across
    the two in AVX-512VL masks and read the next row's pixels (`QD_SCALAR_LOOPS`)."""
    attributes = {"kernel_shape": [3, 2], "strides": [1, 3], "pads": [1, 1, 0, 1]}
    model = pool_model(op, [1, 2, 7, 3], 18, **attributes)
    assert check(model, np.arange(42, dtype=np.float32).reshape(1, 2, 7, 3))


def quantized_pool_model(shape: list[int], signed: bool, qoperator: bool, opset: int, **attributes):
    """DequantizeLinear -> AveragePool -> QuantizeLinear, or its QLinearAveragePool."""
    storage = TensorProto.INT8 if signed else TensorProto.UINT8
    if qoperator:
        nodes = [
            helper.make_node(
                "QLinearAveragePool", ["x", "s", "z", "t", "z"], ["y"], domain="com.microsoft",
                **attributes,
            )
        ]  # fmt: skip
    else:
        nodes = [
            helper.make_node("DequantizeLinear", ["x", "s", "z"], ["xf"]),
            helper.make_node("AveragePool", ["xf"], ["yf"], **attributes),
            helper.make_node("QuantizeLinear", ["yf", "t", "z"], ["y"]),
        ]
    initializers = [
        helper.make_tensor("s", TensorProto.FLOAT, [], [0.05]),
        helper.make_tensor("t", TensorProto.FLOAT, [], [0.03]),
        helper.make_tensor("z", storage, [], [-3 if signed else 131]),
    ]
    graph = helper.make_graph(
        nodes,
        "pool",
        [helper.make_tensor_value_info("x", storage, shape)],
        [helper.make_tensor_value_info("y", storage, None)],
        initializers,
    )
    opsets = [helper.make_opsetid("", opset), helper.make_opsetid("com.microsoft", 1)]
    return helper.make_model(graph, opset_imports=opsets, ir_version=8)


def test_quantized_average_pools_with_partial_ceil_windows_are_onnxruntimes() -> None:
    """ORT runs DequantizeLinear -> AveragePool -> QuantizeLinear as QLinearAveragePool: a
    ceil_mode window past the padding is clipped to the image and, counting padding, divided
    by the whole kernel (unlike the float pool's loop, which counts the declared padding). On
    int8 data counting padding the importer refuses: ORT keeps the pool float where its
    QDQS8ToU8 retyped the pair in front (a U-Net's pool after a Conv), and fuses it elsewhere."""
    rng = np.random.default_rng(5)
    partial = 0
    for case in range(40):
        shape = [int(rng.integers(1, 3)), 3, int(rng.integers(4, 12)), int(rng.integers(4, 12))]
        kernel = [int(v) for v in rng.integers(2, 4, 2)]
        strides = [int(v) for v in rng.integers(2, 4, 2)]
        attributes = {
            "kernel_shape": kernel,
            "strides": strides,
            "pads": [int(rng.integers(0, kernel[i % 2])) for i in range(4)],
            "ceil_mode": 1,
            "count_include_pad": case % 2,
        }
        pads = attributes["pads"]
        if any(
            (-(-(size + pads[i] + pads[i + 2] - kernel[i]) // strides[i])) * strides[i]
            >= size + pads[i]
            for i, size in enumerate(shape[2:])
        ):  # a last window starting past the image: ORT's shape and ONNX's inferred one differ,
            continue  # and ORT throws (and catches) while merging them, which ASan cannot take
        signed, qoperator = bool(case % 3 == 1), bool(case % 4 >= 2)
        model = quantized_pool_model(
            shape, signed, qoperator, 19 if case % 5 == 0 else 13, **attributes
        )
        info = np.iinfo(np.int8 if signed else np.uint8)
        x = rng.integers(info.min, info.max, shape, endpoint=True).astype(info.dtype)
        try:
            module = import_onnx(model)
        except OnnxImportError as err:  # ORT's choice depends on the graph around the pair
            assert signed and not qoperator and attributes["count_include_pad"], err
            assert "QDQS8ToU8 retypes the pair in front" in str(err)
            continue
        (expected,) = run_ort(model, {"x": x})
        got = compile_module(module, threads=1)(x)[0]
        assert np.array_equal(got, expected), (case, attributes)
        spans = [
            (o - 1) * s + k for o, s, k in zip(expected.shape[2:], strides, kernel, strict=True)
        ]
        heights = [
            shape[2] + sum(attributes["pads"][0::2]),
            shape[3] + sum(attributes["pads"][1::2]),
        ]
        partial += any(span > h for span, h in zip(spans, heights, strict=True))
    assert partial >= 8  # most cases have a window past the padding
    attributes = {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1, "count_include_pad": 1}
    with pytest.raises(OnnxImportError, match="QDQS8ToU8 retypes the pair in front"):
        import_onnx(quantized_pool_model([1, 3, 8, 8], True, False, 13, **attributes))
