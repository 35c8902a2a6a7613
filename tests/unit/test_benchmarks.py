"""The benchmark suite's correctness check, on tiny workloads (nothing is timed here).

Keeps benchmarks/ from rotting: every workload kind builds, compiles and matches the reference
interpreter bit for bit; peers, when installed, run and are compared without crashing.
"""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from benchmarks import ceiling
from benchmarks.peers import ort_candidates, torch_candidates
from benchmarks.run import agreement, main, prepare
from benchmarks.workloads import (
    Conv,
    Convert,
    Dot,
    FloatConv,
    FloatDot,
    per_channel_scales,
    workloads,
)

TINY = [
    Dot("dot", m=3, k=37, n=9),
    Dot("dot s8s8", m=2, k=19, n=5, signed=True),
    Conv("conv", c=4, hw=7, o=6, r=3, pad=1),
    Conv("conv s2", c=3, hw=9, o=5, r=3, stride=2, pad=1, signed=True),
    Conv("depthwise", c=8, hw=6, o=8, r=3, pad=1, groups=8),
    Convert("quantize", kind="quantize", shape=(203,)),
    Convert("dequantize", kind="dequantize", shape=(203,)),
    Convert(
        "per-channel",
        kind="quantize_per_channel",
        shape=(4, 37),
        scales=per_channel_scales(4),
        zero=0,
    ),
    FloatDot("float dot", m=7, k=29, n=19),
    FloatConv("float conv", c=5, hw=9, o=18, r=3, stride=2, pad=1),
]


@pytest.mark.parametrize("workload", TINY, ids=[w.name for w in TINY])
def test_tiny_workload_matches_reference_and_peers_run(workload) -> None:
    prepared = prepare(workload)
    assert prepared.expected[0].size > 0
    for offer in (ort_candidates, torch_candidates):
        for candidate in offer(workload, prepared.inputs, prepared.weights, 1):
            output = candidate.call()
            if candidate.to_ours is not None:
                note = agreement(prepared.expected[0], candidate.to_ours(output))
                # ORT's u8u8 kernels widen to int16 like ours: exact, unlike its u8s8 ones
                assert note == "exact" if "u8u8" in candidate.label else note


def test_agreement_reports_differences() -> None:
    ours = np.array([1, 2, 3, 4], np.uint8)
    assert agreement(ours, ours.copy()) == "exact"
    assert agreement(ours, np.array([1, 2, 5, 4], np.uint8)) == "25.0% differ (max 2 LSB)"


def test_workload_table_is_issue_six(capsys) -> None:
    names = [w.name for w in workloads()]
    assert len(names) == len(set(names))
    assert {"GEMV 1x768x768", "per-call overhead 1x16x16", "conv 3x3 c64@56 s8s8"} <= set(names)
    assert {"float GEMM 128x768x768", "float conv 3x3 c64@56", "float conv 1x1 c256@56->64"} <= set(
        names
    )
    assert main(["--threads", "1", "--only", "no such workload"]) == 0
    assert "| workload | unit | ours | ONNX Runtime | PyTorch |" in capsys.readouterr().out


def test_ceiling_program_measures_every_mix_the_target_has(tmp_path, monkeypatch) -> None:
    """benchmarks/ceiling.py compiles and prints a positive rate per instruction mix (AVX2 ones
    on any AVX2 machine; VNNI only where the compiler targets it)."""
    monkeypatch.setattr(ceiling, "ITERATIONS", 1000)
    c_file, exe = tmp_path / "ceiling.c", tmp_path / "ceiling"
    c_file.write_text(ceiling.source())
    subprocess.run(["cc", "-O2", "-march=native", str(c_file), "-o", str(exe)], check=True)
    rows = [
        line.split("\t")
        for line in subprocess.run(
            [str(exe)], capture_output=True, text=True, check=True
        ).stdout.splitlines()
    ]
    names = [name for name, _ in rows]
    assert names[:2] == list(ceiling.MIXES)[:2] or names == []  # no AVX2: nothing to measure
    assert all(float(rate) > 0 for _, rate in rows)
