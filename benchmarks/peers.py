"""ONNX Runtime and PyTorch on the same workloads, when installed (`pip install -e .[bench]`).

Each peer offers candidates (an operator and a layout); the table shows the fastest. A peer
that is missing, or has no operator for a workload (PyTorch has no int8 activations), offers
none. Outputs are returned in our layout so they can be compared with ours.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from benchmarks.workloads import SW, Conv, Convert, Dot, FloatConv, FloatDot, Workload


@dataclass
class Candidate:
    """One way a peer computes a workload: `call` (the timed part) runs it once and returns its
    output; `to_ours` turns that into our layout and dtype, untimed (None: not comparable,
    e.g. MatMulInteger's raw int32)."""

    label: str
    call: Callable[[], object]
    to_ours: Callable[[object], np.ndarray] | None = None


def _same(output: object) -> np.ndarray:
    assert isinstance(output, np.ndarray)
    return output


# ----------------------------------------------------------------------------- ONNX Runtime


def ort_candidates(w: Workload, inputs, weights, threads: int) -> list[Candidate]:
    try:
        import onnxruntime  # noqa: F401
        from onnx import TensorProto, helper, numpy_helper  # noqa: F401
    except ImportError:
        return []
    if isinstance(w, Dot):
        return _ort_dot(w, inputs[0], weights[0], threads)
    if isinstance(w, Conv):
        return _ort_conv(w, inputs[0], weights[0], threads)
    if isinstance(w, Convert):
        return _ort_convert(w, inputs[0], threads)
    if isinstance(w, FloatDot | FloatConv):
        return _ort_float(w, inputs[0], weights, threads)
    return []


def _session(nodes, inputs, outputs, initializers, threads: int):
    import onnxruntime as ort
    from onnx import helper

    graph = helper.make_graph(nodes, "bench", inputs, outputs, initializers)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid("com.microsoft", 1)],
        ir_version=10,
    )
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3  # no notes about initializers a node does not use
    options.inter_op_num_threads = 1
    return ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def _bound_call(session, feeds: dict[str, np.ndarray], out: np.ndarray):
    """session.run through an IO binding: inputs and the output buffer bound once, as our
    benchmark passes `out=`."""
    binding = session.io_binding()
    for name, array in feeds.items():
        binding.bind_cpu_input(name, array)
    binding.bind_output("y", "cpu", 0, out.dtype, list(out.shape), out.ctypes.data)

    def call() -> np.ndarray:
        session.run_with_iobinding(binding)
        return out

    return call


def _scalars(storage: dict[str, tuple[float, int, np.dtype]]):
    from onnx import numpy_helper

    tensors = []
    for name, (scale, zero, dtype) in storage.items():
        tensors.append(numpy_helper.from_array(np.array(scale, np.float32), f"s{name}"))
        tensors.append(numpy_helper.from_array(np.array(zero, dtype), f"z{name}"))
    return tensors


def _onnx_type(dtype: np.dtype) -> int:
    from onnx import TensorProto

    return {
        np.dtype(np.uint8): TensorProto.UINT8,
        np.dtype(np.int8): TensorProto.INT8,
        np.dtype(np.float32): TensorProto.FLOAT,
        np.dtype(np.int32): TensorProto.INT32,
    }[np.dtype(dtype)]


def _ort_dot(w: Dot, x: np.ndarray, wt: np.ndarray, threads: int) -> list[Candidate]:
    from onnx import helper, numpy_helper

    _, sx, zx = w.x_storage
    _, sy, zy = w.y_storage
    ydtype = np.int8 if w.signed else np.uint8
    scalars = _scalars({"x": (sx, zx, x.dtype), "w": (SW, 0, np.int8), "y": (sy, zy, ydtype)})
    xin = helper.make_tensor_value_info("x", _onnx_type(x.dtype), list(x.shape))

    def qlinear_call(initializers: list) -> Callable[[], object]:
        session = _session(
            [
                helper.make_node(
                    "QLinearMatMul", ["x", "sx", "zx", "w", "sw", "zw", "sy", "zy"], ["y"]
                )
            ],
            [xin],
            [helper.make_tensor_value_info("y", _onnx_type(ydtype), [w.m, w.n])],
            initializers,
            threads,
        )
        return _bound_call(session, {"x": x}, np.empty((w.m, w.n), ydtype))

    candidates = [
        Candidate(
            "QLinearMatMul", qlinear_call([numpy_helper.from_array(wt, "w"), *scalars]), _same
        )
    ]
    raw = _session(
        [helper.make_node("MatMulInteger", ["x", "w", "zx", "zw"], ["y"])],
        [xin],
        [helper.make_tensor_value_info("y", _onnx_type(np.int32), [w.m, w.n])],
        [numpy_helper.from_array(wt, "w"), *scalars],
        threads,
    )
    acc = np.empty((w.m, w.n), np.int32)
    candidates.append(Candidate("MatMulInteger (int32 out)", _bound_call(raw, {"x": x}, acc)))
    if not w.signed:  # the same product through ORT's exact u8u8 kernel: w + 128, zero point 128
        wu, zu = _as_u8_weights(wt)
        u8u8 = [numpy_helper.from_array(wu, "w"), *scalars[:3], zu, *scalars[4:]]
        candidates.append(Candidate("QLinearMatMul u8u8", qlinear_call(u8u8), _same))
    return candidates


def _as_u8_weights(wt: np.ndarray):
    """Symmetric int8 weights as uint8 `w + 128` with zero point 128: the same products, which
    ORT then runs through its u8u8 kernels (int16 widening, exact) instead of u8s8."""
    from onnx import numpy_helper

    wu = (wt.astype(np.int16) + 128).astype(np.uint8)
    return wu, numpy_helper.from_array(np.array(128, np.uint8), "zw")


def _ort_conv(w: Conv, x: np.ndarray, wt: np.ndarray, threads: int) -> list[Candidate]:
    from onnx import helper, numpy_helper

    _, sx, zx = w.x_storage
    _, sy, zy = w.y_storage
    ydtype = np.int8 if w.signed else np.uint8
    scalars = _scalars({"x": (sx, zx, x.dtype), "w": (SW, 0, np.int8), "y": (sy, zy, ydtype)})
    weights = numpy_helper.from_array(np.ascontiguousarray(wt.transpose(0, 3, 1, 2)), "w")  # OIHW
    conv = dict(
        kernel_shape=[w.r, w.r],
        pads=[w.pad] * 4,
        strides=[w.stride] * 2,
        group=w.groups,
    )
    nchw = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    oh = w.out_hw
    qconv = ["xc", "sx", "zx", "w", "sw", "zw", "sy", "zy"]
    session = _session(
        [helper.make_node("QLinearConv", ["x", *qconv[1:]], ["y"], **conv)],
        [helper.make_tensor_value_info("x", _onnx_type(x.dtype), list(nchw.shape))],
        [helper.make_tensor_value_info("y", _onnx_type(ydtype), [1, w.o, oh, oh])],
        [weights, *scalars],
        threads,
    )
    out = np.empty((1, w.o, oh, oh), ydtype)
    candidates = [
        Candidate("QLinearConv NCHW", _bound_call(session, {"x": nchw}, out), _nchw_to_nhwc)
    ]

    # NHWC in and out: ORT's NHWC transformer turns the QLinearConv between these transposes
    # into its NhwcQLinearConv and cancels the transposes.
    def nhwc_call(initializers: list) -> Callable[[], object]:
        session = _session(
            [
                helper.make_node("Transpose", ["x"], ["xc"], perm=[0, 3, 1, 2]),
                helper.make_node("QLinearConv", qconv, ["yc"], **conv),
                helper.make_node("Transpose", ["yc"], ["y"], perm=[0, 2, 3, 1]),
            ],
            [helper.make_tensor_value_info("x", _onnx_type(x.dtype), list(x.shape))],
            [helper.make_tensor_value_info("y", _onnx_type(ydtype), [1, oh, oh, w.o])],
            initializers,
            threads,
        )
        return _bound_call(session, {"x": x}, np.empty((1, oh, oh, w.o), ydtype))

    candidates.append(Candidate("QLinearConv NHWC", nhwc_call([weights, *scalars]), _same))
    if not w.signed:  # ORT's exact u8u8 kernels, as for the GEMMs
        wu, zu = _as_u8_weights(np.ascontiguousarray(wt.transpose(0, 3, 1, 2)))
        u8u8 = [numpy_helper.from_array(wu, "w"), *scalars[:3], zu, *scalars[4:]]
        candidates.append(Candidate("QLinearConv NHWC u8u8", nhwc_call(u8u8), _same))
    return candidates


def _nchw_to_nhwc(output: object) -> np.ndarray:
    return _same(output).transpose(0, 2, 3, 1)


def _ort_convert(w: Convert, x: np.ndarray, threads: int) -> list[Candidate]:
    from onnx import helper, numpy_helper

    per_channel = w.kind == "quantize_per_channel"
    qdtype = np.int8 if per_channel else np.uint8
    scales = np.array(w.scales if per_channel else w.scales[0], np.float32)
    zeros = np.zeros(scales.shape, qdtype) + (0 if per_channel else w.zero)
    op, ydtype = (
        ("DequantizeLinear", np.float32) if w.kind == "dequantize" else ("QuantizeLinear", qdtype)
    )
    attrs = {"axis": 0} if per_channel else {}
    session = _session(
        [helper.make_node(op, ["x", "s", "z"], ["y"], **attrs)],
        [helper.make_tensor_value_info("x", _onnx_type(x.dtype), list(x.shape))],
        [helper.make_tensor_value_info("y", _onnx_type(ydtype), list(x.shape))],
        [numpy_helper.from_array(scales, "s"), numpy_helper.from_array(zeros, "z")],
        threads,
    )
    out = np.empty(x.shape, ydtype)
    return [Candidate(op, _bound_call(session, {"x": x}, out), _same)]


def _ort_float(w: FloatDot | FloatConv, x: np.ndarray, weights, threads: int) -> list[Candidate]:
    """MatMul / Conv on float32 (MLAS: FMA, its own order of additions, so not exact)."""
    from onnx import helper, numpy_helper

    if isinstance(w, FloatDot):
        node = helper.make_node("MatMul", ["x", "w"], ["y"])
        y_shape, names = [w.m, w.n], ["w"]
    else:
        attrs = dict(kernel_shape=[w.r] * 2, pads=[w.pad] * 4, strides=[w.stride] * 2)
        node = helper.make_node("Conv", ["x", "w", "b"], ["y"], **attrs)
        y_shape, names = [1, w.o, w.out_hw, w.out_hw], ["w", "b"]
    session = _session(
        [node],
        [helper.make_tensor_value_info("x", _onnx_type(x.dtype), list(x.shape))],
        [helper.make_tensor_value_info("y", _onnx_type(np.float32), y_shape)],
        [numpy_helper.from_array(a, n) for a, n in zip(weights, names, strict=True)],
        threads,
    )
    out = np.empty(y_shape, np.float32)
    return [Candidate(node.op_type, _bound_call(session, {"x": x}, out), _same)]


# ----------------------------------------------------------------------------- PyTorch


def torch_candidates(w: Workload, inputs, weights, threads: int) -> list[Candidate]:
    try:
        import torch
    except ImportError:
        return []
    # PyTorch 2.13 warns that quantized tensors are deprecated; they are what we compare with.
    warnings.filterwarnings("ignore", message=".*quantized tensor creation functions.*")
    torch.set_num_threads(threads)
    if isinstance(w, Convert):
        return _torch_convert(torch, w, inputs[0])
    if isinstance(w, FloatDot | FloatConv):
        return [_torch_float(torch, w, inputs[0], weights)]
    if w.signed or not isinstance(w, Dot | Conv):
        return []  # fbgemm / x86 take only quint8 activations
    candidates = []
    for engine in ("x86", "fbgemm"):
        if engine not in torch.backends.quantized.supported_engines:
            continue
        torch.backends.quantized.engine = engine  # prepacking depends on it
        if isinstance(w, Dot):
            candidates.append(_torch_dot(torch, engine, w, inputs[0], weights[0]))
        else:
            candidates.append(_torch_conv(torch, engine, w, inputs[0], weights[0]))
    return candidates


def _engine_call(torch, engine: str, call):
    def run():
        torch.backends.quantized.engine = engine
        return call()

    return run


def _int_repr(output) -> np.ndarray:
    return output.int_repr().numpy()


def _int_repr_nhwc(output) -> np.ndarray:
    return output.int_repr().permute(0, 2, 3, 1).numpy()


def _torch_dot(torch, engine: str, w: Dot, x: np.ndarray, wt: np.ndarray) -> Candidate:
    _, sx, zx = w.x_storage
    _, sy, zy = w.y_storage
    qx = torch._make_per_tensor_quantized_tensor(torch.from_numpy(x), sx, zx)
    weight = torch.from_numpy(np.ascontiguousarray(wt.T))
    packed = torch.ops.quantized.linear_prepack(
        torch._make_per_tensor_quantized_tensor(weight, SW, 0), None
    )
    linear = torch.ops.quantized.linear

    def call():
        return linear(qx, packed, sy, zy)

    return Candidate(f"quantized.linear ({engine})", _engine_call(torch, engine, call), _int_repr)


def _torch_conv(torch, engine: str, w: Conv, x: np.ndarray, wt: np.ndarray) -> Candidate:
    _, sx, zx = w.x_storage
    _, sy, zy = w.y_storage
    # NHWC data seen as NCHW with channels_last strides: no layout conversion in the call.
    qx = torch._make_per_tensor_quantized_tensor(torch.from_numpy(x), sx, zx).permute(0, 3, 1, 2)
    oihw = torch.from_numpy(np.ascontiguousarray(wt.transpose(0, 3, 1, 2)))
    packed = torch.ops.quantized.conv2d_prepack(
        torch._make_per_tensor_quantized_tensor(oihw, SW, 0),
        None,
        [w.stride] * 2,
        [w.pad] * 2,
        [1, 1],
        w.groups,
    )
    conv = torch.ops.quantized.conv2d

    def call():
        return conv(qx, packed, sy, zy)

    label = f"quantized.conv2d ({engine})"
    return Candidate(label, _engine_call(torch, engine, call), _int_repr_nhwc)


def _torch_float(torch, w: FloatDot | FloatConv, x: np.ndarray, weights) -> Candidate:
    xt, ws = torch.from_numpy(x), [torch.from_numpy(a) for a in weights]
    if isinstance(w, FloatDot):
        return Candidate("matmul", lambda: torch.matmul(xt, ws[0]), lambda y: y.numpy())
    conv = torch.nn.functional.conv2d

    def call():
        return conv(xt, ws[0], ws[1], stride=w.stride, padding=w.pad)

    return Candidate("conv2d", call, lambda y: y.numpy())


def _torch_convert(torch, w: Convert, x: np.ndarray) -> list[Candidate]:
    xt = torch.from_numpy(x)
    if w.kind == "dequantize":
        qx = torch._make_per_tensor_quantized_tensor(xt, w.scales[0], w.zero)
        return [Candidate("dequantize", qx.dequantize, lambda y: y.numpy())]
    if w.kind == "quantize":
        scale, zero = w.scales[0], w.zero

        def call():
            return torch.quantize_per_tensor(xt, scale, zero, torch.quint8)

        return [Candidate("quantize_per_tensor", call, _int_repr)]
    scales = torch.tensor(w.scales, dtype=torch.float64)
    zeros = torch.zeros(len(w.scales), dtype=torch.int64)

    def per_channel():
        return torch.quantize_per_channel(xt, scales, zeros, 0, torch.qint8)

    return [Candidate("quantize_per_channel", per_channel, _int_repr)]
