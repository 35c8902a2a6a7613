"""Range → type conversion for the scaled builders (nGraph's min/max builders).

A scaled builder records a real range and a `scheme`; its values have `!quant.any<s:e>`
elements. `range_type` turns (range, scheme, any-type) into the `!quant.uniform` type the
fold rewrite and the reference interpreter both use, so they cannot disagree.
"""

from __future__ import annotations

from qdialect.params import Scheme, Storage, choose_qparams
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
        pending.storage_type,
        pending.expressed_type,
        scale,
        zero_point,
        qmin=pending.qmin,
        qmax=pending.qmax,
    )
