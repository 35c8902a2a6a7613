"""Graph-level fusion changes no bit: a conv/dot that absorbs the add after it (a per-channel
constant such as ORT's quantized bias Add, a residual on either side of the add) and the relu
after that computes, compiled, exactly what the reference interpreter computes on the unfused
module; with 1 and 2 threads; on odd sizes, so the AVX2 epilogue's tails run too."""

from __future__ import annotations

import numpy as np
import pytest
from xdsl.passes import PassPipeline

from qdialect.textio import make_context, parse_module
from rewrites.registry import PASSES
from runtime.compiled import compile_module
from runtime.reference import run_function

from .test_compiled import pins_flags
from .test_maddubs import NO_AVX512

U8 = "!quant.uniform<u8:f32, {s}:{z}>"
I8 = "!quant.uniform<i8:f32, {s}:{z}>"


def _ty(shape: list[int], elem: str) -> str:
    return "tensor<" + "x".join(map(str, shape)) + f"x{elem}>"


def _program(
    kind: str,
    layout: str,
    addend: str,
    first: bool,
    addend_elem: str,
    yt: str = U8.format(s=0.4, z=120),
    activation: str = "qnn.relu %s",
) -> str:
    """conv/dot (per-axis weights, bias) then add(conv, r) or add(r, conv), then the
    activation (relu unless given). addend: "full" (the result's shape) or "channel" (one value
    per output channel)."""
    o = 21
    xt, wt = U8.format(s=0.05, z=3), "!quant.uniform<i8:f32:{axis}, {{{pairs}}}>"
    ct = U8.format(s=0.3, z=131)
    if kind == "dot":
        x_shape, w_shape, y_shape, axis, attrs = [13, 17], [17, o], [13, o], 1, ""
    else:
        nchw = layout == "nchw"
        x_shape = [1, 5, 7, 9] if nchw else [1, 7, 9, 5]
        w_shape = [o, 5, 3, 3] if nchw else [o, 3, 3, 5]
        y_shape = [1, o, 7, 9] if nchw else [1, 7, 9, o]
        axis, attrs = 0, f' {{pads = array<i64: 1, 1, 1, 1>, layout = "{layout}"}}'
    pairs = ",".join(f"{0.01 + 0.003 * (i % 5)}:0" for i in range(o))
    wt = wt.format(axis=axis, pairs=pairs)
    r_shape = y_shape if addend == "full" else [o]
    rt = _ty(r_shape, addend_elem)
    op = "qnn.dot" if kind == "dot" else "qnn.conv2d"
    xy, cy, yy = _ty(x_shape, xt), _ty(y_shape, ct), _ty(y_shape, yt)
    operands = [("%c", cy), ("%r", rt)][:: -1 if first else 1]
    names, types = ", ".join(n for n, _ in operands), ", ".join(t for _, t in operands)
    return f"""func.func @main(%x: {xy}, %w: {_ty(w_shape, wt)}, %b: tensor<{o}xi32>, %r: {rt}) -> {yy} {{
  %c = {op} %x, %w bias(%b : tensor<{o}xi32>){attrs} : {xy}, {_ty(w_shape, wt)} -> {cy}
  %s = qnn.add {names} : {types} -> {yy}
  %y = {activation} : {yy} -> {yy}
  func.return %y : {yy}
}}
"""


def _inputs(text: str, seed: int) -> list[np.ndarray]:
    """Full-range stored values for every argument (bias: ordinary int32 values)."""
    rng = np.random.default_rng(seed)
    function = parse_module(text).body.block.first_op
    arrays = []
    for arg in function.args:
        shape = list(arg.type.get_shape())
        storage = str(arg.type.element_type)
        if storage == "i32":
            arrays.append(rng.integers(-20000, 20000, shape).astype(np.int32))
            continue
        dtype = np.uint8 if "<u8" in storage else np.int8
        info = np.iinfo(dtype)
        a = rng.integers(info.min, info.max, shape, endpoint=True).astype(dtype)
        a.flat[::5], a.flat[1::7] = info.min, info.max
        arrays.append(a)
    return arrays


def _fused_ops(text: str) -> list[str]:
    module = parse_module(text)
    PassPipeline.parse_spec(PASSES, "qnn-default").apply(make_context(), module)
    return [op.name for op in module.body.block.first_op.body.block.ops]


CLAMP = "qnn.clamp %s {min = -2.5 : f32, max = 9.0 : f32}"
CASES = [
    ("dot", "", "channel", False, U8.format(s=0.002, z=41)),
    ("dot", "", "channel", False, I8.format(s=0.002, z=-7)),
    ("dot", "", "full", True, U8.format(s=0.1, z=200)),
    ("conv", "nhwc", "channel", False, U8.format(s=0.02, z=9)),
    ("conv", "nhwc", "full", True, I8.format(s=0.1, z=-100)),
    ("conv", "nchw", "full", True, U8.format(s=0.1, z=200)),
    ("conv", "nchw", "full", False, U8.format(s=0.1, z=0)),
    # int8 results: the add's raw offsets, and a clamp whose bounds are inside the type's range
    ("conv", "nhwc", "full", False, U8.format(s=0.1, z=200), I8.format(s=0.2, z=-9), CLAMP),
    ("dot", "", "full", True, I8.format(s=0.1, z=17), I8.format(s=0.3, z=5), CLAMP),
]


# every case as written; after u8-to-i8 the cases with an int8 operand or result (raw offsets
# on both sides); without AVX-512 (the AVX2 loop) in the slow tier
RUNS = [
    pytest.param(case, False, id=f"{i}-" + "-".join(map(str, case[:4])))
    for i, case in enumerate(CASES)
]
RUNS += [pytest.param(CASES[i], True, id=f"{i}-retyped") for i in (1, 4, 7, 8)]


@pytest.mark.parametrize(
    "flags", [None, pytest.param(NO_AVX512, marks=[pins_flags, pytest.mark.slow])]
)
@pytest.mark.parametrize(("case", "retyped"), RUNS)
def test_fused_add_is_the_unfused_add_bit_for_bit(case, retyped, flags) -> None:
    """`retyped`: the fused module after `u8-to-i8`, whose fused adds round raw values shifted
    by 128 (raw_offsets). Without AVX-512 (NO_AVX512) 16 of the 21 channels run through the
    AVX2 loop instead of the 512-bit one."""
    text = _program(*case)
    assert _fused_ops(text) == [{"dot": "qnn.dot", "conv": "qnn.conv2d"}[case[0]], "func.return"]
    inputs = _inputs(text, seed=len(text))
    (expected,) = run_function(text, inputs)  # the module as written: conv, add, activation
    if retyped:
        module = parse_module(text)
        PassPipeline.parse_spec(PASSES, "qnn-default,u8-to-i8").apply(make_context(), module)
        text = str(module)
    compiled = compile_module(text, threads=1, flags=flags)
    (one,) = compiled(*inputs)
    compiled.set_threads(2)
    (two,) = compiled(*inputs)
    assert np.array_equal(one, expected), compiled.c_source
    assert np.array_equal(two, expected)


ADDS = [  # (a shape, b shape, a type, b type, result type)
    ([3, 37], [3, 37], U8.format(s=0.05, z=3), U8.format(s=0.1, z=200), U8.format(s=0.12, z=7)),
    ([5, 19], [19], I8.format(s=0.02, z=-9), U8.format(s=0.5, z=0), I8.format(s=0.3, z=4)),
    (
        [2, 3, 11],
        [3, 1],
        U8.format(s=0.07, z=255),
        I8.format(s=0.01, z=100),
        U8.format(s=0.04, z=0),
    ),
    (
        [1, 6, 5, 7],
        [1, 6, 5, 7],
        I8.format(s=0.3, z=-128),
        I8.format(s=0.3, z=127),
        I8.format(s=0.5, z=0),
    ),
]


@pytest.mark.parametrize("op", ["qnn.add", "qnn.mul"])
@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize("case", range(len(ADDS)))
def test_vector_qlinear_add_is_the_reference(op: str, case: int, parallel: bool, monkeypatch):
    """Tails of the AVX2 loop (QLinearAdd's and QLinearMul's), rows broadcast along and
    across, chunks split over threads."""
    from codegen import threads

    if parallel:  # every add above 16 elements parallel, in chunks of 8 (one vector) or less
        monkeypatch.setattr(threads, "PARALLEL_ELEMENTS", 16)
        monkeypatch.setattr(threads, "CONVERT_CHUNK", 8 + case)
    a_shape, b_shape, at, bt, yt = ADDS[case]
    y_shape = list(np.broadcast_shapes(a_shape, b_shape))
    ta, tb, ty = _ty(a_shape, at), _ty(b_shape, bt), _ty(y_shape, yt)
    text = f"""func.func @main(%a: {ta}, %b: {tb}) -> {ty} {{
  %y = {op} %a, %b : {ta}, {tb} -> {ty}
  func.return %y : {ty}
}}
"""
    inputs = _inputs(text, seed=case)
    (expected,) = run_function(text, inputs)
    compiled = compile_module(text, threads=1)
    (one,) = compiled(*inputs)
    compiled.set_threads(2)
    (two,) = compiled(*inputs)
    assert np.array_equal(one, expected), compiled.c_source
    assert np.array_equal(two, expected)


def _ort_ffn_block(folder) -> str:
    """One BERT FFN block (MatMul, Add bias, Relu, MatMul, Add bias, residual Add) quantized by
    ONNX Runtime's quantize_static without quant_pre_process, so the bias Adds stay separate
    quantized Adds after the MatMuls (QDQ, u8 activations, per-channel s8 weights)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    rng = np.random.default_rng(0)
    t, d, h = 5, 12, 20
    inits = []

    def const(name: str, a: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(a.astype(np.float32), name))
        return name

    steps = [
        ("MatMul", ["x", const("w1", rng.standard_normal((d, h)) * 0.3)], "h1"),
        ("Add", ["h1", const("b1", rng.standard_normal(h) * 0.1)], "h2"),
        ("Relu", ["h2"], "h3"),
        ("MatMul", ["h3", const("w2", rng.standard_normal((h, d)) * 0.3)], "h4"),
        ("Add", ["h4", const("b2", rng.standard_normal(d) * 0.1)], "h5"),
        ("Add", ["h5", "x"], "y"),
    ]
    nodes = [helper.make_node(op, ins, [out], name=out) for op, ins, out in steps]
    io = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [t, d]) for n in ("x", "y")]
    model = helper.make_model(
        helper.make_graph(nodes, "ffn", io[:1], io[1:], inits),
        opset_imports=[helper.make_opsetid("", 17)],
    )
    model.ir_version = 8
    onnx.save(model, folder / "ffn.onnx")
    batches = iter([{"x": rng.standard_normal((t, d)).astype(np.float32)} for _ in range(4)])

    class Reader(CalibrationDataReader):
        def get_next(self):
            return next(batches, None)

    target = folder / "ffn_qdq.onnx"
    quantize_static(
        str(folder / "ffn.onnx"), str(target), Reader(), quant_format=QuantFormat.QDQ,
        per_channel=True, reduce_range=True, activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
    )  # fmt: skip
    return str(target)


def test_ort_ffn_block_fuses_its_bias_adds_exactly(tmp_path) -> None:
    """2 qnn.dot, each with its bias Add as a per-column addend, and the residual add (the
    dot's single addend slot is taken) stays; the compiled module is the unfused one."""
    pytest.importorskip("onnxruntime.quantization")
    from xdsl.passes import PassPipeline

    from qdialect.onnx_import import import_onnx

    path = _ort_ffn_block(tmp_path)
    fused = import_onnx(path)
    PassPipeline.parse_spec(PASSES, "qnn-default").apply(make_context(), fused)
    ops = [op.name for op in fused.body.block.first_op.body.block.ops]
    assert (ops.count("qnn.dot"), ops.count("qnn.add")) == (2, 1)
    unfused = import_onnx(path)
    spec = "quant-to-qnn,fold-scaled-builders,fold-qdq"
    PassPipeline.parse_spec(PASSES, spec).apply(make_context(), unfused)
    ops = [op.name for op in unfused.body.block.first_op.body.block.ops]
    assert (ops.count("qnn.dot"), ops.count("qnn.add")) == (2, 3)
    x = np.random.default_rng(1).standard_normal((5, 12)).astype(np.float32) * 8  # saturates
    (expected,) = run_function(unfused, [x])
    (got,) = compile_module(fused, threads=1)(x)
    assert np.array_equal(got, expected)


POOLS = [  # (layout, x shape in that layout, stored type, kernel, strides, pads, dilations)
    ("nchw", [1, 3, 9, 37], "u8", (3, 3), (2, 2), (1, 1, 1, 1), (1, 1)),
    ("nchw", [2, 2, 7, 70], "i8", (2, 3), (1, 2), (0, 2, 1, 0), (2, 1)),
    ("nhwc", [1, 9, 7, 70], "u8", (3, 3), (2, 2), (1, 1, 1, 1), (1, 1)),  # two vectors + tail
    ("nhwc", [2, 7, 9, 37], "i8", (2, 3), (1, 2), (0, 2, 1, 0), (2, 1)),
]


@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize("case", range(len(POOLS)))
def test_vector_max_pool_is_the_reference(case: int, parallel: bool, monkeypatch) -> None:
    """NCHW rows and NHWC channel vectors longer than one vector with tails, padding, dilation;
    split over two threads."""
    from codegen import threads

    if parallel:
        monkeypatch.setattr(threads, "PARALLEL_ELEMENTS", 16)
    layout, shape, storage, kernel, strides, pads, dilations = POOLS[case]
    n, c, h, w = shape if layout == "nchw" else (shape[0], shape[3], shape[1], shape[2])
    oh = (h + pads[0] + pads[2] - dilations[0] * (kernel[0] - 1) - 1) // strides[0] + 1
    ow = (w + pads[1] + pads[3] - dilations[1] * (kernel[1] - 1) - 1) // strides[1] + 1
    elem = (U8 if storage == "u8" else I8).format(s=0.1, z=3)
    y_shape = [n, c, oh, ow] if layout == "nchw" else [n, oh, ow, c]
    tx, ty = _ty(shape, elem), _ty(y_shape, elem)
    pairs = {"kernel": kernel, "strides": strides, "pads": pads, "dilations": dilations}
    attrs = ", ".join(f"{k} = array<i64: {', '.join(map(str, v))}>" for k, v in pairs.items())
    text = f"""func.func @main(%x: {tx}) -> {ty} {{
  %y = qnn.max_pool2d %x {{{attrs}, layout = "{layout}"}} : {tx} -> {ty}
  func.return %y : {ty}
}}
"""
    inputs = _inputs(text, seed=case)
    (expected,) = run_function(text, inputs)
    compiled = compile_module(text, threads=1)
    (one,) = compiled(*inputs)
    compiled.set_threads(2)
    (two,) = compiled(*inputs)
    assert "_mm256_max_ep" in compiled.c_source
    assert np.array_equal(one, expected), compiled.c_source
    assert np.array_equal(two, expected)


@pytest.mark.parametrize(
    ("a_shape", "b_shape"),
    [
        ([], [4, 64]),  # a constant on the left: GELU's `1 + tanh(·)`
        ([4, 1], [4, 64]),  # one lhs value per row
        ([1, 1, 1], [2, 4, 64]),
        ([4, 64], [4, 1]),  # one rhs value per row: no exchange
        ([1, 64], [4, 64]),  # rows broadcast, not the innermost axis: no exchange
        ([4, 1], [4, 1]),
    ],
)
def test_qlinear_add_exchanges_operands_as_onnxruntime_does(a_shape, b_shape) -> None:
    """ORT's QLinearAdd hands MLAS a span of rhs values against one lhs value as its "scalar
    B" form with the operands' roles exchanged (`arithmetic.qlinear_add_swaps`); with scales
    whose ratios nearly tie, the two orders of `fma(a, ra, fma(b, rb, k))` round apart. Every
    stored value on both sides, against ORT's kernel."""
    from onnx import TensorProto, helper, numpy_helper

    from qdialect.onnx_import import import_onnx
    from tests.numeric.onnxruntime_session import run_ort

    scales = {"sa": 0.003921569, "sb": 0.007843137, "sy": 0.007843138}
    inits = [numpy_helper.from_array(np.array(v, np.float32), k) for k, v in scales.items()]
    inits += [
        numpy_helper.from_array(np.array(z, np.uint8), k)
        for k, z in (("za", 0), ("zb", 127), ("zy", 0))
    ]
    node = helper.make_node(
        "QLinearAdd", ["a", "sa", "za", "b", "sb", "zb", "sy", "zy"], ["y"], domain="com.microsoft"
    )
    u8 = TensorProto.UINT8
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info(n, u8, s) for n, s in (("a", a_shape), ("b", b_shape))],
        [helper.make_tensor_value_info("y", u8, None)],
        inits,
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    model = helper.make_model(graph, opset_imports=opsets, ir_version=8)
    rng = np.random.default_rng(len(a_shape) + len(b_shape))
    a = rng.integers(0, 256, a_shape, dtype=np.uint8)
    b = (np.arange(int(np.prod(b_shape))) % 256).astype(np.uint8).reshape(b_shape)
    (theirs,) = run_ort(model, {"a": a, "b": b})
    module = import_onnx(model)
    (ours,) = compile_module(module, threads=1)(a, b)
    (reference,) = run_function(module, [a, b])
    assert np.array_equal(ours, theirs) and np.array_equal(reference, theirs)
