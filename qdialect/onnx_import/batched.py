"""Batched QLinearMatMul / MatMulInteger (`[..., M, K] x [..., K, N]`, ONNX MatMul broadcasting)
in the ops we already run, so no kernel learns a new shape.

`qnn.dot` multiplies `[..., M, K]` by one `[K, N]` matrix. A batched right-hand side becomes:
- batch of ones: that one matrix (`dot`);
- left-hand side without a batch: one `dot` against the matrices side by side, `[K, P·N]`;
- equal batches: a grouped 1×1 `conv2d`, one group per batch element — input `[1, P·K, M, 1]`,
  weight `[P·N, K, 1, 1]`, `groups = P` — whose sums are exactly the per-batch products;
- batches that broadcast both ways (`[2, 1] x [3]`): both expanded (`qnn.broadcast`) to equal
  batches first.
A 1-D operand is reshaped to one row (lhs) or one column (rhs) and that axis dropped after.
Every sum is the same exact int32 `Σ (a - za)(b - zb)` and the requantization is per tensor,
so each form gives the bits `dot` would. Moving data costs transposes and reshapes only.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from xdsl.dialects.builtin import Float32Type, TensorType, UnitAttr
from xdsl.ir import SSAValue

from qdialect import qnn
from qdialect.onnx_import.builders import (
    build_dot,
    concatenated,
    conv_props,
    reshaped,
    sliced,
    transposed,
)
from qdialect.onnx_import.common import broadcast_shape, shape_of, tensor_type
from qdialect.onnx_import.errors import NodeError
from qdialect.onnx_import.graph import GraphImporter
from qdialect.tensors import element_type

ResultType = Callable[[list[int]], TensorType]


def build_matmul(g: GraphImporter, node, a: SSAValue, b: SSAValue, result_type: ResultType) -> None:
    """`node`'s output: `a @ b` with ONNX MatMul broadcasting over the batch dimensions. A 1-D
    operand is a matrix of one row (`a`) or one column (`b`) whose axis the result drops, as
    ORT's `MatMulComputeHelper` multiplies it."""
    sa, sb = shape_of(a), shape_of(b)
    if not sa or not sb:
        raise NodeError(f"operands must have rank >= 1; got shapes {list(sa)}, {list(sb)}")
    if sa[-1] != sb[-2 if len(sb) > 1 else 0]:
        raise NodeError(f"contraction sizes differ: {list(sa)} x {list(sb)}")
    rows = [sa[-2]] if len(sa) > 1 else []
    columns = [sb[-1]] if len(sb) > 1 else []
    shape = [*broadcast_shape(sa[:-2], sb[:-2]), *rows, *columns]
    if len(sa) == 1:
        a = reshaped(g, a, [1, sa[0]])
    if len(sb) == 1:
        b = reshaped(g, b, [sb[0], 1])
    if len(sa) > 1 and len(sb) == 2:
        build_dot(g, node, a, b, [], result_type)
        return
    g.define(node.output[0], reshaped(g, _product(g, a, b, result_type), shape, node.output[0]))


def _product(g: GraphImporter, a: SSAValue, b: SSAValue, result_type: ResultType) -> SSAValue:
    """`a @ b` of operands of rank >= 2 as `[*batch, M, N]`. Batch dimensions that broadcast
    both ways are expanded first: ORT multiplies each pair of matrices on its own, as it does
    equal batches."""
    sa, sb = shape_of(a), shape_of(b)
    if len(sb) == 2:
        return _dot(g, a, b, result_type, [*sa[:-1], sb[-1]])
    batch = list(broadcast_shape(sa[:-2], sb[:-2]))
    (m, k), n, count = sa[-2:], sb[-1], math.prod(batch)
    if math.prod(sb[:-2]) == 1:
        return _dot(g, a, reshaped(g, b, [k, n]), result_type, [*sa[:-1], n])
    if math.prod(sa[:-2]) == 1:
        return _side_by_side(g, reshaped(g, a, [m, k]), b, result_type, count)
    if list(sa[:-2]) != batch:
        a = _expanded(g, reshaped(g, a, [*[1] * (len(batch) + 2 - len(sa)), *sa]), [*batch, m, k])
    if list(sb[:-2]) != batch:
        b = _expanded(g, reshaped(g, b, [*[1] * (len(batch) + 2 - len(sb)), *sb]), [*batch, k, n])
    return _grouped_conv(g, a, b, result_type, count)


def _expanded(g: GraphImporter, value: SSAValue, shape: list[int]) -> SSAValue:
    elem = element_type(value.type)
    return g.add(qnn.BroadcastOp.create(operands=[value], result_types=[tensor_type(shape, elem)]))


def _dot(g: GraphImporter, a: SSAValue, b: SSAValue, result_type: ResultType, shape) -> SSAValue:
    return g.add(qnn.DotOp.build(operands=[a, b, [], []], result_types=[result_type(shape)]))


def _side_by_side(
    g: GraphImporter, a: SSAValue, b: SSAValue, result_type: ResultType, count: int
) -> SSAValue:
    """`[M, K] x [P, K, N]` as `[M, K] x [K, P·N]`, back to `[P, M, N]`; in float, one dot per
    batch element, concatenated: MLAS sums each element's GEMM of N columns (float_sum.py)."""
    (m, k), n = shape_of(a), shape_of(b)[-1]
    if isinstance(element_type(a.type), Float32Type):
        matrices = reshaped(g, b, [count, k, n])
        parts = []
        for p in range(count):
            rhs = reshaped(g, sliced(g, matrices, {0: range(p, p + 1)}), [k, n])
            parts.append(reshaped(g, _dot(g, a, rhs, result_type, [m, n]), [1, m, n]))
        return concatenated(g, parts, 0, result_type)
    columns = transposed(g, reshaped(g, b, [count, k, n]), (1, 0, 2))
    y = _dot(g, a, reshaped(g, columns, [k, count * n]), result_type, [m, count * n])
    return transposed(g, reshaped(g, y, [m, count, n]), (1, 0, 2))


def _grouped_conv(
    g: GraphImporter, a: SSAValue, b: SSAValue, result_type: ResultType, count: int
) -> SSAValue:
    """`[P, M, K] x [P, K, N]` as a 1×1 conv with `P` groups, back to `[P, M, N]`."""
    (m, k), n = shape_of(a)[-2:], shape_of(b)[-1]
    rows = transposed(g, reshaped(g, a, [count, m, k]), (0, 2, 1))
    x = reshaped(g, rows, [1, count * k, m, 1])
    cols = transposed(g, reshaped(g, b, [count, k, n]), (0, 2, 1))
    w = reshaped(g, cols, [count * n, k, 1, 1])
    window = {"strides": [1, 1], "pads": [0, 0, 0, 0], "dilations": [1, 1]}
    properties = conv_props(window, count)
    if isinstance(element_type(x.type), Float32Type):  # MLAS's GEMM per batch element sums
        properties["batched_matmul"] = UnitAttr()
    conv = qnn.Conv2DOp.build(
        operands=[x, w, [], []],
        result_types=[result_type([1, count * n, m, 1])],
        properties=properties,
    )
    y = reshaped(g, g.add(conv), [count, n, m])
    return transposed(g, y, (0, 2, 1))
