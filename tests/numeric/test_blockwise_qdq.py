"""Opset-21 block-wise QuantizeLinear / DequantizeLinear: imported as sub-channel types and
run by the reference interpreter and by compiled code, bit for bit equal to onnx's reference
evaluator and to ONNX Runtime (which reads and writes 4-bit tensors only inside a graph: its
Python binding has no int4 arrays, so ORT sees 4-bit data as initializers and its 4-bit
results through a Cast to 8 bits). Layouts cover blocks that divide the axis, a partial last
block (the spec allows it: 10 in blocks of 4, 5 in blocks of 2), one block along the axis
(per axis after normalization) and the first, middle and last axis."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from qdialect.onnx_import import OnnxImportError, import_onnx
from qdialect.textio import print_module
from runtime.compiled import compile_module
from runtime.reference import run_function

from .onnxruntime_session import run_ort

F = TensorProto.FLOAT
# ONNX type -> (its numpy dtype in onnx, the dtype our runtimes use, its range)
TYPES = {
    TensorProto.INT8: (np.int8, np.int8, (-128, 127)),
    TensorProto.UINT8: (np.uint8, np.uint8, (0, 255)),
    TensorProto.INT4: (ml_dtypes.int4, np.int8, (-8, 7)),
    TensorProto.UINT4: (ml_dtypes.uint4, np.uint8, (0, 15)),
}
FOUR_BIT = (TensorProto.INT4, TensorProto.UINT4)
# (shape, axis, block_size)
LAYOUTS = [
    ((6, 10), 1, 4),  # partial last block of 2
    ((8, 6), 0, 2),
    ((3, 5, 7), 1, 2),  # middle axis, partial last block of 1
    ((2, 8, 12), -1, 4),  # parameters vary along every axis: stays sub-channel
    ((4, 16), 1, 32),  # one block: per axis 0
]
SLOW_LAYOUTS = [((5, 9), 0, 3), ((6, 24), 1, 8), ((2, 3, 20), 2, 6)]


CASES = [(layout, t) for layout in LAYOUTS for t in TYPES]


def _params(shape, axis, block, onnx_type, rng, tag: str):
    """Scale and zero-point initializers (`s<tag>`, `z<tag>`) of a block-wise node, and the
    scale's values."""
    scale_shape = list(shape)
    scale_shape[axis] = -(-shape[axis] // block)
    lo, hi = TYPES[onnx_type][2]
    scale = (rng.random(scale_shape) * 0.1 + 0.01).astype(np.float32)
    zp = rng.integers(lo, hi + 1, scale_shape)
    zp_tensor = helper.make_tensor(f"z{tag}", onnx_type, scale_shape, zp.ravel().tolist())
    return [numpy_helper.from_array(scale, f"s{tag}"), zp_tensor], scale


def _model(nodes, inputs, outputs, inits) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, outputs, inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], ir_version=10)


def _ours(model: onnx.ModelProto, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """The reference interpreter's results, after checking that compiled code gives them too
    (one function for every case: one compilation)."""
    text = print_module(import_onnx(model))
    reference = run_function(text, inputs)
    compiled = compile_module(text)(*inputs)
    for ours, theirs in zip(compiled, reference, strict=True):
        assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs)
    return reference


def _dequantize_cases(cases, seed: int) -> None:
    """Each case a DequantizeLinear of a graph input and of a constant: ours (reference and
    compiled), onnx's reference evaluator and ORT agree."""
    rng = np.random.default_rng(seed)
    nodes, inits, fed_inputs, consts, outputs, feeds = [], [], [], [], [], []
    for i, ((shape, axis, block), onnx_type) in enumerate(cases):
        params, _ = _params(shape, axis, block, onnx_type, rng, str(i))
        onnx_dtype, our_dtype, (lo, hi) = TYPES[onnx_type]
        x = rng.integers(lo, hi + 1, shape)
        x[(0,) * len(shape)], x[(-1,) * len(shape)] = lo, hi  # the storage extremes
        nodes.append(
            helper.make_node(
                "DequantizeLinear",
                [f"x{i}", f"s{i}", f"z{i}"],
                [f"y{i}"],
                axis=axis,
                block_size=block,
            )
        )
        inits += params
        fed_inputs.append(helper.make_tensor_value_info(f"x{i}", onnx_type, shape))
        consts.append(helper.make_tensor(f"x{i}", onnx_type, shape, x.ravel().tolist()))
        outputs.append(helper.make_tensor_value_info(f"y{i}", F, shape))
        feeds.append((x.astype(onnx_dtype), x.astype(our_dtype)))
    fed = _model(nodes, fed_inputs, outputs, inits)
    constant = _model(nodes, [], outputs, inits + consts)
    expected = ReferenceEvaluator(fed).run(None, {f"x{i}": f[0] for i, f in enumerate(feeds)})
    assert_all_equal(_ours(fed, [f[1] for f in feeds]), expected)
    assert_all_equal(_ours(constant, []), expected)
    assert_all_equal(run_ort(constant, {}), expected)
    eight = [i for i, (_, t) in enumerate(cases) if t not in FOUR_BIT]
    ort_fed = _model(
        [nodes[i] for i in eight],
        [fed_inputs[i] for i in eight],
        [outputs[i] for i in eight],
        inits,
    )
    found = run_ort(ort_fed, {f"x{i}": feeds[i][0] for i in eight})
    assert_all_equal(found, [expected[i] for i in eight])


def assert_all_equal(found, expected) -> None:
    """Equal element for element; integers compared as int64 (onnx gives 4-bit results as
    ml_dtypes arrays, we as int8/uint8)."""
    assert len(found) == len(expected)
    for index, (a, b) in enumerate(zip(found, expected, strict=True)):
        a, b = np.asarray(a), np.asarray(b)
        if a.dtype.kind in "iu":
            a, b = a.astype(np.int64), b.astype(np.int64)
        assert a.dtype == b.dtype and np.array_equal(a, b), f"output {index}"


def _quantize_cases(cases, seed: int) -> None:
    """Each case a QuantizeLinear with a zero point and one with `output_dtype` instead."""
    rng = np.random.default_rng(seed)
    nodes, peer_nodes, inits, outputs, peer_outputs, inputs = [], [], [], [], [], {}
    for i, ((shape, axis, block), onnx_type) in enumerate(cases):
        params, scale = _params(shape, axis, block, onnx_type, rng, str(i))
        inits += params
        x = (rng.standard_normal(shape) * 3).astype(np.float32)
        # saturation both ways, zero, and a tie (half a step: rounds to even)
        x.ravel()[:4] = [50.0, -50.0, 0.0, np.float32(0.5) * scale.ravel()[0]]
        inputs[f"x{i}"] = x
        for tag, names, extra in (
            ("zp", [f"x{i}", f"s{i}", f"z{i}"], {}),
            ("dt", [f"x{i}", f"s{i}"], {"output_dtype": onnx_type}),
        ):
            y = f"y{i}{tag}"
            nodes.append(
                helper.make_node("QuantizeLinear", names, [y], axis=axis, block_size=block, **extra)
            )
            outputs.append(helper.make_tensor_value_info(y, onnx_type, shape))
            wide = TensorProto.INT8 if TYPES[onnx_type][2][0] < 0 else TensorProto.UINT8
            peer_nodes.append(helper.make_node("Cast", [y], [f"{y}8"], to=wide))
            peer_outputs.append(helper.make_tensor_value_info(f"{y}8", wide, shape))
    x_infos = [helper.make_tensor_value_info(k, F, v.shape) for k, v in inputs.items()]
    model = _model(nodes, x_infos, outputs, inits)
    expected = ReferenceEvaluator(model).run(None, inputs)
    ours = _ours(model, list(inputs.values()))
    for found, onnx_type in zip(ours, [t for _, t in cases for _ in range(2)], strict=True):
        assert found.dtype == TYPES[onnx_type][1]
    assert_all_equal(ours, expected)
    peer = _model(nodes + peer_nodes, x_infos, peer_outputs, inits)
    assert_all_equal(run_ort(peer, inputs), expected)


def test_blockwise_dequantize_is_exact() -> None:
    _dequantize_cases(CASES, seed=1)


def test_blockwise_quantize_is_exact() -> None:
    _quantize_cases(CASES, seed=2)


@pytest.mark.slow
def test_more_blockwise_layouts_are_exact() -> None:
    cases = [(layout, t) for layout in SLOW_LAYOUTS for t in TYPES]
    _dequantize_cases(cases, seed=3)
    _quantize_cases(cases, seed=4)


def _bad_model(
    op: str,
    scale_shape,
    *,
    zp_shape=None,
    block=2,
    axis=1,
    scale_dtype=np.float32,
    scale_input=False,
) -> onnx.ModelProto:
    """A block-wise node 'blk' on a [4, 6] tensor with the given parameter shapes."""
    inits = [] if scale_input else [numpy_helper.from_array(np.ones(scale_shape, scale_dtype), "s")]
    names = ["x", "s"]
    if zp_shape is not None:
        inits.append(numpy_helper.from_array(np.zeros(zp_shape, np.int8), "z"))
        names.append("z")
    quantize = op == "QuantizeLinear"
    x_type, y_type = (F, TensorProto.INT8) if quantize else (TensorProto.INT8, F)
    inputs = [helper.make_tensor_value_info("x", x_type, [4, 6])]
    if scale_input:
        inputs.append(helper.make_tensor_value_info("s", F, scale_shape))
    node = helper.make_node(op, names, ["y"], name="blk", axis=axis, block_size=block)
    return _model([node], inputs, [helper.make_tensor_value_info("y", y_type, [4, 6])], inits)


SHAPE_ERROR = "scale 's' must have shape [4, 3] (input [4, 6] with axis 1 in blocks of 2), got "


@pytest.mark.parametrize(
    ("op", "kwargs", "message"),
    [
        ("DequantizeLinear", {"scale_shape": [4, 4]}, SHAPE_ERROR + "[4, 4]"),
        ("DequantizeLinear", {"scale_shape": [3]}, SHAPE_ERROR + "[3]"),
        ("QuantizeLinear", {"scale_shape": [4, 4]}, SHAPE_ERROR + "[4, 4]"),
        (
            "QuantizeLinear",
            {"scale_shape": [4, 3], "zp_shape": [4, 2]},
            "zero point 'z' must have the shape of the scale, [4, 3], got [4, 2]",
        ),
        (
            "QuantizeLinear",
            {"scale_shape": [4, 3], "block": -2},
            "block_size must be positive, got -2",
        ),
        (
            "DequantizeLinear",
            {"scale_shape": [4, 3], "axis": -3},
            "axis -3 is out of range for rank 2",
        ),
        (
            "QuantizeLinear",
            {"scale_shape": [4, 3], "scale_dtype": np.float16},
            "scale 's' must be float32, got float16",
        ),
        (
            "QuantizeLinear",
            {"scale_shape": [4, 3], "scale_input": True},
            "a run-time scale is imported for per-tensor float32 QuantizeLinear only",
        ),
    ],
)
def test_bad_blockwise_parameters_are_one_line_errors_naming_the_node(op, kwargs, message) -> None:
    with pytest.raises(OnnxImportError) as err:
        import_onnx(_bad_model(op, **kwargs))
    assert str(err.value) == f"node 'blk' ({op}): {message}"
