"""Float ONNX model -> calibrate -> quantize -> run, next to ONNX Runtime's quantize_static.

    python examples/quantize_onnx_model.py [--samples 32] [--method minmax]

1. builds a float conv net (examples/onnx_models.py's ResNet basic block) and random
   calibration samples;
2. calibrates it with qdialect (compiled observers, `runtime.quantization.calibrate`) and writes
   ONNX Runtime's JSON calibration cache;
3. quantizes it with qdialect (`quantize`, ONNX Runtime's options: QDQ, u8 activations, per-channel
   s8 weights, reduce_range) and with ONNX Runtime's `quantize_static` from the same cache;
4. prints the chosen scales, the output error against the float model, whether our compiled
   output equals the reference interpreter on ONNX Runtime's quantized model, and our latency next
   to ONNX Runtime's on its own quantized model (1 thread each).
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from xdsl.passes import PassPipeline  # noqa: E402

from qdialect.onnx_import import import_onnx  # noqa: E402
from qdialect.textio import make_context  # noqa: E402
from rewrites.registry import PASSES  # noqa: E402
from runtime.compiled import compile_module  # noqa: E402
from runtime.quantization import calibrate, quantize  # noqa: E402
from runtime.reference import run_function  # noqa: E402

_spec = importlib.util.spec_from_file_location("onnx_models", ROOT / "examples" / "onnx_models.py")
models = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(models)

CONFIG = {
    "quant_format": "QDQ",
    "activation_type": "QUInt8",
    "weight_type": "QInt8",
    "per_channel": True,
    "reduce_range": True,
}


def median_ms(run_once, repeats: int = 50) -> float:
    run_once()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run_once()
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def ort_session(model: onnx.ModelProto):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(model.SerializeToString(), options, ["CPUExecutionProvider"])


def ort_quantize(float_path: Path, cache: Path, out: Path) -> onnx.ModelProto:
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    quantize_static(
        str(float_path),
        str(out),
        None,  # the cache holds the ranges: no calibration run
        quant_format=QuantFormat.QDQ,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        per_channel=True,
        reduce_range=True,
        calibration_cache_path=str(cache),
    )
    return onnx.load(out)


def scales_table(module, limit: int = 8) -> str:
    from qdialect import qnn

    rows = []
    for op in module.walk():
        if isinstance(op, qnn.QuantizeOp):
            qtype = op.results[0].type.element_type
            name = op.input.name_hint or "?"
            rows.append(f"  {name:<28} scale {qtype.scale:.6g}  zero point {qtype.zero_point}")
    shown = rows[:limit] + ([f"  ... {len(rows) - limit} more"] if len(rows) > limit else [])
    return "\n".join(shown)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--method", default="minmax")
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.ERROR)  # quantize_static's pre-processing advice

    rng = np.random.default_rng(0)
    float_model = models.resnet_block(rng, channels=32, size=28)
    shape = models.input_shape(float_model)
    samples = {"x": rng.standard_normal([args.samples, *shape]).astype(np.float32)}
    x = rng.standard_normal(shape).astype(np.float32)

    with tempfile.TemporaryDirectory() as tmp:
        float_path, cache = Path(tmp, "float.onnx"), Path(tmp, "table.json")
        onnx.save(float_model, float_path)
        start = time.perf_counter()
        table = calibrate(float_path, samples, args.method, progress=False)
        seconds = time.perf_counter() - start
        table.write(cache)
        print(
            f"calibrated {len(table.ranges)} tensors on {args.samples} samples "
            f"({args.method}) in {seconds:.2f} s"
        )
        result = quantize(float_path, table, CONFIG)
        theirs = ort_quantize(float_path, cache, Path(tmp, "ort_int8.onnx"))

    print(f"quantized {len(result.summary.quantized)} nodes; scales chosen:")
    print(scales_table(result.module))
    compiled = compile_module(result.module, threads=1)
    (ours,) = compiled(x=x)
    reference = import_onnx(theirs)
    PassPipeline.parse_spec(PASSES, "qnn-default").apply(make_context(), reference)
    (exact,) = run_function(reference, {"x": x})
    (float_out,) = ort_session(float_model).run(None, {"x": x})
    error = np.abs(ours - float_out)
    print(
        f"output error vs the float model: max {error.max():.4g}, mean {error.mean():.4g} "
        f"(output range {np.ptp(float_out):.3g})"
    )
    print(
        f"equal to the reference interpreter on ONNX Runtime's quantized model: "
        f"{np.array_equal(ours, exact)}"
    )
    session = ort_session(theirs)
    ort_ms = median_ms(lambda: session.run(None, {"x": x}))
    our_ms = median_ms(lambda: compiled(x=x))
    print(
        f"latency, 1 thread: qdialect {our_ms:.3f} ms, ONNX Runtime {ort_ms:.3f} ms "
        f"(ours/ORT {our_ms / ort_ms:.2f})"
    )


if __name__ == "__main__":
    main()
