"""Locating and running upstream `mlir-opt` 22 for interoperability tests."""

from __future__ import annotations

import shutil
import subprocess

MLIR_OPT_CANDIDATES = ("/usr/lib/llvm-22/bin/mlir-opt", "mlir-opt-22")


def find_mlir_opt() -> str | None:
    for candidate in MLIR_OPT_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            version = subprocess.run([found, "--version"], capture_output=True, text=True).stdout
            if "version 22" in version:
                return found
    return None


def run_mlir_opt(mlir_opt: str, text: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [mlir_opt, "--allow-unregistered-dialect", *args, "-"],
        input=text,
        capture_output=True,
        text=True,
        timeout=120,
    )
