"""Einsum as ONNX Runtime 1.31's CPU kernel computes it (`einsum_compute_preprocessor.cc`,
`einsum_typed_compute_processor.cc`), imported as the standard steps it takes, each of which
the importer already computes bit for bit:

- each input: a repeated letter's diagonal (a gather), then a transpose to subscript order
  (letters in order of first appearance, ellipsis dimensions first) and a reshape to every
  subscript, 1 where the input lacks it;
- the first input's own letters (in no later input, not in the output) summed by one
  ReduceSum (keepdims);
- then, left to right, each next input contracted with the running result: a letter summed
  at this step that only one side holds (size above 1) is summed there first, one ReduceSum
  per axis; the rest is one MatMul of [batch, rows, sum] by [batch, sum, columns] (the
  summed letters row-major in subscript order), whose B MLAS reads as it is (never
  prepacked, a constant too: `qnn.dot {streamed_rhs}`);
- the result transposed to the output's order.

Sums therefore run in ORT's order: its ReduceSum paths and MLAS's SGEMM kernels by shape
(M = 1, N = 1, or the packed FMA blocks), measured bit for bit against 1.31.1."""

from __future__ import annotations

import math
import re
import string
from dataclasses import dataclass

import numpy as np
from xdsl.dialects.builtin import UnitAttr, f32

from qdialect import qnn
from qdialect.onnx_import.batched import build_matmul
from qdialect.onnx_import.builders import float_value
from qdialect.onnx_import.common import attrs, shape_of, tensor_type
from qdialect.onnx_import.compositions import Steps
from qdialect.onnx_import.errors import NodeError
from qdialect.onnx_import.graph import GraphImporter
from qdialect.onnx_import.registry import handles

LETTERS = string.ascii_lowercase + string.ascii_uppercase
STREAMED_MATMUL = "qdialect.streamed_matmul"  # a step type no model can name
_TERM = re.compile(r"^[a-zA-Z]*(\.\.\.)?[a-zA-Z]*$")


@dataclass(frozen=True)
class Subscripts:
    """An equation read as ORT reads it: subscript indices 0.. (the ellipsis' dimensions
    first, then the letters in order of first appearance)."""

    inputs: tuple[tuple[int, ...], ...]  # each input axis' subscript
    output: tuple[int, ...]
    sizes: tuple[int, ...]  # per subscript (a broadcast 1 takes another input's size)
    last_input: tuple[int, ...]  # per subscript: the last input holding it; -1: in the output


def _split(term: str, rank: int, where: str) -> tuple[str, int, str]:
    """(letters before `...`, the dimensions it stands for, letters after)."""
    if not _TERM.match(term):
        raise NodeError(f"{where} '{term}' must be letters with at most one '...'")
    before, dots, after = term.partition("...")
    letters = len(before) + len(after)
    if (not dots and letters != rank) or letters > rank:
        raise NodeError(f"{where} '{term}' does not match the input's rank {rank}")
    return before, rank - letters if dots else 0, after


def parse(equation: str, shapes: list[tuple[int, ...]]) -> Subscripts:
    """`EinsumComputePreprocessor`'s reading of `equation` for inputs of `shapes`."""
    equation = equation.replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise NodeError(f"equation has {len(terms)} input terms for {len(shapes)} inputs")
    split = [
        _split(t, len(s), f"input term #{i}")
        for i, (t, s) in enumerate(zip(terms, shapes, strict=True))
    ]
    dims = {e for _, e, _ in split if e}
    if len(dims) > 1:
        raise NodeError(f"'...' stands for {sorted(dims)} dimensions in different terms")
    ellipsis = dims.pop() if dims else 0
    letters = list(dict.fromkeys(c for t in terms for c in t if c != "."))
    index = {c: ellipsis + i for i, c in enumerate(letters)}
    count = {c: sum(t.count(c) for t in terms) for c in letters}
    if ellipsis + len(letters) > len(LETTERS):
        raise NodeError(f"{ellipsis + len(letters)} subscripts are more than einsum's 52")
    sizes, last = [1] * (ellipsis + len(letters)), [0] * (ellipsis + len(letters))
    inputs = []
    for n, ((before, dots, after), shape) in enumerate(zip(split, shapes, strict=True)):
        axes = [index[c] for c in before] + list(range(dots)) + [index[c] for c in after]
        for axis, (sub, size) in enumerate(zip(axes, shape, strict=True)):
            if size != 1 and sizes[sub] not in (1, size):
                raise NodeError(f"input #{n} axis {axis} has size {size}, not {sizes[sub]}")
            sizes[sub] = size if size != 1 else sizes[sub]
            last[sub] = n
        inputs.append(tuple(axes))
    if arrow:
        before, dots, after = rhs.partition("...")
        if not _TERM.match(rhs) or len(set(before + after)) != len(before + after):
            raise NodeError(f"output term '{rhs}' must be distinct letters, at most one '...'")
        unknown = [c for c in before + after if c not in index]
        if unknown:
            raise NodeError(f"output letter '{unknown[0]}' is in no input term")
        if ellipsis and not dots:
            raise NodeError(f"output term '{rhs}' needs '...' (the inputs have one)")
        output = (
            [index[c] for c in before]
            + list(range(ellipsis if dots else 0))
            + [index[c] for c in after]
        )
    else:  # "..." then the letters seen once, alphabetically (ORT spells only a-z so)
        once = sorted((c for c in letters if count[c] == 1), key=LETTERS.index)
        if any(c.isupper() for c in once):
            raise NodeError("an implicit output with an upper-case letter is not imported")
        output = list(range(ellipsis)) + [index[c] for c in once]
    for sub in output:
        last[sub] = -1
    return Subscripts(tuple(inputs), tuple(output), tuple(sizes), tuple(last))


class _Contraction:
    """The steps of one Einsum node, with the shape of each value they define."""

    def __init__(self, g: GraphImporter, node, subscripts: Subscripts) -> None:
        self.steps, self.subs = Steps(g, node), subscripts
        self.rank = len(subscripts.sizes)
        self.shapes: dict[str, tuple[int, ...]] = {}

    def add(self, shape: tuple[int, ...], op_type: str, inputs: list[str], **attributes) -> str:
        name = self.steps.add(op_type, inputs, **attributes)
        self.shapes[name] = tuple(shape)
        return name

    def reshape(self, x: str, shape: tuple[int, ...]) -> str:
        if self.shapes[x] == tuple(shape):
            return x
        return self.add(shape, "Reshape", [x, self.steps.constant(np.array(shape, np.int64))])

    def transpose(self, x: str, perm: list[int]) -> str:
        if perm == sorted(perm):
            return x
        shape = self.shapes[x]
        return self.add(tuple(shape[p] for p in perm), "Transpose", [x], perm=perm)

    def reduce(self, x: str, axes: list[int]) -> str:
        shape = tuple(1 if i in axes else d for i, d in enumerate(self.shapes[x]))
        axes_name = self.steps.constant(np.array(axes, np.int64))
        return self.add(shape, "ReduceSum", [x, axes_name], keepdims=1)

    def homogenized(self, x: str, axes: tuple[int, ...]) -> str:
        """Input `x` (subscripts `axes`) as a rank-`self.rank` tensor in subscript order."""
        shape = self.shapes[x]
        distinct = sorted(set(axes))
        if len(distinct) < len(axes):  # a diagonal: the positions it reads, gathered
            labels = "".join(LETTERS[a] for a in axes)
            wanted = "".join(LETTERS[a] for a in distinct)
            positions = np.einsum(f"{labels}->{wanted}", np.arange(math.prod(shape)).reshape(shape))
            flat = self.reshape(x, (math.prod(shape),))
            picked = self.add(
                (positions.size,), "Gather", [flat, self.steps.constant(positions.ravel())], axis=0
            )
            x = self.reshape(picked, positions.shape)
        else:
            x = self.transpose(x, sorted(range(len(axes)), key=lambda i: axes[i]))
        kept = dict(zip(distinct, self.shapes[x], strict=True))
        return self.reshape(x, tuple(kept.get(i, 1) for i in range(self.rank)))

    def pairwise(self, left: str, right: str, summed: list[int]) -> str:
        """`PairwiseOperandProcess`: the running result times the next input, in subscript
        order (the summed subscripts of size 1)."""
        batch, rows, columns, k = [], [], [], 1
        for i in range(self.rank):
            in_left, in_right = self.shapes[left][i] > 1, self.shapes[right][i] > 1
            if i in summed:
                if in_left and in_right:
                    k *= self.shapes[left][i]
                elif in_left:
                    left = self.reduce(left, [i])
                elif in_right:
                    right = self.reduce(right, [i])
            elif in_left and in_right:
                batch.append(i)
            elif in_left:
                rows.append(i)
            else:
                columns.append(i)
        ls, rs = self.shapes[left], self.shapes[right]
        sizes = [math.prod(ls[i] for i in batch), math.prod(ls[i] for i in rows)]
        n = math.prod(rs[i] for i in columns)
        a = self.transpose(left, batch + rows + summed + columns)
        b = self.transpose(right, batch + summed + columns + rows)
        if sizes[0] == 1:  # one GEMM: a 2-D MatMul
            a, b = self.reshape(a, (sizes[1], k)), self.reshape(b, (k, n))
            product = self.add((sizes[1], n), STREAMED_MATMUL, [a, b])
        else:
            a, b = self.reshape(a, (*sizes, k)), self.reshape(b, (sizes[0], k, n))
            product = self.add((*sizes, n), STREAMED_MATMUL, [a, b])
        order = batch + rows + summed + columns
        shape = [ls[i] for i in batch + rows] + [1] * len(summed) + [rs[i] for i in columns]
        product = self.reshape(product, tuple(shape))
        return self.transpose(product, [order.index(i) for i in range(self.rank)])


def _streamed_matmul(g: GraphImporter, node) -> None:
    """MLAS's SGEMM of two operands as they are (Einsum's `MatMul<float>`: B not prepacked)."""
    a, b = g.value(node.input[0]), g.value(node.input[1])
    last = g.block.last_op
    build_matmul(g, node, a, b, lambda shape: tensor_type(shape, f32))
    for op in g.added_since(last):
        if isinstance(op, qnn.DotOp):
            op.properties["streamed_rhs"] = UnitAttr()


@handles("Einsum")
def einsum(g: GraphImporter, node) -> None:
    equation = attrs(node).get("equation")
    if not isinstance(equation, str | bytes):
        raise NodeError("the equation attribute is missing")
    equation = equation.decode() if isinstance(equation, bytes) else equation
    values = [float_value(g, name) for name in node.input]
    subscripts = parse(equation, [shape_of(v) for v in values])
    c = _Contraction(g, node, subscripts)
    for name, v in zip(node.input, values, strict=True):
        c.shapes[name] = shape_of(v)
    pairs = zip(node.input, subscripts.inputs, strict=True)
    operands = [c.homogenized(name, axes) for name, axes in pairs]
    result = operands[0]
    first = [i for i in range(c.rank) if subscripts.last_input[i] == 0]
    if first:
        result = c.reduce(result, first)
    for n in range(1, len(operands)):
        summed = [i for i in range(c.rank) if subscripts.last_input[i] == n]
        result = c.pairwise(result, operands[n], summed)
    out = subscripts.output
    kept = sorted(out)
    result = c.reshape(result, tuple(subscripts.sizes[i] for i in kept))
    result = c.transpose(result, [kept.index(i) for i in out])
    steps = c.steps.nodes
    if steps and steps[-1].output[0] == result:
        steps[-1].output[0] = node.output[0]
    else:  # no step at all ("ij->ij"): ORT copies
        c.steps.add("Identity", [result], node.output[0])
    c.steps.run({STREAMED_MATMUL: _streamed_matmul})
