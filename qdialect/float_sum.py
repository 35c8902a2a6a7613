"""The order in which float32 conv, dot and pools reduce: ONNX Runtime's (MLAS's).

DESIGN §2 makes ONNX Runtime's CPU kernels the default arithmetic, and a float conv or dot is
no exception: calibration runs the float model, and its ranges should be the ones ORT's
calibrator sees, bit for bit. ORT's float Conv (`MlasConv`), MatMul and Gemm (`MlasGemm`) on
x86-64 with FMA sum each output in one of three ways, which this module names and sizes
(`onnxruntime/core/mlas/lib/convolve.cpp`, `sgemm.cpp`, `x86_64/SgemmKernelM1Avx.S`,
`SgemmKernelM1TransposeBAvx.S`):

- **blocked FMA** (the SGEMM kernels): K is cut into blocks of `block` taps in order; each block
  is a chain `acc = +0; acc = fma(x, w, acc)`; the first block's sum is stored and every later
  one added, `c = c + acc`. A Conv then adds its bias, `y = c + b`. A Gemm with a bias (its C)
  starts from it instead: `c = b`, then `c = c + acc` for every block (`bias_first`).
- **grouped** (`MlasSgemmKernelM1Avx`, the kernel of a GEMM with one row: a depthwise conv's
  filter): taps in groups of 4 (then one of 2, then 1, for what is left), each group summed
  without FMA, `t = fl(x0·w0)`, `t = fl(t + fl(x1·w1))`, ...; `c = +0`, then `c = c + t`.
- **tree** (`MlasSgemmKernelM1TransposeBAvx`, a GEMM with one column: a conv whose output is
  1 x 1, as in a squeeze-and-excitation block): eight lanes, lane l summing taps l, l + 8, ...
  from +0 without FMA; then the lanes are added by a tree that depends on the GEMM row's place
  in MLAS's groups of rows (`tree_sum`): rows go four at a time, then two, then one.

The block size is MLAS's: 256 (`MLAS_SGEMM_PACKED_STRIDEK`) for a dot whose right-hand side is
a weight (ORT prepacks a constant MatMul/Gemm weight), else `MlasSgemmOperation`'s stride,
which starts at 128 and doubles as the GEMM's N (output pixels of a conv) shrinks below K.
A batched MatMul of two activations, which the importer writes as a grouped 1×1 conv
(`batched_matmul`), sums as each batch element's GEMM (`dot_sum_order`, N its columns).
These are ORT's sums with one intra-op thread (`intra_op_num_threads=1`), and with any number
of threads once the batch or the groups number more than one; a single image on several
threads splits the pixels between them, each range a GEMM of its own N, which changes the
block size of small images (`conv_pixel_ranges`, `gemm_column_ranges`;
`rewrites.mlas_threads` writes those sums). The float32 AveragePool's and MaxPool's three
MLAS kernels are `PoolKernel` below; a 3-D window's paths are `Pool3DKernel`
(`qdialect.pool3d`). This is ORT's session without graph optimizations (its calibrator's).

With them (the optimized session, which runs a quantized model), ORT's `NchwcTransformer`
turns a float conv with constant weights into one of MLAS's NCHWc convs (`snchwc.cpp`,
`SconvKernelCommon.h`; which ones: `host_cpu.nchwc_conv_channels`). Those sum **blocked FMA**
too, with other blocks and another tap order (`SumOrder.channels`): each block is a chunk of
input channels (one NCHWc block of 8 or 16 for the general kernel, 128 for the pointwise one,
one channel for the NCHW-input and depthwise kernels), its taps in (kh, kw, c) order; padded
taps are skipped, which sums as a 0 does. Any number of threads sums so.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

MLAS_SGEMM_STRIDEN = 128
MLAS_SGEMM_STRIDEK = 128
MLAS_SGEMM_PACKED_STRIDEK = 256
M1_GROUP = 4  # taps per group of the one-row kernel


class SumKind(Enum):
    """Which of MLAS's SGEMM kernels sums an output (see the module docstring)."""

    BLOCKED = "blocked"  # FMA chains in blocks of K taps
    GROUPED = "grouped"  # the one-row kernel: groups of 4 taps
    TREE = "tree"  # the one-column kernel: 8 lanes, then a tree


@dataclass(frozen=True)
class SumOrder:
    """How each output sums its K products: `kind`, and for BLOCKED the taps per block; a
    conv's taps in (c, kh, kw) order, or with `channels` (an NCHWc conv: blocks of that many
    input channels) each block's in (kh, kw, c) order."""

    kind: SumKind
    block: int = 0
    channels: int = 0

    def tap(self, k, channels: int, kh: int, kw: int):
        """(c, r, s): the input channel and kernel row and column of tap k (an int or an
        integer array) of a conv with `channels` input channels (per group) and a kh x kw
        kernel. The last block of an NCHWc conv may hold fewer channels (MLAS pads the rest
        with zeros, which add nothing)."""
        if not self.channels:
            return k // (kh * kw), k // kw % kh, k % kw
        chunk = self.channels * kh * kw
        first = k // chunk * self.channels
        left = channels - first  # (the min of it and `self.channels`, on arrays too)
        width = left + (self.channels - left) * (left > self.channels)
        rest = k % chunk
        return first + rest % width, rest // (kw * width), rest // width % kw

    def blocks(self, k: int) -> list[range]:
        """The taps of each FMA block (BLOCKED; K = 0: one empty block)."""
        if k == 0:
            return [range(0)]
        return [range(k0, min(k, k0 + self.block)) for k0 in range(0, k, self.block)]


def group_sizes(k: int) -> list[int]:
    """The one-row kernel's groups over K taps: fours, then a two and a one as K needs."""
    return [M1_GROUP] * (k // M1_GROUP) + [2] * (k % 4 >= 2) + [1] * (k % 2)


TREE_LANES = 8


def tree_rows(rows: int) -> list[int]:
    """The size of the group of rows (4, 2 or 1) each of a one-column GEMM's `rows` rows is
    reduced in: MLAS takes rows four at a time, then two, then one."""
    return [size for size in group_sizes(rows) for _ in range(size)]


def tree_sum(lanes, group: int):
    """The one-column kernel's sum of its eight lane sums (float32 arrays, or a list of 8
    float32 values) for a row in a group of `group` rows: the tree its shuffles build."""
    a = lanes
    if group == 4:
        return (((a[0] + a[1]) + a[2]) + a[3]) + (((a[4] + a[5]) + a[6]) + a[7])
    if group == 2:
        return ((a[0] + a[2]) + (a[4] + a[6])) + ((a[1] + a[3]) + (a[5] + a[7]))
    return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))


def pair_sum(lanes):
    """`(l0 + l2) + (l1 + l3)` of four lanes (the last axis): SSE's horizontal sum, `movehl`
    then the two lanes left, as MLAS's pools and LayerNorm and Eigen's reductions end."""
    return (lanes[..., 0] + lanes[..., 2]) + (lanes[..., 1] + lanes[..., 3])


def sgemm_stride_k(n: int, k: int) -> int:
    """`MlasSgemmOperation`'s (and `MlasConvOperation`'s) K stride for a GEMM with N columns:
    the N stride doubles while K is small, the K stride while N is small."""
    stride_n, stride_k = MLAS_SGEMM_STRIDEN, MLAS_SGEMM_STRIDEK
    if n >= k:
        while stride_k // 2 >= k:
            stride_n, stride_k = stride_n * 2, stride_k // 2
    else:
        while stride_n > 16 and stride_n // 2 >= n:
            stride_n, stride_k = stride_n // 2, stride_k * 2
    return stride_k


# MLAS's threading (mlasi.h): a GEMM or conv of this many multiplies per thread takes another
MLAS_SGEMM_THREAD_COMPLEXITY = 64 * 1024
MLAS_MAXIMUM_THREAD_COUNT = 16
MLAS_SGEMM_STRIDEN_THREAD_ALIGN = 16


def _partition(index: int, count: int, total: int) -> tuple[int, int]:
    """`MlasPartitionWork`: (start, count) of work item `index` of `count` over `total`."""
    per, extra = divmod(total, count)
    if index < extra:
        return (per + 1) * index, per + 1
    return per * index + extra, per


def gemm_column_ranges(rows: int, columns: int, k: int, threads: int, batch: int = 1):
    """The ranges of columns (start, count) the work items of `MlasGemmBatch` take on a pool
    of `threads`: the threads a GEMM gets from its multiplies, split along N when N > M (in
    blocks of 16 columns), else along M (every column in one range)."""
    target = min(rows * columns * k // MLAS_SGEMM_THREAD_COMPLEXITY + 1, threads)
    per_gemm = -(-target // batch)
    if columns <= rows or per_gemm <= 1:
        return [(0, columns)]
    blocked = -(-columns // MLAS_SGEMM_STRIDEN_THREAD_ALIGN)
    per_gemm = min(per_gemm, blocked)
    ranges = []
    for index in range(per_gemm):
        start, count = _partition(index, per_gemm, blocked)
        start *= MLAS_SGEMM_STRIDEN_THREAD_ALIGN
        count = min(columns - start, count * MLAS_SGEMM_STRIDEN_THREAD_ALIGN)
        if count > 0:
            ranges.append((start, count))
    return ranges


def conv_pixel_ranges(filters: int, pixels: int, k: int, threads: int, direct: bool):
    """The ranges of output pixels (start, count) whose GEMMs MLAS runs apart for one image of
    an ungrouped conv on a pool of `threads` (`MlasConvPrepare`, `MlasConvTryMultithread`): a
    conv MLAS runs as one GEMM (`direct`: pointwise and the like; or more filters than pixels)
    splits as `MlasGemmBatch` does; any other is cut into segments of `ThreadStrideN` pixels,
    the threads it gets from its multiplies, rounded up to 16."""
    if direct or filters > pixels:
        return gemm_column_ranges(filters, pixels, k, threads)
    complexity = filters * pixels * k
    if complexity < MLAS_SGEMM_THREAD_COMPLEXITY * MLAS_MAXIMUM_THREAD_COUNT:
        target = complexity // MLAS_SGEMM_THREAD_COMPLEXITY + 1
    else:
        target = MLAS_MAXIMUM_THREAD_COUNT
    target = min(target, threads)
    stride = -(-pixels // target)
    if target > 1:
        align = MLAS_SGEMM_STRIDEN_THREAD_ALIGN
        stride = (stride + align - 1) // align * align
    if stride >= pixels:
        return [(0, pixels)]
    return [(start, min(stride, pixels - start)) for start in range(0, pixels, stride)]


def conv_sum_order(
    filters_per_group: int, pixels: int, k: int, transposed_input: bool = False
) -> SumOrder:
    """A float conv's order: a group with one filter is a one-row GEMM (a depthwise conv), a
    1 x 1 output a one-column GEMM; otherwise blocks of the SGEMM stride for N = the output
    pixels of an image. `transposed_input`: MLAS reads the input itself as a transposed B
    (`MlasConvPrepare`'s GemmDirect with CblasTrans: stride 1, no padding, no dilation, one
    input channel per group, the kernel as wide as the image); then one filter is the
    one-row transposed-B kernel, eight lanes and the tree over the pixels (their groups of
    4, 2, 1). Only ungrouped convs are passed it: a grouped (depthwise) one keeps the one-row
    order, as our depthwise kernels sum, and differs from ORT there."""
    if filters_per_group == 1 and transposed_input and pixels > 1:
        return SumOrder(SumKind.TREE)
    if filters_per_group == 1:
        return SumOrder(SumKind.GROUPED)
    if pixels == 1:
        return SumOrder(SumKind.TREE)
    return SumOrder(SumKind.BLOCKED, sgemm_stride_k(pixels, k))


def dot_sum_order(
    rows: int,
    k: int,
    columns: int,
    streamed_rhs: bool,
    transposed_rhs: bool = False,
    scaled: bool = False,
) -> SumOrder:
    """A float dot's order: a weight is prepacked (blocks of 256, any rows); an rhs that is
    not (`streamed_rhs`: an activation, or a DequantizeLinear's output) runs
    `MlasSgemmOperation`: for one row, the one-row kernel, or the one-row transposed-B kernel
    when the rhs is read transposed (`transposed_rhs`: Gemm's transB), its tree over B's
    rows (the dot's columns); the one-column kernel for one column, unless B is read transposed
    (its ldb is then K, and MLAS takes that kernel for ldb 1 only). A FusedMatMul's alpha
    other than 1 (`scaled`) keeps MLAS off those two kernels: blocked at any shape."""
    if not streamed_rhs:
        return SumOrder(SumKind.BLOCKED, MLAS_SGEMM_PACKED_STRIDEK)
    if rows == 1 and not scaled:
        return SumOrder(SumKind.TREE if transposed_rhs else SumKind.GROUPED)
    if columns == 1 and not scaled and (not transposed_rhs or k == 1):
        return SumOrder(SumKind.TREE)  # (B's column contiguous, ldb 1: transposed only for K 1)
    return SumOrder(SumKind.BLOCKED, sgemm_stride_k(columns, k))


class PoolKernel(Enum):
    """Which of MLAS's three pooling kernels (`pooling.cpp`) reduces a float pool's windows.

    For an AveragePool, the order of the sums:
    GLOBAL (the window is the whole image, stride 1, no padding): four lanes, lane l summing
    elements l, l + 4, ... of the row-major image from +0, then `(l0 + l2) + (l1 + l3)`, then
    the elements left over one by one; divided by the image size.
    COLUMNS (`MlasPool2DVectorKernel`: stride along the width at most 2, kernel sides at most
    32, the padded row fits MLAS's buffer, no dilation): each input column's in-image rows of
    the window summed downward from the first, then the window's columns (padding columns as
    +0) summed left to right from the first; divided by the count.
    ROWS (the generic kernel): the in-image taps in row-major order from +0; divided by the
    count (kh·kw with count_include_pad, else the in-image taps).

    For a MaxPool, the same folds with two maxima that differ only on NaN: `maxps(a, v)`
    (`_mm_max_ps`: `a > v ? a : v`, so a NaN on either side gives v), and `std::max(a, v)`
    (`a < v ? v : a`: a NaN on either side gives a). GLOBAL: lanes from the lowest float
    (-FLT_MAX) by maxps, combined as `maxps(maxps(l0, l2), maxps(l1, l3))`, the leftovers by
    std::max. COLUMNS: each column's rows by maxps, except the last W mod 4 columns, whose rows
    go by std::max (MLAS's scalar tail); padding columns hold -FLT_MAX; the window's columns by
    maxps. ROWS: the in-image taps by std::max from -FLT_MAX; with dilation (ONNX Runtime's own
    loop, not MLAS) from the first in-image tap instead. All of it was checked against ONNX
    Runtime 1.31 on NaN, infinities and signed zeros (tests/numeric/test_float_sums_ort.py)."""

    GLOBAL = "global"
    COLUMNS = "columns"
    ROWS = "rows"


MLAS_POOL_ROW = 2048 - 3  # MLAS_POOL_REDUCTION_BUFFER_STACK less its padding: a padded row
MLAS_POOL_KERNEL = 32  # the vector kernel's largest kernel side


def pool_kernel(
    kernel: tuple[int, int],
    image: tuple[int, int],
    strides: tuple[int, int],
    dilations: tuple[int, int],
    pads: tuple[int, int, int, int],
    row_major: bool = False,
) -> PoolKernel:
    """Which of MLAS's kernels ONNX Runtime runs for a float AveragePool or MaxPool (`MlasPool`;
    a dilated MaxPool is ROWS). `row_major`: an AveragePool of opset 19 or later, which ORT
    computes in its own loop (`AveragePoolV19`), the ROWS order."""
    if row_major:
        return PoolKernel.ROWS
    if kernel == image and strides == (1, 1) and not any(pads):
        return PoolKernel.GLOBAL
    top, left, bottom, right = pads
    if (
        strides[1] <= 2
        and max(kernel) <= MLAS_POOL_KERNEL
        and dilations == (1, 1)
        and max(MLAS_POOL_ROW - left, 0) - right >= image[1]
    ):
        return PoolKernel.COLUMNS
    return PoolKernel.ROWS


# the reduction buffer's floats past the right padding (MLAS's over-read); a ceil_mode window
# reaches less than its stride (at most 2 here) past the padding, so it stays inside them
VECTOR_PADDING = 3


class Pool3DKernel(Enum):
    LOOP = "loop"
    VECTOR = "vector"
    GENERIC = "generic"


@dataclass(frozen=True)
class Window3D:
    """A 3-D window: `pads` are the three begins, then the three ends, as the node declares
    them (a ceil_mode window may reach past the end ones)."""

    kernel: tuple[int, int, int]
    strides: tuple[int, int, int]
    dilations: tuple[int, int, int]
    pads: tuple[int, int, int, int, int, int]

    def reach(self, image: tuple[int, ...], out: tuple[int, ...]) -> tuple[int, int, int]:
        """How far each side's last window reaches past the end padding (ceil_mode)."""
        return tuple(  # type: ignore[return-value]
            max(0, (o - 1) * s + d * (k - 1) + 1 - (n + b + e))
            for o, s, d, k, n, b, e in zip(
                out,
                self.strides,
                self.dilations,
                self.kernel,
                image,
                self.pads[:3],
                self.pads[3:],
                strict=True,
            )
        )


def pool3d_kernel(window: Window3D, image: tuple[int, ...], loop: bool) -> Pool3DKernel:
    """Which of ORT's paths computes a non-global 3-D pool (`loop`: ORT's own loop)."""
    if loop:
        return Pool3DKernel.LOOP
    left, right = window.pads[2], window.pads[5]
    if (
        window.strides[2] <= 2
        and max(window.kernel) <= MLAS_POOL_KERNEL
        and max(MLAS_POOL_ROW - left, 0) - right >= image[2]
    ):
        return Pool3DKernel.VECTOR
    return Pool3DKernel.GENERIC
