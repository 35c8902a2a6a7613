"""The upstream `quant` dialect: its three cast ops and the `Quant` dialect object.

Assembly formats and verification follow llvm-project's `QuantOps.td` / `QuantOps.cpp`:

    %q = quant.qcast %x : tensor<4xf32> to tensor<4x!quant.uniform<i8:f32, 0.5>>
    %x = quant.dcast %q : tensor<4x!quant.uniform<i8:f32, 0.5>> to tensor<4xf32>
    %i = quant.scast %q : tensor<4x!quant.uniform<i8:f32, 0.5>> to tensor<4xi8>
"""

from __future__ import annotations

from xdsl.dialects.builtin import IntegerType, Signedness, TensorType, UnrankedTensorType
from xdsl.ir import Attribute, Dialect, Operation, SSAValue
from xdsl.irdl import IRDLOperation, irdl_op_definition, operand_def, result_def, traits_def
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from qdialect.float_types import is_float_type
from qdialect.tensors import element_type, is_dynamic
from qdialect.types import (
    AnyQuantizedType,
    CalibratedQuantizedType,
    Granularity,
    QuantizedType,
    UniformQuantizedType,
)


def verify_quantized_container(
    quantized: QuantizedType | CalibratedQuantizedType, container: Attribute
) -> None:
    """Per-axis and sub-channel parameters must fit the tensor that holds them.

    Upstream's `verifyPerAxisQuantization` / `verifySubChannelQuantization`, same messages.
    """
    if not isinstance(quantized, UniformQuantizedType):  # any/calibrated carry no parameters
        return
    granularity = quantized.granularity
    if granularity is Granularity.PER_TENSOR:
        return
    kind = "per-axis" if granularity is Granularity.PER_AXIS else "sub-channel"
    if not isinstance(container, TensorType | UnrankedTensorType):
        raise VerifyException(f"scalar types may not use {kind} quantization")
    if isinstance(container, UnrankedTensorType):
        if granularity is Granularity.SUB_CHANNEL:
            raise VerifyException("tensor containing the sub-channel quantized type must be ranked")
        return
    shape = container.get_shape()
    if granularity is Granularity.PER_AXIS:
        axis = quantized.axis
        if axis >= len(shape):
            raise VerifyException("quantized dimension must be less than tensor rank")
        if not is_dynamic(shape[axis]) and shape[axis] != len(quantized.scales):
            raise VerifyException("quantized dimension size does not match number of scales")
        return
    expected: list[int | None] = [1] * len(shape)
    for dim, block in quantized.block_size_info:
        if dim >= len(shape):
            raise VerifyException(
                f"quantized dimension {dim} must be less than tensor rank {len(shape)}"
            )
        if is_dynamic(shape[dim]):
            expected[dim] = None
            continue
        if shape[dim] % block:
            raise VerifyException(
                f"tensor dimension size {shape[dim]} at axis {dim} must be divisible by the "
                f"corresponding block size {block}"
            )
        expected[dim] = shape[dim] // block
    if 0 in shape:
        raise VerifyException(
            "tensor dimension size of zero is not allowed with sub-channel quantization"
        )
    params = quantized.shape_of_params
    if len(params) != len(shape):
        raise VerifyException(
            f"Rank of scales {len(params)} must match the rank of the tensor {len(shape)}"
        )
    for index, (want, have) in enumerate(zip(expected, params, strict=True)):
        if want is not None and want != have:
            # upstream's text, which names the expected size in both places (mlir-opt 22)
            raise VerifyException(
                f"dimension size {want} of scales tensor at axis {index} should match "
                f"(tensor dimension at axis / block sizes at axis) = {want}"
            )


_SHAPE_MISMATCH = "input and result are both scalars or both tensors with matching shape"


def _verify_same_shape(a: Attribute, b: Attribute) -> None:
    """Both scalars, or both tensors of identical shape (upstream's cast-op rule)."""
    tensors = (TensorType, UnrankedTensorType)
    if isinstance(a, tensors) != isinstance(b, tensors):
        raise VerifyException(_SHAPE_MISMATCH)
    if isinstance(a, UnrankedTensorType) != isinstance(b, UnrankedTensorType):
        raise VerifyException(_SHAPE_MISMATCH)
    if isinstance(a, TensorType) and a.get_shape() != b.get_shape():  # type: ignore[union-attr]
        raise VerifyException(_SHAPE_MISMATCH)


class _CastOp(IRDLOperation):
    input = operand_def()
    result = result_def()
    traits = traits_def(Pure())
    assembly_format = "$input attr-dict `:` type($input) `to` type($result)"

    def __init__(self, value: Operation | object, result_type: Attribute):
        super().__init__(operands=[value], result_types=[result_type])


def _quantized_of(op: Operation, container: Attribute, role: str) -> QuantizedType:
    """The element of a qcast/dcast's quantized side; upstream admits every quant type."""
    elem = element_type(container)
    if not isinstance(elem, UniformQuantizedType | AnyQuantizedType | CalibratedQuantizedType):
        raise VerifyException(
            f"'{op.name}' op {role} must be scalar or tensor of quantized type, but got {container}"
        )
    return elem  # type: ignore[return-value]


def _float_of(op: Operation, container: Attribute, role: str) -> Attribute:
    elem = element_type(container)
    if not is_float_type(elem):
        raise VerifyException(
            f"'{op.name}' op {role} must be scalar or tensor of floating-point, but got {container}"
        )
    return elem


def _verify_quantization(
    quantized: QuantizedType | CalibratedQuantizedType, float_type: Attribute, container: Attribute
) -> None:
    if quantized.expressed != float_type:
        raise VerifyException("expressed type in quantized type expected to match float type")
    verify_quantized_container(quantized, container)


@irdl_op_definition
class QuantizeCastOp(_CastOp):
    """Float to quantized: `q = clamp(rint(x / scale) + zero_point)` (DESIGN §2 quantize).

    %q = quant.qcast %x : tensor<4xf32> to tensor<4x!quant.uniform<i8:f32, 0.5>>
    """

    name = "quant.qcast"

    def verify_(self) -> None:
        float_type = _float_of(self, self.input.type, "operand #0")
        quantized = _quantized_of(self, self.result.type, "result #0")
        _verify_same_shape(self.input.type, self.result.type)
        _verify_quantization(quantized, float_type, self.input.type)


@irdl_op_definition
class DequantizeCastOp(_CastOp):
    """Quantized to float: `x = float(q - zero_point) * scale`.

    %x = quant.dcast %q : tensor<4x!quant.uniform<i8:f32, 0.5>> to tensor<4xf32>
    """

    name = "quant.dcast"

    def verify_(self) -> None:
        quantized = _quantized_of(self, self.input.type, "operand #0")
        float_type = _float_of(self, self.result.type, "result #0")
        _verify_same_shape(self.input.type, self.result.type)
        _verify_quantization(quantized, float_type, self.input.type)


@irdl_op_definition
class StorageCastOp(_CastOp):
    """Reinterpret between a quantized type and its storage integers; no value changes.

    %i = quant.scast %q : tensor<4x!quant.uniform<i8:f32, 0.5>> to tensor<4xi8>
    """

    name = "quant.scast"

    def verify_(self) -> None:
        in_elem = element_type(self.input.type)
        out_elem = element_type(self.result.type)
        for role, elem, container in (
            ("operand #0", in_elem, self.input.type),
            ("result #0", out_elem, self.result.type),
        ):
            signless = isinstance(elem, IntegerType) and elem.signedness.data is Signedness.SIGNLESS
            if not (signless or isinstance(elem, UniformQuantizedType | AnyQuantizedType)):
                raise VerifyException(
                    f"'{self.name}' op {role} must be scalar or tensor of signless integer or "
                    f"quantized type, but got {container}"
                )
        _verify_same_shape(self.input.type, self.result.type)
        if isinstance(in_elem, IntegerType) == isinstance(out_elem, IntegerType):
            raise VerifyException(
                "input must be integer and result must be quantized, or vice versa"
            )
        quantized, integer = (
            (out_elem, in_elem) if isinstance(in_elem, IntegerType) else (in_elem, out_elem)
        )
        if quantized.storage_type != integer:  # type: ignore[union-attr]
            raise VerifyException("storage type in quantized type expected to match integer type")
        verify_quantized_container(quantized, self.input.type)  # type: ignore[arg-type]


def reinterpret(value: SSAValue, target: Attribute) -> list[Operation]:
    """scast `value` to its storage integers and on to `target`: same bits, new meaning.

    nGraph semantics and ONNX graphs (two nodes reading one stored tensor with different
    parameters) both need it; pairs that cancel are removed by `FoldInverseStorageCasts`.
    """
    elem = element_type(value.type)
    shape = value.type.get_shape()  # type: ignore[union-attr]
    to_int = StorageCastOp(value, TensorType(elem.storage_type, shape))  # type: ignore[union-attr]
    return [to_int, StorageCastOp(to_int.result, target)]


Quant = Dialect(
    "quant",
    [QuantizeCastOp, DequantizeCastOp, StorageCastOp],
    [UniformQuantizedType, AnyQuantizedType, CalibratedQuantizedType],
)
