"""`qopt MODEL --run` from process start to exit: on a model-cache hit, next to the floor any
Python program that takes numpy arrays pays (issue 15's 0.3 s goal), and on a miss (the first
run of a model; issue 15's compile goal). Run by hand.

    python -m benchmarks.startup MODEL.onnx INPUTS.npz [--runs 15]

The commands run in turns, so a burst of load on this shared machine hits them alike; the
table gives the best and the median wall time of each. The first qopt run (not timed) fills a
private cache; each miss runs in a new cache holding only that cache's compiled templates,
as a user's cache does after any earlier model.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MISS = "qopt MODEL --run --inputs X (miss: compiles)"


def qopt_command() -> list[str]:
    """qopt's console script next to this interpreter (a version manager's shim in front of it
    adds its own start-up, which is not ours to count), else the module."""
    script = Path(sys.executable).with_name("qopt")
    return [str(script)] if script.exists() else [sys.executable, "-m", "runtime.qopt"]


def wall_seconds(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("inputs")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        env = os.environ | {"QDIALECT_CACHE_DIR": cache}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's run reads compiled bytecode
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            'python -c "import numpy"': [sys.executable, "-c", "import numpy"],
            "qopt MODEL --run --inputs X (hit)": [
                *qopt_command(),
                args.model,
                "--run",
                "--inputs",
                args.inputs,
            ],
        }
        run = commands["qopt MODEL --run --inputs X (hit)"]
        wall_seconds(run, env)  # fills the cache
        times: dict[str, list[float]] = {name: [] for name in [*commands, MISS]}
        for _ in range(args.runs):
            for name, command in commands.items():
                times[name].append(wall_seconds(command, env))
            with tempfile.TemporaryDirectory() as fresh:
                shutil.copytree(Path(cache, "templates"), Path(fresh, "templates"))
                times[MISS].append(wall_seconds(run, env | {"QDIALECT_CACHE_DIR": fresh}))
    print(f"load: {os.getloadavg()[0]:.2f}, {shutil.which('cc') or 'no cc'}")
    print("| command | best s | median s |")
    print("| --- | ---: | ---: |")
    for name, values in times.items():
        print(f"| {name} | {min(values):.3f} | {statistics.median(values):.3f} |")


if __name__ == "__main__":
    main()
