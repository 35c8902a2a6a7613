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


def nchwc_block_size() -> int:
    """MLAS's NCHWc block (`MlasNchwcGetBlockSize`): 16 channels with AVX512F, else 8 (AVX2,
    which every host we compile for has). ORT's optimized session (`NchwcTransformer`) runs a
    float pool whose channels fill whole blocks in that layout, with its own arithmetic."""
    return 16 if mlas_avx512f() else 8


def nchwc_pool(channels: int, nhwc: bool, dilations) -> bool:
    """Whether ORT's optimized session runs a float AveragePool as its NCHWc pool here: NCHW,
    no dilation, the channels filling whole blocks. That kernel sums the in-image taps in
    row-major order from +0 and divides (`qnn.avg_pool2d {row_major}`). (A GlobalAveragePool
    moves to NCHWc only behind another NCHWc node, which a quantized model's DQ is not.)"""
    return not nhwc and list(dilations) == [1, 1] and channels % nchwc_block_size() == 0


# MLAS's pointwise NCHWc conv sums this many input channels per block (MaximumInputChannelBatch)
NCHWC_POINTWISE_CHANNELS = 128
# ORT's NchwcTransformer pads channel counts that are a multiple of this up to whole blocks
NCHWC_CHANNEL_ALIGNMENT = 4


def nchwc_conv_channels(
    in_channels: int, out_channels: int, groups: int, kernel: tuple[int, int], padded: bool
) -> int:
    """The input channels per block of the NCHWc conv ORT's optimized session runs a float 2-D
    conv with constant weights as here (`NchwcTransformerImpl::TransformConv`'s conditions,
    then `MlasNchwcConv`'s choice of algorithm; float_sum.py), or 0 when it leaves the conv
    alone. NCHW input (fewer input channels than a block, ungrouped) and depthwise convs sum a
    channel at a time, pointwise ones 128 channels, the others a block. Channel counts that
    are a multiple of 4 but not of a block are padded with zeros (ORT 1.31, checked against
    its session: 20 and 24 channels are converted, 17 are not)."""
    block = nchwc_block_size()
    per_group = in_channels // groups
    if groups > 1:
        depthwise = per_group == 1 and out_channels == groups
        blocked = per_group % block == 0 and out_channels // groups % block == 0
        if out_channels % NCHWC_CHANNEL_ALIGNMENT or not (depthwise or blocked):
            return 0
    elif per_group >= block and per_group % NCHWC_CHANNEL_ALIGNMENT:
        return 0
    if per_group < block:
        return 1
    if kernel == (1, 1) and not padded:
        return NCHWC_POINTWISE_CHANNELS
    return block


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
