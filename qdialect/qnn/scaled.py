"""Scaled builders: ops that carry real-valued min/max ranges instead of scales (nGraph).

Their quantized values have `!quant.any<storage:expressed>` elements: the storage is chosen,
the scale and zero point are not. The `fold-scaled-builders` rewrite computes them from the
ranges with the named `scheme` and replaces each builder by the core op.

    %q = qnn.scaled_quantize %x {min = -1.0 : f32, max = 1.0 : f32, scheme = "symmetric"} : tensor<4xf32> -> tensor<4x!quant.any<i8:f32>>
"""

from __future__ import annotations

import math

from xdsl.dialects.builtin import (
    ArrayAttr,
    FloatAttr,
    IntegerAttr,
    StringAttr,
    TensorType,
    UnitAttr,
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
    var_operand_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from qdialect.qnn.common import Kind, float_value, is_i32, kind_of, ranked_shape
from qdialect.qnn.compute import ComputeOp, ConvProperties, verify_concat_shapes, verify_dot_shapes
from qdialect.qnn.modes import Activation, RoundMode, enum_value
from qdialect.qparams import Scheme
from qdialect.tensors import element_type
from qdialect.types import AnyQuantizedType


def check_range(lo: FloatAttr, hi: FloatAttr, what: str) -> None:
    """A finite, ordered real range. It may exclude 0 (every scheme widens it to include 0),
    but widened it must not be the single point 0, which has no scale."""
    low, high = float_value(lo), float_value(hi)
    assert low is not None and high is not None
    if not (math.isfinite(low) and math.isfinite(high)):
        raise VerifyException(f"{what}: min ({low}) and max ({high}) must be finite")
    if not low <= high:
        raise VerifyException(f"{what}: min ({low}) must not exceed max ({high})")
    if low == high == 0.0:
        raise VerifyException(f"{what}: [0, 0] gives no scale")


def pending(value: SSAValue, role: str) -> AnyQuantizedType:
    """The `!quant.any` element of a scaled builder's quantized operand or result."""
    if kind_of(value) is not Kind.PENDING:
        raise VerifyException(f"{role} must have !quant.any elements, got {value.type}")
    elem = element_type(value.type)
    assert isinstance(elem, AnyQuantizedType)
    if elem.expressed is None:
        raise VerifyException(f"{role} must name its expressed type, got {elem}")
    return elem


class ScaledOp(IRDLOperation):
    scheme = opt_prop_def(StringAttr, StringAttr(Scheme.ASYMMETRIC.value))
    reduce_range = opt_prop_def(UnitAttr)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)

    def verify_scheme(self) -> None:
        enum_value(Scheme, self.scheme, "scheme")


@irdl_op_definition
class ScaledQuantizeOp(ScaledOp):
    """Quantize with parameters chosen from the real range [min, max] by `scheme`.

    %q = qnn.scaled_quantize %x {min = -1.0 : f32, max = 1.0 : f32} : tensor<4xf32> -> tensor<4x!quant.any<i8:f32>>
    """

    name = "qnn.scaled_quantize"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    min = prop_def(FloatAttr)
    max = prop_def(FloatAttr)
    round_mode = opt_prop_def(StringAttr, StringAttr(RoundMode.HALF_TO_EVEN.value))
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    @property
    def round_mode_kind(self) -> RoundMode:
        return enum_value(RoundMode, self.round_mode, "round_mode")

    def verify_(self) -> None:
        self.verify_scheme()
        enum_value(RoundMode, self.round_mode, "round_mode")
        check_range(self.min, self.max, "range")
        if kind_of(self.input) is not Kind.FLOAT:
            raise VerifyException("input must be a float tensor")
        if pending(self.result, "result").expressed != element_type(self.input.type):
            raise VerifyException("expressed type in quantized type expected to match float type")
        if ranked_shape(self.input, "input") != ranked_shape(self.result, "result"):
            raise VerifyException("input and result shapes differ")


@irdl_op_definition
class ScaledDequantizeOp(ScaledOp):
    """Dequantize values whose parameters come from the real range [min, max].

    %x = qnn.scaled_dequantize %q {min = -1.0 : f32, max = 1.0 : f32} : tensor<4x!quant.any<i8:f32>> -> tensor<4xf32>
    """

    name = "qnn.scaled_dequantize"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    min = prop_def(FloatAttr)
    max = prop_def(FloatAttr)
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def verify_(self) -> None:
        self.verify_scheme()
        check_range(self.min, self.max, "range")
        if kind_of(self.result) is not Kind.FLOAT:
            raise VerifyException("result must be a float tensor")
        if pending(self.input, "input").expressed != element_type(self.result.type):
            raise VerifyException("expressed type in quantized type expected to match float type")
        if ranked_shape(self.input, "input") != ranked_shape(self.result, "result"):
            raise VerifyException("input and result shapes differ")


class ScaledComputeOp(ScaledOp, ComputeOp):
    """Ranges and epilogue shared by scaled_conv2d and scaled_dot (nGraph's builders).

    `bias` is float (quantized by the fold with scale input_scale * weight_scale) or i32.
    `addend` (nGraph's sum input, BiasAdd/BiasSignedAdd) needs `addend_min`/`addend_max`.
    An i32 result (requantize = false) takes no output range.
    """

    input_min = prop_def(FloatAttr)
    input_max = prop_def(FloatAttr)
    weight_min = prop_def(FloatAttr)
    weight_max = prop_def(FloatAttr)
    output_min = opt_prop_def(FloatAttr)
    output_max = opt_prop_def(FloatAttr)
    addend_min = opt_prop_def(FloatAttr)
    addend_max = opt_prop_def(FloatAttr)

    def verify_epilogue(self, out_channels: int) -> None:
        self.verify_scheme()
        self.verify_activation()
        check_range(self.input_min, self.input_max, "input range")
        check_range(self.weight_min, self.weight_max, "weight range")
        x, w = self.input, self.weight
        bias, addend = self.bias, self.addend
        expressed = pending(x, "input").expressed
        if pending(w, "weight").expressed != expressed:
            raise VerifyException("input and weight expressed types differ")
        if is_i32(self.result):
            if self.output_min is not None or self.output_max is not None:
                raise VerifyException("an i32 result takes no output range")
            if addend is not None or self.activation_kind is not Activation.NONE:
                raise VerifyException("an i32 result takes no addend and no activation")
        else:
            if pending(self.result, "result").expressed != expressed:
                raise VerifyException("result expressed type differs from the input's")
            if self.output_min is None or self.output_max is None:
                raise VerifyException("a quantized result needs output_min and output_max")
            check_range(self.output_min, self.output_max, "output range")
        if bias is not None:
            if ranked_shape(bias, "bias") != (out_channels,):
                raise VerifyException(f"bias must have shape [{out_channels}], got {bias.type}")
            if not (is_i32(bias) or element_type(bias.type) == expressed):
                raise VerifyException(f"bias must be i32 or {expressed}, got {bias.type}")
        if addend is not None:
            if pending(addend, "addend").expressed != expressed:
                raise VerifyException("addend expressed type differs from the input's")
            if ranked_shape(addend, "addend") != ranked_shape(self.result, "result"):
                raise VerifyException("addend must have the result's shape")
            if self.addend_min is None or self.addend_max is None:
                raise VerifyException("an addend needs addend_min and addend_max")
            check_range(self.addend_min, self.addend_max, "addend range")
        elif self.addend_min is not None or self.addend_max is not None:
            raise VerifyException("addend_min/addend_max need an addend")


@irdl_op_definition
class ScaledConv2DOp(ScaledComputeOp, ConvProperties):
    """nGraph's ScaledQuantizedConvolution{,Bias,BiasAdd,BiasSignedAdd} in one op.

    %y = qnn.scaled_conv2d %x, %w bias(%b : tensor<4xf32>) {input_min = 0.0 : f32, input_max = 1.0 : f32, weight_min = -1.0 : f32, weight_max = 1.0 : f32, output_min = 0.0 : f32, output_max = 4.0 : f32, activation = "relu"} : tensor<1x3x8x8x!quant.any<u8:f32>>, tensor<4x3x3x3x!quant.any<i8:f32>> -> tensor<1x4x6x6x!quant.any<u8:f32>>
    """

    name = "qnn.scaled_conv2d"

    def verify_(self) -> None:
        self.verify_epilogue(self.verify_conv_shapes())


@irdl_op_definition
class ScaledDotOp(ScaledComputeOp):
    """nGraph's ScaledQuantizedDot{,Bias}: `[..., M, K] x [K, N]` with ranges.

    %y = qnn.scaled_dot %a, %b {input_min = -1.0 : f32, input_max = 1.0 : f32, weight_min = -1.0 : f32, weight_max = 1.0 : f32, output_min = -8.0 : f32, output_max = 8.0 : f32} : tensor<2x16x!quant.any<i8:f32>>, tensor<16x4x!quant.any<i8:f32>> -> tensor<2x4x!quant.any<i8:f32>>
    """

    name = "qnn.scaled_dot"

    def verify_(self) -> None:
        self.verify_epilogue(verify_dot_shapes(self))


@irdl_op_definition
class ScaledConcatOp(ScaledOp):
    """nGraph's ScaledQuantizedConcat: each input has its own range; all are requantized to
    the output range [min(input_mins), max(input_maxs)] unless output_min/max are given.

        %y = qnn.scaled_concat %a, %b {axis = 0 : i64, input_mins = [-1.0 : f32, -2.0 : f32], input_maxs = [1.0 : f32, 2.0 : f32]} : (tensor<2x!quant.any<i8:f32>>, tensor<3x!quant.any<i8:f32>>) -> tensor<5x!quant.any<i8:f32>>
    """

    name = "qnn.scaled_concat"
    inputs = var_operand_def(TensorType)
    result = result_def(TensorType)
    axis = prop_def(IntegerAttr)
    input_mins = prop_def(ArrayAttr[FloatAttr])
    input_maxs = prop_def(ArrayAttr[FloatAttr])
    output_min = opt_prop_def(FloatAttr)
    output_max = opt_prop_def(FloatAttr)
    assembly_format = "$inputs attr-dict `:` functional-type($inputs, $result)"

    def verify_(self) -> None:
        self.verify_scheme()
        n = len(self.inputs)
        if n == 0:
            raise VerifyException("needs at least one input")
        if len(self.input_mins.data) != n or len(self.input_maxs.data) != n:
            raise VerifyException(f"input_mins and input_maxs need one entry per input ({n})")
        for i, (lo, hi) in enumerate(zip(self.input_mins.data, self.input_maxs.data, strict=True)):
            check_range(lo, hi, f"input #{i} range")
        if (self.output_min is None) != (self.output_max is None):
            raise VerifyException("give both output_min and output_max, or neither")
        if self.output_min is not None:
            check_range(self.output_min, self.output_max, "output range")  # type: ignore[arg-type]
        expressed = pending(self.result, "result").expressed
        for i, v in enumerate(self.inputs):
            if pending(v, f"input #{i}").expressed != expressed:
                raise VerifyException(f"input #{i} expressed type differs from the result's")
        verify_concat_shapes(self.inputs, self.result, self.axis.value.data)
