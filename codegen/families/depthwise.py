"""depthwise.c.j2: 8-bit depthwise conv (one input channel per group), with the NHWC row-pair
kernel where it applies."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codegen import packing, threads
from codegen.c_text import INT8_RANGES
from codegen.families.epilogue import EpilogueSpec, operand_args, vector_epilogue
from codegen.geometry import Window
from codegen.kernel import EmitContext, Kernel
from codegen.spec import SpecView

ACCUMULATOR_REGISTERS = 15  # of 16 ymm: accumulators, weights, one column and one product


@dataclass(frozen=True)
class DepthwisePlan:
    parallel: bool
    parallel_pad: bool
    vector_epilogue: bool
    packed_w: bool
    MULT: int  # channel multiplier: outputs per group
    taps: tuple[int, ...]  # where tap (r, s) of a window starts, relative to its first tap
    pairs: bool  # the row-pair kernel
    wpack_at: int  # int16 elements of scratch: weights packed per call
    wpairs_off: int  # ... and their row-pair interleaving, after the plain packing


@dataclass(frozen=True)
class Step:
    """One asm step of the row-pair kernel: load the weight pairs of pair `k` for a group of
    taps, then each P_k column once, multiplied into every accumulator that reads it."""

    k: int
    weights: tuple[int, ...]  # byte offsets of the weight blocks, into w0, w1, ...
    cols: tuple[tuple[int, tuple[tuple[int, str, bool], ...]], ...]  # (offset, (w, acc, first))
    accs: tuple[str, ...]


@dataclass(frozen=True)
class Schedule:
    npx: int  # output pixels per step
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class RowPairPlan:
    """The row-pair kernel: a ring of row-pair buffers P_a holds, per padded column and block
    of 8 channels, the int16 pairs (x[a], x[a + DH]) interleaved; weights are interleaved the
    same way once (packing.depthwise_pairs). With stride and dilation 1, two output rows share
    the pairs (row i + 1 sees them shifted by one row)."""

    ROWS: int  # output rows per step
    PAIRS: int  # row pairs a window reads
    CH_BLOCKS: int  # blocks of 8 channels
    block_channel0: tuple[int, ...]  # first channel of each block (the last one overlaps)
    RING_SLOTS: int
    PAIR_ROW_SIZE: int  # int16 elements of one P_a
    PAIR_WEIGHTS_SIZE: int
    acc_bound: int  # |Σ (x - zx)(w - zw)| never exceeds it: a bias within INT32 of it is safe
    variants: tuple[Schedule, ...]
    sat_pack: bool  # every |m| < 1: the saturating packs clamp exactly
    act_clamp: tuple[bool, bool]  # the activation bounds are tighter than the storage's


def row_pairs_apply(ep: EpilogueSpec, window: Window, geometry, mult: int) -> bool:
    """One output per channel, 8+ channels, NHWC, the in-register float requantization to
    8 bits, and an input zero point the storage can hold."""
    lo, hi = INT8_RANGES[ep.x_ctype]
    return (
        geometry.layout == "nhwc"
        and mult == 1
        and window.O >= 8
        and vector_epilogue(ep)
        and ep.requantized
        and geometry.o_stride == 1
        and lo <= ep.x_zp <= hi
    )


def schedule(window: Window, rows: int, pairs: int, blocks: int, npx: int) -> Schedule:
    """The asm steps for `npx` output pixels of `rows` output rows and one block of 8
    channels: accumulator a{q}_{px} of row i + q, pixel j + px."""
    kw = window.KW
    steps = []
    for k in range(pairs):
        live = [q for q in range(rows) if any(0 <= 2 * k + h - q < window.KH for h in (0, 1))]
        group = max(1, min(kw, (ACCUMULATOR_REGISTERS - 2 - rows * npx) // len(live)))
        for s0 in range(0, kw, group):
            taps = range(s0, min(kw, s0 + group))
            # weight block [k][s][b][q] (16 int16), relative to block b of pair 0, tap 0
            weights = {
                (s, q): (i, 2 * 16 * ((k * kw + s) * blocks * rows + q))
                for i, (s, q) in enumerate((s, q) for s in taps for q in live)
            }
            cols: dict[int, list] = {}
            for p in range(npx):
                for s in taps:
                    col = p * window.SW + s * window.DW
                    cols.setdefault(col, []).extend((weights[s, q][0], f"a{q}_{p}") for q in live)
            accs = tuple(sorted({acc for uses in cols.values() for _, acc in uses}))
            offsets = tuple(off for _, off in weights.values())
            steps.append((k, offsets, sorted(cols.items()), accs))
    # without a bias the sums start at zero: the first product of each is written, not added
    seen: set[str] = set()
    done = []
    for k, offsets, cols, accs in steps:
        marked = []
        for col, uses in cols:
            flagged = []
            for w, acc in uses:
                flagged.append((w, acc, acc not in seen))
                seen.add(acc)
            marked.append((2 * 16 * blocks * col, tuple(flagged)))
        done.append(Step(k, offsets, tuple(marked), accs))
    return Schedule(npx, tuple(done))


def row_pair_plan(ep: EpilogueSpec, window: Window, geometry, product_range: int) -> RowPairPlan:
    c, kh, kw, dh = window.C, window.KH, window.KW, window.DH
    rows = 2 if window.SH == 1 and dh == 1 else 1
    pairs = -(-(kh + rows - 1) // 2)
    blocks = -(-c // 8)
    px = 4 if rows == 2 else 8
    lo, hi = INT8_RANGES[ep.y_ctype]
    return RowPairPlan(
        rows,
        pairs,
        blocks,
        tuple(min(8 * b, c - 8) for b in range(blocks)),
        2 * (pairs - 1) * dh + 1,
        (geometry.WP * blocks * 16 + 31) // 32 * 32,
        pairs * kw * blocks * rows * 16,
        kh * kw * product_range,
        tuple(schedule(window, rows, pairs, blocks, n) for n in (px, px // 2, 1) if n),
        # With every |m| < 1, |fl(fl(acc) * m)| < 2^31: vcvtps2dq rounds it exactly and the
        # saturating packs clamp to the storage range (rint commutes with integer bounds).
        all(abs(m) < 1.0 for m in ep.multiplier),
        (ep.act_lo > lo, ep.act_hi < hi),
    )


def depthwise_kernel(
    op, ep: EpilogueSpec, window: Window, geometry, product_range: int, ctx: EmitContext
) -> Kernel:
    mult = geometry.COLS
    step = window.C if geometry.layout == "nhwc" else 1
    taps = tuple(
        (r * window.DH * geometry.WP + s * window.DW) * step
        for r in range(window.KH)
        for s in range(window.KW)
    )
    pairs = (
        row_pair_plan(ep, window, geometry, product_range)
        if row_pairs_apply(ep, window, geometry, mult)
        else None
    )
    scratch = geometry.HP * geometry.WP * window.C
    if pairs:
        scratch = max(scratch, threads.SCRATCH_SLOTS * pairs.RING_SLOTS * pairs.PAIR_ROW_SIZE)
    wpack_at = scratch = (scratch + 31) // 32 * 32
    tap_count = window.KH * window.KW * window.O
    wpairs_off = (tap_count + 15) // 16 * 16
    w = op.weight
    weights = ctx.plan.constant_data(w)
    weight = None
    if weights is None:
        scratch += wpairs_off + (pairs.PAIR_WEIGHTS_SIZE if pairs else 0)
    else:
        packed = packing.pack_depthwise(weights, list(ep.w_zp), geometry.layout)
        if pairs:
            wp = packing.depthwise_pairs(packed, pairs.ROWS, pairs.PAIRS, pairs.block_channel0)
            gap = np.zeros(wpairs_off - tap_count, dtype=np.int16)
            packed = np.concatenate([packed.ravel(), gap, wp.ravel()])
        table = ctx.plan.add_constant(w, packed.view(ep.w_ctype.removesuffix("_t")).ravel())
        weight = f"((const int16_t *){table})"
    args = operand_args(ctx, op, weight)
    macs = geometry.M * geometry.K * mult * geometry.G * window.N
    plan = DepthwisePlan(
        macs >= threads.PARALLEL_MACS,
        geometry.HP * geometry.WP * window.C >= threads.PARALLEL_ELEMENTS,
        vector_epilogue(ep),
        weights is not None,
        mult,
        taps,
        pairs is not None,
        wpack_at,
        wpairs_off,
    )
    args.append(ctx.scratch(2 * scratch))
    parts = (ep, window, geometry, plan, *([pairs] if pairs else []))
    return Kernel("depthwise.c.j2", SpecView(*parts), args)
