"""qnn.dynamic_quantize and qnn.runtime_quantize (one quantize loop: _quantize_runtime.c.j2),
qnn.runtime_dequantize,
and qnn.dynamic_dot / qnn.dynamic_conv2d on the exact 8-bit kernels.

A dynamic dot or conv is the integer kernel of `families.integer` (gemm.c.j2 / depthwise.c.j2,
weights packed at load) run with input zero point 0, its raw int32 sums `Σ x (w - zw)` written
into the float result buffer, then an in-place epilogue (dynamic.c.j2) that removes the run-time
zero point, `acc = raw - za · Σ_k (w - zw[c])`, and applies `fl(fl(float32(acc) * fl(sa * sw[c]))
+ bias[c])`. Both steps are exact in int32 while K · 255 · 255 < 2^31 (K ≤ 33025), which
`packing.exact_in_int16_pairs` checks for the raw sums; the correction wraps modulo 2^32 to the
exact accumulator, which fits int32 under the same bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from codegen.c_text import INT8_RANGES, CodegenError, ctype_of
from codegen.families.epilogue import EpilogueSpec
from codegen.families.integer import integer_kernel
from codegen.geometry import conv_window
from codegen.kernel import EmitContext, Kernel
from codegen.packing import gemm_weights
from codegen.plan import shape_of
from qdialect import qnn
from qdialect.storage import integer_signature, storage_bounds
from qdialect.tensors import element_type


@dataclass(frozen=True)
class DynamicQuantizeSpec:
    comment: str
    count: int


@dataclass(frozen=True)
class RuntimeQuantizeSpec:
    comment: str
    count: int
    ctype: str  # the zero point's and the result's
    qmin: int
    qmax: int


@dataclass(frozen=True)
class DynamicEpilogue:
    """The float epilogue over the result viewed as [outer][channels][inner]."""

    comment: str
    inner_template: str
    inner_spec: object
    inner_args: int
    outer: int
    channels: int
    inner: int
    col_sums: tuple[int, ...]  # Σ_k (w - zw[c]) per output channel, or per pixel and channel
    pixels: int  # 1, or the output pixels col_sums runs over (padded convs)
    w_scales: tuple[float, ...]  # one, or one per output channel
    has_bias: bool


class RawAccumulator:
    """The dynamic op as the integer dot / conv the fast kernels compute: input zero point 0,
    no bias, raw int32 result (written into the op's float result buffer)."""

    bias = None
    addend = None

    def __init__(self, op: qnn.DynamicDotOp | qnn.DynamicConv2DOp) -> None:
        self._op = op

    def __getattr__(self, name: str):
        return getattr(self._op, name)


def dynamic_quantize(op: qnn.DynamicQuantizeOp, ctx: EmitContext) -> Kernel:
    plan = ctx.plan
    ctx.scratch(0)  # the SIMD part of the prelude
    args = [plan.expr(v) for v in (op.input, op.data, op.scale, op.zero_point)]
    spec = DynamicQuantizeSpec(op.name, math.prod(shape_of(op.input)))
    return Kernel("dynamic_quantize.c.j2", spec, args)


def runtime_quantize(op: qnn.RuntimeQuantizeOp, ctx: EmitContext) -> Kernel:
    elem = element_type(op.result.type)
    ctype = ctype_of(elem)
    if ctype in INT8_RANGES:
        ctx.scratch(0)  # the SIMD part of the prelude
    qmin, qmax = storage_bounds(*integer_signature(elem))
    spec = RuntimeQuantizeSpec(op.name, math.prod(shape_of(op.input)), ctype, qmin, qmax)
    args = [ctx.plan.expr(v) for v in (op.input, op.scale, op.zero_point, op.result)]
    return Kernel("runtime_quantize.c.j2", spec, args)


@dataclass(frozen=True)
class RuntimeDequantizeSpec:
    comment: str
    count: int
    ctype: str  # the input's and the zero point's


def runtime_dequantize(op: qnn.RuntimeDequantizeOp, ctx: EmitContext) -> Kernel:
    ctype = ctype_of(element_type(op.input.type))
    spec = RuntimeDequantizeSpec(op.name, math.prod(shape_of(op.input)), ctype)
    args = [ctx.plan.expr(v) for v in (op.input, op.scale, op.zero_point, op.result)]
    return Kernel("runtime_dequantize.c.j2", spec, args)


def _raw_epilogue(op, wq) -> EpilogueSpec:
    return EpilogueSpec(
        f"{op.name} (raw sums, input zero point applied after)",
        quantized=True,
        requantized=False,
        x_ctype="uint8_t",
        w_ctype=ctype_of(wq),
        y_ctype="int32_t",
        has_bias=False,
        has_addend=False,
        bias_ctype="int32_t",
        addend_ctype="int32_t",
        activation="none",
        x_zp=0,
        w_zp=tuple(wq.zero_points),
    )


def _layout_of(op, result_shape: tuple[int, ...]) -> tuple[int, int, int, str]:
    """(outer, channels, inner) of the result, and the weights' layout for `gemm_weights`."""
    if isinstance(op, qnn.DynamicDotOp):
        channels = result_shape[-1]
        return math.prod(result_shape[:-1]), channels, 1, "dot"
    if op.layout_kind.value == "nchw":
        n, c, h, w = result_shape
        return n, c, h * w, "nchw"
    n, h, w, c = result_shape
    return n * h * w, c, 1, "nhwc"


def in_image_sums(op: qnn.DynamicConv2DOp, weights: np.ndarray, w_zp) -> np.ndarray:
    """`Σ (w - zw[c])` over the taps of each output pixel that fall inside the image, shape
    (OH·OW, O): the padded taps hold raw 0 in the integer kernel, so they must not be
    corrected for the run-time zero point (they are real 0 already)."""
    window = conv_window(RawAccumulator(op)).window  # type: ignore[arg-type]
    w = weights.astype(np.int64)
    if op.layout_kind.value == "nhwc":
        w = w.transpose(0, 3, 1, 2)
    zero = np.asarray(w_zp, dtype=np.int64).reshape(-1, 1, 1, 1) if len(w_zp) > 1 else w_zp[0]
    tap_sums = (w - zero).sum(axis=1)  # (O, KH, KW)
    oh = np.arange(window.OH)[:, None] * window.SH
    ow = np.arange(window.OW)[None, :] * window.SW
    sums = np.zeros((window.OH * window.OW, window.O), dtype=np.int64)
    for r in range(window.KH):
        for s in range(window.KW):
            h, v = oh + r * window.DH - window.PT, ow + s * window.DW - window.PL
            inside = ((h >= 0) & (h < window.H) & (v >= 0) & (v < window.W)).ravel()
            sums += inside[:, None] * tap_sums[None, :, r, s]
    return sums


def dynamic_compute(op: qnn.DynamicDotOp | qnn.DynamicConv2DOp, ctx: EmitContext) -> Kernel:
    wq = element_type(op.weight.type)
    weights = ctx.plan.constant_data(op.weight)
    if weights is None:
        raise CodegenError("the weight of a dynamic dot / conv must be a constant")
    view = RawAccumulator(op)
    inner = integer_kernel(view, _raw_epilogue(op, wq), ctx)
    if inner is None:
        raise CodegenError("the reduction is too long for exact int32 sums (K > 33025)")
    outer, channels, inner_size, layout = _layout_of(op, shape_of(op.result))
    groups = op.groups.value.data if isinstance(op, qnn.DynamicConv2DOp) else 1
    mats = gemm_weights(weights, list(wq.zero_points), layout, groups)  # (G, K, O / G)
    col_sums = np.concatenate([m.sum(axis=0) for m in mats])
    pixels = 1
    if isinstance(op, qnn.DynamicConv2DOp) and any(op.pads.get_values()):
        col_sums = in_image_sums(op, weights, wq.zero_points)
        pixels = col_sums.shape[0]
    spec = DynamicEpilogue(
        op.name,
        inner.template,
        inner.spec,
        len(inner.args),
        outer,
        channels,
        inner_size,
        tuple(int(v) for v in col_sums.ravel()),
        pixels,
        tuple(float(s) for s in wq.scales),
        op.bias is not None,
    )
    plan = ctx.plan
    extra = [
        plan.expr(op.input_scale),
        plan.expr(op.input_zero_point),
        plan.expr(op.bias) if op.bias is not None else "(const float *)0",
        plan.expr(op.result),
    ]
    return Kernel("dynamic.c.j2", spec, [f"(void *){a}" for a in inner.args] + extra)
