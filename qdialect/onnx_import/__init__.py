"""Import quantized ONNX models (QOperator or QDQ format) as quant/qnn IR.

    from qdialect.onnx_import import import_onnx
    module = import_onnx("model_int8.onnx")      # or an onnx.ModelProto
    # then: runtime.compiled.compile_module(module)(x=...)

The `onnx` package is needed only here, and imported only when a model is. The function keeps
the graph's input and output names (`qnn.name` argument/result attributes), so the runtime
and `qopt --run --inputs x.npz` use the ONNX names as keys.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from xdsl.dialects.builtin import ModuleOp

from qdialect.onnx_import.errors import OnnxImportError

__all__ = ["OnnxImportError", "check_model", "import_onnx", "load_model"]


def load_model(source) -> object:
    """An `onnx.ModelProto` from a ModelProto, a path, or the bytes of a model file."""
    try:
        import onnx
    except ImportError:
        raise OnnxImportError(
            "importing ONNX models needs the 'onnx' package (pip install 'qdialect[onnx]')"
        ) from None
    if isinstance(source, onnx.ModelProto):
        return source
    try:
        if isinstance(source, bytes):
            return onnx.load_from_string(source)
        return onnx.load(str(Path(source)))
    except OSError as err:
        raise OnnxImportError(f"cannot read '{source}': {err.strerror or err}") from None
    except Exception as err:  # protobuf's DecodeError and friends: not a model file
        raise OnnxImportError(f"not an ONNX model: {type(err).__name__}: {err}") from None


# ops ONNX Runtime registers in the default ONNX domain that ONNX itself does not define
ORT_OPS = frozenset({"SimplifiedLayerNormalization"})


def check_model(model) -> None:
    """`onnx.checker.check_model`, after a check of the graph inputs with a clearer message."""
    import onnx

    constant = {t.name for t in model.graph.initializer}
    for info in model.graph.input:
        if info.name in constant:
            continue
        if not info.type.HasField("tensor_type"):
            raise OnnxImportError(f"graph input '{info.name}' is not a tensor")
        if not info.type.tensor_type.HasField("shape"):
            raise OnnxImportError(
                f"graph input '{info.name}' has no shape; give it a fixed shape "
                "(e.g. onnx.tools.update_model_dims) before importing"
            )
    # The checker wants a shape on every graph output, which ONNX Runtime does not (and the
    # importer computes them): give the ones without one an empty shape while it runs.
    shapeless = [
        info.type.tensor_type
        for info in [*model.graph.output, *model.graph.value_info]
        if info.type.HasField("tensor_type") and not info.type.tensor_type.HasField("shape")
    ]
    for ttype in shapeless:
        ttype.shape.SetInParent()
    # ONNX Runtime's own ops in the default domain (its optimized models hold them), which
    # ONNX's schemas do not know: checked as the contrib ops they are
    own = [n for n in model.graph.node if n.domain in ("", "ai.onnx") and n.op_type in ORT_OPS]
    contrib = not any(o.domain == "com.microsoft" for o in model.opset_import)
    for node in own:
        node.domain = "com.microsoft"
    if own and contrib:
        model.opset_import.add(domain="com.microsoft", version=1)
    try:
        onnx.checker.check_model(model)
    except Exception as err:  # ValidationError, and protobuf errors on a malformed model
        message = " ".join(str(err).split())
        raise OnnxImportError(f"the model fails onnx.checker: {message}") from None
    finally:
        for ttype in shapeless:
            ttype.ClearField("shape")
        for node in own:
            node.domain = ""
        if own and contrib:
            del model.opset_import[-1]


def import_onnx(
    source,
    function_name: str = "main",
    node_names: bool = False,
    node_constants: bool = False,
    *,
    free_dimensions: Mapping[str, int] | None = None,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
) -> ModuleOp:
    """The model's graph as one `func.func` of quant/qnn/tensor ops (not yet rewritten).

    `node_names` records each op's ONNX node name in a `qnn.node` attribute (the quantizer's
    `nodes_to_quantize`/`nodes_to_exclude` rules read it). `node_constants` gives every float
    node output the importer holds as a constant (a Constant node, folded arithmetic) a named
    constant marked `qnn.node_output`, used or not, for calibration to observe as ONNX
    Runtime's calibrator does.

    Dynamic input dimensions ("batch") need sizes: `free_dimensions` by name, as ONNX
    Runtime's `add_free_dimension_override_by_name`, or `input_shapes`, the shapes of the
    arrays to be fed (`qdialect.onnx_import.input_dims`). A quantized model's fusions then
    follow ORT's session with the same overrides: dimensions left to `input_shapes` are
    symbolic there, and which Add + LayerNormalization and MatMul + Add pairs ORT fuses is
    ORT's own decision (`qdialect.ort_session_view`, when onnxruntime is installed).
    Unsupported ops are reported all at once; a node whose scales or zero points are not
    constant initializers, or whose attributes have no qnn equivalent, is named in the error.
    """
    from qdialect.onnx_import.graph import GraphImporter
    from qdialect.onnx_import.input_dims import bind_input_dims, open_dimensions
    from qdialect.onnx_import.ops import HANDLERS, unsupported_nodes
    from qdialect.onnx_import.tensor_types import untyped_tensors
    from qdialect.ort_session_view import ort_session_fusions

    model = load_model(source)
    if not model.HasField("graph"):
        raise OnnxImportError("not an ONNX model: it has no graph")
    overridden = bind_input_dims(model, free_dimensions)
    symbolic = bool(open_dimensions(overridden))  # as an ORT session fed arrays sees them
    model = bind_input_dims(overridden, None, input_shapes)
    unsupported = unsupported_nodes(model.graph)
    if unsupported:
        raise OnnxImportError(f"{len(unsupported)} unsupported node(s): " + "; ".join(unsupported))
    check_model(model)
    importer = GraphImporter(model.graph, HANDLERS, node_names)
    importer.opset = default_opset(model)
    importer.node_constants = node_constants
    if symbolic and importer.quantized_model:  # ORT's fusions, on the shapes ORT holds
        importer.session_fusions = ort_session_fusions(overridden)
    if node_constants:  # for ORT's quantizers, which treat untyped tensors as not float
        importer.untyped = untyped_tensors(model)
    return importer.run(function_name)


def default_opset(model) -> int:
    """The model's version of the default ONNX domain (ops whose semantics changed, like
    Softmax at 13, read it); the latest onnx knows when the model names none."""
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return int(entry.version)
    from onnx import defs

    return int(defs.onnx_opset_version())
