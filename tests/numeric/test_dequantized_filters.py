"""`fold-dequantized-filters` changes no bit: float convs whose filters are dequantized from
stored constants (per output channel and per tensor; 3 × 3 and a strided 1 × 1, the float
simulation ORT's x86 session runs for int8 activations), compiled with their filters folded and
packed once, compute what the reference interpreter computes on the module as written."""

from __future__ import annotations

import numpy as np

from qdialect.textio import parse_module, print_module
from runtime.compiled import compile_module
from runtime.reference import run_function


def _program(rng: np.random.Generator) -> str:
    w1 = rng.integers(-128, 128, (16, 8, 3, 3))
    w2 = rng.integers(-128, 128, (32, 16, 1, 1))
    scales = ",".join(
        f"{s:.6f}:{z}" for s, z in zip(rng.uniform(0.001, 0.02, 16), range(-8, 8), strict=True)
    )
    t1 = f"!quant.uniform<i8:f32:0, {{{scales}}}>"
    t2 = "!quant.uniform<i8:f32, 0.0078125:3>"
    dense = lambda a: np.array2string(a, separator=", ", threshold=10**6).replace("\n", "")  # noqa: E731
    return f"""func.func @main(%x: tensor<1x8x9x9xf32>) -> tensor<1x32x5x5xf32> {{
  %c1 = arith.constant dense<{dense(w1)}> : tensor<16x8x3x3xi8>
  %q1 = quant.scast %c1 : tensor<16x8x3x3xi8> to tensor<16x8x3x3x{t1}>
  %w1 = qnn.dequantize %q1 : tensor<16x8x3x3x{t1}> -> tensor<16x8x3x3xf32>
  %y1 = qnn.conv2d %x, %w1 {{pads = array<i64: 1, 1, 1, 1>}} : tensor<1x8x9x9xf32>, tensor<16x8x3x3xf32> -> tensor<1x16x9x9xf32>
  %c2 = arith.constant dense<{dense(w2)}> : tensor<32x16x1x1xi8>
  %q2 = quant.scast %c2 : tensor<32x16x1x1xi8> to tensor<32x16x1x1x{t2}>
  %w2 = qnn.dequantize %q2 : tensor<32x16x1x1x{t2}> -> tensor<32x16x1x1xf32>
  %y2 = qnn.conv2d %y1, %w2 {{strides = array<i64: 2, 2>}} : tensor<1x16x9x9xf32>, tensor<32x16x1x1xf32> -> tensor<1x32x5x5xf32>
  func.return %y2 : tensor<1x32x5x5xf32>
}}
"""


def test_folded_filters_compute_the_unfolded_module_bit_for_bit() -> None:
    rng = np.random.default_rng(5)
    text = _program(rng)
    x = rng.standard_normal((1, 8, 9, 9)).astype(np.float32)
    (expected,) = run_function(text, [x])
    module = parse_module(text)
    compiled = compile_module(module, threads=1)
    assert "qnn.dequantize" not in print_module(module)  # both filters folded
    (got,) = compiled(x)
    assert np.array_equal(got.view(np.int32), expected.view(np.int32))
