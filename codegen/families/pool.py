"""pool.c.j2: max pool on stored values, average pool as ONNX Runtime's
QLinear(Global)AveragePool (DESIGN §2), float pools reduced as MLAS reduces them
(qdialect/float_sum.py)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codegen import threads
from codegen.c_text import INT8_RANGES, ctype_of
from codegen.families.quant_params import scale_limits
from codegen.geometry import window_geometry
from codegen.kernel import EmitContext, Kernel
from codegen.spec import SpecView
from qdialect import qnn
from qdialect.arithmetic import average_pool_scales, global_pool_scale
from qdialect.float_sum import pool_kernel
from qdialect.tensors import element_type
from qdialect.types import UniformQuantizedType


@dataclass(frozen=True)
class PoolSpec:
    comment: str
    kind: str  # max, global (quantized, the whole image) or avg
    x_ctype: str
    y_ctype: str
    quantized: bool
    lowest: int = 0  # max, integers: the identity of max in the stored type
    N_taps: int = 0  # global: window size, the int32 sum's multiplier and zero points
    global_scale: float = 0.0
    zx: int = 0
    zy: int = 0
    qmin: int = 0
    qmax: int = 0
    fixed_count: int = 0  # avg: kh*kw with count_include_pad, else 0 (count the taps)
    sx: float = 0.0  # avg, quantized: scales and the raw (u8-to-i8 offset) output bounds
    sy: float = 0.0
    zy_raw: float = 0.0
    qmin_raw: int = 0
    qmax_raw: int = 0
    off_y: int = 0
    max_rows: bool = False  # max: the vertical max of a row of 8-bit stored values in AVX2
    max_channels: bool = False  # max: NHWC, the max of each tap's channel vectors in AVX2
    parallel: bool = False  # the (n, c, output row) loop over the threads
    mlas_kernel: str = "rows"  # float: the MLAS kernel to reproduce (float_sum.PoolKernel)
    PR: int = 0  # float, columns: the right padding (the window may reach past it)


MAX_ROW = 4096  # the row buffer of max_rows, on the stack


def _mlas_kernel(window, pads: tuple[int, ...], row_major: bool = False) -> dict:
    """A float pool: which MLAS kernel ONNX Runtime runs for it (`row_major`: its opset-19
    AveragePool loop), and the right padding."""
    strides, dilations = (window.SH, window.SW), (window.DH, window.DW)
    kernel, image = (window.KH, window.KW), (window.H, window.W)
    order = pool_kernel(kernel, image, strides, dilations, pads, row_major)
    return {"mlas_kernel": order.value, "PR": pads[3]}


def _average(op, elem_x, elem_y, window, quantized: bool) -> dict:
    kh, kw = window.KH, window.KW
    pads = tuple(op.pads.get_values())
    if quantized and (kh, kw) == (window.H, window.W) and pads == (0, 0, 0, 0):
        with scale_limits():
            global_scale = global_pool_scale(elem_x.scale, elem_y.scale, kh * kw)
        return {
            "kind": "global",
            "N_taps": kh * kw,
            "zx": elem_x.zero_point,
            "zy": elem_y.zero_point,
            "global_scale": global_scale,
            "qmin": elem_y.qmin,
            "qmax": elem_y.qmax,
        }
    include_pad = op.count_include_pad.value.data != 0
    fields = {"kind": "avg", "fixed_count": kh * kw if include_pad else 0}
    if not quantized:
        fields |= _mlas_kernel(window, pads, op.row_major is not None)
    if quantized:
        off = tuple(op.raw_offsets.get_values())[1] if op.raw_offsets else 0
        with scale_limits():
            sx, sy = average_pool_scales(elem_x.scale, elem_y.scale)
        fields |= {
            "sx": sx,
            "zx": elem_x.zero_point,
            "sy": sy,
            "zy_raw": float(elem_y.zero_point + off),
            "qmin_raw": elem_y.qmin + off,
            "qmax_raw": elem_y.qmax + off,
            "off_y": off,
        }
    return fields


def _max_rows(window, x_ctype: str) -> bool:
    """Rows of the image contiguous in memory (NCHW), 8-bit values, a row fitting the buffer:
    the max over the window's rows is then a vertical max of whole rows, 32 lanes at a time
    (max is exact and order-free, so this is the scalar loop's result)."""
    return x_ctype in INT8_RANGES and window.xs[3] == 1 and window.W <= MAX_ROW


def _max_channels(window, x_ctype: str) -> bool:
    """Channels contiguous in input and result (NHWC), 8-bit values: each output pixel is the
    elementwise max of its in-image taps' channel vectors, 32 lanes at a time."""
    return x_ctype in INT8_RANGES and window.xs[1] == 1 and window.ys[1] == 1


def pool(op: qnn.MaxPool2DOp | qnn.AvgPool2DOp, ctx: EmitContext) -> Kernel:
    x, y = op.input, op.result
    kernel = tuple(op.kernel.get_values())
    elem_x, elem_y = element_type(x.type), element_type(y.type)
    layout = op.layout_kind
    window = window_geometry(x, y, layout, kernel, op.strides, op.dilations, op.pads)
    x_ctype = ctype_of(elem_x)
    quantized = isinstance(elem_y, UniformQuantizedType)
    if isinstance(op, qnn.MaxPool2DOp):
        if x_ctype == "float":
            fields = {"kind": "max"} | _mlas_kernel(window, tuple(op.pads.get_values()))
        else:
            channels = _max_channels(window, x_ctype)
            fields = {
                "kind": "max",
                "lowest": int(np.iinfo(x_ctype[:-2]).min),
                "max_channels": channels,
                "max_rows": not channels and _max_rows(window, x_ctype),
            }
    else:
        fields = _average(op, elem_x, elem_y, window, quantized)
    taps = window.N * window.C * window.OH * window.OW * window.KH * window.KW
    fields["parallel"] = taps >= threads.PARALLEL_ELEMENTS
    spec = PoolSpec(
        op.name, x_ctype=x_ctype, y_ctype=ctype_of(elem_y), quantized=quantized, **fields
    )
    return Kernel("pool.c.j2", SpecView(window, spec), [ctx.plan.expr(x), ctx.plan.expr(y)])
