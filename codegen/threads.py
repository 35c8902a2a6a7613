"""When a kernel's loop runs across OpenMP threads, and how many threads the scratch serves.

Read at emission time through this module (`threads.PARALLEL_MACS`), so a test can lower a
threshold to force the parallel code paths on small shapes.
"""

# Scratch slots of the fast kernels (one per thread): the generated C runs at most this many
# OpenMP threads.
SCRATCH_SLOTS = 8
# Below these sizes a parallel region costs more than it saves (a fork and a barrier, worse
# when the cores are shared), so the loop stays serial.
PARALLEL_MACS = 1 << 21
PARALLEL_GEMV_MACS = 1 << 18  # streaming the weights bounds a GEMV: a second core pays sooner
PARALLEL_ELEMENTS = 1 << 18
CONVERT_CHUNK = 1 << 15  # elements per task of a parallel quantize / dequantize
