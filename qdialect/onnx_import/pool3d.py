"""MaxPool and AveragePool of NCDHW tensors (3-D windows; video and volumetric models), float32
as ONNX Runtime computes them: `qnn.pool3d` on ORT's path for the node (`qdialect.pool3d`), or,
for a window the size of the image (MLAS's global kernel, which reads the image as one flat
row), the 2-D global pool of the image with its depth and height merged."""

from __future__ import annotations

from xdsl.dialects.builtin import BoolAttr, StringAttr, UnitAttr, f32
from xdsl.ir import SSAValue

from qdialect import qnn
from qdialect.names import NAME_ATTR
from qdialect.onnx_import.builders import reshaped, window_count, window_pads
from qdialect.onnx_import.common import attrs, int_list_attr, tensor_type
from qdialect.onnx_import.errors import NodeError
from qdialect.onnx_import.graph import AVERAGE_POOL_V19, GraphImporter
from qdialect.qnn.common import int_array
from qdialect.tensors import element_type
from qdialect.types import Granularity


def build_quantized_max_pool3d(g: GraphImporter, node, x: SSAValue) -> None:
    """A MaxPool of a quantized volume (ORT's QOperator models keep its 8-bit MaxPool) as the
    float pool of its reals, quantized back to its type: the same stored values, since
    dequantizing is increasing and each 8-bit value comes back from its real."""
    elem = element_type(x.type)
    if elem.granularity is not Granularity.PER_TENSOR:
        raise NodeError("a MaxPool of a per-axis quantized tensor is not imported")
    last = g.block.last_op
    build_pool3d(g, node, g.add(qnn.DequantizeOp(x, tensor_type(x.type.get_shape(), f32))))
    pooled = g.values[node.output[0]]
    pooled.name_hint = None  # the node's name goes to its last op, the quantize
    pooled.owner.attributes.pop(NAME_ATTR, None)  # type: ignore[union-attr]
    result = qnn.QuantizeOp(pooled, tensor_type(pooled.type.get_shape(), elem))
    g.define(node.output[0], g.add(result, node.output[0]))
    g.mark_decomposed(last, node.op_type)


def build_pool3d(g: GraphImporter, node, x: SSAValue) -> None:
    """`node` (MaxPool, AveragePool or their Global forms) of the rank-5 float32 `x`."""
    n, c, *image = x.type.get_shape()  # type: ignore[attr-defined]
    maximum = "MaxPool" in node.op_type
    a = attrs(node)
    if node.op_type.startswith("Global"):
        kernel, strides, dilations, pads = image, [1, 1, 1], [1, 1, 1], [0] * 6
    else:
        if "kernel_shape" not in a:
            raise NodeError("attribute 'kernel_shape' is required: 3 positive integers")
        form = "3 positive integers"
        kernel = int_list_attr(node, "kernel_shape", None, length=3, minimum=1, form=form)
        strides = int_list_attr(node, "strides", [1, 1, 1], length=3, minimum=1, form=form)
        dilations = int_list_attr(node, "dilations", [1, 1, 1], length=3, minimum=1, form=form)
        pads = window_pads(node, image, kernel, strides, dilations)
    include_pad = bool(a.get("count_include_pad", 0)) and not maximum
    ceil = bool(a.get("ceil_mode", 0))
    out = [
        window_count(image[i], kernel[i], strides[i], pads[i], pads[i + 3], dilations[i], ceil)
        for i in range(3)
    ]
    if maximum:
        loop = dilations != [1, 1, 1]
    else:  # from opset 19, and for a ceil_mode window that counts its padding
        loop = g.opset >= AVERAGE_POOL_V19 or (ceil and include_pad)
    if kernel == image and strides == [1, 1, 1] and not any(pads) and not loop:
        last = g.block.last_op
        g.define(node.output[0], _global(g, x, maximum, (n, c, *image), node.output[0]))
        g.mark_decomposed(last, node.op_type)
    else:
        properties = {
            "kind": StringAttr("max" if maximum else "avg"),
            "kernel": int_array(kernel),
            "strides": int_array(strides),
            "pads": int_array(pads),
            "dilations": int_array(dilations),
        }
        if include_pad:
            properties["count_include_pad"] = UnitAttr()
        if loop:
            properties["loop"] = UnitAttr()
        op = qnn.Pool3DOp.create(
            operands=[x], result_types=[tensor_type([n, c, *out], f32)], properties=properties
        )
        g.define(node.output[0], g.add(op, node.output[0]))


def _global(g: GraphImporter, x: SSAValue, maximum: bool, shape, name: str) -> SSAValue:
    """MLAS's global kernel over the flat image, as the 2-D pool of [N, C, D·H, W]."""
    n, c, depth, height, width = shape
    flat = reshaped(g, x, (n, c, depth * height, width))
    window = {
        "kernel": int_array([depth * height, width]),
        "strides": int_array([1, 1]),
        "pads": int_array([0, 0, 0, 0]),
        "dilations": int_array([1, 1]),
    }
    op_type = qnn.MaxPool2DOp if maximum else qnn.AvgPool2DOp
    if not maximum:
        window["count_include_pad"] = BoolAttr.from_bool(False)
    pooled = g.add(
        op_type.create(
            operands=[flat], result_types=[tensor_type([n, c, 1, 1], f32)], properties=window
        )
    )
    return reshaped(g, pooled, (n, c, 1, 1, 1), name)
