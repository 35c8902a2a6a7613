"""The `mse` method: torch's HistogramObserver L2 search, emulated in numpy to the bit.

Source: torch 2.13 `torch/ao/quantization/observer.py`, `HistogramObserver._non_linear_param_search`
and `_compute_quantization_error` (a port of caffe2's NormMinimization), run on the histogram one
`forward` call builds: `torch.histc(x, bins, min=min(x), max=max(x))`. Every tensor operation of
those two methods is repeated here with its float32 (or, for Python scalars, float64) rounding:

- Python-float scalars in tensor ops are rounded to float32 first (`tensor * 0.5`); comparisons
  of a float32 element with a Python float happen in float32 (`cSum[l] < next_alpha * total`);
- `torch.cumsum` of float32 accumulates in double and rounds each prefix to float32;
- `torch.sum` of float32 is ATen's cascade sum (SumKernel.cpp `cascade_sum`), emulated by
  `torch_sum_f32` for the AVX2 kernels (8 float lanes) torch runs on x86-64 CPUs without
  AVX-512 dispatch, one thread (all sizes below 32768 elements);
- `torch.div(..., rounding_mode="floor")` is np.floor_divide's algorithm (fmod based).

Limits: counts above 2**24 in one bin are exact here but not in torch's float32 histc; the sum
emulation is that of the AVX2 kernel (an AVX-512 dispatch sums in 16 lanes).
"""

from __future__ import annotations

import math

import numpy as np

_F32 = np.float32
_DST_NBINS = 256  # 2 ** torch.iinfo(quint8 / qint8).bits


def mse_range(
    counts: np.ndarray, lowest: np.float32, highest: np.float32
) -> tuple[np.float32, np.float32]:
    """`HistogramObserver._non_linear_param_search()` on a histogram of `counts` over
    [lowest, highest] (the observer's min_val / max_val): the (new_min, new_max) it returns."""
    bins = counts.size
    histogram = np.asarray(counts).astype(_F32)  # histc's float32 counts
    min_val, max_val = _F32(lowest), _F32(highest)
    # bin_width = (self.max_val - self.min_val) / self.bins   (float32 tensors)
    bin_width = _F32(_F32(max_val - min_val) / _F32(bins))
    if max_val == min_val:
        # every candidate has error 0.0: the search walks to one bin; the answer is min_val
        # + 0 * bin, computed below with the same roundings
        start_bin = end_bin = 0
        return _bounds(min_val, bin_width, start_bin, end_bin)

    total = float(torch_sum_f32(histogram))
    # torch.cumsum: double accumulator, each prefix rounded to float32
    c_sum = np.cumsum(histogram.astype(np.float64)).astype(_F32).tolist()

    stepsize = 1e-5
    alpha, beta = 0.0, 1.0
    start_bin, end_bin = 0, bins - 1
    norm_min = math.inf
    min_f, max_f = float(min_val), float(max_val)
    while alpha < beta:
        next_alpha = alpha + stepsize
        next_beta = beta - stepsize
        lower = float(_F32(next_alpha * total))
        upper = float(_F32(next_beta * total))
        left, right = start_bin, end_bin
        while left < end_bin and c_sum[left] < lower:
            left += 1
        while right > start_bin and c_sum[right] > upper:
            right -= 1
        next_start_bin, next_end_bin = start_bin, end_bin
        if (left - start_bin) > (end_bin - right):
            next_start_bin = left
            alpha = next_alpha
        else:
            next_end_bin = right
            beta = next_beta
        if next_start_bin == start_bin and next_end_bin == end_bin:
            continue
        norm = quantization_error(histogram, min_f, max_f, next_start_bin, next_end_bin)
        if norm > norm_min:
            break
        norm_min = norm
        start_bin, end_bin = next_start_bin, next_end_bin
    return _bounds(min_val, bin_width, start_bin, end_bin)


def _bounds(
    min_val: np.float32, bin_width: np.float32, start_bin: int, end_bin: int
) -> tuple[np.float32, np.float32]:
    # new_min = self.min_val + bin_width * start_bin; new_max = ... * (end_bin + 1)
    new_min = _F32(min_val + _F32(bin_width * _F32(start_bin)))
    new_max = _F32(min_val + _F32(bin_width * _F32(end_bin + 1)))
    return new_min, new_max


def quantization_error(
    histogram: np.ndarray, min_val: float, max_val: float, next_start_bin: int, next_end_bin: int
) -> float:
    """`HistogramObserver._compute_quantization_error(next_start_bin, next_end_bin)`."""
    bins = histogram.size
    bin_width = (max_val - min_val) / bins  # Python floats (.item())
    dst_bin_width = bin_width * (next_end_bin - next_start_bin + 1) / _DST_NBINS
    if dst_bin_width == 0.0:
        return 0.0
    width32, dst32 = _F32(bin_width), _F32(dst_bin_width)
    half32 = _F32(dst_bin_width / 2)
    neg_half32 = _F32(-dst_bin_width / 2)
    last = _F32(_DST_NBINS - 1)

    src_bin = np.arange(bins, dtype=np.int64)
    src_bin_begin = (src_bin - next_start_bin).astype(_F32) * width32
    src_bin_end = src_bin_begin + width32
    dst_bin_of_begin = np.clip(np.floor_divide(src_bin_begin, dst32), _F32(0), last)
    dst_bin_of_begin_center = (dst_bin_of_begin + _F32(0.5)) * dst32
    dst_bin_of_end = np.clip(np.floor_divide(src_bin_end, dst32), _F32(0), last)
    density = histogram / width32

    norm = np.zeros(bins, dtype=_F32)
    delta_begin = src_bin_begin - dst_bin_of_begin_center
    delta_end = np.ones(bins, dtype=_F32) * half32
    norm += _get_norm(delta_begin, delta_end, density)
    norm += (dst_bin_of_end - dst_bin_of_begin - _F32(1)) * _get_norm(neg_half32, half32, density)
    dst_bin_of_end_center = dst_bin_of_end * dst32 + half32
    delta_end = src_bin_end - dst_bin_of_end_center
    norm += _get_norm(neg_half32, delta_end, density)
    return float(torch_sum_f32(norm))


def _get_norm(delta_begin, delta_end, density: np.ndarray) -> np.ndarray:
    """`_get_norm`: density * (end^3 - begin^3) / 3, float32, evaluated left to right."""
    cube_end = delta_end * delta_end * delta_end
    cube_begin = delta_begin * delta_begin * delta_begin
    norm = (cube_end - cube_begin) / _F32(3)
    return density * norm


def torch_sum_f32(values: np.ndarray) -> np.float32:
    """`torch.sum` of a contiguous 1-D float32 tensor on one CPU thread, AVX2 kernels.

    ATen's `cascade_sum` (SumKernel.cpp): `vectorized_inner_sum` loads 8-float vectors,
    `row_sum` splits them into 4 interleaved rows, `multi_row_sum` adds each row into 4 levels
    of accumulators (a level carries into the next every 2**level_power rows), the levels and
    rows are added, then the leftover scalars and the 8 lanes, in that order.
    """
    x = np.ascontiguousarray(values, dtype=_F32).reshape(-1)
    lanes = 8
    n = x.size
    if n < lanes:
        # scalar_outer_sum -> row_sum on scalars
        total = _row_sum(x.reshape(n, 1))[0]
        return _F32(_F32(0) + total)
    vec_count = n // lanes
    vec_acc = _row_sum(x[: vec_count * lanes].reshape(vec_count, lanes))
    final = _F32(0)
    for k in range(vec_count * lanes, n):
        final = _F32(final + x[k])
    for lane in range(lanes):
        final = _F32(final + vec_acc[lane])
    return _F32(_F32(0) + final)  # CastStoreAccumulate into the zero-filled output


def _row_sum(items: np.ndarray) -> np.ndarray:
    """`row_sum`: items is [size, lanes]; returns the lanes of the sum (float32)."""
    ilp = 4
    size = items.shape[0]
    size_ilp = size // ilp
    partial = _multi_row_sum(items[: size_ilp * ilp].reshape(size_ilp, ilp, items.shape[1]))
    for i in range(size_ilp * ilp, size):
        partial[0] = partial[0] + items[i]
    for k in range(1, ilp):
        partial[0] = partial[0] + partial[k]
    return partial[0]


def _multi_row_sum(rows: np.ndarray) -> np.ndarray:
    """`multi_row_sum`: rows is [size, nrows, lanes]; returns [nrows, lanes] float32 sums."""
    num_levels = 4
    size, nrows, lanes = rows.shape
    level_power = max(4, _ceil_log2(size) // num_levels)
    level_step = 1 << level_power
    level_mask = level_step - 1
    acc = np.zeros((num_levels, nrows, lanes), dtype=_F32)
    i = 0
    while i + level_step <= size:
        # acc[0] += rows[i] for level_step rows, one float32 addition at a time
        block = np.concatenate([acc[0:1], rows[i : i + level_step]], axis=0)
        acc[0] = np.cumsum(block, axis=0, dtype=_F32)[-1]
        i += level_step
        for j in range(1, num_levels):
            acc[j] = acc[j] + acc[j - 1]
            acc[j - 1] = 0
            if i & (level_mask << (j * level_power)):
                break
    if i < size:
        block = np.concatenate([acc[0:1], rows[i:size]], axis=0)
        acc[0] = np.cumsum(block, axis=0, dtype=_F32)[-1]
    for j in range(1, num_levels):
        acc[0] = acc[0] + acc[j]
    return acc[0]


def _ceil_log2(x: int) -> int:
    """ATen's `CeilLog2` (cpu/utils.h): 1 for x <= 2."""
    if x <= 2:
        return 1
    return (x - 1).bit_length()
