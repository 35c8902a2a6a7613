"""ONNX Runtime as the tests run it: one intra-op thread, the CPU provider, all optimizations."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort


def run_ort(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    return session.run(None, feeds)
