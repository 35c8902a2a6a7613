"""ONNX Runtime as the tests run it: one intra-op thread, the CPU provider, all optimizations."""

from __future__ import annotations

import functools

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper


def run_ort(
    model: onnx.ModelProto, feeds: dict[str, np.ndarray], level: str = "ORT_ENABLE_ALL"
) -> list[np.ndarray]:
    """`level`: the graph optimization level's name (all of them by default)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    return session.run(None, feeds)


@functools.cache
def ort_saturates_u8s8() -> bool:
    """True if this host's ONNX Runtime sums u8 x s8 products in saturating int16 pairs, as its
    AVX2 kernel does (`vpmaddubsw`); with VNNI or AMX its kernels sum into int32 and are exact.
    Asked of ORT itself: a MatMulInteger whose every pair sum (2 · 255 · 127) saturates."""
    m, k, n = 4, 64, 16
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["a", "b"], ["y"])],
        "probe",
        [helper.make_tensor_value_info("a", TensorProto.UINT8, [m, k])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [m, n])],
        [numpy_helper.from_array(np.full((k, n), 127, dtype=np.int8), "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=9)
    (y,) = run_ort(model, {"a": np.full((m, k), 255, dtype=np.uint8)})
    exact = 255 * 127 * k
    assert np.all(y == y.flat[0]) and y.flat[0] in (exact, 32767 * (k // 2)), y
    return bool(y.flat[0] != exact)
