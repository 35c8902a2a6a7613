"""qnn ops: the mode enums behind the string properties, and the compute family's operands."""

from __future__ import annotations

import pytest
from xdsl.utils.exceptions import VerifyException

from qdialect import qnn
from qdialect.qnn import Activation, Layout, PadMode, RequantMode, RoundMode
from qdialect.textio import IRError, parse_module

Q = "!quant.uniform<i8:f32, 0.1>"
ANY = "!quant.any<i8:f32>"
RANGES = (
    "input_min = -1.0 : f32, input_max = 1.0 : f32, weight_min = -1.0 : f32, "
    "weight_max = 1.0 : f32, output_min = -8.0 : f32, output_max = 8.0 : f32"
)
CLAMP = "clamp_min = 0.0 : f32, clamp_max = 6.0 : f32"


def only_op(text: str, op_type: type, *, verify: bool = True):
    module = parse_module(text, verify=verify)
    (op,) = [op for op in module.walk() if isinstance(op, op_type)]
    return op


def _activation_attrs(activation: Activation) -> str:
    attrs = f'activation = "{activation.value}"'
    return f"{attrs}, {CLAMP}" if activation is Activation.CLAMP else attrs


def dot(attrs: str = "") -> str:
    return f"""func.func @f(%a: tensor<2x4xf32>, %b: tensor<4x3xf32>) {{
  %y = qnn.dot %a, %b {{{attrs}}} : tensor<2x4xf32>, tensor<4x3xf32> -> tensor<2x3xf32>
  return
}}"""


def quantized_dot(attrs: str = "") -> str:
    return f"""func.func @f(%a: tensor<2x4x{Q}>, %b: tensor<4x3x{Q}>) {{
  %y = qnn.dot %a, %b {{{attrs}}} : tensor<2x4x{Q}>, tensor<4x3x{Q}> -> tensor<2x3x{Q}>
  return
}}"""


def scaled_dot(attrs: str = "") -> str:
    attrs = f"{RANGES}, {attrs}" if attrs else RANGES
    return f"""func.func @f(%a: tensor<2x4x{ANY}>, %b: tensor<4x3x{ANY}>) {{
  %y = qnn.scaled_dot %a, %b {{{attrs}}} : tensor<2x4x{ANY}>, tensor<4x3x{ANY}> -> tensor<2x3x{ANY}>
  return
}}"""


def conv(layout: str | None) -> str:
    x, y = ("1x5x5x3", "1x3x3x4") if layout == "nhwc" else ("1x3x5x5", "1x4x3x3")
    attrs = f' {{layout = "{layout}"}}' if layout else ""
    return f"""func.func @f(%x: tensor<{x}xf32>, %w: tensor<4x3x3x3xf32>) {{
  %y = qnn.conv2d %x, %w{attrs} : tensor<{x}xf32>, tensor<4x3x3x3xf32> -> tensor<{y}xf32>
  return
}}"""


def max_pool(layout: str | None) -> str:
    x, y = ("1x4x4x2", "1x3x3x2") if layout == "nhwc" else ("1x2x4x4", "1x2x3x3")
    attrs = f', layout = "{layout}"' if layout else ""
    return f"""func.func @f(%x: tensor<{x}xf32>) {{
  %y = qnn.max_pool2d %x {{kernel = array<i64: 2, 2>{attrs}}} : tensor<{x}xf32> -> tensor<{y}xf32>
  return
}}"""


def quantize(op: str, attrs: str) -> str:
    out = Q if op == "qnn.quantize" else ANY
    if op == "qnn.scaled_quantize":
        attrs = (
            f"min = -1.0 : f32, max = 1.0 : f32, {attrs}"
            if attrs
            else "min = -1.0 : f32, max = 1.0 : f32"
        )
    return f"""func.func @f(%x: tensor<4xf32>) {{
  %q = {op} %x {{{attrs}}} : tensor<4xf32> -> tensor<4x{out}>
  return
}}"""


def pad(mode: str | None) -> str:
    attrs = f', mode = "{mode}"' if mode else ""
    return f"""func.func @f(%x: tensor<3xf32>) {{
  %y = qnn.pad %x {{low = array<i64: 1>, high = array<i64: 1>{attrs}}} : tensor<3xf32> -> tensor<5xf32>
  return
}}"""


# ----------------------------------------------------------------------------- mode accessors


@pytest.mark.parametrize("activation", list(Activation))
@pytest.mark.parametrize(
    ("make", "op_type"),
    [(dot, qnn.DotOp), (scaled_dot, qnn.ScaledDotOp)],
    ids=["dot", "scaled_dot"],
)
def test_activation_kind(make, op_type, activation: Activation) -> None:
    op = only_op(make(_activation_attrs(activation)), op_type)
    assert op.activation_kind is activation
    assert op.activation.data == activation.value  # still stored as the string


@pytest.mark.parametrize("make", [dot, scaled_dot], ids=["dot", "scaled_dot"])
def test_activation_kind_default(make) -> None:
    op = only_op(make(), qnn.DotOp if make is dot else qnn.ScaledDotOp)
    assert op.activation_kind is Activation.NONE


@pytest.mark.parametrize("layout", [None, *Layout])
@pytest.mark.parametrize(
    ("make", "op_type"),
    [(conv, qnn.Conv2DOp), (max_pool, qnn.MaxPool2DOp)],
    ids=["conv2d", "max_pool2d"],
)
def test_layout_kind(make, op_type, layout: Layout | None) -> None:
    op = only_op(make(layout.value if layout else None), op_type)
    assert op.layout_kind is (layout or Layout.NCHW)


@pytest.mark.parametrize("mode", [None, *RoundMode])
@pytest.mark.parametrize(
    ("name", "op_type"),
    [("qnn.quantize", qnn.QuantizeOp), ("qnn.scaled_quantize", qnn.ScaledQuantizeOp)],
)
def test_round_mode_kind(name: str, op_type, mode: RoundMode | None) -> None:
    attrs = f'round_mode = "{mode.value}"' if mode else ""
    op = only_op(quantize(name, attrs), op_type)
    assert op.round_mode_kind is (mode or RoundMode.HALF_TO_EVEN)


def test_round_modes_are_ngraphs_nine() -> None:
    assert len(RoundMode) == 9


@pytest.mark.parametrize("mode", [None, *RequantMode])
def test_requant_mode_kind(mode: RequantMode | None) -> None:
    attrs = f'requant_mode = "{mode.value}"' if mode else ""
    op = only_op(quantized_dot(attrs), qnn.DotOp)
    assert op.requant_mode_kind is (mode or RequantMode.FLOAT)


@pytest.mark.parametrize("mode", [None, *PadMode])
def test_pad_mode_kind(mode: PadMode | None) -> None:
    op = only_op(pad(mode.value if mode else None), qnn.PadOp)
    assert op.mode_kind is (mode or PadMode.CONSTANT)


UNKNOWN = [
    (
        dot('activation = "gelu"'),
        qnn.DotOp,
        "activation_kind",
        "activation must be one of 'none', 'relu', 'clamp', got 'gelu'",
    ),
    (
        scaled_dot('activation = "gelu"'),
        qnn.ScaledDotOp,
        "activation_kind",
        "activation must be one of 'none', 'relu', 'clamp', got 'gelu'",
    ),
    (
        conv("nhcw"),
        qnn.Conv2DOp,
        "layout_kind",
        "layout must be one of 'nchw', 'nhwc', got 'nhcw'",
    ),
    (
        max_pool("nhcw"),
        qnn.MaxPool2DOp,
        "layout_kind",
        "layout must be one of 'nchw', 'nhwc', got 'nhcw'",
    ),
    (
        quantize("qnn.quantize", 'round_mode = "nearest"'),
        qnn.QuantizeOp,
        "round_mode_kind",
        "round_mode must be one of 'half_to_even', 'half_away_from_zero', 'half_toward_zero', "
        "'half_up', 'half_down', 'away_from_zero', 'toward_zero', 'up', 'down', got 'nearest'",
    ),
    (
        quantize("qnn.scaled_quantize", 'round_mode = "nearest"'),
        qnn.ScaledQuantizeOp,
        "round_mode_kind",
        "round_mode must be one of 'half_to_even', 'half_away_from_zero', 'half_toward_zero', "
        "'half_up', 'half_down', 'away_from_zero', 'toward_zero', 'up', 'down', got 'nearest'",
    ),
    (
        quantized_dot('requant_mode = "gemmlowp"'),
        qnn.DotOp,
        "requant_mode_kind",
        "requant_mode must be one of 'float', 'tflite', 'tosa_single', 'tosa_double', "
        "got 'gemmlowp'",
    ),
    (
        pad("mirror"),
        qnn.PadOp,
        "mode_kind",
        "mode must be one of 'constant', 'edge', 'reflect', 'wrap', got 'mirror'",
    ),
]


@pytest.mark.parametrize(
    ("text", "op_type", "accessor", "message"),
    UNKNOWN,
    ids=[f"{op_type.name}.{accessor}" for _, op_type, accessor, _ in UNKNOWN],
)
def test_unknown_mode_is_rejected(text: str, op_type, accessor: str, message: str) -> None:
    """The verifier and the typed accessor give the same message, the one MLIR files expect."""
    with pytest.raises(IRError) as rejected:
        parse_module(text)
    assert f": error: '{op_type.name}' op {message}\n" in str(rejected.value)
    op = only_op(text, op_type, verify=False)
    with pytest.raises(VerifyException) as raised:
        getattr(op, accessor)
    assert str(raised.value) == message


# ----------------------------------------------------------------------------- operand names


FAMILY = [
    (
        qnn.Conv2DOp,
        "qnn.conv2d %x, %w bias(%b : tensor<4xf32>) addend(%r : tensor<1x4x3x3xf32>) : "
        "tensor<1x3x5x5xf32>, tensor<4x3x3x3xf32> -> tensor<1x4x3x3xf32>",
        "tensor<1x3x5x5xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>, tensor<1x4x3x3xf32>",
    ),
    (
        qnn.DotOp,
        "qnn.dot %x, %w bias(%b : tensor<3xf32>) addend(%r : tensor<2x3xf32>) : "
        "tensor<2x4xf32>, tensor<4x3xf32> -> tensor<2x3xf32>",
        "tensor<2x4xf32>, tensor<4x3xf32>, tensor<3xf32>, tensor<2x3xf32>",
    ),
    (
        qnn.ScaledConv2DOp,
        f"qnn.scaled_conv2d %x, %w bias(%b : tensor<4xf32>) addend(%r : tensor<1x4x3x3x{ANY}>) "
        f"{{{RANGES}, addend_min = -1.0 : f32, addend_max = 1.0 : f32}} : "
        f"tensor<1x3x5x5x{ANY}>, tensor<4x3x3x3x{ANY}> -> tensor<1x4x3x3x{ANY}>",
        f"tensor<1x3x5x5x{ANY}>, tensor<4x3x3x3x{ANY}>, tensor<4xf32>, tensor<1x4x3x3x{ANY}>",
    ),
    (
        qnn.ScaledDotOp,
        f"qnn.scaled_dot %x, %w bias(%b : tensor<3xf32>) addend(%r : tensor<2x3x{ANY}>) "
        f"{{{RANGES}, addend_min = -1.0 : f32, addend_max = 1.0 : f32}} : "
        f"tensor<2x4x{ANY}>, tensor<4x3x{ANY}> -> tensor<2x3x{ANY}>",
        f"tensor<2x4x{ANY}>, tensor<4x3x{ANY}>, tensor<3xf32>, tensor<2x3x{ANY}>",
    ),
]


@pytest.mark.parametrize(
    ("op_type", "op_text", "arg_types"), FAMILY, ids=[f[0].name for f in FAMILY]
)
def test_compute_family_operands_are_input_weight_bias_addend(
    op_type, op_text: str, arg_types: str
) -> None:
    x, w, b, r = arg_types.split(", ", 3)
    text = f"""func.func @f(%x: {x}, %w: {w}, %b: {b}, %r: {r}) {{
  %y = {op_text}
  return
}}"""
    module = parse_module(text)
    (func,) = module.ops
    args = func.body.block.args
    op = next(o for o in module.walk() if isinstance(o, op_type))
    assert (op.input, op.weight, op.bias, op.addend) == tuple(args)
    assert tuple(op.operands) == tuple(args)
    assert not hasattr(op, "lhs") and not hasattr(op, "rhs")


def test_dot_without_bias_or_addend() -> None:
    module = parse_module(dot())
    (func,) = module.ops
    a, b = func.body.block.args
    op = next(o for o in module.walk() if isinstance(o, qnn.DotOp))
    assert (op.input, op.weight, op.bias, op.addend) == (a, b, None, None)
