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
    assert np.array_equal(extremes(x), np.array(expected, np.float32))


def test_extremes_of_nan_empty_and_signed_zeros() -> None:
    nan3 = np.full(3, np.nan, np.float32)
    assert np.array_equal(extremes(np.full(5, np.nan, np.float32)), nan3, equal_nan=True)
    assert np.array_equal(extremes(np.zeros((2, 0), np.float32)), np.zeros(3, np.float32))
    zeros = extremes(np.array([-0.0, 0.0, -0.0], np.float32))
    assert zeros.tobytes() == np.zeros(3, np.float32).tobytes()  # +0.0, bit for bit


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
        (i, "qnn.observe {x} : " + tensor(s) + " -> tensor<3xf32>", "tensor<3xf32>")
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
