"""`fold-qdq`'s table fusion: `quantize(activation(dequantize(x)))` → `qnn.table(x, T)`.

T holds, for every 8-bit stored input, exactly what the three ops compute (DESIGN §2's float32
dequantize, the function's float32 steps, quantize), so this fusion changes no bit; it is also
the table ONNX Runtime builds when its QDQ transformer turns DQ → Sigmoid/LeakyRelu → Q into
QLinearSigmoid/QLinearLeakyRelu. With `tables=glow`, sigmoid and tanh take Glow's lowering
instead (input rescaled to ±6 / ±3 first: `qdialect.activations.glow_table`), which is not exact.
"""

from __future__ import annotations

from enum import Enum

import numpy as np
from xdsl.dialects.builtin import TensorType
from xdsl.ir import SSAValue
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern

from qdialect import qnn
from qdialect.activations import GLOW_RANGES, function_table, glow_table
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


class FuseQdqTable(RewritePattern):
    def __init__(self, style: TableStyle = TableStyle.EXACT):
        self.style = style

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qnn.QuantizeOp, rewriter: PatternRewriter) -> None:
        producer = op.input.owner
        if (
            not isinstance(producer, qnn.ActivationOp)
            or op.round_mode_kind is not RoundMode.HALF_TO_EVEN
            or not single_use(op.input)
            or not isinstance(producer.input.owner, qnn.DequantizeOp)
            or producer.function_kind.positional
        ):
            return
        source = producer.input.owner.input
        in_type, out_type = _tabulable(source), _tabulable(op.result)
        if in_type is None or out_type is None:
            return
        function = producer.function_kind
        if self.style is TableStyle.GLOW and function in GLOW_RANGES:
            entries = glow_table(function, in_type, out_type)
        else:
            entries = function_table(function, *producer.parameters(), in_type, out_type)
        signless = entries.astype(np.uint8).view(np.int8)  # u8 200 is i8 -56, as scast reads
        stored = dense_constant(signless, TensorType(out_type.storage_type, [TABLE_SIZE]))
        table = StorageCastOp(stored.result, TensorType(out_type, [TABLE_SIZE]))
        fused = qnn.TableOp(source, table.result, op.result.type)
        fused.location = producer.location
        rewriter.replace(op, [stored, table, fused])
        rewriter.erase(producer)
