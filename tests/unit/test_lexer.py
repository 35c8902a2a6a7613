"""One lexer: `qopt` and `xdsl-opt` (through the `xdsl.universe` entry point) tokenize alike.

Both run as subprocesses on the tree under test (its root first on PYTHONPATH), on the text
that the fixes in qdialect/lexer.py change: upstream xDSL 0.74 rejects the first two, accepts
the third and backtracks for ever on the fourth.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

ESCAPED_SYMBOL_NAME = (
    '"builtin.module"() ({\n'
    '  "func.func"() <{sym_name = "\\C3\\BF", function_type = () -> ()}> ({\n'
    '    "func.return"() : () -> ()\n'
    "  }) : () -> ()\n"
    "}) : () -> ()\n"
)
ESCAPED_ATTRIBUTE_NAME = (
    'func.func @f() attributes {"\\C3\\BF" = "\\E2\\80\\A8"} {\n  func.return\n}\n'
)
BARE_NON_ASCII = "func.func @f() attributes {\xff = 1 : i32} {\n  func.return\n}\n"
UNTERMINATED_STRING = 'func.func @f() attributes {a = "' + "x" * 48 + "\n"


def _tool(command: list[str], path: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return subprocess.run(
        [*command, str(path)], capture_output=True, text=True, env=env, timeout=120
    )


def _both(tmp_path: Path, text: str):
    path = tmp_path / "input.mlir"
    path.write_text(text, encoding="utf-8")
    qopt = _tool([sys.executable, "-c", "from runtime.qopt import main; main()"], path)
    xdsl_opt = _tool(["xdsl-opt"], path)
    return qopt, xdsl_opt


@pytest.mark.parametrize(
    "text", [ESCAPED_SYMBOL_NAME, ESCAPED_ATTRIBUTE_NAME], ids=["symbol-name", "attribute-name"]
)
def test_escaped_non_ascii_strings_parse_in_both(tmp_path: Path, text: str) -> None:
    qopt, xdsl_opt = _both(tmp_path, text)
    assert qopt.returncode == 0, qopt.stderr
    assert xdsl_opt.returncode == 0, xdsl_opt.stderr
    assert qopt.stdout.strip() == xdsl_opt.stdout.strip()


@pytest.mark.parametrize(
    "text, message",
    [(BARE_NON_ASCII, "unexpected character"), (UNTERMINATED_STRING, "")],
    ids=["bare-non-ascii", "unterminated-string"],
)
def test_bad_text_is_rejected_by_both(tmp_path: Path, text: str, message: str) -> None:
    qopt, xdsl_opt = _both(tmp_path, text)  # the timeout catches a backtracking lexer
    assert qopt.returncode != 0 and message in qopt.stderr, qopt.stderr
    assert xdsl_opt.returncode != 0 and message in xdsl_opt.stderr, xdsl_opt.stdout
