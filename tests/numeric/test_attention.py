"""ONNX's Attention (opsets 23, 24) against ONNX Runtime's CPU kernel, bit for bit, at sizes
past the backend cases': grouped-query heads, causal masks over a past, boolean and float masks
of every rank (the float one through the fused multiply-add steps), 3-D inputs, the qk output
modes, softcap (glibc's tanhf) (`qdialect/onnx_import/attention.py`); opset 25's windows as
ORT runs the node's function body."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from qdialect.onnx_import import OnnxImportError, import_onnx
from runtime.compiled import compile_module
from runtime.reference import run_function

from .onnxruntime_session import run_ort

F, B = TensorProto.FLOAT, TensorProto.BOOL


def attention_model(q, k, v, extras: dict, attributes: dict, outputs: int = 1, opset: int = 23):
    """One Attention node: Q a graph input, everything else initializers (`extras` by input
    name: attn_mask, past_key, past_value, nonpad_kv_seqlen)."""
    order = ["k", "v", "attn_mask", "past_key", "past_value", "nonpad_kv_seqlen"]
    given = {"k": k, "v": v, **extras}
    names = ["q"] + [n if n in given else "" for n in order]
    while names[-1] == "":
        names.pop()
    out_names = ["y", "present_key", "present_value", "qk"][:outputs]
    node = helper.make_node("Attention", names, out_names, **attributes)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("q", F, list(q.shape))],
        [helper.make_tensor_value_info(n, F, None) for n in out_names],
        [numpy_helper.from_array(value, name) for name, value in given.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)


def normal(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


CASES = {
    # name: (batch, q heads, kv heads, q length, kv length, past, head, extras, attributes)
    "gqa_causal_past": (2, 8, 2, 7, 7, 5, 32, {"mask": None}, {"is_causal": 1}),
    "float_mask_4d": (1, 4, 4, 16, 16, 0, 64, {"mask": "float4"}, {}),
    "bool_mask_2d_causal": (2, 4, 1, 9, 9, 0, 32, {"mask": "bool2"}, {"is_causal": 1}),
    "float_mask_3d_scale": (1, 6, 3, 12, 20, 0, 16, {"mask": "float3"}, {"scale": 0.3}),
    "one_token_after_past": (1, 4, 2, 1, 1, 12, 32, {"mask": None}, {"is_causal": 1}),
    "three_d": (2, 4, 2, 10, 10, 0, 16, {"mask": None, "rank": 3}, {}),
    "qk_output_mode_2": (1, 2, 2, 8, 8, 0, 32, {"mask": "float2", "qk": 2}, {}),
    "softcap_gqa_mask": (2, 4, 2, 6, 6, 3, 32, {"mask": "bool4", "qk": 1}, {"softcap": 5.0}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_attention_is_onnxruntimes_bit_for_bit(name: str) -> None:
    batch, hq, hkv, s, length, past, head, extra, attributes = CASES[name]
    rng = np.random.default_rng(len(name))
    total = past + length
    q, k, v = (normal(rng, batch, h, n, head) for h, n in ((hq, s), (hkv, length), (hkv, length)))
    attributes = dict(attributes)
    extras: dict[str, np.ndarray] = {}
    if extra.get("rank") == 3:
        q, k, v = (x.transpose(0, 2, 1, 3).reshape(batch, x.shape[2], -1) for x in (q, k, v))
        attributes.update(q_num_heads=hq, kv_num_heads=hkv)
    kind = extra["mask"]
    if kind is not None:
        shape = {"2": (s, total), "3": (hq, s, total), "4": (batch, hq, s, total)}[kind[-1]]
        if kind.startswith("bool"):
            extras["attn_mask"] = rng.random(shape) > 0.3
        else:
            extras["attn_mask"] = np.where(rng.random(shape) > 0.2, normal(rng, *shape), -np.inf)
            extras["attn_mask"] = extras["attn_mask"].astype(np.float32)
    outputs = 1
    if past:
        extras["past_key"] = normal(rng, batch, hkv, past, head)
        extras["past_value"] = normal(rng, batch, hkv, past, head)
        outputs = 3
    if "qk" in extra:
        attributes["qk_matmul_output_mode"] = extra["qk"]
        outputs = 4
    model = attention_model(q, k, v, extras, attributes, outputs)
    module = import_onnx(model)
    got = compile_module(module, threads=1)(q)
    reference = run_function(module, [q])
    expected = run_ort(model, {"q": q}, "ORT_DISABLE_ALL")
    for ours, ref, theirs in zip(got, reference, expected, strict=True):
        assert ours.shape == theirs.shape
        assert np.array_equal(ours.view(np.uint32), theirs.view(np.uint32))
        assert np.array_equal(ref.view(np.uint32), theirs.view(np.uint32))


def test_attention_in_float16_is_refused_by_name() -> None:
    rng = np.random.default_rng(0)
    q, k, v = (normal(rng, 1, 2, 4, 8) for _ in range(3))
    model = attention_model(q, k.astype(np.float16), v, {}, {})
    with pytest.raises(OnnxImportError, match=r"\(Attention\): input 'k' must be float32"):
        import_onnx(model)


WINDOWS = {
    # name: (q heads, kv heads, past, attributes, mask)
    "local_gqa_past": (8, 2, 5, {"left_window_size": 3, "right_window_size": 0}, None),
    "bidirectional_bool_mask": (4, 4, 0, {"left_window_size": 2, "right_window_size": 2}, "bool"),
    "local_causal_float_mask": (4, 2, 0, {"left_window_size": 4, "is_causal": 1}, "float"),
}


@pytest.mark.parametrize("name", list(WINDOWS))
def test_windowed_attention_of_opset_25_is_its_function_body(name: str) -> None:
    """ORT 1.31.1 has no kernel for opset 25's Attention (it refuses the node) but runs the
    node's ONNX function body: the importer takes that body, and matches ORT running it (the
    node expanded as ONNX's backend tests expand it) bit for bit."""
    from onnx.backend.test.case.node import function_testcase_helper

    hq, hkv, past, attributes, mask = WINDOWS[name]
    rng = np.random.default_rng(len(name))
    batch, length, head = 2, 12, 32
    q = normal(rng, batch, hq, length, head)
    k, v = (normal(rng, batch, hkv, length, head) for _ in range(2))
    extras: dict[str, np.ndarray] = {}
    if mask == "bool":
        extras["attn_mask"] = rng.random((length, past + length)) > 0.2
    elif mask == "float":
        extras["attn_mask"] = normal(rng, batch, 1, length, past + length)
    if past:
        extras["past_key"] = normal(rng, batch, hkv, past, head)
        extras["past_value"] = normal(rng, batch, hkv, past, head)
    outputs = 3 if past else 1
    model = attention_model(q, k, v, extras, attributes, outputs, opset=25)
    node, graph = model.graph.node[0], model.graph
    types = [helper.make_tensor_type_proto(F, list(q.shape))] + [
        helper.make_tensor_type_proto(init.data_type, list(init.dims)) for init in graph.initializer
    ]
    (expanded, _), *_ = function_testcase_helper(node, types, "t", model.opset_import)[0]
    del graph.node[:]
    graph.node.extend(expanded)
    windowed = attention_model(q, k, v, extras, attributes, outputs, opset=25)
    got = compile_module(import_onnx(windowed), threads=1)
    expected = run_ort(model, {"q": q}, "ORT_DISABLE_ALL")
    for ours, theirs in zip(got(q), expected, strict=True):
        assert ours.shape == theirs.shape
        assert np.array_equal(ours.view(np.uint32), theirs.view(np.uint32))
