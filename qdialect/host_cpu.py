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


@functools.cache
def ort_default_threads() -> int:
    """The intra-op threads of an ONNX Runtime session left at its default (what
    `quantize_static`'s calibrator runs on): one per physical core this process may run on
    (`GetDefaultThreadAffinities`: the logical processors grouped by core). Linux's CPU
    topology files name the cores; without them, every logical processor counts."""
    import os
    from pathlib import Path

    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    cores = set()
    for cpu in cpus:
        topology = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
        try:
            package = (topology / "physical_package_id").read_text().strip()
            cores.add((package, (topology / "core_id").read_text().strip()))
        except OSError:
            cores.add(("cpu", str(cpu)))
    return max(len(cores), 1) if cores else max(os.cpu_count() or 1, 1)
