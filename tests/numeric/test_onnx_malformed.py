"""Malformed ONNX models: each ends in a clean error naming the node, never an internal error.

The nine classes of issue 18 (Conv `strides` of 0; `kernel_shape`/`dilations` of the wrong
length; zero points whose shape differs from the scale's; `auto_pad=VALID` inconsistent with
the graph's shapes; a weight of the wrong rank; a Transpose `perm` out of range; a subnormal
scale and an overflowing bias scale; a graph input without a shape) each have a regression test
on a model ONNX Runtime quantized, and a seeded fuzz mutates such models (byte flips,
truncations, inconsistent attributes and initializer shapes, bad scales and zero points) and
runs `qopt model.onnx --emit-c` in-process: a clean `file: error: ...` or success, nothing else.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import warnings
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from qdialect.onnx_import import OnnxImportError, import_onnx
from runtime import qopt

from .tiers import tiered_range

EXAMPLES = Path(__file__).parents[2] / "examples"
_spec = importlib.util.spec_from_file_location("onnx_models", EXAMPLES / "onnx_models.py")
models = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(models)

# (model, format, per channel): the quantized models the tests mutate.
SOURCES = {
    "cnn_qdq": ("small_cnn", "qdq", True),
    "cnn_qop": ("small_cnn", "qoperator", True),
    "mlp_qdq": ("mlp", "qdq", False),
    "mlp_qop": ("mlp", "qoperator", False),
    "resnet_qdq": ("resnet_block", "qdq", False),
}
_CACHE: dict[str, bytes] = {}


def quantized(key: str) -> onnx.ModelProto:
    """A fresh copy of a model quantized by ONNX Runtime (quantized once per session)."""
    if key not in _CACHE:
        logging.getLogger().setLevel(logging.ERROR)  # quantize_static's pre-processing advice
        name, fmt, per_channel = SOURCES[key]
        rng = np.random.default_rng(7)
        model = models.quantize(models.MODELS[name](rng), rng, fmt=fmt, per_channel=per_channel)
        _CACHE[key] = model.SerializeToString()
    return onnx.load_from_string(_CACHE[key])


def nodes_of(model, op_type: str) -> list:
    return [n for n in model.graph.node if n.op_type == op_type]


def set_attr(node, name: str, value) -> None:
    for a in list(node.attribute):
        if a.name == name:
            node.attribute.remove(a)
    if value is not None:
        kind = onnx.AttributeProto.INTS if isinstance(value, list) else None
        node.attribute.append(helper.make_attribute(name, value, attr_type=kind))


def initializer(model, name: str) -> np.ndarray:
    (tensor,) = [t for t in model.graph.initializer if t.name == name]
    return numpy_helper.to_array(tensor)


def set_initializer(model, name: str, values) -> None:
    (tensor,) = [t for t in model.graph.initializer if t.name == name]
    tensor.CopyFrom(numpy_helper.from_array(np.asarray(values), name))


def qopt_run(tmp_path: Path, model, *flags: str) -> tuple[int, str]:
    """`qopt model.onnx flags...` in-process: its exit status and stderr."""
    path = tmp_path / "model.onnx"
    data = model if isinstance(model, bytes) else model.SerializeToString()
    path.write_bytes(data)
    err, out = io.StringIO(), io.StringIO()
    with (
        contextlib.redirect_stderr(err),
        contextlib.redirect_stdout(out),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        status = qopt.run([str(path), *flags])
    return status, err.getvalue()


def import_error(model) -> str:
    with pytest.raises(OnnxImportError) as err:
        import_onnx(model)
    return str(err.value)


# ----------------------------------------------------------------------------- the nine classes


@pytest.mark.parametrize("key, op", [("cnn_qop", "QLinearConv"), ("cnn_qdq", "Conv")])
def test_zero_strides(key, op) -> None:
    model = quantized(key)
    conv = nodes_of(model, op)[0]
    set_attr(conv, "strides", [0, 0])
    index = list(model.graph.node).index(conv)
    assert import_error(model) == (
        f"node #{index} ({op}): attribute 'strides' must be 2 positive integers [sh, sw], "
        "got [0, 0]"
    )


@pytest.mark.parametrize(
    "attr, form", [("kernel_shape", "[kh, kw]"), ("dilations", "[dh, dw]"), ("strides", "[sh, sw]")]
)
@pytest.mark.parametrize("key, op", [("cnn_qop", "QLinearConv"), ("cnn_qdq", "Conv")])
def test_window_attributes_of_the_wrong_length(key, op, attr, form) -> None:
    model = quantized(key)
    set_attr(nodes_of(model, op)[0], attr, [3])
    assert f"({op}): attribute '{attr}' must be 2 positive integers {form}, got [3]" in (
        import_error(model)
    )


def test_kernel_shape_must_match_the_weight() -> None:
    model = quantized("cnn_qdq")
    set_attr(nodes_of(model, "Conv")[0], "kernel_shape", [2, 2])
    assert "attribute 'kernel_shape' must be the weight's spatial shape [3, 3], got [2, 2]" in (
        import_error(model)
    )


@pytest.mark.parametrize(
    "key, node", [("cnn_qop", "#2 (QLinearConv): input #3"), ("cnn_qdq", "'c1_w_DequantizeLinear'")]
)
@pytest.mark.parametrize("shape", [(5,), (1, 8)], ids=["length", "1xC"])
def test_per_channel_zero_point_of_another_shape(key, node, shape) -> None:
    model = quantized(key)
    set_initializer(model, "c1_w_zero_point", np.zeros(shape, np.int8))
    message = import_error(model)
    assert message.startswith(f"node {node}")
    assert message.endswith(
        f"zero point 'c1_w_zero_point' must have the shape of scale 'c1_w_scale', [8], "
        f"got shape {list(shape)}"
    )


@pytest.mark.parametrize("key, prefix", [("cnn_qop", "xp"), ("cnn_qdq", "x")])
def test_per_tensor_zero_point_replaced_by_a_vector(key, prefix) -> None:
    model = quantized(key)
    set_initializer(model, f"{prefix}_zero_point", np.zeros(3, np.uint8))
    assert import_error(model) == (
        f"node '{prefix}_QuantizeLinear' (QuantizeLinear): output zero point "
        f"'{prefix}_zero_point' must have the shape of scale '{prefix}_scale', [] (a scalar), "
        "got shape [3]"
    )


def test_valid_auto_pad_inconsistent_with_the_graph_shapes(tmp_path) -> None:
    model = quantized("cnn_qdq")
    conv = nodes_of(model, "Conv")[1]
    set_attr(conv, "pads", None)
    set_attr(conv, "auto_pad", "VALID")
    index = list(model.graph.node).index(conv)
    message = import_error(model)
    assert message.startswith(f"node #{index} (Conv): output '{conv.output[0]}' has shape ")
    assert message.endswith(
        "the node's attributes (auto_pad=VALID) or input shapes do not fit the graph's shapes"
    )
    # Without declared shapes the result no longer broadcasts with the residual input.
    model = quantized("resnet_qdq")
    del model.graph.value_info[:]
    conv = nodes_of(model, "Conv")[0]
    set_attr(conv, "pads", None)
    set_attr(conv, "auto_pad", "VALID")
    status, err = qopt_run(tmp_path, model)
    assert status == 1
    assert "do not broadcast" in err or "does not fit" in err or "does not verify" in err, err
    assert "internal error" not in err


def test_weight_of_the_wrong_rank() -> None:
    model = quantized("cnn_qdq")
    set_initializer(model, "c1_w_quantized", np.zeros((8, 3, 3), np.int8))
    assert (
        "(Conv): the weight's rank 3 does not match the input's rank 4 "
        "(weight [8, 3, 3], input [1, 3, 34, 34])"
    ) in import_error(model)
    set_initializer(model, "c1_w_quantized", np.zeros((8, 3, 3, 1, 1), np.int8))
    assert "(Conv): the weight's rank 5 does not match the input's rank 4" in import_error(model)
    model = quantized("mlp_qdq")
    set_initializer(model, "w1_quantized", np.zeros(128, np.int8))
    assert "(Gemm): input B must be a 2-D matrix, got shape [128]" in import_error(model)
    model = quantized("mlp_qop")
    set_initializer(model, "w1_quantized", np.zeros(128, np.int8))
    assert "(QGemm): input B 'w1_quantized' must be a 2-D matrix, got shape [128]" in (
        import_error(model)
    )


@pytest.mark.parametrize("key", ["mlp_qop", "mlp_qdq"])
def test_transpose_perm_out_of_range(key) -> None:
    model = quantized(key)
    set_attr(nodes_of(model, "Transpose")[0], "perm", [2, 0])
    assert import_error(model).endswith(
        "(Transpose): attribute 'perm' must be a permutation of 0..1 (the input has rank 2), "
        "got [2, 0]"
    )


@pytest.mark.parametrize("key, prefix", [("cnn_qop", "xp"), ("cnn_qdq", "x")])
def test_subnormal_scale_is_refused_at_import(tmp_path, key, prefix) -> None:
    model = quantized(key)
    set_initializer(model, f"{prefix}_scale", np.float32(1e-45))
    np.savez(tmp_path / "x.npz", x=np.zeros((1, 3, 32, 32), np.float32))
    status, err = qopt_run(tmp_path, model, "--run", "--inputs", str(tmp_path / "x.npz"))
    assert status == 1
    assert err == (
        f"{tmp_path / 'model.onnx'}:1:1: error: node '{prefix}_QuantizeLinear' (QuantizeLinear): "
        f"output scale '{prefix}_scale' must hold positive normal finite float32 values, got "
        "1.4013e-45\n"
    )


@pytest.mark.parametrize("value", [0.0, -0.5, np.inf, np.nan, 1e-39, 1e38])
def test_scales_must_be_positive_normal_and_finite(value) -> None:
    model = quantized("cnn_qop")
    scales = initializer(model, "c1_w_scale").copy()
    scales[3] = value
    set_initializer(model, "c1_w_scale", scales)
    assert "input #3 scale 'c1_w_scale' must hold positive normal finite float32 values" in (
        import_error(model)
    )


def test_bias_scale_that_overflows_float32(tmp_path) -> None:
    """A QDQ bias scale of 1e38 (normal float32) imports; the conv's group cannot fuse (its
    bias scale would not be sx*sw), so it runs as the float simulation ORT's reading gives."""
    model = quantized("cnn_qdq")
    set_initializer(model, "c1_b_quantized_scale", np.full(8, 1e38, np.float32))
    np.savez(tmp_path / "x.npz", x=np.zeros((1, 3, 32, 32), np.float32))
    status, err = qopt_run(tmp_path, model, "--run", "--inputs", str(tmp_path / "x.npz"))
    assert status == 0, err
    assert "internal error" not in err and "Traceback" not in err


def test_qoperator_scale_outside_the_range_is_refused_at_the_node() -> None:
    """A QOperator op's scales are its integer kernel's: outside 2^-40 .. 2^40 they are
    refused at the node, naming the range."""
    model = quantized("cnn_qop")
    set_initializer(model, "c1_w_scale", np.full(8, 1e30, np.float32))
    assert (
        "input #3 scale 'c1_w_scale' must hold positive normal finite float32 values from "
        "2^-40 to 2^40 (9.09495e-13 to 1.09951e+12), got 1e+30"
    ) in import_error(model)


def test_graph_input_without_a_shape(tmp_path) -> None:
    model = quantized("mlp_qdq")
    model.graph.input[0].type.tensor_type.ClearField("shape")
    status, err = qopt_run(tmp_path, model)
    assert (status, err) == (
        1,
        f"{tmp_path / 'model.onnx'}:1:1: error: graph input 'x' has no shape; give it a fixed "
        "shape (e.g. onnx.tools.update_model_dims) before importing\n",
    )


def test_graph_input_of_an_unread_integer_type_names_its_type() -> None:
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.INT8, [4])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.INT8, [4])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    with pytest.raises(OnnxImportError) as err:
        import_onnx(model)
    assert str(err.value) == (
        "graph input 'x' is INT8: neither FLOAT, FLOAT16, INT32, INT64 or BOOL, nor read by a "
        "node that gives its quantization (DequantizeLinear or a QLinear op)"
    )


def test_onnx_checker_message_is_reported_with_the_file(tmp_path) -> None:
    model = quantized("mlp_qop")
    model.graph.node[0].input.append("nowhere")  # a Transpose of two inputs
    status, err = qopt_run(tmp_path, model)
    assert status == 1
    assert err.startswith(f"{tmp_path / 'model.onnx'}:1:1: error: the model fails onnx.checker: ")


def test_initializer_data_that_does_not_fit_its_dims() -> None:
    model = quantized("cnn_qop")
    (tensor,) = [t for t in model.graph.initializer if t.name == "c1_w_scale"]
    tensor.dims[:] = []  # 8 floats of raw data, declared a scalar
    assert import_error(model).startswith("initializer 'c1_w_scale' cannot be read: ValueError: ")


# ----------------------------------------------------------------------------- fuzz

ODD_INTS = [0, -1, 1, 2, 3, 5, 7, 1 << 31, -(1 << 40)]
ODD_SCALES = [0.0, -1.0, 1e-45, 1e-40, 1.2e-38, 1e-30, 1e30, 1e38, 3.4e38, np.inf, np.nan, 1e-3]
WINDOW_ATTRS = ["strides", "kernel_shape", "dilations", "pads", "perm", "axes"]


def _odd_int_list(rng) -> list[int]:
    return [int(rng.choice(ODD_INTS)) for _ in range(int(rng.integers(0, 6)))]


def mutate_attribute(model, rng) -> None:
    node = model.graph.node[int(rng.integers(len(model.graph.node)))]
    choice = rng.integers(5)
    if choice == 0:
        set_attr(node, str(rng.choice(WINDOW_ATTRS)), _odd_int_list(rng))
    elif choice == 1:
        set_attr(node, str(rng.choice(["auto_pad"])), str(rng.choice(["VALID", "SAME_UPPER", "X"])))
    elif choice == 2:
        name = str(rng.choice(["axis", "group", "transA", "transB", "ceil_mode", "channels_last"]))
        set_attr(node, name, int(rng.choice(ODD_INTS)))
    elif choice == 3 and node.attribute:
        node.attribute.remove(node.attribute[int(rng.integers(len(node.attribute)))])
    else:
        set_attr(node, "strides", [int(rng.integers(0, 3)), int(rng.integers(0, 3))])


def mutate_initializer(model, rng, names=None) -> None:
    candidates = [t.name for t in model.graph.initializer if names is None or names(t.name)]
    if not candidates:
        return
    name = str(rng.choice(candidates))
    data = initializer(model, name)
    choice = rng.integers(5)
    if choice == 0 and data.size > 1:  # drop elements
        data = data.ravel()[: int(rng.integers(0, data.size))]
    elif choice == 1:  # an extra leading or trailing axis
        data = data[None] if rng.integers(2) else data[..., None]
    elif choice == 2:  # a different shape of the same size
        data = data.reshape(-1)
    elif choice == 3:  # repeated
        data = np.concatenate([data.ravel(), data.ravel()])
    else:  # another dtype
        data = data.astype(rng.choice([np.int8, np.uint8, np.int32, np.float32, np.int64]))
    set_initializer(model, name, data)


def mutate_scale(model, rng) -> None:
    names = [t.name for t in model.graph.initializer if t.name.endswith("scale")]
    name = str(rng.choice(names))
    data = initializer(model, name).astype(np.float32).copy()
    with np.errstate(all="ignore"):
        if data.ndim == 0:
            data = np.float32(rng.choice(ODD_SCALES))
        else:
            data[int(rng.integers(data.size))] = rng.choice(ODD_SCALES)
    set_initializer(model, name, data)


def mutate_zero_point(model, rng) -> None:
    if rng.integers(2):
        mutate_initializer(model, rng, lambda n: n.endswith("zero_point"))
        return
    names = [t.name for t in model.graph.initializer if t.name.endswith("zero_point")]
    name = str(rng.choice(names))
    data = initializer(model, name).copy()
    info = np.iinfo(data.dtype)
    extreme = rng.choice([info.min, info.max])
    if data.ndim == 0:
        data = np.array(extreme, data.dtype)
    else:
        data[int(rng.integers(data.size))] = extreme
    set_initializer(model, name, data)


def mutate_input_shape(model, rng) -> None:
    dims = model.graph.input[0].type.tensor_type.shape.dim
    choice = rng.integers(3)
    if choice == 0:
        model.graph.input[0].type.tensor_type.ClearField("shape")
    elif choice == 1 and len(dims):
        dims[int(rng.integers(len(dims)))].dim_value = int(rng.choice([1, 2, 5, 33]))
    else:
        dims.add().dim_value = 1


def mutant(case: int) -> tuple[str, bytes]:
    """Mutant number `case`: a kind of mutation applied to one of the quantized models."""
    rng = np.random.default_rng([18, case])
    key = str(rng.choice(sorted(SOURCES)))
    model = quantized(key)
    kind = str(
        rng.choice(["bytes", "truncate", "attribute", "initializer", "scale", "zp", "input"])
    )
    if kind in ("bytes", "truncate"):
        data = bytearray(model.SerializeToString())
        if kind == "truncate":
            data = data[: int(rng.integers(len(data)))]
        else:
            for _ in range(int(rng.integers(1, 9))):
                data[int(rng.integers(len(data)))] ^= 1 << int(rng.integers(8))
        return f"{key}/{kind}", bytes(data)
    for _ in range(int(rng.integers(1, 3))):
        {
            "attribute": mutate_attribute,
            "initializer": mutate_initializer,
            "scale": mutate_scale,
            "zp": mutate_zero_point,
            "input": mutate_input_shape,
        }[kind](model, rng)
    return f"{key}/{kind}", model.SerializeToString()


@pytest.mark.parametrize("block", tiered_range(11, 1))
def test_mutated_models_give_clean_errors(tmp_path, block) -> None:
    """30 mutants per block: block 0 in the default tier, the other ten (300) in the slow one."""
    outcomes = []
    for case in range(block * 30, block * 30 + 30):
        label, data = mutant(case)
        status, err = qopt_run(tmp_path, data, "--emit-c")
        assert status in (0, 1), (case, label, err)
        assert "internal error" not in err and "Traceback" not in err, (case, label, err)
        if status:
            clean = (f"{tmp_path / 'model.onnx'}:1:1: error: ", "qopt: error: ")
            assert err.startswith(clean), (case, label, err)
        outcomes.append(status)
    assert 1 in outcomes  # the mutants do reach the checks


def test_pad_value_computed_from_the_input_is_refused_naming_it() -> None:
    """A Pad value from Q/DQ of a constant is evaluated (test_quantize_static); one the graph
    computes from its input is not."""
    nodes = [
        helper.make_node("ReduceMax", ["x"], ["m"], keepdims=0),
        helper.make_node("Pad", ["x", "pads", "m"], ["y"], name="pad"),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2, 5])],
        [numpy_helper.from_array(np.array([0, 1, 0, 1], np.int64), "pads")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=9)
    with pytest.raises(OnnxImportError) as err:
        import_onnx(model)
    assert str(err.value) == (
        "node 'pad' (Pad): constant_value 'm' must be a constant (an initializer, or one "
        "through QuantizeLinear/DequantizeLinear)"
    )
