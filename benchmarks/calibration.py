"""Calibration speed and memory: ours against ONNX Runtime's calibrators (minmax, percentile).

    python benchmarks/calibration.py --samples 16 64 256      # ours and ORT, each sample count
    python benchmarks/calibration.py --tools ours plain --samples 16 --width 16 --size 112

The model is ResNet-18 (torchvision's layout: 7x7/2 stem conv, max pool, 4 stages of two basic
blocks, global average pool, Gemm), batch-norm folded into the convolutions, random He-scaled
weights, built with onnx.helper; `--width` and `--size` shrink it. Each measurement runs in a
fresh process, one thread (our kernels: threads=1; ORT: intra/inter-op threads 1), reads the
samples from one `.npz` and reports samples/s of the calibration (the model is compiled, or
the session created, before the clock starts), wall and CPU, and the process's peak RSS.
`plain` runs the same compiled model without observation (what observing costs).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


class _Graph:
    """Nodes and initializers of a float ONNX graph under construction (random weights)."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.nodes: list = []
        self.inits: list = []

    def node(self, op: str, inputs: list[str], output: str, **attrs) -> str:
        from onnx import helper

        self.nodes.append(helper.make_node(op, inputs, [output], **attrs))
        return output

    def constant(self, name: str, values: np.ndarray) -> str:
        from onnx import numpy_helper

        self.inits.append(numpy_helper.from_array(values.astype(np.float32), name))
        return name

    def conv(self, x: str, cin: int, cout: int, k: int, stride: int, name: str) -> str:
        """A conv with He-scaled weights and a bias (a folded batch norm)."""
        w = self.rng.standard_normal((cout, cin, k, k)) * np.sqrt(2 / (cin * k * k))
        weight = self.constant(f"{name}.weight", w)
        bias = self.constant(f"{name}.bias", self.rng.standard_normal(cout) * 0.1)
        return self.node(
            "Conv", [x, weight, bias], f"{name}/out",
            kernel_shape=[k, k], strides=[stride, stride], pads=[k // 2] * 4,
        )  # fmt: skip

    def basic_block(self, x: str, cin: int, cout: int, stride: int, name: str) -> str:
        y = self.node(
            "Relu", [self.conv(x, cin, cout, 3, stride, f"{name}.conv1")], f"{name}.conv1/relu"
        )
        y = self.conv(y, cout, cout, 3, 1, f"{name}.conv2")
        if stride != 1 or cin != cout:
            x = self.conv(x, cin, cout, 1, stride, f"{name}.downsample")
        return self.node("Relu", [self.node("Add", [y, x], f"{name}/add")], f"{name}/relu")


def resnet18(width: int = 64, size: int = 224, classes: int = 1000, seed: int = 0):
    """ResNet-18 as a float ONNX model (BN folded: each conv has a bias)."""
    from onnx import TensorProto, helper

    g = _Graph(seed)
    x = g.node("Relu", [g.conv("input", 3, width, 7, 2, "conv1")], "conv1/relu")
    x = g.node("MaxPool", [x], "pool1", kernel_shape=[3, 3], strides=[2, 2], pads=[1] * 4)
    cin = width
    for stage, cout in enumerate([width, 2 * width, 4 * width, 8 * width], start=1):
        for block in range(2):
            stride = 2 if stage > 1 and block == 0 else 1
            x, cin = g.basic_block(x, cin, cout, stride, f"layer{stage}.{block}"), cout
    x = g.node("Flatten", [g.node("GlobalAveragePool", [x], "gap")], "flat")
    fc = g.constant("fc.weight", g.rng.standard_normal((cin, classes)) / np.sqrt(cin))
    bias = g.constant("fc.bias", np.zeros(classes))
    g.node("Gemm", [x, fc, bias], "logits")
    graph = helper.make_graph(
        g.nodes, "resnet18",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, classes])],
        g.inits,
    )  # fmt: skip
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Clock:
    """Wall and CPU seconds of a block (CPU time is what a busy machine distorts least)."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def run_ours(model_path: str, data: str, count: int, method: str = "minmax") -> dict:
    """`runtime.quantization.calibrate` on `count` samples, serial. The first call compiles
    (pass 1, and pass 2 for histogram methods, whose edges depend on the data); the second,
    timed, finds both in the JIT cache."""
    from runtime.quantization import calibrate
    from runtime.samples import NpzSamples

    samples = NpzSamples(data, 0, count)
    calibrate(model_path, samples, method, progress=False)
    with Clock() as clock:
        calibrate(model_path, samples, method, progress=False)
    return {"wall": clock.wall, "cpu": clock.cpu, "samples": count}


def run_plain(model_path: str, data: str, count: int, method: str = "minmax") -> dict:
    """The compiled float model without observation, one run per sample (what observing and
    the second pass cost on top)."""
    from qdialect.onnx_import import import_onnx
    from runtime.calibration_run import run_samples
    from runtime.compiled import compile_module
    from runtime.samples import NpzSamples

    fn = compile_module(import_onnx(model_path), threads=1)
    with Clock() as clock:
        result = run_samples(fn, NpzSamples(data, 0, count), 0, histogram=False)
    return {"wall": clock.wall, "cpu": clock.cpu, "samples": result.samples}


def run_ort(model_path: str, data: str, count: int, method: str = "minmax") -> dict:
    import onnxruntime
    from onnxruntime.quantization.calibrate import (
        CalibrationDataReader,
        CalibrationMethod,
        create_calibrator,
    )

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.arrays = np.load(data)
            self.index = 0

        def get_next(self):
            if self.index == count:
                return None
            self.index += 1
            return {"input": self.arrays["input"][self.index - 1]}

    options = onnxruntime.SessionOptions()  # the calibrator's own, on one thread
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    ort_method = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile}
    with tempfile.TemporaryDirectory() as folder:
        augmented = str(Path(folder) / "augmented.onnx")
        calibrator = create_calibrator(
            model_path,
            augmented_model_path=augmented,
            calibrate_method=ort_method[method],
            extra_options={"symmetric": True} if method == "percentile" else {},
        )
        calibrator.infer_session = onnxruntime.InferenceSession(
            augmented, sess_options=options, providers=["CPUExecutionProvider"]
        )
        with Clock() as clock:
            calibrator.collect_data(Reader())
            calibrator.compute_data()
    return {"wall": clock.wall, "cpu": clock.cpu, "samples": count}


def child(tool: str, model_path: str, data: str, count: int, method: str) -> dict:
    """Measure in a fresh process (peak RSS is per process)."""
    code = (
        f"import json, sys; sys.path.insert(0, {str(ROOT)!r}); "
        "from benchmarks.calibration import *; "
        f"r = run_{tool}({model_path!r}, {data!r}, {count}, {method!r}); "
        "r['peak_rss_mib'] = peak_rss_mib(); print(json.dumps(r))"
    )
    env = os.environ | {"OMP_NUM_THREADS": "1", "QDIALECT_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise SystemExit(f"{tool} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    import onnx

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, nargs="+", default=[16, 64])
    parser.add_argument(
        "--tools", nargs="+", choices=["ours", "plain", "ort"], default=["ours", "ort"]
    )
    parser.add_argument(
        "--methods", nargs="+", choices=["minmax", "percentile"], default=["minmax", "percentile"]
    )
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--size", type=int, default=224)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        model_path = str(Path(folder) / "resnet18.onnx")
        onnx.save(resnet18(args.width, args.size), model_path)
        data = str(Path(folder) / "calib.npz")
        rng = np.random.default_rng(1)
        shape = (max(args.samples), 1, 3, args.size, args.size)
        np.savez(data, input=rng.standard_normal(shape).astype(np.float32))
        print(f"ResNet-18 width {args.width}, {args.size}x{args.size}, 1 thread")
        print("method      tool   samples  samples/s (wall)  samples/s (CPU)  peak RSS MiB")
        for method in args.methods:
            for count in args.samples:
                for tool in args.tools:
                    if tool == "plain" and method != args.methods[0]:
                        continue
                    r = child(tool, model_path, data, count, method)
                    wall, cpu = r["samples"] / r["wall"], r["samples"] / r["cpu"]
                    print(
                        f"{method:11} {tool:6} {count:7d} {wall:17.3f} {cpu:16.3f} "
                        f"{r['peak_rss_mib']:13.0f}",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
