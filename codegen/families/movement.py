"""movement.c.j2: transpose, slice and pad, index arithmetic only, in the stored type;
gather.c.j2: rows copied by run-time index; resize.c.j2: bilinear Resize (tables of taps)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from xdsl.dialects.builtin import IntegerType

from codegen import threads
from codegen.c_text import ctype_of
from codegen.geometry import strides_of
from codegen.kernel import EmitContext, Kernel
from codegen.plan import shape_of
from qdialect import qnn
from qdialect.arithmetic import quantize_value
from qdialect.bicubic import column_weights
from qdialect.bilinear import axis_taps
from qdialect.qnn.movement import gather_out_of_range
from qdialect.tensors import element_type
from qdialect.types import UniformQuantizedType


@dataclass(frozen=True)
class MovementSpec:
    comment: str
    kind: str  # transpose (a slice is one: strided reads from an offset) or pad
    ctype: str
    rank: int
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    src_strides: tuple[int, ...]  # the source stride of each result dimension
    mode: str = ""  # pad: constant, edge, reflect or wrap
    low: tuple[int, ...] = ()  # pad: elements added before each dimension
    fill: float | int = 0  # pad, constant: the stored value of the padding
    offset: int = 0  # transpose: the source index of the first element

    @property
    def tiling(self) -> Tiling | None:
        """The tiled form of a strided copy whose source runs contiguously along another
        dimension than the result's last (NCHW <-> NHWC): copied row by row, every read of
        the last dimension would touch another cache line, and at a stride that is a multiple
        of 4 KiB all of those lines fall into one L1 set."""
        if self.kind != "transpose":
            return None
        return tiling_of(self.out_shape, self.src_strides, BLOCKS.get(self.ctype, 0))


TILE = 32  # elements of a square tile: 32 lines of the source, read while they stay in L1
# the element types copied in square blocks of registers, by the block's side:
# qd_transpose16_u8 (one-byte elements), qd_transpose8_b32 (four-byte: float, int32)
BLOCKS = {"uint8_t": 16, "int8_t": 16, "float": 8, "int32_t": 8, "uint32_t": 8}


@dataclass(frozen=True)
class Tiling:
    """A strided copy with its dimensions merged where they run on together in both tensors:
    `shape` and `src_strides` of the merged result dimensions, `dst_strides` their strides in
    the result, and `inner` the one whose source stride is 1 (tiled with the last)."""

    shape: tuple[int, ...]
    src_strides: tuple[int, ...]
    dst_strides: tuple[int, ...]
    inner: int
    block: int  # copied in blocks of block x block elements (BLOCKS), 0: one by one
    tile: int = TILE

    @property
    def reads_inner(self) -> bool:
        """Whether the innermost loop walks the source contiguously (and writes at a stride)
        rather than the result: the side with the smaller stride takes the strided accesses,
        since a tile's lines at a stride of 4 KiB share one L1 set and evict each other."""
        return self.dst_strides[self.inner] <= self.src_strides[-1]


def tiling_of(
    out_shape: tuple[int, ...], src_strides: tuple[int, ...], block: int
) -> Tiling | None:
    """The Tiling of a copy reading result element `o` at `sum(o[d] * src_strides[d])`, or
    None when its last dimension already reads contiguously (or a broadcast repeats it)."""
    shape: list[int] = []
    strides: list[int] = []
    for size, stride in zip(out_shape, src_strides, strict=True):
        if size == 1:
            continue
        if shape and strides[-1] == stride * size:
            shape[-1] *= size
            strides[-1] = stride
        else:
            shape.append(size)
            strides.append(stride)
    if len(shape) < 2 or strides[-1] <= 1 or 1 not in strides[:-1] or shape[-1] < TILE // 2:
        return None
    return Tiling(
        tuple(shape), tuple(strides), tuple(strides_of(tuple(shape))), strides.index(1), block
    )


def movement(op: qnn.TransposeOp | qnn.SliceOp | qnn.PadOp, ctx: EmitContext) -> Kernel:
    x, y = op.input, op.result
    in_shape, out_shape = shape_of(x), shape_of(y)
    elem = element_type(x.type)
    in_strides = strides_of(in_shape)
    if isinstance(op, qnn.TransposeOp):
        strides = tuple(in_strides[p] for p in op.permutation.get_values())
        fields = {"kind": "transpose", "src_strides": strides}
    elif isinstance(op, qnn.SliceOp):
        starts, steps = op.starts.get_values(), op.steps.get_values()
        fields = {
            "kind": "transpose",
            "src_strides": tuple(s * t for s, t in zip(in_strides, steps, strict=True)),
            "offset": sum(s * t for s, t in zip(in_strides, starts, strict=True)),
        }
    else:
        value = op.value.value.data
        if isinstance(elem, UniformQuantizedType):
            fill = quantize_value(value, elem.scale, elem.zero_point, elem.qmin, elem.qmax)
        elif isinstance(elem, IntegerType):
            fill = int(value)
        else:
            fill = float(value)
        fields = {
            "kind": "pad",
            "mode": op.mode.data,
            "low": tuple(op.low.get_values()),
            "src_strides": tuple(in_strides),
            "fill": fill,
        }
    spec = MovementSpec(
        op.name,
        ctype=ctype_of(elem),
        rank=len(out_shape),
        in_shape=in_shape,
        out_shape=out_shape,
        **fields,
    )
    return Kernel("movement.c.j2", spec, [ctx.plan.expr(x), ctx.plan.expr(y)])


@dataclass(frozen=True)
class GatherSpec:
    comment: str
    ctype: str
    index_ctype: str  # int32_t or int64_t
    outer: int  # elements before the axis, multiplied
    size: int  # the gathered axis
    inner: int  # elements after it, multiplied (one row)
    count: int  # the indices


def gather(op: qnn.GatherOp, ctx: EmitContext) -> Kernel:
    """Rows copied by index; an index out of range makes the entry point return the op's
    failure (runtime.native raises `gather_out_of_range`)."""
    data = shape_of(op.data)
    axis = op.axis_value
    spec = GatherSpec(
        op.name,
        ctype_of(element_type(op.data.type)),
        ctype_of(element_type(op.indices.type)),
        outer=math.prod(data[:axis]),
        size=data[axis],
        inner=math.prod(data[axis + 1 :]),
        count=math.prod(shape_of(op.indices)),
    )
    args = [ctx.plan.expr(op.data), ctx.plan.expr(op.indices), ctx.plan.expr(op.result)]
    return Kernel("gather.c.j2", spec, args, failure=gather_out_of_range(op))


@dataclass(frozen=True)
class ResizeSpec:
    comment: str
    ctype: str  # float, or the 8-bit storage type
    planes: int
    in_h: int
    in_w: int
    out_h: int
    out_w: int
    row1: tuple[int, ...]
    row2: tuple[int, ...]
    dy1: tuple[float, ...]
    dy2: tuple[float, ...]
    col1: tuple[int, ...]
    col2: tuple[int, ...]
    dx1: tuple[float, ...]
    dx2: tuple[float, ...]
    nchwc: bool  # ORT's NCHWc Upsample: the four taps added in pairs (qdialect/bilinear.py)
    parallel: bool  # planes split between the threads (codegen.threads)


def resize(op: qnn.ResizeBilinearOp, ctx: EmitContext) -> Kernel:
    """The taps of qdialect/bilinear.py as static tables; the kernel adds them in ORT's order."""
    n, c, h, w = shape_of(op.input)
    oh, ow = shape_of(op.result)[2:]
    nchwc = op.nchwc is not None
    rows = axis_taps(oh, h, op.scales[0], op.mode.data, nchwc)
    cols = axis_taps(ow, w, op.scales[1], op.mode.data, nchwc)
    spec = ResizeSpec(
        f"{op.name} {op.mode.data}{' nchwc' if nchwc else ''}",
        ctype_of(element_type(op.input.type)),
        n * c,
        h,
        w,
        oh,
        ow,
        tuple(int(v) for v in rows.first),
        tuple(int(v) for v in rows.second),
        tuple(float(v) for v in rows.d1),
        tuple(float(v) for v in rows.d2),
        tuple(int(v) for v in cols.first),
        tuple(int(v) for v in cols.second),
        tuple(float(v) for v in cols.d1),
        tuple(float(v) for v in cols.d2),
        nchwc,
        n * c * oh * ow >= threads.PARALLEL_ELEMENTS,
    )
    return Kernel("resize.c.j2", spec, [ctx.plan.expr(op.input), ctx.plan.expr(op.result)])


@dataclass(frozen=True)
class CubicSpec:
    comment: str
    planes: int
    in_h: int
    in_w: int
    out_h: int
    out_w: int
    rows: tuple[tuple[int, ...], ...]  # per output row, its 4 input rows
    row_weights: tuple[tuple[float, ...], ...]  # ... their coefficients
    row_sums: tuple[float, ...]  # ... and the coefficients' sum (1 without exclude_outside)
    columns: tuple[tuple[int, ...], ...]  # per output column, its 4 input columns
    column_weights: tuple[tuple[float, ...], ...]  # ... their coefficients over their sum


def resize_cubic(op: qnn.ResizeCubicOp, ctx: EmitContext) -> Kernel:
    """The taps of qdialect/bicubic.py as static tables; the kernel sums them in ORT's order."""
    n, c, h, w = shape_of(op.input)
    oh, ow = shape_of(op.result)[2:]
    rows, columns = op.taps()

    def table(values) -> tuple[tuple, ...]:
        return tuple(tuple(v.tolist()) for v in values)

    spec = CubicSpec(
        f"{op.name} {op.mode.data}",
        n * c,
        h,
        w,
        oh,
        ow,
        table(rows.indices),
        table(rows.coefficients),
        tuple(rows.sums.tolist()),
        table(columns.indices),
        table(column_weights(columns)),
    )
    return Kernel("resize_cubic.c.j2", spec, [ctx.plan.expr(op.input), ctx.plan.expr(op.result)])


@dataclass(frozen=True)
class GridSampleSpec:
    comment: str
    n: int
    c: int
    h: int
    w: int
    oh: int
    ow: int
    mode: str
    padding: str
    align_corners: bool
    cubic: tuple[float, ...]  # a, 5a, 8a, 4a, a + 2, a + 3 (qdialect.grid_sample)


def grid_sample(op: qnn.GridSampleOp, ctx: EmitContext) -> Kernel:
    """ORT's GridSample per output pixel and channel (qdialect/grid_sample.py)."""
    from qdialect.grid_sample import CUBIC_A

    n, c, h, w = shape_of(op.input)
    oh, ow = shape_of(op.grid)[1:3]
    a = float(CUBIC_A)
    spec = GridSampleSpec(
        f"{op.name} {op.mode.data} {op.padding_mode.data}",
        n,
        c,
        h,
        w,
        oh,
        ow,
        op.mode.data,
        op.padding_mode.data,
        op.align_corners is not None,
        (a, 5 * a, 8 * a, 4 * a, a + 2, a + 3),
    )
    args = [ctx.plan.expr(v) for v in (op.input, op.grid, op.result)]
    return Kernel("grid_sample.c.j2", spec, args)
