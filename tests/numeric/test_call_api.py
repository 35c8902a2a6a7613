"""Calling a compiled function: how positional and named inputs bind, and inputs whose memory
C could not read as it is (misaligned) are copied first."""

from __future__ import annotations

import numpy as np
import pytest

from runtime.compiled import compile_module
from runtime.reference import run_function
from runtime.signature import ExecutionError

TWO = """func.func @main(%a: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<8xf32> {
  %y = qnn.add %a, %b : tensor<8xf32>, tensor<8xf32> -> tensor<8xf32>
  func.return %y : tensor<8xf32>
}"""


@pytest.fixture(scope="module")
def two():
    return compile_module(TWO)


def test_positional_and_named_inputs_bind_each_argument_once(two) -> None:
    a, b = np.arange(8, dtype=np.float32), np.full(8, 0.5, np.float32)
    expected = run_function(TWO, [a, b])[0]
    for call in (lambda: two(a, b), lambda: two(a, arg1=b), lambda: two(arg1=b, arg0=a)):
        assert np.array_equal(call()[0], expected)
    refused = {
        r"argument 'arg0' given twice: by position \(input 0\) and by name": lambda: two(a, arg0=b),
        r"argument 'arg1' given twice: by position \(input 1\) and by name": lambda: two(
            a, b, arg1=b
        ),
        r"unknown argument 'c'; the arguments are \['arg0', 'arg1'\]": lambda: two(a, c=b),
        r"expected 2 inputs \['arg0', 'arg1'\], got 3 by position": lambda: two(a, b, a, arg1=b),
        r"missing \['arg1'\]": lambda: two(arg0=a),
    }
    for message, call in refused.items():
        with pytest.raises(ExecutionError, match=message):
            call()


def misaligned(array: np.ndarray) -> np.ndarray:
    """A C-contiguous copy of `array` one byte off its elements' alignment."""
    buffer = bytearray(array.nbytes + array.itemsize + 1)
    start = -np.frombuffer(buffer, np.uint8).ctypes.data % array.itemsize + 1
    view = np.frombuffer(buffer, array.dtype, count=array.size, offset=start).reshape(array.shape)
    view[...] = array
    assert view.flags.c_contiguous and not view.flags.aligned
    return view


def test_misaligned_inputs_are_copied_before_c_reads_them(two) -> None:
    a, b = np.arange(8, dtype=np.float32), np.full(8, 0.5, np.float32)
    expected = run_function(TWO, [a, b])[0]
    ffi = two.library.ffi
    for args, named in (((misaligned(a), b), {}), ((a,), {"arg1": misaligned(b)})):
        (y,) = two(*args, **named)
        assert np.array_equal(y, expected)
        for index in range(2):  # the pointers C was given are aligned to the elements
            assert int(ffi.cast("uintptr_t", two._in_ptrs[index])) % 4 == 0
    out = misaligned(np.zeros(8, np.float32))
    with pytest.raises(ExecutionError, match=r"out\[0\] must be aligned to its 4-byte elements"):
        two(a, b, out=[out])
    (y,) = two(a, b)  # the common call still takes the unrolled path
    assert np.array_equal(y, expected) and two._fast((a, b), None) is not None
    assert two._fast((misaligned(a), b), None) is None


def test_a_constant_is_replaced_in_place_and_checked() -> None:
    """set_constant: the next call reads the new array; another dtype or shape is refused."""
    text = """func.func @main(%a: tensor<4xf32>) -> tensor<4xf32> {
  %c = arith.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %y = qnn.add %a, %c : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  func.return %y : tensor<4xf32>
}"""
    fn = compile_module(text)
    (index,) = [i for i, c in enumerate(fn.constant_arrays) if c.size == 4]
    a = np.full(4, 0.5, np.float32)
    fn.set_constant(index, np.array([10, 20, 30, 40], np.float32))
    assert fn(a)[0].tolist() == [10.5, 20.5, 30.5, 40.5]
    with pytest.raises(ValueError, match=r"constant \d+ is float32\[4\], got float64\[4\]"):
        fn.set_constant(index, np.zeros(4))
    with pytest.raises(ValueError, match=r"constant \d+ is float32\[4\], got float32\[5\]"):
        fn.set_constant(index, np.zeros(5, np.float32))
