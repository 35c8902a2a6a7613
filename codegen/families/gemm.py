"""gemm.c.j2: 8-bit dot and conv as an int16-pair GEMM (implicit GEMM for conv), weights packed
once at load when they are constant; one row against constant int8 weights is the exact
`vpmaddubsw` GEMV; and where the constant weights are proven small enough in every pair
(packing.maddubs_exact, e.g. reduce_range weights) the tile is the u8 x s8 `vpmaddubsw` one.
One row against symmetric int8 weights (every |w - zw| <= 127, packing.sign_exact: what ONNX
Runtime writes for full-range signed weights) takes the sign-magnitude GEMV, `|s| · (v ·
sign(s))`, exact where ONNX Runtime's u8 x s8 kernel saturates. (A sign-magnitude tile for many
rows measured slower than the int16-pair one: its vpabsb and two vpsignb per row and quad cost
more than they save.)"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np

from codegen import packing, threads
from codegen.c_text import INT8_RANGES
from codegen.families.epilogue import EpilogueSpec, operand_args, vector_epilogue
from codegen.geometry import Window
from codegen.kernel import EmitContext, Kernel
from codegen.spec import SpecView
from codegen.target import Target

L2_ROWS_BYTES = 96 * 1024  # a chunk of int16 GEMM rows stays in L2
MIN_TASKS = 32
# Weights up to this size are read again by every chunk of rows at little cost, so a parallel
# GEMM splits only its rows: tasks that split the columns of the same rows write into the same
# cache lines (an 8-bit row of 96 channels is 1.5 lines, a column block 16 bytes of it), and
# MobileNetV2's 112 x 112 1x1 convs ran 1.1x faster on 2 threads than on 1 that way.
SMALL_WEIGHTS_BYTES = 256 * 1024
# The AMX step: two 16-row A tiles of up to 64 bytes of k against two 16-column B tiles (one
# packed block each); a chunk's last rows take one step of shorter tiles (the rows may be the
# input itself, which must not be read past its end). GEMMs of fewer than TILE_MIN_ROWS rows
# keep the vector tile, which is also the fallback where AMX is refused: TILE_MR rows in a
# tiles plan (it divides a step).
TILE_ROWS, TILE_K, TILE_MIN_ROWS, TILE_MR = 32, 64, 16, 8
# Rows of the 512-bit u8 x s8 tile (Quads.wide): one accumulator a row. Fewer than 12 leave
# vpdpbusd's latency uncovered, more than 16 spill (measured on Zen 4: ResNet-18 at 8 rows
# 28 % slower than at 12); within that, the count that wastes the fewest rows of M.
WIDE_MR = range(12, 17)


class GemvKind(Enum):
    """The GEMV kernels of _gemv.c.j2, by what they multiply."""

    DOT_PRODUCT = "dot_product"  # u = x + offset in [0, 255], vpdpbusd (depth-4 blocks)
    SIGN_MAGNITUDE = "sign_magnitude"  # s = x + offset in [-128, 127], vpmaddubsw (depth 4)
    NIBBLES = "nibbles"  # u = x + offset in [0, 255] as 16 h + l, vpmaddubsw (depth 2)


@dataclass(frozen=True)
class Gemv:
    """The GEMV of one row: it multiplies x + offset by `kind`'s kernel, and `corr` (per
    column) removes what the offset and the zero points add."""

    offset: int
    corr: tuple[int, ...]
    kind: GemvKind

    @property
    def depth(self) -> int:
        """k per weight block row: quads, or pairs for the nibble kernel."""
        return 2 if self.kind is GemvKind.NIBBLES else 4


@dataclass(frozen=True)
class Quads:
    """The u8 x s8 tile: rows hold the stored bytes of x (a conv's padded copy pads with the
    zero point's byte), the tile multiplies u = x + offset in [0, 255] (x ^ 0x80 for int8), and
    `corr` (per group, then column, in whole NR blocks) = `zero · Σ_k v` with zero = zx + offset
    removes what the offset and the zero point add. `in_place`: the rows are x itself (a dot with
    K a whole number of quads, a 1×1 stride-1 unpadded NHWC conv), so nothing is copied.
    `bounded`: the weights are proven within the `vpmaddubsw` pair bound (packing.maddubs_exact),
    so plain AVX2 runs the tile exactly; else only `vpdpbusd` (Target.dot_product) may, and
    other targets take the tile's scalar loop. `kstep` > 0: AMX tile multiplies (Target.tiles)
    run steps of 32 rows × 32 columns, `kstep` bytes of k a tile load (KPAD is a multiple of
    it), on the stored bytes themselves (`tdpbssd` for int8 x, `tdpbusd` for uint8), less
    `tile_corr` = zx · Σ_k v per column; where the process may not use AMX, the vector tile."""

    offset: int
    zero: int
    corr: tuple[int, ...]
    in_place: bool
    bounded: bool
    kstep: int
    tile_corr: tuple[int, ...]
    wide: bool = False
    """512-bit `vpdpbusd` (AVX512-VNNI, Target.wide_vectors): one vector holds a block's 16
    columns, so the tile keeps WIDE_MR rows of sums in registers and issues half the
    instructions of the 256-bit one (AMD Zen 4 runs them at the same MACs per cycle, and
    ONNX Runtime's MLAS picks its AVX512-VNNI kernel there)."""

    @property
    def tiles(self) -> bool:
        return self.kstep > 0


@dataclass(frozen=True)
class GemmPlan:
    """Tiling, threading and scratch layout of one GEMM (int16 elements of scratch)."""

    parallel: bool
    parallel_pad: bool  # the padded input copy runs in parallel
    vector_epilogue: bool
    packed_w: bool  # weights packed at load (constant), else per call into scratch
    MR: int  # micro-kernel rows
    NR: int  # ... and columns
    KPAD: int  # K rounded up to pairs (quads for the u8 x s8 tile)
    KP: int  # pairs
    COL_BLOCKS: int  # blocks of NR columns
    MC: int  # rows per chunk (a task)
    CHUNKS: int
    NSPLIT: int  # column-block splits per chunk
    TAIL: int  # M % MR
    direct: bool  # a 1x1 stride-1 unpadded conv reads its rows straight from the HWC copy
    slots_at: int  # per-thread row panels (conv, not direct)
    bpack_at: int  # weights packed per call
    b_ctype: str  # int8_t blocks halve the traffic where it bounds the speed (few rows)
    gemv: Gemv | None
    quads: Quads | None
    bias_safe: bool  # |acc| + |bias| < 2^31 on every channel: no overflow test in the epilogue
    # AMX stores whole blocks of raw int32 sums straight into y: nothing to correct (zx = 0),
    # no epilogue, channels contiguous
    tiles_to_output: bool


def _chunks(m: int, row_bytes: int, mr: int) -> tuple[int, int]:
    """(rows per chunk, chunks): chunks of near-equal size, each at most L2_ROWS_BYTES, of
    whole steps of `mr` rows."""
    chunks = -(-m // max(mr, L2_ROWS_BYTES // row_bytes // mr * mr))
    per_chunk = -(-m // chunks)
    mc = -(-per_chunk // mr) * mr
    return mc, -(-m // mc)


def _row_tasks(m: int, tasks: int, mr: int) -> tuple[int, int]:
    """(rows per chunk, chunks): about `tasks` chunks of whole steps of `mr` rows."""
    per_task = -(-m // tasks)
    mc = -(-per_task // mr) * mr
    return mc, -(-m // mc)


def _scratch_layout(geometry, window: Window | None, mc: int, kpad: int) -> tuple[bool, int, int]:
    """(direct, slots_at, bpack_at) in int16 elements of scratch."""
    if window is None:
        return False, 0, (geometry.M * kpad + 31) // 32 * 32
    padded = geometry.HP * geometry.WP * window.C
    direct = (
        geometry.K == window.C == kpad
        and geometry.HP * geometry.WP == geometry.M
        and (window.KH, window.KW, window.SH, window.SW) == (1, 1, 1, 1)
    )
    if direct:
        return True, 0, (padded + 31) // 32 * 32
    slots_at = (padded + 31) // 32 * 32
    return False, slots_at, (slots_at + threads.SCRATCH_SLOTS * mc * kpad + 31) // 32 * 32


def _int8_blocks(ep: EpilogueSpec, m: int, mats: np.ndarray | None) -> bool:
    """int8 weight blocks for few rows (e.g. GEMV) when every w - zw fits int8; with many
    rows the widening costs more than it saves."""
    if m > 4 * packing.MR:
        return False
    lo, hi = INT8_RANGES[ep.w_ctype]
    if all(lo - z >= -128 and hi - z <= 127 for z in ep.w_zp):
        return True
    return mats is not None and mats.min(initial=0) >= -128 and mats.max(initial=0) <= 127


def _fast_paths(
    ep: EpilogueSpec, window: Window | None, geometry, mats, int8_blocks: bool, target: Target
):
    """(Gemv, None), (None, Quads) or (None, None): the `vpmaddubsw` kernels these constant
    weights allow. GEMV for one row of a dot (sign-magnitude where the weights allow, else
    nibbles), else the u8 x s8 tile when it is exact: always with `vpdpbusd`, else where the
    weights are proven within the pair bound."""
    if mats is None or ep.x_ctype not in ("uint8_t", "int8_t"):
        return None, None
    offset = 128 if ep.x_ctype == "int8_t" else 0  # u = x + offset in [0, 255]
    if window is None and geometry.M == 1 and geometry.K <= packing.GEMV_MAX_K:
        if target.dot_product and packing.quads_fit(mats):  # (an LSTM step's H·R: 1.8x faster)
            corr = packing.gemv_corrections(mats[0], ep.x_zp + offset)
            return Gemv(offset, tuple(corr), GemvKind.DOT_PRODUCT), None
        if packing.sign_exact(mats):
            signed_offset = offset - 128  # s = x + offset in [-128, 127]
            corr = packing.gemv_corrections(mats[0], ep.x_zp + signed_offset)
            return Gemv(signed_offset, tuple(corr), GemvKind.SIGN_MAGNITUDE), None
        if int8_blocks:
            corr = packing.gemv_corrections(mats[0], ep.x_zp + offset)
            return Gemv(offset, tuple(corr), GemvKind.NIBBLES), None
    zero = ep.x_zp + offset
    bounded = packing.maddubs_exact(mats)
    if 0 <= zero <= 255 and (bounded or (target.dot_product and packing.quads_fit(mats))):
        kstep = tile_k_step(geometry.K) if target.tiles and geometry.M >= TILE_MIN_ROWS else 0
        columns = _tile_columns(mats, kstep > 0)
        corr = [c for mat in columns for c in packing.gemv_corrections(mat, zero)]
        tile_corr = [c for mat in columns for c in packing.gemv_corrections(mat, ep.x_zp)]
        in_place = _rows_in_place(window, geometry) and _kpad(geometry.K, 4, kstep) == geometry.K
        wide = target.dot_product and target.wide_vectors and not kstep
        quads = Quads(offset, zero, tuple(corr), in_place, bounded, kstep, tuple(tile_corr), wide)
        return None, quads
    return None, None


def tile_k_step(k: int) -> int:
    """Bytes of k an AMX tile load takes (a multiple of 4, at most TILE_K): the largest that
    divides K rounded up to quads, unless padding K to whole TILE_K steps needs fewer steps."""
    quads = -(-k // 4) * 4
    step = max(d for d in range(4, TILE_K + 1, 4) if quads % d == 0)
    return step if quads // step <= -(-k // TILE_K) else TILE_K


def _kpad(k: int, depth: int, kstep: int) -> int:
    """K rounded up to whole `depth` (pairs, quads), and to whole AMX k-steps in a tiles plan."""
    unit = kstep if kstep and (-(-k // depth) * depth) % kstep else depth
    return -(-k // unit) * unit


def _tile_columns(mats: np.ndarray, tiles: bool) -> np.ndarray:
    """The weights with their columns zero-padded to whole pairs of NR blocks where the AMX
    step (two blocks wide) runs."""
    if not tiles:
        return mats
    extra = -mats.shape[2] % (2 * packing.NR)
    return np.pad(mats, ((0, 0), (0, 0), (0, extra)))


def _bias_safe(op, ep: EpilogueSpec, mats: np.ndarray | None, ctx: EmitContext) -> bool:
    """True if `acc + bias` cannot leave int32 for any input: per output channel, Σ_k |w - zw|
    times the largest |x - zx| plus |bias| stays below 2^31 (constant weights and bias)."""
    if mats is None or op.bias is None or ep.x_ctype not in INT8_RANGES:
        return False
    bias = ctx.plan.constant_data(op.bias)
    if bias is None:
        return False
    x_range = max(abs(b - ep.x_zp) for b in INT8_RANGES[ep.x_ctype])
    bound = np.abs(mats.astype(np.int64)).sum(axis=1).ravel() * x_range
    return bool((bound + np.abs(np.asarray(bias, dtype=np.int64)).ravel()).max() < 2**31)


def _rows_in_place(window: Window | None, geometry) -> bool:
    """The GEMM rows of whole quads are the input's own bytes: a dot with K % 4 == 0, or a 1×1
    stride-1 NHWC conv without padding whose C (= K) is a multiple of 4."""
    if geometry.K % 4:
        return False
    if window is None:
        return True
    return (
        geometry.layout == "nhwc"
        and geometry.G == 1
        and (window.KH, window.KW, window.SH, window.SW, window.PT, window.PL) == (1, 1, 1, 1, 0, 0)
        and (geometry.HP, geometry.WP) == (window.H, window.W) == (window.OH, window.OW)
    )


def gemm_kernel(op, ep: EpilogueSpec, window: Window | None, geometry, ctx: EmitContext):
    m, k, n, groups = geometry.M, geometry.K, geometry.COLS, geometry.G
    weights = ctx.plan.constant_data(op.weight)
    mats = None
    if weights is not None:
        layout = "dot" if window is None else geometry.layout
        mats = packing.gemm_weights(weights, list(ep.w_zp), layout, groups)
    int8_blocks = _int8_blocks(ep, m, mats)
    gemv, quads = _fast_paths(ep, window, geometry, mats, int8_blocks, ctx.target)
    tiles = quads is not None and quads.tiles
    depth = gemv.depth if gemv is not None else 4 if quads is not None else 2
    kpad = _kpad(k, depth, quads.kstep if tiles else 0)
    col_blocks = -(-n // (2 * packing.NR)) * 2 if tiles else -(-n // packing.NR)
    step, mr = (TILE_ROWS, TILE_MR) if tiles else (packing.MR, packing.MR)
    if quads is not None and quads.wide:
        step = mr = min(WIDE_MR, key=lambda rows: (-(-m // rows) * rows - m, rows))
    mc, chunks = _chunks(m, kpad * (2 if quads is None else 1), step)  # int16 or byte rows
    b_ctype = "int8_t" if int8_blocks or quads is not None or gemv is not None else "int16_t"
    weight_bytes = groups * col_blocks * kpad * packing.NR * (1 if b_ctype == "int8_t" else 2)
    parallel = m * k * n * groups * (window.N if window is not None else 1) >= threads.PARALLEL_MACS
    rows_only = parallel and weight_bytes <= SMALL_WEIGHTS_BYTES and chunks < MIN_TASKS
    if rows_only:
        mc, chunks = _row_tasks(m, MIN_TASKS, step)
    direct, slots_at, bpack_at = _scratch_layout(geometry, window, mc, kpad)
    if gemv is not None:  # streaming the weights bounds it: a second core's bandwidth pays sooner
        parallel = k * n >= threads.PARALLEL_GEMV_MACS
    pad_elements = m * k if window is None else geometry.HP * geometry.WP * window.C
    scratch = bpack_at
    weight = None
    if mats is None:
        scratch += groups * col_blocks * kpad * packing.NR
    else:
        dtype = np.int8 if b_ctype == "int8_t" else np.int16
        packed = packing.pack_gemm(_tile_columns(mats, tiles), dtype, depth, kpad)
        table = ctx.plan.add_constant(op.weight, packed.view(ep.w_ctype.removesuffix("_t")).ravel())
        weight = f"((const {b_ctype} *){table})"
    args = operand_args(ctx, op, weight)
    plan = GemmPlan(
        parallel,
        pad_elements >= threads.PARALLEL_ELEMENTS,
        vector_epilogue(ep),
        weights is not None,
        mr,
        packing.NR,
        kpad,
        kpad // 2,
        col_blocks,
        mc,
        chunks,
        1 if rows_only else min(col_blocks // (2 if tiles else 1), -(-MIN_TASKS // chunks)),
        m % mr,
        direct,
        slots_at,
        bpack_at,
        b_ctype,
        gemv,
        quads,
        _bias_safe(op, ep, mats, ctx),
        tiles
        and not any(quads.tile_corr)
        and vector_epilogue(ep)
        and not ep.requantized
        and not ep.has_bias
        and ep.activation not in ("relu", "clamp")
        and geometry.o_stride == 1,
    )
    args.append(ctx.scratch(2 * scratch))
    parts = (ep, geometry, plan) if window is None else (ep, window, geometry, plan)
    return Kernel("gemm.c.j2", SpecView(*parts), args)
