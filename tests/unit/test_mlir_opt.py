"""Interoperability with upstream MLIR 22: what we print, `mlir-opt` reads, and vice versa."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from xdsl.parser import Parser

from qdialect.textio import make_context, parse_module, print_module
from runtime.qopt import split_chunks

from . import type_edges
from .mlir_tools import run_mlir_opt
from .type_strategies import quant_types

pytestmark = pytest.mark.mlir_opt  # every test here runs upstream mlir-opt 22

ROOT = Path(__file__).resolve().parents[2]
VALID_IR = [
    *sorted((ROOT / "examples").glob("*.mlir")),
    *[p for p in sorted((ROOT / "tests" / "filecheck").glob("*.mlir")) if "invalid" not in p.name],
    ROOT / "tests" / "upstream" / "ops.mlir",
]
TYPE_IN_OUTPUT = re.compile(r"!quant\.(?:uniform|any|calibrated)<")


def generic_text(path: Path) -> str:
    """Generic form of every piece of a file, `// -----`-separated like the input."""
    pieces = []
    for chunk in split_chunks(path.read_text(), split=True):
        module = parse_module(
            chunk.text,
            str(path),
            ctx=make_context(allow_unregistered=True),
            line_offset=chunk.line_offset,
            allow_empty=True,
        )
        pieces.append(print_module(module, generic=True))
    return "// -----\n".join(pieces)


def test_generic_output_of_all_valid_ir_is_accepted_by_mlir_opt(mlir_opt: str) -> None:
    assert len(VALID_IR) >= 5
    for path in VALID_IR:
        result = run_mlir_opt(mlir_opt, generic_text(path), "--split-input-file")
        assert result.returncode == 0, f"{path}:\n{result.stderr}"


def extract_types(text: str) -> list[str]:
    """Every quant type spelled in `text` (balanced `<...>`)."""
    found = []
    for match in TYPE_IN_OUTPUT.finditer(text):
        depth, index = 0, match.end() - 1
        while True:
            depth += {"<": 1, ">": -1}.get(text[index], 0)
            index += 1
            if depth == 0:
                break
        found.append(text[match.start() : index])
    return found


# Each example is one mlir-opt run over 100 types; shrinking would re-run it hundreds of times.
@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=(Phase.explicit, Phase.generate),
)
@given(st.lists(quant_types, min_size=100, max_size=100))
def test_mlir_opt_reads_our_types_and_prints_the_same_numbers(mlir_opt: str, types) -> None:
    """Our text of random types goes through mlir-opt; its print parses back to our type."""
    args = ", ".join(f"tensor<1x1x1x1x1x{t}>" for t in types)
    module = parse_module(f"func.func private @f({args})")
    result = run_mlir_opt(mlir_opt, print_module(module))
    assert result.returncode == 0, result.stderr
    ctx = make_context()
    theirs = extract_types(result.stdout)
    assert len(theirs) == len(types)
    for ours, text in zip(types, theirs, strict=True):
        reparsed = Parser(ctx, upstream_hex_scales_as_decimals(text)).parse_type()
        assert str(reparsed) == str(ours), (str(ours), text)


HEX_SCALE = re.compile(r"(?<=[{,\s])0x[0-9A-Fa-f]+(?=:|[,}])")
EXPRESSED_BITS = {"f16": ">e", "bf16": None, "f32": ">f", "f64": ">d"}


def upstream_hex_scales_as_decimals(text: str) -> str:
    """mlir-opt 22 prints a sub-channel scale that six digits do not spell exactly and whose
    full decimal form has no '.' (an integral f32 such as 311943744) as the hexadecimal bit
    pattern of the expressed type, e.g. 0x4D94BF12, which its own parser then reads as the bits
    of a double and rejects. Those literals are decoded here as the expressed type's bits, so
    the comparison still checks every number mlir-opt printed."""
    expressed = re.match(r"!quant\.uniform<[iu]\d+(?:<[^>]*>)?:(\w+)", text)
    if expressed is None or not HEX_SCALE.search(text):
        return text
    fmt = EXPRESSED_BITS[expressed.group(1)]

    def decode(match: re.Match[str]) -> str:
        bits = int(match.group(0), 16)
        if fmt is None:  # bf16: the top half of an f32
            return repr(struct.unpack(">f", (bits << 16).to_bytes(4, "big"))[0])
        size = struct.calcsize(fmt)
        return repr(float(struct.unpack(fmt, bits.to_bytes(size, "big"))[0]))

    return HEX_SCALE.sub(decode, text)


def test_mlir_opt_hex_sub_channel_scale_is_the_expressed_types_bits(mlir_opt: str) -> None:
    """The upstream printing quirk the comparison above decodes (found by it: mlir-opt cannot
    read back its own output here, so neither can we, and we do not pretend to)."""
    ours = "!quant.uniform<u8:f32:{0:1}, {{311943744.0:3}, {1.000000e+00:2}}>"
    module = parse_module(f"func.func private @f(tensor<2x1x{ours}>)")
    result = run_mlir_opt(mlir_opt, print_module(module))
    assert result.returncode == 0, result.stderr
    (theirs,) = extract_types(result.stdout)
    assert "0x4D94BF12:3" in theirs
    rejected = run_mlir_opt(mlir_opt, result.stdout)
    assert "scale 6.430728e-315 out of expressed type range" in rejected.stderr
    decoded = upstream_hex_scales_as_decimals(theirs)
    assert str(Parser(make_context(), decoded).parse_type()) == str(
        Parser(make_context(), ours).parse_type()
    )


@pytest.mark.parametrize(
    ("name", "cases"),
    [("parse-uniform.mlir", 18), ("parse-any.mlir", 3), ("parse-calibrated.mlir", 1)],
)
def test_upstream_parse_files_through_mlir_opt(mlir_opt: str, name: str, cases: int) -> None:
    """Each spelling of upstream's parse-*.mlir: mlir-opt's print and ours agree."""
    path = ROOT / "tests" / "upstream" / name
    ctx = make_context(allow_unregistered=True)
    checked = 0
    for chunk in split_chunks(path.read_text(), split=True):
        if "!qalias" not in chunk.text:
            continue
        result = run_mlir_opt(mlir_opt, chunk.text)
        assert result.returncode == 0, result.stderr
        theirs = extract_types(result.stdout)[0]
        ours = print_module(parse_module(chunk.text, ctx=ctx, allow_empty=True))
        assert str(Parser(ctx, theirs).parse_type()) == extract_types(ours)[0]
        checked += 1
    assert checked >= cases


def _one_op_per_line(types: list[str]) -> str:
    return "".join(f"{type_edges.OP_PREFIX}{t}\n" for t in types)


def test_upstream_edge_spellings_are_accepted_and_printed_as_recorded(mlir_opt: str) -> None:
    """issue 18's edges: mlir-opt reads each spelling and prints what type_edges records; it
    reads our print of it back to the same type (its own sub-channel NaN print it cannot)."""
    cases = type_edges.ACCEPTED
    result = run_mlir_opt(mlir_opt, _one_op_per_line([c.text for c in cases]))
    assert result.returncode == 0, result.stderr
    assert extract_types(result.stdout) == [c.theirs for c in cases]
    ours = run_mlir_opt(mlir_opt, _one_op_per_line([c.ours for c in cases]))
    assert ours.returncode == 0, ours.stderr
    assert extract_types(ours.stdout) == [c.theirs for c in cases]


@pytest.mark.parametrize("case", type_edges.REJECTED, ids=lambda c: c.text)
def test_upstream_edge_spellings_are_rejected_as_recorded(
    mlir_opt: str, case: type_edges.Rejected
) -> None:
    result = run_mlir_opt(mlir_opt, _one_op_per_line([case.text]))
    assert result.returncode != 0
    first = result.stderr.splitlines()[0]
    assert first == f"<stdin>:1:{case.column}: error: {case.message}"


def test_mlir_opt_prints_huge_splats_as_we_do(mlir_opt: str) -> None:
    """A splat is one value at any size (issue 18; tests/numeric/test_splat_constants.py):
    2^32 elements read and print back alike in both tools."""
    constants = [
        "dense<-3> : tensor<4294967296xi8>",
        'dense<"0xFD"> : tensor<65536x65536xi8>',
        "dense<1.5> : tensor<65536x65536xf32>",
        "dense<true> : tensor<4294967296xi1>",
        "dense<3> : tensor<4294967296xindex>",
        "dense<[1, 1]> : tensor<2xi8>",
    ]
    types = [c.rpartition(" : ")[2] for c in constants]
    lines = [f"  %{i} = arith.constant {c}" for i, c in enumerate(constants)]
    text = (
        f"func.func @f() -> ({', '.join(types)}) {{\n" + "\n".join(lines) + "\n"
        f"  func.return {', '.join(f'%{i}' for i in range(len(types)))} : {', '.join(types)}\n}}\n"
    )
    result = run_mlir_opt(mlir_opt, text)
    assert result.returncode == 0, result.stderr

    def printed(output: str) -> list[str]:
        return re.findall(r"= arith\.constant (.*)", output)

    ours = printed(print_module(parse_module(text)))
    assert ours == printed(result.stdout)
    assert ours[0] == constants[0] and ours[1] == "dense<-3> : tensor<65536x65536xi8>"
