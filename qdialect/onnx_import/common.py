"""What every importer module reads the same way: ONNX node attributes and inputs, xDSL shapes.

A leaf of the package (imports neither numpy nor the other importer modules), so the graph walk,
the constant folder and the op handlers all build on it without importing each other in a cycle.
"""

from __future__ import annotations

from xdsl.dialects.builtin import TensorType
from xdsl.ir import Attribute, SSAValue

from qdialect.onnx_import.errors import NodeError


def tensor_type(shape, elem: Attribute) -> TensorType:
    return TensorType(elem, [int(d) for d in shape])


def shape_of(value: SSAValue) -> tuple[int, ...]:
    return tuple(value.type.get_shape())  # type: ignore[union-attr]


def attrs(node) -> dict:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def decode(value):
    return value.decode() if isinstance(value, bytes) else value


def normalize_axis(axis: int, rank: int) -> int:
    normalized = axis + rank if axis < 0 else axis
    if not 0 <= normalized < rank:
        raise NodeError(f"axis {axis} is out of range for rank {rank}")
    return normalized


def optional_input(node, index: int) -> str | None:
    return node.input[index] if index < len(node.input) and node.input[index] else None


def axis_attr(node) -> int:
    for attr in node.attribute:
        if attr.name == "axis":
            return attr.i
    return 1


def quant_param_positions(node) -> list[tuple[int, int | None, int | None]]:
    """(tensor, scale, zero point) input positions of the quantized tensors `node` reads."""
    op = node.op_type
    if op == "DequantizeLinear":
        return [(0, 1, 2)]
    if op in ("QLinearConv", "QLinearMatMul", "QLinearAdd", "QLinearMul", "QGemm"):
        return [(0, 1, 2), (3, 4, 5)]
    if op in ("QLinearAveragePool", "QLinearGlobalAveragePool", "QLinearLeakyRelu"):
        return [(0, 1, 2)]
    if op == "QLinearSigmoid":
        return [(0, 1, 2)]
    if op == "QLinearConcat":
        return [(i, i + 1, i + 2) for i in range(2, len(node.input), 3)]
    if op in ("ConvInteger", "MatMulInteger"):
        return [(0, None, 2), (1, None, 3)]
    return []
