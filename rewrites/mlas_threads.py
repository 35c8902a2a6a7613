"""`mlas-threads{threads=N}`: float convs and dots sum as ONNX Runtime's do on N intra-op threads.

A float sum's order is MLAS's (`qdialect.float_sum`), and with several threads MLAS runs a
single image's conv (and a GEMM of an activation) as one GEMM per range of output pixels
(columns): each range picks its own K block from its own N, so in a small image the block can
differ from the single-threaded one (DenseNet's 7 × 7 convs of 32 filters, GoogLeNet's 1 × 1
reductions: 512 taps a block on two threads, 256 on one). ONNX Runtime's calibrator runs its
session on the default threads, so `quantize_static`'s ranges carry those sums.

An LRN takes the thread count itself (`qnn.lrn {threads}`): ORT cuts its last loop into blocks
whose unaligned edges take `powf` instead of Eigen's packet pow (`qdialect.lrn.ort_blocks`).

Such an op becomes one copy per distinct block (`sum_block`), each computing every output,
and the ranges are sliced out of them and joined (a conv's pixels flattened and back):
the same sums as ORT's, per output, at the cost of the extra copies on the few ops where the
blocks differ. An op whose ranges all keep its own block is left alone. A 3-D conv (its depth
folded into the batch, `gemm_pixels`) splits its volume's pixels: one block is set on the op,
several are picked per pixel from the copies by a select.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import IntegerAttr, ModuleOp, TensorType, i1, i64
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from qdialect import qnn
from qdialect.float_sum import (
    SumKind,
    conv_pixel_ranges,
    gemm_column_ranges,
    sgemm_stride_k,
)
from qdialect.names import NAME_ATTR, record_name, tensor_name
from qdialect.qnn.common import Kind, int_array, kind_of
from qdialect.qnn.modes import Layout
from qdialect.tensors import element_type, reshape_ops
from rewrites.common import dense_constant


def _direct(op: qnn.Conv2DOp) -> bool:
    """Whether `MlasConvPrepare` runs the conv as one GEMM on the input itself (GemmDirect):
    stride 1 and no padding, and a 1 × 1 kernel (or one input channel and a kernel as wide,
    or as tall and one wide, as the image)."""
    if set(op.strides.get_values()) != {1} or any(op.pads.get_values()):
        return False
    _, c, kh, kw = op.weight.type.get_shape()  # type: ignore[union-attr]
    _, _, h, w = op.input.type.get_shape()  # type: ignore[union-attr]
    if kh == kw == 1:
        return True
    dilated = set(op.dilations.get_values()) != {1}
    return c == 1 and not dilated and (kw == w or (kh == h and kw == 1))


def _ranges(op: Operation, threads: int) -> tuple[int, list[tuple[int, int]]] | None:
    """(K, ranges of the GEMM's N) for a float op MLAS would split, else None."""
    if not isinstance(op, qnn.Conv2DOp | qnn.DotOp) or kind_of(op.results[0]) is not Kind.FLOAT:
        return None
    if op.float_sum_order().kind is not SumKind.BLOCKED:
        return None
    if isinstance(op, qnn.DotOp):
        if op.streamed_rhs is None:
            return None  # a prepacked weight: blocks of 256 whatever N
        rows = math.prod(op.input.type.get_shape()[:-1])  # type: ignore[union-attr]
        k, columns = op.weight.type.get_shape()  # type: ignore[union-attr]
        return k, gemm_column_ranges(rows, columns, k, threads)
    if op.batched_matmul is not None or op.nchwc_channels is not None:
        return None  # (an NCHWc conv sums so on any number of threads)
    n, o, oh, ow = op.results[0].type.get_shape()  # type: ignore[union-attr]
    k = math.prod(op.weight.type.get_shape()[1:])  # type: ignore[union-attr]
    if op.gemm_pixels is not None:  # a 3-D conv's depths in the batch: one volume is one image
        pixels = op.gemm_pixels.value.data
        if n != pixels // (oh * ow) or op.groups.value.data != 1:
            return None
        return k, conv_pixel_ranges(o, pixels, k, threads, False)  # (its GemmDirect: 2-D)
    if n != 1 or op.groups.value.data != 1 or op.layout_kind is not Layout.NCHW:
        return None  # batches and groups: one GEMM per item, every pixel in it
    return k, conv_pixel_ranges(o, oh * ow, k, threads, _direct(op))


def _runs(k: int, ranges: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """(start, count, block) of consecutive ranges sharing a K block, merged."""
    runs: list[tuple[int, int, int]] = []
    for start, count in ranges:
        block = sgemm_stride_k(count, k)
        if runs and runs[-1][2] == block:
            runs[-1] = (runs[-1][0], runs[-1][1] + count, block)
        else:
            runs.append((start, count, block))
    return runs


def _reshaped(value: SSAValue, shape: list[int], ops: list[Operation]) -> SSAValue:
    ops += reshape_ops(value, shape)
    return ops[-1].results[0]


def _block_copy(op: Operation, block: int, ops: list[Operation]) -> SSAValue:
    """A copy of `op` summing in K blocks of `block`, appended to `ops`; unnamed (the joined
    value bears the tensor's name)."""
    copy = op.clone()
    copy.properties["sum_block"] = IntegerAttr(block, i64)
    copy.results[0].name_hint = None
    copy.attributes.pop(NAME_ATTR, None)
    ops.append(copy)
    return copy.results[0]


def _split(op: Operation, runs: list[tuple[int, int, int]]) -> None:
    """Replace `op` by a copy per block, its runs sliced out and joined along N."""
    result = op.results[0]
    shape = list(result.type.get_shape())  # type: ignore[union-attr]
    flat = shape if isinstance(op, qnn.DotOp) else [*shape[:2], shape[2] * shape[3]]
    axis = len(flat) - 1
    ops: list[Operation] = []
    copies: dict[int, SSAValue] = {}
    parts = []
    for start, count, block in runs:
        if block not in copies:
            value = _block_copy(op, block, ops)
            copies[block] = value if flat == shape else _reshaped(value, flat, ops)
        starts = [0] * len(flat)
        starts[axis] = start
        part_shape = [*flat[:-1], count]
        piece = qnn.SliceOp.create(
            operands=[copies[block]],
            result_types=[TensorType(element_type(result.type), part_shape)],
            properties={"starts": int_array(starts), "steps": int_array([1] * len(flat))},
        )
        ops.append(piece)
        parts.append(piece.result)
    joined = qnn.ConcatOp.create(
        operands=parts,
        result_types=[TensorType(element_type(result.type), flat)],
        properties={"axis": IntegerAttr(axis, i64)},
    )
    ops.append(joined)
    value = joined.result if flat == shape else _reshaped(joined.result, shape, ops)
    value.name_hint = result.name_hint
    name = tensor_name(result)
    if name is not None:
        record_name(value, name)
    Rewriter.insert_op(ops, InsertPoint.before(op))
    result.replace_all_uses_with(value)
    Rewriter.erase_op(op)


def _select_volume(op: qnn.Conv2DOp, runs: list[tuple[int, int, int]]) -> None:
    """`_split` of a 3-D conv folded to 2-D (`gemm_pixels`): its result [OD, O, OH, OW] holds
    the volume's pixels off the last axis, so each pixel takes its block's copy by a select
    on a constant mask [OD, 1, OH, OW] (one block: the op itself takes it)."""
    blocks = list(dict.fromkeys(block for _, _, block in runs))
    if len(blocks) == 1:
        op.properties["sum_block"] = IntegerAttr(blocks[0], i64)
        return
    depth, _, height, width = op.result.type.get_shape()
    pixel_block = [block for _, count, block in runs for _ in range(count)]
    ops: list[Operation] = []
    copies: dict[int, SSAValue] = {}
    for block in blocks:
        copies[block] = _block_copy(op, block, ops)
    value = copies[blocks[0]]
    mask_type = TensorType(i1, [depth, 1, height, width])
    for block in blocks[1:]:
        mask = np.array([b == block for b in pixel_block]).reshape(depth, 1, height, width)
        ops.append(constant := dense_constant(mask, mask_type))
        select = qnn.SelectOp.create(
            operands=[constant.result, copies[block], value], result_types=[op.result.type]
        )
        ops.append(select)
        value = select.result
    Rewriter.insert_op(ops, InsertPoint.before(op))
    op.result.replace_all_uses_with(value)
    Rewriter.erase_op(op)


@dataclass(frozen=True)
class MlasThreadsPass(ModulePass):
    """`threads`: ONNX Runtime's intra-op threads whose sums to write (1: nothing changes)."""

    name = "mlas-threads"
    threads: int = 1

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if self.threads < 1:
            raise ValueError(f"threads must be at least 1, got {self.threads}")
        for inner in list(op.walk()):
            if isinstance(inner, qnn.LrnOp) and self.threads > 1:  # its last loop's blocks
                inner.properties["threads"] = IntegerAttr(self.threads, i64)
            found = _ranges(inner, self.threads) if self.threads > 1 else None
            if found is None:
                continue
            k, ranges = found
            runs = _runs(k, ranges)
            own = inner.float_sum_order().block  # type: ignore[attr-defined]
            if all(block == own for _, _, block in runs):
                continue
            if isinstance(inner, qnn.Conv2DOp) and inner.gemm_pixels is not None:
                _select_volume(inner, runs)
            else:
                _split(inner, runs)
