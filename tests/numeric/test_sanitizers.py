"""The compiled-kernel suite again, with kernels built under AddressSanitizer and UBSan.

Runs tests/numeric/test_compiled.py, test_quantize_kernels.py, test_call_api.py (misaligned
inputs), test_observe.py (observation kernels), test_float_kernels.py, test_maddubs.py (the
vpmaddubsw tile), test_weight_only.py (weight-only GEMV/GEMM, partial blocks) and
test_fusion_exact.py (fused adds, qnn.add, max pool), test_onnx_import.py (data movement:
transpose, pad, slice, run-time GatherElements and Tile; ArgMax/ArgMin, TopK; ConvTranspose's col2im),
test_mlas_threads.py (convs and GEMMs split by MLAS's thread ranges),
test_float_sums_ort.py (MLAS's float sum
orders, the pools' kernels, AveragePool's opset-19 loop with dilations), test_onnx_batched_matmul.py (grouped convs whose weights are run-time
tensors), test_float_math.py (LayerNorm's lanes and tails, row sums and means, the run-time
quantize and dequantize) and
test_softmax.py (both sum-exp kernels) and test_tables.py (the lookup, 64 at a time under
AVX-512 VBMI, and its tail), test_pool3d.py and test_conv3d.py (3-D pools; 3-D convs' depth
taps and thread-split sums) in a child pytest whose kernels are
compiled with `-fsanitize=address,undefined
-march=native` (QDIALECT_CFLAGS, so the AVX2 paths and their tails are the ones checked) and the
ASan runtime preloaded: any out-of-bounds access or undefined behaviour in generated C aborts
the child. Tests marked
`pins_flags` compile with flags of their own, not the sanitizer ones, so the child leaves them
out rather than repeat the parent's work; it runs both tiers of the rest, with counts of its own.
In the slow tier (`python -m pytest -q -m slow`): it rebuilds several hundred kernels.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# -march=native and -fopenmp: the AVX2 paths and the per-thread scratch slots of the fast kernels
# run under the sanitizers too (the portable C path is covered by the -Werror builds).
SANITIZE = (
    "-O1 -g -march=native -fopenmp -fsanitize=address,undefined -fno-sanitize-recover=all "
    "-fno-omit-frame-pointer"
)
SUITES = [
    "test_compiled.py",
    "test_quantize_kernels.py",
    "test_call_api.py",
    "test_observe.py",
    "test_float_kernels.py",
    "test_maddubs.py",
    "test_weight_only.py",
    "test_fusion_exact.py",
    "test_onnx_import.py",
    "test_float_sums_ort.py",
    "test_onnx_batched_matmul.py",
    "test_float_math.py",
    "test_softmax.py",
    "test_mlas_threads.py",
    "test_tables.py",
    "test_pool3d.py",
    "test_conv3d.py",
]


@pytest.mark.slow
def test_compiled_suite_under_asan_and_ubsan(tmp_path: Path) -> None:
    libasan = subprocess.run(
        ["cc", "-print-file-name=libasan.so"], capture_output=True, text=True, check=True
    ).stdout.strip()
    env = os.environ | {
        "QDIALECT_CFLAGS": SANITIZE,
        "QDIALECT_CACHE_DIR": str(tmp_path / "cache"),
        "QDIALECT_COMPILED_PROGRAMS": "12",
        "QDIALECT_COMPILED_CONFIGS": "40",
        "LD_PRELOAD": libasan,
        "ASAN_OPTIONS": "detect_leaks=0",  # CPython itself "leaks" at exit
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-m",
            "not pins_flags",
            *(str(Path(__file__).with_name(suite)) for suite in SUITES),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=2400,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert " passed" in result.stdout
