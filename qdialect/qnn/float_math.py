"""Float32 arithmetic that quantized graphs compute around their quantized ops: ONNX's own
expansion of DynamicQuantizeLinear (ReduceMin/ReduceMax, Min/Max, Sub, Div, Round, Cast) and
models that choose quantization parameters in the graph; and LayerNormalization, which
quantized transformers keep in float.

Each op is float32 in, float32 out (`qnn.cast`: float32 to an integer tensor), one IEEE float32
rounding per element where it rounds at all. Where IEEE leaves a choice (which NaN, which zero),
the op fixes it as numpy does, so ONNX's reference evaluator (numpy) and our two executors agree
to the bit: `min`/`max` are `np.minimum`/`np.maximum` (`a < b || isnan(a) ? a : b`: the second
operand on ties, so `min(-0.0, 0.0)` is 0.0; a NaN operand's own bits propagate). `qnn.add` and
`qnn.mul` (elementwise.py) are the float add and multiply.
"""

from __future__ import annotations

from enum import Enum
from typing import ClassVar

from xdsl.dialects.builtin import (
    DenseArrayBase,
    Float32Type,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    StringAttr,
    TensorType,
    UnitAttr,
)
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from qdialect.qnn.common import KindedBinaryOp, int_array, ranked_shape
from qdialect.qnn.elementwise import broadcast_shape
from qdialect.qnn.modes import enum_value
from qdialect.storage import integer_signature
from qdialect.tensors import element_type


class FloatBinary(Enum):
    """The kinds of `qnn.binary` (ONNX Sub, Div, Min, Max, PRelu, Pow, Mod on two float32
    tensors)."""

    SUB = "sub"
    DIV = "div"
    MIN = "min"
    MAX = "max"
    PRELU = "prelu"  # lhs < 0 ? lhs * rhs : lhs (ONNX Runtime's PRelu: NaN and -0 pass)
    POW = "pow"  # C's powf (ONNX Runtime's Pow but for the exponents 2 and 3, which multiply)
    POW_DOUBLE = "pow_double"  # C's pow in double, rounded (ORT's Pow by integer exponents)
    FMOD = "fmod"  # C's fmodf (ONNX Mod with fmod 1): exact
    MOD = "mod"  # the remainder with the divisor's sign, as numpy's (ONNX Mod with fmod 0)


class Reduction(Enum):
    """The kinds of `qnn.reduce` (ONNX ReduceMin, ReduceMax, ReduceSum, ReduceMean, ReduceProd)."""

    MIN = "min"
    MAX = "max"
    SUM = "sum"
    MEAN = "mean"
    PROD = "prod"  # the sum's orders with products, from 1.0 (ORT's ReduceProd aggregator)


# the kinds that fold the reduced elements in one of the summation orders
ORDERED = (Reduction.SUM, Reduction.MEAN, Reduction.PROD)


def _check_f32(value: SSAValue, role: str) -> tuple[int, ...]:
    if not isinstance(element_type(value.type), Float32Type):
        raise VerifyException(f"{role} must be a float32 tensor, got {value.type}")
    return ranked_shape(value, role)


@irdl_op_definition
class FloatBinaryOp(KindedBinaryOp):
    """`y = lhs (kind) rhs` on float32 with numpy broadcasting: `sub` and `div` one rounding,
    `min`/`max` numpy's `np.minimum`/`np.maximum` (module docstring), `prelu` the slope rhs
    times the negative lhs, `lhs < 0 ? lhs * rhs : lhs`, `pow` the C library's `powf`.

        %y = qnn.binary %a, %b {kind = "div"} : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
    """

    name = "qnn.binary"
    KINDS: ClassVar[type[Enum]] = FloatBinary

    def verify_(self) -> None:
        self.kind_value  # noqa: B018 - raises for an unknown kind
        a, b = _check_f32(self.lhs, "lhs"), _check_f32(self.rhs, "rhs")
        shape = broadcast_shape(a, b)
        if shape is None:
            raise VerifyException(f"operand shapes {list(a)} and {list(b)} do not broadcast")
        if _check_f32(self.result, "result") != shape:
            raise VerifyException(f"result shape must be the broadcast shape {list(shape)}")


# a sum's or a mean's orders other than Eigen's row sums (`ReduceOp`)
ORDERS = ("from_first", "in_order", "ones_gemm")


@irdl_op_definition
class ReduceOp(IRDLOperation):
    """The minimum, maximum, sum or mean over `axes`. `min`/`max` fold in row-major order with
    `qnn.binary`'s min/max; any NaN in the reduced set gives the quiet NaN 0x7fc00000 (numpy's
    reduction gives that or a NaN operand, by length). `sum`/`mean` reduce trailing axes only,
    each row of n elements summed as ONNX Runtime's `FastReduceKR` (Eigen's SSE reduction):
    four float32 lanes from the row's first element on a 16-byte boundary of the tensor (row r
    starts at element r·n), two packets at a time, then `(l0 + l2) + (l1 + l3)`, then the
    elements before that boundary and after the last whole packet, in order (a row with no
    whole packet: in order); `mean` divides by n in float32
    (`runtime/reference/float_math.py` states it exactly). `in_order` sums (over any axes)
    add each result's elements in row-major order to +0.0, as ORT's generic loop
    (`NoTransposeReduce1Loop`) does where no fast path takes the axes; `ones_gemm` sums (over
    one run of axes between kept ones, [K0, R, K1]) are ORT's `FastReduceKRK`, the MLAS product
    of a ones row by each [R, K1] matrix: from +0.0, blocks of four reduced elements
    `((x0 + x1) + x2) + x3` each added to the sum so far, then a block of two and one of one
    (`MlasSgemmKernelM1`; measured for R up to 3000). The result drops the
    axes or keeps them as 1 (ONNX `keepdims`): the element order is the same.

        %y = qnn.reduce %x {kind = "min", axes = array<i64: 0, 1>} : tensor<3x4xf32> -> tensor<f32>
        %m = qnn.reduce %x {kind = "mean", axes = array<i64: 1>} : tensor<3x4xf32> -> tensor<3x1xf32>
    """

    name = "qnn.reduce"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    kind = prop_def(StringAttr)
    axes = prop_def(DenseArrayBase)
    # sum/mean: each row's lanes from its first element, whatever its alignment (Eigen's sum
    # of an expression without direct access, as `(x - mean).squaredNorm()`)
    from_first = opt_prop_def(UnitAttr)
    # sum/mean: in row-major order from +0.0 (any axes)
    in_order = opt_prop_def(UnitAttr)
    # sum/mean over one run of middle axes: ORT's MLAS product by ones
    ones_gemm = opt_prop_def(UnitAttr)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(
        self, kind: Reduction, value: SSAValue, axes: list[int], result_type: Attribute
    ) -> None:
        properties = {"kind": StringAttr(kind.value), "axes": int_array(axes)}
        super().__init__(operands=[value], result_types=[result_type], properties=properties)

    @property
    def kind_value(self) -> Reduction:
        return enum_value(Reduction, self.kind, "kind")

    @property
    def axis_list(self) -> tuple[int, ...]:
        return tuple(int(a) for a in self.axes.get_values())

    def verify_(self) -> None:
        kind = enum_value(Reduction, self.kind, "kind")
        orders = [o for o in ORDERS if getattr(self, o) is not None]
        if orders and kind not in ORDERED:
            raise VerifyException(f"{orders[0]} orders a sum, mean or product only")
        if self.ones_gemm is not None and kind is Reduction.PROD:
            raise VerifyException("ones_gemm orders a sum or a mean only")
        if len(orders) > 1:
            raise VerifyException(f"{' and '.join(orders)} exclude each other")
        shape = _check_f32(self.input, "input")
        axes = self.axis_list
        if any(not 0 <= a < len(shape) for a in axes) or list(axes) != sorted(set(axes)):
            raise VerifyException(
                f"axes {list(axes)} must be increasing dimensions of the rank-{len(shape)} input"
            )
        trailing = list(range(len(shape) - len(axes), len(shape)))
        if self.ones_gemm is not None and (
            not axes or list(axes) != list(range(axes[0], axes[-1] + 1))
        ):
            raise VerifyException(f"ones_gemm sums one run of axes, got {list(axes)}")
        free = self.in_order is not None or self.ones_gemm is not None
        if kind in ORDERED and not free and list(axes) != trailing:
            raise VerifyException(
                f"a {kind.value} reduces the trailing axes {trailing} (ONNX Runtime's row order), "
                f"got {list(axes)}"
            )
        kept = tuple(1 if i in axes else d for i, d in enumerate(shape))
        dropped = tuple(d for i, d in enumerate(shape) if i not in axes)
        if _check_f32(self.result, "result") not in (kept, dropped):
            raise VerifyException(f"result shape must be {list(dropped)} or {list(kept)}")


class FloatUnaryOp(IRDLOperation):
    """One float32 tensor in, one tensor of the same shape out."""

    input = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(self, value: SSAValue, result_type: Attribute) -> None:
        super().__init__(operands=[value], result_types=[result_type])

    def verify_shapes(self) -> None:
        if _check_f32(self.input, "input") != ranked_shape(self.result, "result"):
            raise VerifyException("result must have the input's shape")


@irdl_op_definition
class RoundOp(FloatUnaryOp):
    """`y = rint(x)` in float32, half to even (ONNX Round; -0.5 gives -0.0, NaN and ±inf stay).

    %y = qnn.round %x : tensor<4xf32> -> tensor<4xf32>
    """

    name = "qnn.round"

    def verify_(self) -> None:
        self.verify_shapes()
        _check_f32(self.result, "result")


# what qnn.cast turns into float32 or a boolean: i32, i64 and i1 (a boolean) tensors
INTEGER_SOURCES = ((32, True), (64, True), (1, True))


@irdl_op_definition
class CastOp(FloatUnaryOp):
    """float32 to an integer tensor (ONNX Cast to INT8 ... INT64, UINT8, UINT16): truncation
    toward zero, which ONNX defines for values in range; outside it ONNX leaves the result
    undefined and we saturate to the type's bounds, NaN to 0 (as Cast's `saturate` does for
    float8, with 0 standing for NaN). Or an i32/i64/i1 tensor (an attention mask) to float32,
    the nearest float, ties to even, as ONNX Runtime's `static_cast<float>`, to i1, `x != 0`,
    or to another integer type, wrapping around as `static_cast` does. Or float32 to float32
    (Cast to FLOAT of a float tensor): the same values, kept only because ONNX Runtime's
    quantizer gives the Cast's output its own calibrated range when a quantized node reads it
    (BART's position embeddings, HF attention's probabilities); `qnn-default` drops it
    (`rewrites.float_casts`).

        %z = qnn.cast %x : tensor<4xf32> -> tensor<4xui8>
        %c = qnn.cast %x : tensor<4xf32> -> tensor<4xf32>
        %m = qnn.cast %mask : tensor<1x16xi64> -> tensor<1x16xf32>
        %b = qnn.cast %mask : tensor<1x16xi64> -> tensor<1x16xi1>
    """

    name = "qnn.cast"

    def verify_(self) -> None:
        if integer_signature(element_type(self.input.type)) in INTEGER_SOURCES:
            if ranked_shape(self.input, "input") != ranked_shape(self.result, "result"):
                raise VerifyException("result must have the input's shape")
            result = integer_signature(element_type(self.result.type))
            if result is None:
                _check_f32(self.result, "result")
            elif result[0] not in (1, 8, 16, 32, 64):
                raise VerifyException(f"result must be f32 or an integer tensor, got {result}")
            return
        self.verify_shapes()
        elem = element_type(self.result.type)
        if isinstance(elem, Float32Type):
            return
        if not isinstance(elem, IntegerType) or elem.width.data not in (8, 16, 32, 64):
            raise VerifyException(
                f"result must be f32 or an 8-, 16-, 32- or 64-bit integer tensor, got {elem}"
            )


# ORT 1.31 runs SimplifiedLayerNormalization rows this long or longer in MLAS's AVX2 kernel
# (measured against its session: 15 elements take the scalar loop, 16 the kernel)
SIMPLIFIED_KERNEL_LENGTH = 16


@irdl_op_definition
class LayerNormOp(IRDLOperation):
    """ONNX LayerNormalization over the dimensions from `axis` on, in the float32 steps of ONNX
    Runtime 1.31's CPU kernel. Rows of `n ≥ 8` elements follow `MlasLayerNormKernelAvx2`: the
    mean is `f32(Σx / n)` with the sum in float64; the variance a centred sum of `(x - mean)²`
    in float32 (FMA chains in 8 lanes, then the tail); `inv = 1 / sqrt(var / n + epsilon)`;
    `y = fma((x - mean)·inv, scale, bias)`, or `(x - mean)·inv·scale` without a bias. Shorter
    rows follow `layer_norm_impl.cc`'s scalar loop: Welford's mean and `m2` in float32,
    `y = (x - mean) / sqrt(m2 / n + epsilon) · scale (+ bias)`. The reference
    (`runtime/reference/float_math.py`) states the exact order; both agree with ORT to the bit
    (tests/numeric/test_float_math.py). `scale` and `bias` have the normalized dimensions'
    shape. `simplified` (ORT's SimplifiedLayerNormalization, RMSNorm; no bias): rows of 16 or
    more take the kernel's FMA chain of `x²` in 8 lanes and `y = x·inv·scale`, shorter rows
    the scalar loop's `Σ x·x` in order and `y = x / sqrt(Σ/n + epsilon) · scale`. `welford`:
    the scalar loop at every length, as ORT's SkipLayerNormalization computes (what its
    SkipLayerNormFusion makes of an Add and the LayerNormalization reading it), and, with
    `simplified`, its SkipSimplifiedLayerNormalization. `two_pass`: com.microsoft's
    EmbedLayerNormalization, float32 sums in order: `mean = Σx / n`, `var = Σ (x - mean)² / n`
    (each square rounded), `y = (x - mean) / sqrtf(var + epsilon) · scale + bias`.

        %y = qnn.layer_norm %x, %g, %b {axis = 1 : i64, epsilon = 1.0e-05 : f32} : tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32> -> tensor<4x8xf32>
    """

    name = "qnn.layer_norm"
    input = operand_def(TensorType)
    scale = operand_def(TensorType)
    bias = opt_operand_def(TensorType)
    result = result_def(TensorType)
    axis = prop_def(IntegerAttr)
    epsilon = prop_def(FloatAttr)
    simplified = opt_prop_def(UnitAttr)
    welford = opt_prop_def(UnitAttr)
    two_pass = opt_prop_def(UnitAttr)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = (
        "$input `,` $scale (`,` $bias^)? attr-dict `:` type($input) `,` type($scale) "
        "(`,` type($bias)^)? `->` type($result)"
    )

    @property
    def axis_value(self) -> int:
        return self.axis.value.data

    def verify_(self) -> None:
        shape, axis = _checked_rows(self)
        normalized = shape[axis:]
        for role, value in (("scale", self.scale), ("bias", self.bias)):
            if value is not None and _check_f32(value, role) != normalized:
                raise VerifyException(f"{role} must have the normalized shape {list(normalized)}")
        if _check_f32(self.result, "result") != shape:
            raise VerifyException("result must have the input's shape")
        if self.simplified is not None and self.bias is not None:
            raise VerifyException("a simplified (RMS) layer norm takes no bias")
        modes = [m for m in ("simplified", "welford", "two_pass") if getattr(self, m) is not None]
        if self.two_pass is not None and len(modes) > 1:
            raise VerifyException(f"two_pass excludes {modes[0]}")


def _checked_rows(op: LayerNormOp | LayerNormStatsOp) -> tuple[tuple[int, ...], int]:
    """A layer norm's float32 input shape and its `axis`, which must be one of its dimensions."""
    shape = _check_f32(op.input, "input")
    axis = op.axis_value
    if not 0 <= axis < len(shape):
        raise VerifyException(f"axis {axis} is not a dimension of the rank-{len(shape)} input")
    return shape, axis


@irdl_op_definition
class LayerNormStatsOp(IRDLOperation):
    """The Mean and InvStdDev outputs of ONNX LayerNormalization, per row of the dimensions
    from `axis` on, as `qnn.layer_norm` computes them (its `mean`, and `inv` for rows of 8 or
    more; `1 / sqrt(m2 / n + epsilon)` for shorter rows): ONNX Runtime's values to the bit.
    Both results keep the leading dimensions and have size 1 from `axis` on.

        %m, %i = qnn.layer_norm_stats %x {axis = 1 : i64, epsilon = 1.0e-05 : f32} : tensor<4x8xf32> -> tensor<4x1xf32>, tensor<4x1xf32>
    """

    name = "qnn.layer_norm_stats"
    input = operand_def(TensorType)
    mean = result_def(TensorType)
    inv_std_dev = result_def(TensorType)
    axis = prop_def(IntegerAttr)
    epsilon = prop_def(FloatAttr)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($mean) `,` type($inv_std_dev)"

    @property
    def axis_value(self) -> int:
        return self.axis.value.data

    def verify_(self) -> None:
        shape, axis = _checked_rows(self)
        stats = (*shape[:axis], *[1] * (len(shape) - axis))
        for role, value in (("mean", self.mean), ("inv_std_dev", self.inv_std_dev)):
            if _check_f32(value, role) != stats:
                raise VerifyException(f"{role} must have shape {list(stats)}")


@irdl_op_definition
class LrnOp(IRDLOperation):
    """ONNX LRN across the channels of an NCHW tensor in ONNX Runtime's float32 steps
    (`qdialect.lrn`: Caffe's running sum of `(alpha / size) · x²` from `bias` over each
    channel's window of `size`, then `x · scale^(-beta)` by Eigen's packet pow and, for the
    last `size % 4` elements, `powf`). ORT takes an odd `size` and positive `alpha` and `beta`.
    `threads`: ORT's intra-op threads whose blocks the last step follows (default 1;
    `mlas-threads` sets it for calibration).

        %y = qnn.lrn %x {size = 5 : i64, alpha = 1.0e-04 : f32, beta = 7.5e-01 : f32, bias = 1.0 : f32} : tensor<1x8x4x4xf32> -> tensor<1x8x4x4xf32>
    """

    name = "qnn.lrn"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    size = prop_def(IntegerAttr)
    alpha = prop_def(FloatAttr)
    beta = prop_def(FloatAttr)
    bias = prop_def(FloatAttr)
    threads = opt_prop_def(IntegerAttr)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    @property
    def threads_value(self) -> int:
        return 1 if self.threads is None else self.threads.value.data

    def verify_(self) -> None:
        if self.threads_value < 1:
            raise VerifyException(f"threads must be at least 1, got {self.threads_value}")
        if len(_check_f32(self.input, "input")) != 4:
            raise VerifyException("takes an NCHW (rank-4) tensor")
        if self.result.type != self.input.type:
            raise VerifyException("input and result types must be equal")
        size = self.size.value.data
        if size < 1 or size % 2 == 0:
            raise VerifyException(f"size must be odd and positive, got {size}")
        for name, value in (("alpha", self.alpha), ("beta", self.beta)):
            if not value.value.data > 0:
                raise VerifyException(f"{name} must be positive")


@irdl_op_definition
class RotaryOp(IRDLOperation):
    """ONNX RotaryEmbedding of [B, H, S, D] head vectors by the `cos` and `sin` rows of their
    tokens, [B, S, half]: the first 2·half elements of each vector rotate in pairs (halves, or
    neighbours when `interleaved`), the rest are copied; ONNX Runtime's float32 steps, fused
    multiply-adds where its kernel fuses (`qdialect.rotary`).

        %y = qnn.rotary %x, %c, %s : tensor<1x2x3x8xf32>, tensor<1x3x4xf32>, tensor<1x3x4xf32> -> tensor<1x2x3x8xf32>
    """

    name = "qnn.rotary"
    input = operand_def(TensorType)
    cos = operand_def(TensorType)
    sin = operand_def(TensorType)
    result = result_def(TensorType)
    interleaved = opt_prop_def(UnitAttr)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = (
        "$input `,` $cos `,` $sin attr-dict `:` type($input) `,` type($cos) `,` type($sin) "
        "`->` type($result)"
    )

    def verify_(self) -> None:
        shape = _check_f32(self.input, "input")
        if len(shape) != 4:
            raise VerifyException(f"input must be [B, H, S, D], got rank {len(shape)}")
        if self.result.type != self.input.type:
            raise VerifyException("input and result types must be equal")
        batch, _, length, size = shape
        for role, value in (("cos", self.cos), ("sin", self.sin)):
            table = _check_f32(value, role)
            if len(table) != 3 or table[:2] != (batch, length) or not 0 < 2 * table[2] <= size:
                raise VerifyException(
                    f"{role} must be [{batch}, {length}, half] with 0 < 2·half <= {size}, got "
                    f"{list(table)}"
                )
        if self.cos.type != self.sin.type:
            raise VerifyException("cos and sin must have one type")


@irdl_op_definition
class BatchNormOp(IRDLOperation):
    """ONNX BatchNormalization (inference) over axis 1: per channel `x · s + t` with `s`, `t`
    from `scale`, `bias`, `mean` and `var` in the float32 steps of ONNX Runtime's CPU kernel
    (`qdialect.float32_arrays.batch_norm_affine`), each step one float32 rounding. The
    parameters have one value per channel; compiled code needs them constant (`qnn-default`
    lowers the op to `qnn.mul` and `qnn.add` by constants: rewrites.batch_norm).

        %y = qnn.batch_norm %x, %g, %b, %m, %v {epsilon = 1.0e-05 : f32} : tensor<1x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32> -> tensor<1x4x8x8xf32>
    """

    name = "qnn.batch_norm"
    input = operand_def(TensorType)
    scale = operand_def(TensorType)
    bias = operand_def(TensorType)
    mean = operand_def(TensorType)
    var = operand_def(TensorType)
    result = result_def(TensorType)
    epsilon = prop_def(FloatAttr)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = (
        "$input `,` $scale `,` $bias `,` $mean `,` $var attr-dict `:` type($input) `,` "
        "type($scale) `,` type($bias) `,` type($mean) `,` type($var) `->` type($result)"
    )

    def verify_(self) -> None:
        shape = _check_f32(self.input, "input")
        if len(shape) < 2:
            raise VerifyException(f"input needs a channel axis (rank >= 2), got {list(shape)}")
        for role in ("scale", "bias", "mean", "var"):
            if _check_f32(getattr(self, role), role) != (shape[1],):
                raise VerifyException(f"{role} must have one value per channel ([{shape[1]}])")
        if _check_f32(self.result, "result") != shape:
            raise VerifyException("result must have the input's shape")
