"""Quantized AveragePools our quantizer puts between Q/DQ pairs whose float form differs from
the QLinearAveragePool ONNX Runtime's session runs for them.

- **2-D, ceil_mode, counting padding, the last window past it.** The importer reads such a pool
  of a float model as ORT's calibrator runs it, ORT's own loop (`builders.build_pool2d_as_3d`:
  `qnn.pool3d {loop}` over [N, C, 1, H, W], counting the declared padding only). ORT's
  QLinearAveragePool clips the window to the image and divides by the whole kernel, which the
  importer reads off ORT's quantized model as `qnn.avg_pool2d` with the end padding widened:
  this module writes that, and `fold-qdq` fuses it as it fuses the imported one.
- **3-D.** `fold-qdq` has no quantized `qnn.pool3d`: the pool becomes the float ops of
  `qdialect.qlinear_pool3d`, as the importer writes ORT's model.

Between int8 pairs in QDQ form ORT runs it either way (its QDQS8ToU8 may retype the pair
in front, and the pool then stays float), which the importer refuses by name: so does the
quantizer (`qdq_int8_refused`).
"""

from __future__ import annotations

from xdsl.dialects import tensor
from xdsl.dialects.builtin import BoolAttr, StringAttr
from xdsl.ir import Block
from xdsl.rewriter import InsertPoint, Rewriter

from qdialect import qnn
from qdialect.names import node_name, tensor_name
from qdialect.qlinear_pool3d import qlinear_average_ops
from qdialect.qnn.common import int_array
from qdialect.tensors import element_type
from rewrites.onnx_nodes import node_kind
from rewrites.quantize_error import QuantizeError


def qlinear_average_pools(block: Block, qdq_int8_refused: bool) -> None:
    for op in list(block.ops):
        if not isinstance(op, qnn.Pool3DOp) or op.maximum:
            continue
        users = [use.operation for use in op.result.uses]
        before = op.input.owner
        if isinstance(before, tensor.ReshapeOp) and len(users) == 1:
            (last,) = users  # a 2-D pool over [N, C, 1, H, W] between reshapes
            if not isinstance(last, tensor.ReshapeOp) or op.loop is None:
                continue
            source, ops = before.source, (last, op, before)
        else:
            last, source, ops = op, op.input, (op,)
        quantizes = [use.operation for use in last.results[0].uses]
        if node_kind(last) != "AveragePool" or not _between_pairs(source, quantizes):
            continue
        if qdq_int8_refused and element_type(source.owner.input.type).signed:
            raise QuantizeError(
                f"AveragePool '{node_name(last) or tensor_name(last.results[0])}' between int8 "
                "pairs in QDQ form: ORT runs it as QLinearAveragePool or, where its QDQS8ToU8 "
                "retypes the pair in front, as a float AveragePool (a ceil_mode window past "
                "the padding it counts, or a 3-D window); quantize with QUInt8 activations or "
                "in QOperator form, or exclude the node (nodes_to_exclude)"
            )
        window = op.window()
        if len(ops) == 1:
            y_type = element_type(quantizes[0].result.type)
            include_pad = op.count_include_pad is not None
            new = qlinear_average_ops(source, window, op.out_shape(), include_pad, y_type)
        else:
            new = [_ceil_pool_2d(op, window, source, last)]
        new[-1].attributes.update(last.attributes)
        Rewriter.insert_op(new, InsertPoint.before(last))
        last.results[0].replace_all_uses_with(new[-1].results[0])
        for dead in ops:
            Rewriter.erase_op(dead)


def _between_pairs(source, quantizes) -> bool:
    """A dequantized input, read back by quantizes to one type only (ORT's QDQ group)."""
    types = {str(q.result.type) for q in quantizes if isinstance(q, qnn.QuantizeOp)}
    complete = quantizes and all(isinstance(q, qnn.QuantizeOp) for q in quantizes)
    return isinstance(source.owner, qnn.DequantizeOp) and bool(complete) and len(types) == 1


def _ceil_pool_2d(op: qnn.Pool3DOp, window, source, last) -> qnn.AvgPool2DOp:
    """The 2-D QLinearAveragePool as the importer reads it: the last window's reach counted as
    end padding."""
    image = source.type.get_shape()[2:]
    out = last.results[0].type.get_shape()[2:]
    _, reach_h, reach_w = window.reach((1, *image), (1, *out))
    _, top, left, _, bottom, right = window.pads
    return qnn.AvgPool2DOp.create(
        operands=[source],
        result_types=[last.results[0].type],
        properties={
            "kernel": int_array(window.kernel[1:]),
            "strides": int_array(window.strides[1:]),
            "pads": int_array([top, left, bottom + reach_h, right + reach_w]),
            "dilations": int_array(window.dilations[1:]),
            "layout": StringAttr("nchw"),
            "count_include_pad": BoolAttr.from_bool(True),
        },
    )
