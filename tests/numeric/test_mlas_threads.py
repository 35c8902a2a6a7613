"""ONNX Runtime's float sums on several intra-op threads (`rewrites.mlas_threads`), against ORT.

MLAS runs a single image's conv, and a GEMM of two activations, as one GEMM per range of
output pixels (columns) when it has threads to spare, and each range picks its K block from
its own N: in small images the sums differ from the single-threaded ones. The pass writes
those sums; the reference interpreter and the compiled kernels then equal ORT at that
thread count, bit for bit. Calibration uses it with ORT's default threads, as
`quantize_static`'s calibrator runs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.passes import PassPipeline

from qdialect import qnn
from qdialect.host_cpu import ort_default_threads
from qdialect.onnx_import import import_onnx
from qdialect.textio import make_context
from rewrites.registry import PASSES
from runtime.compiled import compile_module
from runtime.quantization import calibrate
from runtime.reference import run_function

from .test_calibrate import bits, ort_ranges


def run_ort_threads(model: onnx.ModelProto, feeds: dict, threads: int) -> np.ndarray:
    """ORT's session as its calibrator runs it (no graph optimizations) on `threads` (0: its
    default)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    return session.run(None, feeds)[0]


def conv_model(x_shape, w_shape, pads, strides, rng) -> onnx.ModelProto:
    w = (rng.standard_normal(w_shape) * 0.1).astype(np.float32)
    b = rng.standard_normal(w_shape[0]).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=pads, strides=strides)],
        "conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)


def matmul_model(m: int, k: int, n: int) -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "b"], ["y"])],
        "matmul",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [m, k]),
            helper.make_tensor_value_info("b", TensorProto.FLOAT, [k, n]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)


def threaded(model: onnx.ModelProto, threads: int):
    module = import_onnx(model)
    PassPipeline.parse_spec(PASSES, f"mlas-threads{{threads={threads}}}").apply(
        make_context(), module
    )
    module.verify()
    return module


# (input, weight, pads, strides): DenseNet's 7 x 7 convs of 32 filters (segments of 32 + 17
# pixels), GoogLeNet's 1 x 1 reduction (a direct GEMM split by columns), a strided conv, one
# with more filters than pixels (split by rows: nothing changes)
CONVS = [
    ([1, 128, 7, 7], [32, 128, 3, 3], [1, 1, 1, 1], [1, 1]),
    ([1, 832, 7, 7], [32, 832, 1, 1], [0, 0, 0, 0], [1, 1]),
    ([1, 64, 28, 28], [32, 64, 3, 3], [1, 1, 1, 1], [2, 2]),
    ([1, 256, 9, 9], [48, 256, 3, 3], [1, 1, 1, 1], [1, 1]),
    ([1, 512, 7, 7], [512, 512, 3, 3], [1, 1, 1, 1], [1, 1]),
]


@pytest.mark.parametrize("threads", [2, 3, 4])
@pytest.mark.parametrize("case", CONVS, ids=lambda c: "x".join(map(str, c[0] + c[1])))
def test_convs_sum_as_onnxruntime_on_threads(case, threads: int) -> None:
    rng = np.random.default_rng(threads)
    model = conv_model(*case, rng)
    x = rng.standard_normal(case[0]).astype(np.float32)
    theirs = run_ort_threads(model, {"x": x}, threads)
    module = threaded(model, threads)
    (reference,) = run_function(module, {"x": x})
    (compiled,) = compile_module(module, threads=1)(x=x)
    assert np.array_equal(reference, theirs)
    assert np.array_equal(compiled, theirs)


@pytest.mark.parametrize(("m", "k", "n"), [(8, 1024, 48), (4, 2048, 100), (32, 512, 40)])
def test_matmuls_of_activations_sum_as_onnxruntime_on_two_threads(m, k, n) -> None:
    rng = np.random.default_rng(m)
    model = matmul_model(m, k, n)
    feeds = {
        "x": rng.standard_normal((m, k)).astype(np.float32),
        "b": rng.standard_normal((k, n)).astype(np.float32),
    }
    theirs = run_ort_threads(model, feeds, 2)
    (compiled,) = compile_module(threaded(model, 2), threads=1)(**feeds)
    assert np.array_equal(compiled, theirs)


def test_the_split_is_where_the_sums_differ() -> None:
    """On two threads DenseNet's conv sums in blocks of 512 taps (256 on one): the pass
    makes a copy per block, and ORT's outputs differ from the single-threaded ones."""
    rng = np.random.default_rng(0)
    model = conv_model(*CONVS[0], rng)
    x = rng.standard_normal(CONVS[0][0]).astype(np.float32)
    assert not np.array_equal(
        run_ort_threads(model, {"x": x}, 1), run_ort_threads(model, {"x": x}, 2)
    )
    blocks = sorted(
        op.sum_block.value.data
        for op in threaded(model, 2).walk()
        if isinstance(op, qnn.Conv2DOp) and op.sum_block is not None
    )
    assert blocks == [512]
    untouched = [op for op in threaded(model, 1).walk() if isinstance(op, qnn.Conv2DOp)]
    assert [op.sum_block for op in untouched] == [None]


def test_default_threads_are_onnxruntimes() -> None:
    """An ORT session left at its default threads sums as one on `ort_default_threads()`."""
    rng = np.random.default_rng(1)
    model = conv_model(*CONVS[0], rng)
    x = rng.standard_normal(CONVS[0][0]).astype(np.float32)
    default = run_ort_threads(model, {"x": x}, 0)
    assert np.array_equal(default, run_ort_threads(model, {"x": x}, ort_default_threads()))


def small_image_net(rng: np.random.Generator) -> onnx.ModelProto:
    """Convs on a 7 x 7 image whose sums depend on ORT's threads, and a Relu between."""
    node = helper.make_node
    weights = {
        "w1": (rng.standard_normal((32, 128, 3, 3)) * 0.05).astype(np.float32),
        "w2": (rng.standard_normal((32, 32, 1, 1)) * 0.2).astype(np.float32),
    }
    nodes = [
        node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
        node("Relu", ["c1"], ["r1"], name="relu1"),
        node("Conv", ["r1", "w2"], ["y"], name="conv2"),
    ]
    graph = helper.make_graph(
        nodes,
        "small",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 128, 7, 7])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 32, 7, 7])],
        [numpy_helper.from_array(v, k) for k, v in weights.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)


@pytest.mark.parametrize("threads", [None, 1, 2])
def test_calibration_ranges_are_onnxruntimes_on_its_threads(tmp_path: Path, threads) -> None:
    """`calibrate(ort_threads=)` equals ORT's calibrator on that many threads (None: both
    at ORT's default, as quantize_static calibrates), every range to the bit."""
    rng = np.random.default_rng(5)
    path = tmp_path / "small.onnx"
    onnx.save(small_image_net(rng), path)
    samples = (rng.standard_normal((4, 1, 128, 7, 7)) * 2).astype(np.float32)
    ours = calibrate(path, {"x": samples}, "minmax", progress=False, ort_threads=threads)
    theirs = ort_ranges(path, samples, "minmax", {}, threads=threads or 0)
    assert set(theirs) <= set(ours)
    got = {n: (bits(ours[n].lowest), bits(ours[n].highest)) for n in theirs}
    assert got == {n: (bits(lo), bits(hi)) for n, (lo, hi) in theirs.items()}


def test_a_split_conv_keeps_its_torch_style_name(tmp_path: Path) -> None:
    """A conv MLAS splits on two threads (32 → 32, 1 × 5 on 6 × 6) whose output bears a name
    no SSA name hint can carry (torch's `/c3/Conv_output_0`, recorded as an attribute): the
    pass's per-block copies leave the name to the joined value, so calibration observes it
    once, and the ranges are ORT's on two threads."""
    rng = np.random.default_rng(2)
    name = "/c3/Conv_output_0"
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["x", "w"], [name], pads=[0, 2, 0, 2], name="conv"),
            helper.make_node("Relu", [name], ["y"], name="relu"),
        ],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 32, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [
            numpy_helper.from_array(
                (rng.standard_normal((32, 32, 1, 5)) * 0.3).astype(np.float32), "w"
            )
        ],
    )
    path = tmp_path / "split.onnx"
    onnx.save(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9), path
    )
    samples = rng.standard_normal((4, 1, 32, 6, 6)).astype(np.float32)
    ours = calibrate(path, {"x": samples}, "minmax", progress=False, ort_threads=2)
    theirs = ort_ranges(path, samples, "minmax", {}, threads=2)
    assert name in theirs and set(theirs) <= set(ours)
    got = {n: (bits(ours[n].lowest), bits(ours[n].highest)) for n in theirs}
    assert got == {n: (bits(lo), bits(hi)) for n, (lo, hi) in theirs.items()}
