"""Retype the quantized values of a function, keeping (or not) its signature.

Shared by `u8-to-i8` and `symmetric-schema`: a pass gives the new element type of each value;
this module rebuilds the ops with the new types, requantizes constants that are storage-cast
into a changed type, inserts a same-meaning `qnn.requantize` at entry and before return when
the signature is kept, and converts raw integers crossing a storage cast.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import DenseArrayBase, FunctionType, TensorType
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter

from qdialect import qnn
from qdialect.arithmetic import requantize_value
from qdialect.constants import dense_array
from qdialect.quant_ops import StorageCastOp
from qdialect.storage import storage_bounds, wrap_to_storage
from qdialect.tensors import element_type
from qdialect.types import Granularity, UniformQuantizedType
from rewrites.common import dense_constant

ElementMap = Callable[[SSAValue], Attribute]  # value -> its new element type


def retyped(container: Attribute, element: Attribute) -> Attribute:
    if isinstance(container, TensorType):
        return TensorType(element, container.get_shape())
    return element


def requantize_constant(
    values: np.ndarray, source: Attribute, target: Attribute, declared_bounds: bool = False
) -> np.ndarray:
    """Storage values of `source` re-expressed in `target` (same shape), element by element.

    Saturation is to the full storage range, not the declared bounds, so that a constant
    holding values outside its bounds keeps them (u8→i8 must move every bit pattern);
    `declared_bounds` saturates to target's bounds instead, as `qnn.requantize` does.
    An axis `values` repeats along (stride 0, as in the broadcast view of a splat that
    `dense_array` gives) is requantized once and broadcast back, unless it is the quantized
    axis: a per-tensor splat stays a splat (`dense_constant` builds it back as one) at any
    size, and costs one requantization.
    """
    assert isinstance(source, UniformQuantizedType) and isinstance(target, UniformQuantizedType)
    axis = source.axis if source.granularity is Granularity.PER_AXIS else None
    distinct = values[
        tuple(
            slice(0, 1) if stride == 0 and dim != axis else slice(None)
            for dim, stride in enumerate(values.strides)
        )
    ]
    out = np.empty(distinct.shape, dtype=np.int64)
    bounds = (
        (target.qmin, target.qmax)
        if declared_bounds
        else storage_bounds(target.storage_width, target.signed)
    )
    for index, q in np.ndenumerate(distinct):
        c = 0 if axis is None else index[axis]
        stored = wrap_to_storage(int(q), source.storage_width, source.signed)  # scast: same bits
        out[index] = requantize_value(
            stored,
            (source.scales[c], source.zero_points[c]),
            (target.scales[c], target.zero_points[c]),
            *bounds,
        )
    return out if out.shape == values.shape else np.broadcast_to(out, values.shape)


@dataclass
class FunctionRetyper:
    """Rebuild one function with `new_element(value)` as each value's element type."""

    new_element: ElementMap
    keep_signature: bool = True
    raw_offsets: Callable[[Operation], DenseArrayBase | None] = lambda op: None
    new_intermediate: Callable[[Attribute], Attribute] = lambda t: t

    def run(self, function: func.FuncOp) -> None:
        block = function.body.block
        rewriter = Rewriter()
        self.mapping: dict[SSAValue, SSAValue] = {}
        original_ops = list(block.ops)
        # Decisions that depend on the original types are taken before any retyping.
        targets = {r: self._target(r) for op in original_ops for r in op.results} | {
            a: self._target(a) for a in block.args
        }
        offsets = {op: self.raw_offsets(op) for op in original_ops}
        for arg in block.args:
            if targets[arg] == arg.type or self._converted_already(arg, targets[arg]):
                continue
            if self.keep_signature:
                entry = qnn.RequantizeOp(arg, targets[arg])
                rewriter.insert_op(entry, InsertPoint.at_start(block))
                self.mapping[arg] = entry.result
            else:
                Rewriter.replace_value_with_new_type(arg, targets[arg])
        for old in original_ops:
            self._convert(old, rewriter, targets, offsets[old])
        if not self.keep_signature:
            returned = [v.type for v in block.last_op.operands]  # type: ignore[union-attr]
            function.function_type = FunctionType.from_lists([a.type for a in block.args], returned)

    def _target(self, value: SSAValue) -> Attribute:
        if self.keep_signature and self._boundary_conversion(value):
            return value.type
        return retyped(value.type, self.new_element(value))

    @staticmethod
    def _boundary_conversion(value: SSAValue) -> bool:
        """A requantize feeding only the return: a previous run's conversion to the signature."""
        uses = list(value.uses)
        return (
            isinstance(value.owner, qnn.RequantizeOp)
            and bool(uses)
            and all(isinstance(u.operation, func.ReturnOp) for u in uses)
        )

    def _converted_already(self, value: SSAValue, target: Attribute) -> bool:
        """Every use of `value` is a requantize to `target` (a previous run's)."""
        uses = list(value.uses)
        return bool(uses) and all(
            isinstance(u.operation, qnn.RequantizeOp) and u.operation.result.type == target
            for u in uses
        )

    def _convert(self, old: Operation, rewriter: Rewriter, targets, offsets) -> None:
        operands = [self.mapping.get(v, v) for v in old.operands]
        if isinstance(old, func.ReturnOp):
            self._convert_return(old, operands, rewriter)
            return
        properties = dict(old.properties)
        if offsets is not None:
            properties["raw_offsets"] = offsets
        if isinstance(properties.get("intermediate"), UniformQuantizedType):
            properties["intermediate"] = self.new_intermediate(properties["intermediate"])
        if isinstance(old, StorageCastOp):
            if targets[old.result] != old.result.type:
                if self._converted_already(old.result, targets[old.result]):
                    return
                values = dense_array(operands[0])
                if values is None:
                    # Raw bits from outside: keep the cast, requantize its result at once.
                    after = qnn.RequantizeOp(old.result, targets[old.result])
                    rewriter.insert_op(after, InsertPoint.after(old))
                    old.result.replace_uses_with_if(
                        after.result, lambda use: use.operation is not after
                    )
                    return
                new_values = requantize_constant(
                    values, element_type(old.result.type), element_type(targets[old.result])
                )
                constant = dense_constant(new_values, operands[0].type)  # type: ignore[arg-type]
                rewriter.insert_op(constant, InsertPoint.before(old))
                operands[0] = constant.result
            elif operands[0].type != old.input.type:
                # Raw bits leave the quantized world: hand them the original type's values.
                back = qnn.RequantizeOp(operands[0], old.input.type)
                rewriter.insert_op(back, InsertPoint.before(old))
                operands[0] = back.result
        result_types = [targets[r] for r in old.results]
        unchanged = (
            operands == list(old.operands)
            and result_types == [r.type for r in old.results]
            and properties == dict(old.properties)
        )
        if unchanged:
            return
        new = type(old).create(
            operands=operands,
            result_types=result_types,
            properties=properties,
            attributes=dict(old.attributes),
            successors=list(old.successors),
        )
        new.location = old.location
        rewriter.insert_op(new, InsertPoint.before(old))
        for before, after in zip(old.results, new.results, strict=True):
            after.name_hint = before.name_hint
            self.mapping[before] = after
            before.replace_all_uses_with(after)
        rewriter.erase_op(old)

    def _convert_return(self, old: func.ReturnOp, operands, rewriter: Rewriter) -> None:
        if self.keep_signature:
            outputs = old.parent_op().function_type.outputs.data  # type: ignore[union-attr]
            fixed = []
            for value, wanted in zip(operands, outputs, strict=True):
                if value.type != wanted:
                    back = qnn.RequantizeOp(value, wanted)
                    rewriter.insert_op(back, InsertPoint.before(old))
                    value = back.result
                fixed.append(value)
            operands = fixed
        old.operands = operands
