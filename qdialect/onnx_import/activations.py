"""Activation functions: ONNX Runtime's table ops and the float ops QDQ graphs wrap.

QLinearSigmoid and QLinearLeakyRelu (domain com.microsoft) become a `qnn.table` whose 256
entries are the table ORT builds (`qdialect.activations`): dequantize in float32, MLAS's
logistic or `v >= 0 ? v : alpha·v`, quantize. Float Sigmoid, Tanh, LeakyRelu, HardSigmoid and
HardSwish become `qnn.activation`; between DequantizeLinear and QuantizeLinear, `fold-qdq`
turns them into tables.
"""

from __future__ import annotations

from xdsl.dialects.builtin import FloatAttr, StringAttr, f32
from xdsl.ir import Attribute

from qdialect import qnn
from qdialect.activations import function_table
from qdialect.onnx_import.builders import float_value, rank_of
from qdialect.onnx_import.common import attrs, optional_input, shape_of, tensor_type
from qdialect.onnx_import.errors import NodeError
from qdialect.onnx_import.graph import GraphImporter
from qdialect.onnx_import.registry import handles
from qdialect.qnn.table import UnaryFunction
from qdialect.types import Granularity

# ONNX op type -> (function, its attributes with ONNX's defaults)
FLOAT_FUNCTIONS: dict[str, tuple[UnaryFunction, dict[str, float]]] = {
    "Sigmoid": (UnaryFunction.SIGMOID, {}),
    "Tanh": (UnaryFunction.TANH, {}),
    "LeakyRelu": (UnaryFunction.LEAKY_RELU, {"alpha": 0.01}),
    "HardSigmoid": (UnaryFunction.HARD_SIGMOID, {"alpha": 0.2, "beta": 0.5}),
    "HardSwish": (UnaryFunction.HARD_SWISH, {}),
}
# ORT's contrib table ops -> their function (QLinearLeakyRelu's alpha defaults to 0.01 too)
TABLE_FUNCTIONS = {"QLinearSigmoid": "Sigmoid", "QLinearLeakyRelu": "LeakyRelu"}


def function_attributes(node, defaults: dict[str, float]) -> dict[str, float]:
    """The node's float attributes among `defaults`' names (others are refused by name)."""
    given = attrs(node)
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise NodeError(f"attribute '{unknown[0]}' is not imported for {node.op_type}")
    values = {}
    for key, default in defaults.items():
        value = given.get(key, default)
        if not isinstance(value, float | int):
            raise NodeError(f"attribute '{key}' must be a float, got {value!r}")
        values[key] = float(value)
    return values


@handles(*FLOAT_FUNCTIONS)
def float_function(g: GraphImporter, node) -> None:
    function, defaults = FLOAT_FUNCTIONS[node.op_type]
    x = float_value(g, node.input[0])
    properties: dict[str, Attribute] = {"function": StringAttr(function.value)}
    for key, value in function_attributes(node, defaults).items():
        properties[key] = FloatAttr(value, f32)
    op = qnn.ActivationOp.create(operands=[x], result_types=[x.type], properties=properties)
    g.define(node.output[0], g.add(op, node.output[0]))


@handles(*TABLE_FUNCTIONS)
def qlinear_table(g: GraphImporter, node) -> None:
    function, defaults = FLOAT_FUNCTIONS[TABLE_FUNCTIONS[node.op_type]]
    values = function_attributes(node, defaults)
    if len(node.input) < 4 or not node.input[3]:
        raise NodeError("inputs X, X_scale, X_zero_point, Y_scale are required")
    name = node.input[0]
    in_type = g.quant_type(node.input[1], optional_input(node, 2), 1, rank_of(g, name), "X")
    out_type = g.quant_type(node.input[3], optional_input(node, 4), 1, 0, "Y")
    for qtype, role in ((in_type, "X"), (out_type, "Y")):
        if qtype.granularity is not Granularity.PER_TENSOR:
            raise NodeError(f"{role}_scale must be a scalar (ORT's table is per tensor)")
        if qtype.storage_width != 8:
            raise NodeError(
                f"{role} is {qtype.storage_spelling}; qnn.table maps 8-bit values to 8-bit "
                "values (256 entries)"
            )
    x = g.quantized(name, in_type)
    entries = function_table(
        function, values.get("alpha", 0.0), values.get("beta", 0.0), in_type, out_type
    )
    table = g.quantized_constant(entries, out_type)
    op = qnn.TableOp(x, table, tensor_type(shape_of(x), out_type))
    g.define(node.output[0], g.add(op, node.output[0]))
