"""The float32 qnn.conv2d / qnn.dot kernel (fgemm.c.j2) against the reference, bit for bit.

Every output must be the reference's float32 sum, step by step: the shapes below reach every
path of the kernel (M, K, N off the 6 x 128 x 16 blocks and K blocks, K = 1, GEMV, layouts,
direct reads, the planar and the channels-last padded copy, pixels as lanes (in runs of the
whole image or of an output row), strides,
dilations, asymmetric and cut-off pads, groups, depthwise with and without a channel
multiplier, batch, weights as an argument, empty tensors), with the epilogues (bias, addend, relu, clamp), and on data with NaN, infinities,
signed zeros, subnormals and overflowing products, so padded taps (0 x inf is NaN) and the
order of every addition show. Results are compared as bits (NaN only as NaN).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from xdsl.dialects import arith
from xdsl.dialects.builtin import BytesAttr, DenseIntOrFPElementsAttr

from qdialect.textio import parse_module
from runtime.compiled import compile_module
from runtime.reference import run_function

from .test_compiled import STRICT, pins_flags

F32 = np.float32

# (kind, layout, x shape (N,C,H,W or rows,K), out channels, kernel, strides, dilations, pads,
#  groups); x shapes are given as N, C, H, W whatever the layout
SHAPES = [
    ("conv", "nchw", (1, 20, 7, 9), 20, (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 1),  # planar copy
    ("conv", "nchw", (1, 3, 11, 12), 5, (3, 3), (2, 2), (1, 1), (1, 1, 1, 1), 1),  # HWC copy
    ("conv", "nhwc", (2, 8, 9, 7), 6, (3, 2), (2, 1), (1, 2), (2, 0, 1, 1), 2),
    ("conv", "nchw", (2, 24, 5, 6), 33, (1, 1), (1, 1), (1, 1), (0, 0, 0, 0), 1),  # pixel lanes
    ("conv", "nhwc", (1, 8, 7, 7), 16, (1, 1), (2, 2), (1, 1), (0, 0, 0, 0), 1),  # direct, HWC
    ("conv", "nchw", (1, 24, 9, 9), 20, (1, 1), (2, 2), (1, 1), (0, 0, 0, 0), 1),  # direct, planar
    ("conv", "nchw", (1, 5, 4, 6), 7, (1, 1), (1, 1), (1, 1), (1, 0, 1, 2), 1),  # 1x1, padded
    ("conv", "nchw", (1, 20, 8, 7), 20, (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 20),  # depthwise
    ("conv", "nhwc", (1, 16, 9, 10), 16, (3, 3), (2, 2), (2, 1), (0, 1, 1, 0), 16),  # depthwise
    ("conv", "nchw", (1, 3, 6, 6), 6, (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 3),  # multiplier 2
    ("conv", "nchw", (1, 40, 6, 8), 16, (3, 3), (1, 1), (1, 1), (0, 0, 0, 0), 1),  # 3 K blocks
    ("conv", "nhwc", (1, 6, 4, 4), 3, (5, 5), (1, 1), (1, 1), (2, 2, 2, 2), 1),  # window > image
    ("conv", "nchw", (1, 4, 7, 7), 9, (3, 3), (2, 2), (1, 1), (0, 0, 2, 2), 1),  # pads cut off
    ("conv", "nhwc", (1, 64, 36, 30), 17, (1, 1), (1, 1), (1, 1), (0, 0, 0, 0), 1),  # row chunks
    ("conv", "nchw", (1, 1, 5, 5), 1, (2, 2), (1, 1), (1, 1), (0, 0, 0, 0), 1),  # K = 4, N = 1
    ("conv", "nchw", (1, 300, 4, 8), 7, (1, 1), (1, 1), (1, 1), (0, 0, 0, 0), 1),  # PX, K blocks
    # few channels: pixels of one output row as lanes, a row's last block partly filled
    ("conv", "nchw", (1, 6, 9, 37), 5, (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 1),  # planar copy
    ("conv", "nchw", (2, 40, 5, 12), 3, (3, 3), (2, 1), (1, 2), (0, 2, 1, 2), 1),  # K blocks
    ("conv", "nchw", (1, 4, 6, 19), 2, (2, 3), (1, 1), (1, 1), (0, 0, 0, 0), 1),  # x itself
    ("conv", "nchw", (1, 3, 11, 40), 6, (3, 3), (2, 2), (1, 1), (1, 1, 1, 1), 1),  # stride 2
    # depthwise, lanes the pixels of an output row (a channel's plane): a tail of rows, strides
    # and dilations, K blocks, a channel multiplier
    ("conv", "nchw", (1, 12, 9, 30), 12, (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 12),
    ("conv", "nchw", (2, 5, 11, 21), 5, (3, 5), (2, 1), (2, 2), (2, 4, 1, 3), 5),
    ("conv", "nchw", (1, 3, 14, 20), 3, (13, 13), (1, 1), (1, 1), (6, 6, 6, 6), 3),
    ("conv", "nchw", (2, 4, 9, 20), 12, (3, 3), (2, 1), (1, 1), (1, 1, 1, 1), 4),  # multiplier 3
    ("dot", "-", (1, 300), 40, None, None, None, None, 1),  # GEMV, 3 K blocks, channel tail
    ("dot", "-", (13, 7), 16, None, None, None, None, 1),
    ("dot", "-", (2, 5, 33), 17, None, None, None, None, 1),  # batch dimensions
    ("dot", "-", (6, 1), 1, None, None, None, None, 1),  # K = 1, one channel
    # empty: no taps (outputs are +0 through the epilogue), no pixels, no channels, no rows
    ("dot", "-", (3, 0), 5, None, None, None, None, 1),
    ("conv", "nchw", (0, 3, 5, 5), 4, (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 1),
    ("conv", "nhwc", (1, 3, 5, 5), 0, (1, 1), (1, 1), (1, 1), (0, 0, 0, 0), 1),
    ("dot", "-", (0, 4), 3, None, None, None, None, 1),
]
# (weights constant, bias, addend, activation)
EPILOGUES = [
    (True, True, False, "relu"),
    (True, False, True, "clamp"),
    (False, True, True, "none"),  # weights an argument: packed per call
    (True, False, False, "none"),
]
CASES = [(s, e) for s in range(len(SHAPES)) for e in range(len(EPILOGUES))]


def _shapes(index: int) -> tuple[list[int], list[int], list[int]]:
    kind, layout, xs, o, kernel, strides, dilations, pads, groups = SHAPES[index]
    if kind == "dot":
        return list(xs), [xs[-1], o], [*xs[:-1], o]
    n, c, h, w = xs
    kh, kw = kernel
    oh = (h + pads[0] + pads[2] - dilations[0] * (kh - 1) - 1) // strides[0] + 1
    ow = (w + pads[1] + pads[3] - dilations[1] * (kw - 1) - 1) // strides[1] + 1
    if layout == "nchw":
        return [n, c, h, w], [o, c // groups, kh, kw], [n, o, oh, ow]
    return [n, h, w, c], [o, kh, kw, c // groups], [n, oh, ow, o]


def _text(index: int, epilogue: int) -> str:
    kind, layout, _, o, _, strides, dilations, pads, groups = SHAPES[index]
    const_w, bias, addend, act = EPILOGUES[epilogue]
    x_shape, w_shape, y_shape = _shapes(index)

    def ty(shape) -> str:
        return "tensor<" + "x".join(map(str, shape)) + "xf32>"

    args, body, operands, attrs = [f"%x: {ty(x_shape)}"], [], "", []
    if const_w:
        body.append(f"  %w = arith.constant dense<0.0> : {ty(w_shape)}")
    else:
        args.append(f"%w: {ty(w_shape)}")
    if bias:
        args.append(f"%b: tensor<{o}xf32>")
        operands += f" bias(%b : tensor<{o}xf32>)"
    if addend:
        args.append(f"%r: {ty(y_shape)}")
        operands += f" addend(%r : {ty(y_shape)})"
    if act != "none":
        attrs.append(f'activation = "{act}"')
    if act == "clamp":
        attrs += ["clamp_min = -1.5 : f32", "clamp_max = 2.25 : f32"]
    if kind == "conv":
        attrs += [
            f"strides = array<i64: {strides[0]}, {strides[1]}>",
            f"dilations = array<i64: {dilations[0]}, {dilations[1]}>",
            f"pads = array<i64: {', '.join(map(str, pads))}>",
            f"groups = {groups} : i64",
            f'layout = "{layout}"',
        ]
    op = "qnn.dot" if kind == "dot" else "qnn.conv2d"
    props = f" {{{', '.join(attrs)}}}" if attrs else ""
    sig = f"{ty(x_shape)}, {ty(w_shape)} -> {ty(y_shape)}"
    body += [f"  %y = {op} %x, %w{operands}{props} : {sig}", f"  func.return %y : {ty(y_shape)}"]
    return f"func.func @main({', '.join(args)}) -> {ty(y_shape)} {{\n" + "\n".join(body) + "\n}\n"


def _values(rng: np.random.Generator, shape, special: bool) -> np.ndarray:
    """Random floats of mixed magnitude; with `special`, a sprinkling of NaN, ±inf, ±0,
    subnormals and values whose products overflow."""
    v = rng.standard_normal(shape).astype(F32) * F32(rng.choice([0.5, 3.0]))
    flat = v.reshape(-1)
    flat[:: max(1, flat.size // 5)] = F32(0.25)
    if special and flat.size > 16:
        picks = rng.choice(flat.size, size=min(12, flat.size // 3), replace=False)
        fill = [np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-40, -3e-39, 3e38, -2e38, 1e-30, 7.5, -0.0]
        flat[picks] = np.array(fill[: len(picks)], dtype=F32)
    return v


@functools.cache
def _case(index: int, epilogue: int):
    """The module (constants filled in), its inputs and the reference's result."""
    rng = np.random.default_rng(100 * index + epilogue)
    const_w, bias, addend, _ = EPILOGUES[epilogue]
    x_shape, w_shape, y_shape = _shapes(index)
    special = epilogue % 2 == 1 or index % 3 == 0
    x = _values(rng, x_shape, special)
    w = _values(rng, w_shape, special and index % 2 == 0)
    inputs = [x] if const_w else [x, w]
    if bias:
        inputs.append(_values(rng, (y_shape[1 if SHAPES[index][1] == "nchw" else -1],), False))
    if addend:
        inputs.append(_values(rng, y_shape, special))
    module = parse_module(_text(index, epilogue), "float_kernels")
    if const_w:
        (constant,) = [op for op in module.walk() if isinstance(op, arith.ConstantOp)]
        raw = BytesAttr(np.ascontiguousarray(w).tobytes())
        constant.properties["value"] = DenseIntOrFPElementsAttr(constant.result.type, raw)
    expected = run_function(module.clone(), inputs)[0]
    return module, inputs, expected


def assert_same_bits(got: np.ndarray, expected: np.ndarray) -> None:
    """Equal as float32 bit patterns, except that any NaN matches any NaN."""
    assert got.dtype == expected.dtype == np.float32 and got.shape == expected.shape
    nan = np.isnan(expected)
    assert np.array_equal(np.isnan(got), nan)
    bad = np.flatnonzero((got.view(np.uint32) != expected.view(np.uint32)) & ~nan)
    first = bad[0] if bad.size else 0
    assert bad.size == 0, f"{bad.size} differ, e.g. {got.flat[first]!r} vs {expected.flat[first]!r}"


def _default_tier(index: int, flags_id: str) -> bool:
    """Each shape with two epilogues under the default flags, a third under STRICT."""
    shape, epilogue = CASES[index]
    offsets = (0, 2) if flags_id == "default" else (1,)
    return any(epilogue == (shape + k) % len(EPILOGUES) for k in offsets)


def _params() -> list:
    params = []
    for index, (shape, epilogue) in enumerate(CASES):
        for flags_id, flags in (("default", None), ("strict", STRICT)):
            marks = [] if _default_tier(index, flags_id) else [pytest.mark.slow]
            if flags is not None:
                marks.append(pins_flags)
            case_id = f"{shape}-{epilogue}-{flags_id}"
            params.append(pytest.param(shape, epilogue, flags, marks=marks, id=case_id))
    return params


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the reference on NaN, inf and overflow
@pytest.mark.parametrize(("shape", "epilogue", "flags"), _params())
def test_float_conv_and_dot_bit_exact(shape: int, epilogue: int, flags, monkeypatch) -> None:
    """With -march=native (AVX2 where the host has it) and with the portable C (-Werror); every
    loop that may run in parallel does, on as many threads as the host has; the weights of
    every other shape are prefetched (as ResNet's large layers are)."""
    monkeypatch.setattr("codegen.families.float_gemm.PREFETCH_BYTES", 0 if shape % 2 else 1 << 40)
    monkeypatch.setattr("codegen.threads.PARALLEL_MACS", 0 if shape % 2 else 1 << 40)
    monkeypatch.setattr("codegen.threads.PARALLEL_ELEMENTS", 0 if shape % 2 else 1 << 40)
    module, inputs, expected = _case(shape, epilogue)
    compiled = compile_module(module.clone(), flags=flags)
    assert ("float32 GEMM" in compiled.c_source) == (expected.size > 0)  # nothing to write: none
    (got,) = compiled(*inputs)
    assert_same_bits(got, expected)
    (again,) = compiled(*inputs)  # the scratch (padded copy, partial sums) reused
    assert_same_bits(again, expected)


def test_float_panels_layout() -> None:
    """Constant weights are packed [group][16 channels][k][16], taps in (c, kh, kw) order."""
    from codegen.packing import float_panels

    w = np.arange(2 * 3 * 2 * 2, dtype=F32).reshape(2, 3, 2, 2)  # O, C, KH, KW
    panels = float_panels(w, "nchw", 1, 16).reshape(1, 1, 12, 16)
    assert np.array_equal(panels[0, 0, :, :2], w.reshape(2, 12).T)
    assert not panels[0, 0, :, 2:].any()
    nhwc = float_panels(w.transpose(0, 2, 3, 1), "nhwc", 1, 16)
    assert np.array_equal(nhwc, panels.ravel())
