"""Sub-channel types that say no more than a per-tensor or per-axis one.

Upstream MLIR's `normalize-quant-types` rule (rewrites/normalize_quant_types.py applies it to
a module; the ONNX importer to the types it builds): one parameter is per tensor; parameters
varying along one dimension, in blocks of 1 there, are per axis. Bounds, storage, expressed
type and zero points (their stored values) are kept.
"""

from __future__ import annotations

from qdialect.types import Granularity, UniformQuantizedType


def normalized_element(elem: UniformQuantizedType) -> UniformQuantizedType:
    """`elem` per tensor or per axis where that means the same, else `elem` itself."""
    if elem.granularity is not Granularity.SUB_CHANNEL:
        return elem
    shape = elem.shape_of_params
    bounds = {"qmin": elem.qmin, "qmax": elem.qmax}
    storage, expressed = elem.storage_type, elem.expressed_type
    spelling = ("i" if elem.signed else "u") + str(storage.width.data)
    if len(elem.scales) == 1:
        return UniformQuantizedType.per_tensor(
            spelling, expressed, elem.scales[0], elem.zero_points[0], **bounds
        )
    varying = [d for d, n in enumerate(shape) if n != 1]
    if len(varying) != 1 or dict(elem.block_size_info).get(varying[0]) != 1:
        return elem
    return UniformQuantizedType.per_axis(
        spelling, expressed, varying[0], elem.scales, elem.zero_points, **bounds
    )
