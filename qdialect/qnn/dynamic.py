"""Dynamic quantization: parameters chosen at run time (ONNX DynamicQuantizeLinear), and the
integer dot / conv that consume them and produce float (ONNX Runtime's MatMulIntegerToFloat).

The activation's scale and zero point depend on the data, so no `!quant.uniform` type can hold
them: `qnn.dynamic_quantize` returns them as values (`tensor<f32>`, `tensor<ui8>`) next to the
raw `ui8` data, and `qnn.dynamic_dot` / `qnn.dynamic_conv2d` take all three plus a weight whose
(constant) parameters are in its type. The arithmetic is DESIGN §2's "dynamic quantize":
`qdialect.arithmetic.dynamic_qparams` for the parameters, `float32(acc) * fl(sa * sw[c])`
(then `+ bias[c]`, a second rounding) for the result.
"""

from __future__ import annotations

from xdsl.dialects.builtin import (
    DenseArrayBase,
    Float32Type,
    IntegerAttr,
    IntegerType,
    Signedness,
    StringAttr,
    TensorType,
    i64,
)
from xdsl.ir import SSAValue
from xdsl.irdl import (
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from qdialect.qnn.common import (
    Kind,
    check_quantized_operand,
    int_array,
    kind_of,
    ranked_shape,
)
from qdialect.qnn.compute import ConvProperties, verify_dot_shapes
from qdialect.qnn.modes import Layout
from qdialect.tensors import element_type
from qdialect.types import Granularity


def is_u8(value: SSAValue) -> bool:
    elem = element_type(value.type)
    return (
        isinstance(elem, IntegerType)
        and elem.width.data == 8
        and elem.signedness.data is Signedness.UNSIGNED
    )


def _check_f32(value: SSAValue, role: str) -> None:
    if not isinstance(element_type(value.type), Float32Type):
        raise VerifyException(f"{role} must be a float32 tensor, got {value.type}")


def _check_scalar(value: SSAValue, role: str, u8: bool) -> None:
    ranked_shape(value, role, 0)
    if u8 and not is_u8(value):
        raise VerifyException(f"{role} must be tensor<ui8>, got {value.type}")
    if not u8:
        _check_f32(value, role)


@irdl_op_definition
class DynamicQuantizeOp(IRDLOperation):
    """u8 data, scale and zero point of a float32 tensor, chosen from its own range (ONNX
    DynamicQuantizeLinear as ONNX Runtime's CPU kernel computes it; NaN is left out of the
    range): `lo = min(0, min x)`, `hi = max(0, max x)`, `s = fl(fl(hi - lo) / 255)` (1 when
    `hi == lo`), `zp = rint(clamp(-fl(lo / s), 0, 255))`, `q = quantize(x, s, zp)`.

        %q, %s, %z = qnn.dynamic_quantize %x : tensor<4x16xf32> -> tensor<4x16xui8>, tensor<f32>, tensor<ui8>
    """

    name = "qnn.dynamic_quantize"
    input = operand_def(TensorType)
    data = result_def(TensorType)
    scale = result_def(TensorType)
    zero_point = result_def(TensorType)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = (
        "$input attr-dict `:` type($input) `->` type($data) `,` type($scale) `,` type($zero_point)"
    )

    def __init__(self, x: SSAValue) -> None:
        shape = ranked_shape(x, "input")
        super().__init__(
            operands=[x],
            result_types=[
                TensorType(IntegerType(8, Signedness.UNSIGNED), shape),
                TensorType(Float32Type(), []),
                TensorType(IntegerType(8, Signedness.UNSIGNED), []),
            ],
        )

    def verify_(self) -> None:
        _check_f32(self.input, "input")
        if ranked_shape(self.data, "data") != ranked_shape(self.input, "input"):
            raise VerifyException("data must have the input's shape")
        if not is_u8(self.data):
            raise VerifyException(f"data must be a ui8 tensor, got {self.data.type}")
        _check_scalar(self.scale, "scale", u8=False)
        _check_scalar(self.zero_point, "zero point", u8=True)


class RuntimeParamsOp(IRDLOperation):
    """An op of one tensor and its run-time per-tensor scale (f32) and zero point (integer),
    as 0-d tensors: `qnn.runtime_quantize`, `qnn.runtime_dequantize`."""

    input = operand_def(TensorType)
    scale = operand_def(TensorType)
    zero_point = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = (
        "$input `,` $scale `,` $zero_point attr-dict `:` type($input) `,` type($scale) `,` "
        "type($zero_point) `->` type($result)"
    )


@irdl_op_definition
class RuntimeQuantizeOp(RuntimeParamsOp):
    """`qnn.quantize` with its scale and zero point as run-time values (ONNX QuantizeLinear
    whose parameters the graph computes): `q = sat(rint(fl(x / s)) + zp)`, clamped in float
    first, NaN to qmin (DESIGN §2's quantize), stored as the zero point's integer type.

        %q = qnn.runtime_quantize %x, %s, %z : tensor<6xf32>, tensor<f32>, tensor<ui8> -> tensor<6xui8>
    """

    name = "qnn.runtime_quantize"

    def __init__(self, x: SSAValue, scale: SSAValue, zero_point: SSAValue) -> None:
        result = TensorType(element_type(zero_point.type), ranked_shape(x, "input"))
        super().__init__(operands=[x, scale, zero_point], result_types=[result])

    def verify_(self) -> None:
        _check_f32(self.input, "input")
        _check_scalar(self.scale, "scale", u8=False)
        ranked_shape(self.zero_point, "zero point", 0)
        elem = element_type(self.zero_point.type)
        if not isinstance(elem, IntegerType) or elem.width.data not in (8, 16, 32):
            raise VerifyException(f"zero point must be an 8-, 16- or 32-bit integer, got {elem}")
        if self.result.type != TensorType(elem, ranked_shape(self.input, "input")):
            raise VerifyException("result must have the input's shape and the zero point's type")


@irdl_op_definition
class RuntimeDequantizeOp(RuntimeParamsOp):
    """`qnn.dequantize` with its scale and zero point as run-time values (ONNX
    DequantizeLinear whose parameters a DynamicQuantizeLinear computes, as ONNX Runtime's
    `quantize_dynamic` writes after a Transpose of the uint8 data):
    `y = fl(float32(int32(q) - int32(zp)) * s)`, ONNX Runtime's DequantizeLinear.

        %y = qnn.runtime_dequantize %q, %s, %z : tensor<6xui8>, tensor<f32>, tensor<ui8> -> tensor<6xf32>
    """

    name = "qnn.runtime_dequantize"

    def __init__(self, q: SSAValue, scale: SSAValue, zero_point: SSAValue) -> None:
        result = TensorType(Float32Type(), ranked_shape(q, "input"))
        super().__init__(operands=[q, scale, zero_point], result_types=[result])

    def verify_(self) -> None:
        _check_scalar(self.scale, "scale", u8=False)
        ranked_shape(self.zero_point, "zero point", 0)
        elem = element_type(self.zero_point.type)
        if not isinstance(elem, IntegerType) or elem.width.data not in (8, 16):
            raise VerifyException(f"zero point must be an 8- or 16-bit integer, got {elem}")
        if element_type(self.input.type) != elem:
            raise VerifyException(
                f"input must have the zero point's element type {elem}, got {self.input.type}"
            )
        if self.result.type != TensorType(Float32Type(), ranked_shape(self.input, "input")):
            raise VerifyException("result must be a float32 tensor of the input's shape")


class DynamicComputeOp(IRDLOperation):
    """The shared operands of dynamic_dot and dynamic_conv2d: u8 `input` with its run-time
    `input_scale` / `input_zero_point`, a quantized 8-bit `weight`, an optional float32 `bias`
    (one per output channel); a float32 result
    `y = fl(fl(float32(acc) * fl(sa * sw[c])) + bias[c])`, `acc = Σ (x - za)(w - zw[c])`."""

    input = operand_def(TensorType)
    input_scale = operand_def(TensorType)
    input_zero_point = operand_def(TensorType)
    weight = operand_def(TensorType)
    bias = opt_operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = (
        "$input `,` $input_scale `,` $input_zero_point `,` $weight "
        "(`bias` `(` $bias^ `:` type($bias) `)`)? attr-dict `:` type($input) `,` "
        "type($input_scale) `,` type($input_zero_point) `,` type($weight) `->` type($result)"
    )

    def verify_operands(self, channels: int, axis: int, role: str) -> None:
        if not is_u8(self.input):
            raise VerifyException(f"input must be a ui8 tensor, got {self.input.type}")
        _check_scalar(self.input_scale, "input scale", u8=False)
        _check_scalar(self.input_zero_point, "input zero point", u8=True)
        if kind_of(self.weight) is not Kind.QUANTIZED:
            raise VerifyException(f"weight must be quantized, got {self.weight.type}")
        wq = check_quantized_operand(self.weight, "weight")
        if wq.storage_width != 8 or not isinstance(wq.expressed_type, Float32Type):
            raise VerifyException(f"weight must be 8-bit quantized f32, got {wq}")
        if wq.granularity is Granularity.PER_AXIS and wq.axis != axis:
            raise VerifyException(f"per-axis weight must be quantized along the {role} ({axis})")
        _check_f32(self.result, "result")
        if self.bias is not None:
            _check_f32(self.bias, "bias")
            if ranked_shape(self.bias, "bias") != (channels,):
                raise VerifyException(f"bias must have shape [{channels}] (the {role})")


@irdl_op_definition
class DynamicDotOp(DynamicComputeOp):
    """`[..., M, K] x [K, N]` of dynamically quantized data and a quantized weight, in float
    (ONNX Runtime's MatMulIntegerToFloat / DynamicQuantizeMatMul).

        %y = qnn.dynamic_dot %q, %s, %z, %w : tensor<4x16xui8>, tensor<f32>, tensor<ui8>, tensor<16x8x!quant.uniform<i8:f32, 0.01>> -> tensor<4x8xf32>
    """

    name = "qnn.dynamic_dot"

    def verify_(self) -> None:
        self.verify_operands(verify_dot_shapes(self), 1, "output column")


@irdl_op_definition
class DynamicConv2DOp(DynamicComputeOp):
    """2-D convolution of dynamically quantized data (ONNX ConvInteger with its Cast/Mul
    chain); windows as `qnn.conv2d`'s, padded taps are real 0 (the run-time zero point).

        %y = qnn.dynamic_conv2d %q, %s, %z, %w {pads = array<i64: 1, 1, 1, 1>} : tensor<1x3x8x8xui8>, tensor<f32>, tensor<ui8>, tensor<4x3x3x3x!quant.uniform<u8:f32, 0.02:128>> -> tensor<1x4x8x8xf32>
    """

    name = "qnn.dynamic_conv2d"
    strides = opt_prop_def(DenseArrayBase, int_array([1, 1]))
    pads = opt_prop_def(DenseArrayBase, int_array([0, 0, 0, 0]))
    dilations = opt_prop_def(DenseArrayBase, int_array([1, 1]))
    groups = opt_prop_def(IntegerAttr, IntegerAttr(1, i64))
    layout = opt_prop_def(StringAttr, StringAttr(Layout.NCHW.value))

    layout_kind = ConvProperties.layout_kind

    def verify_(self) -> None:
        channels = ConvProperties.verify_conv_shapes(self)  # type: ignore[arg-type]
        self.verify_operands(channels, 0, "output channel")
