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
model with only the overridden dimensions fixed, its optimized graph saved and read.
"""

from __future__ import annotations

import tempfile
from pathlib import Path


def ort_skip_layer_norms(model) -> frozenset[str] | None:
    """The LayerNormalization outputs that ORT's optimized session (its extended level, one
    thread, the CPU provider) computes as SkipLayerNormalization outputs; None when
    onnxruntime is not installed or cannot load `model` (the importer then decides from its
    static shapes, as a session with every dimension overridden)."""
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
            optimized = onnx.load(path)
        except Exception:  # noqa: BLE001 - ORT's load errors have no common type
            return None
    return frozenset(
        node.output[0]
        for node in optimized.graph.node
        if node.op_type == "SkipLayerNormalization" and node.output
    )
