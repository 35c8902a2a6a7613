"""Parse, verify and print IR text with MLIR-style located diagnostics.

xDSL's parser reports syntax errors with a position but leaves operations without a source
location, so its verifier cannot say where a bad op is. `LocatingParser` stamps every parsed
op with `loc("file":line:col)` (unless the text gave one); `verify_module` reports the
failing op at that location. Every failure becomes an `IRError` carrying
`file:line:col: error: message` and the source line, never a bare Python exception.
The tokens come from xDSL's lexer with our fixes (`qdialect.lexer`, installed by importing
`qdialect`), the same lexer `xdsl-opt` uses once it has loaded our universe.

    module = parse_module(text, "model.mlir")   # parses and verifies
    print(print_module(module))
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from io import StringIO

from xdsl.context import Context
from xdsl.dialects.builtin import Builtin, FileLineColLoc, IntAttr, ModuleOp, StringAttr
from xdsl.ir import Operation
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.utils.exceptions import ParseError, VerifyException

from qdialect.qnn import QNN
from qdialect.quant_ops import Quant

# What xDSL's parser and verifiers raise besides ParseError/VerifyException on malformed input.
_LIBRARY_ERRORS = (
    ArithmeticError,
    AssertionError,
    AttributeError,
    LookupError,
    NotImplementedError,
    RecursionError,
    TypeError,
    ValueError,
)


@dataclass
class IRError(Exception):
    """A diagnostic about input text: where it is and what is wrong."""

    file: str
    line: int
    column: int
    message: str
    source_line: str | None = None

    def __str__(self) -> str:
        head = f"{self.file}:{self.line}:{self.column}: error: {self.message}"
        if self.source_line is None:
            return head
        caret = " " * (self.column - 1) + "^"
        return f"{head}\n{self.source_line}\n{caret}"


class SourceText:
    """Text of one input chunk and how to turn offsets into file lines and columns."""

    def __init__(self, text: str, name: str, line_offset: int = 0):
        self.text = text
        self.name = name
        self.line_offset = line_offset
        self._line_starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset, in the whole file's numbering."""
        index = bisect.bisect_right(self._line_starts, offset) - 1
        return index + 1 + self.line_offset, offset - self._line_starts[index] + 1

    def line_text(self, line: int) -> str | None:
        index = line - 1 - self.line_offset
        if not 0 <= index < len(self._line_starts):
            return None
        end = self.text.find("\n", self._line_starts[index])
        return self.text[self._line_starts[index] : None if end < 0 else end]

    def error(self, offset: int, message: str) -> IRError:
        line, column = self.line_col(offset)
        return IRError(self.name, line, column, message, self.line_text(line))


_RESULT = r"%[\w$.-]+(?:\s*:\s*\d+)?"
_RESULT_LIST = re.compile(rf"{_RESULT}(?:\s*,\s*{_RESULT})*\s*=\s*")


class LocatingParser(Parser):
    """An xDSL parser that records where each operation starts."""

    def __init__(self, ctx: Context, source: SourceText):
        super().__init__(ctx, source.text, source.name)
        self._source = source
        self._file_attr = StringAttr(source.name)

    def parse_operation(self) -> Operation:
        start = self.pos
        results = _RESULT_LIST.match(self._source.text, start)
        if results is not None:
            start = results.end()  # like MLIR, locate the op at its name
        op = super().parse_operation()
        if not isinstance(op.location, FileLineColLoc):
            line, column = self._source.line_col(start)
            op.location = FileLineColLoc(self._file_attr, IntAttr(line), IntAttr(column))
        return op


def make_context(allow_unregistered: bool = False) -> Context:
    """A context with builtin, func, arith, tensor and our two dialects loaded."""
    from xdsl.dialects.arith import Arith
    from xdsl.dialects.func import Func
    from xdsl.dialects.tensor import Tensor

    ctx = Context(allow_unregistered=allow_unregistered)
    for dialect in (Builtin, Func, Arith, Tensor, Quant, QNN):
        ctx.load_dialect(dialect)
    return ctx


_COMMENT = re.compile(r"//[^\n]*")
_UNREGISTERED_QUANT = re.compile(r"'quant\.(.*)' is not registered")
_UNREGISTERED_OP = re.compile(r"Operation (\S+) is not registered")


def _parse_error(source: SourceText, err: ParseError) -> IRError:
    message = err.msg
    unknown = _UNREGISTERED_QUANT.fullmatch(message)
    offset = err.span.start
    if unknown is not None:  # upstream's wording and place for a misspelled quant type
        message = f"unknown quantized type {unknown.group(1)}"
        spelled = source.text.rfind(f"!quant.{unknown.group(1)}", 0, offset + 1)
        offset = spelled if spelled >= 0 else offset
    unknown_op = _UNREGISTERED_OP.fullmatch(message)
    if unknown_op is not None:  # MLIR's wording, at the op name
        op_name = unknown_op.group(1)
        dialect = op_name.split(".")[0]
        message = (
            f"unregistered operation '{op_name}' found in dialect ('{dialect}') that does not "
            "allow unknown operations"
        )
        spelled = source.text.rfind(op_name, 0, offset + 1)
        offset = spelled if spelled >= 0 else offset
    return source.error(offset, message)


def op_location(op: Operation, fallback: SourceText | None = None) -> tuple[str, int, int]:
    """(file, line, column) of `op`; an op a rewrite created has none, so take the op before
    it in its block (what it replaced sits there), else its nearest located ancestor."""
    current: Operation | None = op
    while current is not None:
        sibling: Operation | None = current
        while sibling is not None:
            loc = sibling.location
            if isinstance(loc, FileLineColLoc):
                return loc.filename.data, loc.line.data, loc.column.data
            sibling = sibling.prev_op
        current = current.parent_op()
    return (fallback.name if fallback else "<unknown>"), 1, 1


def verify_module(module: ModuleOp, source: SourceText | None = None) -> None:
    """Verify every op; raise `IRError` located at the first op that fails."""
    fallback = source or SourceText("", "<unknown>")
    for op in module.walk():
        try:
            op.verify(verify_nested_ops=False)
        except (VerifyException, *_LIBRARY_ERRORS) as err:
            file, line, column = op_location(op, fallback)
            message = str(err).splitlines()[0] if str(err) else type(err).__name__
            text = fallback.line_text(line) if file == fallback.name else None
            raise IRError(
                file, line, column, f"'{op.name}' op {_strip_op_prefix(message, op.name)}", text
            ) from None


def _strip_op_prefix(message: str, name: str) -> str:
    """Avoid "'x' op 'x' op ..." when a verifier already names its op."""
    prefix = f"'{name}' op "
    return message[len(prefix) :] if message.startswith(prefix) else message


def _parse(ctx: Context, source: SourceText, raise_errors: bool = False) -> ModuleOp | None:
    """Parse `source`; None if the only problem is a module without ops."""
    parser: LocatingParser | None = None
    try:
        parser = LocatingParser(ctx, source)  # lexes the first token: may already fail
        return parser.parse_module()
    except ParseError as err:
        at_end = not _COMMENT.sub("", source.text[err.span.start :]).strip()
        if err.msg == "Could not parse entire input!" and at_end and not raise_errors:
            return None
        raise _parse_error(source, err) from None
    except (VerifyException, *_LIBRARY_ERRORS) as err:
        # Attribute invariants are checked while parsing (and xDSL raises plain ValueErrors
        # for some, e.g. dense literals out of range); point where the parser stopped.
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise source.error(parser.pos if parser else 0, message) from None


def parse_module(
    text: str,
    name: str = "<input>",
    *,
    ctx: Context | None = None,
    line_offset: int = 0,
    verify: bool = True,
    allow_empty: bool = False,
) -> ModuleOp:
    """Parse (and verify) IR text into a module; bad input raises `IRError`."""
    source = SourceText(text, name, line_offset)
    nul = text.find("\0")
    if nul >= 0:
        raise source.error(nul, "unexpected NUL character: is this a binary file?")
    if not _COMMENT.sub("", text).strip():  # xDSL's parser rejects input without tokens
        if not allow_empty:
            raise source.error(0, "empty input: expected an MLIR module")
        return ModuleOp([])
    ctx = ctx or make_context()
    module = _parse(ctx, source)
    if module is None:
        # xDSL needs at least one op; MLIR also accepts a file of alias definitions only.
        module = _parse(ctx, SourceText(text + "\nbuiltin.module {}\n", name, line_offset))
        if module is None:
            module = _parse(ctx, source, raise_errors=True)
    if verify:
        verify_module(module, source)
    return module


def print_module(module: Operation, *, generic: bool = False) -> str:
    """Text of `module` (custom form, or the generic form MLIR reads back)."""
    out = StringIO()
    Printer(stream=out, print_generic_format=generic).print_op(module)
    out.write("\n")
    return out.getvalue()
