"""Float Conv, MatMul, Gemm and pools reduce as ONNX Runtime does (qdialect/float_sum.py).

ONNX Runtime runs each float model as its calibrator does (one intra-op thread, no graph
optimizations, so MLAS's own Conv and GEMM kernels); the reference interpreter and the compiled
kernel must both give its float32 outputs bit for bit: MLAS's FMA blocks of 128, 256 or more
taps, the one-row kernel's groups of four for a depthwise filter, Gemm's sum that starts
from its bias, and the two maxima of MaxPool's kernels, which NaN tells apart.
"""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from qdialect.onnx_import import import_onnx  # noqa: E402
from runtime.compiled import compile_module  # noqa: E402
from runtime.reference import run_function  # noqa: E402


def model_of(nodes, inputs: dict[str, np.ndarray], weights: dict[str, np.ndarray], opset: int = 13):
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(k, TensorProto.FLOAT, v.shape) for k, v in inputs.items()],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(v, k) for k, v in weights.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)


def ort_float(model, feeds: dict[str, np.ndarray]) -> np.ndarray:
    """ONNX Runtime's outputs as its calibrator computes them."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    return session.run(None, feeds)[0]


def bits(y: np.ndarray) -> list:
    """y's bit patterns, every NaN as one: a NaN's sign and payload are no part of the result
    (x86 makes -NaN of inf - inf, numpy +NaN)."""
    return np.where(np.isnan(y), np.float32(np.nan), y).view(np.int32).tolist()


def check(model, feeds: dict[str, np.ndarray]) -> None:
    expected = ort_float(model, feeds)
    module = import_onnx(model)
    (reference,) = run_function(module, feeds)
    assert bits(reference) == bits(expected)
    (compiled,) = compile_module(module)(**feeds)
    assert bits(compiled) == bits(expected)


# (batch, channels, filters, size, kernel, pad, stride, groups): blocks of 128 (N >= K and
# 14 x 14 against K = 576), 256 and 512 (7 x 7 and 2 x 2 outputs), a 1 x 1 GEMM on the input,
# more filters than pixels, a 7 x 7 stem, depthwise 3 x 3 and 5 x 5 (groups of four), two
# filters per group, and a batch of two
CONVS = [
    (1, 64, 32, 14, 3, 1, 1, 1),
    (1, 160, 16, 7, 3, 1, 1, 1),
    (1, 96, 8, 4, 3, 0, 1, 1),
    (1, 200, 24, 8, 1, 0, 1, 1),
    (1, 48, 40, 3, 3, 1, 1, 1),
    (1, 3, 16, 20, 7, 3, 2, 1),
    (1, 24, 24, 10, 3, 1, 1, 24),
    (1, 16, 16, 9, 5, 2, 2, 16),
    (1, 16, 32, 6, 3, 1, 1, 16),
    (2, 40, 16, 6, 3, 1, 1, 1),
]


@pytest.mark.parametrize("case", CONVS, ids=str)
def test_conv_sums_as_onnxruntime(case) -> None:
    n, c, m, size, k, pad, stride, groups = case
    rng = np.random.default_rng(sum(case))
    x = rng.standard_normal((n, c, size, size)).astype(np.float32)
    w = (rng.standard_normal((m, c // groups, k, k)) * 0.1).astype(np.float32)
    b = rng.standard_normal(m).astype(np.float32)
    node = helper.make_node(
        "Conv", ["x", "w", "b"], ["y"], pads=[pad] * 4, strides=[stride] * 2, group=groups
    )
    check(model_of([node], {"x": x}, {"w": w, "b": b}), {"x": x})


# (rows, K, N): one block, two of 256 and a partial third, a single row, a batched lhs
@pytest.mark.parametrize("shape", [(5, 200, 24), (16, 700, 40), (1, 300, 20), (2, 3, 260, 17)])
def test_matmul_by_a_weight_sums_in_blocks_of_256(shape) -> None:
    rng = np.random.default_rng(len(shape) + shape[-1])
    *lhs, k, n = shape
    x = rng.standard_normal((*lhs, k)).astype(np.float32)
    w = (rng.standard_normal((k, n)) * 0.1).astype(np.float32)
    check(model_of([helper.make_node("MatMul", ["x", "w"], ["y"])], {"x": x}, {"w": w}), {"x": x})


@pytest.mark.parametrize(("rows", "trans_b", "bias"), [(1, 1, True), (6, 0, True), (3, 1, False)])
def test_gemm_starts_from_its_bias(rows: int, trans_b: int, bias: bool) -> None:
    rng = np.random.default_rng(rows)
    k, n = 600, 30
    x = rng.standard_normal((rows, k)).astype(np.float32)
    w = (rng.standard_normal((n, k) if trans_b else (k, n)) * 0.1).astype(np.float32)
    weights = {"w": w} | ({"c": rng.standard_normal(n).astype(np.float32)} if bias else {})
    node = helper.make_node("Gemm", ["x", "w", *(["c"] if bias else [])], ["y"], transB=trans_b)
    check(model_of([node], {"x": x}, weights), {"x": x})


# (rows, K, alpha, beta, C, B an activation): the first block scaled or fused into beta·C,
# both K blocks of a weight, the one-row and one-column kernels left (alpha or beta other than
# 1), C dropped (beta 0), a C of [1, N] and of one value, K = 0 (C unscaled, as ORT leaves it)
GEMM_SCALES = [
    (4, 600, 2.0, 0.5, (30,), False),
    (1, 600, 1.0, 0.25, (30,), False),
    (1, 300, 0.5, 1.0, (1, 30), True),
    (5, 300, 1.0, 3.0, (30,), True),
    (3, 70, -1.5, 0.0, (30,), False),
    (2, 70, 0.75, 2.0, (), False),
    (3, 0, 2.0, 0.5, (30,), False),
]


@pytest.mark.parametrize("case", GEMM_SCALES, ids=str)
def test_gemm_alpha_and_beta_are_onnxruntimes(case) -> None:
    """Y = C·beta (one multiply), then each K block's sum fma(acc, alpha, Y), as MLAS's
    MlasSgemmOperation computes with ORT's Gemm kernel."""
    rows, k, alpha, beta, c_shape, activation_b = case
    rng = np.random.default_rng(rows + k)
    x = rng.standard_normal((rows, k)).astype(np.float32)
    w = (rng.standard_normal((30, k)) * 0.1).astype(np.float32)
    c = rng.standard_normal(c_shape).astype(np.float32)
    node = helper.make_node("Gemm", ["x", "w", "c"], ["y"], transB=1, alpha=alpha, beta=beta)
    inputs = {"x": x, "w": w} if activation_b else {"x": x}
    if k == 0:  # (no graph input has an empty dimension: C is the input)
        inputs = {"c": c}
    weights = {k: v for k, v in {"x": x, "w": w, "c": c}.items() if k not in inputs}
    check(model_of([node], inputs, weights), inputs)


# (rows, K, N) of a product of two activations: MlasSgemmOperation's stride for N (512 for 20
# columns against K = 300), the one-row kernel for one row
@pytest.mark.parametrize("shape", [(8, 300, 20), (1, 150, 24), (40, 130, 200)])
def test_matmul_of_two_activations(shape) -> None:
    m, k, n = shape
    rng = np.random.default_rng(m + k + n)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    check(
        model_of([helper.make_node("MatMul", ["a", "b"], ["y"])], {"a": a, "b": b}, {}),
        {"a": a, "b": b},
    )


# (batch, rows, K, N) of a batched product of two activations (attention's probs x V): each
# batch element is MLAS's GEMM, its K stride from N (256 for 64 columns against K = 197, a
# ViT-B/16's sequence), the one-row and one-column kernels for one row or column
@pytest.mark.parametrize(
    "shape", [(12, 197, 197, 64), (3, 1, 150, 24), (2, 9, 40, 1), (4, 30, 300, 20)]
)
def test_batched_matmul_of_two_activations(shape) -> None:
    p, m, k, n = shape
    rng = np.random.default_rng(p + m + k + n)
    a = rng.random((1, p, m, k)).astype(np.float32)
    b = rng.standard_normal((1, p, k, n)).astype(np.float32)
    check(
        model_of([helper.make_node("MatMul", ["a", "b"], ["y"])], {"a": a, "b": b}, {}),
        {"a": a, "b": b},
    )


# (batch, rows, K, N) of `[M, K] x [P, K, N]`: a GEMM of N columns per batch element (the
# K stride of 24 columns, not of 72; the one-column and one-row kernels)
@pytest.mark.parametrize("shape", [(3, 5, 150, 24), (2, 4, 40, 1), (4, 1, 33, 7)])
def test_unbatched_times_batched_matmul_of_two_activations(shape) -> None:
    p, m, k, n = shape
    rng = np.random.default_rng(p * m * k * n)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((p, k, n)).astype(np.float32)
    check(
        model_of([helper.make_node("MatMul", ["a", "b"], ["y"])], {"a": a, "b": b}, {}),
        {"a": a, "b": b},
    )


# (shape, kernel, stride, pad, count_include_pad): MLAS's vector kernel (columns first) with and
# without padding, stride 2 and include-pad, the generic kernel (stride 3: row-major), a 7 x 7
# window; and global pools (four lanes, then the elements left over)
POOLS = [
    ((1, 4, 12, 12), 2, 2, 0, 0),
    ((1, 4, 11, 13), 3, 1, 1, 0),
    ((1, 4, 11, 13), 3, 2, 1, 1),
    ((1, 2, 9, 9), 3, 3, 0, 0),
    ((1, 2, 14, 14), 7, 1, 3, 0),
]


@pytest.mark.parametrize("case", POOLS, ids=str)
def test_average_pool_sums_as_onnxruntime(case) -> None:
    shape, k, stride, pad, include = case
    x = (np.random.default_rng(k * 10 + stride).standard_normal(shape) * 10).astype(np.float32)
    node = helper.make_node(
        "AveragePool", ["x"], ["y"], kernel_shape=[k, k], strides=[stride] * 2, pads=[pad] * 4,
        count_include_pad=include,
    )  # fmt: skip
    check(model_of([node], {"x": x}, {}), {"x": x})


# (kernel, strides, dilations, pads, count_include_pad) at opsets 19 and 22, where ORT's
# AveragePool is its own loop (row-major taps), not MLAS's: the windows MLAS's vector kernel
# would sum columns first, dilations (new in opset 19), padding with and without the count
OPSET_19_POOLS = [
    ([2, 2], [1, 1], [1, 1], [0, 0, 0, 0], 0),
    ([3, 3], [2, 1], [1, 1], [1, 0, 2, 1], 1),
    ([3, 3], [2, 2], [2, 2], [0, 0, 0, 0], 0),
    ([3, 2], [1, 2], [1, 3], [1, 1, 1, 1], 0),
]


@pytest.mark.parametrize("opset", [19, 22])
@pytest.mark.parametrize("case", OPSET_19_POOLS, ids=str)
def test_average_pool_of_opset_19_sums_as_onnxruntime(case, opset: int) -> None:
    kernel, strides, dilations, pads, include = case
    x = (np.random.default_rng(sum(kernel)).standard_normal((2, 3, 9, 11)) * 10).astype(np.float32)
    node = helper.make_node(
        "AveragePool", ["x"], ["y"], kernel_shape=kernel, strides=strides, dilations=dilations,
        pads=pads, count_include_pad=include,
    )  # fmt: skip
    check(model_of([node], {"x": x}, {}, opset), {"x": x})


@pytest.mark.parametrize("shape", [(1, 8, 7, 7), (1, 4, 13, 9), (2, 3, 2, 2)], ids=str)
def test_global_average_pool_sums_as_onnxruntime(shape) -> None:
    x = (np.random.default_rng(shape[2]).standard_normal(shape) * 10).astype(np.float32)
    check(model_of([helper.make_node("GlobalAveragePool", ["x"], ["y"])], {"x": x}, {}), {"x": x})


SPECIAL = np.array([np.nan, 0.0, -0.0, np.inf, -np.inf], np.float32)


def special_values(shape, seed: int) -> np.ndarray:
    """Normals with a third of them NaN, signed zeros and infinities, where the maxima of
    MLAS's kernels part ways; the first image's last channel all -inf (MLAS pads with
    -FLT_MAX, which then wins)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    mask = rng.random(shape) < 0.35
    x[mask] = rng.choice(SPECIAL, int(mask.sum()))
    x[0, -1] = -np.inf
    return x


# (shape, kernel, stride, pads, dilation, ceil_mode): MLAS's vector kernel (columns first; the
# last W mod 4 columns by its scalar tail) at strides 1 and 2 with padding, its generic kernel
# (stride 3), ONNX Runtime's own dilated loop, a window as large as the image (MLAS's global
# kernel); with ceil_mode, GoogLeNet's 3x3 stride-2 pools (the last window hangs past the
# input), a window that would start in the padding (ONNX Runtime drops it), a dilated one
MAX_POOLS = [
    ((2, 3, 13, 14), 3, 2, (1, 1, 1, 1), 1, 0),
    ((1, 3, 11, 13), 3, 1, (1, 0, 1, 2), 1, 0),
    ((1, 2, 9, 9), 3, 3, (0, 0, 0, 0), 1, 0),
    ((1, 2, 9, 10), 2, 1, (1, 0, 0, 1), 2, 0),
    ((1, 3, 5, 5), 5, 1, (0, 0, 0, 0), 1, 0),
    ((1, 3, 10, 9), 3, 2, (0, 0, 0, 0), 1, 1),
    ((1, 2, 5, 5), 2, 3, (1, 1, 1, 1), 1, 1),
    ((1, 2, 4, 6), 2, 2, (1, 0, 1, 1), 2, 1),
]


@pytest.mark.parametrize("case", MAX_POOLS, ids=str)
def test_max_pool_reduces_as_onnxruntime(case) -> None:
    shape, k, stride, pads, dilation, ceil_mode = case
    x = special_values(shape, k * 10 + stride)
    node = helper.make_node(
        "MaxPool", ["x"], ["y"], kernel_shape=[k, k], strides=[stride] * 2, pads=list(pads),
        dilations=[dilation] * 2, ceil_mode=ceil_mode,
    )  # fmt: skip
    check(model_of([node], {"x": x}, {}), {"x": x})


@pytest.mark.parametrize("shape", [(1, 3, 7, 7), (2, 2, 3, 5)], ids=str)
def test_global_max_pool_reduces_as_onnxruntime(shape) -> None:
    x = special_values(shape, shape[2])
    check(model_of([helper.make_node("GlobalMaxPool", ["x"], ["y"])], {"x": x}, {}), {"x": x})


@pytest.mark.parametrize("conv", [False, True], ids=["relu", "conv_relu"])
def test_relu_passes_nan_and_negative_zero_on_as_onnxruntime(conv: bool) -> None:
    """ORT's Relu is `x < 0 ? 0 : x`: NaN and -0 pass (our conv epilogue fuses it)."""
    x = special_values((1, 3, 6, 7), 5)
    w = np.random.default_rng(6).standard_normal((4, 3, 3, 3)).astype(np.float32)
    w[0] = 0.0  # a filter of zeros: -0 products and sums where x holds -0
    nodes = [helper.make_node("Relu", ["c" if conv else "x"], ["y"])]
    if conv:
        nodes.insert(0, helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]))
    check(model_of(nodes, {"x": x}, {"w": w} if conv else {}), {"x": x})


@pytest.mark.parametrize("slope_shape", [(1,), (4, 1, 1), (7,)], ids=str)
def test_prelu_is_onnxruntimes(slope_shape) -> None:
    """ORT's PRelu is `x < 0 ? x * slope : x` (-0 and NaN pass on), the slope broadcast from
    the right; slopes negative, NaN and infinite too."""
    x = special_values((2, 4, 3, 7), 9)
    slope = np.random.default_rng(10).standard_normal(slope_shape).astype(np.float32)
    slope.flat[0], slope.flat[-1] = np.float32(-0.5), np.float32(np.nan)
    if slope.size > 2:
        slope.flat[1] = np.float32(np.inf)
    node = helper.make_node("PRelu", ["x", "slope"], ["y"])
    check(model_of([node], {"x": x}, {"slope": slope}), {"x": x})


@pytest.mark.parametrize("bias_first", [True, False], ids=["add_bias_mm", "add_mm_bias"])
@pytest.mark.parametrize("op", ["MatMul", "Conv"])
def test_a_bias_add_on_either_side_is_onnxruntimes(op: str, bias_first: bool) -> None:
    """PyTorch writes a Linear as MatMul then Add(bias, product): the constant folds into the
    dot's bias on either side (it once fused as a per-channel addend the float kernels read
    as a whole tensor, out of bounds)."""
    rng = np.random.default_rng(12)
    if op == "MatMul":
        x = rng.standard_normal((1, 17, 16)).astype(np.float32)
        w, b = rng.standard_normal((16, 24)), rng.standard_normal(24)
    else:
        x = rng.standard_normal((1, 3, 8, 8)).astype(np.float32)
        w, b = rng.standard_normal((5, 3, 3, 3)), rng.standard_normal((5, 1, 1))
    weights = {"w": w.astype(np.float32), "b": b.astype(np.float32)}
    nodes = [
        helper.make_node(op, ["x", "w"], ["p"]),
        helper.make_node("Add", ["b", "p"] if bias_first else ["p", "b"], ["y"]),
    ]
    check(model_of(nodes, {"x": x}, weights), {"x": x})


# (input, weight): one input channel, the kernel as wide as the image, stride 1, no padding:
# MLAS reads the input as a transposed B (GemmDirect); one filter then sums in the one-row
# transposed-B kernel's eight lanes and tree over the pixels, several filters in SGEMM blocks
WIDE_KERNELS = [
    ((2, 1, 9, 2), (1, 1, 3, 2)),
    ((1, 1, 31, 7), (1, 1, 3, 7)),
    ((1, 1, 31, 7), (3, 1, 3, 7)),
]


@pytest.mark.parametrize("case", WIDE_KERNELS, ids=str)
def test_a_kernel_as_wide_as_the_image_sums_as_onnxruntime(case) -> None:
    x_shape, w_shape = case
    rng = np.random.default_rng(16)
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(w_shape).astype(np.float32)
    node = helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=list(w_shape[2:]))
    check(model_of([node], {"x": x}, {"w": w}), {"x": x})


@pytest.mark.parametrize("b_shape", [(1, 99, 5), (1, 1, 99, 7)], ids=str)
def test_a_constant_b_of_rank_three_is_not_prepacked(b_shape) -> None:
    """ORT prepacks only a 2-D constant B (GemmPackBFp32): a [1, K, N] one is summed as a
    product of activations (MLAS's SGEMM strides, not the prepacked blocks of 256)."""
    rng = np.random.default_rng(13)
    x = rng.standard_normal((1, 16, 99)).astype(np.float32)
    b = rng.standard_normal(b_shape).astype(np.float32)
    check(model_of([helper.make_node("MatMul", ["x", "b"], ["y"])], {"x": x}, {"b": b}), {"x": x})


@pytest.mark.parametrize("c_shape", [(), (1,), (1, 1)], ids=str)
def test_gemm_with_one_c_for_every_output_is_onnxruntimes(c_shape) -> None:
    """A Gemm's C of one value (an initializer) starts every sum, as ORT copies C into Y."""
    rng = np.random.default_rng(15)
    x = rng.standard_normal((3, 40)).astype(np.float32)
    weights = {
        "w": rng.standard_normal((40, 6)).astype(np.float32),
        "c": np.full(c_shape, 0.3, np.float32),
    }
    check(model_of([helper.make_node("Gemm", ["x", "w", "c"], ["y"])], {"x": x}, weights), {"x": x})


# (rows, K, N, C, alpha, beta, transB, C and B fed): a C of every output and of every row,
# constant or fed, blocked (K over two strides of the prepacked weight) or scaled; one column
# from a fed B (MLAS's one-column kernel adds C [M, 1] after its tree), read transposed (ldb is
# K: no one-column kernel, C starts the blocks) over more than one K stride; one row
MATRIX_C_GEMMS = [
    (6, 600, 24, (6, 24), 1.0, 1.0, 0, False),
    (7, 3000, 1, (7, 1), 1.0, 1.0, 1, True),
    *(
        pytest.param(case, marks=pytest.mark.slow)  # the default tier keeps the two above
        for case in [
            (6, 600, 24, (6, 1), 0.5, 2.0, 0, False),
            (5, 300, 12, (5, 12), 1.0, 1.0, 1, True),
            (7, 600, 1, (7, 1), 1.0, 1.0, 0, True),
            (7, 3000, 1, (1,), 1.0, 1.0, 1, True),
            (1, 40, 9, (1, 1), 0.5, 2.0, 0, True),
        ]
    ),
]


@pytest.mark.parametrize("case", MATRIX_C_GEMMS, ids=str)
def test_gemm_with_c_of_every_row_is_onnxruntimes(case) -> None:
    """ORT's Gemm copies C, broadcast to [M, N] (GemmBroadcastBias), into Y, then adds the
    products to it: a dot whose sums start from C of the result's shape."""
    rows, k, n, c_shape, alpha, beta, trans_b, fed = case
    rng = np.random.default_rng(rows + k + n)
    x = rng.standard_normal((rows, k)).astype(np.float32)
    w = (rng.standard_normal((n, k) if trans_b else (k, n)) * 0.1).astype(np.float32)
    c = rng.standard_normal(c_shape).astype(np.float32)
    node = helper.make_node("Gemm", ["x", "w", "c"], ["y"], transB=trans_b, alpha=alpha, beta=beta)
    inputs = {"x": x, "w": w, "c": c} if fed else {"x": x}
    weights = {} if fed else {"w": w, "c": c}
    check(model_of([node], inputs, weights), inputs)


@pytest.mark.parametrize("bounds", [["x", "lo"], ["x", "", "hi"]], ids=["min_only", "max_only"])
def test_clip_without_a_bound_stops_at_flt_max(bounds) -> None:
    """ONNX's missing Clip bound is ±FLT_MAX, not ±inf: an infinity clips to it."""
    x = special_values((2, 3, 4), 14)
    weights = {"lo": np.array(-1.0, np.float32), "hi": np.array(2.0, np.float32)}
    node = helper.make_node("Clip", bounds, ["y"])
    check(model_of([node], {"x": x}, weights), {"x": x})


# (filters, channels, size, kernel): a 1 x 1 output, MLAS's one-column kernel, its rows (the
# filters) reduced four, two and one at a time: a squeeze-and-excitation 1 x 1 conv on a pooled
# input, and a 3 x 3 conv on a 3 x 3 input
@pytest.mark.parametrize("case", [(7, 37, 1, 1), (30, 20, 1, 1), (6, 16, 3, 3)], ids=str)
def test_a_one_pixel_conv_sums_as_onnxruntime(case) -> None:
    m, c, size, k = case
    rng = np.random.default_rng(m * c)
    x = rng.standard_normal((2, c, size, size)).astype(np.float32)
    w = (rng.standard_normal((m, c, k, k)) * 0.1).astype(np.float32)
    b = rng.standard_normal(m).astype(np.float32)
    check(
        model_of([helper.make_node("Conv", ["x", "w", "b"], ["y"])], {"x": x}, {"w": w, "b": b}),
        {"x": x},
    )


def test_a_one_column_matmul_of_activations_sums_as_onnxruntime() -> None:
    rng = np.random.default_rng(4)
    a = rng.standard_normal((7, 45)).astype(np.float32)
    b = rng.standard_normal((45, 1)).astype(np.float32)
    check(
        model_of([helper.make_node("MatMul", ["a", "b"], ["y"])], {"a": a, "b": b}, {}),
        {"a": a, "b": b},
    )


# whole float models of benchmarks/model_zoo.py: a small ResNet-18 by default, a small MobileNetV2
# and the ImageNet-sized ones in the slow tier; every logit ORT's to the bit
WHOLE_MODELS = [
    ("resnet18", {"size": 64, "width": 16}),
    pytest.param("mobilenet_v2", {"size": 64}, marks=pytest.mark.slow),
    pytest.param("resnet18", {}, marks=pytest.mark.slow),
    pytest.param("mobilenet_v2", {}, marks=pytest.mark.slow),
]


@pytest.mark.parametrize(("name", "options"), WHOLE_MODELS, ids=str)
def test_whole_float_models_are_onnxruntimes(name: str, options: dict) -> None:
    from benchmarks.model_zoo import MODELS

    model = MODELS[name](np.random.default_rng(0), **options)
    model.ir_version = 8
    shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    check(model, {"x": x})
