"""Booleans computed at run time (an attention mask built as transformers' newer exports build
it): And, Or, Xor, Not as `qnn.logical`, Where as `qnn.select`, Expand of a run-time tensor as
`qnn.broadcast` (qdialect/qnn/logical.py). With constant inputs only they fold as shape
arithmetic (folding.py) before they get here."""

from __future__ import annotations

import numpy as np
from xdsl.ir import SSAValue

from qdialect import qnn
from qdialect.onnx_import.common import shape_of, tensor_type
from qdialect.onnx_import.errors import NodeError
from qdialect.onnx_import.graph import GraphImporter
from qdialect.onnx_import.registry import handles
from qdialect.qnn import Logical
from qdialect.qnn.elementwise import broadcast_shape
from qdialect.qnn.logical import BOOL
from qdialect.tensors import element_type

LOGICAL = {"And": Logical.AND, "Or": Logical.OR, "Xor": Logical.XOR, "Not": Logical.XOR}


def operand(g: GraphImporter, name: str) -> SSAValue:
    """A run-time value, or a constant: a boolean one as i1 (a byte each), else as `g.value`
    gives it (float32)."""
    data = g.initializers.get(name)
    if name not in g.values and data is not None and data.dtype == np.bool_:
        return g.integer_constant(data.astype(np.int8), BOOL, name)
    return g.value(name)


def boolean(g: GraphImporter, name: str) -> SSAValue:
    value = operand(g, name)
    if element_type(value.type) != BOOL:
        raise NodeError(f"input '{name}' must be a boolean tensor, got {element_type(value.type)}")
    return value


def broadcast(*values: SSAValue) -> tuple[int, ...]:
    shape: tuple[int, ...] | None = shape_of(values[0])
    for value in values[1:]:
        shape = None if shape is None else broadcast_shape(shape, shape_of(value))
    if shape is None:
        raise NodeError(f"input shapes {[list(shape_of(v)) for v in values]} do not broadcast")
    return shape


@handles("And", "Or", "Xor", "Not")
def logical(g: GraphImporter, node) -> None:
    """And/Or/Xor of booleans; Not is a xor with true."""
    lhs = boolean(g, node.input[0])
    if node.op_type == "Not":
        rhs = g.integer_constant(np.ones((), np.int8), BOOL)
    else:
        rhs = boolean(g, node.input[1])
    shape = broadcast(lhs, rhs)
    op = qnn.LogicalOp(LOGICAL[node.op_type], lhs, rhs, tensor_type(shape, BOOL))
    g.define(node.output[0], g.add(op, node.output[0]))


@handles("Where")
def where(g: GraphImporter, node) -> None:
    cond = boolean(g, node.input[0])
    a, b = operand(g, node.input[1]), operand(g, node.input[2])
    elem = element_type(a.type)
    if element_type(b.type) != elem:
        raise NodeError(
            f"X and Y must have one element type, got {elem} and {element_type(b.type)}"
        )
    shape = broadcast(cond, a, b)
    op = qnn.SelectOp.create(operands=[cond, a, b], result_types=[tensor_type(shape, elem)])
    g.define(node.output[0], g.add(op, node.output[0]))


@handles("Expand")
def expand(g: GraphImporter, node) -> None:
    """Expand of a run-time tensor to a constant shape (ONNX's two-way broadcast)."""
    x = operand(g, node.input[0])
    target = tuple(int(d) for d in np.ravel(g.constant_array(node.input[1], "shape")))
    shape = broadcast_shape(shape_of(x), target)
    if shape is None:
        raise NodeError(f"input shape {list(shape_of(x))} does not broadcast to {list(target)}")
    if shape == shape_of(x):
        return g.define(node.output[0], x)
    op = qnn.BroadcastOp.create(
        operands=[x], result_types=[tensor_type(shape, element_type(x.type))]
    )
    g.define(node.output[0], g.add(op, node.output[0]))
