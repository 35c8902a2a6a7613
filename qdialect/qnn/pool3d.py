"""`qnn.pool3d`: a float32 MaxPool or AveragePool over a 3-D window of an NCDHW tensor, as
ONNX Runtime computes it (`qdialect.pool3d`)."""

from __future__ import annotations

from xdsl.dialects.builtin import DenseArrayBase, Float32Type, StringAttr, TensorType, UnitAttr
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

from qdialect.float_sum import Pool3DKernel, Window3D, pool3d_kernel
from qdialect.qnn.common import array_values, check_window, ranked_shape
from qdialect.tensors import element_type

KINDS = ("max", "avg")


@irdl_op_definition
class Pool3DOp(IRDLOperation):
    """The window maximum (`kind = "max"`) or mean (`"avg"`) of each output position.
    `pads`: the three begins, then the three ends; a ceil_mode window may reach past the ends
    (the result's shape says how many windows). `loop`: ONNX Runtime's own loop (an
    AveragePool from opset 19, a dilated MaxPool); without it, MLAS's kernels. Dilations only
    with `loop`.

        %y = qnn.pool3d %x {kind = "max", kernel = array<i64: 2, 2, 2>, strides = array<i64: 2, 2, 2>, pads = array<i64: 0, 0, 0, 0, 0, 0>, dilations = array<i64: 1, 1, 1>} : tensor<1x2x4x4x4xf32> -> tensor<1x2x2x2x2xf32>
    """

    name = "qnn.pool3d"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    kind = prop_def(StringAttr)
    kernel = prop_def(DenseArrayBase)
    strides = prop_def(DenseArrayBase)
    pads = prop_def(DenseArrayBase)
    dilations = prop_def(DenseArrayBase)
    count_include_pad = opt_prop_def(UnitAttr)
    loop = opt_prop_def(UnitAttr)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    @property
    def maximum(self) -> bool:
        return self.kind.data == "max"

    def window(self) -> Window3D:
        return Window3D(
            array_values(self.kernel, "kernel", 3),  # type: ignore[arg-type]
            array_values(self.strides, "strides", 3),  # type: ignore[arg-type]
            array_values(self.dilations, "dilations", 3),  # type: ignore[arg-type]
            array_values(self.pads, "pads", 6),  # type: ignore[arg-type]
        )

    def out_shape(self) -> tuple[int, int, int]:
        return ranked_shape(self.result, "result", 5)[2:]  # type: ignore[return-value]

    def path(self) -> Pool3DKernel:
        """Which of ORT's three paths computes it (`qdialect.pool3d`)."""
        image = ranked_shape(self.input, "input", 5)[2:]
        return pool3d_kernel(self.window(), image, self.loop is not None)

    def verify_(self) -> None:
        if self.kind.data not in KINDS:
            raise VerifyException(f"kind must be one of {', '.join(KINDS)}, got {self.kind.data!r}")
        for value, role in ((self.input, "input"), (self.result, "result")):
            if not isinstance(element_type(value.type), Float32Type):
                raise VerifyException(f"{role} must be a float32 tensor, got {value.type}")
        x = ranked_shape(self.input, "input", 5)
        y = ranked_shape(self.result, "result", 5)
        if y[:2] != x[:2]:
            raise VerifyException(f"result must keep the input's [N, C] {list(x[:2])}")
        window = self.window()
        check_window(window.strides, window.dilations, window.pads)
        if any(k <= 0 for k in window.kernel):
            raise VerifyException(f"kernel must be positive, got {list(window.kernel)}")
        if window.dilations != (1, 1, 1) and self.loop is None:
            raise VerifyException("takes dilations only with loop (ONNX Runtime's own loop)")
        if self.count_include_pad is not None and self.maximum:
            raise VerifyException("count_include_pad applies only to kind avg")
        for i in range(3):
            span = window.dilations[i] * (window.kernel[i] - 1) + 1
            if window.pads[i] >= span or window.pads[i + 3] >= span:
                raise VerifyException(f"pads {list(window.pads)} must be smaller than the window")
            padded = x[2 + i] + window.pads[i] + window.pads[i + 3]
            if padded < span:
                raise VerifyException(f"window of extent {span} does not fit side {i} ({padded})")
            fits = (padded - span) // window.strides[i] + 1
            if not fits <= y[2 + i] <= fits + 1:
                raise VerifyException(
                    f"result side {i} must be {fits} windows (or {fits + 1} with ceil_mode), "
                    f"got {y[2 + i]}"
                )
            if (y[2 + i] - 1) * window.strides[i] >= x[2 + i] + window.pads[i]:
                raise VerifyException(f"the last window of side {i} starts in the end padding")
