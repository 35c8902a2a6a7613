"""`qopt --run` and `--emit-c`: compile or interpret a function, time it, print C.

Split from `runtime.qopt` (argument parsing and the input/output loop live there).
"""

from __future__ import annotations

import argparse
import functools

from runtime.qopt_errors import QoptError

BENCH_REPEATS = 20
PROFILE_RUNS = 10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The "compilation and execution" flags."""
    run = parser.add_argument_group(
        "compilation and execution",
        "--emit-c and --run rewrite with qnn-default and compile the function to C (cached); "
        "--run --reference runs the same rewritten module in the numpy reference interpreter "
        "instead (bit for bit what the C computes). fold-qdq, part of qnn-default, fuses QDQ "
        "groups into integer ops as ONNX Runtime does, which is not an exact rewrite: "
        "--no-qnn-default interprets the module as given",
    )
    run.add_argument(
        "--emit-c",
        action="store_true",
        help="print the C the module compiles to: one unit with an entry point qd_entry_<name> "
        "per public function (a single public function, or --entry: the unit --run compiles, "
        "entry point qd_entry)",
    )
    run.add_argument(
        "--run", action="store_true", help="compile and run a function instead of printing IR"
    )
    run.add_argument(
        "--inputs",
        metavar="FILE.npz",
        help="inputs keyed by argument name (arg0, ... by default), as numpy.savez writes them",
    )
    run.add_argument("--outputs", help="write results here (.npz keyed by result name)")
    run.add_argument(
        "--entry",
        help="function to run or emit (default for --run: the only public one, or main; "
        "for --emit-c: every public one)",
    )
    run.add_argument(
        "--reference",
        action="store_true",
        help="with --run: run the numpy reference interpreter instead of compiled C, on the "
        "module after qnn-default",
    )
    run.add_argument(
        "--no-qnn-default",
        action="store_true",
        help="with --run --reference: interpret the module as given (after -p), without the "
        "qnn-default rewrites the compiled run applies (QDQ groups then compute in float)",
    )
    add_timing_arguments(run)


def add_timing_arguments(run) -> None:
    """--bench, --threads and the profiler's flags, in the same group."""
    run.add_argument(
        "--bench",
        nargs="?",
        const=BENCH_REPEATS,
        type=int,
        metavar="N",
        help=f"after one warm-up, time N runs (default {BENCH_REPEATS}) and print "
        "'bench: <median> ms' (compilation excluded)",
    )
    run.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="threads of the compiled kernels (default: $QDIALECT_NUM_THREADS, else OpenMP's)",
    )
    run.add_argument(
        "--profile",
        action="store_true",
        help="with --run: time every op in C (a separately compiled object) over the --bench "
        f"runs (default {PROFILE_RUNS}) and print a table, slowest op first",
    )
    run.add_argument(
        "--profile-json",
        metavar="TRACE.json",
        help="with --run: also write the per-op times in Chrome's trace-event format (as ONNX "
        "Runtime's enable_profiling does); implies --profile",
    )


def apply_qnn_default(module) -> None:
    """The rewrites every compilation starts with (`runtime.compiled.compile_module` applies
    them too; a second application changes nothing)."""
    from xdsl.passes import PassPipeline

    from qdialect.textio import make_context
    from rewrites.registry import PASSES

    PassPipeline.parse_spec(PASSES, "qnn-default").apply(make_context(), module)


def run_module(module, args: argparse.Namespace) -> str:
    """Execute `--entry` on `--inputs`; write `--outputs` or return a summary per result.
    Compiled or interpreted, the module is the one qnn-default rewrote (interpreted: as given
    with --no-qnn-default)."""
    from runtime.reference import run_function
    from runtime.signature import ExecutionError, find_function, result_names

    try:
        function = find_function(module, args.entry)
        entry = function.sym_name.data
        if args.reference:
            if not args.no_qnn_default:
                apply_qnn_default(module)
                function = find_function(module, entry)
            run_once = functools.partial(run_function, module, load_inputs(function, args), entry)
        else:  # compiled first: a function that cannot compile needs no inputs
            compiled = compile_for_run(module, function, args)
            run_once = functools.partial(compiled, **load_inputs(function, args))
        outputs = run_once()
        bench = f"bench: {median_ms(run_once, args.bench):.4f} ms\n" if args.bench else ""
        if profiling(args):
            bench += profile_run(compiled, load_inputs(function, args), args)
    except (ExecutionError, OSError, ValueError) as err:
        raise QoptError(str(err)) from None
    return report(dict(zip(result_names(function), outputs, strict=True)), bench, args)


def report(named: dict, bench: str, args: argparse.Namespace) -> str:
    """`--outputs` written (then only the `--bench` line), else a summary of each result."""
    import numpy as np

    if args.outputs:
        np.savez(args.outputs, **named)
        return bench
    lines = []
    for key, value in named.items():
        summary = f"{key}: {value.dtype}{list(value.shape)}"
        if value.size:
            summary += (
                f" min {value.min()} max {value.max()} mean {value.astype(np.float64).mean():.6g}"
            )
        lines.append(summary + f"\n  {np.array2string(value.ravel()[:8], separator=', ')}")
    return "\n".join(lines) + "\n" + bench


def compile_for_run(module, function, args: argparse.Namespace):
    """The compiled function of `--run`; a refusal suggests --reference only where the
    interpreter would run the function (as --reference runs it: after qnn-default, which
    compile_module has applied in place by the time the C is refused)."""
    from codegen.emit import CodegenError
    from runtime.compiled import compile_module
    from runtime.jit import CompileError
    from runtime.reference.interpreter import refusal

    if args.threads is not None and args.threads < 1:
        raise QoptError(f"--threads needs a positive count, got {args.threads}")
    try:
        compiled = compile_module(
            module,
            function.sym_name.data,
            name=args.input_file or "<stdin>",
            threads=args.threads,
            profile=profiling(args),
        )
    except (CodegenError, CompileError) as err:
        refused = refusal(function)
        hint = "" if refused else " (--run --reference runs the reference interpreter instead)"
        raise QoptError(f"{err}{hint}") from None
    if getattr(args, "model_key", None):  # set by runtime.qopt_cached on a miss
        from runtime.model_cache import store

        store(args.model_key, compiled)
    return compiled


def profiling(args: argparse.Namespace) -> bool:
    return bool(args.profile or args.profile_json)


def profile_run(compiled, inputs: dict, args: argparse.Namespace) -> str:
    """The per-op table of `--profile` over the --bench runs; `--profile-json` written."""
    from runtime.profile import profile_function

    profile = profile_function(compiled, inputs, runs=args.bench or PROFILE_RUNS)
    if args.profile_json:
        profile.write_chrome_trace(args.profile_json)
    return profile.table()


def load_inputs(function, args: argparse.Namespace) -> dict:
    """The arrays of `--inputs`, which must hold exactly the function's arguments by name; a
    missing file or key explains how to write one."""
    import numpy as np

    from runtime.signature import argument_names

    names, inputs = argument_names(function), {}
    if args.inputs:
        with np.load(args.inputs) as archive:
            inputs = {key: archive[key] for key in archive.files}
    missing = [n for n in names if n not in inputs]
    unexpected = [n for n in inputs if n not in names]
    if not (missing or unexpected):
        return inputs
    if args.inputs:
        problem = (
            f"{args.inputs} holds {sorted(inputs)}: missing {missing}, unexpected {unexpected}"
        )
    else:
        problem = "no --inputs given"
    raise QoptError(
        f"@{function.sym_name.data} takes inputs {names}; {problem}. Pass them as --inputs "
        "FILE.npz, each array saved under its argument's name, e.g.\n"
        + inputs_example(function, args)
    )


def inputs_example(function, args: argparse.Namespace) -> str:
    """Two command lines: numpy writing zeros of the right dtypes and shapes, and this qopt
    run reading them."""
    import shlex

    from runtime.signature import ExecutionError, argument_names, expected_array

    names = argument_names(function)
    arrays = []
    for value_type in function.function_type.inputs.data:
        try:
            dtype, shape = expected_array(value_type)
            arrays.append(f"np.zeros({shape!r}, np.{dtype})")
        except ExecutionError:
            arrays.append("...")
    if all(n.isidentifier() for n in names):
        keys = ", ".join(f"{n}={a}" for n, a in zip(names, arrays, strict=True))
    else:  # e.g. ONNX names such as 'input.1'
        keys = "**{" + ", ".join(f"{n!r}: {a}" for n, a in zip(names, arrays, strict=True)) + "}"
    savez = f"np.savez('inputs.npz', {keys})"
    command = ["qopt", *([args.input_file] if args.input_file else [])]
    command += ["-p", args.passes] if args.passes else []
    command += ["--entry", args.entry] if args.entry else []
    command += ["--run", *(["--reference"] if args.reference else [])]
    command += ["--no-qnn-default"] if args.reference and args.no_qnn_default else []
    command += ["--inputs", "inputs.npz"]
    stdin = "" if args.input_file else " < model.mlir"
    return f'  python -c "import numpy as np; {savez}"\n  {shlex.join(command)}{stdin}'


def median_ms(run_once, repeats: int) -> float:
    """Median wall time of `repeats` calls after one warm-up call, in milliseconds."""
    import statistics
    import time

    if repeats < 1:
        raise QoptError(f"--bench needs a positive repeat count, got {repeats}")
    run_once()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run_once()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def emit_c(module, args: argparse.Namespace) -> str:
    """The C of the module after qnn-default, as `mlir-translate` translates a module: one
    unit with an entry point `qd_entry_<name>` per public function (private ones are left out;
    one that cannot be compiled is a located error naming it). `--entry`, or a module with a
    single public function: that function's own unit, entry point `qd_entry`, the C `--run`
    compiles."""
    from codegen.emit import CodegenError, emit_function, emit_module
    from runtime.cc import target_of
    from runtime.signature import ExecutionError, find_function, public_functions

    target = target_of()  # what compile_c's default flags compile for
    try:
        apply_qnn_default(module)
        if args.entry is not None:
            return emit_function(find_function(module, args.entry), target=target).source
        public = public_functions(module)
        if len(public) == 1:
            return emit_function(public[0], target=target).source
        if not public:
            raise ExecutionError(
                "the module has no public function to emit (--entry NAME emits a private one)"
            )
        return emit_module(public, target).source
    except (CodegenError, ExecutionError) as err:
        raise QoptError(str(err)) from None
