"""The int8 peaks of this CPU for the instruction mixes int8 GEMM kernels are built from.

    python -m benchmarks.ceiling

Each mix runs as ten independent accumulator chains in registers (no loads, no loop-carried
latency), so the rate is what the execution ports allow:

- `vpmaddwd + vpaddd` (int16 pairs, exact: our kernels without VNNI): 16 MACs per pair;
- `vpmaddubsw + vpmaddwd + vpaddd` (u8 × s8, ONNX Runtime's and fbgemm's AVX2 kernels): 32 MACs
  per triple, but `vpmaddubsw` saturates its int16 pair sums, so it is exact only for 7-bit
  operands;
- `vpdpwssd` (AVX-VNNI, where the CPU has it): the first mix in one instruction.

GOP/s = 2 · MACs / s on one core. The ratio of the first two bounds how close an exact
kernel can come to the saturating ones on this machine (docs/performance.md).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

CHAINS = 10
ITERATIONS = 20_000_000
RUNS = 5  # the best run counts: a busy sibling core or hypervisor only slows runs down

# name: (asm of one chain's step with accumulator %%ymm{r}, MACs per step, required macro)
MIXES = {
    "vpmaddwd + vpaddd (exact int16 pairs)": (
        "vpmaddwd %%ymm14, %%ymm15, %%ymm12\\n\\tvpaddd %%ymm12, %%ymm{r}, %%ymm{r}",
        16,
        "__AVX2__",
    ),
    "vpmaddubsw + vpmaddwd + vpaddd (u8 x s8, saturating)": (
        "vpmaddubsw %%ymm14, %%ymm15, %%ymm12\\n\\tvpmaddwd %%ymm13, %%ymm12, %%ymm12\\n\\t"
        "vpaddd %%ymm12, %%ymm{r}, %%ymm{r}",
        32,
        "__AVX2__",
    ),
    "vpdpwssd (AVX-VNNI, exact int16 pairs)": (
        "%{{vex%}} vpdpwssd %%ymm14, %%ymm15, %%ymm{r}",
        16,
        "__AVXVNNI__",
    ),
    "vpdpbusd (AVX-VNNI, u8 x s8 quads into int32, exact)": (
        "%{{vex%}} vpdpbusd %%ymm14, %%ymm15, %%ymm{r}",
        32,
        "__AVXVNNI__",
    ),
}


def source() -> str:
    """A C program printing `name<TAB>GOP/s` for every mix the compiler targets."""
    lines = [
        "#include <stdio.h>",
        "#include <time.h>",
        "static double now(void) {",
        "    struct timespec t;",
        "    clock_gettime(CLOCK_MONOTONIC, &t);",
        "    return t.tv_sec + t.tv_nsec * 1e-9;",
        "}",
        "int main(void) {",
        "    double t, best;",
    ]
    clobbers = ", ".join(f'"xmm{r}"' for r in range(CHAINS)) + ', "xmm12"'
    for name, (step, macs, macro) in MIXES.items():
        body = "\\n\\t".join(step.format(r=r) for r in range(CHAINS))
        lines += [
            f"#ifdef {macro}",
            "    best = 1e30;",
            f"    for (int run = 0; run < {RUNS}; ++run) {{",
            "        t = now();",
            f"        for (long i = 0; i < {ITERATIONS}; ++i)",
            f'            __asm__ volatile("{body}" ::: {clobbers});',
            "        t = now() - t;",
            "        best = t < best ? t : best;",
            "    }",
            f'    printf("{name}\\t%.1f\\n", 2.0 * {macs} * {CHAINS} * {ITERATIONS} / best / 1e9);',
            "#endif",
        ]
    return "\n".join([*lines, "    return 0;", "}", ""])


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        c_file, exe = Path(tmp) / "ceiling.c", Path(tmp) / "ceiling"
        c_file.write_text(source())
        subprocess.run(["cc", "-O2", "-march=native", str(c_file), "-o", str(exe)], check=True)
        rows = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    print("| instruction mix | GOP/s (1 core) |\n| --- | --- |")
    for row in rows.splitlines():
        name, rate = row.split("\t")
        print(f"| {name} | {rate} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
