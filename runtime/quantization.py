"""Making quantized models from Python: `calibrate`, then `quantize` (DESIGN §4).

    table = calibrate("model_fp32.onnx", "calib.npz", method="percentile")
    result = quantize("model_fp32.onnx", table, {"per_channel": True})
    compiled = compile_module(result.module)

A model is a path (`.onnx` or `.mlir`), an `onnx.ModelProto` or a float `ModuleOp`; a table is
a `CalibrationTable`, a path to ONNX Runtime's JSON calibration cache, a mapping of tensor
name to (min, max), or NNI's calibration config (an `NniCalibration`, or its file: JSON or
torch.save; its weight parameters are used as given, see `rewrites.nni_params`); a config
is a `QuantizeConfig`, a dict of `quantize_static`'s keyword arguments, or a path to such a
JSON file.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xdsl.dialects.builtin import ModuleOp

from qdialect.names import node_name
from qdialect.quant_config import (
    DEFAULT_OP_TYPES,
    DYNAMIC_OP_TYPES,
    ConfigError,
    QuantizeConfig,
)
from qdialect.recipes import SmoothQuantRecipe
from rewrites.calibrated import annotate_ranges, take_ranges
from rewrites.onnx_nodes import node_kind
from rewrites.quantize_fake import quantize_fake_function
from rewrites.quantize_static import QuantizeSummary, quantize_function
from runtime.calibration_cache import ModelSource
from runtime.signature import defined_functions

if TYPE_CHECKING:
    from qdialect.calibration.nni_config import NniCalibration
    from rewrites.nni_params import FixedParams
    from runtime.smooth_quant import SmoothSummary

Ranges = dict[str, tuple[float, float]]


class QuantizeWarning(UserWarning):
    """Something in a quantization config that had no effect (a rule matching no node)."""


@dataclass(frozen=True)
class QuantizeResult:
    """The quantized module (QDQ form; `compile_module` fuses it) and what was quantized."""

    module: ModuleOp
    summary: QuantizeSummary
    smoothing: SmoothSummary | None = None  # what the smooth_quant recipe did, if on


def load_float_model(
    model: Any, node_constants: bool = False, dims: InputDims | None = None
) -> ModuleOp:
    """A fresh float module from a path, an `onnx.ModelProto` or a `ModuleOp` (cloned), with
    ONNX node names kept for the quantizer's node rules (and with `node_constants`, the float
    constants ONNX nodes compute, for calibration: `import_onnx`); an ONNX model's dynamic
    input dimensions take their sizes from `dims`."""
    if isinstance(model, ModuleOp):
        return model.clone()
    if not is_onnx_source(model):
        from qdialect.textio import parse_module

        path = Path(model)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise ValueError(f"cannot read '{path}': {err.strerror}") from None
        return parse_module(text, str(path))
    from qdialect.onnx_import import import_onnx

    source = str(model) if isinstance(model, Path) else model
    dims = dims or InputDims()
    return import_onnx(
        source,
        node_names=True,
        node_constants=node_constants,
        free_dimensions=dims.free_dimensions,
        input_shapes=dims.input_shapes,
    )


def is_onnx_source(model: Any) -> bool:
    """Whether `load_float_model` reads `model` as ONNX (not our IR's text, not a module)."""
    if isinstance(model, ModuleOp):
        return False
    return not isinstance(model, (str, Path)) or Path(model).suffix == ".onnx"


@dataclass(frozen=True)
class InputDims:
    """What fixes an ONNX model's dynamic input dimensions (qdialect.onnx_import.input_dims):
    sizes by dimension name, and the shapes of the arrays to be fed, by input name."""

    free_dimensions: Mapping[str, int] | None = None
    input_shapes: Mapping[str, tuple[int, ...]] | None = None

    def key(self) -> str:
        """How a compiled function's cache key spells them ("" when there are none)."""
        if not self.free_dimensions and not self.input_shapes:
            return ""
        return json.dumps(
            {
                "free_dimensions": dict(sorted((self.free_dimensions or {}).items())),
                "input_shapes": {k: list(v) for k, v in sorted((self.input_shapes or {}).items())},
            }
        )


def dims_from_samples(
    samples: Any, free_dimensions: Mapping[str, int] | None
) -> tuple[InputDims, Any]:
    """The InputDims of `free_dimensions` and the first sample's shapes, and the samples to
    read after that peek (runtime.samples.peek_shapes)."""
    from runtime.samples import peek_shapes

    shapes, samples = peek_shapes(samples)
    return InputDims(free_dimensions, shapes), samples


def read_config(config: Any) -> QuantizeConfig:
    if config is None:
        return QuantizeConfig()
    from runtime.weight_only import WeightOnlyConfig

    if isinstance(config, QuantizeConfig | WeightOnlyConfig):
        return config  # type: ignore[return-value]
    if isinstance(config, (str, Path)):
        try:
            config = json.loads(Path(config).read_text(encoding="utf-8"))
        except OSError as err:
            raise ConfigError(f"cannot read config '{config}': {err.strerror}") from None
        except json.JSONDecodeError as err:
            raise ConfigError(f"config '{config}' is not JSON: {err}") from None
    if isinstance(config, dict) and config.get("mode") == "weight_only":
        return WeightOnlyConfig.from_dict(config)  # type: ignore[return-value]
    return QuantizeConfig.from_dict(config)


def read_table(table: Any) -> Any:
    """A table path read (ONNX Runtime's cache or NNI's config, told apart by content);
    anything else as given."""
    if isinstance(table, (str, Path)):
        from qdialect.calibration.nni_config import read_calibration

        return read_calibration(table)
    return table


def _nni(table: Any) -> NniCalibration | None:
    from qdialect.calibration.nni_config import NniCalibration

    return table if isinstance(table, NniCalibration) else None


def read_ranges(table: Any, model: Any = None) -> Ranges:
    """(min, max) per tensor name from a table, a cache file path or a mapping; NNI's config
    is keyed by node, so it needs the float `model` to name the tensors."""
    if table is None:
        return {}
    table = read_table(table)
    if _nni(table) is not None:
        if model is None:
            raise ValueError(
                "NNI's calibration config is keyed by node: read_ranges needs the model"
            )
        out: Ranges = {}
        for function in defined_functions(load_float_model(model)):
            out.update(_fixed(function, table).ranges)
        return out
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
    model: Any,
    table: Any = None,
    config: Any = None,
    *,
    samples: Any = None,
    form: str = "qdq",
    free_dimensions: Mapping[str, int] | None = None,
) -> QuantizeResult:
    """`quantize_static` on our IR: the float model's QDQ form under `config`, with ranges
    from `table` and from calibrated pairs already in the IR (the table wins). With NNI's
    calibration config the nodes quantized are its layers (unless `nodes_to_quantize` says).

    With the config's `smooth_quant` recipe the model is first smoothed with statistics of
    `samples` (required), then calibrated on them by the config's `calibrate_method` unless
    `table` is given (it must then hold the *smoothed* model's ranges: one written by such a
    run; the float model's ranges no longer fit its rescaled activations).

    With `"mode": "dynamic"`, `quantize_dynamic`; with `"mode": "weight_only"`, ONNX Runtime's
    MatMulNBits recipe (neither needs a table).

    `form="fake"` writes the same (static) quantization as a float QAT graph instead: a typed
    `qnn.fake_quant` wherever the QDQ form has a quantize/dequantize pair
    (`rewrites.quantize_fake`); `fake-to-qdq` turns it into exactly the QDQ form.

    An ONNX model's dynamic input dimensions take their sizes from `free_dimensions` (by
    name, as ONNX Runtime's `add_free_dimension_override_by_name`) and from the first of
    `samples`."""
    if form not in FORMS:
        raise ValueError(f"unknown form '{form}': expected one of {', '.join(FORMS)}")
    settings = read_config(config)
    is_static = isinstance(settings, QuantizeConfig) and settings.mode == "static"
    # ONNX Runtime quantizes initializers only: a node's output (an Identity of a tied weight, a
    # Constant node) is no weight, whichever the mode
    dims = InputDims(free_dimensions)
    if samples is not None:
        dims, samples = dims_from_samples(samples, free_dimensions)
    whole: list[str] = []  # nodes quantize_dynamic replaces whole (runtime.dynamic_nodes)
    is_dynamic = isinstance(settings, QuantizeConfig) and settings.mode == "dynamic"
    if is_dynamic and is_onnx_source(model):
        from qdialect.onnx_import import load_model
        from runtime.dynamic_nodes import quantize_whole_nodes

        model, whole = quantize_whole_nodes(load_model(model), settings)
    module = load_float_model(model, node_constants=True, dims=dims)
    if isinstance(settings, QuantizeConfig) and is_onnx_source(model):
        _attach_session_fusions(module, model, dims)
    if form != "qdq" and not is_static:
        raise ValueError(f"form '{form}' applies to static quantization only")
    unmatched = unmatched_selections(module, settings)
    smoothing = None
    if not isinstance(settings, QuantizeConfig):  # mode "weight_only": no ranges needed
        from runtime.weight_only import quantize_weight_only

        summary = QuantizeSummary()
        summary.quantized[:], summary.left_float[:] = quantize_weight_only(module, settings)
    elif settings.mode == "dynamic":  # quantize_dynamic: no ranges either
        summary = quantize_dynamic_module(module, settings)
        summary.left_float[:] = [name for name in summary.left_float if name not in whole]
        summary.quantized[:0] = whole
    else:
        if settings.smooth_quant is not None:
            samples = _replayable(samples)
            smoothing = smooth(module, samples, settings.smooth_quant)
            if table is None:
                options = calibration_options(settings)
                table = calibrate(module, samples, settings.calibrate_method, extra_options=options)
        summary = quantize_static_module(module, read_table(table), settings, form)
    summary.unmatched_rules[:0] = unmatched
    for key in dict.fromkeys(summary.unmatched_rules):
        warnings.warn(f"rule {key} matches no node", QuantizeWarning, stacklevel=2)
    module.verify()
    return QuantizeResult(module, summary, smoothing)


def unmatched_selections(module: ModuleOp, settings: Any) -> list[str]:
    """The names in `nodes_to_exclude` / `nodes_to_quantize` that name no node of `module`, and
    the types in a given `op_types_to_quantize` no node has (ORT ignores them silently: a typo
    there quantizes other nodes than meant), as rule keys for the warning."""
    names = {node_name(op) for op in module.walk()} - {None}
    kinds = {node_kind(op) for op in module.walk()} - {None}
    keys = [
        f"{key}['{name}']"
        for key in ("nodes_to_quantize", "nodes_to_exclude")
        for name in sorted(getattr(settings, key, ()))
        if name not in names
    ]
    given = getattr(settings, "op_types_to_quantize", DEFAULT_OP_TYPES)
    if given not in (DEFAULT_OP_TYPES, DYNAMIC_OP_TYPES):
        keys += [f"op_types_to_quantize['{kind}']" for kind in sorted(given - kinds)]
    return keys


def _attach_session_fusions(module: ModuleOp, model: Any, dims: InputDims) -> None:
    """Where dimensions stay symbolic to ORT's session (given by samples, not overridden by
    name), its shape-dependent fusions of the quantized model, recorded on each function for
    the quantizer (`qdialect.ort_session_view`)."""
    from qdialect.onnx_import import load_model
    from qdialect.onnx_import.input_dims import bind_input_dims, open_dimensions
    from qdialect.ort_session_view import quantized_session_fusions

    overridden = bind_input_dims(load_model(model), dims.free_dimensions)
    if not open_dimensions(overridden):
        return
    session = quantized_session_fusions(overridden)
    if session is not None:
        for function in defined_functions(module):
            session.attach(function)


def quantize_dynamic_module(module: ModuleOp, settings: QuantizeConfig) -> QuantizeSummary:
    from rewrites.quantize_dynamic import quantize_dynamic_function

    summary = QuantizeSummary()
    for function in defined_functions(module):
        result = quantize_dynamic_function(function, settings)
        summary.quantized.extend(result.quantized)
        summary.left_float.extend(result.left_float)
    return summary


def quantize_static_module(
    module: ModuleOp, table: Any, settings: QuantizeConfig, form: str
) -> QuantizeSummary:
    """Every function quantized in place by `form`'s quantizer, with the table's ranges (or
    NNI's fixed parameters) over the calibrated pairs already in the IR."""
    nni = _nni(table)
    given = read_ranges(table) if nni is None else {}
    if nni is not None and not settings.nodes_to_quantize:  # NNI quantizes the layers it lists
        settings = replace(settings, nodes_to_quantize=frozenset(nni))
    summary = QuantizeSummary()
    found: set[str] = set()
    for function in defined_functions(module):
        ranges = take_ranges(function)
        fixed = _fixed(function, nni) if nni is not None else None
        ranges.update(fixed.ranges if fixed is not None else given)
        found |= fixed.layers if fixed is not None else set()
        result = FORMS[form](function, ranges, settings, fixed)
        summary.quantized.extend(result.quantized)
        summary.left_float.extend(result.left_float)
        summary.unmatched_rules.extend(result.unmatched_rules)
    missing = [name for name in nni or {} if name not in found]
    if missing:
        raise ValueError(f"{nni.source}: layer {missing[0]!r} is no node of the model")  # type: ignore[union-attr]
    return summary


def smooth(module: ModuleOp, samples: Any, recipe: SmoothQuantRecipe) -> SmoothSummary:
    """INC's SmoothQuant on a float module, in place (`runtime.smooth_quant`); its summary."""
    from runtime.smooth_quant import smooth_module

    if samples is None:
        raise ConfigError(
            "the smooth_quant recipe needs calibration samples (its scales come from the "
            "activations): give samples (qopt: --calibration-data)"
        )
    return smooth_module(module, samples, recipe)


def _replayable(samples: Any) -> Any:
    """Samples that can be read twice (smoothing, then calibration): an iterator is listed."""
    if samples is None or isinstance(samples, (str, Path, Mapping, Sequence)):
        return samples
    from runtime.samples import ArraySamples, FileSamples, NpzSamples, TensorProtoSamples

    if isinstance(samples, (ArraySamples, FileSamples, NpzSamples, TensorProtoSamples)):
        return samples
    return list(samples)


def calibration_options(config: QuantizeConfig) -> dict[str, Any]:
    """The config's extra_options that steer calibration (ONNX Runtime's `Calib*` keys)."""
    return {k: v for k, v in config.extra_options.items() if k.startswith("Calib")}


def _fixed(function, nni: NniCalibration) -> FixedParams:
    from rewrites.nni_params import resolve

    return resolve(function, nni)


def calibrated_module(model: Any, table: Any) -> ModuleOp:
    """The float model with its ranges written in the IR as calibrated qcast/dcast pairs."""
    module = load_float_model(model, node_constants=True)
    ranges = read_ranges(table, module)
    for function in defined_functions(module):
        annotate_ranges(function, ranges)
    module.verify()
    return module


def _model_source(model: Any) -> ModelSource | None:
    """A model file's bytes, which key its compiled calibration passes (None: not a file, or
    unreadable; load_float_model then says why)."""
    if not isinstance(model, (str, Path)):
        return None
    path = Path(model)
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return ModelSource(data, "onnx" if path.suffix == ".onnx" else "mlir")


def calibrate(
    model: Any,
    samples: Any,
    method: str = "minmax",
    *,
    extra_options: Mapping[str, Any] | None = None,
    executor: Executor | None = None,
    progress: bool | None = None,
    ort_threads: int | None = None,
    free_dimensions: Mapping[str, int] | None = None,
):
    """Ranges of every float tensor of `model` on `samples` by `method` (`minmax`,
    `percentile`, `entropy`, `mse`, `kl-glow`; ONNX Runtime's names are accepted too), with
    ONNX Runtime's calibration `extra_options` (`CalibTensorRangeSymmetric`, ...).

    `samples`: a `.npz` whose arrays carry a leading axis of samples, a directory of `.npz`
    files holding one sample each, or an iterable of dicts of arrays. `executor` (any
    `concurrent.futures.Executor`, e.g. a dask.distributed client's) runs shards of the samples
    in workers; their statistics merge in shard order, so the table equals the serial one.
    A model file's compiled passes are cached (runtime.calibration_cache): calibrating it
    again, on other samples or by another method, neither imports nor compiles it.

    `ort_threads`: the intra-op threads of the ONNX Runtime session whose float sums the
    ranges reproduce (`rewrites.mlas_threads`: MLAS cuts a small image's GEMMs by thread);
    by default ORT's default on this host, the session `quantize_static` calibrates with.

    An ONNX model's dynamic input dimensions take their sizes from `free_dimensions` (by
    name, as ONNX Runtime's `add_free_dimension_override_by_name`) and from the first sample.
    """
    from qdialect.calibration.methods import choose_ranges, histogram_edges, histogram_plan
    from qdialect.calibration.options import CalibrationOptions
    from qdialect.host_cpu import ort_default_threads
    from qdialect.textio import make_context
    from rewrites.mlas_threads import MlasThreadsPass
    from runtime.calibration_run import collect_statistics

    options = CalibrationOptions.from_extra_options(method, extra_options)
    plan = histogram_plan(options)
    threads = ort_default_threads() if ort_threads is None else ort_threads
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"ort_threads must be a positive integer, got {threads!r}")

    dims, samples = dims_from_samples(samples, free_dimensions)

    def load() -> ModuleOp:
        module = load_float_model(model, node_constants=True, dims=dims)
        MlasThreadsPass(threads).apply(make_context(), module)
        return module

    stats = collect_statistics(
        load,
        samples,
        histogram=plan,
        edges_for=histogram_edges if plan is not None else None,
        executor=executor,
        progress=progress,
        source=_model_source(model),
        variant=f"ort_threads={threads}{dims.key()}",
    )
    return choose_ranges(stats.values(), options)
