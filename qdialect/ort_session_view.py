"""What ONNX Runtime's optimizer decides on a model whose dimensions stay symbolic.

A shape-dependent fusion sees the shapes ORT's session holds. With every open input dimension
overridden (`add_free_dimension_override_by_name`, our `free_dimensions`) they are as static
as ours, and the importer decides from its own types. Left symbolic (a session fed arrays of
any size, our `input_shapes`), ORT knows less: `SkipLayerNormFusion` takes an Add only when
both its inputs have a known rank-3 shape whose axes agree one by one (equal `dim_value`s, or
equal `dim_param` names; an unknown dimension agrees with nothing). What ORT knows there
depends on its own shape inference and on its level-1 rewrites (a Reshape whose shape was
computed becomes a constant one; `Shape` of a symbolic tensor is not carried through Expand):
ONNX's shape inference predicts it for only some models (measured: 44 of 48 LayerNorms of
exported models, and wrongly for a `quantize_dynamic` BERT). So ORT is asked: a session on the
model with only the overridden dimensions fixed, its optimized graph saved and read. Likewise
`MatMulAddFusion` reshapes a 3-D MatMul input to 2-D only when its shape is wholly known.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from xdsl.dialects import func
from xdsl.dialects.builtin import ArrayAttr, DictionaryAttr, StringAttr

# a float function's SessionFusions, from its import to the quantizer that fuses like ORT
SESSION_FUSIONS_ATTR = "qnn.ort_session_fusions"


@dataclass(frozen=True)
class SessionFusions:
    """The shape-dependent fusions ORT's session made, by the tensors the fused nodes wrote:
    `skip_norms`, LayerNormalization outputs SkipLayerNormalization now computes
    (`SkipLayerNormFusion`: both Add inputs of one known rank-3 shape); `matmul_adds`, Add
    outputs a Gemm now computes (`MatMulAddFusion`, which reshapes a 3-D input to 2-D only
    when its shape is wholly known)."""

    skip_norms: frozenset[str]
    matmul_adds: frozenset[str]

    def attach(self, function: func.FuncOp) -> None:
        """Record these on `function` (`SESSION_FUSIONS_ATTR`) for its quantizer."""
        function.attributes[SESSION_FUSIONS_ATTR] = DictionaryAttr(
            {
                field: ArrayAttr([StringAttr(n) for n in sorted(getattr(self, field))])
                for field in ("skip_norms", "matmul_adds")
            }
        )

    @staticmethod
    def take(function: func.FuncOp) -> SessionFusions | None:
        """The SessionFusions `attach` recorded on `function`, removed from it; None if none."""
        recorded = function.attributes.pop(SESSION_FUSIONS_ATTR, None)
        if not isinstance(recorded, DictionaryAttr):
            return None
        names = {
            field: frozenset(s.data for s in recorded.data[field].data)  # type: ignore[attr-defined]
            for field in ("skip_norms", "matmul_adds")
        }
        return SessionFusions(**names)


def ort_session_fusions(model) -> SessionFusions | None:
    """What ORT's optimized session (its extended level, one thread, the CPU provider) fused
    in `model`; None when onnxruntime is not installed or cannot load `model` (the importer
    then decides from its static shapes, as a session with every dimension overridden)."""
    try:
        import onnx
        import onnxruntime as ort
    except ImportError:
        return None
    with tempfile.TemporaryDirectory() as directory:
        path = str(Path(directory) / "optimized.onnx")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        options.intra_op_num_threads = 1
        options.log_severity_level = 3
        options.optimized_model_filepath = path
        try:
            ort.InferenceSession(model.SerializeToString(), options, ["CPUExecutionProvider"])
            graph = onnx.load(path).graph
        except Exception:  # noqa: BLE001 - ORT's load errors have no common type
            return None
    writer = {out: node for node in graph.node for out in node.output}

    def from_gemm(node) -> bool:  # a Gemm, or the Reshape of a Gemm's 2-D result
        if node.op_type == "Reshape" and node.input[0] in writer:
            node = writer[node.input[0]]
        return node.op_type == "Gemm"

    return SessionFusions(
        frozenset(n.output[0] for n in graph.node if n.op_type == "SkipLayerNormalization"),
        frozenset(n.output[0] for n in graph.node if n.output and from_gemm(n)),
    )


def quantized_session_fusions(model) -> SessionFusions | None:
    """`ort_session_fusions` of the model ORT's quantizers would write from the float `model`:
    they store ONNX's inferred shapes in it (`load_model_with_shape_infer`: `unk__N` names for
    the dimensions inference merges), and ORT's session compares those names. The float model
    with those shapes stored gives the same decisions (measured on a `quantize_dynamic` BERT:
    the same two of five norms; the float model without them, none)."""
    from onnx import shape_inference

    try:
        inferred = shape_inference.infer_shapes(model)
    except Exception:  # noqa: BLE001 - onnx's inference errors have no common type
        return None
    return ort_session_fusions(inferred)
