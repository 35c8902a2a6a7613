"""The sub-channel `!quant.uniform` types of opset-21 block-wise `QuantizeLinear` /
`DequantizeLinear` (attribute `block_size` > 0); `blockwise_qdq` imports the nodes.

ONNX: along `axis`, element i uses scale (and zero point) index `i // block_size`; the scale
has the input's shape with that dimension `ceil(D / block_size)`, so the last block may be
partial (onnx's reference `reshape_input` repeats and truncates). Upstream's sub-channel type
needs blocks that divide the dimension, so the blocks here are g = gcd(block_size, D) long
and each ONNX scale is repeated `block_size / g` times (the partial last one `(D mod
block_size) / g` times): the same scale for every element, in a type MLIR reads. The other
dimensions have blocks of 1. Where the result has one parameter, or parameters varying along
one dimension only, `normalize-quant-types`' rule makes it per tensor or per axis, which qnn
ops execute; otherwise the casts are `quant.qcast` / `quant.dcast`.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np
from xdsl.dialects.builtin import f32
from xdsl.utils.exceptions import VerifyException

from qdialect.onnx_import.common import attrs, optional_input
from qdialect.onnx_import.errors import NodeError
from qdialect.onnx_import.scales import check_scales
from qdialect.sub_channel import normalized_element
from qdialect.types import UniformQuantizedType


class Constants(Protocol):
    """What the type builder reads of the graph walk (its initializers), without importing
    it: the walk asks for these types when it types a graph input."""

    def constant_array(self, name: str, role: str) -> np.ndarray: ...


# numpy dtype name of zero points / stored data -> storage spelling (int4: ml_dtypes via onnx)
STORAGE = {
    "int8": "i8",
    "uint8": "u8",
    "int4": "i4",
    "uint4": "u4",
    "int16": "i16",
    "uint16": "u16",
}
# ONNX `output_dtype` (TensorProto enum) of QuantizeLinear without a zero point
OUTPUT_DTYPES = {2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 21: "uint4", 22: "int4"}


def blocked(node) -> bool:
    return bool(attrs(node).get("block_size", 0))


def blocked_type(g: Constants, node, shape: tuple[int, ...], storage_dtype: str | None):
    """The type of the quantized side of a block-wise Q/DQ `node` over a tensor of `shape`;
    `storage_dtype` is QuantizeLinear's output type when no zero point gives it."""
    a = attrs(node)
    block, rank = a["block_size"], len(shape)
    axis = a.get("axis", 1)
    axis = axis + rank if axis < 0 else axis
    if block < 0:
        raise NodeError(f"block_size must be positive, got {block}")
    if not 0 <= axis < rank:
        raise NodeError(f"axis {a.get('axis', 1)} is out of range for rank {rank}")
    scale = g.constant_array(node.input[1], "scale")
    if scale.dtype != np.float32:
        raise NodeError(f"scale '{node.input[1]}' must be float32, got {scale.dtype}")
    want = list(shape)
    want[axis] = -(-shape[axis] // block)
    if list(scale.shape) != want:
        raise NodeError(
            f"scale '{node.input[1]}' must have shape {want} (input {list(shape)} with axis "
            f"{axis} in blocks of {block}), got {list(scale.shape)}"
        )
    check_scales(scale, f"scale '{node.input[1]}'", node.op_type)
    zp_name = optional_input(node, 2)
    zp = g.constant_array(zp_name, "zero point") if zp_name else None
    if zp is not None and zp.shape != scale.shape:
        raise NodeError(
            f"zero point '{zp_name}' must have the shape of the scale, {want}, got {list(zp.shape)}"
        )
    dtype = zp.dtype.name if zp is not None else storage_dtype or "uint8"
    if dtype not in STORAGE:
        raise NodeError(f"block-wise quantization to {dtype} is not imported")
    zps = np.zeros(scale.shape, np.int64) if zp is None else zp.astype(np.int64)
    return _sub_channel(STORAGE[dtype], scale, zps, axis, block, shape)


def _sub_channel(storage: str, scale, zps, axis: int, block: int, shape) -> UniformQuantizedType:
    """ONNX's blocks along `axis` as upstream sub-channel blocks of gcd(block, D) (module
    doc), normalized where the parameters allow."""
    step = math.gcd(block, shape[axis])
    take = np.arange(0, shape[axis], step) // block
    scales, zeros = np.take(scale, take, axis=axis), np.take(zps, take, axis=axis)
    blocks = [(d, step if d == axis else 1) for d in range(len(shape))]
    try:
        qtype = UniformQuantizedType.sub_channel(
            storage, f32, blocks, list(scales.shape), scales.ravel().tolist(),
            zeros.ravel().tolist(),
        )  # fmt: skip
        return normalized_element(qtype)
    except VerifyException as err:
        raise NodeError(f"quantization parameters are invalid: {err}") from None
