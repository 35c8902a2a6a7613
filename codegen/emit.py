"""C emission: one translation unit per function (or per module), one Jinja2 template per op
family.

`emit_function` plans the buffers (codegen.plan), dispatches each op through `FAMILIES` to the
module of its family (codegen/families/), which turns it into a `Kernel`: a template and a
typed spec of numbers, rendered here, and the call's buffer arguments. Python decides every
number; the templates in `codegen/templates/` only substitute them.

The generated function is `int qd_entry(const void *const *inputs, void *const *outputs,
const void *const *constants, void *arena)`: the Python side (runtime.compiled) has checked
every dtype and shape before it is called. Every unit also exports `void qd_set_threads(int n)`,
the thread count of its OpenMP loops (a no-op in a build without OpenMP).

`emit_module` puts several functions into one unit, as `mlir-translate` translates a module:
one prelude and one `qd_set_threads`, each function's kernels under its own prefix
(`qd_f<i>_kernel<k>`, i its position), and one entry point per function, `qd_entry_<name>` (the
symbol name spelled as a C identifier), with the signature of `qd_entry`; each takes its own
constant table and arena.

8-bit qnn.dot / qnn.conv2d take the fast kernels (families/integer.py): their constant weights
are packed once into extra entries of the constant table (codegen/packing.py), and their
scratch (padded input, per-thread row panels, weights packed per call when they are an
argument) is one region after the planned arena.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from xdsl.dialects import arith, func, tensor
from xdsl.dialects.builtin import TensorType, UnrankedTensorType
from xdsl.ir import Attribute, Operation, SSAValue

from codegen import threads
from codegen.c_text import TEMPLATES, CodegenError, buffer_ctype
from codegen.families import (
    add,
    batch_norm,
    col2im,
    compute,
    concat,
    dynamic,
    elementwise,
    float_math,
    layer_norm,
    logical,
    lrn,
    movement,
    observe,
    pool,
    pool3d,
    quantize,
    rotary,
    softmax,
    table,
    weight_only,
)
from codegen.kernel import EmitContext, Kernel
from codegen.plan import Plan, aligned, nbytes, plan_buffers
from codegen.target import GENERIC, Target
from qdialect import qnn, quant_ops
from qdialect.tensors import element_type
from qdialect.textio import op_location

__all__ = [
    "CodegenError",
    "EmittedEntry",
    "EmittedFunction",
    "EmittedModule",
    "emit_function",
    "emit_module",
]

Family = Callable[[Operation, EmitContext], Kernel]

FAMILIES: dict[type[Operation], Family] = {
    qnn.QuantizeOp: quantize.convert,
    quant_ops.QuantizeCastOp: quantize.convert,
    qnn.DequantizeOp: quantize.convert,
    quant_ops.DequantizeCastOp: quantize.convert,
    qnn.RequantizeOp: quantize.convert,
    qnn.ReluOp: elementwise.activation,
    qnn.ClampOp: elementwise.activation,
    qnn.FakeQuantOp: elementwise.fake_quant,
    qnn.TableOp: table.table,
    qnn.ActivationOp: table.activation,
    qnn.SoftmaxOp: softmax.softmax_kernel,
    quant_ops.StorageCastOp: elementwise.copy,
    tensor.ReshapeOp: elementwise.copy,
    arith.ExtFOp: elementwise.copy,
    arith.TruncFOp: elementwise.copy,
    qnn.AddOp: add.add,
    qnn.MulOp: add.add,
    qnn.Conv2DOp: compute.conv_or_dot,
    qnn.DotOp: compute.conv_or_dot,
    qnn.Col2ImOp: col2im.col2im,
    qnn.MaxPool2DOp: pool.pool,
    qnn.AvgPool2DOp: pool.pool,
    qnn.ConcatOp: concat.concat,
    qnn.TransposeOp: movement.movement,
    qnn.SliceOp: movement.movement,
    qnn.PadOp: movement.movement,
    qnn.GatherOp: movement.gather,
    qnn.ResizeBilinearOp: movement.resize,
    qnn.GridSampleOp: movement.grid_sample,
    qnn.ResizeCubicOp: movement.resize_cubic,
    qnn.LogicalOp: logical.logical,
    qnn.SelectOp: logical.logical,
    qnn.BroadcastOp: logical.broadcast,
    qnn.CompareOp: logical.logical,
    qnn.IntegerBinaryOp: logical.logical,
    qnn.CumSumOp: logical.cumsum,
    qnn.ArgReduceOp: logical.arg_reduce,
    qnn.TopKOp: logical.top_k,
    qnn.ObserveOp: observe.observation,
    qnn.HistogramOp: observe.observation,
    qnn.DynamicQuantizeOp: dynamic.dynamic_quantize,
    qnn.DynamicDotOp: dynamic.dynamic_compute,
    qnn.DynamicConv2DOp: dynamic.dynamic_compute,
    qnn.WeightOnlyDotOp: weight_only.weight_only_dot,
    qnn.RuntimeQuantizeOp: dynamic.runtime_quantize,
    qnn.RuntimeDequantizeOp: dynamic.runtime_dequantize,
    qnn.FloatBinaryOp: float_math.binary,
    qnn.LayerNormOp: layer_norm.layer_norm,
    qnn.LayerNormStatsOp: layer_norm.layer_norm_stats,
    qnn.LrnOp: lrn.lrn,
    qnn.Pool3DOp: pool3d.pool3d,
    qnn.RotaryOp: rotary.rotary,
    qnn.BatchNormOp: batch_norm.batch_norm,
    qnn.ReduceOp: float_math.reduce,
    qnn.RoundOp: float_math.unary,
    qnn.CastOp: float_math.unary,
}

# `void qd_set_threads(int n)`: the thread count of the OpenMP loops of every kernel of the unit
# (a no-op when the C was compiled without OpenMP).
SET_THREADS = """void qd_set_threads(int n) {
#ifdef _OPENMP
    omp_set_num_threads(n > 0 ? n : 1);
#else
    (void)n;
#endif
}
"""


# A profiled unit (emit_function(..., profile=True)) brackets every kernel call with two
# CLOCK_MONOTONIC readings; `qd_profile_read` copies the last run's pairs out. An unprofiled
# unit has none of this: the timing costs nothing unless asked for.
PROFILE_SUPPORT = """
#include <time.h>
static int64_t qd_profile_ns[SLOTS];
static inline int64_t qd_now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}
void qd_profile_read(int64_t *out) { memcpy(out, qd_profile_ns, sizeof qd_profile_ns); }
"""


STATIC_ONLY = "only tensors of static shape are compiled as arguments and results"
LOCATED = re.compile(r"^.+:\d+:\d+: error: ")


def boundary_problem(value_type: Attribute) -> str | None:
    """Why a value of this type cannot be an argument or result of the C entry point (a
    buffer of a statically shaped tensor of a C type), or None."""
    if isinstance(value_type, UnrankedTensorType):
        return f"an unranked tensor; {STATIC_ONLY}"
    if not isinstance(value_type, TensorType):
        return f"not a tensor; {STATIC_ONLY}"
    if any(d < 0 for d in value_type.get_shape()):
        return f"a tensor of dynamic shape; {STATIC_ONLY}"
    try:
        buffer_ctype(value_type.element_type)
    except CodegenError as err:
        return str(err)
    return None


def _empty(value: SSAValue) -> bool:
    """A statically shaped tensor without elements."""
    shape = value.type.get_shape() if isinstance(value.type, TensorType) else ()
    return 0 in shape


@dataclass
class EmittedFunction:
    """One function's C: `source` is its own unit (entry point `qd_entry`); `kernels` and
    `body` are the parts `emit_module` puts into a unit of several functions."""

    source: str
    plan: Plan
    kernel_count: int
    kernels: str = ""  # the definitions of the function's kernels (static)
    body: str = ""  # the statements of its entry point
    fast: bool = False  # a kernel needs the SIMD part of the prelude
    kernel_ops: list[Operation] = field(default_factory=list)  # the op of each kernel, in order
    profiled: bool = False  # the unit exports qd_profile_read (see PROFILE_SUPPORT)
    # The same C in pieces, for codegen.units to spread over several units: each kernel's
    # definitions, the call of each (untimed), and the copies to outputs after the last.
    kernel_texts: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    copies: list[str] = field(default_factory=list)
    # the message of each nonzero return of the entry point (1, 2, ...), located at its op,
    # and the kernel (step) that returns it
    failures: list[str] = field(default_factory=list)
    failing_steps: list[int] = field(default_factory=list)


@dataclass
class EmittedEntry:
    """A function of an emitted module: its symbol name and its C entry point."""

    function: str
    c_name: str
    emitted: EmittedFunction


@dataclass
class EmittedModule:
    source: str
    entries: list[EmittedEntry]


def entry_point(c_name: str, body: str) -> str:
    """The exported function that runs a function's kernels in order."""
    indent = " " * len(f"int {c_name}(")
    return (
        f"int {c_name}(const void *const *inputs, void *const *outputs,\n"
        f"{indent}const void *const *constants, void *arena) {{\n"
        "    (void)inputs; (void)outputs; (void)constants; (void)arena;\n"
        f"{body}\n    return 0;\n}}\n"
    )


def timed(call: str, index: int) -> str:
    """A kernel call bracketed by the two readings of a profiled unit (PROFILE_SUPPORT)."""
    return (
        f"qd_profile_ns[{2 * index}] = qd_now_ns(); {call} "
        f"qd_profile_ns[{2 * index + 1}] = qd_now_ns();"
    )


def translation_unit(
    fast: bool, kernels: str, entries: str, profile_slots: int = 0, exports: bool = True
) -> str:
    """The prelude, the kernels, `qd_set_threads` and the entry points; with `profile_slots`,
    the timestamps the profiled entry point records (PROFILE_SUPPORT). A unit linked into
    another's object (codegen.units) leaves `qd_set_threads` to that one (`exports=False`)."""
    common = TEMPLATES.get_template("_common.c.j2").module
    prelude = common.prelude(fast, threads.SCRATCH_SLOTS)  # type: ignore[attr-defined]
    if profile_slots:
        prelude += PROFILE_SUPPORT.replace("SLOTS", str(2 * profile_slots))
    return f"{prelude}\n\n{kernels}\n{SET_THREADS if exports else ''}\n{entries}"


class FunctionEmitter:
    """Renders one function's kernels and the entry point that calls them in order; kernel
    names start with `prefix`, which keeps the functions of one unit apart."""

    def __init__(
        self,
        function: func.FuncOp,
        prefix: str = "qd_",
        profile: bool = False,
        target: Target = GENERIC,
    ):
        self.function = function
        self.prefix = prefix
        self.profile = profile
        self.target = target
        self.kernels: list[str] = []
        self.kernel_ops: list[Operation] = []
        self.calls: list[str] = []
        self.steps: list[str] = []
        self.failures: list[str] = []  # what the entry point's return value k > 0 means
        self.failing_steps: list[int] = []  # the kernel returning each
        self.fast = False  # an int16-pair kernel needs the SIMD part of the prelude
        self.scratch_bytes = 0  # scratch shared by the fast kernels, after the planned arena

    def fail(self, op: Operation, message: str) -> CodegenError:
        file, line, column = op_location(op)
        return CodegenError(f"{file}:{line}:{column}: error: '{op.name}': {message}")

    def scratch(self, nbytes: int) -> str:
        self.fast = True
        self.scratch_bytes = max(self.scratch_bytes, nbytes)
        return f"((int16_t *)((char *)arena + {self.scratch_at}))"

    def render(self, kernel: Kernel, op: Operation) -> None:
        index = len(self.kernels)
        name = f"{self.prefix}kernel{index}"
        template = TEMPLATES.get_template(kernel.template)
        self.kernels.append(template.render(name=name, spec=kernel.spec))
        self.kernel_ops.append(op)
        call = f"{name}({', '.join(kernel.args)})"
        if kernel.failure is None:
            call += ";"
        else:  # the entry point returns failure k (1, 2, ...): runtime.native raises its message
            located = op_location(op)[0] != "<unknown>"  # an imported model's ops have none
            message = self.fail(op, kernel.failure) if located else f"'{op.name}': {kernel.failure}"
            self.failures.append(str(message))
            self.failing_steps.append(index)
            call = f"if ({call}) return {len(self.failures)};"
        self.steps.append(call)
        self.calls.append(f"    {timed(call, index) if self.profile else call}")

    def emit_op(self, op: Operation) -> None:
        if (
            isinstance(op, arith.ConstantOp)
            or op.results
            and all(self.plan.constant_data(r) is not None for r in op.results)
        ):
            return  # in the constant table, handed in at load time
        if op.results and op.results[0] in self.plan.aliases:
            return  # a reshape that is its source's buffer: nothing to compute
        if op.results and all(_empty(r) for r in op.results):
            return  # no element to write (a Slice of 0:0, as torch exports roll(x, 0))
        family = FAMILIES.get(type(op))
        if family is None:
            raise self.fail(
                op,
                "has no C kernel (compiled are qnn ops, quant casts, tensor.reshape and "
                "dense constants, after the qnn-default rewrites)",
            )
        try:
            kernel = family(op, self)
        except CodegenError as err:  # a family's refusal, located at its op
            if LOCATED.match(str(err)):
                raise
            raise self.fail(op, str(err)) from None
        self.render(kernel, op)

    def check_boundary(self) -> None:
        """Each argument and result crosses as a buffer of a statically shaped tensor: any other
        type is refused here, located, before the planner (which assumes one) sees it."""
        block = self.function.body.block
        values: list[tuple[Operation, str, SSAValue]] = [
            (self.function, f"argument {index}", arg) for index, arg in enumerate(block.args)
        ]
        if isinstance(block.last_op, func.ReturnOp):
            ret = block.last_op
            values += [(ret, f"result {index}", v) for index, v in enumerate(ret.arguments)]
        for op, what, value in values:
            problem = boundary_problem(value.type)
            if problem is not None:
                name = f" %{value.name_hint}" if value.name_hint else ""
                raise self.fail(op, f"{what}{name} of type {value.type}: {problem}")

    def emit(self) -> EmittedFunction:
        self.check_boundary()
        block = self.function.body.block
        ops = [op for op in block.ops if not isinstance(op, func.ReturnOp)]
        self.plan = plan = plan_buffers(self.function, ops)
        self.scratch_at = plan.arena_size
        for op in ops:
            self.emit_op(op)
        plan.arena_size += aligned(self.scratch_bytes)
        copies: list[str] = []
        for index, value in enumerate(plan.outputs):
            if plan.direct.get(value) == index:
                continue
            ctype = buffer_ctype(element_type(value.type))
            copies.append(
                f"    memcpy(outputs[{index}], {plan.expr(value)}, {nbytes(value)} /* {ctype} */);"
            )
        kernels, body = "".join(self.kernels), "\n".join(self.calls + copies)
        slots = len(self.kernels) if self.profile else 0
        source = translation_unit(self.fast, kernels, entry_point("qd_entry", body), slots)
        return EmittedFunction(
            source,
            plan,
            len(self.kernels),
            kernels,
            body,
            self.fast,
            self.kernel_ops,
            bool(slots),
            self.kernels,
            self.steps,
            copies,
            self.failures,
            self.failing_steps,
        )


def emit_function(
    function: func.FuncOp, *, profile: bool = False, target: Target = GENERIC
) -> EmittedFunction:
    """The C translation unit of one function of quant/qnn ops (after qnn-default), for
    `target` (runtime.cc.target_of); with `profile`, every kernel call is timed
    (runtime.profile reads the times)."""
    return FunctionEmitter(function, profile=profile, target=target).emit()


def c_names(symbols: list[str]) -> list[str]:
    """`qd_entry_<symbol>` for each symbol, characters C does not allow in a name spelled `_`;
    a name already taken gets `_2`, `_3`, ... appended."""
    taken: set[str] = set()
    names = []
    for symbol in symbols:
        base = "qd_entry_" + re.sub(r"[^A-Za-z0-9_]", "_", symbol)
        name, count = base, 1
        while name in taken:
            count += 1
            name = f"{base}_{count}"
        taken.add(name)
        names.append(name)
    return names


def emit_module(functions: list[func.FuncOp], target: Target = GENERIC) -> EmittedModule:
    """One C translation unit holding the given functions (after qnn-default): their kernels,
    prefixed per function, and an entry point `qd_entry_<name>` each. A function that cannot be
    compiled raises its located CodegenError, naming the function."""
    names = [f.sym_name.data for f in functions]
    entries, kernels, points = [], [], []
    for index, (function, symbol, c_name) in enumerate(
        zip(functions, names, c_names(names), strict=True)
    ):
        try:
            emitted = FunctionEmitter(function, prefix=f"qd_f{index}_", target=target).emit()
        except CodegenError as err:
            raise in_function(err, symbol) from None
        entries.append(EmittedEntry(symbol, c_name, emitted))
        kernels.append(emitted.kernels)
        plan = emitted.plan
        about = (
            f"@{symbol} {function.function_type}: {len(plan.constants)} constants, "
            f"an arena of {plan.arena_size} bytes"
        ).replace("*/", "* /")
        points.append(f"/* {about} */\n{entry_point(c_name, emitted.body)}")
    fast = any(e.emitted.fast for e in entries)
    return EmittedModule(translation_unit(fast, "".join(kernels), "\n".join(points)), entries)


def in_function(err: CodegenError, symbol: str) -> CodegenError:
    """`err` with the function it happened in: `file:line:col: error: in function @f: ...`."""
    message = str(err)
    match = re.match(r"^.+?:\d+:\d+: error: ", message)  # the first location only
    if match is None:
        return CodegenError(f"in function @{symbol}: {message}")
    return CodegenError(f"{match.group(0)}in function @{symbol}: {message[match.end() :]}")
