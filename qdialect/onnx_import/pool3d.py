"""MaxPool and AveragePool of NCDHW tensors (3-D windows; video and volumetric models), float32
as ONNX Runtime computes them: `qnn.pool3d` on ORT's path for the node (`qdialect.pool3d`), or,
for a window the size of the image (MLAS's global kernel, which reads the image as one flat
row), the 2-D global pool of the image with its depth and height merged."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.dialects.builtin import BoolAttr, StringAttr, UnitAttr, f32
from xdsl.ir import SSAValue

from qdialect import qnn
from qdialect.float_sum import Window3D
from qdialect.names import NAME_ATTR
from qdialect.onnx_import.builders import reshaped, window_count, window_pads
from qdialect.onnx_import.common import attrs, int_list_attr, optional_input, tensor_type
from qdialect.onnx_import.errors import NodeError
from qdialect.onnx_import.graph import AVERAGE_POOL_V19, GraphImporter
from qdialect.qlinear_pool3d import qlinear_average_ops
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


def build_qlinear_avg_pool3d(g: GraphImporter, node, x: SSAValue, y_type, name=None):
    """A 3-D AveragePool as ORT's QLinearAveragePool computes it (`qdialect.qlinear_pool3d`),
    from the stored `x` or the float `x` a DequantizeLinear gives; returns the reals of the
    result (named `name`), which a quantize to `y_type` turns into its stored values."""
    if element_type(x.type) != f32:
        x = g.add(qnn.DequantizeOp(x, tensor_type(x.type.get_shape(), f32)))
    shape = _window(node, x.type.get_shape()[2:])  # type: ignore[attr-defined]
    *ops, last = qlinear_average_ops(x, shape.window, shape.out, shape.include_pad, y_type)
    for op in ops:
        g.add(op)
    return g.add(last, name)


def qlinear_group_type(g: GraphImporter, node):
    """The type of the QuantizeLinears that read this 3-D AveragePool between a uint8
    DequantizeLinear and them (ORT's QDQ group: one QLinearAveragePool), else None."""
    readers = g.readers(node.output[0])
    types = {g.quant_type(r.input[1], optional_input(r, 2), 1, 0, "output") for r in readers}
    if len(types) != 1:
        raise NodeError("the QuantizeLinears reading this pool quantize it differently")
    (y_type,) = types
    return y_type


@dataclass(frozen=True)
class NodeWindow:
    """A 3-D pool node's window (its declared pads), result size and counting."""

    window: Window3D
    out: tuple[int, int, int]
    include_pad: bool
    ceil: bool


def _window(node, image) -> NodeWindow:
    a = attrs(node)
    if node.op_type.startswith("Global"):
        kernel, strides, dilations, pads = list(image), [1, 1, 1], [1, 1, 1], [0] * 6
    else:
        if "kernel_shape" not in a:
            raise NodeError("attribute 'kernel_shape' is required: 3 positive integers")
        form = "3 positive integers"
        kernel = int_list_attr(node, "kernel_shape", None, length=3, minimum=1, form=form)
        strides = int_list_attr(node, "strides", [1, 1, 1], length=3, minimum=1, form=form)
        dilations = int_list_attr(node, "dilations", [1, 1, 1], length=3, minimum=1, form=form)
        pads = window_pads(node, image, kernel, strides, dilations)
    include_pad = bool(a.get("count_include_pad", 0)) and "MaxPool" not in node.op_type
    ceil = bool(a.get("ceil_mode", 0))
    out = tuple(
        window_count(image[i], kernel[i], strides[i], pads[i], pads[i + 3], dilations[i], ceil)
        for i in range(3)
    )
    window = Window3D(tuple(kernel), tuple(strides), tuple(dilations), tuple(pads))
    return NodeWindow(window, out, include_pad, ceil)  # type: ignore[arg-type]


def build_pool3d(g: GraphImporter, node, x: SSAValue) -> None:
    """`node` (MaxPool, AveragePool or their Global forms) of the rank-5 float32 `x`."""
    n, c, *image = x.type.get_shape()  # type: ignore[attr-defined]
    maximum = "MaxPool" in node.op_type
    shape = _window(node, image)
    kernel, strides = list(shape.window.kernel), list(shape.window.strides)
    dilations, pads = list(shape.window.dilations), list(shape.window.pads)
    if maximum:
        loop = dilations != [1, 1, 1]
    else:  # from opset 19, and for a ceil_mode window that counts its padding
        loop = g.opset >= AVERAGE_POOL_V19 or (shape.ceil and shape.include_pad)
    if global_window(node, x.type.get_shape()) and not loop:  # type: ignore[attr-defined]
        build_global_pool3d(g, node, x)
    else:
        properties = {
            "kind": StringAttr("max" if maximum else "avg"),
            "kernel": int_array(kernel),
            "strides": int_array(strides),
            "pads": int_array(pads),
            "dilations": int_array(dilations),
        }
        if shape.include_pad:
            properties["count_include_pad"] = UnitAttr()
        if loop:
            properties["loop"] = UnitAttr()
        op = qnn.Pool3DOp.create(
            operands=[x], result_types=[tensor_type([n, c, *shape.out], f32)], properties=properties
        )
        g.define(node.output[0], g.add(op, node.output[0]))


def global_window(node, shape) -> bool:
    """Whether the pool's window is the whole image: stride 1, no padding."""
    window = _window(node, shape[2:]).window
    return (
        list(window.kernel) == list(shape[2:])
        and set(window.strides) == {1}
        and not any(window.pads)
    )


def build_global_pool3d(g: GraphImporter, node, x: SSAValue, result_elem=f32) -> None:
    """A pool whose window is the whole image as MLAS's global kernel (`_global`); between a
    DequantizeLinear and QuantizeLinears, `fold-qdq` makes it the quantized global pool, as a
    2-D one's, which a QLinearAveragePool's window of the whole image is too (`result_elem`:
    its output type)."""
    last = g.block.last_op
    maximum = "MaxPool" in node.op_type
    shape = x.type.get_shape()  # type: ignore[attr-defined]
    g.define(node.output[0], _global(g, x, maximum, shape, node.output[0], result_elem))
    g.mark_decomposed(last, node.op_type)


def _global(g: GraphImporter, x, maximum: bool, shape, name: str, elem=f32) -> SSAValue:
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
            operands=[flat], result_types=[tensor_type([n, c, 1, 1], elem)], properties=window
        )
    )
    return reshaped(g, pooled, (n, c, 1, 1, 1), name)
