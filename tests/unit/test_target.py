"""codegen.target: which kernels the compiler's predefined macros allow, read off the real
compiler with the flags in use (runtime.cc.target_of)."""

from __future__ import annotations

import pytest

from codegen.target import GENERIC, Target
from runtime.cc import target_of

AVX512_VNNI = {"__AVX2__", "__AVX512F__", "__AVX512VL__", "__AVX512VNNI__"}
AMX = {"__AMX_TILE__", "__AMX_INT8__"}


@pytest.mark.parametrize(
    ("macros", "permitted", "expected"),
    [
        (set(), True, GENERIC),
        ({"__AVX2__"}, True, GENERIC),
        ({"__AVX2__", "__AVXVNNI__"}, False, Target(dot_product=True)),
        # VNNI without VL: 512-bit float vectors only
        ({"__AVX2__", "__AVX512F__", "__AVX512VNNI__"}, False, Target(wide_vectors=True)),
        (AVX512_VNNI, False, Target(dot_product=True, wide_vectors=True)),
        # the OS refused the tiles
        (AVX512_VNNI | AMX, False, Target(dot_product=True, wide_vectors=True)),
        (AVX512_VNNI | AMX, True, Target(dot_product=True, tiles=True, wide_vectors=True)),
        ({"__AVX2__"} | AMX, True, GENERIC),  # tiles plans fall back to a vpdpbusd tile
    ],
)
def test_macros_decide_the_target(macros, permitted, expected) -> None:
    assert Target.from_macros(frozenset(macros), permitted) == expected


def test_flags_without_a_native_target_are_generic() -> None:
    """The strict test flags name no ISA: plain x86-64, so no tile relies on VNNI or AMX."""
    assert target_of(["-O1", "-ffp-contract=off"]) == GENERIC


def test_the_host_target_follows_march_native() -> None:
    """-march=native's macros, asked of the compiler itself: VNNI implies the vpdpbusd tile;
    AMX tiles only with VNNI too (their fallback tile)."""
    native = target_of(["-O2", "-march=native"])
    assert not native.tiles or native.dot_product
    assert target_of(["-O2", "-march=native", "-mno-amx-tile"]).tiles is False
