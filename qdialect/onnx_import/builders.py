"""Builders the op handlers share: conv/pool windows, and one qnn/tensor op per helper.

QOperator and float (QDQ) nodes of one family build the same op with different element types,
so each builder takes the result type as a function of the result shape.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from xdsl.dialects import arith, tensor
from xdsl.dialects.builtin import (
    BoolAttr,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    Signedness,
    StringAttr,
    UnitAttr,
    f32,
    i64,
)
from xdsl.ir import Attribute, SSAValue

from qdialect import qnn
from qdialect.arithmetic import quantize_value
from qdialect.constants import dense_array
from qdialect.float32 import f32 as to_f32
from qdialect.float32_arrays import dequantized_values
from qdialect.host_cpu import nchwc_pool
from qdialect.names import INITIALIZER_ATTR, NAME_ATTR, tensor_name
from qdialect.nchwc import nchwc_global_pool
from qdialect.onnx_import.common import (
    attrs,
    check_permutation,
    decode,
    int_list_attr,
    normalize_axis,
    shape_of,
    tensor_type,
)
from qdialect.onnx_import.errors import NodeError
from qdialect.onnx_import.graph import AVERAGE_POOL_V19, GraphImporter
from qdialect.qnn.common import int_array
from qdialect.qnn.modes import RoundMode
from qdialect.qnn.movement import permuted_element
from qdialect.qnn.table import UnaryFunction
from qdialect.quant_ops import StorageCastOp
from qdialect.tensors import element_type
from qdialect.types import Granularity, UniformQuantizedType

# ----------------------------------------------------------------------------- windows


def window_pads(node, spatial, kernel, strides, dilations) -> list[int]:
    """The begins, then the ends, of each spatial side ([top, left, bottom, right] in 2-D)
    from `pads` or `auto_pad` (SAME_UPPER/LOWER, VALID)."""
    a = attrs(node)
    none = [0] * 2 * len(spatial)
    auto = decode(a.get("auto_pad", "NOTSET"))
    if auto not in ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"):
        raise NodeError(
            f"attribute 'auto_pad' must be NOTSET, VALID, SAME_UPPER or SAME_LOWER, got {auto!r}"
        )
    if auto != "NOTSET" and "pads" in a:
        raise NodeError(f"attribute 'pads' must not be given with auto_pad={auto}")
    if auto in ("NOTSET", "VALID"):
        pads = list(a.get("pads", none)) if auto == "NOTSET" else none
        if len(pads) != len(none):
            form = "2-D [top, left, bottom, right]" if len(none) == 4 else f"{len(spatial)}-D"
            raise NodeError(f"pads {pads} are not {form}")
        if any(p < 0 for p in pads):
            raise NodeError(
                f"attribute 'pads' must be {len(none)} non-negative integers, got {pads}"
            )
        return pads
    begin, end = [], []
    for size, k, s, d in zip(spatial, kernel, strides, dilations, strict=True):
        out = -(-size // s)
        total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
        small, large = total // 2, total - total // 2
        begin.append(small if auto == "SAME_UPPER" else large)
        end.append(large if auto == "SAME_UPPER" else small)
    return begin + end


def window_count(size, k, s, lo, hi, d, ceil_mode: bool) -> int:
    """Windows along one side: ONNX Runtime's count (with ceil_mode, the last window may
    reach past the padding, but not start in it)."""
    span = d * (k - 1) + 1
    if size + lo + hi < span:
        raise NodeError(f"window of extent {span} does not fit the padded input ({size + lo + hi})")
    floor = (size + lo + hi - span) // s + 1
    if not ceil_mode:
        return floor
    ceil = -(-(size + lo + hi - span) // s) + 1
    return ceil - 1 if (ceil - 1) * s >= size + lo else ceil


def window(
    node, x_shape, kernel=None, nhwc: bool = False, fixed_kernel=None, partial: bool = False
) -> dict:
    """Kernel, strides, pads, dilations and result spatial size of a conv/pool node (a conv's
    `kernel_shape`, if given, must be its weight's `fixed_kernel`). A `ceil_mode` window that
    reaches past the padding gets more end padding where the node's arithmetic allows it
    (`partial`: a max pool, which padding never wins; a float average of the taps it counts),
    and `declared` keeps the node's own pads; elsewhere it is refused."""
    a = attrs(node)
    spatial = x_shape[1:3] if nhwc else x_shape[2:]
    if len(x_shape) != 4:
        raise NodeError(f"only 2-D windows (rank-4 tensors) are imported, got rank {len(x_shape)}")
    if kernel is None and "kernel_shape" not in a:
        raise NodeError("attribute 'kernel_shape' is required: 2 positive integers [kh, kw]")
    kernel = int_list_attr(
        node, "kernel_shape", kernel, length=2, minimum=1, form="2 positive integers [kh, kw]"
    )
    if fixed_kernel is not None and kernel != list(fixed_kernel):
        raise NodeError(
            f"attribute 'kernel_shape' must be the weight's spatial shape {list(fixed_kernel)}, "
            f"got {kernel}"
        )
    strides = int_list_attr(
        node, "strides", [1, 1], length=2, minimum=1, form="2 positive integers [sh, sw]"
    )
    dilations = int_list_attr(
        node, "dilations", [1, 1], length=2, minimum=1, form="2 positive integers [dh, dw]"
    )
    declared = window_pads(node, spatial, kernel, strides, dilations)
    pads = list(declared)
    ceil = bool(a.get("ceil_mode", 0))
    out = [
        window_count(spatial[i], kernel[i], strides[i], pads[i], pads[i + 2], dilations[i], ceil)
        for i in range(2)
    ]
    for i in range(2):
        span = dilations[i] * (kernel[i] - 1) + 1
        reach = (out[i] - 1) * strides[i] + span - (spatial[i] + pads[i] + pads[i + 2])
        if reach > 0 and not partial:
            raise NodeError(
                "ceil_mode=1 with a partial last window is only imported for MaxPool and float "
                "AveragePool"
            )
        pads[i + 2] += max(reach, 0)
    return {
        "kernel": kernel,
        "strides": strides,
        "pads": pads,
        "dilations": dilations,
        "out": out,
        "declared": declared,
    }


def conv_props(w: dict, groups: int, layout: str = "nchw") -> dict:
    return {
        "strides": int_array(w["strides"]),
        "pads": int_array(w["pads"]),
        "dilations": int_array(w["dilations"]),
        "groups": IntegerAttr(groups, i64),
        "layout": StringAttr(layout),
    }


def pool_props(win: dict, nhwc: bool) -> dict:
    return {
        "kernel": int_array(win["kernel"]),
        "strides": int_array(win["strides"]),
        "pads": int_array(win["pads"]),
        "dilations": int_array(win["dilations"]),
        "layout": StringAttr("nhwc" if nhwc else "nchw"),
    }


# ----------------------------------------------------------------------------- values


def rank_of(g: GraphImporter, name: str) -> int:
    """The rank of tensor `name`, an initializer or an earlier value."""
    return g.initializers[name].ndim if name in g.initializers else len(shape_of(g.value(name)))


def onnx_type_word(value_type) -> str:
    """What ONNX calls a tensor of this element type: INT64, BOOL, FLOAT16, or a quantized
    tensor's storage and type."""
    elem = element_type(value_type)
    if isinstance(elem, IntegerType):
        width = elem.width.data
        unsigned = elem.signedness.data is Signedness.UNSIGNED
        return "BOOL" if width == 1 else f"{'U' if unsigned else ''}INT{width}"
    if isinstance(elem, UniformQuantizedType):
        return f"a quantized tensor ({elem})"
    return {"f16": "FLOAT16", "f64": "DOUBLE", "bf16": "BFLOAT16"}.get(str(elem), str(elem))


def float_value(g: GraphImporter, name: str) -> SSAValue:
    value = g.value(name)
    if element_type(value.type) != f32:
        raise NodeError(f"input '{name}' must be FLOAT here, got {onnx_type_word(value.type)}")
    return value


def transposed(g: GraphImporter, value: SSAValue, perm=(1, 0), name: str | None = None) -> SSAValue:
    perm = check_permutation(perm, len(shape_of(value)))
    shape = [shape_of(value)[p] for p in perm]
    elem = permuted_element(element_type(value.type), tuple(perm))
    op = qnn.TransposeOp.create(
        operands=[value],
        result_types=[tensor_type(shape, elem)],
        properties={"permutation": int_array(perm)},
    )
    return g.add(op, name)


def check_matrices(a: SSAValue, b: SSAValue) -> None:
    """Gemm's A and B must be 2-D (before `transA`/`transB`)."""
    for label, value in (("A", a), ("B", b)):
        if len(shape_of(value)) != 2:
            raise NodeError(
                f"input {label} must be a 2-D matrix, got shape {list(shape_of(value))}"
            )


def reshaped(g: GraphImporter, value: SSAValue, shape, name: str | None = None) -> SSAValue:
    if math.prod(shape) != math.prod(shape_of(value)):
        raise NodeError(f"cannot reshape {list(shape_of(value))} to {list(shape)}")
    elem = element_type(value.type)
    if isinstance(elem, UniformQuantizedType) and elem.granularity is not Granularity.PER_TENSOR:
        raise NodeError("reshaping a per-axis quantized tensor is not imported")
    target = g.integer_constant(np.array(shape, np.int64), i64)
    op = tensor.ReshapeOp(value, target, tensor_type(shape, elem))
    return g.add(op, name)


def stored_to_real(stored: int, elem: UniformQuantizedType, what: str) -> float:
    """The real a stored value (a Pad or Clip constant on a quantized tensor) stands for; qnn
    ops take reals, and this one must quantize back to `stored`."""
    if elem.granularity is not Granularity.PER_TENSOR:
        raise NodeError(f"{what} on a per-axis quantized tensor is not imported")
    real = float(to_f32(to_f32(stored - elem.zero_point) * to_f32(elem.scale)))
    if quantize_value(real, elem.scale, elem.zero_point, elem.qmin, elem.qmax) != stored:
        raise NodeError(f"{what} value {stored} is outside the tensor's storage range")
    return real


def constant_through_qdq(value: SSAValue) -> np.ndarray | None:
    """The values of a constant read through Q/DQ ops (ONNX Runtime's quantizers give a
    Constant node's output a pair of its own: MobileBERT's Pad value): reals for a float
    value, stored integers for a quantized one, in the reference's steps; None for anything
    the graph computes from its inputs, or a per-axis step."""
    op = value.owner
    if isinstance(op, arith.ConstantOp):
        return dense_array(op)
    if not isinstance(op, StorageCastOp | qnn.QuantizeOp | qnn.DequantizeOp):
        return None
    source = constant_through_qdq(op.operands[0])
    qtype = element_type(
        op.result.type if isinstance(op, StorageCastOp | qnn.QuantizeOp) else op.input.type
    )
    if source is None or qtype.granularity is not Granularity.PER_TENSOR:
        return None
    if isinstance(op, StorageCastOp):
        return source if qtype.signed else source % (1 << qtype.storage_width)
    if isinstance(op, qnn.DequantizeOp):
        return dequantized_values(source, qtype)
    if op.round_mode_kind is not RoundMode.HALF_TO_EVEN:
        return None
    quantize = np.vectorize(quantize_value, otypes=[np.int64])
    return quantize(source, qtype.scale, qtype.zero_point, qtype.qmin, qtype.qmax)


# ----------------------------------------------------------------------------- compute ops


def build_conv(
    g: GraphImporter, node, x: SSAValue, w: SSAValue, bias, result_type, bias_float=None
) -> None:
    xs, ws = shape_of(x), shape_of(w)
    if len(xs) != len(ws):
        raise NodeError(
            f"the weight's rank {len(ws)} does not match the input's rank {len(xs)} "
            f"(weight {list(ws)}, input {list(xs)})"
        )
    if len(ws) not in (3, 4):  # (3-D: `convolution.build_conv`)
        raise NodeError(
            f"only 1-D, 2-D and 3-D convolutions are imported, weight has rank {len(ws)}"
        )
    if len(ws) == 3:
        return build_conv1d(g, node, x, w, bias, result_type, bias_float)
    groups = conv_groups(node, xs, ws)
    win = window(node, xs, kernel=ws[2:], fixed_kernel=ws[2:])
    shape = [xs[0], ws[0], *win["out"]]
    op = qnn.Conv2DOp.build(
        operands=[x, w, bias, []],
        result_types=[result_type(shape)],
        properties=conv_props(win, groups),
    )
    g.define(node.output[0], g.add(op, node.output[0]))


def conv_groups(node, xs, ws) -> int:
    """The conv's `group`, checked against its input and weight shapes."""
    groups = attrs(node).get("group", 1)
    if not isinstance(groups, int) or groups < 1:
        raise NodeError(f"attribute 'group' must be a positive integer, got {groups!r}")
    if xs[1] % groups or xs[1] // groups != ws[1] or ws[0] % groups:
        raise NodeError(
            f"attribute 'group' ({groups}) does not fit the input's {xs[1]} channels and the "
            f"weight's shape {list(ws)} (input channels / group must be the weight's dim 1, "
            "output channels a multiple of group)"
        )
    return groups


# a 1-D conv's window attributes as the 2-D conv over a height of 1 reads them
CONV1D_AS_2D = {
    "kernel_shape": lambda v: [1, *v],
    "strides": lambda v: [1, *v],
    "dilations": lambda v: [1, *v],
    "pads": lambda v: [0, v[0], 0, v[1]] if len(v) == 2 else list(v),
}


def build_conv1d(
    g: GraphImporter, node, x: SSAValue, w: SSAValue, bias, result_type, bias_float=None
) -> None:
    """A 1-D conv (audio, Whisper's and wav2vec2's feature convs) as the 2-D conv over a
    height of 1 that it is; MLAS sums it in the same order (im2col over (c, kw))."""

    def build(g: GraphImporter, node2d, x4: SSAValue) -> None:
        build_conv(g, node2d, x4, weight_rows(g, w), bias, result_type, bias_float)

    over_one_row(g, node, x, build, "Conv")


def over_one_row(
    g: GraphImporter,
    node,
    x: SSAValue,
    build: Callable[[GraphImporter, Any, SSAValue], None],
    op_type: str | None = None,
) -> None:
    """A 1-D window node (conv, pool) as the 2-D one over a height of 1 that it is (`build`
    given the node with widened attributes, `as_2d`, and the input [N, C, 1, W]), between
    reshapes: [N, C, W] -> [N, C, 1, W] and back. The three ops stand for the node
    (`op_type`, else the node's own)."""
    xs = shape_of(x)
    image = [xs[0], xs[1], 1, xs[2]]
    between_reshapes(g, as_2d(node), x, image, build, lambda y: [y[0], y[1], y[3]], op_type)


def between_reshapes(
    g: GraphImporter,
    node,
    x: SSAValue,
    image: list[int],
    build: Callable[[GraphImporter, Any, SSAValue], None],
    back: Callable[[list[int]], list[int]],
    op_type: str | None = None,
) -> None:
    """`build(g, node, x reshaped to the 4-D image shape)`, its result reshaped to
    `back(its shape)`: a 1-D window over a height of 1, a global pool over a volume's D·H
    rows. The ops stand for the node (`op_type`, else its own)."""
    last = g.block.last_op
    build(g, node, reshaped(g, x, image))
    inner = g.values[node.output[0]]
    inner.name_hint = None  # the node's name goes to its last op, the reshape
    inner.owner.attributes.pop(NAME_ATTR, None)  # type: ignore[union-attr]
    g.define(node.output[0], reshaped(g, inner, back(list(shape_of(inner))), node.output[0]))
    g.mark_decomposed(last, op_type or node.op_type)


def as_2d(node):
    """A 1-D window node as the 2-D one over a height of 1 (its window attributes widened)."""
    from onnx import helper

    converted = {k: CONV1D_AS_2D.get(k, lambda v: v)(v) for k, v in attrs(node).items()}
    return helper.make_node(node.op_type, list(node.input), list(node.output), **converted)


def weight_rows(g: GraphImporter, w: SSAValue) -> SSAValue:
    """A 1-D conv's weight [O, C, K] as [O, C, 1, K]."""
    o, c, k = shape_of(w)
    return reshaped_weight(g, w, [o, c, 1, k])


def reshaped_weight(g: GraphImporter, w: SSAValue, shape: list[int]) -> SSAValue:
    """A conv's weight in another shape that keeps its output channels first: a constant
    (per-axis quantized ones too, their axis 0 unmoved; a QDQ model's DequantizeLinear of
    one) rewritten, else reshaped."""
    owner = w.owner
    if isinstance(owner, qnn.DequantizeOp) and is_stored_constant(owner.input):
        stored = reshaped_weight(g, owner.input, shape)
        return g.add(qnn.DequantizeOp(stored, tensor_type(shape, f32)))
    if isinstance(owner, arith.ConstantOp) and element_type(w.type) == f32:
        rows = g.float_constant(dense_array(owner).astype(np.float32).reshape(shape))
        name = tensor_name(w)  # (torch's "c1.weight": a qnn.name, not the SSA name hint)
        if name and isinstance(rows.owner, arith.ConstantOp):
            rows.owner.attributes[INITIALIZER_ATTR] = StringAttr(name)
        return rows
    if is_stored_constant(w):
        stored = owner.input.owner
        values = dense_array(stored).reshape(shape)
        storage = g.integer_constant(values, element_type(stored.result.type))
        return g.add(StorageCastOp(storage, tensor_type(shape, element_type(w.type))))
    return reshaped(g, w, shape)


def is_stored_constant(value: SSAValue) -> bool:
    """Whether `value` is a quantized constant: the storage cast of an integer one."""
    owner = value.owner
    return isinstance(owner, StorageCastOp) and isinstance(owner.input.owner, arith.ConstantOp)


def build_dot(g: GraphImporter, node, a: SSAValue, b: SSAValue, bias, result_type) -> None:
    g.define(node.output[0], dot(g, a, b, bias, result_type, node.output[0]))


def dot(g: GraphImporter, a: SSAValue, b: SSAValue, bias, result_type, name=None) -> SSAValue:
    """`qnn.dot` of `a` [..., M, K] and `b` [K, N] (`bias`: [] or [one per column])."""
    sa, sb = shape_of(a), shape_of(b)
    if len(sb) != 2 or len(sa) < 2:
        raise NodeError(f"imported as [..., M, K] x [K, N]; got shapes {list(sa)} and {list(sb)}")
    shape = [*sa[:-1], sb[1]]
    op = qnn.DotOp.build(operands=[a, b, bias, []], result_types=[result_type(shape)])
    return g.add(op, name)


def build_concat(g: GraphImporter, node, parts: list[SSAValue], axis: int, result_type) -> None:
    g.define(node.output[0], concatenated(g, parts, axis, result_type, node.output[0]))


def concatenated(g: GraphImporter, parts: list[SSAValue], axis: int, result_type, name=None):
    """`qnn.concat` of `parts` along `axis` (negative counts from the end)."""
    axis = normalize_axis(axis, len(shape_of(parts[0])))
    shape = list(shape_of(parts[0]))
    shape[axis] = sum(shape_of(p)[axis] for p in parts)
    op = qnn.ConcatOp.create(
        operands=parts,
        result_types=[result_type(shape)],
        properties={"axis": IntegerAttr(axis, i64)},
    )
    return g.add(op, name)


def sliced(g: GraphImporter, x, ranges: dict[int, range], name: str | None = None):
    """`x` restricted to `ranges[axis]` (indices, any step) along some axes, all of the rest."""
    shape = shape_of(x)
    full = {d: range(size) for d, size in enumerate(shape)}
    picks = [ranges.get(d, full[d]) for d in range(len(shape))]
    op = qnn.SliceOp.create(
        operands=[x],
        result_types=[tensor_type([len(r) for r in picks], element_type(x.type))],
        properties={
            "starts": int_array([r.start if len(r) else 0 for r in picks]),
            "steps": int_array([r.step for r in picks]),
        },
    )
    return g.add(op, name)


def build_avg_pool(g: GraphImporter, node, x: SSAValue, nhwc: bool, result_type) -> None:
    xs = shape_of(x)
    if len(xs) != 4:
        raise NodeError(f"only 2-D pooling (rank-4 tensors) is imported, got rank {len(xs)}")
    spatial = list(xs[1:3] if nhwc else xs[2:])
    group = qdq_pool_group(g, node, x)
    qlinear = node.op_type == "QLinearAveragePool" or group is not None
    # a float pool as ORT's calibrator session runs it: a float model's, or a quantized model's
    # that ORT's optimized session neither fuses (QLinearAveragePool) nor makes an NCHWc pool
    dilations = attrs(node).get("dilations", [1, 1])
    calibrated = (
        element_type(x.type) == f32
        and not nhwc
        and not qlinear
        and not (g.quantized_model and nchwc_pool(xs[1], nhwc, dilations))
    )
    win = window(node, xs, kernel=spatial, nhwc=nhwc, partial=calibrated or qlinear)
    if "GlobalAveragePool" in node.op_type:
        win |= {"kernel": spatial, "strides": [1, 1], "pads": [0, 0, 0, 0], "out": [1, 1]}
    a = attrs(node)
    include_pad = bool(a.get("count_include_pad", 0))
    # ORT's own loop: from opset 19, and before it for a ceil_mode pool counting its padding
    own_loop = node.op_type == "AveragePool" and (
        g.opset >= AVERAGE_POOL_V19 or (calibrated and bool(a.get("ceil_mode", 0)) and include_pad)
    )
    if include_pad and win["pads"] != win["declared"]:
        if not qlinear:  # ORT's own loop counts the declared padding only
            return build_pool2d_as_3d(g, node, x, win)
        if group is False:
            raise NodeError(
                "ceil_mode=1 with a window past the padding, counting padding, between an int8 "
                "DequantizeLinear and QuantizeLinear is not imported: ORT runs it as "
                "QLinearAveragePool (dividing by the whole kernel) or, where its QDQS8ToU8 "
                "retypes the pair in front, as a float AveragePool (counting the declared "
                "padding only)"
            )
    shape = [xs[0], *win["out"], xs[3]] if nhwc else [xs[0], xs[1], *win["out"]]
    props = pool_props(win, nhwc) | {"count_include_pad": BoolAttr.from_bool(include_pad)}
    if own_loop:
        props["row_major"] = UnitAttr()  # dilations and all
    elif (
        node.op_type == "AveragePool"
        and g.quantized_model
        and nchwc_pool(xs[1], nhwc, win["dilations"])
    ):
        # a quantized model runs in ORT's optimized session (NCHWc pools), a float one in its
        # calibrator's unoptimized session (MLAS's pool kernels); fused pools drop the mark
        props["row_major"] = UnitAttr()
    elif (
        node.op_type == "GlobalAveragePool"
        and g.quantized_model
        and nchwc_global_pool(x, g.nchwc_average_pool)
    ):
        props["row_major"] = UnitAttr()  # ORT's NCHWc chain goes on to the global pool
    op = qnn.AvgPool2DOp.create(operands=[x], result_types=[result_type(shape)], properties=props)
    last = g.block.last_op
    g.define(node.output[0], g.add(op, node.output[0]))
    if node.op_type == "AveragePool":  # not a GlobalAveragePool, even with the image's window
        g.mark_decomposed(last, "AveragePool")


def qdq_pool_group(g: GraphImporter, node, x: SSAValue) -> bool | None:
    """For an AveragePool between a DequantizeLinear and QuantizeLinears (of a quantized
    model), which ORT runs as one QLinearAveragePool (it clips a ceil_mode window to the image
    and, counting padding, divides by the whole kernel): True for uint8 data, which it always
    fuses; False for int8, which it fuses unless its QDQS8ToU8 turned the Q -> DQ pair in front
    into uint8 (then the pool stays float); None for any other pool."""
    readers = g.readers(node.output[0])
    if not (
        g.quantized_model
        and node.op_type == "AveragePool"
        and isinstance(x.owner, qnn.DequantizeOp)
        and readers
        and all(r.op_type == "QuantizeLinear" for r in readers)
    ):
        return None
    stored = element_type(x.owner.input.type)
    return isinstance(stored, UniformQuantizedType) and not stored.signed


def build_pool2d_as_3d(g: GraphImporter, node, x: SSAValue, win: dict) -> None:
    """The 2-D AveragePool `node` of NCHW `x` (its window `win`) as ORT's own loop over
    [N, C, 1, H, W]: `qnn.pool3d` counts the taps inside the declared padding only, as that
    loop does for a ceil_mode window reaching past it."""
    n, c, height, width = x.type.get_shape()  # type: ignore[attr-defined]
    top, left, bottom, right = win["declared"]
    properties = {
        "kind": StringAttr("avg"),
        "kernel": int_array([1, *win["kernel"]]),
        "strides": int_array([1, *win["strides"]]),
        "pads": int_array([0, top, left, 0, bottom, right]),
        "dilations": int_array([1, *win["dilations"]]),
        "count_include_pad": UnitAttr(),
        "loop": UnitAttr(),
    }
    last = g.block.last_op
    deep = reshaped(g, x, (n, c, 1, height, width))
    pooled = g.add(
        qnn.Pool3DOp.create(
            operands=[deep],
            result_types=[tensor_type([n, c, 1, *win["out"]], f32)],
            properties=properties,
        )
    )
    g.define(node.output[0], reshaped(g, pooled, (n, c, *win["out"]), node.output[0]))
    g.mark_decomposed(last, node.op_type)


def unary_activation(
    function: UnaryFunction, value: SSAValue, **parameters: float
) -> qnn.ActivationOp:
    """`qnn.activation` of `function` on `value`, with its `alpha`/`beta` if it has them."""
    properties: dict[str, Attribute] = {"function": StringAttr(function.value)}
    properties |= {key: FloatAttr(v, f32) for key, v in parameters.items()}
    return qnn.ActivationOp.create(
        operands=[value], result_types=[value.type], properties=properties
    )
