"""4- and 2-bit storage: a storage cast re-extends the stored bits at the storage width (u4 9 is
i4 -7), in constants and at run time, compiled and in the reference; QDQ models with int4/uint4
weights run like ONNX Runtime."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from onnx import TensorProto, helper

from runtime.compiled import compile_module
from runtime.reference import run_function

from .onnxruntime_session import run_ort
from .test_onnx_import import make_model
from .test_onnx_quantize_linear import run_both

CASTS = """
func.func @main(%u: tensor<16x!quant.uniform<u4:f32, 1.0>>, %s: tensor<4x!quant.uniform<i2:f32, 1.0>>)
    -> (tensor<16xi4>, tensor<4xi2>, tensor<4x!quant.uniform<u2:f32, 1.0>>) {
  %ui = quant.scast %u : tensor<16x!quant.uniform<u4:f32, 1.0>> to tensor<16xi4>
  %si = quant.scast %s : tensor<4x!quant.uniform<i2:f32, 1.0>> to tensor<4xi2>
  %su = quant.scast %si : tensor<4xi2> to tensor<4x!quant.uniform<u2:f32, 1.0>>
  func.return %ui, %si, %su : tensor<16xi4>, tensor<4xi2>, tensor<4x!quant.uniform<u2:f32, 1.0>>
}
"""


def test_storage_casts_reinterpret_sub_byte_bits() -> None:
    u4 = np.arange(16, dtype=np.uint8)
    i2 = np.array([-2, -1, 0, 1], np.int8)
    want = [(u4 ^ 8).astype(np.int8) - 8, i2, (i2 & 3).astype(np.uint8)]
    reference = run_function(CASTS, [u4, i2])
    compiled = compile_module(CASTS)(u4, i2)
    for expected, ref, got in zip(want, reference, compiled, strict=True):
        assert ref.dtype == got.dtype == expected.dtype
        assert ref.tolist() == got.tolist() == expected.tolist()


@pytest.mark.parametrize(
    ("storage", "low", "high"), [(ml_dtypes.int4, -8, 8), (ml_dtypes.uint4, 0, 16)]
)
def test_qdq_matmul_with_4_bit_weights_matches_onnxruntime(storage, low: int, high: int) -> None:
    """DequantizeLinear of per-column int4/uint4 weights feeding MatMul (opset 21 QDQ)."""
    rng = np.random.default_rng(high)
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"]),
        helper.make_node("DequantizeLinear", ["q", "s", "z"], ["xd"]),
        helper.make_node("DequantizeLinear", ["w", "ws", "wz"], ["wd"], axis=1),
        helper.make_node("MatMul", ["xd", "wd"], ["m"]),
        helper.make_node("QuantizeLinear", ["m", "ys", "yz"], ["yq"]),
        helper.make_node("DequantizeLinear", ["yq", "ys", "yz"], ["y"]),
    ]
    inits = {
        "s": np.float32(0.05),
        "z": np.uint8(120),
        "w": rng.integers(low, high, (16, 8)).astype(storage),
        "ws": (rng.random(8) * 0.1 + 0.01).astype(np.float32),
        "wz": rng.integers(low, high, 8).astype(storage),
        "ys": np.float32(0.2),
        "yz": np.uint8(128),
    }
    model = make_model(
        nodes, [("x", TensorProto.FLOAT, [4, 16])], [("y", TensorProto.FLOAT)], inits, 21
    )
    x = rng.standard_normal((4, 16)).astype(np.float32) * 3
    (expected,) = run_ort(model, {"x": x})
    (got,) = run_both(model, {"x": x})
    assert got.tobytes() == expected.tobytes()
