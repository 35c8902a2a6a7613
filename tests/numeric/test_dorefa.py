"""DoReFa weights (NNI's DoReFaQuantizer) as a named weight scheme of the quantizer.

Expectations: NNI's `quantize_weight` run in torch (its code, transcribed line by line) and an
independent numpy transcription; the stored integers must be NNI's levels n as m = 2n − L.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from qdialect.dorefa import dorefa_weights
from qdialect.quant_config import ConfigError, QuantizeConfig

BITS = (1, 2, 3, 4, 7, 8)


def weights(count: int = 4096) -> np.ndarray:
    rng = np.random.default_rng(11)
    w = (rng.standard_normal(count) * 0.6).astype(np.float32)
    w[:4] = [0.0, -0.0, 3.0, -3.0]  # zeros and the extremes that set max|tanh|
    return w


def numpy_dorefa(w: np.ndarray, bits: int) -> np.ndarray:
    """The DoReFa paper's k-bit weight, float64 throughout (an independent reading)."""
    t = np.tanh(w.astype(np.float64))
    t = t / (2 * np.abs(t).max()) + 0.5
    levels = 2**bits - 1
    return 2 * np.round(t * levels) / levels - 1


def nni_dorefa(torch, w: np.ndarray, bits: int) -> np.ndarray:
    """NNI's DoReFaQuantizer.quantize_weight and quantize, in float32 torch."""
    weight = torch.from_numpy(w.copy())
    weight = weight.tanh()
    weight = weight / (2 * weight.abs().max()) + 0.5
    scale = pow(2, bits) - 1
    weight = torch.round(weight * scale) / scale
    return (2 * weight - 1).numpy()


@pytest.mark.parametrize("bits", BITS)
def test_levels_are_nni_levels(bits: int) -> None:
    torch = pytest.importorskip("torch")
    w = weights()
    stored, params = dorefa_weights(w, bits)
    levels = 2**bits - 1
    nni = nni_dorefa(torch, w, bits)
    np.testing.assert_array_equal(stored, np.rint(nni.astype(np.float64) * levels))
    np.testing.assert_array_equal(stored, np.rint(numpy_dorefa(w, bits) * levels))
    assert stored.min() == -levels and stored.max() == levels and (stored % 2 == 1).all()
    assert (float(params.scale), int(params.zero_point)) == (float(np.float32(1 / levels)), 0)
    assert params.qtype.value == ("i4" if bits <= 3 else "i8" if bits <= 7 else "i16")
    real = stored.astype(np.float32) * params.scale  # dequantize: float32(q - zp) * s
    assert np.abs(real - nni).max() <= np.spacing(np.float32(1))  # one ulp of [-1, 1]


def test_errors() -> None:
    with pytest.raises(ValueError, match="DoReFa needs a nonzero weight"):
        dorefa_weights(np.zeros(4, np.float32), 4)
    with pytest.raises(ValueError, match="DoReFa bits must be in 1..15, got 16"):
        dorefa_weights(weights(), 16)
    entry = {"quantizer": "DoReFaQuantizer", "quant_types": ["weight"], "op_types": ["Conv2d"]}
    with pytest.raises(ConfigError) as err:
        QuantizeConfig.from_dict({"config_list": [entry]})
    assert str(err.value) == "config_list[0]: DoReFaQuantizer needs an integer weight quant_bits"
    with pytest.raises(ConfigError) as err:
        QuantizeConfig.from_dict({"config_list": [{**entry, "quantizer": "LsqQuantizer"}]})
    assert str(err.value) == (
        "config_list[0]: quantizer must be one of QAT_Quantizer, DoReFaQuantizer"
    )


def test_quantizer_stores_dorefa_weights(tmp_path) -> None:
    pytest.importorskip("onnx")
    from onnx import numpy_helper

    from runtime.quantization import quantize

    from . import float_models
    from .test_nni_config import stored_weights

    model = float_models.named_cnn(np.random.default_rng(3))
    ranges = {name: (-4.0, 4.0) for name in ("x", "c1", "r1", "c2", "r2", "g", "f", "y")}
    entry = {"quantizer": "DoReFaQuantizer", "quant_types": ["weight"],
             "quant_bits": {"weight": 4}, "op_types": ["Conv2d"]}  # fmt: skip
    config = {"per_channel": True, "config_list": [entry]}
    (tmp_path / "cfg.json").write_text(json.dumps(config))
    module = quantize(model, ranges, tmp_path / "cfg.json").module
    found = stored_weights(module)
    for initializer in model.graph.initializer:
        w = numpy_helper.to_array(initializer)
        if initializer.name.startswith("conv") and initializer.name.endswith("weight"):
            values, scales, zero_points, storage = found[initializer.name]
            np.testing.assert_array_equal(values, np.rint(numpy_dorefa(w, 4) * 15))
            assert (scales, zero_points, storage) == ([float(np.float32(1 / 15))], [0], "i8")
    assert found["fc.weight"][3] == "i8" and len(found["fc.weight"][1]) == 4  # per channel
