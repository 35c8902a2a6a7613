"""LSTM and GRU, unrolled over the sequence into standard nodes that compute ONNX Runtime's bits.

Each time step of each direction becomes the MatMuls, adds and activations of ORT's DeepCPU
kernels, in their order: X·Wᵀ, then H·Rᵀ accumulated into it in MLAS's K blocks
(`_gemm_into`); for the LSTM the peephole terms, then the biases Wb + Rb, its cell
`C·f + i·g`, its gates through MLAS's logistic and tanh (`Sigmoid`, `Tanh`); for the GRU the
biases, its update gate through MLAS's logistic, but its reset gate and its output through
the scalar rational function ORT's `gru_reset_gate_sigmoid` and `gru_output_gate_tanh` spell
out (clamped to ±20 and ±10, one rounding per operation: `activations.deepcpu_tanh`), with
`linear_before_reset` either way. With a bias B every gate is clipped as deepcpu's
`clip_add_bias` (`qnn.activation deepcpu_clip`). An LSTM without peepholes takes its bias,
clip and logistic over all the gates at once (the same operations on each element).
`direction` forward, reverse or bidirectional; `layout` 1 (batch-major, which ORT refuses) by
transposes.

RNN as ORT's `rnn.cc`: X·Wᵀ for the whole sequence as one GEMM from the biases Wb + Rb (beta
= 1), then each step's H·Rᵀ plus its rows; both GEMMs MLAS's unpacked ones with B transposed
(`streamed_rhs`, `transposed_rhs`). Its activations are `rnn_activation_functors.h`'s scalar
ones: Tanh is `2·σ(2x) − 1` with σ(x) = `1 / (1 + expf(-x))` for x ≥ 0 and
`expf(x) / (1 + expf(x))` below, through the C library's `expf` (`qnn.activation expf`), all
in float32; Sigmoid is that σ; Relu is `std::max(0.0f, x)` (NaN gives 0).

ONNX Runtime's `DynamicQuantizeLSTM` (what `quantize_dynamic` makes of an LSTM) as its
kernel runs at one intra-op thread (`rnn_helpers.cc`'s quantized `ComputeGemm`): X·W for the
whole sequence as one `DynamicQuantizeMatMul` (X's rows of every step quantized together to
uint8, then `float(acc) · (sa · sw[c])`), then each step's H quantized on its own and
`float(acc) · (sh · sr[c])` added to that step's rows (MLAS's accumulate mode: a product, then
a sum); the gates as the float LSTM's. W and R come transposed, [directions, K, 4·hidden], int8
or uint8, their scales and zero points one per direction or one per direction and column; the
kernel reads one zero point per direction (the first), which must be 0 for int8 and the same
everywhere for uint8 (its `ZeroPointCheck`). On several threads ORT cuts a batch of more than 4
rows (of 2 or more when hidden ≤ 256) into one block of rows per thread and quantizes each H
block on its own: compare such batches with a one-thread session.

Every gate's pre-activation is clipped as deepcpu clips it (`_clipped`): with a bias B,
`std::max(-clip, std::min(clip, v))`, which turns a NaN (from a NaN or infinite input) into
+clip (FLT_MAX without the `clip` attribute), so ORT's outputs stay finite; without B, NaN stays.

Refused by name: activations other than these (LSTM and GRU: other than their defaults),
RNN's `clip`, `input_forget`, `sequence_lens` shorter than the sequence (ragged batches).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from xdsl.dialects.builtin import UnitAttr

from qdialect import qnn
from qdialect.float_sum import MLAS_SGEMM_PACKED_STRIDEK
from qdialect.onnx_import.builders import float_value
from qdialect.onnx_import.common import attrs, decode
from qdialect.onnx_import.compositions import Steps
from qdialect.onnx_import.errors import NodeError
from qdialect.onnx_import.graph import GraphImporter
from qdialect.onnx_import.registry import handles
from qdialect.qnn.table import UnaryFunction

GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
QUANTIZED_LSTM = "DynamicQuantizeLSTM"
ACTIVATIONS = {"LSTM": ("sigmoid", "tanh", "tanh"), "GRU": ("sigmoid", "tanh")}
RNN_ACTIVATIONS = ("Tanh", "Sigmoid", "Relu")  # ORT's names (it looks them up case by case)
# deepcpu's clamp bounds of its rational tanh (`activations.deepcpu_tanh`): sigmoid, tanh
SIGMOID_BOUND, TANH_BOUND = 20.0, 10.0
FLT_MAX = float(np.finfo(np.float32).max)  # ONNX's default clip
# the node's inputs past X, W, R, B, sequence_lens
INITIAL_H, INITIAL_C, PEEPHOLES = 5, 6, 7
# DynamicQuantizeLSTM's scale and zero point of W (input 1) and of R (input 2)
QUANTIZATION_INPUTS = {1: (8, 9), 2: (10, 11)}


@dataclass(frozen=True)
class QuantizedWeight:
    """One direction of DynamicQuantizeLSTM's W or R, as constants: the [K, 4·hidden] matrix,
    its scale (one, or one per column) and the zero point the kernel reads (as many)."""

    matrix: str
    scale: str
    zero_point: str


class Recurrence:
    """The steps of one recurrent node: its attributes read once, then a direction at a time."""

    def __init__(self, g: GraphImporter, node) -> None:
        self.s, self.node = Steps(g, node), node
        self.quantized = node.op_type == QUANTIZED_LSTM
        self.kind = "LSTM" if self.quantized else node.op_type
        a = attrs(node)
        for key in ("activation_alpha", "activation_beta", *(["clip"] * (self.kind == "RNN"))):
            if key in a:
                raise NodeError(f"attribute '{key}' is not imported")
        self.clip = float(a.get("clip", FLT_MAX))
        if a.get("input_forget", 0):
            raise NodeError("input_forget = 1 (coupled input and forget gates) is not imported")
        self.direction = decode(a.get("direction", b"forward"))
        if self.direction not in ("forward", "reverse", "bidirectional"):
            raise NodeError(
                f"direction must be forward, reverse or bidirectional, got {self.direction!r}"
            )
        self.dirs = 2 if self.direction == "bidirectional" else 1
        self.layout = a.get("layout", 0)
        if self.layout not in (0, 1):
            raise NodeError(f"layout must be 0 or 1, got {self.layout}")
        self.linear_before_reset = bool(a.get("linear_before_reset", 0))
        names = [decode(f) for f in a.get("activations", [])]
        if self.kind == "RNN":
            self.activations = self._rnn_activations(names)
        else:
            default, lowered = ACTIVATIONS[self.kind], [n.lower() for n in names]
            if names and lowered not in (list(default), list(default) * self.dirs):
                raise NodeError(
                    f"activations other than {', '.join(default)} (the defaults) are not imported"
                )
        float_value(g, node.input[0])  # (raises for any other type)
        x_shape = g.shape_of_input(node.input[0])
        if len(x_shape) != 3:
            raise NodeError(f"X must have rank 3, got shape {list(x_shape)}")
        self.steps, self.batch = (x_shape[1], x_shape[0]) if self.layout else x_shape[:2]
        self.inputs = x_shape[2]
        self.since = g.block.last_op
        r_shape = g.shape_of_input(node.input[2])
        hidden_axis = 1 if self.quantized else -1
        self.hidden = a.get("hidden_size", r_shape[hidden_axis] if len(r_shape) == 3 else 0)
        gates = GATES[self.kind] * self.hidden
        if self.quantized:  # transposed: [directions, K, 4·hidden]
            for index, k in ((1, self.inputs), (2, self.hidden)):
                shape = g.shape_of_input(node.input[index])
                if list(shape) != [self.dirs, k, gates]:
                    role = "WR"[index - 1]
                    raise NodeError(
                        f"{role} must have shape {[self.dirs, k, gates]}, got {list(shape)}"
                    )
        elif list(r_shape) != [self.dirs, gates, self.hidden]:
            raise NodeError(
                f"R must have shape {[self.dirs, gates, self.hidden]}, got {list(r_shape)}"
            )
        inputs = node.input
        if len(inputs) > 4 and inputs[4]:
            lengths = np.asarray(g.constant_array(inputs[4], "sequence_lens")).reshape(-1)
            if lengths.size != self.batch or (lengths != self.steps).any():
                raise NodeError(
                    f"sequence_lens other than the whole sequence ({self.steps} steps for each "
                    f"of {self.batch} batch rows) are not imported"
                )

    def _rnn_activations(self, names: list[str]) -> list[str]:
        """Each direction's activation; two for one direction is ORT's default pair, of which
        it takes the first."""
        if not names:
            names = ["Tanh"] * self.dirs
        if len(names) == 2 and self.dirs == 1:
            names = names[:1]
        if len(names) != self.dirs:
            raise NodeError(f"activations must name {self.dirs}, got {len(names)}")
        for name in names:
            if name not in RNN_ACTIVATIONS:
                raise NodeError(
                    f"activation {name!r} is not imported ({', '.join(RNN_ACTIVATIONS)} are)"
                )
        return names

    def _input(self, index: int) -> str | None:
        inputs = self.node.input
        return inputs[index] if index < len(inputs) and inputs[index] else None

    def _constant(self, value: float) -> str:
        return self.s.constant(np.float32(value))

    def _clipped(self, v: str, biased: bool) -> str:
        """A gate's pre-activation as deepcpu clips it: with a bias, `clip_add_bias`'s
        `std::max(-c, std::min(c, v))` (`v < c ? v : c`, so NaN becomes +c; ONNX's clip c is
        FLT_MAX by default); without, `clip_ignore_bias`'s comparisons, which keep NaN and
        change only ±inf at the default (which no activation here tells from ±FLT_MAX)."""
        if biased:
            return self.s.unary(UnaryFunction.DEEPCPU_CLIP, v, alpha=self.clip)
        s, c, low = self.s, self._constant(self.clip), self._constant(-self.clip)
        if self.clip == FLT_MAX:
            return v
        return s.select(s.add("Greater", [v, c]), c, s.select(s.add("Less", [v, low]), low, v))

    def _of_direction(self, name: str, d: int, batch_major: bool = False) -> str:
        """`name`'s slice for direction d (its axis 0, or 1 when batch-major)."""
        index = self.s.constant(np.int64(d))
        return self.s.add("Gather", [name, index], axis=1 if batch_major else 0)

    def _slice(self, value: str, start: int, size: int, axis: int) -> str:
        s = self.s
        bounds = [s.constant(np.array([v], np.int64)) for v in (start, start + size, axis)]
        return s.add("Slice", [value, *bounds])

    def _rows(self, matrix: str, first: int, count: int) -> str:
        """Gates first .. first + count - 1 of a weight matrix (rows), transposed."""
        rows = self._slice(matrix, first * self.hidden, count * self.hidden, axis=0)
        return self.s.add("Transpose", [rows], perm=[1, 0])

    def _bias(self, vector: str, first: int, count: int) -> str:
        """Gates first .. first + count - 1 of a bias (or peephole) vector."""
        return self._slice(vector, first * self.hidden, count * self.hidden, axis=0)

    def _gate(self, value: str, k: int) -> str:
        return self._slice(value, k * self.hidden, self.hidden, axis=-1)

    def _unsqueezed(self, value: str, axes: list[int]) -> str:
        return self.s.add("Unsqueeze", [value, self.s.constant(np.array(axes, np.int64))])

    def _joined(self, values: list[str], axis: int) -> str:
        return self.s.add("Concat", values, axis=axis) if len(values) > 1 else values[0]

    def _gemm_into(self, c: str, a: str, b_t: str) -> str:
        """c + a·b_t as ORT's accumulating GEMM (beta = 1) sums it: its packed weights' K blocks
        of 256, each block's sum added to c in turn."""
        s, k = self.s, self.hidden
        if k <= MLAS_SGEMM_PACKED_STRIDEK:
            return s.add("Add", [c, s.add("MatMul", [a, b_t])])
        for k0 in range(0, k, MLAS_SGEMM_PACKED_STRIDEK):
            size = min(MLAS_SGEMM_PACKED_STRIDEK, k - k0)
            block = [self._slice(a, k0, size, axis=1), self._slice(b_t, k0, size, axis=0)]
            c = s.add("Add", [c, s.add("MatMul", block)])
        return c

    def _deepcpu_tanh(self, x: str, bound: float) -> str:
        """deepcpu's p(x) / q(x) of x clamped to ±bound, each step rounded (no FMA); of x / 2
        for the sigmoid's tanh(x / 2)."""
        factor = 0.5 if bound == SIGMOID_BOUND else 1.0
        return self.s.unary(UnaryFunction.DEEPCPU_TANH, x, alpha=bound, beta=factor)

    def run(self) -> None:
        s, node = self.s, self.node
        x = node.input[0]
        if self.layout:
            x = s.add("Transpose", [x], perm=[1, 0, 2])
        self.x = x
        ys, lasts, cells = [], [], []
        for d in range(self.dirs):
            order = range(self.steps)
            if self.direction == "reverse" or d == 1:
                order = reversed(order)
            hs, last, cell = self._direction(d, list(order))
            times = [self._unsqueezed(hs[t], [0, 1]) for t in range(self.steps)]
            ys.append(s.add("Concat", times, axis=0))  # (steps, 1, batch, hidden)
            lasts.append(self._unsqueezed(last, [0]))
            if cell is not None:
                cells.append(self._unsqueezed(cell, [0]))
        outputs = list(node.output) + [""] * 3
        self._output(self._joined(ys, 1), outputs[0], [2, 0, 1, 3])
        self._output(self._joined(lasts, 0), outputs[1], [1, 0, 2])
        if cells:
            self._output(self._joined(cells, 0), outputs[2], [1, 0, 2])
        s.run()

    def _output(self, value: str, name: str, batch_major: list[int]) -> None:
        if not name:
            return
        if self.layout:
            self.s.add("Transpose", [value], name, perm=batch_major)
        else:
            self.s.add("Identity", [value], name)

    def _initial(self, index: int, d: int) -> str:
        name = self._input(index)
        if name is None:
            return self.s.constant(np.zeros((self.batch, self.hidden), np.float32))
        return self._of_direction(name, d, batch_major=bool(self.layout))

    def _direction(self, d: int, order: list[int]):
        """{t: H_t}, and the last H (and C) of direction d, its steps taken in `order`."""
        node, s = self.node, self.s
        b = self._input(3)
        bias = None if b is None else self._of_direction(b, d)
        if self.quantized:
            w = self._quantized_weight(1, d)
            products = self._sequence_products(lambda rows: self._dynamic_matmul(rows, w))
            r = self._quantized_weight(2, d)
            return self._lstm(
                products,
                lambda c, h: s.add("Add", [c, self._dynamic_matmul(h, r)]),
                bias, self._initial(INITIAL_H, d), self._initial(INITIAL_C, d), d, order,
            )  # fmt: skip
        w, r = self._of_direction(node.input[1], d), self._of_direction(node.input[2], d)
        if self.kind == "RNN":
            return self._rnn(w, r, bias, d, order)
        h = self._initial(INITIAL_H, d)
        w_t = self._rows(w, 0, GATES[self.kind])
        products = self._sequence_products(lambda rows: s.add("MatMul", [rows, w_t]))
        if self.kind == "GRU":
            return self._gru(products, r, bias, h, order)
        r_t = self._rows(r, 0, 4)
        return self._lstm(
            products,
            lambda c, h: self._gemm_into(c, h, r_t),
            bias, h, self._initial(INITIAL_C, d), d, order,
        )  # fmt: skip

    def _quantized_weight(self, index: int, d: int) -> QuantizedWeight:
        """Direction d of DynamicQuantizeLSTM's W (index 1) or R (2) as its kernel reads it."""
        g, node, role = self.s.g, self.node, "WR"[index - 1]
        data = g.constant_array(node.input[index], role)
        if data.dtype not in (np.int8, np.uint8):
            raise NodeError(f"{role} must be int8 or uint8, got {data.dtype}")
        gates = GATES[self.kind] * self.hidden
        scale, zero_point = (
            self._quantization_input(i, f"{role}_{what}", gates)
            for i, what in zip(QUANTIZATION_INPUTS[index], ("scale", "zero_point"), strict=True)
        )
        if scale.dtype != np.float32:
            raise NodeError(f"{role}_scale must be float32, got {scale.dtype}")
        if zero_point.dtype.itemsize != 1:
            raise NodeError(f"{role}_zero_point must be 8-bit, got {zero_point.dtype}")
        raw = zero_point.view(np.uint8)
        if raw.ndim == 2 and data.dtype == np.int8 and raw.any():  # ORT's ZeroPointCheck
            raise NodeError(f"{role}_zero_point must be zero for int8 {role}")
        if raw.ndim == 2 and data.dtype == np.uint8 and (raw != raw.flat[0]).any():
            raise NodeError(f"{role}_zero_point must be one value for uint8 {role}")
        first = raw[d] if raw.ndim == 1 else raw[d, 0]  # the one the kernel reads
        s = self.s
        return QuantizedWeight(
            s.constant(data[d]),
            s.constant(scale[d]),
            s.constant(np.full(scale[d].shape, first, np.uint8).view(data.dtype)),
        )

    def _quantization_input(self, index: int, role: str, gates: int) -> np.ndarray:
        """A scale or zero point: one per direction or one per direction and column."""
        name = self._input(index)
        if name is None:
            raise NodeError(f"input {role} is missing")
        data = np.asarray(self.s.g.constant_array(name, role))
        if data.shape not in ((self.dirs,), (self.dirs, gates)):
            raise NodeError(
                f"{role} must have shape [{self.dirs}] (per direction) or [{self.dirs}, {gates}] "
                f"(per column), got {list(data.shape)}"
            )
        return data

    def _dynamic_matmul(self, x: str, w: QuantizedWeight) -> str:
        return self.s.add("DynamicQuantizeMatMul", [x, w.matrix, w.scale, w.zero_point])

    def _step(self, products: str, t: int) -> str:
        """Step t's X·W from `_sequence_products`."""
        return self.s.add("Gather", [products, self.s.constant(np.int64(t))], axis=0)

    def _sequence_products(self, product: Callable[[str], str]) -> str:
        """X·W of every step, [steps, batch, gates·hidden]: one GEMM of all the rows (ORT's first
        `ComputeGemm`), `product` of [steps·batch, inputs]. A float W is prepacked, so its K
        blocks, not the rows, decide each sum: the bits of a product per step, read once; a
        quantized LSTM's rows are quantized together."""
        s = self.s
        rows = s.add("Reshape", [self.x, s.constant(np.array([-1, self.inputs], np.int64))])
        shape = np.array([self.steps, self.batch, GATES[self.kind] * self.hidden], np.int64)
        return s.add("Reshape", [product(rows), s.constant(shape)])

    def _lstm(self, products, recurrent, bias, h, cell, d, order):
        """`products` holds every step's X·W, `recurrent(c, H)` gives c + H·R."""
        s = self.s
        if self._input(PEEPHOLES) is None:
            return self._lstm_without_peepholes(products, recurrent, bias, h, cell, order)
        if bias is not None:  # Wb + Rb of each gate i, o, f, c
            bias = [
                s.add("Add", [self._bias(bias, k, 1), self._bias(bias, 4 + k, 1)]) for k in range(4)
            ]
        peep = self._input(PEEPHOLES)
        if peep is not None:
            p = self._of_direction(peep, d)
            p_i, p_o, p_f = (self._bias(p, k, 1) for k in range(3))
        hs = {}
        for t in order:
            gates = recurrent(self._step(products, t), h)
            i, o, forget, c = (self._gate(gates, k) for k in range(4))
            if peep is not None:  # the peephole first, then the bias (GateComputations)
                i = s.add("Add", [i, s.add("Mul", [cell, p_i])])
                forget = s.add("Add", [forget, s.add("Mul", [cell, p_f])])
            if bias is not None:
                b_i, b_o, b_f, b_c = bias
                i, forget, c = (
                    s.add("Add", [v, b]) for v, b in ((i, b_i), (forget, b_f), (c, b_c))
                )
            i, forget, c = (self._clipped(v, bias is not None) for v in (i, forget, c))
            i, forget, c = s.add("Sigmoid", [i]), s.add("Sigmoid", [forget]), s.add("Tanh", [c])
            cell = s.add("Add", [s.add("Mul", [cell, forget]), s.add("Mul", [i, c])])
            if peep is not None:  # with the new cell
                o = s.add("Add", [o, s.add("Mul", [cell, p_o])])
            if bias is not None:
                o = s.add("Add", [o, b_o])
            o = self._clipped(o, bias is not None)  # (the cell is never clipped)
            h = s.add("Mul", [s.add("Tanh", [cell]), s.add("Sigmoid", [o])])
            hs[t] = h
        return hs, h, cell

    def _lstm_without_peepholes(self, products, recurrent, bias, h, cell, order):
        """`_lstm` with no gate reading the cell: each step's bias, clip and logistic over the
        gates at once (the same operations on each element; i, o, f lie side by side)."""
        s = self.s
        if bias is not None:  # Wb + Rb
            bias = s.add("Add", [self._bias(bias, 0, 4), self._bias(bias, 4, 4)])
        hs = {}
        for t in order:
            gates = recurrent(self._step(products, t), h)
            if bias is not None:
                gates = s.add("Add", [gates, bias])
            gates = self._clipped(gates, bias is not None)
            logistic = s.add("Sigmoid", [self._slice(gates, 0, 3 * self.hidden, axis=-1)])
            i, o, forget = (self._gate(logistic, k) for k in range(3))
            c = s.add("Tanh", [self._gate(gates, 3)])
            cell = s.add("Add", [s.add("Mul", [cell, forget]), s.add("Mul", [i, c])])
            h = hs[t] = s.add("Mul", [s.add("Tanh", [cell]), o])
        return hs, h, cell

    def _gru(self, products, r, bias, h, order):
        """`products` holds every step's X·W of the gates z, r and h."""
        s = self.s
        r_zr, r_h = self._rows(r, 0, 2), self._rows(r, 2, 1)
        if bias is not None:  # Wb z r h, then Rb z r h
            b_zr = s.add("Add", [self._bias(bias, 0, 2), self._bias(bias, 3, 2)])
            w_bh, r_bh = self._bias(bias, 2, 1), self._bias(bias, 5, 1)
            b_h = w_bh if self.linear_before_reset else s.add("Add", [w_bh, r_bh])
        half, one = self._constant(0.5), self._constant(1)
        hs = {}
        for t in order:
            x_w = self._step(products, t)
            gates = self._gemm_into(self._slice(x_w, 0, 2 * self.hidden, axis=-1), h, r_zr)
            if bias is not None:
                gates = s.add("Add", [gates, b_zr])
            gates = self._clipped(gates, bias is not None)
            z = s.add("Sigmoid", [self._gate(gates, 0)])
            # gru_reset_gate_sigmoid: v * 0.5 * (1 + tanh(pre_r / 2)), v what the reset scales
            reset = s.add("Add", [one, self._deepcpu_tanh(self._gate(gates, 1), SIGMOID_BOUND)])
            xh = self._gate(x_w, 2)
            if self.linear_before_reset:
                if bias is None:  # beta = 0
                    linear = s.add("MatMul", [h, r_h])
                else:  # Rbh, then the blocks
                    linear = self._gemm_into(r_bh, h, r_h)
                pre = s.add("Add", [xh, s.add("Mul", [s.add("Mul", [linear, half]), reset])])
            else:
                scaled = s.add("Mul", [s.add("Mul", [h, half]), reset])
                pre = self._gemm_into(xh, scaled, r_h)
            if bias is not None:
                pre = s.add("Add", [pre, b_h])
            pre = self._clipped(pre, bias is not None)
            # gru_output_gate_tanh: (1 - z) * tanh(pre) + z * H
            candidate = self._deepcpu_tanh(pre, TANH_BOUND)
            kept = s.add("Mul", [s.add("Sub", [one, z]), candidate])
            h = s.add("Add", [kept, s.add("Mul", [z, h])])
            hs[t] = h
        return hs, h, None

    def _rnn(self, w, r, bias, d, order):
        s = self.s
        rows = s.add("Reshape", [self.x, s.constant(np.array([-1, self.inputs], np.int64))])
        if bias is None:  # (ORT adds to zeros: the same but for -0.0, which no activation sees)
            products = s.add("Gemm", [rows, w], transB=1)
        else:
            biases = s.add("Add", [self._bias(bias, 0, 1), self._bias(bias, 1, 1)])
            products = s.add("Gemm", [rows, w, biases], transB=1)
        shape = s.constant(np.array([self.steps, self.batch, self.hidden], np.int64))
        products = s.add("Reshape", [products, shape])
        h = None if self._input(INITIAL_H) is None else self._initial(INITIAL_H, d)
        hs = {}
        for t in order:
            pre = self._step(products, t)
            if h is not None:  # (ORT's first step without initial_h: zeros plus the rows)
                pre = s.add("Add", [s.add("Gemm", [h, r], transB=1), pre])
            h = hs[t] = self._rnn_activation(self.activations[d], pre)
        s.run()
        for op in s.g.added_since(self.since):  # math::Gemm: MlasGemm, B transposed, unpacked
            if isinstance(op, qnn.DotOp):
                op.properties["streamed_rhs"] = op.properties["transposed_rhs"] = UnitAttr()
        return hs, h, None

    def _rnn_activation(self, name: str, x: str) -> str:
        s = self.s
        if name == "Relu":  # std::max(0.0f, x): 0 < x ? x : 0
            zero = self._constant(0)
            return s.select(s.add("Less", [zero, x]), x, zero)
        if name == "Sigmoid":
            return self._rnn_sigmoid(x)
        two, one = self._constant(2), self._constant(1)
        sigma = self._rnn_sigmoid(s.add("Mul", [two, x]))  # σ(2x)
        return s.add("Sub", [s.add("Mul", [two, sigma]), one])

    def _rnn_sigmoid(self, x: str) -> str:
        """`x >= 0 ? 1 / (1 + expf(-x)) : expf(x) / (1 + expf(x))`, in float32."""
        s, one = self.s, self._constant(1)
        decaying = s.unary(UnaryFunction.EXPF, s.add("Neg", [x]))
        growing = s.unary(UnaryFunction.EXPF, x)
        upper = s.add("Div", [one, s.add("Add", [one, decaying])])
        lower = s.add("Div", [growing, s.add("Add", [one, growing])])
        return s.select(s.add("GreaterOrEqual", [x, self._constant(0)]), upper, lower)


@handles("LSTM", "GRU", "RNN", QUANTIZED_LSTM)
def recurrent(g: GraphImporter, node) -> None:
    Recurrence(g, node).run()
