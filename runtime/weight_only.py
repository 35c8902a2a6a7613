"""`mode: "weight_only"`: ONNX Runtime's `MatMulNBitsQuantizer` on our IR.

    {"mode": "weight_only", "bits": 4, "block_size": 128, "is_symmetric": false}
    {"mode": "weight_only", "bits": 8, "per_channel": true}       # int8, one scale per column

Every float MatMul with a constant 2-D weight (what ORT's default `op_types_to_quantize`
("MatMul",) takes; an input of more dimensions, a transformer's [B, T, D], is read as the 2-D
[B·T, D], as `MatMulNBits` reads it) becomes `qnn.weight_only_dot` over the weight quantized by
`qdialect.blockwise.quantize_blockwise` (the same bytes as ORT's quantizer), stored as a
sub-channel `!quant.uniform` constant with positive scales (`blockwise.positive_scales`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from xdsl.dialects.builtin import ModuleOp, TensorType, f32
from xdsl.rewriter import InsertPoint, Rewriter

from qdialect import qnn
from qdialect.blockwise import positive_scales, quantize_blockwise
from qdialect.constants import dense_array
from qdialect.quant_config import ConfigError
from qdialect.tensors import reshape_ops
from qdialect.types import UniformQuantizedType
from rewrites.onnx_nodes import float_constant, node_kind

KEYS = ("mode", "bits", "block_size", "is_symmetric", "per_channel", "nodes_to_exclude")


@dataclass(frozen=True)
class WeightOnlyConfig:
    """`DefaultWeightOnlyQuantConfig`'s options (block 128, asymmetric 4-bit by default)."""

    bits: int = 4
    block_size: int = 128
    is_symmetric: bool = False
    per_channel: bool = False  # one block spanning K (int8 per-channel WOQ)
    nodes_to_exclude: frozenset[str] = field(default_factory=frozenset)

    @staticmethod
    def from_dict(data: dict[str, Any]) -> WeightOnlyConfig:
        unknown = sorted(set(data) - set(KEYS))
        if unknown:
            raise ConfigError(f"unknown weight_only key '{unknown[0]}' (valid: {', '.join(KEYS)})")
        for key in ("is_symmetric", "per_channel"):
            if not isinstance(data.get(key, False), bool):
                raise ConfigError(f"'{key}' must be true or false, got {data[key]!r}")
        bits = data.get("bits", 4)
        if bits not in (4, 8):
            raise ConfigError(f"'bits' must be 4 or 8, got {bits!r}")
        block = data.get("block_size", 128)
        if not isinstance(block, int) or block < 16 or block & (block - 1):
            raise ConfigError(f"'block_size' must be a power of 2 of at least 16, got {block!r}")
        return WeightOnlyConfig(
            bits, block, bool(data.get("is_symmetric", False)),
            bool(data.get("per_channel", False)), frozenset(data.get("nodes_to_exclude", ())),
        )  # fmt: skip


def is_weight_only(config: Any) -> bool:
    return isinstance(config, WeightOnlyConfig) or (
        isinstance(config, dict) and config.get("mode") == "weight_only"
    )


def weight_type(w: np.ndarray, config: WeightOnlyConfig) -> tuple[np.ndarray, UniformQuantizedType]:
    """(stored values [K_w, N], their sub-channel type) for a float [K, N] weight: K padded to
    whole blocks as ORT's quantizer pads it (`MatMulNBits`'s layout; the padding rows take no
    part in the product)."""
    n = w.shape[1]
    block = w.shape[0] if config.per_channel else config.block_size
    bq = quantize_blockwise(w, config.bits, block, config.is_symmetric)
    q, s, z = positive_scales(bq.q, bq.scales, bq.zero_points, config.bits)
    qtype = UniformQuantizedType.sub_channel(
        f"u{config.bits}", f32, [(0, block), (1, 1)], [len(s), n],
        s.ravel().tolist(), z.ravel().tolist(),
    )  # fmt: skip
    return q, qtype


def quantize_weight_only(module: ModuleOp, config: WeightOnlyConfig) -> tuple[list[str], list[str]]:
    """Rewrite `module` in place; returns (quantized, left float) node labels."""
    from qdialect.onnx_import.nbits import weight_constant

    done, left = [], []
    for op in [o for o in module.walk() if isinstance(o, qnn.DotOp)]:
        label = op.attributes.get("qnn.node")
        name = label.data if label is not None else op.name
        const = float_constant(op.weight)
        if node_kind(op) != "MatMul" or const is None or name in config.nodes_to_exclude:
            continue
        w = np.asarray(dense_array(const), dtype=np.float32)
        shape = tuple(op.input.type.get_shape())
        if w.ndim != 2 or len(shape) < 2:
            left.append(f"{name} (the weight must be 2-D, the input at least 2-D)")
            continue
        q, qtype = weight_type(w, config)
        builder = _Builder(op)
        wv = weight_constant(builder, q, qtype)
        x, out_type = op.input, op.result.type
        if len(shape) > 2:  # rows of every leading dimension, and back
            rows = math.prod(shape[:-1])
            x = builder.add_all(reshape_ops(x, (rows, shape[-1])))
            out_type = TensorType(f32, [rows, w.shape[1]])
        new = qnn.WeightOnlyDotOp(x, wv, out_type)
        new.attributes.update(op.attributes)
        if len(shape) > 2:
            Rewriter.insert_op(new, InsertPoint.before(op))
            back = builder.add_all(reshape_ops(new.result, op.result.type.get_shape()))
            back.name_hint = op.result.name_hint
            op.result.replace_all_uses_with(back)
            Rewriter.erase_op(op)
        else:
            Rewriter.replace_op(op, new)
        if not const.result.uses:
            Rewriter.erase_op(const)
        done.append(name)
    return done, left


class _Builder:
    """The bit of `GraphImporter` `weight_constant` uses: `add` inserts before `op`."""

    def __init__(self, op) -> None:
        self.op = op

    def add(self, new, name=None):
        Rewriter.insert_op(new, InsertPoint.before(self.op))
        return new.results[0]

    def add_all(self, ops):
        """Insert `ops` before `op`; the last one's result."""
        Rewriter.insert_op(ops, InsertPoint.before(self.op))
        return ops[-1].results[0]
