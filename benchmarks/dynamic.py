"""Dynamic-quantized MLP / FFN whole-model latency, ours (compiled) next to ONNX Runtime at one
thread, on the same quantize_dynamic model (ORT optimizes it into its fused contrib kernels).

    python benchmarks/dynamic.py
"""

from __future__ import annotations

import logging
import os
import tempfile
import timeit

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import quantize_dynamic

from qdialect.onnx_import import import_onnx
from runtime.compiled import compile_module


def ffn(tokens: int, width: int, hidden: int, seed: int = 0) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    weights = {
        "w1": (rng.standard_normal((width, hidden)) * 0.05).astype(np.float32),
        "b1": (rng.standard_normal(hidden) * 0.1).astype(np.float32),
        "w2": (rng.standard_normal((hidden, width)) * 0.05).astype(np.float32),
        "b2": (rng.standard_normal(width) * 0.1).astype(np.float32),
    }
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h0"]),
        helper.make_node("Add", ["h0", "b1"], ["h1"]),
        helper.make_node("Relu", ["h1"], ["h2"]),
        helper.make_node("MatMul", ["h2", "w2"], ["h3"]),
        helper.make_node("Add", ["h3", "b2"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "ffn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [tokens, width])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [tokens, width])],
        [numpy_helper.from_array(v, k) for k, v in weights.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)


def median_ms(fn, repeat: int = 15) -> float:
    number = max(1, int(0.05 / max(timeit.timeit(fn, number=1), 1e-6)))
    return 1e3 * float(np.median(timeit.repeat(fn, number=number, repeat=repeat))) / number


def main() -> None:
    logging.getLogger().setLevel(logging.ERROR)
    print(f"load: {os.getloadavg()[0]:.2f}")
    print("| model | tokens x width x hidden | reduce_range | ours ms | ORT ms | ours / ORT |")
    print("| --- | --- | --- | ---: | ---: | ---: |")
    for tokens, width, hidden in ((1, 768, 3072), (32, 768, 3072), (128, 256, 1024)):
        for reduce_range in (False, True):
            with tempfile.TemporaryDirectory() as folder:
                src, dst = os.path.join(folder, "f.onnx"), os.path.join(folder, "q.onnx")
                onnx.save(ffn(tokens, width, hidden), src)
                quantize_dynamic(src, dst, per_channel=True, reduce_range=reduce_range)
                model = onnx.load(dst)
            x = np.random.default_rng(1).standard_normal((tokens, width)).astype(np.float32)
            options = ort.SessionOptions()
            options.intra_op_num_threads = 1
            session = ort.InferenceSession(
                model.SerializeToString(), options, providers=["CPUExecutionProvider"]
            )
            fn = compile_module(import_onnx(model), threads=1)
            ours = median_ms(lambda fn=fn, x=x: fn(x=x))
            theirs = median_ms(lambda s=session, x=x: s.run(None, {"x": x}))
            shape = f"{tokens} x {width} x {hidden}"
            print(
                f"| FFN | {shape} | {reduce_range} | {ours:.3f} | {theirs:.3f} | {ours / theirs:.2f} |"
            )


if __name__ == "__main__":
    main()
