"""Fuzz: mutated IR text never escapes as anything but a located `IRError`.

Seeds are the examples and the filecheck inputs; mutations delete, duplicate, insert and
replace text (including IR tokens likely to reach deep parser and verifier states). The default
tier tries DEFAULT_FUZZ_EXAMPLES mutations, the slow tier (`-m slow`) FUZZ_EXAMPLES.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qdialect.textio import IRError, make_context, parse_module, print_module
from runtime.qopt import split_chunks

ROOT = Path(__file__).resolve().parents[2]
FUZZ_EXAMPLES = int(os.environ.get("QDIALECT_FUZZ_EXAMPLES", "10000"))
DEFAULT_FUZZ_EXAMPLES = 1000
SEEDS = [
    chunk.text
    for path in [
        *sorted((ROOT / "examples").glob("*.mlir")),
        *sorted((ROOT / "tests" / "filecheck").glob("*.mlir")),
    ]
    for chunk in split_chunks(path.read_text(), split=True)
    if chunk.text.strip()
]
TOKENS = [
    "<",
    ">",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ":",
    ",",
    "=",
    "-",
    "!",
    "%",
    "@",
    "#",
    "^",
    '"',
    "0",
    "-1",
    "128",
    "0x7FC00000",
    "1.0e-45",
    "1e400",
    "nan",
    "inf",
    "i0",
    "u33",
    "f8E5M2",
    "!quant.uniform<i8:f32, 0.5>",
    "!quant.any<u8:f32>",
    "tensor<*xf32>",
    "tensor<?x4xf32>",
    "tensor<0x4xf32>",
    "array<i64: 1>",
    "qnn.conv2d",
    "qnn.dot",
    "quant.scast",
    "func.return",
    "\x00",
    "\xff",
    "\n",
    " ",
    "// -----",
    "{{",
    "}}",
]

mutation = st.one_of(
    st.tuples(st.just("delete"), st.integers(0, 10**6), st.integers(1, 40)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.sampled_from(TOKENS)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.text(max_size=5)),
    st.tuples(st.just("duplicate"), st.integers(0, 10**6), st.integers(1, 60)),
    st.tuples(st.just("replace"), st.integers(0, 10**6), st.sampled_from(TOKENS)),
)


def mutate(text: str, mutations) -> str:
    for kind, where, what in mutations:
        at = where % (len(text) + 1)
        if kind == "delete":
            text = text[:at] + text[at + what :]
        elif kind == "insert":
            text = text[:at] + what + text[at:]
        elif kind == "duplicate":
            text = text[:at] + text[at : at + what] + text[at:]
        else:
            text = text[:at] + what + text[at + len(what) :]
    return text


def check_mutated(seed: str, mutations) -> None:
    text = mutate(seed, mutations)
    try:
        module = parse_module(text, "fuzz.mlir", ctx=make_context())
    except IRError as err:
        assert err.file == "fuzz.mlir" and err.line >= 1 and err.column >= 1
        assert err.message
        return
    # What qopt does next: print, in both forms, and the text must parse back.
    for generic in (False, True):
        printed = print_module(module, generic=generic)
        parse_module(printed, "printed.mlir", ctx=make_context())


FUZZ_SETTINGS = dict(deadline=None, database=None, suppress_health_check=list(HealthCheck))
MUTANTS = (st.sampled_from(SEEDS), st.lists(mutation, min_size=1, max_size=4))


@settings(max_examples=DEFAULT_FUZZ_EXAMPLES, **FUZZ_SETTINGS)
@given(*MUTANTS)
def test_mutated_ir_gives_located_errors_only(seed: str, mutations) -> None:
    check_mutated(seed, mutations)


@pytest.mark.slow
@settings(max_examples=FUZZ_EXAMPLES, **FUZZ_SETTINGS)
@given(*MUTANTS)
def test_mutated_ir_gives_located_errors_only_many_times(seed: str, mutations) -> None:
    check_mutated(seed, mutations)


# Found by the fuzz test: a non-ASCII symbol name printed generically as `sym_name = "\C3\BF"`
# (xDSL lexed escaped non-ASCII text as bytes, not a string) and did not parse back.
NON_ASCII_ROUND_TRIPS = [
    (
        'func.func @"\xff"() {\n  func.return\n}\n',
        'builtin.module {\n  func.func @"\\C3\\BF"() {\n    func.return\n  }\n}\n',
        '"builtin.module"() ({\n'
        '  "func.func"() <{sym_name = "\\C3\\BF", function_type = () -> ()}> ({\n'
        '    "func.return"() : () -> ()\n'
        "  }) : () -> ()\n"
        "}) : () -> ()\n",
    ),
    (
        'func.func @f() attributes {"\\C3\\BF" = "\\E2\\80\\A8"} {\n  func.return\n}\n',
        'builtin.module {\n  func.func @f() attributes {"\\C3\\BF" = "\\E2\\80\\A8"} {\n'
        "    func.return\n  }\n}\n",
        '"builtin.module"() ({\n'
        '  "func.func"() <{sym_name = "f", function_type = () -> ()}> ({\n'
        '    "func.return"() : () -> ()\n'
        '  }) {"\\C3\\BF" = "\\E2\\80\\A8"} : () -> ()\n'
        "}) : () -> ()\n",
    ),
]


@pytest.mark.parametrize(
    "text, custom, generic", NON_ASCII_ROUND_TRIPS, ids=["symbol-name", "attribute-name"]
)
def test_non_ascii_strings_print_text_that_parses_back(text, custom, generic) -> None:
    module = parse_module(text, "fuzz.mlir", ctx=make_context())
    assert print_module(module) == custom
    assert print_module(module, generic=True) == generic
    for printed in (custom, generic):
        again = parse_module(printed, "printed.mlir", ctx=make_context())
        assert print_module(again) == custom


# Like MLIR, a bare identifier is ASCII only: a non-ASCII letter is a located lexer error
# (xDSL used `str.isalpha`, so `@\xff` parsed and was printed as a string literal).
@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "func.func @\xff() {\n  func.return\n}\n",
            "fuzz.mlir:1:12: error: @ identifier expected to start with letter, '_', or '\"'",
        ),
        (
            "func.func @f\xff() {\n  func.return\n}\n",
            "fuzz.mlir:1:13: error: unexpected character",
        ),
        (
            "func.func @f() attributes {\xff = 1 : i32} {\n  func.return\n}\n",
            "fuzz.mlir:1:28: error: unexpected character",
        ),
    ],
    ids=["symbol-name", "in-symbol-name", "attribute-name"],
)
def test_non_ascii_bare_identifiers_are_located_errors(text: str, expected: str) -> None:
    with pytest.raises(IRError) as err:
        parse_module(text, "fuzz.mlir", ctx=make_context())
    assert str(err.value).splitlines()[0] == expected
