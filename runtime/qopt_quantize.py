"""`qopt`'s flags for making quantized models: --calibrate, --quantize and their data.

    qopt m.onnx --quantize config.json --calibration-data calib.npz -o m_int8.mlir
    qopt m.onnx --calibrate calib.npz --calibrate-method entropy --calibration-table t.json
    qopt m.onnx --quantize config.json --calibration-table t.json --run --inputs x.npz

`--calibration-table` behaves as `quantize_static`'s `calibration_cache_path`: an existing
file is read (no calibration runs), otherwise calibration runs and writes it. A config with
INC's `smooth_quant` recipe smooths the model on `--calibration-data` first (required), so the
table is the smoothed model's. The quantized
module then goes on like any other: passes, `--run`, `--emit-c` or printing.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xdsl.dialects.builtin import ModuleOp


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "making quantized models",
        "calibrate a float model on sample data and quantize it as ONNX Runtime's "
        "quantize_static does (config: its keyword arguments as JSON)",
    )
    group.add_argument("--quantize", metavar="CONFIG.json", help="quantize the float model")
    group.add_argument(
        "--calibration-data",
        metavar="PATH",
        help="samples: an .npz whose arrays have a leading axis of samples, or a directory "
        "of .npz files (one sample each)",
    )
    group.add_argument(
        "--calibration-table",
        metavar="TABLE.json",
        help="ONNX Runtime's JSON calibration cache: read if it exists, else written; "
        "an existing file may be NNI's calibration config (JSON, or torch.save with torch)",
    )
    group.add_argument(
        "--calibrate",
        metavar="PATH",
        help="calibrate on these samples and print the calibrated IR (quant.qcast/dcast "
        "through !quant.calibrated)",
    )
    group.add_argument(
        "--calibrate-method",
        metavar="METHOD",
        help="minmax, percentile, entropy, mse, kl-glow (default: the config's "
        "calibrate_method, else minmax)",
    )
    group.add_argument(
        "--ort-threads",
        metavar="N",
        type=int,
        help="calibrate with the float sums of an ONNX Runtime session on N intra-op threads "
        "(default: ORT's default on this host, the session quantize_static calibrates with)",
    )
    group.add_argument("--quiet", action="store_true", help="no progress bar")


def requested(args: argparse.Namespace) -> bool:
    return bool(args.quantize or args.calibrate or args.fake)


def _method(args: argparse.Namespace, config) -> str:
    if args.calibrate_method:
        return args.calibrate_method
    return config.calibrate_method if config is not None else "minmax"


def _table(module: ModuleOp, args: argparse.Namespace, config):
    """The calibration table: calibrated now, or read from --calibration-table."""
    from runtime.quantization import calibrate

    data = args.calibrate or args.calibration_data
    table_path = Path(args.calibration_table) if args.calibration_table else None
    if table_path is not None and table_path.is_file() and not args.calibrate:
        from qdialect.calibration.nni_config import read_calibration

        return read_calibration(table_path)
    if data is None:
        return None
    extra = config.extra_options if config is not None else {}
    table = calibrate(
        module,
        data,
        _method(args, config),
        extra_options={k: v for k, v in extra.items() if k.startswith("Calib")},
        progress=False if args.quiet else None,
        ort_threads=args.ort_threads,
    )
    if table_path is not None:
        table.write(table_path)
    return table


def _smoothed(module: ModuleOp, args: argparse.Namespace, config):
    """The module smoothed by the config's smooth_quant recipe (on --calibration-data), and
    the config without the recipe (what is left to do is calibrate and quantize)."""
    from dataclasses import replace

    from runtime.qopt_errors import QoptError
    from runtime.quantization import smooth

    if args.calibration_data is None:
        raise QoptError(
            "the smooth_quant recipe needs --calibration-data: its scales come from the "
            "activations, which a calibration table does not hold"
        )
    module = module.clone()
    summary = smooth(module, args.calibration_data, config.smooth_quant)
    done = ", ".join(summary.smoothed) or "no op"
    print(f"qopt: smooth_quant: smoothed {done}", file=sys.stderr)
    for left in summary.skipped:
        print(f"qopt: smooth_quant: left {left.node}: {left.reason}", file=sys.stderr)
    return module, replace(config, smooth_quant=None)


def apply(module: ModuleOp, args: argparse.Namespace) -> ModuleOp:
    """The calibrated or quantized module the flags ask for."""
    from qdialect.quant_config import ConfigError
    from rewrites.quantize_static import QuantizeError
    from runtime.qopt_errors import QoptError
    from runtime.qopt_fake import form
    from runtime.quantization import QuantizeWarning, calibrated_module, quantize, read_config

    output_form = form(args)
    try:
        config = read_config(args.quantize) if args.quantize else None
        if config is not None and config.smooth_quant is not None:
            module, config = _smoothed(module, args, config)
        table = _table(module, args, config)
        if config is None:
            return calibrated_module(module, table)
        with warnings.catch_warnings():  # printed below, once, in qopt's words
            warnings.simplefilter("ignore", QuantizeWarning)
            result = quantize(module, table, config, form=output_form)
    except (ConfigError, QuantizeError, ValueError, OSError) as err:
        raise QoptError(str(err)) from None
    summary = result.summary
    print(f"qopt: quantized {len(summary.quantized)} node(s)", file=sys.stderr)
    if summary.left_float:
        print(f"qopt: left float: {', '.join(summary.left_float)}", file=sys.stderr)
    for key in dict.fromkeys(summary.unmatched_rules):
        print(f"qopt: warning: rule {key} matches no node", file=sys.stderr)
    return result.module
