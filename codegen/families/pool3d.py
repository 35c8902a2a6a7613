"""pool3d.c.j2: `qnn.pool3d`, a float32 3-D MaxPool or AveragePool on ONNX Runtime's path for it
(`qdialect.pool3d`: its own loop, MLAS's vector kernel or MLAS's generic one)."""

from __future__ import annotations

from dataclasses import dataclass

from codegen.kernel import EmitContext, Kernel
from codegen.plan import shape_of
from qdialect import qnn
from qdialect.float_sum import VECTOR_PADDING


@dataclass(frozen=True)
class Pool3DSpec:
    comment: str
    path: str  # qdialect.pool3d.Pool3DKernel's value
    maximum: bool
    include_pad: bool
    planes: int  # N·C
    image: tuple[int, int, int]
    out: tuple[int, int, int]
    kernel: tuple[int, int, int]
    strides: tuple[int, int, int]
    dilations: tuple[int, int, int]
    pads: tuple[int, int, int, int, int, int]
    buffer: int  # vector: MLAS's row buffer, the padded row and its over-read floats


def pool3d(op: qnn.Pool3DOp, ctx: EmitContext) -> Kernel:
    n, c, *image = shape_of(op.input)
    window = op.window()
    spec = Pool3DSpec(
        f"{op.name} {op.kind.data}",
        op.path().value,
        op.maximum,
        op.count_include_pad is not None,
        n * c,
        tuple(image),  # type: ignore[arg-type]
        op.out_shape(),
        window.kernel,
        window.strides,
        window.dilations,
        window.pads,
        window.pads[2] + image[2] + window.pads[5] + VECTOR_PADDING,
    )
    return Kernel("pool3d.c.j2", spec, [ctx.plan.expr(op.input), ctx.plan.expr(op.result)])
