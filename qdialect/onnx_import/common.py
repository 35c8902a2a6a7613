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


def int_list_attr(node, key: str, default, *, length: int, minimum: int, form: str) -> list[int]:
    """Attribute `key` of `node` (or `default`): `length` integers, each at least `minimum`;
    otherwise a `NodeError` naming the attribute and its expected `form`."""
    values = attrs(node).get(key, default)
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, int) for v in values):
        raise NodeError(f"attribute '{key}' must be {form}, got {values!r}")
    values = [int(v) for v in values]
    if len(values) != length or any(v < minimum for v in values):
        raise NodeError(f"attribute '{key}' must be {form}, got {values}")
    return values


def check_permutation(perm, rank: int, what: str = "attribute 'perm'") -> list[int]:
    """`perm` if it permutes 0 .. rank-1, else a `NodeError` saying so."""
    perm = [int(p) for p in perm]
    if sorted(perm) != list(range(rank)):
        raise NodeError(
            f"{what} must be a permutation of 0..{rank - 1} (the input has rank {rank}), got {perm}"
        )
    return perm


def broadcast_shape(a, b) -> tuple[int, ...]:
    """NumPy/ONNX multidirectional broadcasting of shapes `a` and `b`, or a `NodeError`."""
    rank = max(len(a), len(b))
    padded_a, padded_b = (1,) * (rank - len(a)) + tuple(a), (1,) * (rank - len(b)) + tuple(b)
    result = []
    for x, y in zip(padded_a, padded_b, strict=True):
        if x != y and 1 not in (x, y):
            raise NodeError(f"input shapes {list(a)} and {list(b)} do not broadcast")
        result.append(y if x == 1 else x)
    return tuple(result)


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
    if op in ("QLinearSigmoid", "QLinearSoftmax"):
        return [(0, 1, 2)]
    if op == "QLinearWhere":
        return [(1, 2, 3), (4, 5, 6)]
    if op == "QLinearConcat":
        return [(i, i + 1, i + 2) for i in range(2, len(node.input), 3)]
    if op in ("ConvInteger", "MatMulInteger"):
        return [(0, None, 2), (1, None, 3)]
    return []
