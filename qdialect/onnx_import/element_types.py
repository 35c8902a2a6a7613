"""ONNX element types of quantized tensors: our storage spelling for each, or a refusal by name.

ONNX quantizes to 2-, 4-, 8- and 16-bit integers and (opset 19+/23) to float8/float4. Our
`!quant.uniform` storage expresses every integer width (`i4`/`u4`/`i2`/`u2` included); MLIR 22's
`quant.uniform` has no float storage (`mlir-opt` 22.1.8 rejects `!quant.uniform<f8E4M3FN:f32,
0.5>`), so float8/float4 data is refused with its ONNX name rather than approximated.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np

from qdialect.onnx_import.errors import NodeError

STORAGE_OF_DTYPE = {
    np.dtype(np.uint8): "u8",
    np.dtype(np.int8): "i8",
    np.dtype(np.uint16): "u16",
    np.dtype(np.int16): "i16",
    np.dtype(np.int32): "i32",
    np.dtype(ml_dtypes.uint4): "u4",
    np.dtype(ml_dtypes.int4): "i4",
    np.dtype(ml_dtypes.uint2): "u2",
    np.dtype(ml_dtypes.int2): "i2",
}
DTYPE_OF_STORAGE = {storage: dtype for dtype, storage in STORAGE_OF_DTYPE.items()}

# numpy (ml_dtypes) names of the float storage types ONNX has and quant.uniform has not.
FLOAT_STORAGE = {
    "float8_e4m3fn": "FLOAT8E4M3FN",
    "float8_e4m3fnuz": "FLOAT8E4M3FNUZ",
    "float8_e5m2": "FLOAT8E5M2",
    "float8_e5m2fnuz": "FLOAT8E5M2FNUZ",
    "float8_e8m0fnu": "FLOAT8E8M0",
    "float6_e2m3fn": "FLOAT6E2M3",
    "float6_e3m2fn": "FLOAT6E3M2",
    "float4_e2m1fn": "FLOAT4E2M1",
}


def refuse_float_storage(dtype: np.dtype) -> None:
    """A `NodeError` naming float8/6/4 storage (`dtype`), which quant.uniform cannot hold."""
    onnx_name = FLOAT_STORAGE.get(np.dtype(dtype).name)
    if onnx_name is not None:
        family = onnx_name[:6].lower()  # float8, float6, float4
        raise NodeError(
            f"{family} storage ({onnx_name}) is not representable in MLIR 22's quant.uniform"
        )


def storage_of(dtype: np.dtype, what: str) -> str:
    """The storage spelling (`u8`, `i4`, ...) of quantized data of numpy type `dtype`; float
    storage and anything else is a `NodeError` that names `what`."""
    refuse_float_storage(dtype)
    storage = STORAGE_OF_DTYPE.get(np.dtype(dtype))
    if storage is None:
        raise NodeError(f"{what} has unsupported type {np.dtype(dtype)}")
    return storage


def onnx_dtype(elem_type: int) -> np.dtype:
    """The numpy type of ONNX element type `elem_type` (a `TensorProto.DataType` value)."""
    from onnx import helper

    return np.dtype(helper.tensor_dtype_to_np_dtype(elem_type))
