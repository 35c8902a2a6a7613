"""qdialect.float_sum: MLAS's summation orders, sized as MLAS sizes them, and the op properties
(`bias_first`, `streamed_rhs`) that select them."""

from __future__ import annotations

import numpy as np
import pytest

from qdialect import qnn
from qdialect.float_sum import (
    PoolKernel,
    SumKind,
    SumOrder,
    conv_sum_order,
    dot_sum_order,
    group_sizes,
    pool_kernel,
    sgemm_stride_k,
    tree_rows,
    tree_sum,
)
from qdialect.textio import IRError, parse_module

Q = "!quant.uniform<i8:f32, 0.1>"


@pytest.mark.parametrize(
    ("n", "k", "stride"),
    [
        (3136, 576, 128),  # ResNet's 56 x 56 3 x 3 convs: N >= K
        (196, 2304, 128),  # 14 x 14: N < K but N / 2 < 128
        (49, 4608, 256),  # 7 x 7: the K stride doubles once
        (20, 300, 512),  # twice
        (5, 10000, 1024),  # down to MLAS's smallest N stride, 16
        (64, 40, 64),  # K within a block: the K stride halves while it still covers K
    ],
)
def test_sgemm_stride_follows_mlas(n: int, k: int, stride: int) -> None:
    assert sgemm_stride_k(n, k) == stride


@pytest.mark.parametrize(
    ("k", "sizes"), [(9, [4, 4, 1]), (7, [4, 2, 1]), (2, [2]), (25, [4] * 6 + [1]), (0, [])]
)
def test_the_one_row_kernel_groups_taps_by_four(k: int, sizes: list[int]) -> None:
    assert group_sizes(k) == sizes


def test_orders_by_op() -> None:
    assert conv_sum_order(1, 196, 9) == SumOrder(SumKind.GROUPED)  # depthwise
    assert conv_sum_order(512, 49, 4608) == SumOrder(SumKind.BLOCKED, 256)
    assert conv_sum_order(64, 1, 256) == SumOrder(SumKind.TREE)  # a 1 x 1 output
    assert dot_sum_order(1, 512, 1000, streamed_rhs=False) == SumOrder(SumKind.BLOCKED, 256)
    assert dot_sum_order(1, 300, 20, streamed_rhs=True) == SumOrder(SumKind.GROUPED)
    assert dot_sum_order(8, 300, 1, streamed_rhs=True) == SumOrder(SumKind.TREE)
    assert dot_sum_order(8, 300, 20, streamed_rhs=True) == SumOrder(SumKind.BLOCKED, 512)
    blocks = SumOrder(SumKind.BLOCKED, 4).blocks(10)
    assert [list(b) for b in blocks] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_the_one_column_kernel_reduces_rows_four_two_one() -> None:
    assert tree_rows(7) == [4, 4, 4, 4, 2, 2, 1]
    assert tree_rows(6) == [4, 4, 4, 4, 2, 2]
    lanes = [np.float32(v) for v in (1e8, 1.0, -1e8, 1.0, 3.0, 5.0, 7.0, 11.0)]
    # the trees differ: 1e8 + 1 rounds the 1 away unless -1e8 comes first
    assert (tree_sum(lanes, 4), tree_sum(lanes, 2), tree_sum(lanes, 1)) == (27.0, 28.0, 26.0)


@pytest.mark.parametrize(
    ("kernel", "image", "strides", "dilations", "pads", "kind"),
    [
        ((7, 7), (7, 7), (1, 1), (1, 1), (0, 0, 0, 0), PoolKernel.GLOBAL),
        ((2, 2), (12, 12), (2, 2), (1, 1), (0, 0, 0, 0), PoolKernel.COLUMNS),
        ((3, 3), (11, 13), (1, 1), (1, 1), (1, 1, 1, 1), PoolKernel.COLUMNS),
        ((3, 3), (9, 9), (3, 3), (1, 1), (0, 0, 0, 0), PoolKernel.ROWS),  # stride 3
        ((3, 3), (9, 9), (1, 1), (2, 2), (0, 0, 0, 0), PoolKernel.ROWS),  # dilated
        ((33, 1), (40, 40), (1, 1), (1, 1), (0, 0, 0, 0), PoolKernel.ROWS),  # a side over 32
        ((2, 2), (4, 2046), (1, 1), (1, 1), (0, 0, 0, 0), PoolKernel.ROWS),  # row over the buffer
        ((2, 2), (4, 2045), (1, 1), (1, 1), (0, 0, 0, 0), PoolKernel.COLUMNS),
    ],
)
def test_average_pool_kernel(kernel, image, strides, dilations, pads, kind) -> None:
    assert pool_kernel(kernel, image, strides, dilations, pads) is kind


def dot(attrs: str, weight: str = "tensor<4x3xf32>", bias: bool = True) -> str:
    b = " bias(%c : tensor<3xf32>)" if bias else ""
    return f"""func.func @f(%a: tensor<2x4xf32>, %b: {weight}, %c: tensor<3xf32>) {{
  %y = qnn.dot %a, %b{b} {{{attrs}}} : tensor<2x4xf32>, {weight} -> tensor<2x3xf32>
  return
}}"""


def test_dot_properties_select_the_order() -> None:
    (op,) = [
        o for o in parse_module(dot("bias_first, streamed_rhs")).walk() if isinstance(o, qnn.DotOp)
    ]
    assert op.bias_first is not None and op.float_sum_order() == SumOrder(SumKind.BLOCKED, 1024)
    (op,) = [o for o in parse_module(dot("")).walk() if isinstance(o, qnn.DotOp)]
    assert op.float_sum_order() == SumOrder(SumKind.BLOCKED, 256)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (dot("bias_first", bias=False), "bias_first is only meaningful for a float op with a bias"),
        (
            f"""func.func @f(%a: tensor<2x4x{Q}>, %b: tensor<4x3x{Q}>) {{
  %y = qnn.dot %a, %b {{streamed_rhs}} : tensor<2x4x{Q}>, tensor<4x3x{Q}> -> tensor<2x3x{Q}>
  return
}}""",
            "streamed_rhs is only meaningful for a float dot",
        ),
    ],
)
def test_order_properties_are_verified(text: str, message: str) -> None:
    with pytest.raises(IRError, match=message):
        parse_module(text)
