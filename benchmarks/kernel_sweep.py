"""The fast integer kernels on the workloads of issue 6, next to ONNX Runtime (run by hand).

    PYTHONPATH=$PWD python benchmarks/kernel_sweep.py --threads 1
    PYTHONPATH=$PWD python benchmarks/kernel_sweep.py --threads 2 --only conv

Weights are `arith.constant`s (packed once at load, as in a real model), activations full-range
u8; every output is checked against the reference interpreter before it is timed. Threads: our
kernels follow OMP_NUM_THREADS (set here before anything loads), ONNX Runtime its
intra_op_num_threads. GOP/s = 2·MACs / median time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def median_seconds(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


X = "!quant.uniform<u8:f32, 0.02:128>"
W = "!quant.uniform<i8:f32, 0.01:0>"  # ONNX Runtime gets the same reals as u8, zero point 128
Y = "!quant.uniform<u8:f32, 0.5:128>"


def with_weights(text: str, weights):
    """Parse `text` and give its one splat constant the values of `weights`."""
    from xdsl.dialects import arith
    from xdsl.dialects.builtin import DenseIntOrFPElementsAttr

    from qdialect.textio import parse_module

    module = parse_module(text)
    (const,) = [op for op in module.walk() if isinstance(op, arith.ConstantOp)]
    value = DenseIntOrFPElementsAttr.from_list(const.result.type, weights.ravel().tolist())
    const.properties["value"] = value
    return module


def workload(kind: str, dims: tuple, layout: str):
    """(IR text, weights, input, ONNX node) of one workload."""
    import numpy as np
    from onnx import helper

    rng = np.random.default_rng(0)
    if kind == "gemm":
        m, k, n = dims
        x = rng.integers(0, 256, (m, k), dtype=np.uint8)
        w = rng.integers(-128, 128, (k, n), dtype=np.int8)
        xt, wt, yt = (f"tensor<{m}x{k}x{X}>", f"tensor<{k}x{n}x{W}>", f"tensor<{m}x{n}x{Y}>")
        body = f"%y = qnn.dot %x, %w : {xt}, {wt} -> {yt}"
        node = helper.make_node(
            "QLinearMatMul", ["x", "sx", "zx", "w", "sw", "zw", "sy", "zy"], ["y"]
        )
        ort_x, y_shape = x, [m, n]
    else:
        c, hw, o, r, stride, pad, groups = dims
        oh = (hw + 2 * pad - r) // stride + 1
        x = rng.integers(0, 256, (1, c, hw, hw), dtype=np.uint8)
        w = rng.integers(-128, 128, (o, c // groups, r, r), dtype=np.int8)
        ort_x, y_shape = x, [1, o, oh, oh]
        node = helper.make_node(
            "QLinearConv",
            ["x", "sx", "zx", "w", "sw", "zw", "sy", "zy"],
            ["y"],
            pads=[pad] * 4,
            strides=[stride] * 2,
            group=groups,
        )
        if layout == "nhwc":
            x = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
            ours_w = np.ascontiguousarray(w.transpose(0, 2, 3, 1))
            xs, ws, ys = (1, hw, hw, c), (o, r, r, c // groups), (1, oh, oh, o)
        else:
            ours_w = w
            xs, ws, ys = (1, c, hw, hw), (o, c // groups, r, r), (1, o, oh, oh)
        xt, wt, yt = (
            f"tensor<{'x'.join(map(str, s))}x{q}>" for s, q in ((xs, X), (ws, W), (ys, Y))
        )
        attrs = (
            f"pads = array<i64: {pad}, {pad}, {pad}, {pad}>, strides = array<i64: {stride}, "
            f'{stride}>, groups = {groups} : i64, layout = "{layout}"'
        )
        body = f"%y = qnn.conv2d %x, %w {{{attrs}}} : {xt}, {wt} -> {yt}"
        w = ours_w
    raw = wt.replace(W, "i8")
    text = f"""func.func @main(%x: {xt}) -> {yt} {{
  %wi = arith.constant dense<0> : {raw}
  %w = quant.scast %wi : {raw} to {wt}
  {body}
  func.return %y : {yt}
}}"""
    return text, w, x, ort_x, node, y_shape, dims


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--only", default="")
    parser.add_argument("--no-ort", action="store_true")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

    import numpy as np
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    from runtime.compiled import compile_module
    from runtime.reference import run_function

    cases = [
        ("GEMV 1x768x768", "gemm", (1, 768, 768), "-"),
        ("GEMM 128x768x768", "gemm", (128, 768, 768), "-"),
        ("conv 64@56 3x3 p1 nhwc", "conv", (64, 56, 64, 3, 1, 1, 1), "nhwc"),
        ("conv 64@56 3x3 p1 nchw", "conv", (64, 56, 64, 3, 1, 1, 1), "nchw"),
        ("conv 1x1 256@56->64 nhwc", "conv", (256, 56, 64, 1, 1, 0, 1), "nhwc"),
        ("conv 3x3 s2 64@56->128 nhwc", "conv", (64, 56, 128, 3, 2, 1, 1), "nhwc"),
        ("first 7x7 s2 3@224->64 nhwc", "conv", (3, 224, 64, 7, 2, 3, 1), "nhwc"),
        ("depthwise 3x3 144@56 nhwc", "conv", (144, 56, 144, 3, 1, 1, 144), "nhwc"),
        ("depthwise 3x3 144@56 nchw", "conv", (144, 56, 144, 3, 1, 1, 144), "nchw"),
    ]
    print(f"threads={args.threads}")
    print("| workload | qdialect GOP/s | ONNX Runtime GOP/s | ours / ORT |")
    print("| --- | --- | --- | --- |")
    for title, kind, dims, layout in cases:
        if args.only and args.only not in title:
            continue
        text, w, x, ort_x, node, y_shape, dims = workload(kind, dims, layout)
        fn = compile_module(with_weights(text, w))
        (ours,) = fn(x)
        expected = run_function(with_weights(text, w), [x])[0]
        assert np.array_equal(ours, expected), title
        if kind == "gemm":
            macs = dims[0] * dims[1] * dims[2]
        else:
            c, hw, o, r, stride, pad, groups = dims
            macs = y_shape[2] * y_shape[3] * o * (c // groups) * r * r
        t_ours = median_seconds(lambda fn=fn, x=x: fn(x), args.repeat)
        ort_text = "-"
        if not args.no_ort:
            f, u = np.float32, np.uint8
            inits = [
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
            ort_w = w if kind == "gemm" or layout == "nchw" else w.transpose(0, 3, 1, 2)
            ort_w = (ort_w.astype(np.int16) + 128).astype(np.uint8)
            inits.append(numpy_helper.from_array(np.ascontiguousarray(ort_w), "w"))
            graph = helper.make_graph(
                [node],
                "bench",
                [helper.make_tensor_value_info("x", TensorProto.UINT8, list(ort_x.shape))],
                [helper.make_tensor_value_info("y", TensorProto.UINT8, y_shape)],
                inits,
            )
            model = helper.make_model(
                graph, opset_imports=[helper.make_opsetid("", 21)], ir_version=10
            )
            options = ort.SessionOptions()
            options.intra_op_num_threads = args.threads
            session = ort.InferenceSession(
                model.SerializeToString(), options, providers=["CPUExecutionProvider"]
            )
            t_ort = median_seconds(lambda s=session, x=ort_x: s.run(None, {"x": x}), args.repeat)
            ort_text = f"{2 * macs / t_ort / 1e9:.1f} | {t_ort / t_ours:.2f}"
        print(f"| {title} | {2 * macs / t_ours / 1e9:.1f} | {ort_text} |", flush=True)


if __name__ == "__main__":
    main()
