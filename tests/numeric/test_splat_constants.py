"""Splat constants stay one value from the text to the constant table (issue 18).

`arith.constant dense<-3> : tensor<10000000xi8>` was written out element by element: by
xDSL's parser (23 s and 338 MB for 10M elements, a MemoryError for 2^32), then by every rewrite
that transforms a constant (`u8-to-i8` took 224 s on a 10M-element u8 splat). Each layer has its
test here, on shapes no layer could afford to expand (2^32 to 2^41 elements, which only pass
because nothing allocates them), and against the same function with a small constant spelled
out element by element:

- the parser and printer (`qdialect.splat`): huge splats print back as written, one value stored;
  every other literal, and every error, is xDSL's;
- the readers and builders (`qdialect.constants`): a splat reads as a broadcast view and builds
  back as a splat;
- the rewrites: `u8-to-i8` (retype's requantization), `fold-qdq` (constant transposes),
  `fuse-conv-dot` (a broadcast bias);
- codegen and both executors: `qopt --emit-c`, `--run` and `--run --reference` on a 10M-element
  splat give exactly what the small spelled-out twin gives.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, TensorType, f32, i8
from xdsl.parser import AttrParser

from codegen.plan import constant_table
from qdialect import splat
from qdialect.constants import as_dtype, dense_array, dense_attr, splat_value
from qdialect.textio import IRError, make_context, parse_module, print_module
from rewrites.registry import PASSES
from runtime.qopt import run

BIG = 10_000_000  # the issue's size: fast now, ≈ 25 s per qopt call before
HUGE = 2**32  # the issue's MemoryError


def _module_text(constant: str, result_type: str) -> str:
    return (
        f"func.func @f() -> {result_type} {{\n  %0 = arith.constant {constant}\n"
        f"  func.return %0 : {result_type}\n}}"
    )


def _constants(module) -> list[DenseIntOrFPElementsAttr]:
    return [op.value for op in module.walk() if op.name == "arith.constant"]


def _qopt(capsys, *argv: str) -> str:
    capsys.readouterr()
    status = run(list(argv))
    captured = capsys.readouterr()
    assert status == 0, captured.err
    return captured.out


# ----------------------------------------------------------------------------- parse and print


@pytest.mark.parametrize(
    ("written", "printed"),
    [
        ("dense<-3> : tensor<4294967296xi8>", None),
        ("dense<-3> : tensor<65536x65536xi8>", None),
        ("dense<1.500000e+00> : tensor<4294967296xf32>", None),
        ("dense<-7> : tensor<1024x1024x4096xi32>", None),
        ("dense<true> : tensor<4294967296xi1>", None),
        ("dense<3> : tensor<4294967296xindex>", None),
        ("dense<255> : tensor<4294967296xi8>", "dense<-1> : tensor<4294967296xi8>"),
        ('dense<"0xFD"> : tensor<4294967296xi8>', "dense<-3> : tensor<4294967296xi8>"),
        ("dense<2> : tensor<4294967296xf64>", "dense<2.000000e+00> : tensor<4294967296xf64>"),
    ],
)
def test_huge_splat_parses_and_prints_back_as_one_value(written: str, printed: str | None) -> None:
    result_type = written.rpartition(" : ")[2]
    module = parse_module(_module_text(written, result_type))
    text = print_module(module)
    (attr,) = _constants(module)
    assert len(attr) == 1 and splat.is_splat(attr)  # one stored value, MLIR's representation
    assert splat.element_count(attr) == math.prod(attr.get_shape()) >= 2**32
    assert f"arith.constant {printed or written}\n" in text  # mlir-opt's spelling of a splat
    generic = print_module(module, generic=True)
    assert print_module(parse_module(text)) == text
    assert print_module(parse_module(generic)) == text


@pytest.mark.parametrize(
    "literal",
    [
        "dense<-3> : tensor<4xi8>",
        "dense<300> : tensor<4xi8>",
        "dense<255> : tensor<4xi8>",
        "dense<-1> : tensor<4xui8>",
        "dense<1.5> : tensor<2x3xf32>",
        "dense<1> : tensor<3xf32>",
        "dense<true> : tensor<3xi1>",
        "dense<2> : tensor<3xi1>",
        "dense<1.5> : tensor<3xi8>",
        'dense<"0xFD"> : tensor<4xi8>',
        'dense<"0xFDFE"> : tensor<2xi8>',
        'dense<"0xFD"> : tensor<2xi16>',
        'dense<"0xZZ"> : tensor<4xi8>',
        'dense<"abc"> : tensor<4xi8>',
        "dense<7> : tensor<1xi8>",
        "dense<7> : tensor<0xi8>",
        "dense<3> : tensor<2x0xi32>",
        "dense<> : tensor<0xi8>",
        "dense<[1, 2]> : tensor<2xi8>",
        "dense<[1, 1]> : tensor<2xi8>",
        "dense<[[1, 2], [3, 4]]> : tensor<2x2xi8>",
        "dense<(1, 2)> : tensor<2xcomplex<f32>>",
        "dense<5> : tensor<?xi8>",
        "dense<5> tensor<4xi8>",
        "dense<5 : tensor<4xi8>",
        "dense<-x> : tensor<4xi8>",
        "dense<5> : tensor<4x!quant.uniform<i8:f32, 1.0>>",
        "dense<0x7FC00000> : tensor<2xf32>",
        "dense<-0.0> : tensor<2xf32>",
        "dense<1.0e40> : tensor<2xf32>",
        "dense<1.5> : tensor<4xbf16>",
        "dense<3> : vector<4xi32>",
        "dense<3> : tensor<2xindex>",
    ],
)
def test_splat_parsing_agrees_with_xdsl_on_text_and_errors(literal: str, monkeypatch) -> None:
    """What the text means, and what is wrong with it and where, is xDSL's: the hook only
    changes how a splat is stored."""
    text = f"func.func @f() {{\n  %0 = arith.constant {literal}\n  func.return\n}}"

    def outcome() -> str:
        try:
            return print_module(parse_module(text))
        except IRError as err:
            return f"error: {err}"

    ours = outcome()
    monkeypatch.setattr(AttrParser, "parse_dense_int_or_fp_elements_attr", splat._xdsl_parse_dense)
    assert outcome() == ours


# ----------------------------------------------------------------------------- reading and building


def test_a_splat_reads_as_a_broadcast_view_and_builds_back_as_a_splat() -> None:
    module = parse_module(
        _module_text("dense<-3> : tensor<1048576x1048576xi8>", "tensor<1048576x1048576xi8>")
    )
    op = next(op for op in module.walk() if op.name == "arith.constant")
    values = dense_array(op)
    assert values.shape == (2**20, 2**20) and values.strides == (0, 0)
    assert not values.flags.writeable and splat_value(values) == -3
    assert splat_value(values.T) == -3
    narrow = as_dtype(values, np.int8)
    assert narrow.dtype == np.int8 and narrow.strides == (0, 0) and narrow[5, 7] == -3
    rebuilt = dense_attr(values.T, TensorType(i8, [2**20, 2**20]))
    assert rebuilt == op.value  # the same one stored value
    assert splat.is_splat(dense_attr(np.full((2, 3), 1.5, np.float32), TensorType(f32, [2, 3])))


def test_splat_value_compares_bits() -> None:
    assert splat_value(np.array([0.0, -0.0])) is None  # different constants
    assert math.isnan(splat_value(np.array([np.nan, np.nan])))
    assert splat_value(np.array([1, 1, 2])) is None
    assert splat_value(np.array([], np.int8)) is None
    assert splat_value(np.array(4)) == 4
    spelled_out = dense_attr(np.array([0.0, -0.0]), TensorType(f32, [2]))
    assert not splat.is_splat(spelled_out)
    assert [math.copysign(1, v) for v in spelled_out.get_values()] == [1, -1]


def test_a_splat_enters_the_constant_table_as_a_view() -> None:
    text = (
        "!q = !quant.uniform<u8:f32, 0.5:130>\n"
        "func.func @f() -> tensor<4294967296x!q> {\n"
        "  %c = arith.constant dense<200> : tensor<4294967296xi8>\n"
        "  %q = quant.scast %c : tensor<4294967296xi8> to tensor<4294967296x!q>\n"
        "  func.return %q : tensor<4294967296x!q>\n}"
    )
    module = parse_module(text)
    function = next(op for op in module.walk() if op.name == "func.func")
    table = constant_table(list(function.body.block.ops)[:-1])
    (_, stored), (_, cast) = table
    assert stored.strides == (0,) and stored[0] == -56
    assert cast.dtype == np.uint8 and cast.strides == (0,) and cast[-1] == 200


# ----------------------------------------------------------------------------- rewrites

U8_ADD = """!u = !quant.uniform<u8:f32, 0.5:130>
func.func @main(%x: tensor<{n}x!u>) -> tensor<{n}x!u> {{
  %c = arith.constant {constant} : tensor<{n}xi8>
  %cq = quant.scast %c : tensor<{n}xi8> to tensor<{n}x!u>
  %s = qnn.add %x, %cq : tensor<{n}x!u>, tensor<{n}x!u> -> tensor<{n}x!u>
  func.return %s : tensor<{n}x!u>
}}
"""


def test_u8_to_i8_shifts_a_huge_splat_into_a_splat(tmp_path: Path, capsys) -> None:
    n = 2**40
    path = tmp_path / "u8.mlir"
    path.write_text(U8_ADD.format(n=n, constant="dense<200>"))
    out = _qopt(capsys, str(path), "-p", "u8-to-i8,qnn-default")
    assert f"arith.constant dense<72> : tensor<{n}xi8>" in out  # 200 - 128
    assert len(_constants(parse_module(out))[0]) == 1


RETYPED = """!a = !quant.uniform<i8:f32, 0.05:-10>
!w = WEIGHT
!y = !quant.uniform<i8:f32, 0.1:0>
func.func @main(%a: tensor<2x4x!a>) -> tensor<2x3x!y> {
  %c = arith.constant CONSTANT : tensor<4x3xi8>
  %w = quant.scast %c : tensor<4x3xi8> to tensor<4x3x!w>
  %d = qnn.dot %a, %w : tensor<2x4x!a>, tensor<4x3x!w> -> tensor<2x3x!y>
  func.return %d : tensor<2x3x!y>
}
"""


@pytest.mark.parametrize(
    ("passes", "weight", "expected"),
    [
        ("u8-to-i8", "!quant.uniform<u8:f32, 0.5:130>", "dense<72>"),
        ("u8-to-i8", "!quant.uniform<u8:f32:1, {0.5:130, 0.25:7, 1.0:255}>", "dense<72>"),
        ("symmetric-schema", "!quant.uniform<i8:f32, 0.5:3>", "dense<46>"),
        (
            "symmetric-schema",
            "!quant.uniform<i8:f32:1, {0.5:3, 0.25:-7, 1.0:20}>",
            "dense<[[46, 54, 26], [46, 54, 26], [46, 54, 26], [46, 54, 26]]>",
        ),
    ],
    ids=["u8-per-tensor", "u8-per-axis", "symmetric-per-tensor", "symmetric-per-axis"],
)
def test_retyping_a_splat_equals_retyping_it_spelled_out(
    passes: str, weight: str, expected: str, tmp_path: Path, capsys
) -> None:
    """Requantized per axis, a splat becomes one value per channel; otherwise one value."""
    stored = 200 if "u8" in weight else 50
    outputs = []
    for constant in (f"dense<{stored}>", f"dense<{np.full((4, 3), stored).tolist()}>"):
        path = tmp_path / "w.mlir"
        path.write_text(RETYPED.replace("WEIGHT", weight).replace("CONSTANT", constant))
        outputs.append(_qopt(capsys, str(path), "-p", passes))
    assert outputs[0] == outputs[1]
    assert f"= arith.constant {expected} : tensor<4x3xi8>" in outputs[0]


def test_fold_qdq_transposes_a_huge_splat_without_expanding_it(tmp_path: Path, capsys) -> None:
    rows, cols = 2**20, 2**21
    path = tmp_path / "t.mlir"
    path.write_text(
        "!q = !quant.uniform<i8:f32, 0.5:1>\n"
        f"func.func @t() -> (tensor<{cols}x{rows}x!q>, tensor<{cols}x{rows}xf32>) {{\n"
        f"  %c = arith.constant dense<5> : tensor<{rows}x{cols}xi8>\n"
        f"  %cq = quant.scast %c : tensor<{rows}x{cols}xi8> to tensor<{rows}x{cols}x!q>\n"
        f"  %t = qnn.transpose %cq {{permutation = array<i64: 1, 0>}} : tensor<{rows}x{cols}x!q> -> tensor<{cols}x{rows}x!q>\n"
        f"  %f = arith.constant dense<-2.5> : tensor<{rows}x{cols}xf32>\n"
        f"  %g = qnn.transpose %f {{permutation = array<i64: 1, 0>}} : tensor<{rows}x{cols}xf32> -> tensor<{cols}x{rows}xf32>\n"
        f"  func.return %t, %g : tensor<{cols}x{rows}x!q>, tensor<{cols}x{rows}xf32>\n}}\n"
    )
    out = _qopt(capsys, str(path), "-p", "fold-qdq")
    assert "qnn.transpose" not in out
    assert f"arith.constant dense<5> : tensor<{cols}x{rows}xi8>" in out
    assert f"arith.constant dense<-2.500000e+00> : tensor<{cols}x{rows}xf32>" in out


def test_fuse_conv_dot_takes_a_huge_splat_addend_as_a_splat_bias(tmp_path: Path, capsys) -> None:
    n = 2**20
    path = tmp_path / "b.mlir"
    path.write_text(
        f"func.func @b(%a: tensor<{n}x16xf32>, %w: tensor<16x{n}xf32>) -> tensor<{n}x{n}xf32> {{\n"
        f"  %k = arith.constant dense<1.5> : tensor<1x{n}xf32>\n"
        f"  %d = qnn.dot %a, %w : tensor<{n}x16xf32>, tensor<16x{n}xf32> -> tensor<{n}x{n}xf32>\n"
        f"  %s = qnn.add %d, %k : tensor<{n}x{n}xf32>, tensor<1x{n}xf32> -> tensor<{n}x{n}xf32>\n"
        f"  func.return %s : tensor<{n}x{n}xf32>\n}}\n"
    )
    out = _qopt(capsys, str(path), "-p", "fuse-conv-dot")
    assert "qnn.add" not in out
    assert re.search(rf"= arith.constant dense<1.500000e\+00> : tensor<{n}xf32>\n", out)
    assert f"bias(%0 : tensor<{n}xf32>)" in out


# ----------------------------------------------------------------------------- codegen and executors

PROGRAM = """!q = !quant.uniform<i8:f32, 0.5:1>
func.func @main(%x: tensor<1xf32>) -> (tensor<{n}xf32>, tensor<{n}xf32>, tensor<{n}xi8>) {{
  %c = arith.constant {ints} : tensor<{n}xi8>
  %cq = quant.scast %c : tensor<{n}xi8> to tensor<{n}x!q>
  %y = qnn.dequantize %cq : tensor<{n}x!q> -> tensor<{n}xf32>
  %f = arith.constant {floats} : tensor<{n}xf32>
  %s = qnn.add %x, %f : tensor<1xf32>, tensor<{n}xf32> -> tensor<{n}xf32>
  %r = qnn.relu %cq : tensor<{n}x!q> -> tensor<{n}x!q>
  %ri = quant.scast %r : tensor<{n}x!q> to tensor<{n}xi8>
  func.return %y, %s, %ri : tensor<{n}xf32>, tensor<{n}xf32>, tensor<{n}xi8>
}}
"""
SMALL = 8


def _programs(tmp_path: Path) -> tuple[Path, Path, Path]:
    big = tmp_path / "big.mlir"
    big.write_text(PROGRAM.format(n=BIG, ints="dense<-3>", floats="dense<1.25>"))
    small = tmp_path / "small.mlir"  # the same constants, each element spelled out
    small.write_text(
        PROGRAM.format(n=SMALL, ints=f"dense<{[-3] * SMALL}>", floats=f"dense<{[1.25] * SMALL}>")
    )
    inputs = tmp_path / "x.npz"
    np.savez(inputs, arg0=np.array([0.5], np.float32))
    return big, small, inputs


def test_parsing_the_big_program_costs_nothing(tmp_path: Path) -> None:
    big, _, _ = _programs(tmp_path)
    module = parse_module(big.read_text())
    assert [len(attr) for attr in _constants(module)] == [1, 1]
    PASSES["qnn-default"]()().apply(make_context(), module)
    assert all(len(attr) == 1 for attr in _constants(module))


def test_emit_c_of_a_big_splat_holds_no_constant_data(tmp_path: Path, capsys) -> None:
    big, small, _ = _programs(tmp_path)
    big_c = _qopt(capsys, str(big), "--emit-c")
    small_c = _qopt(capsys, str(small), "--emit-c")
    # Constants are handed in at load (the constant table), never as C literals: ten million
    # elements add nothing to the source.
    assert len(big_c) < 2 * len(small_c) and max(map(len, big_c.splitlines())) < 500


@pytest.mark.parametrize("mode", [[], ["--reference"]], ids=["compiled", "reference"])
def test_run_of_a_big_splat_equals_its_small_spelled_out_twin(mode, tmp_path: Path, capsys) -> None:
    big, small, inputs = _programs(tmp_path)
    results = {}
    for name, path in (("small", small), ("big", big)):  # the small one compiles the kernels
        out = tmp_path / f"{name}.npz"
        _qopt(capsys, str(path), "--run", *mode, "--inputs", str(inputs), "--outputs", str(out))
        with np.load(out) as archive:
            results[name] = [archive[f"out{i}"] for i in range(3)]
    expected = [np.array([-2.0] * SMALL, np.float32), np.array([1.75] * SMALL, np.float32)]
    expected.append(np.array([1] * SMALL, np.int8))  # relu of -3 at zero point 1
    for got, want in zip(results["small"], expected, strict=True):
        assert got.dtype == want.dtype and np.array_equal(got, want)
    for got, twin in zip(results["big"], results["small"], strict=True):
        assert got.dtype == twin.dtype and got.shape == (BIG,)
        assert np.array_equal(got, np.broadcast_to(twin[0], (BIG,)))
