"""SmoothQuant before calibration (INC's `smooth_quant` recipe): statistics, scales, rewrite.

    summary = smooth_module(module, "calib.npz", SmoothQuantRecipe(alpha=0.5))

The per-channel statistic INC needs (a percentile of |X| per input channel) is no min/max or
histogram the observers keep, so it is taken the simple way: the entry function, compiled with
the smoothed ops' inputs as extra results, runs on every calibration sample and the statistic
is INC's over all of them (`qdialect.calibration.smoothing`). That holds those inputs for
every sample in memory, as INC's ONNX adaptor does. The module is then rewritten in place
(`rewrites.smooth_quant`) and calibrates and quantizes as any float module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from xdsl.dialects.builtin import ModuleOp

from qdialect.calibration.smoothing import channel_max, smooth_scale
from qdialect.recipes import SmoothQuantRecipe
from rewrites.smooth_quant import Skipped, Target, describe, plan, smooth
from runtime.samples import CalibrationDataError, check_sample, input_specs, open_samples
from runtime.signature import find_function, return_extra


@dataclass(frozen=True)
class SmoothSummary:
    """What SmoothQuant did: the ops smoothed (with their s) and the ops left, with why."""

    smoothed: tuple[str, ...]
    scales: tuple[np.ndarray, ...]
    skipped: tuple[Skipped, ...]


def activation_maxima(module: ModuleOp, entry: str, count: int, samples: Any) -> list[np.ndarray]:
    """max|X_j| (INC's percentile) of the inputs of the first `count` targets of `entry`."""
    from runtime.compiled import compile_module

    probe = module.clone()
    function = find_function(probe, entry)
    targets, _ = plan(function)
    return_extra(function, [t.layer.op.input for t in targets[:count]])
    compiled = compile_module(probe, entry)
    specs = input_specs(compiled.function)
    seen: list[list[np.ndarray]] = [[] for _ in range(count)]
    source = open_samples(samples, specs)
    for label, sample in source.labelled():
        outputs = compiled(*check_sample(label, sample, specs))
        for kept, array in zip(seen, outputs[len(outputs) - count :], strict=True):
            kept.append(np.asarray(array, np.float32))
    if count and not seen[0]:
        raise CalibrationDataError("calibration data is empty: no samples")
    return [channel_max(arrays) for arrays in seen]


def smooth_module(
    module: ModuleOp, samples: Any, recipe: SmoothQuantRecipe, entry: str | None = None
) -> SmoothSummary:
    """Smooth `entry` of `module` in place with scales from `samples` (see module doc)."""
    function = find_function(module, entry)
    name = function.sym_name.data
    targets, skipped = plan(function)
    maxima = activation_maxima(module, name, len(targets), samples) if targets else []
    scales = [_scale(t, m, recipe.alpha) for t, m in zip(targets, maxima, strict=True)]
    smoothed = tuple(describe(t.layer.op) for t in targets)
    smooth(targets, scales)
    module.verify()
    return SmoothSummary(smoothed, tuple(scales), tuple(skipped))


def _scale(target: Target, act_max: np.ndarray, alpha: float) -> np.ndarray:
    layer = target.layer
    return smooth_scale(act_max, layer.input_rows(layer.weight()), alpha)
