"""ONNX Runtime's `MatMulNBits` (com.microsoft) as `qnn.weight_only_dot`.

B (uint8 [N, k_blocks, blob]), scales and zero points become one constant `[K_w, N]` tensor of
`u4`/`u8` storage (K_w: K padded to whole blocks, the padding rows kept as B holds them) with
the sub-channel type `{0:block_size, 1:1}` (scales [k_blocks, N]); A of any rank ≥ 2 is
flattened to rows and the result reshaped back. Zero points may be packed uint8 (absent: the
midpoint 2^(bits-1), ORT's symmetric form) or float with integer values. Negative and zero
scales (ORT's symmetric recipe) are re-encoded exactly by `blockwise.positive_scales`.
"""

from __future__ import annotations

import numpy as np
from xdsl.dialects import arith
from xdsl.dialects.builtin import BytesAttr, DenseIntOrFPElementsAttr, IntegerType, f32
from xdsl.ir import SSAValue

from qdialect import qnn
from qdialect.blockwise import from_matmul_nbits, positive_scales
from qdialect.onnx_import.builders import float_value, reshaped
from qdialect.onnx_import.common import attrs, optional_input, shape_of, tensor_type
from qdialect.onnx_import.errors import NodeError
from qdialect.onnx_import.graph import GraphImporter
from qdialect.onnx_import.registry import handles
from qdialect.quant_ops import StorageCastOp
from qdialect.storage import wrap_to_storage
from qdialect.types import UniformQuantizedType


def weight_constant(g: GraphImporter, q: np.ndarray, qtype: UniformQuantizedType) -> SSAValue:
    """Stored values as a signless constant (raw bytes: a 4096 x 11008 weight spelled through
    Python lists would take minutes) and a `quant.scast` to `qtype`."""
    width = qtype.storage_width
    signless = np.vectorize(lambda v: wrap_to_storage(int(v), width, True), otypes=[np.int64])
    table = signless(np.arange(256)) if width <= 8 else None
    stored = table.astype(np.int8)[q.astype(np.uint8)] if table is not None else q
    ttype = tensor_type(q.shape, IntegerType(width))
    attr = DenseIntOrFPElementsAttr(ttype, BytesAttr(np.ascontiguousarray(stored).tobytes()))
    constant = g.add(arith.ConstantOp(attr, ttype))
    return g.add(StorageCastOp(constant, tensor_type(q.shape, qtype)))


def _zero_points(g: GraphImporter, node, n: int, blocks: int, bits: int) -> np.ndarray | None:
    """Packed uint8 zero points as they are; float ones as integers (refused unless whole)."""
    zp = g.optional_constant(3, "zero_points")
    if zp is None or zp.dtype == np.uint8:
        return zp
    values = np.asarray(zp, dtype=np.float64).reshape(n, blocks)
    if not np.all((values == np.round(values)) & (values >= 0) & (values < 1 << bits)):
        raise NodeError(f"float zero_points must be integers in [0, {(1 << bits) - 1}]")
    packed = np.zeros((n, -(-blocks * bits // 8)), dtype=np.uint8)
    per = 8 // bits
    for b in range(blocks):
        packed[:, b // per] |= (values[:, b].astype(np.uint8) << (bits * (b % per))).astype(
            np.uint8
        )
    return packed


def _attributes(node) -> tuple[int, int, int, int]:
    a = attrs(node)
    k, n, bits, block = (a.get(key) for key in ("K", "N", "bits", "block_size"))
    if not isinstance(k, int) or not isinstance(n, int) or not isinstance(block, int):
        raise NodeError("attributes K, N and block_size are required")
    bits = 4 if bits is None else bits
    if bits not in (4, 8):
        raise NodeError(f"bits = {bits} is not imported (4 and 8 are)")
    if block < 16 or block & (block - 1):
        raise NodeError(f"block_size must be a power of 2 of at least 16, got {block}")
    return k, n, bits, block


@handles("MatMulNBits")
def matmul_nbits(g: GraphImporter, node) -> None:
    k, n, bits, block = _attributes(node)
    if optional_input(node, 4):
        raise NodeError("input g_idx (act-order) is not imported")
    a = float_value(g, node.input[0])
    a_shape = shape_of(a)
    if len(a_shape) < 2 or a_shape[-1] != k:
        raise NodeError(f"input A must have at least 2 dimensions and K = {k} columns")
    blocks = -(-k // block)
    b = g.constant_array(node.input[1], "B")
    scales = g.constant_array(node.input[2], "scales")
    if b.dtype != np.uint8 or b.size != n * blocks * block * bits // 8:
        raise NodeError(f"B must be uint8 [{n}, {blocks}, {block * bits // 8}]")
    if scales.dtype != np.float32 or scales.size != n * blocks:
        raise NodeError(f"scales must be float32 with {n * blocks} values")
    zps = _zero_points(g, node, n, blocks, bits)
    q, s, z = positive_scales(*from_matmul_nbits(b, scales, zps, k, n, bits, block), bits)
    qtype = UniformQuantizedType.sub_channel(
        f"u{bits}", f32, [(0, block), (1, 1)], [blocks, n], s.ravel().tolist(), z.ravel().tolist()
    )
    w = weight_constant(g, q, qtype)
    bias = float_value(g, node.input[5]) if optional_input(node, 5) else None
    rows = int(np.prod(a_shape[:-1]))
    x = a if len(a_shape) == 2 else reshaped(g, a, [rows, k])
    flat = len(a_shape) == 2
    y = g.add(
        qnn.WeightOnlyDotOp(x, w, tensor_type([rows, n], f32), bias),
        node.output[0] if flat else None,
    )
    if not flat:
        y = reshaped(g, y, [*a_shape[:-1], n], node.output[0])
    g.define(node.output[0], y)
