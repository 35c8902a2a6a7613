"""Which float tensors ONNX Runtime's optimized session keeps in its NCHWc layout.

ORT runs a quantized model in its optimized session, whose `NchwcTransformer` moves float NCHW
tensors into blocks of 16 (AVX-512) or 8 channels: it converts a float conv with constant
weights (`host_cpu.nchwc_conv_channels`), and a MaxPool, or an AveragePool before opset 19,
whose channels fill whole blocks (`host_cpu.nchwc_pool`; not a MaxPool of a DequantizeLinear's
output, which QDQ propagation has made an integer pool by then); then, only while their inputs
are NCHWc already, a Relu, Sigmoid or Tanh, a GlobalAveragePool or GlobalMaxPool (or one
reading a graph input), a channel Concat of block-aligned inputs, an Add or Mul of two of one
shape, a linear Resize by whole-number scales, and a BatchNormalization of constant [C]
parameters, which becomes a depthwise 1x1 NCHWc conv (`nchwc_batch_norms`;
`nchwc_transformer.cc`). An activation fused
into the conv it reads stays NCHWc too (ConvActivationFusion: a Relu, Clip, Sigmoid, Tanh,
LeakyRelu or HardSigmoid reading a conv nothing else reads; a Clip after such a Relu, which
ReluClipFusion makes one Clip). Most compute the same values in either layout. Those that do
not: the conv (`qnn.conv2d {nchwc_channels}`), an Add it takes in (`fuse_nchwc_sums`), the
AveragePool, a GlobalAveragePool reading an NCHWc tensor (both sum their windows in row-major
order: `{row_major}`), and the linear Resize (`qnn.resize_bilinear {nchwc}`)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from xdsl.dialects import arith
from xdsl.dialects.builtin import IntegerAttr, StringAttr, UnitAttr, f32, i64
from xdsl.ir import Block, BlockArgument, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter

from qdialect import qnn
from qdialect.constants import dense_array
from qdialect.host_cpu import nchwc_block_size
from qdialect.names import OP_TYPE_ATTR
from qdialect.ort_fusions import fused_in_place, new_constant
from qdialect.qnn.common import int_array
from qdialect.qnn.modes import Activation
from qdialect.qnn.resize import NCHWC_MODES
from qdialect.qnn.table import UnaryFunction
from qdialect.tensors import element_type, per_tensor_type

# the activations ORT's NchwcTransformer carries over an NCHWc input (and Relu)
NCHWC_ACTIVATIONS = {UnaryFunction.SIGMOID.value, UnaryFunction.TANH.value}
# ... and those its ConvActivationFusion fuses into the conv they read first (and Relu, Clip)
FUSED_ACTIVATIONS = NCHWC_ACTIVATIONS | {
    UnaryFunction.LEAKY_RELU.value,
    UnaryFunction.HARD_SIGMOID.value,
}


def mark_nchwc_conv(op) -> None:
    """Mark `op` if it is a conv ORT's NchwcTransformer takes (`Conv2DOp.mark_nchwc`): a float
    2-D conv node (not one of a 1-D conv's ops) whose weights and bias are constants (an
    initializer, or folded to one; a DequantizeLinear's output is none)."""
    if (
        isinstance(op, qnn.Conv2DOp)
        and element_type(op.result.type) == f32
        and OP_TYPE_ATTR not in op.attributes
        and op.addend is None
        and all(isinstance(v.owner, arith.ConstantOp) for v in (op.weight, op.bias) if v)
    ):
        op.mark_nchwc()


def _nchw_float(value: SSAValue) -> bool:
    """A float32 4-D tensor its op computes in NCHW (not channels last)."""
    layout = value.owner.properties.get("layout")  # type: ignore[union-attr]
    nhwc = isinstance(layout, StringAttr) and layout.data == "nhwc"
    shape = value.type.get_shape()  # type: ignore[attr-defined]
    return element_type(value.type) == f32 and len(shape) == 4 and not nhwc


def _one_use(value: SSAValue) -> bool:
    return len(list(value.uses)) == 1


def nchwc_value(value: SSAValue, nchwc_average_pool: Callable[[qnn.AvgPool2DOp], bool]) -> bool:
    """Whether ORT's optimized session holds `value` in NCHWc blocks. `nchwc_average_pool`
    says which row-major AveragePools are NCHWc ones (from opset 19 ORT's own loop computes
    them in NCHW)."""
    memo: dict[SSAValue, bool] = {}

    def held(v: SSAValue) -> bool:  # each value once: residual and dense graphs share inputs
        if v not in memo:
            memo[v] = _nchwc_value(v, nchwc_average_pool, held)
        return memo[v]

    return held(value)


def _nchwc_value(
    value: SSAValue,
    nchwc_average_pool: Callable[[qnn.AvgPool2DOp], bool],
    held: Callable[[SSAValue], bool],
) -> bool:
    op = value.owner
    kinds = (
        qnn.Conv2DOp | qnn.MaxPool2DOp | qnn.AvgPool2DOp | qnn.ReluOp | qnn.ClampOp
        | qnn.ActivationOp | qnn.ConcatOp | qnn.AddOp | qnn.MulOp | qnn.ResizeBilinearOp
    )  # fmt: skip
    if not isinstance(op, kinds) or not _nchw_float(value):
        return False
    block = nchwc_block_size()
    if isinstance(op, qnn.Conv2DOp):
        return op.nchwc_channels is not None
    if isinstance(op, qnn.ResizeBilinearOp):
        return op.nchwc is not None
    if isinstance(op, qnn.MaxPool2DOp):
        return value.type.get_shape()[1] % block == 0 and not _pools_integers(op)  # type: ignore[attr-defined]
    if isinstance(op, qnn.AvgPool2DOp):
        return op.row_major is not None and nchwc_average_pool(op)
    if isinstance(op, qnn.ReluOp | qnn.ClampOp | qnn.ActivationOp):
        function = op.function.data if isinstance(op, qnn.ActivationOp) else None
        read = op.input
        if isinstance(op, qnn.ClampOp) and isinstance(read.owner, qnn.ReluOp) and _one_use(read):
            read = read.owner.input  # ReluClipFusion: the Relu joins the Clip first
        source = read.owner
        fused = (
            isinstance(source, qnn.Conv2DOp)
            and source.nchwc_channels is not None
            and _one_use(read)
            and function in FUSED_ACTIVATIONS | {None}
        )
        carried = not isinstance(op, qnn.ClampOp) and function in NCHWC_ACTIVATIONS | {None}
        return fused or carried and held(op.input)
    if isinstance(op, qnn.AddOp | qnn.MulOp):  # elementwise on two NCHWc tensors of one shape
        return op.lhs.type == op.rhs.type and all(held(v) for v in (op.lhs, op.rhs))
    return op.axis.value.data == 1 and all(
        v.type.get_shape()[1] % block == 0 and held(v)  # type: ignore[union-attr]
        for v in op.inputs
    )


def _pools_integers(op: qnn.MaxPool2DOp) -> bool:
    """A float MaxPool that only reads a per-tensor DequantizeLinear's output: ORT's QDQ
    propagation (its basic level, before NchwcTransformer) moves the DequantizeLinear behind
    it (`rewrites.qdq_propagation`), so it pools the integers and its output is NCHW."""
    source = op.input.owner
    return (
        isinstance(source, qnn.DequantizeOp)
        and _one_use(op.input)
        and per_tensor_type(source.input) is not None
    )


def nchwc_global_pool(x: SSAValue, nchwc_average_pool: Callable[[qnn.AvgPool2DOp], bool]) -> bool:
    """Whether ORT converts a GlobalAveragePool reading `x` (its `TransformPool`): its
    channels fill whole blocks, and `x` is NCHWc or a graph input (a node no edge enters is
    converted whatever its input, reordered first)."""
    channels = x.type.get_shape()[1]  # type: ignore[attr-defined]
    if channels % nchwc_block_size():
        return False
    return isinstance(x, BlockArgument) or nchwc_value(x, nchwc_average_pool)


def nchwc_resize(
    op: qnn.ResizeBilinearOp, nchwc_average_pool: Callable[[qnn.AvgPool2DOp], bool]
) -> bool:
    """Whether ORT turns a float linear Resize into its NCHWc Upsample (`TransformResize`, as
    ORT 1.31 does it: checked against its session): the input NCHWc, whole-number factors
    (from `scales` or `sizes`), a coordinate mode the Upsample computes."""
    sizes = zip(op.input.type.get_shape()[2:], op.result.type.get_shape()[2:], strict=True)  # type: ignore[attr-defined]
    whole = all(s == int(s) and b == a * s for s, (a, b) in zip(op.scales, sizes, strict=True))
    return whole and op.mode.data in NCHWC_MODES and nchwc_value(op.input, nchwc_average_pool)


def fuse_nchwc_sums(block: Block, nchwc_average_pool: Callable[[qnn.AvgPool2DOp], bool]) -> None:
    """ORT's NCHWc Conv/Sum fusion (`TransformBinary` of an Add): an Add of two NCHWc tensors
    of one shape, one of them (the first, else the second) an NCHWc conv's that nothing else
    reads and no activation follows inside it, becomes that conv summing from the other
    (`qnn.conv2d {sum_from_addend}`: its blocks added to the other tensor, then the bias)."""
    for add in [op for op in block.ops if isinstance(op, qnn.AddOp)]:
        if add.lhs.type != add.rhs.type or not _nchw_float(add.result):
            continue
        if not all(nchwc_value(v, nchwc_average_pool) for v in (add.lhs, add.rhs)):
            continue
        for value, other in ((add.lhs, add.rhs), (add.rhs, add.lhs)):
            conv = value.owner
            if (
                isinstance(conv, qnn.Conv2DOp)
                and conv.nchwc_channels is not None
                and conv.addend is None
                and conv.activation_kind is Activation.NONE
                and _one_use(value)
                and value is not other
            ):
                operands = [conv.input, conv.weight, [conv.bias] if conv.bias else [], [other]]
                fused_in_place(conv, add, operands, {"sum_from_addend": UnitAttr()})
                break


def nchwc_batch_norms(
    block: Block,
    nchwc_average_pool: Callable[[qnn.AvgPool2DOp], bool],
    mark_pool: Callable[[qnn.AvgPool2DOp], None] = lambda pool: None,
) -> None:
    """`NchwcTransformerImpl::TransformBatchNormalization` over a function body: a float
    BatchNormalization whose input is NCHWc and whose parameters are constants of shape [C]
    becomes a depthwise 1x1 NCHWc conv (`_nchwc_batch_norm`). Run after the basic-level
    fusions (a BatchNormalization a conv alone reads is ConvBNFusion's) and after marking the
    convs; the GlobalAveragePools and linear Resizes after a converted one are decided again
    (they may read an NCHWc tensor now; `mark_pool` hears of each pool made row-major)."""
    converted = False
    for op in list(block.ops):
        if isinstance(op, qnn.BatchNormOp):
            converted |= _nchwc_batch_norm(op, nchwc_average_pool)
        elif not converted or not op.results or element_type(op.results[0].type) != f32:
            continue
        elif isinstance(op, qnn.AvgPool2DOp) and op.row_major is None and op.is_global():
            if nchwc_global_pool(op.input, nchwc_average_pool):
                op.properties["row_major"] = UnitAttr()
                mark_pool(op)
        elif (
            isinstance(op, qnn.ResizeBilinearOp)
            and op.nchwc is None
            and nchwc_resize(op, nchwc_average_pool)
        ):
            op.properties["nchwc"] = UnitAttr()


def _nchwc_batch_norm(
    op: qnn.BatchNormOp, nchwc_average_pool: Callable[[qnn.AvgPool2DOp], bool]
) -> bool:
    """`op` as ORT's depthwise 1x1 NCHWc conv, if ORT converts it: weight
    `scale / sqrt(var + epsilon)`, bias `B - mean · weight`, each step in float32 as ORT's
    `Initializer` computes it; the conv sums `fma(x, w, 0) + bias`."""
    params = [op.scale, op.bias, op.mean, op.var]
    channels = op.input.type.get_shape()[1]  # type: ignore[attr-defined]
    if (
        element_type(op.result.type) != f32
        or not all(isinstance(v.owner, arith.ConstantOp) for v in params)
        or any(v.type.get_shape() != (channels,) for v in params)  # type: ignore[attr-defined]
        or not nchwc_value(op.input, nchwc_average_pool)
    ):
        return False
    scale, beta, mean, var = (dense_array(v).astype(np.float32) for v in params)
    weight = scale / np.sqrt(var + np.float32(op.epsilon.value.data))
    bias = beta - mean * weight
    conv = qnn.Conv2DOp.build(
        operands=[
            op.input,
            new_constant(weight.reshape(-1, 1, 1, 1), op),
            [new_constant(bias, op)],
            [],
        ],
        result_types=[op.result.type],
        properties={
            "strides": int_array((1, 1)),
            "pads": int_array((0, 0, 0, 0)),
            "dilations": int_array((1, 1)),
            "groups": IntegerAttr(channels, i64),
            "layout": StringAttr("nchw"),
        },
    )
    conv.attributes.update(op.attributes)
    conv.mark_nchwc()
    Rewriter.insert_op(conv, InsertPoint.before(op))
    conv.results[0].name_hint = op.results[0].name_hint
    op.results[0].replace_all_uses_with(conv.results[0])
    Rewriter.erase_op(op)
    return True
