"""Observation ops: what calibration learns about a float tensor from one sample (DESIGN §4).

The `instrument` rewrites append them to a float function and return their results, so the
compiled function hands back a few numbers per observed tensor and never the tensor itself.
`qnn.observe` gives the sample's extremes (pass 1 of calibration); `qnn.histogram` counts the
sample's values into bins whose edges pass 1 fixed (pass 2), so counts of samples and of
shards add up exactly (qdialect.calibration.stats).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from enum import Enum, IntEnum
from fractions import Fraction

from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    Float32Type,
    IntegerType,
    Signedness,
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
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from qdialect.float32 import f32, f32_nearest
from qdialect.qnn.common import ranked_shape
from qdialect.qnn.modes import enum_value
from qdialect.tensors import element_type


class HistogramRule(Enum):
    """How `qnn.histogram` finds a value's bin.

    `edges`: numpy's `np.histogram` rule, defined by the edges alone: bin i holds
    `edges[i] <= v < edges[i+1]`, the last bin also holds `v == edges[B]`.
    `linear`: torch.histc's CPU rule over `edges = [lo, hi]`:
    `bin = int(fl(fl(fl(v - lo) * B) / fl(hi - lo)))`, `B` itself going to bin `B - 1`.
    Both drop NaN and values outside `[edges[0], edges[-1]]`.
    """

    EDGES = "edges"
    LINEAR = "linear"


def edges_problem(values: Sequence[float], bins: int, rule: HistogramRule) -> str | None:
    """What makes edges (of the right count) unusable, or None: a histogram's verifier, and
    calibration's check of edges it hands a compiled histogram as data."""
    if not all(map(math.isfinite, values)):
        return "edges must be finite"
    if any(map(operator.lt, values[1:], values)):
        return "edges must be non-decreasing"
    lo, hi = values[0], values[-1]
    if not lo < hi:
        return f"edges must span a range, got [{lo}, {hi}]"
    width = linear_width(lo, hi)
    if rule is HistogramRule.LINEAR and not math.isfinite(f32(width * bins)):
        return "rule 'linear' needs (hi - lo) * bins finite in float32"
    return None


def linear_width(lo: float, hi: float) -> float:
    """`fl(hi - lo)`, the float32 bin-range width of the `linear` rule (torch.histc's)."""
    return f32_nearest(Fraction(hi) - Fraction(lo))


def _float32_input(value: SSAValue) -> tuple[int, ...]:
    shape = ranked_shape(value, "input")
    if not isinstance(element_type(value.type), Float32Type):
        raise VerifyException(f"observes float32 tensors, got {value.type}")
    return shape


def _vector_result(value: SSAValue, what: str, element_ok) -> int:
    shape = ranked_shape(value, "result")
    if len(shape) != 1 or not element_ok(element_type(value.type)):
        raise VerifyException(f"result must be {what}, got {value.type}")
    return shape[0]


class Extreme(IntEnum):
    """What `qnn.observe` gives, by position in its result."""

    MIN = 0  # nanmin(x)
    MAX = 1  # nanmax(x)
    ABS_MIN = 2  # nanmin(|x|)
    REDUCE_MIN = 3  # ONNX Runtime's ReduceMin(x)
    REDUCE_MAX = 4  # ONNX Runtime's ReduceMax(x)


EXTREMES = len(Extreme)


@irdl_op_definition
class ObserveOp(IRDLOperation):
    """The extremes of one sample (`Extreme`): `nanmin(x)`, `nanmax(x)`, `nanmin(|x|)`, NaN
    ignored as numpy's nan-reductions do (all NaN gives NaN; a zero extreme is +0.0 whatever
    the signs of the zeros seen), what ONNX Runtime's histogram calibrators take; then ONNX
    Runtime's ReduceMin and ReduceMax of x, what its MinMax calibrator takes, which differ
    from those only where x holds NaN (Eigen's reduction keeps a NaN only where it starts a
    fold) or zeros of both signs (`runtime.reference.kernels.ort_reduce`). An empty tensor
    gives zeros (ONNX Runtime's collector).

        %s = qnn.observe %x : tensor<1x16x8x8xf32> -> tensor<5xf32>
    """

    name = "qnn.observe"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(self, value: SSAValue):
        super().__init__(operands=[value], result_types=[TensorType(Float32Type(), [EXTREMES])])

    def verify_(self) -> None:
        _float32_input(self.input)
        what = f"tensor<{EXTREMES}xf32>"
        length = _vector_result(self.result, what, lambda e: isinstance(e, Float32Type))
        if length != EXTREMES:
            raise VerifyException(f"result must be {what}, got {self.result.type}")


def _is_i64(elem) -> bool:
    return (
        isinstance(elem, IntegerType)
        and elem.width.data == 64
        and elem.signedness.data is Signedness.SIGNLESS
    )


@irdl_op_definition
class HistogramOp(IRDLOperation):
    """Counts of one sample's values (|x| with `absolute`) in `B` bins, the result's length.

    `edges` holds the `B + 1` bin edges (rule `edges`, float32, finite, non-decreasing) or the
    outer two `[lo, hi]` (rule `linear`); see `HistogramRule`. NaN and values outside the
    edges are not counted.

        %h = qnn.histogram %x {edges = dense<[0.0, 1.0, 2.0]> : tensor<3xf32>, absolute} : tensor<16xf32> -> tensor<2xi64>
    """

    name = "qnn.histogram"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    edges = prop_def(DenseIntOrFPElementsAttr)
    rule = opt_prop_def(StringAttr, StringAttr(HistogramRule.EDGES.value))
    absolute = opt_prop_def(UnitAttr)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(
        self,
        value: SSAValue,
        edges: DenseIntOrFPElementsAttr,
        bins: int,
        rule: HistogramRule = HistogramRule.EDGES,
        absolute: bool = False,
    ):
        properties = {"edges": edges, "rule": StringAttr(rule.value)}
        if absolute:
            properties["absolute"] = UnitAttr()
        super().__init__(
            operands=[value],
            result_types=[TensorType(IntegerType(64), [bins])],
            properties=properties,
        )

    @property
    def rule_kind(self) -> HistogramRule:
        return enum_value(HistogramRule, self.rule, "rule")

    @property
    def bins(self) -> int:
        return self.result.type.get_shape()[0]  # type: ignore[union-attr]

    @property
    def edge_values(self) -> tuple[float, ...]:
        """The edges as Python floats (each exactly a float32)."""
        values = tuple(self.edges.get_values())
        length = math.prod(self.edges.get_shape())
        return values * length if len(values) == 1 and length != 1 else values

    def verify_(self) -> None:
        _float32_input(self.input)
        bins = _vector_result(self.result, "tensor<Bxi64>", _is_i64)
        if bins < 1:
            raise VerifyException("needs at least one bin")
        if not isinstance(self.edges.get_element_type(), Float32Type):
            raise VerifyException(f"edges must be float32, got {self.edges.get_type()}")
        rule = self.rule_kind
        values = self.edge_values
        expected = bins + 1 if rule is HistogramRule.EDGES else 2
        if len(self.edges.get_shape()) != 1 or len(values) != expected:
            raise VerifyException(
                f"rule '{rule.value}' with {bins} bins needs {expected} edges, got "
                f"{self.edges.get_type()}"
            )
        problem = edges_problem(values, bins, rule)
        if problem is not None:
            raise VerifyException(problem)
