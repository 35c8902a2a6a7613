"""Weight-only quantization: ORT's MatMulNBits quantizer reproduced byte for byte, MatMulNBits
models imported and run (reference == compiled bit for bit; both within the documented bound
of a float64 evaluation), and `mode: weight_only` in the quantizer.

The bound (qdialect/qnn/weight_only.py's order): a block sum of B fused steps has error at
most γ_B·Σ|x||q-zp| (γ_n = n·u/(1-n·u), u = 2^-24), its scaling and the sum over blocks add
at most γ_{nb+1} relative, so |y - y64| ≤ γ_{B+nb+1}·Σ_k |x_k|·|w_k| with w the dequantized
weight (exact reals) and nb = ⌈K/B⌉ blocks: what `bound` computes.
"""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnx_ir")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnxruntime.quantization.matmul_nbits_quantizer import (  # noqa: E402
    DefaultWeightOnlyQuantConfig,
    DefaultWeightOnlyQuantizer,
    MatMulNBitsQuantizer,
)

from benchmarks.woq import matmul_model  # noqa: E402
from qdialect.blockwise import from_matmul_nbits, quantize_blockwise, to_matmul_nbits  # noqa: E402
from qdialect.onnx_import import import_onnx  # noqa: E402
from qdialect.quant_config import ConfigError  # noqa: E402
from runtime.compiled import compile_module  # noqa: E402
from runtime.reference import run_function  # noqa: E402
from runtime.weight_only import WeightOnlyConfig, quantize_weight_only  # noqa: E402

from .onnxruntime_session import run_ort  # noqa: E402

U = 2.0**-24


def ort_quantized(model, block: int, symmetric: bool, bits: int = 4) -> onnx.ModelProto:
    config = DefaultWeightOnlyQuantConfig(block_size=block, is_symmetric=symmetric, bits=bits)
    quantizer = MatMulNBitsQuantizer(model, algo_config=config)
    quantizer.process()
    return quantizer.model.model


def weights(rng, k: int, n: int) -> np.ndarray:
    w = (rng.standard_normal((k, n)) * rng.uniform(0.05, 2.0, n)).astype(np.float32)
    w[:, 1] = np.abs(w[:, 1])  # all positive: the zero point clamps at 0
    w[:, 2] = 0.0  # an all-zero column: scale 0
    w[:, 3] = -np.abs(w[:, 3])
    return w


@pytest.mark.parametrize("bits", [4, 8])
@pytest.mark.parametrize("symmetric", [False, True])
@pytest.mark.parametrize("block", [16, 32, 128])
def test_blockwise_bytes_equal_ort(bits, symmetric, block):
    rng = np.random.default_rng(block + bits + symmetric)
    for k in (256, 129):  # whole blocks; a padded odd K
        w = weights(rng, k, 24)
        config = DefaultWeightOnlyQuantConfig(block_size=block, is_symmetric=symmetric, bits=bits)
        packed, scales, zps = DefaultWeightOnlyQuantizer(config).qbits_block_quant(w)
        ours = to_matmul_nbits(quantize_blockwise(w, bits, block, symmetric))
        assert ours.b.tobytes() == packed.tobytes()
        assert ours.scales.tobytes() == scales.tobytes()
        if not symmetric:
            assert ours.zero_points.tobytes() == zps.tobytes()


def bound(x: np.ndarray, wdq: np.ndarray, block: int) -> np.ndarray:
    n = block + -(-x.shape[1] // block) + 1
    gamma = n * U / (1 - n * U)
    return gamma * (np.abs(x.astype(np.float64)) @ np.abs(wdq))


@pytest.mark.parametrize("symmetric", [False, True])
@pytest.mark.parametrize(("block", "k"), [(32, 256), (128, 256), (32, 200)])
def test_matmul_nbits_models_run_within_bound(block, k, symmetric):
    """ORT's quantizer's models (K = 200: padded to whole blocks) run within the bound."""
    rng = np.random.default_rng(7 * block + symmetric + k)
    n, m = 72, 3
    model = ort_quantized(matmul_model(weights(rng, k, n), m), block, symmetric)
    assert [node.op_type for node in model.graph.node] == ["MatMulNBits"]
    x = rng.standard_normal((m, k)).astype(np.float32)
    (ref,) = run_function(import_onnx(model), [x])
    (compiled,) = compile_module(import_onnx(model))(x)
    assert compiled.tobytes() == ref.tobytes()
    init = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    b, s = (init[name] for name in model.graph.node[0].input[1:3])
    z = init[model.graph.node[0].input[3]] if len(model.graph.node[0].input) > 3 else None
    q, scales, zps = from_matmul_nbits(b, s, z, k, n, 4, block)
    wdq = (q - np.repeat(zps, block, 0)) * np.repeat(scales.astype(np.float64), block, 0)
    wdq = wdq[:k]  # the padding rows take no part
    exact = x.astype(np.float64) @ wdq
    assert np.all(np.abs(ref - exact) <= bound(x, wdq, block))


def nbits_model(w: np.ndarray, m: int, bits: int, block: int, bias: bool) -> onnx.ModelProto:
    """A `MatMulNBits` node written by hand from our block quantizer (asymmetric), with a bias
    input when asked."""
    k, n = w.shape
    t = to_matmul_nbits(quantize_blockwise(w, bits, block, False))
    values = {"B": t.b, "scales": t.scales.ravel(), "zp": t.zero_points.ravel()}
    if bias:
        values["bias"] = np.linspace(-1, 1, n, dtype=np.float32)
    inputs = ["x", "B", "scales", "zp", *(["", "bias"] if bias else [])]
    node = helper.make_node(
        "MatMulNBits", inputs, ["y"], domain="com.microsoft", K=k, N=n, bits=bits, block_size=block
    )
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [m, k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [m, n])],
        [numpy_helper.from_array(v, name) for name, v in values.items()],
    )  # fmt: skip
    opsets = [helper.make_opsetid("", 21), helper.make_opsetid("com.microsoft", 1)]
    return helper.make_model(graph, opset_imports=opsets, ir_version=10)


@pytest.mark.parametrize(
    ("bits", "block", "k", "m", "bias"),
    [
        (4, 32, 200, 1, True),  # GEMV, K stopping inside the last block
        (4, 32, 200, 130, False),  # two row chunks, a remainder of the 6-row register tile
        (8, 16, 200, 7, True),
        (4, 512, 300, 1, False),  # one block past K, longer than the decode chunk
        (4, 512, 300, 13, True),
        (8, 512, 300, 7, False),
    ],
)
def test_compiled_equals_reference(bits, block, k, m, bias):
    """Every path of woq.c.j2 (one row / several, partial blocks, tails) bit for bit."""
    rng = np.random.default_rng(k + m + bits)
    model = nbits_model(weights(rng, k, 40), m, bits, block, bias)
    x = rng.standard_normal((m, k)).astype(np.float32)
    (ref,) = run_function(import_onnx(model), [x])
    (compiled,) = compile_module(import_onnx(model))(x)
    assert compiled.tobytes() == ref.tobytes()


WARNINGS = ["-ffp-contract=off", "-Wall", "-Wextra", "-Werror"]


@pytest.mark.pins_flags
@pytest.mark.parametrize("native", [False, True])
@pytest.mark.parametrize(("bits", "block", "k", "m"), [(4, 32, 200, 7), (8, 512, 300, 1)])
def test_strict_and_portable_builds(bits, block, k, m, native):
    """Warning-free with AVX2 (-march=native) and without it (the portable C path), and both
    equal to the reference."""
    rng = np.random.default_rng(k + m)
    model = nbits_model(weights(rng, k, 40), m, bits, block, True)
    x = rng.standard_normal((m, k)).astype(np.float32)
    (ref,) = run_function(import_onnx(model), [x])
    flags = ["-O2", *WARNINGS, *(["-march=native", "-fopenmp"] if native else [])]
    (compiled,) = compile_module(import_onnx(model), flags=flags)(x)
    assert compiled.tobytes() == ref.tobytes()


def weight_constant_of(module) -> tuple[bytes, object]:
    """(stored bytes, quantized type) of the one weight-only dot's weight."""
    (dot,) = [op for op in module.walk() if op.name == "qnn.weight_only_dot"]
    scast = dot.weight.owner
    return scast.input.owner.value.data.data, scast.result.type


@pytest.mark.parametrize(
    ("bits", "per_channel", "k"),
    [(4, False, 256), (4, False, 200), (8, False, 200), (8, True, 256)],
)
def test_weight_only_quantizer_matches_ort(bits, per_channel, k):
    """Our quantizer's weights equal ORT's quantizer's, byte for byte (K = 200 is padded to
    whole blocks of 32, as ORT pads it), and so do the results."""
    rng = np.random.default_rng(bits)
    n = 40
    w = weights(rng, k, n)
    model = matmul_model(w, 2)
    module = import_onnx(model, node_names=True)
    config = WeightOnlyConfig(bits=bits, block_size=32, per_channel=per_channel)
    assert quantize_weight_only(module, config) == (["mm"], [])
    block = k if per_channel else 32
    ort = ort_quantized(model, block, False, bits)
    init = {t.name: numpy_helper.to_array(t) for t in ort.graph.initializer}
    ours_nbits = to_matmul_nbits(quantize_blockwise(w, bits, block, False))
    assert init[ort.graph.node[0].input[1]].tobytes() == ours_nbits.b.tobytes()
    assert weight_constant_of(module) == weight_constant_of(import_onnx(ort))
    x = rng.standard_normal((2, k)).astype(np.float32)
    (ours,) = run_function(module, [x])
    (theirs,) = run_function(import_onnx(ort), [x])
    assert ours.tobytes() == theirs.tobytes()  # the same weights, scales and zero points
    (compiled,) = compile_module(module)(x)
    assert compiled.tobytes() == ours.tobytes()


def test_weight_only_quantizer_takes_a_transformers_3d_input():
    """A MatMul of [B, T, K] (torch's nn.Linear on a sequence), which ORT's quantizer makes a
    MatMulNBits too: ours runs it as the rows [B·T, K] and gives the shape back, equal to the
    reference on ORT's model and to ORT itself."""
    rng = np.random.default_rng(3)
    k, n = 96, 24
    w = weights(rng, k, n)
    model = matmul_model(w, 5)
    for info in (*model.graph.input, *model.graph.output):  # [5, d] -> [1, 5, d]
        info.type.tensor_type.shape.dim.insert(0, onnx.TensorShapeProto.Dimension(dim_value=1))
    module = import_onnx(model, node_names=True)
    assert quantize_weight_only(module, WeightOnlyConfig(block_size=32)) == (["mm"], [])
    theirs = ort_quantized(model, 32, False)
    x = rng.standard_normal((1, 5, k)).astype(np.float32)
    (reference,) = run_function(import_onnx(theirs), [x])
    (compiled,) = compile_module(module)(x)
    assert compiled.shape == (1, 5, n) and compiled.tobytes() == reference.tobytes()
    (ort_out,) = run_ort(theirs, {"x": x})  # (its kernel sums in another order)
    np.testing.assert_allclose(compiled, ort_out, rtol=1e-5, atol=1e-4)


def test_weight_only_config_refuses_a_string_for_a_flag():
    with pytest.raises(ConfigError, match=r"'is_symmetric' must be true or false, got 'false'"):
        WeightOnlyConfig.from_dict({"mode": "weight_only", "is_symmetric": "false"})


def test_matmul_nbits_refusals():
    model = ort_quantized(matmul_model(weights(np.random.default_rng(0), 64, 8), 1), 32, False)
    (bits,) = [a for a in model.graph.node[0].attribute if a.name == "bits"]
    bits.i = 3
    with pytest.raises(Exception, match=r"\(MatMulNBits\): bits = 3 is not imported"):
        import_onnx(model)
