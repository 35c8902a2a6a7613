"""com.microsoft's BERT ops, as ONNX Runtime 1.31.1's CPU kernels compute them: the fused
`Attention` and `EmbedLayerNormalization` its transformer optimizer writes, and the
`QAttention` / `QEmbedLayerNormalization` that `quantize_dynamic` makes of them (measured bit
for bit against ORT on this host, one thread).

Attention (`contrib_ops/cpu/bert/attention.cc`, `attention_cpu_base.h`):
1. Q, K, V = input · weights + bias, per head: the bias copied into the output, then MLAS's
   SGEMM with beta = 1 over the packed weights (K blocks of 256, each block's sum added in
   turn): ONNX's Gemm, as ORT runs it, computes exactly that. QAttention's projection is the
   integer GEMM of the uint8 input and int8/uint8 weights, `float(acc) · (sw[c] · sx)`, then
   `+ bias`: `MatMulIntegerToFloat`.
2. The mask (`PrepareMask`), [B, 1, S, T] floats: 0 where a key is seen, `mask_filter_value`
   (-10000 by default) where `mask_index` hides it: [B] end positions, [2B] end and start
   positions, [B, T] or [B, S, T] flags (> 0 is seen); a [B, 1] or [1, 1] mask is none. With
   `unidirectional` and more than one query token, every key past the query's position is set
   to float's lowest.
3. The scores `fma(Q·Kᵀ, scale, mask)` (one rounding; `f32(1 / sqrtf(head))` by default), MLAS's
   softmax over the keys, then probabilities · V, heads joined: ONNX's Attention steps
   (`attention._steps`) on the 3-D Q, K, V with that float mask, except that a row whose every
   score is hidden is not zeroed (the contrib kernel never special-cases one).
A `past` ([2, B, N, P, H]) is concatenated before K and V, `present` is the two stacked.

EmbedLayerNormalization (`embed_layer_norm.cc`): word + position embeddings, then + segment,
then the layer norm in float32 sums taken in order (`qnn.layer_norm {two_pass}`): mean, the
centred squares' mean, `(x - mean) / sqrtf(var + epsilon) · gamma + beta`; `mask_index` counts
each row's ones. QEmbedLayerNormalization dequantizes its uint8/int8 tables first,
`f32(float(q - zp) · scale)` per element (constants here).

Refused by name, as ORT's CPU kernel refuses them or as not imported: a 4-D mask, `do_rotary`,
`past_present_share_buffer`, `attention_bias`, run-time weights (ORT's one-row kernel for
them), one query token with scale 1, a head size past MLAS's K block with a scale.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper
from xdsl.dialects.builtin import FloatAttr, IntegerAttr, UnitAttr, f32, i64

from qdialect import qnn
from qdialect.float32_arrays import LOWEST
from qdialect.float_sum import sgemm_stride_k
from qdialect.onnx_import import attention as onnx_attention
from qdialect.onnx_import.attention import Geometry, _steps
from qdialect.onnx_import.builders import float_value
from qdialect.onnx_import.common import attrs
from qdialect.onnx_import.compositions import Steps
from qdialect.onnx_import.errors import NodeError
from qdialect.onnx_import.graph import GraphImporter
from qdialect.onnx_import.registry import handles
from qdialect.onnx_import.tensor_types import onnx_type_of

MASK_FILTER_VALUE = -10000.0  # the contrib schema's default
EMBED_EPSILON = 1e-12
ATTENTION_KNOWN = {
    "num_heads", "unidirectional", "qkv_hidden_sizes", "mask_filter_value", "scale",
    "do_rotary", "rotary_embedding_dim", "past_present_share_buffer",
}  # fmt: skip


def contrib_attention(g: GraphImporter, node) -> None:
    """Attention or QAttention (com.microsoft): the module docstring's three steps."""
    quantized = node.op_type == "QAttention"
    a = attrs(node)
    unknown = sorted(set(a) - ATTENTION_KNOWN)
    if unknown:
        raise NodeError(f"attribute '{unknown[0]}' is not imported")
    if a.get("do_rotary", 0):
        raise NodeError("do_rotary = 1 is not imported (ORT's CPU kernel refuses it)")
    if a.get("past_present_share_buffer", 0):
        raise NodeError("past_present_share_buffer = 1 is not imported")
    inputs = [*node.input, *[""] * (9 - len(node.input))]
    if quantized:  # input, weight, bias, input_scale, weight_scale, mask, zero points, past
        mask, past = inputs[5], inputs[8]
    else:
        mask, past = inputs[3], inputs[4]
        if inputs[5] or inputs[6]:
            raise NodeError("attention_bias and past_sequence_length are not imported")
    x_shape = g.shape_of_input(inputs[0])
    if len(x_shape) != 3:
        raise NodeError(f"input must be 3-D, got shape {list(x_shape)}")
    batch, length, width = x_shape
    if inputs[1] not in g.initializers:
        raise NodeError("weights must be a constant initializer")
    w_shape = g.shape_of_input(inputs[1])
    if len(w_shape) != 2 or w_shape[0] != width:
        raise NodeError(f"weights must have shape [{width}, 3·hidden], got {list(w_shape)}")
    heads = a.get("num_heads", 0)
    sizes = list(a.get("qkv_hidden_sizes", []))
    if quantized and sizes:
        raise NodeError("qkv_hidden_sizes is not imported for QAttention (ORT refuses it)")
    if not sizes:
        sizes = [w_shape[1] // 3] * 3
    if (
        heads <= 0 or len(sizes) != 3 or sizes[0] != sizes[1] or sum(sizes) != w_shape[1]
        or any(size % heads for size in sizes)
    ):  # fmt: skip
        raise NodeError(
            f"num_heads {heads} and hidden sizes {sizes} do not fit weights {list(w_shape)}"
        )
    head = sizes[0] // heads
    past_length = 0
    if past:
        p_shape = g.shape_of_input(past)
        if len(p_shape) != 5 or p_shape[:3] != (2, batch, heads) or p_shape[4] != head:
            raise NodeError(f"past must have shape [2, {batch}, {heads}, P, {head}]")
        if sizes[2] != sizes[0]:
            raise NodeError("past needs the value hidden size equal to the key's")
        past_length = p_shape[3]
    total = past_length + length
    scale = np.float32(a.get("scale", 0.0))
    if scale == 0:
        scale = np.float32(1.0) / np.sqrt(np.float32(head))
    if length == 1 and scale == 1:
        raise NodeError("one query token with scale 1 is not imported (ORT's one-row kernel)")
    if scale != 1 and head > sgemm_stride_k(total, head):
        raise NodeError(f"head size {head} past MLAS's K block with a scale is not imported")
    s = Steps(g, node)
    qkv = _projection(s, inputs, quantized, batch * length, width)
    qkv = s.add("Reshape", [qkv, s.constant(np.array([batch, length, sum(sizes)], np.int64))])
    starts = np.cumsum([0, *sizes])
    q, k, v = (
        s.add("Slice", [qkv, *(s.constant(np.array([e], np.int64)) for e in (lo, hi, 2))])
        for lo, hi in zip(starts[:-1], starts[1:], strict=True)
    )
    filter_value = np.float32(a.get("mask_filter_value", MASK_FILTER_VALUE))
    causal = bool(a.get("unidirectional", 0)) and length > 1
    additive = _mask(s, g, mask, batch, length, past_length, filter_value, causal)
    outputs = [*node.output, *[""] * (2 - len(node.output))]
    past_key = past_value = ""
    present = ["", ""]
    if past:
        past_key, past_value = (
            s.add("Gather", [past, s.constant(np.int64(i))], axis=0) for i in (0, 1)
        )
    if outputs[1]:
        present = [s.fresh(), s.fresh()]
    s.run()
    shape = Geometry(3, batch, heads, heads, length, length, past_length, head, sizes[2] // heads)
    attention = helper.make_node(
        "Attention", [q, k, v], [f"{node.output[0]}/heads"], name=node.name
    )  # (its own prefix for its tensors)
    _steps(
        g, attention, shape, scale, 0.0, False, 0,
        [q, k, v, additive or "", past_key, past_value, ""],
        [node.output[0], *present, ""],
        zero_dead_rows=False,
    )  # fmt: skip
    if outputs[1]:
        stacked = [s.add("Unsqueeze", [p, s.constant(np.array([0], np.int64))]) for p in present]
        s.add("Concat", stacked, outputs[1], axis=0)
        s.run()


def _projection(s: Steps, inputs: list[str], quantized: bool, rows: int, width: int) -> str:
    """Q, K and V side by side, [B·S, 3·hidden]: bias first, then the GEMM's K blocks."""
    flat = s.add("Reshape", [inputs[0], s.constant(np.array([rows, width], np.int64))])
    if not quantized:
        return s.add("Gemm", [flat, inputs[1], inputs[2]])
    # input, weight, input scale, weight scale, input zero point, weight zero point, bias
    operands = [flat, inputs[1], inputs[3], inputs[4], inputs[6], inputs[7], inputs[2]]
    return s.add("MatMulIntegerToFloat", operands, domain="com.microsoft")


def _mask(
    s: Steps,
    g: GraphImporter,
    mask: str,
    batch: int,
    length: int,
    past: int,
    filter_value: np.float32,
    causal: bool,
) -> str | None:
    """`PrepareMask`'s float mask, [B, 1, S, T] (None: no mask and not causal)."""
    total = past + length
    seen = None  # booleans, broadcasting to [B, 1, S, T]
    if mask:
        if onnx_type_of(g, mask) != TensorProto.INT32:
            raise NodeError("mask_index must be int32")
        shape = g.shape_of_input(mask)
        keys = s.constant(np.arange(total, dtype=np.int32))
        if shape == (batch,):  # end positions
            ends = s.add("Reshape", [mask, s.constant(np.array([batch, 1, 1, 1], np.int64))])
            seen = s.add("Less", [keys, ends])
        elif shape == (2 * batch,):  # end positions, then start positions
            bounds = s.add("Reshape", [mask, s.constant(np.array([2, batch, 1, 1, 1], np.int64))])
            ends, starts = (s.add("Gather", [bounds, s.constant(np.int64(i))]) for i in (0, 1))
            seen = s.add(
                "And", [s.add("Less", [keys, ends]), s.add("Not", [s.add("Less", [keys, starts])])]
            )
        elif len(shape) == 2 and shape[1] == 1:  # ORT's 2-D dummy: no mask
            seen = None
        elif shape in ((batch, total), (batch, length, total)):
            rows = [batch, 1, 1, total] if len(shape) == 2 else [batch, 1, length, total]
            flags = s.add("Reshape", [mask, s.constant(np.array(rows, np.int64))])
            seen = s.add("Greater", [flags, s.constant(np.int32(0))])
        else:
            raise NodeError(
                f"mask_index of shape {list(shape)} is not imported ([{batch}], [{2 * batch}], "
                f"[{batch}, {total}] and [{batch}, {length}, {total}] are)"
            )
    if seen is None and not causal:
        return None
    zeros = np.zeros((batch, 1, length, total), np.float32)
    additive = s.constant(zeros)
    if seen is not None:
        additive = s.add("Where", [seen, additive, s.constant(filter_value)])
    if causal:  # keys past the query's position: lowest, whatever the padding said
        hidden = np.arange(total)[None, :] > past + np.arange(length)[:, None]
        additive = s.add("Where", [s.constant(hidden), s.constant(LOWEST), additive])
    return additive


@handles("Attention", "QAttention")
def attention(g: GraphImporter, node) -> None:
    """com.microsoft's (BERT's fused attention: other inputs, other semantics), else ONNX's."""
    if node.op_type == "QAttention" or node.domain == "com.microsoft":
        return contrib_attention(g, node)
    return onnx_attention.attention(g, node)


def _checked_ids(g: GraphImporter, name: str, role: str, shape: tuple[int, ...]) -> None:
    if onnx_type_of(g, name) != TensorProto.INT32:
        raise NodeError(f"{role} must be int32")
    if g.shape_of_input(name) != shape:
        raise NodeError(f"{role} must have shape {list(shape)}, got {list(g.shape_of_input(name))}")


@handles("EmbedLayerNormalization", "QEmbedLayerNormalization")
def embed_layer_norm(g: GraphImporter, node) -> None:
    """The module docstring's embedding sum and layer norm; the quantized tables dequantized."""
    quantized = node.op_type == "QEmbedLayerNormalization"
    inputs = [*node.input, *[""] * (18 - len(node.input))]
    outputs = [*node.output, *[""] * (3 - len(node.output))]
    ids_shape = g.shape_of_input(inputs[0])
    if len(ids_shape) != 2:
        raise NodeError(f"input_ids must be 2-D, got shape {list(ids_shape)}")
    batch, length = ids_shape
    _checked_ids(g, inputs[0], "input_ids", ids_shape)
    tables = {}
    for index, role in enumerate(("word", "position", "segment", "gamma", "beta"), start=2):
        if not inputs[index]:
            continue
        data = np.asarray(g.constant_array(inputs[index], f"{role} table"))
        if quantized:
            data = _dequantized(g, inputs, index, role, data)
        if data.dtype != np.float32:
            raise NodeError(f"the {role} table must be float32, got {data.dtype}")
        tables[role] = data
    if "word" not in tables or "position" not in tables or "gamma" not in tables:
        raise NodeError("the word and position embeddings and gamma are required")
    hidden = tables["word"].shape[-1]
    if any(t.shape[-1] != hidden for t in tables.values()):
        raise NodeError(f"every table must end with the hidden size {hidden}")
    s = Steps(g, node)
    ids = inputs[0]
    total = s.add("Gather", [s.constant(tables["word"]), ids])
    positions = inputs[8] if not quantized else ""
    if positions:
        if onnx_type_of(g, positions) != TensorProto.INT32:
            raise NodeError("position_ids must be int32")
    else:
        positions = s.constant(np.arange(length, dtype=np.int32))
    total = s.add("Add", [total, s.add("Gather", [s.constant(tables["position"]), positions])])
    if inputs[1] and "segment" in tables:
        _checked_ids(g, inputs[1], "segment_ids", ids_shape)
        segment = s.add("Gather", [s.constant(tables["segment"]), inputs[1]])
        total = s.add("Add", [total, segment])
    if outputs[2] and not quantized:
        s.add("Identity", [total], outputs[2])
    since = g.block.last_op
    s.run()
    x = float_value(g, total)
    beta = tables.get("beta", np.zeros(hidden, np.float32))
    properties = {
        "axis": IntegerAttr(2, i64),
        "epsilon": FloatAttr(float(attrs(node).get("epsilon", EMBED_EPSILON)), f32),
        "two_pass": UnitAttr(),
    }
    operands = [x, g.float_constant(tables["gamma"]), [g.float_constant(beta)]]
    op = qnn.LayerNormOp.build(operands=operands, result_types=[x.type], properties=properties)
    g.define(outputs[0], g.add(op, outputs[0]))
    if outputs[1]:
        mask = inputs[7]
        if mask:
            _checked_ids(g, mask, "mask", ids_shape)
            # the ones counted in float32 (exact below 2^24), then as int32
            ones = s.add("Cast", [s.add("Equal", [mask, s.constant(np.int32(1))])], to=1)
            count = s.add("ReduceSum", [ones, s.constant(np.array([1], np.int64))], keepdims=0)
            s.add("Cast", [count], outputs[1], to=6)
        else:
            s.add("Identity", [s.constant(np.zeros(batch, np.int32))], outputs[1])
        s.run()
    g.mark_decomposed(since, node.op_type)


def _dequantized(g: GraphImporter, inputs: list[str], index: int, role: str, data: np.ndarray):
    """QEmbedLayerNormalization's table: `f32(float(q - zp) · scale)` per element."""
    if data.dtype not in (np.uint8, np.int8):
        raise NodeError(f"the quantized {role} table must be uint8 or int8, got {data.dtype}")
    scale = np.asarray(g.constant_array(inputs[index + 6], f"{role} scale"))
    zero_point = np.asarray(g.constant_array(inputs[index + 11], f"{role} zero point"))
    if scale.size != 1 or zero_point.size != 1 or scale.dtype != np.float32:
        raise NodeError(f"the {role} scale and zero point must be float32 and integer scalars")
    steps = data.astype(np.int32) - int(zero_point.reshape(()))
    return (steps.astype(np.float32) * scale.reshape(())).astype(np.float32)
