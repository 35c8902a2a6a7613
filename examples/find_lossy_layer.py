"""Finding the layer that lost accuracy: the per-layer report and its plot.

    python examples/find_lossy_layer.py [--plot docs/img/report.png]

1. builds a small float conv net (conv1-relu1-conv2-relu2-conv3-pool-fc, ONNX node names
   kept) and random calibration samples;
2. calibrates it (`runtime.quantization.calibrate`, minmax) and quantizes it as ONNX
   Runtime's quantize_static would (u8 activations, s8 weights), except that conv2's output
   range (conv2+relu2's, as ORT folds the Relu) is made 8x too small on purpose;
3. compares the quantized model with the float one on a test input and prints the report
   table (worst local SQNR first), then writes the plot (needs matplotlib).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from runtime.accuracy import compare  # noqa: E402
from runtime.quantization import calibrate, quantize, read_ranges  # noqa: E402

SHAPE = (1, 3, 16, 16)


def conv_net(rng: np.random.Generator):
    """A float model whose nodes carry names, as an exporter writes them."""
    weights, nodes, source = {}, [], "x"
    for name, (out, inp) in {"conv1": (8, 3), "conv2": (16, 8), "conv3": (16, 16)}.items():
        weights[f"{name}.weight"] = rng.standard_normal((out, inp, 3, 3)) * np.sqrt(2 / (9 * inp))
        weights[f"{name}.bias"] = rng.standard_normal(out) * 0.1
        relu = name.replace("conv", "relu")
        nodes += [
            helper.make_node(
                "Conv", [source, f"{name}.weight", f"{name}.bias"], [name], name, pads=[1, 1, 1, 1]
            ),  # fmt: skip
            helper.make_node("Relu", [name], [relu], relu),
        ]
        source = relu
    weights["fc.weight"] = rng.standard_normal((10, 16)) * 0.25
    weights["fc.bias"] = rng.standard_normal(10) * 0.1
    nodes += [
        helper.make_node("GlobalAveragePool", [source], ["pool"], "pool"),
        helper.make_node("Flatten", ["pool"], ["flat"], "flatten"),
        helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["y"], "fc", transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "conv_net",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, SHAPE)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, (1, 10))],
        [numpy_helper.from_array(v.astype(np.float32), k) for k, v in weights.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plot", default=str(ROOT / "docs" / "img" / "report.png"))
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    model = conv_net(rng)
    samples = {"x": rng.standard_normal((16, *SHAPE)).astype(np.float32)}
    ranges = read_ranges(calibrate(model, samples, "minmax", progress=False))
    low, high = ranges["relu2"]
    ranges["relu2"] = (low / 8, high / 8)  # the mistake the report must find
    config = {"activation_type": "QUInt8", "weight_type": "QInt8"}
    quantized = quantize(model, ranges, config).module
    x = rng.standard_normal(SHAPE).astype(np.float32)
    report = compare(quantized, model, {"x": x})
    print(report.table(), end="")
    try:
        from runtime.accuracy_plot import plot_report
    except ImportError:
        print("(no plot: matplotlib is not installed)")
        return
    Path(args.plot).parent.mkdir(parents=True, exist_ok=True)
    plot_report(report, args.plot)
    print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
