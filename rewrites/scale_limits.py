"""Scale limits in the rewrites: the products and ratios of scales an op's kernel will compute.

`qdialect.arithmetic` computes the requantization multiplier, QLinearAdd's constants and the
pools' rescaling only from scales in `SCALE_RANGE` (2^-40 to 2^40) and raises
`ScaleRangeError` otherwise (and for a single scale with no float32 value at all, NaN or an
f64 scale beyond float32); the code generator and the reference interpreter report that
located at the op. The rewrites that build such ops (`fold-qdq`, `fold-scaled-builders`,
`lower-requant-fixed-point`) and `qnn-default` (for the ops it is given) call the same functions
here, in the order the executors do, so every path refuses a module with the same
`file:line:col: error: 'op': message`.
"""

from __future__ import annotations

from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Attribute, Operation

from qdialect import qnn, quant_ops
from qdialect.arithmetic import (
    ScaleRangeError,
    add_constants,
    average_pool_scales,
    fixed_point_multipliers,
    float32_scale,
    global_pool_scale,
    mul_multiplier,
    requant_multiplier,
)
from qdialect.qnn.common import raw_offsets
from qdialect.qnn.modes import Layout, RequantMode
from qdialect.tensors import element_type
from qdialect.textio import IRError, op_location
from qdialect.types import UniformQuantizedType

__all__ = ["ScaleRangeError", "check_module", "check_op", "check_requantization", "located"]


def _uniform(value_type: Attribute) -> UniformQuantizedType | None:
    elem = element_type(value_type)
    return elem if isinstance(elem, UniformQuantizedType) else None


def check_requantization(
    x_type: UniformQuantizedType,
    w_type: UniformQuantizedType,
    target: UniformQuantizedType,
    mode: RequantMode = RequantMode.FLOAT,
) -> None:
    """conv2d/dot's requantization into `target` (the result, or the fused add's intermediate):
    the float multipliers of every channel, then the fixed-point ones of `mode`."""
    for s in w_type.scales:
        requant_multiplier(x_type.scale, s, target.scale)
    if mode is not RequantMode.FLOAT:
        fixed_point_multipliers(mode.value, x_type.scale, w_type.scales, target.scale)


def _add(types, offsets) -> None:
    add_constants(*((t.scale, t.zero_point + o) for t, o in zip(types, offsets, strict=True)))


def _single_scales(op: Operation) -> list[Attribute]:
    """The types whose scales quantize / dequantize / requantize (and a concat's requantized
    inputs) compute with, in the order the executors take them."""
    if isinstance(op, qnn.QuantizeOp | quant_ops.QuantizeCastOp):
        return [op.result.type]
    if isinstance(op, qnn.DequantizeOp | quant_ops.DequantizeCastOp):
        return [op.input.type]
    if isinstance(op, qnn.RequantizeOp):
        return [op.input.type, op.result.type]
    if isinstance(op, qnn.ConcatOp) and _uniform(op.result.type) is not None:
        out = element_type(op.result.type)
        moved = [v.type for v in op.inputs if element_type(v.type) != out]
        return [t for source in moved for t in (source, op.result.type)]
    return []


def check_op(op: Operation) -> None:
    """Raise `ScaleRangeError` where executing `op` would: a product or ratio of scales out of
    range (quantized conv2d / dot with a quantized result, add, avg_pool2d), or a scale with no
    float32 value (quantize, dequantize, requantize, concat)."""
    for value_type in _single_scales(op):
        for s in getattr(_uniform(value_type), "scales", ()):
            float32_scale(s)
    if isinstance(op, qnn.Conv2DOp | qnn.DotOp):
        x_type, w_type, out = (_uniform(v.type) for v in (op.input, op.weight, op.result))
        if x_type is None or w_type is None or out is None:
            return
        intermediate = op.intermediate if op.addend is not None else None
        target = intermediate if isinstance(intermediate, UniformQuantizedType) else out
        check_requantization(x_type, w_type, target, op.requant_mode_kind)
        addend = _uniform(op.addend.type) if op.addend is not None else None
        if addend is not None and target is not out:
            _add((target, addend, out), raw_offsets(op.raw_offsets, 3))
    elif isinstance(op, qnn.AddOp):
        types = [_uniform(v.type) for v in (op.lhs, op.rhs, op.result)]
        if all(t is not None for t in types):
            _add(types, raw_offsets(op.raw_offsets, 3))
    elif isinstance(op, qnn.MulOp):  # QLinearMul's multiplier fl(fl(sa*sb)/sy)
        types = [_uniform(v.type) for v in (op.lhs, op.rhs, op.result)]
        if all(t is not None for t in types):
            mul_multiplier(*(t.scale for t in types))  # type: ignore[union-attr]
    elif isinstance(op, qnn.AvgPool2DOp):
        x_type, y_type = _uniform(op.input.type), _uniform(op.result.type)
        if x_type is None or y_type is None:
            return
        shape = op.input.type.get_shape()  # type: ignore[union-attr]
        image = shape[1:3] if op.layout_kind is Layout.NHWC else shape[2:4]
        kernel = tuple(op.kernel.get_values())
        if kernel == tuple(image) and tuple(op.pads.get_values()) == (0, 0, 0, 0):
            global_pool_scale(x_type.scale, y_type.scale, kernel[0] * kernel[1])
        else:
            average_pool_scales(x_type.scale, y_type.scale)


def located(op: Operation, err: ScaleRangeError, name: str | None = None) -> IRError:
    """The error at `op`'s location, worded as the code generator and the interpreter word it:
    `'qnn.conv2d': message` (`name`: the op the user wrote, when `op` replaces it)."""
    file, line, column = op_location(op)
    return IRError(file, line, column, f"'{name or op.name}': {err}")


def check_module(module: ModuleOp) -> None:
    """`check_op` on every op, in order; the first refusal as a located `IRError`."""
    for op in module.walk():
        try:
            check_op(op)
        except ScaleRangeError as err:
            raise located(op, err) from None
