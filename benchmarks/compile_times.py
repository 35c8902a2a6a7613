"""First-compile and cache-load times of a single conv2d kernel (run by hand).

python benchmarks/compile_times.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

SCALES = ",".join(["0.01"] * 64)
X = "tensor<1x64x56x56x!quant.uniform<u8:f32, 0.02:128>>"
W = f"tensor<64x64x3x3x!quant.uniform<i8:f32:0, {{{SCALES}}}>>"
Y = "tensor<1x64x56x56x!quant.uniform<u8:f32, 0.05:3>>"
CONV = f"""func.func @main(%x: {X}, %w: {W}, %b: tensor<64xi32>) -> {Y} {{
  %y = qnn.conv2d %x, %w bias(%b : tensor<64xi32>) {{pads = array<i64: 1, 1, 1, 1>}} : {X}, {W} -> {Y}
  func.return %y : {Y}
}}
"""

CHILD = """
import sys, time
t0 = time.perf_counter()
from runtime.compiled import compile_module
t1 = time.perf_counter()
fn = compile_module(sys.stdin.read())
t2 = time.perf_counter()
print(f"{'cache hit' if fn.library.from_cache else 'first compile'}: {1000 * (t2 - t1):.1f} ms "
      f"(imports {1000 * (t1 - t0):.0f} ms, arena {fn.arena_bytes} bytes)")
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as cache:
        env = os.environ | {"QDIALECT_CACHE_DIR": cache}
        for _ in range(2):
            start = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-c", CHILD], input=CONV, env=env, capture_output=True, text=True
            )
            print(
                out.stdout.strip() or out.stderr,
                f"[process {1000 * (time.perf_counter() - start):.0f} ms]",
            )


if __name__ == "__main__":
    main()
