"""The external (e.g. ONNX) name of a tensor, read one way by every consumer.

Calibration tables are keyed by the float model's tensor names (ONNX Runtime's JSON cache), so
the name must survive import exactly. An SSA name hint cannot always hold it: the importer
sanitizes it to `[A-Za-z0-9_]` and xDSL drops a trailing `_<digits>` (`relu_1` becomes `relu`).
So a name travels as a `qnn.name` string attribute: on the function for arguments and results
(`arg_attrs` / `res_attrs`), and, as a discardable attribute, on the op defining a value whose
name hint differs from its name. `tensor_name` reads the attribute where there is one and the
name hint otherwise. `node_name` is the ONNX node an op came from (`qnn.node`, recorded when the
importer is asked to keep node names for the quantizer's node rules).
"""

from __future__ import annotations

import re

from xdsl.dialects import func
from xdsl.dialects.builtin import ArrayAttr, StringAttr
from xdsl.ir import BlockArgument, Operation, OpResult, SSAValue

NAME_ATTR = "qnn.name"
NODE_ATTR = "qnn.node"
# the ONNX op type of an op that is one of several an ONNX node became (BatchNormalization's
# multiply and add), so that the quantizer applies that node's rule, not `Mul`'s or `Add`'s
OP_TYPE_ATTR = "qnn.op_type"
# a constant that is an ONNX node's output (a Constant node, arithmetic the importer folded),
# not an initializer: ONNX Runtime's calibrator observes those (`import_onnx(node_constants=)`)
NODE_OUTPUT_ATTR = "qnn.node_output"
# the ONNX node a reshape stands for when it is not a Reshape: Flatten, Squeeze or Unsqueeze
# (quantizer rules name them; ONNX Runtime's QDQ propagation passes all but Flatten)
RESHAPE_OF_ATTR = "qnn.reshape_of"
# a constant the importer rewrote from an initializer (a 1-D conv's weight as [O, C, 1, K]):
# the initializer's name, by which the quantizer's tensor overrides know it
INITIALIZER_ATTR = "qnn.initializer"
# a Q or DQ ONNX Runtime's QDQ propagation inserted (`rewrites.qdq_propagation`): a QDQ node of
# ORT's, even in a function written in QOperator form, whose other pairs stand for QLinear nodes
PROPAGATED_ATTR = "qnn.propagated"
# an op whose result ONNX's shape inference gives no type (what a contrib op such as
# com.microsoft Gelu, or a GroupNormalization-21, writes, and all that follows it without a
# value_info): ONNX Runtime's quantizers neither calibrate nor quantize such a tensor
UNTYPED_ATTR = "qnn.untyped"
# a function quantize_static wrote in QOperator form: its Q/DQ pairs stand for QLinear nodes
# reading and writing stored values, so no two of them are ONNX Runtime's back-to-back pairs
QOPERATOR_ATTR = "qnn.qoperator"
# a float constant `fold-dequantized-filters` made of a DequantizeLinear's output: no initializer
# to ONNX Runtime, so its WeightBiasQuantization never quantizes it (qnn-default run again)
DEQUANTIZED_ATTR = "qnn.folded_filter"


def tensor_name(value: SSAValue) -> str | None:
    """The recorded name of `value`, else its SSA name hint, else None (an unnamed value)."""
    recorded = None
    if isinstance(value, BlockArgument):
        function = value.block.parent_op()
        attrs = function.arg_attrs if isinstance(function, func.FuncOp) else None
        if attrs is not None and value.index < len(attrs.data):
            recorded = attrs.data[value.index].data.get(NAME_ATTR)
    elif isinstance(value, OpResult):
        recorded = value.op.attributes.get(_result_name_attr(value.index))
    if isinstance(recorded, StringAttr):
        return recorded.data
    return value.name_hint


def recorded_names(attrs: ArrayAttr | None, count: int) -> list[str | None]:
    """The names `arg_attrs` or `res_attrs` record for a function's `count` arguments or
    results (None where none is)."""
    names: list[str | None] = []
    for index in range(count):
        recorded = attrs.data[index].data.get(NAME_ATTR) if attrs and index < len(attrs) else None
        names.append(recorded.data if isinstance(recorded, StringAttr) else None)
    return names


def ssa_name_hint(name: str) -> str | None:
    """An SSA name hint for the external name `name` (xDSL accepts `[A-Za-z0-9_$.-]`, not
    starting with a digit; ONNX names such as `onnx::Conv_51` or `/layer1/Relu_output_0` are
    not): other characters become `_`, a leading digit gets a `v`. None for an empty name."""
    hint = re.sub(r"[^A-Za-z0-9_]", "_", name)
    if not hint:
        return None
    return hint if not hint[0].isdigit() else f"v{hint}"


# what xDSL accepts as a name hint
VALID_HINT = re.compile(r"[A-Za-z_$.\-][A-Za-z0-9_$.\-]*")


def kept_name_hint(name: str) -> str | None:
    """`name` itself where xDSL takes it as a name hint (`conv1.weight`), else `ssa_name_hint`
    (`onnx::Conv_51` becomes `onnx__Conv_51`)."""
    return name if VALID_HINT.fullmatch(name) else ssa_name_hint(name)


def record_name(value: SSAValue, name: str) -> None:
    """Name `value` (a result of an op) `name`: the attribute is added only when the name hint
    the value can carry is not the name itself, so most printed IR is unchanged."""
    if value.name_hint == name:
        return
    assert isinstance(value, OpResult), "names a result of an op"
    value.op.attributes[_result_name_attr(value.index)] = StringAttr(name)


def _result_name_attr(index: int) -> str:
    """`qnn.name` for an op's first result, `qnn.name.1`, ... for the others (TopK's indices)."""
    return NAME_ATTR if index == 0 else f"{NAME_ATTR}.{index}"


def node_name(op: Operation) -> str | None:
    """The ONNX node `op` was imported from, if the importer recorded it."""
    name = op.attributes.get(NODE_ATTR)
    return name.data if isinstance(name, StringAttr) else None


def carry_node(source: Operation, target: Operation) -> None:
    """`target` replaces `source` (a fusion): it keeps the ONNX node name, if recorded."""
    name = source.attributes.get(NODE_ATTR)
    if name is not None:
        target.attributes[NODE_ATTR] = name
