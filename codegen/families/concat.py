"""concat.c.j2: one slab per input along the axis; an input of another quantized type than the
result is requantized on the way (quantize(dequantize(x)), DESIGN §2)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from codegen.c_text import ctype_of
from codegen.families.quant_params import scale_limits
from codegen.kernel import EmitContext, Kernel
from codegen.plan import shape_of
from qdialect import qnn
from qdialect.arithmetic import float32_scale, requantize_value
from qdialect.tensors import element_type
from qdialect.types import UniformQuantizedType


@dataclass(frozen=True)
class ConcatPart:
    offset: int  # where the input's slab starts in an output slab
    slab: int
    ctype: str
    requantize: bool
    scale_in: float = 1.0
    zp_in: int = 0
    table: tuple[int, ...] = ()  # an 8-bit input: the requantized value of each stored one
    table_offset: int = 0  # minus the input's storage minimum (128 for i8)


@dataclass(frozen=True)
class ConcatSpec:
    comment: str
    ctype: str
    outer: int
    out_slab: int
    parts: tuple[ConcatPart, ...]
    scale_out: float = 1.0
    zp_out: int = 0
    qmin: int = 0
    qmax: int = 0


def concat(op: qnn.ConcatOp, ctx: EmitContext) -> Kernel:
    axis = op.axis.value.data
    out_shape = shape_of(op.result)
    out_elem = element_type(op.result.type)
    inner = math.prod(out_shape[axis + 1 :])
    quantized = isinstance(out_elem, UniformQuantizedType)
    parts, offset = [], 0
    for value in op.inputs:
        elem = element_type(value.type)
        slab = shape_of(value)[axis] * inner
        requantize = quantized and elem != out_elem
        params = {}
        if requantize:  # the reference's order: this input's scale, then the result's
            with scale_limits():
                scale_in, _ = float32_scale(elem.scale), float32_scale(out_elem.scale)
            params = {"scale_in": scale_in, "zp_in": elem.zero_point}
            if elem.storage_width == 8:  # a lookup: a requantize per stored value, not per element
                low = -128 if elem.signed else 0
                params["table_offset"] = -low
                params["table"] = tuple(
                    requantize_value(
                        v,
                        (scale_in, elem.zero_point),
                        (out_elem.scale, out_elem.zero_point),
                        out_elem.qmin,
                        out_elem.qmax,
                    )
                    for v in range(low, low + 256)
                )
        parts.append(ConcatPart(offset, slab, ctype_of(elem), requantize, **params))
        offset += slab
    quantization = (
        {
            "scale_out": out_elem.scale,
            "zp_out": out_elem.zero_point,
            "qmin": out_elem.qmin,
            "qmax": out_elem.qmax,
        }
        if quantized
        else {}
    )
    spec = ConcatSpec(
        op.name,
        ctype_of(out_elem),
        math.prod(out_shape[:axis]),
        out_shape[axis] * inner,
        tuple(parts),
        **quantization,
    )
    args = [ctx.plan.expr(value) for value in (*op.inputs, op.result)]
    return Kernel("concat.c.j2", spec, args)
