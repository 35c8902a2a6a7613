"""The graph walk of the ONNX importer: values, constants, quantized types, the function.

An ONNX tensor becomes one SSA value. Quantized tensors (the uint8/int8 tensors of the
QOperator format, and the inputs of DequantizeLinear) carry `!quant.uniform` types built from
the scale and zero-point initializers next to them; where two nodes read the same stored
values with different parameters, the importer reinterprets them with a pair of `quant.scast`
ops, which is what ONNX means.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import (
    ArrayAttr,
    DictionaryAttr,
    IntegerType,
    ModuleOp,
    StringAttr,
    TensorType,
    UnitAttr,
    f16,
    f32,
    i1,
    i64,
)
from xdsl.ir import Attribute, Block, Operation, OpResult, Region, SSAValue
from xdsl.utils.exceptions import VerifyException

from qdialect.constants import packed_attr, reinterpret_bits
from qdialect.names import (
    NAME_ATTR,
    NODE_ATTR,
    NODE_OUTPUT_ATTR,
    OP_TYPE_ATTR,
    UNTYPED_ATTR,
    record_name,
    ssa_name_hint,
    tensor_name,
)
from qdialect.nchwc import fuse_nchwc_sums, nchwc_batch_norms
from qdialect.onnx_import.common import (
    attrs,
    axis_attr,
    decode,
    optional_input,
    quant_param_positions,
    shape_of,
    tensor_type,
)
from qdialect.onnx_import.element_types import (
    DTYPE_OF_STORAGE,
    STORAGE_OF_DTYPE,
    onnx_dtype,
    storage_of,
)
from qdialect.onnx_import.errors import NodeError, OnnxImportError
from qdialect.onnx_import.folding import fold
from qdialect.onnx_import.scales import check_scales
from qdialect.ort_fusions import fuse_float_nodes
from qdialect.ort_session_view import SessionFusions
from qdialect.qnn.logical import BOOL
from qdialect.quant_ops import StorageCastOp, reinterpret
from qdialect.tensors import element_type
from qdialect.types import UniformQuantizedType

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float16), np.dtype(np.float64))
# nodes that make a model a quantized one (with the QLinear* family)
QUANTIZED_MODEL_NODES = frozenset(
    {"QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "QGemm", "MatMulInteger"}
)


def storage_view(values: np.ndarray, qtype: UniformQuantizedType) -> np.ndarray:
    """Stored integers as the signless integers `quant.scast` reads (u8 200 is i8 -56, u4 15
    is i4 -1)."""
    width = qtype.storage_width
    container = next(bits for bits in (8, 16, 32, 64) if bits >= width)
    return reinterpret_bits(np.asarray(values), width, True, np.dtype(f"i{container // 8}"))


# the opset from which ONNX Runtime's AveragePool runs its own loop (AveragePoolV19), not MLAS
AVERAGE_POOL_V19 = 19


class GraphImporter:
    """Builds one `func.func` from an ONNX graph, node by node (ONNX graphs are sorted)."""

    def __init__(self, graph, handlers: dict[str, Callable], node_names: bool = False) -> None:
        from onnx import numpy_helper

        self.graph = graph
        self.node_names = node_names  # record each op's ONNX node in `qnn.node` (quantizer rules)
        self.handlers = handlers
        self.initializers: dict[str, np.ndarray] = {}  # and the node outputs held as constants
        self.folded: dict[str, None] = {}  # ... which are these (Constant nodes, folding), in order
        self.node_constants = False  # give the float ones SSA values marked NODE_OUTPUT_ATTR
        self.untyped: frozenset[str] = frozenset()  # (with node_constants) UNTYPED_ATTR's
        for t in graph.initializer:
            try:
                self.initializers[t.name] = numpy_helper.to_array(t)
            except Exception as err:  # data that does not fit its dims or type
                raise OnnxImportError(
                    f"initializer '{t.name}' cannot be read: {type(err).__name__}: {err}"
                ) from None
        self.values: dict[str, SSAValue] = {}
        self.block = Block()
        self.node = None
        self.opset = 13  # the default domain's version (import_onnx sets the model's)
        # a quantized model runs in ORT's optimized session, a float one in its calibrator's
        # unoptimized one (`builders.nchwc_pool`)
        self.quantized_model = any(
            n.op_type in QUANTIZED_MODEL_NODES or n.op_type.startswith("QLinear")
            for n in graph.node
        )
        # the fusions ORT's session makes where its shapes are symbolic (`ort_session_view`);
        # None: decided from our static shapes
        self.session_fusions: SessionFusions | None = None

    # ---- the graph's edges (shape-arithmetic folding looks around a node)
    @functools.cached_property
    def _producers(self) -> dict[str, object]:
        return {out: node for node in self.graph.node for out in node.output}

    @functools.cached_property
    def _readers(self) -> dict[str, list]:
        readers: dict[str, list] = {}
        for node in self.graph.node:
            for name in dict.fromkeys(node.input):
                readers.setdefault(name, []).append(node)
        return readers

    def nchwc_average_pool(self, pool) -> bool:
        """Whether a row-major AveragePool of this model is an NCHWc one (qdialect/nchwc.py):
        before opset 19; from it, ORT's own loop computes AveragePool in NCHW."""
        return self.opset < AVERAGE_POOL_V19

    def _unproduced_output(self, name: str) -> str:
        """Why graph output `name` has no value: no node writes it, or the import fused the
        node that does into its neighbours (a `quantize_dynamic` MatMul's Cast/Mul chain)."""
        node = self.producer(name)
        if node is None:
            return f"graph output '{name}' is not produced by any node"
        return (
            f"graph output '{name}' is an intermediate of node '{node.name}' ({node.op_type}), "
            "which the import fused with its neighbours into one op: it cannot be an output"
        )

    def producer(self, name: str):
        """The node that writes tensor `name`, None for a graph input or initializer."""
        return self._producers.get(name)

    def readers(self, name: str) -> list:
        """The nodes that read tensor `name` (a graph output is no reader)."""
        return self._readers.get(name, [])

    # ---- building
    def add(self, op: Operation, name: str | None = None) -> SSAValue | None:
        """Verify and append `op`; name its first result after the ONNX tensor `name` (the
        exact name as a `qnn.name` attribute where the SSA name hint cannot hold it)."""
        try:
            op.verify()
        except VerifyException as err:
            raise NodeError(f"'{op.name}' does not verify: {err}") from None
        self.block.add_op(op)
        if self.node_names and self.node is not None and self.node.name and op.operands:
            op.attributes[NODE_ATTR] = StringAttr(self.node.name)
        if op.results and name:
            op.results[0].name_hint = ssa_name_hint(name)
            record_name(op.results[0], name)
        return op.results[0] if op.results else None

    def added_since(self, since: Operation | None) -> list[Operation]:
        """The ops added to the block after `since` (None: all of them)."""
        ops = []
        op = since.next_op if since is not None else self.block.first_op
        while op is not None:
            ops.append(op)
            op = op.next_op
        return ops

    def mark_decomposed(self, since: Operation | None, op_type: str) -> None:
        """The ops added after `since` (None: all) stand together for one `op_type` node: each
        says so (`qnn.op_type`), and the quantizer treats them as that node (its MOVES and
        WHOLE kinds, rewrites/onnx_nodes.py)."""
        for op in self.added_since(since):
            op.attributes[OP_TYPE_ATTR] = StringAttr(op_type)

    def define(self, name: str, value: SSAValue) -> None:
        self.values[name] = value

    # ---- constants
    def constant_array(self, name: str, role: str) -> np.ndarray:
        """An initializer's data; anything computed at run time is an error naming `role`."""
        if name not in self.initializers:
            raise NodeError(f"{role} '{name}' must be a constant initializer")
        return self.initializers[name]

    def optional_constant(self, index: int, role: str) -> np.ndarray | None:
        inputs = self.node.input
        if index >= len(inputs) or not inputs[index]:
            return None
        return self.constant_array(inputs[index], role)

    def float_constant(self, values: np.ndarray, name: str | None = None) -> SSAValue:
        data = np.asarray(values, dtype=np.float32)
        ttype = tensor_type(data.shape, f32)
        return self.add(arith.ConstantOp(packed_attr(data, ttype), ttype), name)

    def integer_constant(self, values: np.ndarray, elem: Attribute, name=None) -> SSAValue:
        data = np.asarray(values)
        ttype = tensor_type(data.shape, elem)
        return self.add(arith.ConstantOp(packed_attr(data, ttype), ttype), name)

    def quantized_constant(self, values: np.ndarray, qtype: UniformQuantizedType, name=None):
        stored = self.integer_constant(storage_view(values, qtype), qtype.storage_type)
        return self.add(StorageCastOp(stored, tensor_type(np.shape(values), qtype)), name)

    # ---- values
    def value(self, name: str) -> SSAValue:
        """The SSA value of tensor `name`; float initializers become constants on first use."""
        if name in self.values:
            return self.values[name]
        if name in self.initializers:
            data = self.initializers[name]
            if data.dtype not in FLOAT_DTYPES:
                what = "constant node output" if name in self.folded else "initializer"
                raise NodeError(
                    f"{data.dtype} {what} '{name}' is used where a float tensor is expected"
                )
            value = self.float_constant(data, name)
            self.values[name] = value
            return value
        raise NodeError(f"tensor '{name}' is not produced by any earlier node")

    def operand(self, name: str) -> SSAValue:
        """A run-time value, or a constant: a boolean one as i1 (a byte each), an integer one
        as its signless integer type, else as `value` gives it (float32)."""
        data = self.initializers.get(name)
        if name not in self.values and data is not None and data.dtype == np.bool_:
            return self.integer_constant(data.astype(np.int8), BOOL, name)
        if name not in self.values and data is not None and data.dtype.kind in "iu":
            return self.integer_constant(data, IntegerType(8 * data.dtype.itemsize), name)
        return self.value(name)

    def quant_type(
        self,
        scale_name: str,
        zp_name: str | None,
        axis: int,
        rank: int,
        role: str,
        storage_dtype: np.dtype | None = None,
        declared_by: str = "output_dtype",
    ):
        """The `!quant.uniform` type of (scale, zero point) initializers (1-D: per axis).

        `storage_dtype` is the data type the graph gives (QuantizeLinear's `output_dtype`, the
        stored data's type; `declared_by` names it): the storage without a zero point (uint8 if
        neither is given), and it must be the zero point's type when both are."""
        scale = self.constant_array(scale_name, f"{role} scale")
        if scale.dtype not in FLOAT_DTYPES:
            raise NodeError(f"{role} scale '{scale_name}' must be a float tensor")
        zp = (
            self.constant_array(zp_name, f"{role} zero point")
            if zp_name
            else np.zeros(scale.shape, storage_dtype or np.uint8)
        )
        if zp_name and storage_dtype is not None and zp.dtype != storage_dtype:
            raise NodeError(
                f"{role} zero point '{zp_name}' is {zp.dtype}, but {declared_by} is "
                f"{np.dtype(storage_dtype)}"
            )
        storage = storage_of(zp.dtype, f"{role} zero point '{zp_name or '(default)'}'")
        if scale.ndim > 1:
            raise NodeError(
                f"{role} scale '{scale_name}' must be a scalar (per tensor) or 1-D (per axis), "
                f"got shape {list(scale.shape)}"
            )
        one_each = scale.size == 1 and zp.size == 1 and zp.ndim <= 1  # [] and [1] alike
        if zp_name and zp.shape != scale.shape and not one_each:
            raise NodeError(
                f"{role} zero point '{zp_name}' must have the shape of scale '{scale_name}', "
                f"{_shape_words(scale.shape)}, got shape {list(zp.shape)}"
            )
        if scale.size == 0:
            raise NodeError(f"{role} scale '{scale_name}' is empty")
        check_scales(
            scale, f"{role} scale '{scale_name}'", self.node.op_type if self.node else None
        )
        scales = [float(np.float32(s)) for s in scale.ravel()]
        zps = [int(z) for z in zp.ravel()]  # the scale's shape, or one value for one scale
        try:
            if scale.size == 1:
                return UniformQuantizedType.per_tensor(storage, f32, scales[0], zps[0])
            axis = axis + rank if axis < 0 else axis
            if not 0 <= axis < rank:
                raise NodeError(f"{role} axis {axis} is out of range for rank {rank}")
            return UniformQuantizedType.per_axis(storage, f32, axis, scales, zps)
        except VerifyException as err:
            raise NodeError(f"{role} quantization parameters are invalid: {err}") from None

    def integer_operand_type(self, node, index: int, zp: int, rank: int):
        """Scale-1 type of a ConvInteger/MatMulInteger operand; a weight's zero point may be per
        output channel (ConvInteger: axis 0, MatMulInteger: axis 1)."""
        name = node.input[index]
        zp_name = optional_input(node, zp)
        if zp_name:
            zps = self.constant_array(zp_name, "zero point")
            dtype = zps.dtype
        else:
            zps = np.zeros((), np.uint8)
            dtype = self.input_dtype(name)
        storage = {np.dtype(np.uint8): "u8", np.dtype(np.int8): "i8"}.get(np.dtype(dtype))
        if storage is None:
            raise NodeError(f"operand '{name}' must be uint8 or int8, got {dtype}")
        if zps.size == 1 and zps.ndim <= 1:
            return UniformQuantizedType.per_tensor(storage, f32, 1.0, int(zps.ravel()[0]))
        if index == 0:
            raise NodeError("a per-row zero point of the data operand is not imported")
        shape = self.shape_of_input(name)
        axis = 0 if node.op_type == "ConvInteger" else len(shape) - 1
        channels = shape[axis] if axis < len(shape) else None
        if zps.ndim != 1 or zps.size != channels:
            raise NodeError(
                f"zero point '{zp_name}' must be a scalar or 1-D with one value per output "
                f"channel ({channels}), got shape {list(zps.shape)}"
            )
        zeros = [int(z) for z in zps.ravel()]
        return UniformQuantizedType.per_axis(storage, f32, axis, [1.0] * zps.size, zeros)

    def stored_dtype(self, name: str) -> np.dtype | None:
        """The numpy type tensor `name` is stored as (an initializer's, a graph input's, a
        quantized value's storage); None for a float value or a name not yet known."""
        if name in self.initializers:
            return self.initializers[name].dtype
        if name in self.values:
            elem = element_type(self.values[name].type)
            if isinstance(elem, UniformQuantizedType):
                return DTYPE_OF_STORAGE[elem.storage_spelling]
            return None
        for info in self.graph.input:
            if info.name == name:
                return onnx_dtype(info.type.tensor_type.elem_type)
        return None

    def shape_of_input(self, name: str) -> tuple[int, ...]:
        """The shape of an initializer or an earlier value `name`."""
        if name in self.initializers:
            return tuple(self.initializers[name].shape)
        if name not in self.values:  # a graph input, while the function's arguments are typed
            for info in self.graph.input:
                if info.name == name:
                    return tuple(d.dim_value for d in info.type.tensor_type.shape.dim)
        return shape_of(self.value(name))

    def quantized(self, name: str, qtype: UniformQuantizedType) -> SSAValue:
        """Tensor `name` read as `qtype`: a constant, the value itself, or a reinterpretation."""
        if name in self.initializers and name not in self.values:
            data = self.initializers[name]
            if STORAGE_OF_DTYPE.get(data.dtype) is None:
                raise NodeError(f"quantized initializer '{name}' has type {data.dtype}")
            return self.quantized_constant(data, qtype, name)
        value = self.value(name)
        elem = element_type(value.type)
        if elem == qtype:
            return value
        if not isinstance(elem, UniformQuantizedType):
            raise NodeError(f"tensor '{name}' is {elem}, not a quantized tensor")
        if elem.storage_type != qtype.storage_type or elem.signed != qtype.signed:
            raise NodeError(
                f"tensor '{name}' is stored as {elem.storage_spelling}, "
                f"not as {qtype.storage_spelling}"
            )
        to_int, to_q = reinterpret(value, tensor_type(shape_of(value), qtype))
        self.add(to_int)
        return self.add(to_q)

    # ---- the walk
    def run(self, function_name: str) -> ModuleOp:
        from onnx import TensorProto

        inputs = [i for i in self.graph.input if i.name not in self.initializers]
        arg_types = []
        for info in inputs:
            arg_types.append(self._input_type(info, TensorProto))
        self.block = Block(arg_types=arg_types)
        for arg, info in zip(self.block.args, inputs, strict=True):
            arg.name_hint = ssa_name_hint(info.name)
            self.values[info.name] = arg
        declared = _declared_shapes(self.graph)
        for node in self.graph.node:
            self.node = node
            try:
                if not fold(self, node):
                    self.handlers[node.op_type](self, node)
                self._check_declared_shapes(node, declared)
            except NodeError as err:
                raise OnnxImportError(f"{self._label(node)}: {err}") from None
        if self.node_constants:
            self._mark_untyped()
            for name in self.folded:
                if self.initializers[name].dtype == np.float32:
                    owner = self.value(name).owner
                    owner.attributes[NODE_OUTPUT_ATTR] = UnitAttr()  # type: ignore[union-attr]
        results = []
        for out in self.graph.output:
            if out.name not in self.values and (
                out.name in self.folded or out.name in self.initializers
            ):
                # a constant output (a Shape of fixed dimensions, an initializer)
                self.define(out.name, self.operand(out.name))
            if out.name not in self.values:
                raise OnnxImportError(self._unproduced_output(out.name))
            results.append(self.values[out.name])
        self.block.add_op(func.ReturnOp(*results))
        if self.quantized_model:  # run by ORT's optimized session (qdialect/ort_fusions.py)
            fuse_float_nodes(self.block, self.session_fusions)
            nchwc_batch_norms(self.block, self.nchwc_average_pool)
            fuse_nchwc_sums(self.block, self.nchwc_average_pool)
        function = func.FuncOp(
            function_name,
            ([a.type for a in self.block.args], [r.type for r in results]),
            Region(self.block),
            arg_attrs=_name_attrs(i.name for i in inputs),
            res_attrs=_name_attrs(o.name for o in self.graph.output),
        )
        return ModuleOp([function])

    def _mark_untyped(self) -> None:
        """Mark the ops whose named result is one of `untyped` (`UNTYPED_ATTR`)."""
        for name in self.untyped:
            value = self.values.get(name)
            if isinstance(value, OpResult) and tensor_name(value) == name:
                value.owner.attributes[UNTYPED_ATTR] = UnitAttr()

    def _check_declared_shapes(self, node, declared: dict[str, list[int]]) -> None:
        """The shapes computed for `node`'s outputs must be those the graph declares for them
        (`value_info`, graph outputs), e.g. after `auto_pad` or `pads` that do not fit."""
        for name in node.output:
            if name not in declared or not name:
                continue
            if name in self.values:
                shape = list(shape_of(self.values[name]))
            elif name in self.initializers:
                shape = list(np.shape(self.initializers[name]))
            else:
                continue
            if shape != declared[name]:
                given = attrs(node)
                window = [
                    f"{k}={decode(given[k])}"
                    for k in ("auto_pad", "pads", "strides", "dilations", "kernel_shape")
                    if k in given
                ]
                hint = f" ({', '.join(window)})" if window else ""
                raise NodeError(
                    f"output '{name}' has shape {shape} here, but the graph declares "
                    f"{declared[name]} for it: the node's attributes{hint} or input shapes "
                    "do not fit the graph's shapes"
                )

    def _label(self, node) -> str:
        """How errors name `node`: "node 'name' (OpType)", or its index if it has no name."""
        label = f"node '{node.name}'" if node.name else f"node #{list(self.graph.node).index(node)}"
        return f"{label} ({node.op_type})"

    def _input_type(self, info, tensor_proto) -> TensorType:
        if not info.type.HasField("tensor_type"):
            raise OnnxImportError(f"graph input '{info.name}' is not a tensor")
        ttype = info.type.tensor_type
        if not ttype.HasField("shape"):
            raise OnnxImportError(
                f"graph input '{info.name}' has no shape; give it a fixed shape "
                "(e.g. onnx.tools.update_model_dims) before importing"
            )
        dims = []
        for d in ttype.shape.dim:
            if not d.HasField("dim_value") or d.dim_value <= 0:
                label = d.dim_param or "?"
                by_name = (
                    f"free_dimensions={{'{label}': 1}} or qopt --free-dimension-override "
                    f"{label}:1, or "
                    if d.dim_param
                    else ""
                )
                raise OnnxImportError(
                    f"graph input '{info.name}' has a dynamic dimension '{label}': give it a "
                    f"size ({by_name}arrays whose shapes fix it: input_shapes=, qopt --inputs, "
                    "calibration data)"
                )
            dims.append(d.dim_value)
        if ttype.elem_type == tensor_proto.FLOAT:
            return tensor_type(dims, f32)
        if ttype.elem_type == tensor_proto.FLOAT16:
            return tensor_type(dims, f16)
        qtype = self.consumer_type(info.name, dims)
        if qtype is None and ttype.elem_type in INDEX_INPUTS:
            return tensor_type(dims, INDEX_INPUTS[ttype.elem_type])
        if qtype is None:
            kind = tensor_proto.DataType.Name(ttype.elem_type)
            raise OnnxImportError(
                f"graph input '{info.name}' is {kind}: neither FLOAT, FLOAT16, INT32, INT64 or "
                "BOOL, nor read by a node that gives its quantization (DequantizeLinear or a "
                "QLinear op)"
            )
        return tensor_type(dims, qtype)

    def consumer_type(self, name: str, dims: list[int]) -> UniformQuantizedType | None:
        """The type the first node reading `name` with quantization parameters gives it."""
        from qdialect.onnx_import.blockwise_types import blocked, blocked_type

        rank = len(dims)
        for node in self.graph.node:
            for index, scale, zp in quant_param_positions(node):
                if index < len(node.input) and node.input[index] == name:
                    self.node = node
                    zp_name = node.input[zp] if zp is not None and zp < len(node.input) else None
                    axis = axis_attr(node)
                    try:
                        if blocked(node):
                            return blocked_type(self, node, tuple(dims), None)
                        if scale is None:  # ConvInteger / MatMulInteger: raw integers
                            return self.integer_operand_type(node, index, zp, rank)
                        return self.quant_type(
                            node.input[scale],
                            zp_name,
                            axis,
                            rank,
                            "input",
                            self.stored_dtype(name),
                            f"input '{name}'",
                        )
                    except NodeError as err:
                        raise OnnxImportError(f"{self._label(node)}: {err}") from None
        return None

    def input_dtype(self, name: str) -> np.dtype:
        """The numpy dtype of an initializer or graph input `name` (uint8 if unknown)."""
        if name in self.initializers:
            return self.initializers[name].dtype
        from onnx import helper

        for info in self.graph.input:
            if info.name == name:
                return np.dtype(helper.tensor_dtype_to_np_dtype(info.type.tensor_type.elem_type))
        return np.dtype(np.uint8)


# Integer graph inputs a float model reads as they are (token ids, attention masks): ONNX's
# INT32, INT64 and BOOL, as MLIR's signless i32, i64 and i1.
INDEX_INPUTS = {6: IntegerType(32), 7: i64, 9: i1}  # TensorProto.INT32, INT64, BOOL (onnx.proto)


def _declared_shapes(graph) -> dict[str, list[int]]:
    """Tensor name -> the fixed shape `value_info` or the graph outputs give it (names with
    an unknown or symbolic dimension are left out)."""
    shapes = {}
    for info in [*graph.value_info, *graph.output]:
        ttype = info.type.tensor_type
        if not info.type.HasField("tensor_type") or not ttype.HasField("shape"):
            continue
        dims = [d.dim_value if d.HasField("dim_value") else None for d in ttype.shape.dim]
        if all(d is not None and d > 0 for d in dims):
            shapes[info.name] = dims
    return shapes


def _shape_words(shape) -> str:
    return "[] (a scalar)" if not shape else str(list(shape))


def _name_attrs(names) -> ArrayAttr[DictionaryAttr]:
    return ArrayAttr([DictionaryAttr({NAME_ATTR: StringAttr(n)}) for n in names])
