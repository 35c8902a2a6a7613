"""The reference interpreter (numpy): what a function of quant/qnn ops computes."""

from runtime.reference import col2im as _col2im  # noqa: F401  (registers its handler)
from runtime.reference import dynamic as _dynamic  # noqa: F401  (registers its handlers)
from runtime.reference import float_math as _float_math  # noqa: F401  (registers its handlers)
from runtime.reference import logical as _logical  # noqa: F401  (registers its handlers)
from runtime.reference import weight_only  # noqa: F401  (registers qnn.weight_only_dot)
from runtime.reference.interpreter import run_function
from runtime.signature import ExecutionError, argument_names, find_function, result_names

__all__ = ["ExecutionError", "argument_names", "find_function", "result_names", "run_function"]
