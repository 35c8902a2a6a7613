"""Float qnn ops seen as the ONNX nodes they were imported from (for ONNX Runtime's rules).

ONNX Runtime's quantizer decides per ONNX node type (Conv, Gemm, MatMul, Relu, ...). A float
module imported from ONNX (or written by hand) holds qnn ops instead; `node_kind` names the
ONNX node type each op stands for, so the quantizer can apply ONNX Runtime's rule for it.
Transposes of constants are not nodes: the importer writes Gemm's `transB` as one.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.dialects import arith, tensor
from xdsl.dialects.builtin import StringAttr, TensorType, f32
from xdsl.ir import Operation, SSAValue

from qdialect import qnn
from qdialect.names import (
    NODE_OUTPUT_ATTR,
    OP_TYPE_ATTR,
    RESHAPE_OF_ATTR,
    UNTYPED_ATTR,
    node_name,
    tensor_name,
)
from qdialect.tensors import element_type


def is_float_tensor(value: SSAValue) -> bool:
    return isinstance(value.type, TensorType) and element_type(value.type) == f32


def is_untyped(value: SSAValue) -> bool:
    """Whether ONNX's shape inference gives the tensor no type (`UNTYPED_ATTR`, set by
    `import_onnx(node_constants=True)`)."""
    return isinstance(value.owner, Operation) and UNTYPED_ATTR in value.owner.attributes


def float_constant(value: SSAValue) -> arith.ConstantOp | None:
    """The `arith.constant` defining `value` if it is a float tensor constant (an initializer).
    A constant an ONNX node computes (`qnn.node_output`: a Constant node, folded arithmetic)
    is no initializer: ONNX Runtime's quantizer takes it as an activation, with its range."""
    owner = value.owner
    if isinstance(owner, arith.ConstantOp) and is_float_tensor(value):
        return None if NODE_OUTPUT_ATTR in owner.attributes else owner
    return None


@dataclass(frozen=True)
class WeightSource:
    """The initializer behind a weight operand: the constant itself, or the constant a
    Gemm `transB` transpose reads (`transposed`)."""

    value: SSAValue
    transposed: bool


def transb_transpose(value: SSAValue) -> bool:
    """Whether `value` is a transpose of an initializer that is no ONNX node: a Gemm's
    `transB` (the importer's), a weight's layout. The importer marks a Transpose node of an
    initializer as one (`qnn.op_type`)."""
    owner = value.owner
    return (
        isinstance(owner, qnn.TransposeOp)
        and float_constant(owner.input) is not None
        and OP_TYPE_ATTR not in owner.attributes
    )


def weight_source(value: SSAValue) -> WeightSource | None:
    if float_constant(value) is not None:
        return WeightSource(value, False)
    if transb_transpose(value):
        return WeightSource(value.owner.input, True)  # type: ignore[union-attr]
    return None


ACTIVATIONS = {
    qnn.UnaryFunction.SIGMOID: "Sigmoid",
    qnn.UnaryFunction.TANH: "Tanh",
    qnn.UnaryFunction.LEAKY_RELU: "LeakyRelu",
    qnn.UnaryFunction.HARD_SIGMOID: "HardSigmoid",
    qnn.UnaryFunction.HARD_SWISH: "HardSwish",
    qnn.UnaryFunction.SILU: "QuickGelu",
    qnn.UnaryFunction.ERF: "Erf",
    qnn.UnaryFunction.SQRT: "Sqrt",
    qnn.UnaryFunction.NEG: "Neg",
    qnn.UnaryFunction.ABS: "Abs",
    qnn.UnaryFunction.FLOOR: "Floor",
    qnn.UnaryFunction.CEIL: "Ceil",
    qnn.UnaryFunction.SIGN: "Sign",
    qnn.UnaryFunction.GELU: "Gelu",
    qnn.UnaryFunction.GELU_TANH: "Gelu",
    qnn.UnaryFunction.DEEPCPU_TANH: "Tanh",  # (inside a GRU)
    qnn.UnaryFunction.DEEPCPU_CLIP: "Clip",  # (inside an LSTM or a GRU)
    qnn.UnaryFunction.EXP: "Exp",
    qnn.UnaryFunction.LOG: "Log",
    qnn.UnaryFunction.LOGF: "Log",
    qnn.UnaryFunction.TANHF: "Tanh",
    qnn.UnaryFunction.EXPF: "Exp",
    qnn.UnaryFunction.SIN: "Sin",
    qnn.UnaryFunction.COS: "Cos",
    qnn.UnaryFunction.ASIN: "Asin",
    qnn.UnaryFunction.ACOS: "Acos",
    qnn.UnaryFunction.ATAN: "Atan",
    qnn.UnaryFunction.TAN: "Tan",
    qnn.UnaryFunction.SINH: "Sinh",
    qnn.UnaryFunction.COSH: "Cosh",
    qnn.UnaryFunction.ASINH: "Asinh",
    qnn.UnaryFunction.ACOSH: "Acosh",
    qnn.UnaryFunction.ATANH: "Atanh",
    qnn.UnaryFunction.SOFTPLUS: "Softplus",
    qnn.UnaryFunction.ELU: "Elu",
    qnn.UnaryFunction.SELU: "Selu",
    qnn.UnaryFunction.CELU: "Celu",
}


# the ONNX node a `qnn.binary` of each kind stands for
FLOAT_BINARY_NODES = {
    qnn.FloatBinary.SUB: "Sub",
    qnn.FloatBinary.DIV: "Div",
    qnn.FloatBinary.MIN: "Min",
    qnn.FloatBinary.MAX: "Max",
    qnn.FloatBinary.PRELU: "PRelu",
    qnn.FloatBinary.POW: "Pow",
    qnn.FloatBinary.POW_DOUBLE: "Pow",
    qnn.FloatBinary.FMOD: "Mod",
    qnn.FloatBinary.MOD: "Mod",
}


def node_kind(op: Operation) -> str | None:
    """The ONNX op type `op` stands for, or None for ops that are no ONNX node of a float
    graph (constants, transposes of constants, quantized ops)."""
    if isinstance(op, qnn.ArgReduceOp):  # an index out of a float tensor
        return None if not is_float_tensor(op.input) else f"Arg{op.kind_value.value.title()}"
    if not op.results or not is_float_tensor(op.results[0]):
        return None
    recorded = op.attributes.get(OP_TYPE_ATTR) or op.attributes.get(RESHAPE_OF_ATTR)
    if isinstance(recorded, StringAttr):
        return recorded.data
    if isinstance(op, qnn.Conv2DOp):
        return "Conv" if op.addend is None else None
    if isinstance(op, qnn.DotOp):
        if op.addend is not None:
            return None
        return "Gemm" if op.bias is not None or transb_transpose(op.weight) else "MatMul"
    if isinstance(op, qnn.TransposeOp):
        return None if transb_transpose(op.result) else "Transpose"
    if isinstance(op, qnn.MaxPool2DOp):
        return "GlobalMaxPool" if op.is_global() else "MaxPool"
    if isinstance(op, qnn.AvgPool2DOp):
        return "GlobalAveragePool" if op.is_global() else "AveragePool"
    if isinstance(op, qnn.Pool3DOp):
        return "MaxPool" if op.maximum else "AveragePool"
    if isinstance(op, qnn.ActivationOp):
        return ACTIVATIONS[op.function_kind]
    if isinstance(op, qnn.SoftmaxOp) and op.log is not None:
        return "LogSoftmax"
    if isinstance(op, qnn.LayerNormOp) and op.simplified is not None:
        return "SimplifiedLayerNormalization"
    if isinstance(op, qnn.FloatBinaryOp):  # (a node written as several ops recorded its type)
        return FLOAT_BINARY_NODES[op.kind_value]
    simple = {
        qnn.AddOp: "Add",
        qnn.MulOp: "Mul",
        qnn.SoftmaxOp: "Softmax",
        qnn.LayerNormOp: "LayerNormalization",
        qnn.BatchNormOp: "BatchNormalization",
        qnn.ReluOp: "Relu",
        qnn.ClampOp: "Clip",
        qnn.ConcatOp: "Concat",
        qnn.PadOp: "Pad",
        tensor.ReshapeOp: "Reshape",
        qnn.SliceOp: "Slice",
        qnn.GatherOp: "Gather",
        qnn.ResizeBilinearOp: "Resize",
        qnn.ResizeCubicOp: "Resize",
        qnn.SelectOp: "Where",
        qnn.CumSumOp: "CumSum",
        qnn.BroadcastOp: "Expand",
        qnn.TopKOp: "TopK",
        qnn.LrnOp: "LRN",
    }
    return simple.get(type(op))


def inner_op(op: Operation) -> bool:
    """Whether `op` is one of several ops the importer wrote for one node (`qnn.op_type`) but
    not the last, which yields the node's named output."""
    return OP_TYPE_ATTR in op.attributes and tensor_name(op.results[0]) is None


def node_of(op: Operation) -> Operation:
    """The last op of the ONNX node `op` belongs to (`op` itself unless it is an inner op:
    the node's ops read each other's results up to the last, through the Q/DQ pairs our
    quantizer puts between a data movement's ops)."""
    start = op
    while inner_op(op) or (op is not start and isinstance(op, qnn.QuantizeOp | qnn.DequantizeOp)):
        users = [use.operation for use in op.results[0].uses]
        if not users:
            break
        op = users[0]
    return op


def split_node(op: Operation) -> Operation | None:
    """For a slice the importer wrote for a Split node, the node's first slice (it writes a
    Split as consecutive slices of one input, each one of the node's outputs, which the
    quantizer may give their Q/DQ pairs in between); else None."""
    if not _split_slice(op):
        return None
    first, before = op, op.prev_op
    while before is not None:
        if isinstance(before, qnn.QuantizeOp | qnn.DequantizeOp):
            before = before.prev_op
            continue
        same = _split_slice(before) and before.operands[0] is op.operands[0]
        if not same or node_name(before) != node_name(op):
            break
        first, before = before, before.prev_op
    return first


def _split_slice(op: Operation | None) -> bool:
    kind = op.attributes.get(OP_TYPE_ATTR) if op is not None else None
    return isinstance(op, qnn.SliceOp) and isinstance(kind, StringAttr) and kind.data == "Split"


def node_inputs(op: Operation) -> list[SSAValue]:
    """ONNX's `node.input` of `op`: its float tensor operands, in order (a weight read through
    a Gemm transpose is the constant itself; for the last op of a node written as several,
    the values its inner ops read from outside, in the node's input order)."""
    inputs: list[SSAValue] = []
    for operand in op.operands:
        source = weight_source(operand) if isinstance(op, qnn.DotOp) else None
        value = source.value if source is not None else operand
        inner = value.owner
        if isinstance(inner, Operation) and OP_TYPE_ATTR in op.attributes and inner_op(inner):
            inputs += [v for v in node_inputs(inner) if v not in inputs]
        elif is_float_tensor(value) and value not in inputs:
            inputs.append(value)
    return inputs


def conv_transpose_inputs(op: Operation) -> tuple[SSAValue, SSAValue, SSAValue | None] | None:
    """A ConvTranspose node's input, constant weight and constant bias, from the importer's
    ops (which read them in no fixed order: the GEMM reads the filter first); None unless it
    has one computed input and one constant weight."""
    inputs = node_inputs(op)
    computed = [v for v in inputs if float_constant(v) is None]
    constants = [v for v in inputs if float_constant(v) is not None]
    weights = [v for v in constants if len(v.type.get_shape()) > 1]  # type: ignore[union-attr]
    if not weights:  # a 1-D ConvTranspose: its filter as [C, O, 1, K], the importer's constant
        weights = [
            inner.results[0]
            for inner in node_ops(op)
            if isinstance(inner, arith.ConstantOp)
            and float_constant(inner.results[0]) is not None
            and len(inner.results[0].type.get_shape()) == 4  # type: ignore[union-attr]
        ]
    if len(computed) != 1 or len(weights) != 1:
        return None
    biases = [v for v in constants if v is not weights[0]]
    return computed[0], weights[0], biases[0] if biases else None


def node_ops(op: Operation) -> set[Operation]:
    """The ops of the ONNX node whose last op is `op`: `op` and the inner ops it reads."""
    ops = {op}
    if OP_TYPE_ATTR in op.attributes:
        for operand in op.operands:
            inner = operand.owner
            if isinstance(inner, Operation) and inner_op(inner):
                ops |= node_ops(inner)
    return ops


# Every node type the importer writes as several ops (`qnn.op_type`) is one of these two.
# Node types the importer writes as several ops that only move values (a Split's slices, a
# Resize's reshapes and concats): every one of them may take its input's parameters, as the
# node's outputs do, and quantizing their intermediate results that way changes no value.
MOVES = frozenset({"Split", "Resize", "Gather"})
# Node types written as several ops that are quantized as one node: their inputs (`node_inputs`
# of the last op) and their output; the ops between compute in float (a batched MatMul of two
# activations, whose Q/DQ pairs fold into the integer grouped conv).
WHOLE = frozenset({"MatMul"})
