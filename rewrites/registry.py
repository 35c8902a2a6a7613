"""Pass registry: pass name -> factory returning the `ModulePass` class.

`qopt -p` and `xdsl-opt -p` (through the `xdsl.universe` entry point) look passes up here.
Factories import lazily so that listing passes costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from xdsl.passes import ModulePass

_LOCATIONS = {
    "fold-scaled-builders": ("rewrites.fold_scaled", "FoldScaledBuildersPass"),
    "quant-to-qnn": ("rewrites.quant_to_qnn", "QuantToQnnPass"),
    "drop-float-casts": ("rewrites.float_casts", "DropFloatCastsPass"),
    "remove-double-qdq": ("rewrites.double_qdq", "RemoveDoubleQdqPass"),
    "merge-equal-quantizes": ("rewrites.equal_quantizes", "MergeEqualQuantizesPass"),
    "qdq-propagation": ("rewrites.qdq_propagation", "QdqPropagationPass"),
    "activation-quant-fusion": ("rewrites.activation_quant_fusion", "ActivationQuantFusionPass"),
    "s8-to-u8": ("rewrites.s8_to_u8", "S8ToU8Pass"),
    "fold-qdq": ("rewrites.fold_qdq", "FoldQdqPass"),
    "fake-to-qdq": ("rewrites.fake_quant", "FakeToQdqPass"),
    "fuse-conv-dot": ("rewrites.fuse", "FuseConvDotPass"),
    "batched-matmul-dots": ("rewrites.batched_matmul", "BatchedMatmulDotsPass"),
    "lower-requant-fixed-point": ("rewrites.fixed_point", "LowerRequantFixedPointPass"),
    "u8-to-i8": ("rewrites.u8_to_i8", "U8ToI8Pass"),
    "symmetric-schema": ("rewrites.symmetric", "SymmetricSchemaPass"),
    "qnn-default": ("rewrites.pipeline", "QnnDefaultPass"),
    "nhwc-layout": ("rewrites.nhwc_layout", "NhwcLayoutPass"),
    "fold-dequantized-filters": ("rewrites.dequantized_filters", "FoldDequantizedFiltersPass"),
    "instrument": ("rewrites.instrument", "InstrumentPass"),
    "mlas-threads": ("rewrites.mlas_threads", "MlasThreadsPass"),
    "normalize-quant-types": ("rewrites.normalize_quant_types", "NormalizeQuantTypesPass"),
    "lower-batch-norm": ("rewrites.batch_norm", "LowerBatchNormPass"),
    "weight-bias-quantization": (
        "rewrites.weight_bias_quantization",
        "WeightBiasQuantizationPass",
    ),
}


def _factory(module: str, name: str) -> Callable[[], type[ModulePass]]:
    return lambda: getattr(import_module(module), name)


PASSES: dict[str, Callable[[], type[ModulePass]]] = {
    pass_name: _factory(*where) for pass_name, where in _LOCATIONS.items()
}
