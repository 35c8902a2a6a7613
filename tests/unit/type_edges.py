"""Spellings where `!quant` types met upstream's edges (issue 18, "Upstream MLIR type edges").

Each case records what `mlir-opt` 22.1.8 does with it, found by running it there. test_types.py
checks ours against the records without mlir-opt; test_mlir_opt.py checks the records against
the real mlir-opt, so neither can drift from upstream unnoticed.

Every type is tried as the result of one unregistered op on line 1 (`OP_PREFIX` + type), so a
column is the prefix's length plus the offset in the type.
"""

from __future__ import annotations

from typing import NamedTuple

OP_PREFIX = '"test.op"() : () -> '


class Accepted(NamedTuple):
    text: str  # what is read
    ours: str  # what we print
    theirs: str  # what mlir-opt prints (6 significant digits; see each case)


class Rejected(NamedTuple):
    text: str
    at: str  # the substring of `text` the error points at (its first occurrence)
    message: str  # upstream's whole message

    @property
    def column(self) -> int:
        return len(OP_PREFIX) + self.text.index(self.at) + 1


ACCEPTED = [
    # 1. NaN scales written as hexadecimal float literals: upstream's range test lets a NaN
    # through and prints it as the double's bits, payload and sign kept.
    Accepted(
        "!quant.uniform<i8:f32, 0x7FF8000000000000:3>",
        "!quant.uniform<i8:f32, 0x7FF8000000000000:3>",
        "!quant.uniform<i8:f32, 0x7FF8000000000000:3>",
    ),
    Accepted(
        "!quant.uniform<u8:f16:1, {0xFFF8000000000001:3, 0.5}>",
        "!quant.uniform<u8:f16:1, {0xFFF8000000000001:3,0.5}>",
        "!quant.uniform<u8:f16:1, {0xFFF8000000000001:3,5.000000e-01}>",
    ),
    Accepted(
        "!quant.calibrated<f32<0x7FF8000000000000:1.0>>",
        "!quant.calibrated<f32<0x7FF8000000000000:1.0>>",
        "!quant.calibrated<f32<0x7FF8000000000000:1.000000e+00>>",
    ),
    # Sub-channel scales are stored in the expressed type: the NaN is made quiet and its
    # payload truncated (f32 0x7FE00000). Upstream prints those f32 bits, which its own parser
    # reads as a double and rejects; we print the double the f32 NaN widens to, which both
    # read back as the same f32 NaN.
    Accepted(
        "!quant.uniform<i8:f32:{0:1}, {0x7FF4000000000001:3, 1.0}>",
        "!quant.uniform<i8:f32:{0:1}, {0x7FFC000000000000:3, 1.0}>",
        "!quant.uniform<i8:f32:{0:1}, {0x7FE00000:3, 1.000000e+00}>",
    ),
    Accepted(
        "!quant.uniform<i8:bf16:{0:1}, {0xFFF8000000000000}>",
        "!quant.uniform<i8:bf16:{0:1}, {0xFFF8000000000000}>",
        "!quant.uniform<i8:bf16:{0:1}, {0xFFC0}>",
    ),
    # 2. bf16 sub-channel scales round once, double to bf16 (through f32 they rounded twice:
    # 1 + 2^-8 + 2^-40 is above the midpoint of 1.0 and 1.0078125, its f32 is on it).
    Accepted(
        "!quant.uniform<i8:bf16:{0:1}, {1.0039062500009095, 0x3FF0300000000000:3}>",
        "!quant.uniform<i8:bf16:{0:1}, {1.0078125, 1.015625:3}>",
        "!quant.uniform<i8:bf16:{0:1}, {1.007810e+00, 1.015630e+00:3}>",
    ),
    Accepted(
        "!quant.uniform<u8:bf16:{1:2}, {{0.1:255, 1.0e-40}}>",
        "!quant.uniform<u8:bf16:{1:2}, {{0.10009765625:-1, 9.183549615799121e-41}}>",
        "!quant.uniform<u8:bf16:{1:2}, {{1.000980e-01:-1, 9.183550e-41}}>",
    ),
    # 3. Sub-channel zero points are held in the signless storage integer and print as its
    # bits read signed, whatever the storage's signedness; -1 reads back as u8's 255.
    Accepted(
        "!quant.uniform<u8:f32:{0:1}, {1.0:255, 1.0:0}>",
        "!quant.uniform<u8:f32:{0:1}, {1.0:-1, 1.0}>",
        "!quant.uniform<u8:f32:{0:1}, {1.000000e+00:-1, 1.000000e+00}>",
    ),
    Accepted(
        "!quant.uniform<u4:f32:{0:1}, {1.0:15, 1.0:8}>",
        "!quant.uniform<u4:f32:{0:1}, {1.0:-1, 1.0:-8}>",
        "!quant.uniform<u4:f32:{0:1}, {1.000000e+00:-1, 1.000000e+00:-8}>",
    ),
    Accepted(
        "!quant.uniform<ui8:f32:{0:1}, {1.0:128, 1.0:-1}>",
        "!quant.uniform<u8:f32:{0:1}, {1.0:-128, 1.0:-1}>",
        "!quant.uniform<u8:f32:{0:1}, {1.000000e+00:-128, 1.000000e+00:-1}>",
    ),
    Accepted(
        "!quant.uniform<u32:f32:{0:1}, {1.0:4294967295, 1.0:2147483648}>",
        "!quant.uniform<u32:f32:{0:1}, {1.0:-1, 1.0:-2147483648}>",
        "!quant.uniform<u32:f32:{0:1}, {1.000000e+00:-1, 1.000000e+00:-2147483648}>",
    ),
    # Per axis and per tensor, zero points stay int64 and print as they are.
    Accepted(
        "!quant.uniform<u8:f32:0, {1.0:255, 1.0:0}>",
        "!quant.uniform<u8:f32:0, {1.0:255,1.0}>",
        "!quant.uniform<u8:f32:0, {1.000000e+00:255,1.000000e+00}>",
    ),
    # 4. and 5. The largest literals that still fit: int64 zero points, int32 axes.
    Accepted(
        "!quant.uniform<i8:f32, 1.0:-9223372036854775808>",
        "!quant.uniform<i8:f32, 1.0:-9223372036854775808>",
        "!quant.uniform<i8:f32, 1.000000e+00:-9223372036854775808>",
    ),
    Accepted(
        "!quant.uniform<i8:f32:0, {1.0:9223372036854775807}>",
        "!quant.uniform<i8:f32:0, {1.0:9223372036854775807}>",
        "!quant.uniform<i8:f32:0, {1.000000e+00:9223372036854775807}>",
    ),
    Accepted(
        "!quant.uniform<i8:f32:2147483647, {1.0}>",
        "!quant.uniform<i8:f32:2147483647, {1.0}>",
        "!quant.uniform<i8:f32:2147483647, {1.000000e+00}>",
    ),
    Accepted(
        "!quant.uniform<i8:f32:{2147483647:9223372036854775807}, {1.0}>",
        "!quant.uniform<i8:f32:{2147483647:9223372036854775807}, {1.0}>",
        "!quant.uniform<i8:f32:{2147483647:9223372036854775807}, {1.000000e+00}>",
    ),
]

TOO_LARGE = "integer value too large"
LEADING_MINUS = "hexadecimal float literal should not have a leading minus"

REJECTED = [
    # 1. Hexadecimal float literals take no sign; an infinite scale is out of range (INF).
    Rejected("!quant.uniform<i8:f32, -0x7FF8000000000000:3>", "0x7FF8", LEADING_MINUS),
    Rejected("!quant.uniform<i8:f32:{0:1}, {1.0, -0x3FF0000000000000}>", "0x3FF0", LEADING_MINUS),
    Rejected(
        "!quant.uniform<i8:f32, 0x7FF0000000000000:3>",
        ":3>",
        "scale INF out of expressed type range [1.401298e-45, 3.402823e+38]",
    ),
    Rejected(
        "!quant.uniform<i8:f32, 0xFFF0000000000000>",
        ">",
        "scale -INF out of expressed type range [1.401298e-45, 3.402823e+38]",
    ),
    # 4. Zero points are int64 (the error points at the literal, its '-' included).
    Rejected("!quant.uniform<i8:f32, 1.0:9223372036854775808>", "9223372036854775808", TOO_LARGE),
    Rejected("!quant.uniform<i8:f32, 1.0:-9223372036854775809>", "-9223", TOO_LARGE),
    Rejected("!quant.uniform<i8:f32, 1.0:0xFFFFFFFFFFFFFFFF>", "0xFFFF", TOO_LARGE),
    Rejected("!quant.uniform<i8:f32:0, {1.0:99999999999999999999}>", "9999", TOO_LARGE),
    Rejected("!quant.uniform<u8:f32:{0:1}, {1.0:18446744073709551615}>", "1844", TOO_LARGE),
    # Storage bounds and block sizes are int64 as well.
    Rejected("!quant.uniform<i8<-9223372036854775809:0>:f32, 1.0>", "-9223", TOO_LARGE),
    Rejected("!quant.uniform<i8:f32:{0:9223372036854775808}, {1.0}>", "9223", TOO_LARGE),
    # 5. Quantized dimensions are int32.
    Rejected("!quant.uniform<i8:f32:2147483648, {1.0}>", "2147483648", TOO_LARGE),
    Rejected("!quant.uniform<i8:f32:0x80000000, {1.0}>", "0x8", TOO_LARGE),
    Rejected("!quant.uniform<i8:f32:99999999999999999999, {1.0}>", "9999", TOO_LARGE),
    Rejected("!quant.uniform<i8:f32:{2147483648:1}, {1.0}>", "2147483648", TOO_LARGE),
]
