"""Shared fixtures: paths, an IR parsing context, and upstream `mlir-opt` when installed."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MLIR_OPT_CANDIDATES = ("/usr/lib/llvm-22/bin/mlir-opt", "mlir-opt-22")


def find_mlir_opt() -> str | None:
    for candidate in MLIR_OPT_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            version = subprocess.run([found, "--version"], capture_output=True, text=True).stdout
            if "version 22" in version:
                return found
    return None


@pytest.fixture(scope="session")
def mlir_opt() -> str:
    """Path of mlir-opt 22. CI installs it (.ci/run), so there its absence is a failure."""
    path = find_mlir_opt()
    if path is None:
        message = "mlir-opt 22 not found: apt-get install mlir-22-tools"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def run_mlir_opt(mlir_opt: str, text: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [mlir_opt, "--allow-unregistered-dialect", *args, "-"],
        input=text,
        capture_output=True,
        text=True,
        timeout=120,
    )
