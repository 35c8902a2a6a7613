"""C emission: one translation unit per function, one Jinja2 template per op family.

Python decides every number here (multipliers from `qdialect.params`, strides, zero points,
bounds); the templates in `codegen/templates/` only substitute them. Every value gets a
buffer: arguments and results are pointers passed by the caller, constants are pointers
handed in at load time, intermediates live in one arena whose offsets are planned here
(buffers whose lifetimes do not overlap share space).

The generated function is `int qd_entry(const void *const *inputs, void *const *outputs,
const void *const *constants, void *arena)`: the Python side (runtime.compiled) has checked
every dtype and shape before it is called. Every unit also exports `void qd_set_threads(int n)`,
the thread count of its OpenMP loops (a no-op in a build without OpenMP).

8-bit qnn.dot / qnn.conv2d take the fast kernels (gemm.c.j2, depthwise.c.j2; see
`integer_kernel`): their constant weights are packed here, once, into extra entries of the
constant table (codegen/packing.py), and their scratch (padded input, per-thread row panels,
weights packed per call when they are an argument) is one region after the planned arena.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from xdsl.dialects import arith, func, tensor
from xdsl.dialects.builtin import IntegerType, Signedness, TensorType
from xdsl.ir import Attribute, Operation, SSAValue

from codegen import packing
from qdialect import qnn, quant_ops
from qdialect.floats import is_float_type
from qdialect.params import (
    f32,
    fmaf,
    quantize_multiplier,
    quantize_value,
    requant_multiplier,
    tosa_multiplier_shift,
)
from qdialect.tensors import element_type
from qdialect.textio import op_location
from qdialect.types import AnyQuantizedType, Granularity, UniformQuantizedType

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


# How quantize's vector code breaks ties in the half_* round modes (see quantize.c.j2).
TIE_RULES = {"half_up": 0, "half_down": 1, "half_away_from_zero": 2, "half_toward_zero": 3}


class CodegenError(Exception):
    """An op or type this code generator does not compile, with its source location."""


def c_float(value: float) -> str:
    """An exact C float literal (hex), e.g. 0x1.99999ap-4f."""
    value = f32(value)
    if math.isinf(value):
        return "INFINITY" if value > 0 else "-INFINITY"
    return float(value).hex() + "f"


def ctype_of(elem: Attribute) -> str:
    if isinstance(elem, UniformQuantizedType | AnyQuantizedType):
        width, signed = elem.storage_width, elem.signed
    elif isinstance(elem, IntegerType):
        width, signed = elem.width.data, elem.signedness.data is not Signedness.UNSIGNED
    elif is_float_type(elem) and elem.name == "f32":
        return "float"
    else:
        raise CodegenError(f"no C type for element type {elem}")
    for bits in (8, 16, 32, 64):
        if width <= bits:
            return f"{'' if signed else 'u'}int{bits}_t"
    raise CodegenError(f"no C type for {width}-bit storage")


def shape_of(value: SSAValue) -> tuple[int, ...]:
    assert isinstance(value.type, TensorType)
    return tuple(value.type.get_shape())


def strides_of(shape: tuple[int, ...]) -> list[int]:
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= size
    return strides[::-1]


@dataclass
class Plan:
    """Buffers of one function: where each value lives and the arena size."""

    inputs: list[SSAValue]
    outputs: list[SSAValue]
    constants: list[tuple[SSAValue, np.ndarray]] = field(default_factory=list)
    arena_offsets: dict[SSAValue, int] = field(default_factory=dict)
    arena_size: int = 0
    # Results a kernel writes straight into the caller's output buffer (index), never copied.
    direct: dict[SSAValue, int] = field(default_factory=dict)

    def constant_data(self, value: SSAValue) -> np.ndarray | None:
        """The stored values of a constant (or of a storage cast of one), else None."""
        return next((array for constant, array in self.constants if constant is value), None)

    def add_constant(self, value: SSAValue, array: np.ndarray) -> str:
        """One more entry of the constant table, e.g. weights packed for a kernel, under the
        value it derives from; `array` must already have that value's storage dtype (the
        runtime converts each constant to it). Returns the entry's C expression."""
        self.constants.append((value, array))
        return f"constants[{len(self.constants) - 1}]"

    def expr(self, value: SSAValue) -> str:
        """The C expression of a value's buffer."""
        ctype = ctype_of(element_type(value.type))
        if value in self.inputs:
            return f"(({ctype} *)inputs[{self.inputs.index(value)}])"
        if value in self.direct:
            return f"(({ctype} *)outputs[{self.direct[value]}])"
        for index, (constant, _) in enumerate(self.constants):
            if constant is value:
                return f"(({ctype} *)constants[{index}])"
        return f"(({ctype} *)((char *)arena + {self.arena_offsets[value]}))"


@dataclass
class EmittedFunction:
    source: str
    plan: Plan
    kernel_count: int


def _nbytes(value: SSAValue) -> int:
    ctype = ctype_of(element_type(value.type))
    size = {"float": 4}.get(ctype) or int("".join(ch for ch in ctype if ch.isdigit())) // 8
    return math.prod(shape_of(value)) * size


def plan_buffers(function: func.FuncOp, ops: list[Operation]) -> Plan:
    """Arena offsets by a linear scan: a buffer is free after its last use. A result that is
    returned is computed in its output buffer instead (the first, if returned twice)."""
    block = function.body.block
    plan = Plan(list(block.args), list(block.last_op.operands))  # type: ignore[union-attr]
    for index, value in reversed(list(enumerate(plan.outputs))):
        if not isinstance(value.owner, arith.ConstantOp) and value not in plan.inputs:
            plan.direct[value] = index
    last_use: dict[SSAValue, int] = {}
    for index, op in enumerate(ops):
        for operand in op.operands:
            last_use[operand] = index
    for value in plan.outputs:  # copied out after the last kernel
        last_use[value] = len(ops)
    free: list[tuple[int, int]] = []  # (offset, size)
    live: list[tuple[int, SSAValue]] = []
    for index, op in enumerate(ops):
        for end, value in list(live):
            if end < index:
                live.remove((end, value))
                free.append((plan.arena_offsets[value], _nbytes(value)))
        for result in op.results:
            if result in plan.direct:
                continue
            size = (_nbytes(result) + 63) // 64 * 64
            slot = next((f for f in sorted(free) if f[1] >= size), None)
            if slot is not None:
                free.remove(slot)
                plan.arena_offsets[result] = slot[0]
            else:
                plan.arena_offsets[result] = plan.arena_size
                plan.arena_size += size
            live.append((max(last_use.get(result, index), index), result))
    return plan


def _params(qtype: UniformQuantizedType, rank: int, shape) -> tuple[list[str], list[int], int]:
    """(scales as C literals, zero points, inner size) for per-tensor or per-axis types."""
    if qtype.granularity is Granularity.PER_AXIS:
        inner = math.prod(shape[qtype.axis + 1 :])
        return [c_float(s) for s in qtype.scales], list(qtype.zero_points), inner
    if qtype.granularity is Granularity.SUB_CHANNEL:
        raise CodegenError("sub-channel quantization is not compiled")
    return [c_float(qtype.scale)], [qtype.zero_point], 1


# Markstein's division stays exact (and its residual representable) for these scales.
MARKSTEIN_SCALES = (2.0**-60, 2.0**60)


def markstein_constants(qtype: UniformQuantizedType, y_ctype: str) -> dict | None:
    """Constants of quantize.c.j2's division-free path, or None where it does not apply.

    `rint(x / s)` (DESIGN §2: the float32 quotient, rounded half to even) needs no division:
    with r = RN(1/s), p = RN(x r) is within an ulp of x / s, e = x - p s is exact with an FMA,
    and RN(p + e r) is the correctly rounded x / s (Markstein's theorem; Muller et al.,
    Handbook of Floating-Point Arithmetic, §4.7), barring overflow and underflow. x is first
    raised to at least -2^20 s, which turns NaN and -inf into values below every bound (both
    give qmin). The kernel rounds -(p + e r), so +inf, overflow and every quotient beyond int32
    come out of the conversion as INT_MIN, i.e. -q far below the bounds, q at qmax. The bounds
    are then the 8-bit saturation of the packs, so the type must span its whole storage range.
    """
    if _INT8_RANGE.get(y_ctype) != (qtype.qmin, qtype.qmax):
        return None
    scales = [f32(s) for s in qtype.scales]  # one per tensor, or one per channel
    low, high = MARKSTEIN_SCALES
    if not all(low <= s <= high for s in scales):
        return None
    return {
        "reciprocal": [c_float(f32(1) / s) for s in scales],
        "floor": [c_float(-f32(2.0**20) * s) for s in scales],
    }


# Scratch slots of the fast kernels (one per thread): the generated C runs at most this many
# OpenMP threads.
SCRATCH_SLOTS = 8
PARALLEL_MACS = 1 << 21
PARALLEL_GEMV_MACS = 1 << 18
PARALLEL_ELEMENTS = 1 << 18
CONVERT_CHUNK = 1 << 15  # elements per task of a parallel quantize / dequantize

_INT8_RANGE = {"int8_t": (-128, 127), "uint8_t": (0, 255)}
_STORAGE_DTYPE = {"int8_t": np.int8, "uint8_t": np.uint8}

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


class FunctionEmitter:
    def __init__(self, function: func.FuncOp):
        self.function = function
        self.kernels: list[str] = []
        self.calls: list[str] = []
        self.fast = False  # an int16-pair kernel needs the SIMD part of the prelude
        self.scratch_bytes = 0  # scratch shared by the fast kernels, after the planned arena

    def fail(self, op: Operation, message: str) -> CodegenError:
        file, line, column = op_location(op)
        return CodegenError(f"{file}:{line}:{column}: error: '{op.name}': {message}")

    def render(self, template: str, spec: dict, args: list[str]) -> None:
        name = f"qd_kernel{len(self.kernels)}"
        text = TEMPLATES.get_template(template).render(name=name, spec=SimpleNamespace(**spec))
        self.kernels.append(text)
        self.calls.append(f"    {name}({', '.join(args)});")

    def emit(self) -> EmittedFunction:
        block = self.function.body.block
        ops = [op for op in block.ops if not isinstance(op, func.ReturnOp)]
        plan = plan_buffers(self.function, ops)
        self.plan = plan
        self.scratch_at = plan.arena_size
        for op in ops:
            self.emit_op(op)
        plan.arena_size += (self.scratch_bytes + 63) // 64 * 64
        for index, value in enumerate(block.last_op.operands):  # type: ignore[union-attr]
            if plan.direct.get(value) == index:
                continue
            ctype = ctype_of(element_type(value.type))
            self.calls.append(
                f"    memcpy(outputs[{index}], {plan.expr(value)}, {_nbytes(value)} /* {ctype} */);"
            )
        common = TEMPLATES.get_template("_common.c.j2").module
        prelude = common.prelude(self.fast, SCRATCH_SLOTS)  # type: ignore[attr-defined]
        body = "\n".join(self.calls)
        source = (
            f"{prelude}\n\n{''.join(self.kernels)}\n{SET_THREADS}\n"
            "int qd_entry(const void *const *inputs, void *const *outputs,\n"
            "             const void *const *constants, void *arena) {\n"
            "    (void)inputs; (void)constants; (void)arena;\n"
            f"{body}\n    return 0;\n}}\n"
        )
        return EmittedFunction(source, plan, len(self.kernels))

    # ------------------------------------------------------------------ ops
    def emit_op(self, op: Operation) -> None:
        p = self.plan
        if isinstance(op, arith.ConstantOp):
            values = np.array(op.value.get_values())  # type: ignore[union-attr]
            shape = shape_of(op.result)
            data = np.broadcast_to(
                values.reshape(()) if values.size == 1 else values.reshape(shape), shape
            )
            p.constants.append((op.result, np.ascontiguousarray(data)))
            del p.arena_offsets[op.result]
            return
        if isinstance(op, quant_ops.StorageCastOp):
            data = p.constant_data(op.operands[0])
            if data is None:
                self.unary(op, "copy", {})
            else:  # the same stored bits: a second name for the constant, no copy per call
                # (in the result's storage dtype: a u8 weight's i8 constant -56 is 200)
                stored = np.dtype(ctype_of(element_type(op.results[0].type)).removesuffix("_t"))
                p.constants.append((op.results[0], data.astype(stored)))
                del p.arena_offsets[op.results[0]]
            return
        if isinstance(op, qnn.QuantizeOp | quant_ops.QuantizeCastOp):
            mode = op.round_mode.data if isinstance(op, qnn.QuantizeOp) else "half_to_even"
            self.convert(op, "quantize", mode)
            return
        if isinstance(op, qnn.DequantizeOp | quant_ops.DequantizeCastOp):
            self.convert(op, "dequantize", "half_to_even")
            return
        if isinstance(op, qnn.RequantizeOp):
            self.convert(op, "requantize", "half_to_even")
            return
        if isinstance(op, qnn.ReluOp | qnn.ClampOp):
            self.activation(op)
            return
        if isinstance(op, qnn.AddOp):
            self.add(op)
            return
        if isinstance(op, qnn.FakeQuantOp):
            bounds = [
                c_float(b.value.data)
                for b in (op.input_low, op.input_high, op.output_low, op.output_high)
            ]
            extra = dict(zip(("in_lo", "in_hi", "out_lo", "out_hi"), bounds, strict=True))
            self.unary(op, "fake_quant", extra | {"steps": c_float(op.levels.value.data - 1)})
            return
        if isinstance(op, qnn.Conv2DOp | qnn.DotOp):
            self.conv_or_dot(op)
            return
        if isinstance(op, qnn.MaxPool2DOp | qnn.AvgPool2DOp):
            self.pool(op)
            return
        if isinstance(op, qnn.ConcatOp):
            self.concat(op)
            return
        if isinstance(op, tensor.ReshapeOp):
            self.unary(op, "copy", {})
            return
        if isinstance(op, qnn.TransposeOp | qnn.PadOp):
            self.movement(op)
            return
        raise self.fail(op, "is not compiled yet (run qnn-default first for scaled builders)")

    def unary(self, op: Operation, kind: str, extra: dict) -> None:
        x, y = op.operands[0], op.results[0]
        shape = shape_of(x)
        spec = _elementwise_base(op, x, y) | {"kind": kind} | extra
        if isinstance(element_type(x.type), UniformQuantizedType) and kind != "copy":
            spec["scale_in"], spec["zp_in"], spec["inner_in"] = _params(
                element_type(x.type), len(shape), shape
            )
        out = element_type(y.type)
        if isinstance(out, UniformQuantizedType) and kind != "copy":
            spec["scale_out"], spec["zp_out"], spec["inner_out"] = _params(out, len(shape), shape)
            spec["qmin"], spec["qmax"] = out.qmin, out.qmax
        self.render("elementwise.c.j2", spec, [self.plan.expr(x), self.plan.expr(y)])

    def convert(self, op: Operation, kind: str, mode: str) -> None:
        """quantize / dequantize / requantize, looping over (outer, channel, inner) blocks so a
        per-axis scale is fetched once per run; AVX2 where it computes the same bits."""
        x, y = op.operands[0], op.results[0]
        shape = shape_of(x)
        spec = _elementwise_base(op, x, y) | {"kind": kind, "mode": mode}
        qtypes = {}
        for value, side in ((x, "in"), (y, "out")):
            qtype = element_type(value.type)
            if isinstance(qtype, UniformQuantizedType):
                qtypes[side] = qtype
                params = _params(qtype, len(shape), shape)
                spec[f"scale_{side}"], spec[f"zp_{side}"], spec[f"inner_{side}"] = params
        if "out" in qtypes:
            spec["qmin"], spec["qmax"] = qtypes["out"].qmin, qtypes["out"].qmax
        axes = {side: (len(spec[f"scale_{side}"]), spec[f"inner_{side}"]) for side in qtypes}
        per_axis = {pair for pair in axes.values() if pair[0] > 1}
        if len(per_axis) > 1:  # two different axes: blocks of one element, indices computed
            channels, inner = 1, 1
            index = {side: f"(o / {i}) % {n}" for side, (n, i) in axes.items()}
        else:
            channels, inner = per_axis.pop() if per_axis else (1, spec["size"])
            index = {side: "c" if n > 1 else "0" for side, (n, _) in axes.items()}
        spec |= {
            "channels": channels,
            "inner": inner,
            "outer": spec["size"] // (channels * inner),
            "c_in": index.get("in", "0"),
            "c_out": index.get("out", "0"),
            "tie_rule": TIE_RULES.get(mode),
            # The vector code keeps q - zp and the clamp bounds in int32, exact in float32.
            "simd": all(t.storage_width <= 16 for t in qtypes.values())
            and all(abs(z) <= 2**16 for z in (*spec["zp_in"], *spec["zp_out"])),
        }
        spec["markstein"] = (
            markstein_constants(qtypes["out"], spec["out_ctype"])
            if "out" in qtypes and mode == "half_to_even" and spec["simd"]
            else None
        )
        # Large conversions run in chunks across the threads (a multiple of the 32-element step).
        spec["parallel"] = spec["size"] >= PARALLEL_ELEMENTS
        spec["chunk"] = min(spec["inner"], CONVERT_CHUNK) if spec["parallel"] else spec["inner"]
        self.render("quantize.c.j2", spec, [self.plan.expr(x), self.plan.expr(y)])

    def activation(self, op: Operation) -> None:
        x, y = op.operands[0], op.results[0]
        elem = element_type(x.type)
        base = _elementwise_base(op, x, y)
        if isinstance(elem, UniformQuantizedType):
            shape = shape_of(x)
            _, zeros, inner = _params(elem, len(shape), shape)
            if isinstance(op, qnn.ReluOp):
                lo, hi = [max(z, elem.qmin) for z in zeros], [elem.qmax] * len(zeros)
            else:
                lo, hi = clamp_bounds(op.min.value.data, op.max.value.data, elem)
            spec = base | {
                "kind": "clamp_q",
                "lo": lo,
                "hi": hi,
                "inner_in": inner,
                "scale_in": ["1.0f"] * len(zeros),
            }
        elif isinstance(op, qnn.ReluOp):
            spec = base | {"kind": "relu_f"}
        else:
            spec = base | {
                "kind": "clamp_f",
                "lo": c_float(op.min.value.data),
                "hi": c_float(op.max.value.data),
            }
        self.render("elementwise.c.j2", spec, [self.plan.expr(x), self.plan.expr(y)])

    def add(self, op: qnn.AddOp) -> None:
        out_shape = shape_of(op.result)

        def broadcast_strides(value: SSAValue) -> list[int]:
            shape = shape_of(value)
            padded = (1,) * (len(out_shape) - len(shape)) + shape
            own = strides_of(padded)
            return [
                0 if d == 1 and o != 1 else s
                for d, o, s in zip(padded, out_shape, own, strict=True)
            ]

        spec = {
            "comment": op.name,
            "shape": list(out_shape),
            "size": math.prod(out_shape),
            "a_strides": broadcast_strides(op.lhs),
            "b_strides": broadcast_strides(op.rhs),
            "a_ctype": ctype_of(element_type(op.lhs.type)),
            "b_ctype": ctype_of(element_type(op.rhs.type)),
            "out_ctype": ctype_of(element_type(op.result.type)),
            "quantized": False,
        }
        if isinstance(element_type(op.result.type), UniformQuantizedType):
            types = [element_type(v.type) for v in (op.lhs, op.rhs, op.result)]
            offsets = tuple(op.raw_offsets.get_values()) if op.raw_offsets else (0, 0, 0)
            spec |= qlinear_add_constants(*types, offsets)
        self.render(
            "add.c.j2",
            spec,
            [self.plan.expr(op.lhs), self.plan.expr(op.rhs), self.plan.expr(op.result)],
        )

    def conv_or_dot(self, op) -> None:
        x, w, y = op.operands[0], op.operands[1], op.results[0]
        quantized = isinstance(element_type(x.type), UniformQuantizedType)
        out = element_type(y.type)
        requantized = isinstance(out, UniformQuantizedType)
        channels = shape_of(y)[
            1 if isinstance(op, qnn.Conv2DOp) and op.layout.data == "nchw" else -1
        ]
        spec: dict = {
            "comment": op.name,
            "quantized": quantized,
            "requantized": requantized,
            "x_ctype": ctype_of(element_type(x.type)),
            "w_ctype": ctype_of(element_type(w.type)),
            "y_ctype": ctype_of(out),
            "has_bias": op.bias is not None,
            "has_addend": op.addend is not None,
            "bias_ctype": ctype_of(element_type(op.bias.type)) if op.bias else "int32_t",
            "addend_ctype": ctype_of(element_type(op.addend.type)) if op.addend else "int32_t",
            "activation": op.activation.data,
        }
        if not quantized and op.activation.data == "clamp":
            spec |= {
                "clamp_lo": c_float(op.clamp_min.value.data),
                "clamp_hi": c_float(op.clamp_max.value.data),
            }
        if quantized:
            xq, wq = element_type(x.type), element_type(w.type)
            spec |= {"x_zp": xq.zero_point, "w_zp": list(wq.zero_points)}
            if requantized:
                target = op.intermediate if op.addend is not None else out
                scales = list(wq.scales)
                spec |= fixed_point_constants(op.requant_mode.data, xq.scale, scales, target.scale)
                spec |= {
                    "requant_mode": op.requant_mode.data,
                    "multiplier": [
                        c_float(requant_multiplier(xq.scale, s, target.scale)) for s in scales
                    ],
                    "t_qmin": target.qmin,
                    "t_qmax": target.qmax,
                    "t_zp": target.zero_point,
                    "qmin": out.qmin,
                    "qmax": out.qmax,
                }
                lo, hi = out.qmin, out.qmax
                if op.activation.data == "relu":
                    lo = max(lo, out.zero_point)
                elif op.activation.data == "clamp":
                    lo = max(lo, quantize_scalar(op.clamp_min.value.data, out))
                    hi = min(hi, quantize_scalar(op.clamp_max.value.data, out))
                spec |= {"act_lo": lo, "act_hi": hi}
                if op.addend is not None:
                    offsets = tuple(op.raw_offsets.get_values()) if op.raw_offsets else (0, 0, 0)
                    add = qlinear_add_constants(target, element_type(op.addend.type), out, offsets)
                    spec |= {
                        "ra": add["ra"],
                        "rb": add["rb"],
                        "k": add["k"],
                        "off_t": offsets[0],
                        "off_a": offsets[1],
                        "off_y": offsets[2],
                    }
        if quantized and self.integer_kernel(op, spec):
            return
        null = "(const int32_t *)0"
        args = [
            self.plan.expr(x),
            self.plan.expr(w),
            self.plan.expr(op.bias) if op.bias else null,
            self.plan.expr(op.addend) if op.addend else null,
            self.plan.expr(y),
        ]
        if isinstance(op, qnn.DotOp):
            xs = shape_of(x)
            spec |= {"M": math.prod(xs[:-1]), "K": xs[-1], "O": channels}
            self.render("dot.c.j2", spec, args)
            return
        spec |= conv_window(op)
        groups = op.groups.value.data
        spec |= {"C_per_group": spec["C"] // groups, "O_per_group": spec["O"] // groups}
        self.render("conv.c.j2", spec, args)

    def integer_kernel(self, op, spec: dict) -> bool:
        """Emit 8-bit qnn.dot / qnn.conv2d through the fast kernels (gemm.c.j2, depthwise.c.j2)
        when their int16-pair arithmetic is exact for this op; False leaves it to the generic
        int64 kernel (16-bit storage, reductions long enough to leave int32)."""
        x, w, y = op.operands[0], op.operands[1], op.results[0]
        if spec["x_ctype"] not in _INT8_RANGE or spec["w_ctype"] not in _INT8_RANGE:
            return False
        x_range = max(abs(b - spec["x_zp"]) for b in _INT8_RANGE[spec["x_ctype"]])
        w_range = max(abs(b - z) for b in _INT8_RANGE[spec["w_ctype"]] for z in spec["w_zp"])
        is_dot = isinstance(op, qnn.DotOp)
        if is_dot:
            xs = shape_of(x)
            o = shape_of(y)[-1]
            geometry = {"kind": "dot", "M": math.prod(xs[:-1]), "K": xs[-1], "O": o, "G": 1}
            geometry |= {"N": o, "ys": [0], "row_stride": o, "o_stride": 1}
        else:
            geometry = self.conv_geometry(op)
        if not packing.exact_in_int16_pairs(x_range, w_range, geometry["K"]):
            return False
        self.fast = True
        spec |= geometry
        # Below these sizes a parallel region costs more than it saves (a fork and a barrier,
        # worse when the cores are shared), so the loop stays serial.
        macs = spec["M"] * spec["K"] * spec["N"] * spec["G"] * spec.get("NI", 1)
        spec["parallel"] = macs >= PARALLEL_MACS
        spec["parallel_pad"] = (
            spec["M"] * spec["K"] if is_dot else spec["HP"] * spec["WP"] * spec["C"]
        ) >= PARALLEL_ELEMENTS
        spec["vector_epilogue"] = not spec["has_addend"] and (
            spec["y_ctype"] == "int32_t"
            if not spec["requantized"]
            else spec["requant_mode"] == "float"
            and spec["y_ctype"] in _INT8_RANGE
            and not any("INFINITY" in m for m in spec["multiplier"])
        )
        weights = self.plan.constant_data(w)
        spec["packed_w"] = weights is not None
        dtype = _STORAGE_DTYPE[spec["w_ctype"]]
        depthwise = not is_dot and spec["Cg"] == 1 and spec["G"] > 1
        if depthwise:
            template = "depthwise.c.j2"
            spec |= {"O": spec["G"] * spec["N"], "MULT": spec["N"]}
            # where tap (r, s) of an output's window starts, relative to its first tap
            step = spec["C"] if spec["layout"] == "nhwc" else 1
            spec["taps"] = [
                (r * spec["DH"] * spec["WP"] + s * spec["DW"]) * step
                for r in range(spec["KH"])
                for s in range(spec["KW"])
            ]
            scratch = spec["HP"] * spec["WP"] * spec["C"]
            pairs = self.depthwise_pairs(spec, x_range * w_range)
            if pairs:
                scratch = max(scratch, SCRATCH_SLOTS * spec["RING"] * spec["PSIZE"])
            spec["wpack_at"] = scratch = (scratch + 31) // 32 * 32
            taps = spec["KH"] * spec["KW"] * spec["O"]
            spec["wpairs_off"] = (taps + 15) // 16 * 16
            if weights is None:
                scratch += spec["wpairs_off"] + (spec["WPSIZE"] if pairs else 0)
            else:
                packed = packing.pack_depthwise(weights, spec["w_zp"], spec["layout"])
                if pairs:
                    wp = packing.depthwise_pairs(packed, spec["ROWS"], spec["NP"], spec["c0s"])
                    gap = np.zeros(spec["wpairs_off"] - taps, dtype=np.int16)
                    packed = np.concatenate([packed.ravel(), gap, wp.ravel()])
        else:
            template = "gemm.c.j2"
            m, k, n = spec["M"], spec["K"], spec["N"]
            kpad = k + k % 2
            nb = -(-n // packing.NR)
            mr = packing.MR
            # row chunks of at most 96 KiB of int16 rows (they stay in L2), of near-equal size
            chunks = -(-m // max(mr, 96 * 1024 // (2 * kpad) // mr * mr))
            per_chunk = -(-m // chunks)
            mc = -(-per_chunk // mr) * mr
            chunks = -(-m // mc)
            spec |= {
                "gemv": None,
                "MR": mr,
                "NR": packing.NR,
                "KPAD": kpad,
                "KP": kpad // 2,
                "NB": nb,
                "MC": mc,
                "CHUNKS": chunks,
                "NSPLIT": min(nb, -(-32 // chunks)),  # at least 32 tasks where N allows
                "TAIL": m % mr,
            }
            # a 1×1 stride-1 unpadded conv reads its GEMM rows straight from the HWC copy
            spec["direct"] = not is_dot and (
                spec["K"] == spec["C"] == kpad
                and spec["HP"] * spec["WP"] == m
                and (spec["KH"], spec["KW"], spec["SH"], spec["SW"]) == (1, 1, 1, 1)
            )
            if is_dot:
                scratch = m * kpad
            elif spec["direct"]:
                scratch = spec["HP"] * spec["WP"] * spec["C"]
            else:
                spec["slots_at"] = (spec["HP"] * spec["WP"] * spec["C"] + 31) // 32 * 32
                scratch = spec["slots_at"] + SCRATCH_SLOTS * mc * kpad
            spec["bpack_at"] = scratch = (scratch + 31) // 32 * 32
            # int8 weight blocks halve the traffic where it bounds the speed (few rows, e.g.
            # GEMV); with many rows the widening costs more than it saves.
            lo, hi = _INT8_RANGE[spec["w_ctype"]]
            small = m <= 4 * mr
            b8 = small and all(lo - z >= -128 and hi - z <= 127 for z in spec["w_zp"])
            if weights is None:
                scratch += spec["G"] * nb * kpad * packing.NR
            else:
                layout = "dot" if is_dot else spec["layout"]
                mats = packing.gemm_weights(weights, spec["w_zp"], layout, spec["G"])
                b8 = b8 or small and mats.min(initial=0) >= -128 and mats.max(initial=0) <= 127
                packed = packing.pack_gemm(mats, np.int8 if b8 else np.int16)
                # one row against constant int8 blocks: the exact vpmaddubsw GEMV of gemm.c.j2
                if is_dot and m == 1 and b8 and k <= packing.GEMV_MAX_K:
                    offset = 128 if spec["x_ctype"] == "int8_t" else 0
                    spec["gemv"] = {
                        "offset": offset,
                        "corr": packing.gemv_corrections(mats[0], spec["x_zp"] + offset),
                    }
                    # streaming the weights bounds it: a second core's bandwidth pays sooner
                    spec["parallel"] = k * n >= PARALLEL_GEMV_MACS
            spec["b_ctype"] = "int8_t" if b8 else "int16_t"
        self.scratch_bytes = max(self.scratch_bytes, 2 * scratch)
        p = self.plan
        w_expr = p.expr(w)
        if weights is not None:
            table = p.add_constant(w, packed.view(dtype).ravel())
            w_expr = f"((const {spec.get('b_ctype', 'int16_t')} *){table})"
        null = "(const int32_t *)0"
        args = [
            p.expr(x),
            w_expr,
            p.expr(op.bias) if op.bias else null,
            p.expr(op.addend) if op.addend else null,
            p.expr(y),
            f"((int16_t *)((char *)arena + {self.scratch_at}))",
        ]
        self.render(template, spec, args)
        return True

    def depthwise_pairs(self, spec: dict, product_range: int) -> bool:
        """Choose (and plan) the NHWC row-pair path of depthwise.c.j2 where it applies: one
        output per channel, 8+ channels, the in-register float requantization to 8 bits.

        The kernel pairs vertically adjacent taps: a ring of row-pair buffers P_a holds, per
        padded column and block of 8 channels, the int16 pairs (x[a], x[a + DH]) interleaved;
        weights are interleaved the same way once (packing.depthwise_pairs). With stride and
        dilation 1, two output rows share the pairs (row i + 1 sees them shifted by one row)."""
        ok = (
            spec["layout"] == "nhwc"
            and spec["MULT"] == 1
            and spec["O"] >= 8
            and spec["vector_epilogue"]
            and spec["requantized"]
            and spec["o_stride"] == 1
            and _INT8_RANGE[spec["x_ctype"]][0] <= spec["x_zp"] <= _INT8_RANGE[spec["x_ctype"]][1]
        )
        spec["pairs"] = ok
        if not ok:
            return False
        c, kh, kw, dh = spec["C"], spec["KH"], spec["KW"], spec["DH"]
        rows = 2 if spec["SH"] == 1 and dh == 1 else 1
        pairs = -(-(kh + rows - 1) // 2)
        nb = -(-c // 8)
        spec |= {
            "ROWS": rows,
            "NP": pairs,
            "NB": nb,
            "c0s": [min(8 * b, c - 8) for b in range(nb)],
            "RING": 2 * (pairs - 1) * dh + 1,
            "PSIZE": (spec["WP"] * nb * 16 + 31) // 32 * 32,
            "WPSIZE": pairs * kw * nb * rows * 16,
            # |Σ (x - zx)(w - zw)| never exceeds this: a bias within INT32 of it cannot overflow
            "acc_bound": kh * kw * product_range,
        }
        px = 4 if rows == 2 else 8
        spec["variants"] = [self.depthwise_schedule(spec, n) for n in (px, px // 2, 1) if n]
        m = spec["multiplier"]
        # With every |m| < 1, |fl(fl(acc) * m)| < 2^31: vcvtps2dq rounds it exactly and the
        # saturating packs clamp to the storage range (rint commutes with integer bounds).
        spec["sat_pack"] = all(abs(float.fromhex(v.rstrip("f"))) < 1.0 for v in m)
        lo, hi = _INT8_RANGE[spec["y_ctype"]]
        spec["act_clamp"] = [spec["act_lo"] > lo, spec["act_hi"] < hi]
        return True

    @staticmethod
    def depthwise_schedule(spec: dict, npx: int) -> dict:
        """The asm steps of the row-pair kernel for `npx` output pixels of ROWS output rows and
        one block of 8 channels: accumulator a{q}_{px} of row i + q, pixel j + px. A step loads
        the weight pairs of pair k and a group of taps s into registers, then each P_k column
        once, and multiplies it into every accumulator that reads it (15 vector registers at
        most: accumulators, weights, one column and one product)."""
        rows, kw, nb = spec["ROWS"], spec["KW"], spec["NB"]
        accs = rows * npx
        steps = []
        for k in range(spec["NP"]):
            live = [q for q in range(rows) if any(0 <= 2 * k + h - q < spec["KH"] for h in (0, 1))]
            group = max(1, min(kw, (15 - 2 - accs) // len(live)))
            for s0 in range(0, kw, group):
                taps = range(s0, min(kw, s0 + group))
                weights = {}
                for s in taps:
                    for q in live:
                        # weight block [k][s][b][q] (16 int16), relative to block b of pair 0, tap 0
                        weights[s, q] = (len(weights), 2 * 16 * ((k * kw + s) * nb * rows + q))
                cols: dict[int, list] = {}
                for p in range(npx):
                    for s in taps:
                        col = p * spec["SW"] + s * spec["DW"]
                        cols.setdefault(col, []).extend(
                            (weights[s, q][0], f"a{q}_{p}") for q in live
                        )
                steps.append(
                    {
                        "k": k,
                        "weights": [off for _, off in weights.values()],
                        "cols": [(2 * 16 * nb * col, uses) for col, uses in sorted(cols.items())],
                        "accs": sorted({acc for uses in cols.values() for _, acc in uses}),
                    }
                )
        # without a bias the sums start at zero: the first product of each is written, not added
        seen: set[str] = set()
        for step in steps:
            for _, uses in step["cols"]:
                for u, (w, acc) in enumerate(uses):
                    uses[u] = (w, acc, acc not in seen)
                    seen.add(acc)
        return {"npx": npx, "steps": steps}

    def conv_geometry(self, op: qnn.Conv2DOp) -> dict:
        """Sizes and strides of a conv for the fast kernels: the implicit GEMM of each group
        (M output pixels × K = kh·kw·c taps × N channels) and the zero-padded HWC input."""
        layout = op.layout.data
        g = conv_window(op)
        kh, kw = g["KH"], g["KW"]
        c, h, wd, oh, ow = g["C"], g["H"], g["W"], g["OH"], g["OW"]
        sh, sw, dh, dw, pt, pl = g["SH"], g["SW"], g["DH"], g["DW"], g["PT"], g["PL"]
        groups = op.groups.value.data
        cg = c // groups
        return g | {
            "kind": "conv",
            "layout": layout,
            "NI": g["N"],  # N is the GEMM's columns below
            "HP": max(h + pt, (oh - 1) * sh + (kh - 1) * dh + 1),
            "WP": max(wd + pl, (ow - 1) * sw + (kw - 1) * dw + 1),
            "G": groups,
            "Cg": cg,
            "N": g["O"] // groups,
            "M": oh * ow,
            "K": kh * kw * cg,
            "run": kw * cg if dw == 1 and groups == 1 else cg,
            "row_stride": g["ys"][3],
            "o_stride": g["ys"][1],
        }

    def pool(self, op) -> None:
        x, y = op.input, op.result
        kh, kw = op.kernel.get_values()
        pads = tuple(op.pads.get_values())
        elem_x, elem_y = element_type(x.type), element_type(y.type)
        spec = window_geometry(x, y, op.layout.data, (kh, kw), op.strides, op.dilations, op.pads)
        h, w = spec["H"], spec["W"]
        spec |= {
            "comment": op.name,
            "x_ctype": ctype_of(elem_x),
            "y_ctype": ctype_of(elem_y),
            "quantized": isinstance(elem_y, UniformQuantizedType),
        }
        if isinstance(op, qnn.MaxPool2DOp):
            lowest = (
                "-INFINITY"
                if spec["x_ctype"] == "float"
                else str(np.iinfo(np.dtype(spec["x_ctype"][:-2])).min)
            )
            spec |= {"kind": "max", "lowest": lowest}
        elif spec["quantized"] and (kh, kw) == (h, w) and pads == (0, 0, 0, 0):
            taps = kh * kw
            scale = f32(f32(elem_x.scale) / f32(f32(elem_y.scale) * f32(taps)))
            spec |= {
                "kind": "global",
                "N_taps": taps,
                "zx": elem_x.zero_point,
                "zy": elem_y.zero_point,
                "global_scale": c_float(scale),
                "qmin": elem_y.qmin,
                "qmax": elem_y.qmax,
            }
        else:
            include_pad = op.count_include_pad.value.data != 0
            spec |= {"kind": "avg", "fixed_count": kh * kw if include_pad else 0}
            if spec["quantized"]:
                off = tuple(op.raw_offsets.get_values())[1] if op.raw_offsets else 0
                spec |= {
                    "sx": c_float(elem_x.scale),
                    "zx": elem_x.zero_point,
                    "sy": c_float(elem_y.scale),
                    "zy_raw": c_float(elem_y.zero_point + off),
                    "qmin_raw": elem_y.qmin + off,
                    "qmax_raw": elem_y.qmax + off,
                    "off_y": off,
                }
        self.render("pool.c.j2", spec, [self.plan.expr(x), self.plan.expr(y)])

    def movement(self, op: qnn.TransposeOp | qnn.PadOp) -> None:
        """transpose and pad: index arithmetic only, in the stored type."""
        x, y = op.input, op.result
        in_shape, out_shape = shape_of(x), shape_of(y)
        elem = element_type(x.type)
        spec: dict = {
            "comment": op.name,
            "ctype": ctype_of(elem),
            "rank": len(out_shape),
            "in_shape": list(in_shape),
            "out_shape": list(out_shape),
        }
        in_strides = strides_of(in_shape)
        if isinstance(op, qnn.TransposeOp):
            perm = op.permutation.get_values()
            spec |= {"kind": "transpose", "src_strides": [in_strides[p] for p in perm]}
        else:
            value = op.value.value.data
            if isinstance(elem, UniformQuantizedType):
                fill = str(quantize_scalar(value, elem))
            elif isinstance(elem, IntegerType):
                fill = str(int(value))
            else:
                fill = c_float(value)
            spec |= {
                "kind": "pad",
                "mode": op.mode.data,
                "low": list(op.low.get_values()),
                "src_strides": in_strides,
                "fill": fill,
            }
        self.render("movement.c.j2", spec, [self.plan.expr(x), self.plan.expr(y)])

    def concat(self, op: qnn.ConcatOp) -> None:
        axis = op.axis.value.data
        out_shape = shape_of(op.result)
        out_elem = element_type(op.result.type)
        outer = math.prod(out_shape[:axis])
        inner = math.prod(out_shape[axis + 1 :])
        parts, args, offset = [], [], 0
        quantized = isinstance(out_elem, UniformQuantizedType)
        for value in op.inputs:
            elem = element_type(value.type)
            slab = shape_of(value)[axis] * inner
            part = {"offset": offset, "slab": slab, "ctype": ctype_of(elem), "requantize": False}
            if quantized and elem != out_elem:
                part |= {
                    "requantize": True,
                    "scale_in": c_float(elem.scale),
                    "zp_in": elem.zero_point,
                }
            parts.append(part)
            args.append(self.plan.expr(value))
            offset += slab
        spec = {
            "comment": op.name,
            "ctype": ctype_of(out_elem),
            "outer": outer,
            "out_slab": out_shape[axis] * inner,
            "parts": parts,
        }
        if quantized:
            spec |= {
                "scale_out": c_float(out_elem.scale),
                "zp_out": out_elem.zero_point,
                "qmin": out_elem.qmin,
                "qmax": out_elem.qmax,
            }
        self.render("concat.c.j2", spec, [*args, self.plan.expr(op.result)])


def conv_window(op: qnn.Conv2DOp) -> dict:
    """`window_geometry` of a conv, its kernel read from the weights, plus the weights'
    element strides `ws` in OCHW order whatever the layout."""
    ws = shape_of(op.operands[1])
    wst = strides_of(ws)
    if op.layout.data == "nchw":
        kernel = (ws[2], ws[3])
    else:
        kernel = (ws[1], ws[2])
        wst = [wst[0], wst[3], wst[1], wst[2]]
    x, y = op.operands[0], op.results[0]
    window = window_geometry(x, y, op.layout.data, kernel, op.strides, op.dilations, op.pads)
    return window | {"ws": wst}


def window_geometry(
    x: SSAValue, y: SSAValue, layout: str, kernel: tuple[int, int], strides, dilations, pads
) -> dict:
    """The sliding window of a conv or pool: batch N, channels C (in) and O (out), sizes, kernel,
    strides, dilations, top/left pads, and element strides of x and y in NCHW order whatever the
    layout."""
    xs, ys = shape_of(x), shape_of(y)
    xst, yst = strides_of(xs), strides_of(ys)
    if layout == "nchw":
        (n, c, h, w), (_, o, oh, ow) = xs, ys
    else:
        (n, h, w, c), (_, oh, ow, o) = xs, ys
        xst, yst = ([st[0], st[3], st[1], st[2]] for st in (xst, yst))
    (sh, sw), (dh, dw) = strides.get_values(), dilations.get_values()
    pt, pl, _, _ = pads.get_values()
    return {
        "N": n,
        "C": c,
        "O": o,
        "H": h,
        "W": w,
        "OH": oh,
        "OW": ow,
        "KH": kernel[0],
        "KW": kernel[1],
        "SH": sh,
        "SW": sw,
        "DH": dh,
        "DW": dw,
        "PT": pt,
        "PL": pl,
        "xs": xst,
        "ys": yst,
    }


def fixed_point_constants(mode: str, sx: float, weight_scales, sy: float) -> dict:
    """Per-channel (multiplier, shift) of the fixed-point requantization modes.

    The real multiplier is taken in double from the float32 scales, as TFLite does.
    """
    if mode == "float":
        return {"fixed_m": [0], "fixed_shift": [0]}
    reals = [float(f32(sx)) * float(f32(s)) / float(f32(sy)) for s in weight_scales]
    pairs = [
        quantize_multiplier(r) if mode == "tflite" else tosa_multiplier_shift(r) for r in reals
    ]
    return {"fixed_m": [p[0] for p in pairs], "fixed_shift": [p[1] for p in pairs]}


def _elementwise_base(op: Operation, x: SSAValue, y: SSAValue) -> dict:
    """The fields every elementwise kernel spec has; per-type parameters are filled in after."""
    return {
        "comment": op.name,
        "size": math.prod(shape_of(x)),
        "in_ctype": ctype_of(element_type(x.type)),
        "out_ctype": ctype_of(element_type(y.type)),
        "scale_in": ["1.0f"],
        "zp_in": [0],
        "inner_in": 1,
        "scale_out": ["1.0f"],
        "zp_out": [0],
        "inner_out": 1,
        "qmin": 0,
        "qmax": 0,
    }


def clamp_bounds(lo: float, hi: float, qtype: UniformQuantizedType) -> tuple[list[int], list[int]]:
    """Per-channel stored bounds of a real clamp (its ends quantized, DESIGN §2)."""
    scales = qtype.scales
    pairs = [
        tuple(quantize_value(v, s, z, qtype.qmin, qtype.qmax) for v in (lo, hi))
        for s, z in zip(scales, qtype.zero_points, strict=True)
    ]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def quantize_scalar(value: float, qtype: UniformQuantizedType) -> int:
    """`quantize` of one real into a per-tensor type (DESIGN §2, default rounding)."""
    return quantize_value(value, qtype.scale, qtype.zero_point, qtype.qmin, qtype.qmax)


def qlinear_add_constants(ta, tb, ty, offsets) -> dict:
    """ONNX Runtime's QLinearAdd constants: ra, rb and k, decided here, as C literals."""
    sa, sb, sy = f32(ta.scale), f32(tb.scale), f32(ty.scale)
    za, zb, zy = (f32(t.zero_point + o) for t, o in zip((ta, tb, ty), offsets, strict=True))
    ra, rb = f32(sa / sy), f32(sb / sy)
    k = f32(zy - fmaf(ra, za, f32(rb * zb)))
    return {
        "quantized": True,
        "ra": c_float(ra),
        "rb": c_float(rb),
        "k": c_float(k),
        "off_a": offsets[0],
        "off_b": offsets[1],
        "off_y": offsets[2],
        "qmin": ty.qmin + offsets[2],
        "qmax": ty.qmax + offsets[2],
    }


def emit_function(function: func.FuncOp) -> EmittedFunction:
    return FunctionEmitter(function).emit()
