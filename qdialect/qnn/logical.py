"""Boolean `qnn` ops: what an attention mask computed at run time needs (transformers' newer
exports build it in booleans: Cast to BOOL, And, Expand, then Where picks 0 or the float
minimum for each score).

Booleans are MLIR's `i1`, held one per byte (0 or 1) like every integer narrower than a byte
(qdialect.storage), so a numpy caller sees int8. `qnn.logical` is ONNX's And/Or/Xor with
numpy broadcasting, `qnn.select` ONNX's Where, `qnn.broadcast` ONNX's Expand of a run-time
tensor. A boolean comes from `qnn.cast` (an integer's `x != 0`).
"""

from __future__ import annotations

from enum import Enum

from xdsl.dialects.builtin import IntegerType, StringAttr, TensorType
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_op_definition,
    operand_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from qdialect.qnn.common import Kind, kind_of, ranked_shape
from qdialect.qnn.elementwise import broadcast_shape
from qdialect.qnn.modes import enum_value
from qdialect.tensors import element_type

BOOL = IntegerType(1)


class Logical(Enum):
    AND = "and"
    OR = "or"
    XOR = "xor"


def _check_bool(value: SSAValue, role: str) -> tuple[int, ...]:
    if element_type(value.type) != BOOL:
        raise VerifyException(f"{role} must be an i1 tensor, got {value.type}")
    return ranked_shape(value, role)


def _check_broadcast(shapes: list[tuple[int, ...]], result: tuple[int, ...]) -> None:
    shape: tuple[int, ...] | None = shapes[0]
    for other in shapes[1:]:
        shape = None if shape is None else broadcast_shape(shape, other)
    if shape is None:
        raise VerifyException(f"operand shapes {[list(s) for s in shapes]} do not broadcast")
    if result != shape:
        raise VerifyException(f"result shape must be the broadcast shape {list(shape)}")


@irdl_op_definition
class LogicalOp(IRDLOperation):
    """`y = lhs (kind) rhs` on i1 tensors with numpy broadcasting (ONNX And, Or, Xor; Not is
    a xor with true).

        %y = qnn.logical %a, %b {kind = "and"} : tensor<1x1x4x1xi1>, tensor<1x1x1x4xi1> -> tensor<1x1x4x4xi1>
    """

    name = "qnn.logical"
    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    result = result_def(TensorType)
    kind = prop_def(StringAttr)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)"

    def __init__(self, kind: Logical, lhs: SSAValue, rhs: SSAValue, result_type: Attribute):
        super().__init__(
            operands=[lhs, rhs],
            result_types=[result_type],
            properties={"kind": StringAttr(kind.value)},
        )

    @property
    def kind_value(self) -> Logical:
        return enum_value(Logical, self.kind, "kind")

    def verify_(self) -> None:
        enum_value(Logical, self.kind, "kind")
        shapes = [_check_bool(self.lhs, "lhs"), _check_bool(self.rhs, "rhs")]
        _check_broadcast(shapes, _check_bool(self.result, "result"))


@irdl_op_definition
class SelectOp(IRDLOperation):
    """`y = cond ? a : b` elementwise with numpy broadcasting of all three (ONNX Where): `cond`
    is i1, `a`, `b` and the result one float or integer element type.

        %y = qnn.select %m, %zero, %low : tensor<1x1x4x4xi1>, tensor<f32>, tensor<f32> -> tensor<1x1x4x4xf32>
    """

    name = "qnn.select"
    cond = operand_def(TensorType)
    true_value = operand_def(TensorType)
    false_value = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = (
        "$cond `,` $true_value `,` $false_value attr-dict `:` type($cond) `,` type($true_value)"
        " `,` type($false_value) `->` type($result)"
    )

    def verify_(self) -> None:
        shapes = [
            _check_bool(self.cond, "cond"),
            ranked_shape(self.true_value, "true value"),
            ranked_shape(self.false_value, "false value"),
        ]
        elem = element_type(self.result.type)
        for value, role in ((self.true_value, "true value"), (self.false_value, "false value")):
            if element_type(value.type) != elem:
                raise VerifyException(f"{role} must have the result's element type {elem}")
        if kind_of(self.result) not in (Kind.FLOAT, Kind.INTEGER):
            raise VerifyException(f"selects float or integer tensors, got {elem}")
        _check_broadcast(shapes, ranked_shape(self.result, "result"))


@irdl_op_definition
class BroadcastOp(IRDLOperation):
    """`x` repeated along the dimensions where it has size 1 to the result's shape (numpy
    broadcasting; ONNX Expand of a run-time tensor). The values move unchanged, so any element
    type but a per-axis quantized one.

        %y = qnn.broadcast %x : tensor<1x1x1x4xi1> -> tensor<1x1x4x4xi1>
    """

    name = "qnn.broadcast"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def verify_(self) -> None:
        from qdialect.types import Granularity, UniformQuantizedType

        x = ranked_shape(self.input, "input")
        y = ranked_shape(self.result, "result")
        if len(y) < len(x) or broadcast_shape(x, y) != y:
            raise VerifyException(f"input shape {list(x)} does not broadcast to {list(y)}")
        elem = element_type(self.input.type)
        if element_type(self.result.type) != elem:
            raise VerifyException("input and result element types must be equal")
        if (
            isinstance(elem, UniformQuantizedType)
            and elem.granularity is not Granularity.PER_TENSOR
        ):
            raise VerifyException(f"broadcasts per-tensor quantized tensors only, got {elem}")
