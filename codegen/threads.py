"""When a kernel's loop runs across OpenMP threads, and how many threads the scratch serves.

Read at emission time through this module (`threads.PARALLEL_MACS`), so a test can lower a
threshold to force the parallel code paths on small shapes.
"""

# Scratch slots of the fast kernels (one per thread): the generated C runs at most this many
# OpenMP threads.
SCRATCH_SLOTS = 8
# Below these sizes a parallel region costs more than it saves (a fork and a barrier, worse
# when the cores are shared), so the loop stays serial. With the worker still spinning from the
# kernel before (GOMP_SPINCOUNT, runtime/jit.py) a fork costs a few microseconds: MobileNetV2's
# late depthwise layers (0.4-0.7 M MACs, ~50 us) paid off in parallel at 2 threads (3.59 ->
# 3.36 ms whole model, best of 7; 1 << 21 and 1 << 18 before).
PARALLEL_MACS = 1 << 18
PARALLEL_GEMV_MACS = 1 << 18  # streaming the weights bounds a GEMV: a second core pays sooner
PARALLEL_ELEMENTS = 1 << 15
# a float function (sigmoid, tanh, erf, a libm call) costs tens of operations an element; an
# LSTM step's gates (a few hundred elements) paid a fork each, 0.3 us even on one thread
PARALLEL_FUNCTION_ELEMENTS = 1 << 12
CONVERT_CHUNK = 1 << 15  # elements per task of a parallel quantize / dequantize
