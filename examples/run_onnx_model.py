"""The whole trip for a quantized ONNX model: quantize, import, compile, run, compare, time.

    python examples/run_onnx_model.py                      # ResNet basic block, QDQ, per channel
    python examples/run_onnx_model.py --model all --format qoperator --activations s8

For each model: `onnxruntime.quantization.quantize_static` makes the int8 model, qdialect
imports it (`qdialect.onnx_import`), runs `qnn-default`, compiles the C and calls it. The output
is checked bit for bit against ONNX Runtime, then both are timed on one thread (median of
`--repeat` runs after a warm-up; compilation excluded) and the latencies printed side by side.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).parent))
from onnx_models import MODELS, input_shape, quantize  # noqa: E402

from qdialect.onnx_import import import_onnx  # noqa: E402
from runtime.compiled import compile_module  # noqa: E402
from runtime.qopt_run import median_ms  # noqa: E402


def run_one(name: str, args: argparse.Namespace) -> tuple[float, float]:
    rng = np.random.default_rng(0)
    float_model = MODELS[name](rng)
    quantized = quantize(
        float_model,
        rng,
        fmt=args.format,
        per_channel=args.per_channel,
        activations=args.activations,
    )
    x = rng.standard_normal(input_shape(float_model)).astype(np.float32)

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(
        quantized.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    (expected,) = session.run(None, {"x": x})

    compiled = compile_module(import_onnx(quantized))
    (ours,) = compiled(x=x)
    exact = np.array_equal(ours, expected)
    ours_ms = median_ms(lambda: compiled(x=x), args.repeat)
    ort_ms = median_ms(lambda: session.run(None, {"x": x}), args.repeat)
    print(
        f"{name:16s} {list(x.shape)!s:18s} exact={exact!s:5s} "
        f"qdialect {ours_ms:8.3f} ms   onnxruntime {ort_ms:8.3f} ms   ratio {ours_ms / ort_ms:5.2f}"
    )
    return ours_ms, ort_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet_block", choices=[*MODELS, "all"])
    parser.add_argument("--format", default="qdq", choices=["qdq", "qoperator"])
    parser.add_argument("--activations", default="u8", choices=["u8", "s8"])
    parser.add_argument("--per-tensor", dest="per_channel", action="store_false")
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.ERROR)  # quantize_static's pre-processing advice
    names = list(MODELS) if args.model == "all" else [args.model]
    print(
        f"{args.format}, {'per-channel' if args.per_channel else 'per-tensor'} int8 weights "
        f"(7-bit), {args.activations} activations, 1 thread; ratio = ours / ONNX Runtime"
    )
    for name in names:
        run_one(name, args)


if __name__ == "__main__":
    main()
