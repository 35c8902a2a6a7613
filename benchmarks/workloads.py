"""The workloads of issue 6 as our IR, with full-range random data and what one call is worth.

Each workload builds a function of qnn ops (weights as constants, so kernels may pack them at
load) and its inputs; `work` is what one call does — 2·MACs for GEMM and conv (GOP/s), bytes read
plus bytes written for quantize / dequantize (GB/s), nothing for the per-call row (µs).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects import arith
from xdsl.dialects.builtin import BytesAttr, DenseIntOrFPElementsAttr, ModuleOp

from qdialect.textio import parse_module

SX_U8, ZX_U8 = 0.02, 128  # u8 activations: full range around 128
SX_I8, ZX_I8 = 0.02, 3  # i8 activations: a non-zero zero point, exercised
SW = 0.01  # i8 weights, symmetric (what ONNX Runtime and PyTorch expect)


def qtype(storage: str, scale: float, zero: int) -> str:
    return f"!quant.uniform<{storage}:f32, {scale!r}:{zero}>"


def tensor(shape, elem: str) -> str:
    return f"tensor<{'x'.join(map(str, shape))}x{elem}>"


def weight_range(bits: int) -> tuple[int, int]:
    """Random weights: full-range int8, or ONNX Runtime's reduce_range [-64, 64] for 7 bits
    (every pair within the `vpmaddubsw` bound |w0| + |w1| <= 128, see codegen/packing.py)."""
    return (-128, 127) if bits == 8 else (-(2 ** (bits - 1)), 2 ** (bits - 1))


def output_scale(k: int, w_bits: int = 8) -> float:
    """sy putting the std of full-range random results near 40 quanta (few saturate)."""
    std = math.sqrt(k) * 74.0 * 74.0 * SX_U8 * SW / 2 ** (8 - w_bits)
    return float(f"{std / 40:.3g}")


@dataclass(frozen=True)
class Workload:
    """One row of the table. `signed` selects i8 activations (the int8×int8 variant)."""

    name: str
    unit: str  # "GOP/s", "GB/s" or "us"
    big: bool = False  # skipped by --quick
    signed: bool = False

    @property
    def work(self) -> float:
        raise NotImplementedError

    def text(self) -> str:
        """The function, weights as zero splats (filled in by `module`)."""
        raise NotImplementedError

    def weights(self, rng: np.random.Generator) -> list[np.ndarray]:
        return []

    def inputs(self, rng: np.random.Generator) -> list[np.ndarray]:
        raise NotImplementedError

    def module(self, weights: list[np.ndarray]) -> ModuleOp:
        """Parse `text` and put `weights` into its constants, in order (as raw bytes: a million
        weights spelled as IR text would take the parser minutes)."""
        module = parse_module(self.text(), self.name)
        constants = [op for op in module.walk() if isinstance(op, arith.ConstantOp)]
        for op, array in zip(constants, weights, strict=True):
            raw = np.ascontiguousarray(array).tobytes()
            op.properties["value"] = DenseIntOrFPElementsAttr(op.result.type, BytesAttr(raw))
        return module

    @property
    def x_storage(self) -> tuple[str, float, int]:
        return ("i8", SX_I8, ZX_I8) if self.signed else ("u8", SX_U8, ZX_U8)

    def activations(self, rng: np.random.Generator, shape) -> np.ndarray:
        dtype = np.int8 if self.signed else np.uint8
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, shape, endpoint=True, dtype=dtype)


@dataclass(frozen=True)
class Dot(Workload):
    """[M, K] × [K, N] requantized to 8 bits; per-tensor types."""

    m: int = 1
    k: int = 1
    n: int = 1
    unit: str = "GOP/s"
    w_bits: int = 8  # 7: reduce_range weights

    @property
    def work(self) -> float:
        return 2.0 * self.m * self.k * self.n

    @property
    def y_storage(self) -> tuple[str, float, int]:
        sy = output_scale(self.k, self.w_bits)
        return ("i8" if self.signed else "u8", sy, 0 if self.signed else 128)

    def text(self) -> str:
        xs, ys = qtype(*self.x_storage), qtype(*self.y_storage)
        ws = qtype("i8", SW, 0)
        xt, wt, yt = (
            tensor((self.m, self.k), xs),
            tensor((self.k, self.n), ws),
            tensor((self.m, self.n), ys),
        )
        wi = tensor((self.k, self.n), "i8")
        return f"""func.func @main(%x: {xt}) -> {yt} {{
  %w0 = arith.constant dense<0> : {wi}
  %w = quant.scast %w0 : {wi} to {wt}
  %y = qnn.dot %x, %w : {xt}, {wt} -> {yt}
  func.return %y : {yt}
}}"""

    def weights(self, rng: np.random.Generator) -> list[np.ndarray]:
        lo, hi = weight_range(self.w_bits)
        return [rng.integers(lo, hi, (self.k, self.n), endpoint=True, dtype=np.int8)]

    def inputs(self, rng: np.random.Generator) -> list[np.ndarray]:
        return [self.activations(rng, (self.m, self.k))]


@dataclass(frozen=True)
class Conv(Workload):
    """NHWC conv2d (OHWI weights) requantized to 8 bits; per-tensor types."""

    c: int = 1
    hw: int = 1
    o: int = 1
    r: int = 1
    stride: int = 1
    pad: int = 0
    groups: int = 1
    unit: str = "GOP/s"
    w_bits: int = 8  # 7: reduce_range weights

    @property
    def out_hw(self) -> int:
        return (self.hw + 2 * self.pad - self.r) // self.stride + 1

    @property
    def taps(self) -> int:
        return self.c // self.groups * self.r * self.r

    @property
    def work(self) -> float:
        return 2.0 * self.o * self.out_hw**2 * self.taps

    @property
    def y_storage(self) -> tuple[str, float, int]:
        sy = output_scale(self.taps, self.w_bits)
        return ("i8" if self.signed else "u8", sy, 0 if self.signed else 128)

    @property
    def w_shape(self) -> tuple[int, ...]:
        return (self.o, self.r, self.r, self.c // self.groups)

    def text(self) -> str:
        xs, ys = qtype(*self.x_storage), qtype(*self.y_storage)
        ws = qtype("i8", SW, 0)
        xt = tensor((1, self.hw, self.hw, self.c), xs)
        wt, wi = tensor(self.w_shape, ws), tensor(self.w_shape, "i8")
        yt = tensor((1, self.out_hw, self.out_hw, self.o), ys)
        p, s = self.pad, self.stride
        attrs = (
            f'layout = "nhwc", strides = array<i64: {s}, {s}>, '
            f"pads = array<i64: {p}, {p}, {p}, {p}>, groups = {self.groups} : i64"
        )
        return f"""func.func @main(%x: {xt}) -> {yt} {{
  %w0 = arith.constant dense<0> : {wi}
  %w = quant.scast %w0 : {wi} to {wt}
  %y = qnn.conv2d %x, %w {{{attrs}}} : {xt}, {wt} -> {yt}
  func.return %y : {yt}
}}"""

    def weights(self, rng: np.random.Generator) -> list[np.ndarray]:
        lo, hi = weight_range(self.w_bits)
        return [rng.integers(lo, hi, self.w_shape, endpoint=True, dtype=np.int8)]

    def inputs(self, rng: np.random.Generator) -> list[np.ndarray]:
        return [self.activations(rng, (1, self.hw, self.hw, self.c))]


def f32_tensor(shape) -> str:
    return tensor(shape, "f32")


@dataclass(frozen=True)
class FloatDot(Workload):
    """float32 [M, K] × [K, N] (a float model's MatMul, as calibration runs it)."""

    m: int = 1
    k: int = 1
    n: int = 1
    unit: str = "GOP/s"

    @property
    def work(self) -> float:
        return 2.0 * self.m * self.k * self.n

    def text(self) -> str:
        xt, wt = f32_tensor((self.m, self.k)), f32_tensor((self.k, self.n))
        yt = f32_tensor((self.m, self.n))
        return f"""func.func @main(%x: {xt}) -> {yt} {{
  %w = arith.constant dense<0.0> : {wt}
  %y = qnn.dot %x, %w : {xt}, {wt} -> {yt}
  func.return %y : {yt}
}}"""

    def weights(self, rng: np.random.Generator) -> list[np.ndarray]:
        w = rng.standard_normal((self.k, self.n)) / math.sqrt(self.k)
        return [w.astype(np.float32)]

    def inputs(self, rng: np.random.Generator) -> list[np.ndarray]:
        return [rng.standard_normal((self.m, self.k)).astype(np.float32)]


@dataclass(frozen=True)
class FloatConv(Workload):
    """NCHW float32 conv2d with a bias (a folded batch norm), as a float ONNX model imports."""

    c: int = 1
    hw: int = 1
    o: int = 1
    r: int = 1
    stride: int = 1
    pad: int = 0
    unit: str = "GOP/s"

    @property
    def out_hw(self) -> int:
        return (self.hw + 2 * self.pad - self.r) // self.stride + 1

    @property
    def work(self) -> float:
        return 2.0 * self.o * self.out_hw**2 * self.c * self.r * self.r

    def text(self) -> str:
        xt, yt = (
            f32_tensor((1, self.c, self.hw, self.hw)),
            f32_tensor((1, self.o) + (self.out_hw,) * 2),
        )
        wt, bt = f32_tensor((self.o, self.c, self.r, self.r)), f32_tensor((self.o,))
        p, s = self.pad, self.stride
        attrs = f"strides = array<i64: {s}, {s}>, pads = array<i64: {p}, {p}, {p}, {p}>"
        return f"""func.func @main(%x: {xt}) -> {yt} {{
  %w = arith.constant dense<0.0> : {wt}
  %b = arith.constant dense<0.0> : {bt}
  %y = qnn.conv2d %x, %w bias(%b : {bt}) {{{attrs}}} : {xt}, {wt} -> {yt}
  func.return %y : {yt}
}}"""

    def weights(self, rng: np.random.Generator) -> list[np.ndarray]:
        fan_in = self.c * self.r * self.r
        w = rng.standard_normal((self.o, self.c, self.r, self.r)) * math.sqrt(2 / fan_in)
        return [w.astype(np.float32), (rng.standard_normal(self.o) * 0.1).astype(np.float32)]

    def inputs(self, rng: np.random.Generator) -> list[np.ndarray]:
        return [rng.standard_normal((1, self.c, self.hw, self.hw)).astype(np.float32)]


@dataclass(frozen=True)
class Convert(Workload):
    """quantize (f32 → u8, or i8 per channel along axis 0) or dequantize (u8 → f32)."""

    kind: str = "quantize"  # "quantize", "dequantize" or "quantize_per_channel"
    shape: tuple[int, ...] = (1,)
    unit: str = "GB/s"
    scales: tuple[float, ...] = field(default=(0.02,))
    zero: int = 128

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def work(self) -> float:
        return 5.0 * self.size  # 4 bytes of float32 and 1 byte of int8 per element

    @property
    def storage_type(self) -> str:
        if self.kind == "quantize_per_channel":
            params = ",".join(repr(s) for s in self.scales)
            return f"!quant.uniform<i8:f32:0, {{{params}}}>"
        return qtype("u8", self.scales[0], self.zero)

    def text(self) -> str:
        ft, qt = tensor(self.shape, "f32"), tensor(self.shape, self.storage_type)
        if self.kind == "dequantize":
            return f"""func.func @main(%x: {qt}) -> {ft} {{
  %y = qnn.dequantize %x : {qt} -> {ft}
  func.return %y : {ft}
}}"""
        return f"""func.func @main(%x: {ft}) -> {qt} {{
  %y = qnn.quantize %x : {ft} -> {qt}
  func.return %y : {qt}
}}"""

    def inputs(self, rng: np.random.Generator) -> list[np.ndarray]:
        if self.kind == "dequantize":
            return [rng.integers(0, 255, self.shape, endpoint=True, dtype=np.uint8)]
        # Spread over the whole range and beyond (some saturate), with exact .5 ties.
        x = rng.standard_normal(self.shape).astype(np.float32) * np.float32(1.5)
        x.flat[::97] = np.float32(0.25 * 0.02)
        return [x]


def per_channel_scales(channels: int) -> tuple[float, ...]:
    return tuple(float(np.float32(0.01 + 0.0001 * c)) for c in range(channels))


def workloads() -> list[Workload]:
    """Issue 6's table, in its order, the float32 rows, then the int8×int8 variants."""
    rows: list[Workload] = [
        Dot("GEMV 1x768x768", m=1, k=768, n=768),
        Dot("GEMM 128x768x768", m=128, k=768, n=768),
        Dot("GEMM 1024x1024x1024", m=1024, k=1024, n=1024, big=True),
        Dot("GEMM 64x4096x1024", m=64, k=4096, n=1024, big=True),
        Conv("conv 3x3 c64@56", c=64, hw=56, o=64, r=3, pad=1),
        Conv("conv 3x3 c128@28", c=128, hw=28, o=128, r=3, pad=1),
        Conv("conv 3x3 c256@14", c=256, hw=14, o=256, r=3, pad=1),
        Conv("conv 1x1 c256@56->64", c=256, hw=56, o=64, r=1),
        Conv("conv 3x3 s2 c64@56->128", c=64, hw=56, o=128, r=3, stride=2, pad=1),
        Conv("depthwise 3x3 c144@56", c=144, hw=56, o=144, r=3, pad=1, groups=144),
        Conv("first layer 7x7 s2 c3@224->64", c=3, hw=224, o=64, r=7, stride=2, pad=3),
        Convert("quantize 1M f32", kind="quantize", shape=(1 << 20,)),
        Convert("dequantize 1M u8", kind="dequantize", shape=(1 << 20,)),
        Convert(
            "per-channel quantize 256x4096",
            kind="quantize_per_channel",
            shape=(256, 4096),
            scales=per_channel_scales(256),
            zero=0,
        ),
        Dot("per-call overhead 1x16x16", m=1, k=16, n=16, unit="us"),
        # reduce_range (7-bit) weights: the u8 x s8 vpmaddubsw kernels, proven exact
        Dot("GEMM 128x768x3072 w7", m=128, k=768, n=3072, w_bits=7),
        Dot("GEMM 128x3072x768 w7", m=128, k=3072, n=768, w_bits=7),
        Conv("conv 3x3 c64@56 w7", c=64, hw=56, o=64, r=3, pad=1, w_bits=7),
        Conv("conv 1x1 c256@56->64 w7", c=256, hw=56, o=64, r=1, w_bits=7),
        Conv("conv 3x3 s2 c64@56->128 w7", c=64, hw=56, o=128, r=3, stride=2, pad=1, w_bits=7),
        # the float model calibration runs (float32 kernels, exact with the reference)
        FloatDot("float GEMM 128x768x768", m=128, k=768, n=768),
        FloatConv("float conv 3x3 c64@56", c=64, hw=56, o=64, r=3, pad=1),
        FloatConv("float conv 1x1 c256@56->64", c=256, hw=56, o=64, r=1),
        FloatConv("float conv 3x3 s2 c64@56->128", c=64, hw=56, o=128, r=3, stride=2, pad=1),
        FloatConv("float conv 3x3 c512@7", c=512, hw=7, o=512, r=3, pad=1),
        FloatConv("float first layer 7x7 s2 c3@224->64", c=3, hw=224, o=64, r=7, stride=2, pad=3),
    ]
    signed = [
        dataclasses.replace(w, name=w.name + " s8s8", signed=True)
        for w in rows
        if isinstance(w, Dot | Conv) and w.unit != "us" and w.w_bits == 8
    ]
    return rows + signed
