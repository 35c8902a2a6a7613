"""Shared fixtures: upstream `mlir-opt` when installed."""

from __future__ import annotations

import os

import pytest

from .mlir_tools import find_mlir_opt


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
