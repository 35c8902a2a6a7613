"""Range → type conversion for the scaled builders (nGraph's min/max builders).

A scaled builder records a real range and a `scheme`; its values have `!quant.any<s:e>`
elements. `range_type` turns (range, scheme, any-type) into the `!quant.uniform` type the
fold rewrite and the reference interpreter both use, so they cannot disagree.
"""

from __future__ import annotations

from qdialect.params import INT32_MAX, INT32_MIN, Scheme, Storage, choose_qparams, f32
from qdialect.types import AnyQuantizedType, UniformQuantizedType


def range_type(
    pending: AnyQuantizedType,
    rmin: float,
    rmax: float,
    scheme: Scheme | str,
    reduce_range: bool = False,
) -> UniformQuantizedType:
    """`!quant.uniform` with pending's storage and the scale/zp `scheme` picks for the range."""
    qmin, qmax = pending.qmin, pending.qmax
    if reduce_range:
        qmin, qmax = qmin // 2, qmax // 2
    scale, zero_point = choose_qparams(rmin, rmax, Storage(qmin, qmax, pending.signed), scheme)
    return UniformQuantizedType.per_tensor(
        pending.storage_spelling,
        pending.expressed_type,
        scale,
        zero_point,
        qmin=pending.qmin,
        qmax=pending.qmax,
    )


def quantize_bias(values: list[float], input_scale: float, weight_scale: float) -> list[int]:
    """A float bias as the int32 the accumulator adds: `rint(b / fl(sx * sw))`, saturated."""
    scale = f32(f32(input_scale) * f32(weight_scale))
    return [min(max(round(f32(f32(b) / scale)), INT32_MIN), INT32_MAX) for b in values]
