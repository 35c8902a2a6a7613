"""The options of every calibration method, named and defaulted as their sources name them.

`CalibrationOptions` is what `methods.choose_range` and `histograms.histogram_plan` read. Its
defaults are the ones ONNX Runtime's `quantize_static` ends up using (onnxruntime 1.31.1,
`quantization/calibrate.py` `create_calibrator`, fed by `quantize.py`'s `calib_extra_options`):

- minmax: symmetric False, moving_average False, averaging_constant 0.01;
- percentile: symmetric True, 2048 bins, percentile 99.999;
- entropy: 128 bins, 128 quantized bins (so `get_entropy_threshold` checks one candidate);
- distribution: 2048 bins;
- mse: torch's HistogramObserver, 2048 bins (`torch/ao/quantization/observer.py`);
- kl-glow: Glow's profile histogram of 2000 bins (the size before pytorch/glow#4378; Glow's
  loader now defaults to 10 bins, below the 255 its KL search needs to do anything).

`CalibrationOptions.from_extra_options` reads `quantize_static`'s `extra_options` spelling
(`CalibTensorRangeSymmetric`, ...); `from_calibrator_options` reads `create_calibrator`'s
(`symmetric`, `num_bins`, ...).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

METHODS = ("minmax", "percentile", "entropy", "distribution", "mse", "kl-glow")

# onnxruntime.quantization.CalibrationMethod member name -> our method name
ORT_METHODS = {
    "MinMax": "minmax",
    "Entropy": "entropy",
    "Percentile": "percentile",
    "Distribution": "distribution",
}

GLOW_SCHEMAS = ("asymmetric", "symmetric", "symmetric_uint8", "symmetric_power2")

# quantize_static's calibration keys (quantize.py `calib_extra_options_keys`, plus
# CalibStridedMinMax, which quantize_static reads itself) -> CalibrationOptions field
CALIBRATION_EXTRA_OPTIONS = {
    "CalibTensorRangeSymmetric": "symmetric",
    "CalibMovingAverage": "moving_average",
    "CalibMovingAverageConstant": "averaging_constant",
    "CalibMaxIntermediateOutputs": "max_intermediate_outputs",
    "CalibPercentile": "percentile",
    "CalibStridedMinMax": "strided_minmax",
}

# The other `extra_options` keys onnxruntime 1.31.1's quantizers read: valid in a config, not
# calibration's business (from_extra_options skips them).
QUANTIZER_EXTRA_OPTIONS = frozenset(
    {
        "ActivationRestrictedAsymmetric",
        "ActivationSymmetric",
        "AddQDQPairToWeight",
        "BlockSize",
        "DedicatedQDQPair",
        "DefaultTensorType",
        "EnableSubgraph",
        "ForceQuantizeNoInputCheck",
        "MatMulConstBOnly",
        "MinimumRealRange",
        "OpTypesToExcludeOutputQuantization",
        "QDQDisableWeightAdjustForInt32Bias",
        "QDQKeepRemovableActivations",
        "QDQOpTypePerChannelSupportToAxis",
        "QuantizeBias",
        "SmoothQuant",
        "SmoothQuantAlpha",
        "SmoothQuantFolding",
        "TensorQuantOverrides",
        "UseQDQContribOps",
        "WeightSymmetric",
    }
)

# create_calibrator's extra_options keys (calibrate.py) -> CalibrationOptions field
CALIBRATOR_OPTIONS = {
    "symmetric": "symmetric",
    "moving_average": "moving_average",
    "averaging_constant": "averaging_constant",
    "max_intermediate_outputs": "max_intermediate_outputs",
    "num_bins": "num_bins",
    "num_quantized_bins": "num_quantized_bins",
    "percentile": "percentile",
    "scenario": "scenario",
    "per_channel": "per_channel",
}

_DEFAULT_BINS = {
    "percentile": 2048,
    "entropy": 128,
    "distribution": 2048,
    "mse": 2048,
    "kl-glow": 2000,
}
# HistogramCalibrater's default num_quantized_bins is 2048, EntropyCalibrater's 128; only entropy
# reads it.
_DEFAULT_QUANTIZED_BINS = {"entropy": 128}


@dataclass(frozen=True)
class CalibrationOptions:
    """How one method turns statistics into a range; `None` fields take the method's default.

    - `symmetric`: ORT's CalibTensorRangeSymmetric. minmax: (-a, a) with a = max(|min|, |max|);
      percentile: histogram of |x| (True is quantize_static's default); entropy, distribution and
      mse ignore it, as their sources do; kl-glow takes `glow_schema` instead.
    - `moving_average`, `averaging_constant`: minmax only (np.nanmean over per-sample extremes;
      across CalibStridedMinMax chunks old + c * (new - old)).
    - `max_intermediate_outputs`: ORT's CalibMaxIntermediateOutputs, minmax only, reproduced as
      onnxruntime 1.31.1 behaves: every time that many samples are buffered they are dropped
      unused (`collect_data` clears them), so only the last `samples % n` samples count.
    - `strided_minmax`: ORT's CalibStridedMinMax: calibrate chunks of this many samples and merge
      the ranges (`MinMaxCalibrater.merge_range`); minmax only.
    - `num_bins`, `num_quantized_bins`, `percentile`: the histogram methods' sizes and cut.
    - `scenario`: ORT's Distribution scenario ("same"/"p3"); it only shapes avg/std, which a
      range does not carry.
    - `glow_schema`: kl-glow's Glow schema (asymmetric, symmetric, symmetric_uint8,
      symmetric_power2), deciding how Glow widens the range before its KL search.
    - `per_channel`: create_calibrator's per-channel MinMax; not supported (a range per tensor).
    """

    method: str = "minmax"
    symmetric: bool | None = None
    moving_average: bool = False
    averaging_constant: float = 0.01
    max_intermediate_outputs: int | None = None
    strided_minmax: int | None = None
    num_bins: int | None = None
    num_quantized_bins: int | None = None
    percentile: float = 99.999
    scenario: str = "same"
    glow_schema: str = "asymmetric"
    per_channel: bool = False

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(
                f"unknown calibration method {self.method!r}; valid: {', '.join(METHODS)}"
            )
        if self.symmetric is None:
            object.__setattr__(self, "symmetric", self.method == "percentile")
        if self.num_bins is None:
            object.__setattr__(self, "num_bins", _DEFAULT_BINS.get(self.method, 2048))
        if self.num_quantized_bins is None:
            object.__setattr__(
                self, "num_quantized_bins", _DEFAULT_QUANTIZED_BINS.get(self.method, 2048)
            )
        self._check()

    def _check(self) -> None:
        def fail(message: str) -> None:
            raise ValueError(f"calibration method {self.method}: {message}")

        for name in ("symmetric", "moving_average", "per_channel"):
            if not isinstance(getattr(self, name), bool):
                fail(f"{name} must be true or false, not {getattr(self, name)!r}")
        for name in ("num_bins", "num_quantized_bins"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                fail(f"{name} must be a positive integer, not {value!r}")
        for name in ("max_intermediate_outputs", "strided_minmax"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                fail(f"{name} must be a positive integer or null, not {value!r}")
        for name in ("averaging_constant", "percentile"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                fail(f"{name} must be a number, not {value!r}")
        if self.per_channel:
            fail("per-channel calibration ranges are not supported (one range per tensor)")
        if self.moving_average and not 0 <= self.averaging_constant <= 1:
            # MinMaxCalibrater.__init__
            fail("Invalid averaging constant, which should not be < 0 or > 1.")
        if self.method == "percentile" and not 0 <= self.percentile <= 100:
            # HistogramCollector.compute_percentile
            fail("Invalid percentile. Must be in range 0 <= percentile <= 100.")
        if self.method == "distribution":
            if self.num_bins < 512:  # HistogramCollector.compute_distribution
                fail("Invalid num_bins. Must be in range 512 <= num_bins.")
            if self.scenario not in ("same", "p3"):
                fail("Invalid scenario. Must be in {'same', 'p3'}.")
        if self.method == "entropy" and self.num_bins // 2 < self.num_quantized_bins // 2:
            # get_entropy_threshold would build np.zeros of a negative size
            fail(
                f"num_quantized_bins ({self.num_quantized_bins}) must not exceed num_bins "
                f"({self.num_bins})"
            )
        if self.method == "kl-glow":
            if self.symmetric:
                fail("symmetric does not apply; set glow_schema (e.g. 'symmetric')")
            if self.glow_schema not in GLOW_SCHEMAS:
                fail(f"unknown glow_schema {self.glow_schema!r}; valid: {', '.join(GLOW_SCHEMAS)}")
        if self.strided_minmax is not None and self.method != "minmax":
            # quantize_static would collect the histogram chunk by chunk, re-binning it
            # (HistogramCollector.merge_histogram): chunk-order dependent, not reproduced.
            fail("CalibStridedMinMax is only reproduced for minmax")
        if math.isnan(self.averaging_constant) or math.isnan(self.percentile):
            fail("averaging_constant and percentile must not be NaN")

    @classmethod
    def from_extra_options(
        cls, calibrate_method: str = "MinMax", extra_options: Mapping[str, Any] | None = None
    ) -> CalibrationOptions:
        """The options `quantize_static(calibrate_method=..., extra_options=...)` calibrates with.

        `calibrate_method` is ORT's CalibrationMethod name ("MinMax", "Entropy", "Percentile",
        "Distribution") or one of ours (METHODS). Of `extra_options`, the calibration keys
        (CALIBRATION_EXTRA_OPTIONS) are read, the quantizer's own keys (QUANTIZER_EXTRA_OPTIONS)
        are skipped, and any other key is an error listing the valid ones. As in ORT, only these
        keys reach the calibrator: num_bins etc. stay at create_calibrator's defaults.
        """
        method = _method_name(calibrate_method)
        values: dict[str, Any] = {}
        for key, value in (extra_options or {}).items():
            if key in CALIBRATION_EXTRA_OPTIONS:
                values[CALIBRATION_EXTRA_OPTIONS[key]] = value
            elif key not in QUANTIZER_EXTRA_OPTIONS:
                valid = sorted(CALIBRATION_EXTRA_OPTIONS) + sorted(QUANTIZER_EXTRA_OPTIONS)
                raise ValueError(
                    f"unknown extra_options key {key!r}; valid keys: {', '.join(valid)}"
                )
        if "strided_minmax" in values and not values["strided_minmax"]:
            values["strided_minmax"] = None  # quantize_static: `if stride:`
        return cls(method=method, **values)

    @classmethod
    def from_calibrator_options(
        cls, calibrate_method: str = "MinMax", extra_options: Mapping[str, Any] | None = None
    ) -> CalibrationOptions:
        """The options `create_calibrator(calibrate_method=..., extra_options=...)` uses (its
        lowercase keys: symmetric, num_bins, ...); unknown keys are an error listing the valid
        ones (create_calibrator itself ignores them)."""
        method = _method_name(calibrate_method)
        values: dict[str, Any] = {}
        for key, value in (extra_options or {}).items():
            if key not in CALIBRATOR_OPTIONS:
                raise ValueError(
                    f"unknown calibrator option {key!r}; valid: {', '.join(CALIBRATOR_OPTIONS)}"
                )
            values[CALIBRATOR_OPTIONS[key]] = value
        return cls(method=method, **values)

    def describe(self) -> dict[str, Any]:
        """The options that matter to this method, for messages and reports."""
        relevant = {
            "minmax": (
                "symmetric",
                "moving_average",
                "averaging_constant",
                "max_intermediate_outputs",
                "strided_minmax",
            ),
            "percentile": ("symmetric", "num_bins", "percentile"),
            "entropy": ("num_bins", "num_quantized_bins"),
            "distribution": ("num_bins",),
            "mse": ("num_bins",),
            "kl-glow": ("num_bins", "glow_schema"),
        }[self.method]
        names = {f.name for f in fields(self)}
        return {"method": self.method} | {n: getattr(self, n) for n in relevant if n in names}


def _method_name(calibrate_method: Any) -> str:
    """Our name for ORT's CalibrationMethod (enum member or its name) or one of ours."""
    name = getattr(calibrate_method, "name", calibrate_method)
    if isinstance(name, str):
        if name in ORT_METHODS:
            return ORT_METHODS[name]
        if name in METHODS:
            return name
    valid = list(ORT_METHODS) + [m for m in METHODS if m not in ORT_METHODS.values()]
    raise ValueError(f"unknown calibrate_method {calibrate_method!r}; valid: {', '.join(valid)}")
