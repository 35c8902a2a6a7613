"""`qopt`'s flags for accuracy-aware tuning: --tune and its criterion.

    qopt model_fp32.onnx --quantize cfg.json --calibration-data d.npz \\
        --tune evaluate.py:score --tolerance 0.01 -o model_int8.mlir

`--tune FILE.py:FUNCTION` loads the evaluation function from a file (`runtime.tuning`: it is
called with the model, a callable from inputs by name to outputs by name, and returns a number).
The best module takes the place of what `--quantize` alone would make (printed, `-o`, passes,
`--run`, `--compare`); the trial log goes to stderr. `--reference` evaluates in the reference
interpreter instead of compiled C (the same numbers, no C compiler).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xdsl.dialects.builtin import ModuleOp

from runtime.qopt_errors import QoptError

CRITERION_FLAGS = ("tolerance", "tolerance_mode", "lower_is_better", "max_trials", "timeout")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "accuracy-aware tuning",
        "with --quantize: quantize, evaluate, keep float the nodes with the worst local SQNR "
        "one more per trial until the score meets the target (Intel Neural Compressor's "
        "AccuracyCriterion: relative base*(1-tolerance), absolute base-tolerance; strictly "
        "better); --reference evaluates in the interpreter instead of compiled C",
    )
    group.add_argument(
        "--tune",
        metavar="FILE.py:FUNCTION",
        help="the evaluation function: called with the model (inputs dict -> outputs dict), "
        "returns a score",
    )
    group.add_argument(
        "--tolerance", type=float, metavar="LOSS", help="tolerated loss (default 0.01)"
    )
    group.add_argument(
        "--tolerance-mode",
        choices=("relative", "absolute"),
        help="relative to the float model's score (default) or absolute",
    )
    group.add_argument(
        "--lower-is-better", action="store_true", default=None, help="the score is a loss"
    )
    group.add_argument("--max-trials", type=int, metavar="N", help="at most N trials (100)")
    group.add_argument(
        "--timeout", type=float, metavar="SECONDS", help="no new trial after this (0: no limit)"
    )


def requested(args: argparse.Namespace) -> bool:
    """Whether --tune was given; criterion flags without it are an error."""
    if not args.tune:
        given = [f for f in CRITERION_FLAGS if getattr(args, f) is not None]
        if given:
            raise QoptError(f"--{given[0].replace('_', '-')} needs --tune FILE.py:FUNCTION")
        return False
    if not args.quantize:
        raise QoptError("--tune needs --quantize CONFIG.json (the configuration to tune)")
    return True


def load_function(spec: str):
    """The function `FUNCTION` of the Python file `FILE.py`, from `FILE.py:FUNCTION`."""
    path_text, _, name = spec.rpartition(":")
    if not path_text or not name:
        raise QoptError(f"--tune expects FILE.py:FUNCTION, got '{spec}'")
    path = Path(path_text)
    if not path.is_file():
        raise QoptError(f"--tune: no such file: '{path}'")
    loader = importlib.util.spec_from_file_location(f"qopt_tune_{path.stem}", path)
    if loader is None or loader.loader is None:
        raise QoptError(f"--tune: '{path}' is not a Python file")
    module = importlib.util.module_from_spec(loader)
    try:
        loader.loader.exec_module(module)
    except Exception as err:  # noqa: BLE001 - the user's file: one line, naming it
        detail = str(err).splitlines()[0] if str(err) else ""
        raise QoptError(
            f"--tune: loading '{path}' raised {type(err).__name__}"
            + (f": {detail}" if detail else "")
        ) from None
    function = getattr(module, name, None)
    if not callable(function):
        raise QoptError(f"--tune: '{path}' has no function '{name}'")
    return function


def _options(args: argparse.Namespace) -> dict:
    """The keyword options of `tune` the flags set (the rest keep tune's defaults)."""
    options = {
        "tolerance": args.tolerance,
        "tolerance_mode": args.tolerance_mode,
        "higher_is_better": False if args.lower_is_better else None,
        "max_trials": args.max_trials,
        "timeout": args.timeout,
    }
    return {key: value for key, value in options.items() if value is not None}


def apply(module: ModuleOp, args: argparse.Namespace) -> ModuleOp:
    """The best module the tuning found (stderr: the trials and what stayed float)."""
    from qdialect.quant_config import ConfigError
    from rewrites.quantize_static import QuantizeError
    from runtime.qopt_quantize import _table as calibration_table  # --quantize's table
    from runtime.quantization import read_config
    from runtime.tuning import TuneError, tune

    evaluate = load_function(args.tune)
    try:
        config = read_config(args.quantize)
        table = calibration_table(module, args, config)
        result = tune(
            module,
            table,
            config,
            evaluate,
            backend="reference" if args.reference else "compiled",
            progress=False if args.quiet else None,
            **_options(args),
        )
    except (TuneError, ConfigError, QuantizeError, ValueError, OSError) as err:
        raise QoptError(str(err)) from None
    kept = sorted(result.config.nodes_to_exclude)
    print(f"qopt: kept float: {', '.join(kept) or 'none'}", file=sys.stderr)
    if not result.met:
        print(
            f"qopt: warning: no trial met the target; writing the best score "
            f"(trial {result.best.number})",
            file=sys.stderr,
        )
    return result.module
