"""The static quantizer's fake-quantization form: a QAT graph of what it would quantize.

The same tensors, parameters and names as `rewrites.quantize_static` (it is that quantizer
with its three IR builders replaced), but every quantize/dequantize pair becomes one typed
`qnn.fake_quant` and the graph stays float, so a training framework can fine-tune the model we
will run:

- activations: `qnn.fake_quant %x as T` where the QDQ form has `Q(x) → DQ`;
- weights (and constant activations): the float constant stays, followed by its fake_quant;
  `quantize` of it is the quantizer's stored integers (ONNX Runtime's `quantize_nparray`,
  `x / s` in float32, half to even, clipped, is DESIGN §2's quantize), checked here;
- biases: a float constant holding the int32 bias's real values (`float32(q) * sx·sw`, what
  the integer model adds) and a fake_quant to `i32` with scale sx·sw. The quantizer rounds the
  bias in float64 (`quantize_bias_static_impl`), which our float32 quantize would not always
  repeat on the original bias, so the original is not what stands there; a bias whose stored
  integers do not come back (|q| ≳ 2^22, where float32 cannot hold q·s closely enough) keeps
  the QDQ form's int32 constant → dequantize.

`fake-to-qdq` turns the result into exactly the module `quantize_function` writes (the same
printed text); run as written, each fake_quant gives exactly `dequantize(quantize(x))`.
"""

from __future__ import annotations

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import TensorType, f32
from xdsl.ir import Operation, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter

from qdialect import qnn
from qdialect.constants import dense_array
from qdialect.float32_arrays import dequantized_values
from qdialect.names import record_name
from qdialect.ort_qparams import QParams, quantize_array
from qdialect.quant_config import QuantizeConfig
from qdialect.types import UniformQuantizedType
from rewrites.common import dense_constant
from rewrites.fake_quant import quantized_values
from rewrites.nni_params import FixedParams
from rewrites.qdq_ir import uniform_type
from rewrites.quantize_static import (
    BiasMark,
    QuantizeError,
    QuantizeSummary,
    Ranges,
    StaticQuantizer,
)


class FakeQuantizer(StaticQuantizer):
    """`StaticQuantizer` writing typed `qnn.fake_quant` ops instead of QDQ pairs."""

    def pair_ops(
        self, value: SSAValue, qtype: UniformQuantizedType, hint: str | None = None
    ) -> list[Operation]:
        fake = qnn.FakeQuantOp(value, qtype)
        if hint or value.name_hint:
            fake.result.name_hint = f"{hint or value.name_hint}_fake"
        return [fake]

    def dequantize_again(self, first: list[Operation]) -> list[Operation]:
        """None: a converted tensor's second fake_quant reads the first one's result (the
        same values the QDQ form's second DQ of Q1 gives its Q2)."""
        return []

    def quantize_constant(self, value: SSAValue, params: QParams) -> None:
        qtype = uniform_type(params)
        data = dense_array(value)
        if not np.array_equal(quantized_values(data, qtype), quantize_array(data, params)):
            raise QuantizeError(
                f"constant '{self.name(value)}' (NaN or infinite values?) quantizes differently "
                "from ONNX Runtime's initializer quantization; it has no exact fake form"
            )
        self.insert_pair(value, params)

    def bias_value(self, bias: BiasMark, values: np.ndarray, params: QParams) -> SSAValue:
        qtype = uniform_type(params, "i32")
        reals = dequantized_values(values, qtype)
        if not np.array_equal(quantized_values(reals, qtype), values):
            return super().bias_value(bias, values, params)
        constant = dense_constant(reals, TensorType(f32, values.shape))
        name = self.name(bias.bias)
        constant.result.name_hint = bias.bias.name_hint
        if name:
            record_name(constant.result, name)
        fake = qnn.FakeQuantOp(constant.result, qtype)
        Rewriter.insert_op([constant, fake], InsertPoint.before(bias.op))
        return fake.result


def quantize_fake_function(
    function: func.FuncOp,
    ranges: Ranges,
    config: QuantizeConfig,
    fixed: FixedParams | None = None,
) -> QuantizeSummary:
    """`quantize_function`'s quantization of `function`, in place, in fake-quantization form.
    NNI's fixed weight parameters (`fixed.weights`) are stored integers the fake form has no
    float constant for: refused."""
    if fixed is not None and (fixed.weights or fixed.weight_bits):
        raise ValueError(
            "the fake-quantization form does not take NNI's fixed weight parameters "
            "(weight_scale/weight_zero_point); quantize without --fake"
        )
    return FakeQuantizer(function, ranges, config, fixed).run()
