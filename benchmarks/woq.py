"""Weight-only GEMV / GEMM, ours (compiled `qnn.weight_only_dot`) next to ONNX Runtime's
`MatMulNBits` on the same model, written by ORT's own `MatMulNBitsQuantizer` (block 128,
asymmetric; per-block int8 for bits = 8), at one thread and at two.

Each row checks our result against a float64 evaluation of the dequantized weights with the
bound `tests/numeric/test_weight_only.py` documents (γ_(B + ⌈K/B⌉ + 1) · Σ_k |x_k||w_k|) and
reports how far ORT's result is from ours in units of that bound. Times are medians of
samples in which ours and ORT alternate (`paired_ms`), so a load change on the shared machine
hits both. Load time is ORT's quantizer, our import and our compile (C compiler included
unless the object is cached).

    python benchmarks/woq.py            # the table of docs/performance.md
"""

from __future__ import annotations

import logging
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization.matmul_nbits_quantizer import (
    DefaultWeightOnlyQuantConfig,
    MatMulNBitsQuantizer,
)

from qdialect.blockwise import from_matmul_nbits
from qdialect.onnx_import import import_onnx
from runtime.compiled import compile_module

U = 2.0**-24
BLOCK = 128
CASES = (  # (M, K, N, bits)
    (1, 4096, 4096, 4),
    (1, 4096, 11008, 4),
    (1, 11008, 4096, 4),
    (1, 4096, 4096, 8),
    (1, 4096, 11008, 8),
    (16, 4096, 4096, 4),
    (128, 4096, 4096, 4),
)


@dataclass(frozen=True)
class Row:
    shape: str
    bits: int
    load_s: tuple[float, float, float]  # ORT quantizer, our import, our compile
    ours_ms: tuple[float, float]  # wall, 1 and 2 threads
    ort_ms: tuple[float, float]
    cpu_ratio: float  # ours / ORT in CPU time at 1 thread
    within_bound: bool
    ort_distance: float  # max |ORT - ours| / bound


def matmul_model(w: np.ndarray, m: int) -> onnx.ModelProto:
    """One float MatMul `[m, k] x w`, opset 21 (the test suite builds its models with it too)."""
    k, n = w.shape
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [m, k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [m, n])],
        [numpy_helper.from_array(w, "w")],
    )  # fmt: skip
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], ir_version=10)


def float_model(m: int, k: int, n: int) -> onnx.ModelProto:
    w = (np.random.default_rng(k + n).standard_normal((k, n)) * 0.05).astype(np.float32)
    return matmul_model(w, m)


PAUSE = 0.05  # s after each batch, as benchmarks.timing.interleaved_best pauses


def paired_ms(a: Callable[[], object], b: Callable[[], object], samples: int = 9):
    """((a, b) median wall ms, (a, b) median process CPU ms), samples alternating between the
    two, with a pause after each batch: ONNX Runtime's intra-op threads spin after a run and
    took the second core from our next batch (at 2 threads ours measured 1.13 ms in turns
    without the pause, 0.54 alone). At one thread the CPU time leaves out the time other
    processes of a shared machine hold the core."""
    once = []
    for call in (a, b):
        start = time.perf_counter()
        call()
        once.append(max(time.perf_counter() - start, 1e-7))
    batches = [max(1, int(0.05 / t)) for t in once]
    wall: list[list[float]] = [[], []]
    cpu: list[list[float]] = [[], []]
    for _ in range(samples):
        for i, (call, batch) in enumerate(zip((a, b), batches, strict=True)):
            start, start_cpu = time.perf_counter(), time.process_time()
            for _ in range(batch):
                call()
            wall[i].append(1e3 * (time.perf_counter() - start) / batch)
            cpu[i].append(1e3 * (time.process_time() - start_cpu) / batch)
            time.sleep(PAUSE)
    medians = [statistics.median(t) for t in (*wall, *cpu)]
    return (medians[0], medians[1]), (medians[2], medians[3])


def check(model: onnx.ModelProto, x: np.ndarray, ours: np.ndarray, theirs: np.ndarray):
    """(ours within the bound of the float64 result, max |ORT - ours| in bounds)."""
    node = model.graph.node[0]
    a = {at.name: helper.get_attribute_value(at) for at in node.attribute}
    init = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    zp = init[node.input[3]] if len(node.input) > 3 and node.input[3] else None
    q, s, z = from_matmul_nbits(
        init[node.input[1]], init[node.input[2]], zp, a["K"], a["N"], a["bits"], BLOCK
    )
    wdq = (q[: a["K"]] - np.repeat(z, BLOCK, 0)[: a["K"]]) * np.repeat(s, BLOCK, 0)[: a["K"]]
    terms = BLOCK + -(-a["K"] // BLOCK) + 1
    bound = terms * U / (1 - terms * U) * (np.abs(x.astype(np.float64)) @ np.abs(wdq))
    exact = x.astype(np.float64) @ wdq
    within = bool(np.all(np.abs(ours - exact) <= bound))
    return within, float(np.max(np.abs(theirs.astype(np.float64) - ours) / bound))


def measure(m: int, k: int, n: int, bits: int) -> Row:
    start = time.perf_counter()
    config = DefaultWeightOnlyQuantConfig(block_size=BLOCK, is_symmetric=False, bits=bits)
    quantizer = MatMulNBitsQuantizer(float_model(m, k, n), algo_config=config)
    quantizer.process()
    model = quantizer.model.model
    quantized = time.perf_counter()
    module = import_onnx(model)
    imported = time.perf_counter()
    fn = compile_module(module, threads=1)
    compiled = time.perf_counter()
    x = np.random.default_rng(1).standard_normal((m, k)).astype(np.float32)
    ours_ms, ort_ms, cpu_ratio = [], [], 0.0
    for threads in (1, 2):
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        session = ort.InferenceSession(
            model.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )
        fn.set_threads(threads)
        (a, b), (a_cpu, b_cpu) = paired_ms(lambda: fn(x=x), lambda s=session: s.run(None, {"x": x}))
        ours_ms.append(a)
        ort_ms.append(b)
        if threads == 1:
            cpu_ratio = a_cpu / b_cpu
    fn.set_threads(1)
    within, distance = check(model, x, fn(x=x)[0], session.run(None, {"x": x})[0])
    load = (quantized - start, imported - quantized, compiled - imported)
    shape = f"{m} x {k} x {n}"
    return Row(shape, bits, load, tuple(ours_ms), tuple(ort_ms), cpu_ratio, within, distance)


def main() -> None:
    logging.getLogger().setLevel(logging.ERROR)
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    print(
        "| M x K x N | bits | ours ms (1 thr) | ORT ms (1 thr) | ours / ORT | ours / ORT CPU time "
        "| ours ms (2 thr) "
        "| ORT ms (2 thr) | ours / ORT | within bound | ORT − ours (bounds) "
        "| ORT quantize / import / compile s |"
    )
    print("| --- | ---: |" + " ---: |" * 7 + " --- | ---: | ---: |")
    for case in CASES:
        r = measure(*case)
        print(
            f"| {r.shape} | {r.bits} | {r.ours_ms[0]:.3f} | {r.ort_ms[0]:.3f} "
            f"| {r.ours_ms[0] / r.ort_ms[0]:.2f} | {r.cpu_ratio:.2f} "
            f"| {r.ours_ms[1]:.3f} | {r.ort_ms[1]:.3f} "
            f"| {r.ours_ms[1] / r.ort_ms[1]:.2f} | {'yes' if r.within_bound else 'NO'} "
            f"| {r.ort_distance:.2g} | {' / '.join(f'{t:.1f}' for t in r.load_s)} |",
            flush=True,
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
