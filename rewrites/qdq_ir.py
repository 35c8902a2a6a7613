"""Quantized values as IR: `!quant.uniform` types of parameters, and quantized constants.

Shared by the static quantizer's phases; the spelling is what importing ONNX Runtime's own QDQ
model gives (a stored-integer `arith.constant`, `quant.scast` to the quantized type, then
`qnn.dequantize`), so the two modules fuse identically under `qnn-default`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from xdsl.dialects import arith
from xdsl.dialects.builtin import IntegerType, TensorType, UnitAttr, f32
from xdsl.ir import Attribute, Block, Operation, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter

from qdialect import qnn
from qdialect.constants import packed_attr
from qdialect.names import carry_node, kept_name_hint
from qdialect.ort_qparams import QParams, QType
from qdialect.qnn.common import Kind, kind_of
from qdialect.qparams import Scheme, Storage, choose_qparams
from qdialect.quant_ops import StorageCastOp
from qdialect.types import UniformQuantizedType


def uniform_type(params: QParams, storage: str | None = None) -> UniformQuantizedType:
    """The per-tensor or per-axis `!quant.uniform` of `params` (storage spelling overridable:
    an int32 bias)."""
    spelling = storage or params.qtype.value
    if params.axis is None:
        return UniformQuantizedType.per_tensor(
            spelling, f32, float(params.scale), int(params.zero_point)
        )
    return UniformQuantizedType.per_axis(
        spelling,
        f32,
        params.axis,
        [float(s) for s in params.scale],
        [int(z) for z in params.zero_point],
    )


def scheme_qparams(
    extremes: list[tuple[float, float]],
    qtype: QType,
    scheme: Scheme,
    reduce_range: bool,
    axis: int | None,
) -> QParams:
    """A preset's (scale, zero point) per range (`qparams.choose_qparams`, the frameworks'
    float32 recipes) instead of ONNX Runtime's `compute_scale_zp`."""
    storage = Storage.parse(qtype.value, reduce_range)
    pairs = [choose_qparams(float(lo), float(hi), storage, scheme) for lo, hi in extremes]
    scales = np.array([s for s, _ in pairs], np.float32)
    zps = np.array([z for _, z in pairs], np.int64)
    if axis is None:
        return QParams(zps.reshape(()), scales.reshape(()), qtype)
    return QParams(zps, scales, qtype, axis)


def constant_chain(
    values: np.ndarray,
    params: QParams,
    storage: str | None,
    before: Operation,
    name: str | None,
) -> SSAValue:
    """arith.constant (signless storage) -> quant.scast -> qnn.dequantize, before `before`."""
    ops = stored_constant_ops(values, uniform_type(params, storage), name)
    Rewriter.insert_op(ops, InsertPoint.before(before))
    return ops[-1].results[0]


def stored_constant_ops(
    values: np.ndarray, qtype: UniformQuantizedType, name: str | None
) -> list[Operation]:
    """The ops of `constant_chain` (not inserted), the last one giving the float tensor."""
    shape = values.shape
    int_type = TensorType(IntegerType(qtype.storage_width), shape)
    # signless storage holds the same bits (u8 200 is i8 -56): packed_attr stores it so
    constant = arith.ConstantOp(packed_attr(np.asarray(values, np.int64), int_type), int_type)
    cast = StorageCastOp(constant.results[0], TensorType(qtype, shape))
    dequantize = qnn.DequantizeOp(cast.results[0], TensorType(f32, shape))
    hint = kept_name_hint(name) if name else None
    if hint:
        cast.results[0].name_hint = f"{hint}_quantized"
        dequantize.results[0].name_hint = f"{hint}_DequantizeLinear_Output"
    return [constant, cast, dequantize]


def fuse_dq_op_q(
    block: Block,
    op_class: type[Operation],
    quantized: Callable[[Operation, SSAValue, Attribute], Operation],
    chosen: Callable[[Operation], bool],
    same_type: bool = False,
) -> None:
    """Every DQ -> float `op_class` op -> Q (its only use) of a node the quantizer quantized
    (`chosen`; a node it left float keeps its float op between the pairs its readers got)
    becomes the one op `quantized(op, stored input, Q's result type)` builds (QOperator's ops
    that compute on stored values, which the QDQ form would simulate in float); `same_type`:
    only where the Q writes the DQ's own type."""
    for op in list(block.ops):
        if not isinstance(op, op_class) or kind_of(op.results[0]) is not Kind.FLOAT:
            continue
        if not chosen(op):
            continue
        source, uses = op.operands[0].owner, list(op.results[0].uses)
        if not isinstance(source, qnn.DequantizeOp) or len(uses) != 1:
            continue
        quantize = uses[0].operation
        if not isinstance(quantize, qnn.QuantizeOp):
            continue
        if same_type and quantize.result.type.element_type != source.input.type.element_type:
            continue
        fused = quantized(op, source.input, quantize.result.type)
        carry_node(op, fused)
        fused.results[0].name_hint = quantize.result.name_hint
        Rewriter.replace_op(quantize, fused)
        Rewriter.erase_op(op)
        if not any(True for _ in source.result.uses):
            Rewriter.erase_op(source)


def stream_dequantized_weights(block: Block) -> None:
    """A float MatMul/Gemm whose weight the quantizer dequantized: ONNX Runtime prepacks only
    initializers, so it reads a DequantizeLinear's output as it comes (`streamed_rhs`, and
    `transposed_rhs` through Gemm's transB), which sums in another order
    (qdialect/float_sum.py), as the importer reads ORT's model."""
    for op in block.ops:
        if not isinstance(op, qnn.DotOp) or kind_of(op.results[0]) is not Kind.FLOAT:
            continue
        weight = op.weight
        transposed = isinstance(weight.owner, qnn.TransposeOp)
        source = weight.owner.input if transposed else weight  # type: ignore[union-attr]
        if isinstance(source.owner, qnn.DequantizeOp):
            op.properties["streamed_rhs"] = UnitAttr()
            if transposed:
                op.properties["transposed_rhs"] = UnitAttr()
