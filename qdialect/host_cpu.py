"""What this host's CPU makes ONNX Runtime compute: MLAS picks some float kernels by CPU
feature, and where two of them round differently the importer writes down the one ORT runs
here (`qnn.softmax`'s `kernel`), so the IR states its arithmetic and stays host-independent
once written.
"""

from __future__ import annotations

import functools


@functools.cache
def mlas_avx512f() -> bool:
    """True if MLAS's platform setup chooses its AVX512F float kernels on this host: the CPU
    reports AVX512F (Linux's `/proc/cpuinfo` lists it only when the OS also saves the
    registers, what MLAS checks with CPUID and XGETBV). False where that file is missing."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            return any(line.startswith("flags") and "avx512f" in line.split() for line in info)
    except OSError:
        return False
