"""Observation kernels: the reference rules against their sources (numpy's nan-reductions and
np.histogram, torch.histc), and the compiled qnn.observe / qnn.histogram against the reference,
bit for bit, on random and adversarial data (NaN, ±inf, subnormals, signed zeros, values on
the edges, ties at the maximum), with the SIMD path and its tails (default flags) and the
portable C path (STRICT: no -march=native, warnings are errors)."""

from __future__ import annotations

import numpy as np
import pytest

from qdialect.calibration.histogram import count_edges, count_linear
from runtime.compiled import compile_module
from runtime.reference import run_function
from runtime.reference.kernels import extremes

from .test_compiled import FLAG_VARIANTS, pins_flags

TINY = np.float32(1e-45)  # the smallest subnormal
INF = np.float32(np.inf)


def adversarial(rng: np.random.Generator, size: int) -> np.ndarray:
    """Normal values of some scale with NaN, ±inf, subnormals and signed zeros among them."""
    x = (rng.standard_normal(size) * rng.choice([1e-3, 1.0, 1e3])).astype(np.float32)
    return placed(rng, x, np.array([np.nan, INF, -INF, TINY, -TINY, 0.0, -0.0], np.float32))


def placed(rng: np.random.Generator, x: np.ndarray, values: np.ndarray) -> np.ndarray:
    """`x` with `values` written at random places (as many as fit)."""
    x = x.copy()
    picks = rng.permutation(x.size)[: values.size]
    x[picks] = values[: picks.size]
    return x


def on_edges(rng: np.random.Generator, x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """`x` with values exactly on the edges (and their negatives), and ties at the top one."""
    return placed(rng, x, np.concatenate([edges, edges[-1:].repeat(3), -edges]))


# ----------------------------------------------------------------------------- the reference


@pytest.mark.parametrize("seed", range(20))
def test_extremes_are_numpys_nan_reductions(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = adversarial(rng, int(rng.integers(1, 300)))
    expected = [np.nanmin(x), np.nanmax(x), np.nanmin(np.abs(x))]
    assert np.array_equal(extremes(x)[:3], np.array(expected, np.float32))


def test_extremes_of_nan_empty_and_signed_zeros() -> None:
    nan5 = np.full(5, np.nan, np.float32)
    assert np.array_equal(extremes(np.full(5, np.nan, np.float32)), nan5, equal_nan=True)
    assert np.array_equal(extremes(np.zeros((2, 0), np.float32)), np.zeros(5, np.float32))
    zeros = extremes(np.array([-0.0, 0.0, -0.0], np.float32))
    assert zeros[:3].tobytes() == np.zeros(3, np.float32).tobytes()  # +0.0, bit for bit
    assert zeros[3:].tobytes() == np.full(2, -0.0, np.float32).tobytes()  # ORT keeps the first


def ort_reductions(shape: tuple[int, ...]):
    """ONNX Runtime's ReduceMin and ReduceMax over every axis, as its MinMax calibrator's
    augmented graph runs them (no graph optimizations, one thread)."""
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper

    sessions = []
    for op in ("ReduceMin", "ReduceMax"):
        graph = helper.make_graph(
            [helper.make_node(op, ["x"], ["y"], keepdims=0)],
            "g",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 9
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        options.intra_op_num_threads = 1
        sessions.append(
            ort.InferenceSession(
                model.SerializeToString(), options, providers=["CPUExecutionProvider"]
            )
        )
    return [lambda x, s=s: np.float32(s.run(None, {"x": x})[0]) for s in sessions]


def sparse_specials(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Normals (or their magnitudes) with NaN and zeros of both signs here and there: where
    Eigen's reduction order shows."""
    x = rng.standard_normal(shape).astype(np.float32)
    if rng.random() < 0.5:
        x = np.abs(x) * rng.choice(np.array([1, -1], np.float32))
    zeros = rng.random(shape) < 0.3
    x[zeros] = rng.choice(np.array([0.0, -0.0], np.float32), int(zeros.sum()))
    nans = rng.random(shape) < rng.choice([0.0, 0.05, 0.3])
    x[nans] = np.nan
    return x


@pytest.mark.parametrize("shape", [(1,), (3,), (5,), (8,), (13,), (24,), (67,), (2, 3, 7)], ids=str)
def test_reductions_are_onnxruntimes(shape) -> None:
    """The ReduceMin/ReduceMax extremes are ONNX Runtime's bit for bit (NaN as NaN), NaN and
    signed zeros included, in the reference and compiled."""
    reduce_min, reduce_max = ort_reductions(shape)
    rng = np.random.default_rng(len(shape) * 100 + shape[-1])
    samples = [sparse_specials(rng, shape) for _ in range(40)]
    fn = compile_module(
        program(
            [shape],
            [(0, "qnn.observe {x} : " + tensor(shape) + " -> tensor<5xf32>", "tensor<5xf32>")],
        )
    )
    for x in samples:
        expected = np.array([reduce_min(x), reduce_max(x)], np.float32)
        for got in (extremes(x)[3:], fn(x)[0][3:]):
            assert np.array_equal(
                np.where(np.isnan(got), np.float32(np.nan), got).view(np.int32),
                np.where(np.isnan(expected), np.float32(np.nan), expected).view(np.int32),
            ), (x, got, expected)


def edges_of(x: np.ndarray, bins: int) -> np.ndarray:
    """np.histogram's own edges for x's finite range (what ONNX Runtime's collector gets)."""
    finite = x[np.isfinite(x)]
    return np.histogram(finite, bins, range=(finite.min(), finite.max()))[1]


@pytest.mark.parametrize("seed", range(30))
def test_count_edges_is_np_histogram(seed: int) -> None:
    rng = np.random.default_rng(seed)
    bins = int(rng.choice([1, 2, 3, 7, 128, 2048]))
    x = adversarial(rng, int(rng.integers(1, 4000)))
    edges = edges_of(x, bins)
    assert edges.dtype == np.float32
    x = on_edges(rng, x, edges)
    lo, hi = edges[0], edges[-1]
    assert np.array_equal(count_edges(x, edges), np.histogram(x, bins, range=(lo, hi))[0])
    assert np.array_equal(count_edges(x, edges), np.histogram(x, edges)[0])
    magnitude = np.abs(x)
    assert np.array_equal(count_edges(x, edges, True), np.histogram(magnitude, edges)[0])


def test_count_edges_with_uneven_and_repeated_edges() -> None:
    edges = np.array([-1.0, 0.0, 0.0, 0.5, 4.0, 4.0], np.float32)
    x = np.array([-1.0, -0.5, 0.0, 0.25, 0.5, 3.9, 4.0, 4.0, 5.0, np.nan, -INF], np.float32)
    assert count_edges(x, edges).tolist() == [2, 0, 2, 2, 2]
    assert np.array_equal(count_edges(x, edges), np.histogram(x, edges)[0])


@pytest.mark.parametrize("seed", range(30))
def test_count_linear_is_torch_histc(seed: int) -> None:
    torch = pytest.importorskip("torch", reason="torch.histc is the linear rule's source")
    rng = np.random.default_rng(seed)
    bins = int(rng.choice([1, 2, 3, 7, 100, 2048]))
    x = adversarial(rng, int(rng.integers(1, 4000)))
    finite = x[np.isfinite(x)]
    lo, hi = finite.min(), finite.max()
    x = on_edges(rng, x, np.linspace(lo, hi, bins + 1, dtype=np.float32))
    expected = torch.histc(torch.from_numpy(x), bins, float(lo), float(hi)).numpy()
    assert np.array_equal(count_linear(x, lo, hi, bins), expected.astype(np.int64))


# ----------------------------------------------------------------------------- compiled


def tensor(shape: tuple[int, ...]) -> str:
    return f"tensor<{'x'.join(map(str, shape))}xf32>"


def program(shapes: list[tuple[int, ...]], ops: list[tuple[int, str, str]]) -> str:
    """A function of one argument per shape and one result per op: (argument, op text with
    `{x}` for its operand, result type)."""
    args = ", ".join(f"%x{i}: {tensor(s)}" for i, s in enumerate(shapes))
    results = ", ".join(t for _, _, t in ops)
    lines = [f"  %r{j} = {text.format(x=f'%x{i}')}" for j, (i, text, _) in enumerate(ops)]
    returned = ", ".join(f"%r{j}" for j in range(len(ops)))
    return (
        f"func.func @f({args}) -> ({results}) {{\n" + "\n".join(lines) + "\n"
        f"  func.return {returned} : {results}\n}}"
    )


def histogram_op(size: int, edges: np.ndarray, linear: bool, absolute: bool) -> str:
    bins = edges.size - 1
    given = edges[[0, -1]] if linear else edges
    listed = ", ".join(repr(float(e)) for e in given)
    attrs = f"edges = dense<[{listed}]> : tensor<{given.size}xf32>"
    attrs += ', rule = "linear"' if linear else ""
    attrs += ", absolute" if absolute else ""
    return f"qnn.histogram {{x}} {{{{{attrs}}}}} : tensor<{size}xf32> -> tensor<{bins}xi64>"


def same(text: str, inputs: list[np.ndarray], flags) -> None:
    expected = run_function(text, inputs)
    fn = compile_module(text, flags=flags)
    for e, g in zip(expected, fn(*inputs), strict=True):
        assert g.dtype == e.dtype and g.tobytes() == e.tobytes(), fn.c_source


def flag_cases():
    return [
        pytest.param(flags, marks=[pins_flags] if flags else [], id=name)
        for name, flags in FLAG_VARIANTS.items()
    ]


# sizes around the 32-value SIMD step, and shapes of rank 1 to 4
SHAPES = [(1,), (7,), (31,), (32,), (33,), (65,), (2, 3, 17), (1, 3, 16, 16), (0,)]


def observed_cases(rng: np.random.Generator, size: int) -> list[np.ndarray]:
    """Data for one tensor: adversarial, plain, all NaN, all -0.0, one number last."""
    lone = np.full(size, np.nan, np.float32)
    lone[-1:] = -INF  # the only number sits in the scalar tail
    return [
        adversarial(rng, size),
        rng.standard_normal(size).astype(np.float32),
        np.full(size, np.nan, np.float32),
        np.full(size, -0.0, np.float32),
        lone,
    ]


@pytest.mark.parametrize("flags", flag_cases())
def test_compiled_observe(flags) -> None:
    rng = np.random.default_rng(0)
    ops = [
        (i, "qnn.observe {x} : " + tensor(s) + " -> tensor<5xf32>", "tensor<5xf32>")
        for i, s in enumerate(SHAPES)
    ]
    text = program(SHAPES, ops)
    cases = [observed_cases(rng, int(np.prod(s))) for s in SHAPES]
    for case in zip(*cases, strict=True):
        same(text, [x.reshape(s) for x, s in zip(case, SHAPES, strict=True)], flags)


@pytest.mark.parametrize("flags", flag_cases())
@pytest.mark.parametrize("bins", [1, 3, 128, 2048])
def test_compiled_histogram(bins: int, flags) -> None:
    """Both rules, of x and of |x|, each with the edges numpy gives its values."""
    rng = np.random.default_rng(bins)
    x = adversarial(rng, 12000)  # room for 2 x 4101 values on edges, and the specials
    edges = {absolute: edges_of(np.abs(x) if absolute else x, bins) for absolute in (False, True)}
    x = on_edges(rng, on_edges(rng, x, edges[False]), edges[True])
    ops = [
        (0, histogram_op(x.size, edges[absolute], linear, absolute), f"tensor<{bins}xi64>")
        for linear in (False, True)
        for absolute in (False, True)
    ]
    same(program([x.shape], ops), [x], flags)


@pytest.mark.parametrize("flags", flag_cases())
def test_compiled_histogram_with_uneven_edges(flags) -> None:
    """Log-spaced and repeated edges: the search walks far from its linear guess."""
    rng = np.random.default_rng(7)
    edges = np.concatenate([[0.0], np.logspace(-6, 3, 40), [1e3]]).astype(np.float32)
    x = np.concatenate([on_edges(rng, adversarial(rng, 2000), edges), rng.random(500)])
    x = x.astype(np.float32)
    text = program([x.shape], [(0, histogram_op(x.size, edges, False, True), "tensor<41xi64>")])
    same(text, [x], flags)
    (counts,) = run_function(text, [x])
    assert np.array_equal(counts, np.histogram(np.abs(x), edges)[0])
