"""elementwise.c.j2: copies (reshape, storage casts), relu, clamp and fake_quant."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from xdsl.ir import Operation

from codegen.c_text import CodegenError, buffer_ctype, ctype_of
from codegen.families.quant_params import QuantParams, quant_params
from codegen.kernel import EmitContext, Kernel
from codegen.plan import shape_of
from qdialect import qnn
from qdialect.arithmetic import clamp_bounds
from qdialect.quant_ops import StorageCastOp
from qdialect.storage import integer_signature
from qdialect.tensors import element_type
from qdialect.types import UniformQuantizedType


@dataclass(frozen=True)
class ElementwiseSpec:
    """One pass over `size` elements; `kind` is copy, wrap, relu_f, clamp_f, clamp_q or
    fake_quant. `source`/`target` are the parameters of quantized in/out types."""

    kind: str
    comment: str
    size: int
    in_ctype: str
    out_ctype: str
    source: QuantParams = field(default_factory=QuantParams)
    target: QuantParams = field(default_factory=QuantParams)
    lo: tuple[int, ...] = ()  # clamp_q: stored bounds per channel
    hi: tuple[int, ...] = ()
    lo_real: float = 0.0  # clamp_f
    hi_real: float = 0.0
    in_lo: float = 0.0  # fake_quant: nGraph FakeQuantize's ranges and level count - 1
    in_hi: float = 0.0
    out_lo: float = 0.0
    out_hi: float = 0.0
    steps: float = 0.0
    bits: int = 0  # wrap: the storage width a storage cast reinterprets (below its container's)
    mask: int = 0  # wrap: 2^bits - 1
    signed: bool = False


def _spec(op: Operation, kind: str, ctype=ctype_of, **fields) -> ElementwiseSpec:
    x, y = op.operands[0], op.results[0]
    return ElementwiseSpec(
        kind,
        op.name,
        math.prod(shape_of(x)),
        ctype(element_type(x.type)),
        ctype(element_type(y.type)),
        **fields,
    )


def _kernel(ctx: EmitContext, op: Operation, spec: ElementwiseSpec) -> Kernel:
    args = [ctx.plan.expr(op.operands[0]), ctx.plan.expr(op.results[0])]
    return Kernel("elementwise.c.j2", spec, args)


def copy(op: Operation, ctx: EmitContext) -> Kernel:
    """reshape, and a storage cast of a value that is not a constant: the same bits (of a
    sub-byte storage, re-extended: u4 9 is i4 -7); and arith.extf / arith.truncf between f16
    and f32: C's conversions (exact, and round to nearest even, as numpy's astype)."""
    signature = integer_signature(element_type(op.results[0].type))
    if isinstance(op, StorageCastOp) and signature is not None and signature[0] % 8:
        bits, signed = signature
        return _kernel(ctx, op, _spec(op, "wrap", bits=bits, mask=(1 << bits) - 1, signed=signed))
    return _kernel(ctx, op, _spec(op, "copy", buffer_ctype))


def fake_quant(op: qnn.FakeQuantOp, ctx: EmitContext) -> Kernel:
    """nGraph's form; the typed form has become a quantize/dequantize pair in `qnn-default`."""
    if op.quant_type is not None:
        raise CodegenError("the typed form is compiled after qnn-default (fake-to-qdq)")
    bounds = [b.value.data for b in op.ngraph_bounds]
    x, y = element_type(op.input.type), element_type(op.result.type)
    shape = shape_of(op.input)
    quantized = {
        side: quant_params(t, shape)
        for side, t in (("source", x), ("target", y))
        if isinstance(t, UniformQuantizedType)
    }
    ranges = dict(zip(("in_lo", "in_hi", "out_lo", "out_hi"), bounds, strict=True))
    steps = float(op.levels.value.data - 1)
    return _kernel(ctx, op, _spec(op, "fake_quant", **quantized, **ranges, steps=steps))


def activation(op: qnn.ReluOp | qnn.ClampOp, ctx: EmitContext) -> Kernel:
    """relu and clamp: on floats, or on stored values between quantized bounds."""
    elem = element_type(op.input.type)
    if isinstance(elem, UniformQuantizedType):
        params = quant_params(elem, shape_of(op.input))
        zeros = params.zero_points
        if isinstance(op, qnn.ReluOp):
            lo, hi = [max(z, elem.qmin) for z in zeros], [elem.qmax] * len(zeros)
        else:
            lo, hi = clamp_bounds(
                op.min.value.data, op.max.value.data, elem.scales, zeros, elem.qmin, elem.qmax
            )
        # only the channel count and run length matter: the bounds are stored values
        source = QuantParams((1.0,) * len(zeros), (0,), params.inner)
        spec = _spec(op, "clamp_q", source=source, lo=tuple(lo), hi=tuple(hi))
    elif isinstance(op, qnn.ReluOp):
        spec = _spec(op, "relu_f")
    else:
        spec = _spec(op, "clamp_f", lo_real=op.min.value.data, hi_real=op.max.value.data)
    return _kernel(ctx, op, spec)
