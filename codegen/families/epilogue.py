"""The fused epilogue of qnn.conv2d and qnn.dot, shared by every compute kernel: bias,
requantization, the fused add, the activation (DESIGN §2)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from xdsl.ir import SSAValue

from codegen.c_text import INT8_RANGES, ctype_of
from codegen.families.add import qlinear_add, raw_offsets
from codegen.families.quant_params import scale_limits
from codegen.kernel import EmitContext
from qdialect import qnn
from qdialect.arithmetic import fixed_point_multipliers, quantize_value, requant_multiplier
from qdialect.qnn import Activation, RequantMode
from qdialect.tensors import element_type
from qdialect.types import UniformQuantizedType


@dataclass(frozen=True)
class EpilogueSpec:
    """What follows the accumulator (_epilogue.c.j2, _store.c.j2): bias, requantization into
    the result (or the fused add's intermediate) type, the fused add, the activation."""

    comment: str
    quantized: bool
    requantized: bool
    x_ctype: str
    w_ctype: str
    y_ctype: str
    has_bias: bool
    has_addend: bool
    bias_ctype: str
    addend_ctype: str
    activation: str
    clamp_lo: float = 0.0  # float results: the real clamp
    clamp_hi: float = 0.0
    x_zp: int = 0
    w_zp: tuple[int, ...] = ()
    requant_mode: str = RequantMode.FLOAT.value
    multiplier: tuple[float, ...] = ()  # per output channel, float mode
    fixed_m: tuple[int, ...] = (0,)  # per output channel, fixed-point modes
    fixed_shift: tuple[int, ...] = (0,)
    t_qmin: int = 0  # the requantization target: result, or the fused add's intermediate
    t_qmax: int = 0
    t_zp: int = 0
    qmin: int = 0
    qmax: int = 0
    act_lo: int = 0  # stored bounds of the activation
    act_hi: int = 0
    ra: float = 0.0  # fused add (QLinearAdd of the intermediate and the addend)
    rb: float = 0.0
    k: float = 0.0
    off_t: int = 0
    off_a: int = 0
    off_y: int = 0
    addend_first: bool = False  # the fused add is add(addend, conv result)
    addend_per_channel: bool = False  # addend[o], a fused constant (bias) add
    vector_addend: bool = False  # the fused add runs in _store.c.j2's AVX2 loop


def _requantization(op, xq, wq, out) -> dict:
    target = op.intermediate if op.addend is not None else out
    scales = list(wq.scales)
    mode = op.requant_mode_kind
    with scale_limits():
        multipliers = tuple(requant_multiplier(xq.scale, s, target.scale) for s in scales)
    fields = {
        "requant_mode": mode.value,
        "multiplier": multipliers,
        "t_qmin": target.qmin,
        "t_qmax": target.qmax,
        "t_zp": target.zero_point,
        "qmin": out.qmin,
        "qmax": out.qmax,
    }
    if mode is not RequantMode.FLOAT:
        with scale_limits():
            pairs = fixed_point_multipliers(mode.value, xq.scale, scales, target.scale)
        fields |= {"fixed_m": tuple(p[0] for p in pairs), "fixed_shift": tuple(p[1] for p in pairs)}
    lo, hi = out.qmin, out.qmax
    activation = op.activation_kind
    if activation is Activation.RELU:
        lo = max(lo, out.zero_point)
    elif activation is Activation.CLAMP:
        bounds = (out.scale, out.zero_point, out.qmin, out.qmax)
        lo = max(lo, quantize_value(op.clamp_min.value.data, *bounds))
        hi = min(hi, quantize_value(op.clamp_max.value.data, *bounds))
    fields |= {"act_lo": lo, "act_hi": hi}
    if op.addend is not None:
        offsets = raw_offsets(op)
        first = op.addend_first is not None
        ta, tr = target, element_type(op.addend.type)
        if first:
            add = qlinear_add(tr, ta, out, (offsets[1], offsets[0], offsets[2]))
        else:
            add = qlinear_add(ta, tr, out, offsets)
        fields["addend_first"] = first
        fields["addend_per_channel"] = len(op.addend.type.get_shape()) == 1
        fields |= {"ra": add.ra, "rb": add.rb, "k": add.k}
        fields |= dict(zip(("off_t", "off_a", "off_y"), offsets, strict=True))
        fields["vector_addend"] = _vector_addend(mode, multipliers, add, out, op.addend)
    return fields


def _vector_addend(mode: RequantMode, multipliers, add, out, addend: SSAValue) -> bool:
    """Whether the fused add can run eight lanes at a time and still be the scalar formula:
    float requantization into 8-bit stored values, and |r| of the add far below float's range
    for every stored input (so r is finite, and clamping it before vcvtps2dq, which returns
    INT_MIN out of range, equals clamping the double after rint)."""
    if mode is not RequantMode.FLOAT or ctype_of(out) not in INT8_RANGES:
        return False
    if ctype_of(element_type(addend.type)) not in INT8_RANGES:
        return False
    if any(math.isinf(m) for m in multipliers):
        return False
    bound = 512.0 * (abs(add.ra) + abs(add.rb)) + abs(add.k)  # stored values + offsets < 512
    return math.isfinite(bound) and bound < 2.0**30


def epilogue(op: qnn.Conv2DOp | qnn.DotOp) -> EpilogueSpec:
    x, w, y = op.input, op.weight, op.result
    xq, wq, out = element_type(x.type), element_type(w.type), element_type(y.type)
    quantized = isinstance(xq, UniformQuantizedType)
    requantized = isinstance(out, UniformQuantizedType)
    fields: dict = {}
    if not quantized and op.activation_kind is Activation.CLAMP:
        fields = {"clamp_lo": op.clamp_min.value.data, "clamp_hi": op.clamp_max.value.data}
    if quantized:
        fields = {"x_zp": xq.zero_point, "w_zp": tuple(wq.zero_points)}
        if requantized:
            fields |= _requantization(op, xq, wq, out)
    return EpilogueSpec(
        op.name,
        quantized,
        requantized,
        ctype_of(xq),
        ctype_of(wq),
        ctype_of(out),
        op.bias is not None,
        op.addend is not None,
        ctype_of(element_type(op.bias.type)) if op.bias else "int32_t",
        ctype_of(element_type(op.addend.type)) if op.addend else "int32_t",
        op.activation.data,
        **fields,
    )


def operand_args(ctx: EmitContext, op, weight: str | None = None) -> list[str]:
    """The C arguments x, w, bias, addend (null when absent), y of a compute kernel; `weight`:
    the C expression of the weights as the kernel reads them (a packed copy), so the weights
    as stored are not handed in at all."""
    null = "(const int32_t *)0"
    plan = ctx.plan
    return [
        plan.expr(op.input),
        plan.expr(op.weight) if weight is None else weight,
        plan.expr(op.bias) if op.bias else null,
        plan.expr(op.addend) if op.addend else null,
        plan.expr(op.result),
    ]


def vector_epilogue(ep: EpilogueSpec) -> bool:
    """Whether the in-register epilogue (_store.c.j2) applies: no fused add, and raw int32
    results or float requantization to 8 bits with finite multipliers."""
    if ep.has_addend:
        return False
    if not ep.requantized:
        return ep.y_ctype == "int32_t"
    return (
        ep.requant_mode == "float"
        and ep.y_ctype in INT8_RANGES
        and not any(math.isinf(m) for m in ep.multiplier)
    )
