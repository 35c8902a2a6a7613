"""Making quantized models from Python: `calibrate`, then `quantize` (DESIGN §4).

    table = calibrate("model_fp32.onnx", "calib.npz", method="percentile")
    result = quantize("model_fp32.onnx", table, {"per_channel": True})
    compiled = compile_module(result.module)

A model is a path (`.onnx` or `.mlir`), an `onnx.ModelProto` or a float `ModuleOp`; a table is
a `CalibrationTable`, a path to ONNX Runtime's JSON calibration cache, or a mapping of tensor
name to (min, max); a config is a `QuantizeConfig`, a dict of `quantize_static`'s keyword
arguments, or a path to such a JSON file.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xdsl.dialects.builtin import ModuleOp

from qdialect.quant_config import ConfigError, QuantizeConfig
from rewrites.calibrated import annotate_ranges, take_ranges
from rewrites.quantize_fake import quantize_fake_function
from rewrites.quantize_static import QuantizeSummary, quantize_function
from runtime.signature import defined_functions

Ranges = dict[str, tuple[float, float]]


class QuantizeWarning(UserWarning):
    """Something in a quantization config that had no effect (a rule matching no node)."""


@dataclass(frozen=True)
class QuantizeResult:
    """The quantized module (QDQ form; `compile_module` fuses it) and what was quantized."""

    module: ModuleOp
    summary: QuantizeSummary


def load_float_model(model: Any) -> ModuleOp:
    """A fresh float module from a path, an `onnx.ModelProto` or a `ModuleOp` (cloned), with
    ONNX node names kept for the quantizer's node rules."""
    if isinstance(model, ModuleOp):
        return model.clone()
    if isinstance(model, (str, Path)) and Path(model).suffix != ".onnx":
        from qdialect.textio import parse_module

        path = Path(model)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise ValueError(f"cannot read '{path}': {err.strerror}") from None
        return parse_module(text, str(path))
    from qdialect.onnx_import import import_onnx

    return import_onnx(str(model) if isinstance(model, Path) else model, node_names=True)


def read_config(config: Any) -> QuantizeConfig:
    if config is None:
        return QuantizeConfig()
    if isinstance(config, QuantizeConfig):
        return config
    if isinstance(config, (str, Path)):
        try:
            config = json.loads(Path(config).read_text(encoding="utf-8"))
        except OSError as err:
            raise ConfigError(f"cannot read config '{config}': {err.strerror}") from None
        except json.JSONDecodeError as err:
            raise ConfigError(f"config '{config}' is not JSON: {err}") from None
    return QuantizeConfig.from_dict(config)


def read_ranges(table: Any) -> Ranges:
    """(min, max) per tensor name from a table, a cache file path or a mapping."""
    if table is None:
        return {}
    if isinstance(table, (str, Path)):
        from qdialect.calibration.table import CalibrationTable

        table = CalibrationTable.read(table)
    ranges = getattr(table, "ranges", table)
    if not isinstance(ranges, Mapping):
        raise TypeError(f"a calibration table or a mapping is needed, got {type(table).__name__}")
    out: Ranges = {}
    for name, value in ranges.items():
        lo, hi = (value.lowest, value.highest) if hasattr(value, "lowest") else value
        out[name] = (lo, hi)
    return out


FORMS = {"qdq": quantize_function, "fake": quantize_fake_function}


def quantize(
    model: Any, table: Any = None, config: Any = None, *, form: str = "qdq"
) -> QuantizeResult:
    """`quantize_static` on our IR: the float model's QDQ form under `config`, with ranges
    from `table` and from calibrated pairs already in the IR (the table wins).

    `form="fake"` writes the same quantization as a float QAT graph instead: a typed
    `qnn.fake_quant` wherever the QDQ form has a quantize/dequantize pair
    (`rewrites.quantize_fake`); `fake-to-qdq` turns it into exactly the QDQ form."""
    if form not in FORMS:
        raise ValueError(f"unknown form '{form}': expected one of {', '.join(FORMS)}")
    module = load_float_model(model)
    settings = read_config(config)
    given = read_ranges(table)
    summary = QuantizeSummary()
    for function in defined_functions(module):
        ranges = take_ranges(function)
        ranges.update(given)
        result = FORMS[form](function, ranges, settings)
        summary.quantized.extend(result.quantized)
        summary.left_float.extend(result.left_float)
        summary.unmatched_rules.extend(result.unmatched_rules)
    for key in dict.fromkeys(summary.unmatched_rules):
        warnings.warn(f"rule {key} matches no node", QuantizeWarning, stacklevel=2)
    module.verify()
    return QuantizeResult(module, summary)


def calibrated_module(model: Any, table: Any) -> ModuleOp:
    """The float model with its ranges written in the IR as calibrated qcast/dcast pairs."""
    module = load_float_model(model)
    ranges = read_ranges(table)
    for function in defined_functions(module):
        annotate_ranges(function, ranges)
    module.verify()
    return module


def calibrate(
    model: Any,
    samples: Any,
    method: str = "minmax",
    *,
    extra_options: Mapping[str, Any] | None = None,
    executor: Executor | None = None,
    progress: bool | None = None,
):
    """Ranges of every float tensor of `model` on `samples` by `method` (`minmax`,
    `percentile`, `entropy`, `mse`, `kl-glow`; ONNX Runtime's names are accepted too), with
    ONNX Runtime's calibration `extra_options` (`CalibTensorRangeSymmetric`, ...).

    `samples`: a `.npz` whose arrays carry a leading axis of samples, a directory of `.npz`
    files holding one sample each, or an iterable of dicts of arrays. `executor` (any
    `concurrent.futures.Executor`, e.g. a dask.distributed client's) runs shards of the samples
    in workers; their statistics merge in shard order, so the table equals the serial one.
    """
    from qdialect.calibration.methods import choose_ranges, histogram_edges, histogram_plan
    from qdialect.calibration.options import CalibrationOptions
    from runtime.calibration_run import collect_statistics

    module = load_float_model(model)
    options = CalibrationOptions.from_extra_options(method, extra_options)
    plan = histogram_plan(options)
    stats = collect_statistics(
        module,
        samples,
        histogram=plan,
        edges_for=histogram_edges if plan is not None else None,
        executor=executor,
        progress=progress,
    )
    return choose_ranges(stats.values(), options)
