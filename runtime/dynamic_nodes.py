"""`quantize_dynamic`'s whole-node quantizers (onnxruntime 1.31.1, `quantization/operators/`),
applied to the ONNX graph before it is imported.

The importer unrolls an LSTM, an Attention or an EmbedLayerNormalization into steps
(`qdialect.onnx_import.recurrent`, `.bert`), where no rewrite can tell their GEMMs and tables
apart any more; ORT's quantizer replaces each node whole by a contrib node, which the importer
reads as ORT's kernel computes it. So those nodes are replaced here, as ORT replaces them, when
`should_quantize_node` selects them (the config's op types, node lists and rules):

- **LSTM → DynamicQuantizeLSTM** (`LSTMQuant`), when W and R are float initializers of rank 3:
  both quantized to int8 whatever `weight_type` says, by `quantize_weight_per_channel` on
  axis 0: one range per direction, or with `per_channel` one per direction and gate row (the
  weight read as [directions·4·hidden, K]); then transposed to [directions, K, 4·hidden],
  the scales and zero points shaped [directions] or [directions, 4·hidden]; the attributes
  but `layout` carried over. ORT drops `layout`, so its node would read a batch-major input
  as sequence-major: such an LSTM stays float here.
- **Attention → QAttention** (`AttentionQuant`, com.microsoft's Attention without
  `qkv_hidden_sizes`, constant weights): the input through a DynamicQuantizeLinear, the
  weights quantized to `weight_type` per tensor or, with `per_channel`, per column, with
  `reduce_range`; inputs [x, W, bias, x scale, W scale, mask, x zero point, W zero point, past].
- **EmbedLayerNormalization → QEmbedLayerNormalization** (`EmbedLayerNormalizationQuant`, two
  outputs at most): the five tables (word, position, segment, gamma, beta) quantized per tensor
  as activations (uint8, asymmetric unless `ActivationSymmetric`; `WeightSymmetric` when the
  weights are uint8 too: `quantize_initializer`'s rule). ORT's quantized node has no
  `position_ids` input and drops it; a node that reads one stays float here.

Weights are quantized by `qdialect.ort_qparams`, once per initializer (ORT's
`quantized_value_map`), named as ORT names them. ORT names each new node `<name>_quant`; here
it keeps its name, which the config's rules and the summary use.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qdialect.ort_qparams import QParams, QType, quantize_array, weight_qparams
from qdialect.quant_config import QuantizeConfig

MS_DOMAIN = "com.microsoft"
LSTM_INPUTS = 8  # X, W, R, B, sequence_lens, initial_h, initial_c, P
WHOLE_NODES = ("LSTM", "Attention", "EmbedLayerNormalization")


@dataclass(frozen=True)
class Quantized:
    """The initializer names of one quantized tensor, as ORT writes them."""

    data: str
    scale: str
    zero_point: str


class NodeQuantizer:
    """One graph's replacements; each initializer is quantized once."""

    def __init__(self, model, config: QuantizeConfig) -> None:
        self.config, self.graph = config, model.graph
        self.initializers = {t.name: t for t in self.graph.initializer}
        self.done: dict[str, Quantized] = {}
        self.names: list[str] = []
        self.quantized_inputs: set[str] = set()

    def run(self) -> None:
        methods = (self.lstm, self.attention, self.embed_layer_norm)
        replacers = dict(zip(WHOLE_NODES, methods, strict=True))
        nodes = []
        for index, node in enumerate(self.graph.node):
            replace = replacers.get(node.op_type)
            selected = replace is not None and self.config.should_quantize(
                node.op_type, node.name or None
            )
            replacement = replace(node) if selected else None
            nodes.extend(replacement or [node])
            if replacement:
                self.names.append(node.name or f"{node.op_type} #{index}")
        del self.graph.node[:]
        self.graph.node.extend(nodes)

    def _float_initializer(self, name: str, rank: int | None = None):
        from onnx import TensorProto

        tensor = self.initializers.get(name)
        floats = (TensorProto.FLOAT, TensorProto.FLOAT16)
        if tensor is None or tensor.data_type not in floats:
            return None
        return None if rank is not None and len(tensor.dims) != rank else tensor

    def _store(self, name: str, stored: np.ndarray, params: QParams, shape) -> Quantized:
        """Add the quantized data, scale and zero point initializers, named as ORT's."""
        from onnx import numpy_helper

        arrays = {
            f"{name}_quantized": stored,
            f"{name}_scale": params.scale.astype(np.float32).reshape(shape),
            f"{name}_zero_point": params.zero_point.astype(params.qtype.dtype).reshape(shape),
        }
        self.graph.initializer.extend(numpy_helper.from_array(a, n) for n, a in arrays.items())
        self.done[name] = Quantized(*arrays)
        return self.done[name]

    def _data(self, name: str) -> np.ndarray:
        from onnx import numpy_helper

        return numpy_helper.to_array(self.initializers[name]).astype(np.float32)

    def _initializer(self, name: str, qtype: QType, symmetric: bool, reduce_range: bool):
        """`quantize_initializer`: per tensor."""
        if name in self.done:
            return self.done[name]
        data = self._data(name)
        c = self.config
        params = weight_qparams(data, qtype, symmetric, reduce_range, None, c.min_real_range)
        stored = quantize_array(data, params).astype(qtype.dtype)
        return self._store(name, stored, params, ())

    # ---- LSTMQuant
    def lstm(self, node):
        from onnx import helper

        if any(a.name == "layout" and a.i for a in node.attribute):
            return None
        if any(self._float_initializer(name, 3) is None for name in node.input[1:3]):
            return None
        w, r = (self._lstm_weight(name) for name in node.input[1:3])
        inputs = list(node.input[:LSTM_INPUTS]) + [""] * (LSTM_INPUTS - len(node.input))
        inputs[1:3] = [w.data, r.data]
        inputs += [w.scale, w.zero_point, r.scale, r.zero_point]
        replacement = helper.make_node(
            "DynamicQuantizeLSTM", inputs, list(node.output), node.name, domain=MS_DOMAIN
        )
        replacement.attribute.extend(a for a in node.attribute if a.name != "layout")
        return [replacement]

    def _lstm_weight(self, name: str) -> Quantized:
        """W or R as `quantize_weight_per_channel(name, INT8, 0)` after LSTMQuant's reshape."""
        if name in self.done:
            return self.done[name]
        data = self._data(name)
        directions, rows, k = data.shape
        per_row = self.config.per_channel
        matrix = data.reshape(directions * rows, k) if per_row else data
        qtype, c = QType.QInt8, self.config
        symmetric = c.weight_symmetric(qtype)
        params = weight_qparams(matrix, qtype, symmetric, c.reduce_range, 0, c.min_real_range)
        stored = quantize_array(matrix, params).astype(np.int8).reshape(directions, rows, k)
        transposed = np.ascontiguousarray(stored.transpose(0, 2, 1))
        shape = (directions, rows) if per_row else (directions,)
        return self._store(name, transposed, params, shape)

    # ---- AttentionQuant
    def attention(self, node):
        from onnx import helper

        if node.domain != MS_DOMAIN or any(a.name == "qkv_hidden_sizes" for a in node.attribute):
            return None
        if len(node.input) < 3 or self._float_initializer(node.input[1], 2) is None:
            return None
        c = self.config
        qtype = c.weight_type
        if node.input[1] in self.done:
            w = self.done[node.input[1]]
        elif c.per_channel:  # quantize_weight_per_channel(name, weight type, axis 1)
            data = self._data(node.input[1])
            symmetric = c.weight_symmetric(qtype)
            params = weight_qparams(data, qtype, symmetric, c.reduce_range, 1, c.min_real_range)
            stored = quantize_array(data, params).astype(qtype.dtype)
            w = self._store(node.input[1], stored, params, (data.shape[1],))
        else:
            w = self._initializer(node.input[1], qtype, c.weight_symmetric(qtype), c.reduce_range)
        x = node.input[0]
        quantized_x = [f"{x}_quantized", f"{x}_scale", f"{x}_zero_point"]
        quantize = []  # one DynamicQuantizeLinear per tensor
        if x not in self.quantized_inputs:
            self.quantized_inputs.add(x)
            name = f"{x}_QuantizeLinear"
            quantize = [helper.make_node("DynamicQuantizeLinear", [x], quantized_x, name)]
        inputs = [*node.input, *[""] * (5 - len(node.input))]
        operands = [quantized_x[0], w.data, inputs[2], quantized_x[1], w.scale, inputs[3]]
        operands += [quantized_x[2], w.zero_point, inputs[4]]
        replacement = helper.make_node(
            "QAttention", operands, list(node.output), node.name, domain=MS_DOMAIN
        )
        replacement.attribute.extend(node.attribute)
        return [*quantize, replacement]

    # ---- EmbedLayerNormalizationQuant
    def embed_layer_norm(self, node):
        from onnx import helper

        if len(node.output) > 2 or (len(node.input) > 8 and node.input[8]):
            return None
        inputs = [*node.input, *[""] * (8 - len(node.input))]
        if any(name and self._float_initializer(name) is None for name in inputs[2:7]):
            return None
        c = self.config
        qtype = QType.QUInt8  # quantize_dynamic's activation type
        # quantize_initializer: the weight symmetry when the type is the weights' too
        symmetric = c.weight_symmetric(qtype) if qtype is c.weight_type else c.activation_symmetric
        tables = [
            self._initializer(name, qtype, symmetric, False) if name else None
            for name in inputs[2:7]
        ]
        operands = [inputs[0], inputs[1]]
        operands += [t.data if t else "" for t in tables] + [inputs[7]]
        operands += [t.scale if t else "" for t in tables]
        operands += [t.zero_point if t else "" for t in tables]
        replacement = helper.make_node(
            "QEmbedLayerNormalization", operands, list(node.output), node.name, domain=MS_DOMAIN
        )
        replacement.attribute.extend(node.attribute)
        return [replacement]


def quantize_whole_nodes(model, config: QuantizeConfig) -> tuple[object, list[str]]:
    """A copy of `model` (an `onnx.ModelProto`) with each LSTM, Attention and
    EmbedLayerNormalization `quantize_dynamic` quantizes replaced by its contrib node, and the
    names of those nodes (the model itself when it has none of these)."""
    if not any(node.op_type in WHOLE_NODES for node in model.graph.node):
        return model, []
    import onnx

    # the float model's inferred types, as `quantize_dynamic` reads them (its
    # `load_model_with_shape_infer`): inference cannot see past the contrib nodes
    try:
        model = onnx.shape_inference.infer_shapes(model)
    except onnx.shape_inference.InferenceError:  # the importer names what is wrong
        model = onnx.ModelProto.FromString(model.SerializeToString())
    quantizer = NodeQuantizer(model, config)
    quantizer.run()
    if quantizer.names and not any(o.domain == MS_DOMAIN for o in model.opset_import):
        model.opset_import.append(onnx.helper.make_opsetid(MS_DOMAIN, 1))
    return model, quantizer.names
