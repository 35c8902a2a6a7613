"""The string-valued modes of `qnn` ops, as Python enums.

Each mode is stored in the IR as a plain string property (`activation = "relu"`), so the
generic form still parses in `mlir-opt --allow-unregistered-dialect`; the op exposes it typed
through a `*_kind` property (`op.activation_kind is Activation.RELU`), which raises the
verifier's message for a string outside the enum.
"""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

from xdsl.dialects.builtin import StringAttr
from xdsl.utils.exceptions import VerifyException


class RoundMode(Enum):
    """nGraph's nine rounding modes for `qnn.quantize`; `half_to_even` is the default."""

    HALF_TO_EVEN = "half_to_even"
    HALF_AWAY_FROM_ZERO = "half_away_from_zero"
    HALF_TOWARD_ZERO = "half_toward_zero"
    HALF_UP = "half_up"  # ties toward +inf
    HALF_DOWN = "half_down"  # ties toward -inf
    AWAY_FROM_ZERO = "away_from_zero"
    TOWARD_ZERO = "toward_zero"
    UP = "up"  # ceil
    DOWN = "down"  # floor


class RequantMode(Enum):
    """How conv2d/dot scale the int32 accumulator into the output type (DESIGN §2).

    `float`: `fl(float(acc) * fl(fl(sx*sw)/sy))` then rint (the default, ONNX Runtime's).
    `tflite`: gemmlowp/TFLite Q31 multiplier and shift. `tosa_single` / `tosa_double`:
    TOSA's apply_scale_32 with single or double rounding.
    """

    FLOAT = "float"
    TFLITE = "tflite"
    TOSA_SINGLE = "tosa_single"
    TOSA_DOUBLE = "tosa_double"


class Activation(Enum):
    """The fused activation of conv2d/dot: none, relu, or clamp to [clamp_min, clamp_max]."""

    NONE = "none"
    RELU = "relu"
    CLAMP = "clamp"


class Layout(Enum):
    """`nchw` pairs with OIHW weights, `nhwc` with OHWI weights."""

    NCHW = "nchw"
    NHWC = "nhwc"


class PadMode(Enum):
    """How `qnn.pad` fills: a constant, the border element, a mirror without the border, or
    the tensor repeated (a torus: the elements from the other end)."""

    CONSTANT = "constant"
    EDGE = "edge"
    REFLECT = "reflect"
    WRAP = "wrap"


E = TypeVar("E", bound=Enum)


def enum_value(enum: type[E], attr: StringAttr, prop: str) -> E:
    """The member of `enum` that `attr` spells; a VerifyException naming `prop` otherwise."""
    try:
        return enum(attr.data)
    except ValueError:
        choices = ", ".join(repr(m.value) for m in enum)
        raise VerifyException(f"{prop} must be one of {choices}, got {attr.data!r}") from None


class SumExpKernel(Enum):
    """The MLAS sum-exp kernel a float `qnn.softmax` reproduces (`qdialect.softmax`): `fma3`
    (AVX2 hosts) or `avx512f` (AVX-512 hosts: another exp clamp, 16 lanes)."""

    FMA3 = "fma3"
    AVX512F = "avx512f"
