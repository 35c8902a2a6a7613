"""Ops ONNX Runtime runs as their ONNX function bodies: it has no CPU kernel for them and
inlines each node's body when the session starts (measured on 1.31.1: GroupNormalization of
opset 21 (18's, deprecated, fails onnx.checker here), Mish, Swish; HardSwish too, which
`activations` imports as the same two ops).

The importer imports the same body, node by node through the same handlers, so the result is
ORT's bit for bit. The body is ONNX's own: the schema's function for the model's opset, or its
context-dependent one, built for this node's attributes and input types (GroupNormalization's
literals are baked in). Its tensors get names under the node's output name; its ops stand for
the one node (`mark_decomposed`), as ORT's quantizers, which see the node before any session
inlines it, leave it float.
"""

from __future__ import annotations

from qdialect.names import NAME_ATTR
from qdialect.onnx_import.common import shape_of
from qdialect.onnx_import.errors import NodeError
from qdialect.onnx_import.folding import fold
from qdialect.onnx_import.graph import GraphImporter
from qdialect.onnx_import.registry import handles
from qdialect.onnx_import.tensor_types import onnx_type_of

INLINED = (
    "GroupNormalization", "Mish", "Swish", "CenterCropPad", "NegativeLogLikelihoodLoss",
    "SoftmaxCrossEntropyLoss",
)  # fmt: skip


def _input_type(g: GraphImporter, name: str):
    """The TypeProto of tensor `name` (a context-dependent body is built for its input types)."""
    from onnx import helper

    shape = g.initializers[name].shape if name in g.initializers else shape_of(g.value(name))
    return helper.make_tensor_type_proto(onnx_type_of(g, name), list(shape))


def function_body(g: GraphImporter, node):
    """ONNX's FunctionProto for `node` at the model's opset."""
    from onnx import FunctionProto, defs

    try:
        schema = defs.get_schema(node.op_type, g.opset)
    except defs.SchemaError:
        raise NodeError(f"ONNX has no {node.op_type} at opset {g.opset}") from None
    if schema.has_function:
        return schema.function_body
    types = [_input_type(g, name).SerializeToString() for name in node.input if name]
    try:
        built = schema.get_context_dependent_function(node.SerializeToString(), types)
    except Exception as err:  # the builder's own checks (num_groups against the channels...)
        raise NodeError(f"its function body cannot be built: {err}") from None
    return FunctionProto.FromString(built)


def _with_attributes(inner, node):
    """`inner` (a body node) with the values of the attributes it refers to from `node`;
    a reference to an attribute `node` does not set is dropped (the op's default applies)."""
    from onnx import NodeProto

    given = {a.name: a for a in node.attribute}
    copy = NodeProto()
    copy.CopyFrom(inner)
    del copy.attribute[:]
    for attribute in inner.attribute:
        if not attribute.ref_attr_name:
            copy.attribute.append(attribute)
        elif attribute.ref_attr_name in given:
            value = copy.attribute.add()
            value.CopyFrom(given[attribute.ref_attr_name])
            value.name = attribute.name
    return copy


@handles(*INLINED)
def inlined(g: GraphImporter, node) -> None:
    """The node's function body, node by node, as one node's ops."""
    body = function_body(g, node)
    names = dict(zip(body.input, node.input, strict=False))
    names.update(zip(body.output, node.output, strict=False))
    prefix = inner_prefix(node)

    def renamed(name: str) -> str:
        return names.get(name, prefix + name) if name else ""

    steps = []
    for inner in body.node:
        step = _with_attributes(inner, node)
        step.input[:] = [renamed(n) for n in inner.input]
        step.output[:] = [renamed(n) for n in inner.output]
        steps.append(step)
    import_steps(g, node, steps, "its function body's")


def inner_prefix(node) -> str:
    """The prefix of the names of the tensors inside `node`'s body (unique: a node output's,
    the first one the node writes, as an LSTM may leave out Y)."""
    return f"{next((o for o in node.output if o), node.name)}/{node.op_type}/"


def import_steps(g: GraphImporter, node, steps: list, what: str, internal=None) -> None:
    """Import `steps` (standard ONNX nodes reading `node`'s inputs and writing its outputs,
    their own tensors named under `inner_prefix(node)`) through the same handlers, as the ops of
    the one node `node`: its own constants are no node output, its inner ops unnamed.
    `internal`: handlers of step types no model can name (a composition's plain select)."""
    internal = internal or {}
    prefix = inner_prefix(node)
    since = g.block.last_op
    for step in steps:
        step.name = node.name  # (the quantizer's rules name the node)
        handler = internal.get(step.op_type) or g.handlers.get(step.op_type)
        if handler is None:
            raise NodeError(f"{what} {step.op_type} is not imported")
        g.node = step  # handlers read their node's inputs through the importer
        try:
            if step.op_type in internal or not fold(g, step):
                handler(g, step)
        finally:
            g.node = node
    for name in [n for n in g.folded if n.startswith(prefix)]:
        del g.folded[name]  # the body's own constants: no node output ORT's calibrator sees
    outputs = {g.values[name].owner for name in node.output if name in g.values}
    for op in g.added_since(since):
        if op not in outputs and op.results:  # inner ops are unnamed (`onnx_nodes.inner_op`)
            op.results[0].name_hint = None
            op.attributes.pop(NAME_ATTR, None)
    g.mark_decomposed(since, node.op_type)
