"""Calibration tables and ONNX Runtime 1.31's JSON calibration cache.

The file is what `onnxruntime.quantization.calibrate.save_tensors_data` writes
(`TensorsData.to_dict` through `CalibrationCacheEncoder`) and `load_tensors_data` /
`quantize_static(calibration_cache_path=...)` read:

    {"CLS": "TensorsData",
     "data": {"x": {"lowest": <float>, "highest": <float>, ..., "CLS": "TensorData"}, ...},
     "calibration_method": {"CLS": "CalibrationMethod", "value": "CalibrationMethod.MinMax"},
     "smooth_quant": false}

where a float is a JSON number or `{"data": <number or [number]>, "dtype": "float32",
"CLS": "numpy.array"}` (MinMax writes one-element arrays, Percentile 0-d arrays or numbers).
JSON numbers are Python's repr of the float32 value widened to double, so float32 values come
back bit for bit. Methods ORT does not have (mse, kl-glow) are written as a plain string, which
`load_tensors_data` reads and `quantize_static` refuses as not matching any CalibrationMethod.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from .options import METHODS, ORT_METHODS
from .stats import TensorRange

_TO_ORT = {ours: theirs for theirs, ours in ORT_METHODS.items()}


class CalibrationTableError(ValueError):
    """A calibration table file that cannot be read; the message is one line naming the file."""


@dataclass(frozen=True)
class CalibrationTable(Mapping[str, TensorRange]):
    """Chosen ranges by tensor name (the float model's names), and the method that chose them.

    A read-only mapping `name -> TensorRange` (float32 lowest <= highest, not NaN).
    `smooth_quant` is the cache's flag that the ranges belong to a SmoothQuant-transformed model.
    """

    method: str
    ranges: Mapping[str, TensorRange] = field(default_factory=dict)
    smooth_quant: bool = False

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(
                f"unknown calibration method {self.method!r}; valid: {', '.join(METHODS)}"
            )
        ranges = dict(self.ranges)
        for name, value in ranges.items():
            if not isinstance(name, str):
                raise TypeError(f"tensor names must be strings, not {name!r}")
            if not isinstance(value, TensorRange):
                raise TypeError(f"tensor {name!r}: expected a TensorRange, not {value!r}")
            for bound in (value.lowest, value.highest):
                if not isinstance(bound, np.float32):
                    raise TypeError(f"tensor {name!r}: range bounds must be np.float32")
            problem = _range_problem(value.lowest, value.highest)
            if problem:
                raise ValueError(f"tensor {name!r}: {problem}")
        object.__setattr__(self, "ranges", MappingProxyType(ranges))

    def __getitem__(self, name: str) -> TensorRange:
        return self.ranges[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.ranges)

    def __len__(self) -> int:
        return len(self.ranges)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CalibrationTable):
            return NotImplemented
        return (
            self.method == other.method
            and self.smooth_quant == other.smooth_quant
            and dict(self.ranges) == dict(other.ranges)
        )

    @classmethod
    def read(cls, path: str | Path) -> CalibrationTable:
        """Read an ONNX Runtime calibration cache (or one `write` wrote)."""
        path = Path(path)
        try:
            text = path.read_text()
        except FileNotFoundError:
            raise CalibrationTableError(f"{path}: no such calibration table") from None
        except (OSError, UnicodeDecodeError) as error:
            raise CalibrationTableError(f"{path}: cannot read: {error}") from None
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise CalibrationTableError(
                f"{path}: not JSON ({error.msg} at line {error.lineno} column {error.colno})"
            ) from None
        return _from_document(path, document)

    def write(self, path: str | Path) -> None:
        """Write the table as `save_tensors_data` does (atomically: a temporary file renamed)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=".calibcache_", suffix=".tmp"
        )
        try:
            with os.fdopen(descriptor, "w") as stream:
                json.dump(self.to_document(), stream)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise

    def to_document(self) -> dict[str, Any]:
        """The JSON document of `TensorsData.to_dict` for this table."""
        data = {
            name: {
                "lowest": _encode_float(value.lowest),
                "highest": _encode_float(value.highest),
                "CLS": "TensorData",
            }
            for name, value in self.ranges.items()
        }
        method: Any = self.method
        if self.method in _TO_ORT:
            method = {"CLS": "CalibrationMethod", "value": f"CalibrationMethod.{_TO_ORT[method]}"}
        return {
            "CLS": "TensorsData",
            "data": data,
            "calibration_method": method,
            "smooth_quant": self.smooth_quant,
        }


def _encode_float(value: np.float32) -> dict[str, Any]:
    # CalibrationCacheEncoder: ndarray -> {"data": tolist(), "dtype", "CLS": "numpy.array"}
    return {"data": float(value), "dtype": "float32", "CLS": "numpy.array"}


def _from_document(path: Path, document: Any) -> CalibrationTable:
    def fail(message: str) -> CalibrationTableError:
        return CalibrationTableError(f"{path}: {message}")

    if not isinstance(document, dict):
        raise fail("not a calibration table (expected a JSON object with 'data')")
    for key in ("data", "calibration_method"):
        if key not in document:
            raise fail(
                f"missing key {key!r} (an ONNX Runtime calibration cache has CLS, data, "
                "calibration_method)"
            )
    method = _decode_method(document["calibration_method"], fail)
    data = document["data"]
    if not isinstance(data, dict):
        raise fail("'data' is not an object of tensor name -> range")
    ranges: dict[str, TensorRange] = {}
    for name, entry in data.items():
        if not isinstance(entry, dict):
            raise fail(f"tensor {name!r}: expected an object with 'lowest' and 'highest'")
        bounds = []
        for key in ("lowest", "highest"):
            if key not in entry:
                raise fail(f"tensor {name!r} has no {key!r}")
            bounds.append(_decode_float(entry[key], f"tensor {name!r}: {key!r}", fail))
        problem = _range_problem(*bounds)
        if problem:
            raise fail(f"tensor {name!r}: {problem}")
        ranges[name] = TensorRange(bounds[0], bounds[1])
    smooth_quant = document.get("smooth_quant", False)
    if not isinstance(smooth_quant, bool):
        raise fail(f"'smooth_quant' must be true or false, not {smooth_quant!r}")
    return CalibrationTable(method=method, ranges=ranges, smooth_quant=smooth_quant)


def _decode_method(value: Any, fail) -> str:
    """TensorsData.from_dict: {"CLS": "CalibrationMethod", "value": "CalibrationMethod.X"}, or
    (as qdialect writes mse / kl-glow) a plain method name."""
    if isinstance(value, dict) and value.get("CLS") == "CalibrationMethod":
        name = str(value.get("value", "")).split(".")[-1]
        if name in ORT_METHODS:
            return ORT_METHODS[name]
        raise fail(
            f"unknown CalibrationMethod {value.get('value')!r}; valid: {', '.join(ORT_METHODS)}"
        )
    if isinstance(value, str) and value in METHODS:
        return value
    raise fail(
        f"unknown calibration_method {value!r}; valid: "
        f"{', '.join(list(ORT_METHODS) + [m for m in METHODS if m not in _TO_ORT])}"
    )


def _decode_float(value: Any, what: str, fail) -> np.float32:
    """A range bound as TensorData.from_dict reads it: a JSON number (np.array(v, float32)) or
    a numpy.array object of float16/float32 holding one value."""
    if isinstance(value, dict) and value.get("CLS") == "numpy.array":
        dtype = value.get("dtype")
        if dtype not in ("float32", "float16"):
            raise fail(f"{what} has dtype {dtype!r} (ONNX Runtime accepts float16, float32)")
        data = value.get("data")
        if not _numeric(data):
            raise fail(f"{what} is not a number ({_short(data)})")
        array = np.array(data, dtype=np.dtype(dtype))
        if array.size != 1:
            raise fail(f"{what} holds {array.size} values (per-channel ranges are not supported)")
        return np.float32(array.reshape(-1)[0])
    if not _numeric(value) or isinstance(value, list):
        raise fail(f"{what} is not a number ({_short(value)})")
    return np.float32(np.array(value, dtype=np.float32))


def _numeric(value: Any) -> bool:
    """A JSON number, or a (nested) list of them."""
    if isinstance(value, list):
        return all(_numeric(item) for item in value)
    return isinstance(value, int | float) and not isinstance(value, bool)


def _range_problem(lowest: np.float32, highest: np.float32) -> str | None:
    """NaN bounds. lowest > highest is a range ONNX Runtime writes (its percentile and
    entropy clip the cut to the observed [min, max], which a tensor sitting in one bin
    inverts); quantization reads it as [min(lowest, 0), max(highest, 0)], as ORT does."""
    if math.isnan(lowest) or math.isnan(highest):
        return f"range [{float(lowest)!r}, {float(highest)!r}] is not a number"
    return None


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."
