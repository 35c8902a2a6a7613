"""ONNX node → qnn/quant/tensor ops, one handler per ONNX op type.

QOperator nodes (QLinearConv, QGemm, …) become quantized qnn ops directly. QDQ graphs are
imported literally — float ops between DequantizeLinear and QuantizeLinear — and the
`fold-qdq` rewrite turns them into integer ops the way ONNX Runtime does. Data-movement ops
work on float and quantized tensors alike.

Where the handlers live: `qoperator` (QuantizeLinear, DequantizeLinear, the QOperator ops),
`float_ops` (the float ops of QDQ graphs), `conv_transpose`, `float_math` (float arithmetic on
run-time tensors: Sub, Div, Min, Max, ReduceMin/Max, Round, Cast), `logical` (booleans: And, Or,
Xor, Not, Where, Expand), `movement` (data movement,
Identity, Constant),
`activations` (ORT's table ops and the float activation functions), `functions` (the ops ORT
runs as their ONNX function bodies), `compositions` (ops imported as a few exact standard
nodes), `attention` (ONNX's Attention as such steps), `bert` (com.microsoft's Attention,
QAttention, EmbedLayerNormalization and its quantized form), `einsum` (Einsum as ORT's
ReduceSum and MatMul steps), `recurrent` (LSTM, GRU and RNN
unrolled over the sequence); the ops they build come from `builders`, the table from `registry`.
Importing this module imports them all, so `HANDLERS` is complete.
"""

from __future__ import annotations

from qdialect.onnx_import import (
    activations,
    attention,
    bert,
    compositions,
    contrib,
    conv_transpose,
    dynamic,
    einsum,
    float_math,
    float_ops,
    functions,
    logical,
    movement,
    nbits,
    qoperator,
    recurrent,
    rotary,
)
from qdialect.onnx_import.registry import HANDLERS, unsupported_nodes

HANDLER_MODULES = (
    qoperator,
    float_ops,
    conv_transpose,
    float_math,
    logical,
    movement,
    activations,
    functions,
    compositions,
    attention,
    bert,
    contrib,
    dynamic,
    einsum,
    nbits,
    rotary,
    recurrent,
)

__all__ = ["HANDLERS", "HANDLER_MODULES", "unsupported_nodes"]
