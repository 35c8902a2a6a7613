"""Lookup tables: `qnn.table` (8-bit → 8-bit through 256 constants) and the float functions
that QDQ models wrap between DequantizeLinear and QuantizeLinear (`qnn.activation`).

`qnn.table` follows TOSA's `tosa.table` for 8-bit inputs: an i8 input reads `table[x + 128]`,
a u8 input `table[x]`, so entry i belongs to the i-th stored value in increasing order. The
table is an operand (a constant the compiler computes in Python), typed like the result: its
entries are the result's stored values, which keeps `u8-to-i8` exact (it retypes and shifts the
table as it shifts any u8 constant, and an input moved from u8 to i8 reads the same entry).
"""

from __future__ import annotations

from enum import Enum

from xdsl.dialects.builtin import (
    FloatAttr,
    IntegerAttr,
    IntegerType,
    StringAttr,
    TensorType,
    UnitAttr,
    i64,
)
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from qdialect.qnn.common import Kind, float_value, kind_of, ranked_shape
from qdialect.qnn.modes import SumExpKernel, enum_value
from qdialect.tensors import element_type
from qdialect.types import Granularity, UniformQuantizedType

TABLE_SIZE = 256


class UnaryFunction(Enum):
    """The float functions of `qnn.activation`, each as ONNX Runtime's CPU kernel computes it
    (`qdialect.activations` gives the float32 steps)."""

    SIGMOID = "sigmoid"
    TANH = "tanh"
    LEAKY_RELU = "leaky_relu"  # alpha
    HARD_SIGMOID = "hard_sigmoid"  # alpha, beta
    HARD_SWISH = "hard_swish"
    SILU = "silu"  # x · sigmoid(x): fuse-conv-dot's fusion of that float Mul (two roundings)
    ERF = "erf"
    SQRT = "sqrt"  # correctly rounded: one float32 rounding
    NEG = "neg"  # exact: the sign flipped
    ABS = "abs"  # exact: the sign cleared
    FLOOR = "floor"  # exact: rounded down to an integer (±0, ±inf and NaN kept)
    CEIL = "ceil"  # exact: rounded up
    SIGN = "sign"  # -1, +0 or 1; NaN kept (Eigen's `cwiseSign`)
    GELU = "gelu"  # ONNX Gelu (opset 20): ORT's kernel over MLAS's erf
    GELU_TANH = "gelu_tanh"  # ... with approximate = "tanh": over MLAS's tanh
    # ORT DeepCPU GRU's tanh: alpha the clamp bound, beta the factor of the clamped argument
    # (0.5: the reset gate's sigmoid), MLAS's coefficients without FMA (`deepcpu_tanh`)
    DEEPCPU_TANH = "deepcpu_tanh"
    # ... and its gates' clip to ±alpha, `std::max(-c, std::min(c, x))`: NaN becomes +alpha
    DEEPCPU_CLIP = "deepcpu_clip"
    EXP = "exp"  # MLAS's exp kernels (AVX-512F's and FMA3's agree on every float32 input)
    LOG = "log"  # Eigen's SSE plog, the C library's logf on the last size % 4 elements
    # the C library's float function on every element (`LIBM`)
    LOGF = "logf"  # ORT's ReduceLogSum
    TANHF = "tanhf"  # ORT's Attention softcap
    EXPF = "expf"  # ORT's RNN activations (`rnn_activation_functors.h`)
    TAN = "tan"
    SINH = "sinh"
    COSH = "cosh"
    ASINH = "asinh"
    ACOSH = "acosh"
    ATANH = "atanh"
    SOFTPLUS = "softplus"  # ... Eigen's exp and log1p, expf and log1pf
    ELU = "elu"  # alpha; Eigen's exp, expf
    SELU = "selu"  # alpha, beta (ONNX's gamma); Eigen's exp, expf
    CELU = "celu"  # alpha; max(x, 0) + min(alpha·(exp(x / alpha) - 1), 0), ... expf
    SIN = "sin"  # Eigen's SSE psin, the C library's sinf on the last size % 4 elements
    COS = "cos"  # ... pcos, cosf
    ASIN = "asin"  # ... pasin, asinf
    ACOS = "acos"  # ... pacos, acosf
    ATAN = "atan"  # ... patan, atanf

    @property
    def positional(self) -> bool:
        """Whether an element's value depends on its place in the tensor (ORT's Eigen
        kernels take the tensor's last size % 4 elements through the C library): no table
        holds such a function."""
        return self in POSITIONAL


# the functions ORT computes with the C library's float function of this name on every
# element (measured on 1.31.1: its Tan, Sinh, Cosh, Asinh, Acosh and Atanh kernels call glibc)
LIBM = {
    UnaryFunction.LOGF: "logf",
    UnaryFunction.TANHF: "tanhf",
    UnaryFunction.EXPF: "expf",
    UnaryFunction.TAN: "tanf",
    UnaryFunction.SINH: "sinhf",
    UnaryFunction.COSH: "coshf",
    UnaryFunction.ASINH: "asinhf",
    UnaryFunction.ACOSH: "acoshf",
    UnaryFunction.ATANH: "atanhf",
}

# the Eigen packet functions of `qdialect.eigen_trig` (C: `qd_eigen_<name>`, the tail `<name>f`)
EIGEN_TRIG = frozenset(
    {
        UnaryFunction.SIN,
        UnaryFunction.COS,
        UnaryFunction.ASIN,
        UnaryFunction.ACOS,
        UnaryFunction.ATAN,
    }
)
POSITIONAL = frozenset(
    {
        UnaryFunction.LOG,
        UnaryFunction.SOFTPLUS,
        UnaryFunction.ELU,
        UnaryFunction.SELU,
        UnaryFunction.CELU,
    }
    | EIGEN_TRIG
)


def storage_width(value: SSAValue, role: str) -> int:
    """The bit width of a quantized or integer tensor's stored values."""
    elem = element_type(value.type)
    if isinstance(elem, UniformQuantizedType):
        return elem.storage_width
    if isinstance(elem, IntegerType):
        return elem.width.data
    raise VerifyException(f"{role} must be a quantized or integer tensor, got {elem}")


@irdl_op_definition
class TableOp(IRDLOperation):
    """`y[i] = table[x[i] - min]`, min = -128 for a signed input, 0 for an unsigned one.

    Only 8-bit inputs: 256 entries cover every stored value (TOSA's 16-bit form with a
    513-entry interpolated table is not implemented).

    %y = qnn.table %x, %t : tensor<4x!quant.uniform<i8:f32, 0.1>>, tensor<256x!quant.uniform<u8:f32, 0.00390625>> -> tensor<4x!quant.uniform<u8:f32, 0.00390625>>
    """

    name = "qnn.table"
    input = operand_def(TensorType)
    table = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = (
        "$input `,` $table attr-dict `:` type($input) `,` type($table) `->` type($result)"
    )

    def __init__(self, value: SSAValue, table: SSAValue, result_type: Attribute):
        super().__init__(operands=[value, table], result_types=[result_type])

    def verify_(self) -> None:
        for value, role in ((self.input, "input"), (self.result, "result")):
            if kind_of(value) not in (Kind.QUANTIZED, Kind.INTEGER):
                raise VerifyException(f"{role} must be a quantized or integer tensor")
            width = storage_width(value, role)
            if width != 8:
                raise VerifyException(
                    f"{role} has {width}-bit storage; qnn.table maps 8-bit values to 8-bit "
                    f"values through {TABLE_SIZE} entries"
                )
        assert isinstance(self.input.type, TensorType) and isinstance(self.result.type, TensorType)
        if self.input.type.get_shape() != self.result.type.get_shape():
            raise VerifyException(
                f"input shape {list(self.input.type.get_shape())} and result shape "
                f"{list(self.result.type.get_shape())} differ"
            )
        assert isinstance(self.table.type, TensorType)
        if tuple(self.table.type.get_shape()) != (TABLE_SIZE,):
            raise VerifyException(
                f"table must have shape [{TABLE_SIZE}], got {list(self.table.type.get_shape())}"
            )
        if element_type(self.table.type) != element_type(self.result.type):
            raise VerifyException(
                f"table element type {element_type(self.table.type)} must be the result's, "
                f"{element_type(self.result.type)}"
            )


@irdl_op_definition
class ActivationOp(IRDLOperation):
    """`y = f(x)` on float32, f one of `UnaryFunction` with ONNX's `alpha`/`beta` where the
    function has them (leaky_relu, elu, celu: alpha; hard_sigmoid: alpha, beta; selu: alpha and
    gamma as beta). A positional function (`UnaryFunction.positional`) reads the element's
    flat index too.

    %y = qnn.activation %x {function = "leaky_relu", alpha = 0.1 : f32} : tensor<4xf32> -> tensor<4xf32>
    """

    name = "qnn.activation"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    function = prop_def(StringAttr)
    alpha = opt_prop_def(FloatAttr)
    beta = opt_prop_def(FloatAttr)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    @property
    def function_kind(self) -> UnaryFunction:
        return enum_value(UnaryFunction, self.function, "function")

    def parameters(self) -> tuple[float, float]:
        """(alpha, beta): what the function reads of them (0.0 where it reads nothing)."""
        alpha, beta = float_value(self.alpha), float_value(self.beta)
        return (0.0 if alpha is None else alpha), (0.0 if beta is None else beta)

    def verify_(self) -> None:
        function = self.function_kind
        if self.input.type != self.result.type or str(element_type(self.input.type)) != "f32":
            raise VerifyException("maps a float32 tensor to the same type")
        wanted = {
            UnaryFunction.LEAKY_RELU: {"alpha"},
            UnaryFunction.HARD_SIGMOID: {"alpha", "beta"},
            UnaryFunction.ELU: {"alpha"},
            UnaryFunction.CELU: {"alpha"},
            UnaryFunction.SELU: {"alpha", "beta"},
            UnaryFunction.DEEPCPU_TANH: {"alpha", "beta"},
            UnaryFunction.DEEPCPU_CLIP: {"alpha"},
        }.get(function, set())
        given = {name for name in ("alpha", "beta") if getattr(self, name) is not None}
        if given != wanted:
            names = ", ".join(sorted(wanted)) or "neither alpha nor beta"
            raise VerifyException(f"function {function.value!r} takes {names}")


@irdl_op_definition
class SoftmaxOp(IRDLOperation):
    """`y = exp(x) / Σ_row exp(x)` over the rows along `axis` (`flatten`: the row is every dim
    from `axis` on, ONNX's Softmax before opset 13), as ONNX Runtime computes it: float32
    Softmax, or 8-bit QLinearSoftmax with its exp table (`qdialect.softmax`). A float softmax's
    `kernel` names the MLAS sum-exp kernel it reproduces, `"fma3"` (AVX2 hosts; the default)
    or `"avx512f"` (AVX-512 hosts: another exp clamp, 16 lanes); the importer writes the one
    ONNX Runtime runs on this host.

    %y = qnn.softmax %x {axis = 1 : i64} : tensor<2x8x!quant.uniform<u8:f32, 0.1>> -> tensor<2x8x!quant.uniform<u8:f32, 0.00390625>>
    %p = qnn.softmax %s {axis = 1 : i64, kernel = "avx512f"} : tensor<2x8xf32> -> tensor<2x8xf32>

    `log` (float only) makes it ONNX's LogSoftmax as MLAS computes it: `(x - max) - logf(sum)`
    with the same sum.

    %l = qnn.softmax %s {axis = 1 : i64, log} : tensor<2x8xf32> -> tensor<2x8xf32>
    """

    name = "qnn.softmax"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    axis = prop_def(IntegerAttr)
    flatten = opt_prop_def(UnitAttr)
    kernel = opt_prop_def(StringAttr)
    log = opt_prop_def(UnitAttr)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(
        self,
        value: SSAValue,
        result_type: Attribute,
        axis: int,
        flatten: bool,
        kernel: SumExpKernel = SumExpKernel.FMA3,
        log: bool = False,
    ):
        properties: dict[str, Attribute] = {"axis": IntegerAttr(axis, i64)}
        if flatten:
            properties["flatten"] = UnitAttr()
        if log:
            properties["log"] = UnitAttr()
        if kernel is not SumExpKernel.FMA3:
            properties["kernel"] = StringAttr(kernel.value)
        super().__init__(operands=[value], result_types=[result_type], properties=properties)

    @property
    def axis_value(self) -> int:
        return self.axis.value.data

    @property
    def sum_exp_kernel(self) -> SumExpKernel:
        if self.kernel is None:
            return SumExpKernel.FMA3
        return enum_value(SumExpKernel, self.kernel, "kernel")

    def verify_(self) -> None:
        shape = ranked_shape(self.input, "input")
        if ranked_shape(self.result, "result") != shape:
            raise VerifyException(f"input shape {list(shape)} and result shape differ")
        if not 0 <= self.axis_value < len(shape):
            raise VerifyException(f"axis {self.axis_value} is out of range for rank {len(shape)}")
        kinds = {kind_of(self.input), kind_of(self.result)}
        if kinds == {Kind.FLOAT}:
            if self.input.type != self.result.type or str(element_type(self.input.type)) != "f32":
                raise VerifyException("a float softmax maps a float32 tensor to the same type")
            self.sum_exp_kernel  # noqa: B018 (raises for a name outside SumExpKernel)
            return
        if self.kernel is not None or self.log is not None:
            raise VerifyException(
                "kernel and log are a float softmax's (its exp kernel, LogSoftmax); this one is "
                "8-bit"
            )
        for value, role in ((self.input, "input"), (self.result, "result")):
            elem = element_type(value.type)
            if not isinstance(elem, UniformQuantizedType):
                raise VerifyException(f"{role} must be quantized when the other is, got {elem}")
            if elem.storage_width != 8 or elem.granularity is not Granularity.PER_TENSOR:
                raise VerifyException(
                    f"{role} must be per-tensor 8-bit (QLinearSoftmax's exp table has "
                    f"{TABLE_SIZE} entries), got {elem}"
                )
