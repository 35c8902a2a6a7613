"""`batched-matmul-roles`: an integer batched MatMul runs without its transposes.

The importer writes `[P, M, K] x [P, K, N]` (attention's scores and context) as a grouped 1×1
conv whose input is `A` transposed to `[1, P·K, M, 1]` and whose weights are `B` transposed to
`[P·N, K, 1, 1]`, and transposes the `[P, N, M]` it gives back to `[P, M, N]`
(`qdialect/onnx_import/batched.py`); in float that is the layout whose sums follow MLAS's GEMM.
Once `fold-qdq` has made the conv an integer one, the roles can swap: with `B` itself as the
input (`[1, P·K, N, 1]`: `B` is `[P·K, N]` row-major) and `A` itself as the weights
(`[P·M, K, 1, 1]`), the conv's output is `[P, M, N]` as it stands, and the three transposes go.
Each output is the same exact int32 `Σ_k (a - za)(b - zb)` requantized per tensor with the same
multiplier (`fl(sa·sb)` is `fl(sb·sa)`), so no value changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import tensor
from xdsl.dialects.builtin import ModuleOp, TensorType, i64
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint

from qdialect import qnn
from qdialect.qnn.modes import Layout
from qdialect.tensors import element_type
from qdialect.types import Granularity, UniformQuantizedType
from rewrites.common import dense_constant, single_use


def _swapped_last_two(op: Operation | None) -> SSAValue | None:
    """The 3-D tensor a `(0, 2, 1)` transpose reads, if `op` is one."""
    if not isinstance(op, qnn.TransposeOp) or tuple(op.permutation.get_values()) != (0, 2, 1):
        return None
    return op.input


def _reshaped_from(value: SSAValue) -> SSAValue | None:
    """What a reshape producing `value` reads, if a reshape does."""
    owner = value.owner
    return owner.source if isinstance(owner, tensor.ReshapeOp) else None


def _per_tensor(value: SSAValue) -> bool:
    elem = element_type(value.type)
    return isinstance(elem, UniformQuantizedType) and elem.granularity is Granularity.PER_TENSOR


def _reshape_ops(value: SSAValue, shape: list[int]) -> list[Operation]:
    target = dense_constant(np.array(shape, np.int64), TensorType(i64, [len(shape)]))
    elem = element_type(value.type)
    return [target, tensor.ReshapeOp(value, target.result, TensorType(elem, shape))]


class SwapBatchedMatmulRoles(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qnn.Conv2DOp, rewriter: PatternRewriter) -> None:
        if not _per_tensor(op.result) or op.bias is not None or op.addend is not None:
            return
        groups = op.groups.value.data if op.groups else 1
        x_shape, w_shape = op.input.type.get_shape(), op.weight.type.get_shape()
        if groups < 2 or x_shape[0] != 1 or x_shape[3] != 1 or list(w_shape[2:]) != [1, 1]:
            return
        window = [op.strides, op.dilations, op.pads]
        if [list(v.get_values()) if v else None for v in window] != [[1, 1], [1, 1], [0] * 4]:
            return
        if op.layout_kind is not Layout.NCHW or op.batched_matmul is not None:
            return
        x3, w3 = _reshaped_from(op.input), _reshaped_from(op.weight)
        a = _swapped_last_two(x3.owner) if x3 is not None else None
        b = _swapped_last_two(w3.owner) if w3 is not None else None
        if a is None or b is None or not (_per_tensor(a) and _per_tensor(b)):
            return
        (p, m, k), (_, _, n) = a.type.get_shape(), b.type.get_shape()
        if p != groups or b.type.get_shape()[:2] != (p, k):
            return
        uses = list(op.result.uses)
        back = uses[0].operation if len(uses) == 1 else None
        if not isinstance(back, tensor.ReshapeOp) or not single_use(back.result):
            return
        last = next(iter(back.result.uses)).operation
        if _swapped_last_two(last) is not back.result:
            return
        x_ops, w_ops = _reshape_ops(b, [1, p * k, n, 1]), _reshape_ops(a, [p * m, k, 1, 1])
        result = TensorType(element_type(op.result.type), [1, p * m, n, 1])
        conv = qnn.Conv2DOp.build(
            operands=[x_ops[-1].results[0], w_ops[-1].results[0], [], []],
            result_types=[result],
            properties=dict(op.properties),
            attributes=dict(op.attributes),
        )
        y_ops = _reshape_ops(conv.result, [p, m, n])
        rewriter.insert([*x_ops, *w_ops, conv, *y_ops], InsertPoint.before(op))
        rewriter.replace(last, [], [y_ops[-1].results[0]])


@dataclass(frozen=True)
class BatchedMatmulRolesPass(ModulePass):
    name = "batched-matmul-roles"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(SwapBatchedMatmulRoles(), apply_recursively=False).rewrite_module(op)
