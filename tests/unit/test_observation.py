"""Observation in the IR: the qnn.observe / qnn.histogram verifiers, tensor names, and the
instrument passes (which tensors, where the ops go, what the function returns)."""

from __future__ import annotations

import pytest
from xdsl.dialects import func
from xdsl.passes import PassPipeline

from qdialect import qnn
from qdialect.names import tensor_name
from qdialect.textio import IRError, make_context, parse_module, print_module
from rewrites.instrument import (
    HistogramRequest,
    InstrumentError,
    histograms,
    observations,
    observe,
)
from rewrites.registry import PASSES


def histogram(attrs: str, result: str = "tensor<2xi64>", x: str = "tensor<4xf32>") -> str:
    return f"""func.func @f(%x: {x}) {{
  %h = qnn.histogram %x {{{attrs}}} : {x} -> {result}
  return
}}"""


EDGES3 = "edges = dense<[0.0, 1.0, 2.0]> : tensor<3xf32>"
REJECTED = [
    (
        "func.func @f(%x: tensor<4xf16>) {\n"
        "  %s = qnn.observe %x : tensor<4xf16> -> tensor<5xf32>\n  return\n}",
        "'qnn.observe' op observes float32 tensors, got tensor<4xf16>",
    ),
    (
        "func.func @f(%x: tensor<4xf32>) {\n"
        "  %s = qnn.observe %x : tensor<4xf32> -> tensor<2xf32>\n  return\n}",
        "'qnn.observe' op result must be tensor<5xf32>, got tensor<2xf32>",
    ),
    (
        histogram(EDGES3, "tensor<2xi32>"),
        "'qnn.histogram' op result must be tensor<Bxi64>, got tensor<2xi32>",
    ),
    (
        histogram(EDGES3, "tensor<3xi64>"),
        "'qnn.histogram' op rule 'edges' with 3 bins needs 4 edges, got tensor<3xf32>",
    ),
    (
        histogram(f'{EDGES3}, rule = "linear"'),
        "'qnn.histogram' op rule 'linear' with 2 bins needs 2 edges, got tensor<3xf32>",
    ),
    (
        histogram('edges = dense<[0.0, 1.0]> : tensor<2xf32>, rule = "log"', "tensor<1xi64>"),
        "'qnn.histogram' op rule must be one of 'edges', 'linear', got 'log'",
    ),
    (
        histogram("edges = dense<[0.0, 2.0, 1.0]> : tensor<3xf32>"),
        "'qnn.histogram' op edges must be non-decreasing",
    ),
    (
        histogram("edges = dense<[1.0, 1.0, 1.0]> : tensor<3xf32>"),
        "'qnn.histogram' op edges must span a range, got [1.0, 1.0]",
    ),
    (
        histogram('edges = dense<"0x000000000000803F0000807F"> : tensor<3xf32>'),
        "'qnn.histogram' op edges must be finite",
    ),
    (
        histogram("edges = dense<[0, 1, 2]> : tensor<3xi32>"),
        "'qnn.histogram' op edges must be float32, got tensor<3xi32>",
    ),
    (
        histogram(
            'edges = dense<[-3.0e38, 3.0e38]> : tensor<2xf32>, rule = "linear"', "tensor<1xi64>"
        ),
        "'qnn.histogram' op rule 'linear' needs (hi - lo) * bins finite in float32",
    ),
]


@pytest.mark.parametrize(("text", "message"), REJECTED, ids=[m for _, m in REJECTED])
def test_observation_verifiers(text: str, message: str) -> None:
    with pytest.raises(IRError) as rejected:
        parse_module(text)
    assert f": error: {message}\n" in str(rejected.value)


def test_histogram_accessors_and_round_trip() -> None:
    text = histogram(f"{EDGES3}, absolute")
    module = parse_module(text)
    (op,) = [o for o in module.walk() if isinstance(o, qnn.HistogramOp)]
    assert (op.bins, op.edge_values, op.rule_kind) == (2, (0.0, 1.0, 2.0), qnn.HistogramRule.EDGES)
    assert op.absolute is not None
    printed = print_module(module)
    assert (
        "qnn.histogram %x {edges = dense<[0.000000e+00, 1.000000e+00, 2.000000e+00]> : "
        "tensor<3xf32>, absolute} : tensor<4xf32> -> tensor<2xi64>" in printed
    )
    assert print_module(parse_module(printed)) == printed


# ----------------------------------------------------------------------------- names

NAMED = """func.func @f(%a: tensor<4xf32> {qnn.name = "input:0"}, %b: tensor<4xf32>) -> tensor<4xf32> {
  %r = qnn.relu %a {qnn.name = "relu_1"} : tensor<4xf32> -> tensor<4xf32>
  %s = qnn.relu %b : tensor<4xf32> -> tensor<4xf32>
  %0 = qnn.add %r, %s : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  func.return %0 : tensor<4xf32>
}"""


def test_tensor_name_reads_the_attribute_else_the_hint() -> None:
    (function,) = parse_module(NAMED).ops
    assert isinstance(function, func.FuncOp)
    a, b = function.body.block.args
    r, s, unnamed = [op.results[0] for op in list(function.body.block.ops)[:3]]
    assert [tensor_name(v) for v in (a, b, r, s, unnamed)] == ["input:0", "b", "relu_1", "s", None]


# ----------------------------------------------------------------------------- instrument

CONSTANTS = """func.func @f(%x: tensor<2x3xf32>) -> tensor<2x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x3xf32>
  %wt = qnn.transpose %w {permutation = array<i64: 1, 0>} : tensor<2x3xf32> -> tensor<3x2xf32>
  %y = qnn.dot %x, %wt : tensor<2x3xf32>, tensor<3x2xf32> -> tensor<2x2xf32>
  %q = qnn.quantize %y : tensor<2x2xf32> -> tensor<2x2x!quant.uniform<i8:f32, 0.5>>
  %z = qnn.dequantize %q : tensor<2x2x!quant.uniform<i8:f32, 0.5>> -> tensor<2x2xf32>
  func.return %z : tensor<2x2xf32>
}"""


def test_default_selection_skips_constants_and_non_float() -> None:
    module = parse_module(CONSTANTS)
    assert observe(module) == ["x", "y", "z"]
    (function,) = module.ops
    assert observations(function) == [(1, "x"), (2, "y"), (3, "z")]
    ret = function.body.block.last_op
    observed = [v.owner.input for v in ret.operands[1:]]
    assert [tensor_name(v) for v in observed] == ["x", "y", "z"]
    module.verify()


def test_explicit_constants_may_be_observed() -> None:
    module = parse_module(CONSTANTS)
    assert observe(module, ["wt", "w"]) == ["wt", "w"]


@pytest.mark.parametrize(
    ("tensors", "message"),
    [
        (
            ["nope", "y"],
            "no tensor named 'nope' to observe (float32 tensors: 'w', 'wt', 'x', 'y', 'z')",
        ),
        (["q"], "tensor 'q' is tensor<2x2x!quant.uniform<i8:f32, 0.5>>; only float32 is observed"),
    ],
)
def test_selection_errors(tensors: list[str], message: str) -> None:
    with pytest.raises(InstrumentError) as raised:
        observe(parse_module(CONSTANTS), tensors)
    assert str(raised.value) == message


def test_two_values_of_one_name_are_refused() -> None:
    text = """func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {
  %r = qnn.relu %a : tensor<4xf32> -> tensor<4xf32>
  %r_1 = qnn.relu %r : tensor<4xf32> -> tensor<4xf32>
  func.return %r_1 : tensor<4xf32>
}"""
    with pytest.raises(InstrumentError) as raised:
        observe(parse_module(text))
    assert str(raised.value) == (
        "2 values are named 'r' (xDSL reads %r_1 as another 'r'); give them distinct names "
        "or a qnn.name attribute"
    )


def test_histograms_follow_the_requests() -> None:
    module = parse_module(CONSTANTS)
    requests = [
        HistogramRequest("z", (-1.0, 1.0), 4, qnn.HistogramRule.LINEAR),
        HistogramRequest("x", (0.0, 0.5, 2.0), 2, absolute=True),
    ]
    assert histograms(module, requests) == ["z", "x"]
    printed = print_module(module)
    assert (
        '-> (tensor<2x2xf32>, tensor<4xi64> {qnn.observed = "z"}, '
        'tensor<2xi64> {qnn.observed = "x"})' in printed
    )
    assert (
        "qnn.histogram %x {edges = dense<[0.000000e+00, 5.000000e-01, 2.000000e+00]> : "
        "tensor<3xf32>, absolute} : tensor<2x3xf32> -> tensor<2xi64>" in printed
    )
    bad = [HistogramRequest("x", (0.0, 1.0), 2)]
    with pytest.raises(InstrumentError) as raised:
        histograms(parse_module(CONSTANTS), bad)
    assert str(raised.value) == (
        "histogram of 'x': rule 'edges' with 2 bins needs 3 edges, got tensor<2xf32>"
    )


def test_instrument_is_a_registered_pass_with_a_tensors_option() -> None:
    module = parse_module(NAMED)
    spec = 'instrument{tensors="relu_1","input:0"}'
    PassPipeline.parse_spec(PASSES, spec).apply(make_context(), module)
    (function,) = module.ops
    assert observations(function) == [(1, "relu_1"), (2, "input:0")]
    with pytest.raises(InstrumentError):
        PassPipeline.parse_spec(PASSES, "instrument{tensors=a}").apply(make_context(), module)
