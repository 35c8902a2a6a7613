"""Scale limits (issue 18): products and ratios of scales from .mlir input.

`qdialect.arithmetic` computes the requantization multiplier `sx*sw/sy`, the bias scale `sx*sw`,
QLinearAdd's `sa/sy`, `sb/sy` and the pools' `sx/sy` only from scales in `SCALE_RANGE`
(2^-40 to 2^40, the range the ONNX importer accepts for QOperator ops). An integer op asking
for one with another scale (1e-45, 1e-30, 1e30, 3e38, NaN) ends in one located line, the same
from `qnn-default`, `--emit-c`, `--run` and `--run --reference` (with or without
`--no-qnn-default`), never an internal error or an inf/NaN constant in C; a QDQ group that
would need one is not fused by `fold-qdq` and runs as the float simulation (a transformer's
attention mask); scales at the ends of the range still compute, bit-exact with the reference
interpreter.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from codegen.emit import CodegenError, emit_function
from qdialect.arithmetic import (
    SCALE_RANGE,
    SCALE_RANGE_TEXT,
    ScaleRangeError,
    add_constants,
    average_pool_scales,
    bias_scale,
    fixed_point_multipliers,
    float32_scale,
    global_pool_scale,
    requant_multiplier,
)
from qdialect.qparams import choose_qparams, quantize_bias, symmetric_scale
from qdialect.textio import IRError, parse_module
from runtime.qopt import run
from runtime.reference import run_function
from runtime.signature import argument_names, expected_array, find_function

# The interpreter divides and multiplies into float32 overflow on purpose (it saturates).
pytestmark = pytest.mark.filterwarnings(
    "ignore:overflow encountered:RuntimeWarning", "ignore:invalid value encountered:RuntimeWarning"
)

RANGE = "is outside the supported scale range 2^-40 to 2^40 (9.09495e-13 to 1.09951e+12)"
LOW, HIGH = "9.094947017729282e-13", "1099511627776.0"  # 2^-40 and 2^40, spelled exactly
NAN = "0x7FF8000000000000"  # an f64 NaN: upstream's parser lets a NaN scale through


# ----------------------------------------------------------------------------- modules


def conv(sx: str, sw: str, sy: str, mode: str = "float") -> str:
    """Integer conv2d with an i32 bias (the op at 8:8)."""
    return f"""!x = !quant.uniform<i8:f32, {sx}:1>
!w = !quant.uniform<i8:f32, {sw}>
!y = !quant.uniform<i8:f32, {sy}:-2>
func.func @main(%x: tensor<1x2x4x4x!x>) -> tensor<1x2x4x4x!y> {{
  %wi = arith.constant dense<[[[[3, -1, 2], [0, 5, -4], [1, 1, -2]], [[2, 2, -3], [4, -5, 1], [0, -1, 3]]], [[[-2, 1, 0], [3, 3, -1], [2, -4, 5]], [[1, 0, -1], [-3, 2, 2], [4, 1, -5]]]]> : tensor<2x2x3x3xi8>
  %w = quant.scast %wi : tensor<2x2x3x3xi8> to tensor<2x2x3x3x!w>
  %b = arith.constant dense<[5, -7]> : tensor<2xi32>
  %y = qnn.conv2d %x, %w bias(%b : tensor<2xi32>) {{pads = array<i64: 1, 1, 1, 1>, requant_mode = "{mode}"}} : tensor<1x2x4x4x!x>, tensor<2x2x3x3x!w> -> tensor<1x2x4x4x!y>
  func.return %y : tensor<1x2x4x4x!y>
}}
"""


def dot(sw1: str) -> str:
    """Integer dot with per-channel weight scales {0.5, sw1} (the op at 7:8)."""
    return f"""!x = !quant.uniform<u8:f32, 0.05:128>
!w = !quant.uniform<i8:f32:1, {{0.5,{sw1}}}>
!y = !quant.uniform<u8:f32, 0.1:100>
func.func @main(%x: tensor<3x4x!x>) -> tensor<3x2x!y> {{
  %wi = arith.constant dense<[[1, 2], [3, 4], [-5, 6], [7, -8]]> : tensor<4x2xi8>
  %w = quant.scast %wi : tensor<4x2xi8> to tensor<4x2x!w>
  %y = qnn.dot %x, %w : tensor<3x4x!x>, tensor<4x2x!w> -> tensor<3x2x!y>
  func.return %y : tensor<3x2x!y>
}}
"""


def add(sa: str, sb: str, sy: str) -> str:
    """Integer add (the op at 5:8)."""
    return f"""!a = !quant.uniform<i8:f32, {sa}:3>
!b = !quant.uniform<i8:f32, {sb}:-4>
!y = !quant.uniform<i8:f32, {sy}:1>
func.func @main(%a: tensor<8x!a>, %b: tensor<8x!b>) -> tensor<8x!y> {{
  %y = qnn.add %a, %b : tensor<8x!a>, tensor<8x!b> -> tensor<8x!y>
  func.return %y : tensor<8x!y>
}}
"""


def pool(sx: str, sy: str, kernel: int) -> str:
    """Integer avg_pool2d on a 4x4 image (the op at 4:8); kernel 4 is a global pool."""
    out = "1x2x1x1" if kernel == 4 else "1x2x3x3"
    return f"""!x = !quant.uniform<u8:f32, {sx}:128>
!y = !quant.uniform<u8:f32, {sy}:120>
func.func @main(%x: tensor<1x2x4x4x!x>) -> tensor<{out}x!y> {{
  %y = qnn.avg_pool2d %x {{kernel = array<i64: {kernel}, {kernel}>}} : tensor<1x2x4x4x!x> -> tensor<{out}x!y>
  func.return %y : tensor<{out}x!y>
}}
"""


def fused_add(sa: str) -> str:
    """conv2d with a fused addend of scale `sa` (the op at 9:8)."""
    return f"""!x = !quant.uniform<i8:f32, 0.05:-10>
!w = !quant.uniform<i8:f32, 0.01>
!m = !quant.uniform<i8:f32, 0.08:4>
!a = !quant.uniform<u8:f32, {sa}:120>
!y = !quant.uniform<u8:f32, 0.2:120>
func.func @main(%x: tensor<1x3x4x4x!x>, %r: tensor<1x2x4x4x!a>) -> tensor<1x2x4x4x!y> {{
  %wi = arith.constant dense<2> : tensor<2x3x3x3xi8>
  %w = quant.scast %wi : tensor<2x3x3x3xi8> to tensor<2x3x3x3x!w>
  %y = qnn.conv2d %x, %w addend(%r : tensor<1x2x4x4x!a>) {{pads = array<i64: 1, 1, 1, 1>, intermediate = !m}} : tensor<1x3x4x4x!x>, tensor<2x3x3x3x!w> -> tensor<1x2x4x4x!y>
  func.return %y : tensor<1x2x4x4x!y>
}}
"""


def qdq_conv(sx: str, sw: str, sy: str) -> str:
    """ONNX QDQ conv with a float bias (the float conv at 10:8)."""
    return f"""!x = !quant.uniform<i8:f32, {sx}:1>
!w = !quant.uniform<i8:f32, {sw}>
!y = !quant.uniform<i8:f32, {sy}:-2>
func.func @main(%xq: tensor<1x2x4x4x!x>) -> tensor<1x2x4x4x!y> {{
  %wi = arith.constant dense<3> : tensor<2x2x3x3xi8>
  %wq = quant.scast %wi : tensor<2x2x3x3xi8> to tensor<2x2x3x3x!w>
  %b = arith.constant dense<[0.5, -0.25]> : tensor<2xf32>
  %x = qnn.dequantize %xq : tensor<1x2x4x4x!x> -> tensor<1x2x4x4xf32>
  %w = qnn.dequantize %wq : tensor<2x2x3x3x!w> -> tensor<2x2x3x3xf32>
  %c = qnn.conv2d %x, %w bias(%b : tensor<2xf32>) {{pads = array<i64: 1, 1, 1, 1>}} : tensor<1x2x4x4xf32>, tensor<2x2x3x3xf32> -> tensor<1x2x4x4xf32>
  %y = qnn.quantize %c : tensor<1x2x4x4xf32> -> tensor<1x2x4x4x!y>
  func.return %y : tensor<1x2x4x4x!y>
}}
"""


def qdq_add(sa: str, sb: str, sy: str) -> str:
    """ONNX QDQ add (the float add at 7:8)."""
    return f"""!a = !quant.uniform<i8:f32, {sa}:3>
!b = !quant.uniform<i8:f32, {sb}:-4>
!y = !quant.uniform<i8:f32, {sy}:1>
func.func @main(%aq: tensor<8x!a>, %bq: tensor<8x!b>) -> tensor<8x!y> {{
  %a = qnn.dequantize %aq : tensor<8x!a> -> tensor<8xf32>
  %b = qnn.dequantize %bq : tensor<8x!b> -> tensor<8xf32>
  %s = qnn.add %a, %b : tensor<8xf32>, tensor<8xf32> -> tensor<8xf32>
  %y = qnn.quantize %s : tensor<8xf32> -> tensor<8x!y>
  func.return %y : tensor<8x!y>
}}
"""


def qdq_pool(sx: str, sy: str) -> str:
    """ONNX QDQ global average pool (the float pool at 5:8)."""
    return f"""!x = !quant.uniform<u8:f32, {sx}:128>
!y = !quant.uniform<u8:f32, {sy}:120>
func.func @main(%xq: tensor<1x2x4x4x!x>) -> tensor<1x2x1x1x!y> {{
  %x = qnn.dequantize %xq : tensor<1x2x4x4x!x> -> tensor<1x2x4x4xf32>
  %p = qnn.avg_pool2d %x {{kernel = array<i64: 4, 4>}} : tensor<1x2x4x4xf32> -> tensor<1x2x1x1xf32>
  %y = qnn.quantize %p : tensor<1x2x1x1xf32> -> tensor<1x2x1x1x!y>
  func.return %y : tensor<1x2x1x1x!y>
}}
"""


def scaled_conv(x_max: str, out_max: str, x_min: str = "0.0") -> str:
    """nGraph scaled_conv2d with a float bias (the op at 8:9)."""
    return f"""!x_any = !quant.any<u8:f32>
!w_any = !quant.any<i8:f32>
func.func @main(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {{
  %w_int = arith.constant dense<3> : tensor<2x2x3x3xi8>
  %w = quant.scast %w_int : tensor<2x2x3x3xi8> to tensor<2x2x3x3x!w_any>
  %bias = arith.constant dense<[-0.3480, 0.1682]> : tensor<2xf32>
  %xq = qnn.scaled_quantize %x {{min = {x_min} : f32, max = {x_max} : f32}} : tensor<1x2x4x4xf32> -> tensor<1x2x4x4x!x_any>
  %yq = qnn.scaled_conv2d %xq, %w bias(%bias : tensor<2xf32>) {{pads = array<i64: 1, 1, 1, 1>, input_min = {x_min} : f32, input_max = {x_max} : f32, weight_min = -1.0 : f32, weight_max = 1.0 : f32, output_min = 0.0 : f32, output_max = {out_max} : f32, scheme = "asymmetric"}} : tensor<1x2x4x4x!x_any>, tensor<2x2x3x3x!w_any> -> tensor<1x2x4x4x!x_any>
  %y = qnn.scaled_dequantize %yq {{min = 0.0 : f32, max = {out_max} : f32}} : tensor<1x2x4x4x!x_any> -> tensor<1x2x4x4xf32>
  func.return %y : tensor<1x2x4x4xf32>
}}
"""


def requantize_f64(scale: str) -> str:
    """requantize between f64-expressed types (the op at 4:8): one scale, no product."""
    return f"""!a = !quant.uniform<i8:f64, {scale}:3>
!y = !quant.uniform<i8:f64, 0.5:1>
func.func @main(%a: tensor<8x!a>) -> tensor<8x!y> {{
  %y = qnn.requantize %a : tensor<8x!a> -> tensor<8x!y>
  func.return %y : tensor<8x!y>
}}
"""


def out_of_range(op: str, product: str, role: str, value: str) -> str:
    return f"'{op}': {product}: {role} = {value} {RANGE}"


def rq(sx: str, sw: str, sy: str) -> str:
    return f"requantization multiplier sx*sw/sy = {sx}*{sw}/{sy}"


def qla(sa: str, sb: str, sy: str) -> str:
    return f"QLinearAdd ratios sa/sy, sb/sy = {sa}/{sy}, {sb}/{sy}"


def gap(sx: str, sy: str) -> str:
    return f"global average pool multiplier sx/(sy*N) = {sx}/({sy}*16)"


def too_large(product: str, mode: str, limit: str) -> str:
    return f"'qnn.conv2d': {product} is too large for requant_mode \"{mode}\": {limit}"


def case(name: str, text: str, where: str, message: str):
    return pytest.param(text, where, message, id=name)


TFLITE = "TFLite's Q31 multiplier takes multipliers below 2^31 (2.14748e+09)"
TOSA = "TOSA's scale32 takes multipliers below 2^29 (5.36871e+08)"
SX, SW, SY = "input scale sx", "weight scale sw", "output scale sy"
SA, SB = "lhs scale sa", "rhs scale sb"
CONV, POOL = "qnn.conv2d", "qnn.avg_pool2d"
TINY = "1.4013e-45"  # the least float32, a subnormal

# Integer ops: refused alike by qnn-default, the code generator and the reference interpreter.
INTEGER = [
    case("conv-sx-1e-45", conv(TINY, "0.5", "0.5"), "8:8",
         out_of_range(CONV, rq(TINY, "0.5", "0.5"), SX, TINY)),
    case("conv-sx-1e-30", conv("1.0e-30", "0.5", "0.5"), "8:8",
         out_of_range(CONV, rq("1e-30", "0.5", "0.5"), SX, "1e-30")),
    case("conv-sw-1e30", conv("0.5", "1.0e+30", "0.5"), "8:8",
         out_of_range(CONV, rq("0.5", "1e+30", "0.5"), SW, "1e+30")),
    case("conv-sw-3e38", conv("0.5", "3.0e+38", "0.5"), "8:8",
         out_of_range(CONV, rq("0.5", "3e+38", "0.5"), SW, "3e+38")),
    case("conv-sy-1e-45", conv("0.5", "0.5", TINY), "8:8",
         out_of_range(CONV, rq("0.5", "0.5", TINY), SY, TINY)),
    case("conv-sy-1e30", conv("0.5", "0.5", "1.0e+30"), "8:8",
         out_of_range(CONV, rq("0.5", "0.5", "1e+30"), SY, "1e+30")),
    case("conv-product-underflow", conv("1.0e-30", "1.0e-30", "0.5"), "8:8",
         out_of_range(CONV, rq("1e-30", "1e-30", "0.5"), SX, "1e-30")),
    case("conv-product-overflow", conv("1.0e+30", "1.0e+30", "0.5"), "8:8",
         out_of_range(CONV, rq("1e+30", "1e+30", "0.5"), SX, "1e+30")),
    case("conv-sx-nan", conv(NAN, "0.5", "0.5"), "8:8",
         out_of_range(CONV, rq("nan", "0.5", "0.5"), SX, "nan")),
    case("conv-tflite-sx-3e38", conv("3.0e+38", "0.5", "0.5", "tflite"), "8:8",
         out_of_range(CONV, rq("3e+38", "0.5", "0.5"), SX, "3e+38")),
    case("conv-tosa-sy-1e-30", conv("0.5", "0.5", "1.0e-30", "tosa_single"), "8:8",
         out_of_range(CONV, rq("0.5", "0.5", "1e-30"), SY, "1e-30")),
    case("conv-tflite-2^31", conv("65536.0", "16384.0", "0.5", "tflite"), "8:8",
         too_large(rq("65536", "16384", "0.5") + " = 2.14748e+09", "tflite", TFLITE)),
    case("conv-tosa-2^29", conv("65536.0", "4096.0", "0.5", "tosa_double"), "8:8",
         too_large(rq("65536", "4096", "0.5") + " = 5.36871e+08", "tosa_double", TOSA)),
    case("dot-channel-3e38", dot("3.0e+38"), "7:8",
         out_of_range("qnn.dot", rq("0.05", "3e+38", "0.1"), SW, "3e+38")),
    case("dot-channel-1e-45", dot(TINY), "7:8",
         out_of_range("qnn.dot", rq("0.05", TINY, "0.1"), SW, TINY)),
    case("add-sa-3e38", add("3.0e+38", "0.5", "0.5"), "5:8",
         out_of_range("qnn.add", qla("3e+38", "0.5", "0.5"), SA, "3e+38")),
    case("add-sy-1e-45", add("0.5", "0.5", TINY), "5:8",
         out_of_range("qnn.add", qla("0.5", "0.5", TINY), SY, TINY)),
    case("global-pool-sy-3e38", pool("0.5", "3.0e+38", 4), "4:8",
         out_of_range(POOL, gap("0.5", "3e+38"), SY, "3e+38")),
    case("global-pool-sx-1e-45", pool(TINY, "0.5", 4), "4:8",
         out_of_range(POOL, gap(TINY, "0.5"), SX, TINY)),
    case("pool-sx-3e38", pool("3.0e+38", "0.5", 2), "4:8",
         out_of_range(POOL, "average pool rescaling sx/sy = 3e+38/0.5", SX, "3e+38")),
    case("pool-sy-1e-30", pool("0.5", "1.0e-30", 2), "4:8",
         out_of_range(POOL, "average pool rescaling sx/sy = 0.5/1e-30", SY, "1e-30")),
    case("fused-addend-3e38", fused_add("3.0e+38"), "9:8",
         out_of_range(CONV, qla("0.08", "3e+38", "0.2"), SB, "3e+38")),
]  # fmt: skip

# ONNX QDQ patterns: the float ops run as written in the interpreter; fold-qdq (and so
# qnn-default, --emit-c and --run) refuses the integer op it would build, at the float op.
QDQ = [
    case("qdq-conv-sx-1e-45", qdq_conv(TINY, "0.5", "0.5"), "10:8",
         out_of_range(CONV, rq(TINY, "0.5", "0.5"), SX, TINY)),
    case("qdq-conv-sw-3e38", qdq_conv("0.5", "3.0e+38", "0.5"), "10:8",
         out_of_range(CONV, rq("0.5", "3e+38", "0.5"), SW, "3e+38")),
    case("qdq-conv-sy-1e30", qdq_conv("0.5", "0.5", "1.0e+30"), "10:8",
         out_of_range(CONV, rq("0.5", "0.5", "1e+30"), SY, "1e+30")),
    case("qdq-add-sa-3e38", qdq_add("3.0e+38", "0.5", "0.5"), "7:8",
         out_of_range("qnn.add", qla("3e+38", "0.5", "0.5"), SA, "3e+38")),
    case("qdq-add-sy-1e-45", qdq_add("0.5", "0.5", TINY), "7:8",
         out_of_range("qnn.add", qla("0.5", "0.5", TINY), SY, TINY)),
    case("qdq-pool-sy-1e-30", qdq_pool("0.5", "1.0e-30"), "5:8",
         out_of_range(POOL, gap("0.5", "1e-30"), SY, "1e-30")),
]  # fmt: skip

# nGraph scaled builders: refused at the scaled op by fold-scaled-builders and the interpreter.
SCALED_CONV = "qnn.scaled_conv2d"
SCALED = [
    case("scaled-input-range-1e-40", scaled_conv("1.0e-40", "6.0"), "8:9",
         out_of_range(SCALED_CONV, "bias scale sx*sw = 3.92364e-43*0.00784314", SX,
                      "3.92364e-43")),
    case("scaled-output-range-1e-30", scaled_conv("1.0", "1.0e-30"), "8:9",
         out_of_range(SCALED_CONV, rq("0.00392157", "0.00784314", "3.92157e-33"), SY,
                      "3.92157e-33")),
    case("scaled-range-overflow", scaled_conv("3.0e+38", "6.0", "-3.0e+38"), "7:9",
         "'qnn.scaled_quantize': the asymmetric scale of the range [-3e+38, 3e+38] on [0, 255] "
         "overflows float32"),
]  # fmt: skip


# ----------------------------------------------------------------------------- helpers


def write_case(tmp_path: Path, text: str) -> tuple[str, str]:
    """The module as f.mlir and inputs for it as x.npz (full-range integers, floats ±3)."""
    path = tmp_path / "f.mlir"
    path.write_text(text)
    function = find_function(parse_module(text), None)
    rng = np.random.default_rng(18)
    arrays = {}
    for name, value_type in zip(
        argument_names(function), function.function_type.inputs.data, strict=True
    ):
        dtype, shape = expected_array(value_type)
        if np.dtype(dtype).kind == "f":
            arrays[name] = rng.uniform(-3, 3, shape).astype(dtype)
        else:
            info = np.iinfo(dtype)
            arrays[name] = rng.integers(info.min, info.max, shape, endpoint=True).astype(dtype)
    inputs = tmp_path / "x.npz"
    np.savez(inputs, **arrays)
    return str(path), str(inputs)


def qopt_error(capsys, *argv: str) -> str:
    """stderr of a qopt run that must fail with exit status 1."""
    assert run(list(argv)) == 1
    return capsys.readouterr().err


def qopt_ok(capsys, *argv: str) -> str:
    status = run(list(argv))
    captured = capsys.readouterr()
    assert status == 0, captured.err
    return captured.out


# ----------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(("text", "where", "message"), INTEGER)
def test_integer_ops_refused_alike_everywhere(tmp_path, capsys, text, where, message):
    path, inputs = write_case(tmp_path, text)
    expected = f"{path}:{where}: error: {message}\n"
    qopt_ok(capsys, path)  # a valid module: it prints
    qopt_ok(capsys, path, "-p", "fold-qdq")  # nothing to fold, nothing computed
    for argv in (
        ["-p", "qnn-default"],
        ["--emit-c"],
        ["--run", "--inputs", inputs],
        ["--run", "--reference", "--inputs", inputs],
        ["--run", "--reference", "--no-qnn-default", "--inputs", inputs],
    ):
        assert qopt_error(capsys, path, *argv) == expected, argv
    # The code generator and the interpreter refuse it on their own, without qnn-default.
    with pytest.raises(CodegenError) as refused:
        emit_function(find_function(parse_module(text, path), None))
    assert f"{refused.value}\n" == expected
    with pytest.raises(IRError) as stopped:
        run_function(parse_module(text, path), dict(np.load(inputs)))
    assert f"{stopped.value}\n" == expected


@pytest.mark.parametrize(("text", "where", "message"), QDQ)
def test_qdq_patterns_out_of_range_stay_the_float_simulation(
    tmp_path, capsys, text, where, message
):
    """A QDQ group whose integer kernel would compute a product of scales out of range (the
    message the integer op would give) is not fused: the float simulation computes no such
    product, so every path runs it, compiled equal to the literal reading."""
    del where, message
    path, inputs = write_case(tmp_path, text)
    folded = qopt_ok(capsys, path, "-p", "fold-qdq")
    assert folded.count("qnn.quantize ") == qopt_ok(capsys, path).count("qnn.quantize ") > 0
    qopt_ok(capsys, path, "--emit-c")
    results = {}
    for label, argv in (
        ("compiled", ["--run"]),
        ("reference", ["--run", "--reference"]),
        ("literal", ["--run", "--reference", "--no-qnn-default"]),
    ):
        out = tmp_path / f"{label}.npz"
        qopt_ok(capsys, path, *argv, "--inputs", inputs, "--outputs", str(out))
        with np.load(out) as data:
            results[label] = {k: data[k] for k in data.files}
    for label in ("compiled", "reference"):
        for key, want in results["literal"].items():
            got = results[label][key]
            assert got.tobytes() == want.tobytes(), (label, key)


@pytest.mark.parametrize(("text", "where", "message"), SCALED)
def test_scaled_builders_refused_alike(tmp_path, capsys, text, where, message):
    path, inputs = write_case(tmp_path, text)
    expected = f"{path}:{where}: error: {message}\n"
    qopt_ok(capsys, path)
    for argv in (
        ["-p", "fold-scaled-builders"],
        ["-p", "qnn-default"],
        ["--emit-c"],
        ["--run", "--inputs", inputs],
        ["--run", "--reference", "--inputs", inputs],
        ["--run", "--reference", "--no-qnn-default", "--inputs", inputs],
    ):
        assert qopt_error(capsys, path, *argv) == expected, argv


def test_lower_requant_fixed_point_refuses_a_multiplier_the_mode_cannot_hold(tmp_path, capsys):
    path, _ = write_case(tmp_path, conv("65536.0", "16384.0", "0.5"))
    qopt_ok(capsys, path, "-p", "qnn-default")  # 2^31 is an ordinary float multiplier
    err = qopt_error(capsys, path, "-p", "lower-requant-fixed-point")
    assert err == (
        f"{path}:8:8: error: 'qnn.conv2d': requantization multiplier sx*sw/sy = "
        '65536*16384/0.5 = 2.14748e+09 is too large for requant_mode "tflite": '
        "TFLite's Q31 multiplier takes multipliers below 2^31 (2.14748e+09)\n"
    )


def test_symmetric_schema_refuses_a_scale_out_of_range(tmp_path, capsys):
    text = """func.func @main(%x: tensor<8xf32>) -> tensor<8xf32> {
  %q = quant.qcast %x : tensor<8xf32> to tensor<8x!quant.uniform<i8:f32, 3.0e+38:3>>
  %c = qnn.clamp %q {min = -1.0 : f32, max = 6.0 : f32} : tensor<8x!quant.uniform<i8:f32, 3.0e+38:3>> -> tensor<8x!quant.uniform<i8:f32, 3.0e+38:3>>
  %y = quant.dcast %c : tensor<8x!quant.uniform<i8:f32, 3.0e+38:3>> to tensor<8xf32>
  func.return %y : tensor<8xf32>
}
"""
    path, inputs = write_case(tmp_path, text)
    err = qopt_error(capsys, path, "-p", "symmetric-schema{values=all}")
    assert err == (
        f"{path}:2:8: error: 'quant.qcast': symmetric scale of 3e+38:3 on [-128, 127]: "
        f"scale s = 3e+38 {RANGE}\n"
    )
    # Single-scale ops take the scale as it is (DESIGN §2: what overflows saturates).
    compiled, reference = tmp_path / "c.npz", tmp_path / "r.npz"
    qopt_ok(capsys, path, "--run", "--inputs", inputs, "--outputs", str(compiled))
    qopt_ok(capsys, path, "--run", "--reference", "--inputs", inputs, "--outputs", str(reference))
    assert np.array_equal(np.load(compiled)["out0"], np.load(reference)["out0"])


@pytest.mark.parametrize(
    ("scale", "shown"), [("1.0e+300", "1e+300"), ("1.0e-300", "1e-300"), (NAN, "nan")]
)
def test_single_scale_without_float32_value_refused(tmp_path, capsys, scale, shown):
    """An f64 scale beyond float32, or NaN, has nothing to compute with and no C literal."""
    path, inputs = write_case(tmp_path, requantize_f64(scale))
    expected = (
        f"{path}:4:8: error: 'qnn.requantize': scale {shown} has no positive finite float32 "
        "value to compute with (float32 scales lie in 1.4013e-45 to 3.40282e+38)\n"
    )
    qopt_ok(capsys, path)
    for argv in (
        ["-p", "qnn-default"],
        ["--emit-c"],
        ["--run", "--inputs", inputs],
        ["--run", "--reference", "--inputs", inputs],
        ["--run", "--reference", "--no-qnn-default", "--inputs", inputs],
    ):
        assert qopt_error(capsys, path, *argv) == expected, argv
    with pytest.raises(CodegenError) as refused:
        emit_function(find_function(parse_module(requantize_f64(scale), path), None))
    assert f"{refused.value}\n" == expected


def test_qcast_scale_refused_at_the_qcast(tmp_path, capsys):
    """quant-to-qnn keeps the cast's location for the qnn.quantize it becomes."""
    text = """func.func @main(%x: tensor<8xf64>) -> tensor<8xi8> {
  %q = quant.qcast %x : tensor<8xf64> to tensor<8x!quant.uniform<i8:f64, 1.0e+300>>
  %i = quant.scast %q : tensor<8x!quant.uniform<i8:f64, 1.0e+300>> to tensor<8xi8>
  func.return %i : tensor<8xi8>
}
"""
    path, inputs = write_case(tmp_path, text)
    message = (
        "scale 1e+300 has no positive finite float32 value to compute with "
        "(float32 scales lie in 1.4013e-45 to 3.40282e+38)"
    )
    literal = ["--run", "--reference", "--no-qnn-default", "--inputs", inputs]
    for argv, op in (
        (["-p", "qnn-default"], "quant.qcast"),
        (["--run", "--reference", "--inputs", inputs], "quant.qcast"),
        (literal, "quant.qcast"),
        (["-p", "quant-to-qnn", *literal], "qnn.quantize"),
    ):
        assert qopt_error(capsys, path, *argv) == f"{path}:2:8: error: '{op}': {message}\n"


# ----------------------------------------------------------------------------- inside the range


EDGE_RESULTS = [
    "1x2x4x4x!mid", "1x2x4x4x!lo", "1x2x4x4x!hi", "1x2x4x4x!mid", "1x2x4x4x!mid",
    "8x!mid", "8x!hi", "8x!lo", "1x2x1x1x!uhi", "1x2x1x1x!ulo", "1x2x3x3x!ulo",
    "1x2x4x4x!mid", "1x2x4x4x!mid",
]  # fmt: skip
EDGE_TYPES = ", ".join(f"tensor<{t}>" for t in EDGE_RESULTS)
# Scales 2^-40 (lo) and 2^40 (hi) everywhere a product or ratio is computed: multipliers from
# 2^-120 (c2, channel 1) to 2^120 (c1, channel 0), ratios 2^±80, a global pool's 2^-84, and
# ordinary multipliers (2, 1, 1/16) made of extreme scales.
EDGES = f"""!lo = !quant.uniform<i8:f32, {LOW}:1>
!hi = !quant.uniform<i8:f32, {HIGH}:-2>
!mid = !quant.uniform<i8:f32, 0.5:3>
!w2 = !quant.uniform<i8:f32:0, {{{HIGH},{LOW}}}>
!ulo = !quant.uniform<u8:f32, {LOW}:128>
!uhi = !quant.uniform<u8:f32, {HIGH}:120>
func.func @main(%x: tensor<1x2x4x4x!lo>, %h: tensor<1x2x4x4x!hi>, %a: tensor<8x!lo>, %b: tensor<8x!hi>, %u: tensor<1x2x4x4x!ulo>) -> ({EDGE_TYPES}) {{
  %wi = arith.constant dense<[[[[3, -1, 2], [0, 5, -4], [1, 1, -2]], [[2, 2, -3], [4, -5, 1], [0, -1, 3]]], [[[-2, 1, 0], [3, 3, -1], [2, -4, 5]], [[1, 0, -1], [-3, 2, 2], [4, 1, -5]]]]> : tensor<2x2x3x3xi8>
  %w = quant.scast %wi : tensor<2x2x3x3xi8> to tensor<2x2x3x3x!w2>
  %wm = quant.scast %wi : tensor<2x2x3x3xi8> to tensor<2x2x3x3x!mid>
  %bi = arith.constant dense<[1000, -7]> : tensor<2xi32>
  %c0 = qnn.conv2d %x, %w bias(%bi : tensor<2xi32>) {{pads = array<i64: 1, 1, 1, 1>}} : tensor<1x2x4x4x!lo>, tensor<2x2x3x3x!w2> -> tensor<1x2x4x4x!mid>
  %c1 = qnn.conv2d %h, %w {{pads = array<i64: 1, 1, 1, 1>}} : tensor<1x2x4x4x!hi>, tensor<2x2x3x3x!w2> -> tensor<1x2x4x4x!lo>
  %c2 = qnn.conv2d %x, %w {{pads = array<i64: 1, 1, 1, 1>}} : tensor<1x2x4x4x!lo>, tensor<2x2x3x3x!w2> -> tensor<1x2x4x4x!hi>
  %c3 = qnn.conv2d %x, %w {{pads = array<i64: 1, 1, 1, 1>, requant_mode = "tflite"}} : tensor<1x2x4x4x!lo>, tensor<2x2x3x3x!w2> -> tensor<1x2x4x4x!mid>
  %c4 = qnn.conv2d %x, %w {{pads = array<i64: 1, 1, 1, 1>, requant_mode = "tosa_double"}} : tensor<1x2x4x4x!lo>, tensor<2x2x3x3x!w2> -> tensor<1x2x4x4x!mid>
  %s0 = qnn.add %a, %b : tensor<8x!lo>, tensor<8x!hi> -> tensor<8x!mid>
  %s1 = qnn.add %b, %b : tensor<8x!hi>, tensor<8x!hi> -> tensor<8x!hi>
  %s2 = qnn.add %a, %a : tensor<8x!lo>, tensor<8x!lo> -> tensor<8x!lo>
  %g0 = qnn.avg_pool2d %u {{kernel = array<i64: 4, 4>}} : tensor<1x2x4x4x!ulo> -> tensor<1x2x1x1x!uhi>
  %g1 = qnn.avg_pool2d %u {{kernel = array<i64: 4, 4>}} : tensor<1x2x4x4x!ulo> -> tensor<1x2x1x1x!ulo>
  %p = qnn.avg_pool2d %u {{kernel = array<i64: 2, 2>}} : tensor<1x2x4x4x!ulo> -> tensor<1x2x3x3x!ulo>
  %f = qnn.conv2d %x, %wm addend(%c0 : tensor<1x2x4x4x!mid>) {{pads = array<i64: 1, 1, 1, 1>, intermediate = !lo}} : tensor<1x2x4x4x!lo>, tensor<2x2x3x3x!mid> -> tensor<1x2x4x4x!mid>
  %r = qnn.requantize %h : tensor<1x2x4x4x!hi> -> tensor<1x2x4x4x!mid>
  func.return %c0, %c1, %c2, %c3, %c4, %s0, %s1, %s2, %g0, %g1, %p, %f, %r : {EDGE_TYPES}
}}
"""


def test_scales_at_the_ends_of_the_range_compute_bit_exact(tmp_path, capsys):
    """2^-40 and 2^40 as input, weight, output, addend and pool scales, products up to 2^±120:
    compiled and reference agree bit for bit, and the C spells no infinity, NaN or zero."""
    path, inputs = write_case(tmp_path, EDGES)
    source = re.sub(r"/\*.*?\*/", "", qopt_ok(capsys, path, "--emit-c"), flags=re.S)
    assert not re.search(r"INFINITY|\bnanf?\b|\binff?\b|[^.\w]0x0p\+0f", source)
    compiled, reference = tmp_path / "c.npz", tmp_path / "r.npz"
    qopt_ok(capsys, path, "--run", "--inputs", inputs, "--outputs", str(compiled))
    qopt_ok(capsys, path, "--run", "--reference", "--inputs", inputs, "--outputs", str(reference))
    with np.load(compiled) as got, np.load(reference) as want:
        assert sorted(got.files) == sorted(want.files)
        assert len(want.files) == len(EDGE_RESULTS)
        for key in want.files:
            assert np.array_equal(got[key], want[key]), key
        # not a degenerate run: the ordinary multipliers made of edge scales spread values
        for key in ("out0", "out3", "out4", "out7", "out10", "out11"):
            assert len(np.unique(want[key])) > 2, key


def test_qdq_conv_at_the_ends_of_the_range_folds(tmp_path, capsys):
    """fold-qdq quantizes the float bias with the bias scale 2^-40 * 2^40 and the integer
    conv computes; with scales one step outside the range the group stays float."""
    path, _ = write_case(tmp_path, qdq_conv(LOW, HIGH, "0.5"))
    assert "qnn.conv2d %xq, %wq bias(" in qopt_ok(capsys, path, "-p", "fold-qdq")
    below = math.nextafter(SCALE_RANGE[0], 0.0)
    path, _ = write_case(tmp_path, qdq_conv(repr(below), HIGH, "0.5"))
    folded = qopt_ok(capsys, path, "-p", "fold-qdq")
    assert "qnn.conv2d %xq, %wq" not in folded and "qnn.conv2d" in folded


# ----------------------------------------------------------------------------- the numbers


def test_one_range_shared_with_the_onnx_importer() -> None:
    from qdialect.onnx_import import graph, scales

    assert SCALE_RANGE == (2.0**-40, 2.0**40)
    assert SCALE_RANGE_TEXT == "2^-40 to 2^40 (9.09495e-13 to 1.09951e+12)"
    assert scales.SCALE_RANGE is SCALE_RANGE
    assert graph.check_scales is scales.check_scales
    with pytest.raises(Exception, match=re.escape(f"from {SCALE_RANGE_TEXT}, got 1e-30")):
        scales.check_scales(np.float32(1e-30), "input scale 'x'")
    scales.check_scales(np.array(SCALE_RANGE, np.float32), "input scale 'x'")


@pytest.mark.parametrize("bad", [0.0, -0.5, 1e-45, 1e-30, 1e30, 3e38, math.inf, math.nan])
def test_every_product_checks_its_scales(bad: float) -> None:
    for compute in (
        lambda: requant_multiplier(bad, 0.5, 0.5),
        lambda: requant_multiplier(0.5, bad, 0.5),
        lambda: requant_multiplier(0.5, 0.5, bad),
        lambda: fixed_point_multipliers("tflite", 0.5, [0.5, bad], 0.5),
        lambda: global_pool_scale(bad, 0.5, 4),
        lambda: average_pool_scales(0.5, bad),
        lambda: bias_scale(0.5, bad),
        lambda: quantize_bias([1.0], bad, 0.5),
        lambda: symmetric_scale(bad, 3, -128, 127),
    ):
        with pytest.raises(ScaleRangeError, match="is outside the supported scale range"):
            compute()


# QLinearAdd beyond the range: refused only where a ratio leaves float32 or exceeds 2^40 (or a
# scale has no float32 value); a ratio that underflows drops its operand, as ORT's does
ADD_SCALES = [
    ((0.0, 0.5, 0.5), False),
    ((-0.5, 0.5, 0.5), False),
    ((math.inf, 0.5, 0.5), False),
    ((math.nan, 0.5, 0.5), False),
    ((1e30, 0.5, 0.5), False),  # sa/sy = 2e30
    ((0.5, 0.5, 1e-30), False),  # 5e29
    ((0.5, 0.5, 1e-45), False),  # beyond float32
    ((1e-45, 0.5, 0.5), True),  # sa/sy a subnormal: a's side is dropped
    ((1e-30, 0.5, 0.5), True),
    ((0.5, 0.5, 1e30), True),  # both ratios underflow: y = k
    ((0.05, 1.33e36, 1.33e36), True),  # scores + a mask of the float minimum
]


@pytest.mark.parametrize(("scales", "computes"), ADD_SCALES, ids=lambda v: str(v))
def test_an_add_beyond_the_range_computes_while_its_ratios_are_finite(scales, computes) -> None:
    sa, sb, sy = scales
    if not computes:
        with pytest.raises(ScaleRangeError, match="is outside the supported scale range"):
            add_constants((sa, 3), (sb, -4), (sy, 1))
        return
    constants = add_constants((sa, 3), (sb, -4), (sy, 1))
    assert all(math.isfinite(v) for v in (constants.ra, constants.rb, constants.k))
    assert constants.ra <= SCALE_RANGE[1] and constants.rb <= SCALE_RANGE[1]


def test_an_add_beyond_the_range_runs_alike_compiled_and_interpreted(tmp_path, capsys) -> None:
    """A mask's scale near 1.3e36 added to scores of scale 0.05 (ORT's QLinearAdd, as
    quantize_static writes it for a transformer's padding): both executors agree."""
    path, inputs = write_case(tmp_path, add("0.05", "1.33e+36", "1.33e+36"))
    compiled, reference = tmp_path / "c.npz", tmp_path / "r.npz"
    qopt_ok(capsys, path, "--run", "--inputs", inputs, "--outputs", str(compiled))
    qopt_ok(capsys, path, "--run", "--reference", "--inputs", inputs, "--outputs", str(reference))
    with np.load(compiled) as got, np.load(reference) as want:
        assert [np.array_equal(got[k], want[k]) for k in want.files] == [True]


def test_products_at_the_ends_of_the_range_are_normal_float32() -> None:
    low, high = SCALE_RANGE
    for sx, sw, sy in [(low, low, high), (high, high, low), (low, high, low), (high, low, high)]:
        assert 2.0**-126 <= requant_multiplier(sx, sw, sy) < 2.0**128
    assert requant_multiplier(low, low, high) == 2.0**-120
    assert requant_multiplier(high, high, low) == 2.0**120
    constants = add_constants((high, 127), (low, -128), (low, 5))
    assert all(math.isfinite(v) for v in (constants.ra, constants.rb, constants.k))
    assert 0.0 < global_pool_scale(low, high, 1 << 20) < math.inf
    assert average_pool_scales(low, high) == (low, high)


def test_fixed_point_limits() -> None:
    assert fixed_point_multipliers("tflite", 65536.0, [16383.0], 0.5)[0][1] == 31
    assert fixed_point_multipliers("tosa_single", 65536.0, [4095.0], 0.5)[0][1] == 2
    for mode, weight in (("tflite", 16384.0), ("tosa_single", 4096.0), ("tosa_double", 4096.0)):
        with pytest.raises(ScaleRangeError, match=f'too large for requant_mode "{mode}"'):
            fixed_point_multipliers(mode, 65536.0, [weight], 0.5)
    # a tiny multiplier is the peers' business: TFLite flushes it to zero, TOSA shifts it out
    assert fixed_point_multipliers("tflite", 2.0**-40, [2.0**-40], 1.0) == [(0, 0)]


def test_quantize_bias_saturates_what_overflows() -> None:
    big = float(np.finfo(np.float32).max)
    assert quantize_bias([big, -big, math.inf, -math.inf, math.nan, 0.5], 2.0**-40, 2.0**-40) == [
        2**31 - 1,
        -(2**31),
        2**31 - 1,
        -(2**31),
        -(2**31),
        2**31 - 1,
    ]
    assert quantize_bias([0.5, -0.25, 2.5e-3], 0.05, 0.01) == [1000, -500, 5]


def test_float32_scale_and_range_overflow() -> None:
    assert float32_scale(1e-45) == 2.0**-149  # a subnormal float32 scale is a scale
    for bad in (math.nan, 1e-300, 1e300):
        with pytest.raises(ScaleRangeError, match="no positive finite float32 value"):
            float32_scale(bad)
    with pytest.raises(ScaleRangeError, match=r"range \[-3e\+38, 3e\+38\] on \[-128, 127\]"):
        choose_qparams(-3e38, 3e38, "i8", "symmetric")
    assert choose_qparams(-1e38, 1e38, "i8", "symmetric")[0] < math.inf
