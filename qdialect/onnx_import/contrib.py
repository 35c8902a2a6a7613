"""com.microsoft ops ONNX Runtime's transformer optimizer writes (onnxruntime.transformers:
what `quantize_dynamic` then sees in an optimized BERT or GPT-2), each as ORT 1.31.1's CPU
kernel computes it (measured bit for bit on 320 random cases each, rows of 1 to 1024):

- FastGelu: `x (+ bias)`, then the tanh Gelu (ORT's Gelu kernel, MLAS's tanh);
- BiasGelu: `a + b`, then the erf Gelu (MLAS's erf);
- QuickGelu: `x · sigmoid(alpha · x)` (MLAS's logistic; alpha 1.702 by default);
- SkipLayerNormalization: `(input + skip) + bias`, then the layer norm's scalar loop at every
  length (Welford's mean and variance in float32: `qnn.layer_norm {welford}`); its fourth
  output is that sum;
- SkipSimplifiedLayerNormalization: the same sum, then RMSNorm's scalar loop at every length
  (`qnn.layer_norm {simplified, welford}`).

The skip normalizations' mean and inverse-deviation outputs (training) are refused by name.
"""

from __future__ import annotations

import numpy as np
from xdsl.dialects.builtin import FloatAttr, IntegerAttr, UnitAttr, f32, i64

from qdialect import qnn
from qdialect.onnx_import.builders import float_value
from qdialect.onnx_import.common import attrs, shape_of
from qdialect.onnx_import.compositions import Steps
from qdialect.onnx_import.errors import NodeError
from qdialect.onnx_import.graph import GraphImporter
from qdialect.onnx_import.registry import handles

QUICK_GELU_ALPHA = 1.702
SKIP_EPSILON = 1e-12  # the contrib schemas' default


def _biased(s: Steps, x: str, bias: str | None) -> str:
    return s.add("Add", [x, bias]) if bias else x


@handles("FastGelu", "BiasGelu")
def bias_gelu(g: GraphImporter, node) -> None:
    bias = node.input[1] if len(node.input) > 1 and node.input[1] else None
    s = Steps(g, node)
    approximate = "tanh" if node.op_type == "FastGelu" else "none"
    s.add("Gelu", [_biased(s, node.input[0], bias)], node.output[0], approximate=approximate)
    s.run()


@handles("QuickGelu")
def quick_gelu(g: GraphImporter, node) -> None:
    x = node.input[0]
    s = Steps(g, node)
    alpha = np.float32(attrs(node).get("alpha", QUICK_GELU_ALPHA))
    # (x · 1 is x, and x · sigmoid(x) then one `silu` activation: fuse-conv-dot)
    gate = s.add("Sigmoid", [x if alpha == 1 else s.add("Mul", [x, s.constant(alpha)])])
    s.add("Mul", [x, gate], node.output[0])
    s.run()


@handles("SkipLayerNormalization", "SkipSimplifiedLayerNormalization")
def skip_layer_norm(g: GraphImporter, node) -> None:
    """(input, skip, gamma[, beta], bias) or, simplified, (input, skip, gamma, bias)."""
    simplified = node.op_type == "SkipSimplifiedLayerNormalization"
    inputs = [*node.input, *[""] * (5 - len(node.input))]
    outputs = [*node.output, *[""] * (4 - len(node.output))]
    if outputs[1] or outputs[2]:
        raise NodeError("the mean and inverse standard deviation outputs are not imported")
    gamma = inputs[2]
    beta, bias = ("", inputs[3]) if simplified else (inputs[3], inputs[4])
    since = g.block.last_op
    s = Steps(g, node)
    total = s.add("Add", [inputs[0], inputs[1]])
    total = s.add("Add", [total, bias], outputs[3] or None) if bias else total
    if outputs[3] and not bias:
        total = s.add("Identity", [total], outputs[3])
    s.run()
    x = float_value(g, total)
    shape = shape_of(x)
    scale = float_value(g, gamma)
    operands = [x, scale, [float_value(g, beta)] if beta else []]
    if shape_of(scale) != shape[-1:] or any(shape_of(b) != shape[-1:] for b in operands[2]):
        raise NodeError(f"gamma and beta must have the hidden size's shape [{shape[-1]}]")
    properties = {
        "axis": IntegerAttr(len(shape) - 1, i64),
        "epsilon": FloatAttr(float(attrs(node).get("epsilon", SKIP_EPSILON)), f32),
        "welford": UnitAttr(),
    }
    if simplified:
        properties["simplified"] = UnitAttr()
    op = qnn.LayerNormOp.build(operands=operands, result_types=[x.type], properties=properties)
    g.define(node.output[0], g.add(op, node.output[0]))
    g.mark_decomposed(since, node.op_type)  # (ORT's quantizers leave the node float)
