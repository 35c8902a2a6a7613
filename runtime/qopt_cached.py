"""`qopt MODEL --run` served by the model cache (runtime.model_cache): from reading the file to
running the compiled function, without importing the compiler.

Only a plain run qualifies: every option at its default except those below, which either take
part in the key (the input's bytes, `--frontend`, `-p`, `--entry`, `--free-dimension-override`;
a model sized by the `--inputs` arrays is checked against them) or act after the function is
loaded (`--inputs`, `--outputs`, `--bench`, `--threads`, `-o`). Anything else, and any doubt
(no such entry, inputs that do not match the signature), goes the full way, which also stores
the entry for the next run and reports any error in its own words.
"""

from __future__ import annotations

import argparse

from runtime.qopt_errors import QoptError

KEYED_OR_AFTER_LOAD = frozenset(
    {"input_file", "frontend", "passes", "entry", "run", "inputs", "outputs", "bench", "threads"}
    | {"output", "free_dimension_override"}
)


def qualifies(parser: argparse.ArgumentParser, args: argparse.Namespace) -> bool:
    """A compiled `--run` of a file whose other options are all at their defaults: a new
    option anyone adds to qopt disqualifies the cache until it is listed above."""
    if not args.run or args.input_file is None:
        return False
    if args.threads is not None and args.threads < 1:
        return False  # the full path says what is wrong
    defaults = vars(parser.parse_args([]))
    return all(
        value == defaults.get(name)
        for name, value in vars(args).items()
        if name not in KEYED_OR_AFTER_LOAD
    )


def attempt(parser: argparse.ArgumentParser, args: argparse.Namespace, frontend: str) -> str | None:
    """qopt's output from the cached function, or None to take the full way; on a miss the key
    goes along as `args.model_key`, for runtime.qopt_run.compile_for_run to store under."""
    if not qualifies(parser, args):
        return None
    from runtime.cc import CompileError
    from runtime.model_cache import load, model_key

    try:
        with open(args.input_file, "rb") as handle:
            data = handle.read()
        key = model_key(
            data,
            frontend=frontend,
            entry=args.entry,
            passes=args.passes,
            free_dimensions=dict(args.free_dimension_override),
        )
    except (OSError, CompileError):
        return None  # the full way reports a missing file or compiler
    function = load(key, args.threads)
    if function is None:
        args.model_key = key
        return None
    inputs = read_inputs(args.inputs, function.argument_names)
    if inputs is None or not _fit(inputs, function.signature):
        return None
    return run_loaded(function, inputs, args)


def read_inputs(path: str | None, names: list[str]) -> dict | None:
    """The arrays of `--inputs` if they are exactly the arguments by name, else None."""
    import numpy as np

    if path is None:
        return {} if not names else None
    try:
        with np.load(path) as archive:
            inputs = {key: archive[key] for key in archive.files}
    except (OSError, ValueError):
        return None
    return inputs if sorted(inputs) == sorted(names) else None


def _fit(inputs: dict, signature) -> bool:
    """Whether the arrays have the dtypes and shapes the function was compiled for (a model
    with dynamic dimensions is compiled for the shapes of the inputs it first ran on)."""
    return all(
        inputs[name].dtype == dtype and inputs[name].shape == tuple(shape)
        for name, (dtype, shape) in zip(signature.arguments, signature.inputs, strict=True)
    )


def run_loaded(function, inputs: dict, args: argparse.Namespace) -> str:
    """Run once (and `--bench`), then report as the full way does."""
    import functools

    from runtime.native import ExecutionError
    from runtime.qopt_run import median_ms, report

    run_once = functools.partial(function, **inputs)
    try:
        outputs = run_once()
        bench = f"bench: {median_ms(run_once, args.bench):.4f} ms\n" if args.bench else ""
    except (ExecutionError, OSError, ValueError) as err:
        raise QoptError(str(err)) from None
    return report(dict(zip(function.signature.results, outputs, strict=True)), bench, args)
