"""End to end on examples/conv_block.mlir: parse, rewrite to core ops, run, compare.

python examples/run_conv_block.py
"""

from pathlib import Path

import numpy as np
from xdsl.passes import PassPipeline

from qdialect.textio import make_context, parse_module, print_module
from rewrites.registry import PASSES
from runtime.reference import run_function

source = Path(__file__).with_name("conv_block.mlir")
module = parse_module(source.read_text(), str(source))
x = np.random.default_rng(0).random((1, 3, 8, 8), dtype=np.float32)

(before,) = run_function(module, [x])
PassPipeline.parse_spec(PASSES, "qnn-default").apply(make_context(), module)
print("-- after qnn-default:")
print(print_module(module))
(after,) = run_function(module, [x])

print(f"output {after.shape} {after.dtype}: min {after.min():.4f} max {after.max():.4f}")
print("first row:", np.array2string(after[0, 0, 0], precision=4))
print("identical before and after the rewrites:", np.array_equal(before, after))
