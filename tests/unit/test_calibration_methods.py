"""qdialect.calibration's ONNX Runtime methods against ONNX Runtime 1.31.1: identical float32
ranges, plus the options, plans and checks every method shares.

The same seeded arrays (`calibration_data`) go to ONNX Runtime (its calibrators on a
one-Identity model for minmax, its `HistogramCollector` for the histogram methods) and to ours:
`TensorStats` built with numpy from the arrays, the histogram counted with np.histogram over the
edges `histogram_edges` gives. torch (mse) and Glow (kl-glow): test_calibration_mse_glow.py.
"""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np
import pytest

from qdialect.calibration.histograms import (
    count_histogram,
    histogram_edges,
    histogram_plan,
)
from qdialect.calibration.methods import choose_range, choose_ranges
from qdialect.calibration.options import CalibrationOptions
from qdialect.calibration.stats import HistogramKind

from .calibration_data import F32, FINITE, assert_same_range, datasets, flat, make_stats

# ---------------------------------------------------------------------------------------------
# ONNX Runtime: minmax through its calibrator


@pytest.fixture(scope="module")
def identity_model(tmp_path_factory):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "identity",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 40])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 40])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    path = tmp_path_factory.mktemp("calib") / "identity.onnx"
    onnx.save(model, str(path))
    return path


def ort_calibrate(model_path, samples, method: str, calibrator_options: dict, stride=None):
    """Ranges of tensor x as quantize_static computes them (create_calibrator + collect_data,
    once per CalibStridedMinMax chunk, + compute_data)."""
    calibrate = pytest.importorskip("onnxruntime.quantization.calibrate")

    class Reader(calibrate.CalibrationDataReader):
        def __init__(self, items):
            self.items = iter(items)

        def get_next(self):
            item = next(self.items, None)
            return None if item is None else {"x": item}

    calibrator = calibrate.create_calibrator(
        str(model_path),
        None,
        str(model_path.parent / f"augmented_{method}.onnx"),
        calibrate_method=getattr(calibrate.CalibrationMethod, method),
        extra_options=calibrator_options,
    )
    chunk = stride or len(samples)
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for begin in range(0, len(samples), chunk):
            calibrator.collect_data(Reader(samples[begin : begin + chunk]))
        return calibrator.compute_data()["x"].range_value


MINMAX_CASES = {
    "default": ({}, {}),
    "symmetric": ({"symmetric": True}, {"CalibTensorRangeSymmetric": True}),
    "moving_average": ({"moving_average": True}, {"CalibMovingAverage": True}),
    "moving_average_symmetric": (
        {"moving_average": True, "symmetric": True},
        {"CalibMovingAverage": True, "CalibTensorRangeSymmetric": True},
    ),
    "averaging_constant": (
        {"moving_average": True, "averaging_constant": 0.3},
        {"CalibMovingAverage": True, "CalibMovingAverageConstant": 0.3},
    ),
    "max_intermediate_outputs": (
        {"max_intermediate_outputs": 4},
        {"CalibMaxIntermediateOutputs": 4},
    ),
}

STRIDED_CASES = {
    "strided": ({}, {"CalibStridedMinMax": 2}),
    "strided_moving_average": (
        {"moving_average": True},
        {"CalibStridedMinMax": 2, "CalibMovingAverage": True},
    ),
    "strided_symmetric_max_outputs": (
        {"symmetric": True, "max_intermediate_outputs": 3},
        {
            "CalibStridedMinMax": 2,
            "CalibTensorRangeSymmetric": True,
            "CalibMaxIntermediateOutputs": 3,
        },
    ),
}

MINMAX_DATA = ["normal", "skewed", "all_equal", "all_negative", "all_zero", "nan", "inf"]


@pytest.mark.parametrize("case", list(MINMAX_CASES) + list(STRIDED_CASES))
@pytest.mark.parametrize("data", MINMAX_DATA)
def test_minmax_equals_onnxruntime(identity_model, data, case):
    calibrator_options, extra_options = {**MINMAX_CASES, **STRIDED_CASES}[case]
    samples = datasets()[data]
    if data == "nan":
        # ORT's per-sample ReduceMin (Eigen) ignores or propagates NaN depending on where it
        # sits; a sample of NaN only gives NaN in both, which np.nanmin then skips.
        samples = tuple(s if np.isnan(s).all() else np.nan_to_num(s, nan=0.5) for s in samples)
    samples = samples[:6] if len(samples) >= 6 else samples + samples[: 6 - len(samples)]
    options = CalibrationOptions.from_extra_options("MinMax", extra_options)
    lowest, highest = ort_calibrate(
        identity_model, samples, "MinMax", calibrator_options, options.strided_minmax
    )
    ours = choose_range(make_stats("x", samples), options)
    assert_same_range(ours, lowest, highest)


def test_minmax_max_intermediate_outputs_drops_data_as_onnxruntime(identity_model):
    """1.31.1 clears its buffer every n outputs without using it: n = 3 of 6 samples keeps
    nothing, and both raise "No data is collected."."""
    samples = datasets()["normal"]
    options = CalibrationOptions(max_intermediate_outputs=3)
    with pytest.raises(ValueError, match="No data is collected"):
        ort_calibrate(identity_model, samples, "MinMax", {"max_intermediate_outputs": 3})
    with pytest.raises(ValueError, match="No data is collected"):
        choose_range(make_stats("x", samples), options)


def test_minmax_stride_must_divide_samples():
    options = CalibrationOptions.from_extra_options("MinMax", {"CalibStridedMinMax": 4})
    with pytest.raises(ValueError, match=r"Total data size \(6\) is not divisible by stride"):
        choose_range(make_stats("x", datasets()["normal"]), options)


@pytest.mark.parametrize(
    "method,options",
    [("Entropy", CalibrationOptions("entropy")), ("Percentile", CalibrationOptions("percentile"))],
)
def test_quantize_static_defaults_through_create_calibrator(identity_model, method, options):
    """create_calibrator with quantize_static's (empty) options: entropy 128/128 bins,
    percentile symmetric 2048 bins 99.999."""
    samples = datasets()["skewed"]
    lowest, highest = ort_calibrate(identity_model, samples, method, {})
    ours = choose_range(make_stats("x", samples, histogram_plan(options)), options)
    assert_same_range(ours, lowest, highest)


# ---------------------------------------------------------------------------------------------
# ONNX Runtime: histogram methods through HistogramCollector

HISTOGRAM_CASES = {
    "percentile_symmetric": CalibrationOptions("percentile"),
    "percentile_asymmetric": CalibrationOptions("percentile", symmetric=False),
    "percentile_99": CalibrationOptions("percentile", percentile=99.0, num_bins=512),
    "percentile_99_asymmetric": CalibrationOptions(
        "percentile", symmetric=False, percentile=99.0, num_bins=300
    ),
    "entropy_quantize_static": CalibrationOptions("entropy"),
    "entropy_256_128": CalibrationOptions("entropy", num_bins=256, num_quantized_bins=128),
    "entropy_64_16": CalibrationOptions("entropy", num_bins=64, num_quantized_bins=16),
    "entropy_odd": CalibrationOptions("entropy", num_bins=101, num_quantized_bins=33),
    "distribution": CalibrationOptions("distribution"),
}


def ort_collect(samples, options: CalibrationOptions):
    """(range, edges, counts) from ORT's HistogramCollector on all samples at once."""
    calibrate = pytest.importorskip("onnxruntime.quantization.calibrate")
    collector = calibrate.HistogramCollector(
        method=options.method,
        symmetric=options.symmetric,
        num_bins=options.num_bins,
        num_quantized_bins=options.num_quantized_bins,
        percentile=options.percentile,
        scenario=options.scenario,
    )
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        collector.collect({"t": list(samples)})
        result = collector.compute_collection_result()["t"]
    lowest, highest = result.range_value if hasattr(result, "range_value") else result[:2]
    counts, edges = collector.histogram_dict["t"][:2]
    return (lowest, highest), edges, counts


@pytest.mark.parametrize("case", list(HISTOGRAM_CASES))
@pytest.mark.parametrize("data", FINITE + ["nan"])
def test_histogram_methods_equal_onnxruntime(data, case):
    options = HISTOGRAM_CASES[case]
    samples = datasets()[data]
    plan = histogram_plan(options)
    if data == "nan" and plan[0] is HistogramKind.ABSOLUTE:
        # ORT's np.histogram(|x|) raises on NaN ("autodetected range of [nan, nan] is not
        # finite"); ours skips NaN: the same as ORT on the values without NaN.
        with pytest.raises(ValueError, match="not finite"):
            ort_collect(samples, options)
        values = flat(samples)
        samples = (values[~np.isnan(values)],)
    (lowest, highest), edges, counts = ort_collect(samples, options)
    stats = make_stats("t", datasets()[data], plan)
    assert stats.histogram.edges.dtype == F32
    assert np.array_equal(stats.histogram.edges.view(np.uint32), edges.view(np.uint32))
    assert np.array_equal(stats.histogram.counts, counts)
    # the reference counting rule gives numpy's counts
    values = flat(datasets()[data])
    assert np.array_equal(count_histogram(plan[0], edges, values), counts)
    assert_same_range(choose_range(stats, options), lowest, highest)


@pytest.mark.parametrize("case", ["percentile_symmetric", "entropy_quantize_static"])
def test_histogram_methods_fail_on_inf_as_onnxruntime(case):
    options = HISTOGRAM_CASES[case]
    samples = datasets()["inf"]
    with pytest.raises(ValueError, match="not finite"):
        ort_collect(samples, options)
    stats = make_stats("t", samples)
    with pytest.raises(ValueError, match="not finite"):
        histogram_edges(*histogram_plan(options), stats)


def test_asymmetric_percentile_of_a_constant_is_inverted_as_in_onnxruntime():
    """ORT's [-T, T] histogram puts a constant in the bin below T; the cut lands on that
    bin's lower edge while lowest is clipped to the constant: lowest > highest."""
    options = HISTOGRAM_CASES["percentile_asymmetric"]
    (lowest, highest), _, _ = ort_collect(datasets()["all_equal"], options)
    ours = choose_range(make_stats("t", datasets()["all_equal"], histogram_plan(options)), options)
    assert_same_range(ours, lowest, highest)
    assert ours.lowest > ours.highest


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize(
    "options",
    [
        CalibrationOptions("entropy", num_bins=2048, num_quantized_bins=128),
        CalibrationOptions("entropy", num_bins=1001, num_quantized_bins=255),
        CalibrationOptions("percentile", num_bins=2048),
        CalibrationOptions("percentile", num_bins=2048, symmetric=False, percentile=99.9),
    ],
    ids=["entropy_2048", "entropy_1001_255", "percentile", "percentile_asym"],
)
def test_histogram_methods_sweep(seed, options):
    rng = np.random.default_rng(seed)
    scale = rng.choice([1e-3, 1.0, 50.0])
    samples = [
        (rng.standard_t(3, (4, 64)) * scale + rng.choice([0.0, scale])).astype(F32)
        for _ in range(int(rng.integers(1, 8)))
    ]
    (lowest, highest), _, _ = ort_collect(samples, options)
    ours = choose_range(make_stats("t", samples, histogram_plan(options)), options)
    assert_same_range(ours, lowest, highest)


# ---------------------------------------------------------------------------------------------
# edges, plans, options


def test_histogram_plan():
    assert histogram_plan(CalibrationOptions("minmax")) is None
    assert histogram_plan(CalibrationOptions("percentile")) == (HistogramKind.ABSOLUTE, 2048)
    assert histogram_plan(CalibrationOptions("percentile", symmetric=False)) == (
        HistogramKind.VALUE,
        2048,
    )
    assert histogram_plan(CalibrationOptions("entropy")) == (HistogramKind.VALUE, 128)
    assert histogram_plan(CalibrationOptions("distribution")) == (HistogramKind.VALUE, 2048)
    assert histogram_plan(CalibrationOptions("mse")) == (HistogramKind.HISTC, 2048)
    assert histogram_plan(CalibrationOptions("kl-glow")) == (HistogramKind.MINMAX, 2000)


def test_options_defaults_are_quantize_static_ones():
    assert CalibrationOptions.from_extra_options("Percentile", {}).symmetric is True
    entropy = CalibrationOptions.from_extra_options("Entropy", {"CalibTensorRangeSymmetric": True})
    assert (entropy.num_bins, entropy.num_quantized_bins, entropy.symmetric) == (128, 128, True)
    minmax = CalibrationOptions.from_extra_options(
        "MinMax",
        {"CalibMovingAverage": True, "ActivationSymmetric": True, "CalibStridedMinMax": None},
    )
    assert (minmax.symmetric, minmax.moving_average, minmax.averaging_constant) == (
        False,
        True,
        0.01,
    )
    assert minmax.strided_minmax is None
    assert (
        CalibrationOptions.from_extra_options("Percentile", {"CalibPercentile": 99.9}).percentile
        == 99.9
    )
    calibrator = CalibrationOptions.from_calibrator_options("Entropy", {"num_bins": 512})
    assert (calibrator.num_bins, calibrator.num_quantized_bins) == (512, 128)


def test_options_errors_list_the_valid_keys():
    with pytest.raises(
        ValueError, match="unknown extra_options key 'CalibPercentil'.*CalibPercentile"
    ):
        CalibrationOptions.from_extra_options("Percentile", {"CalibPercentil": 99.0})
    with pytest.raises(ValueError, match="unknown calibrator option 'bins'.*num_bins"):
        CalibrationOptions.from_calibrator_options("Entropy", {"bins": 99})
    with pytest.raises(ValueError, match="unknown calibrate_method 'Mse'.*MinMax"):
        CalibrationOptions.from_extra_options("Mse", {})
    with pytest.raises(ValueError, match="unknown calibration method 'kl'.*kl-glow"):
        CalibrationOptions("kl")
    with pytest.raises(ValueError, match="Invalid percentile"):
        CalibrationOptions("percentile", percentile=101)
    with pytest.raises(ValueError, match="Invalid averaging constant"):
        CalibrationOptions(moving_average=True, averaging_constant=2.0)
    with pytest.raises(ValueError, match="512 <= num_bins"):
        CalibrationOptions("distribution", num_bins=128)
    with pytest.raises(ValueError, match="glow_schema"):
        CalibrationOptions("kl-glow", symmetric=True)
    with pytest.raises(ValueError, match="only reproduced for minmax"):
        CalibrationOptions.from_extra_options("Entropy", {"CalibStridedMinMax": 2})
    with pytest.raises(ValueError, match="num_quantized_bins"):
        CalibrationOptions("entropy", num_bins=64, num_quantized_bins=128)


def test_choose_range_checks_the_histogram():
    stats = make_stats("t", datasets()["normal"], (HistogramKind.VALUE, 64))
    with pytest.raises(ValueError, match="needs a absolute histogram of 2048 bins, got a value"):
        choose_range(stats, CalibrationOptions("percentile"))
    with pytest.raises(ValueError, match="'u'.*needs a value histogram.*have none"):
        choose_range(make_stats("u", datasets()["normal"]), CalibrationOptions("entropy"))


def test_choose_ranges_builds_a_table():
    options = CalibrationOptions("percentile")
    stats = [make_stats(n, datasets()[n], histogram_plan(options)) for n in ("normal", "skewed")]
    table = choose_ranges(stats, options)
    assert table.method == "percentile" and list(table) == ["normal", "skewed"]
    assert table["skewed"] == choose_range(stats[1], options)
