"""fold-qdq's QDQ fusion realizes the integer kernel, as ONNX Runtime does.

An ONNX QDQ model (DequantizeLinear → Conv/MatMul → QuantizeLinear) run by ONNX Runtime (which
fuses it into QLinearConv / QLinearMatMul) is compared with the same graph written as qnn IR,
rewritten by fold-qdq and run by the reference interpreter: bit for bit. int8 activations and
weights throughout: ORT fuses QDQ Conv/MatMul on this x86 machine for u8×u8 (its exact
path); it keeps s8×s8 QDQ in float, and its u8×s8 AVX2 kernel saturates int16 pairs.
The float simulation before the rewrite is *not* bit-identical in general: that is the point.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.passes import PassPipeline

from qdialect.textio import make_context, parse_module
from qdialect.type_syntax import format_float
from rewrites.registry import PASSES
from runtime.reference import run_function

from .onnxruntime_session import run_ort

F32 = np.float32


def dense(values: np.ndarray) -> str:
    return np.array2string(values, separator=", ", threshold=10**9, max_line_width=10**9).replace(
        "\n", ""
    )


def case(seed: int, kind: str):
    rng = np.random.default_rng(seed)
    sx, sy = F32(rng.choice([0.02, 0.05, 0.1])), F32(rng.choice([0.1, 0.2, 0.5]))
    zx, zy = int(rng.integers(100, 150)), int(rng.integers(100, 150))
    if kind == "conv":
        c, o, h = int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(3, 7))
        x_shape, w_shape, y_shape = [1, c, h, h], [o, c, 3, 3], [1, o, h, h]
    else:
        m, k, o = int(rng.integers(1, 5)), int(rng.integers(1, 9)), int(rng.integers(1, 5))
        x_shape, w_shape, y_shape = [m, k], [k, o], [m, o]
    sw = rng.choice([0.01, 0.02, 0.005], o).astype(F32)
    x = rng.integers(0, 256, x_shape, dtype=np.uint8)
    w = rng.integers(0, 256, w_shape, dtype=np.uint8)
    bq = rng.integers(-5000, 5000, o).astype(np.int32)
    return sx, sy, zx, zy, sw, x, w, bq, y_shape


def onnx_model(kind, sx, sy, zx, zy, sw, w, bq, x_shape, y_shape) -> onnx.ModelProto:
    axis = 0 if kind == "conv" else 1
    inits = [
        numpy_helper.from_array(np.array(sx, F32), "sx"),
        numpy_helper.from_array(np.array(zx, np.uint8), "zx"),
        numpy_helper.from_array(np.array(sy, F32), "sy"),
        numpy_helper.from_array(np.array(zy, np.uint8), "zy"),
        numpy_helper.from_array(sw, "sw"),
        numpy_helper.from_array(np.full(len(sw), 128, np.uint8), "zw"),
        numpy_helper.from_array(w, "w"),
        numpy_helper.from_array(bq, "bq"),
        numpy_helper.from_array((sx * sw).astype(F32), "sb"),
        numpy_helper.from_array(np.zeros(len(sw), np.int32), "zb"),
    ]
    nodes = [
        helper.make_node("DequantizeLinear", ["x", "sx", "zx"], ["xf"]),
        helper.make_node("DequantizeLinear", ["w", "sw", "zw"], ["wf"], axis=axis),
        helper.make_node("QuantizeLinear", ["yf", "sy", "zy"], ["y"]),
    ]
    if kind == "conv":
        nodes.insert(2, helper.make_node("DequantizeLinear", ["bq", "sb", "zb"], ["bf"], axis=0))
        nodes.insert(3, helper.make_node("Conv", ["xf", "wf", "bf"], ["yf"], pads=[1, 1, 1, 1]))
    else:
        nodes.insert(2, helper.make_node("MatMul", ["xf", "wf"], ["yf"]))
    graph = helper.make_graph(
        nodes,
        "qdq",
        [helper.make_tensor_value_info("x", TensorProto.UINT8, x_shape)],
        [helper.make_tensor_value_info("y", TensorProto.UINT8, y_shape)],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], ir_version=10)


def qnn_text(kind, sx, sy, zx, zy, sw, w, bq, x_shape, y_shape) -> str:
    qx = f"!quant.uniform<u8:f32, {format_float(float(sx))}:{zx}>"
    qy = f"!quant.uniform<u8:f32, {format_float(float(sy))}:{zy}>"
    axis = 0 if kind == "conv" else 1
    qw = f"!quant.uniform<u8:f32:{axis}, {{{','.join(format_float(float(s)) + ':128' for s in sw)}}}>"
    t = lambda shape, e: "tensor<" + "x".join(map(str, shape)) + f"x{e}>"  # noqa: E731
    lines = [
        f"%xf = qnn.dequantize %x : {t(x_shape, qx)} -> {t(x_shape, 'f32')}",
        f"%wi = arith.constant dense<{dense(w.view(np.int8))}> : {t(w.shape, 'i8')}",
        f"%wq = quant.scast %wi : {t(w.shape, 'i8')} to {t(w.shape, qw)}",
        f"%wf = qnn.dequantize %wq : {t(w.shape, qw)} -> {t(w.shape, 'f32')}",
    ]
    if kind == "conv":
        bias = (bq.astype(F32) * (sx * sw).astype(F32)).astype(F32)  # DequantizeLinear of the bias
        lines.append(
            f"%b = arith.constant dense<[{', '.join(format_float(float(v)) for v in bias)}]> : tensor<{len(sw)}xf32>"
        )
        lines.append(
            f"%yf = qnn.conv2d %xf, %wf bias(%b : tensor<{len(sw)}xf32>) {{pads = array<i64: 1, 1, 1, 1>}} : {t(x_shape, 'f32')}, {t(w.shape, 'f32')} -> {t(y_shape, 'f32')}"
        )
    else:
        lines.append(
            f"%yf = qnn.dot %xf, %wf : {t(x_shape, 'f32')}, {t(w.shape, 'f32')} -> {t(y_shape, 'f32')}"
        )
    lines.append(f"%y = qnn.quantize %yf : {t(y_shape, 'f32')} -> {t(y_shape, qy)}")
    body = "\n  ".join(lines)
    return f"func.func @main(%x: {t(x_shape, qx)}) -> {t(y_shape, qy)} {{\n  {body}\n  func.return %y : {t(y_shape, qy)}\n}}\n"


@pytest.mark.parametrize("kind", ["conv", "matmul"])
def test_fused_qdq_matches_onnxruntime(kind: str) -> None:
    simulation_differs = 0
    for seed in range(20):
        sx, sy, zx, zy, sw, x, w, bq, y_shape = case(seed, kind)
        args = (kind, sx, sy, zx, zy, sw, w, bq, list(x.shape), y_shape)
        expected = run_ort(onnx_model(*args), {"x": x})[0]
        text = qnn_text(*args)
        module = parse_module(text)
        PassPipeline.parse_spec(PASSES, "fold-qdq").apply(make_context(), module)
        fused_ops = [
            line for line in str(module).splitlines() if "qnn.conv2d" in line or "qnn.dot" in line
        ]
        assert fused_ops and all("xf32>" not in line for line in fused_ops)  # integer kernel
        (fused,) = run_function(module, [x])
        assert np.array_equal(fused, expected), (seed, fused, expected)
        (simulated,) = run_function(text, [x])
        simulation_differs += int(not np.array_equal(simulated, expected))
    print(
        f"{kind}: 20 QDQ models, fused == ONNX Runtime in 20; float simulation differs in {simulation_differs}"
    )
