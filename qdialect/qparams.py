"""Choosing scale and zero point from real ranges (DESIGN §2, scaled builders).

`choose_qparams` turns a real range into (scale, zero point) by a named `Scheme`, computed in
float32 the way the frameworks do; `FRAMEWORK_SCHEMES` is the seed's per-framework table
(seeds/002), reproducible by name. `range_type` builds the `!quant.uniform` type of a scaled
builder's recorded range, so the fold rewrite and the reference interpreter cannot disagree;
`quantize_bias` gives a float bias as the int32 the accumulator adds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

from qdialect.arithmetic import ScaleRangeError, bias_scale, check_scales, quantize_value
from qdialect.float32 import f32, round_half_even
from qdialect.storage import INT32_MAX, INT32_MIN, storage_bounds
from qdialect.types import AnyQuantizedType, UniformQuantizedType


class Scheme(Enum):
    """How a real range [min, max] becomes (scale, zero point). See `choose_qparams`."""

    ASYMMETRIC = "asymmetric"
    SYMMETRIC = "symmetric"
    SYMMETRIC_PYTORCH = "symmetric_pytorch"
    SYMMETRIC_UINT8 = "symmetric_uint8"
    SYMMETRIC_POWER2 = "symmetric_power2"
    NGRAPH_SCALED = "ngraph_scaled"


@dataclass(frozen=True)
class Storage:
    """An integer storage range, e.g. `Storage.parse("i8")` = [-128, 127], signed."""

    qmin: int
    qmax: int
    signed: bool

    @staticmethod
    def parse(spelling: str, reduce_range: bool = False) -> Storage:
        """`i8`/`si8`, `u8`/`ui8`, any width 1..32. reduce_range drops one bit (PyTorch)."""
        signed = not spelling.startswith("u")
        width = int(spelling.lstrip("sui"))
        qmin, qmax = storage_bounds(width, signed)
        if reduce_range:
            qmin, qmax = qmin // 2, qmax // 2
        return Storage(qmin, qmax, signed)


def _widen(rmin: float, rmax: float) -> tuple[float, float]:
    """The range grown to contain 0, so that real 0 is exactly representable."""
    if not (math.isfinite(rmin) and math.isfinite(rmax)) or rmin > rmax:
        raise ValueError(f"invalid range [{rmin}, {rmax}]")
    return min(rmin, 0.0), max(rmax, 0.0)


def _nonzero(scale: float) -> float:
    """A range of width 0 (all zeros) gets scale 1.0, as PyTorch and ONNX Runtime do; a scale
    that overflows float32 raises `ScaleRangeError` (`choose_qparams` names the range)."""
    if scale == math.inf:
        raise ScaleRangeError("overflow")
    return scale if scale > 0.0 else 1.0


def choose_qparams(
    rmin: float,
    rmax: float,
    storage: str | Storage = "i8",
    scheme: Scheme | str = Scheme.ASYMMETRIC,
    reduce_range: bool = False,
) -> tuple[float, int]:
    """(scale, zero point) for reals in [rmin, rmax], computed in float32 like the frameworks.

    - asymmetric: `scale = (max - min) / (qmax - qmin)`, `zp = qmin - rint(min / scale)`.
    - symmetric (ONNX Runtime, TensorFlow, MXNet): signed `scale = 2·max|r| / (qmax - qmin - 1)`
      (/127 for int8), zp 0; unsigned storage is one-sided: `scale = max / (qmax - qmin)`, zp 0.
    - symmetric_pytorch: `scale = max|r| / ((qmax - qmin) / 2)` (/127.5); zp 0, or the middle
      of an unsigned range (128 for uint8).
    - symmetric_uint8 (Glow): unsigned storage centered at zp 128, `scale = 2·max|r| / 255`;
      a range without negatives uses the whole storage from zp 0; signed storage is symmetric.
    - symmetric_power2 (Glow): the symmetric scale rounded up to a power of two, zp 0.
    - ngraph_scaled (nGraph's builders): `scale = max|r| / qmax`, zp 0.

    A range so wide that its scale overflows float32 raises `ScaleRangeError`.
    """
    scheme = Scheme(scheme)
    st = storage if isinstance(storage, Storage) else Storage.parse(storage, reduce_range)
    lo, hi = _widen(f32(rmin), f32(rmax))
    try:
        return _choose(scheme, st, lo, hi)
    except ScaleRangeError:
        raise ScaleRangeError(
            f"the {scheme.value} scale of the range [{rmin:.6g}, {rmax:.6g}] on "
            f"[{st.qmin}, {st.qmax}] overflows float32"
        ) from None


def _choose(scheme: Scheme, st: Storage, lo: float, hi: float) -> tuple[float, int]:
    absmax = max(-lo, hi)
    span = st.qmax - st.qmin
    if scheme is Scheme.ASYMMETRIC:
        scale = _nonzero(f32(f32(hi - lo) / span))
        zero = st.qmin - round_half_even(f32(lo / scale))
        return scale, min(max(zero, st.qmin), st.qmax)
    if scheme is Scheme.SYMMETRIC:
        if not st.signed:
            return _nonzero(f32(hi / span)), st.qmin
        return _nonzero(f32(f32(2.0 * absmax) / (span - 1))), 0
    if scheme is Scheme.SYMMETRIC_PYTORCH:
        zero = 0 if st.signed else (st.qmin + st.qmax + 1) // 2
        return _nonzero(f32(absmax / f32(span / 2.0))), zero
    if scheme is Scheme.SYMMETRIC_UINT8:
        if st.signed:  # Glow's schema: signed values stay plain symmetric
            return _nonzero(f32(f32(2.0 * absmax) / (span - 1))), 0
        if lo >= 0.0:
            return _nonzero(f32(hi / span)), st.qmin
        return _nonzero(f32(f32(2.0 * absmax) / span)), (st.qmin + st.qmax + 1) // 2
    if scheme is Scheme.SYMMETRIC_POWER2:
        scale = _nonzero(f32(f32(2.0 * absmax) / (span - 1)))
        return 2.0 ** math.ceil(math.log2(scale)), 0
    return _nonzero(f32(absmax / st.qmax)), 0


def choose_qparams_per_channel(
    mins: list[float],
    maxs: list[float],
    storage: str | Storage = "i8",
    scheme: Scheme | str = Scheme.SYMMETRIC,
    reduce_range: bool = False,
) -> tuple[list[float], list[int]]:
    """`choose_qparams` for each channel's range."""
    pairs = [
        choose_qparams(lo, hi, storage, scheme, reduce_range)
        for lo, hi in zip(mins, maxs, strict=True)
    ]
    return [s for s, _ in pairs], [z for _, z in pairs]


# Intel Neural Compressor's per-framework table (seeds/002): (framework, dtype) -> scheme.
FRAMEWORK_SCHEMES: dict[tuple[str, str], tuple[Scheme, str]] = {
    ("tensorflow", "int8"): (Scheme.SYMMETRIC, "i8"),
    ("tensorflow", "uint8"): (Scheme.SYMMETRIC, "u8"),
    ("pytorch", "int8"): (Scheme.SYMMETRIC_PYTORCH, "i8"),
    ("pytorch", "uint8"): (Scheme.SYMMETRIC_PYTORCH, "u8"),
    ("pytorch_asymmetric", "uint8"): (Scheme.ASYMMETRIC, "u8"),
    ("ipex", "int8"): (Scheme.SYMMETRIC, "i8"),
    ("ipex", "uint8"): (Scheme.SYMMETRIC, "u8"),
    ("mxnet", "int8"): (Scheme.SYMMETRIC, "i8"),
    ("mxnet", "uint8"): (Scheme.SYMMETRIC, "u8"),
    ("onnxruntime", "int8"): (Scheme.SYMMETRIC, "i8"),
    ("onnxruntime", "uint8"): (Scheme.ASYMMETRIC, "u8"),
}


def framework_qparams(framework: str, dtype: str, rmin: float, rmax: float) -> tuple[float, int]:
    """(scale, zp) the way `framework` quantizes `dtype` ("int8"/"uint8")."""
    scheme, storage = FRAMEWORK_SCHEMES[(framework, dtype)]
    return choose_qparams(rmin, rmax, storage, scheme)


def symmetric_scale(scale: float, zero_point: int, qmin: int, qmax: int) -> float:
    """Scale of the zero-point-0 type covering the reals a (scale, zp) type represents; a
    scale outside `arithmetic.SCALE_RANGE` raises `arithmetic.ScaleRangeError`."""
    check_scales(
        f"symmetric scale of {scale:.6g}:{zero_point} on [{qmin}, {qmax}]",
        (("scale s", float(scale)),),
    )
    absmax = max(abs(scale * (qmin - zero_point)), abs(scale * (qmax - zero_point)))
    return choose_qparams(-absmax, absmax, Storage(qmin, qmax, True), Scheme.SYMMETRIC)[0]


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
    """A float bias as the int32 the accumulator adds: `rint(b / fl(sx * sw))`, saturated
    (DESIGN §2's quantize with zero point 0 into int32: ±inf saturate, NaN gives INT32_MIN).
    Scales outside `arithmetic.SCALE_RANGE` raise `arithmetic.ScaleRangeError`."""
    scale = bias_scale(input_scale, weight_scale)
    return [quantize_value(b, scale, 0, INT32_MIN, INT32_MAX) for b in values]
