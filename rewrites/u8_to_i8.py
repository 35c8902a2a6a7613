"""`u8-to-i8`: Glow's int8-canonical form.

A u8 type with zero point z holds the same reals as i8 with zero point z − 128 and data
`q ^ 0x80`; bounds shift alike (DESIGN §2). Inside each function every `!quant.uniform<u8…>`
value becomes that i8 type and u8 constants are shifted. The signature stays u8 unless
`keep-signature=false`: a same-scale `qnn.requantize` converts at entry and before return.

Every formula sees only `q - zp`, so the move changes no bit — except the raw-value rounding
of `qnn.add`, `qnn.avg_pool2d` and a conv/dot's fused add; those ops get `raw_offsets` of
128 for each operand that was u8, so their kernels still round the u8 values. `!quant.any`
types (unfolded scaled builders) are left alone, and raw integers from outside the function
cast into a u8 type keep that one u8 value, requantized to i8 right after the cast.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import DenseArrayBase, FunctionType, ModuleOp, TensorType, i64
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from qdialect import qnn
from qdialect.quant_ops import StorageCastOp
from qdialect.tensors import element_type
from qdialect.types import UniformQuantizedType
from rewrites.common import constant_values, dense_constant

SHIFT = 128


def is_u8(elem: Attribute) -> bool:
    return isinstance(elem, UniformQuantizedType) and not elem.signed and elem.storage_width == 8


def to_i8(elem: Attribute) -> Attribute:
    """The i8 twin of a u8 uniform type; other types unchanged."""
    if not is_u8(elem):
        return elem
    assert isinstance(elem, UniformQuantizedType)
    return elem.with_storage(
        "i8", [z - SHIFT for z in elem.zero_points], elem.qmin - SHIFT, elem.qmax - SHIFT
    )


def convert(container: Attribute) -> Attribute:
    if isinstance(container, TensorType):
        return TensorType(to_i8(container.element_type), container.get_shape())
    return to_i8(container)


def _offset(value_type: Attribute) -> int:
    return SHIFT if is_u8(element_type(value_type)) else 0


def _raw_offsets(op: Operation) -> DenseArrayBase | None:
    """The raw offsets an op needs once its u8 operands become i8 (None: not needed)."""
    if isinstance(op, qnn.AddOp):
        types = [op.lhs.type, op.rhs.type, op.result.type]
    elif isinstance(op, qnn.AvgPool2DOp):
        types = [op.input.type, op.result.type]
    elif isinstance(op, qnn.Conv2DOp | qnn.DotOp) and isinstance(
        op.intermediate, UniformQuantizedType
    ):
        types = [op.intermediate, op.addend.type, op.result.type]
    else:
        return None
    offsets = [_offset(t) for t in types]
    return DenseArrayBase.from_list(i64, offsets) if any(offsets) else None


def _already_converted(value: SSAValue) -> bool:
    """A u8 value whose every use is the requantize to its i8 twin (a previous run's)."""
    uses = list(value.uses)
    return bool(uses) and all(
        isinstance(u.operation, qnn.RequantizeOp) and u.operation.result.type == convert(value.type)
        for u in uses
    )


@dataclass(frozen=True)
class U8ToI8Pass(ModulePass):
    name = "u8-to-i8"

    keep_signature: bool = True

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for function in op.ops:
            if isinstance(function, func.FuncOp) and function.body.blocks:
                self._convert_function(function)

    def _convert_function(self, function: func.FuncOp) -> None:
        block = function.body.block
        rewriter = Rewriter()
        mapping: dict[SSAValue, SSAValue] = {}
        original_ops = list(block.ops)
        # Raw offsets depend on the original operand types: read them before any retyping.
        offsets = {op: _raw_offsets(op) for op in original_ops}
        for arg in block.args:
            if convert(arg.type) == arg.type or _already_converted(arg):
                continue
            if self.keep_signature:
                entry = qnn.RequantizeOp(arg, convert(arg.type))
                rewriter.insert_op(entry, InsertPoint.at_start(block))
                mapping[arg] = entry.result
            else:
                Rewriter.replace_value_with_new_type(arg, convert(arg.type))
        for old in original_ops:
            self._convert_op(old, mapping, rewriter, offsets[old])
        if not self.keep_signature:
            function.function_type = FunctionType.from_lists(
                [a.type for a in block.args], [convert(t) for t in function.function_type.outputs]
            )

    def _convert_op(
        self,
        old: Operation,
        mapping: dict[SSAValue, SSAValue],
        rewriter: Rewriter,
        offsets: DenseArrayBase | None,
    ) -> None:
        operands = [mapping.get(v, v) for v in old.operands]
        if isinstance(old, func.ReturnOp):
            outputs = old.parent_op().function_type.outputs.data  # type: ignore[union-attr]
            fixed = []
            for value, wanted in zip(operands, outputs, strict=True):
                if self.keep_signature and value.type != wanted:
                    back = qnn.RequantizeOp(value, wanted)
                    rewriter.insert_op(back, InsertPoint.before(old))
                    value = back.result
                fixed.append(value)
            old.operands = fixed
            return
        properties = dict(old.properties)
        if offsets is not None:
            properties["raw_offsets"] = offsets
        if isinstance(old.properties.get("intermediate"), UniformQuantizedType):
            properties["intermediate"] = to_i8(old.properties["intermediate"])
        if isinstance(old, StorageCastOp) and is_u8(element_type(old.result.type)):
            if _already_converted(old.result):
                return
            if constant_values(operands[0]) is None:
                # Raw bits from outside: keep the u8 cast and requantize its result at once.
                after = qnn.RequantizeOp(old.result, convert(old.result.type))
                rewriter.insert_op(after, InsertPoint.after(old))
                old.result.replace_uses_with_if(
                    after.result, lambda use: use.operation is not after
                )
                return
            operands[0] = self._shifted_constant(operands[0], rewriter, old)
        if isinstance(old, StorageCastOp) and is_u8(element_type(old.input.type)):
            # Raw u8 bits leave the function: give them the u8 values back.
            back = qnn.RequantizeOp(operands[0], old.input.type)
            rewriter.insert_op(back, InsertPoint.before(old))
            operands[0] = back.result
        result_types = [convert(r.type) for r in old.results]
        if (
            operands == list(old.operands)
            and result_types == [r.type for r in old.results]
            and (properties == dict(old.properties))
        ):
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
            mapping[before] = after
            before.replace_all_uses_with(after)
        rewriter.erase_op(old)

    def _shifted_constant(self, value: SSAValue, rewriter: Rewriter, user: Operation) -> SSAValue:
        """A u8 constant's bits as the i8 twin stores them (q ^ 0x80)."""
        values = constant_values(value)
        assert values is not None
        shifted = ((values.astype(np.int64) & 0xFF) ^ 0x80).astype(np.uint8).view(np.int8)
        constant = dense_constant(shifted.astype(np.int64), value.type)  # type: ignore[arg-type]
        rewriter.insert_op(constant, InsertPoint.before(user))
        return constant.result
