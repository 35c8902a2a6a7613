"""`qnn.resize_bilinear` and `qnn.resize_cubic`: ONNX Resize in linear and cubic mode over the
last two axes of an NCHW tensor, as ONNX Runtime's kernels compute them (qdialect/bilinear.py
and qdialect/bicubic.py hold the numbers both executors read); `qnn.grid_sample`: ONNX
GridSample of an NCHW tensor (qdialect/grid_sample.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from xdsl.dialects.builtin import FloatAttr, StringAttr, TensorType, UnitAttr, f32
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

from qdialect.qnn.common import ranked_shape
from qdialect.tensors import element_type
from qdialect.types import Granularity, UniformQuantizedType

if TYPE_CHECKING:
    from qdialect.bicubic import CubicTaps

# ONNX Resize's coordinate_transformation_mode values ORT's bilinear kernel computes
MODES = (
    "half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "half_pixel_symmetric",
)  # fmt: skip
# ... and those its NCHWc Upsample computes (`NchwcUpsample::ComputeInterpolation`)
NCHWC_MODES = ("half_pixel", "align_corners", "asymmetric")


@irdl_op_definition
class ResizeBilinearOp(IRDLOperation):
    """`y[n, c]` = `x[n, c]` resized to the result's H x W: each output reads the two nearest
    input rows and columns of its `mode`-transformed coordinate (ONNX's
    coordinate_transformation_mode: half_pixel, pytorch_half_pixel, align_corners, asymmetric
    or half_pixel_symmetric, with the `scale_h`/`scale_w` ONNX Runtime divides by: the `scales` input, or
    output / input size) and weighs them as ORT does. An 8-bit quantized tensor is resized in
    its stored values, the float result truncated back (ORT's uint8/int8 kernel; one scale
    and zero point for both). `nchwc` (float, whole-number scales): ORT's NCHWc Upsample, which
    its optimized session runs behind an NCHWc tensor (qdialect/nchwc.py), with its own taps
    and order (qdialect/bilinear.py).

        %y = qnn.resize_bilinear %x {mode = "half_pixel", scale_h = 4.0 : f32, scale_w = 4.0 : f32} : tensor<1x2x7x5xf32> -> tensor<1x2x28x20xf32>
    """

    name = "qnn.resize_bilinear"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    mode = prop_def(StringAttr)
    scale_h = prop_def(FloatAttr)
    scale_w = prop_def(FloatAttr)
    nchwc = opt_prop_def(UnitAttr)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    @property
    def scales(self) -> tuple[float, float]:
        return self.scale_h.value.data, self.scale_w.value.data

    def verify_(self) -> None:
        x = ranked_shape(self.input, "input", 4)
        y = ranked_shape(self.result, "result", 4)
        elem = element_type(self.input.type)
        if element_type(self.result.type) != elem:
            raise VerifyException("input and result element types must be equal")
        per_tensor_8bit = (
            isinstance(elem, UniformQuantizedType)
            and elem.granularity is Granularity.PER_TENSOR
            and elem.storage_width == 8
        )
        if elem != f32 and not per_tensor_8bit:
            raise VerifyException(
                f"resizes float32 or per-tensor 8-bit quantized tensors, got {elem}"
            )
        _verify_resize(x, y, self.mode.data, self.scales)
        if self.nchwc is not None and (
            elem != f32
            or self.mode.data not in NCHWC_MODES
            or any(
                s != int(s) or b != a * s for s, a, b in zip(self.scales, x[2:], y[2:], strict=True)
            )
        ):
            raise VerifyException(
                "nchwc takes a float32 resize by whole-number scales in mode "
                f"{', '.join(NCHWC_MODES)}"
            )


@irdl_op_definition
class ResizeCubicOp(IRDLOperation):
    """`y[n, c]` = `x[n, c]` resized to the result's H x W by Keys' cubic (ONNX Resize, mode
    cubic, `cubic_coeff_a`, `exclude_outside`) as ONNX Runtime's `ResizeBiCubic` computes it:
    four rows and columns per output, their coefficients and order in qdialect/bicubic.py;
    `mode` and `scale_h`/`scale_w` as `qnn.resize_bilinear`'s. float32 only.

        %y = qnn.resize_cubic %x {mode = "half_pixel", scale_h = 2.0 : f32, scale_w = 2.0 : f32, cubic_coeff_a = -7.5e-01 : f32} : tensor<1x2x4x4xf32> -> tensor<1x2x8x8xf32>
    """

    name = "qnn.resize_cubic"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    mode = prop_def(StringAttr)
    scale_h = prop_def(FloatAttr)
    scale_w = prop_def(FloatAttr)
    cubic_coeff_a = prop_def(FloatAttr)
    exclude_outside = opt_prop_def(UnitAttr)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    @property
    def scales(self) -> tuple[float, float]:
        return self.scale_h.value.data, self.scale_w.value.data

    def taps(self) -> tuple[CubicTaps, CubicTaps]:
        """The rows' and the columns' taps (qdialect/bicubic.py), which both executors read
        (numpy's: imported here, so that printing IR does not import it)."""
        from qdialect.bicubic import cubic_taps

        _, _, h, w = self.input.type.get_shape()  # type: ignore[attr-defined]
        out_h, out_w = self.result.type.get_shape()[2:]  # type: ignore[attr-defined]
        a, exclude = self.cubic_coeff_a.value.data, self.exclude_outside is not None
        return (
            cubic_taps(out_h, h, self.scales[0], self.mode.data, a, exclude),
            cubic_taps(out_w, w, self.scales[1], self.mode.data, a, exclude),
        )

    def verify_(self) -> None:
        x = ranked_shape(self.input, "input", 4)
        y = ranked_shape(self.result, "result", 4)
        if element_type(self.input.type) != f32 or element_type(self.result.type) != f32:
            raise VerifyException("resizes float32 tensors")
        _verify_resize(x, y, self.mode.data, self.scales)


def _verify_resize(x: tuple[int, ...], y: tuple[int, ...], mode: str, scales) -> None:
    """What both resizes require of their shapes, mode and scales."""
    if x[:2] != y[:2]:
        raise VerifyException(f"batch and channels must stay {list(x[:2])}, got {list(y[:2])}")
    if min(x[2:] + y[2:]) < 1:
        raise VerifyException("input and result must have non-empty height and width")
    if mode not in MODES:
        raise VerifyException(f"mode must be one of {', '.join(MODES)}, got '{mode}'")
    if min(scales) <= 0:
        raise VerifyException(f"scales must be positive, got {list(scales)}")


@irdl_op_definition
class GridSampleOp(IRDLOperation):
    """ONNX GridSample of an NCHW float32 image at the [N, Ho, Wo, 2] grid's normalized (x, y)
    points: `mode` linear, nearest or cubic, `padding_mode` zeros, border or reflection,
    `align_corners`; ONNX Runtime's float32 steps (qdialect/grid_sample.py).

        %y = qnn.grid_sample %x, %g {mode = "linear", padding_mode = "zeros"} : tensor<1x2x4x5xf32>, tensor<1x3x3x2xf32> -> tensor<1x2x3x3xf32>
    """

    name = "qnn.grid_sample"
    input = operand_def(TensorType)
    grid = operand_def(TensorType)
    result = result_def(TensorType)
    mode = prop_def(StringAttr)
    padding_mode = prop_def(StringAttr)
    align_corners = opt_prop_def(UnitAttr)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = (
        "$input `,` $grid attr-dict `:` type($input) `,` type($grid) `->` type($result)"
    )

    def verify_(self) -> None:
        from qdialect.grid_sample import MODES, PADDINGS

        x = ranked_shape(self.input, "input", 4)
        grid = ranked_shape(self.grid, "grid", 4)
        y = ranked_shape(self.result, "result", 4)
        for value, role in ((self.input, "input"), (self.grid, "grid"), (self.result, "result")):
            if element_type(value.type) != f32:
                raise VerifyException(f"{role} must be a float32 tensor")
        if grid[0] != x[0] or grid[3] != 2 or y != (x[0], x[1], grid[1], grid[2]):
            raise VerifyException(
                f"input {list(x)} and grid {list(grid)} ([N, Ho, Wo, 2]) give "
                f"[{x[0]}, {x[1]}, {grid[1]}, {grid[2]}], not {list(y)}"
            )
        if self.mode.data not in MODES:
            raise VerifyException(f"mode must be one of {', '.join(MODES)}, got '{self.mode.data}'")
        if self.padding_mode.data not in PADDINGS:
            raise VerifyException(
                f"padding_mode must be one of {', '.join(PADDINGS)}, got '{self.padding_mode.data}'"
            )
