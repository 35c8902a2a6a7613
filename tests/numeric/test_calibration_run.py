"""The calibration driver: compiled observation of a float ONNX model over samples.

Statistics must equal numpy's on the reference interpreter's intermediate tensors of the same
model and samples (per-sample nan-aware extremes, histograms of all samples with the edges
chosen from pass 1); every sample source gives the same; a run split over processes, threads
or a dask cluster gives the serial run's statistics bit for bit; bad data is one line naming
the sample and the input.
"""

from __future__ import annotations

import sys
import warnings
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.dialects import func

from qdialect.calibration.histogram import count_linear
from qdialect.calibration.stats import HistogramKind, TensorStats
from qdialect.names import tensor_name
from qdialect.onnx_import import import_onnx
from qdialect.textio import print_module
from runtime.calibration_run import collect_statistics
from runtime.compiled import compile_module
from runtime.jit import compiler_invocations
from runtime.reference import run_function
from runtime.samples import CalibrationDataError

INPUT = "input.1"
SHAPE = (1, 3, 8, 8)
# Every computed float tensor, by its exact ONNX name (several need the qnn.name attribute).
OBSERVED = ["input.1", "conv/out:0", "relu_1", "9lives", "sum", "pool", "gap", "flat", "logits"]


def float_model() -> onnx.ModelProto:
    """Conv, Relu, a residual Conv + Add, MaxPool, GlobalAveragePool, Flatten, Gemm."""
    rng = np.random.default_rng(0)

    def init(name: str, *shape: int) -> onnx.TensorProto:
        return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)

    nodes = [
        helper.make_node("Conv", [INPUT, "w1", "b1"], ["conv/out:0"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv/out:0"], ["relu_1"]),
        helper.make_node("Conv", ["relu_1", "w2"], ["9lives"], pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["9lives", "relu_1"], ["sum"]),
        helper.make_node("MaxPool", ["sum"], ["pool"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("GlobalAveragePool", ["pool"], ["gap"]),
        helper.make_node("Flatten", ["gap"], ["flat"]),
        helper.make_node("Gemm", ["flat", "fc", "fc.b"], ["logits"], transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, list(SHAPE))],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 5])],
        [
            init("w1", 4, 3, 3, 3),
            init("b1", 4),
            init("w2", 4, 4, 3, 3),
            init("fc", 5, 4),
            init("fc.b", 5),
        ],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)


@pytest.fixture(scope="module")
def module():
    return import_onnx(float_model())


def make_samples(count: int, seed: int = 1) -> list[dict[str, np.ndarray]]:
    """Samples of mixed scale; in sample 1 a NaN flows into the tensors downstream."""
    rng = np.random.default_rng(seed)
    samples = [
        {INPUT: (rng.standard_normal(SHAPE) * rng.choice([0.1, 1, 10])).astype(np.float32)}
        for _ in range(count)
    ]
    samples[1][INPUT][0, 1, 2, 3] = np.nan
    return samples


SAMPLES = make_samples(7)


def intermediates(module, sample: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every named float32 tensor of one reference run (the function made to return them)."""
    clone = module.clone()
    (function,) = clone.ops
    assert isinstance(function, func.FuncOp)
    block = function.body.block
    ret = block.last_op
    values = [*block.args, *(r for op in block.ops if op is not ret for r in op.results)]
    named = [v for v in values if tensor_name(v) and "f32" in str(v.type)]
    block.insert_op_before(func.ReturnOp(*named), ret)
    block.erase_op(ret)
    function.update_function_type()
    outputs = run_function(clone, sample)
    return {tensor_name(v): a for v, a in zip(named, outputs, strict=True)}


def value_edges(kind: HistogramKind, bins: int, stats: TensorStats) -> np.ndarray:
    """ONNX Runtime's HistogramCollector.collect_value range: [-T, T], T = max |extreme|."""
    assert kind is HistogramKind.VALUE
    t = max(abs(stats.minimum), abs(stats.maximum))
    return np.histogram(np.zeros(0, np.float32), bins, range=(-t, t))[1]


def histc_edges(kind: HistogramKind, bins: int, stats: TensorStats) -> np.ndarray:
    return np.linspace(stats.minimum, stats.maximum, bins + 1, dtype=np.float32)


def test_statistics_are_numpys_on_the_reference_tensors(module) -> None:
    stats = collect_statistics(
        module, SAMPLES, histogram=(HistogramKind.VALUE, 32), edges_for=value_edges
    )
    assert list(stats) == OBSERVED
    runs = [intermediates(module, s) for s in SAMPLES]
    assert set(runs[0]) - set(OBSERVED) == {"w1", "b1", "w2", "fc", "fc.b"}  # weights: not
    for name in OBSERVED:
        tensors = [run[name] for run in runs]
        got = stats[name]
        check_extremes(got, tensors)
        edges = value_edges(HistogramKind.VALUE, 32, got)
        assert np.array_equal(got.histogram.edges, edges)
        everything = np.concatenate(tensors, None)
        counts = np.histogram(everything, 32, range=(edges[0], edges[-1]))[0]
        assert np.array_equal(got.histogram.counts, counts)


def test_new_data_reuses_the_histogram_pass_object(module) -> None:
    """The bin edges are data the kernels read, not C text: a second calibration on other
    samples (other ranges, other edges) compiles nothing, and still counts numpy's way."""
    for rule_edges in (value_edges, histc_edges):
        histogram = (HistogramKind.VALUE if rule_edges is value_edges else HistogramKind.HISTC, 32)
        collect_statistics(
            module, make_samples(3, seed=5), histogram=histogram, edges_for=rule_edges
        )
        before = compiler_invocations()
        other = make_samples(3, seed=6)
        for sample in other:
            sample[INPUT] *= np.float32(3)
        stats = collect_statistics(module, other, histogram=histogram, edges_for=rule_edges)
        assert compiler_invocations() == before
        runs = [intermediates(module, s) for s in other]
        name = OBSERVED[-1]
        edges = rule_edges(histogram[0], 32, stats[name])
        assert np.array_equal(stats[name].histogram.edges, edges)
        if rule_edges is value_edges:
            everything = np.concatenate([run[name] for run in runs], None)
            counts = np.histogram(everything, 32, range=(edges[0], edges[-1]))[0]
            assert np.array_equal(stats[name].histogram.counts, counts)


def test_both_passes_run_one_compiled_function(module, monkeypatch) -> None:
    """Pass 1 runs the histograms off (NaN edges count nothing) and pass 2 hands them their
    edges: one instrumented function, compiled once, and pass 1's extremes are the observer's."""
    import runtime.calibration_run as calibration_run

    compiled = []

    def counting(*args, **kwargs):
        compiled.append(args)
        return compile_module(*args, **kwargs)

    monkeypatch.setattr(calibration_run, "compile_module", counting)
    stats = collect_statistics(
        module, SAMPLES, histogram=(HistogramKind.VALUE, 16), edges_for=value_edges
    )
    assert len(compiled) == 1
    alone = collect_statistics(module, SAMPLES)
    for name in OBSERVED:
        assert np.array_equal(stats[name].sample_minima, alone[name].sample_minima, True)
        assert np.array_equal(stats[name].sample_maxima, alone[name].sample_maxima, True)


def check_extremes(got: TensorStats, tensors: list[np.ndarray]) -> None:
    """Per-sample nanmin / nanmax and min |x| over all, as numpy computes them."""
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices: NaN, as we give
        assert np.array_equal(got.sample_minima, [np.nanmin(t) for t in tensors], True)
        assert np.array_equal(got.sample_maxima, [np.nanmax(t) for t in tensors], True)
        assert got.abs_minimum == np.nanmin(np.abs(np.concatenate(tensors, None)))


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # inf - inf
def test_infinities_and_nan_samples(module) -> None:
    """-inf is an extreme; a sample of NaN only has NaN extremes (the mean of nothing)."""
    samples = make_samples(4)
    samples[2][INPUT][0, 0, 0, 0] = -np.inf
    samples[3][INPUT][...] = np.nan
    stats = collect_statistics(module, samples)
    runs = [intermediates(module, s) for s in samples]
    for name in OBSERVED:
        check_extremes(stats[name], [run[name] for run in runs])
    assert stats[INPUT].sample_minima[2] == -np.inf
    assert np.isnan(stats[INPUT].sample_minima[3]) and np.isnan(stats[INPUT].sample_maxima[3])


def test_histc_kind_counts_by_torchs_rule(module) -> None:
    stats = collect_statistics(
        module, SAMPLES[:3], histogram=(HistogramKind.HISTC, 50), edges_for=histc_edges
    )
    runs = [intermediates(module, s) for s in SAMPLES[:3]]
    for name in ("relu_1", "logits"):
        everything = np.concatenate([run[name] for run in runs], None)
        lo, hi = stats[name].minimum, stats[name].maximum
        assert np.array_equal(stats[name].histogram.counts, count_linear(everything, lo, hi, 50))


def test_every_sample_source_gives_the_same(module, tmp_path: Path) -> None:
    serial = collect_statistics(module, SAMPLES, tensors=["relu_1", "logits"])
    np.savez(tmp_path / "calib.npz", **{INPUT: np.stack([s[INPUT] for s in SAMPLES])})
    folder = tmp_path / "calib"
    folder.mkdir()
    for index, sample in enumerate(SAMPLES):
        np.savez(folder / f"{index:03d}.npz", **sample)
    sources = [tmp_path / "calib.npz", str(folder), iter(SAMPLES), tuple(SAMPLES)]
    for source in sources:
        got = collect_statistics(module, source, tensors=["relu_1", "logits"])
        assert same_stats(got, serial)


def same_stats(a: dict[str, TensorStats], b: dict[str, TensorStats]) -> bool:
    """Bit for bit: per-sample extremes, min |x|, histogram counts and edges."""
    if list(a) != list(b):
        return False
    for name in a:
        x, y = a[name], b[name]
        arrays = [(x.sample_minima, y.sample_minima), (x.sample_maxima, y.sample_maxima)]
        if x.histogram is not None or y.histogram is not None:
            arrays += [(x.histogram.counts, y.histogram.counts)]
            arrays += [(x.histogram.edges, y.histogram.edges)]
        arrays += [(np.asarray(x.abs_minimum), np.asarray(y.abs_minimum))]
        if any(p.dtype != q.dtype or p.tobytes() != q.tobytes() for p, q in arrays):
            return False
    return True


HISTOGRAM = {"histogram": (HistogramKind.VALUE, 64), "edges_for": value_edges}


def test_process_and_thread_pools_give_the_serial_statistics(module) -> None:
    serial = collect_statistics(module, SAMPLES, **HISTOGRAM)
    with ProcessPoolExecutor(2) as executor:
        for shards in (3, 7):
            got = collect_statistics(module, SAMPLES, executor=executor, shards=shards, **HISTOGRAM)
            assert same_stats(got, serial)
    with ThreadPoolExecutor(2) as executor:
        got = collect_statistics(module, SAMPLES, executor=executor, **HISTOGRAM)
        assert same_stats(got, serial)


def test_a_dask_cluster_gives_the_serial_statistics(module, tmp_path: Path) -> None:
    distributed = pytest.importorskip(
        "dask.distributed", reason="dask[distributed] is optional (pip install 'qdialect[dask]')"
    )
    np.savez(tmp_path / "calib.npz", **{INPUT: np.stack([s[INPUT] for s in SAMPLES])})
    serial = collect_statistics(module, SAMPLES, **HISTOGRAM)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        executor = client.get_executor()
        for source in (SAMPLES, tmp_path / "calib.npz"):  # arrays, then a path and ranges
            got = collect_statistics(module, source, executor=executor, shards=4, **HISTOGRAM)
            assert same_stats(got, serial)


def test_importer_records_exact_names_only_where_hints_differ(module) -> None:
    printed = print_module(module)
    assert (
        '%conv_out = qnn.conv2d %input, %w1 bias(%b1 : tensor<4xf32>) {qnn.name = "conv/out:0"'
        in printed
    )
    assert '%relu = qnn.relu %conv_out {qnn.name = "relu_1"}' in printed
    assert '%v9lives = qnn.conv2d %relu, %w2 {qnn.name = "9lives"' in printed
    assert "%sum = qnn.add %v9lives, %relu : " in printed  # "sum" is its own hint
    assert '%fc_b = arith.constant {qnn.name = "fc.b"}' in printed


# ----------------------------------------------------------------------------- errors

X = np.zeros(SHAPE, np.float32)


@pytest.mark.parametrize(
    ("samples", "message"),
    [
        ([{INPUT: X}, {}], "sample 1: no input 'input.1' (it holds nothing)"),
        (
            [{INPUT: X, "mask": X}],
            "sample 0: unknown input 'mask' (the model's inputs: 'input.1')",
        ),
        (
            [{INPUT: X}, {INPUT: X}, {INPUT: X[0]}],
            "sample 2: input 'input.1' has shape [3, 8, 8], expected [1, 3, 8, 8]",
        ),
        (
            [{INPUT: X.astype(np.float64)}],
            "sample 0: input 'input.1' has dtype float64, expected float32",
        ),
        ([X], "sample 0 is a ndarray, not a dict of arrays keyed by input name"),
        ([], "calibration data is empty: no samples"),
        (iter([]), "calibration data is empty: no samples"),
        ({INPUT: np.float32(1.0)}, f"calibration array '{INPUT}' has no leading axis of samples (a scalar)"),
    ],
)  # fmt: skip
def test_bad_samples(module, samples, message: str) -> None:
    with pytest.raises(CalibrationDataError) as raised:
        collect_statistics(module, samples)
    assert str(raised.value) == message


def test_a_bad_sample_in_a_worker_is_the_same_error(module) -> None:
    samples = [*SAMPLES, {INPUT: X[0]}, {}]
    with ProcessPoolExecutor(2) as executor, pytest.raises(CalibrationDataError) as raised:
        collect_statistics(module, samples, executor=executor, shards=3)
    assert str(raised.value) == (
        "sample 7: input 'input.1' has shape [3, 8, 8], expected [1, 3, 8, 8]"
    )


def test_bad_files(module, tmp_path: Path) -> None:
    def error(source) -> str:
        with pytest.raises(CalibrationDataError) as raised:
            collect_statistics(module, source)
        return str(raised.value)

    np.savez(tmp_path / "flat.npz", **{INPUT: X})
    assert error(tmp_path / "flat.npz") == (
        f"'{tmp_path}/flat.npz': array 'input.1' has shape [1, 3, 8, 8], expected "
        "[samples, 1, 3, 8, 8] (a leading axis of samples)"
    )
    np.savez(tmp_path / "none.npz", **{INPUT: np.zeros((0, *SHAPE), np.float32)})
    assert (
        error(tmp_path / "none.npz") == f"calibration data '{tmp_path}/none.npz' holds no samples"
    )
    np.savez(tmp_path / "two.npz", **{INPUT: np.zeros((3, *SHAPE), np.float32), "b": np.zeros(2)})
    assert error(tmp_path / "two.npz") == (
        f"'{tmp_path}/two.npz': arrays hold different numbers of samples ('input.1' 3, 'b' 2)"
    )
    np.savez(tmp_path / "extra.npz", **{INPUT: np.zeros((2, *SHAPE), np.float32), "b": np.zeros(2)})
    assert error(tmp_path / "extra.npz") == (
        f"sample 0 of '{tmp_path}/extra.npz': unknown input 'b' (the model's inputs: 'input.1')"
    )
    (tmp_path / "text.npz").write_text("not a zip")
    assert error(tmp_path / "text.npz") == (
        f"cannot read calibration data '{tmp_path}/text.npz': File is not a zip file"
    )
    assert error(tmp_path / "missing.npz") == (
        f"cannot read calibration data '{tmp_path}/missing.npz': no such file"
    )
    folder = tmp_path / "calib"
    folder.mkdir()
    assert error(folder) == (
        f"calibration data '{folder}' holds no .npz files (nor ONNX test_data_set_<n> directories)"
    )
    np.savez(folder / "000.npz", **{INPUT: X})
    np.savez(folder / "001.npz", **{INPUT: X[0]})
    assert error(folder) == (
        f"sample '{folder}/001.npz': input 'input.1' has shape [3, 8, 8], expected [1, 3, 8, 8]"
    )


def test_onnx_test_data_sets_are_samples(module, tmp_path: Path) -> None:
    """ONNX's `test_data_set_<n>/input_<i>.pb` layout, one sample a directory, and its broken
    files named."""
    for n, sample in enumerate(SAMPLES):
        (tmp_path / f"test_data_set_{n}").mkdir()
        tensor = numpy_helper.from_array(sample[INPUT])
        (tmp_path / f"test_data_set_{n}" / "input_0.pb").write_bytes(tensor.SerializeToString())
    got = collect_statistics(module, tmp_path, tensors=["logits"])
    assert same_stats(got, collect_statistics(module, SAMPLES, tensors=["logits"]))
    (tmp_path / "test_data_set_7").mkdir()
    with pytest.raises(CalibrationDataError) as raised:
        collect_statistics(module, tmp_path)
    assert str(raised.value) == (
        f"sample '{tmp_path}/test_data_set_7': cannot read 'input_0.pb' for input 'input.1': "
        "No such file or directory"
    )
    (tmp_path / "test_data_set_7" / "input_0.pb").write_bytes(b"\xff\xff")
    with pytest.raises(CalibrationDataError) as raised:
        collect_statistics(module, tmp_path)
    assert str(raised.value).startswith(
        f"sample '{tmp_path}/test_data_set_7': 'input_0.pb' is not a TensorProto: "
    )


def test_compressed_npz_reads_too(module, tmp_path: Path) -> None:
    np.savez_compressed(tmp_path / "z.npz", **{INPUT: np.stack([s[INPUT] for s in SAMPLES])})
    got = collect_statistics(module, tmp_path / "z.npz", tensors=["logits"])
    assert same_stats(got, collect_statistics(module, SAMPLES, tensors=["logits"]))


def test_histogram_arguments_are_checked(module) -> None:
    with pytest.raises(ValueError) as raised:
        collect_statistics(module, SAMPLES, histogram=(HistogramKind.VALUE, 8))
    assert str(raised.value) == "a histogram needs edges_for, which chooses each tensor's bin edges"

    def short(kind, bins, stats):
        return np.zeros(3, np.float32)

    with pytest.raises(ValueError) as raised:
        collect_statistics(module, SAMPLES, histogram=(HistogramKind.VALUE, 8), edges_for=short)
    assert str(raised.value) == "edges_for gave [3] edges for 'input.1', expected [9] (bins + 1)"

    def doubles(kind, bins, stats):
        return np.linspace(0.0, 0.1, bins + 1)

    with pytest.raises(ValueError) as raised:
        collect_statistics(module, SAMPLES, histogram=(HistogramKind.VALUE, 8), edges_for=doubles)
    assert str(raised.value) == "edges_for gave edges for 'input.1' that are not float32 values"

    def flat(kind, bins, stats):  # checked as the op's verifier checks, though they are data
        return np.zeros(bins + 1, np.float32)

    with pytest.raises(ValueError) as raised:
        collect_statistics(module, SAMPLES, histogram=(HistogramKind.VALUE, 8), edges_for=flat)
    assert str(raised.value) == "histogram of 'input.1': edges must span a range, got [0.0, 0.0]"


# ----------------------------------------------------------------------------- progress


def test_progress_bar_goes_to_stderr_only_when_asked(module, capsys) -> None:
    collect_statistics(module, SAMPLES, tensors=["logits"], progress=True)
    shown = capsys.readouterr()
    assert shown.out == "" and "calibration 1/1" in shown.err and "7/7" in shown.err
    collect_statistics(module, SAMPLES, tensors=["logits"], progress=False)
    assert capsys.readouterr() == ("", "")
    assert not sys.stderr.isatty()  # the default: no bar when stderr is not a terminal
    collect_statistics(module, SAMPLES, tensors=["logits"])
    assert capsys.readouterr() == ("", "")


# ----------------------------------------------------------------------------- benchmark


def test_calibration_benchmark_runs_on_a_tiny_resnet(tmp_path: Path) -> None:
    """benchmarks/calibration.py stays runnable; its ResNet computes what ORT computes."""
    ort = pytest.importorskip("onnxruntime", reason="the benchmark's peer")
    from benchmarks.calibration import run_ort, run_ours
    from benchmarks.model_zoo import resnet18

    model = tmp_path / "r.onnx"
    onnx.save(resnet18(np.random.default_rng(0), size=32, width=4, classes=10), model)
    x = np.random.default_rng(0).standard_normal((3, 1, 3, 32, 32)).astype(np.float32)
    np.savez(tmp_path / "x.npz", x=x)
    (expected,) = ort.InferenceSession(str(model)).run(None, {"x": x[0]})
    (got,) = run_function(import_onnx(str(model)), {"x": x[0]})
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)  # sums in other orders
    for run in (run_ours, run_ort):
        result = run(str(model), str(tmp_path / "x.npz"), 3)
        assert result["samples"] == 3 and result["wall"] > 0
