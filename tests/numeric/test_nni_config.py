"""NNI's calibration config (`QAT_Quantizer.export_model(..., calibration_path=...)`) as the
float model's quantization parameters.

The expected numbers come from a transcription of NNI's own torch code (qat_quantizer.py's
`update_quantization_param` and eval-mode `_quantize`, utils.py's `calculate_qmin_qmax`), run
in torch: the stored weights must be NNI's integers and the scales NNI's float32 scales.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnx")

from qdialect.calibration.nni_config import NniCalibration, read_calibration  # noqa: E402
from qdialect.calibration.table import CalibrationTable, CalibrationTableError  # noqa: E402
from qdialect.constants import dense_array  # noqa: E402
from qdialect.quant_ops import StorageCastOp  # noqa: E402
from qdialect.textio import print_module  # noqa: E402
from runtime.qopt import run  # noqa: E402
from runtime.quantization import quantize, read_ranges  # noqa: E402

from . import float_models  # noqa: E402

CONFIG = {"activation_type": "QUInt8"}
# layer -> (torch weight name, NNI quant_scheme, quant_dtype)
WEIGHTS = {
    "conv1": ("conv1.weight", "per_tensor_affine", "uint"),  # NNI's default
    "conv2": ("conv2.weight", "per_channel_symmetric", "int"),
    "fc": ("fc.weight", "per_tensor_affine", "int"),
}
RANGES = {  # layer -> input range, output range (None: not quantized)
    "conv1": ((-2.0, 2.0), (-1.5, 1.75)),
    "relu1": (None, (0.0, 1.625)),
    "conv2": ((0.0, 1.5), (-1.0, 1.0)),  # its input is relu1's output: relu1's range wins
    "relu2": (None, (0.0, 1.0)),
    "fc": ((0.0, 0.5), (-2.0, 2.0)),
}


def nni_weight(torch, w, bits: int, scheme: str, dtype: str):
    """NNI's update_quantization_param on the weight's min/max, then eval-mode _quantize."""
    qmin, qmax = (
        (-(2 ** (bits - 1)) + 1, 2 ** (bits - 1) - 1) if dtype == "int" else (0, 2**bits - 1)
    )
    if scheme.startswith("per_channel"):
        dims = list(range(1, w.dim()))
        rmin, rmax = torch.amin(w, dims, keepdim=True), torch.amax(w, dims, keepdim=True)
    else:
        rmin, rmax = torch.min(w), torch.max(w)
    rmin, rmax = torch.min(rmin, torch.zeros_like(rmin)), torch.max(rmax, torch.zeros_like(rmax))
    zero_point = torch.zeros_like(rmin)
    if scheme.endswith("symmetric"):
        scale = torch.max(torch.abs(rmin), torch.abs(rmax)) / (float(qmax - qmin) / 2)
        if dtype == "uint":
            zero_point = zero_point.new_full(zero_point.size(), (qmin + qmax) // 2)
    else:
        scale = (rmax - rmin) / float(qmax - qmin)
        zero_point = qmin - torch.round(rmin / scale)
    zero_point = torch.clamp(zero_point, qmin, qmax)
    q = torch.round(torch.clamp(zero_point + w / scale, qmin, qmax))
    return scale, zero_point, q


@pytest.fixture(scope="module")
def nni(tmp_path_factory):
    """(float model, NNI's config with tensors, its torch.save path, its JSON path, the
    expected stored weights and parameters)."""
    torch = pytest.importorskip("torch")
    model = float_models.named_cnn(np.random.default_rng(7))
    initializers = {i.name: i for i in model.graph.initializer}
    from onnx import numpy_helper

    config, expected = {}, {}
    for layer, (inputs, outputs) in RANGES.items():
        entry = config.setdefault(layer, {})
        if layer in WEIGHTS:
            name, scheme, dtype = WEIGHTS[layer]
            w = torch.from_numpy(numpy_helper.to_array(initializers[name]).copy())
            scale, zero_point, q = nni_weight(torch, w, 8, scheme, dtype)
            entry.update(weight_bits=8, weight_scale=scale, weight_zero_point=zero_point)
            expected[name] = (q.numpy().astype(np.int64), scale.numpy(), zero_point.numpy())
        if inputs is not None:
            entry.update(input_bits=8, tracked_min_input=inputs[0], tracked_max_input=inputs[1])
        entry.update(output_bits=8, tracked_min_output=outputs[0], tracked_max_output=outputs[1])
    tmp = tmp_path_factory.mktemp("nni")
    torch.save(config, tmp / "calibration.pth")
    plain = {
        layer: {k: v.tolist() if hasattr(v, "tolist") else v for k, v in entry.items()}
        for layer, entry in config.items()
    }
    (tmp / "calibration.json").write_text(json.dumps(plain))
    return model, config, tmp / "calibration.pth", tmp / "calibration.json", expected


def stored_weights(module) -> dict[str, tuple[np.ndarray, list[float], list[int], str]]:
    """Per quantized weight: stored integers (unsigned read back), scales, zero points,
    storage spelling."""
    out = {}
    for op in module.walk():
        if isinstance(op, StorageCastOp) and (op.results[0].name_hint or "").endswith("_quantized"):
            qtype = op.results[0].type.element_type
            values = dense_array(op.operands[0])
            if not qtype.signed:
                values = values % (1 << qtype.storage_width)
            name = op.results[0].name_hint.removesuffix("_quantized")
            out[name] = (
                values,
                list(qtype.scales),
                list(qtype.zero_points),
                qtype.storage_spelling,
            )
    return out


def test_weights_are_nni_integers_and_parameters(nni) -> None:
    model, _, saved, plain, expected = nni
    from_torch = quantize(model, saved, CONFIG).module
    from_json = quantize(model, plain, CONFIG).module
    assert print_module(from_torch) == print_module(from_json)
    weights = stored_weights(from_torch)
    for name, (q, scale, zero_point) in expected.items():
        values, scales, zero_points, storage = weights[name]
        np.testing.assert_array_equal(values, q)
        assert scales == [float(s) for s in scale.astype(np.float32).reshape(-1)]
        assert zero_points == [int(z) for z in zero_point.reshape(-1)]
    assert [weights[n][3] for n in expected] == ["u8", "i8", "i8"]
    assert min(weights["conv2.weight"][0].min(), weights["fc.weight"][0].min()) < 0


def test_ranges_are_the_layers_tensors(nni) -> None:
    model, config, saved, _, _ = nni
    ranges = read_ranges(saved, model)
    assert ranges == {
        "x": (-2.0, 2.0),
        "c1": (-1.5, 1.75),
        "r1": (0.0, 1.625),  # relu1's output range, not conv2's input range
        "c2": (-1.0, 1.0),
        "r2": (0.0, 1.0),
        "f": (0.0, 0.5),
        "y": (-2.0, 2.0),
    }
    # the activations are quantized exactly as from these ranges by tensor name
    nodes = {"nodes_to_quantize": list(config)}
    by_name = quantize(model, ranges, {**CONFIG, **nodes}).module
    activations = [str(op.results[0].type) for op in by_name.walk() if op.name == "qnn.quantize"]
    ours = [str(op.results[0].type) for op in quantize(model, saved, CONFIG).module.walk()
            if op.name == "qnn.quantize"]  # fmt: skip
    assert ours == activations and len(ours) == 5


def test_bits_choose_the_storage(nni, tmp_path: Path) -> None:
    model, _, _, plain, _ = nni
    document = json.loads(plain.read_text())
    document["fc"]["output_bits"] = 16
    document["fc"]["weight_bits"] = 4
    document["fc"]["weight_scale"] = 0.125
    document["fc"]["weight_zero_point"] = 0
    (tmp_path / "c.json").write_text(json.dumps(document))
    module = quantize(model, tmp_path / "c.json", CONFIG).module
    output = [op for op in module.walk() if op.name == "qnn.quantize"][-1]
    assert output.results[0].type.element_type.storage_spelling == "u16"
    values, scales, zero_points, storage = stored_weights(module)["fc.weight"]
    assert (storage, scales, zero_points) == ("i4", [0.125], [0])
    weights = float_models.named_cnn(np.random.default_rng(7)).graph.initializer
    w = next(np.frombuffer(i.raw_data, np.float32) for i in weights if i.name == "fc.weight")
    np.testing.assert_array_equal(values.ravel(), np.rint(np.clip(w / 0.125, -7, 7)))


def test_detected_by_content(nni, tmp_path: Path) -> None:
    _, _, saved, plain, _ = nni
    assert isinstance(read_calibration(saved), NniCalibration)
    assert isinstance(read_calibration(plain), NniCalibration)
    table = CalibrationTable("minmax")
    table.write(tmp_path / "ort.json")
    assert read_calibration(tmp_path / "ort.json") == table


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"conv1": {"weight_bits": 8, "weight_scale": 0.1}},
         "layer 'conv1': has no 'weight_zero_point' (weights need both)"),
        ({"conv1": {"weight_bits": 8, "weight_scale": [0.1, 0.2], "weight_zero_point": [0]}},
         "layer 'conv1': 'weight_scale' has 2 values, 'weight_zero_point' 1"),
        ({"conv1": {"weight_bits": 8, "weight_scale": -1.0, "weight_zero_point": 0}},
         "layer 'conv1': 'weight_scale' must be finite and > 0"),
        ({"conv1": {"weight_bits": 8, "weight_scale": 0.1, "weight_zero_point": 0.5}},
         "layer 'conv1': 'weight_zero_point' must be integers"),
        ({"conv1": {"input_bits": 8.5}}, "layer 'conv1': 'input_bits' must be an integer in 1..31, not 8.5"),
        ({"conv1": {"tracked_min_input": 1.0}}, "layer 'conv1': has no 'tracked_max_input'"),
        ({"conv1": {"tracked_min_output": 2.0, "tracked_max_output": 1.0}},
         "layer 'conv1': tracked_min_output 2.0 > tracked_max_output 1.0"),
        ({"conv1": {"tracked_min_output": "a", "tracked_max_output": 1.0}},
         "layer 'conv1': 'tracked_min_output' is not a number ('a')"),
        ({"conv1": {"weight_bit": 8}}, "layer 'conv1': unknown key 'weight_bit' (valid: "
         "weight_bits, weight_scale, weight_zero_point, input_bits, tracked_min_input, "
         "tracked_max_input, output_bits, tracked_min_output, tracked_max_output)"),
        ({"conv1": {}, "relu1": 3}, "layer 'relu1': expected an object with keys such as "
         "'weight_bits', 'tracked_min_input'"),
    ],
)  # fmt: skip
def test_malformed_files_are_one_line_errors(entry, message, tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps(entry))
    with pytest.raises(CalibrationTableError) as err:
        read_calibration(path)
    assert str(err.value) == f"{path}: {message}"


def test_model_mismatches(nni, tmp_path: Path) -> None:
    model, _, _, _, _ = nni
    cases = {
        "conv9": ({"conv9": {"output_bits": 8, "tracked_min_output": 0, "tracked_max_output": 1}},
                  "{}: layer 'conv9' is no node of the model"),
        "relu": ({"relu1": {"weight_bits": 8, "weight_scale": 1.0, "weight_zero_point": 0}},
                 "layer 'relu1' (Relu) has no constant weight"),
        "channels": ({"conv2": {"weight_bits": 8, "weight_scale": [0.1] * 3,
                                "weight_zero_point": [0] * 3}},
                     "layer 'conv2': 3 weight scales for 8 output channels"),
        "zero point": ({"conv1": {"weight_bits": 8, "weight_scale": 0.1, "weight_zero_point": 300}},
                       "layer 'conv1': weight_zero_point outside NNI's 8-bit ranges "
                       "(int [-127, 127], uint [0, 255])"),
        "bits": ({"conv1": {"input_bits": 5, "tracked_min_input": 0, "tracked_max_input": 1}},
                 "layer conv1: input_bits 5: no such storage (4, 8 and 16 bits exist)"),
    }  # fmt: skip
    for document, message in cases.values():
        path = tmp_path / "c.json"
        path.write_text(json.dumps(document))
        with pytest.raises(ValueError) as err:
            quantize(model, path, CONFIG)
        assert str(err.value) == message.format(path)


def test_qopt_calibration_table(nni, tmp_path: Path, capsys) -> None:
    model, _, saved, _, _ = nni
    import onnx

    onnx.save(model, tmp_path / "fp32.onnx")
    (tmp_path / "cfg.json").write_text(json.dumps(CONFIG))
    argv = [str(tmp_path / "fp32.onnx"), "--quantize", str(tmp_path / "cfg.json")]
    assert run([*argv, "--calibration-table", str(saved)]) == 0
    out = capsys.readouterr()
    assert out.out == print_module(quantize(model, saved, CONFIG).module)
    assert "qopt: quantized 5 node(s)" in out.err
    (tmp_path / "bad.json").write_text(json.dumps({"conv1": {"weight_bits": True}}))
    assert run([*argv, "--calibration-table", str(tmp_path / "bad.json")]) == 1
    assert capsys.readouterr().err == (
        f"qopt: error: {tmp_path / 'bad.json'}: layer 'conv1': 'weight_bits' is not a number "
        "(True)\n"
    )
