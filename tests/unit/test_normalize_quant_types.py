"""`normalize-quant-types` against upstream `mlir-opt --normalize-quant-types` (MLIR 22).

Each piece of the filecheck input goes through both; mlir-opt's output is parsed back and
printed by us, so the comparison is of our printed text on both sides. Where upstream changes
a value's meaning (a sub-channel zero point read sign-extended, a per-axis type with fewer
scales than rows), we keep the meaning: those pieces are checked to differ exactly there.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from qdialect.textio import make_context, parse_module, print_module
from rewrites.normalize_quant_types import NormalizeQuantTypesPass
from runtime.qopt import split_chunks

from .mlir_tools import run_mlir_opt

pytestmark = pytest.mark.mlir_opt

SOURCE = Path(__file__).resolve().parents[1] / "filecheck" / "passes" / "normalize-quant-types.mlir"
PIECES = [chunk.text for chunk in split_chunks(SOURCE.read_text(), split=True)]
AGREEING = PIECES[:2]  # upstream's own test cases
# piece index -> (our text, upstream's text) of the types where upstream changes the meaning
DIFFERENT = {
    2: [
        ("<u8<1:250>:f32:0, {0.5:255,2.0:4}>", "<u8<1:250>:f32:0, {0.5:-1,2.0:4}>"),
        ("<u4:f16:1, {0.5:15,0.25:3,", "<u4:f16:1, {0.5:-1,0.25:3,"),
    ],
    3: [("<i8:f32:{0:2, 1:8}, {{1.0}, {2.0}}>", "<i8:f32:0, {1.0,2.0}>")],
}


def ours(text: str) -> str:
    ctx = make_context(allow_unregistered=True)
    module = parse_module(text, str(SOURCE), ctx=ctx)
    NormalizeQuantTypesPass().apply(ctx, module)
    return print_module(module)


def upstream(mlir_opt: str, text: str) -> str:
    result = run_mlir_opt(mlir_opt, text, "--normalize-quant-types")
    assert result.returncode == 0, result.stderr
    return print_module(
        parse_module(result.stdout, "mlir-opt", ctx=make_context(allow_unregistered=True))
    )


@pytest.mark.parametrize("index", range(len(AGREEING)))
def test_upstream_cases_print_what_mlir_opt_prints(mlir_opt: str, index: int) -> None:
    mine = ours(AGREEING[index])
    assert "{{" not in mine  # every sub-channel type was normalized
    assert mine == upstream(mlir_opt, AGREEING[index])


@pytest.mark.parametrize("index", sorted(DIFFERENT))
def test_where_upstream_changes_the_meaning_we_differ_only_there(mlir_opt: str, index: int) -> None:
    mine, upstreams = ours(PIECES[index]), upstream(mlir_opt, PIECES[index])
    assert mine != upstreams
    for kept, theirs in DIFFERENT[index]:
        assert kept in mine and theirs in upstreams
        mine = mine.replace(kept, theirs)
    assert mine == upstreams
