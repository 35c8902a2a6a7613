"""ONNX's Attention (opsets 23 and 24) as standard steps that compute ONNX Runtime 1.31.1's
float32 bits (its CPU kernel, core/providers/cpu/llm/attention.cc; measured bit for bit on
ONNX's backend cases and 300 random ones, with the steps run by ORT itself).

ORT, per batch and query head h (grouped-query: key/value head h·Hkv/Hq):
1. scale = the attribute, or (float)(1/sqrt(head size)) in double;
2. the mask: a boolean one as 0 / FLT_LOWEST, a float one as it is; `is_causal` then overwrites
   the entries past the diagonal (offset by the past length) with FLT_LOWEST, except for a
   single query token after a past;
3. scores = MLAS's SGEMM Q_h·K_hᵀ with the scale as alpha: with a mask (and no qk output of
   modes 0 or 1) the mask is preloaded, so each score is fma(acc, scale, mask), one rounding;
   else fl(acc · scale), then `softcap`'s cap · tanhf(x / cap) (glibc's tanhf, `qnn.activation
   tanhf`), then the mask added;
4. `nonpad_kv_seqlen` (opset 24): keys at or past a batch's length, and with `is_causal` past
   the diagonal aligned to that length, to FLT_LOWEST;
5. the Softmax op's MLAS softmax over the rows; a row with every score at or below FLT_LOWEST
   becomes zeros;
6. Y = probabilities · V_h (SGEMM); present key/value = past concatenated with K/V.

The steps: 3-D inputs reshaped and transposed to [B, H, S, D]; Q·Kᵀ as a MatMul of the query
heads of one key head stacked (a single row padded to two, a single key column too, so the
MatMul sums as ORT's SGEMM does: MLAS's one-row kernels sum in another order); the scale a Mul,
the fused multiply-add by exact two-product and two-sum steps (`_fused_multiply_add`) where the
mask is a float one (0 / FLT_LOWEST add exactly); the Softmax op; dead rows found by a MatMul of
the live flags by ones; the value heads expanded for grouped-query attention.

Refused by name: float16 and bfloat16, a single query token with scale 1 (ORT's one-row
transposed kernel sums in an order no MatMul takes), a head size past MLAS's K block with a
scale other than 1 (ORT adds the blocks as fused multiply-adds).

Opset 25 (sliding windows: `left_window_size`, `right_window_size`) has no ORT kernel: 1.31.1
refuses the node, and runs its ONNX function body when the model spells that out. The importer
imports that body (`functions.inlined`), so the node computes what ORT computes for its body.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from onnx import TensorProto

from qdialect import qnn
from qdialect.float32_arrays import LOWEST
from qdialect.float_sum import sgemm_stride_k
from qdialect.onnx_import.builders import unary_activation
from qdialect.onnx_import.common import attrs
from qdialect.onnx_import.compositions import Steps
from qdialect.onnx_import.errors import NodeError
from qdialect.onnx_import.functions import inlined
from qdialect.onnx_import.graph import GraphImporter
from qdialect.onnx_import.registry import handles
from qdialect.onnx_import.tensor_types import onnx_type_of
from qdialect.qnn import FloatBinary, UnaryFunction

KNOWN = {
    "is_causal", "kv_num_heads", "q_num_heads", "qk_matmul_output_mode", "scale", "softcap",
    "softmax_precision",
}  # fmt: skip


@dataclass(frozen=True)
class Geometry:
    """Batch, query and key/value heads, query, key and past lengths, head sizes."""

    rank: int
    batch: int
    q_heads: int
    kv_heads: int
    q_length: int
    kv_length: int
    past: int
    head: int
    v_head: int

    @property
    def total(self) -> int:
        return self.past + self.kv_length

    @property
    def group(self) -> int:
        return self.q_heads // self.kv_heads


def _geometry(g: GraphImporter, a: dict, inputs: list[str]) -> Geometry:
    q, k, v, _, past_key, past_value = inputs[:6]
    qs, ks, vs = (tuple(g.shape_of_input(n)) for n in (q, k, v))
    if len(qs) not in (3, 4) or len(ks) != len(qs) or len(vs) != len(qs):
        raise NodeError(f"Q, K and V must all be 3-D or all 4-D, got {[qs, ks, vs]}")
    if len(qs) == 4:
        batch, q_heads, q_length, head = qs
        _, kv_heads, kv_length, k_head = ks
        v_head = vs[3]
        for name, actual in (("q", q_heads), ("kv", kv_heads)):
            wanted = a.get(f"{name}_num_heads", 0)
            if wanted and wanted != actual:
                raise NodeError(f"{name}_num_heads {wanted} differs from the input's {actual}")
        if vs[:3] != (batch, kv_heads, kv_length) or ks[0] != batch:
            raise NodeError(f"K {list(ks)} and V {list(vs)} do not match Q {list(qs)}")
    else:
        q_heads, kv_heads = a.get("q_num_heads", 0), a.get("kv_num_heads", 0)
        if q_heads <= 0 or kv_heads <= 0:
            raise NodeError("3-D inputs need q_num_heads and kv_num_heads")
        batch, q_length, q_hidden = qs
        _, kv_length, k_hidden = ks
        if q_hidden % q_heads or k_hidden % kv_heads or vs[2] % kv_heads:
            raise NodeError("the hidden sizes do not divide by the head counts")
        head, k_head, v_head = q_hidden // q_heads, k_hidden // kv_heads, vs[2] // kv_heads
        if vs[:2] != (batch, kv_length) or ks[0] != batch:
            raise NodeError(f"K {list(ks)} and V {list(vs)} do not match Q {list(qs)}")
        if v_head == 1 and q_heads > 1:
            raise NodeError("3-D inputs with a value head size of 1 are not imported")
    if k_head != head:
        raise NodeError(f"the key head size {k_head} differs from the query's {head}")
    if kv_heads <= 0 or q_heads % kv_heads:
        raise NodeError(f"{q_heads} query heads do not group over {kv_heads} key/value heads")
    past = 0
    if bool(past_key) != bool(past_value):
        raise NodeError("past_key and past_value come together")
    if past_key:
        pk, pv = tuple(g.shape_of_input(past_key)), tuple(g.shape_of_input(past_value))
        past = pk[2] if len(pk) == 4 else -1
        if pk != (batch, kv_heads, past, head) or pv != (batch, kv_heads, past, v_head):
            raise NodeError(f"past_key {list(pk)} and past_value {list(pv)} do not match K and V")
    return Geometry(len(qs), batch, q_heads, kv_heads, q_length, kv_length, past, head, v_head)


def _fused_multiply_add(s: Steps, x: str, alpha: np.float32, c: str) -> str:
    """fl(x·alpha + c) with one rounding (MLAS's SGEMM kernel preloaded with the mask), from
    IEEE steps: Dekker's exact product x·alpha = p + e, Knuth's two-sums of p + c and the rest,
    a tie between two floats settled by the sign of what is left; a non-finite result is the
    plain sum's. (Within 1 ulp when |x·alpha| < 2^-100 and 0 < |c| < 2^-75.)"""

    def op(op_type: str, *inputs: str) -> str:
        return s.add(op_type, list(inputs))

    def two_sum(a: str, b: str) -> tuple[str, str]:
        total = op("Add", a, b)
        b_part = op("Sub", total, a)
        rest = op("Add", op("Sub", a, op("Sub", total, b_part)), op("Sub", b, b_part))
        return total, rest

    product = op("Mul", x, s.constant(alpha))
    simple = op("Add", product, c)
    if alpha == 1 or math.frexp(float(alpha))[0] == 0.5:  # a power of two: the product is exact
        return simple
    with np.errstate(over="ignore", invalid="ignore"):  # Veltkamp's split of the constant
        big = alpha * np.float32(4097)
        alpha_high = np.float32(big - np.float32(big - alpha))
        alpha_low = np.float32(alpha - alpha_high)
    big = op("Mul", x, s.constant(np.float32(4097)))
    x_high = op("Sub", big, op("Sub", big, x))
    x_low = op("Sub", x, x_high)
    error = op("Sub", op("Mul", x_high, s.constant(alpha_high)), product)
    error = op("Add", error, op("Mul", x_high, s.constant(alpha_low)))
    error = op("Add", error, op("Mul", x_low, s.constant(alpha_high)))
    error = op("Add", error, op("Mul", x_low, s.constant(alpha_low)))
    total, rest = two_sum(product, c)
    middle, last = two_sum(rest, error)
    rounded, remainder = two_sum(total, middle)
    zero = s.constant(np.float32(0))
    doubled = op("Add", remainder, remainder)
    neighbour = op("Add", rounded, doubled)
    tie = op(
        "And",
        op("Not", op("Equal", remainder, zero)),
        op("Equal", op("Sub", neighbour, rounded), doubled),
    )
    up = op("And", tie, op("Greater", op("Mul", remainder, last), zero))
    result = op("Where", up, neighbour, rounded)
    finite = op("Equal", op("Sub", result, result), zero)
    result = op("Where", finite, result, simple)
    tiny, small = s.constant(np.float32(2.0**-100)), s.constant(np.float32(2.0**-75))
    product_tiny = op("And", op("Less", product, tiny), op("Greater", product, op("Neg", tiny)))
    mask_large = op("Or", op("Greater", c, small), op("Less", c, op("Neg", small)))
    return op("Where", product_tiny, op("Where", mask_large, c, simple), result)


def _check_types(g: GraphImporter, inputs: list[str]) -> None:
    for index in (0, 1, 2, 4, 5):
        if inputs[index] and onnx_type_of(g, inputs[index]) != TensorProto.FLOAT:
            raise NodeError(f"input '{inputs[index]}' must be float32 (float16 is not imported)")
    if inputs[3] and onnx_type_of(g, inputs[3]) not in (TensorProto.FLOAT, TensorProto.BOOL):
        raise NodeError("attn_mask must be float32 or boolean")
    if inputs[6] and onnx_type_of(g, inputs[6]) != TensorProto.INT64:
        raise NodeError("nonpad_kv_seqlen must be int64")


@handles("Attention")
def attention(g: GraphImporter, node) -> None:
    """ONNX's Attention as ORT computes it (module docstring; com.microsoft's is `bert`'s)."""
    if g.opset >= 25:  # no ORT kernel (1.31.1 refuses the node): ONNX's own body
        inlined(g, node)
        return
    if g.opset not in (23, 24):
        raise NodeError(f"Attention of opset {g.opset} is not imported (23 and up are)")
    a = attrs(node)
    unknown = sorted(set(a) - KNOWN)
    if unknown:
        raise NodeError(f"attribute '{unknown[0]}' is not imported")
    inputs = [*node.input, *[""] * (7 - len(node.input))]
    outputs = [*node.output, *[""] * (4 - len(node.output))]
    mask, past_key, nonpad = inputs[3], inputs[4], inputs[6]
    _check_types(g, inputs)
    shape = _geometry(g, a, inputs)
    if past_key and not (outputs[1] and outputs[2]):
        raise NodeError("past_key needs the present_key and present_value outputs (as ORT's)")
    if nonpad and past_key:
        raise NodeError("nonpad_kv_seqlen with past_key is not imported")
    if nonpad and tuple(g.shape_of_input(nonpad)) != (shape.batch,):
        raise NodeError(f"nonpad_kv_seqlen must have shape [{shape.batch}]")
    if mask:
        ms = tuple(g.shape_of_input(mask))
        if not 2 <= len(ms) <= 4 or ms[-2:] != (shape.q_length, shape.total):
            raise NodeError(f"attn_mask {list(ms)} must end with [{shape.q_length}, {shape.total}]")
        if (len(ms) >= 3 and ms[-3] not in (1, shape.q_heads)) or (
            len(ms) == 4 and ms[0] not in (1, shape.batch)
        ):
            raise NodeError(f"attn_mask {list(ms)} does not broadcast over batch and heads")
    if "scale" in a:
        scale = np.float32(a["scale"])
        if not scale > 0:
            raise NodeError(f"scale must be positive, got {a['scale']}")
    else:
        scale = np.float32(1.0 / math.sqrt(shape.head))
    if shape.q_length == 1 and scale == 1:
        raise NodeError("one query token with scale 1 is not imported (ORT's one-row kernel)")
    if scale != 1 and shape.head > sgemm_stride_k(shape.total, shape.head):
        raise NodeError(f"head size {shape.head} past MLAS's K block with a scale is not imported")
    mode = a.get("qk_matmul_output_mode", 0)
    if outputs[3] and mode not in (0, 1, 2, 3):
        raise NodeError(f"qk_matmul_output_mode {mode} is not imported")
    softcap = max(float(a.get("softcap", 0.0)), 0.0)  # (ORT: 0 or less is none)
    _steps(g, node, shape, scale, softcap, bool(a.get("is_causal", 0)), mode, inputs, outputs)


def _steps(
    g,
    node,
    shape: Geometry,
    scale,
    softcap: float,
    is_causal: bool,
    mode: int,
    inputs,
    outputs,
    zero_dead_rows: bool = True,
) -> None:
    """The steps (module docstring) for the checked node; `zero_dead_rows` false leaves the
    softmax of a row whose every score is hidden as it is (com.microsoft's Attention)."""
    q, k, v, mask, past_key, past_value, nonpad = inputs[:7]
    b, hq, hkv = shape.batch, shape.q_heads, shape.kv_heads
    s_len, total = shape.q_length, shape.total
    s = Steps(g, node)

    def dims(*values: int) -> str:
        return s.constant(np.array(values, np.int64))

    def heads_first(x: str, length: int, heads: int, size: int) -> str:
        if shape.rank == 4:
            return x
        split = s.add("Reshape", [x, dims(b, length, heads, size)])
        return s.add("Transpose", [split], perm=[0, 2, 1, 3])

    q4 = heads_first(q, s_len, hq, shape.head)
    k4 = heads_first(k, shape.kv_length, hkv, shape.head)
    v4 = heads_first(v, shape.kv_length, hkv, shape.v_head)
    if past_key:
        keys = s.add("Concat", [past_key, k4], outputs[1], axis=2)
        values = s.add("Concat", [past_value, v4], outputs[2], axis=2)
    else:
        keys = s.add("Reshape", [k4, dims(b, hkv, total, shape.head)], outputs[1] or None)
        values = s.add("Reshape", [v4, dims(b, hkv, total, shape.v_head)], outputs[2] or None)
    # Q·Kᵀ, the query heads of one key head stacked as rows; one row or one column padded
    rows = shape.group * s_len
    keys_t = s.add("Transpose", [keys], perm=[0, 1, 3, 2])
    if total == 1:
        zeros = np.zeros((b, hkv, shape.head, 1), np.float32)
        keys_t = s.add("Concat", [keys_t, s.constant(zeros)], axis=3)
    stacked = q4 if shape.group == 1 else s.add("Reshape", [q4, dims(b, hkv, rows, shape.head)])
    if rows == 1:
        zeros = np.zeros((b, hkv, 1, shape.head), np.float32)
        stacked = s.add("Concat", [stacked, s.constant(zeros)], axis=2)
    scores = s.add("MatMul", [stacked, keys_t])
    if rows == 1 or total == 1:
        ends = dims(rows, 1 if total == 1 else total)  # (a padded row: rows is 1)
        scores = s.add("Slice", [scores, dims(0, 0), ends, dims(2, 3)])
    if shape.group > 1:
        scores = s.add("Reshape", [scores, dims(b, hq, s_len, total)])
    # the additive mask: a boolean one as 0 / lowest, then the causal diagonal
    causal = is_causal and not (s_len == 1 and shape.past > 0) and not nonpad
    hidden = None
    if causal:
        hidden = np.arange(total)[None, :] > shape.past + np.arange(s_len)[:, None]
    additive = None
    float_mask = bool(mask) and onnx_type_of(g, mask) == TensorProto.FLOAT
    if mask:
        additive = mask
        if not float_mask:
            zero, low = s.constant(np.float32(0)), s.constant(LOWEST)
            additive = s.add("Where", [mask, zero, low])
        if hidden is not None:
            additive = s.add("Where", [s.constant(hidden), s.constant(LOWEST), additive])
    elif hidden is not None:
        additive = s.constant(np.where(hidden, LOWEST, np.float32(0)).astype(np.float32))
    raw_output = outputs[3] and mode in (0, 1)
    if additive is not None and not raw_output and not softcap:  # the mask preloaded
        if float_mask:
            x = _fused_multiply_add(s, scores, scale, additive)
        else:  # 0 or lowest: the scaled score's rounding is the only one
            x = s.add("Add", [_scaled(s, scores, scale), additive])
    else:
        x = _scaled(s, scores, scale)
        if outputs[3] and mode == 0:
            x = s.add("Reshape", [x, dims(b, hq, s_len, total)], outputs[3])
        if softcap:
            x = _softcapped(g, s, x, softcap)
        if outputs[3] and mode == 1:
            x = s.add("Reshape", [x, dims(b, hq, s_len, total)], outputs[3])
        if additive is not None:
            x = s.add("Add", [x, additive])
    if nonpad:
        lengths = s.add("Reshape", [nonpad, dims(b, 1, 1, 1)])
        valid = s.add("Less", [dims(*range(total)), lengths])
        if is_causal:  # the diagonal aligned to each batch's length
            offsets = np.arange(total)[None, :] - np.arange(s_len)[:, None] + s_len
            past_diagonal = s.add("Greater", [s.constant(offsets.astype(np.int64)), lengths])
            valid = s.add("And", [valid, s.add("Not", [past_diagonal])])
        x = s.add("Where", [valid, x, s.constant(LOWEST)])
    if outputs[3] and mode == 2:
        x = s.add("Reshape", [x, dims(b, hq, s_len, total)], outputs[3])
    probabilities = s.add("Softmax", [x], axis=-1)
    if zero_dead_rows and (additive is not None or nonpad):  # every score hidden: zeros
        low = s.constant(LOWEST)
        hidden_scores = s.add("Or", [s.add("Equal", [x, low]), s.add("Less", [x, low])])
        live = s.add("Cast", [s.add("Not", [hidden_scores])], to=TensorProto.FLOAT)
        count = s.add("MatMul", [live, s.constant(np.ones((total, 1), np.float32))])
        dead = s.add("Equal", [count, s.constant(np.float32(0))])
        probabilities = s.add("Where", [dead, s.constant(np.float32(0)), probabilities])
    if outputs[3] and mode == 3:
        probabilities = s.add("Reshape", [probabilities, dims(b, hq, s_len, total)], outputs[3])
    if shape.group > 1:
        widened = s.add("Unsqueeze", [values, dims(2)])
        widened = s.add("Expand", [widened, dims(b, hkv, shape.group, total, shape.v_head)])
        values = s.add("Reshape", [widened, dims(b, hq, total, shape.v_head)])
    if shape.rank == 4:
        s.add("MatMul", [probabilities, values], outputs[0])
    else:
        y = s.add("Transpose", [s.add("MatMul", [probabilities, values])], perm=[0, 2, 1, 3])
        s.add("Reshape", [y, dims(b, s_len, hq * shape.v_head)], outputs[0])
    s.run()


def _softcapped(g: GraphImporter, s: Steps, x: str, cap: float) -> str:
    """`cap · tanhf(x / cap)`: ORT's softcap calls glibc's tanhf (`qnn.activation tanhf`; the
    Tanh op is MLAS's), between the steps imported so far and the rest."""
    s.run()
    value = g.value(x)
    limit = g.float_constant(np.float32(cap))
    ratio = g.add(qnn.FloatBinaryOp(FloatBinary.DIV, value, limit, value.type))
    tanh = g.add(unary_activation(UnaryFunction.TANHF, ratio))
    name = s.fresh()
    g.define(name, g.add(qnn.MulOp(tanh, limit, value.type)))
    return name


def _scaled(s: Steps, scores: str, scale: np.float32) -> str:
    return scores if scale == 1 else s.add("Mul", [scores, s.constant(scale)])
