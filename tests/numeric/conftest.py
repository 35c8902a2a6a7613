"""The default tier's share of the broadest parametrized sweeps. Of each test named in
`THINNED`, every k-th case in collection order stays in the default tier and the others join
the slow tier, which runs them all: the default tier keeps each sweep's kinds of case within its
8-minute budget on 2 cores (README)."""

from __future__ import annotations

from collections import Counter

import pytest

THINNED = {
    "test_float_kernels.py::test_float_conv_and_dot_bit_exact": 4,
    "test_calibrate.py::test_ranges_match_onnxruntime": 2,
    "test_onnx_models.py::test_quantized_model_matches_onnxruntime": 2,
    "test_compiled.py::test_gemv_kernel_bit_exact": 2,
    "test_compiled.py::test_fast_integer_kernels_bit_exact": 3,
    "test_compiled.py::test_conv_and_dot_configurations_bit_exact": 3,
    "test_quantize_static.py::test_options_are_quantize_statics": 2,
    "test_quantize_static.py::test_tensor_overrides_are_quantize_statics": 2,
    "test_ort_graph_rules.py::test_float_subgraphs_fuse_as_onnxruntimes_session_fuses_them": 2,
    "test_ort_graph_rules.py::test_a_scaled_float_matmul_is_onnxruntimes_fused_matmul": 2,
    "test_ort_graph_rules.py::test_float_pools_of_quantized_models_are_onnxruntimes_nchwc_pools": 2,
    "test_quantize_random.py::test_static_seeds_that_found_onnxruntime_rules": 2,
    "test_onnxruntime_conformance.py::test_qlinearconv_edges": 2,
    "test_onnxruntime_conformance.py::test_convinteger_edges": 2,
    "test_ort_graph_rules.py::test_int8_groups_fuse_as_onnxruntimes_x86_session": 2,
    "test_onnxruntime_conformance.py::test_qlinearmatmul_edges": 2,
    "test_onnxruntime_conformance.py::test_matmulinteger_edges": 2,
    "test_compiled.py::test_quantize_round_modes_and_storage": 2,
    "test_float_math.py::test_exp_log_and_their_activations_are_onnxruntimes": 2,
}


@pytest.hookimpl(tryfirst=True)  # before `-m` selects by the marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    seen: Counter[str] = Counter()
    for item in items:
        key = f"{item.path.name}::{getattr(item, 'originalname', item.name)}"
        every = THINNED.get(key)
        if every is None or item.get_closest_marker("slow") is not None:
            continue
        if seen[key] % every:
            item.add_marker(pytest.mark.slow)
        seen[key] += 1
