"""`fold-scaled-builders`: every `qnn.scaled_*` op becomes its core op.

Types come from the recorded ranges through `qdialect.qparams.range_type` (the interpreter
uses the same function, so the fold is exact). A scaled op's `!quant.any` operands are
reinterpreted to the concrete type its range gives (scast to storage and back: nGraph reads
raw integers with the consumer's range) and its result is cast back to `!quant.any` for
remaining scaled users; `FoldInverseStorageCasts` then removes the pairs that cancel.
A float bias is quantized to int32 only when it is a constant; otherwise the op is left alone.
The core op takes the scaled op's location; scales its kernel cannot compute with
(`rewrites.scale_limits`) are refused there, named as the scaled op, as the reference
interpreter refuses that op.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import IntegerAttr, ModuleOp, i32
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from qdialect import qnn
from qdialect.constants import dense_array
from qdialect.qnn.common import Kind, kind_of
from qdialect.qparams import quantize_bias, range_type
from qdialect.quant_ops import reinterpret
from qdialect.tensors import element_type
from qdialect.types import AnyQuantizedType, UniformQuantizedType
from rewrites.common import (
    FoldInverseStorageCasts,
    dense_constant,
    with_element,
)
from rewrites.scale_limits import ScaleRangeError, check_op, located

_CONV_PROPS = ("strides", "pads", "dilations", "groups", "layout")
_EPILOGUE_PROPS = ("activation", "clamp_min", "clamp_max")


def _type_for(op, value_type: Attribute, lo, hi) -> UniformQuantizedType:
    pending = element_type(value_type)
    assert isinstance(pending, AnyQuantizedType)
    try:  # a range whose scale overflows float32 is refused at the op, as the interpreter does
        return range_type(
            pending, lo.value.data, hi.value.data, op.scheme.data, op.reduce_range is not None
        )
    except ScaleRangeError as err:
        raise located(op, err) from None


class _Builder:
    """Collects the ops that replace one scaled op."""

    def __init__(self) -> None:
        self.ops: list[Operation] = []

    def as_type(self, value: SSAValue, qtype: UniformQuantizedType) -> SSAValue:
        """`value` (with `!quant.any` elements) reinterpreted as `qtype`."""
        casts = reinterpret(value, with_element(value.type, qtype))
        self.ops += casts
        return casts[-1].results[0]

    def back_to(self, value: SSAValue, original: Attribute) -> SSAValue:
        """A concrete result cast back to the scaled op's `!quant.any` result type."""
        casts = reinterpret(value, original)
        self.ops += casts
        return casts[-1].results[0]


def _props(op, names) -> dict[str, Attribute]:
    return {n: op.properties[n] for n in names if n in op.properties}


class FoldScaledQuantize(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qnn.ScaledQuantizeOp, rewriter: PatternRewriter) -> None:
        qtype = _type_for(op, op.result.type, op.min, op.max)
        b = _Builder()
        core = qnn.QuantizeOp(
            op.input, with_element(op.result.type, qtype), **_props(op, ("round_mode",))
        )
        b.ops.append(core)
        rewriter.replace(op, b.ops, [b.back_to(core.result, op.result.type)])


class FoldScaledDequantize(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qnn.ScaledDequantizeOp, rewriter: PatternRewriter) -> None:
        qtype = _type_for(op, op.input.type, op.min, op.max)
        b = _Builder()
        core = qnn.DequantizeOp(b.as_type(op.input, qtype), op.result.type)
        b.ops.append(core)
        rewriter.replace(op, b.ops, [core.result])


class FoldScaledComputeOp(RewritePattern):
    """scaled_conv2d → conv2d, scaled_dot → dot (nGraph's ScaledQuantized* builders)."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if not isinstance(op, qnn.ScaledConv2DOp | qnn.ScaledDotOp):
            return
        x_type = _type_for(op, op.input.type, op.input_min, op.input_max)
        w_type = _type_for(op, op.weight.type, op.weight_min, op.weight_max)
        pending_result = kind_of(op.result) is Kind.PENDING
        out_type = (
            _type_for(op, op.result.type, op.output_min, op.output_max) if pending_result else None
        )
        b = _Builder()
        bias = op.bias
        if bias is not None and kind_of(bias) is Kind.FLOAT:
            values = dense_array(bias)
            if values is None:
                return  # a computed float bias cannot be quantized here
            try:
                ints = quantize_bias([float(v) for v in values.ravel()], x_type.scale, w_type.scale)
            except ScaleRangeError as err:
                raise located(op, err) from None
            constant = dense_constant(np.array(ints), with_element(bias.type, i32))
            b.ops.append(constant)
            bias = constant.result
        result_type = with_element(op.result.type, out_type) if out_type else op.result.type
        props = _props(op, _EPILOGUE_PROPS)
        addend = None
        if op.addend is not None:
            addend_type = _type_for(op, op.addend.type, op.addend_min, op.addend_max)
            addend = b.as_type(op.addend, addend_type)
            props["intermediate"] = out_type  # the conv result requantized to the output range
        x = b.as_type(op.input, x_type)
        w = b.as_type(op.weight, w_type)
        if isinstance(op, qnn.ScaledConv2DOp):
            core_type, props = qnn.Conv2DOp, props | _props(op, _CONV_PROPS)
        else:
            core_type = qnn.DotOp
        core = core_type.build(
            operands=[x, w, [bias] if bias is not None else [], [addend] if addend else []],
            result_types=[result_type],
            properties=props,
        )
        core.location = op.location
        try:  # the requantization and the fused add, in the interpreter's order
            check_op(core)
        except ScaleRangeError as err:
            raise located(op, err) from None
        b.ops.append(core)
        result = b.back_to(core.results[0], op.result.type) if pending_result else core.results[0]
        rewriter.replace(op, b.ops, [result])


class FoldScaledConcat(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qnn.ScaledConcatOp, rewriter: PatternRewriter) -> None:
        mins = [a.value.data for a in op.input_mins.data]
        maxs = [a.value.data for a in op.input_maxs.data]
        lo = op.output_min.value.data if op.output_min is not None else min(mins)
        hi = op.output_max.value.data if op.output_max is not None else max(maxs)
        reduce = op.reduce_range is not None
        b = _Builder()
        try:
            inputs = [
                b.as_type(v, range_type(element_type(v.type), vlo, vhi, op.scheme.data, reduce))
                for v, vlo, vhi in zip(op.inputs, mins, maxs, strict=True)
            ]
            out = range_type(element_type(op.result.type), lo, hi, op.scheme.data, reduce)
        except ScaleRangeError as err:
            raise located(op, err) from None
        core = qnn.ConcatOp.build(
            operands=[inputs],
            result_types=[with_element(op.result.type, out)],
            properties={"axis": IntegerAttr(op.axis.value.data, 64)},
        )
        b.ops.append(core)
        rewriter.replace(op, b.ops, [b.back_to(core.result, op.result.type)])


@dataclass(frozen=True)
class FoldScaledBuildersPass(ModulePass):
    """Replace every scaled builder by its core op (see the module docstring)."""

    name = "fold-scaled-builders"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(
            GreedyRewritePatternApplier(
                [
                    FoldScaledQuantize(),
                    FoldScaledDequantize(),
                    FoldScaledComputeOp(),
                    FoldScaledConcat(),
                    FoldInverseStorageCasts(),
                ]
            )
        ).rewrite_module(op)
