"""`quantize_dynamic`'s LSTM: ONNX Runtime's `LSTMQuant` (onnxruntime 1.31.1,
`quantization/operators/lstm.py`), applied to the ONNX graph before it is imported.

The importer unrolls an LSTM into steps (`qdialect.onnx_import.recurrent`), where no rewrite
can tell its GEMMs apart any more; ORT's quantizer replaces the node whole, by its contrib
`DynamicQuantizeLSTM`, which the importer reads as ORT's kernel computes it. So the node is
replaced here, as `LSTMQuant.quantize` does it:

- an LSTM that `should_quantize_node` selects, whose W and R are float initializers of rank 3
  (`is_valid_quantize_weight`); any other stays float;
- W and R are quantized to int8 whatever `weight_type` says, by `quantize_weight_per_channel`
  on axis 0: one range per direction, or with `per_channel` one per direction and gate row
  (the weight read as [directions·4·hidden, K]); symmetric unless `WeightSymmetric` is false,
  `reduce_range` and `MinimumRealRange` as configured (`qdialect.ort_qparams`);
- the int8 data transposed to [directions, K, 4·hidden], the scales and zero points shaped
  [directions] or [directions, 4·hidden]; the node's attributes but `layout` carried over.
  (ORT names the node `<name>_quant`; here it keeps its name, which the config's rules and
  the summary use.)

ORT drops `layout`, so its quantized node reads a batch-major input as sequence-major; such an
LSTM stays float here (reported in the summary's `left_float`) rather than computing that.
"""

from __future__ import annotations

import numpy as np

from qdialect.ort_qparams import QType, quantize_array, weight_qparams
from qdialect.quant_config import QuantizeConfig

QUANTIZED_OP = "DynamicQuantizeLSTM"
MS_DOMAIN = "com.microsoft"
LSTM_INPUTS = 8  # X, W, R, B, sequence_lens, initial_h, initial_c, P


def quantize_lstm_nodes(model, config: QuantizeConfig) -> tuple[object, list[str]]:
    """A copy of `model` (an `onnx.ModelProto`) with each LSTM `quantize_dynamic` quantizes
    replaced by its DynamicQuantizeLSTM, and the names of those nodes (the model itself when
    there are none)."""
    if not any(node.op_type == "LSTM" for node in model.graph.node):
        return model, []
    import onnx

    # the float model's inferred types, as `quantize_dynamic` reads them (its
    # `load_model_with_shape_infer`): inference cannot see past the contrib node
    try:
        model = onnx.shape_inference.infer_shapes(model)
    except onnx.shape_inference.InferenceError:  # the importer names what is wrong
        model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    initializers = {t.name: t for t in graph.initializer}
    quantized: dict[str, tuple[str, str, str]] = {}  # a weight's names, once per weight
    names = []
    for index, node in enumerate(graph.node):
        if not _selected(node, config, initializers):
            continue
        w, r = (_weight(node.input[i], initializers, config, quantized, graph) for i in (1, 2))
        inputs = list(node.input[:LSTM_INPUTS]) + [""] * (LSTM_INPUTS - len(node.input))
        inputs += [w[2], w[1], r[2], r[1]]  # scale, then zero point
        attributes = [a for a in node.attribute if a.name != "layout"]
        replacement = onnx.helper.make_node(
            QUANTIZED_OP,
            [inputs[0], w[0], r[0], *inputs[3:]],
            list(node.output),
            node.name,
            domain=MS_DOMAIN,
        )
        replacement.attribute.extend(attributes)
        graph.node[index].CopyFrom(replacement)
        names.append(node.name or f"LSTM #{index}")
    if names and not any(o.domain == MS_DOMAIN for o in model.opset_import):
        model.opset_import.append(onnx.helper.make_opsetid(MS_DOMAIN, 1))
    return model, names


def _selected(node, config: QuantizeConfig, initializers: dict) -> bool:
    """`should_quantize_node`, then `LSTMQuant`'s own conditions on W and R."""
    from onnx import TensorProto

    if node.op_type != "LSTM" or not config.should_quantize("LSTM", node.name or None):
        return False
    if any(a.name == "layout" and a.i for a in node.attribute):
        return False
    weights = [initializers.get(name) for name in node.input[1:3]]
    floats = (TensorProto.FLOAT, TensorProto.FLOAT16)
    return all(w is not None and w.data_type in floats and len(w.dims) == 3 for w in weights)


def _weight(name: str, initializers: dict, config: QuantizeConfig, done: dict, graph):
    """(data, zero point, scale) initializer names of W or R quantized as `LSTMQuant` does."""
    from onnx import numpy_helper

    if name in done:
        return done[name]
    data = numpy_helper.to_array(initializers[name]).astype(np.float32)
    directions, rows, k = data.shape
    per_row = config.per_channel
    matrix = data.reshape(directions * rows, k) if per_row else data
    qtype = QType.QInt8
    params = weight_qparams(
        matrix, qtype, config.weight_symmetric(qtype), config.reduce_range, 0, config.min_real_range
    )
    stored = quantize_array(matrix, params).astype(np.int8).reshape(directions, rows, k)
    shape = (directions, rows) if per_row else (directions,)
    arrays = {
        f"{name}_quantized": np.ascontiguousarray(stored.transpose(0, 2, 1)),
        f"{name}_zero_point": params.zero_point.astype(np.int8).reshape(shape),
        f"{name}_scale": params.scale.astype(np.float32).reshape(shape),
    }
    graph.initializer.extend(numpy_helper.from_array(a, n) for n, a in arrays.items())
    done[name] = tuple(arrays)
    return done[name]
