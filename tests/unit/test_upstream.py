"""Upstream MLIR's own quant dialect tests (tests/upstream), run through our parser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qdialect.textio import IRError, make_context, parse_module, print_module
from runtime.qopt import Chunk, check_diagnostics, expectations, split_chunks

UPSTREAM = Path(__file__).resolve().parent.parent / "upstream"
INVALID_FILES = [
    "parse-uniform-invalid.mlir",
    "parse-any-invalid.mlir",
    "parse-calibrated-invalid.mlir",
    "invalid.mlir",
    "invalid-subchannel.mlir",
]
CHECK = re.compile(r"// CHECK: (!quant\.[a-z]+<.*>)$", re.MULTILINE)
ALIAS = re.compile(r"^!qalias = (.*?)\s*$", re.MULTILINE)


def chunks_of(name: str) -> list[Chunk]:
    return [
        c
        for c in split_chunks((UPSTREAM / name).read_text(), True)
        if "expected-" in c.text or "!qalias" in c.text or "func.func" in c.text
    ]


def parse_chunk(chunk: Chunk, name: str, allow_unregistered: bool = False):
    return parse_module(
        chunk.text,
        name,
        ctx=make_context(allow_unregistered),
        line_offset=chunk.line_offset,
        allow_empty=True,
    )


@pytest.mark.parametrize("name", INVALID_FILES)
def test_every_invalid_case_is_rejected_on_its_line(name: str) -> None:
    chunks = [c for c in chunks_of(name) if expectations(c)]
    assert len(chunks) >= 5
    mismatched_messages = []
    for chunk in chunks:
        with pytest.raises(IRError) as caught:
            parse_chunk(chunk, name)
        lines = {e.line for e in expectations(chunk)}
        assert caught.value.line in lines, (chunk.text, str(caught.value))
        if check_diagnostics(chunk, name, caught.value):
            mismatched_messages.append(chunk.text)
    # Only the outer pretty form `!quant<uniform<...>` is diagnosed in other words than MLIR's
    # ("unbalanced '<' character in pretty dialect name"); the line still matches.
    assert all("!quant<" in text for text in mismatched_messages), mismatched_messages


def unescape_filecheck(text: str) -> str:
    """A CHECK pattern as the type text it matches (CHECK lines may stop short of a '>')."""
    text = text.replace("{{\\{}}", "{")
    return text + ">" * (text.count("<") - text.count(">"))


@pytest.mark.parametrize(
    ("name", "cases"),
    [("parse-uniform.mlir", 18), ("parse-any.mlir", 3), ("parse-calibrated.mlir", 1)],
)
def test_parse_files_match_upstream_check_lines(name: str, cases: int) -> None:
    chunks = [c for c in chunks_of(name) if CHECK.search(c.text)]
    assert len(chunks) >= cases
    ctx = make_context(allow_unregistered=True)
    for chunk in chunks:
        written = ALIAS.search(chunk.text).group(1)
        expected = unescape_filecheck(CHECK.search(chunk.text).group(1))
        ours = parse_module(f"func.func private @f() -> {written}", ctx=ctx)
        theirs = parse_module(f"func.func private @f() -> {expected}", ctx=ctx)
        # What we print for upstream's input equals what we print for upstream's output, so
        # the two texts denote the same numbers (compared as doubles, not as digit strings).
        assert print_module(ours) == print_module(theirs), (written, expected)
        text = print_module(ours)
        assert print_module(parse_module(text, ctx=ctx)) == text


def test_upstream_ops_round_trip() -> None:
    chunks = [c for c in chunks_of("ops.mlir") if "func.func" in c.text]
    assert len(chunks) >= 10
    for chunk in chunks:
        module = parse_chunk(chunk, "ops.mlir", allow_unregistered=True)
        for generic in (False, True):
            text = print_module(module, generic=generic)
            again = parse_module(text, ctx=make_context())
            assert print_module(again, generic=generic) == text
