"""`fold-qdq`'s table fusion: `quantize(activation(dequantize(x)))` → `qnn.table(x, T)`, and
likewise a chain of elementwise float steps between the two (activations, and float ops with a
constant scalar such as the Div by √2 before a GELU's Erf).

T holds, for every 8-bit stored input, exactly what the ops compute (DESIGN §2's float32
dequantize, each step's float32 arithmetic, quantize), so this fusion changes no bit; for one
activation it is also the table ONNX Runtime builds when its QDQ transformer turns
DQ → Sigmoid/LeakyRelu → Q into QLinearSigmoid/QLinearLeakyRelu. With `tables=glow`, a lone
sigmoid or tanh takes Glow's lowering instead (input rescaled to ±6 / ±3 first:
`qdialect.activations.glow_table`), which is not exact.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

import numpy as np
from xdsl.dialects.builtin import TensorType, f32
from xdsl.ir import Operation, OpResult, SSAValue
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern

from qdialect import qnn
from qdialect.activations import GLOW_RANGES, evaluate, glow_table, lookup_table
from qdialect.constants import dense_array, splat_value
from qdialect.float32_arrays import F32, binary
from qdialect.qnn.modes import RoundMode
from qdialect.qnn.table import TABLE_SIZE
from qdialect.quant_ops import StorageCastOp
from qdialect.tensors import element_type
from qdialect.types import Granularity, UniformQuantizedType
from rewrites.common import dense_constant, single_use


class TableStyle(Enum):
    """How fold-qdq tabulates an activation between dequantize and quantize."""

    EXACT = "exact"  # the function as the QDQ model describes it (ONNX Runtime's table)
    GLOW = "glow"  # sigmoid/tanh through Glow's fixed-range int8 types


def _tabulable(value: SSAValue) -> UniformQuantizedType | None:
    elem = element_type(value.type)
    if (
        isinstance(elem, UniformQuantizedType)
        and elem.granularity is Granularity.PER_TENSOR
        and elem.storage_width == 8
    ):
        return elem
    return None


Step = Callable[[np.ndarray], np.ndarray]


def _constant_scalar(value: SSAValue) -> np.float32 | None:
    """The one float32 value a constant f32 tensor holds in every element, else None."""
    if element_type(value.type) != f32:
        return None
    values = dense_array(value)
    scalar = None if values is None else splat_value(values)
    return None if scalar is None else np.float32(scalar)


def _step(op: Operation) -> tuple[SSAValue, Step] | None:
    """(x, f) where `op` computes the float32 function f of its operand x alone, elementwise: an
    activation, or a float `qnn.binary`/`qnn.add`/`qnn.mul` of x and a constant splat that does
    not broadcast x; None for any other op."""
    if len(op.results) != 1 or element_type(op.results[0].type) != f32:
        return None
    if isinstance(op, qnn.ActivationOp):
        if op.function_kind.positional:
            return None
        function, (alpha, beta) = op.function_kind, op.parameters()
        return op.input, lambda v: evaluate(function, v, alpha, beta)
    if not isinstance(op, qnn.FloatBinaryOp | qnn.AddOp | qnn.MulOp):
        return None
    if (c := _constant_scalar(op.rhs)) is not None:
        x, x_first = op.lhs, True
    elif (c := _constant_scalar(op.lhs)) is not None:
        x, x_first = op.rhs, False
    else:
        return None
    if x.type != op.result.type:
        return None
    if isinstance(op, qnn.FloatBinaryOp):
        kind = op.kind_value
        return x, (lambda v: binary(kind, v, c)) if x_first else (lambda v: binary(kind, c, v))
    if isinstance(op, qnn.AddOp):
        return x, lambda v: (v + c).astype(F32)
    return x, lambda v: (v * c).astype(F32)


def _chain(value: SSAValue) -> tuple[qnn.DequantizeOp, list[Operation], list[Step]] | None:
    """The dequantize and the elementwise steps (first to last) that compute `value` from it,
    each step's result used only by the next; None unless there is at least one step."""
    ops: list[Operation] = []
    steps: list[Step] = []
    while single_use(value) and isinstance(value, OpResult):
        found = _step(value.op)
        if found is None:
            break
        ops.append(value.op)
        value, step = found
        steps.append(step)
    if not ops or not isinstance(value.owner, qnn.DequantizeOp):
        return None
    return value.owner, ops[::-1], steps[::-1]


def _composed(steps: list[Step]) -> Step:
    def apply(v: np.ndarray) -> np.ndarray:
        for step in steps:
            v = step(v)
        return v

    return apply


class FuseQdqTable(RewritePattern):
    """quantize(f_n(... f_1(dequantize(x)))) of 8-bit per-tensor types, each f an activation or
    a float op with a constant splat (ORT's QDQ GELU: DQ -> Div(√2) -> Erf -> Q), becomes one
    `qnn.table` holding what the steps compute, step by step in float32, for every stored x."""

    def __init__(self, style: TableStyle = TableStyle.EXACT):
        self.style = style

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qnn.QuantizeOp, rewriter: PatternRewriter) -> None:
        if op.round_mode_kind is not RoundMode.HALF_TO_EVEN:
            return
        chain = _chain(op.input)
        if chain is None:
            return
        dequantize, ops, steps = chain
        source = dequantize.input
        in_type, out_type = _tabulable(source), _tabulable(op.result)
        if in_type is None or out_type is None:
            return
        lone = ops[0] if len(ops) == 1 else None
        if (
            self.style is TableStyle.GLOW
            and isinstance(lone, qnn.ActivationOp)
            and lone.function_kind in GLOW_RANGES
        ):
            entries = glow_table(lone.function_kind, in_type, out_type)
        else:
            entries = lookup_table(_composed(steps), in_type, out_type)
        signless = entries.astype(np.uint8).view(np.int8)  # u8 200 is i8 -56, as scast reads
        stored = dense_constant(signless, TensorType(out_type.storage_type, [TABLE_SIZE]))
        table = StorageCastOp(stored.result, TensorType(out_type, [TABLE_SIZE]))
        fused = qnn.TableOp(source, table.result, op.result.type)
        fused.location = ops[-1].location
        rewriter.replace(op, [stored, table, fused])
        for step_op in reversed(ops):
            rewriter.erase(step_op)
