"""`fake-to-qdq`: a QAT graph's typed `qnn.fake_quant` becomes the quantize/dequantize pair it
stands for.

`qnn.fake_quant %x as T` is defined as `dequantize(quantize(x))` through `T`, so writing the
pair changes no bit. On a float constant used only there the quantize is folded: the constant
becomes its stored integers (`arith.constant` → `quant.scast` → `qnn.dequantize`, the spelling
the static quantizer writes for weights and biases), so the fake graph the quantizer writes
with `--fake` converts back to exactly the QDQ module it writes without it. Names follow the
quantizer's (ONNX Runtime's): `<x>_QuantizeLinear_Output` / `<x>_DequantizeLinear_Output`,
`<w>_quantized`.

`qnn-default` runs it after `fold-qdq` and `fuse-conv-dot`, so a fake graph compiles as the
float simulation it describes (each fake_quant a quantize and a dequantize kernel); run it
yourself first (`-p fake-to-qdq`) and `fold-qdq` turns the pairs into integer ops: the
quantized model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint

from qdialect import qnn
from qdialect.arithmetic import quantize_value
from qdialect.constants import dense_array
from qdialect.names import tensor_name
from qdialect.types import Granularity, UniformQuantizedType
from rewrites.common import single_use
from rewrites.qdq_ir import stored_constant_ops, stream_dequantized_weights


def quantized_values(values: np.ndarray, qtype: UniformQuantizedType) -> np.ndarray:
    """`quantize` of an array through `qtype`, element by element with DESIGN §2's scalar
    formula (`arithmetic.quantize_value`), as the executors compute it; int64 out."""
    shape = [1] * values.ndim
    if qtype.granularity is Granularity.PER_AXIS:
        shape[qtype.axis] = -1
    scales = np.array(qtype.scales, np.float64).reshape(shape)
    zeros = np.array(qtype.zero_points, np.int64).reshape(shape)
    quantize = np.vectorize(quantize_value, otypes=[np.int64])
    return quantize(values, scales, zeros, qtype.qmin, qtype.qmax)


class FakeQuantToQdq(RewritePattern):
    """One typed fake_quant → quantize + dequantize, or a folded stored constant."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qnn.FakeQuantOp, rewriter: PatternRewriter) -> None:
        qtype = op.quant_type
        if qtype is None:
            return
        assert isinstance(op.input.type, TensorType)
        shape = op.input.type.get_shape()
        values = dense_array(op.input)
        if values is not None and single_use(op.input):
            constant = op.input.owner
            ops = stored_constant_ops(quantized_values(values, qtype), qtype, tensor_name(op.input))
            for new in ops:
                new.location = op.location
            _replace(rewriter, op, ops)
            rewriter.erase(constant)  # type: ignore[arg-type]
            return
        quantize = qnn.QuantizeOp(op.input, TensorType(qtype, shape))
        dequantize = qnn.DequantizeOp(quantize.result, op.result.type)
        quantize.location = dequantize.location = op.location
        hint = op.input.name_hint
        if op.result.name_hint and op.result.name_hint.endswith("_fake"):
            hint = op.result.name_hint.removesuffix("_fake")  # the quantizer's fake form
        if hint:
            quantize.result.name_hint = f"{hint}_QuantizeLinear_Output"
            dequantize.result.name_hint = f"{hint}_DequantizeLinear_Output"
        _replace(rewriter, op, [quantize, dequantize])


def _replace(rewriter: PatternRewriter, op: qnn.FakeQuantOp, ops: list[Operation]) -> None:
    """`op` by the last of `ops`, leaving their names as given (xDSL would hand the
    replaced op's name to every unnamed new result)."""
    rewriter.insert(ops, InsertPoint.before(op))
    rewriter.replace(op, [], [ops[-1].results[0]])


@dataclass(frozen=True)
class FakeToQdqPass(ModulePass):
    name = "fake-to-qdq"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(FakeQuantToQdq(), apply_recursively=False).rewrite_module(op)
        for function in op.walk():
            if isinstance(function, func.FuncOp) and function.body.blocks:
                stream_dequantized_weights(function.body.block)
