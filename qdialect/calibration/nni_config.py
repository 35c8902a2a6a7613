"""NNI's exported calibration config, read as quantization parameters per layer.

NNI's quantizers (`QAT_Quantizer.export_model(model_path, calibration_path=...)`, NNI 2.x,
`nni/algorithms/compression/pytorch/quantization/qat_quantizer.py`) return and `torch.save` a
dict keyed by layer name:

    {"conv1": {"weight_bits": 8, "weight_scale": tensor(0.0123), "weight_zero_point": tensor(128.),
               "input_bits": 8, "tracked_min_input": -1.5, "tracked_max_input": 2.25,
               "output_bits": 8, "tracked_min_output": 0.0, "tracked_max_output": 6.0}, ...}

`weight_scale`/`weight_zero_point` are float tensors (shape [] per tensor, [C, 1, ...] per
channel; the zero point is float-typed but integral); the tracked ranges are Python floats;
each key is present only for the quant types the layer's config_list entry asked for
(DoReFa's export has `weight_bits` alone). NNI's own speedup (`quantization_speedup/
frontend_to_onnx.py`) re-keys the dict by ONNX node name before its backend reads it; we take
it keyed that way: a layer name is an ONNX node name (`qnn.node`).

Accepted on disk: the same dict as JSON (tensors as a number or a nested list of numbers), or
the `torch.save` file itself when torch is installed (read with `weights_only=True`, which
loads tensors, dicts and numbers and runs no pickled code). `read_calibration` tells NNI's
dict from ONNX Runtime's JSON cache by its shape.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from .table import CalibrationTable, CalibrationTableError

NNI_LAYER_KEYS = ("weight_bits", "weight_scale", "weight_zero_point", "input_bits",
                  "tracked_min_input", "tracked_max_input", "output_bits",
                  "tracked_min_output", "tracked_max_output")  # fmt: skip
ORT_KEYS = ("CLS", "data", "calibration_method")
TORCH_MAGIC = (b"PK\x03\x04", b"\x80")  # torch.save: a zip archive, or a legacy pickle


@dataclass(frozen=True)
class NniLayer:
    """One layer's entry. Ranges are float32 (lowest, highest); weight scale and zero point
    are float32 / int64 arrays of one value per tensor or per output channel, as NNI saved
    them (flattened); None where the layer's config did not quantize that part."""

    weight_bits: int | None = None
    weight_scale: np.ndarray | None = None
    weight_zero_point: np.ndarray | None = None
    input_bits: int | None = None
    input_range: tuple[np.float32, np.float32] | None = None
    output_bits: int | None = None
    output_range: tuple[np.float32, np.float32] | None = None


@dataclass(frozen=True)
class NniCalibration(Mapping[str, NniLayer]):
    """NNI's calibration config: a read-only mapping of layer (ONNX node) name to `NniLayer`."""

    layers: Mapping[str, NniLayer] = field(default_factory=dict)
    source: str = "NNI calibration config"

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", MappingProxyType(dict(self.layers)))

    def __getitem__(self, name: str) -> NniLayer:
        return self.layers[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    @classmethod
    def from_dict(cls, document: Any, source: str = "NNI calibration config") -> NniCalibration:
        """The dict `export_model` returns (tensors, numbers or lists as values)."""
        if not isinstance(document, Mapping) or not document:
            raise CalibrationTableError(f"{source}: expected an object of layer name -> entry")
        layers = {}
        for name, entry in document.items():
            if not isinstance(entry, Mapping):
                raise CalibrationTableError(
                    f"{source}: layer {name!r}: expected an object with keys such as "
                    "'weight_bits', 'tracked_min_input'"
                )
            layers[str(name)] = _layer(entry, lambda m, n=name: f"{source}: layer {n!r}: {m}")
        return cls(layers, source)


def read_calibration(path: str | Path) -> CalibrationTable | NniCalibration:
    """ONNX Runtime's JSON cache or NNI's calibration config (JSON or torch.save), by content:
    a JSON object with ORT's keys (CLS, data, calibration_method) or without any object
    value is ORT's; an object of objects without them is NNI's."""
    path = Path(path)
    try:
        head = path.read_bytes()[:4]
    except FileNotFoundError:
        raise CalibrationTableError(f"{path}: no such calibration table") from None
    except OSError as error:
        raise CalibrationTableError(f"{path}: cannot read: {error.strerror}") from None
    if head.startswith(TORCH_MAGIC):
        return NniCalibration.from_dict(_torch_load(path), str(path))
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return CalibrationTable.read(path)  # its one-line error
    if is_nni_document(document):
        return NniCalibration.from_dict(document, str(path))
    return CalibrationTable.read(path)


def is_nni_document(document: Any) -> bool:
    """NNI's shape: an object of objects, without ONNX Runtime's cache keys."""
    return (
        isinstance(document, dict)
        and not any(key in document for key in ORT_KEYS)
        and any(isinstance(value, dict) for value in document.values())
    )


def _torch_load(path: Path) -> Any:
    try:
        import torch
    except ImportError:
        raise CalibrationTableError(
            f"{path}: a torch.save file; reading it needs torch (or save NNI's dict as JSON)"
        ) from None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises pickle, zip and runtime errors alike
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CalibrationTableError(f"{path}: cannot load with torch: {first}") from None


def _layer(entry: Mapping, fail) -> NniLayer:
    unknown = [key for key in entry if key not in NNI_LAYER_KEYS]
    if unknown:
        raise CalibrationTableError(
            fail(f"unknown key {unknown[0]!r} (valid: {', '.join(NNI_LAYER_KEYS)})")
        )
    bits = {kind: _bits(entry, f"{kind}_bits", fail) for kind in ("weight", "input", "output")}
    scale, zero_point = _weight_params(entry, fail)
    return NniLayer(
        weight_bits=bits["weight"],
        weight_scale=scale,
        weight_zero_point=zero_point,
        input_bits=bits["input"],
        input_range=_range(entry, "input", fail),
        output_bits=bits["output"],
        output_range=_range(entry, "output", fail),
    )


def _bits(entry: Mapping, key: str, fail) -> int | None:
    value = entry.get(key)
    if value is None:
        return None
    number = _numbers(value, key, fail)
    if number.size != 1 or number[0] != int(number[0]) or not 0 < number[0] < 32:
        raise CalibrationTableError(fail(f"{key!r} must be an integer in 1..31, not {value!r}"))
    return int(number[0])


def _numbers(value: Any, key: str, fail) -> np.ndarray:
    """A number, nested list or tensor as a flat float64 array (NNI's float32 values are
    exact in float64)."""
    if isinstance(value, bool | str | bytes | Mapping):
        raise CalibrationTableError(fail(f"{key!r} is not a number ({_short(value)})"))
    try:
        array = np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise CalibrationTableError(fail(f"{key!r} is not a number ({_short(value)})")) from None
    if not array.size:
        raise CalibrationTableError(fail(f"{key!r} is empty"))
    return array


def _weight_params(entry: Mapping, fail) -> tuple[np.ndarray | None, np.ndarray | None]:
    given = [key in entry for key in ("weight_scale", "weight_zero_point")]
    if not any(given):
        return None, None
    if not all(given):
        missing = "weight_zero_point" if given[0] else "weight_scale"
        raise CalibrationTableError(fail(f"has no {missing!r} (weights need both)"))
    scale = _numbers(entry["weight_scale"], "weight_scale", fail)
    zero_point = _numbers(entry["weight_zero_point"], "weight_zero_point", fail)
    if scale.size != zero_point.size:
        raise CalibrationTableError(
            fail(f"'weight_scale' has {scale.size} values, 'weight_zero_point' {zero_point.size}")
        )
    scale32 = scale.astype(np.float32)
    if not all(math.isfinite(s) and s > 0 for s in scale32):
        raise CalibrationTableError(fail("'weight_scale' must be finite and > 0"))
    if any(z != math.floor(z) for z in zero_point):
        raise CalibrationTableError(fail("'weight_zero_point' must be integers"))
    return scale32, zero_point.astype(np.int64)


def _range(entry: Mapping, kind: str, fail) -> tuple[np.float32, np.float32] | None:
    low, high = f"tracked_min_{kind}", f"tracked_max_{kind}"
    if low not in entry and high not in entry:
        return None
    for key in (low, high):
        if key not in entry:
            raise CalibrationTableError(fail(f"has no {key!r}"))
    bounds = []
    for key in (low, high):
        number = _numbers(entry[key], key, fail)
        if number.size != 1:
            raise CalibrationTableError(fail(f"{key!r} holds {number.size} values (one needed)"))
        bounds.append(np.float32(number[0]))
    if math.isnan(bounds[0]) or math.isnan(bounds[1]):
        raise CalibrationTableError(fail(f"{low}/{high} are not numbers"))
    if bounds[0] > bounds[1]:
        raise CalibrationTableError(
            fail(f"{low} {float(bounds[0])!r} > {high} {float(bounds[1])!r}")
        )
    return bounds[0], bounds[1]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
