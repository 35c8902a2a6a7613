"""Accuracy-aware tuning: quantize, evaluate, keep float the nodes that cost the accuracy.

    def score(model):                      # model: inputs by name -> outputs by name
        y = model({"x": x_eval})["y"]
        return float(np.mean(y.argmax(1) == labels))

    result = tune("model_fp32.onnx", "calib.npz", {"per_channel": True}, score, tolerance=0.01)
    result.module                          # the best quantized module (QDQ form)
    result.config.nodes_to_exclude         # what it keeps float

The evaluation function is called with a *model*: a callable taking the inputs (a mapping of
argument name to numpy array, the float model's names and dtypes) and returning the outputs
(a dict by result name, the ONNX output names). It runs the float model once (the base score)
and each trial's quantized module, as `compile_module` runs it (`backend="compiled"`) or as the
reference interpreter runs the same rewritten module (`backend="reference"`, bit for bit the
same numbers, slower, no C compiler). It returns a number, higher is better unless told.

The criterion is Intel Neural Compressor's `AccuracyCriterion`: with the base score b (the float
model's) and the tolerated loss l, the target is `b·(1−l)` (relative, the default, l = 0.01) or
`b − l` (absolute), mirrored when lower is better (`b·(1+l)`, `b + l`); a trial passes only if
its score is strictly better than the target, as INC compares (`acc > target`).

The search (Neural Compressor's "basic" strategy, reordered): trial 1 quantizes everything the
config quantizes. If it misses the target, the per-layer report (`runtime.accuracy.compare`)
runs once, on trial 1's module and the first inputs the evaluation function gave the float
model (or `inputs`), and the nodes are ranked by local SQNR, worst first; trial k keeps the
k−1 worst float (`nodes_to_exclude`, added to the config's own), until a trial passes, the
ranking is used up, `max_trials` trials ran, or `timeout` seconds passed (0: no limit).

INC's basic strategy tunes op-type-wise first (quantization schemes per op type), then falls
back ops to a higher precision one at a time, bottom-up, one evaluation per op, to learn each
op's accuracy impact, and then falls back cumulatively in that order. Learning the order costs
it as many evaluations as there are ops; the local SQNR (each op run quantized on the float
model's own inputs, so it measures that op's error only) orders them from two interpreter runs
on one input and goes straight to the likely culprit: one broken layer is found in 2 trials.
The price: local SQNR measures tensor fidelity, not the task metric, so an op the metric is
unusually sensitive to may come later in the order (the cumulative fallback still reaches it).
INC's `timeout=0` means "stop at the first configuration that meets the target"; here every
run stops there (more float nodes cannot be better without a performance objective), so
`timeout` is only a time budget.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import numbers
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from xdsl.dialects.builtin import ModuleOp

from qdialect.quant_config import QuantizeConfig
from rewrites.quantize_static import QuantizeSummary
from runtime.quantization import QuantizeResult, load_float_model, quantize, read_config

Model = Callable[[Mapping[str, np.ndarray]], dict[str, np.ndarray]]
Evaluate = Callable[[Model], float]
Backend = Literal["compiled", "reference"]
MODES = ("relative", "absolute")


class TuneError(ValueError):
    """Tuning cannot go on (bad option, failing evaluation function); one line."""


@dataclass(frozen=True)
class AccuracyCriterion:
    """Neural Compressor's `AccuracyCriterion(higher_is_better, criterion, tolerable_loss)`
    as `(higher_is_better, mode, tolerance)`."""

    tolerance: float = 0.01
    mode: str = "relative"
    higher_is_better: bool = True

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise TuneError(f"tolerance mode must be relative or absolute, got {self.mode!r}")
        if not (self.tolerance >= 0 and math.isfinite(self.tolerance)):
            raise TuneError(f"the tolerance must be a number >= 0, got {self.tolerance}")
        if self.mode == "relative" and self.tolerance >= 1:
            raise TuneError(f"a relative tolerance must be below 1, got {self.tolerance}")

    def target(self, base: float) -> float:
        """The score a trial must beat: `base·(1∓l)` (relative) or `base ∓ l` (absolute)."""
        sign = -1.0 if self.higher_is_better else 1.0
        if self.mode == "relative":
            return base * (1.0 + sign * self.tolerance)
        return base + sign * self.tolerance

    def met(self, score: float, target: float) -> bool:
        """Strictly better than the target, as Neural Compressor compares."""
        return score > target if self.higher_is_better else score < target

    def describe(self, target: float) -> str:
        sign = ">" if self.higher_is_better else "<"
        return f"{sign} {target:.6g} ({self.mode} loss {self.tolerance:g})"


@dataclass(frozen=True)
class Trial:
    """One quantize-and-evaluate: the nodes kept float (the tuner's, in fallback order)."""

    number: int
    float_nodes: tuple[str, ...]
    score: float
    passed: bool
    seconds: float

    def line(self) -> str:
        """The trial on one line, e.g. `trial 2: float fc2: score 0.96 pass (0.01 s)`."""
        nodes = self.float_nodes
        if not nodes:
            kept = "all quantized"
        elif len(nodes) <= 3:
            kept = "float " + ", ".join(nodes)
        else:
            kept = f"float {len(nodes)} nodes, last {nodes[-1]}"
        verdict = "pass" if self.passed else "fail"
        score = f"score {self.score:.6g} {verdict}"
        return f"trial {self.number}: {kept}: {score} ({self.seconds:.2f} s)"


@dataclass(frozen=True)
class TuneResult:
    """The best trial's module and config (the first that passed, else the best score), the
    float model's score, the target and every trial in order."""

    module: ModuleOp
    config: QuantizeConfig
    summary: QuantizeSummary
    base_score: float
    target: float
    trials: tuple[Trial, ...]
    best: Trial

    @property
    def met(self) -> bool:
        return self.best.passed


def model_runner(module: ModuleOp, backend: Backend = "compiled") -> Model:
    """`module`'s main function as a `Model`: compiled to C, or in the reference interpreter
    after the same `qnn-default` rewrites (the numbers are the same bit for bit)."""
    from runtime.signature import find_function, result_names

    module = module.clone()
    if backend == "compiled":
        from runtime.compiled import compile_module

        compiled = compile_module(module)
        names = result_names(compiled.function)
        return lambda inputs: dict(zip(names, compiled(**inputs), strict=True))
    if backend != "reference":
        raise TuneError(f"backend must be compiled or reference, got {backend!r}")
    from runtime.qopt_run import apply_qnn_default
    from runtime.reference import run_function

    apply_qnn_default(module)
    entry = find_function(module, None).sym_name.data
    names = result_names(find_function(module, entry))
    return lambda inputs: dict(zip(names, run_function(module, dict(inputs), entry), strict=True))


def score_of(evaluate: Evaluate, model: Model) -> float:
    """`evaluate(model)` as a float; what goes wrong in it is a `TuneError` naming it."""
    name = getattr(evaluate, "__name__", type(evaluate).__name__)
    try:
        value = evaluate(model)
    except Exception as err:
        message = f"{err}".splitlines()[0] if str(err) else ""
        raise TuneError(
            f"the evaluation function '{name}' raised {type(err).__name__}"
            + (f": {message}" if message else "")
        ) from err
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        shown = repr(value)[:40]
        raise TuneError(
            f"the evaluation function '{name}' returned {type(value).__name__} {shown}, "
            "not a number"
        )
    if math.isnan(value):
        raise TuneError(f"the evaluation function '{name}' returned nan")
    return float(value)


def _ranges(module: ModuleOp, calibration: Any, config: QuantizeConfig) -> Any:
    """A table `quantize` reads: `calibration` itself (a table, a mapping, a `.json` cache
    path, None), or the table calibrated on it (samples: `.npz`, a directory, dicts)."""
    is_cache = isinstance(calibration, (str, Path)) and Path(calibration).suffix == ".json"
    if calibration is None or is_cache or isinstance(calibration, Mapping):
        return calibration
    from runtime.quantization import calibrate

    calib = {k: v for k, v in config.extra_options.items() if k.startswith("Calib")}
    return calibrate(
        module, calibration, config.calibrate_method, extra_options=calib, progress=False
    )


def fallback_order(quantized: ModuleOp, float_module: ModuleOp, inputs) -> list[tuple[str, float]]:
    """(node, local SQNR dB) of every node the report names, worst first, each node once."""
    from runtime.accuracy import AccuracyError, compare

    try:
        report = compare(quantized, float_module, inputs)
    except AccuracyError as err:
        raise TuneError(f"cannot rank the nodes by local SQNR: {err}") from None
    order: dict[str, float] = {}
    for record in report.records:
        if record.op != "input" and record.node and record.node not in order:
            order[record.node] = record.local_sqnr_db
    return list(order.items())


def _progress(total: int, progress: bool | None):
    """A tqdm bar on stderr, counting trials: shown on a terminal, or when `progress` says."""
    show = sys.stderr.isatty() if progress is None else progress
    if not show:
        return contextlib.nullcontext(None)
    from tqdm import tqdm

    return tqdm(total=total, desc="tuning", file=sys.stderr, unit="trial")


def _say(bar, line: str) -> None:
    """One log line on stderr, above the progress bar when there is one."""
    if bar is not None:
        bar.write("tune: " + line, file=sys.stderr)
    else:
        print("tune: " + line, file=sys.stderr)


@dataclass(frozen=True)
class _Search:
    """What every trial shares: the float model, its ranges, the config, how to score."""

    float_module: ModuleOp
    ranges: Any
    config: QuantizeConfig
    evaluate: Evaluate
    criterion: AccuracyCriterion
    target: float
    backend: Backend

    def config_for(self, nodes: tuple[str, ...]) -> QuantizeConfig:
        """The config with `nodes` added to its `nodes_to_exclude`."""
        excluded = self.config.nodes_to_exclude | frozenset(nodes)
        return dataclasses.replace(self.config, nodes_to_exclude=excluded)

    def run(self, number: int, nodes: tuple[str, ...]) -> tuple[Trial, QuantizeResult]:
        start = time.perf_counter()
        result = quantize(self.float_module, self.ranges, self.config_for(nodes))
        score = score_of(self.evaluate, model_runner(result.module, self.backend))
        passed = self.criterion.met(score, self.target)
        seconds = time.perf_counter() - start
        return Trial(number, nodes, score, passed, seconds), result

    def better(self, a: Trial, b: Trial) -> bool:
        """Whether `a` beats `b` (on a tie the earlier trial, fewer float nodes, stays)."""
        if a.passed != b.passed:
            return a.passed
        return a.score > b.score if self.criterion.higher_is_better else a.score < b.score


def _recording(model: Model, seen: list[dict[str, np.ndarray]]) -> Model:
    """`model`, remembering the first inputs it is called with (for the report)."""

    def run(inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        if not seen:
            seen.append({k: np.array(v) for k, v in inputs.items()})
        return model(inputs)

    return run


def _check_limits(max_trials: int, timeout: float) -> None:
    if isinstance(max_trials, bool) or not isinstance(max_trials, int) or max_trials < 1:
        raise TuneError(f"max_trials must be a positive integer, got {max_trials!r}")
    if not (timeout >= 0 and math.isfinite(timeout)):
        raise TuneError(f"timeout must be a number of seconds >= 0, got {timeout!r}")


def tune(
    model: Any,
    calibration: Any,
    config: Any,
    evaluate: Evaluate,
    *,
    tolerance: float = 0.01,
    tolerance_mode: str = "relative",
    higher_is_better: bool = True,
    max_trials: int = 100,
    timeout: float = 0.0,
    inputs: Mapping[str, np.ndarray] | None = None,
    backend: Backend = "compiled",
    progress: bool | None = None,
) -> TuneResult:
    """Quantize `model` (a path, `onnx.ModelProto` or float module) under `config` (what
    `quantize` reads) with ranges from `calibration` (a table, cache path or mapping, or
    samples to calibrate on with the config's method), falling back nodes to float until
    `evaluate` meets the criterion (module docs). Each trial is printed on stderr; `progress`:
    a tqdm bar (default: when stderr is a terminal). `inputs`: what the report runs on
    (default: the first inputs `evaluate` gave the float model)."""
    criterion = AccuracyCriterion(float(tolerance), tolerance_mode, higher_is_better)
    _check_limits(max_trials, timeout)
    start = time.perf_counter()
    float_module = load_float_model(model)
    settings = read_config(config)
    seen: list[dict[str, np.ndarray]] = [dict(inputs)] if inputs is not None else []
    base = score_of(evaluate, _recording(model_runner(float_module, backend), seen))
    target = criterion.target(base)
    search = _Search(
        float_module, _ranges(float_module, calibration, settings), settings, evaluate,
        criterion, target, backend,
    )  # fmt: skip
    with _progress(max_trials, progress) as bar:
        _say(bar, f"float model: score {base:.6g}, target {criterion.describe(target)}")
        trials, best = _trials(search, seen, max_trials, start + timeout if timeout else None, bar)
    _say(None, f"best: {best[0].line()}")
    trial, result = best
    return TuneResult(
        result.module,
        search.config_for(trial.float_nodes),
        result.summary,
        base,
        target,
        tuple(trials),
        trial,
    )


def _candidates(search: _Search, first: QuantizeResult, seen, bar) -> Iterator[str]:
    """The fallback order, logged once; needs the inputs the report runs on."""
    if not seen:
        raise TuneError(
            "the evaluation function never ran the model: give inputs= for the per-layer report"
        )
    ranked = fallback_order(first.module, search.float_module, seen[0])
    order = [(node, db) for node, db in ranked if node not in search.config.nodes_to_exclude]
    shown = ", ".join(f"{node} ({db:.2f} dB)" for node, db in order[:5])
    more = f", ... ({len(order)} nodes)" if len(order) > 5 else ""
    _say(bar, f"fallback order, worst local SQNR first: {shown or 'none'}{more}")
    if bar is not None:
        bar.total = min(bar.total, len(order) + 1)
        bar.refresh()
    return iter(node for node, _ in order)


def _trials(search: _Search, seen, max_trials: int, deadline: float | None, bar):
    """Trial 1 quantizes everything; trial k keeps the k-1 worst nodes float."""
    trials: list[Trial] = []
    best: tuple[Trial, QuantizeResult] | None = None
    nodes: tuple[str, ...] = ()
    order: Iterator[str] | None = None
    while len(trials) < max_trials:
        if trials and deadline is not None and time.perf_counter() >= deadline:
            _say(bar, f"timeout after {len(trials)} trial(s)")
            break
        trial, result = search.run(len(trials) + 1, nodes)
        trials.append(trial)
        if bar is not None:
            bar.update(1)
        _say(bar, trial.line())
        if best is None or search.better(trial, best[0]):
            best = (trial, result)
        if trial.passed:
            break
        order = order or _candidates(search, result, seen, bar)
        following = next(order, None)
        if following is None:
            _say(bar, "every ranked node is float and the target is still missed")
            break
        nodes = (*nodes, following)
    assert best is not None
    return trials, best
