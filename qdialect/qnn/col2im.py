"""`qnn.col2im`: the second step of ONNX ConvTranspose as ONNX Runtime computes it.

ORT's kernel (`conv_transpose.cc`) runs, per image and group, a GEMM `col = Wᵀ · x` (every
input pixel's contribution to every output channel and kernel tap; a float `qnn.dot` here),
then `math::Col2im`, which zeroes the output and adds each contribution into the output pixel it
lands on, tap after tap, then the bias per channel. This op is that scatter-add; the importer
(`qdialect/onnx_import/conv_transpose.py`) writes the rest.
"""

from __future__ import annotations

from xdsl.dialects.builtin import DenseArrayBase, Float32Type, TensorType
from xdsl.irdl import (
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from qdialect.qnn.common import array_values, check_window, int_array, ranked_shape
from qdialect.tensors import element_type


@irdl_op_definition
class Col2ImOp(IRDLOperation):
    """`y[c, oy, ox]` = the sum, from +0 and one float32 add at a time, of every
    `col[c, kh, kw, iy, ix]` with `oy = iy·sh + kh·dh − pt` and `ox = ix·sw + kw·dw − pl`,
    the taps (kh, kw) in row-major order (ORT's `Col2im`); a tap landing outside the output
    adds nothing, an output no tap reaches is +0. `pads_begin = [pt, pl]`.

        %y = qnn.col2im %col {strides = array<i64: 2, 2>, pads_begin = array<i64: 1, 1>} : tensor<4x3x3x5x5xf32> -> tensor<4x9x9xf32>
    """

    name = "qnn.col2im"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    strides = opt_prop_def(DenseArrayBase, int_array([1, 1]))
    dilations = opt_prop_def(DenseArrayBase, int_array([1, 1]))
    pads_begin = opt_prop_def(DenseArrayBase, int_array([0, 0]))
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    @property
    def window(self) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        """(strides, dilations, pads_begin), each [height, width]."""
        return (
            array_values(self.strides, "strides", 2),
            array_values(self.dilations, "dilations", 2),
            array_values(self.pads_begin, "pads_begin", 2),
        )

    def verify_(self) -> None:
        col = ranked_shape(self.input, "input", 5)
        y = ranked_shape(self.result, "result", 3)
        for value, role in ((self.input, "input"), (self.result, "result")):
            if not isinstance(element_type(value.type), Float32Type):
                raise VerifyException(f"{role} must be a float32 tensor")
        if col[0] != y[0]:
            raise VerifyException(
                f"input [C, kh, kw, H, W] and result [C, OH, OW] need the same C, got "
                f"{col[0]} and {y[0]}"
            )
        strides, dilations, pads = self.window
        check_window(strides, dilations, pads)
