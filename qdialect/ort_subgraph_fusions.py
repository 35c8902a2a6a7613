"""ONNX Runtime's fusions of float subgraphs into one kernel, in the session that runs a
quantized model: where exporters spell a LayerNormalization, an RMSNorm or an Erf-GELU out node
by node, ORT computes them with its own kernels, whose roundings differ from the nodes'.

`LayerNormFusion` (`layer_norm_fusion.cc`): ReduceMean(X) → Sub → Pow → ReduceMean → Add(ε) →
Sqrt → Div → Mul(γ) → Add(β) becomes a LayerNormalization of X (`qnn.layer_norm`). ORT matches
by edges, not by roles: the Sub may be `mean - X` and the Div `std / d`, and the Pow's exponent
is not looked at; ε is Add's second input when it is a one-element constant, else 1e-5; γ and
β are the Mul's and the Add's rank-1 operands, of the normalized length. One axis, the last.
Every node before the last Add has one reader (the Sub two: the Pow and the Div) and no graph
output; so does the ReduceMean of X, two Subs (an older exporter's duplicate) or one.

`SimplifiedLayerNormFusion`: Pow(X, 2.0) → ReduceMean → Add(ε, either input) → Sqrt →
Div(X, ·) → Mul(γ) becomes ORT's SimplifiedLayerNormalization (`qnn.layer_norm {simplified}`),
the same one-reader rule up to the Div.

`SkipLayerNormFusion` (`skip_layer_norm_fusion.cc`): an Add of two 3-D tensors of one shape,
read only by a LayerNormalization, becomes ORT's SkipLayerNormalization, whose kernel is the
scalar loop at every length (`qnn.layer_norm {welford}`; measured against ORT 1.31.1: Welford's
mean and m2 in float32, no MLAS). Where one of the Add's inputs is itself an Add of a 1-D
constant (a bias, read once), ORT adds the bias last: `(input + skip) + bias`.

`GeluFusion` (`gelu_fusion.cc`): Div(X, √2) → Erf → Add(1) → Mul by X → Mul by 0.5 (or the Erf
branch times `X · 0.5`) becomes ORT's Gelu kernel (`qnn.activation {function = "gelu"}`); the
constants compare as ORT's `IsInitializerWithExpectedValue` does (atol 1e-8, rtol 1e-5). ORT
looks for the `X · 0.5` Mul among the last Mul's inputs first, so an X a Mul node writes is no
GELU to it (measured). Not reproduced: from opset 20 ORT fuses at its basic level, before its
DynamicQuantizeMatMul fusion, so there an X a `quantize_dynamic` MatMul writes directly (its
Mul by the scales) blocks the fusion too; we fuse it (as ORT does below opset 20).

`fuse_div_mul` runs ORT's DivMulFusion before them all.

`FastGeluFusion` (`fast_gelu_fusion.cc`): GPT-2's tanh GELU, `X · 0.5 · (1 + tanh(√(2/π) ·
(X + 0.044715 · Pow(X, 3))))`, or `(X · 0.044715 · X + 1) · (X · √(2/π))` as the tanh's
argument, becomes ORT's FastGelu, whose kernel is Gelu's tanh form (`gelu_tanh`). Every node
but the `X · 0.5` one and the last has one reader; the last is no graph output.

Checked against ORT 1.31's optimized session on the patterns and their variants
(tests/numeric/test_ort_graph_rules.py); the rules were read from ORT's source and confirmed
there. In a quantized model these run only where nothing was quantized between the nodes
(a QuantizeLinear between them breaks the chain, as in ORT's graph).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import FloatAttr, IntegerAttr, StringAttr, UnitAttr, f32, i64
from xdsl.ir import Block, Operation, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter

from qdialect import qnn
from qdialect.constants import dense_array
from qdialect.names import NAME_ATTR, OP_TYPE_ATTR, tensor_name
from qdialect.qnn import FloatBinary, Reduction, UnaryFunction
from qdialect.quant_ops import DequantizeCastOp
from qdialect.tensors import element_type

DEFAULT_EPSILON = 1e-5  # ORT's DEFAULT_LAYERNORM_EPSILON


def _one_tensor_to_ort(x: SSAValue) -> bool:
    """Whether ORT's fusions see `x` as one tensor in all its readers: a DequantizeLinear's
    output read by several nodes is not (EnsureUniqueDQForNodeUnit, before the fusions, gives
    each reader its own DQ; measured on an RMSNorm reading a `quantize_dynamic` embedding).
    Every pattern here reads X twice."""
    return not (isinstance(x.owner, qnn.DequantizeOp | DequantizeCastOp) and len(list(x.uses)) > 1)


def _users(value: SSAValue) -> list[Operation]:
    """The ops reading `value`, each once (the importer's `x · x` is one Pow's one edge)."""
    return list(dict.fromkeys(use.operation for use in value.uses))


def _sole_user(value: SSAValue) -> Operation | None:
    """The one op reading `value`, if exactly one does and it is no graph output."""
    users = _users(value)
    if len(users) != 1 or isinstance(users[0], func.ReturnOp):
        return None
    return users[0]


def _float(op: Operation | None) -> bool:
    return op is not None and bool(op.results) and element_type(op.results[0].type) == f32


def _binary(op: Operation | None, kind: FloatBinary) -> bool:
    return isinstance(op, qnn.FloatBinaryOp) and op.kind_value is kind and _float(op)


def _function(op: Operation | None, function: UnaryFunction) -> bool:
    return isinstance(op, qnn.ActivationOp) and op.function_kind is function


def _last_axis_mean(op: Operation | None) -> bool:
    """A ReduceMean over the last axis alone (ORT's inference build fuses one axis only)."""
    if not isinstance(op, qnn.ReduceOp) or op.kind_value is not Reduction.MEAN:
        return False
    rank = len(op.input.type.get_shape())  # type: ignore[attr-defined]
    return tuple(op.axes.get_values()) == (rank - 1,)


def _scalar(value: SSAValue) -> float | None:
    """The value of a one-element float constant."""
    owner = value.owner
    if not isinstance(owner, arith.ConstantOp) or element_type(value.type) != f32:
        return None
    data = dense_array(owner)
    return float(data.reshape(())) if data.size == 1 else None


def _is_constant(value: SSAValue, expected: float) -> bool:
    """ORT's `IsInitializerWithExpectedValue` on a float: |v - e| <= 1e-8 + 1e-5·|e|."""
    actual = _scalar(value)
    return actual is not None and abs(actual - expected) <= 1e-8 + 1e-5 * abs(expected)


def _other(op: Operation, value: SSAValue) -> SSAValue:
    """The operand of a binary op that is not `value`."""
    lhs, rhs = op.operands
    return rhs if lhs is value else lhs


def _rank1_operand(op: Operation, length: int) -> SSAValue | None:
    """The last rank-1 operand of `op` (ORT's scale and bias pick), if it is `length` long."""
    found = [v for v in op.operands if len(v.type.get_shape()) == 1]  # type: ignore[attr-defined]
    if not found or found[-1].type.get_shape() != (length,):  # type: ignore[attr-defined]
        return None
    return found[-1]


def _squared(op: Operation | None) -> SSAValue | None:
    """The base of a Pow node by exactly 2 (`x · x`, marked Pow)."""
    recorded = op.attributes.get(OP_TYPE_ATTR) if op is not None else None
    if isinstance(op, qnn.MulOp) and recorded == StringAttr("Pow") and op.lhs is op.rhs:
        return op.lhs
    return None


def _replace(chain: list[Operation], last: Operation, fused: Operation) -> None:
    """`fused` in place of `last` (its output name and readers), the ops of `chain` gone."""
    Rewriter.insert_op(fused, InsertPoint.before(last))
    fused.results[0].name_hint = last.results[0].name_hint
    if NAME_ATTR in last.attributes:
        fused.attributes[NAME_ATTR] = last.attributes[NAME_ATTR]
    last.results[0].replace_all_uses_with(fused.results[0])
    for op in reversed(chain):
        Rewriter.erase_op(op)


def _layer_norm(
    x: SSAValue, scale: SSAValue, bias: SSAValue | None, epsilon: float, simplified: bool
) -> qnn.LayerNormOp:
    rank = len(x.type.get_shape())  # type: ignore[attr-defined]
    properties: dict = {
        "axis": IntegerAttr(rank - 1, i64),
        "epsilon": FloatAttr(epsilon, f32),
    }
    if simplified:
        properties["simplified"] = UnitAttr()
    return qnn.LayerNormOp.build(
        operands=[x, scale, [bias] if bias is not None else []],
        result_types=[x.type],
        properties=properties,
    )


def _fuse_layer_norm(mean1: qnn.ReduceOp) -> bool:
    """`LayerNormFusion` from its first ReduceMean (module docstring)."""
    x = mean1.input
    subs = _users(mean1.result)
    if not _last_axis_mean(mean1) or not 1 <= len(subs) <= 2 or not _one_tensor_to_ort(x):
        return False
    if not all(_binary(s, FloatBinary.SUB) and x in s.operands for s in subs):
        return False
    if any(isinstance(u, func.ReturnOp) for u in subs):
        return False
    sub = subs[0]
    if len(subs) == 1 and len(_users(sub.results[0])) != 2:
        return False
    if len(subs) == 2 and _sole_user(sub.results[0]) is None:
        return False
    readers = [u for s in subs for u in _users(s.results[0])]
    divs = [u for u in readers if _binary(u, FloatBinary.DIV)]
    # (ORT does not look at the exponent: the importer's Pow by 2, or any other)
    pows = [u for u in readers if _squared(u) is not None or _binary(u, FloatBinary.POW)]
    if not divs or not pows:
        return False
    div, power = divs[0], pows[0]
    mean2 = _sole_user(power.results[0])
    add = _sole_user(mean2.results[0]) if isinstance(mean2, qnn.ReduceOp) else None
    sqrt = _sole_user(add.results[0]) if isinstance(add, qnn.AddOp) else None
    if not (
        _last_axis_mean(mean2)
        and isinstance(add, qnn.AddOp)
        and _float(add)
        and _function(sqrt, UnaryFunction.SQRT)
        and _sole_user(sqrt.results[0]) is div  # type: ignore[union-attr]
    ):
        return False
    mul = _sole_user(div.results[0])
    last = _sole_user(mul.results[0]) if isinstance(mul, qnn.MulOp) else None
    if not isinstance(mul, qnn.MulOp) or not isinstance(last, qnn.AddOp) or not _float(last):
        return False
    length = x.type.get_shape()[-1]  # type: ignore[attr-defined]
    scale, bias = _rank1_operand(mul, length), _rank1_operand(last, length)
    if scale is None or bias is None:
        return False
    epsilon = _scalar(add.rhs)
    epsilon = DEFAULT_EPSILON if epsilon is None else epsilon
    chain = [mean1, *subs, power, mean2, add, sqrt, div, mul, last]
    _replace(chain, last, _layer_norm(x, scale, bias, epsilon, False))  # type: ignore[arg-type]
    return True


def _fuse_simplified(power: qnn.MulOp) -> bool:
    """`SimplifiedLayerNormFusion` from its Pow (module docstring)."""
    x = _squared(power)
    mean = _sole_user(power.result)
    add = _sole_user(mean.results[0]) if isinstance(mean, qnn.ReduceOp) else None
    sqrt = _sole_user(add.results[0]) if isinstance(add, qnn.AddOp) else None
    div = _sole_user(sqrt.results[0]) if _function(sqrt, UnaryFunction.SQRT) else None
    if x is None or not _last_axis_mean(mean) or not _binary(div, FloatBinary.DIV):
        return False
    if not _one_tensor_to_ort(x):
        return False
    if not isinstance(add, qnn.AddOp) or div.operands[0] is not x:  # type: ignore[union-attr]
        return False
    mul = _sole_user(div.results[0])  # type: ignore[union-attr]
    length = x.type.get_shape()[-1]  # type: ignore[attr-defined]
    if not isinstance(mul, qnn.MulOp) or not _float(mul):
        return False
    scale = _rank1_operand(mul, length)
    if scale is None:
        return False
    epsilon = next((e for e in map(_scalar, add.operands) if e is not None), DEFAULT_EPSILON)
    chain = [power, mean, add, sqrt, div, mul]  # type: ignore[list-item]
    _replace(chain, mul, _layer_norm(x, scale, None, epsilon, True))
    return True


def _fuse_gelu(div: qnn.FloatBinaryOp) -> bool:
    """`GeluFusion` from its Div (module docstring)."""
    x = div.lhs
    if not _binary(div, FloatBinary.DIV) or not _is_constant(div.rhs, float(np.sqrt(2))):
        return False
    if not _one_tensor_to_ort(x):
        return False
    erf = _sole_user(div.result)
    add = _sole_user(erf.results[0]) if _function(erf, UnaryFunction.ERF) else None
    if not isinstance(add, qnn.AddOp) or not _is_constant(_other(add, erf.results[0]), 1.0):  # type: ignore[union-attr]
        return False
    mul = _sole_user(add.result)
    if not isinstance(mul, qnn.MulOp):
        return False
    other = _other(mul, add.result)
    half = other.owner
    if isinstance(half, qnn.MulOp) and _sole_user(other) is mul and x in half.operands:
        # the Erf branch times `X · 0.5`
        if not _is_constant(_other(half, x), 0.5):
            return False
        _replace([div, erf, add, half, mul], mul, _gelu(x))  # type: ignore[list-item]
        return True
    last = _sole_user(mul.result)  # (X times the Erf branch, then by 0.5)
    if other is not x or not isinstance(last, qnn.MulOp):
        return False
    if _mul_node(x.owner):  # ORT takes X's Mul for the `X · 0.5` form, which it is not
        return False
    if not _is_constant(_other(last, mul.result), 0.5):
        return False
    _replace([div, erf, add, mul, last], last, _gelu(x))  # type: ignore[list-item]
    return True


def _constant_operand(op: Operation, expected: float) -> SSAValue | None:
    """The operand of binary `op` other than its constant `expected` (either side)."""
    for index, value in enumerate(op.operands):
        if _is_constant(value, expected):
            return op.operands[1 - index]
    return None


def _cubed(op: Operation | None) -> SSAValue | None:
    """The base of a Pow node by exactly 3 (`(x · x) · x`, both products marked Pow)."""
    if not isinstance(op, qnn.MulOp) or op.attributes.get(OP_TYPE_ATTR) != StringAttr("Pow"):
        return None
    square = op.lhs.owner
    return op.rhs if isinstance(square, qnn.MulOp) and _squared(square) is op.rhs else None


def _fast_gelu_tanh_input(op: Operation) -> tuple[SSAValue, list[Operation]] | None:
    """FastGeluFusion's two formulas up to the Tanh's input: X and the nodes, from the
    formula's first node (`op`: the Pow, or the Mul by 0.044715)."""
    x = _cubed(op)
    if x is not None:  # Pow(X, 3) · 0.044715 + X, times √(2/π)
        square = op.lhs.owner
        mul1 = _sole_user(op.results[0])
        add1 = _sole_user(mul1.results[0]) if _mul_node(mul1) else None
        if add1 is None or _constant_operand(mul1, 0.044714998453855515) is None:
            return None
        if not _add_node(add1) or _other(add1, mul1.results[0]) is not x:
            return None
        mul2 = _sole_user(add1.results[0])
        if not _mul_node(mul2) or _constant_operand(mul2, 0.7978845834732056) is None:
            return None
        return x, [square, op, mul1, add1, mul2]  # type: ignore[list-item]
    x = _constant_operand(op, 0.044715) if _mul_node(op) else None
    if x is None:  # (X · 0.044715 · X + 1) times X · √(2/π)
        return None
    mul2 = _sole_user(op.results[0])
    add1 = _sole_user(mul2.results[0]) if _mul_node(mul2) else None
    if add1 is None or _other(mul2, op.results[0]) is not x or not _add_node(add1):
        return None
    if _constant_operand(add1, 1.0) is not mul2.results[0]:
        return None
    mul3 = _sole_user(add1.results[0])
    if not _mul_node(mul3):
        return None
    mul4 = _other(mul3, add1.results[0]).owner
    if not _mul_node(mul4) or _sole_user(mul4.results[0]) is not mul3:
        return None
    if _constant_operand(mul4, 0.7978845834732056) is not x:
        return None
    return x, [op, mul2, add1, mul4, mul3]  # type: ignore[list-item]


def _fuse_fast_gelu(op: qnn.MulOp) -> bool:
    """`FastGeluFusion` (fast_gelu_fusion.cc) from the formula's first node: ... → Tanh → Add
    1 → Mul by `X · 0.5` becomes ORT's FastGelu, the kernel of Gelu's tanh form."""
    found = _fast_gelu_tanh_input(op)
    if found is None:
        return False
    x, chain = found
    if not _one_tensor_to_ort(x):
        return False
    tanh = _sole_user(chain[-1].results[0])
    add2 = _sole_user(tanh.results[0]) if _function(tanh, UnaryFunction.TANH) else None
    if not _add_node(add2) or _constant_operand(add2, 1.0) is not tanh.results[0]:  # type: ignore[union-attr]
        return False
    mul5 = _sole_user(add2.results[0])  # type: ignore[union-attr]
    if not _mul_node(mul5) or any(isinstance(u, func.ReturnOp) for u in _users(mul5.results[0])):
        return False
    mul6 = _other(mul5, add2.results[0]).owner  # type: ignore[union-attr]
    if not _mul_node(mul6) or _sole_user(mul6.results[0]) is not mul5:
        return False
    if _constant_operand(mul6, 0.5) is not x:
        return False
    fused = qnn.ActivationOp.create(
        operands=[x], result_types=[x.type], properties={"function": StringAttr("gelu_tanh")}
    )
    _replace([*chain, tanh, add2, mul6, mul5], mul5, fused)  # type: ignore[list-item]
    return True


def _add_node(op: Operation | None) -> bool:
    """A float Add node (not a Sum's add: ORT matches op types)."""
    return isinstance(op, qnn.AddOp) and _float(op) and OP_TYPE_ATTR not in op.attributes


def _three_d(value: SSAValue) -> bool:
    return len(value.type.get_shape()) == 3  # type: ignore[attr-defined]


def _bias_add(value: SSAValue) -> qnn.AddOp | None:
    """`CheckSecondAdd`: the Add writing `value`, of a 3-D input and a 1-D constant of its last
    dim (its second input), read once and no graph output."""
    add = value.owner
    if not _add_node(add) or _sole_user(add.result) is None:  # type: ignore[union-attr]
        return None
    if isinstance(add.lhs.owner, qnn.DynamicDotOp):
        return None  # ORT's DynamicQuantizeMatMul takes that bias in first
    bias = add.rhs
    length = add.lhs.type.get_shape()[-1] if _three_d(add.lhs) else None  # type: ignore[attr-defined]
    if not isinstance(bias.owner, arith.ConstantOp) or bias.type.get_shape() != (length,):  # type: ignore[attr-defined]
        return None
    return add


def _fuse_skip_layer_norm(norm: qnn.LayerNormOp, skip_norms: frozenset[str] | None) -> bool:
    """`SkipLayerNormFusion` from the LayerNormalization (module docstring); where ORT's
    shapes are symbolic, only the norms `skip_norms` names (ORT's own decision)."""
    add = norm.input.owner
    if norm.simplified is not None or not _add_node(add):
        return False
    if skip_norms is not None and tensor_name(norm.results[0]) not in skip_norms:
        return False
    if _sole_user(add.result) is not norm or not (_three_d(add.lhs) and _three_d(add.rhs)):
        return False
    if add.lhs.type.get_shape() != add.rhs.type.get_shape():  # type: ignore[attr-defined]
        return False
    first, second = _bias_add(add.lhs), _bias_add(add.rhs)
    if first is not None or second is not None:  # formats 1 and 2: (input + skip) + bias
        inner = first if first is not None else second
        assert inner is not None
        pair = (inner.lhs, add.rhs) if first is not None else (add.lhs, inner.lhs)
        total = qnn.AddOp(*pair, add.result.type)
        biased = qnn.AddOp(total.result, inner.rhs, add.result.type)
        Rewriter.insert_op([total, biased], InsertPoint.before(norm))
        norm.operands[0] = biased.result
        Rewriter.erase_op(add)
        Rewriter.erase_op(inner)
    norm.properties["welford"] = UnitAttr()
    return True


def _mul_node(op: Operation | None) -> bool:
    """A Mul node of the model (not a Pow the importer wrote as a product)."""
    return isinstance(op, qnn.MulOp) and OP_TYPE_ATTR not in op.attributes


def _gelu(x: SSAValue) -> qnn.ActivationOp:
    return qnn.ActivationOp.create(
        operands=[x], result_types=[x.type], properties={"function": StringAttr("gelu")}
    )


FUSIONS: list[tuple[type[Operation], Callable[..., bool]]] = [
    (qnn.FloatBinaryOp, _fuse_gelu),
    (qnn.ReduceOp, _fuse_layer_norm),
    (qnn.MulOp, _fuse_simplified),
    (qnn.LayerNormOp, _fuse_skip_layer_norm),
    (qnn.MulOp, _fuse_fast_gelu),
]


def fuse_div_mul(block: Block) -> None:
    """`DivMulFusion` (div_mul_fusion.cc, ORT's basic level): `Mul(A, Div(1, B))`, the Div's
    one reader and no graph output, its 1 a one-element constant of exactly 1.0, becomes
    `Div(A, B)`: T5's RMSNorm (`x · (1 / √(v + ε))`) is then the `x / √(v + ε)` that
    SimplifiedLayerNormFusion takes."""
    for div in list(block.ops):
        if div.parent is not block or not _binary(div, FloatBinary.DIV):
            continue
        if OP_TYPE_ATTR in div.attributes:
            continue  # a Reciprocal node
        one = _scalar(div.lhs)
        mul = _sole_user(div.result)
        if one != 1.0 or not _mul_node(mul) or len(_users(div.result)) != 1:
            continue
        fused = qnn.FloatBinaryOp(
            FloatBinary.DIV, _other(mul, div.result), div.rhs, mul.result.type
        )
        _replace([div, mul], mul, fused)


def fuse_subgraphs(block: Block, skip_norms: frozenset[str] | None = None) -> None:
    """GeluFusion, LayerNormFusion, SimplifiedLayerNormFusion, SkipLayerNormFusion (`skip_norms`:
    `_fuse_skip_layer_norm`), then FastGeluFusion over a quantized model's function body, each
    from one node of its pattern, in program order."""
    for kind, fuse in FUSIONS:
        for op in list(block.ops):
            if op.parent is block and isinstance(op, kind):
                if fuse is _fuse_skip_layer_norm:
                    fuse(op, skip_norms)
                else:
                    fuse(op)
