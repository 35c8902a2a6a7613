"""Block-wise QuantizeLinear / DequantizeLinear nodes (their types: `blockwise_types`)."""

from __future__ import annotations

import numpy as np
from xdsl.dialects.builtin import f32
from xdsl.ir import SSAValue

from qdialect import qnn
from qdialect.onnx_import.blockwise_types import OUTPUT_DTYPES, STORAGE, blocked_type
from qdialect.onnx_import.common import attrs, shape_of, tensor_type
from qdialect.onnx_import.errors import NodeError
from qdialect.onnx_import.graph import GraphImporter
from qdialect.onnx_import.nbits import weight_constant
from qdialect.quant_ops import DequantizeCastOp, QuantizeCastOp
from qdialect.types import Granularity


def quantize(g: GraphImporter, node, x: SSAValue) -> None:
    """Block-wise QuantizeLinear of float32 `x`."""
    dtype = OUTPUT_DTYPES.get(attrs(node).get("output_dtype", 0))
    qtype = blocked_type(g, node, shape_of(x), dtype)
    result = tensor_type(shape_of(x), qtype)
    if qtype.granularity is Granularity.SUB_CHANNEL:
        y = QuantizeCastOp(x, result)
    else:
        y = qnn.QuantizeOp(x, result)
    g.define(node.output[0], g.add(y, node.output[0]))


def dequantize(g: GraphImporter, node) -> None:
    """Block-wise DequantizeLinear: a constant, a graph input or an earlier result."""
    name = node.input[0]
    shape = g.shape_of_input(name)
    qtype = blocked_type(g, node, shape, None)
    if name in g.initializers and name not in g.values:
        data = g.initializers[name]
        if STORAGE.get(data.dtype.name) != qtype.storage_spelling:
            raise NodeError(f"input '{name}' of type {data.dtype} does not match its zero point")
        x = weight_constant(g, np.asarray(data.astype(np.int64)), qtype)
    else:
        x = g.quantized(name, qtype)
    result = tensor_type(shape, f32)
    if qtype.granularity is Granularity.SUB_CHANNEL:
        y = DequantizeCastOp(x, result)
    else:
        y = qnn.DequantizeOp(x, result)
    g.define(node.output[0], g.add(y, node.output[0]))
