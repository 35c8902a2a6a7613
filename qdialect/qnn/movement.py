"""Data-movement `qnn` ops: transpose, pad, slice and gather.

They move stored values without arithmetic, so a quantized tensor keeps its type (a per-axis
type's axis follows the permutation). Reshapes use upstream's `tensor.reshape`, which already
accepts quantized element types; these two have no upstream `tensor` counterpart that could
carry a quantized pad value or a permutation (and upstream's `tensor.extract_slice` takes no
negative strides, which ONNX Slice has).
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import (
    DenseArrayBase,
    FloatAttr,
    IntegerAttr,
    StringAttr,
    TensorType,
    f64,
)
from xdsl.ir import Attribute
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

from qdialect.names import tensor_name
from qdialect.qnn.common import Kind, check_per_tensor, kind_of, ranked_shape
from qdialect.qnn.modes import PadMode, enum_value
from qdialect.storage import integer_signature
from qdialect.tensors import element_type
from qdialect.types import Granularity, UniformQuantizedType


def with_axis(elem: UniformQuantizedType, axis: int) -> UniformQuantizedType:
    """A per-axis type's parameters along another dimension."""
    return UniformQuantizedType.per_axis(
        f"{'i' if elem.signed else 'u'}{elem.storage_width}",
        elem.expressed_type,
        axis,
        elem.scales,
        elem.zero_points,
        qmin=elem.qmin,
        qmax=elem.qmax,
    )


def permuted_element(elem: Attribute, permutation: tuple[int, ...]) -> Attribute:
    """`elem` after a transpose: a per-axis type's axis moves with its dimension."""
    if isinstance(elem, UniformQuantizedType) and elem.granularity is Granularity.PER_AXIS:
        return with_axis(elem, permutation.index(elem.axis))
    return elem


def reshaped_axis(old: Sequence[int], new: Sequence[int], axis: int) -> int | None:
    """Where dimension `axis` of shape `old` lies in shape `new`, when the reshape only
    inserts or drops dimensions of size 1 (a 1-D conv's weight read as 2-D); else None."""
    if old[axis] == 1:
        return None
    kept = [i for i, d in enumerate(old) if d != 1]
    placed = [i for i, d in enumerate(new) if d != 1]
    if [old[i] for i in kept] != [new[i] for i in placed]:
        return None
    return placed[kept.index(axis)]


def _check_movable(elem: Attribute, value_kind: Kind) -> None:
    if value_kind is Kind.PENDING:
        raise VerifyException("moves float, integer or quantized tensors, not `!quant.any`")
    if isinstance(elem, UniformQuantizedType) and elem.granularity is Granularity.SUB_CHANNEL:
        raise VerifyException("sub-channel quantized tensors are not moved")


@irdl_op_definition
class TransposeOp(IRDLOperation):
    """`y[i_0, …] = x[i_perm⁻¹…]`: result dimension d is input dimension `permutation[d]`.

    %y = qnn.transpose %x {permutation = array<i64: 0, 2, 3, 1>} : tensor<1x3x4x5x!quant.uniform<u8:f32, 0.1:128>> -> tensor<1x4x5x3x!quant.uniform<u8:f32, 0.1:128>>
    """

    name = "qnn.transpose"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    permutation = prop_def(DenseArrayBase)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def verify_(self) -> None:
        x = ranked_shape(self.input, "input")
        y = ranked_shape(self.result, "result", len(x))
        perm = tuple(self.permutation.get_values())
        if sorted(perm) != list(range(len(x))):
            raise VerifyException(
                f"permutation {list(perm)} is not a permutation of 0..{len(x) - 1}"
            )
        elem = element_type(self.input.type)
        _check_movable(elem, kind_of(self.input))
        expected = tuple(x[p] for p in perm)
        if y != expected:
            raise VerifyException(f"result shape must be {list(expected)}, got {list(y)}")
        want = permuted_element(elem, perm)
        if element_type(self.result.type) != want:
            raise VerifyException(f"result element type must be {want}")


@irdl_op_definition
class PadOp(IRDLOperation):
    """Pad each dimension by `low[d]` before and `high[d]` after (ONNX Pad, non-negative pads).

    `constant` fills with the real `value` (quantized per DESIGN §2 for a quantized tensor);
    `edge` repeats the border element; `reflect` mirrors without repeating it; `wrap` takes the
    elements from the other end (index modulo the size).

        %y = qnn.pad %x {low = array<i64: 0, 0, 1, 1>, high = array<i64: 0, 0, 1, 1>} : tensor<1x2x3x3xf32> -> tensor<1x2x5x5xf32>
    """

    name = "qnn.pad"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    low = prop_def(DenseArrayBase)
    high = prop_def(DenseArrayBase)
    mode = opt_prop_def(StringAttr, StringAttr(PadMode.CONSTANT.value))
    value = opt_prop_def(FloatAttr, FloatAttr(0.0, f64))
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    @property
    def mode_kind(self) -> PadMode:
        return enum_value(PadMode, self.mode, "mode")

    def verify_(self) -> None:
        x = ranked_shape(self.input, "input")
        y = ranked_shape(self.result, "result", len(x))
        low, high = tuple(self.low.get_values()), tuple(self.high.get_values())
        if len(low) != len(x) or len(high) != len(x):
            raise VerifyException(f"low and high need {len(x)} entries (the rank)")
        if any(p < 0 for p in low + high):
            raise VerifyException("pads must be non-negative")
        mode = self.mode_kind
        if mode is not PadMode.CONSTANT and any(
            p and not d for p, d in zip(low + high, x + x, strict=True)
        ):
            raise VerifyException(f"'{mode.value}' padding of an empty dimension")
        if mode is PadMode.REFLECT and any(
            p >= d for p, d in zip(low + high, x + x, strict=True) if p
        ):
            raise VerifyException("'reflect' pads must be smaller than the dimension")
        elem = element_type(self.input.type)
        _check_movable(elem, kind_of(self.input))
        if element_type(self.result.type) != elem:
            raise VerifyException("input and result element types must be equal")
        if kind_of(self.input) is Kind.QUANTIZED and mode is PadMode.CONSTANT:
            check_per_tensor(self.input, "input")
        expected = tuple(d + lo + hi for d, lo, hi in zip(x, low, high, strict=True))
        if y != expected:
            raise VerifyException(f"result shape must be {list(expected)}, got {list(y)}")


@irdl_op_definition
class SliceOp(IRDLOperation):
    """`y[o_0, …] = x[starts[0] + o_0·steps[0], …]` (ONNX Slice and Split on a run-time tensor,
    with the ends already resolved into the result shape). A step may be negative (reversed);
    every index read lies inside `x`. A per-axis quantized tensor keeps its type only where its
    axis is taken whole.

        %y = qnn.slice %x {starts = array<i64: 0, 2>, steps = array<i64: 1, 1>} : tensor<4x6xf32> -> tensor<4x3xf32>
    """

    name = "qnn.slice"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    starts = prop_def(DenseArrayBase)
    steps = prop_def(DenseArrayBase)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def verify_(self) -> None:
        x = ranked_shape(self.input, "input")
        y = ranked_shape(self.result, "result", len(x))
        starts, steps = tuple(self.starts.get_values()), tuple(self.steps.get_values())
        if len(starts) != len(x) or len(steps) != len(x):
            raise VerifyException(f"starts and steps need {len(x)} entries (the rank)")
        for d, (size, count, start, step) in enumerate(zip(x, y, starts, steps, strict=True)):
            if step == 0:
                raise VerifyException(f"dimension {d}: step 0")
            last = start + (count - 1) * step
            if count and not (0 <= start < size and 0 <= last < size):
                raise VerifyException(
                    f"dimension {d}: {count} elements from {start} by {step} leave [0, {size})"
                )
        elem = element_type(self.input.type)
        _check_movable(elem, kind_of(self.input))
        if element_type(self.result.type) != elem:
            raise VerifyException("input and result element types must be equal")
        if (
            isinstance(elem, UniformQuantizedType)
            and elem.granularity is Granularity.PER_AXIS
            and (starts[elem.axis], steps[elem.axis], y[elem.axis]) != (0, 1, x[elem.axis])
        ):
            raise VerifyException(f"slices the quantized axis {elem.axis} of {elem}")


GATHER_INDEX_WIDTHS = (32, 64)  # ONNX Gather's indices: tensor(int32) or tensor(int64)


def gathered_shape(data: tuple[int, ...], indices: tuple[int, ...], axis: int) -> tuple[int, ...]:
    """ONNX Gather's result shape: the indices' shape in place of dimension `axis`."""
    return (*data[:axis], *indices, *data[axis + 1 :])


def gather_out_of_range(op: GatherOp, index: int | None = None) -> str:
    """The run-time error of an index outside `[-n, n)`, in ONNX Runtime's words, naming
    the gathered tensor (an ONNX node's output) when it has a name."""
    axis = op.axis_value
    size = ranked_shape(op.data, "data")[axis]
    which = "an index" if index is None else f"index {index}"
    name = tensor_name(op.result)
    return (
        f"{f'{name!r}: ' if name else ''}indices element out of data bounds: {which} is "
        f"outside [{-size}, {size - 1}], the {size} entries of axis {axis}"
    )


@irdl_op_definition
class GatherOp(IRDLOperation):
    """ONNX Gather at run-time indices (an embedding lookup): `y[a…, i…, b…] =
    data[a…, indices[i…], b…]` along `axis`, a negative index counting from the end. An index
    outside `[-n, n)` (n = `data`'s size along `axis`) is an error at run time, as in ONNX
    Runtime ("indices element out of data bounds"): the reference raises it and the compiled
    kernel returns it before writing anything. Gathering at constant indices is imported as
    slices instead (qdialect/onnx_import/movement.py). Per-tensor quantized data keeps its type.

        %y = qnn.gather %table, %ids {axis = 0 : i64} : tensor<100x16xf32>, tensor<1x8xi64> -> tensor<1x8x16xf32>
    """

    name = "qnn.gather"
    data = operand_def(TensorType)
    indices = operand_def(TensorType)
    result = result_def(TensorType)
    axis = prop_def(IntegerAttr)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = (
        "$data `,` $indices attr-dict `:` type($data) `,` type($indices) `->` type($result)"
    )

    @property
    def axis_value(self) -> int:
        return self.axis.value.data

    def verify_(self) -> None:
        x = ranked_shape(self.data, "data")
        indices = ranked_shape(self.indices, "indices")
        axis = self.axis_value
        if not 0 <= axis < len(x):
            raise VerifyException(f"axis {axis} is not a dimension of the rank-{len(x)} data")
        if x[axis] == 0:
            raise VerifyException(f"axis {axis} of the data is empty; there is nothing to gather")
        signature = integer_signature(element_type(self.indices.type))
        if signature is None or signature[0] not in GATHER_INDEX_WIDTHS or not signature[1]:
            raise VerifyException(
                f"indices must be i32 or i64, got {element_type(self.indices.type)}"
            )
        expected = gathered_shape(x, indices, axis)
        y = ranked_shape(self.result, "result")
        if y != expected:
            raise VerifyException(f"result shape must be {list(expected)}, got {list(y)}")
        elem = element_type(self.data.type)
        _check_movable(elem, kind_of(self.data))
        if (
            isinstance(elem, UniformQuantizedType)
            and elem.granularity is not Granularity.PER_TENSOR
        ):
            raise VerifyException(f"gathers per-tensor quantized data only, got {elem}")
        if element_type(self.result.type) != elem:
            raise VerifyException("data and result element types must be equal")
