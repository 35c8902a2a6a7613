"""ONNX Runtime's `TensorQuantOverrides` (an `extra_options` key of `quantize_static`), read.

The value maps a tensor name to a list of dicts: one dict for a per-tensor override, one per
channel (or one for all, with `axis`) for a per-channel weight. A dict's keys are ORT's:
`quant_type`, `scale` with `zero_point`, `symmetric`, `reduce_range` (initializers only),
`rmin` with `rmax`, `axis`, and `convert` (mixed precision: an activation quantized a second
time, to another type, for all its quantized readers or the nodes `recv_nodes` names; its dict
takes `quant_type`, which it must have, `scale` with `zero_point`, `symmetric`, `rmin`,
`rmax`). The checks are `TensorQuantOverridesHelper.is_valid`'s (in
`onnxruntime/quantization/tensor_quant_overrides.py`), with its messages; the checks that need
the model or the config are the quantizer's. JSON numbers stand for the float32 values ORT's
arithmetic needs there (`compute_scale_zp` reads a numpy scalar's dtype): `rmin`, `rmax` and
`scale` are read as float32.

How each override changes a tensor's parameters lives with the quantizer
(`rewrites.quantize_static`), which knows the tensors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from qdialect.ort_qparams import QType

KEYS = (
    "quant_type", "scale", "zero_point", "symmetric", "reduce_range", "rmin", "rmax", "axis",
    "convert",
)  # fmt: skip
CONVERT_KEYS = ("quant_type", "scale", "zero_point", "symmetric", "rmin", "rmax", "recv_nodes")
# the keys that choose a range or a rounding, which given parameters leave nothing to do
WITHOUT_SCALE = ("symmetric", "reduce_range", "rmax", "rmin")


class OverrideError(ValueError):
    """An override ONNX Runtime refuses (or we do not reproduce); the message names it."""


@dataclass(frozen=True)
class TensorOverride:
    """One dict of a tensor's override list; None: not overridden."""

    quant_type: QType | None = None
    scale: np.float32 | None = None
    zero_point: int | None = None
    symmetric: bool | None = None
    reduce_range: bool | None = None
    rmin: np.float32 | None = None
    rmax: np.float32 | None = None
    axis: int | None = None
    # mixed precision: the second quantization (`quant_type` always set; no `reduce_range`,
    # `axis` or `convert` of its own) and the nodes that read it (None: every quantized reader)
    convert: TensorOverride | None = None
    recv_nodes: frozenset[str] | None = None

    @property
    def given(self) -> bool:
        """Scale and zero point are given: nothing is computed."""
        return self.scale is not None


@dataclass(frozen=True)
class TensorOverrides:
    """Every tensor's overrides by name; a per-channel list keeps ORT's order of channels."""

    by_name: dict[str, tuple[TensorOverride, ...]] = field(default_factory=dict)

    def __contains__(self, name: object) -> bool:
        """Whether `name` has overrides: ORT's truthiness of its list (`[{}]` has, `[]` not)."""
        return bool(self.by_name.get(name))  # type: ignore[call-overload]

    def per_channel(self, name: str | None) -> tuple[TensorOverride, ...] | None:
        """`get_per_channel_overrides`: a weight's channel list (first dict has the axis)."""
        found = self.by_name.get(name or "")
        return found if found and found[0].axis is not None else None

    def per_tensor(self, name: str | None) -> TensorOverride:
        """`get_per_tensor_overrides(name, default_val={})`, refusing a per-channel list."""
        found = self.by_name.get(name or "")
        if not found:
            return TensorOverride()
        if found[0].axis is not None:
            raise OverrideError(
                f"Expected tensor '{name}' to use per-tensor quantization overrides, "
                "but found per-channel overrides."
            )
        return found[0]

    @staticmethod
    def read(value: Any) -> TensorOverrides:
        """The JSON value of `TensorQuantOverrides`, checked as ORT checks it."""
        if value is None:
            return TensorOverrides()
        if not isinstance(value, dict):
            raise OverrideError("'TensorQuantOverrides' must map tensor names to lists of dicts")
        by_name: dict[str, tuple[TensorOverride, ...]] = {}
        for name, dicts in value.items():
            if not isinstance(dicts, list):
                raise OverrideError(f"Tensor quantization overrides for '{name}' are not in a list")
            for index, raw in enumerate(dicts):
                if not isinstance(raw, dict):
                    raise OverrideError(
                        f"Tensor quantization overrides at index {index} for '{name}' are "
                        "not in a dict"
                    )
            by_name[name] = tuple(_read_dict(name, raw) for raw in dicts)
            if dicts and dicts[0]:  # `is_valid` skips `[]` and `[{}]`
                _check(name, by_name[name])
        return TensorOverrides(by_name)


def _read_dict(name: str, raw: dict[str, Any]) -> TensorOverride:
    override = _parsed(name, {k: v for k, v in raw.items() if k != "convert"}, KEYS, "", "")
    if "convert" not in raw:
        return override
    return replace(override, convert=_read_convert(name, raw["convert"]))


def _read_convert(name: str, raw: Any) -> TensorOverride:
    """A `convert` dict, checked as `_is_valid_per_tensor` checks it (the model-free part)."""
    if not isinstance(raw, dict):
        raise OverrideError(f"TensorQuantOverrides for '{name}': 'convert' must be a dict")
    if "quant_type" not in raw:
        raise OverrideError(f"'convert' options (tensor '{name}') must specify a 'quant_type'")
    if "reduce_range" in raw:
        raise OverrideError(
            f"Option 'reduce_range' is only supported for initializers, not for activation {name}"
        )
    return _parsed(name, raw, CONVERT_KEYS, "'convert'", f" (tensor '{name}')")


def _parsed(
    name: str, raw: dict[str, Any], valid: tuple[str, ...], where: str, suffix: str
) -> TensorOverride:
    """One dict's keys checked and read: only `valid` ones, `scale` with `zero_point` and
    neither with a range or rounding key. `where` names a nested dict in our messages;
    `suffix` ends ORT's (its `convert` messages name the tensor)."""
    unknown = sorted(set(raw) - set(valid))
    if unknown:
        raise OverrideError(
            f"TensorQuantOverrides for '{name}': unknown {where + ' ' if where else ''}key "
            f"'{unknown[0]}' (valid: {', '.join(valid)})"
        )
    if ("scale" in raw) != ("zero_point" in raw):
        raise OverrideError(
            f"Must provide both 'scale' and 'zero_point' if one of the overrides is provided"
            f"{suffix}"
        )
    if "scale" in raw and (keys := [k for k in WITHOUT_SCALE if k in raw]):
        raise OverrideError(
            f"Tensor override option(s) [{', '.join(keys)}] are invalid with 'scale' and "
            f"'zero_point'{suffix}"
        )
    try:
        return TensorOverride(**{key: READERS[key](value) for key, value in raw.items()})
    except (TypeError, ValueError) as err:
        prefix = f"{where}: " if where else ""
        raise OverrideError(f"TensorQuantOverrides for '{name}': {prefix}{err}") from None


def _check(name: str, dicts: tuple[TensorOverride, ...]) -> None:
    """The per-channel list's consistency (`_is_valid_per_channel`, model-free part)."""
    first = dicts[0]
    if len(dicts) > 1 and first.axis is None:
        raise OverrideError(
            f"Per-channel overrides for tensor {name} is missing an 'axis' value in the first "
            "channel dictionary."
        )
    if first.axis is not None and (first.rmin is None) != (first.rmax is None):
        raise OverrideError("Must provide both 'rmin' and 'rmax' if one is provided")
    for index, channel in enumerate(dicts[1:]):
        for key in ("quant_type", "symmetric", "reduce_range"):
            given = getattr(channel, key)
            if given is not None and given != getattr(first, key):
                raise OverrideError(
                    f"Channel {key} for tensor '{name}' does not match at index {index}."
                )


def _qtype(value: Any) -> QType:
    """A `QuantType` (its name from JSON, or ORT's enum, whose str is its name)."""
    return QType.parse(str(value))


def _node_names(value: Any) -> frozenset[str]:
    """`recv_nodes`: node names (a JSON list; ORT's callers pass a set)."""
    if isinstance(value, str) or not isinstance(value, list | tuple | set | frozenset):
        raise TypeError(f"'recv_nodes' must be a list of node names, got {value!r}")
    if not all(isinstance(item, str) for item in value):
        raise TypeError(f"'recv_nodes' must be a list of node names, got {value!r}")
    return frozenset(value)


def _float32(value: Any) -> np.float32:
    """A JSON number, or the numpy scalar (or 0-d array) ORT's own callers pass."""
    if _scalar_kind(value) not in ("i", "u", "f"):
        raise TypeError(f"expected a number, got {value!r}")
    return np.float32(value)


def _integer(value: Any) -> int:
    if _scalar_kind(value) not in ("i", "u"):
        raise TypeError(f"expected an integer, got {value!r}")
    return int(value)


def _zero_point(value: Any) -> int:
    """An integer, or a float holding one (ORT's own tests pass float32 zero points, which it
    stores as the integer type's value)."""
    if _scalar_kind(value) == "f" and float(value).is_integer():
        return int(value)
    if _scalar_kind(value) == "f":
        raise TypeError(f"zero_point must be a whole number, got {value!r}")
    return _integer(value)


def _scalar_kind(value: Any) -> str | None:
    """numpy's dtype kind of a number (a bool is none)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.generic | np.ndarray):
        return None
    array = np.asarray(value)
    return array.dtype.kind if array.ndim == 0 else None


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"expected true or false, got {value!r}")
    return bool(value)


# each key's reader (`_parsed` reads the dicts with them)
READERS: dict[str, Callable[[Any], Any]] = {
    "quant_type": _qtype,
    "scale": _float32,
    "zero_point": _zero_point,
    "symmetric": _boolean,
    "reduce_range": _boolean,
    "rmin": _float32,
    "rmax": _float32,
    "axis": _integer,
    "recv_nodes": _node_names,
}
