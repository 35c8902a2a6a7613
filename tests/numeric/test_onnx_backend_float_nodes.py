"""ONNX's own backend node tests of the float ops around quantized ones (Conv, ConvTranspose,
pools, Gemm, MatMul, normalizations, activations, Resize, data movement, comparisons...), with
their parameters as initializers, as a deployed model holds them: each case either imports and
computes what ONNX Runtime computes (its calibrator's session: no graph optimizations, one
thread), bit for bit, from the compiled code and the reference alike, with the case's output
types and shapes; or the importer refuses it with one line naming the node. Never a crash,
never a wrong answer. (Cases whose inputs are strings, sequences, optionals or other float
widths are left out; where ORT cannot load a case, its expected outputs are the check, with
ONNX's tolerance.)

Generating the cases takes ~5 s, compiling each ~0.5 s: the slow tier runs them, the default
tier the cases of `MUST_IMPORT`, which must import (each stands for a family the importer
takes: a refusal there is a failure)."""

from __future__ import annotations

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")

from codegen.c_text import CodegenError  # noqa: E402
from qdialect.onnx_import import OnnxImportError, import_onnx  # noqa: E402
from runtime.compiled import compile_module  # noqa: E402
from runtime.reference import run_function  # noqa: E402

from .onnx_backend_cases import BackendCase, float_op_cases  # noqa: E402

MUST_IMPORT = {
    "test_convtranspose_output_shape",  # output past the taps' reach
    "test_convtranspose_1d",
    "test_convtranspose_group_2",
    "test_averagepool_2d_dilations",  # opset 19's own loop
    "test_maxpool_2d_ceil",
    "test_resize_upsample_scales_nearest_axes_2_3",  # opset 18's axes
    "test_resize_upsample_sizes_nearest_not_smaller",  # ... and keep_aspect_ratio_policy
    "test_equal_bcast",  # a BOOL output
    "test_where_example",  # a BOOL input made a constant
    "test_gemm_transposeA",
    "test_gemm_all_attributes",  # alpha and beta: MLAS's scaled blocks from beta·C
    "test_gemm_default_matrix_bias",  # C [M, N]: the sums start from it
    "test_gathernd_example_int32",  # run-time integers: one gather
    "test_instancenorm_example",
    "test_softmax_axis_0",
    "test_hardswish",
    "test_reciprocal",
    "test_neg",
    "test_abs",
    "test_sum_example",  # three inputs, added left to right
    "test_depthtospace_crd_mode_example",
    "test_spacetodepth_crd_mode_example",
    "test_gelu_default_2",  # ORT's Gelu kernel (opset 20)
    "test_gelu_tanh_2",
    "test_gelu_tanh_1_expanded",  # CastLike of literals, to a run-time tensor's type
    "test_leakyrelu_expanded",  # a Constant's value_float
    "test_reduce_mean_keepdims_random",  # FastReduceKRK: MLAS's product by ones
    "test_reduce_sum_negative_axes_keepdims_random",
    "test_group_normalization_example",  # ORT runs ONNX's function body (`functions`)
    "test_group_normalization_epsilon_expanded",
    "test_exp",  # MLAS's exp kernel
    "test_log",  # Eigen's SSE packets, then glibc's logf on the last size % 4
    "test_softplus",
    "test_elu",
    "test_selu",
    "test_mish",  # Softplus, Tanh, Mul: ONNX's function body, as ORT runs it
    "test_mean_example",  # three inputs, their sum times the float32 1/3
    "test_floor",  # of a run-time tensor (constants fold)
    "test_ceil",
    "test_sign",
    "test_sum_one_input",  # ORT copies the one input
    "test_mean_one_input",
    "test_reduce_sum_empty_axes_input_noop",  # noop_with_empty_axes: the input copied
    "test_matmul_1d_1d",  # a vector is a matrix of one row (A) or one column (B)
    "test_matmul_4d_1d",
    "test_matmul_bcast",  # batch dimensions broadcast both ways: both expanded
    "test_shape",  # a constant graph output
    "test_dropout_default_mask",  # ... an all-true mask
    "test_averagepool_1d_default",  # the 2-D pool over a height of 1
    "test_maxpool_1d_default",
    "test_layer_normalization_4d_axis1",  # its Mean and InvStdDev too
    "test_layer_normalization_2d_axis0",
    "test_lrn",  # Eigen's packet pow, then powf on the last size % 4
    "test_lrn_default",
    "test_pow_types_float32_int64",  # C's pow in double, rounded
    "test_wrap_pad",
    "test_resize_upsample_scales_cubic_A_n0p5_exclude_outside",  # ORT's ResizeBiCubic
    "test_resize_downsample_sizes_cubic",
    "test_logsoftmax_axis_1",  # MLAS's sum, then (x - max) - logf(sum)
    "test_sce_mean_weight",  # ORT runs ONNX's function body (LogSoftmax, GatherElements...)
    "test_nllloss_NCd1d2_with_weight_reduction_mean",
    "test_center_crop_pad_crop_and_pad",
    "test_triu_neg",  # a constant mask: Where(mask, x, 0) (`compositions`)
    "test_tril_one_row_neg",
    "test_thresholdedrelu",
    "test_shrink_soft",
    "test_softsign",  # times the reciprocal of 1 + |x|, as ORT's Eigen expression
    "test_isnan",
    "test_isinf",
    "test_hardmax_axis_1",  # ArgMax's first maximum against the positions
    "test_onehot_negative_indices",
    "test_onehot_with_axis",  # float indices, truncated
    "test_eyelike_populate_off_main_diagonal",  # a constant of the input's static shape
    "test_scatternd_add",  # a gather of data and updates at constant positions, then rounds
    "test_scatter_elements_with_duplicate_indices",
    "test_scatter_elements_with_reduction_max",
    "test_gathernd_example_int32_batch_dim1",
    "test_mod_mixed_sign_int64",  # the divisor's sign (fmod 0)
    "test_mod_int64_fmod",  # C's %
    "test_mod_mixed_sign_float32",  # fmodf
    "test_mod_float_edge_cases_fmod_0_float32",  # numpy's mod of floats (ONNX's reference)
    "test_reduce_l1_keep_dims_random",  # in order from +0.0, `x > 0 ? x : -x`
    "test_reduce_l2_default_axes_keepdims_random",  # every axis: Eigen's sum of the buffer
    "test_reduce_sum_square_negative_axes_keepdims_random",
    "test_reduce_log_sum_asc_axes",  # glibc's logf of the sum
    "test_reduce_prod_default_axes_keepdims_random",  # Eigen's product: the sum's order
    "test_rms_normalization_3d_axis1_epsilon",  # ORT's SimplifiedLayerNormalization kernel
    "test_attention_4d_gqa_with_past_and_present",  # ORT's kernel as standard steps
    "test_attention_3d_attn_mask",  # a float mask: the fused multiply-add steps
    "test_attention_4d_attn_mask_bool_4d",
    "test_attention_4d_causal_nonpad_batch_prefill",  # opset 24's lengths
    "test_attention_4d_with_qk_matmul_softmax",
    "test_attention_4d_softcap_neginf_mask",  # cap · tanhf(x / cap), glibc's tanhf
    "test_rotary_embedding_with_interleaved_rotary_dim",  # qnn.rotary: MLAS's fused steps
    "test_rotary_embedding_3d_input",
    "test_rotary_embedding_no_position_ids",
    "test_col2im_dilations",  # ConvTranspose's qnn.col2im
    "test_l2normalization_axis_0",  # the norm in order; a zero vector stays 0
    "test_sinh",  # glibc's sinhf, as ORT calls it
    "test_sin",  # Eigen's psin, glibc on the tail
    "test_acos",
    "test_gridsample_bicubic_align_corners_0_additional_1",  # qnn.grid_sample
    "test_gridsample_reflection_padding",
    "test_upsample_nearest",  # opset 9: Resize-11 asymmetric, "simple" rounding
    "test_training_dropout_zero_ratio_mask",  # ratio 0: ORT copies
    "test_lstm_with_peepholes",  # unrolled: MLAS's GEMMs, logistic and tanh, in ORT's order
    "test_gru_with_initial_bias",  # deepcpu's scalar rational tanh for the reset and output
    "test_attention_local_window_with_past",  # opset 25: ONNX's function body
    "test_maxpool_3d_dilations",  # qnn.pool3d: ORT's own loop
    "test_averagepool_3d_dilations_large_count_include_pad_is_1_ceil_mode_is_True",
    "test_maxpool_3d_default",  # ... MLAS's vector kernel
    "test_rnn_seq_length",
    "test_celu",  # Eigen's SSE packets of max(x, 0) + min(alpha·(exp(x / alpha) - 1), 0)
    "test_clip_min_greater_than_max",
    "test_bitshift_right_int32_shift_ge_width",  # ONNX's rule: every bit out, the sign fills
    "test_bitshift_left_int32_overflow",  # wraps around
    "test_bitwise_not_2d",  # a xor with all ones
    "test_compress_default_axis",  # a constant condition: a gather of the flattened input  # every number max, as ORT's cwiseMax().cwiseMin()  # 2·σ(2x) − 1, σ through glibc's expf; MLAS's unpacked GEMMs
}


def _param(case: BackendCase):
    slow = [] if case.name in MUST_IMPORT else [pytest.mark.slow]
    return pytest.param(case, id=case.name, marks=slow)


CASES = [_param(case) for case in float_op_cases()]


def test_every_must_import_case_is_generated() -> None:
    assert {case.name for case in float_op_cases()} >= MUST_IMPORT


def ort_outputs(case: BackendCase) -> list[np.ndarray] | None:
    """ORT's outputs (no graph optimizations, one thread), None where it cannot load the case
    (an IR version it does not know)."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(
            case.model.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )
    except Exception:  # noqa: BLE001 - ORT's load errors have no common type
        return None
    return session.run(None, case.inputs)


def bits(values: np.ndarray) -> bytes:
    """The array's bytes, every float NaN as one (a NaN's sign and payload are no part of it)."""
    if values.dtype.kind == "f":
        values = np.where(np.isnan(values), np.float32(np.nan).astype(values.dtype), values)
    return np.ascontiguousarray(values).tobytes()


@pytest.mark.parametrize("case", CASES)
def test_float_node_case_is_onnxruntimes_or_refused_by_name(case: BackendCase) -> None:
    try:
        module = import_onnx(case.model)
        compiled = compile_module(module, threads=1)
    except (OnnxImportError, CodegenError) as err:
        message = str(err)
        assert case.name not in MUST_IMPORT, message
        assert "\n" not in message and "Traceback" not in message
        assert (
            message.split(":")[0].startswith(("node ", "graph ")) or "unsupported node" in message
        )
        return
    got = compiled(**case.inputs)
    reference = run_function(module, case.inputs)
    theirs = ort_outputs(case)
    for index, (name, expected) in enumerate(case.outputs.items()):
        ours = got[index]
        assert ours.dtype == expected.dtype and ours.shape == expected.shape, name
        assert bits(reference[index]) == bits(ours), name
        if theirs is not None:
            assert bits(ours) == bits(theirs[index]), name
        elif ours.dtype.kind == "f":
            np.testing.assert_allclose(ours, expected, rtol=1e-3, atol=1e-7)
        else:
            assert np.array_equal(ours, expected), name
