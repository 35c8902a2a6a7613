"""Whole models, ours against ONNX Runtime, in one process (issue 15's table).

    python -m benchmarks.models                                   # all models, 1 and 2 threads
    python -m benchmarks.models --models bert_ffn --threads 1 --formats qdq --no-full-range
    python -m benchmarks.models --activation-type QInt8 --formats qdq   # quantize_static's default

Each float model of `benchmarks.model_zoo` is quantized by ONNX Runtime itself
(`quant_pre_process`, then `quantize_static`: MinMax on 16 standard-normal samples, u8
activations (`--activation-type QInt8`: int8, which ORT's x86 session and `qnn-default` run
partly as float simulation), per-channel s8 weights, QDQ and QOperator, reduce_range on and off). Then, per
quantized model: our first compile (cold cache, in a process that compiled a small model
before: `warm_up`) and cache hit, a check that our compiled output
equals our reference interpreter bit for bit, how many outputs ONNX Runtime's differ from ours
and by how many LSB (reduce_range: 0; full range: ORT's u8×s8 kernels saturate int16 pair sums),
and the latency of both at each thread count (best of batches timed in turns,
`benchmarks.timing.interleaved_best`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.model_zoo import MODELS
from benchmarks.timing import interleaved_best

CALIBRATION_SAMPLES = 16


@dataclass(frozen=True)
class Variant:
    model: str
    fmt: str  # "qdq" | "qoperator"
    reduce_range: bool
    activation_type: str = "QUInt8"  # quantize_static's spelling

    @property
    def label(self) -> str:
        acts = "" if self.activation_type == "QUInt8" else " s8-act"
        return f"{self.model} {self.fmt}{acts} {'7-bit' if self.reduce_range else 'full'}"


@dataclass(frozen=True)
class Row:
    variant: Variant
    compile_s: float
    cache_hit_s: float
    differing: int  # outputs where ORT's integers differ from ours
    max_lsb: int
    times: dict[int, tuple[float, float]]  # threads -> (ours s, ORT s)


def quantize_with_ort(float_path: Path, variant: Variant, shape: list[int], folder: Path) -> Path:
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    prepared = folder / f"{variant.model}_prep.onnx"
    if not prepared.exists():
        quant_pre_process(str(float_path), str(prepared), skip_symbolic_shape=True)
    rng = np.random.default_rng(1)
    batches = [
        {"x": rng.standard_normal(shape).astype(np.float32)} for _ in range(CALIBRATION_SAMPLES)
    ]

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter(batches)

        def get_next(self):
            return next(self.batches, None)

    target = folder / f"{variant.label.replace(' ', '_')}.onnx"
    quantize_static(
        str(prepared),
        str(target),
        Reader(),
        quant_format=QuantFormat.QDQ if variant.fmt == "qdq" else QuantFormat.QOperator,
        per_channel=True,
        reduce_range=variant.reduce_range,
        activation_type=getattr(QuantType, variant.activation_type),
        weight_type=QuantType.QInt8,
    )
    return target


def ort_session(path: Path, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def compile_ours(path: Path):
    """(compiled function, first compile s in a cold cache, cache-hit compile s)."""
    from qdialect.onnx_import import import_onnx
    from runtime.compiled import compile_module

    timings = []
    with fresh_cache():
        for _ in range(2):
            start = time.perf_counter()
            compiled = compile_module(import_onnx(str(path)), name=path.name)
            timings.append(time.perf_counter() - start)
    return compiled, timings[0], timings[1]


@contextlib.contextmanager
def fresh_cache() -> Iterator[None]:
    """A new, empty $QDIALECT_CACHE_DIR while the block runs."""
    with tempfile.TemporaryDirectory() as cache:
        previous = os.environ.get("QDIALECT_CACHE_DIR")
        os.environ["QDIALECT_CACHE_DIR"] = cache
        try:
            yield
        finally:
            if previous is None:
                del os.environ["QDIALECT_CACHE_DIR"]
            else:
                os.environ["QDIALECT_CACHE_DIR"] = previous


def lsb_gap(ours: np.ndarray, theirs: np.ndarray, scale: float) -> tuple[int, int]:
    """Outputs that differ, and the largest difference in output steps (float outputs are
    dequantized integers: the gap divided by the output scale)."""
    steps = np.rint(np.abs(ours.astype(np.float64) - theirs.astype(np.float64)) / scale)
    return int(np.count_nonzero(ours != theirs)), int(steps.max(initial=0))


def output_scale(path: Path) -> float:
    """The scale of the last DequantizeLinear (QDQ) or of the graph output's quantization."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for node in reversed(model.graph.node):
        if node.op_type == "DequantizeLinear":
            return float(inits[node.input[1]])
    raise ValueError(f"{path.name}: no DequantizeLinear at the output")


def measure(variant: Variant, folder: Path, threads: list[int]) -> Row:
    from qdialect.onnx_import import import_onnx
    from runtime.reference import run_function

    float_path = folder / f"{variant.model}.onnx"
    model = MODELS[variant.model](np.random.default_rng(0))
    if not float_path.exists():
        import onnx

        onnx.save(model, float_path)
    shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    path = quantize_with_ort(float_path, variant, shape, folder)
    compiled, compile_s, hit_s = compile_ours(path)
    x = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    (ours,) = compiled(x)
    reference_module = import_onnx(str(path))
    from runtime.qopt_run import apply_qnn_default

    apply_qnn_default(reference_module)
    (expected,) = run_function(reference_module, {compiled.argument_names[0]: x})
    if not np.array_equal(ours, expected):
        raise SystemExit(f"{variant.label}: compiled output differs from the reference")
    times = {}
    for n in threads:
        compiled.set_threads(n)
        session = ort_session(path, n)
        feed = {session.get_inputs()[0].name: x}
        (theirs,) = session.run(None, feed)
        ours_s, ort_s = interleaved_best(
            [lambda: compiled(x), lambda s=session, f=feed: s.run(None, f)]
        )
        del session
        times[n] = (ours_s, ort_s)
    differing, max_lsb = lsb_gap(ours, theirs, output_scale(path))
    return Row(variant, compile_s, hit_s, differing, max_lsb, times)


def geomean(values: list[float]) -> float:
    return float(np.exp(np.mean(np.log(values)))) if values else float("nan")


def print_table(rows: list[Row], threads: list[int]) -> None:
    head = " | ".join(f"{n}T ours ms | {n}T ORT ms | {n}T ours/ORT" for n in threads)
    print(f"| model | {head} | ORT wrong outputs (max LSB) | first compile s | cache hit s |")
    print("|" + " --- |" * (4 + 3 * len(threads)))
    for row in rows:
        cells = []
        for n in threads:
            ours, ort = row.times[n]
            cells.append(f"{ours * 1e3:.2f} | {ort * 1e3:.2f} | {ours / ort:.2f}")
        print(
            f"| {row.variant.label} | {' | '.join(cells)} | {row.differing} ({row.max_lsb}) | "
            f"{row.compile_s:.1f} | {row.cache_hit_s:.2f} |"
        )
    for reduce_range in (True, False):
        chosen = [r for r in rows if r.variant.reduce_range is reduce_range]
        if not chosen:
            continue
        means = ", ".join(
            f"{n}T {geomean([r.times[n][0] / r.times[n][1] for r in chosen]):.2f}" for n in threads
        )
        print(f"geomean ours/ORT, {'7-bit' if reduce_range else 'full-range'} weights: {means}")
    if len(threads) > 1:
        scaling = [r.times[threads[0]][0] / r.times[threads[-1]][0] for r in rows]
        print(
            f"our speed-up {threads[0]}→{threads[-1]} threads: median {statistics.median(scaling):.2f}"
        )


def warm_up() -> None:
    """Compile a small model once, in a cache of its own, so that no row's first compile pays
    what a process pays once (importing xDSL's dialects and our passes, compiling the
    templates: about a second); `python -m benchmarks.startup` times a whole `qopt` run."""
    from runtime.compiled import compile_module

    with fresh_cache():
        compile_module((Path(__file__).parents[1] / "examples" / "conv_block.mlir").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=sorted(MODELS), default=list(MODELS))
    parser.add_argument(
        "--formats", nargs="+", choices=["qdq", "qoperator"], default=["qdq", "qoperator"]
    )
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--no-full-range", action="store_true", help="reduce_range models only")
    parser.add_argument("--activation-type", choices=["QUInt8", "QInt8"], default="QUInt8")
    args = parser.parse_args()
    ranges = [True] if args.no_full_range else [True, False]
    warm_up()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name in args.models:
            for fmt in args.formats:
                for reduce_range in ranges:
                    variant = Variant(name, fmt, reduce_range, args.activation_type)
                    row = measure(variant, Path(folder), args.threads)
                    print(f"measured {row.variant.label}", flush=True)
                    rows.append(row)
    print_table(rows, args.threads)


if __name__ == "__main__":
    main()
