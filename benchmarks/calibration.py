"""Calibration speed and memory: ours against ONNX Runtime's calibrators (minmax, percentile).

    python benchmarks/calibration.py --samples 16 64 256      # ours and ORT, each sample count
    python benchmarks/calibration.py --tools ours plain --samples 16 --width 16 --size 112

The model is `benchmarks.model_zoo.resnet18` (torchvision's layout, batch-norm folded into the
convolutions, random He-scaled weights, built with onnx.helper); `--width` and `--size` shrink
it. Each measurement runs in a
fresh process, one thread (our kernels: threads=1; ORT: intra/inter-op threads 1), reads the
samples from one `.npz` and reports samples/s of the calibration, wall and CPU, and the
process's peak RSS. ORT's clock starts after `create_calibrator` has written the augmented
model and its session exists; ours times a whole second `calibrate` call, whose compiled
passes come from the calibration cache (runtime.calibration_cache: hashing the model file and
reading the entry included), so the `with setup` column adds ORT's setup to its time for the
like-for-like end-to-end rate.
`plain` runs the same compiled model without observation (what observing costs).

    python benchmarks/calibration.py --gaps                   # our ranges against ORT's

`--gaps` calibrates ResNet-18, MobileNetV2, the BERT FFN and a BERT-base encoder layer of
`benchmarks.model_zoo` (minmax, 4 samples) with ours and with ORT's calibrator, its session on one thread and on its default
threads, and prints the largest gap between the two tables in float32 ulps.
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
sys.path.insert(0, str(ROOT))  # `python benchmarks/calibration.py` imports benchmarks.model_zoo


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
    (pass 1, and pass 2 for histogram methods, whose edges depend on the data) and stores both
    passes in the calibration cache; the second, timed, loads them from it."""
    from runtime.quantization import calibrate
    from runtime.samples import NpzSamples

    samples = NpzSamples(data, 0, count)
    # the sums of ORT's calibrator as timed here, on one thread
    calibrate(model_path, samples, method, progress=False, ort_threads=1)
    with Clock() as clock:
        calibrate(model_path, samples, method, progress=False, ort_threads=1)
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
            self.samples = np.load(data)["x"]  # once: indexing the NpzFile re-reads the array
            self.index = 0

        def get_next(self):
            if self.index == count:
                return None
            self.index += 1
            return {"x": self.samples[self.index - 1]}

    options = onnxruntime.SessionOptions()  # the calibrator's own, on one thread
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    ort_method = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile}
    with tempfile.TemporaryDirectory() as folder:
        augmented = str(Path(folder) / "augmented.onnx")
        with Clock() as setup:
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
    return {"wall": clock.wall, "cpu": clock.cpu, "samples": count, "setup": setup.wall}


def ort_table(model_path: str, samples: np.ndarray, threads: int) -> dict:
    """ORT's MinMax ranges as `quantize_static` computes them, `threads` intra-op (0: ORT's
    default)."""
    import onnxruntime
    from onnxruntime.quantization.calibrate import CalibrationDataReader, create_calibrator

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.samples = iter(samples)

        def get_next(self):
            x = next(self.samples, None)
            return None if x is None else {"x": x}

    with tempfile.TemporaryDirectory() as folder:
        augmented = str(Path(folder) / "augmented.onnx")
        calibrator = create_calibrator(model_path, augmented_model_path=augmented)
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
        options.intra_op_num_threads = threads
        calibrator.infer_session = onnxruntime.InferenceSession(
            augmented, sess_options=options, providers=["CPUExecutionProvider"]
        )
        calibrator.collect_data(Reader())
        return {k: tuple(v.range_value) for k, v in calibrator.compute_data().items()}


def ulps(a, b) -> int:
    """|a - b| in float32 ulps (the distance between their bit patterns, same sign)."""
    bits = [int(np.asarray(v, np.float32).reshape(()).view(np.int32)) for v in (a, b)]
    return abs(bits[0] - bits[1])


def report_gaps() -> None:
    import logging

    import onnx

    from benchmarks.model_zoo import MODELS, bert_layer
    from runtime.quantization import calibrate

    logging.getLogger().setLevel(logging.ERROR)
    print("model          tensors  largest gap (ulps), ORT 1 thread  ORT default threads")
    for name, build in {**MODELS, "bert_layer": bert_layer}.items():
        model = build(np.random.default_rng(0))
        shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
        samples = np.random.default_rng(1).standard_normal((4, *shape)).astype(np.float32)
        with tempfile.TemporaryDirectory() as folder:
            path = str(Path(folder) / f"{name}.onnx")
            onnx.save(model, path)
            gaps = []
            for threads in (1, 0):  # ours with the sums of the same ORT session's threads
                ours = calibrate(
                    path, {"x": samples}, "minmax", progress=False, ort_threads=threads or None
                )
                theirs = ort_table(path, samples, threads)
                gaps.append(
                    max(
                        max(ulps(lo, ours[k].lowest), ulps(hi, ours[k].highest))
                        for k, (lo, hi) in theirs.items()
                    )
                )
        print(f"{name:14} {len(ours):7d} {gaps[0]:32d} {gaps[1]:20d}", flush=True)


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
    parser.add_argument("--gaps", action="store_true", help="our ranges against ORT's, in ulps")
    args = parser.parse_args()
    if args.gaps:
        report_gaps()
        return
    with tempfile.TemporaryDirectory() as folder:
        model_path = str(Path(folder) / "resnet18.onnx")
        from benchmarks.model_zoo import resnet18

        model = resnet18(np.random.default_rng(0), size=args.size, width=args.width)
        onnx.save(model, model_path)
        data = str(Path(folder) / "calib.npz")
        rng = np.random.default_rng(1)
        shape = (max(args.samples), 1, 3, args.size, args.size)
        np.savez(data, x=rng.standard_normal(shape).astype(np.float32))
        print(f"ResNet-18 width {args.width}, {args.size}x{args.size}, 1 thread")
        print(
            "method      tool   samples  samples/s (wall)  samples/s (CPU)  with setup (wall)"
            "  peak RSS MiB"
        )
        for method in args.methods:
            for count in args.samples:
                for tool in args.tools:
                    if tool == "plain" and method != args.methods[0]:
                        continue
                    r = child(tool, model_path, data, count, method)
                    wall, cpu = r["samples"] / r["wall"], r["samples"] / r["cpu"]
                    whole = r["samples"] / (r["wall"] + r.get("setup", 0.0))
                    print(
                        f"{method:11} {tool:6} {count:7d} {wall:17.3f} {cpu:16.3f} "
                        f"{whole:18.3f} {r['peak_rss_mib']:13.0f}",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
