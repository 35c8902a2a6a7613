"""Einsum (`qdialect/onnx_import/einsum.py`): compiled and reference both equal ONNX Runtime's
CPU kernel bit for bit (one thread, unoptimized and optimized sessions alike) on matrix
products of every MLAS kernel shape (one row, one column, the packed FMA blocks with K past a
block), batched attention products, transposes, diagonals, traces, sums over one or all
axes, outer products, three operands contracted left to right, an ellipsis, implicit outputs,
and constant operands (which ORT's Einsum does not prepack); bad equations are refused with
one line naming the node and the fault."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from qdialect.onnx_import import OnnxImportError, import_onnx
from runtime.compiled import compile_module
from runtime.reference import run_function

from .onnxruntime_session import run_ort
from .test_onnx_backend_float_nodes import bits

CASES = [
    ("ij,jk->ik", [(5, 300), (300, 7)]),  # N = 7: one FMA chain (K blocks of 1024)
    ("ij,jk->ik", [(6, 700), (700, 40)]),  # N = 40: K blocks of 256
    ("ij,jk->ik", [(1, 40), (40, 9)]),  # M = 1: MLAS's one-row kernel, no FMA
    ("ij,jk->ik", [(6, 41), (41, 1)]),  # N = 1: its transposed one-row kernel
    ("bij,bjk->bik", [(3, 5, 20), (3, 20, 6)]),
    ("bij,jk->bik", [(2, 5, 300), (300, 40)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 7, 16), (2, 3, 9, 16)]),
    ("bhqk,bhkd->bhqd", [(2, 3, 7, 9), (2, 3, 9, 16)]),
    ("ij->ji", [(4, 5)]),
    ("ii->i", [(5, 5)]),
    ("ii", [(6, 6)]),  # implicit: the trace
    ("ba", [(3, 4)]),  # implicit: a transpose (letters in alphabetical order)
    ("ij->", [(7, 9)]),
    ("ij->i", [(7, 33)]),
    ("ij->j", [(37, 9)]),
    ("ijk->j", [(3, 11, 5)]),  # ReduceSum's FastReduceRKR
    ("i,i", [(37,), (37,)]),
    ("i,j->ij", [(5,), (6,)]),
    ("bij,bkj->bik", [(2, 5, 30), (2, 6, 30)]),
    ("ibj,jk->ibk", [(4, 3, 20), (20, 6)]),
    ("abc,cd,de->abe", [(2, 3, 10), (10, 11), (11, 4)]),
    ("...ij,...jk->...ik", [(2, 3, 4, 5), (2, 3, 5, 6)]),
    ("ij,jk", [(4, 20), (20, 5)]),
    ("ijk,ikl->jl", [(6, 5, 40), (6, 40, 7)]),  # two summed letters, i outer
    ("bn,anm,bm->ba", [(3, 10), (4, 10, 12), (3, 12)]),
    ("ij,ij->i", [(5, 33), (5, 33)]),
    ("ij,ij->ij", [(3, 4), (3, 4)]),
    ("ijk,jk->i", [(5, 6, 7), (6, 7)]),
    ("ij,k->ik", [(4, 9), (3,)]),  # j summed on its own first: ReduceSum's ones GEMM
    ("nchw,oc->nohw", [(1, 16, 5, 5), (8, 16)]),
    ("b i d, b j d -> b i j", [(1, 65, 64), (1, 70, 64)]),  # spaces
]


def einsum_model(equation: str, shapes, constants: bool) -> tuple[onnx.ModelProto, dict]:
    """One Einsum; `constants`: the operands after the first are initializers."""
    rng = np.random.default_rng(len(equation) + sum(map(sum, shapes)))
    arrays = {f"x{i}": rng.standard_normal(s).astype(np.float32) for i, s in enumerate(shapes)}
    fed = dict(list(arrays.items())[:1]) if constants else arrays
    initializers = {k: v for k, v in arrays.items() if k not in fed}
    node = helper.make_node("Einsum", list(arrays), ["y"], equation=equation)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info(k, TensorProto.FLOAT, v.shape) for k, v in fed.items()],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(v, k) for k, v in initializers.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    return model, fed


# the default tier: the MLAS kernel shapes, a batched product, a ReduceSum path, three
# operands and two summed letters, on fed operands; the slow tier every other form
DEFAULT_TIER = {"ij,jk->ik", "bhqd,bhkd->bhqk", "ijk->j", "abc,cd,de->abe", "ijk,ikl->jl"}
PARAMS = [
    pytest.param(
        equation,
        shapes,
        constants,
        id=f"{equation}-{'constants' if constants else 'fed'}",
        marks=[] if equation in DEFAULT_TIER and not constants else [pytest.mark.slow],
    )
    for equation, shapes in CASES
    for constants in ([False, True] if len(shapes) > 1 else [False])
]


@pytest.mark.parametrize(("equation", "shapes", "constants"), PARAMS)
def test_einsum_is_onnxruntimes(equation: str, shapes, constants: bool) -> None:
    model, feeds = einsum_model(equation, shapes, constants)
    module = import_onnx(model)
    (reference,) = run_function(module, feeds)
    (compiled,) = compile_module(module, threads=1)(**feeds)
    for level in ("ORT_DISABLE_ALL", "ORT_ENABLE_ALL"):
        (theirs,) = run_ort(model, feeds, level)
        assert bits(reference) == bits(theirs), level
    assert bits(compiled) == bits(reference)


@pytest.mark.parametrize(
    ("equation", "shapes", "message"),
    [
        ("ij,jk->ik", [(2, 3)], "equation has 2 input terms for 1 inputs"),
        ("ij->ij", [(2, 3, 4)], "input term #0 'ij' does not match the input's rank 3"),
        ("ij,jk->ik", [(2, 3), (4, 5)], "input #1 axis 0 has size 4, not 3"),
        ("i1->i", [(2, 3)], "input term #0 'i1' must be letters with at most one '...'"),
        ("ij->ik", [(2, 3)], "output letter 'k' is in no input term"),
        ("ij->ii", [(2, 2)], "output term 'ii' must be distinct letters, at most one '...'"),
        ("...ij->ij", [(5, 2, 3)], "output term 'ij' needs '...' (the inputs have one)"),
        ("IJ", [(2, 3)], "an implicit output with an upper-case letter is not imported"),
    ],
)
def test_bad_equations_are_refused_by_name(equation: str, shapes, message: str) -> None:
    model, _ = einsum_model(equation, shapes, constants=False)
    with pytest.raises(OnnxImportError) as err:
        import_onnx(model)
    assert str(err.value) == f"node #0 (Einsum): {message}"
