"""softmax.c.j2: `qnn.softmax`, float32 (the exp and lane sums of the MLAS kernel the op names)
or 8-bit (QLinearSoftmax's exp table, rendered into the kernel as a constant array).

Python computes every number (`qdialect.softmax`): the row layout, the 256 table entries, the
output multiplier and bounds, MLAS's exp constants; the template spells the steps the reference
evaluates, one rounding per C operation and `fmaf` where MLAS fuses.
"""

from __future__ import annotations

from dataclasses import dataclass

from codegen.c_text import ctype_of
from codegen.kernel import EmitContext, Kernel
from codegen.plan import shape_of
from qdialect import qnn, softmax
from qdialect.qnn.common import Kind, kind_of
from qdialect.qnn.modes import SumExpKernel
from qdialect.tensors import element_type


@dataclass(frozen=True)
class SoftmaxSpec:
    """Rows of `length` elements `stride` apart, `outer · stride` of them; `table` empty for
    float32. `exp`: MLAS's (lower clamp, rounding bias, log2 reciprocal, ln2 high, ln2 low,
    polynomial); `scalef`: 2^k as `vscalefps` (AVX512F), else from the biased integer's bits;
    `lanes`: the sum's accumulators (16 are folded to 8 before the pairwise reduction)."""

    comment: str
    in_ctype: str
    out_ctype: str
    layout: softmax.RowLayout
    table: tuple[float, ...] = ()
    multiplier: float = 0.0
    zero: int = 0
    qmin: int = 0
    qmax: int = 0
    signed: bool = False
    exp: tuple[float, ...] = ()
    lanes: int = 8
    scalef: bool = False
    log: bool = False  # LogSoftmax: (x - max) - logf(sum)
    one_bits: int = softmax.ONE_BITS
    bias_bits: int = softmax.ROUNDING_BIAS_BITS


def softmax_kernel(op: qnn.SoftmaxOp, ctx: EmitContext) -> Kernel:
    flatten = op.flatten is not None
    layout = softmax.row_layout(tuple(shape_of(op.input)), op.axis_value, flatten)
    in_ctype = ctype_of(element_type(op.input.type))
    out_ctype = ctype_of(element_type(op.result.type))
    comment = f"{op.name}{' (log)' if op.log is not None else ''} axis {op.axis_value}"
    comment += " (flattened)" if flatten else ""
    if kind_of(op.result) is Kind.FLOAT:
        kernel = op.sum_exp_kernel
        constants = (
            softmax.EXP_LOWER[kernel],
            softmax.ROUNDING_BIAS,
            softmax.LOG2_RECIPROCAL,
            softmax.LOG2_HIGH,
            softmax.LOG2_LOW,
            *softmax.POLY,
        )
        spec = SoftmaxSpec(
            f"{comment}, MLAS's {kernel.value} sum-exp kernel",
            in_ctype,
            out_ctype,
            layout,
            exp=tuple(float(c) for c in constants),
            lanes=softmax.LANES[kernel],
            scalef=kernel is SumExpKernel.AVX512F,
            log=op.log is not None,
        )
    else:
        in_type, out_type = element_type(op.input.type), element_type(op.result.type)
        p = softmax.quantized_parameters(in_type, out_type, layout.length)  # type: ignore[arg-type]
        spec = SoftmaxSpec(
            comment,
            in_ctype,
            out_ctype,
            layout,
            p.table,
            p.multiplier,
            p.zero,
            p.qmin,
            p.qmax,
            p.signed,
        )
    args = [ctx.plan.expr(op.input), ctx.plan.expr(op.result)]
    return Kernel("softmax.c.j2", spec, args)
