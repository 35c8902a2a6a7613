"""Calibrated ranges in the IR, in upstream MLIR's own spelling (DESIGN §4).

A calibrated tensor `%v` reads, for its consumers, as

    %c = quant.qcast %v : tensor<4xf32> to tensor<4x!quant.calibrated<f32<-1.5:2.25>>>
    %d = quant.dcast %c : tensor<4x!quant.calibrated<f32<-1.5:2.25>>> to tensor<4xf32>

so a person can read, diff and hand-edit the ranges before quantizing. `annotate_ranges` writes
the pairs from a table; `take_ranges` reads them back (and removes them) for the quantizer.
Upstream's type requires min < max: a tensor whose range is a single value is left out of the
IR (and then needs the table).
"""

from __future__ import annotations

from collections.abc import Mapping

from xdsl.dialects import func
from xdsl.dialects.builtin import TensorType, f32
from xdsl.ir import BlockArgument, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter

from qdialect.names import tensor_name
from qdialect.quant_ops import DequantizeCastOp, QuantizeCastOp
from qdialect.tensors import element_type
from qdialect.types import CalibratedQuantizedType
from rewrites.onnx_nodes import is_float_tensor


def _calibrated_values(function: func.FuncOp) -> list[SSAValue]:
    values: list[SSAValue] = list(function.body.block.args)
    for op in function.body.block.ops:
        values.extend(op.results)
    return [v for v in values if is_float_tensor(v)]


def annotate_ranges(function: func.FuncOp, ranges: Mapping[str, tuple[float, float]]) -> int:
    """Put a calibrated qcast/dcast pair after every tensor `ranges` names; how many."""
    count = 0
    block = function.body.block
    for value in _calibrated_values(function):
        name = tensor_name(value)
        if name not in ranges or isinstance(value.owner, DequantizeCastOp):
            continue
        lo, hi = (float(b) for b in ranges[name])
        if not lo < hi:  # a range of one value, or ORT's inverted one: the same parameters
            lo, hi = min(lo, 0.0), max(hi, 0.0)
        if not lo < hi:
            continue
        shape = value.type.get_shape()  # type: ignore[union-attr]
        calibrated = TensorType(CalibratedQuantizedType.get(f32, lo, hi), shape)
        qcast = QuantizeCastOp(value, calibrated)
        dcast = DequantizeCastOp(qcast.results[0], TensorType(f32, shape))
        point = (
            InsertPoint.at_start(block)
            if isinstance(value, BlockArgument)
            else InsertPoint.after(value.owner)  # type: ignore[arg-type]
        )
        Rewriter.insert_op([qcast, dcast], point)
        value.replace_uses_with_if(dcast.results[0], lambda use, q=qcast: use.operation is not q)
        count += 1
    return count


def take_ranges(function: func.FuncOp) -> dict[str, tuple[float, float]]:
    """The ranges of the calibrated pairs in `function`, which are removed."""
    ranges: dict[str, tuple[float, float]] = {}
    for op in list(function.body.block.ops):
        if not isinstance(op, DequantizeCastOp):
            continue
        qcast = op.input.owner
        calibrated = element_type(op.input.type)
        if not isinstance(qcast, QuantizeCastOp) or not isinstance(
            calibrated, CalibratedQuantizedType
        ):
            continue
        source = qcast.input
        name = tensor_name(source)
        if name is not None:
            ranges[name] = (calibrated.min, calibrated.max)
        op.results[0].replace_all_uses_with(source)
        Rewriter.erase_op(op)
        if not any(True for _ in qcast.results[0].uses):
            Rewriter.erase_op(qcast)
    return ranges
