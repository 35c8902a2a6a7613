"""RotaryEmbedding (opset 23, and com.microsoft's, which ORT's optimizer writes for LLMs: the
same MLAS kernel) as `qnn.rotary` (`qdialect.rotary`): a 3-D input split into heads and moved to
[B, H, S, D] (and back), the cos and sin rows of each token gathered by `position_ids` (a Gather
of the caches), around the one op. com.microsoft's takes (input, position_ids, cos_cache,
sin_cache), and a position_ids of one element is the first token's position."""

from __future__ import annotations

import numpy as np
from onnx import TensorProto
from xdsl.dialects.builtin import UnitAttr

from qdialect import qnn
from qdialect.onnx_import.common import attrs
from qdialect.onnx_import.compositions import Steps
from qdialect.onnx_import.errors import NodeError
from qdialect.onnx_import.graph import GraphImporter
from qdialect.onnx_import.registry import handles
from qdialect.onnx_import.tensor_types import onnx_type_of


@handles("RotaryEmbedding")
def rotary_embedding(g: GraphImporter, node) -> None:
    a = attrs(node)
    if node.domain == "com.microsoft":
        if a.get("is_packed_batching", 0):
            raise NodeError("is_packed_batching is not imported")
        x, positions, cos, sin = node.input[:4]
    else:
        x, cos, sin = node.input[:3]
        positions = node.input[3] if len(node.input) > 3 and node.input[3] else None
    for name in (x, cos, sin):
        if onnx_type_of(g, name) != TensorProto.FLOAT:
            raise NodeError(f"input '{name}' must be float32 (float16 is not imported)")
    shape = tuple(g.shape_of_input(x))
    if len(shape) == 4:
        batch, heads, length, size = shape
    elif len(shape) == 3:
        batch, length, hidden = shape
        heads = a.get("num_heads", 0)
        if heads <= 0 or hidden % heads:
            raise NodeError(f"a 3-D input needs num_heads dividing its {hidden} features")
        size = hidden // heads
    else:
        raise NodeError(f"input must be 3-D or 4-D, got shape {list(shape)}")
    rotated = a.get("rotary_embedding_dim", 0) or size
    if rotated % 2 or rotated > size:
        raise NodeError(f"rotary_embedding_dim {rotated} must be even and at most {size}")
    table = tuple(g.shape_of_input(cos))
    rows = (batch, length) if positions is None else tuple(g.shape_of_input(positions))
    offset = positions is not None and node.domain == "com.microsoft" and rows == (1,)
    if positions is not None and (len(table) != 2 or (rows != (batch, length) and not offset)):
        raise NodeError(
            f"with position_ids [{batch}, {length}] the caches must be 2-D, got {list(table)}"
        )
    if positions is None and table[:2] != (batch, length):
        raise NodeError(f"without position_ids the caches must be [{batch}, {length}, half]")
    if table[-1] != rotated // 2 or tuple(g.shape_of_input(sin)) != table:
        raise NodeError(
            f"cos and sin caches {list(table)}, {list(g.shape_of_input(sin))} must end with "
            f"rotary_embedding_dim / 2 = {rotated // 2}"
        )
    since = g.block.last_op
    s = Steps(g, node)

    def dims(*values: int) -> str:
        return s.constant(np.array(values, np.int64))

    heads_first = x
    if len(shape) == 3:
        split = s.add("Reshape", [x, dims(batch, length, heads, size)])
        heads_first = s.add("Transpose", [split], perm=[0, 2, 1, 3])
    if offset:  # the first token's position: the sequence's are that plus 0, 1, ...
        steps = s.constant(np.arange(length, dtype=np.int64))
        first = s.add("Cast", [positions], to=TensorProto.INT64)
        row = s.add("Reshape", [s.add("Add", [first, steps]), dims(1, length)])
        positions = s.add("Expand", [row, dims(batch, length)])
    if positions is not None:
        cos, sin = (s.add("Gather", [cache, positions], axis=0) for cache in (cos, sin))
    s.run()
    op = qnn.RotaryOp.create(
        operands=[g.value(heads_first), g.value(cos), g.value(sin)],
        result_types=[g.value(heads_first).type],
        properties={"interleaved": UnitAttr()} if a.get("interleaved", 0) else {},
    )
    if len(shape) == 4:
        g.define(node.output[0], g.add(op, node.output[0]))
    else:
        result = s.fresh()
        g.define(result, g.add(op))
        back = s.add("Transpose", [result], perm=[0, 2, 1, 3])
        s.add("Reshape", [back, dims(*shape)], node.output[0])
        s.run()
    g.mark_decomposed(since, "RotaryEmbedding")
