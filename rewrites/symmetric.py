"""`symmetric-schema` (Glow): zero point 0 on the chosen values, scales re-derived.

`values=weights` (default) retypes the weight operands of conv2d/dot, `activations` every
other quantized value, `all` both. A retyped value keeps the real range its type covered:
the new scale is the symmetric one for max(|lo|, |hi|) of that range, per channel for
per-axis weights. Constant weights are re-quantized; the signature is kept with
`qnn.requantize` at entry and exit. Only signed storage is changed (run `u8-to-i8` first for
unsigned data). This changes results by design: it is what a symmetric-only backend runs.
A scale to re-derive outside `qdialect.arithmetic.SCALE_RANGE` is refused, located at the op
that defines the value (the function, for an argument), before anything is rewritten.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Attribute, SSAValue
from xdsl.passes import ModulePass

from qdialect import qnn
from qdialect.arithmetic import ScaleRangeError
from qdialect.qparams import symmetric_scale
from qdialect.tensors import element_type
from qdialect.types import Granularity, UniformQuantizedType
from rewrites.retype import FunctionRetyper
from rewrites.scale_limits import located

CHOICES = ("weights", "activations", "all")


def symmetric(elem: Attribute) -> Attribute:
    """`elem` with zero points 0 and scales covering the same reals (signed storage only)."""
    if not (isinstance(elem, UniformQuantizedType) and elem.signed):
        return elem
    if elem.granularity is Granularity.SUB_CHANNEL or not any(elem.zero_points):
        return elem
    scales = [  # channels already at zero point 0 keep their scale
        s if z == 0 else symmetric_scale(s, z, elem.qmin, elem.qmax)
        for s, z in zip(elem.scales, elem.zero_points, strict=True)
    ]
    if elem.granularity is Granularity.PER_AXIS:
        return UniformQuantizedType.per_axis(
            elem.storage_spelling,
            elem.expressed_type,
            elem.axis,
            scales,
            qmin=elem.qmin,
            qmax=elem.qmax,
        )
    return UniformQuantizedType.per_tensor(
        elem.storage_spelling, elem.expressed_type, scales[0], qmin=elem.qmin, qmax=elem.qmax
    )


def is_weight(value: SSAValue) -> bool:
    return any(
        isinstance(use.operation, qnn.Conv2DOp | qnn.DotOp) and use.index == 1 for use in value.uses
    )


@dataclass(frozen=True)
class SymmetricSchemaPass(ModulePass):
    name = "symmetric-schema"

    values: str = "weights"

    def __post_init__(self) -> None:
        if self.values not in CHOICES:
            raise ValueError(f"values must be one of {list(CHOICES)}, got '{self.values}'")

    def _new_element(self, value: SSAValue) -> Attribute:
        elem = element_type(value.type)
        weight = is_weight(value)
        chosen = self.values == "all" or (self.values == "weights") == weight
        return symmetric(elem) if chosen else elem

    def _check(self, module: ModuleOp) -> None:
        """Every new scale computable, or a located refusal (the retyper cannot locate one)."""
        for op in module.walk():
            values = [*op.results, *(a for r in op.regions for b in r.blocks for a in b.args)]
            intermediate = op.properties.get("intermediate")
            try:
                for value in values:
                    self._new_element(value)
                if self.values != "weights" and isinstance(intermediate, UniformQuantizedType):
                    symmetric(intermediate)
            except ScaleRangeError as err:
                raise located(op, err) from None

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        self._check(op)
        intermediate = symmetric if self.values != "weights" else (lambda t: t)
        retyper = FunctionRetyper(self._new_element, new_intermediate=intermediate)
        for function in op.ops:
            if isinstance(function, func.FuncOp) and function.body.blocks:
                retyper.run(function)
