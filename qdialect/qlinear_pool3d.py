"""ONNX Runtime's QLinearAveragePool over a 3-D window, in float ops that each round once as
its kernel does (the 2-D kernel's arithmetic, `qnn.avg_pool2d` on quantized data).

Each tap is `fl(sx · (x - zx))` (a dequantize); the in-image taps of a window are summed in
row-major (d, h, w) order from +0 and divided by their count, or, counting padding, by the whole
kernel (a ceil_mode window clipped to the image): `qnn.pool3d {loop}` with the last window's
reach added to the end padding. Then `v = fl(avg / sy)` and `y = clamp(rint(fl(v + zy)))`.
The ops end with the reals of y, `fl((y - zy) · sy)`, from which a quantize to y's type gives
y back (|y - zy| <= 255: the product and the division each round by less than half a step).
Used by the importer (a QDQ group or a QLinearAveragePool of rank 5) and by our quantizer
(`rewrites.qlinear_ceil_pools`), whose float model held the float pool.
"""

from __future__ import annotations

import numpy as np
from xdsl.dialects import arith
from xdsl.dialects.builtin import FloatAttr, StringAttr, TensorType, UnitAttr, f32, f64
from xdsl.ir import Operation, SSAValue

from qdialect import qnn
from qdialect.constants import packed_attr
from qdialect.float_sum import Window3D
from qdialect.qnn.common import int_array
from qdialect.qnn.float_math import FloatBinary
from qdialect.types import UniformQuantizedType


def qlinear_average_ops(
    reals: SSAValue,
    window: Window3D,
    out: tuple[int, int, int],
    include_pad: bool,
    y_type: UniformQuantizedType,
) -> list[Operation]:
    """The ops from the dequantized input `reals` [N, C, D, H, W] (`window`: the node's, its
    declared pads; `out`: the result's D, H, W) to the reals of the quantized result; the last
    op's result is them."""
    n, c, *image = reals.type.get_shape()  # type: ignore[attr-defined]
    reach = window.reach(tuple(image), out)
    ends = [end + extra for end, extra in zip(window.pads[3:], reach, strict=True)]
    properties = {
        "kind": StringAttr("avg"),
        "kernel": int_array(window.kernel),
        "strides": int_array(window.strides),
        "pads": int_array([*window.pads[:3], *ends]),
        "dilations": int_array(window.dilations),
        "loop": UnitAttr(),
    }
    if include_pad:
        properties["count_include_pad"] = UnitAttr()
    shape = TensorType(f32, [n, c, *out])
    pool = qnn.Pool3DOp.create(operands=[reals], result_types=[shape], properties=properties)
    sy, zy = _scalar(y_type.scale), _scalar(y_type.zero_point)
    v = qnn.FloatBinaryOp(FloatBinary.DIV, pool.results[0], sy.result, shape)
    shifted = qnn.AddOp(v.results[0], zy.result, shape)
    rounded = qnn.RoundOp(shifted.results[0], shape)
    bounds = {"min": FloatAttr(y_type.qmin, f64), "max": FloatAttr(y_type.qmax, f64)}
    stored = qnn.ClampOp(rounded.results[0], shape, **bounds)
    centred = qnn.FloatBinaryOp(FloatBinary.SUB, stored.results[0], zy.result, shape)
    result = qnn.MulOp(centred.results[0], sy.result, shape)
    return [pool, sy, zy, v, shifted, rounded, stored, centred, result]


def _scalar(value: float) -> arith.ConstantOp:
    data = np.asarray(value, np.float32)
    scalar_type = TensorType(f32, [])
    return arith.ConstantOp(packed_attr(data, scalar_type), scalar_type)
