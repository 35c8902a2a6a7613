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

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import DenseArrayBase, ModuleOp, i64
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.passes import ModulePass

from qdialect import qnn
from qdialect.tensors import element_type
from qdialect.types import UniformQuantizedType
from rewrites.retype import FunctionRetyper

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


def _offset(value_type: Attribute) -> int:
    return SHIFT if is_u8(element_type(value_type)) else 0


def raw_offsets(op: Operation) -> DenseArrayBase | None:
    """The raw offsets an op needs once its u8 operands become i8 (None: not needed)."""
    if isinstance(op, qnn.AddOp | qnn.MulOp):
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


def _new_element(value: SSAValue) -> Attribute:
    return to_i8(element_type(value.type))


@dataclass(frozen=True)
class U8ToI8Pass(ModulePass):
    name = "u8-to-i8"

    keep_signature: bool = True

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        retyper = FunctionRetyper(_new_element, self.keep_signature, raw_offsets, to_i8)
        for function in op.ops:
            if isinstance(function, func.FuncOp) and function.body.blocks:
                retyper.run(function)
