"""The quantizer's configuration, spelled as ONNX Runtime's `quantize_static` spells it.

`QuantizeConfig.from_dict` reads the keyword arguments of `quantize_static` (a `config.json`
holds them as JSON): `quant_format`, `per_channel`, `reduce_range`, `activation_type`,
`weight_type`, `op_types_to_quantize`, `nodes_to_quantize`, `nodes_to_exclude`,
`calibrate_method` and `extra_options`, with ONNX Runtime's defaults, and Intel Neural
Compressor's `recipes` (`qdialect.recipes`: SmoothQuant). Unknown keys are errors
that list the valid ones, so a misspelt option never silently does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property
from typing import Any

from qdialect.calibration.options import (
    CALIBRATION_EXTRA_OPTIONS,
    METHODS,
    ORT_METHODS,
    QUANTIZER_EXTRA_OPTIONS,
)
from qdialect.ort_qparams import QType
from qdialect.qparams import FRAMEWORK_SCHEMES, Scheme
from qdialect.quant_rules import NodeRule, RuleError, RuleSet
from qdialect.recipes import RecipeError, SmoothQuantRecipe, read_recipes
from qdialect.tensor_overrides import OverrideError, TensorOverrides


class QuantFormat(Enum):
    """`QuantFormat.QDQ` (the default since ORT 1.11) or `QuantFormat.QOperator`."""

    QDQ = "QDQ"
    QOperator = "QOperator"


class ConfigError(ValueError):
    """A configuration key or value that does not exist; the message names it."""


# ONNX Runtime's quantizer extra_options this quantizer implements (the calibration keys are
# `qdialect.calibration.options.CALIBRATION_EXTRA_OPTIONS`)
QUANTIZER_OPTIONS = (
    "ActivationSymmetric",
    "WeightSymmetric",
    "MinimumRealRange",
    "QDQDisableWeightAdjustForInt32Bias",
    "QDQKeepRemovableActivations",
    "OpTypesToExcludeOutputQuantization",
    "QDQOpTypePerChannelSupportToAxis",
    "ForceQuantizeNoInputCheck",
    "DedicatedQDQPair",  # one Q/DQ pair per consumer (int8 ones then retype: s8-to-u8)
    "UseQDQContribOps",  # the pairs in the com.microsoft domain: the same numbers
    "AddQDQPairToWeight",  # a float weight through Q/DQ, not a stored one
    "ActivationRestrictedAsymmetric",  # uint8 activations: zero point 0 or 128
    "QuantizeBias",  # QDQ: False leaves biases float
    "MatMulConstBOnly",  # QOperator: a MatMul of two activations stays float
    "TensorQuantOverrides",  # per-tensor types, ranges and parameters (not 'convert')
)

# ONNX Runtime 1.31's quantizer registries (`registry.py`): the node types its QOperator
# quantizer (`QLinearOpsRegistry`) and its QDQ quantizer (`QDQRegistry`) quantize
QLINEAR_OP_TYPES = frozenset(
    [
        "Add",
        "ArgMax",
        "AveragePool",
        "Clip",
        "Concat",
        "Conv",
        "EmbedLayerNormalization",
        "Flatten",
        "Gather",
        "Gemm",
        "GlobalAveragePool",
        "LeakyRelu",
        "MatMul",
        "MaxPool",
        "Mul",
        "Pad",
        "Relu",
        "Reshape",
        "Resize",
        "Sigmoid",
        "Softmax",
        "Split",
        "Squeeze",
        "Transpose",
        "Unsqueeze",
        "Where",
    ]
)
QDQ_OP_TYPES = frozenset(
    [
        "AveragePool",
        "BatchNormalization",
        "Clip",
        "Conv",
        "ConvTranspose",
        "CumSum",
        "Flatten",
        "Gather",
        "GatherElements",
        "Gemm",
        "InstanceNormalization",
        "LayerNormalization",
        "MatMul",
        "MaxPool",
        "Pad",
        "Relu",
        "Reshape",
        "Resize",
        "Slice",
        "Split",
        "Squeeze",
        "TopK",
        "Transpose",
        "Unsqueeze",
        "Where",
    ]
)
# quantize_static's default `op_types_to_quantize`: the union of the two
DEFAULT_OP_TYPES = QLINEAR_OP_TYPES | QDQ_OP_TYPES


@dataclass(frozen=True)
class QuantizeConfig:
    """What `quantize_static` would be called with; field names are its keyword arguments."""

    quant_format: QuantFormat = QuantFormat.QDQ
    per_channel: bool = False
    reduce_range: bool = False
    activation_type: QType = QType.QInt8
    weight_type: QType = QType.QInt8
    op_types_to_quantize: frozenset[str] = DEFAULT_OP_TYPES
    nodes_to_quantize: frozenset[str] = frozenset()
    nodes_to_exclude: frozenset[str] = frozenset()
    calibrate_method: str = "minmax"  # ours or ONNX Runtime's name ("MinMax", ...)
    extra_options: dict[str, Any] = field(default_factory=dict)
    # beyond quantize_static: a scheme table by name, and per-op rules (INC, NNI)
    preset: str | None = None
    rules: RuleSet = RuleSet()
    # INC's `recipes` (qdialect.recipes): SmoothQuant, None when off
    smooth_quant: SmoothQuantRecipe | None = None
    mode: str = "static"  # or "dynamic": quantize_dynamic's decisions (rewrites.quantize_dynamic)

    def scheme(self, qtype: QType) -> Scheme | None:
        """The preset's scheme for a storage type (None: ONNX Runtime's compute_scale_zp)."""
        if self.preset is None:
            return None
        if self.preset in PRESET_SCHEMES:
            return Scheme(self.preset)
        dtype = "int8" if qtype.signed else "uint8"
        return FRAMEWORK_SCHEMES[(self.preset, dtype)][0]

    def rule(self, op_type: str, node_name: str | None) -> NodeRule:
        return self.rules.for_node(op_type, node_name) or NodeRule()

    @property
    def activation_symmetric(self) -> bool:
        return bool(self.extra_options.get("ActivationSymmetric", False))

    @property
    def untyped_are_float(self) -> bool:
        """`DefaultTensorType` 1 (FLOAT): `quantize_dynamic` takes a tensor ONNX's shape
        inference leaves untyped (past a contrib node) as float."""
        return self.extra_options.get("DefaultTensorType") == 1

    def weight_symmetric(self, qtype: QType) -> bool:
        """`BaseQuantizer.is_weight_symmetric`: as set, else signed types are symmetric."""
        given = self.extra_options.get("WeightSymmetric")
        if given is not None:
            return bool(given)
        return qtype in (QType.QInt4, QType.QInt8, QType.QInt16)

    @property
    def activation_restricted_asymmetric(self) -> bool:
        return bool(self.extra_options.get("ActivationRestrictedAsymmetric", False))

    @cached_property
    def tensor_overrides(self) -> TensorOverrides:
        """`TensorQuantOverrides`, read (`from_dict` reads it once to check it)."""
        try:
            return TensorOverrides.read(self.extra_options.get("TensorQuantOverrides"))
        except OverrideError as err:
            raise ConfigError(str(err)) from None

    @property
    def min_real_range(self) -> float | None:
        return self.extra_options.get("MinimumRealRange")

    def option(self, key: str, default: Any = None) -> Any:
        return self.extra_options.get(key, default)

    @property
    def writes_opset_21(self) -> bool:
        """Whether quantize_static raises the model to opset 21 (`update_opset_version`:
        16-bit activations or weights, which ONNX's QuantizeLinear takes from opset 21,
        including a 16-bit `quant_type` of TensorQuantOverrides or of their `convert`, which
        the QOperator form otherwise ignores)."""
        sixteen = (QType.QInt16, QType.QUInt16)
        types = {self.activation_type, self.weight_type} | {
            qtype
            for dicts in self.tensor_overrides.by_name.values()
            for ov in dicts
            for qtype in (ov.quant_type, ov.convert.quant_type if ov.convert else None)
        }
        return any(qtype in sixteen for qtype in types)

    def should_quantize(self, op_type: str, node_name: str | None) -> bool:
        """`BaseQuantizer.should_quantize_node`."""
        if self.nodes_to_quantize and node_name not in self.nodes_to_quantize:
            return False
        if op_type not in self.op_types_to_quantize:
            return False
        if self.quant_format is QuantFormat.QOperator and op_type not in QLINEAR_OP_TYPES:
            return False  # QDQ-only types, and any other (`QuantOperatorBase`: left float)
        if node_name is not None and node_name in self.nodes_to_exclude:
            return False
        return self.rule(op_type, node_name).quantize

    @staticmethod
    def from_dict(data: dict[str, Any]) -> QuantizeConfig:
        """Read `quantize_static`'s keyword arguments; unknown keys and values are errors."""
        if not isinstance(data, dict):
            raise ConfigError(f"a quantization config is a JSON object, got {type(data).__name__}")
        fields = set(QuantizeConfig.__dataclass_fields__) - {"rules", "smooth_quant"}
        valid = fields | set(OUR_KEYS) | set(NO_EFFECT_KEYS)
        unknown = sorted(set(data) - valid)
        if unknown:
            raise ConfigError(
                f"unknown config key '{unknown[0]}' (valid: {', '.join(sorted(valid))})"
            )
        mode = data.get("mode", "static")
        if mode not in MODES:  # "weight_only" is read by runtime.weight_only.WeightOnlyConfig
            known = ", ".join((*MODES, "weight_only"))
            raise ConfigError(f"'mode' must be one of {known}, got {mode!r}")
        kwargs: dict[str, Any] = {"mode": mode}
        if mode == "dynamic":  # quantize_dynamic's defaults
            kwargs |= {"activation_type": QType.QUInt8, "op_types_to_quantize": DYNAMIC_OP_TYPES}
            static_only = sorted(set(data) & STATIC_ONLY_KEYS)
            if static_only:
                raise ConfigError(
                    f"'{static_only[0]}' is no quantize_dynamic argument (dynamic mode "
                    "quantizes activations to uint8 at run time, from no calibration)"
                )
        for key, value in data.items():
            if key in NO_EFFECT_KEYS:
                _check_no_effect(key, value)
            elif key not in OUR_KEYS:
                kwargs[key] = _read_value(key, value)
        try:
            kwargs["rules"] = RuleSet.read(
                data.get("op_type_dict"), data.get("op_name_dict"), data.get("config_list")
            )
            kwargs["smooth_quant"] = read_recipes(data.get("recipes", {}))
        except (RuleError, RecipeError) as err:
            raise ConfigError(str(err)) from None
        config = QuantizeConfig(**kwargs)
        if mode == "static":
            _check_static_types(config)
        if mode == "dynamic" and config.weight_type not in (QType.QInt8, QType.QUInt8):
            raise ConfigError(
                f"'weight_type' must be QInt8 or QUInt8 in dynamic mode (quantize_dynamic's "
                f"integer kernels take 8-bit weights), got {config.weight_type.name}"
            )
        if config.tensor_overrides.by_name and mode == "dynamic":
            raise ConfigError("'TensorQuantOverrides' is supported in static mode only")
        if mode == "dynamic" and config.option("MatMulConstBOnly", True) is not True:
            raise ConfigError(
                "'MatMulConstBOnly' false (a MatMul of two activations, dynamically quantized) "
                "is not supported"
            )
        return config


def _check_static_types(config: QuantizeConfig) -> None:
    """`check_static_quant_arguments`: the type pairs `quantize_static` refuses, in its words."""
    if config.activation_type is QType.QInt8 and config.weight_type is QType.QUInt8:
        raise ConfigError(
            "ONNXRuntime quantization doesn't support data format:"
            "activation_type=QuantType.QInt8, weight_type=QuantType.QUInt8"
        )
    sixteen = (QType.QInt16, QType.QUInt16)
    if config.quant_format is not QuantFormat.QDQ and (
        config.activation_type in sixteen or config.weight_type in sixteen
    ):
        raise ConfigError("Only QuantFormat.QDQ supports 16-bit quantization types.")


MODES = ("static", "dynamic")
# quantize_static's keyword arguments quantize_dynamic does not take
STATIC_ONLY_KEYS = frozenset(
    {"activation_type", "quant_format", "calibrate_method", "calibration_providers"}
)
# quantize_dynamic's default `op_types_to_quantize` (IntegerOpsRegistry)
DYNAMIC_OP_TYPES = frozenset(
    ["Conv", "MatMul", "Attention", "LSTM", "Gather", "Transpose", "EmbedLayerNormalization"]
)
# our keys beyond quantize_static's (rules are read into `rules`)
OUR_KEYS = ("mode", "op_type_dict", "op_name_dict", "config_list", "recipes")
# quantize_static's keyword arguments that change nothing here: we write IR, not an ONNX file
# (external data), and calibrate as ORT's CPU execution provider computes (`calibrate`)
NO_EFFECT_KEYS = ("use_external_data_format", "calibration_providers")
CPU_PROVIDER = "CPUExecutionProvider"


def _check_no_effect(key: str, value: Any) -> None:
    """Accept `quantize_static`'s values of a key without effect; refuse what would need one."""
    if key == "use_external_data_format" and not isinstance(value, bool):
        raise ConfigError(f"'{key}' must be true or false, got {value!r}")
    if key == "calibration_providers" and value not in (None, [], [CPU_PROVIDER]):
        raise ConfigError(
            f"'{key}': calibration computes what ONNX Runtime's {CPU_PROVIDER} computes; "
            f"got {value!r}"
        )


# Glow's schemas by name; the framework names of the seed's table are the other presets
PRESET_SCHEMES = ("asymmetric", "symmetric", "symmetric_uint8", "symmetric_power2")
PRESETS = PRESET_SCHEMES + tuple(sorted({fw for fw, _ in FRAMEWORK_SCHEMES}))


def _names(key: str, value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"'{key}' must be a list of names")
    return frozenset(value)


def _read_value(key: str, value: Any) -> Any:
    if key == "quant_format":
        name = str(value).rsplit(".", 1)[-1]
        try:
            return QuantFormat[name]
        except KeyError:
            raise ConfigError(
                f'\'quant_format\' must be "QDQ" or "QOperator", got {value!r}'
            ) from None
    if key in ("activation_type", "weight_type"):
        try:
            return QType.parse(str(value))
        except ValueError as err:
            raise ConfigError(f"'{key}': {err}") from None
    if key in ("per_channel", "reduce_range"):
        if not isinstance(value, bool):
            raise ConfigError(f"'{key}' must be true or false, got {value!r}")
        return value
    if key == "op_types_to_quantize":
        return _names(key, value) or DEFAULT_OP_TYPES
    if key in ("nodes_to_quantize", "nodes_to_exclude"):
        return _names(key, value)
    if key == "calibrate_method":
        name = str(value).rsplit(".", 1)[-1]
        name = ORT_METHODS.get(name, name)
        if name not in METHODS:
            valid = ", ".join([*ORT_METHODS, *METHODS])
            raise ConfigError(f"'calibrate_method' must be one of {valid}, got {value!r}")
        return name
    if key == "preset":
        if value not in PRESETS:
            raise ConfigError(f"'preset' must be one of {', '.join(PRESETS)}, got {value!r}")
        return value
    return _extra_options(value)


def _extra_options(value: Any) -> dict[str, Any]:
    if value is None:  # quantize_static's own default
        return {}
    if not isinstance(value, dict):
        raise ConfigError("'extra_options' must be a JSON object")
    valid = QUANTIZER_OPTIONS + tuple(CALIBRATION_EXTRA_OPTIONS)
    smoothing = bool(value.get("SmoothQuant", False))
    for key, given in value.items():
        if _no_effect(key, given, smoothing):
            continue
        if key in QUANTIZER_EXTRA_OPTIONS and key not in valid:
            raise ConfigError(
                f"extra_options key '{key}' (ONNX Runtime's) is not supported by this quantizer"
                + (f" (only its default, {OFF_BY_DEFAULT[key]!r})" if key in OFF_BY_DEFAULT else "")
            )
        if key not in valid:
            raise ConfigError(
                f"unknown extra_options key '{key}' (valid: {', '.join(sorted(valid))})"
            )
        _check_option_value(key, given)
    return dict(value)


# the quantizer's extra_options whose value is a flag (WeightSymmetric may also be null: the
# default for the weight type)
FLAG_OPTIONS = frozenset(QUANTIZER_OPTIONS) - {
    "MinimumRealRange",
    "OpTypesToExcludeOutputQuantization",
    "QDQOpTypePerChannelSupportToAxis",
    "TensorQuantOverrides",
}


def _check_option_value(key: str, value: Any) -> None:
    """The quantizer's options must have values of their kind (ORT reads any value's truth)."""
    if key in FLAG_OPTIONS and not (
        isinstance(value, bool) or (value is None and key == "WeightSymmetric")
    ):
        raise ConfigError(f"extra_options '{key}' must be true or false, got {value!r}")
    if (
        key == "MinimumRealRange"
        and value is not None
        and (isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0)
    ):
        raise ConfigError(f"extra_options '{key}' must be a number >= 0 or null, got {value!r}")
    if key == "QDQOpTypePerChannelSupportToAxis" and not (
        isinstance(value, dict)
        and all(isinstance(axis, int) and not isinstance(axis, bool) for axis in value.values())
    ):
        raise ConfigError(f"extra_options '{key}' must map op types to integer axes, got {value!r}")
    if key == "OpTypesToExcludeOutputQuantization" and not (
        isinstance(value, list) and all(isinstance(v, str) for v in value)
    ):
        raise ConfigError(f"extra_options '{key}' must be a list of op types, got {value!r}")


# ONNX Runtime's extra_options this quantizer does not implement, at the values that leave
# them off (ORT's static_quantize_runner writes them all out); SmoothQuant's settings matter
# only with SmoothQuant (ours is the config's INC `recipes`); DefaultTensorType is read by
# dynamic mode (`untyped_are_float`), not by static mode
OFF_BY_DEFAULT = {"EnableSubgraph": False, "SmoothQuant": False, "BlockSize": 0}


def _no_effect(key: str, value: Any, smoothing: bool) -> bool:
    if key in OFF_BY_DEFAULT:
        return value == OFF_BY_DEFAULT[key] and type(value) is type(OFF_BY_DEFAULT[key])
    if key in ("SmoothQuantAlpha", "SmoothQuantFolding"):
        return not smoothing
    return key == "DefaultTensorType"
