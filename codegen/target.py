"""What the C compiler generates code for, as far as the choice of a kernel depends on it.

The generated C selects instructions with `#if` on the compiler's predefined macros, so it is
correct under any flags; but some choices are made in Python before the C exists (how the
weights are packed, whether a tile needs its inputs proven small), and those need to know the
target. `runtime.cc.target_of` reads it off the compiler with the flags in use.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    """`dot_product`: `vpdpbusd` on 256-bit vectors (AVX-VNNI, or AVX512-VNNI with VL) sums
    four u8 x s8 products into int32 without an int16 step, so the u8 x s8 tile is exact for
    every int8 weight, not only those within the `vpmaddubsw` pair bound."""

    dot_product: bool = False
    tiles: bool = False
    """AMX-INT8 tile multiplies (`tdpbusd`: 16 × 64 u8 by 64 × 16 s8 into 16 × 16 int32,
    exact), which the compiler targets and the operating system lets this process use."""

    wide_vectors: bool = False
    """AVX-512F: 512-bit float vectors (32 registers), so a float tile can keep twice the sums."""

    @staticmethod
    def from_macros(macros: frozenset[str], tiles_permitted: bool = False) -> Target:
        """The target of a compiler that predefines `macros` (`cc -dM -E`); `tiles_permitted`:
        the OS granted this process the AMX tile state."""
        vnni = "__AVXVNNI__" in macros or {"__AVX512VNNI__", "__AVX512VL__"} <= macros
        amx = {"__AMX_TILE__", "__AMX_INT8__"} <= macros and tiles_permitted
        return Target(dot_product=vnni, tiles=vnni and amx, wide_vectors="__AVX512F__" in macros)


GENERIC = Target()
