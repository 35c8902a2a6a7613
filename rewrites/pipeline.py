"""`qnn-default`: any valid input (scaled builders, upstream casts, QDQ patterns) to the form
codegen consumes.

Order, and why:
0. the scale limits (`rewrites.scale_limits`: products and ratios of scales out of range, a
   scale with no float32 value) of the ops it is given, before any rewrite moves or fuses
   them: refused located at the op as written, the way the code generator and the reference
   interpreter refuse it (the folds check the ops they build).
1. `quant-to-qnn`: upstream qcast/dcast become qnn ops, so the later patterns see one spelling;
   quantize/dequantize ops nobody reads stay until step 7, as ONNX Runtime keeps such nodes
   and counts them as consumers (`rewrites.unread_pairs`);
   `drop-float-casts`: a float32 → float32 Cast kept for the quantizer computes nothing;
   `merge-equal-quantizes`: two quantizes of one value into one type are one (ORT's
   CommonSubexpressionElimination: DedicatedQDQPair's twins; again after step 2, whose
   builders can write twins, as ORT repeats its basic level until nothing changes);
   `remove-double-qdq`: two 8-bit pairs in a row become one, as ONNX Runtime's basic
   optimizer makes them before it fuses QDQ groups; `qdq-propagation`: ORT's basic optimizer
   moves Q/DQ pairs across data movement ops (a float Conv left out of quantization then
   meets a QuantizeLinear, and `weight-bias-quantization` its weights);
   `activation-quant-fusion`: a float Relu or Clip before a QuantizeLinear whose saturation
   does its work goes, as ORT's basic rules remove it; `s8-to-u8`: the int8
   pairs ORT's x86
   session turns into uint8 before it fuses (none with `int8_allowed`, ORT's
   `session.qdqisint8allowed`).
2. `fold-scaled-builders`: ranges become types; scaled ops become core ops that can fuse.
3. `weight-bias-quantization`: ONNX Runtime's session quantizes the float weight and bias of a
   Conv/ConvTranspose/Gemm left float between a DequantizeLinear and a QuantizeLinear; the
   fold below then sees the QDQ group ORT's fusion sees.
4. `fold-qdq`: quantize∘dequantize pairs and QDQ-simulated ops become integer ops
   (ONNX Runtime's interpretation; not bit-preserving, see `rewrites.fold_qdq`).
5. `batched-matmul-dots`: an integer batched MatMul (a grouped 1×1 conv between transposes)
   runs as one dot per batch element, the transposes gone; `fuse-conv-dot`: conv/dot absorb
   the add/relu/clamp the previous steps exposed.
6. `fake-to-qdq`: a QAT graph's typed fake_quant ops become quantize/dequantize pairs only
   now, after the folds, so the fake graph runs as the float simulation it writes.
7. `fold-dequantized-filters`: a float conv's filter dequantized from constants (the float
   simulation of an int8-activation conv) is a float constant, packed once at compile time;
   `dce`: dequantize ops orphaned by the fusions go.
8. `nhwc-layout`: integer NCHW convs compute channels-last, the layout the fast kernels take,
   with the transposes between them cancelled (exact: only integers move). Last, so that it
   sees the fused convs and no fold above has to know two layouts.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.transforms.dead_code_elimination import DeadCodeElimination

from rewrites.activation_quant_fusion import ActivationQuantFusionPass
from rewrites.batch_norm import LowerBatchNormPass
from rewrites.batched_matmul import BatchedMatmulDotsPass
from rewrites.dequantized_filters import FoldDequantizedFiltersPass
from rewrites.double_qdq import RemoveDoubleQdqPass
from rewrites.equal_quantizes import MergeEqualQuantizesPass
from rewrites.fake_quant import FakeToQdqPass
from rewrites.float_casts import DropFloatCastsPass
from rewrites.fold_qdq import FoldQdqPass
from rewrites.fold_scaled import FoldScaledBuildersPass
from rewrites.fuse import FuseConvDotPass
from rewrites.nhwc_layout import NhwcLayoutPass
from rewrites.qdq_propagation import QdqPropagationPass
from rewrites.quant_to_qnn import QuantToQnnPass
from rewrites.s8_to_u8 import S8ToU8Pass
from rewrites.scale_limits import check_module
from rewrites.unread_pairs import keep_unread, release
from rewrites.weight_bias_quantization import WeightBiasQuantizationPass


@dataclass(frozen=True)
class QnnDefaultPass(ModulePass):
    """`int8_allowed`: fuse QDQ Conv/MatMul groups on int8 activations as ORT's session does
    with `session.qdqisint8allowed` (its ARM default); off, ORT's x86 session."""

    name = "qnn-default"
    int8_allowed: bool = False

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        check_module(op)
        retype = () if self.int8_allowed else (S8ToU8Pass(),)
        kept = keep_unread(op)
        for step in (
            QuantToQnnPass(),
            DropFloatCastsPass(keep_graph_outputs=True),
            MergeEqualQuantizesPass(),
            RemoveDoubleQdqPass(),
            QdqPropagationPass(),
            ActivationQuantFusionPass(),
            *retype,
            FoldScaledBuildersPass(),
            MergeEqualQuantizesPass(),  # (again: ORT's level repeats; the builders' twins)
            LowerBatchNormPass(),
            WeightBiasQuantizationPass(),
            FoldQdqPass(int8_allowed=self.int8_allowed),
            BatchedMatmulDotsPass(),
            FuseConvDotPass(),
            FakeToQdqPass(),
            DropFloatCastsPass(),
        ):
            step.apply(ctx, op)
        release(kept)
        for step in (FoldDequantizedFiltersPass(), DeadCodeElimination(), NhwcLayoutPass()):
            step.apply(ctx, op)
