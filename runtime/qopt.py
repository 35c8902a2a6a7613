"""`qopt`: parse, verify, rewrite and print quant/qnn IR, in the manner of `mlir-opt`.

    qopt model.mlir                          # parse, verify, print
    qopt model.mlir --print-op-generic       # generic form (readable by mlir-opt)
    qopt model.mlir -p 'pass-a,pass-b{opt=v}' -o out.mlir
    qopt invalid.mlir --split-input-file --verify-diagnostics
    qopt model_int8.onnx -p qnn-default --run --inputs x.npz --bench
    qopt model.mlir --emit-c                 # C of every public function, one unit
    qopt model.mlir --run --reference --inputs x.npz   # the interpreter, on what --run compiles

`--emit-c` and `--run` rewrite the module with `qnn-default` first, and so does `--run
--reference`: the interpreter then runs the module the C was compiled from, and the two agree
bit for bit. `fold-qdq` (part of qnn-default) reads QDQ groups as ONNX Runtime's integer kernels
do, which is not an exact rewrite of the float ops between them; `--no-qnn-default` makes
`--run --reference` interpret the module as given (after `-p`), the literal reading.

Inputs are read by a frontend chosen by file extension (`.mlir` text, `.onnx` models through
`qdialect.onnx_import`) or by `--frontend`, as xDSL's `available_frontends` does.

Bad input of any kind ends with `file:line:col: error: message` on stderr and exit status 1.
Set QOPT_DEBUG=1 to see the Python traceback of an internal error instead.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from runtime import qopt_cached, qopt_compare, qopt_fake, qopt_quantize, qopt_run, qopt_tune
from runtime.qopt_errors import QoptError
from runtime.qopt_run import emit_c, run_module

if TYPE_CHECKING:
    from qdialect.textio import IRError
# Everything that imports xDSL (qdialect.textio and up) is imported where it is used: a `--run`
# served by the model cache (runtime.qopt_cached) never imports the compiler.

SPLIT_MARKER = re.compile(r"^// -----", re.MULTILINE)
EXPECTED = re.compile(
    r"//\s*expected-(error|warning|remark|note)\s*(@(?:[+-]\d+|above|below))?\s*\{\{(.*?)\}\}"
)


@dataclass
class Chunk:
    text: str
    line_offset: int


@dataclass
class Expectation:
    line: int
    message: str
    annotation_line: int
    seen: bool = False


def split_chunks(text: str, split: bool) -> list[Chunk]:
    """The input, or its `// -----`-separated pieces with their starting line offsets."""
    if not split:
        return [Chunk(text, 0)]
    chunks, start, offset = [], 0, 0
    for match in SPLIT_MARKER.finditer(text):
        piece = text[start : match.start()]
        chunks.append(Chunk(piece, offset))
        offset += piece.count("\n")
        end = text.find("\n", match.end())
        end = len(text) if end < 0 else end + 1
        offset += text[match.start() : end].count("\n")
        start = end
    chunks.append(Chunk(text[start:], offset))
    return chunks


def expectations(chunk: Chunk) -> list[Expectation]:
    """`// expected-error@+1 {{...}}` annotations of a chunk, MLIR's -verify-diagnostics syntax."""
    found = []
    for index, line in enumerate(chunk.text.split("\n")):
        for match in EXPECTED.finditer(line):
            if match.group(1) != "error":
                continue
            annotation_line = index + 1 + chunk.line_offset
            where = match.group(2)
            target = annotation_line
            if where in ("@above", "@below"):
                target += -1 if where == "@above" else 1
            elif where:
                target += int(where[1:])
            found.append(Expectation(target, match.group(3).strip(), annotation_line))
    return found


LOCATED = re.compile(r"^.+:\d+:\d+: error: ")


def report(err: QoptError) -> None:
    """`qopt: error: message` on stderr; a message located in the input as it is."""
    message = str(err)
    print(message if LOCATED.match(message) else f"qopt: error: {message}", file=sys.stderr)


def _import_onnx(data: bytes, name: str, node_names: bool = False, dims=None):
    """The `.onnx` frontend: a model file to a module (the `onnx` package is loaded only here);
    `dims` (runtime.quantization.InputDims) sizes its dynamic input dimensions."""
    from qdialect.onnx_import import OnnxImportError, import_onnx
    from qdialect.textio import IRError

    free, shapes = (dims.free_dimensions, dims.input_shapes) if dims else (None, None)
    try:
        return import_onnx(data, node_names=node_names, free_dimensions=free, input_shapes=shapes)
    except OnnxImportError as err:
        raise IRError(name, 1, 1, str(err)) from None


# Frontends for binary inputs, by file extension; text (`mlir`) goes through the parser.
AVAILABLE_FRONTENDS = {"onnx": _import_onnx}


def free_dimension(text: str) -> tuple[str, int]:
    """`NAME:SIZE` (or `NAME=SIZE`) of --free-dimension-override."""
    name, sep, size = text.replace("=", ":").rpartition(":")
    if not sep or not name or not size.isdigit() or int(size) < 1:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not NAME:SIZE with a positive SIZE (e.g. batch:1)"
        )
    return name, int(size)


def input_dims(args: argparse.Namespace):
    """What sizes an ONNX model's dynamic input dimensions (runtime.quantization.InputDims):
    --free-dimension-override by name, then the shapes of --inputs' arrays, else of the first
    sample of the calibration data."""
    from runtime.quantization import InputDims
    from runtime.samples import npz_shapes, peek_shapes

    shapes = {}
    calibration = args.calibrate or args.calibration_data
    try:
        if args.inputs:
            shapes = npz_shapes(args.inputs)
        elif calibration:
            shapes = peek_shapes(calibration)[0]
    except ValueError:  # runtime.samples.CalibrationDataError
        pass  # unreadable: the step that reads the file reports it in its own words
    return InputDims(dict(args.free_dimension_override), shapes)


def build_arg_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qopt", description="Parse, verify, rewrite and print quant/qnn IR."
    )
    parser.add_argument("input_file", nargs="?", help="input .mlir or .onnx file (default: stdin)")
    parser.add_argument(
        "--frontend",
        choices=["mlir", *AVAILABLE_FRONTENDS],
        help="how to read the input (default: by file extension, else mlir)",
    )
    parser.add_argument("-o", "--output", help="write the result here instead of stdout")
    parser.add_argument("-p", "--passes", default="", help="pass pipeline, e.g. 'a,b{opt=value}'")
    parser.add_argument("--print-op-generic", action="store_true", help="print generic form")
    parser.add_argument(
        "--split-input-file", action="store_true", help="treat '// -----' pieces separately"
    )
    parser.add_argument(
        "--verify-diagnostics",
        action="store_true",
        help="check errors against '// expected-error' annotations",
    )
    parser.add_argument(
        "--allow-unregistered-dialect", action="store_true", help="accept unknown ops"
    )
    parser.add_argument("--list-passes", action="store_true", help="print pass names and exit")
    parser.add_argument(
        "--free-dimension-override",
        action="append",
        type=free_dimension,
        default=[],
        metavar="NAME:SIZE",
        help="size of an ONNX model's dynamic input dimension NAME, as onnxruntime_perf_test's "
        "-f (repeatable); open dimensions left take the shapes of --inputs' arrays, else of "
        "the first calibration sample",
    )
    qopt_run.add_arguments(parser)
    qopt_quantize.add_arguments(parser)
    qopt_fake.add_arguments(parser)
    qopt_compare.add_arguments(parser)
    qopt_tune.add_arguments(parser)
    return parser


def read_bytes(path: str | None) -> tuple[bytes, str]:
    """(contents, display name) of the input file or stdin."""
    from qdialect.textio import IRError

    name = path or "<stdin>"
    try:
        if path is None:
            return sys.stdin.buffer.read(), name
        with open(path, "rb") as handle:
            return handle.read(), name
    except OSError as err:
        raise IRError(name, 1, 1, f"could not open input file: {err.strerror}") from None


def decode_text(data: bytes, name: str) -> str:
    """The input as text; undecodable bytes raise a located IRError."""
    from qdialect.textio import IRError

    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        prefix = data[: err.start]
        line = prefix.count(b"\n") + 1
        column = err.start - (prefix.rfind(b"\n") + 1) + 1
        raise IRError(
            name, line, column, "input is not UTF-8 text (is this a binary file?)"
        ) from None


def frontend_of(args: argparse.Namespace) -> str:
    if args.frontend:
        return args.frontend
    extension = os.path.splitext(args.input_file or "")[1].lstrip(".")
    return extension if extension in AVAILABLE_FRONTENDS else "mlir"


def build_pipeline(spec: str):
    """The pass pipeline for `-p`; unknown passes or options raise QoptError."""
    from xdsl.passes import PassPipeline
    from xdsl.utils.exceptions import ArgSpecParseError

    from rewrites.registry import PASSES

    if not spec:
        return None
    try:
        return PassPipeline.parse_spec(PASSES, spec)
    # xDSL raises Exception subclasses for bad specs, and ArgSpecParseError (a BaseException)
    # for an option value it cannot read
    except (Exception, ArgSpecParseError) as err:
        known = ", ".join(sorted(PASSES)) or "none registered yet"
        raise QoptError(f"invalid pass pipeline '{spec}': {err} (known passes: {known})") from None


def process_chunk(chunk: Chunk, name: str, args: argparse.Namespace, pipeline) -> str:
    from qdialect.textio import make_context, parse_module

    ctx = make_context(args.allow_unregistered_dialect)
    # A whole input must hold something; a `// -----` piece may be empty, as in mlir-opt.
    module = parse_module(
        chunk.text, name, ctx=ctx, line_offset=chunk.line_offset, allow_empty=args.split_input_file
    )
    return process_module(module, ctx, args, pipeline)


def process_module(module, ctx, args: argparse.Namespace, pipeline) -> str:
    """Calibrate/quantize, rewrite, then run, emit C for, or print `module`."""
    from qdialect.textio import print_module, verify_module

    if qopt_tune.requested(args):
        module = qopt_tune.apply(module, args)
    elif qopt_quantize.requested(args):
        module = qopt_quantize.apply(module, args)
    if pipeline is not None:
        pipeline.apply(ctx, module)
        verify_module(module)
    if qopt_compare.requested(args):
        return qopt_compare.apply(module, args)
    if args.run:
        return run_module(module, args)
    if args.emit_c:
        return emit_c(module, args)
    return print_module(module, generic=args.print_op_generic)


def check_diagnostics(chunk: Chunk, name: str, error: IRError | None) -> list[str]:
    """MLIR -verify-diagnostics: the produced error must be the one annotated, and vice versa."""
    wanted = expectations(chunk)
    problems = []
    if error is not None:
        # One of our errors may carry what MLIR reports as an error plus its cause.
        matches = [e for e in wanted if e.line == error.line and e.message in error.message]
        if not matches:
            problems.append(
                f"{error.file}:{error.line}:{error.column}: error: unexpected error: "
                f"{error.message}"
            )
        for match in matches:
            match.seen = True
    for expected in wanted:
        if not expected.seen:
            problems.append(
                f"{name}:{expected.annotation_line}:1: error: expected error "
                f'"{expected.message}" was not produced'
            )
    return problems


def flag_misuse(args: argparse.Namespace) -> str | None:
    """Why the flags do not go together, or None."""
    if args.no_qnn_default and not (args.run and args.reference):
        return (
            "--no-qnn-default applies to --run --reference only (the C of --run and "
            "--emit-c is compiled from the module qnn-default rewrote)"
        )
    if (args.profile or args.profile_json) and (args.reference or not args.run):
        return "--profile and --profile-json time the compiled C of --run"
    return None


def run(argv: Sequence[str] | None = None) -> int:
    parser = build_arg_parser()
    args = parser.parse_args(argv)
    try:
        cached = qopt_cached.attempt(parser, args, frontend_of(args))
    except QoptError as err:
        report(err)
        return 1
    if cached is not None:
        return _write_output(cached, args, 0)
    from qdialect.textio import IRError

    misuse = flag_misuse(args)
    if misuse is not None:
        report(QoptError(misuse))
        return 1
    if args.list_passes:
        from rewrites.registry import PASSES

        print("\n".join(sorted(PASSES)))
        return 0
    try:
        pipeline = build_pipeline(args.passes)
        data, name = read_bytes(args.input_file)
        frontend = frontend_of(args)
        if frontend == "mlir":
            chunks = split_chunks(decode_text(data, name), args.split_input_file)
        else:
            chunks = [Chunk("", 0)]  # a binary model is one unit
    except QoptError as err:
        report(err)
        return 1
    except IRError as err:
        print(err, file=sys.stderr)
        return 1
    outputs: list[str] = []
    status = 0
    for chunk in chunks:
        try:
            output, error = _process(chunk, frontend, data, name, args, pipeline)
        except QoptError as err:
            report(err)
            return 1
        if output is not None:
            outputs.append(output)
        if args.verify_diagnostics:
            problems = check_diagnostics(chunk, name, error)
            for problem in problems:
                print(problem, file=sys.stderr)
            status |= bool(problems)
        elif error is not None:
            print(error, file=sys.stderr)
            return 1
    return _write_output("// -----\n".join(outputs), args, status)


def _process(
    chunk: Chunk, frontend: str, data: bytes, name: str, args: argparse.Namespace, pipeline
) -> tuple[str | None, IRError | None]:
    """One chunk's output, or the diagnostic it gave instead (a `QoptError` propagates)."""
    from qdialect.textio import IRError, make_context

    try:
        if frontend == "mlir":
            return process_chunk(chunk, name, args, pipeline), None
        names = (
            qopt_quantize.requested(args)
            or qopt_compare.requested(args)
            or bool(args.profile or args.profile_json)  # ops named by ONNX node in the table
        )
        module = AVAILABLE_FRONTENDS[frontend](data, name, names, input_dims(args))
        return process_module(module, make_context(), args, pipeline), None
    except IRError as err:
        return None, err
    except QoptError:
        raise
    except Exception as err:  # noqa: BLE001 - last resort: no traceback for users
        if os.environ.get("QOPT_DEBUG"):
            raise
        message = f"internal error: {type(err).__name__}: {err}"
        return None, IRError(name, chunk.line_offset + 1, 1, message)


def _write_output(result: str, args: argparse.Namespace, status: int) -> int:
    """Write the printed chunks to `-o` or stdout (not when diagnostics failed); exit status."""
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8") as handle:
                handle.write(result)
        except OSError as err:
            print(f"qopt: error: cannot write '{args.output}': {err.strerror}", file=sys.stderr)
            return 1
    elif not (args.verify_diagnostics and status):
        sys.stdout.write(result)
    return status


def main() -> None:
    sys.exit(run())
