"""GridSample of NCHW images as ONNX Runtime's CPU kernel computes it (grid_sample.cc of 1.31.1;
measured bit for bit on ONNX's backend cases and 2160 random ones: every mode, padding and
align_corners), shared by `qnn.grid_sample`'s reference and C kernel. Every step is a float32
operation, in this order:

- the grid's normalized n in [-1, 1] to a pixel coordinate: `((n + 1) / 2) · (L − 1)` with
  `align_corners`, else `((n + 1) · L − 1) / 2`;
- padding acts on integer pixel indices: `zeros` reads 0 outside, `border` clamps the index,
  `reflection` mirrors it between the borders (−0.5 and L − 0.5, or 0 and L − 1 with
  `align_corners`) as `GsReflect` does (`reflect`);
- nearest: the coordinate rounded half to even; linear: the floor and the next index,
  `out = dy2·(dx2·p11 + dx1·p12) + dy1·(dx2·p21 + dx1·p22)`, except that linear with zeros
  padding and no `align_corners` weighs first, `((w11·p11 + w12·p12) + w21·p21) + w22·p22`,
  and gives +0 where no neighbour is inside; cubic: the 4 × 4 block from floor − 1 with Keys'
  coefficients (a = −0.75) of `x − x0 − 1`, rows first, each sum left to right.

A NaN coordinate (reflection across a side of one pixel with `align_corners`) reads index 0,
where ORT's wrapped index arithmetic lands.
"""

from __future__ import annotations

import numpy as np

F32 = np.float32
MODES = ("linear", "nearest", "cubic")
PADDINGS = ("zeros", "border", "reflection")
CUBIC_A = F32(-0.75)


def denormalize(n: np.ndarray, length: int, align_corners: bool) -> np.ndarray:
    one, two = F32(1), F32(2)
    if align_corners:
        return ((n + one) / two * F32(length - 1)).astype(F32)
    return (((n + one) * F32(length) - one) / two).astype(F32)


def borders(length: int, align_corners: bool) -> tuple[F32, F32]:
    if align_corners:
        return F32(0), F32(F32(length) - F32(1))
    return F32(-0.5), F32(F32(length) - F32(0.5))


def reflect(index: np.ndarray, low: F32, high: F32) -> np.ndarray:
    """`GsReflect` of integer indices (as float32), as an int64 index again (NaN: 0)."""
    x = index.astype(F32)
    span = F32(high - low)
    with np.errstate(all="ignore"):
        below = (low - x).astype(F32)
        above = (x - high).astype(F32)
        distance = np.where(x < low, below, above).astype(F32)
        quotient = (distance / span).astype(F32)
        whole = np.trunc(quotient).astype(F32)
        rest = (distance - (whole * span).astype(F32)).astype(F32)
        odd = np.where(np.isfinite(quotient), np.fmod(np.trunc(quotient), 2) != 0, False)
        from_low = (low + rest).astype(F32)
        from_high = (high - rest).astype(F32)
        mirrored = np.where((x < low) != odd, from_low, from_high)
        y = np.where((x < low) | (x > high), mirrored, x)
    return np.where(np.isnan(y), 0, np.trunc(np.nan_to_num(y))).astype(np.int64)


def cubic_coefficients(t: np.ndarray) -> tuple[np.ndarray, ...]:
    """Keys' four coefficients of |t| (`GsGetCubicCoeffs`), each step rounded."""
    a = CUBIC_A
    x = np.abs(t).astype(F32)
    one, two = F32(1), F32(2)
    a5, a8, a4, a2, a3 = F32(5 * a), F32(8 * a), F32(4 * a), F32(a + 2), F32(a + 3)

    def outer(u):
        return (((((a * u).astype(F32) - a5) * u).astype(F32) + a8) * u - a4).astype(F32)

    def inner(u):
        return ((((a2 * u).astype(F32) - a3) * u).astype(F32) * u + one).astype(F32)

    return (
        outer((x + one).astype(F32)),
        inner(x),
        inner((one - x).astype(F32)),
        outer((two - x).astype(F32)),
    )


def grid_sample(
    x: np.ndarray, grid: np.ndarray, mode: str, padding: str, align_corners: bool
) -> np.ndarray:
    """`x` [N, C, H, W] sampled at `grid` [N, Ho, Wo, 2] (module docstring): [N, C, Ho, Wo]."""
    x = np.asarray(x, F32)
    n_images, _, height, width = x.shape
    with np.errstate(all="ignore"):
        gx = denormalize(np.asarray(grid[..., 0], F32), width, align_corners)
        gy = denormalize(np.asarray(grid[..., 1], F32), height, align_corners)
        images = np.arange(n_images)[:, None, None]
        low_x, high_x = borders(width, align_corners)
        low_y, high_y = borders(height, align_corners)

        def read(rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
            """Pixels at integer indices through the padding: [N, C, Ho, Wo]."""
            inside = None
            if padding == "zeros":
                inside = (rows >= 0) & (rows < height) & (columns >= 0) & (columns < width)
            if padding == "reflection":
                rows, columns = reflect(rows, low_y, high_y), reflect(columns, low_x, high_x)
            rows, columns = np.clip(rows, 0, height - 1), np.clip(columns, 0, width - 1)
            values = np.moveaxis(x[images, :, rows, columns], -1, 1)
            return values if inside is None else np.where(inside[:, None], values, F32(0))

        if mode == "nearest":
            return read(_index(np.rint(gy)), _index(np.rint(gx)))
        if mode == "linear":
            x1, y1 = _index(np.floor(gx)), _index(np.floor(gy))
            x2, y2 = x1 + 1, y1 + 1
            dx2, dx1 = (x2.astype(F32) - gx).astype(F32), (gx - x1.astype(F32)).astype(F32)
            dy2, dy1 = (y2.astype(F32) - gy).astype(F32), (gy - y1.astype(F32)).astype(F32)
            dx2, dx1, dy2, dy1 = (d[:, None] for d in (dx2, dx1, dy2, dy1))
            p11, p12, p21, p22 = read(y1, x1), read(y1, x2), read(y2, x1), read(y2, x2)
            if padding == "zeros" and not align_corners:  # ORT's fast path: weights first
                total = ((dy2 * dx2).astype(F32) * p11).astype(F32)
                total = (total + ((dy2 * dx1).astype(F32) * p12).astype(F32)).astype(F32)
                total = (total + ((dy1 * dx2).astype(F32) * p21).astype(F32)).astype(F32)
                total = (total + ((dy1 * dx1).astype(F32) * p22).astype(F32)).astype(F32)
                near = ((x1 >= 0) & (x1 < width)) | ((x2 >= 0) & (x2 < width))
                near &= ((y1 >= 0) & (y1 < height)) | ((y2 >= 0) & (y2 < height))
                return np.where(near[:, None], total, F32(0)).astype(F32)
            top = ((dx2 * p11).astype(F32) + (dx1 * p12).astype(F32)).astype(F32)
            bottom = ((dx2 * p21).astype(F32) + (dx1 * p22).astype(F32)).astype(F32)
            return ((dy2 * top).astype(F32) + (dy1 * bottom).astype(F32)).astype(F32)
        x0, y0 = _index(np.floor(gx)) - 1, _index(np.floor(gy)) - 1
        cx = cubic_coefficients((gx - x0.astype(F32)).astype(F32) - F32(1))
        cy = cubic_coefficients((gy - y0.astype(F32)).astype(F32) - F32(1))
        rows = []
        for h in range(4):
            total = (cx[0][:, None] * read(y0 + h, x0)).astype(F32)
            for w in range(1, 4):
                term = (cx[w][:, None] * read(y0 + h, x0 + w)).astype(F32)
                total = (total + term).astype(F32)
            rows.append(total)
        total = (cy[0][:, None] * rows[0]).astype(F32)
        for h in range(1, 4):
            total = (total + (cy[h][:, None] * rows[h]).astype(F32)).astype(F32)
        return total


def _index(values: np.ndarray) -> np.ndarray:
    """`static_cast<int64_t>` of a float32 (x86-64: NaN and out of range give INT64_MIN)."""
    finite = np.isfinite(values) & (np.abs(values) < 2.0**62)
    return np.where(finite, np.trunc(np.where(finite, values, 0)), -(2**62)).astype(np.int64)
