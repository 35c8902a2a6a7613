"""Where each value of a function lives: the buffer plan.

Arguments and results are pointers the caller passes, constants are pointers handed in at load
time (the constant table), and intermediates live in one arena whose offsets are planned here by
a linear scan (buffers whose lifetimes do not overlap share space). A result that is returned
is computed straight into the caller's output buffer.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects import arith, func, tensor
from xdsl.dialects.builtin import TensorType, f32, i64
from xdsl.ir import Operation, SSAValue

from codegen.c_text import CodegenError, buffer_ctype, c_sizeof, ctype_of
from qdialect.constants import dense_array, packed_attr, reinterpret_bits
from qdialect.quant_ops import StorageCastOp
from qdialect.storage import integer_signature
from qdialect.tensors import element_type

ALIGNMENT = 64  # arena buffers start on a cache line


def shape_of(value: SSAValue) -> tuple[int, ...]:
    assert isinstance(value.type, TensorType)
    return tuple(value.type.get_shape())


def nbytes(value: SSAValue) -> int:
    return math.prod(shape_of(value)) * c_sizeof(buffer_ctype(element_type(value.type)))


def aligned(size: int, alignment: int = ALIGNMENT) -> int:
    return (size + alignment - 1) // alignment * alignment


@dataclass
class Plan:
    """Buffers of one function: where each value lives and the arena size."""

    inputs: list[SSAValue]
    outputs: list[SSAValue]
    constants: list[tuple[SSAValue, np.ndarray]] = field(default_factory=list)
    arena_offsets: dict[SSAValue, int] = field(default_factory=dict)
    arena_size: int = 0
    # Results a kernel writes straight into the caller's output buffer (index), never copied.
    direct: dict[SSAValue, int] = field(default_factory=dict)
    # Indices of the constant table the C reads (through `expr`/`add_constant`); the others
    # (e.g. weights a kernel reads packed) need not be handed in at all.
    referenced: set[int] = field(default_factory=set)
    # The entry of each `add_data` array, by the value of the op that reads it.
    data_slots: dict[SSAValue, int] = field(default_factory=dict)
    # Reshape results that are their source's buffer under a new shape (no copy), by source
    aliases: dict[SSAValue, SSAValue] = field(default_factory=dict)
    # Each `add_constant` entry by its element type and contents: kernels that pack one weight
    # alike (an unrolled LSTM's 2 x steps products of W and R, or of equal slices of R) share
    # one copy, which stays in cache
    packed: dict[tuple[str, str, tuple[int, ...], bytes], int] = field(default_factory=dict)

    def constant_data(self, value: SSAValue) -> np.ndarray | None:
        """The stored values of a constant (or of a storage cast of one), else None."""
        return next((array for constant, array in self.constants if constant is value), None)

    def add_constant(self, value: SSAValue, array: np.ndarray) -> str:
        """One more entry of the constant table, e.g. weights packed for a kernel, under the
        value it derives from; `array` must already have that value's storage dtype (the
        runtime converts each constant to it); an equal entry of the same element type is
        reused. Returns the entry's C expression."""
        digest = hashlib.blake2b(np.ascontiguousarray(array).tobytes()).digest()
        key = (str(element_type(value.type)), array.dtype.str, array.shape, digest)
        if key not in self.packed:
            self.constants.append((value, array))
            self.packed[key] = len(self.constants) - 1
        index = self.packed[key]
        self.referenced.add(index)
        return f"constants[{index}]"

    def add_data(self, array: np.ndarray, reader: SSAValue) -> str:
        """Kernel data that no value of the function holds (a histogram's bin edges), as a
        constant of its own: the C reads it at run time, so the C text, and the compiled
        object, stay the same when only the data changes (`data_slots[reader]` says which
        entry to replace). Returns the entry's C expression."""
        data = np.ascontiguousarray(array)
        ttype = TensorType(f32 if data.dtype == np.float32 else i64, list(data.shape))
        holder = arith.ConstantOp(packed_attr(data, ttype), ttype)  # in no block: no op reads it
        self.constants.append((holder.result, data))  # (its own entry, shared with none)
        index = self.data_slots[reader] = len(self.constants) - 1
        self.referenced.add(index)
        return f"constants[{index}]"

    def root(self, value: SSAValue) -> SSAValue:
        """The value whose buffer `value` is (itself, unless a reshape aliases it)."""
        while value in self.aliases:
            value = self.aliases[value]
        return value

    def expr(self, value: SSAValue) -> str:
        """The C expression of a value's buffer."""
        ctype = buffer_ctype(element_type(value.type))
        value = self.root(value)
        if value in self.inputs:
            return f"(({ctype} *)inputs[{self.inputs.index(value)}])"
        if value in self.direct:
            return f"(({ctype} *)outputs[{self.direct[value]}])"
        for index, (constant, _) in enumerate(self.constants):
            if constant is value:
                self.referenced.add(index)
                return f"(({ctype} *)constants[{index}])"
        return f"(({ctype} *)((char *)arena + {self.arena_offsets[value]}))"


def _takes_over(op: tensor.ReshapeOp, plan: Plan, last_use: dict, index: int) -> bool:
    """Whether a reshape can be its source's buffer: the source is an input (which no kernel
    writes) or an arena intermediate this reshape reads last, and the result is no output of
    the function (those are written in the caller's buffer)."""
    source, result = op.source, op.results[0]
    owned = source in plan.arena_offsets and last_use.get(source) == index
    return (
        (plan.root(source) in plan.inputs or owned)
        and result not in plan.direct
        and nbytes(result) == nbytes(source)
    )


def constant_table(ops: list[Operation]) -> list[tuple[SSAValue, np.ndarray]]:
    """The values handed in at load time: constants, and storage casts of them (the same
    stored bits under a second name, in the result's storage dtype: a u8 weight's i8
    constant -56 is 200), in op order. A splat stays the broadcast view `dense_array` reads
    (its one value, whatever its size; no C literal holds constant data): the runtime fills
    its buffer when it loads the unit (runtime.compiled), as for any other entry."""
    table: dict[SSAValue, np.ndarray] = {}
    for op in ops:
        if isinstance(op, arith.ConstantOp):
            values = dense_array(op)
            if values is None:
                raise CodegenError(f"only dense tensor constants are compiled, got {op.value}")
            table[op.result] = values
        elif isinstance(op, StorageCastOp) and op.input in table:
            elem = element_type(op.result.type)
            stored = np.dtype(ctype_of(elem).removesuffix("_t"))
            width, signed = integer_signature(elem)
            table[op.result] = reinterpret_bits(table[op.input], width, signed, stored)
    return list(table.items())


def plan_buffers(function: func.FuncOp, ops: list[Operation]) -> Plan:
    """Arena offsets by a linear scan: a buffer is free after its last use. Constants take no
    arena space; a result that is returned is computed in its output buffer instead (the first,
    if returned twice); a reshape of an input, or the last reader of an intermediate, is its
    source's buffer (`aliases`: the same bytes in the same order, nothing to copy)."""
    block = function.body.block
    plan = Plan(list(block.args), list(block.last_op.operands))  # type: ignore[union-attr]
    plan.constants = constant_table(ops)
    constants = {value for value, _ in plan.constants}
    for index, value in reversed(list(enumerate(plan.outputs))):
        if value not in constants and value not in plan.inputs:
            plan.direct[value] = index
    last_use: dict[SSAValue, int] = {}
    for index, op in enumerate(ops):
        for operand in op.operands:
            last_use[operand] = index
    for value in plan.outputs:  # copied out after the last kernel
        last_use[value] = len(ops)
    free: list[tuple[int, int]] = []  # (offset, size)
    live: list[tuple[int, SSAValue]] = []
    for index, op in enumerate(ops):
        for end, value in list(live):
            if end < index:
                live.remove((end, value))
                free.append((plan.arena_offsets[value], nbytes(value)))
        if isinstance(op, tensor.ReshapeOp) and _takes_over(op, plan, last_use, index):
            source, result = op.source, op.results[0]
            plan.aliases[result] = source
            if source in plan.arena_offsets:  # the buffer now lives as long as the result
                plan.arena_offsets[result] = plan.arena_offsets[source]
                live = [(end, value) for end, value in live if value is not source]
                live.append((max(last_use.get(result, index), index), result))
            continue
        for result in op.results:
            if result in plan.direct or result in constants:
                continue
            size = aligned(nbytes(result))
            slot = next((f for f in sorted(free) if f[1] >= size), None)
            if slot is not None:
                free.remove(slot)
                plan.arena_offsets[result] = slot[0]
            else:
                plan.arena_offsets[result] = plan.arena_size
                plan.arena_size += size
            live.append((max(last_use.get(result, index), index), result))
    return plan
