"""Drive the lit + filecheck IR tests (tests/filecheck) from pytest."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

FILECHECK_DIR = Path(__file__).resolve().parent.parent / "filecheck"


def test_lit_suite() -> None:
    result = subprocess.run(
        [shutil.which("lit") or "lit", "-v", str(FILECHECK_DIR)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Passed" in result.stdout
