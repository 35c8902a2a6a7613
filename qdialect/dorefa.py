"""DoReFa-Net's k-bit weights as NNI computes them, stored as integers.

NNI's `DoReFaQuantizer.quantize_weight` (nni/algorithms/compression/pytorch/quantization/
dorefa_quantizer.py), in float32 torch:

    t = tanh(w);  t = t / (2·max|t|) + 0.5;  n = round(t·(2^k − 1));  w_q = 2·n/(2^k − 1) − 1

`torch.round` rounds half to even. The k-bit level n in [0, L] (L = 2^k − 1) makes
w_q = (2n − L)/L: the odd integer m = 2n − L in [−L, L] with scale 1/L and zero point 0 holds
it, in k + 1 signed bits (0 is no level: L is odd, so no integer zero point fits k bits).
The stored m are NNI's levels exactly; the dequantized real `fl(m · fl(1/L))` and NNI's
`fl(2·fl(n/L) − 1)` are two roundings of the same rational m/L and can differ by one ulp.
tanh is taken in float64 and rounded to float32 once (numpy's float32 tanh is off by one ulp
on a third of the values, torch's on about 0.02 %; only a value landing on a level boundary
would move).
"""

from __future__ import annotations

import numpy as np

from qdialect.ort_qparams import QParams, QType

STORAGE = (QType.QInt4, QType.QInt8, QType.QInt16)  # signed storages, narrowest first


def dorefa_levels(weights: np.ndarray, bits: int) -> np.ndarray:
    """NNI's level n = round(t·(2^k − 1)) per weight, int64 in [0, 2^k − 1]."""
    w = np.asarray(weights, np.float32)
    t = np.tanh(w.astype(np.float64)).astype(np.float32)
    peak = np.abs(t).max() if t.size else np.float32(0)
    if peak == 0:
        raise ValueError("DoReFa needs a nonzero weight (max|tanh(w)| is 0)")
    t = t / (np.float32(2) * peak) + np.float32(0.5)
    return np.rint(t * np.float32(2**bits - 1)).astype(np.int64)


def dorefa_storage(bits: int) -> QType:
    """The narrowest signed storage holding m = 2n − L (k + 1 bits)."""
    for qtype in STORAGE:
        if bits + 1 <= qtype.bits:
            return qtype
    raise ValueError(f"DoReFa with {bits} bits needs {bits + 1}-bit storage (at most 16 exist)")


def dorefa_weights(weights: np.ndarray, bits: int) -> tuple[np.ndarray, QParams]:
    """(stored integers m = 2n − L, their per-tensor parameters: scale fl(1/L), zero point 0)."""
    if not 1 <= bits <= 15:
        raise ValueError(f"DoReFa bits must be in 1..15, got {bits}")
    levels = 2**bits - 1
    stored = 2 * dorefa_levels(weights, bits) - levels
    scale = np.array(np.float32(1) / np.float32(levels), np.float32)
    return stored, QParams(np.array(0, np.int64), scale, dorefa_storage(bits))
