"""Three fixes to xDSL 0.74's MLIR lexer, installed on xDSL's `MLIRLexer` class.

One lexer for every tool: `qdialect/__init__.py` calls `install()`, so importing any part of
this package (our dialects, `qdialect.textio`, the `xdsl.universe` entry point
`rewrites.universe`, which `xdsl-opt` loads before it reads its input) gives the fixed lexer
to every parser in the process. `qopt` and `xdsl-opt` therefore tokenize the same text the same
way (tests/unit/test_lexer.py checks that by running both). The fixes change no valid program's
meaning; they make text that upstream MLIR reads parse, and reject what MLIR rejects:

- Backtracking: xDSL's string-literal pattern nests `+` inside `*`, which backtracks
  exponentially on an unterminated string (found by tests/unit/test_fuzz.py). Same language, no
  nested quantifier.
- Non-ASCII text (found by tests/unit/test_fuzz.py: `func.func @ÿ()` printed generically as
  `sym_name = "\\C3\\BF"`, which did not parse back). Two bugs, fixed MLIR's way:
  - xDSL's printer escapes every non-ASCII byte (`"ÿ"` prints as `"\\C3\\BF"`, as MLIR prints
    it), but its lexer makes a literal with escapes a BYTES_LIT unless the bytes are ASCII, so
    the text no longer parses where a string is expected (op properties such as `sym_name`,
    attribute names). Its own docstring says STRING_LIT whenever the bytes are UTF-8; do that.
  - It starts a bare identifier on any Unicode letter (`str.isalpha`), MLIR only on an ASCII
    one: a token never starts with a non-ASCII character (`@ÿ`, `{ÿ = 1}`, `%x = ÿ.op`), and
    MLIR rejects such text with "unexpected character" at that character.
"""

from __future__ import annotations

import re

from xdsl.utils.exceptions import ParseError
from xdsl.utils.lexer import Position, Span, Token
from xdsl.utils.mlir_lexer import MLIRLexer, MLIRToken, MLIRTokenKind, StringLiteral

_STRING_LITERAL = re.compile(r'"(?:[^"\\\n\v\f]|\\(?:["nt\\]|[0-9A-Fa-f]{2}))*"')

_xdsl_lex = MLIRLexer.lex
_xdsl_lex_at_ident = MLIRLexer._lex_at_ident
_xdsl_lex_string_literal = MLIRLexer._lex_string_literal


def _reject_non_ascii(lexer: MLIRLexer, message: str) -> None:
    char = lexer._peek_chars()
    if char is not None and not char.isascii():
        raise ParseError(Span(lexer.pos, lexer.pos + 1, lexer.input), message)


def _lex(self: MLIRLexer) -> MLIRToken:
    self._consume_whitespace()
    _reject_non_ascii(self, "unexpected character")
    return _xdsl_lex(self)


def _lex_at_ident(self: MLIRLexer, start_pos: Position) -> MLIRToken:
    _reject_non_ascii(self, "@ identifier expected to start with letter, '_', or '\"'")
    return _xdsl_lex_at_ident(self, start_pos)


def _lex_string_literal(self: MLIRLexer, start_pos: Position) -> MLIRToken:
    token = _xdsl_lex_string_literal(self, start_pos)
    if token.kind is MLIRTokenKind.BYTES_LIT:
        try:
            StringLiteral.from_span(token.span).bytes_contents.decode()
        except UnicodeDecodeError:
            return token  # not text: a bytes literal (MLIR allows any bytes; xDSL can't)
        return Token(MLIRTokenKind.STRING_LIT, token.span)
    return token


def install() -> None:
    """Install the fixes on `MLIRLexer` (idempotent)."""
    MLIRLexer._unescaped_characters_regex = _STRING_LITERAL
    MLIRLexer.lex = _lex
    MLIRLexer._lex_at_ident = _lex_at_ident
    MLIRLexer._lex_string_literal = _lex_string_literal
