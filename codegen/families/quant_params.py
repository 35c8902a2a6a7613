"""A quantized type's parameters as the elementwise kernels index them."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from codegen.c_text import CodegenError
from qdialect.arithmetic import ScaleRangeError
from qdialect.types import Granularity, UniformQuantizedType


@dataclass(frozen=True)
class QuantParams:
    """Scales and zero points, one per tensor or per channel, and the number of consecutive
    elements (`inner`) that share a channel."""

    scales: tuple[float, ...] = (1.0,)
    zero_points: tuple[int, ...] = (0,)
    inner: int = 1


@contextmanager
def scale_limits() -> Iterator[None]:
    """A product or ratio of scales out of `qdialect.arithmetic.SCALE_RANGE`, or a scale with
    no float32 value (`ScaleRangeError`), is the family's refusal (a `CodegenError` `emit_op`
    locates at the op), with the message the rewrites and the reference interpreter give."""
    try:
        yield
    except ScaleRangeError as err:
        raise CodegenError(str(err)) from None


def quant_params(qtype: UniformQuantizedType, shape: tuple[int, ...]) -> QuantParams:
    """Per-tensor or per-axis parameters of `qtype` over a tensor of `shape`."""
    if qtype.granularity is Granularity.PER_AXIS:
        inner = math.prod(shape[qtype.axis + 1 :])
        return QuantParams(tuple(qtype.scales), tuple(qtype.zero_points), inner)
    if qtype.granularity is Granularity.SUB_CHANNEL:
        raise CodegenError("sub-channel quantization is not compiled")
    return QuantParams((qtype.scale,), (qtype.zero_point,), 1)
