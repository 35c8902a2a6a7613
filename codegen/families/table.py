"""table.c.j2: `qnn.table` (a 256-entry lookup) and `qnn.activation` (float32 functions).

The table is a constant operand, so it arrives through the constant table at load time; the
kernel indexes it with the stored input value minus the storage minimum. The float functions
are spelled with the coefficients and steps `qdialect.activations` evaluates, one rounding per
C operation (`-ffp-contract=off`) and `fmaf` where MLAS fuses, so they match the reference bit
for bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from codegen import threads
from codegen.c_text import ctype_of
from codegen.kernel import EmitContext, Kernel
from codegen.plan import shape_of
from qdialect import activations, qnn
from qdialect.qnn.table import LIBM, UnaryFunction
from qdialect.tensors import element_type


@dataclass(frozen=True)
class TableSpec:
    """`kind` is `lookup` or the function's name; `offset` = minus the input's storage
    minimum (128 for i8); `bound`, `numerator`, `denominator`: a rational function's clamp and
    coefficients (highest power of x² first)."""

    kind: str
    comment: str
    size: int
    in_ctype: str
    out_ctype: str
    parallel: bool  # the loop split between the threads (codegen.threads)
    offset: int = 0
    alpha: float = 0.0
    beta: float = 0.0
    bound: float = 0.0
    numerator: tuple[float, ...] = ()
    denominator: tuple[float, ...] = ()
    erf: tuple[tuple[str, float | tuple[float, ...]], ...] = ()  # activations.ERF's items
    libm: str = ""  # the C library's function computing every element (`qnn.table.LIBM`)


def table(op: qnn.TableOp, ctx: EmitContext) -> Kernel:
    in_ctype = ctype_of(element_type(op.input.type))
    spec = TableSpec(
        "lookup",
        op.name,
        math.prod(shape_of(op.input)),
        in_ctype,
        ctype_of(element_type(op.result.type)),
        math.prod(shape_of(op.input)) >= threads.PARALLEL_ELEMENTS,
        offset=128 if in_ctype == "int8_t" else 0,
    )
    args = [ctx.plan.expr(v) for v in (op.input, op.table, op.result)]
    return Kernel("table.c.j2", spec, args)


ERF_USERS = {UnaryFunction.ERF, UnaryFunction.GELU}
RATIONAL = {
    UnaryFunction.SIGMOID: activations.LOGISTIC,
    UnaryFunction.SILU: activations.LOGISTIC,
    UnaryFunction.TANH: activations.TANH,
    UnaryFunction.GELU_TANH: activations.TANH,
    UnaryFunction.DEEPCPU_TANH: activations.TANH,  # (its bound is alpha)
}


def activation(op: qnn.ActivationOp, ctx: EmitContext) -> Kernel:
    function = op.function_kind
    alpha, beta = op.parameters()
    if function is UnaryFunction.HARD_SWISH:
        alpha, beta = 1 / 6, 0.5
    if function is UnaryFunction.GELU:  # the erf argument's factor 1/√2
        alpha = activations.SQRT1_2
    if function is UnaryFunction.GELU_TANH:  # the tanh argument's C and B
        alpha, beta = activations.GELU_TANH["C"], activations.GELU_TANH["B"]
    bound, numerator, denominator = RATIONAL.get(function, (0.0, (), ()))
    size = math.prod(shape_of(op.input))
    spec = TableSpec(
        function.value,
        f"{op.name} {function.value}",
        size,
        "float",
        "float",
        size >= threads.PARALLEL_FUNCTION_ELEMENTS,
        alpha=alpha,
        beta=beta,
        bound=bound,
        numerator=numerator,
        denominator=denominator,
        erf=tuple(activations.ERF.items()) if function in ERF_USERS else (),
        libm=LIBM.get(function, ""),
    )
    args = [ctx.plan.expr(op.input), "NULL", ctx.plan.expr(op.result)]
    return Kernel("table.c.j2", spec, args)
