"""com.microsoft's BERT ops (`qdialect/onnx_import/bert.py`): Attention, QAttention,
EmbedLayerNormalization and QEmbedLayerNormalization, compiled, equal to the reference
interpreter and to ONNX Runtime's CPU kernels bit for bit (one thread): every mask format,
causal attention, a past, value heads of another size, a mask filter and a scale of their own,
an input wide enough for two K blocks; int8 and uint8 weights per tensor and per column; and
`mode: dynamic` quantizing them as `quantize_dynamic` does (QAttention, QEmbedLayerNormalization),
on single nodes and on an ORT-optimized BERT encoder."""

from __future__ import annotations

import os
import tempfile

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from qdialect.onnx_import import OnnxImportError, import_onnx
from runtime.compiled import compile_module
from runtime.quantization import quantize
from runtime.reference import run_function

from .onnxruntime_session import ort_saturates_u8s8, run_ort
from .test_onnx_backend_float_nodes import bits
from .test_tables import make_model  # (opset 17 and com.microsoft's)

# quantize_dynamic cannot type the tensors past a contrib node without it
UNTYPED_AS_FLOAT = {"DefaultTensorType": TensorProto.FLOAT}


def attention_model(
    batch: int = 2,
    length: int = 6,
    width: int = 32,
    heads: int = 4,
    mask: str = "",
    past: int = 0,
    value_width: int | None = None,
    **attributes,
) -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    """One com.microsoft Attention; `mask` names mask_index's format (module docstring)."""
    rng = np.random.default_rng(width + length)
    value_width = value_width or width
    columns = 2 * width + value_width
    arrays = {
        "W": (rng.standard_normal((width, columns)) * 0.3).astype(np.float32),
        "bias": (rng.standard_normal(columns) * 0.2).astype(np.float32),
    }
    if value_width != width:
        attributes["qkv_hidden_sizes"] = [width, width, value_width]
    total = past + length
    feeds = {"x": rng.standard_normal((batch, length, width)).astype(np.float32)}
    lengths = np.array([total - 2, total][:batch] + [total] * (batch - 2), np.int32)
    masks = {
        "ends": lengths,
        "ends_starts": np.concatenate([lengths, np.array([1] + [0] * (batch - 1), np.int32)]),
        "keys": (np.arange(total)[None, :] < lengths[:, None]).astype(np.int32),
        "queries_keys": (rng.random((batch, length, total)) > 0.3).astype(np.int32),
        "dummy": np.ones((batch, 1), np.int32),
    }
    inputs = [("x", TensorProto.FLOAT, list(feeds["x"].shape))]
    names = ["x", "W", "bias", "", ""]
    if mask:
        feeds["mask"] = masks[mask]
        inputs.append(("mask", TensorProto.INT32, list(feeds["mask"].shape)))
        names[3] = "mask"
    outputs = [("y", TensorProto.FLOAT)]
    if past:
        head = width // heads
        feeds["past"] = rng.standard_normal((2, batch, heads, past, head)).astype(np.float32)
        inputs.append(("past", TensorProto.FLOAT, list(feeds["past"].shape)))
        names[4] = "past"
        outputs.append(("present", TensorProto.FLOAT))
    while names[-1] == "":
        names.pop()
    node = helper.make_node(
        "Attention", names, [o for o, _ in outputs], "attention", domain="com.microsoft",
        num_heads=heads, **attributes,
    )  # fmt: skip
    return make_model([node], inputs, outputs, arrays), feeds


def check(
    model: onnx.ModelProto, feeds: dict[str, np.ndarray], exact_in_ort: bool = True, dims=None
):
    """Compiled == reference, and == ORT's session at one thread where it is exact."""
    module = import_onnx(model, free_dimensions=dims)
    got = compile_module(module)(**feeds)
    theirs = run_ort(model, feeds)
    for a, b, c in zip(got, run_function(module, feeds), theirs, strict=True):
        assert a.shape == c.shape and bits(a) == bits(b)
        assert bits(a) == bits(c) or not exact_in_ort
    return got


ATTENTION_CASES = {
    "no-mask": {},
    "end-positions": {"mask": "ends"},
    "end-and-start-positions": {"mask": "ends_starts"},
    "key-flags": {"mask": "keys"},
    "query-key-flags": {"mask": "queries_keys", "mask_filter_value": -3000.0},
    "dummy-mask": {"mask": "dummy"},
    "causal": {"unidirectional": 1},
    "causal-key-flags": {"unidirectional": 1, "mask": "keys"},
    "past-causal": {"past": 3, "unidirectional": 1, "mask": "keys"},
    "value-width": {"value_width": 16, "mask": "ends"},
    "scale": {"scale": 0.5, "mask": "ends"},
    "two-k-blocks": {"width": 320, "heads": 5, "mask": "ends"},
    "one-token": {"length": 1, "past": 4, "mask": "keys"},
}


@pytest.mark.parametrize("case", ATTENTION_CASES, ids=list(ATTENTION_CASES))
def test_attention_is_onnxruntimes_bit_for_bit(case: str) -> None:
    check(*attention_model(**ATTENTION_CASES[case]))


def ort_dynamic(model: onnx.ModelProto, **options) -> onnx.ModelProto:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    if "weight_type" in options:
        options["weight_type"] = QuantType[options["weight_type"]]
    with tempfile.TemporaryDirectory() as folder:
        source, target = os.path.join(folder, "f.onnx"), os.path.join(folder, "q.onnx")
        onnx.save(model, source)
        quantize_dynamic(source, target, extra_options=UNTYPED_AS_FLOAT, **options)
        return onnx.load(target)


DYNAMIC_OPTIONS = {
    "s8": {},
    "s8-per-column": {"per_channel": True},
    "s8-7-bit": {"reduce_range": True},
    "u8-per-column-7-bit": {"weight_type": "QUInt8", "per_channel": True, "reduce_range": True},
}


def exact_in_ort(options: dict) -> bool:
    """ORT sums u8 × s8 exactly with VNNI, or with 7-bit or uint8 weights."""
    seven_bit, unsigned = options.get("reduce_range"), options.get("weight_type") == "QUInt8"
    return bool(seven_bit or unsigned) or not ort_saturates_u8s8()


@pytest.mark.parametrize("options", DYNAMIC_OPTIONS, ids=list(DYNAMIC_OPTIONS))
def test_qattention_and_mode_dynamic_are_onnxruntimes(options: str) -> None:
    """`quantize_dynamic`'s QAttention (behind its DynamicQuantizeLinear) imports as ORT runs
    it, and `mode: dynamic` makes the same of the float Attention."""
    model, feeds = attention_model(mask="ends", unidirectional=1)
    theirs = ort_dynamic(model, **DYNAMIC_OPTIONS[options])
    assert {n.op_type for n in theirs.graph.node} == {"DynamicQuantizeLinear", "QAttention"}
    got = check(theirs, feeds, exact_in_ort(DYNAMIC_OPTIONS[options]))
    config = {"mode": "dynamic", "extra_options": UNTYPED_AS_FLOAT, **DYNAMIC_OPTIONS[options]}
    result = quantize(model, None, config)
    assert result.summary.quantized == ["attention"]
    for a, b in zip(compile_module(result.module)(**feeds), got, strict=True):
        assert bits(a) == bits(b)


def embed_model(
    segments: bool = True, mask: bool = True, positions: str = "", embedding_sum: bool = False
):
    """One EmbedLayerNormalization; `positions`: "", "row" ([1, S]) or "batch" ([B, S])."""
    rng = np.random.default_rng(5)
    batch, length, hidden, vocab = 2, 9, 40, 30  # 18 rows: 16 normalized at once, 2 alone
    arrays = {
        "word": rng.standard_normal((vocab, hidden)).astype(np.float32),
        "position": rng.standard_normal((16, hidden)).astype(np.float32),
        "segment": rng.standard_normal((2, hidden)).astype(np.float32),
        "gamma": (rng.random(hidden) + 0.5).astype(np.float32),
        "beta": (rng.standard_normal(hidden) * 0.1).astype(np.float32),
    }
    feeds = {"ids": rng.integers(0, vocab, (batch, length)).astype(np.int32)}
    names = ["ids", "", "word", "position", "", "gamma", "beta", "", ""]
    if segments:
        feeds["segments"] = rng.integers(0, 2, (batch, length)).astype(np.int32)
        names[1], names[4] = "segments", "segment"
    if mask:
        feeds["mask"] = (np.arange(length)[None, :] < np.array([[length], [4]])).astype(np.int32)
        names[7] = "mask"
    if positions:
        rows = 1 if positions == "row" else batch
        feeds["positions"] = rng.integers(0, 16, (rows, length)).astype(np.int32)
        names[8] = "positions"
    while names[-1] == "":
        names.pop()
    outputs = ["y", "mask_index"] + (["sum"] if embedding_sum else [])
    node = helper.make_node(
        "EmbedLayerNormalization", names, outputs, "embed", domain="com.microsoft",
        epsilon=1e-5,
    )  # fmt: skip
    inputs = [(n, TensorProto.INT32, list(a.shape)) for n, a in feeds.items()]
    kinds = {"mask_index": TensorProto.INT32}
    outs = [(o, kinds.get(o, TensorProto.FLOAT)) for o in outputs]
    if not segments:
        arrays.pop("segment")
    return make_model([node], inputs, outs, arrays), feeds


EMBED_CASES = {
    "segments-mask": {},
    "no-segments-no-mask": {"segments": False, "mask": False},
    "position-row": {"positions": "row", "embedding_sum": True},
    "position-batch": {"positions": "batch"},
}


@pytest.mark.parametrize("case", EMBED_CASES, ids=list(EMBED_CASES))
def test_embed_layer_norm_is_onnxruntimes_bit_for_bit(case: str) -> None:
    check(*embed_model(**EMBED_CASES[case]))


@pytest.mark.parametrize("options", ["s8", "u8-per-column-7-bit"])
def test_qembed_layer_norm_and_mode_dynamic_are_onnxruntimes(options: str) -> None:
    """QEmbedLayerNormalization's uint8 tables, dequantized as ORT's kernel does; and
    `mode: dynamic` quantizes the tables as `quantize_dynamic` does."""
    model, feeds = embed_model()
    theirs = ort_dynamic(model, **DYNAMIC_OPTIONS[options])
    assert [n.op_type for n in theirs.graph.node] == ["QEmbedLayerNormalization"]
    got = check(theirs, feeds)
    config = {"mode": "dynamic", "extra_options": UNTYPED_AS_FLOAT, **DYNAMIC_OPTIONS[options]}
    result = quantize(model, None, config)
    assert result.summary.quantized == ["embed"]
    for a, b in zip(compile_module(result.module)(**feeds), got, strict=True):
        assert bits(a) == bits(b)


def test_position_ids_keep_the_embedding_float_in_mode_dynamic() -> None:
    """ORT's QEmbedLayerNormalization has no position_ids input (its quantizer drops it): the
    node stays float here, and computes what the float model computes."""
    model, feeds = embed_model(positions="batch")
    result = quantize(model, None, {"mode": "dynamic", "extra_options": UNTYPED_AS_FLOAT})
    assert result.summary.quantized == [] and "embed" in result.summary.left_float
    for a, b in zip(compile_module(result.module)(**feeds), run_ort(model, feeds), strict=True):
        assert bits(a) == bits(b)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"do_rotary": 1}, "do_rotary = 1 is not imported (ORT's CPU kernel refuses it)"),
        ({"mask": "4d"}, "mask_index of shape [2, 1, 6, 6] is not imported"),
        ({"past_present_share_buffer": 1}, "past_present_share_buffer = 1 is not imported"),
    ],
)
def test_what_attention_does_not_import_is_refused_by_name(change, message) -> None:
    four_d = change.pop("mask", "") == "4d"
    model, _ = attention_model(mask="ends" if four_d else "", **change)
    if four_d:
        model.graph.input[1].CopyFrom(
            helper.make_tensor_value_info("mask", TensorProto.INT32, [2, 1, 6, 6])
        )
    with pytest.raises(OnnxImportError) as err:
        import_onnx(model)
    assert str(err.value).startswith("node 'attention' (Attention): ")
    assert message in str(err.value)


DIMS = {"batch": 1, "length": 8}


def optimized_bert(folder: str) -> onnx.ModelProto:
    """A one-layer BERT encoder in torch (hidden 32, 2 heads, an erf GELU, the additive
    `(1 - mask) · -10000` mask), exported, then fused by ORT's transformer optimizer into
    EmbedLayerNormalization, Attention, SkipLayerNormalization and BiasGelu."""
    import torch
    from onnxruntime.transformers.optimizer import optimize_model

    hidden, heads, vocab, length = 32, 2, 40, 8
    torch.manual_seed(0)

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.word = torch.nn.Embedding(vocab, hidden)
            self.position = torch.nn.Embedding(16, hidden)
            self.segment = torch.nn.Embedding(2, hidden)
            self.norms = torch.nn.ModuleList(torch.nn.LayerNorm(hidden, eps=1e-12) for _ in "abc")
            self.qkv = torch.nn.ModuleList(torch.nn.Linear(hidden, hidden) for _ in "qkvo")
            self.up, self.down = torch.nn.Linear(hidden, 64), torch.nn.Linear(64, hidden)
            self.register_buffer("positions", torch.arange(16).unsqueeze(0))

        def forward(self, ids, mask, segments):
            positions = self.positions[:, : ids.size(1)]
            x = self.word(ids) + self.segment(segments) + self.position(positions)
            x = self.norms[0](x)
            extended = (1.0 - mask.unsqueeze(1).unsqueeze(2).to(torch.float32)) * -10000.0
            q, k, v = (
                f(x).view(1, length, heads, hidden // heads).permute(0, 2, 1, 3)
                for f in self.qkv[:3]
            )
            scores = torch.matmul(q, k.transpose(-1, -2)) / (hidden // heads) ** 0.5
            context = torch.matmul(torch.softmax(scores + extended, dim=-1), v)
            context = context.permute(0, 2, 1, 3).contiguous().view(1, length, hidden)
            a = self.norms[1](self.qkv[3](context) + x)
            return self.norms[2](self.down(torch.nn.functional.gelu(self.up(a))) + a)

    ids = torch.randint(0, vocab, (1, length))
    path = os.path.join(folder, "bert.onnx")
    torch.onnx.export(
        Encoder().eval(),
        (ids, torch.ones(1, length, dtype=torch.int64), torch.zeros(1, length, dtype=torch.int64)),
        path,
        dynamo=False,
        opset_version=17,
        input_names=["ids", "mask", "segments"],
        output_names=["y"],
        dynamic_axes={name: {0: "batch", 1: "length"} for name in ("ids", "mask", "segments", "y")},
    )  # (dynamic: the optimizer's EmbedLayerNormalization fusion reads the positions' Shape)
    optimized = optimize_model(
        path, model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=0
    )
    optimized.save_model_to_file(path)  # (which adds the com.microsoft opset)
    return onnx.load(path)


def test_an_optimized_bert_and_its_dynamic_quantization_are_onnxruntimes(tmp_path) -> None:
    """The transformer optimizer's BERT runs as ORT runs it; `quantize_dynamic` of it
    (QEmbedLayerNormalization, QAttention, MatMulInteger chains) too; and `mode: dynamic`
    makes that same model of the float one, bit for bit."""
    model = optimized_bert(str(tmp_path))
    kinds = {n.op_type for n in model.graph.node}
    assert {"EmbedLayerNormalization", "Attention", "SkipLayerNormalization"} <= kinds
    rng = np.random.default_rng(1)
    feeds = {
        "ids": rng.integers(0, 40, (1, 8)).astype(np.int64),
        "mask": np.array([[1] * 6 + [0] * 2], np.int64),
        "segments": np.array([[0] * 4 + [1] * 4], np.int64),
    }
    check(model, feeds, dims=DIMS)
    for options in ("s8-7-bit", "u8-per-column-7-bit"):
        theirs = ort_dynamic(model, **DYNAMIC_OPTIONS[options])
        assert {"QAttention", "QEmbedLayerNormalization"} <= {n.op_type for n in theirs.graph.node}
        got = check(theirs, feeds, dims=DIMS)
        config = {"mode": "dynamic", "extra_options": UNTYPED_AS_FLOAT, **DYNAMIC_OPTIONS[options]}
        mine = quantize(model, None, config, free_dimensions=DIMS).module
        for a, b in zip(compile_module(mine)(**feeds), got, strict=True):
            assert bits(a) == bits(b)


def test_qattention_with_a_past_is_onnxruntimes() -> None:
    """GPT-2's causal attention with a past and its present, quantized by `quantize_dynamic`."""
    model, feeds = attention_model(past=3, unidirectional=1, mask="keys")
    theirs = ort_dynamic(model, reduce_range=True)
    assert "QAttention" in {n.op_type for n in theirs.graph.node}
    got = check(theirs, feeds)
    config = {"mode": "dynamic", "reduce_range": True, "extra_options": UNTYPED_AS_FLOAT}
    for a, b in zip(
        compile_module(quantize(model, None, config).module)(**feeds), got, strict=True
    ):
        assert bits(a) == bits(b)
