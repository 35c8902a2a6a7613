"""Activation functions: ONNX Runtime's table ops and the float ops QDQ graphs wrap.

QLinearSigmoid and QLinearLeakyRelu (domain com.microsoft) become a `qnn.table` whose 256
entries are the table ORT builds (`qdialect.activations`): dequantize in float32, MLAS's
logistic or `v >= 0 ? v : alpha·v`, quantize. Float Sigmoid, Tanh, LeakyRelu, HardSigmoid and
HardSwish (and Erf, Sqrt, Neg, Abs, Gelu) become `qnn.activation`; between DequantizeLinear
and QuantizeLinear, `fold-qdq` turns them into tables. Softmax and QLinearSoftmax become
`qnn.softmax` (float32 or 8-bit, ONNX Runtime's arithmetic, `qdialect.softmax`); before opset
13 (the model's, or QLinearSoftmax's `opset` attribute) the row is every dim from the axis on,
and Softmax's axis defaults to 1 (QLinearSoftmax's to -1 at every opset, its schema's
default).
"""

from __future__ import annotations

from xdsl.dialects.builtin import FloatAttr, StringAttr, f32
from xdsl.ir import Attribute

from qdialect import qnn
from qdialect.activations import function_table
from qdialect.host_cpu import mlas_avx512f
from qdialect.onnx_import.builders import float_value, rank_of
from qdialect.onnx_import.common import attrs, optional_input, shape_of, tensor_type
from qdialect.onnx_import.errors import NodeError
from qdialect.onnx_import.graph import GraphImporter
from qdialect.onnx_import.registry import handles
from qdialect.qnn.modes import SumExpKernel
from qdialect.qnn.table import UnaryFunction
from qdialect.types import Granularity, UniformQuantizedType

# ONNX op type -> (function, its attributes with ONNX's defaults)
FLOAT_FUNCTIONS: dict[str, tuple[UnaryFunction, dict[str, float]]] = {
    "Sigmoid": (UnaryFunction.SIGMOID, {}),
    "Tanh": (UnaryFunction.TANH, {}),
    "LeakyRelu": (UnaryFunction.LEAKY_RELU, {"alpha": 0.01}),
    "HardSigmoid": (UnaryFunction.HARD_SIGMOID, {"alpha": 0.2, "beta": 0.5}),
    "HardSwish": (UnaryFunction.HARD_SWISH, {}),
    "Erf": (UnaryFunction.ERF, {}),
    "Sqrt": (UnaryFunction.SQRT, {}),
    "Neg": (UnaryFunction.NEG, {}),
    "Abs": (UnaryFunction.ABS, {}),
    "Floor": (UnaryFunction.FLOOR, {}),
    "Ceil": (UnaryFunction.CEIL, {}),
    "Sign": (UnaryFunction.SIGN, {}),
    "Exp": (UnaryFunction.EXP, {}),
    "Log": (UnaryFunction.LOG, {}),
    "Sin": (UnaryFunction.SIN, {}),
    "Cos": (UnaryFunction.COS, {}),
    "Asin": (UnaryFunction.ASIN, {}),
    "Acos": (UnaryFunction.ACOS, {}),
    "Atan": (UnaryFunction.ATAN, {}),
    "Tan": (UnaryFunction.TAN, {}),
    "Sinh": (UnaryFunction.SINH, {}),
    "Cosh": (UnaryFunction.COSH, {}),
    "Asinh": (UnaryFunction.ASINH, {}),
    "Acosh": (UnaryFunction.ACOSH, {}),
    "Atanh": (UnaryFunction.ATANH, {}),
    "Softplus": (UnaryFunction.SOFTPLUS, {}),
    "Elu": (UnaryFunction.ELU, {"alpha": 1.0}),
    "Celu": (UnaryFunction.CELU, {"alpha": 1.0}),
    "Selu": (
        UnaryFunction.SELU,
        {"alpha": 1.67326319217681884765625, "gamma": 1.05070102214813232421875},
    ),
}
PROPERTY_OF = {"gamma": "beta"}  # Selu's gamma is the op's beta
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
        properties[PROPERTY_OF.get(key, key)] = FloatAttr(value, f32)
    op = qnn.ActivationOp.create(operands=[x], result_types=[x.type], properties=properties)
    g.define(node.output[0], g.add(op, node.output[0]))


@handles("Gelu")
def gelu(g: GraphImporter, node) -> None:
    """ONNX Gelu (opset 20), `approximate` "none" or "tanh", as ORT's Gelu kernel computes it
    (`qdialect.activations`)."""
    approximate = attrs(node).get("approximate", "none")
    approximate = approximate.decode() if isinstance(approximate, bytes) else approximate
    functions = {"none": UnaryFunction.GELU, "tanh": UnaryFunction.GELU_TANH}
    if approximate not in functions:
        raise NodeError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
    x = float_value(g, node.input[0])
    op = qnn.ActivationOp.create(
        operands=[x],
        result_types=[x.type],
        properties={"function": StringAttr(functions[approximate].value)},
    )
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


def softmax_axis(node, opset: int, rank: int, default: int, allowed: set[str]):
    """(axis in [0, rank), flatten) of a Softmax-like node under `opset`'s rules."""
    given = attrs(node)
    unknown = sorted(set(given) - allowed - {"axis"})
    if unknown:
        raise NodeError(f"attribute '{unknown[0]}' is not imported for {node.op_type}")
    axis = int(given.get("axis", default))
    if not -rank <= axis < rank:
        raise NodeError(f"axis {axis} is out of range for rank {rank}")
    return axis % rank, opset < 13


@handles("Softmax", "LogSoftmax")
def float_softmax(g: GraphImporter, node) -> None:
    x = float_value(g, node.input[0])
    default = 1 if g.opset < 13 else -1
    axis, flatten = softmax_axis(node, g.opset, rank_of(g, node.input[0]), default, set())
    kernel = SumExpKernel.AVX512F if mlas_avx512f() else SumExpKernel.FMA3
    op = qnn.SoftmaxOp(x, x.type, axis, flatten, kernel, node.op_type == "LogSoftmax")
    g.define(node.output[0], g.add(op, node.output[0]))


@handles("QLinearSoftmax")
def qlinear_softmax(g: GraphImporter, node) -> None:
    opset = attrs(node).get("opset")
    if not isinstance(opset, int):
        raise NodeError("attribute 'opset' (an int) is required, as ONNX Runtime requires it")
    if len(node.input) < 4 or not node.input[3]:
        raise NodeError("inputs X, X_scale, X_zero_point, Y_scale are required")
    name = node.input[0]
    # the contrib schema's axis default is -1 whatever the opset
    axis, flatten = softmax_axis(node, opset, rank_of(g, name), -1, {"opset"})
    in_type = g.quant_type(node.input[1], optional_input(node, 2), 1, rank_of(g, name), "X")
    out_type = g.quant_type(node.input[3], optional_input(node, 4), 1, 0, "Y")
    if optional_input(node, 4) is None:  # ORT: zero point 0 of the input's type
        storage = "i8" if in_type.signed else "u8"
        out_type = UniformQuantizedType.per_tensor(storage, f32, out_type.scale, 0)
    for qtype, role in ((in_type, "X"), (out_type, "Y")):
        if qtype.granularity is not Granularity.PER_TENSOR:
            raise NodeError(f"{role}_scale must be a scalar (ORT's exp table is per tensor)")
        if qtype.storage_width != 8:
            raise NodeError(f"{role} is {qtype.storage_spelling}; QLinearSoftmax is 8-bit")
    x = g.quantized(name, in_type)
    op = qnn.SoftmaxOp(x, tensor_type(shape_of(x), out_type), axis, flatten)
    g.define(node.output[0], g.add(op, node.output[0]))
