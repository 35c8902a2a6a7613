"""Compiled qdialect kernels next to ONNX Runtime on the same workloads (run by hand).

    python benchmarks/kernels.py            # 1 thread for ONNX Runtime
    python benchmarks/kernels.py --quick    # smaller repeat counts

Every output is checked against the reference interpreter (and ONNX Runtime's against ours,
on the u8×u8 path where it is exact) before anything is timed. GOP/s = 2·MACs / time.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from runtime.compiled import compile_module
from runtime.reference import run_function

U8 = "!quant.uniform<u8:f32, 0.02:128>"
W8 = "!quant.uniform<u8:f32, 0.01:128>"
Y8 = "!quant.uniform<u8:f32, 0.5:128>"


def median_seconds(fn, repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def ort_session(nodes, inputs, outputs, inits) -> ort.InferenceSession:
    graph = helper.make_graph(nodes, "bench", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], ir_version=10)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def scalars() -> list[onnx.TensorProto]:
    f, u = np.float32, np.uint8
    return [
        numpy_helper.from_array(np.array(v, t), n)
        for n, v, t in [
            ("sx", 0.02, f),
            ("zx", 128, u),
            ("sw", 0.01, f),
            ("zw", 128, u),
            ("sy", 0.5, f),
            ("zy", 128, u),
        ]
    ]


def gemm(m: int, k: int, n: int, repeat: int):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (m, k), dtype=np.uint8)
    b = rng.integers(0, 256, (k, n), dtype=np.uint8)
    text = f"""func.func @main(%a: tensor<{m}x{k}x{U8}>, %b: tensor<{k}x{n}x{W8}>) -> tensor<{m}x{n}x{Y8}> {{
  %y = qnn.dot %a, %b : tensor<{m}x{k}x{U8}>, tensor<{k}x{n}x{W8}> -> tensor<{m}x{n}x{Y8}>
  func.return %y : tensor<{m}x{n}x{Y8}>
}}"""
    fn = compile_module(text)
    (ours,) = fn(a, b)
    assert np.array_equal(ours, run_function(text, [a, b])[0])
    session = ort_session(
        [helper.make_node("QLinearMatMul", ["a", "sx", "zx", "b", "sw", "zw", "sy", "zy"], ["y"])],
        [
            helper.make_tensor_value_info("a", TensorProto.UINT8, [m, k]),
            helper.make_tensor_value_info("b", TensorProto.UINT8, [k, n]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.UINT8, [m, n])],
        scalars(),
    )
    (theirs,) = session.run(None, {"a": a, "b": b})
    assert np.array_equal(ours, theirs)
    ops = 2 * m * k * n
    return (
        ops,
        median_seconds(lambda: fn(a, b), repeat),
        median_seconds(lambda: session.run(None, {"a": a, "b": b}), repeat),
    )


def conv(c: int, hw: int, k: int, r: int, groups: int, repeat: int):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (1, c, hw, hw), dtype=np.uint8)
    w = rng.integers(0, 256, (k, c // groups, r, r), dtype=np.uint8)
    p = r // 2
    xt, wt, yt = (
        f"tensor<1x{c}x{hw}x{hw}x{U8}>",
        f"tensor<{k}x{c // groups}x{r}x{r}x{W8}>",
        f"tensor<1x{k}x{hw}x{hw}x{Y8}>",
    )
    text = f"""func.func @main(%x: {xt}, %w: {wt}) -> {yt} {{
  %y = qnn.conv2d %x, %w {{pads = array<i64: {p}, {p}, {p}, {p}>, groups = {groups} : i64}} : {xt}, {wt} -> {yt}
  func.return %y : {yt}
}}"""
    fn = compile_module(text)
    (ours,) = fn(x, w)
    session = ort_session(
        [
            helper.make_node(
                "QLinearConv",
                ["x", "sx", "zx", "w", "sw", "zw", "sy", "zy"],
                ["y"],
                pads=[p] * 4,
                group=groups,
            )
        ],
        [
            helper.make_tensor_value_info("x", TensorProto.UINT8, list(x.shape)),
            helper.make_tensor_value_info("w", TensorProto.UINT8, list(w.shape)),
        ],
        [helper.make_tensor_value_info("y", TensorProto.UINT8, [1, k, hw, hw])],
        scalars(),
    )
    (theirs,) = session.run(None, {"x": x, "w": w})
    assert np.array_equal(ours, theirs)
    ops = 2 * k * hw * hw * (c // groups) * r * r
    return (
        ops,
        median_seconds(lambda: fn(x, w), repeat),
        median_seconds(lambda: session.run(None, {"x": x, "w": w}), repeat),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    repeat = 3 if parser.parse_args().quick else 10
    rows = [
        ("GEMV 1x768x768", gemm(1, 768, 768, repeat)),
        ("GEMM 128x768x768", gemm(128, 768, 768, repeat)),
        ("conv 1,64,56,56->64 3x3 p1", conv(64, 56, 64, 3, 1, repeat)),
        ("depthwise 3x3 1,144,56,56 g144", conv(144, 56, 144, 3, 144, repeat)),
    ]
    print("| workload | qdialect GOP/s | ONNX Runtime GOP/s | ratio |")
    print("| --- | --- | --- | --- |")
    for name, (ops, ours, theirs) in rows:
        print(
            f"| {name} | {ops / ours / 1e9:.2f} | {ops / theirs / 1e9:.2f} | {theirs / ours:.2f} |"
        )


if __name__ == "__main__":
    main()
