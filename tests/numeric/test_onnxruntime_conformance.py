"""The reference interpreter against ONNX Runtime's CPU kernels, bit for bit (DESIGN §2).

Every case builds one single-node ONNX model with `onnx.helper`, runs it in ONNX Runtime (CPU,
one thread), runs the equivalent quant/qnn function in the interpreter, and requires identical
bits. Cases are random (fixed seeds; sizes 1, 3, 7, 13 and others) plus named edge cases: .5 ties
of both signs, ±inf, ±1e30 and NaN in quantize, zero points at the storage extremes, padding with
a non-zero input zero point, groups, depthwise, dilation, strides, per-channel weight scales,
int32 bias near ±2^30 and accumulators beyond 2^24.

Traps this file steps around:

* ONNX Runtime's u8×s8 integer GEMM on AVX2 without VNNI (this machine) adds pairs of u8·s8
  products in a saturating int16 (`vpmaddubsw`) and is wrong by several LSB on ordinary data:
  measured here for u8×s8 QLinearConv, QLinearMatMul and MatMulInteger, and for s8×u8
  ConvInteger (which hands the operands to the GEMM the other way round); QLinearConv and
  QLinearMatMul have no s8×u8 kernel at all. DESIGN §2 says no int16 intermediate may
  saturate, so for mixed signedness ONNX Runtime runs the *equivalent* s8×s8 problem (the u8
  operand and its zero point minus 128, DESIGN's "uint8 → int8"; a u8 result plus 128), which
  it computes exactly, while the interpreter runs the original mixed problem. u8×u8 and s8×s8
  problems run in ONNX Runtime as they are.
* `onnx.reference.ReferenceEvaluator` requantizes in float64 and wraps ±inf in QuantizeLinear,
  so it is not used as an oracle here.

The default tier runs the named edge cases and the first DEFAULT_RANDOM random cases of each op;
the slow tier (`-m slow`) runs the rest of the random cases.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from qdialect.type_syntax import format_float  # noqa: E402
from runtime.reference import run_function  # noqa: E402

from .tiers import tiered_range  # noqa: E402

# float32 x / s overflowing to ±inf (3.4e38 / 1e-3) is the point of some quantize cases
pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")

OPSET = 21
SIZES = (1, 3, 7, 13)
U8, I8 = np.dtype(np.uint8), np.dtype(np.int8)
F32 = np.float32

ONNX_TYPE = {
    U8: TensorProto.UINT8,
    I8: TensorProto.INT8,
    np.dtype(np.int32): TensorProto.INT32,
    np.dtype(np.float32): TensorProto.FLOAT,
}
STORAGE = {U8: "u8", I8: "i8"}

N_QUANTIZE = 200
N_DEQUANTIZE = 150
N_QLINEARCONV = 200
N_CONVINTEGER = 150
N_QLINEARMATMUL = 150
N_MATMULINTEGER = 150
DEFAULT_RANDOM = 25  # of each op's random cases, in the default tier


# ----------------------------------------------------------------------------- comparison


def same_bits(got: np.ndarray, want: np.ndarray) -> bool:
    if got.dtype != want.dtype or got.shape != want.shape:
        return False
    if got.dtype.kind == "f":
        return np.array_equal(got.view(np.uint32), want.view(np.uint32))
    return np.array_equal(got, want)


def compare(op: str, got: np.ndarray, want: np.ndarray, context: str) -> None:
    """Fail with the differing elements unless the bits are equal."""
    if same_bits(got, want):
        return
    message = f"{op}: interpreter != ONNX Runtime\n{context}\n"
    if got.shape != want.shape or got.dtype != want.dtype:
        message += f"interpreter {got.dtype}{got.shape}, ORT {want.dtype}{want.shape}"
    else:
        bad = np.argwhere(
            got.view(np.uint32) != want.view(np.uint32) if got.dtype.kind == "f" else got != want
        )
        message += f"{len(bad)} of {want.size} elements differ; first:\n"
        for index in bad[:12]:
            index = tuple(int(i) for i in index)
            message += f"  {index}: interpreter {got[index]!r}, ORT {want[index]!r}\n"
    raise AssertionError(message)


# ----------------------------------------------------------------------------- helpers


def f32_literal(value) -> str:
    return format_float(float(F32(value)))


def uniform(dtype: np.dtype, scales, zeros, axis: int | None = None) -> str:
    """`!quant.uniform` spelling: per-tensor when `axis` is None, else per-axis on `axis`."""
    storage = STORAGE[np.dtype(dtype)]
    if axis is None:
        return f"!quant.uniform<{storage}:f32, {f32_literal(scales)}:{int(zeros)}>"
    pairs = ",".join(
        f"{f32_literal(s)}:{int(z)}" for s, z in zip(np.ravel(scales), np.ravel(zeros), strict=True)
    )
    return f"!quant.uniform<{storage}:f32:{axis}, {{{pairs}}}>"


def tensor(shape, element: str) -> str:
    return "tensor<" + "".join(f"{d}x" for d in shape) + element + ">"


def function(args: list[tuple[str, str]], line: str, result_type: str) -> str:
    params = ", ".join(f"%{name}: {t}" for name, t in args)
    return (
        f"func.func @main({params}) -> {result_type} {{\n"
        f"  %y = {line}\n"
        f"  func.return %y : {result_type}\n"
        "}\n"
    )


def run_ort(
    node,
    feeds: dict[str, np.ndarray],
    consts: dict[str, np.ndarray],
    out_dtype: np.dtype,
    out_rank: int,
    optimize: bool = True,
) -> np.ndarray:
    """One-node model: `feeds` are graph inputs, `consts` initializers; one thread, CPU."""
    inputs = [
        helper.make_tensor_value_info(name, ONNX_TYPE[a.dtype], list(a.shape))
        for name, a in feeds.items()
    ]
    inits = [numpy_helper.from_array(np.asarray(a), name) for name, a in consts.items()]
    output = helper.make_tensor_value_info("y", ONNX_TYPE[np.dtype(out_dtype)], [None] * out_rank)
    graph = helper.make_graph([node], "conformance", inputs, [output], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 10
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    if not optimize:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    return session.run(None, feeds)[0]


def bounds(dtype: np.dtype) -> tuple[int, int]:
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def as_signed(values) -> np.ndarray:
    """u8 storage -> the i8 storage holding the same reals (value and zero point minus 128)."""
    return (np.asarray(values).astype(np.int16) - 128).astype(np.int8)


def from_signed(values: np.ndarray) -> np.ndarray:
    return (values.astype(np.int16) + 128).astype(np.uint8)


def rng_for(op: str, case) -> np.random.Generator:
    return np.random.default_rng([zlib.crc32(op.encode()), zlib.crc32(str(case).encode())])


def pick_size(rng: np.random.Generator, high: int = 17) -> int:
    if rng.random() < 0.6:
        return int(rng.choice(SIZES))
    return int(rng.integers(1, high))


def random_scale(rng: np.random.Generator, lo: float = -4.0, hi: float = 1.0) -> F32:
    return F32(10.0 ** rng.uniform(lo, hi))


def tie_scale(rng: np.random.Generator) -> F32:
    """A scale with a short mantissa, so `(k + 0.5) * s` is exact and divides back to k + 0.5."""
    return F32(int(rng.integers(1, 128)) * 2 + 1) * F32(2.0 ** int(rng.integers(-14, -3)))


def random_zero(rng: np.random.Generator, dtype: np.dtype, p_extreme: float = 0.3) -> int:
    lo, hi = bounds(dtype)
    u = rng.random()
    if u < p_extreme / 2:
        return lo
    if u < p_extreme:
        return hi
    return int(rng.integers(lo, hi + 1))


def random_storage(rng: np.random.Generator, dtype: np.dtype, shape) -> np.ndarray:
    lo, hi = bounds(dtype)
    return rng.integers(lo, hi + 1, size=shape).astype(dtype)


def random_shape(rng: np.random.Generator, max_elements: int = 4096) -> tuple[int, ...]:
    while True:
        shape = tuple(pick_size(rng) for _ in range(int(rng.integers(1, 5))))
        if int(np.prod(shape)) <= max_elements:
            return shape


def accumulator_rms(k: int, dx: np.ndarray, dw: np.ndarray) -> float:
    """Rough rms of `Σ_k dx·dw` for independent terms with the sample moments of dx and dw.

    Only used to pick output scales that put results mostly inside the storage range.
    """
    dx, dw = dx.astype(np.float64), dw.astype(np.float64)
    mx, mw, vx, vw = dx.mean(), dw.mean(), dx.var(), dw.var()
    return float(np.sqrt((k * mx * mw) ** 2 + k * (vx * vw + vx * mw**2 + vw * mx**2))) or 1.0


def fit_zero(zero: int, dtype: np.dtype, mean_product: float) -> int:
    """An extreme output zero point, flipped to the end the accumulator's sign does not saturate."""
    lo, hi = bounds(dtype)
    if zero == lo and mean_product < 0:
        return hi
    if zero == hi and mean_product > 0:
        return lo
    return zero


def specials() -> np.ndarray:
    return np.array(
        [np.nan, -np.nan, np.inf, -np.inf, 1e30, -1e30, 0.0, -0.0, 3.4e38, -3.4e38, 1e-45, -1e-45],
        dtype=F32,
    )


# ----------------------------------------------------------------------------- QuantizeLinear


@dataclass
class QuantizeCase:
    x: np.ndarray
    dtype: np.dtype
    scales: np.ndarray  # float32, shape () or (C,)
    zeros: np.ndarray  # storage dtype, shape () or (C,)
    axis: int | None
    use_qcast: bool = False


def check_quantize(case: QuantizeCase, label: str) -> None:
    x, dtype, axis = case.x, case.dtype, case.axis
    elem = uniform(dtype, case.scales, case.zeros, axis)
    ft, qt = tensor(x.shape, "f32"), tensor(x.shape, elem)
    line = f"qnn.quantize %x : {ft} -> {qt}"
    if case.use_qcast:
        line = f"quant.qcast %x : {ft} to {qt}"
    ir = function([("x", ft)], line, qt)
    got = run_function(ir, [x])[0]
    # odd axes go to ONNX Runtime counted from the end, so negative `axis` is exercised too
    attrs = {} if axis is None else {"axis": axis - x.ndim if axis % 2 else axis}
    node = helper.make_node("QuantizeLinear", ["x", "scale", "zero"], ["y"], **attrs)
    want = run_ort(node, {"x": x}, {"scale": case.scales, "zero": case.zeros}, dtype, x.ndim)
    # DESIGN §2: NaN quantizes to qmin (ONNX Runtime agrees on this machine; see the compare).
    nan = np.isnan(x)
    assert np.all(got[nan] == bounds(dtype)[0]), f"NaN must give qmin\n{ir}"
    compare("QuantizeLinear", got, want, f"case {label}\n{ir}x = {x!r}")


def random_quantize_case(rng: np.random.Generator) -> QuantizeCase:
    dtype = U8 if rng.random() < 0.5 else I8
    shape = random_shape(rng)
    axis = int(rng.integers(0, len(shape))) if rng.random() < 0.5 else None
    count = 1 if axis is None else shape[axis]
    ties = rng.random() < 0.3
    scales = np.array(
        [tie_scale(rng) if ties else random_scale(rng) for _ in range(count)], dtype=F32
    )
    zeros = np.array([random_zero(rng, dtype) for _ in range(count)]).astype(dtype)
    if axis is None:
        scales, zeros = scales.reshape(()), zeros.reshape(())
    view = [1] * len(shape)
    if axis is not None:
        view[axis] = -1
    s = scales.astype(np.float64).reshape(view)
    z = zeros.astype(np.int64).reshape(view)
    lo, hi = bounds(dtype)
    if ties:  # x = (k + 0.5) * s exactly, k of both signs, some saturating
        k = rng.integers(lo - 8, hi + 9, size=shape) - z
        x = ((k + 0.5) * s).astype(F32)
    else:
        x = (rng.uniform(lo - 20, hi + 20, size=shape) - z) * s
        x = x.astype(F32)
    if rng.random() < 0.3:  # sprinkle inf, 1e30, NaN, signed zeros, extremes
        flat = x.reshape(-1)
        where = rng.integers(0, flat.size, size=min(flat.size, 6))
        flat[where] = rng.choice(specials(), size=where.size)
    return QuantizeCase(x, dtype, scales, zeros, axis, use_qcast=bool(rng.random() < 0.25))


@pytest.mark.parametrize("case", tiered_range(N_QUANTIZE, DEFAULT_RANDOM))
def test_quantize_random(case):
    check_quantize(random_quantize_case(rng_for("QuantizeLinear", case)), str(case))


QUANTIZE_EDGE_SCALES = (1.0, 0.5, 0.375, 3 * 2.0**-10, 0.1, 1e-5, 1000.0)


@pytest.mark.parametrize("dtype", [U8, I8], ids=["u8", "i8"])
@pytest.mark.parametrize("scale", QUANTIZE_EDGE_SCALES)
@pytest.mark.parametrize("zero", ["min", "max", "mid"])
def test_quantize_edges(dtype, scale, zero):
    """Ties (k + 0.5)·s of both signs, ±inf, ±1e30, NaN, signed zeros, zero point extremes."""
    lo, hi = bounds(dtype)
    z = {"min": lo, "max": hi, "mid": (lo + hi + 1) // 2}[zero]
    s = F32(scale)
    k = np.arange(-300, 300, dtype=np.float64)
    ties = ((k + 0.5) * np.float64(s)).astype(F32)
    exact = (k * np.float64(s)).astype(F32)
    x = np.concatenate([specials(), ties, exact, -ties])
    case = QuantizeCase(x, dtype, np.array(s, dtype=F32), np.array(z).astype(dtype), None)
    check_quantize(case, f"edge {dtype} s={scale} z={z}")


@pytest.mark.parametrize("dtype", [U8, I8], ids=["u8", "i8"])
@pytest.mark.parametrize("axis", [0, 1, 2])
def test_quantize_edges_per_axis(dtype, axis):
    lo, hi = bounds(dtype)
    shape = [5, 7, 9]
    shape[axis] = 3
    scales = np.array([0.5, 0.375, 3 * 2.0**-10], dtype=F32)
    zeros = np.array([lo, hi, (lo + hi + 1) // 2]).astype(dtype)
    view = [1, 1, 1]
    view[axis] = 3
    rng = rng_for("QuantizeLinear", f"edge-axis-{dtype}-{axis}")
    k = rng.integers(-300, 300, size=shape)
    x = (k + 0.5) * np.sign(rng.random(shape) - 0.5) * scales.astype(np.float64).reshape(view)
    x = x.astype(F32)
    flat = x.reshape(-1)
    flat[: len(specials())] = specials()
    check_quantize(QuantizeCase(x, dtype, scales, zeros, axis), f"edge per-axis {axis}")


# ----------------------------------------------------------------------------- DequantizeLinear


def check_dequantize(q, dtype, scales, zeros, axis, label: str, use_dcast=False) -> None:
    elem = uniform(dtype, scales, zeros, axis)
    qt, ft = tensor(q.shape, elem), tensor(q.shape, "f32")
    line = f"qnn.dequantize %x : {qt} -> {ft}"
    if use_dcast:
        line = f"quant.dcast %x : {qt} to {ft}"
    ir = function([("x", qt)], line, ft)
    got = run_function(ir, [q])[0]
    attrs = {} if axis is None else {"axis": axis}
    node = helper.make_node("DequantizeLinear", ["x", "scale", "zero"], ["y"], **attrs)
    want = run_ort(node, {"x": q}, {"scale": scales, "zero": zeros}, np.dtype(F32), q.ndim)
    compare("DequantizeLinear", got, want, f"case {label}\n{ir}q = {q!r}")


@pytest.mark.parametrize("case", tiered_range(N_DEQUANTIZE, DEFAULT_RANDOM))
def test_dequantize_random(case):
    rng = rng_for("DequantizeLinear", case)
    dtype = U8 if rng.random() < 0.5 else I8
    shape = random_shape(rng)
    axis = int(rng.integers(0, len(shape))) if rng.random() < 0.5 else None
    count = 1 if axis is None else shape[axis]
    scales = np.array([random_scale(rng, -6, 3) for _ in range(count)], dtype=F32)
    zeros = np.array([random_zero(rng, dtype) for _ in range(count)]).astype(dtype)
    if axis is None:
        scales, zeros = scales.reshape(()), zeros.reshape(())
    q = random_storage(rng, dtype, shape)
    q.reshape(-1)[:2] = bounds(dtype)[: min(2, q.size)]
    use_dcast = bool(rng.random() < 0.25)
    check_dequantize(q, dtype, scales, zeros, axis, str(case), use_dcast)


@pytest.mark.parametrize("dtype", [U8, I8], ids=["u8", "i8"])
@pytest.mark.parametrize("zero", ["min", "max"])
@pytest.mark.parametrize("scale", [1.0, 0.1, 3e-7, 7e4])
def test_dequantize_edges(dtype, zero, scale):
    lo, hi = bounds(dtype)
    z = lo if zero == "min" else hi
    q = np.arange(lo, hi + 1).astype(dtype).reshape(16, 16)
    check_dequantize(q, dtype, np.array(scale, dtype=F32), np.array(z).astype(dtype), None, "edge")
    # per-axis on both axes, zero points alternating between the extremes
    for axis in (0, 1):
        scales = np.array([F32(scale) * F32(1 + i / 7) for i in range(16)], dtype=F32)
        zeros = np.array([lo if i % 2 else hi for i in range(16)]).astype(dtype)
        check_dequantize(q, dtype, scales, zeros, axis, f"edge per-axis {axis}")


# ----------------------------------------------------------------------------- conv


@dataclass
class Conv:
    """One conv problem; the interpreter runs it as is, ORT its same-signedness equivalent."""

    x: np.ndarray  # NCHW
    w: np.ndarray  # OIHW
    bias: np.ndarray | None
    groups: int
    strides: tuple[int, int]
    pads: tuple[int, int, int, int]  # top, left, bottom, right (= ONNX begin..., end...)
    dilations: tuple[int, int]
    x_scale: F32
    x_zero: int
    w_scales: np.ndarray  # (O,) when per-channel, else ()
    w_zero: int
    y_scale: F32
    y_zero: int
    w_const: bool = True
    optimize: bool = True

    @property
    def out_shape(self) -> tuple[int, int, int, int]:
        n, _, h, w = self.x.shape
        o, _, kh, kw = self.w.shape
        (sh, sw), (dh, dw), (pt, pl, pb, pr) = self.strides, self.dilations, self.pads
        oh = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1
        ow = (w + pl + pr - dw * (kw - 1) - 1) // sw + 1
        return n, o, oh, ow

    def describe(self) -> str:
        return (
            f"x {self.x.dtype}{self.x.shape} scale {self.x_scale!r} zp {self.x_zero}; "
            f"w {self.w.dtype}{self.w.shape} scales {self.w_scales!r} zp {self.w_zero}; "
            f"y scale {self.y_scale!r} zp {self.y_zero}; groups {self.groups} strides "
            f"{self.strides} pads {self.pads} dilations {self.dilations}; bias {self.bias!r}; "
            f"w const {self.w_const}, ORT optimize {self.optimize}\n"
            f"x = {self.x!r}\nw = {self.w!r}"
        )


def conv_ir(c: Conv, raw: bool) -> str:
    o = c.w.shape[0]
    per_channel = c.w_scales.ndim == 1
    xt = tensor(c.x.shape, uniform(c.x.dtype, c.x_scale, c.x_zero))
    if per_channel:
        w_elem = uniform(c.w.dtype, c.w_scales, [c.w_zero] * o, axis=0)
    else:
        w_elem = uniform(c.w.dtype, c.w_scales, c.w_zero)
    wt = tensor(c.w.shape, w_elem)
    yt = tensor(c.out_shape, "i32" if raw else uniform(c.x.dtype, c.y_scale, c.y_zero))
    args = [("x", xt), ("w", wt)]
    bias = ""
    if c.bias is not None:
        bt = tensor((o,), "i32")
        args.append(("b", bt))
        bias = f" bias(%b : {bt})"
    props = (
        f"pads = array<i64: {', '.join(map(str, c.pads))}>, "
        f"strides = array<i64: {', '.join(map(str, c.strides))}>, "
        f"dilations = array<i64: {', '.join(map(str, c.dilations))}>, groups = {c.groups} : i64"
    )
    line = f"qnn.conv2d %x, %w{bias} {{{props}}} : {xt}, {wt} -> {yt}"
    return function(args, line, yt)


def conv_ort(c: Conv, raw: bool) -> np.ndarray:
    x, xz = c.x, np.array(c.x_zero).astype(c.x.dtype)
    w, wz = c.w, np.array(c.w_zero).astype(c.w.dtype)
    yz = np.array(c.y_zero).astype(c.x.dtype)
    shift_x = x.dtype == U8 and w.dtype == I8  # run u8×s8 as s8×s8 (see module docstring)
    shift_w = x.dtype == I8 and w.dtype == U8
    if shift_x:
        x, xz, yz = as_signed(x), as_signed(xz), as_signed(yz)
    if shift_w:
        w, wz = as_signed(w), as_signed(wz)
    attrs = dict(
        kernel_shape=list(w.shape[2:]),
        pads=list(c.pads),
        strides=list(c.strides),
        dilations=list(c.dilations),
        group=c.groups,
    )
    feeds, consts = {"x": x}, {}
    (consts if c.w_const else feeds)["w"] = w
    if raw:
        consts.update(xz=xz, wz=wz)
        node = helper.make_node("ConvInteger", ["x", "w", "xz", "wz"], ["y"], **attrs)
        return run_ort(node, feeds, consts, np.dtype(np.int32), 4, c.optimize)
    if c.w_scales.ndim == 1:
        wz = np.full(c.w_scales.shape, wz, dtype=wz.dtype)  # ORT: per-channel zps must agree
    consts.update(xs=np.array(c.x_scale, F32), xz=xz, ws=c.w_scales, wz=wz)
    consts.update(ys=np.array(c.y_scale, F32), yz=yz)
    names = ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz"]
    if c.bias is not None:
        consts["b"] = c.bias
        names.append("b")
    node = helper.make_node("QLinearConv", names, ["y"], **attrs)
    y = run_ort(node, feeds, consts, x.dtype, 4, c.optimize)
    return from_signed(y) if shift_x else y


def check_conv(c: Conv, raw: bool, label: str) -> None:
    ir = conv_ir(c, raw)
    inputs = [c.x, c.w] + ([c.bias] if c.bias is not None else [])
    got = run_function(ir, inputs)[0]
    want = conv_ort(c, raw)
    op = "ConvInteger" if raw else "QLinearConv"
    compare(op, got, want, f"case {label}: {c.describe()}\n{ir}")


def make_conv(rng: np.random.Generator, raw: bool, **fixed) -> Conv:
    """A random conv problem; `fixed` pins any choice (see the names below)."""

    def choose(name, make):
        return fixed[name] if name in fixed else make()

    xdt = choose("xdt", lambda: U8 if rng.random() < 0.5 else I8)
    wdt = choose("wdt", lambda: U8 if rng.random() < 0.4 else I8)
    kind = choose("kind", lambda: rng.choice(["plain", "plain", "grouped", "depthwise"]))
    if kind == "plain":
        groups, cin_g, cout_g = 1, pick_size(rng), pick_size(rng)
    elif kind == "grouped":
        groups = int(rng.integers(2, 5))
        cin_g, cout_g = int(rng.integers(1, 5)), int(rng.integers(1, 4))
    else:  # depthwise, channel multiplier 1 or 2
        groups, cin_g, cout_g = pick_size(rng), 1, int(rng.choice([1, 1, 2]))
    groups = choose("groups", lambda: groups)
    cin_g = choose("cin_g", lambda: cin_g)
    cout_g = choose("cout_g", lambda: cout_g)
    n = choose("n", lambda: int(rng.choice([1, 1, 2])))
    kh = int(rng.choice([1, 2, 3, 3, 5]))
    kw = kh if rng.random() < 0.7 else int(rng.choice([1, 2, 3, 5]))
    kernel = choose("kernel", lambda: (kh, kw))
    dilations = choose("dilations", lambda: tuple(int(rng.choice([1, 1, 1, 2, 3])) for _ in "hw"))
    strides = choose("strides", lambda: tuple(int(rng.choice([1, 1, 2, 3])) for _ in "hw"))
    ext = [d * (k - 1) + 1 for d, k in zip(dilations, kernel, strict=True)]
    if rng.random() < 0.6:
        pt, pb = (int(rng.integers(0, ext[0])) for _ in "tb")
        pl, pr = (int(rng.integers(0, ext[1])) for _ in "lr")
    else:
        pt = pl = pb = pr = 0
    pads = choose("pads", lambda: (pt, pl, pb, pr))
    h, w = choose("hw", lambda: (pick_size(rng), pick_size(rng)))
    h = max(h, ext[0] - pads[0] - pads[2])
    w = max(w, ext[1] - pads[1] - pads[3])
    c_in, c_out = groups * cin_g, groups * cout_g

    xlo, xhi = bounds(xdt)
    wlo, whi = bounds(wdt)
    x_zero = choose("x_zero", lambda: random_zero(rng, xdt))
    w_zero = choose(
        "w_zero", lambda: 0 if wdt == I8 and rng.random() < 0.4 else random_zero(rng, wdt)
    )
    y_zero = choose("y_zero", lambda: random_zero(rng, xdt))
    per_channel = choose("per_channel", lambda: bool(rng.random() < 0.5))
    ties = choose("ties", lambda: bool(rng.random() < 0.1))
    data = choose("data", lambda: "small" if ties else rng.choice(["uniform", "uniform", "near"]))

    if data == "uniform":
        x = random_storage(rng, xdt, (n, c_in, h, w))
        wt = random_storage(rng, wdt, (c_out, cin_g, *kernel))
    else:  # values within a few steps of the zero points
        spread = 4 if data == "small" else 40
        x = np.clip(x_zero + rng.integers(-spread, spread + 1, (n, c_in, h, w)), xlo, xhi)
        wt = np.clip(w_zero + rng.integers(-spread, spread + 1, (c_out, cin_g, *kernel)), wlo, whi)
        x, wt = x.astype(xdt), wt.astype(wdt)

    count = c_out if per_channel else 1
    dx, dw = x.astype(np.int64) - x_zero, wt.astype(np.int64) - w_zero
    acc_rms = accumulator_rms(cin_g * kernel[0] * kernel[1], dx, dw)
    if "y_zero" not in fixed:
        y_zero = fit_zero(y_zero, xdt, np.mean(dx) * np.mean(dw))
    if ties:  # power-of-two scales: fl(acc * m) lands on .5 for many accumulators
        x_scale = F32(2.0 ** -int(rng.integers(1, 8)))
        w_scales = np.array([2.0 ** -int(rng.integers(1, 8)) for _ in range(count)], F32)
        y_scale = F32(float(x_scale) * float(w_scales.max()) * 2.0 ** int(rng.integers(1, 4)))
    else:  # output scale: the accumulator's rms lands 3..60 steps from the zero point
        spread = choose("w_spread", lambda: 0.5)  # decades between per-channel weight scales
        x_scale = random_scale(rng, -3, 0)
        base = random_scale(rng, -4, -1)
        w_scales = (base * 10.0 ** rng.uniform(-spread, spread, count)).astype(F32)
        y_scale = F32(x_scale * np.mean(w_scales) * acc_rms / 10.0 ** rng.uniform(0.5, 1.8))
    if not per_channel:
        w_scales = w_scales.reshape(())

    bias_mode = choose(
        "bias", lambda: rng.choice(["none", "small", "small", "big"], p=[0.3, 0.28, 0.27, 0.15])
    )
    if bias_mode == "none" or raw:
        bias = None
    elif bias_mode == "small":
        bound = int(3 * acc_rms) + 1
        bias = rng.integers(-bound, bound + 1, c_out).astype(np.int32)
    else:  # near ±2^30; the output scale follows so results stay mostly in range
        bias = rng.choice([-1, 1], c_out) * ((1 << 30) - rng.integers(0, 5000, c_out))
        bias = bias.astype(np.int32)
        y_scale = F32(float(x_scale) * float(np.max(w_scales)) * 2.0**30 / rng.uniform(30, 110))
    return Conv(
        x=x,
        w=wt,
        bias=bias,
        groups=groups,
        strides=tuple(strides),
        pads=tuple(pads),
        dilations=tuple(dilations),
        x_scale=x_scale,
        x_zero=x_zero,
        w_scales=w_scales,
        w_zero=w_zero,
        y_scale=y_scale,
        y_zero=y_zero,
        w_const=choose("w_const", lambda: bool(rng.random() < 0.7)),
        optimize=choose("optimize", lambda: bool(rng.random() < 0.5)),
    )


def big_accumulator_conv(rng, xdt, wdt, raw) -> Conv:
    """|acc| well beyond 2^24: 64 channels × 3×3 taps of |x - zx|, |w - zw| ≈ 200..255."""
    xlo, xhi = bounds(xdt)
    wlo, whi = bounds(wdt)
    c = make_conv(
        rng, raw, xdt=xdt, wdt=wdt, kind="plain", groups=1, cin_g=64, cout_g=5, n=1,
        kernel=(3, 3), hw=(5, 6), pads=(1, 1, 1, 1), dilations=(1, 1), strides=(1, 1),
        x_zero=xlo, w_zero=wlo, per_channel=True, ties=False, data="uniform", bias="small",
    )  # fmt: skip
    x = rng.integers(xhi - 55, xhi + 1, c.x.shape).astype(xdt)
    w = np.where(rng.random(c.w.shape) < 0.85, rng.integers(whi - 55, whi + 1, c.w.shape), wlo)
    c.x, c.w = x, w.astype(wdt)
    c.w_scales = np.array([random_scale(rng, -4, -2) for _ in range(c.w.shape[0])], F32)
    c.y_scale = F32(float(c.x_scale) * float(c.w_scales.max()) * 2.0**26 / 100)
    c.y_zero = xlo  # accumulators are positive: results land 0..~60 steps above qmin
    return c


CONV_EDGES = {
    # padding reads the input zero point, at both extremes and in between
    "pad_zero_max": dict(pads=(2, 2, 2, 2), kernel=(3, 3), x_zero="max", data="uniform"),
    "pad_zero_min": dict(pads=(2, 1, 0, 2), kernel=(3, 3), x_zero="min", data="uniform"),
    "pad_zero_mid": dict(pads=(1, 2, 2, 1), kernel=(5, 3), x_zero=77, hw=(3, 3)),
    # zero points at the extremes; y's is the one the accumulator's sign does not saturate
    "zero_points_max": dict(x_zero="max", w_zero="max", y_zero="min", bias="none",
                            data="uniform", pads=(1, 1, 1, 1)),
    "zero_points_min": dict(x_zero="min", w_zero="min", y_zero="min", bias="none",
                            data="uniform", pads=(1, 1, 1, 1)),
    "zero_points_mixed": dict(x_zero="min", w_zero="max", y_zero="max", bias="none",
                              data="uniform", kind="grouped"),
    "zero_points_mixed_2": dict(x_zero="max", w_zero="min", y_zero="max", bias="none",
                                data="uniform", pads=(2, 0, 1, 2)),
    "depthwise_3x3": dict(kind="depthwise", groups=13, cin_g=1, cout_g=1, kernel=(3, 3),
                          pads=(1, 1, 1, 1), strides=(1, 1), dilations=(1, 1), hw=(13, 13)),
    "depthwise_s2_mult2": dict(kind="depthwise", groups=7, cin_g=1, cout_g=2, kernel=(3, 3),
                               pads=(1, 1, 1, 1), strides=(2, 2), hw=(13, 7)),
    "depthwise_5x5": dict(kind="depthwise", groups=16, cin_g=1, cout_g=1, kernel=(5, 5),
                          pads=(2, 2, 2, 2), strides=(1, 1), dilations=(1, 1), hw=(7, 7)),
    "grouped": dict(kind="grouped", groups=3, cin_g=5, cout_g=2, kernel=(3, 3),
                    pads=(1, 1, 1, 1), hw=(7, 7)),
    "dilation_2_3": dict(kernel=(3, 3), dilations=(2, 3), pads=(2, 3, 2, 3), hw=(13, 13)),
    "stride_2_3": dict(kernel=(3, 5), strides=(2, 3), pads=(1, 2, 0, 1), hw=(13, 13)),
    "stride_dilation": dict(kernel=(3, 3), strides=(3, 2), dilations=(2, 2), pads=(0, 1, 2, 1)),
    "pointwise_1x1": dict(kind="plain", groups=1, cin_g=32, cout_g=13, kernel=(1, 1),
                          pads=(0, 0, 0, 0), strides=(1, 1), dilations=(1, 1)),
    "per_channel_wide": dict(per_channel=True, cout_g=13, kind="plain", groups=1, w_spread=2.0),
    "bias_near_2p30": dict(bias="big", per_channel=False, y_zero="mid"),
    "bias_near_2p30_per_channel": dict(bias="big", per_channel=True, y_zero="mid"),
    "ties_pow2": dict(ties=True, data="small", bias="small"),
    "ties_pow2_per_channel": dict(ties=True, data="small", per_channel=True, kind="plain"),
    "one_pixel": dict(hw=(1, 1), kernel=(1, 1), pads=(0, 0, 0, 0)),
    "all_padding_window": dict(hw=(1, 1), kernel=(3, 3), pads=(2, 2, 2, 2), dilations=(1, 1)),
}  # fmt: skip
SIGNS = {"u8u8": (U8, U8), "i8i8": (I8, I8), "u8i8": (U8, I8), "i8u8": (I8, U8)}


def edge_conv(name: str, signs: str, raw: bool) -> Conv:
    rng = rng_for("conv-edge", (name, signs, raw))
    xdt, wdt = SIGNS[signs]
    if name == "big_accumulator":
        return big_accumulator_conv(rng, xdt, wdt, raw)
    fixed = dict(CONV_EDGES[name])
    fixed.setdefault("ties", False)
    for key, dtype in (("x_zero", xdt), ("w_zero", wdt), ("y_zero", xdt)):
        lo, hi = bounds(dtype)
        if fixed.get(key) in ("min", "max", "mid"):
            fixed[key] = {"min": lo, "max": hi, "mid": (lo + hi + 1) // 2}[fixed[key]]
    if "x_zero" in fixed:
        fixed["x_zero"] = int(np.clip(fixed["x_zero"], *bounds(xdt)))
    return make_conv(rng, raw, xdt=xdt, wdt=wdt, **fixed)


@pytest.mark.parametrize("case", tiered_range(N_QLINEARCONV, DEFAULT_RANDOM))
def test_qlinearconv_random(case):
    check_conv(make_conv(rng_for("QLinearConv", case), raw=False), raw=False, label=str(case))


@pytest.mark.parametrize("signs", SIGNS)
@pytest.mark.parametrize("name", [*CONV_EDGES, "big_accumulator"])
def test_qlinearconv_edges(name, signs):
    check_conv(edge_conv(name, signs, raw=False), raw=False, label=f"{name} {signs}")


@pytest.mark.parametrize("case", tiered_range(N_CONVINTEGER, DEFAULT_RANDOM))
def test_convinteger_random(case):
    check_conv(make_conv(rng_for("ConvInteger", case), raw=True), raw=True, label=str(case))


RAW_CONV_EDGES = [
    "pad_zero_max",
    "pad_zero_min",
    "zero_points_max",
    "zero_points_min",
    "depthwise_3x3",
    "grouped",
    "dilation_2_3",
    "stride_dilation",
    "big_accumulator",
]


@pytest.mark.parametrize("signs", SIGNS)
@pytest.mark.parametrize("name", RAW_CONV_EDGES)
def test_convinteger_edges(name, signs):
    check_conv(edge_conv(name, signs, raw=True), raw=True, label=f"{name} {signs}")


# ----------------------------------------------------------------------------- matmul


@dataclass
class MatMul:
    a: np.ndarray  # [..., M, K]
    b: np.ndarray  # [K, N]
    a_scale: F32
    a_zero: int
    b_scales: np.ndarray  # (N,) per column, else ()
    b_zeros: np.ndarray  # int64, (N,) per column, else ()
    y_scale: F32
    y_zero: int
    b_const: bool = True
    optimize: bool = True

    def describe(self) -> str:
        return (
            f"a {self.a.dtype}{self.a.shape} scale {self.a_scale!r} zp {self.a_zero}; "
            f"b {self.b.dtype}{self.b.shape} scales {self.b_scales!r} zps {self.b_zeros!r}; "
            f"y scale {self.y_scale!r} zp {self.y_zero}; b const {self.b_const}, "
            f"ORT optimize {self.optimize}\na = {self.a!r}\nb = {self.b!r}"
        )


def matmul_ir(m: MatMul, raw: bool) -> str:
    at = tensor(m.a.shape, uniform(m.a.dtype, m.a_scale, m.a_zero))
    if m.b_scales.ndim == 1:
        b_elem = uniform(m.b.dtype, m.b_scales, m.b_zeros, axis=1)
    else:
        b_elem = uniform(m.b.dtype, m.b_scales, m.b_zeros)
    bt = tensor(m.b.shape, b_elem)
    out_shape = (*m.a.shape[:-1], m.b.shape[1])
    yt = tensor(out_shape, "i32" if raw else uniform(m.a.dtype, m.y_scale, m.y_zero))
    return function([("a", at), ("b", bt)], f"qnn.dot %a, %b : {at}, {bt} -> {yt}", yt)


def matmul_ort(m: MatMul, raw: bool) -> np.ndarray:
    a, az = m.a, np.array(m.a_zero).astype(m.a.dtype)
    b, bz = m.b, m.b_zeros.astype(m.b.dtype)
    yz = np.array(m.y_zero).astype(m.a.dtype)
    shift_a = a.dtype == U8 and b.dtype == I8  # run u8×s8 as s8×s8 (see module docstring)
    shift_b = a.dtype == I8 and b.dtype == U8
    if shift_a:
        a, az, yz = as_signed(a), as_signed(az), as_signed(yz)
    if shift_b:
        b, bz = as_signed(b), as_signed(bz)
    feeds, consts = {"a": a}, {}
    (consts if m.b_const else feeds)["b"] = b
    rank = a.ndim
    if raw:
        consts.update(az=az, bz=bz)
        node = helper.make_node("MatMulInteger", ["a", "b", "az", "bz"], ["y"])
        return run_ort(node, feeds, consts, np.dtype(np.int32), rank, m.optimize)
    consts.update(as_=np.array(m.a_scale, F32), az=az, bs=m.b_scales, bz=bz)
    consts.update(ys=np.array(m.y_scale, F32), yz=yz)
    names = ["a", "as_", "az", "b", "bs", "bz", "ys", "yz"]
    node = helper.make_node("QLinearMatMul", names, ["y"])
    y = run_ort(node, feeds, consts, a.dtype, rank, m.optimize)
    return from_signed(y) if shift_a else y


def check_matmul(m: MatMul, raw: bool, label: str) -> None:
    ir = matmul_ir(m, raw)
    got = run_function(ir, [m.a, m.b])[0]
    want = matmul_ort(m, raw)
    op = "MatMulInteger" if raw else "QLinearMatMul"
    compare(op, got, want, f"case {label}: {m.describe()}\n{ir}")


def make_matmul(rng: np.random.Generator, raw: bool, **fixed) -> MatMul:
    def choose(name, make):
        return fixed[name] if name in fixed else make()

    adt = choose("adt", lambda: U8 if rng.random() < 0.5 else I8)
    bdt = choose("bdt", lambda: U8 if rng.random() < 0.4 else I8)
    batch = choose("batch", lambda: () if rng.random() < 0.6 else (pick_size(rng, 5),))
    m_, k, n = choose("mkn", lambda: (pick_size(rng, 33), pick_size(rng, 70), pick_size(rng, 33)))
    per_column = choose("per_column", lambda: bool(rng.random() < 0.5))
    count = n if per_column else 1
    a_zero = choose("a_zero", lambda: random_zero(rng, adt))
    b_zeros = choose(
        "b_zeros",
        lambda: (
            [0 if bdt == I8 and rng.random() < 0.4 else random_zero(rng, bdt)] * count
            if rng.random() < 0.5
            else [random_zero(rng, bdt) for _ in range(count)]
        ),
    )
    b_zeros = np.array(b_zeros, dtype=np.int64)
    y_zero = choose("y_zero", lambda: random_zero(rng, adt))
    ties = choose("ties", lambda: bool(rng.random() < 0.1))
    data = choose("data", lambda: "small" if ties else rng.choice(["uniform", "uniform", "near"]))
    alo, ahi = bounds(adt)
    blo, bhi = bounds(bdt)
    if data == "uniform":
        a = random_storage(rng, adt, (*batch, m_, k))
        b = random_storage(rng, bdt, (k, n))
    elif data == "extreme":  # |a - za|, |b - zb| near 255: accumulators beyond 2^24
        a = rng.integers(ahi - 40, ahi + 1, (*batch, m_, k)).astype(adt)
        b = np.where(rng.random((k, n)) < 0.9, rng.integers(bhi - 40, bhi + 1, (k, n)), blo)
        b = b.astype(bdt)
    else:
        spread = 4 if data == "small" else 40
        a = np.clip(a_zero + rng.integers(-spread, spread + 1, (*batch, m_, k)), alo, ahi)
        b = np.clip(b_zeros.max() + rng.integers(-spread, spread + 1, (k, n)), blo, bhi)
        a, b = a.astype(adt), b.astype(bdt)
    da, db = a.astype(np.int64) - a_zero, b.astype(np.int64) - b_zeros.reshape(1, -1)
    if "y_zero" not in fixed:
        y_zero = fit_zero(y_zero, adt, np.mean(da) * np.mean(db))
    if ties:
        a_scale = F32(2.0 ** -int(rng.integers(1, 8)))
        b_scales = np.array([2.0 ** -int(rng.integers(1, 8)) for _ in range(count)], F32)
        y_scale = F32(float(a_scale) * float(b_scales.max()) * 2.0 ** int(rng.integers(1, 4)))
    else:  # output scale: the accumulator's rms lands 3..60 steps from the zero point
        a_scale = random_scale(rng, -3, 0)
        base = random_scale(rng, -4, -1)
        b_scales = (base * 10.0 ** rng.uniform(-0.5, 0.5, count)).astype(F32)
        acc_rms = accumulator_rms(k, da, db)
        y_scale = F32(a_scale * np.mean(b_scales) * acc_rms / 10.0 ** rng.uniform(0.5, 1.8))
    if not per_column:
        b_scales, b_zeros = b_scales.reshape(()), b_zeros.reshape(())
    return MatMul(
        a=a,
        b=b,
        a_scale=a_scale,
        a_zero=a_zero,
        b_scales=b_scales,
        b_zeros=b_zeros,
        y_scale=y_scale,
        y_zero=y_zero,
        b_const=choose("b_const", lambda: bool(rng.random() < 0.7)),
        optimize=choose("optimize", lambda: bool(rng.random() < 0.5)),
    )


MATMUL_EDGES = {
    # zero points at the extremes; y's is the one the accumulator's sign does not saturate
    "zero_points_max": dict(a_zero="max", b_zeros="max", y_zero="min"),
    "zero_points_min": dict(a_zero="min", b_zeros="min", y_zero="min"),
    "zero_points_mixed": dict(a_zero="min", b_zeros="max", y_zero="max", per_column=True),
    "zero_points_mixed_2": dict(a_zero="max", b_zeros="min", y_zero="max"),
    "per_column_zero_extremes": dict(per_column=True, b_zeros="alternate", mkn=(7, 13, 13)),
    "big_accumulator": dict(
        data="extreme", a_zero="min", b_zeros="min", y_zero="min", mkn=(3, 700, 7)
    ),
    "big_accumulator_per_column": dict(data="extreme", a_zero="min", b_zeros="min", y_zero="min",
                                       per_column=True, mkn=(5, 640, 13), batch=(2,)),
    "ties_pow2": dict(ties=True, data="small"),
    "ties_pow2_per_column": dict(ties=True, data="small", per_column=True, mkn=(13, 7, 13)),
    "ones": dict(mkn=(1, 1, 1), batch=()),
    "k1": dict(mkn=(13, 1, 7)),
    "batched": dict(batch=(3,), mkn=(7, 13, 3)),
}  # fmt: skip
MATMUL_SIGNS = {"u8u8": (U8, U8), "i8i8": (I8, I8), "u8i8": (U8, I8), "i8u8": (I8, U8)}


def edge_matmul(name: str, signs: str, raw: bool) -> MatMul:
    rng = rng_for("matmul-edge", (name, signs, raw))
    adt, bdt = MATMUL_SIGNS[signs]
    fixed = dict(MATMUL_EDGES[name], adt=adt, bdt=bdt)
    fixed.setdefault("ties", False)
    for key, dtype in (("a_zero", adt), ("y_zero", adt)):
        if fixed.get(key) in ("min", "max"):
            fixed[key] = bounds(dtype)[0 if fixed[key] == "min" else 1]
    fixed.setdefault("per_column", bool(rng.random() < 0.5))
    if "mkn" not in fixed:
        fixed["mkn"] = (pick_size(rng, 33), pick_size(rng, 70), pick_size(rng, 33))
    count = fixed["mkn"][2] if fixed.get("per_column") else 1
    lo, hi = bounds(bdt)
    if fixed.get("b_zeros") in ("min", "max"):
        fixed["b_zeros"] = [lo if fixed["b_zeros"] == "min" else hi] * count
    elif fixed.get("b_zeros") == "alternate":
        fixed["b_zeros"] = [lo if i % 2 else hi for i in range(count)]
    return make_matmul(rng, raw, **fixed)


@pytest.mark.parametrize("case", tiered_range(N_QLINEARMATMUL, DEFAULT_RANDOM))
def test_qlinearmatmul_random(case):
    m = make_matmul(rng_for("QLinearMatMul", case), raw=False)
    check_matmul(m, raw=False, label=str(case))


@pytest.mark.parametrize("signs", MATMUL_SIGNS)
@pytest.mark.parametrize("name", MATMUL_EDGES)
def test_qlinearmatmul_edges(name, signs):
    check_matmul(edge_matmul(name, signs, raw=False), raw=False, label=f"{name} {signs}")


@pytest.mark.parametrize("case", tiered_range(N_MATMULINTEGER, DEFAULT_RANDOM))
def test_matmulinteger_random(case):
    m = make_matmul(rng_for("MatMulInteger", case), raw=True)
    check_matmul(m, raw=True, label=str(case))


@pytest.mark.parametrize("signs", MATMUL_SIGNS)
@pytest.mark.parametrize("name", MATMUL_EDGES)
def test_matmulinteger_edges(name, signs):
    check_matmul(edge_matmul(name, signs, raw=True), raw=True, label=f"{name} {signs}")
