"""A quantized AveragePool whose ceil_mode window reaches past the padding it counts, as ONNX
Runtime's session runs it: QLinearAveragePool, which clips the window to the image and divides
by the whole kernel.

The importer reads such a pool of a float model as ORT's calibrator runs it, ORT's own loop
(`builders.build_pool2d_as_3d`: `qnn.pool3d {loop}` over [N, C, 1, H, W], counting the declared
padding only). Once our quantizer puts it between a DequantizeLinear and a QuantizeLinear, ORT
runs it as QLinearAveragePool instead, which the importer reads off ORT's quantized model as
`qnn.avg_pool2d` with the last window's end padding widened (counted): this module writes that,
so `fold-qdq` fuses it as it fuses the imported one. Between int8 pairs in QDQ form ORT runs it
either way (its QDQS8ToU8 may retype the pair in front, and the pool then stays float), which
the importer refuses by name: so does the quantizer (`qdq_int8_refused`).
"""

from __future__ import annotations

from xdsl.dialects import tensor
from xdsl.dialects.builtin import BoolAttr, StringAttr
from xdsl.ir import Block
from xdsl.rewriter import InsertPoint, Rewriter

from qdialect import qnn
from qdialect.names import node_name, tensor_name
from qdialect.qnn.common import int_array
from qdialect.tensors import element_type
from rewrites.onnx_nodes import node_kind
from rewrites.quantize_error import QuantizeError


def qlinear_ceil_pools(block: Block, qdq_int8_refused: bool) -> None:
    for op in list(block.ops):
        if not isinstance(op, qnn.Pool3DOp) or op.loop is None or op.maximum:
            continue
        before, users = op.input.owner, [use.operation for use in op.result.uses]
        if not isinstance(before, tensor.ReshapeOp) or len(users) != 1:
            continue
        (after,) = users
        if not isinstance(after, tensor.ReshapeOp) or node_kind(after) != "AveragePool":
            continue
        source = before.source
        quantizes = [use.operation for use in after.result.uses]
        dequantized = isinstance(source.owner, qnn.DequantizeOp)
        if not dequantized or not all(isinstance(q, qnn.QuantizeOp) for q in quantizes):
            continue
        if qdq_int8_refused and element_type(source.owner.input.type).signed:
            raise QuantizeError(
                f"AveragePool '{node_name(after) or tensor_name(after.result)}': "
                "ceil_mode=1 with a window past the padding, counting padding, between int8 "
                "pairs in QDQ form: ORT runs it as QLinearAveragePool (dividing by the whole "
                "kernel) or, where its QDQS8ToU8 retypes the pair in front, as a float "
                "AveragePool; quantize with QUInt8 activations or in QOperator form, or exclude "
                "the node (nodes_to_exclude)"
            )
        window = op.window()
        image = source.type.get_shape()[2:]  # type: ignore[union-attr]
        out = after.result.type.get_shape()[2:]  # type: ignore[union-attr]
        _, reach_h, reach_w = window.reach((1, *image), (1, *out))
        _, top, left, _, bottom, right = window.pads
        pool = qnn.AvgPool2DOp.create(
            operands=[source],
            result_types=[after.result.type],
            properties={
                "kernel": int_array(window.kernel[1:]),
                "strides": int_array(window.strides[1:]),
                "pads": int_array([top, left, bottom + reach_h, right + reach_w]),
                "dilations": int_array(window.dilations[1:]),
                "layout": StringAttr("nchw"),
                "count_include_pad": BoolAttr.from_bool(True),
            },
            attributes=dict(after.attributes),
        )
        Rewriter.insert_op(pool, InsertPoint.before(after))
        after.result.replace_all_uses_with(pool.results[0])
        for dead in (after, op, before):
            Rewriter.erase_op(dead)
