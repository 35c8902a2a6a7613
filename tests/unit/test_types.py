"""quant types: Python construction, invariants, exact text."""

from __future__ import annotations

import struct

import pytest
from xdsl.dialects.builtin import BFloat16Type, Float16Type, Float32Type, IntegerType, Signedness
from xdsl.parser import Parser
from xdsl.utils.exceptions import VerifyException

from qdialect.float_types import round_to
from qdialect.storage import storage_bounds
from qdialect.textio import IRError, make_context, parse_module, print_module
from qdialect.type_syntax import format_float
from qdialect.types import (
    AnyQuantizedType,
    CalibratedQuantizedType,
    Granularity,
    UniformQuantizedType,
)

from . import type_edges

F32 = Float32Type()


def parse_type(text: str):
    return Parser(make_context(), text).parse_type()


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.5, "0.5"),
        (1e-05, "1.0e-05"),
        (3.0, "3.0"),
        (2.5e20, "2.5e+20"),
        (1 / 3, "0.3333333333333333"),
        (5e-324, "5.0e-324"),
        (1e16, "1.0e+16"),
    ],
)
def test_format_float_is_shortest_and_has_a_dot(value: float, text: str) -> None:
    assert format_float(value) == text
    assert float(text) == value


def test_storage_bounds() -> None:
    assert storage_bounds(8, True) == (-128, 127)
    assert storage_bounds(8, False) == (0, 255)
    assert storage_bounds(1, True) == (-1, 0)
    assert storage_bounds(32, False) == (0, 4294967295)


def test_per_tensor_constructor_prints_upstream_text() -> None:
    q = UniformQuantizedType.per_tensor("i8", F32, 0.5, -3)
    assert str(q) == "!quant.uniform<i8:f32, 0.5:-3>"
    assert (q.scale, q.zero_point, q.qmin, q.qmax, q.signed) == (0.5, -3, -128, 127, True)
    assert q.granularity is Granularity.PER_TENSOR
    assert parse_type(str(q)) == q


def test_per_axis_constructor_and_accessors() -> None:
    q = UniformQuantizedType.per_axis("i8", F32, 0, [0.1, 0.2], [0, 3], qmin=-127, qmax=127)
    assert str(q) == "!quant.uniform<i8<-127:127>:f32:0, {0.1,0.2:3}>"
    assert q.axis == 0 and q.scales == (0.1, 0.2) and q.zero_points == (0, 3)
    assert parse_type(str(q)) == q


def test_sub_channel_scales_are_rounded_to_the_expressed_type() -> None:
    q = UniformQuantizedType.sub_channel("u8", F32, [(0, 1), (1, 2)], [1, 2], [0.1, 2.0], [120, 0])
    assert str(q) == "!quant.uniform<u8:f32:{0:1, 1:2}, {{0.10000000149011612:120, 2.0}}>"
    assert q.block_size_info == ((0, 1), (1, 2))
    assert parse_type(str(q)) == q


def test_storage_spellings() -> None:
    assert str(UniformQuantizedType.per_tensor("u8", F32, 1.0)) == "!quant.uniform<u8:f32, 1.0>"
    # Upstream: `u8` storage is the signless i8 integer type; `ui8`/`si8` keep their signedness
    # but print as u8/i8.
    u8 = parse_type("!quant.uniform<u8:f32, 1.0>")
    ui8 = parse_type("!quant.uniform<ui8:f32, 1.0>")
    si8 = parse_type("!quant.uniform<si8:f32, 1.0>")
    assert u8.storage_type == IntegerType(8)
    assert ui8.storage_type == IntegerType(8, Signedness.UNSIGNED)
    assert si8.storage_type == IntegerType(8, Signedness.SIGNED)
    assert str(ui8) == "!quant.uniform<u8:f32, 1.0>" and str(si8) == "!quant.uniform<i8:f32, 1.0>"
    assert (ui8.qmin, ui8.qmax) == (0, 255)


def test_default_bounds_are_omitted_and_others_kept() -> None:
    assert str(parse_type("!quant.uniform<i8<-128:127>:f32, 1.0>")) == "!quant.uniform<i8:f32, 1.0>"
    assert (
        str(parse_type("!quant.uniform<i4<-7:7>:f16, 1.0>")) == "!quant.uniform<i4<-7:7>:f16, 1.0>"
    )


def test_any_and_calibrated() -> None:
    a = AnyQuantizedType.get("i8", F32, qmin=-8, qmax=7)
    assert str(a) == "!quant.any<i8<-8:7>:f32>"
    assert str(AnyQuantizedType.get("u8")) == "!quant.any<u8>"
    c = CalibratedQuantizedType.get(F32, -0.998, 1.2321)
    assert str(c) == "!quant.calibrated<f32<-0.998:1.2321>>"
    assert parse_type(str(c)) == c and parse_type(str(a)) == a


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: UniformQuantizedType.per_tensor("i8", F32, -1.0),
            "scale out of expressed type range",
        ),
        (
            lambda: UniformQuantizedType.per_tensor("i8", Float16Type(), 7e4),
            "scale out of expressed type range",
        ),
        (
            lambda: UniformQuantizedType.per_tensor("i8", F32, 1.0, qmin=5, qmax=5),
            "illegal storage min and storage max: (5:5)",
        ),
        (lambda: UniformQuantizedType.per_tensor("i33", F32, 1.0), "illegal storage type size: 33"),
        (
            lambda: UniformQuantizedType.per_tensor("i8", IntegerType(8), 1.0),
            "expressed type must be floating point",
        ),
        (
            lambda: UniformQuantizedType.per_axis("i8", F32, -1, [1.0]),
            "illegal quantized dimension: -1",
        ),
        (
            lambda: UniformQuantizedType.per_axis("i8", F32, 0, [1.0], [0, 0]),
            "illegal number of scales and zeroPoints: 1, 2",
        ),
        (
            lambda: UniformQuantizedType.sub_channel("i8", F32, [(0, 0)], [1], [1.0]),
            "illegal block size: 0",
        ),
        (lambda: CalibratedQuantizedType.get(F32, 1.0, -1.0), "illegal min and max"),
        (
            lambda: AnyQuantizedType.get("u8", qmin=0, qmax=256),
            "illegal storage min and storage max: (0:256)",
        ),
    ],
)
def test_python_construction_checks_invariants(build, message: str) -> None:
    with pytest.raises(VerifyException, match=message.replace("(", r"\(").replace(")", r"\)")):
        build()


@pytest.mark.parametrize(
    ("text", "column", "message"),
    [
        (
            "!quant.uniform<i8:f32, 2>",
            28,
            "unexpected decimal integer literal for a floating point value",
        ),
        ("!quant.uniform<int8:f32, 2.0>", 20, "illegal storage type prefix"),
        ("!quant.uniform<u:f32, 2.0>", 20, "expected storage type width"),
        ("!quant.uniform<i0:f32, 2.0>", 20, "illegal storage type size: 0"),
        ("!quant.uniform<i8<-200:0>:f32, 2.0>", 23, "illegal storage type minimum: -200"),
        ("!quant.uniform<i8:i8, 2.0>", 23, "expressed type must be floating point"),
        ("!quant.uniform<i8:f32, 0.5:>", 32, "expected integer value"),
        ("!quant.calibrated<i8<-4:3>>", 23, "expecting float expressed type"),
        ("!quant.any<i8:f32", 15, "unbalanced '<' character in pretty dialect name"),
    ],
)
def test_type_errors_are_located(text: str, column: int, message: str) -> None:
    with pytest.raises(IRError) as caught:
        parse_module(f"func.func private @f(\n    {text})", "t.mlir")
    err = caught.value
    assert (err.file, err.line) == ("t.mlir", 2)
    assert message in err.message
    assert err.column == column, str(err)


# ---- upstream edges (issue 18): expected text recorded from mlir-opt 22, see type_edges.py


@pytest.mark.parametrize("case", type_edges.ACCEPTED, ids=lambda c: c.text)
def test_upstream_edge_spellings_print_as_recorded(case: type_edges.Accepted) -> None:
    module = parse_module(type_edges.OP_PREFIX + case.text, ctx=make_context(True))
    printed = print_module(module)
    assert case.ours in printed
    again = parse_module(printed, ctx=make_context(True))
    assert print_module(again) == printed


@pytest.mark.parametrize("case", type_edges.REJECTED, ids=lambda c: c.text)
def test_upstream_edge_spellings_are_rejected_where_recorded(case: type_edges.Rejected) -> None:
    with pytest.raises(IRError) as err:
        parse_module(type_edges.OP_PREFIX + case.text, ctx=make_context(True))
    assert (err.value.line, err.value.column, err.value.message) == (1, case.column, case.message)


def test_sub_channel_zero_points_keep_their_unsigned_value() -> None:
    q = parse_type("!quant.uniform<u8:f32:{0:1}, {1.0:-1, 2.0:255, 3.0:128}>")
    assert q.zero_points == (255, 255, 128)
    assert str(q) == "!quant.uniform<u8:f32:{0:1}, {1.0:-1, 2.0:-1, 3.0:-128}>"
    built = UniformQuantizedType.sub_channel("u4", F32, [(0, 1)], [2], [1.0, 1.0], [15, 8])
    assert tuple(built.zero_points) == (15, 8)
    assert parse_type(str(built)) == built


def test_nan_scales_keep_their_bits() -> None:
    q = parse_type("!quant.uniform<i8:f32, 0xFFF8000000000001:3>")
    assert struct.pack(">d", q.scale).hex() == "fff8000000000001"
    q.verify()
    sub = parse_type("!quant.uniform<i8:f16:{0:1}, {0x7FF4000000000000}>")
    # f16 NaN 0x7F00 (quiet, payload truncated), widened back to a double.
    assert struct.pack(">d", sub.scales[0]).hex() == "7ffc000000000000"
    assert str(sub) == "!quant.uniform<i8:f16:{0:1}, {0x7FFC000000000000}>"


def test_bf16_rounding_is_direct_from_the_double() -> None:
    assert round_to(BFloat16Type(), 1 + 2**-8 + 2**-40) == 1 + 2**-7  # above the midpoint
    assert round_to(BFloat16Type(), 1 + 2**-8) == 1.0  # on it: ties to even
    assert round_to(BFloat16Type(), 1 + 3 * 2**-8) == 1 + 2**-6  # on it: ties to even
    assert round_to(BFloat16Type(), 2.0**-134 + 2.0**-160) == 2.0**-133  # denormal
    assert round_to(BFloat16Type(), -0.1) == -0.10009765625
