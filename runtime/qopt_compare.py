"""`qopt`'s flags for the per-tensor accuracy report: --compare, --report, --plot.

    qopt model_int8.onnx --compare model_fp32.onnx --inputs x.npz
    qopt model_int8.onnx --compare model_fp32.onnx --inputs x.npz --report r.json --plot r.png
    qopt model_fp32.onnx --quantize cfg.json --calibration-table t.json \\
        --compare model_fp32.onnx --inputs x.npz

The input module (as read, or as --quantize made it) is the quantized model; the table
(`runtime.accuracy_report`) replaces the printed IR on stdout.
"""

from __future__ import annotations

import argparse
import importlib.util
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xdsl.dialects.builtin import ModuleOp


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "accuracy report",
        "compare the quantized module with its float model tensor by tensor (ONNX names), "
        "on --inputs: cumulative and local SQNR, clipped share, int16 saturation hazard",
    )
    group.add_argument("--compare", metavar="FLOAT_MODEL", help="the float model (.onnx/.mlir)")
    group.add_argument("--report", metavar="R.json", help="also write one JSON record per tensor")
    group.add_argument("--plot", metavar="R.png", help="also plot SQNR per tensor (matplotlib)")


def requested(args: argparse.Namespace) -> bool:
    return bool(args.compare)


def apply(module: ModuleOp, args: argparse.Namespace) -> str:
    """The report's table; --report and --plot files are written on the way."""
    from runtime.accuracy import AccuracyError, compare
    from runtime.qopt_errors import QoptError

    if not args.inputs:
        raise QoptError("--compare needs --inputs FILE.npz (the inputs both models run on)")
    if args.plot and importlib.util.find_spec("matplotlib") is None:
        raise QoptError("--plot needs matplotlib, which is not installed (pip install matplotlib)")
    try:
        report = compare(module, args.compare, args.inputs)
        target = args.report
        if args.report:
            report.write_json(args.report)
        if args.plot:
            from runtime.accuracy_plot import plot_report

            target = args.plot
            plot_report(report, args.plot)
    except AccuracyError as err:
        raise QoptError(str(err)) from None
    except OSError as err:
        raise QoptError(f"cannot write '{target}': {err.strerror}") from None
    return report.table()
