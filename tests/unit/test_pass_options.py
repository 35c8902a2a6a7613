"""`qopt -p`: bad pass options and unknown passes end with a one-line error and status 1."""

from __future__ import annotations

import subprocess

import pytest

MODULE = """func.func @f(%x: tensor<1x2x4x4x!quant.uniform<i8:f32, 0.05:-10>>, %w: tensor<3x2x3x3x!quant.uniform<i8:f32, 0.02>>) -> tensor<1x3x2x2x!quant.uniform<i8:f32, 0.1:-128>> {
  %y = qnn.conv2d %x, %w : tensor<1x2x4x4x!quant.uniform<i8:f32, 0.05:-10>>, tensor<3x2x3x3x!quant.uniform<i8:f32, 0.02>> -> tensor<1x3x2x2x!quant.uniform<i8:f32, 0.1:-128>>
  func.return %y : tensor<1x3x2x2x!quant.uniform<i8:f32, 0.1:-128>>
}
"""
PASSES = (
    "fold-qdq",
    "fold-scaled-builders",
    "fuse-conv-dot",
    "lower-requant-fixed-point",
    "qnn-default",
    "quant-to-qnn",
)


def qopt(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed console script on MODULE, as a user would."""
    return subprocess.run(["qopt", *args], input=MODULE, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("pipeline", "reason"),
    [
        (
            "lower-requant-fixed-point{rounding=bogus}",
            "rounding must be one of ['tflite', 'tosa_single', 'tosa_double'], got 'bogus'",
        ),
        (
            "lower-requant-fixed-point{rounding=float}",
            "rounding must be one of ['tflite', 'tosa_single', 'tosa_double'], got 'float'",
        ),
        (
            "lower-requant-fixed-point{bogus=1}",
            'Provided arguments ["bogus"] not found in expected arguments ["rounding"]',
        ),
        (
            "fuse-conv-dot{rounding=tflite}",
            'Provided arguments ["rounding"] not found in expected arguments []',
        ),
        ("no-such-pass", "Unrecognized passes: ['no-such-pass']"),
        ("fold-qdq,no-such-pass", "Unrecognized passes: ['no-such-pass']"),
    ],
)
def test_bad_pipeline_is_a_clear_error(pipeline: str, reason: str) -> None:
    result = qopt("-p", pipeline)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr  # one line, no traceback
    prefix = f"qopt: error: invalid pass pipeline '{pipeline}': {reason} (known passes: "
    assert lines[0].startswith(prefix), lines[0]
    known = lines[0][len(prefix) :].removesuffix(")").split(", ")
    assert known == sorted(known) and set(PASSES) <= set(known)


@pytest.mark.parametrize("rounding", ["tflite", "tosa_single", "tosa_double"])
def test_valid_rounding_options_are_accepted(rounding: str) -> None:
    result = qopt("-p", f"lower-requant-fixed-point{{rounding={rounding}}}")
    assert result.returncode == 0, result.stderr
    assert f'requant_mode = "{rounding}"' in result.stdout


def test_default_rounding_is_tflite() -> None:
    result = qopt("-p", "lower-requant-fixed-point")
    assert result.returncode == 0, result.stderr
    assert 'requant_mode = "tflite"' in result.stdout
