"""Elementwise `qnn` ops: quantize, dequantize, requantize, add, mul, clamp, relu, fake_quant."""

from __future__ import annotations

import math

from xdsl.dialects.builtin import DenseArrayBase, FloatAttr, IntegerAttr, StringAttr, TensorType
from xdsl.ir import Attribute, SSAValue
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

from qdialect.qnn.common import (
    Kind,
    check_per_tensor,
    check_quantized_container,
    check_quantized_operand,
    check_same_expressed,
    float_value,
    kind_of,
    raw_offsets,
)
from qdialect.qnn.modes import RoundMode, enum_value
from qdialect.quant_ops import verify_quantized_container
from qdialect.tensors import element_type
from qdialect.types import UniformQuantizedType


def _same_shape(a: SSAValue, b: SSAValue) -> None:
    if not (isinstance(a.type, TensorType) and isinstance(b.type, TensorType)):
        raise VerifyException("operates on ranked tensors")
    if a.type.get_shape() != b.type.get_shape():
        raise VerifyException(
            f"input shape {list(a.type.get_shape())} and result shape "
            f"{list(b.type.get_shape())} differ"
        )


class UnaryOp(IRDLOperation):
    """One tensor in, one tensor of the same shape out."""

    input = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(self, value: SSAValue, result_type: Attribute, **properties: Attribute):
        super().__init__(operands=[value], result_types=[result_type], properties=properties)


@irdl_op_definition
class QuantizeOp(UnaryOp):
    """`q = sat(round(x / scale) + zero_point)`, rounding by `round_mode` (default half to even).

    %q = qnn.quantize %x {round_mode = "half_away_from_zero"} : tensor<4xf32> -> tensor<4x!quant.uniform<i8:f32, 0.5>>
    """

    name = "qnn.quantize"
    round_mode = opt_prop_def(StringAttr, StringAttr(RoundMode.HALF_TO_EVEN.value))

    @property
    def round_mode_kind(self) -> RoundMode:
        return enum_value(RoundMode, self.round_mode, "round_mode")

    def verify_(self) -> None:
        enum_value(RoundMode, self.round_mode, "round_mode")
        _same_shape(self.input, self.result)
        if kind_of(self.input) is not Kind.FLOAT or kind_of(self.result) is not Kind.QUANTIZED:
            raise VerifyException("maps a float tensor to a quantized tensor")
        out = check_quantized_operand(self.result, "result")
        verify_quantized_container(out, self.result.type)
        if out.expressed_type != element_type(self.input.type):
            raise VerifyException("expressed type in quantized type expected to match float type")


@irdl_op_definition
class DequantizeOp(UnaryOp):
    """`x = float(q - zero_point) * scale`.

    %x = qnn.dequantize %q : tensor<4x!quant.uniform<i8:f32, 0.5>> -> tensor<4xf32>
    """

    name = "qnn.dequantize"

    def verify_(self) -> None:
        _same_shape(self.input, self.result)
        if kind_of(self.input) is not Kind.QUANTIZED or kind_of(self.result) is not Kind.FLOAT:
            raise VerifyException("maps a quantized tensor to a float tensor")
        elem = check_quantized_operand(self.input, "input")
        if elem.expressed_type != element_type(self.result.type):
            raise VerifyException("expressed type in quantized type expected to match float type")


@irdl_op_definition
class RequantizeOp(UnaryOp):
    """`y = quantize_out(dequantize_in(x))` with DESIGN §2's float32 steps.

    %y = qnn.requantize %x : tensor<4x!quant.uniform<u8:f32, 0.5:128>> -> tensor<4x!quant.uniform<i8:f32, 0.5>>
    """

    name = "qnn.requantize"

    def verify_(self) -> None:
        _same_shape(self.input, self.result)
        if kind_of(self.input) is not Kind.QUANTIZED or kind_of(self.result) is not Kind.QUANTIZED:
            raise VerifyException("maps a quantized tensor to a quantized tensor")
        check_quantized_operand(self.input, "input")
        check_quantized_operand(self.result, "result")
        check_same_expressed([(self.input, "input"), (self.result, "result")])


@irdl_op_definition
class ReluOp(UnaryOp):
    """`y = max(x, 0)`; on quantized data `max(q, zero_point)`. Input and result types match.

    %y = qnn.relu %x : tensor<4x!quant.uniform<i8:f32, 0.5>> -> tensor<4x!quant.uniform<i8:f32, 0.5>>
    """

    name = "qnn.relu"

    def verify_(self) -> None:
        _verify_same_type_unary(self)


@irdl_op_definition
class ClampOp(UnaryOp):
    """`y = min(max(x, min), max)` with real-valued bounds; quantized bounds are `quantize(min)`.
    On float tensors min may equal max (every number becomes max; ONNX's Clip with min above
    max computes that too).

    %y = qnn.clamp %x {min = 0.0 : f32, max = 6.0 : f32} : tensor<4xf32> -> tensor<4xf32>
    """

    name = "qnn.clamp"
    min = prop_def(FloatAttr)
    max = prop_def(FloatAttr)

    def verify_(self) -> None:
        _verify_same_type_unary(self)
        low, high = float_value(self.min), float_value(self.max)
        if kind_of(self.input) is Kind.QUANTIZED and not low < high:  # type: ignore[operator]
            raise VerifyException(f"min ({low}) must be less than max ({high}) on quantized data")
        if low > high:  # type: ignore[operator]
            raise VerifyException(f"min ({low}) must not be above max ({high})")


def _verify_same_type_unary(op: UnaryOp) -> None:
    if op.input.type != op.result.type:
        raise VerifyException("input and result types must be equal")
    kind = kind_of(op.input)
    if kind is Kind.QUANTIZED:
        check_quantized_operand(op.input, "input")
    elif kind is not Kind.FLOAT:
        raise VerifyException("takes a float or quantized tensor")


@irdl_op_definition
class FakeQuantOp(UnaryOp):
    """Quantize and dequantize again, in float: a QAT graph's fake quantization, two forms.

    Typed (`as` a per-tensor or per-axis `!quant.uniform`): exactly
    `dequantize(quantize(x))` as `qnn.quantize` / `qnn.dequantize` compute them, so replacing
    it by that pair (`fake-to-qdq`) changes no bit; what the quantizer's `--fake` form writes.

        %y = qnn.fake_quant %x as !quant.uniform<i8:f32, 0.5> : tensor<4xf32> -> tensor<4xf32>

    nGraph FakeQuantize with `levels` steps: x <= input_low -> output_low;
    x > input_high -> output_high; otherwise
    `rint((x - input_low) / (input_high - input_low) * (levels - 1)) / (levels - 1)
     * (output_high - output_low) + output_low`.

        %y = qnn.fake_quant %x {levels = 256 : i64, input_low = -1.0 : f32, input_high = 1.0 : f32, output_low = -1.0 : f32, output_high = 1.0 : f32} : tensor<4xf32> -> tensor<4xf32>
    """

    name = "qnn.fake_quant"
    quant_type = opt_prop_def(UniformQuantizedType)
    levels = opt_prop_def(IntegerAttr)
    input_low = opt_prop_def(FloatAttr)
    input_high = opt_prop_def(FloatAttr)
    output_low = opt_prop_def(FloatAttr)
    output_high = opt_prop_def(FloatAttr)
    assembly_format = (
        "$input (`as` qualified($quant_type)^)? attr-dict `:` type($input) `->` type($result)"
    )

    def __init__(self, value: SSAValue, quant_type: UniformQuantizedType):
        """The typed form: `value` (a float tensor) through `quant_type`."""
        super().__init__(value, value.type, quant_type=quant_type)

    @property
    def ngraph_bounds(self) -> tuple[FloatAttr, ...]:
        return tuple(
            b  # type: ignore[misc]
            for b in (self.input_low, self.input_high, self.output_low, self.output_high)
        )

    def verify_(self) -> None:
        if self.input.type != self.result.type or kind_of(self.input) is not Kind.FLOAT:
            raise VerifyException("maps a float tensor to the same float type")
        given = [a is not None for a in (self.levels, *self.ngraph_bounds)]
        if self.quant_type is not None:
            if any(given):
                raise VerifyException(
                    "takes a quantized type or nGraph's levels and ranges, not both"
                )
            self._verify_typed(self.quant_type)
        elif not all(given):
            raise VerifyException(
                "needs a quantized type (`as !quant.uniform<...>`) or all of levels, "
                "input_low, input_high, output_low, output_high"
            )
        else:
            self._verify_ngraph()

    def _verify_typed(self, qtype: UniformQuantizedType) -> None:
        assert isinstance(self.input.type, TensorType)
        check_quantized_container(TensorType(qtype, self.input.type.get_shape()), "type")
        if qtype.expressed_type != element_type(self.input.type):
            raise VerifyException("expressed type in quantized type expected to match float type")

    def _verify_ngraph(self) -> None:
        assert self.levels is not None
        if self.levels.value.data < 2:
            raise VerifyException(f"levels must be at least 2, got {self.levels.value.data}")
        bounds = [float_value(b) for b in self.ngraph_bounds]
        if not all(math.isfinite(b) for b in bounds):  # type: ignore[arg-type]
            raise VerifyException(f"range bounds must be finite, got {bounds}")
        if not bounds[0] < bounds[1]:  # type: ignore[operator]
            raise VerifyException("input_low must be less than input_high")


def broadcast_shape(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...] | None:
    """Numpy broadcasting of two static shapes, None if they do not broadcast."""
    out = []
    for x, y in zip((1,) * (len(b) - len(a)) + a, (1,) * (len(a) - len(b)) + b, strict=True):
        if x != y and 1 not in (x, y):
            return None
        out.append(max(x, y) if 0 not in (x, y) else 0)
    return tuple(out)


class BinaryOp(IRDLOperation):
    """Two tensors in (numpy broadcasting), one out: all float or all quantized per tensor.

    `raw_offsets = array<i64: a, b, y>` (quantized only) shifts stored values and zero points
    before the raw-value formula and back after it (see `u8-to-i8`).
    """

    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    result = result_def(TensorType)
    raw_offsets = opt_prop_def(DenseArrayBase)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)"

    def __init__(self, lhs: SSAValue, rhs: SSAValue, result_type: Attribute):
        super().__init__(operands=[lhs, rhs], result_types=[result_type])

    def verify_(self) -> None:
        kinds = {kind_of(v) for v in (self.lhs, self.rhs, self.result)}
        if kinds not in ({Kind.FLOAT}, {Kind.QUANTIZED}):
            raise VerifyException("takes all-float or all-quantized tensors")
        if kinds == {Kind.FLOAT} and len({str(element_type(v.type)) for v in self.operands}) != 1:
            raise VerifyException("float operands must share one element type")
        if kinds == {Kind.FLOAT} and element_type(self.lhs.type) != element_type(self.result.type):
            raise VerifyException("result element type must match the operands'")
        raw_offsets(self.raw_offsets, 3)
        if kinds == {Kind.FLOAT} and self.raw_offsets is not None:
            raise VerifyException("raw_offsets apply to quantized operands only")
        if kinds == {Kind.QUANTIZED}:
            for v, role in ((self.lhs, "lhs"), (self.rhs, "rhs"), (self.result, "result")):
                check_quantized_operand(v, role)
                check_per_tensor(v, role)
            check_same_expressed([(self.lhs, "lhs"), (self.rhs, "rhs"), (self.result, "result")])
        assert isinstance(self.lhs.type, TensorType) and isinstance(self.rhs.type, TensorType)
        shape = broadcast_shape(tuple(self.lhs.type.get_shape()), tuple(self.rhs.type.get_shape()))
        if shape is None:
            raise VerifyException(
                f"operand shapes {list(self.lhs.type.get_shape())} and "
                f"{list(self.rhs.type.get_shape())} do not broadcast"
            )
        assert isinstance(self.result.type, TensorType)
        if tuple(self.result.type.get_shape()) != shape:
            raise VerifyException(
                f"result shape {list(self.result.type.get_shape())} must be the broadcast "
                f"shape {list(shape)}"
            )


@irdl_op_definition
class AddOp(BinaryOp):
    """`y = lhs + rhs` in reals with numpy broadcasting; quantized: ONNX Runtime's QLinearAdd.

    %y = qnn.add %a, %b : tensor<4x!quant.uniform<i8:f32, 0.5>>, tensor<4x!quant.uniform<i8:f32, 0.25:3>> -> tensor<4x!quant.uniform<i8:f32, 1.0>>
    """

    name = "qnn.add"


@irdl_op_definition
class MulOp(BinaryOp):
    """`y = lhs * rhs` in reals with numpy broadcasting; quantized: ONNX Runtime's QLinearMul,
    `y = sat(rint(fl(fl(float((a - za)(b - zb)) * m) + zy)))`, `m = fl(fl(sa*sb)/sy)` (the zero
    point added before rounding, on the raw value: `raw_offsets` matter for y only).

    %y = qnn.mul %a, %b : tensor<4x!quant.uniform<i8:f32, 0.5>>, tensor<4x!quant.uniform<i8:f32, 0.25:3>> -> tensor<4x!quant.uniform<i8:f32, 1.0>>
    """

    name = "qnn.mul"
