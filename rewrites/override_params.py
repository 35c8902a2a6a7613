"""`TensorQuantOverrides` applied: the parameters ONNX Runtime's quantizers compute for a tensor
that has overrides (`qdialect.tensor_overrides` reads them).

An activation (`calc_quant_params`): the overridden type; given scale and zero point as they
are; else the range with `rmin`/`rmax` replaced and `symmetric` replaced.

An initializer: QDQ's `_calc_initializer_quant_params` and QOperator's
`quantize_initializer_impl` / `quantize_weight_per_channel_impl`, which differ in two places
this module keeps apart: per channel, QDQ takes the axis from the overrides and gives channel
i the i-th dict (none past the list's end), QOperator keeps its op's axis (another one is an
error) and gives every channel the first dict when the list has one.
"""

from __future__ import annotations

import numpy as np

from qdialect.ort_qparams import QParams, QType, activation_qparams, data_qparams, qrange
from qdialect.tensor_overrides import OverrideError, TensorOverride, TensorOverrides


def given_params(ov: TensorOverride, qtype: QType, name: str) -> tuple[int, np.float32]:
    """Scale and zero point as given, the zero point checked against the storage type."""
    assert ov.scale is not None and ov.zero_point is not None
    low, high = qrange(qtype)
    if not low <= ov.zero_point <= high:
        raise OverrideError(
            f"TensorQuantOverrides for '{name}': zero_point {ov.zero_point} is outside "
            f"{qtype.name} [{low}, {high}]"
        )
    return ov.zero_point, np.float32(ov.scale)


def per_tensor_given(ov: TensorOverride, qtype: QType, name: str) -> QParams:
    """The parameters a per-tensor override gives (nothing computed)."""
    zp, scale = given_params(ov, qtype, name)
    return QParams(np.array(zp, np.int64), np.array(scale, np.float32), qtype)


def activation_params(
    ov: TensorOverride,
    name: str,
    lo: np.float32,
    hi: np.float32,
    qtype: QType,
    symmetric: bool,
    min_real_range: float | None,
    restricted_asymmetric: bool,
) -> QParams:
    """`calc_quant_params` with the tensor's per-tensor overrides."""
    qtype = ov.quant_type or qtype
    if ov.given:
        return per_tensor_given(ov, qtype, name)
    lo = lo if ov.rmin is None else ov.rmin
    hi = hi if ov.rmax is None else ov.rmax
    symmetric = symmetric if ov.symmetric is None else ov.symmetric
    return activation_qparams(lo, hi, qtype, symmetric, min_real_range, restricted_asymmetric)


def constant_params(
    overrides: TensorOverrides,
    name: str,
    data: np.ndarray,
    qtype: QType,
    symmetric: bool,
    reduce_range: bool,
    axis: int | None,
    min_real_range: float | None,
    qdq: bool,
) -> QParams:
    """An initializer's parameters: per tensor where `axis` is None, else per channel; the
    type, symmetry and reduced range are the defaults the quantizer would use, which the
    overrides replace."""
    if axis is None:
        ov = overrides.per_tensor(name)
        qtype = ov.quant_type or qtype
        if ov.given:
            return per_tensor_given(ov, qtype, name)
        symmetric = symmetric if ov.symmetric is None else ov.symmetric
        reduce_range = reduce_range if ov.reduce_range is None else ov.reduce_range
        zp, scale = data_qparams(
            data, qtype, symmetric, reduce_range, min_real_range, ov.rmin, ov.rmax
        )
        return QParams(np.array(zp, np.int64), np.array(scale, np.float32), qtype)
    channels = overrides.per_channel(name)
    if channels is None:
        if name in overrides:  # `get_per_channel_overrides` finds no axis
            raise OverrideError(
                f"Expected tensor '{name}' to have per-channel quantization overrides "
                "(axis value is missing)."
            )
        channels = (TensorOverride(axis=axis),)
    count = data.shape[axis]
    if channels[0].axis is not None and channels[0].axis % data.ndim != axis:
        raise OverrideError(
            f"Tensor quantization overrides for {name} specify an unexpected axis. "
            f"Expected {axis}, but got {channels[0].axis}."
        )
    if len(channels) not in (1, count):
        raise OverrideError(
            f"Per-channel tensor quantization overrides for {name} must have either 1 or "
            f"{count} elements in the list of dictionaries."
        )
    first = channels[0]
    qtype = first.quant_type or qtype
    symmetric = symmetric if first.symmetric is None else first.symmetric
    reduce_range = reduce_range if first.reduce_range is None else first.reduce_range
    pairs = []
    for i in range(count):
        # past the list's end: QOperator gives the one dict to every channel, QDQ nothing
        past_end = TensorOverride() if qdq else first
        ov = channels[i] if i < len(channels) else past_end
        if first.given:  # QDQ reads every channel's scale once the first has one
            if not ov.given:
                raise OverrideError(
                    f"TensorQuantOverrides for '{name}': channel {i} has no scale and zero_point"
                )
            pairs.append(given_params(ov, qtype, name))
        else:
            pairs.append(
                data_qparams(
                    data.take(i, axis), qtype, symmetric, reduce_range, min_real_range,
                    ov.rmin, ov.rmax,
                )
            )  # fmt: skip
    zps = np.array([zp for zp, _ in pairs], np.int64)
    scales = np.array([s for _, s in pairs], np.float32)
    return QParams(zps, scales, qtype, axis)
