"""Conv nodes of every rank: 1-D and 2-D by `builders.build_conv`; NCDHW tensors (3-D kernels:
video and volumetric models) as the 2-D conv they fold to.

Each output depth `od` reads `kd` input depths, `od·sd + i·dd` (after the depth padding). The
importer gathers them as channels, `[N, C, D, H, W]` -> `[N·OD, C·kd, H, W]` (channel
`c·kd + i`, the order of MLAS's im2col rows, (c, kd, kh, kw)), runs the 2-D conv of the weight
`[M, C/G·kd, KH, KW]` over that batch, and moves the result back to `[N, M, OD, OH, OW]`.
Every product and every tap is the 3-D conv's, so quantized convs (QLinearConv, ConvInteger, a
QDQ group) give ONNX Runtime's integers, and a float conv sums in MLAS's order once its GEMMs
are sized as MLAS's: N is the volume's OD·OH·OW pixels (`qnn.conv2d`'s `gemm_pixels`), and no
NCHWc conv (ORT's NchwcTransformer takes 2-D convs only). A pointwise conv (a 1×1×1 kernel,
stride 1, no padding: MLAS's GemmDirect) is the 2-D 1×1 conv of the flattened volume.
"""

from __future__ import annotations

from xdsl.dialects.builtin import FloatAttr, IntegerAttr, StringAttr, f32, f64, i64
from xdsl.ir import SSAValue

from qdialect import qnn
from qdialect.onnx_import import builders
from qdialect.onnx_import.builders import (
    concatenated,
    conv_groups,
    conv_props,
    reshaped,
    reshaped_weight,
    sliced,
    transposed,
    window_count,
    window_pads,
)
from qdialect.onnx_import.common import attrs, int_list_attr, shape_of, tensor_type
from qdialect.onnx_import.errors import NodeError
from qdialect.onnx_import.graph import GraphImporter
from qdialect.qnn.common import int_array
from qdialect.tensors import element_type

FORM = "3 positive integers"


def build_conv(g: GraphImporter, node, x: SSAValue, w: SSAValue, bias, result_type) -> None:
    """`node`'s conv of `x` by the weight `w` (`bias`: [] or one value per output channel), its
    result typed by `result_type(shape)`."""
    if len(shape_of(w)) == 5 and len(shape_of(x)) == 5:
        groups = conv_groups(node, shape_of(x), shape_of(w))
        return build_conv3d(g, node, x, w, groups, bias, result_type)
    builders.build_conv(g, node, x, w, bias, result_type)


def build_conv3d(
    g: GraphImporter, node, x: SSAValue, w: SSAValue, groups: int, bias, result_type
) -> None:
    """`node`'s conv of the rank-5 `x` by the rank-5 `w` (`groups` checked), its result typed
    by `result_type(shape)`."""
    n, c, *image = shape_of(x)
    m, per_group, *kernel = shape_of(w)
    if "kernel_shape" in attrs(node):
        declared = int_list_attr(node, "kernel_shape", None, length=3, minimum=1, form=FORM)
        if declared != kernel:
            raise NodeError(
                f"attribute 'kernel_shape' must be the weight's spatial shape {kernel}, "
                f"got {declared}"
            )
    strides = int_list_attr(node, "strides", [1, 1, 1], length=3, minimum=1, form=FORM)
    dilations = int_list_attr(node, "dilations", [1, 1, 1], length=3, minimum=1, form=FORM)
    pads = window_pads(node, image, kernel, strides, dilations)
    out = [
        window_count(image[i], kernel[i], strides[i], pads[i], pads[i + 3], dilations[i], False)
        for i in range(3)
    ]
    last = g.block.last_op
    if kernel == [1, 1, 1] and strides == [1, 1, 1] and not any(pads):
        flat = reshaped(g, x, [n, c, image[0] * image[1], image[2]])
        filters = reshaped_weight(g, w, [m, per_group, 1, 1])
        window2d = {"strides": [1, 1], "pads": [0] * 4, "dilations": [1, 1]}
        conv = _conv2d(g, flat, filters, bias, groups, window2d, result_type, None)
        result = reshaped(g, conv, [n, m, *out], node.output[0])
    else:
        images = _depth_taps(g, x, kernel[0], strides[0], dilations[0], (pads[0], pads[3]), out[0])
        filters = reshaped_weight(g, w, [m, per_group * kernel[0], *kernel[1:]])
        window2d = {
            "strides": strides[1:],
            "pads": [pads[1], pads[2], pads[4], pads[5]],
            "dilations": dilations[1:],
        }
        conv = _conv2d(g, images, filters, bias, groups, window2d, result_type, out)
        planes = reshaped(g, conv, [n, out[0], m, out[1], out[2]])
        result = transposed(g, planes, (0, 2, 1, 3, 4), node.output[0])
    g.define(node.output[0], result)
    g.mark_decomposed(last, node.op_type)


def _depth_taps(g: GraphImporter, x: SSAValue, kd: int, sd: int, dd: int, pads, od: int):
    """`x` [N, C, D, H, W] as [N·OD, C·kd, H, W]: channel c·kd + i of image (n, od) is input
    depth od·sd + i·dd of the depth-padded `x` (padding: real zeros, a quantized tensor's
    zero point)."""
    n, c, depth, height, width = shape_of(x)
    if any(pads):
        padded_shape = [n, c, depth + pads[0] + pads[1], height, width]
        op = qnn.PadOp.create(
            operands=[x],
            result_types=[tensor_type(padded_shape, element_type(x.type))],
            properties={
                "low": int_array([0, 0, pads[0], 0, 0]),
                "high": int_array([0, 0, pads[1], 0, 0]),
                "mode": StringAttr("constant"),
                "value": FloatAttr(0.0, f64),
            },
        )
        x = g.add(op)
    taps = [
        reshaped(
            g,
            sliced(g, x, {2: range(i * dd, i * dd + sd * (od - 1) + 1, sd)}),
            [n, c, od, 1, height, width],
        )
        for i in range(kd)
    ]
    elem = element_type(x.type)
    stacked = (
        taps[0] if kd == 1 else concatenated(g, taps, 3, lambda shape: tensor_type(shape, elem))
    )
    moved = transposed(g, stacked, (0, 2, 1, 3, 4, 5))
    return reshaped(g, moved, [n * od, c * kd, height, width])


def _conv2d(g: GraphImporter, x, w, bias, groups: int, window2d: dict, result_type, out):
    """The 2-D conv of the folded images; `out`: the volume's [OD, OH, OW], for a float
    conv's sum order (`gemm_pixels`), or None where the images are the volume itself."""
    xs, ws = shape_of(x), shape_of(w)
    shape = [xs[0], ws[0]]
    for size, k, s, d, lo, hi in zip(
        xs[2:],
        ws[2:],
        window2d["strides"],
        window2d["dilations"],
        window2d["pads"][:2],
        window2d["pads"][2:],
        strict=True,
    ):
        shape.append(window_count(size, k, s, lo, hi, d, False))
    properties = conv_props(window2d, groups)
    result = result_type(shape)
    if out is not None and element_type(result) == f32:
        properties["gemm_pixels"] = IntegerAttr(out[0] * out[1] * out[2], i64)
    op = qnn.Conv2DOp.build(operands=[x, w, bias, []], result_types=[result], properties=properties)
    return g.add(op)
