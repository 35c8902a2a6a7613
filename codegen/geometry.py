"""Sliding-window geometry of conv and pool, in NCHW terms whatever the layout.

Templates index `x[n*xs[0] + c*xs[1] + h*xs[2] + w*xs[3]]` for either layout: the element
strides are permuted here, once, so no kernel branches on the layout to address a pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.ir import SSAValue

from codegen.plan import shape_of
from qdialect import qnn
from qdialect.qnn import Layout


def strides_of(shape: tuple[int, ...]) -> list[int]:
    """Row-major element strides of `shape`."""
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= size
    return strides[::-1]


@dataclass(frozen=True)
class Window:
    """A conv or pool window: batch N, channels C (in) and O (out), input H×W, output OH×OW,
    kernel KH×KW, strides SH, SW, dilations DH, DW, top/left pads PT, PL, and the element
    strides of x and y in NCHW order."""

    N: int
    C: int
    O: int  # noqa: E741 - the output channels, as the templates' loops name them
    H: int
    W: int
    OH: int
    OW: int
    KH: int
    KW: int
    SH: int
    SW: int
    DH: int
    DW: int
    PT: int
    PL: int
    xs: tuple[int, ...]
    ys: tuple[int, ...]


def window_geometry(
    x: SSAValue, y: SSAValue, layout: Layout, kernel: tuple[int, int], strides, dilations, pads
) -> Window:
    """The window of a conv or pool from its operand and result shapes and attributes."""
    xs, ys = shape_of(x), shape_of(y)
    xst, yst = strides_of(xs), strides_of(ys)
    if layout is Layout.NCHW:
        (n, c, h, w), (_, o, oh, ow) = xs, ys
    else:
        (n, h, w, c), (_, oh, ow, o) = xs, ys
        xst, yst = ([st[0], st[3], st[1], st[2]] for st in (xst, yst))
    (sh, sw), (dh, dw) = strides.get_values(), dilations.get_values()
    pt, pl, _, _ = pads.get_values()
    return Window(
        n, c, o, h, w, oh, ow, kernel[0], kernel[1], sh, sw, dh, dw, pt, pl, tuple(xst), tuple(yst)
    )


@dataclass(frozen=True)
class ConvWindow:
    """A conv's window plus the weights' element strides `ws` in OCHW order (either layout)
    and its groups."""

    window: Window
    ws: tuple[int, ...]
    groups: int


def conv_window(op: qnn.Conv2DOp) -> ConvWindow:
    """The window of a conv, its kernel read from the weights' shape."""
    layout = op.layout_kind
    ws = shape_of(op.weight)
    wst = strides_of(ws)
    if layout is Layout.NCHW:
        kernel = (ws[2], ws[3])
    else:
        kernel = (ws[1], ws[2])
        wst = [wst[0], wst[3], wst[1], wst[2]]
    window = window_geometry(op.input, op.result, layout, kernel, op.strides, op.dilations, op.pads)
    return ConvWindow(window, tuple(wst), op.groups.value.data)
