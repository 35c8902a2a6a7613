"""fgemm.c.j2: float32 qnn.dot / qnn.conv2d as a blocked GEMM, bit-exact with the reference.

Every output sums its taps ((c, kh, kw) for a conv, padded taps included as 0) in ONNX
Runtime's order (qdialect/float_sum.py): blocks of KC taps, each an FMA chain from +0 whose sum
is stored (the first block) or added to the sum so far; or groups of four taps summed by
separate multiplies and adds (a depthwise filter: MLAS's one-row GEMM); or, for a GEMM with one
output pixel or column, eight lanes and MLAS's tree (a plain loop); then the bias and the
addend. The
kernel keeps each output's sequence of float32 operations and vectorises across outputs: a
tile is MR output pixels (GEMM rows) x NR output channels: 8 x 32 where the target has AVX-512
(two vectors a row, sixteen independent FMA chains: more than both FMA pipes' latency needs),
else 6 x 16 (two AVX vectors a row). Taps are read where they lie, in the input or in its
zero-padded planar copy (an implicit GEMM: no im2col), at a pixel's offset plus a tap's; the
weights are packed `[group][channel block][k][NR]` (codegen/packing.py), once at load when
they are a constant. The K blocks are the order's own, so a tile's sums wait in the thread's
slot of the scratch between them exactly as MLAS keeps them in its output.

With few output channels the roles turn (PX): a tile is MR channels x NR pixels of an output
row (or of the whole image), the pixels' taps packed once per block. A depthwise conv whose
rows fill the lanes better than its channels would (DWR) reads each channel's own zero-padded
plane: a tile is MR output rows x NR pixels of one channel, every input row segment loaded
once for all the output rows that read it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from codegen import packing, threads
from codegen.families.epilogue import EpilogueSpec, operand_args
from codegen.geometry import Window, conv_window
from codegen.kernel import EmitContext, Kernel
from codegen.plan import shape_of
from codegen.spec import SpecView
from qdialect import qnn
from qdialect.float_sum import SumKind, SumOrder, tree_rows

MR_AVX512 = 8  # output pixels (rows) per tile: 16 of the 32 zmm registers hold sums
MR_AVX = 6  # ... 12 of the 16 ymm registers
NR_AVX512 = 32  # output channels per tile: two vectors of 16 floats
NR_AVX = 16  # ... or two of 8
GROUPED_KC = 128  # taps per K block of the grouped order (a multiple of its groups of 4)
PREFETCH_BYTES = 1 << 20  # packed weights past this come from memory: prefetch the next block
REGION_BYTES = 192 * 1024  # the input a chunk of rows reads stays in L2 while its channels go by
MAX_MC = 1020  # rows per chunk at most (their offsets live on the stack)
HWC_CHANNELS = 16  # a padded copy keeps channels last up to this many per group
PX_TASKS = 32  # chunks of pixel blocks (PX)
PX_WASTE = 1.1  # PX when the pixel blocks hold at most 10% more lanes than pixels
PX_STRIDE = 2  # ... of a conv whose stride along rows is at most this
ROW_PX_GAIN = 1.25  # ... of one output row each, when they fill this many times more lanes
NR_DW_ROWS = 16  # a depthwise conv's pixels per tile along an output row (DWR)
DW_ROWS_GAIN = 0.8  # DWR when its lanes are this full next to the channel lanes' (no transposes)
MIN_TASKS = 8  # with several threads, split the channel blocks until there are this many tasks


@dataclass(frozen=True)
class TapSource:
    """Where the taps are read: tap k of output pixel (i, j) of group g is
    `xa[g * A_G + base(i, j) + off(k)]`, base = i·SH·A_H + j·SW·A_W and
    off = c·A_C + r·DH·A_H + s·DW·A_W for k = (c, r, s). `xa` is the input itself or, when the
    window reaches padding, its zero-padded planar copy (C planes of HP x WP)."""

    N: int  # images (a dot: 1)
    C: int
    H: int
    W: int
    OW: int  # output pixels per row (a dot: all M rows are one output row)
    KH: int
    KW: int
    SH: int
    SW: int
    DH: int
    DW: int
    PT: int
    PL: int
    xs: tuple[int, ...]  # x's element strides, NCHW order
    copy: bool
    HP: int
    WP: int
    A_C: int
    A_H: int
    A_W: int
    A_G: int
    dw: bool  # depthwise: each lane reads its own input (channels of an HWC copy; DWR: pixels)
    PX: bool  # NCHW, pixels reading consecutive inputs: the lanes are pixels, the rows channels
    CH: int = 0  # an NCHWc conv's channels per K block, taps (r, s, c) within one (SumOrder.tap)
    PXW: int = 0  # PX: pixels per run of pixel blocks (all M, or one output row's OW)
    DWR: bool = False  # depthwise, planar: a tile is MR output rows x NR pixels of one channel
    MULT: int = 1  # DWR: output channels per input channel (a depthwise channel multiplier)


@dataclass(frozen=True)
class FloatGemm:
    """The GEMM of each image and group: M rows x K taps x COLS channels, and where its
    results go: y index of output pixel p, channel o = p·Y_P + o·Y_O (+ n·Y_N)."""

    M: int
    K: int
    COLS: int
    G: int
    Y_N: int
    Y_P: int
    Y_O: int
    ws: tuple[int, ...]  # the weights' element strides in (o, c, kh, kw) order


@dataclass(frozen=True)
class FloatGemmPlan:
    """Tiles, blocks, tasks and the scratch layout (in floats)."""

    MR: int
    NR: int
    KC: int
    KB: int  # K blocks
    MC: int  # rows per chunk
    CHUNKS: int
    NSPLIT: int  # channel-block splits per chunk, when several threads run
    W_BLOCKS: int  # blocks of weights: NR channels (MR with PX)
    TAIL: int  # M % MR
    FMA: bool  # blocks of FMA chains (else groups of four, or the tree; float_sum.py)
    TREE: bool  # one pixel or one column: eight lanes and MLAS's tree (the tiles unused)
    TREE_BY_PIXEL: bool  # ... whose GEMM rows are the pixels (a dot), else the channels
    ROWS4: int  # ... the rows reduced four at a time, then two at a time
    ROWS2: int
    BIAS_FIRST: bool  # the sums start from the bias (ONNX Gemm), which the epilogue then skips
    ADDEND_FIRST: bool  # ... from the addend (ORT's NCHWc Conv/Sum), which the epilogue skips
    PREFETCH: bool  # the next block of weights is fetched into L2 while a block's tiles run
    PF_STEP: int  # ... PF_STEP floats of it at every k step of a tile
    packed_w: bool
    parallel: bool
    parallel_pad: bool
    bpack_at: int  # weights packed per call (an argument)
    off_at: int  # the taps' offsets (K int64)
    slots_at: int  # per-thread partial sums
    SLOT: int  # ... floats each
    PB: int  # PX: blocks of NR pixels
    PBC: int  # ... per chunk
    ALPHA: float | None = None  # a FusedMatMul's: each FMA block's sum scaled (qnn.dot alpha)
    BIAS_ROWS: bool = False  # ... from a bias of the result's shape (a Gemm's C of [M, N])


def _conv_parts(
    op: qnn.Conv2DOp, tile: tuple[int, int], order: SumOrder
) -> tuple[TapSource, FloatGemm]:
    mr, nr = tile
    conv = conv_window(op)
    g: Window = conv.window
    cg = g.C // conv.groups
    # depthwise (one input channel per group, one output each): one GEMM whose 16 lanes are 16
    # channels, each tap of a lane read from its own channel of a channels-last copy
    dw = conv.groups > 1 and cg == 1 and conv.groups == g.O
    hp = max(g.H + g.PT, (g.OH - 1) * g.SH + (g.KH - 1) * g.DH + 1)
    wp = max(g.W + g.PL, (g.OW - 1) * g.SW + (g.KW - 1) * g.DW + 1)
    m = g.OH * g.OW
    # a depthwise conv reads each channel's own plane: its lanes can be a row's pixels too,
    # with a channel multiplier too (each input channel read by MULT output channels)
    mult = g.O // conv.groups if cg == 1 and conv.groups == g.C > 1 else 0
    dw_rows = (
        mult > 0 and g.SW == 1 and g.ys[3] == 1 and m > 1
        and getattr(op, "sum_from_addend", None) is None
        and _filled(g.OW, NR_DW_ROWS) >= DW_ROWS_GAIN * _filled(g.O, nr)
    )  # fmt: skip
    # (a depthwise conv reads a copy: its tiles read on past a row's end)
    copy = dw or dw_rows or (hp, wp) != (g.H, g.W) or g.PT > 0 or g.PL > 0
    # pixels as lanes (NCHW): consecutive output pixels of a row read inputs SW apart at every
    # tap and land side by side. Blocks of nr pixels run through the whole image when its
    # rows follow each other in the input too (e.g. a 1x1 stride-1 conv) and waste little;
    # else through each output row, when that fills more lanes than tiles of channels would
    # (few output channels: the channel lanes would go mostly unused)
    planar = copy or g.xs[3] == 1
    lanes_planar = conv.groups == 1 and g.SW <= PX_STRIDE and g.ys[3] == 1 and planar
    row_px = lanes_planar and _row_lanes_pay(g.O, g.OW, tile)
    # the copy's layout: taps (c, r, s) in order step along s, so planes (CHW) keep a pixel's
    # taps of one kernel row adjacent; channels last (HWC) when the channels are few, or the
    # kernel is 1x1 (always for a depthwise conv), unless the lanes are a row's pixels
    hwc = not dw_rows and (dw or (g.KH * g.KW == 1 or cg <= HWC_CHANNELS) and not row_px)
    a_c, a_h, a_w = (g.xs[1], g.xs[2], g.xs[3])
    if copy:
        a_c, a_h, a_w = (1, wp * g.C, g.C) if hwc else (hp * wp, wp, 1)
    assert g.ys[2] == g.OW * g.ys[3], "output pixels are row-major in either layout"
    assert 1 in (g.ys[1], g.ys[3]), "channels or pixels adjacent in y (the vector stores)"
    groups = 1 if dw or dw_rows else conv.groups
    flat_px = (
        conv.groups == 1 and a_w * g.SW == 1 and a_h * g.SH == g.OW and g.ys[3] == 1
        and m * PX_WASTE >= -(-m // nr) * nr
    )  # fmt: skip
    source = TapSource(
        g.N, g.C, g.H, g.W, max(g.OW, 1), g.KH, g.KW, g.SH, g.SW, g.DH, g.DW, g.PT, g.PL, g.xs,
        copy, hp, wp, a_c, a_h, a_w, 0 if dw or dw_rows else cg * a_c, dw or dw_rows,
        flat_px or row_px, order.channels, m if flat_px else g.OW, dw_rows, max(mult, 1),
    )  # fmt: skip
    gemm = FloatGemm(
        g.OH * g.OW, cg * g.KH * g.KW, g.O // groups, groups, g.ys[0], g.ys[3], g.ys[1], conv.ws
    )
    return source, gemm


def _row_lanes_pay(channels: int, ow: int, tile: tuple[int, int]) -> bool:
    """Whether tiles of mr channels x nr pixels of one output row fill their lanes better, by
    ROW_PX_GAIN (their taps are packed first), than tiles of mr pixels x nr channels."""
    mr, nr = tile
    return _filled(ow, nr) * _filled(channels, mr) > ROW_PX_GAIN * _filled(channels, nr)


def _filled(n: int, width: int) -> float:
    """The share of the lanes n values fill in blocks of `width` (none when n is 0)."""
    return n / (-(-n // width) * width) if n else 0.0


def _dot_parts(op: qnn.DotOp) -> tuple[TapSource, FloatGemm]:
    """[M, K] x [K, O] as a 1x1 conv over one output row of M pixels with K channels."""
    xs, o = shape_of(op.input), shape_of(op.result)[-1]
    m, k = math.prod(xs[:-1]), xs[-1]
    source = TapSource(
        1,
        k,
        1,
        m,
        max(m, 1),
        1,
        1,
        1,
        1,
        1,
        1,
        0,
        0,
        (0, 1, 0, k),
        False,
        1,
        m,
        1,
        0,
        k,
        0,
        False,
        False,
    )
    return source, FloatGemm(m, k, o, 1, 0, o, 1, (1, o, 0, 0))


def _region_bytes(source: TapSource, gemm: FloatGemm, rows: int) -> int:
    """Bytes of input the taps of `rows` consecutive output pixels (of one group) read."""
    if source.KH * source.KW == 1 and source.A_C == 1:  # a dot, or a 1x1 conv on NHWC
        return 4 * rows * gemm.K
    lines = min(source.HP, -(-rows // source.OW) * source.SH + (source.KH - 1) * source.DH)
    channels = gemm.COLS if source.dw else gemm.K // (source.KH * source.KW)
    return 4 * channels * lines * source.WP


def _rows_per_chunk(source: TapSource, gemm: FloatGemm, mr: int) -> tuple[int, int]:
    """(MC, chunks): near-equal chunks of whole tiles whose input stays in L2."""
    m = gemm.M
    mc = mr
    while mc < min(m, MAX_MC) and _region_bytes(source, gemm, mc + mr) <= REGION_BYTES:
        mc += mr
    chunks = -(-m // mc)
    if chunks == 0:  # no output pixels: nothing to do
        return mc, 0
    per_chunk = -(-m // chunks)
    mc = -(-per_chunk // mr) * mr
    return mc, -(-m // mc)


def _plan(
    source: TapSource,
    gemm: FloatGemm,
    order: SumOrder,
    bias_first: bool,
    packed_w: bool,
    tile: tuple[int, int],
    addend_first: bool = False,
) -> FloatGemmPlan:
    mr, nr = tile
    k = gemm.K
    kc = order.block if order.kind is SumKind.BLOCKED else GROUPED_KC
    kc = max(1, min(kc, k))
    kb = max(1, -(-k // kc))  # K = 0: one empty block, the outputs are +0 (and the epilogue)
    mc, chunks = _rows_per_chunk(source, gemm, mr)
    width = mr if source.PX else 1 if source.DWR else nr  # of a block of packed weights
    w_blocks = -(-gemm.COLS // width)
    slot = mc * nr
    if source.DWR:  # a task is a channel, its tiles one after the other
        mc, chunks, slot = -(-gemm.M // source.OW), gemm.COLS, mr * nr
    pb = pbc = 0
    if source.PX:  # chunks of pixel blocks; a block's taps, then its channels' partial sums
        pb = gemm.M // max(source.PXW, 1) * -(-source.PXW // nr)
        pbc = max(1, -(-pb // PX_TASKS))
        chunks = -(-pb // pbc)
        slot = kc * nr + (w_blocks * mr * nr if kb > 1 else mr * nr)
    # (FMA blocks only: a depthwise filter's weights are few)
    prefetch = (
        4 * gemm.G * w_blocks * k * width > PREFETCH_BYTES
        and order.kind is SumKind.BLOCKED
        and not source.DWR  # (a channel's few weights)
    )
    parallel = source.N * gemm.G * gemm.M * k * gemm.COLS >= threads.PARALLEL_MACS
    # (+ nr: a depthwise tile's last channel block reads up to nr - 1 floats past the last)
    copy = source.C * source.HP * source.WP + nr if source.copy else 0
    bpack_at = (copy + 15) // 16 * 16
    # (the offsets are int64: aligned, whatever the weights' count)
    off_at = bpack_at + (0 if packed_w else (gemm.G * w_blocks * k * width + 15) // 16 * 16)
    return FloatGemmPlan(
        mr, nr, kc, kb, mc, chunks,
        min(w_blocks, -(-MIN_TASKS // max(1, chunks))) if parallel else 1,
        w_blocks, (mc if source.DWR else gemm.M) % mr, order.kind is SumKind.BLOCKED,
        *_tree(gemm, order), bias_first,
        addend_first, prefetch, -(-nr // max(1, mc // mr)), packed_w, parallel,
        copy >= threads.PARALLEL_ELEMENTS, bpack_at, off_at, (off_at + 2 * k + 15) // 16 * 16,
        slot, pb, pbc,
    )  # fmt: skip


def _tree(gemm: FloatGemm, order: SumOrder) -> tuple[bool, bool, int, int]:
    """TREE, TREE_BY_PIXEL, ROWS4, ROWS2: the one-column kernel's rows, for the TREE order."""
    if order.kind is not SumKind.TREE:
        return False, False, 0, 0
    by_pixel = gemm.M > 1  # a dot's one column (a conv's TREE has one pixel): rows are pixels
    groups = tree_rows(gemm.M if by_pixel else gemm.COLS)
    return True, by_pixel, groups.count(4), groups.count(2)


def float_kernel(op: qnn.Conv2DOp | qnn.DotOp, ep: EpilogueSpec, ctx: EmitContext) -> Kernel:
    """The float32 conv / dot: weights packed at load when constant, else per call."""
    mr, nr = (MR_AVX512, NR_AVX512) if ctx.target.wide_vectors else (MR_AVX, NR_AVX)
    order = op.float_sum_order()
    source, gemm = _dot_parts(op) if isinstance(op, qnn.DotOp) else _conv_parts(op, (mr, nr), order)
    weights = ctx.plan.constant_data(op.weight)
    # the one-column kernel adds C (the bias) after its tree, as the epilogue adds the bias
    bias_first = op.bias_first is not None and order.kind is not SumKind.TREE
    assert not (bias_first and source.PX), "a dot's rows are pixels (not PX)"
    addend_first = getattr(op, "sum_from_addend", None) is not None
    if addend_first:  # (an NCHWc conv sums in FMA blocks: never the tree)
        source = replace(source, PX=False)  # the tiles' rows are pixels, the sums start in them
    if source.DWR:
        nr = NR_DW_ROWS
    plan = _plan(source, gemm, order, bias_first, weights is not None, (mr, nr), addend_first)
    if op.alpha is not None:  # a FusedMatMul's (a dot, or a batched MatMul's conv)
        plan = replace(plan, ALPHA=float(op.alpha.value.data))
    if bias_first:
        ep = replace(ep, has_bias=False)
        plan = replace(plan, BIAS_ROWS=len(shape_of(op.bias)) > 1)
    packed = None
    if weights is not None:
        layout = "dot" if isinstance(op, qnn.DotOp) else op.layout_kind.value
        width = mr if source.PX else 1 if source.DWR else nr
        panels = packing.float_panels(weights, layout, gemm.G, width, order)  # depthwise: G = 1
        packed = f"((const float *){ctx.plan.add_constant(op.weight, panels)})"
    args = operand_args(ctx, op, packed)
    if addend_first:
        ep = replace(ep, has_addend=False)  # added first, not in the epilogue
    scratch = plan.slots_at + (threads.SCRATCH_SLOTS if plan.parallel else 1) * plan.SLOT
    args.append(ctx.scratch(4 * scratch))
    return Kernel("fgemm.c.j2", SpecView(ep, source, gemm, plan), args)
