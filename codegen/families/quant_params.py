"""A quantized type's parameters as the elementwise kernels index them."""

from __future__ import annotations

import math
from dataclasses import dataclass

from codegen.c_text import CodegenError
from qdialect.types import Granularity, UniformQuantizedType


@dataclass(frozen=True)
class QuantParams:
    """Scales and zero points, one per tensor or per channel, and the number of consecutive
    elements (`inner`) that share a channel."""

    scales: tuple[float, ...] = (1.0,)
    zero_points: tuple[int, ...] = (0,)
    inner: int = 1


def quant_params(qtype: UniformQuantizedType, shape: tuple[int, ...]) -> QuantParams:
    """Per-tensor or per-axis parameters of `qtype` over a tensor of `shape`."""
    if qtype.granularity is Granularity.PER_AXIS:
        inner = math.prod(shape[qtype.axis + 1 :])
        return QuantParams(tuple(qtype.scales), tuple(qtype.zero_points), inner)
    if qtype.granularity is Granularity.SUB_CHANNEL:
        raise CodegenError("sub-channel quantization is not compiled")
    return QuantParams((qtype.scale,), (qtype.zero_point,), 1)
