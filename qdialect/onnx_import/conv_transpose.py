"""ConvTranspose (1-D and 2-D, float32) as ONNX Runtime's CPU kernel computes it.

`conv_transpose.cc`, per image and group: the GEMM `col = Wᵀ · x` (MLAS; its rows the group's
output channels × kernel taps, its columns the input pixels, K the group's input channels),
then `math::Col2im` adds every column into the output pixel it lands on (`qnn.col2im`), then
the bias per channel. The GEMM is a float `qnn.dot` whose rhs is streamed (MLAS packs it per
call), so each output sums as ORT's does (qdialect/float_sum.py). ORT prepacks a constant
filter transposed (`CblasNoTrans`) unless the GEMM has one row or K is 1; a DequantizeLinear's
filter (a QDQ model) it reads transposed (`CblasTrans`), which sums a one-pixel input in the
one-row kernel's groups (`MlasSgemmKernelM1`), not the one-column kernel's tree. The ops stand
for the node (`qnn.op_type`).
"""

from __future__ import annotations

from xdsl.dialects import arith
from xdsl.dialects.builtin import UnitAttr, f32
from xdsl.ir import SSAValue

from qdialect import qnn
from qdialect.onnx_import.builders import (
    concatenated,
    dot,
    float_value,
    reshaped,
    sliced,
    transposed,
    weight_rows,
)
from qdialect.onnx_import.common import attrs, decode, optional_input, shape_of, tensor_type
from qdialect.onnx_import.errors import NodeError
from qdialect.onnx_import.graph import GraphImporter
from qdialect.onnx_import.registry import handles
from qdialect.qnn.common import int_array


def float_tensor(shape):
    """The float32 tensor type of `shape` (every value this node computes is one)."""
    return tensor_type(shape, f32)


# a 1-D ConvTranspose's attributes as the 2-D one over a height of 1 reads them
ONE_D_AS_2D = {
    "kernel_shape": lambda v: [1, *v],
    "strides": lambda v: [1, *v],
    "dilations": lambda v: [1, *v],
    "output_padding": lambda v: [0, *v],
    "pads": lambda v: [0, v[0], 0, v[1]] if len(v) == 2 else list(v),
    "output_shape": lambda v: [1, v[-1]],
}


@handles("ConvTranspose")
def conv_transpose(g: GraphImporter, node) -> None:
    x, w = float_value(g, node.input[0]), float_value(g, node.input[1])
    bias = float_value(g, node.input[2]) if optional_input(node, 2) else None
    xs, ws = shape_of(x), shape_of(w)
    if len(ws) not in (3, 4) or len(xs) != len(ws):
        raise NodeError(
            f"only 1-D and 2-D transposed convolutions are imported, got input {list(xs)} "
            f"and weight {list(ws)}"
        )
    last = g.block.last_op
    constant = isinstance(w.owner, arith.ConstantOp)  # an initializer, not a DQ's output
    a = attrs(node)
    name = node.output[0]
    if len(ws) == 3:
        a = {k: ONE_D_AS_2D.get(k, lambda v: v)(v) for k, v in a.items()}
        x = reshaped(g, x, [xs[0], xs[1], 1, xs[2]])
        w = weight_rows(g, w)
        y = _conv_transpose_2d(g, a, (x, w, bias), constant, None)
        ys = shape_of(y)
        y = reshaped(g, y, [ys[0], ys[1], ys[3]], name)
    else:
        y = _conv_transpose_2d(g, a, (x, w, bias), constant, name)
    g.mark_decomposed(last, "ConvTranspose")
    g.define(name, y)


def _conv_transpose_2d(g: GraphImporter, a: dict, operands, constant: bool, name):
    """The 2-D node's ops; the last one gets `name`."""
    x, w, bias = operands
    (n, c_in, h, wd), (w_in, c_group, kh, kw) = shape_of(x), shape_of(w)
    groups = a.get("group", 1)
    if not isinstance(groups, int) or groups < 1 or c_in % groups or w_in != c_in:
        raise NodeError(
            f"attribute 'group' ({groups}) does not fit the input's {c_in} channels and the "
            f"weight's shape {list(shape_of(w))} (its dim 0 must be the input channels, a "
            "multiple of group)"
        )
    kernel = a.get("kernel_shape", [kh, kw])
    if list(kernel) != [kh, kw]:
        raise NodeError(f"attribute 'kernel_shape' must be the weight's {[kh, kw]}, got {kernel}")
    strides = _pair(a, "strides", 1)
    dilations = _pair(a, "dilations", 1)
    extra = _pair(a, "output_padding", 0)
    if any(e >= s for e, s in zip(extra, strides, strict=True)):
        raise NodeError(f"output_padding {extra} not below the strides {strides} is not imported")
    spans = [d * (k - 1) + 1 for d, k in zip(dilations, (kh, kw), strict=True)]
    full = [
        (size - 1) * s + e + span
        for size, s, e, span in zip((h, wd), strides, extra, spans, strict=True)
    ]
    pads, out = _pads(a, (h, wd), full, strides, spans)
    if min(out) < 1:
        raise NodeError(f"pads {pads} leave no output (the unpadded output is {full})")
    k_group, c_out = c_in // groups, c_group * groups
    rows = c_group * kh * kw  # the GEMM's M
    window = {
        "strides": int_array(strides),
        "dilations": int_array(dilations),
        "pads_begin": int_array(pads[:2]),
    }
    image_name = name if bias is None else None  # the last op has the node's name
    images = []
    for image in range(n):
        planes = []
        for group in range(groups):
            channels = range(group * k_group, (group + 1) * k_group)
            xg = (
                x
                if (n, groups) == (1, 1)
                else sliced(g, x, {0: range(image, image + 1), 1: channels})
            )
            wg = w if groups == 1 else sliced(g, w, {0: channels})
            xk = reshaped(g, xg, [k_group, h * wd])
            col = _gemm(g, xk, reshaped(g, wg, [k_group, rows]), constant)
            col = reshaped(g, col, [c_group, kh, kw, h, wd])
            op = qnn.Col2ImOp.create(
                operands=[col],
                result_types=[float_tensor([c_group, *out])],
                properties=dict(window),
            )
            planes.append(g.add(op))
        plane = planes[0] if groups == 1 else concatenated(g, planes, 0, float_tensor)
        images.append(reshaped(g, plane, [1, c_out, *out], image_name if n == 1 else None))
    y = images[0] if n == 1 else concatenated(g, images, 0, float_tensor, image_name)
    if bias is None:
        return y
    if shape_of(bias) != (c_out,):
        raise NodeError(
            f"B must hold one value per output channel ([{c_out}]), got {list(shape_of(bias))}"
        )
    return g.add(qnn.AddOp(y, reshaped(g, bias, [c_out, 1, 1]), y.type), name)


def _pair(a: dict, key: str, least: int) -> list[int]:
    """A per-axis attribute of the 2-D form (default: `least` on both axes)."""
    values = list(a.get(key, [least, least]))
    if len(values) != 2 or min(values) < least:
        raise NodeError(f"attribute '{key}' must be one integer >= {least} an axis, got {values}")
    return values


def _pads(a: dict, size, full: list[int], strides, spans) -> tuple[list[int], list[int]]:
    """([top, left, bottom, right], the output's [H, W]): the `pads` attribute, or what
    `output_shape` or `auto_pad` SAME_UPPER / SAME_LOWER (an output of size · stride) leave
    to pad (ORT pads more at the end for SAME_UPPER only). An output larger than the taps reach
    is padded with the bias where ORT's Col2im still sees the input's size in it."""
    auto = decode(a.get("auto_pad", "NOTSET"))
    if auto not in ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"):
        raise NodeError(f"auto_pad '{auto}' is not NOTSET, VALID, SAME_UPPER or SAME_LOWER")
    if "output_shape" in a:
        wanted = list(a["output_shape"])[-2:]
    elif auto.startswith("SAME"):
        wanted = [s * z for s, z in zip(strides, size, strict=True)]
    else:
        pads = [0, 0, 0, 0] if auto == "VALID" else list(a.get("pads", [0, 0, 0, 0]))
        if len(pads) != 4 or min(pads) < 0:
            raise NodeError(f"attribute 'pads' must be 4 non-negative integers, got {pads}")
        return pads, [full[i] - pads[i] - pads[i + 2] for i in range(2)]
    for out, most, span, stride, z in zip(wanted, full, spans, strides, size, strict=True):
        if out > most and (out - span) // stride + 1 != z:
            raise NodeError(
                f"output size {wanted} does not fit an input of {list(size)} (ONNX Runtime "
                "refuses it)"
            )
    totals = [max(f - o, 0) for f, o in zip(full, wanted, strict=True)]
    more_at_end = auto == "SAME_UPPER"
    begin = [t // 2 if more_at_end else t - t // 2 for t in totals]
    return [*begin, *(t - b for t, b in zip(totals, begin, strict=True))], wanted


def _gemm(g: GraphImporter, xk: SSAValue, wk: SSAValue, constant: bool) -> SSAValue:
    """`col [M, HW] = wkᵀ [M, K] · xk [K, HW]`, summed as MLAS sums ORT's GEMM."""
    k, pixels = shape_of(xk)
    rows = shape_of(wk)[1]
    filter_transposed = constant and k > 1 and rows > 1  # ORT's prepacked NoTrans filter
    if pixels == 1 and not filter_transposed:
        # CblasTrans with one column: MLAS swaps the operands (the one-row kernel)
        col = _streamed_dot(g, reshaped(g, xk, [1, k]), wk)
        return reshaped(g, col, [rows, 1])
    if rows == 1 and k > 1:
        raise NodeError(
            "one output channel per group with a 1 x 1 kernel is not imported (MLAS sums "
            "its one-row GEMM in an order no qnn.dot has)"
        )
    return _streamed_dot(g, transposed(g, wk), xk)


def _streamed_dot(g: GraphImporter, lhs: SSAValue, rhs: SSAValue) -> SSAValue:
    """A float dot whose rhs MLAS packs per call (float_sum.dot_sum_order)."""
    product = dot(g, lhs, rhs, [], lambda shape: tensor_type(shape, f32))
    product.owner.properties["streamed_rhs"] = UnitAttr()  # type: ignore[union-attr]
    return product


@handles("Col2Im")
def col2im(g: GraphImporter, node) -> None:
    """ONNX Col2Im of 2-D images: ORT runs ConvTranspose's `math::Col2im`, so it is
    `qnn.col2im` over [N·C, kh, kw, blocks high, blocks wide] (images and channels add
    independently), reshaped to [N, C, H, W]. Other ranks are not imported."""
    x = float_value(g, node.input[0])
    image = [int(v) for v in g.constant_array(node.input[1], "image_shape").ravel()]
    block = [int(v) for v in g.constant_array(node.input[2], "block_shape").ravel()]
    if len(image) != 2 or len(block) != 2:
        raise NodeError(f"only 2-D images are imported, got image_shape {image}")
    a = attrs(node)
    strides = list(a.get("strides", [1, 1]))
    dilations = list(a.get("dilations", [1, 1]))
    pads = list(a.get("pads", [0, 0, 0, 0]))
    n, rows, length = shape_of(x)
    kh, kw = block
    spans = [d * (k - 1) + 1 for d, k in zip(dilations, block, strict=True)]
    blocks = [
        (size + pads[i] + pads[i + 2] - span) // stride + 1
        for i, (size, span, stride) in enumerate(zip(image, spans, strides, strict=True))
    ]
    if rows % (kh * kw) or blocks[0] * blocks[1] != length or min(blocks) < 1:
        raise NodeError(
            f"input [{n}, {rows}, {length}] does not hold blocks {block} of image {image}"
        )
    channels = rows // (kh * kw)
    last = g.block.last_op
    col = reshaped(g, x, [n * channels, kh, kw, *blocks])
    op = qnn.Col2ImOp.create(
        operands=[col],
        result_types=[float_tensor([n * channels, *image])],
        properties={
            "strides": int_array(strides),
            "dilations": int_array(dilations),
            "pads_begin": int_array(pads[:2]),
        },
    )
    y = reshaped(g, g.add(op), [n, channels, *image], node.output[0])
    g.mark_decomposed(last, "Col2Im")
    g.define(node.output[0], y)
