"""The ONNX name of a value: what calibration tables and quantizer rules are keyed by.

The importer names SSA values after ONNX tensors, but an SSA name must be an identifier, so a
tensor like `/conv1/Conv_output_0` is printed as `%_conv1_Conv_output_0`; where the two
differ the exact name is kept in a `qnn.name` attribute on the defining op (function arguments
keep theirs in `qnn.name` argument attributes). `node_name` is the ONNX node an op came from
(`qnn.node`, set when the importer is asked to keep node names).
"""

from __future__ import annotations

from xdsl.dialects import func
from xdsl.dialects.builtin import DictionaryAttr, StringAttr
from xdsl.ir import BlockArgument, Operation, OpResult, SSAValue

NAME_ATTR = "qnn.name"
NODE_ATTR = "qnn.node"


def tensor_name(value: SSAValue) -> str | None:
    """The exact ONNX tensor name of `value`, else its SSA name hint."""
    if isinstance(value, BlockArgument):
        parent = value.block.parent_op()
        if isinstance(parent, func.FuncOp) and parent.arg_attrs is not None:
            attrs = parent.arg_attrs.data[value.index]
            if isinstance(attrs, DictionaryAttr) and NAME_ATTR in attrs.data:
                name = attrs.data[NAME_ATTR]
                if isinstance(name, StringAttr):
                    return name.data
    elif isinstance(value, OpResult) and value.index == 0:
        name = value.op.attributes.get(NAME_ATTR)
        if isinstance(name, StringAttr):
            return name.data
    return value.name_hint


def node_name(op: Operation) -> str | None:
    """The ONNX node `op` was imported from, if the importer recorded it."""
    name = op.attributes.get(NODE_ATTR)
    return name.data if isinstance(name, StringAttr) else None
