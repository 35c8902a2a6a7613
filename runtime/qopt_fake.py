"""`qopt --fake`: the quantizer writes its fake-quantization (QAT) form instead of QDQ.

    qopt model_fp32.onnx --quantize cfg.json --calibration-data d.npz --fake -o qat_graph.mlir
    qopt qat_graph.mlir -p fake-to-qdq -o model_int8.mlir     # exactly what --quantize writes

The float graph has a typed `qnn.fake_quant` wherever the QDQ form quantizes
(`rewrites.quantize_fake`), so a training framework can fine-tune what we will run.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "fake quantization",
        "with --quantize: write the float QAT graph (qnn.fake_quant where the QDQ form has a "
        "quantize/dequantize pair); -p fake-to-qdq turns it into the QDQ form",
    )
    group.add_argument("--fake", action="store_true", help="write the fake-quantization form")


def form(args: argparse.Namespace) -> str:
    """The quantizer's output form `runtime.quantization.quantize` takes."""
    from runtime.qopt_errors import QoptError

    if args.fake and not args.quantize:
        raise QoptError("--fake needs --quantize CONFIG.json (it is a form of the quantized model)")
    return "fake" if args.fake else "qdq"
