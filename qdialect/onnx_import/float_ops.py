"""Float ops of QDQ graphs, imported literally between DequantizeLinear and QuantizeLinear.

The `fold-qdq` rewrite turns them into integer ops the way ONNX Runtime does. Relu, Clip,
MaxPool and Concat work on quantized tensors too.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from xdsl.dialects.builtin import FloatAttr, IntegerAttr, StringAttr, UnitAttr, f32, f64, i64
from xdsl.ir import BlockArgument, SSAValue

from qdialect import qnn
from qdialect.float32_arrays import MULTIPLIED_EXPONENTS
from qdialect.float_sum import SumKind, dot_sum_order
from qdialect.names import OP_TYPE_ATTR, ssa_name_hint
from qdialect.nchwc import mark_nchwc_conv
from qdialect.onnx_import.batched import build_matmul
from qdialect.onnx_import.builders import (
    build_avg_pool,
    build_concat,
    check_matrices,
    dot,
    float_value,
    over_one_row,
    pool_props,
    qdq_pool_group,
    reshaped,
    stored_to_real,
    transposed,
    window,
)
from qdialect.onnx_import.common import (
    attrs,
    broadcast_shape,
    normalize_axis,
    optional_input,
    shape_of,
    tensor_type,
)
from qdialect.onnx_import.convolution import build_conv
from qdialect.onnx_import.errors import NodeError
from qdialect.onnx_import.graph import GraphImporter
from qdialect.onnx_import.logical import integer_binary, run_time_integer
from qdialect.onnx_import.movement import identity
from qdialect.onnx_import.pool3d import (
    build_global_pool3d,
    build_pool3d,
    build_qlinear_avg_pool3d,
    build_quantized_max_pool3d,
    global_window,
    qlinear_group_type,
)
from qdialect.onnx_import.registry import handles
from qdialect.ort_fusions import DEQUANTIZE_OPS
from qdialect.tensors import element_type
from qdialect.types import UniformQuantizedType

FLT_MAX = float(np.finfo(np.float32).max)  # ONNX Clip's missing bound


@handles("Conv")
def conv(g: GraphImporter, node) -> None:
    x, w = float_value(g, node.input[0]), float_value(g, node.input[1])
    bias = [float_value(g, node.input[2])] if optional_input(node, 2) else []
    build_conv(g, node, x, w, bias, lambda shape: tensor_type(shape, f32))
    if g.quantized_model:  # run by ORT's optimized session: its NCHWc convs
        mark_nchwc_conv(g.values[node.output[0]].owner)


@handles("MatMul")
def matmul(g: GraphImporter, node) -> None:
    a, b = g.value(node.input[0]), g.value(node.input[1])
    if element_type(a.type) != f32:  # MatMul on quantized tensors is not ONNX
        raise NodeError("MatMul inputs must be float32")
    # batched forms (attention's Q·Kᵀ, a [B, M, K] x [B, K, N] of two activations) as
    # QLinearMatMul's: a float conv sums its taps in order, as the float dot does
    last = g.block.last_op
    build_matmul(g, node, a, b, lambda shape: tensor_type(shape, f32))
    if len(shape_of(b)) != 2 or len(shape_of(a)) < 2:  # written as several ops
        g.mark_decomposed(last, "MatMul")
    # ORT prepacks a constant 2-D B (float_sum.py; GemmPackBFp32 takes no other rank)
    if streamed(b) or len(shape_of(b)) != 2:
        for op in g.added_since(last):
            if isinstance(op, qnn.DotOp):
                op.properties["streamed_rhs"] = UnitAttr()


@handles("Gemm")
def gemm(g: GraphImporter, node) -> None:
    """`alpha·A·B + beta·C` as ONNX Runtime's Gemm kernel computes it (`gemm.cc`, MLAS's
    `MlasSgemmOperation`): Y starts as C (broadcast) times beta, one float multiply (none for
    beta 1; no C for beta 0), and each K block's sum goes into it as `fma(acc, alpha, Y)`
    (`acc·alpha` when Y starts empty): the dot's `alpha`, which also keeps MLAS off its
    one-row and one-column kernels, as alpha or beta other than 1 does. With K = 0, Y is C
    unscaled, as ORT leaves it."""
    a_attrs = attrs(node)
    alpha, beta = (np.float32(a_attrs.get(key, 1.0)) for key in ("alpha", "beta"))
    a, b = float_value(g, node.input[0]), float_value(g, node.input[1])
    check_matrices(a, b)
    if a_attrs.get("transA", 0):
        a = transposed(g, a)
    if a_attrs.get("transB", 0):
        b = transposed(g, b)
    bias: list[SSAValue] = []
    m, n = shape_of(a)[0], shape_of(b)[1]
    if optional_input(node, 2) and beta != 0:
        name = node.input[2]
        data = g.initializers.get(name)
        if data is not None and name not in g.folded and data.size == 1:
            # one value for every output: the same sums from C[j] = c (an initializer)
            c = g.float_constant(np.full(n, data.reshape(()), np.float32), None)
        else:
            c = float_value(g, name)
        if shape_of(c) not in ((n,), (1, n)) and not _broadcasts(shape_of(c), (m, n)):
            raise NodeError(
                f"C must broadcast to the result's shape [{m}, {n}], got {list(shape_of(c))}"
            )
        if shape_of(c) not in ((n,), (1, n)) and m > 1 and isinstance(c.owner, DEQUANTIZE_OPS):
            # (QGemm's int32 C broadcast over rows: an integer epilogue we do not have)
            raise NodeError(
                f"a quantized C of shape {list(shape_of(c))} is not imported (only [{n}] or "
                f"[1, {n}] is, a bias)"
            )
        factor = g.float_constant(beta) if beta != 1 and shape_of(a)[1] > 0 else None
        last = g.block.last_op
        if shape_of(c) == (1, n):  # a row for every row: the Gemm's own reshape (inner)
            c = reshaped(g, c, (n,))
        elif shape_of(c) != (n,):  # GemmBroadcastBias copies C [M, 1] (or one value) into Y
            if shape_of(c) != (m, n):
                broadcast = qnn.BroadcastOp.create(
                    operands=[c], result_types=[tensor_type((m, n), f32)]
                )
                c = g.add(broadcast)
            if m == 1:
                c = reshaped(g, c, (n,))
        if factor is not None:  # MlasSgemmMultiplyBeta, the Gemm's own too
            c = g.add(qnn.MulOp(c, factor, c.type))
        g.mark_decomposed(last, "Gemm")
        bias = [c]
    rows_of_c = bias and len(shape_of(bias[0])) == 2
    scaled = alpha != 1 or bias and beta != 1
    k, read_transposed = shape_of(a)[1], bool(a_attrs.get("transB", 0))
    order = dot_sum_order(m, k, n, streamed(b), read_transposed, bool(scaled))
    if rows_of_c and order.kind is SumKind.TREE:
        # MLAS's one-column kernel adds C after its tree, one rounding: a dot, then an add
        last = g.block.last_op
        product = dot(g, a, b, [], lambda shape: tensor_type(shape, f32))
        product.owner.properties["streamed_rhs"] = UnitAttr()
        if read_transposed:
            product.owner.properties["transposed_rhs"] = UnitAttr()
        g.define(node.output[0], g.add(qnn.AddOp(product, bias[0], product.type), node.output[0]))
        return g.mark_decomposed(last, "Gemm")
    # ORT's Gemm copies C into Y, then adds the products to it (float_sum.py)
    properties = {"bias_first": UnitAttr()} if bias else {}
    dot_op = qnn.DotOp.build(
        operands=[a, b, bias, []],
        result_types=[tensor_type((m, n), f32)],
        properties=properties,
    )
    g.define(node.output[0], g.add(dot_op, node.output[0]))
    if not bias:  # a Gemm still (ORT's QDQ selector and quantizer treat it so), not a MatMul
        dot_op.attributes[OP_TYPE_ATTR] = StringAttr("Gemm")
    if scaled:
        dot_op.properties["alpha"] = FloatAttr(float(alpha), f32)
    if streamed(b):
        dot_op.properties["streamed_rhs"] = UnitAttr()
        if read_transposed:
            dot_op.properties["transposed_rhs"] = UnitAttr()


def _broadcasts(shape: tuple[int, ...], to: tuple[int, int]) -> bool:
    """Whether a C of `shape` broadcasts unidirectionally to Y's `to` (ONNX Gemm's rule)."""
    return len(shape) <= 2 and all(s in (1, t) for s, t in zip(shape[::-1], to[::-1], strict=False))


def streamed(value: SSAValue) -> bool:
    """Whether ONNX Runtime reads a float MatMul/Gemm operand `value` as it is computed rather
    than prepacked: prepacking takes constant initializers only, so an activation (anything
    depending on a graph input) and a DequantizeLinear output (which ORT's constant folding
    leaves alone, to keep the QDQ pattern) are streamed; a Transpose or Reshape of an
    initializer is folded into one, and prepacked."""
    return _reaches(
        value, lambda v: isinstance(v, BlockArgument) or isinstance(v.owner, DEQUANTIZE_OPS)
    )


def _reaches(value: SSAValue, found: Callable[[SSAValue], bool]) -> bool:
    """Whether `value` or a value it is computed from is `found`."""
    seen: set[SSAValue] = set()
    stack = [value]
    while stack:
        v = stack.pop()
        if found(v):
            return True
        if v not in seen and not isinstance(v, BlockArgument):
            seen.add(v)
            stack.extend(v.owner.operands)
    return False


@handles("Add", "Mul")
def add(g: GraphImporter, node) -> None:
    if run_time_integer(g, node):
        return integer_binary(g, node)
    a, b = float_value(g, node.input[0]), float_value(g, node.input[1])
    shape = broadcast_shape(shape_of(a), shape_of(b))
    kind = qnn.AddOp if node.op_type == "Add" else qnn.MulOp
    g.define(node.output[0], g.add(kind(a, b, tensor_type(shape, f32)), node.output[0]))


@handles("Sum", "Mean")
def sum_(g: GraphImporter, node) -> None:
    """Sum of float tensors added left to right, ((a + b) + c), as ORT's Sum kernel adds each
    input to its running output; Mean that sum times the float32 `1 / n` (ORT's Mean_8, which
    multiplies by the reciprocal: not a division by n). One node to the quantizer (ORT's leaves
    it float). Of one input, ORT copies it (its Mean then times 1.0): an Identity."""
    if len(node.input) == 1:
        return identity(g, node)
    last = g.block.last_op
    result = float_value(g, node.input[0])
    for i, name in enumerate(node.input[1:], 2):
        other = float_value(g, name)
        shape = broadcast_shape(shape_of(result), shape_of(other))
        named = node.output[0] if i == len(node.input) and node.op_type == "Sum" else None
        result = g.add(qnn.AddOp(result, other, tensor_type(shape, f32)), named)
    if node.op_type == "Mean":
        reciprocal = g.float_constant(np.float32(1) / np.float32(len(node.input)))
        result = g.add(qnn.MulOp(result, reciprocal, result.type), node.output[0])
    g.define(node.output[0], result)
    g.mark_decomposed(last, node.op_type)


@handles("Pow")
def power(g: GraphImporter, node) -> None:
    """Pow by a constant exponent as ONNX Runtime computes it (element_wise_ops.cc, PowImpl):
    a one-element 2 (a decomposed LayerNorm's square) or 3 (GPT-2's tanh GELU) multiplies in
    float32, `x · x` and `(x · x) · x`; any other float32 exponent is `powf`
    (`qnn.binary {kind = "pow"}`); other integer exponents C's pow in double, rounded to
    float32, as ORT raises to them (`kind = "pow_double"`)."""
    if len(node.input) < 2 or not node.input[1]:
        raise NodeError("the exponent must be a constant")
    exponent = _pow_exponent(g, node.input[1])
    power = float(exponent.reshape(())) if exponent.size == 1 else None
    x = float_value(g, node.input[0])
    if power not in MULTIPLIED_EXPONENTS:
        kind = qnn.FloatBinary.POW
        if exponent.dtype.kind in "iu":
            if np.any(np.abs(exponent.astype(np.float64)) > 2**24):
                raise NodeError("integer exponents beyond 2^24 are not imported")
            kind = qnn.FloatBinary.POW_DOUBLE  # exactly representable as float32 operands
            y = g.float_constant(exponent.astype(np.float32))
        elif exponent.dtype == np.float32:
            y = g.float_constant(exponent)
        else:
            raise NodeError(f"Pow by an exponent of type {exponent.dtype} is not imported")
        shape = broadcast_shape(shape_of(x), exponent.shape)
        op = qnn.FloatBinaryOp(kind, x, y, tensor_type(shape, f32))
        g.define(node.output[0], g.add(op, node.output[0]))
        return
    last = g.block.last_op
    square = g.add(qnn.MulOp(x, x, x.type), None if power == 3.0 else node.output[0])
    if power == 3.0:
        square = g.add(qnn.MulOp(square, x, x.type), node.output[0])
    g.define(node.output[0], square)
    g.mark_decomposed(last, "Pow")  # a Pow node to the quantizer (ORT's leaves it float)


def _pow_exponent(g: GraphImporter, name: str) -> np.ndarray:
    """Pow's exponent: a constant, or the DequantizeLinear of one. ORT's quantizers quantize a
    constant a Mul shares with the Pow (GELU's 2, a YOLO's squares); ORT dequantizes it at run
    time, `(q - zero point) · scale` in float32, and raises to that value."""
    node = g.producer(name)
    if name not in g.initializers and node is not None and node.op_type == "DequantizeLinear":
        arrays = [g.initializers.get(n) for n in node.input if n]
        if all(a is not None for a in arrays) and all(a.size == 1 for a in arrays[1:]):
            zero = int(arrays[2].reshape(())) if len(arrays) > 2 else 0
            stored = (arrays[0].astype(np.int64) - zero).astype(np.float32)
            return stored * np.float32(arrays[1].reshape(()))
    return g.constant_array(name, "Y")


@handles("BatchNormalization")
def batch_norm(g: GraphImporter, node) -> None:
    """Inference BatchNormalization as `qnn.batch_norm` (ONNX Runtime's float32 steps); its
    parameters may come through DequantizeLinear (`quantize_static` quantizes scale and B)."""
    a = attrs(node)
    if a.get("training_mode", 0) or len([o for o in node.output if o]) > 1:
        raise NodeError("training mode (running statistics as outputs) is not imported")
    x = float_value(g, node.input[0])
    xs = shape_of(x)
    if len(xs) < 2:
        raise NodeError(f"the input needs a channel axis (rank >= 2), got shape {list(xs)}")
    params = []
    for i, role in enumerate(("scale", "B", "input_mean", "input_var"), 1):
        value = float_value(g, node.input[i])
        if shape_of(value) != (xs[1],):
            raise NodeError(
                f"{role} must hold one value per channel ([{xs[1]}]), got {list(shape_of(value))}"
            )
        params.append(value)
    op = qnn.BatchNormOp.build(
        operands=[x, *params],
        result_types=[tensor_type(list(xs), f32)],
        properties={"epsilon": FloatAttr(float(a.get("epsilon", 1e-5)), f32)},
    )
    g.define(node.output[0], g.add(op, node.output[0]))


@handles("LayerNormalization", "SimplifiedLayerNormalization", "RMSNormalization")
def layer_norm(g: GraphImporter, node) -> None:
    """LayerNormalization (opset 17) as `qnn.layer_norm` (the float32 steps of ONNX Runtime's
    kernel); ORT's SimplifiedLayerNormalization (RMSNorm, what its optimizer fuses Llama's
    Pow/ReduceMean/Add/Sqrt/Div/Mul into) and ONNX's RMSNormalization (opset 23: ORT runs the
    same kernel, measured bit for bit) as `qnn.layer_norm {simplified}`; a scale that only
    broadcasts to the normalized shape takes another path in ORT, not reproduced. The Mean and
    InvStdDev outputs (training) as `qnn.layer_norm_stats` (the same kernel's numbers)."""
    a = attrs(node)
    x = float_value(g, node.input[0])
    axis = normalize_axis(a.get("axis", -1), len(shape_of(x)))
    normalized = list(shape_of(x)[axis:])
    simplified = node.op_type in ("SimplifiedLayerNormalization", "RMSNormalization")
    if simplified and optional_input(node, 2):
        raise NodeError(f"{node.op_type} takes no bias")
    scale = float_value(g, node.input[1])
    bias = [float_value(g, node.input[2])] if optional_input(node, 2) else []
    for role, value in (("Scale", scale), *(("B", b) for b in bias)):
        if math.prod(shape_of(value)) != math.prod(normalized):
            raise NodeError(
                f"{role} has shape {list(shape_of(value))}, not the normalized {normalized}"
            )
    scale = reshaped(g, scale, normalized) if list(shape_of(scale)) != normalized else scale
    bias = [reshaped(g, b, normalized) if list(shape_of(b)) != normalized else b for b in bias]
    op = qnn.LayerNormOp.build(
        operands=[x, scale, bias],
        result_types=[x.type],
        properties={
            "axis": IntegerAttr(axis, i64),
            "epsilon": FloatAttr(float(a.get("epsilon", 1e-5)), f32),
            **({"simplified": UnitAttr()} if simplified else {}),
        },
    )
    g.define(node.output[0], g.add(op, node.output[0]))
    stats = [name for name in node.output[1:3] if name]
    if stats and simplified:
        raise NodeError("the InvStdDev output of SimplifiedLayerNormalization is not imported")
    if stats:
        stats_shape = [*shape_of(x)[:axis], *[1] * (len(shape_of(x)) - axis)]
        computed = qnn.LayerNormStatsOp.build(
            operands=[x],
            result_types=[tensor_type(stats_shape, f32)] * 2,
            properties={"axis": IntegerAttr(axis, i64), "epsilon": op.epsilon},
        )
        g.add(computed, node.output[1] or None)
        if len(node.output) > 2 and node.output[2]:  # (a second result: its SSA name only)
            computed.inv_std_dev.name_hint = ssa_name_hint(node.output[2])
        for name, value in zip(node.output[1:3], computed.results, strict=False):
            if name:
                g.define(name, value)


@handles("LRN")
def lrn(g: GraphImporter, node) -> None:
    """LRN (AlexNet, GoogLeNet, CaffeNet) as `qnn.lrn`, ONNX Runtime's float32 steps."""
    x = float_value(g, node.input[0])
    if len(shape_of(x)) != 4:
        raise NodeError(f"only NCHW (rank-4) input is imported, got rank {len(shape_of(x))}")
    a = attrs(node)
    if "size" not in a:
        raise NodeError("attribute 'size' is required")
    op = qnn.LrnOp.create(
        operands=[x],
        result_types=[x.type],
        properties={
            "size": IntegerAttr(int(a["size"]), i64),
            "alpha": FloatAttr(float(a.get("alpha", 1e-4)), f32),
            "beta": FloatAttr(float(a.get("beta", 0.75)), f32),
            "bias": FloatAttr(float(a.get("bias", 1.0)), f32),
        },
    )
    g.define(node.output[0], g.add(op, node.output[0]))


@handles("Relu")
def relu(g: GraphImporter, node) -> None:
    x = g.value(node.input[0])
    g.define(node.output[0], g.add(qnn.ReluOp(x, x.type), node.output[0]))


@handles("Clip")
def clip(g: GraphImporter, node) -> None:
    x = g.value(node.input[0])
    a = attrs(node)
    elem = element_type(x.type)
    quantized = isinstance(elem, UniformQuantizedType)
    # a missing bound is ±FLT_MAX (ONNX's numeric_limits default), so ±inf clip to it; on a
    # quantized tensor no bound at all
    edge = math.inf if quantized else FLT_MAX
    bounds = []
    for index, key, default in ((1, "min", -edge), (2, "max", edge)):
        data = g.optional_constant(index, key)
        bounds.append(float(data) if data is not None else float(a.get(key, default)))
    if quantized:  # bounds are stored values on a quantized tensor
        bounds = [b if math.isinf(b) else stored_to_real(int(b), elem, "Clip") for b in bounds]
    if bounds[0] > bounds[1]:
        if quantized:
            raise NodeError(f"min ({bounds[0]}) above max ({bounds[1]}) is not imported")
        # ORT's `cwiseMax(min).cwiseMin(max)` gives max for every number (NaN stays NaN)
        bounds[0] = bounds[1]
    op = qnn.ClampOp(x, x.type, min=FloatAttr(bounds[0], f64), max=FloatAttr(bounds[1], f64))
    g.define(node.output[0], g.add(op, node.output[0]))


@handles("MaxPool", "GlobalMaxPool")
def max_pool(g: GraphImporter, node) -> None:
    if len([o for o in node.output if o]) > 1 or attrs(node).get("storage_order", 0):
        raise NodeError("the Indices output and storage_order are not imported")
    x = g.value(node.input[0])
    if len(shape_of(x)) == 3:
        return over_one_row(g, node, x, build_max_pool)
    if len(shape_of(x)) == 5 and isinstance(element_type(x.type), UniformQuantizedType):
        return build_quantized_max_pool3d(g, node, x)
    if len(shape_of(x)) == 5:
        return build_pool3d(g, node, float_value(g, node.input[0]))
    build_max_pool(g, node, x)


def build_max_pool(g: GraphImporter, node, x: SSAValue) -> None:
    xs = shape_of(x)
    win = window(node, xs, kernel=xs[2:], partial=True)
    if node.op_type == "GlobalMaxPool":
        win |= {"kernel": list(xs[2:]), "strides": [1, 1], "pads": [0, 0, 0, 0], "out": [1, 1]}
    op = qnn.MaxPool2DOp.create(
        operands=[x],
        result_types=[tensor_type([xs[0], xs[1], *win["out"]], element_type(x.type))],
        properties=pool_props(win, False),
    )
    last = g.block.last_op
    g.define(node.output[0], g.add(op, node.output[0]))
    if node.op_type == "MaxPool" and op.is_global():  # (a MaxPool all the same to quantizers)
        g.mark_decomposed(last, "MaxPool")


@handles("AveragePool", "GlobalAveragePool")
def avg_pool(g: GraphImporter, node) -> None:
    x = float_value(g, node.input[0])
    if len(shape_of(x)) == 3:
        return over_one_row(g, node, x, build_avg_pool_1d)
    if len(shape_of(x)) == 5:
        return avg_pool3d(g, node, x)
    build_avg_pool(g, node, x, False, lambda shape: tensor_type(shape, f32))


def avg_pool3d(g: GraphImporter, node, x: SSAValue) -> None:
    """A 3-D AveragePool: between a DequantizeLinear and QuantizeLinears, the QLinearAveragePool
    ORT's session runs (a window the size of the image: the global pool, as in 2-D); else the
    float pool."""
    group = qdq_pool_group(g, node, x)
    if group is None:
        return build_pool3d(g, node, x)
    if global_window(node, shape_of(x)):
        return build_global_pool3d(g, node, x)
    if group is False:
        raise NodeError(
            "a 3-D AveragePool between int8 DequantizeLinear and QuantizeLinear is not "
            "imported: ORT runs it as QLinearAveragePool or, where its QDQS8ToU8 retypes the "
            "pair in front, as a float AveragePool"
        )
    last = g.block.last_op
    reals = build_qlinear_avg_pool3d(g, node, x, qlinear_group_type(g, node), node.output[0])
    g.define(node.output[0], reals)
    g.mark_decomposed(last, node.op_type)


def build_avg_pool_1d(g: GraphImporter, node, x: SSAValue) -> None:
    """The 2-D pool of a 1-D one: MLAS vectorizes only 2-D windows, so a window of one row
    that is not the whole image sums in the generic loop's order (`row_major`, ROWS)."""
    build_avg_pool(g, node, x, False, lambda shape: tensor_type(shape, f32))
    op = g.values[node.output[0]].owner
    if not isinstance(op, qnn.AvgPool2DOp):
        return  # a ceil_mode window past the padding it counts: ORT's own loop (pool3d) already
    if not (op.is_global() and set(op.strides.get_values()) == {1}):
        op.properties["row_major"] = UnitAttr()


@handles("Concat")
def concat(g: GraphImporter, node) -> None:
    parts = [g.value(n) for n in node.input]
    elem = element_type(parts[0].type)
    build_concat(g, node, parts, attrs(node)["axis"], lambda shape: tensor_type(shape, elem))
