"""Per-op quantization rules in the users' languages: Intel Neural Compressor and NNI.

Both read into one `NodeRule` per node, which the quantizer applies on top of the global
`quantize_static` options:

- Intel Neural Compressor (2.x `PostTrainingQuantConfig`): `op_type_dict` keyed by op type and
  `op_name_dict` keyed by node name (a regular expression, matched in full), each
  `{"weight": {...}, "activation": {...}}` with `dtype` ("int8", "uint8", "fp32"; "fp32" keeps
  the op float), `scheme` ("sym"/"asym"), `granularity` ("per_channel"/"per_tensor") and
  `algorithm` (the calibration method). Values may be lists (INC's tuning space): the first
  entry is taken. A name rule wins over a type rule, as in INC.
- NNI (`config_list`): entries with `quant_types` ("weight", "input", "output"),
  `quant_bits` (an int or a dict per quant type), `op_types` (torch module names such as
  Conv2d/Linear/ReLU, ONNX op types, or "default" for the weighted ops), `op_names`, `exclude`
  and `quant_scheme` ("per_tensor_affine", "per_tensor_symmetric", "per_channel_affine",
  "per_channel_symmetric"). The last matching entry wins, as in NNI; an entry with `exclude`
  keeps the op float. NNI chooses DoReFa by quantizer class, not by a config_list key, so an
  entry names the class: `"quantizer": "DoReFaQuantizer"` gives the matched ops DoReFa's
  weights (`qdialect.dorefa`) at the entry's weight `quant_bits` ("QAT_Quantizer", the
  default, changes nothing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from qdialect.ort_qparams import QType


class RuleError(ValueError):
    """A rule that cannot be read; the message names the key."""


@dataclass(frozen=True)
class NodeRule:
    """How one node is quantized; None leaves the global option in force."""

    quantize: bool = True
    per_channel: bool | None = None
    weight_symmetric: bool | None = None
    activation_symmetric: bool | None = None
    weight_type: QType | None = None
    activation_type: QType | None = None
    algorithm: str | None = None
    weight_scheme: str | None = None  # "dorefa": NNI's DoReFaQuantizer weights
    weight_bits: int | None = None  # the DoReFa bit width k


# torch module names NNI configs use, as the ONNX op types they export to
TORCH_OP_TYPES = {
    "Conv2d": ("Conv",),
    "Conv1d": ("Conv",),
    "Linear": ("Gemm", "MatMul"),
    "ReLU": ("Relu",),
    "ReLU6": ("Clip",),
    "MaxPool2d": ("MaxPool",),
    "AvgPool2d": ("AveragePool",),
    "AdaptiveAvgPool2d": ("GlobalAveragePool",),
}
WEIGHTED = ("Conv", "Gemm", "MatMul")  # NNI's "default"
INC_DTYPES = {"int8": QType.QInt8, "uint8": QType.QUInt8, "fp32": None, "float32": None}
INC_SECTIONS = ("weight", "activation")
INC_KEYS = ("dtype", "scheme", "granularity", "algorithm")
NNI_KEYS = ("quant_types", "quant_bits", "op_types", "op_names", "exclude", "quant_scheme",
            "quant_dtype", "quant_start_step", "quantizer")  # fmt: skip
NNI_QUANTIZERS = {"QAT_Quantizer": None, "DoReFaQuantizer": "dorefa"}
NNI_SCHEMES = ("per_tensor_affine", "per_tensor_symmetric", "per_channel_affine",
               "per_channel_symmetric")  # fmt: skip


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _inc_section(rule: NodeRule, section: str, spec: Any, where: str) -> NodeRule:
    if not isinstance(spec, dict):
        raise RuleError(f"{where}['{section}'] must be an object")
    for key in spec:
        if key not in INC_KEYS:
            raise RuleError(
                f"unknown key '{key}' in {where}['{section}'] (valid: {', '.join(INC_KEYS)})"
            )
    dtype = _first(spec.get("dtype"))
    if dtype is not None:
        if dtype not in INC_DTYPES:
            raise RuleError(
                f"{where}['{section}']: dtype must be one of {', '.join(INC_DTYPES)}, got {dtype!r}"
            )
        if INC_DTYPES[dtype] is None:
            return replace(rule, quantize=False)
        key = "weight_type" if section == "weight" else "activation_type"
        rule = replace(rule, **{key: INC_DTYPES[dtype]})
    scheme = _first(spec.get("scheme"))
    if scheme is not None:
        if scheme not in ("sym", "asym"):
            raise RuleError(f"{where}['{section}']: scheme must be 'sym' or 'asym', got {scheme!r}")
        key = "weight_symmetric" if section == "weight" else "activation_symmetric"
        rule = replace(rule, **{key: scheme == "sym"})
    granularity = _first(spec.get("granularity"))
    if granularity is not None:
        if granularity not in ("per_channel", "per_tensor"):
            raise RuleError(f"{where}['{section}']: granularity must be per_channel or per_tensor")
        rule = replace(rule, per_channel=granularity == "per_channel")
    algorithm = _first(spec.get("algorithm"))
    if algorithm is not None:
        rule = replace(rule, algorithm=str(algorithm))
    return rule


def inc_rule(spec: Any, where: str) -> NodeRule:
    """One `op_type_dict`/`op_name_dict` value as a rule."""
    if not isinstance(spec, dict):
        raise RuleError(f"{where} must be an object with 'weight'/'activation'")
    rule = NodeRule()
    for section, part in spec.items():
        if section not in INC_SECTIONS:
            raise RuleError(f"unknown key '{section}' in {where} (valid: weight, activation)")
        rule = _inc_section(rule, section, part, where)
        if not rule.quantize:
            break
    return rule


def _nni_types(names: list[str]) -> set[str]:
    types: set[str] = set()
    for name in names:
        if name == "default":
            types.update(WEIGHTED)
        else:
            types.update(TORCH_OP_TYPES.get(name, (name,)))
    return types


def _bits_type(bits: int, signed: bool, where: str) -> QType:
    try:
        return QType.parse(f"Q{'Int' if signed else 'UInt'}{bits}")
    except ValueError:
        raise RuleError(f"{where}: no {bits}-bit storage (4, 8 and 16 exist)") from None


def _nni_bits(entry: dict, kind: str) -> int | None:
    bits = entry.get("quant_bits")
    if isinstance(bits, dict):
        return bits.get(kind)
    return bits


def nni_rule(entry: dict, where: str) -> NodeRule:
    """One `config_list` entry as a rule (its matching is `NniEntry.matches`)."""
    if entry.get("exclude"):
        return NodeRule(quantize=False)
    rule = NodeRule()
    scheme = entry.get("quant_scheme")
    if scheme is not None:
        if scheme not in NNI_SCHEMES:
            raise RuleError(f"{where}: quant_scheme must be one of {', '.join(NNI_SCHEMES)}")
        symmetric = scheme.endswith("symmetric")
        rule = replace(
            rule,
            per_channel=scheme.startswith("per_channel"),
            weight_symmetric=symmetric,
            activation_symmetric=symmetric,
        )
    signed = entry.get("quant_dtype", "int") == "int"
    types = entry.get("quant_types", ["weight"])
    weight_bits = _nni_bits(entry, "weight")
    quantizer = entry.get("quantizer", "QAT_Quantizer")
    if quantizer not in NNI_QUANTIZERS:
        raise RuleError(f"{where}: quantizer must be one of {', '.join(NNI_QUANTIZERS)}")
    if NNI_QUANTIZERS[quantizer] is not None:
        if not isinstance(weight_bits, int) or isinstance(weight_bits, bool):
            raise RuleError(f"{where}: {quantizer} needs an integer weight quant_bits")
        return replace(rule, weight_scheme=NNI_QUANTIZERS[quantizer], weight_bits=weight_bits)
    if "weight" in types and weight_bits is not None:
        rule = replace(rule, weight_type=_bits_type(int(weight_bits), True, where))
    act_bits = _nni_bits(entry, "output") or _nni_bits(entry, "input")
    if ("output" in types or "input" in types) and act_bits is not None:
        rule = replace(rule, activation_type=_bits_type(int(act_bits), signed, where))
    return rule


@dataclass(frozen=True)
class RuleSet:
    """The rules of a config, looked up per node by `for_node`."""

    by_type: tuple[tuple[str, NodeRule], ...] = ()
    by_name: tuple[tuple[str, NodeRule], ...] = ()  # regular expressions
    nni: tuple[tuple[frozenset[str], frozenset[str], NodeRule], ...] = ()

    def for_node(self, op_type: str, name: str | None) -> NodeRule | None:
        """INC: a name rule over a type rule; NNI: the last matching entry."""
        found: NodeRule | None = None
        for types, names, rule in self.nni:
            if op_type in types or (name is not None and name in names):
                found = rule
        for pattern, rule in self.by_name:
            if name is not None and re.fullmatch(pattern, name):
                return rule
        for op, rule in self.by_type:
            if op == op_type:
                return rule
        return found

    def patterns(self) -> list[str]:
        """Every rule's key, for the warning about rules that match no node."""
        keys = [f"op_type_dict['{t}']" for t, _ in self.by_type]
        keys += [f"op_name_dict['{p}']" for p, _ in self.by_name]
        keys += [f"config_list[{i}]" for i in range(len(self.nni))]
        return keys

    def matching(self, op_type: str, name: str | None) -> list[str]:
        """The keys of the rules that match a node (whether or not they win)."""
        keys = [f"op_type_dict['{t}']" for t, _ in self.by_type if t == op_type]
        keys += [
            f"op_name_dict['{p}']"
            for p, _ in self.by_name
            if name is not None and re.fullmatch(p, name)
        ]
        keys += [
            f"config_list[{i}]"
            for i, (types, names, _) in enumerate(self.nni)
            if op_type in types or (name is not None and name in names)
        ]
        return keys

    @staticmethod
    def read(op_type_dict: Any, op_name_dict: Any, config_list: Any) -> RuleSet:
        by_type = tuple(
            (str(k), inc_rule(v, f"op_type_dict['{k}']")) for k, v in (op_type_dict or {}).items()
        )
        by_name = []
        for key, value in (op_name_dict or {}).items():
            try:
                re.compile(key)
            except re.error as err:
                raise RuleError(
                    f"op_name_dict key '{key}' is not a regular expression: {err}"
                ) from None
            by_name.append((str(key), inc_rule(value, f"op_name_dict['{key}']")))
        nni = []
        for index, entry in enumerate(config_list or []):
            where = f"config_list[{index}]"
            if not isinstance(entry, dict):
                raise RuleError(f"{where} must be an object")
            unknown = sorted(set(entry) - set(NNI_KEYS))
            if unknown:
                raise RuleError(
                    f"unknown key '{unknown[0]}' in {where} (valid: {', '.join(NNI_KEYS)})"
                )
            types = frozenset(_nni_types(entry.get("op_types", [])))
            names = frozenset(entry.get("op_names", []))
            nni.append((types, names, nni_rule(entry, where)))
        return RuleSet(by_type, tuple(by_name), tuple(nni))
