"""Accuracy-aware tuning (`runtime.tuning`, `qopt --tune`) on a model with one broken layer.

The model is a three-layer MLP (Gemm+Relu, Gemm+Relu, Gemm). fc1's bias kills one hidden
channel (it is always negative before the Relu, so always 0 after), and fc2's weight row for
that channel holds one outlier of 60: the float model never sees it, but a per-tensor int8
weight scale of 60/127 rounds every other fc2 weight (|w| < 1) to a handful of levels. So
quantizing fc2 breaks the output while quantizing fc1 or fc3 does not. The score is
`1 − ‖y − y_ort‖ / ‖y_ort‖` against ONNX Runtime's float outputs on evaluation inputs.

Keeping fc2 float is not enough when ONNX Runtime runs the model: between fc1's quantized
output and fc3's quantized input, fc2 sits between a DequantizeLinear and a QuantizeLinear, and
ORT's session quantizes its weight per tensor anyway (WeightBiasQuantization; qnn-default does
as ORT does, and ours equals ORT's output to the bit). fc3 must go float too, which breaks the
pattern; the tuner finds that in its third trial.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from runtime.accuracy import compare  # noqa: E402
from runtime.qopt import run  # noqa: E402
from runtime.quantization import calibrate, quantize  # noqa: E402
from runtime.tuning import AccuracyCriterion, TuneError, model_runner, tune  # noqa: E402

from .onnxruntime_session import run_ort  # noqa: E402

F32 = np.float32
ROWS, WIDTH, CLASSES, DEAD = 32, 16, 10, 3
CONFIG = {"per_channel": False, "activation_type": "QUInt8", "weight_type": "QInt8"}


def broken_mlp(rng: np.random.Generator) -> onnx.ModelProto:
    """fc1 → relu1 → fc2 → relu2 → fc3; fc2 has an outlier weight on a dead channel."""
    w = {
        "w1": (rng.standard_normal((WIDTH, WIDTH)) * 0.3).astype(F32),
        "b1": (rng.standard_normal(WIDTH) * 0.1).astype(F32),
        "w2": (rng.standard_normal((WIDTH, WIDTH)) * 0.3).astype(F32),
        "b2": (rng.standard_normal(WIDTH) * 0.1).astype(F32),
        "w3": (rng.standard_normal((WIDTH, CLASSES)) * 0.3).astype(F32),
        "b3": (rng.standard_normal(CLASSES) * 0.1).astype(F32),
    }
    w["b1"][DEAD] = -10.0
    w["w2"][DEAD, :] = 0.0
    w["w2"][DEAD, 0] = 60.0
    nodes = [
        helper.make_node("Gemm", ["x", "w1", "b1"], ["h1"], name="fc1"),
        helper.make_node("Relu", ["h1"], ["a1"], name="relu1"),
        helper.make_node("Gemm", ["a1", "w2", "b2"], ["h2"], name="fc2"),
        helper.make_node("Relu", ["h2"], ["a2"], name="relu2"),
        helper.make_node("Gemm", ["a2", "w3", "b3"], ["y"], name="fc3"),
    ]
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [ROWS, WIDTH])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [ROWS, CLASSES])],
        [numpy_helper.from_array(v, k) for k, v in w.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)


@pytest.fixture(scope="module")
def case():
    """(float model, calibration samples, their table, eval input, ORT's float output)."""
    rng = np.random.default_rng(0)
    model = broken_mlp(rng)
    samples = [{"x": rng.standard_normal((ROWS, WIDTH)).astype(F32)} for _ in range(4)]
    x = rng.standard_normal((ROWS, WIDTH)).astype(F32)
    (reference,) = run_ort(model, {"x": x})
    return model, samples, calibrate(model, samples, progress=False), x, reference


def closeness(x, reference):
    """Higher is better: 1 − relative L2 error of the model's output."""

    def score(model) -> float:
        y = model({"x": x})["y"]
        return float(1.0 - np.linalg.norm(y - reference) / np.linalg.norm(reference))

    return score


def scripted(scores: list[float], x):
    """An evaluation function that runs the model, then returns the next of `scores`."""
    given = iter(scores)

    def score(model) -> float:
        model({"x": x})
        return next(given)

    return score


def test_tuning_keeps_the_broken_layer_float_as_onnxruntime_runs_it(case, capsys) -> None:
    model, _, table, x, reference = case
    score = closeness(x, reference)
    result = tune(model, table, CONFIG, score, tolerance=0.1, backend="reference")
    assert [(t.number, t.float_nodes, t.passed) for t in result.trials] == [
        (1, (), False),
        (2, ("fc2",), False),
        (3, ("fc2", "fc3"), True),
    ]
    assert result.met and result.best == result.trials[2]
    assert result.config.nodes_to_exclude == frozenset({"fc2", "fc3"})
    # the Relu between them reads fc2's float output: ORT keeps it float too
    assert result.summary.left_float == ["Gemm 'fc2'", "Relu 'relu2'", "Gemm 'fc3'"]
    assert "Gemm 'fc1'" in result.summary.quantized
    assert result.base_score == pytest.approx(1.0, abs=1e-6)  # float32 sums in another order
    assert result.target == result.base_score * (1 - 0.1)
    # the module returned is the one scored, and fc2 alone is the culprit
    assert score(model_runner(result.module, "reference")) == result.trials[2].score
    for other in ("fc1", "fc3"):
        alone = quantize(model, table, {**CONFIG, "nodes_to_exclude": [other]}).module
        assert score(model_runner(alone, "reference")) <= result.target, other
    err = re.sub(r"\(\d+\.\d\d s\)", "(T s)", capsys.readouterr().err)
    s1, s2, s3 = (f"{t.score:.6g}" for t in result.trials)
    order = ", ".join(f"{node} ({db:.2f} dB)" for node, db in ranked(model, table, x))
    assert err.splitlines() == [
        "tune: float model: score 1, target > 0.9 (relative loss 0.1)",
        f"tune: trial 1: all quantized: score {s1} fail (T s)",
        f"tune: fallback order, worst local SQNR first: {order}",
        f"tune: trial 2: float fc2: score {s2} fail (T s)",
        f"tune: trial 3: float fc2, fc3: score {s3} pass (T s)",
        f"tune: best: trial 3: float fc2, fc3: score {s3} pass (T s)",
    ]
    assert order.startswith("fc2 ")


def ranked(model, table, x) -> list[tuple[str, float]]:
    """(node, local SQNR) of the fully quantized model, worst first, from the report."""
    records = compare(quantize(model, table, CONFIG).module, model, {"x": x}).records
    return [(r.node, r.local_sqnr_db) for r in records if r.op != "input"]


@pytest.mark.parametrize(
    ("mode", "higher", "target"),
    [("relative", True, 0.5625), ("absolute", True, 0.5), ("relative", False, 0.9375)]
    + [("absolute", False, 1.0)],
)
def test_target_and_strictly_better(mode: str, higher: bool, target: float) -> None:
    """INC's AccuracyCriterion on exact binary fractions: base 0.75, loss 0.25; a score equal
    to the target fails, the next float on the better side passes."""
    criterion = AccuracyCriterion(0.25, mode, higher)
    assert criterion.target(0.75) == target
    better = math.nextafter(target, math.inf if higher else -math.inf)
    worse = math.nextafter(target, -math.inf if higher else math.inf)
    assert not criterion.met(target, target)
    assert criterion.met(better, target) and not criterion.met(worse, target)


def test_the_loop_applies_the_strict_rule(case) -> None:
    """A score exactly at the target (1 − 0.5 absolute) fails; the next trial passes."""
    model, _, table, x, _ = case
    score = scripted([1.0, 0.5, 0.5000001], x)
    result = tune(
        model, table, CONFIG, score, tolerance=0.5, tolerance_mode="absolute",
        backend="reference", progress=False,
    )  # fmt: skip
    assert result.target == 0.5
    assert [(t.float_nodes, t.score, t.passed) for t in result.trials] == [
        ((), 0.5, False),
        (("fc2",), 0.5000001, True),
    ]


def test_lower_is_better(case) -> None:
    """The relative error as a loss, absolute tolerance 0.1: target base + 0.1."""
    model, _, table, x, reference = case
    closer = closeness(x, reference)
    result = tune(
        model, table, CONFIG, lambda m: 1.0 - closer(m), tolerance=0.1,
        tolerance_mode="absolute", higher_is_better=False, backend="reference",
    )  # fmt: skip
    assert result.target == result.base_score + 0.1
    assert [(t.float_nodes, t.passed) for t in result.trials] == [
        ((), False),
        (("fc2",), False),
        (("fc2", "fc3"), True),
    ]
    assert result.trials[2].score < result.target < result.trials[1].score


def test_max_trials_and_exhausted_order(case, capsys) -> None:
    """Never met: max_trials stops it and the best score wins; without the limit every
    ranked node goes float, in the report's order, and then it stops."""
    model, _, table, x, _ = case
    result = tune(
        model, table, CONFIG, scripted([1.0, 0.2, 0.3, 0.25], x), max_trials=2,
        backend="reference",
    )  # fmt: skip
    assert [t.float_nodes for t in result.trials] == [(), ("fc2",)]
    assert not result.met and result.best == result.trials[1]
    assert result.config.nodes_to_exclude == frozenset({"fc2"})
    everything = tune(model, table, CONFIG, scripted([1.0] + [0.0] * 9, x), backend="reference")
    order = tuple(node for node, _ in ranked(model, table, x))
    assert order[0] == "fc2" and set(order) == {"fc1", "fc2", "fc3"}
    assert [t.float_nodes for t in everything.trials] == [order[:k] for k in range(4)]
    assert everything.best == everything.trials[0]  # all tie: the fewest float nodes
    assert capsys.readouterr().err.splitlines()[-2] == (
        "tune: every ranked node is float and the target is still missed"
    )
    kept = {**CONFIG, "nodes_to_exclude": ["fc3"]}  # the config's own: never a trial's
    given = tune(model, table, kept, scripted([1.0] + [0.0] * 9, x), backend="reference")
    assert [t.float_nodes for t in given.trials] == [(), ("fc2",), ("fc2", "fc1")]
    assert given.config.nodes_to_exclude == frozenset({"fc3"})


def test_timeout_stops_after_the_first_trial(case, capsys) -> None:
    model, _, table, x, _ = case
    result = tune(
        model, table, CONFIG, scripted([1.0, 0.0, 0.0], x), timeout=1e-9, backend="reference"
    )
    assert len(result.trials) == 1
    assert "tune: timeout after 1 trial(s)" in capsys.readouterr().err.splitlines()


def test_progress_bar_counts_trials(case, capsys) -> None:
    """progress=True: a tqdm bar on stderr counting trials, its total cut to the ranking's
    length + 1 once the ranking is known; the log lines stay whole above it."""
    model, _, table, x, _ = case
    tune(model, table, CONFIG, scripted([1.0, 0.0, 1.0], x), backend="reference", progress=True)
    err = capsys.readouterr().err
    assert "tuning:" in err and "2/4 [" in err
    assert "\rtune: trial 2: float fc2: score 1 pass (" in err  # tqdm.write clears the bar


def test_samples_are_calibrated_with_the_config_method(case) -> None:
    """Samples instead of a table: the same ranges as `calibrate`, so the same trials."""
    model, samples, table, x, reference = case
    score = closeness(x, reference)
    from_table = tune(model, table, CONFIG, score, tolerance=0.1, backend="reference")
    from_samples = tune(model, samples, CONFIG, score, tolerance=0.1, backend="reference")
    assert from_samples.trials[2].score == from_table.trials[2].score
    assert [t.float_nodes for t in from_samples.trials] == [(), ("fc2",), ("fc2", "fc3")]


def blind(scores: list[float]):
    """An evaluation function that never runs the model."""
    given = iter(scores)
    return lambda model: next(given)


def _raises(model) -> float:
    return {"x": 1}["y"]


def _text(model) -> float:
    model({"x": np.zeros((ROWS, WIDTH), F32)})
    return "high"  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("evaluate", "message"),
    [
        (_raises, "the evaluation function '_raises' raised KeyError: 'y'"),
        (_text, "the evaluation function '_text' returned str 'high', not a number"),
        (lambda m: math.nan, "the evaluation function '<lambda>' returned nan"),
        (
            blind([1.0, 0.0]),
            "the evaluation function never ran the model: give inputs= for the per-layer report",
        ),
    ],
)
def test_evaluation_errors(case, evaluate, message: str) -> None:
    model, _, table, _, _ = case
    with pytest.raises(TuneError) as err:
        tune(model, table, CONFIG, evaluate, backend="reference")
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"tolerance": -0.5}, "the tolerance must be a number >= 0, got -0.5"),
        ({"tolerance": 1.0}, "a relative tolerance must be below 1, got 1.0"),
        (
            {"tolerance_mode": "percent"},
            "tolerance mode must be relative or absolute, got 'percent'",
        ),
        ({"max_trials": 0}, "max_trials must be a positive integer, got 0"),
        ({"timeout": -1}, "timeout must be a number of seconds >= 0, got -1"),
    ],
)
def test_bad_options(case, options: dict, message: str) -> None:
    model, _, table, x, _ = case
    with pytest.raises(TuneError) as err:
        tune(model, table, CONFIG, scripted([1.0], x), backend="reference", **options)
    assert str(err.value) == message


EVALUATE = """from pathlib import Path

import numpy as np

data = np.load(Path(__file__).with_name("eval.npz"))


def score(model):
    y = model({"x": data["x"]})["y"]
    return float(1 - np.linalg.norm(y - data["y"]) / np.linalg.norm(data["y"]))


def loss(model):
    return 1 - score(model)


def crash(model):
    return 1 / 0


def text(model):
    return "high"
"""


def qopt_files(case, tmp_path: Path) -> list[str]:
    """model_fp32.onnx, cfg.json, calib.npz (the fixture's samples), evaluate.py, eval.npz."""
    model, samples, _, x, reference = case
    onnx.save(model, tmp_path / "model_fp32.onnx")
    (tmp_path / "cfg.json").write_text(json.dumps(CONFIG))
    np.savez(tmp_path / "calib.npz", x=np.stack([s["x"] for s in samples]))
    np.savez(tmp_path / "eval.npz", x=x, y=reference)
    (tmp_path / "evaluate.py").write_text(EVALUATE)
    return [str(tmp_path / "model_fp32.onnx"), "--quantize", str(tmp_path / "cfg.json")] + [
        "--calibration-data",
        str(tmp_path / "calib.npz"),
    ]


def test_qopt_tune_writes_the_best_module(case, tmp_path: Path, capsys) -> None:
    """The README's command (compiled C): the output is the model quantized with exactly fc2
    and fc3 kept float, the trial log on stderr."""
    from qdialect.textio import print_module

    model, _, table, _, _ = case
    argv = qopt_files(case, tmp_path) + ["--tune", f"{tmp_path / 'evaluate.py'}:score"]
    out = tmp_path / "out.mlir"
    assert run([*argv, "--tolerance", "0.1", "-o", str(out), "--quiet"]) == 0
    expected = quantize(model, table, {**CONFIG, "nodes_to_exclude": ["fc2", "fc3"]}).module
    assert out.read_text() == print_module(expected)
    err = capsys.readouterr().err.splitlines()
    assert [line.split(": ")[1] for line in err if line.startswith("tune: trial")] == [
        "trial 1",
        "trial 2",
        "trial 3",
    ]
    assert err[-1] == "qopt: kept float: fc2, fc3"


def test_qopt_criterion_flags(case, tmp_path: Path, capsys) -> None:
    """A loss, absolute tolerance, one trial: not met, the fully quantized module is written."""
    from qdialect.textio import print_module

    model, _, table, _, _ = case
    argv = qopt_files(case, tmp_path) + ["--tune", f"{tmp_path / 'evaluate.py'}:loss"]
    argv += ["--lower-is-better", "--tolerance-mode", "absolute", "--tolerance", "0.01"]
    out = tmp_path / "out.mlir"
    argv += ["--max-trials", "1", "--timeout", "100", "--reference", "-o", str(out), "--quiet"]
    assert run(argv) == 0
    assert out.read_text() == print_module(quantize(model, table, CONFIG).module)
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("tune: float model: score ")
    assert err[0].endswith(" (absolute loss 0.01)") and ", target < " in err[0]
    assert err[-2:] == [
        "qopt: kept float: none",
        "qopt: warning: no trial met the target; writing the best score (trial 1)",
    ]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--tune", "{tmp}/nope.py:score"], "--tune: no such file: '{tmp}/nope.py'"),
        (
            ["--tune", "{tmp}/evaluate.py:nope"],
            "--tune: '{tmp}/evaluate.py' has no function 'nope'",
        ),
        (
            ["--tune", "{tmp}/evaluate.py"],
            "--tune expects FILE.py:FUNCTION, got '{tmp}/evaluate.py'",
        ),
        (
            ["--tune", "{tmp}/bad.py:score"],
            "--tune: loading '{tmp}/bad.py' raised RuntimeError: no data",
        ),
        (
            ["--tune", "{tmp}/evaluate.py:crash"],
            "the evaluation function 'crash' raised ZeroDivisionError: division by zero",
        ),
        (
            ["--tune", "{tmp}/evaluate.py:text"],
            "the evaluation function 'text' returned str 'high', not a number",
        ),
        (["--tolerance", "0.1"], "--tolerance needs --tune FILE.py:FUNCTION"),
        (
            ["--tune", "{tmp}/evaluate.py:score", "--tolerance", "2"],
            "a relative tolerance must be below 1, got 2.0",
        ),
    ],
)
def test_qopt_tune_errors(case, tmp_path: Path, capsys, extra: list[str], message: str) -> None:
    argv = qopt_files(case, tmp_path) + [arg.format(tmp=tmp_path) for arg in extra]
    (tmp_path / "bad.py").write_text('raise RuntimeError("no data")\n')
    assert run([*argv, "--reference", "--quiet"]) == 1
    assert capsys.readouterr().err == f"qopt: error: {message.format(tmp=tmp_path)}\n"


def test_qopt_tune_needs_quantize(case, tmp_path: Path, capsys) -> None:
    qopt_files(case, tmp_path)
    argv = [str(tmp_path / "model_fp32.onnx"), "--tune", f"{tmp_path / 'evaluate.py'}:score"]
    assert run(argv) == 1
    assert capsys.readouterr().err == (
        "qopt: error: --tune needs --quantize CONFIG.json (the configuration to tune)\n"
    )
