"""Boolean and integer `qnn` ops: what an attention mask or position ids computed at run time
need (transformers' newer exports build the mask in booleans: Cast to BOOL, And, Expand, then
Where picks 0 or the float minimum for each score; RoBERTa counts positions from the token
ids: `cumsum(ids != pad) * (ids != pad) + pad`).

Booleans are MLIR's `i1`, held one per byte (0 or 1) like every integer narrower than a byte
(qdialect.storage); a numpy caller gives and gets them as numpy's bool (ONNX's BOOL, also a
byte of 0 or 1: `runtime.signature.numpy_dtype`). `qnn.logical` is ONNX's And/Or/Xor with
numpy broadcasting, `qnn.select` ONNX's Where, `qnn.broadcast` ONNX's Expand of a run-time
tensor, `qnn.compare` the comparisons, `qnn.integer_binary` integer Add/Sub/Mul, `qnn.cumsum`
CumSum, `qnn.arg_reduce` ArgMax/ArgMin (of float, integer or quantized tensors: a class map).
A boolean also comes from `qnn.cast` (an integer's `x != 0`).
"""

from __future__ import annotations

from enum import Enum
from typing import ClassVar

from xdsl.dialects.builtin import (
    Float32Type,
    IntegerAttr,
    IntegerType,
    StringAttr,
    TensorType,
    UnitAttr,
    i64,
)
from xdsl.ir import SSAValue
from xdsl.irdl import (
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from qdialect.qnn.common import Kind, KindedBinaryOp, kind_of, ranked_shape
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
class LogicalOp(KindedBinaryOp):
    """`y = lhs (kind) rhs` on i1 tensors with numpy broadcasting (ONNX And, Or, Xor; Not is
    a xor with true).

        %y = qnn.logical %a, %b {kind = "and"} : tensor<1x1x4x1xi1>, tensor<1x1x1x4xi1> -> tensor<1x1x4x4xi1>
    """

    name = "qnn.logical"
    KINDS: ClassVar[type[Enum]] = Logical

    def verify_(self) -> None:
        self.broadcast_shapes()
        shapes = [_check_bool(self.lhs, "lhs"), _check_bool(self.rhs, "rhs")]
        _check_broadcast(shapes, _check_bool(self.result, "result"))


@irdl_op_definition
class SelectOp(IRDLOperation):
    """`y = cond ? a : b` elementwise with numpy broadcasting of all three (ONNX Where): `cond`
    is i1, `a`, `b` and the result one float or integer element type. `merged`: ONNX Runtime's
    Where, which selects `a` where `cond` (else 0) and `b` where not (else 0) and merges them as
    `a_sel != 0 ? a_sel : b_sel`, so a selected `a` of -0.0 comes out +0.0.

        %y = qnn.select %m, %zero, %low : tensor<1x1x4x4xi1>, tensor<f32>, tensor<f32> -> tensor<1x1x4x4xf32>
    """

    name = "qnn.select"
    cond = operand_def(TensorType)
    true_value = operand_def(TensorType)
    false_value = operand_def(TensorType)
    result = result_def(TensorType)
    merged = opt_prop_def(UnitAttr)
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


class Comparison(Enum):
    EQUAL = "equal"
    LESS = "less"
    LESS_EQUAL = "less_equal"
    GREATER = "greater"
    GREATER_EQUAL = "greater_equal"


class IntegerArithmetic(Enum):
    ADD = "add"
    SUB = "sub"
    MUL = "mul"
    DIV = "div"  # truncated toward zero, as C divides; by zero 0, MIN / -1 wraps to MIN
    MOD = "mod"  # the remainder with the divisor's sign (ONNX Mod, fmod 0); by zero 0
    FMOD = "fmod"  # the remainder with the dividend's sign (C's %, ONNX Mod fmod 1); by zero 0
    MIN = "min"
    MAX = "max"
    BIT_AND = "bit_and"
    BIT_OR = "bit_or"
    BIT_XOR = "bit_xor"
    # ONNX BitShift: a count below 0 or at least the width shifts every bit out (0, or -1 for
    # a negative value shifted right); a right shift is arithmetic (`integer_arrays.bit_shift`)
    SHIFT_LEFT = "shift_left"
    SHIFT_RIGHT = "shift_right"


@irdl_op_definition
class CompareOp(KindedBinaryOp):
    """`y = lhs (kind) rhs` as an i1 tensor, numpy broadcasting (ONNX Equal, Less, Greater,
    LessOrEqual, GreaterOrEqual on run-time tensors: RoBERTa's `input_ids != padding_idx`).
    Operands of one integer or float element type; a NaN compares false, as in C.

        %y = qnn.compare %ids, %pad {kind = "equal"} : tensor<1x8xi64>, tensor<i64> -> tensor<1x8xi1>
    """

    name = "qnn.compare"
    KINDS: ClassVar[type[Enum]] = Comparison

    def verify_(self) -> None:
        shapes = self.broadcast_shapes()
        elem = element_type(self.lhs.type)
        if element_type(self.rhs.type) != elem:
            raise VerifyException(f"rhs must have the lhs' element type {elem}")
        if kind_of(self.lhs) not in (Kind.FLOAT, Kind.INTEGER):
            raise VerifyException(f"compares float or integer tensors, got {elem}")
        _check_broadcast(shapes, _check_bool(self.result, "result"))


@irdl_op_definition
class IntegerBinaryOp(KindedBinaryOp):
    """`y = lhs (kind) rhs` on one integer element type with numpy broadcasting, wrapping
    around as two's complement (ONNX Add, Sub, Mul, Div, Mod, Min, Max on run-time integer
    tensors: position ids computed from the token ids; BitwiseAnd/Or/Xor/Not, BitShift). A
    division by zero gives 0 (ORT's kernel traps), and the one quotient out of range,
    MIN / -1, wraps to MIN.

        %y = qnn.integer_binary %a, %b {kind = "mul"} : tensor<1x8xi32>, tensor<1x8xi32> -> tensor<1x8xi32>
    """

    name = "qnn.integer_binary"
    KINDS: ClassVar[type[Enum]] = IntegerArithmetic

    def verify_(self) -> None:
        shapes = self.broadcast_shapes()
        elem = element_type(self.result.type)
        if not isinstance(elem, IntegerType) or elem.width.data not in (8, 16, 32, 64):
            raise VerifyException(f"result must be an 8- to 64-bit integer tensor, got {elem}")
        for value, role in ((self.lhs, "lhs"), (self.rhs, "rhs")):
            if element_type(value.type) != elem:
                raise VerifyException(f"{role} must have the result's element type {elem}")
        _check_broadcast(shapes, ranked_shape(self.result, "result"))


@irdl_op_definition
class CumSumOp(IRDLOperation):
    """Running sums along `axis` (ONNX CumSum on a run-time tensor), each the previous one plus
    the next element in order (ONNX Runtime's loop; integers wrap around); `exclusive` leaves
    the element itself out, `reverse` runs from the end; `product`: running products from 1
    (ONNX CumProd), the same loop.

        %y = qnn.cumsum %x {axis = 1 : i64} : tensor<1x8xi32> -> tensor<1x8xi32>
        %p = qnn.cumsum %f {axis = 0 : i64, product} : tensor<4xf32> -> tensor<4xf32>
    """

    name = "qnn.cumsum"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    axis = prop_def(IntegerAttr)
    exclusive = opt_prop_def(UnitAttr)
    reverse = opt_prop_def(UnitAttr)
    product = opt_prop_def(UnitAttr)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    @property
    def axis_value(self) -> int:
        return self.axis.value.data

    def verify_(self) -> None:
        x = ranked_shape(self.input, "input")
        if not 0 <= self.axis_value < len(x):
            raise VerifyException(f"axis {self.axis_value} is not a dimension of rank {len(x)}")
        if self.input.type != self.result.type:
            raise VerifyException("result must have the input's type")
        elem = element_type(self.input.type)
        if kind_of(self.input) is Kind.FLOAT:
            if not isinstance(elem, Float32Type):
                raise VerifyException(f"sums float32 or integer tensors, got {elem}")
        elif not isinstance(elem, IntegerType) or elem.width.data not in (8, 16, 32, 64):
            raise VerifyException(f"sums float32 or 8- to 64-bit integer tensors, got {elem}")


class ArgKind(Enum):
    MAX = "max"
    MIN = "min"


@irdl_op_definition
class ArgReduceOp(IRDLOperation):
    """The index (i64) of the largest (`max`) or smallest (`min`) element along `axis` (ONNX
    ArgMax / ArgMin), as ONNX Runtime scans: the first element, replaced by each later one
    strictly better, or with `select_last_index` better or equal; so a NaN is never chosen
    after the first element, and a leading NaN wins. Float32, integer and quantized tensors
    (the stored values: dequantizing keeps their order). The result keeps the axis as 1 or
    drops it (`keepdims`).

        %i = qnn.arg_reduce %x {kind = "max", axis = 1 : i64} : tensor<2x10xf32> -> tensor<2x1xi64>
    """

    name = "qnn.arg_reduce"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    kind = prop_def(StringAttr)
    axis = prop_def(IntegerAttr)
    select_last_index = opt_prop_def(UnitAttr)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    @property
    def kind_value(self) -> ArgKind:
        return enum_value(ArgKind, self.kind, "kind")

    @property
    def axis_value(self) -> int:
        return self.axis.value.data

    def verify_(self) -> None:
        enum_value(ArgKind, self.kind, "kind")
        x = ranked_shape(self.input, "input")
        axis = self.axis_value
        if not 0 <= axis < len(x):
            raise VerifyException(f"axis {axis} is not a dimension of rank {len(x)}")
        elem = element_type(self.input.type)
        if kind_of(self.input) is Kind.FLOAT and not isinstance(elem, Float32Type):
            raise VerifyException(f"compares float32, integer or quantized tensors, got {elem}")
        kept = (*x[:axis], 1, *x[axis + 1 :])
        dropped = (*x[:axis], *x[axis + 1 :])
        if element_type(self.result.type) != i64 or ranked_shape(self.result, "result") not in (
            kept,
            dropped,
        ):
            raise VerifyException(
                f"result must be i64 of shape {list(kept)} or {list(dropped)}, got "
                f"{self.result.type}"
            )


@irdl_op_definition
class TopKOp(IRDLOperation):
    """The `k` largest (or, without `largest`, smallest) elements along `axis` and their
    indices (ONNX TopK, sorted), in ONNX Runtime's order: better value first, and of equal
    values the lower index first. Float32, integer and quantized tensors (the stored values:
    dequantizing keeps their order); a NaN ranks as ORT's comparisons leave it, unspecified.

        %v, %i = qnn.top_k %x {k = 2 : i64, axis = 1 : i64} : tensor<3x5xf32> -> tensor<3x2xf32>, tensor<3x2xi64>
    """

    name = "qnn.top_k"
    input = operand_def(TensorType)
    values = result_def(TensorType)
    indices = result_def(TensorType)
    k = prop_def(IntegerAttr)
    axis = prop_def(IntegerAttr)
    smallest = opt_prop_def(UnitAttr)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($values) `,` type($indices)"

    @property
    def axis_value(self) -> int:
        return self.axis.value.data

    @property
    def k_value(self) -> int:
        return self.k.value.data

    def verify_(self) -> None:
        x = ranked_shape(self.input, "input")
        axis, k = self.axis_value, self.k_value
        if not 0 <= axis < len(x):
            raise VerifyException(f"axis {axis} is not a dimension of rank {len(x)}")
        if not 0 <= k <= x[axis]:
            raise VerifyException(f"k = {k} must lie in 0 .. {x[axis]}, the axis' size")
        elem = element_type(self.input.type)
        if kind_of(self.input) is Kind.FLOAT and not isinstance(elem, Float32Type):
            raise VerifyException(f"ranks float32, integer or quantized tensors, got {elem}")
        shape = (*x[:axis], k, *x[axis + 1 :])
        if self.values.type != TensorType(elem, shape):
            raise VerifyException(
                f"values must be {TensorType(elem, shape)}, got {self.values.type}"
            )
        if element_type(self.indices.type) != i64 or ranked_shape(self.indices, "indices") != shape:
            raise VerifyException(f"indices must be i64 of shape {list(shape)}")
