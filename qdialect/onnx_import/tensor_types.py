"""The ONNX element type of a tensor the importer holds, constant or run-time, and the integer
types a float32 Cast is imported to: what Cast, CastLike (`float_math`) and the constant
folder's CastLike (`folding`) read, in a module both import."""

from __future__ import annotations

from onnx import TensorProto, helper
from xdsl.dialects.builtin import IntegerType, Signedness, f32, i64

from qdialect.onnx_import.errors import NodeError
from qdialect.qnn.logical import BOOL
from qdialect.tensors import element_type

# Cast's integer targets: ONNX data type -> (width, signedness) of the result
CAST_TARGETS = {
    TensorProto.INT8: (8, Signedness.SIGNLESS),
    TensorProto.UINT8: (8, Signedness.UNSIGNED),
    TensorProto.INT16: (16, Signedness.SIGNLESS),
    TensorProto.UINT16: (16, Signedness.UNSIGNED),
    TensorProto.INT32: (32, Signedness.SIGNLESS),
    TensorProto.INT64: (64, Signedness.SIGNLESS),
}


def untyped_tensors(model) -> frozenset[str]:
    """The node outputs ONNX's shape inference gives no type: what ONNX Runtime's quantizers
    find no value_info for after `load_model_with_shape_infer` (its calibrator skips them, its
    quantizers leave them float: "failed to infer the type of tensor"). The model's own
    value_infos count, as inference keeps them."""
    from onnx import shape_inference

    try:
        inferred = shape_inference.infer_shapes(model).graph
    except (ValueError, shape_inference.InferenceError):  # (a model over 2 GB): all typed
        return frozenset()
    infos = (*inferred.value_info, *inferred.input, *inferred.output)
    typed = {v.name for v in infos if v.type.tensor_type.elem_type}  # (0: no tensor type)
    typed |= {t.name for t in inferred.initializer}
    outputs = (name for node in inferred.node for name in node.output if name)
    return frozenset(name for name in outputs if name not in typed)


def onnx_type_of(g, name: str) -> int:
    """The ONNX element type (`TensorProto.DataType`) of tensor `name` of the importer `g`."""
    if name in g.initializers and name not in g.values:
        return helper.np_dtype_to_tensor_dtype(g.initializers[name].dtype)
    elem = element_type(g.value(name).type)
    known = {f32: TensorProto.FLOAT, BOOL: TensorProto.BOOL, i64: TensorProto.INT64}
    known.update({IntegerType(*signature): to for to, signature in CAST_TARGETS.items()})
    if elem not in known:
        raise NodeError(f"input '{name}' has type {elem}, which CastLike is not imported to")
    return known[elem]
