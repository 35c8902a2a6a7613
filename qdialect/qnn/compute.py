"""Compute `qnn` ops: conv2d, dot, concat, max_pool2d, avg_pool2d.

conv2d and dot carry the fused forms (DESIGN §1): an optional int32 `bias` on the accumulator,
an optional quantized `addend` (the residual) added after the conv result is requantized to
the recorded `intermediate` type, and an `activation`. They and their scaled builders share
one base, `ComputeOp`, so every member's operands are `input`, `weight`, `bias`, `addend`.
"""

from __future__ import annotations

import math
from dataclasses import replace

from xdsl.dialects.builtin import (
    BoolAttr,
    DenseArrayBase,
    FloatAttr,
    IntegerAttr,
    StringAttr,
    TensorType,
    TypeAttribute,
    UnitAttr,
    i64,
)
from xdsl.ir import SSAValue
from xdsl.irdl import (
    AttrSizedOperandSegments,
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from qdialect.float_sum import SumKind, SumOrder, conv_sum_order, dot_sum_order
from qdialect.host_cpu import nchwc_conv_channels
from qdialect.qnn.common import (
    Kind,
    array_values,
    check_per_tensor,
    check_quantized_operand,
    check_same_expressed,
    check_window,
    check_zero_points,
    int_array,
    is_i32,
    kind_of,
    quantized_element,
    ranked_shape,
    raw_offsets,
    window_output_size,
)
from qdialect.qnn.modes import Activation, Layout, RequantMode, enum_value
from qdialect.tensors import element_type
from qdialect.types import Granularity, UniformQuantizedType

_DEFAULT_PAIR = int_array([1, 1])
_DEFAULT_PADS = int_array([0, 0, 0, 0])


class ComputeOp(IRDLOperation):
    """The fused compute family: conv2d, dot and their scaled builders.

    Operands `input`, `weight`, an optional `bias` and an optional `addend` (the residual),
    one result, and the fused `activation` (`none`, `relu`, or `clamp` with real bounds).
    """

    input = operand_def(TensorType)
    weight = operand_def(TensorType)
    bias = opt_operand_def(TensorType)
    addend = opt_operand_def(TensorType)
    result = result_def(TensorType)
    activation = opt_prop_def(StringAttr, StringAttr(Activation.NONE.value))
    clamp_min = opt_prop_def(FloatAttr)
    clamp_max = opt_prop_def(FloatAttr)
    irdl_options = (AttrSizedOperandSegments(as_property=True), ParsePropInAttrDict())
    assembly_format = (
        "$input `,` $weight (`bias` `(` $bias^ `:` type($bias) `)`)? "
        "(`addend` `(` $addend^ `:` type($addend) `)`)? attr-dict "
        "`:` type($input) `,` type($weight) `->` type($result)"
    )

    @property
    def activation_kind(self) -> Activation:
        return enum_value(Activation, self.activation, "activation")

    def verify_activation(self) -> None:
        """`clamp` needs real-valued bounds with min < max; other activations take none."""
        lo, hi = self.clamp_min, self.clamp_max
        if self.activation_kind is Activation.CLAMP:
            if lo is None or hi is None:
                raise VerifyException("activation 'clamp' needs clamp_min and clamp_max")
            if not lo.value.data < hi.value.data:
                raise VerifyException(
                    f"clamp_min ({lo.value.data}) must be less than clamp_max ({hi.value.data})"
                )
        elif lo is not None or hi is not None:
            raise VerifyException("clamp_min/clamp_max are only valid with activation 'clamp'")


class ConvProperties(ComputeOp):
    """Window properties shared by conv2d and scaled_conv2d, and the shape check they imply."""

    strides = opt_prop_def(DenseArrayBase, _DEFAULT_PAIR)
    pads = opt_prop_def(DenseArrayBase, _DEFAULT_PADS)
    dilations = opt_prop_def(DenseArrayBase, _DEFAULT_PAIR)
    groups = opt_prop_def(IntegerAttr, IntegerAttr(1, i64))
    layout = opt_prop_def(StringAttr, StringAttr(Layout.NCHW.value))

    @property
    def layout_kind(self) -> Layout:
        return enum_value(Layout, self.layout, "layout")

    def verify_conv_shapes(self) -> int:
        """Shapes, window and groups of a (scaled) conv2d; returns the output channel count."""
        layout = self.layout_kind
        x = ranked_shape(self.input, "input", 4)
        w = ranked_shape(self.weight, "weight", 4)
        y = ranked_shape(self.result, "result", 4)
        strides = array_values(self.strides, "strides", 2)
        dilations = array_values(self.dilations, "dilations", 2)
        pads = array_values(self.pads, "pads [top, left, bottom, right]", 4)
        check_window(strides, dilations, pads)
        groups = self.groups.value.data
        if layout is Layout.NCHW:
            (n, c, h, wd), (o, ci, kh, kw) = x, w
        else:
            (n, h, wd, c), (o, kh, kw, ci) = x, w
        if groups <= 0 or c % groups or o % groups:
            raise VerifyException(
                f"groups ({groups}) must divide input channels ({c}) and output channels ({o})"
            )
        if ci * groups != c:
            raise VerifyException(
                f"weight has {ci} input channels per group; input has {c} channels in {groups} groups"
            )
        oh = window_output_size(h, kh, strides[0], pads[0], pads[2], dilations[0], "height")
        ow = window_output_size(wd, kw, strides[1], pads[1], pads[3], dilations[1], "width")
        expected = (n, o, oh, ow) if layout is Layout.NCHW else (n, oh, ow, o)
        if y != expected:
            raise VerifyException(f"result shape must be {list(expected)}, got {list(y)}")
        return o


def verify_dot_shapes(op: ComputeOp) -> int:
    """Shapes of a (scaled) dot `[..., M, K] x [K, N]`; returns N."""
    a = ranked_shape(op.input, "lhs")
    b = ranked_shape(op.weight, "rhs", 2)
    y = ranked_shape(op.result, "result")
    if len(a) < 2:
        raise VerifyException(f"lhs must have rank >= 2 ([..., M, K]), got {op.input.type}")
    if a[-1] != b[0]:
        raise VerifyException(f"contraction sizes differ: lhs K = {a[-1]}, rhs K = {b[0]}")
    expected = (*a[:-1], b[1])
    if y != expected:
        raise VerifyException(f"result shape must be {list(expected)}, got {list(y)}")
    return b[1]


# the properties that say how a float conv/dot sums (qdialect/float_sum.py): an integer op
# made from one (a QDQ group) has none of them
FLOAT_SUM_PROPERTIES = (
    "bias_first",
    "streamed_rhs",
    "transposed_rhs",
    "batched_matmul",
    "sum_block",
    "nchwc_channels",
    "sum_from_addend",
    "gemm_pixels",
)


class FusedComputeOp(ComputeOp):
    """conv2d and dot: the fused epilogue of DESIGN §1 on float or quantized tensors."""

    intermediate = opt_prop_def(TypeAttribute)
    requant_mode = opt_prop_def(StringAttr, StringAttr(RequantMode.FLOAT.value))
    raw_offsets = opt_prop_def(DenseArrayBase)  # intermediate, addend, result (fused add)
    # the fused add is add(addend, conv result): QLinearAdd is not symmetric in its rounding
    addend_first = opt_prop_def(UnitAttr)
    # a float sum that starts from the bias (ONNX Gemm's C), not one that ends with it
    bias_first = opt_prop_def(UnitAttr)
    # the K block of a blocked float sum, where MLAS's threads give it another than its
    # single-threaded one (rewrites.mlas_threads)
    sum_block = opt_prop_def(IntegerAttr)
    traits = traits_def(Pure())

    def blocked(self, order: SumOrder) -> SumOrder:
        """`order` with this op's `sum_block`, if it has one and the order is blocked."""
        if self.sum_block is None or order.kind is not SumKind.BLOCKED:
            return order
        return replace(order, block=self.sum_block.value.data)

    @property
    def requant_mode_kind(self) -> RequantMode:
        return enum_value(RequantMode, self.requant_mode, "requant_mode")

    def verify_epilogue(self, out_channels: int, channel_role: str) -> None:
        """Kinds, bias, addend and activation."""
        activation = self.activation_kind
        requant = self.requant_mode_kind
        self.verify_activation()
        in_kinds = (kind_of(self.input), kind_of(self.weight))
        if in_kinds == (Kind.FLOAT, Kind.FLOAT):
            self._verify_float(requant)
        elif in_kinds == (Kind.QUANTIZED, Kind.QUANTIZED):
            self._verify_quantized(activation, requant, out_channels, channel_role)
        else:
            raise VerifyException("input and weight must be both float or both quantized")
        bias = self.bias
        # (a Gemm's C of [M, N], which the sums start from, has the result's type)
        matrix = self.bias_first is not None and bias is not None and bias.type == self.result.type
        if bias is not None and ranked_shape(bias, "bias") != (out_channels,) and not matrix:
            raise VerifyException(
                f"bias must have shape [{out_channels}] (the {channel_role}), got {bias.type}"
            )
        if self.addend is not None:
            self._verify_addend(self.addend, out_channels)
        elif self.intermediate is not None:
            raise VerifyException("intermediate is only meaningful with an addend")
        elif self.addend_first is not None:
            raise VerifyException("addend_first is only meaningful with an addend")
        if self.raw_offsets is not None and self.intermediate is None:
            raise VerifyException("raw_offsets apply to the fused addend only")
        raw_offsets(self.raw_offsets, 3)
        if self.bias_first is not None and (bias is None or in_kinds != (Kind.FLOAT, Kind.FLOAT)):
            raise VerifyException("bias_first is only meaningful for a float op with a bias")

    def _verify_float(self, requant: RequantMode) -> None:
        x, w, y = self.input, self.weight, self.result
        if requant is not RequantMode.FLOAT:
            raise VerifyException("requant_mode applies only to quantized results")
        if kind_of(y) is not Kind.FLOAT:
            raise VerifyException("float inputs need a float result")
        if len({element_type(v.type) for v in (x, w, y)}) != 1:
            raise VerifyException("float input, weight and result must share one element type")
        if self.bias is not None and element_type(self.bias.type) != element_type(y.type):
            raise VerifyException("a float op's bias must have the result's element type")
        if self.intermediate is not None:
            raise VerifyException("intermediate applies only to quantized results")
        if self.sum_block is not None and self.sum_block.value.data < 1:
            raise VerifyException(f"sum_block must be positive, got {self.sum_block.value.data}")

    def _verify_quantized(
        self, activation: Activation, requant: RequantMode, out_channels: int, channel_role: str
    ) -> None:
        x, w, y = self.input, self.weight, self.result
        out_kind = kind_of(y)
        check_quantized_operand(x, "input")
        check_per_tensor(x, "input")
        wq = check_quantized_operand(w, "weight")
        if wq.granularity is Granularity.PER_AXIS and len(wq.scales) != out_channels:
            raise VerifyException(
                f"per-axis weight must be quantized along the {channel_role} "
                f"({out_channels} scales), got axis {wq.axis} with {len(wq.scales)}"
            )
        if out_kind is not Kind.QUANTIZED and requant is not RequantMode.FLOAT:
            raise VerifyException("requant_mode applies only to quantized results")
        if out_kind is Kind.INTEGER:
            if not is_i32(y):
                raise VerifyException("a raw accumulator result must be i32")
            if self.addend is not None or activation is not Activation.NONE:
                raise VerifyException("a raw i32 result takes no addend and no activation")
        elif out_kind is Kind.QUANTIZED:
            check_quantized_operand(y, "result")
            check_per_tensor(y, "result")
        else:
            raise VerifyException("quantized inputs need a quantized or i32 result")
        check_same_expressed([(x, "input"), (w, "weight"), (y, "result")])
        if self.bias is not None and not is_i32(self.bias):
            raise VerifyException("bias of a quantized op must be an i32 tensor")

    def _verify_addend(self, addend: SSAValue, out_channels: int) -> None:
        """The addend has the result's shape, or is one value per output channel (a fused
        constant add such as a quantized bias, broadcast along every other axis)."""
        y, intermediate = self.result, self.intermediate
        out_kind = kind_of(y)
        if kind_of(addend) is not out_kind or (
            out_kind is Kind.FLOAT and element_type(addend.type) != element_type(y.type)
        ):
            raise VerifyException("addend must be of the result's kind and float type")
        if ranked_shape(addend, "addend") not in (ranked_shape(y, "result"), (out_channels,)):
            raise VerifyException(
                f"addend must have the result's shape or [{out_channels}] (per channel)"
            )
        if out_kind is not Kind.QUANTIZED:
            return
        check_quantized_operand(addend, "addend")
        check_per_tensor(addend, "addend")
        check_same_expressed([(y, "result"), (addend, "addend")])
        if not isinstance(intermediate, UniformQuantizedType):
            raise VerifyException(
                "a quantized addend needs the intermediate type the conv result is "
                "requantized to before the add"
            )
        if intermediate.granularity is not Granularity.PER_TENSOR:
            raise VerifyException("intermediate type must be quantized per tensor")
        check_zero_points(intermediate, "intermediate")
        if intermediate.expressed_type != quantized_element(y).expressed_type:
            raise VerifyException("intermediate expressed type differs from the result's")


@irdl_op_definition
class Conv2DOp(FusedComputeOp, ConvProperties):
    """2-D convolution, grouped and dilated, NCHW/OIHW or NHWC/OHWI.

    Reals: `y[n,o,i,j] = act(Σ_{c,r,s} x[n, g*C/G + c, i*sh + r*dh - pt, j*sw + s*dw - pl]
    * w[o,c,r,s] + bias[o] + addend[n,o,i,j])`; padded taps are real 0 (the input zero point).

        %y = qnn.conv2d %x, %w bias(%b : tensor<4xi32>) {pads = array<i64: 1, 1, 1, 1>, activation = "relu"} : tensor<1x3x8x8x!quant.uniform<i8:f32, 0.05>>, tensor<4x3x3x3x!quant.uniform<i8:f32:0, {0.01,0.02,0.01,0.03}>> -> tensor<1x4x8x8x!quant.uniform<i8:f32, 0.1:-128>>
    """

    name = "qnn.conv2d"
    # a float 1x1 grouped conv that is a batched MatMul of run-time tensors (the importer's
    # form of `[P, M, K] x [P, K, N]`): MLAS sums each batch element's GEMM, M = the pixels,
    # N = the filters per group, B streamed (float_sum.dot_sum_order)
    batched_matmul = opt_prop_def(UnitAttr)
    # ... scaled as a FusedMatMul (ORT's MatMulScaleFusion): as a `qnn.dot`'s alpha
    alpha = opt_prop_def(FloatAttr)
    # a float conv ORT's optimized session runs as an NCHWc conv: blocks of this many input
    # channels, their taps in (kh, kw, c) order (float_sum.py, `host_cpu.nchwc_conv_channels`)
    nchwc_channels = opt_prop_def(IntegerAttr)
    # ... whose sums start from the addend, the bias added after them (ORT's NCHWc Conv/Sum
    # fusion of an Add: qdialect/nchwc.py)
    sum_from_addend = opt_prop_def(UnitAttr)
    # a float 3-D conv, its depth folded into the batch (`onnx_import.convolution`): the pixels of
    # each of MLAS's GEMMs, the volume's OD·OH·OW, which set its sum order (float_sum.py)
    gemm_pixels = opt_prop_def(IntegerAttr)

    def verify_(self) -> None:
        out_channels = self.verify_conv_shapes()
        if self.gemm_pixels is not None:
            n, _, oh, ow = ranked_shape(self.result, "result", 4)
            pixels = self.gemm_pixels.value.data
            if (
                kind_of(self.input) is not Kind.FLOAT
                or self.layout_kind is not Layout.NCHW
                or self.nchwc_channels is not None
                or self.batched_matmul is not None
                or pixels < 1
                or pixels % (oh * ow)
                or n % (pixels // (oh * ow))
            ):
                raise VerifyException(
                    "gemm_pixels marks a float NCHW conv whose batch holds whole volumes: a "
                    "multiple of its OH·OW pixels that divides into the batch"
                )
        if self.sum_from_addend is not None and (
            self.nchwc_channels is None
            or self.addend is None
            or self.addend.type != self.result.type
        ):
            raise VerifyException(
                "sum_from_addend marks an NCHWc conv (nchwc_channels) with an addend of its "
                "result's type"
            )
        if self.nchwc_channels is not None and (
            kind_of(self.input) is not Kind.FLOAT
            or self.layout_kind is not Layout.NCHW
            or self.batched_matmul is not None
            or self.nchwc_channels.value.data < 1
        ):
            raise VerifyException(
                "nchwc_channels marks a float NCHW conv only, with a positive channel count"
            )
        if self.batched_matmul is not None and (
            kind_of(self.input) is not Kind.FLOAT
            or ranked_shape(self.weight, "weight", 4)[2:] != (1, 1)
        ):
            raise VerifyException("batched_matmul marks a float 1x1 conv only")
        if self.alpha is not None and (
            self.batched_matmul is None or self.bias is not None or self.addend is not None
        ):
            raise VerifyException("alpha scales a batched_matmul conv without bias or addend")
        wq = quantized_element(self.weight) if kind_of(self.weight) is Kind.QUANTIZED else None
        if wq is not None and wq.granularity is Granularity.PER_AXIS and wq.axis != 0:
            raise VerifyException(
                f"per-axis weight must be quantized along the output channel (axis 0), "
                f"got axis {wq.axis}"
            )
        self.verify_epilogue(out_channels, "output channel")

    def mark_nchwc(self) -> None:
        """Sum as the NCHWc conv ORT's optimized session would run this float conv as (it has
        constant weights and bias), where this host's MLAS has one (`nchwc_conv_channels`)."""
        w = ranked_shape(self.weight, "weight", 4)
        channels = nchwc_conv_channels(
            ranked_shape(self.input, "input", 4)[1],
            w[0],
            self.groups.value.data,
            (w[2], w[3]),
            any(self.pads.get_values()),
        )
        if channels and self.layout_kind is Layout.NCHW and self.batched_matmul is None:
            self.properties["nchwc_channels"] = IntegerAttr(channels, i64)

    def float_sum_order(self) -> SumOrder:
        """How each float output sums its products (qdialect/float_sum.py)."""
        w = ranked_shape(self.weight, "weight", 4)
        x = ranked_shape(self.input, "input", 4)
        y = ranked_shape(self.result, "result", 4)
        nchw = self.layout_kind is Layout.NCHW
        pixels = y[2] * y[3] if nchw else y[1] * y[2]
        if self.gemm_pixels is not None:
            pixels = self.gemm_pixels.value.data
        if self.batched_matmul is not None:
            filters = w[0] // self.groups.value.data
            scaled = self.alpha is not None
            order = dot_sum_order(pixels, math.prod(w[1:]), filters, True, False, scaled)
            return self.blocked(order)
        if self.nchwc_channels is not None:
            channels = self.nchwc_channels.value.data
            return SumOrder(SumKind.BLOCKED, channels * w[2] * w[3], channels)
        width, channels, kernel_width = (x[3], w[1], w[3]) if nchw else (x[2], w[3], w[2])
        # (grouped convs keep the one-row order: the depthwise kernels sum no other way)
        transposed = (
            channels == 1
            and self.gemm_pixels is None  # (MLAS reads a 2-D image only so)
            and self.groups.value.data == 1
            and kernel_width == width
            and set(self.strides.get_values()) == {1}
            and set(self.dilations.get_values()) == {1}
            and not any(self.pads.get_values())
        )
        filters = w[0] // self.groups.value.data
        return self.blocked(conv_sum_order(filters, pixels, math.prod(w[1:]), transposed))


@irdl_op_definition
class DotOp(FusedComputeOp):
    """Matrix product `y[..., m, n] = act(Σ_k lhs[..., m, k] * rhs[k, n] + bias[n] + addend)`.

    %y = qnn.dot %a, %b bias(%c : tensor<2xi32>) : tensor<3x16x!quant.uniform<i8:f32, 0.1>>, tensor<16x2x!quant.uniform<i8:f32:1, {0.01,0.02}>> -> tensor<3x2x!quant.uniform<i8:f32, 0.2>>
    """

    name = "qnn.dot"
    # the rhs is an activation, not a weight ONNX Runtime prepacks: another float sum order
    streamed_rhs = opt_prop_def(UnitAttr)
    # ... and ONNX Runtime reads it transposed (Gemm's transB): one row sums another way
    transposed_rhs = opt_prop_def(UnitAttr)
    # ORT's FusedMatMul (its MatMulScaleFusion of a scalar Mul/Div) and Gemm's alpha: each K
    # block's sum times alpha, `c = acc·alpha` for the first, `c = fma(acc, alpha, c)` after
    # (from the bias, with bias_first: a Gemm's beta·C); float only
    alpha = opt_prop_def(FloatAttr)

    def float_sum_order(self) -> SumOrder:
        """How each float output sums its products (qdialect/float_sum.py)."""
        a = ranked_shape(self.input, "lhs")
        k, n = ranked_shape(self.weight, "rhs", 2)
        streamed, transposed = self.streamed_rhs is not None, self.transposed_rhs is not None
        scaled = self.alpha is not None
        return self.blocked(dot_sum_order(math.prod(a[:-1]), k, n, streamed, transposed, scaled))

    def verify_(self) -> None:
        out_columns = verify_dot_shapes(self)
        wq = quantized_element(self.weight) if kind_of(self.weight) is Kind.QUANTIZED else None
        if wq is not None and wq.granularity is Granularity.PER_AXIS and wq.axis != 1:
            raise VerifyException(
                f"per-axis rhs must be quantized along N (axis 1), got axis {wq.axis}"
            )
        self.verify_epilogue(out_columns, "output column")
        if self.streamed_rhs is not None and kind_of(self.weight) is not Kind.FLOAT:
            raise VerifyException("streamed_rhs is only meaningful for a float dot")
        if self.transposed_rhs is not None and self.streamed_rhs is None:
            raise VerifyException("transposed_rhs is only meaningful with streamed_rhs")
        if self.alpha is not None and (
            kind_of(self.weight) is not Kind.FLOAT
            or (self.bias is not None and self.bias_first is None)
            or self.addend is not None
        ):
            raise VerifyException(
                "alpha scales a float dot without addend, from its bias (bias_first) if any"
            )


def verify_concat_shapes(inputs, result: SSAValue, axis: int) -> None:
    """Every input matches the result off `axis`, and their sizes along it add up."""
    y = ranked_shape(result, "result")
    if not 0 <= axis < len(y):
        raise VerifyException(f"axis {axis} is out of range for rank {len(y)}")
    total = 0
    for i, v in enumerate(inputs):
        s = ranked_shape(v, f"input #{i}", len(y))
        if s[:axis] + s[axis + 1 :] != y[:axis] + y[axis + 1 :]:
            raise VerifyException(
                f"input #{i} shape {list(s)} differs from the result's off axis {axis}"
            )
        total += s[axis]
    if total != y[axis]:
        raise VerifyException(f"result size along axis {axis} must be {total}, got {y[axis]}")


@irdl_op_definition
class ConcatOp(IRDLOperation):
    """Join tensors along `axis`; inputs whose type differs from the result's are requantized.

    %y = qnn.concat %a, %b {axis = 1 : i64} : (tensor<1x2xf32>, tensor<1x3xf32>) -> tensor<1x5xf32>
    """

    name = "qnn.concat"
    inputs = var_operand_def(TensorType)
    result = result_def(TensorType)
    axis = prop_def(IntegerAttr)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$inputs attr-dict `:` functional-type($inputs, $result)"

    def verify_(self) -> None:
        if not self.inputs:
            raise VerifyException("needs at least one input")
        verify_concat_shapes(self.inputs, self.result, self.axis.value.data)
        kinds = {kind_of(v) for v in (*self.inputs, self.result)}
        if kinds == {Kind.FLOAT}:
            if len({element_type(v.type) for v in (*self.inputs, self.result)}) != 1:
                raise VerifyException("float inputs and result must share one element type")
        elif kinds == {Kind.QUANTIZED}:
            roles = [(v, f"input #{i}") for i, v in enumerate(self.inputs)]
            roles.append((self.result, "result"))
            for v, role in roles:
                check_quantized_operand(v, role)
                check_per_tensor(v, role)
            check_same_expressed(roles)
        else:
            raise VerifyException("takes all-float or all-quantized tensors")


class Pool2DOp(IRDLOperation):
    input = operand_def(TensorType)
    result = result_def(TensorType)
    kernel = prop_def(DenseArrayBase)
    strides = opt_prop_def(DenseArrayBase, _DEFAULT_PAIR)
    pads = opt_prop_def(DenseArrayBase, _DEFAULT_PADS)
    dilations = opt_prop_def(DenseArrayBase, _DEFAULT_PAIR)
    layout = opt_prop_def(StringAttr, StringAttr(Layout.NCHW.value))
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    @property
    def layout_kind(self) -> Layout:
        return enum_value(Layout, self.layout, "layout")

    def is_global(self) -> bool:
        """Whether this pool is a GlobalMaxPool / GlobalAveragePool: an NCHW window over the
        whole image, unpadded, to 1 x 1."""
        in_shape = self.input.type.get_shape()  # type: ignore[attr-defined]
        out_shape = self.result.type.get_shape()  # type: ignore[attr-defined]
        return (
            out_shape[2:] == (1, 1)
            and tuple(self.kernel.get_values()) == tuple(in_shape[2:])
            and not any(self.pads.get_values())
        )

    def verify_window(self) -> None:
        layout = self.layout_kind
        x = ranked_shape(self.input, "input", 4)
        y = ranked_shape(self.result, "result", 4)
        kernel = array_values(self.kernel, "kernel", 2)
        strides = array_values(self.strides, "strides", 2)
        dilations = array_values(self.dilations, "dilations", 2)
        pads = array_values(self.pads, "pads [top, left, bottom, right]", 4)
        check_window(strides, dilations, pads)
        if any(k <= 0 for k in kernel):
            raise VerifyException(f"kernel must be positive, got {list(kernel)}")
        spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilations, strict=True)]
        if pads[0] >= spans[0] or pads[2] >= spans[0] or pads[1] >= spans[1] or pads[3] >= spans[1]:
            raise VerifyException(
                f"pads must be smaller than the window {spans} (dilation·(kernel - 1) + 1: no "
                "all-padding window)"
            )
        n, c, h, w = x if layout is Layout.NCHW else (x[0], x[3], x[1], x[2])
        oh = window_output_size(h, kernel[0], strides[0], pads[0], pads[2], dilations[0], "height")
        ow = window_output_size(w, kernel[1], strides[1], pads[1], pads[3], dilations[1], "width")
        expected = (n, c, oh, ow) if layout is Layout.NCHW else (n, oh, ow, c)
        if y != expected:
            raise VerifyException(f"result shape must be {list(expected)}, got {list(y)}")


@irdl_op_definition
class MaxPool2DOp(Pool2DOp):
    """Window maximum on the stored values (input and result types are equal).

    %y = qnn.max_pool2d %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : tensor<1x4x8x8xf32> -> tensor<1x4x4x4xf32>
    """

    name = "qnn.max_pool2d"

    def verify_(self) -> None:
        self.verify_window()
        if element_type(self.input.type) != element_type(self.result.type):
            raise VerifyException("input and result element types must be equal")
        if kind_of(self.input) is Kind.QUANTIZED:
            check_quantized_operand(self.input, "input")
            check_per_tensor(self.input, "input")
        elif kind_of(self.input) is not Kind.FLOAT:
            raise VerifyException("takes a float or quantized tensor")


@irdl_op_definition
class AvgPool2DOp(Pool2DOp):
    """Window mean (ONNX Runtime's QLinearAveragePool arithmetic on quantized data).

    `count_include_pad` divides by kh*kw; otherwise by the number of in-image taps.
    `raw_offsets = array<i64: x, y>` shifts the stored values the rounding sees (`u8-to-i8`).
    `row_major` (float only): ONNX Runtime's AveragePool from opset 19, its own loop instead of
    MLAS's kernels: the in-image taps summed in row-major order from +0, dilations allowed.

        %y = qnn.avg_pool2d %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : tensor<1x4x8x8x!quant.uniform<u8:f32, 0.1:128>> -> tensor<1x4x4x4x!quant.uniform<u8:f32, 0.1:128>>
    """

    name = "qnn.avg_pool2d"
    count_include_pad = opt_prop_def(BoolAttr, BoolAttr.from_bool(False))
    raw_offsets = opt_prop_def(DenseArrayBase)
    row_major = opt_prop_def(UnitAttr)

    def verify_(self) -> None:
        self.verify_window()
        row_major = self.row_major is not None
        if array_values(self.dilations, "dilations", 2) != (1, 1) and not row_major:
            raise VerifyException("takes dilations only with row_major (ONNX opset 19's loop)")
        if row_major and kind_of(self.result) is not Kind.FLOAT:
            raise VerifyException("row_major applies only to float pools")
        raw_offsets(self.raw_offsets, 2)
        kinds = {kind_of(self.input), kind_of(self.result)}
        if kinds == {Kind.FLOAT}:
            if element_type(self.input.type) != element_type(self.result.type):
                raise VerifyException("float input and result element types must be equal")
        elif kinds == {Kind.QUANTIZED}:
            for v, role in ((self.input, "input"), (self.result, "result")):
                check_quantized_operand(v, role)
                check_per_tensor(v, role)
            check_same_expressed([(self.input, "input"), (self.result, "result")])
        else:
            raise VerifyException("takes all-float or all-quantized tensors")
