// RUN: qopt %s -p qnn-default | filecheck %s --check-prefix=X86
// RUN: qopt %s -p 'qnn-default{int8_allowed=true}' | filecheck %s --check-prefix=INT8

// An int8-activation residual block as ONNX Runtime's sessions run it. On x86 (the default)
// the input's DequantizeLinear has two readers, so its pair stays int8; ORT's Conv selector
// takes no int8 activation and its Add selector no mix of int8 and uint8, so both stay the
// float simulation; the single-reader pairs become uint8 (`s8-to-u8`). With int8 allowed (ORT
// on ARM, `session.qdqisint8allowed`) the conv fuses and takes the add as its addend.

// X86-LABEL: func.func @residual(
// X86-NEXT: %q = qnn.quantize %in : tensor<1x2x4x4xf32> -> tensor<1x2x4x4x!quant.uniform<i8:f32, 0.05:-10>>
// X86-NEXT: %x = qnn.dequantize %q
// X86-NEXT: %w = qnn.dequantize %wq
// X86-NEXT: %c = qnn.conv2d %x, %w {pads = array<i64: 1, 1, 1, 1>} : tensor<1x2x4x4xf32>, tensor<2x2x3x3xf32> -> tensor<1x2x4x4xf32>
// X86-NEXT: %cq = qnn.quantize %c : tensor<1x2x4x4xf32> -> tensor<1x2x4x4x!quant.uniform<u8:f32, 0.1:125>>
// X86-NEXT: %cd = qnn.dequantize %cq
// X86-NEXT: %s = qnn.add %cd, %x : tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32> -> tensor<1x2x4x4xf32>
// X86-NEXT: %sq = qnn.quantize %s : tensor<1x2x4x4xf32> -> tensor<1x2x4x4x!quant.uniform<u8:f32, 0.1:125>>
// X86-NEXT: %sd = qnn.dequantize %sq
// X86-NEXT: func.return %sd

// INT8-LABEL: func.func @residual(
// INT8-NEXT: %q = qnn.quantize %in : tensor<1x2x4x4xf32> -> tensor<1x2x4x4x!quant.uniform<i8:f32, 0.05:-10>>
// INT8-NEXT: %sq = qnn.conv2d %q, %wq addend(%q : tensor<1x2x4x4x!quant.uniform<i8:f32, 0.05:-10>>)
// INT8-NEXT: %sd = qnn.dequantize %sq
// INT8-NEXT: func.return %sd
!x = !quant.uniform<i8:f32, 0.05:-10>
!w = !quant.uniform<i8<-127:127>:f32:0, {0.01,0.02}>
!y = !quant.uniform<i8:f32, 0.1:-3>
func.func @residual(%in: tensor<1x2x4x4xf32>, %wq: tensor<2x2x3x3x!w>) -> tensor<1x2x4x4xf32> {
  %q = qnn.quantize %in : tensor<1x2x4x4xf32> -> tensor<1x2x4x4x!x>
  %x = qnn.dequantize %q : tensor<1x2x4x4x!x> -> tensor<1x2x4x4xf32>
  %w = qnn.dequantize %wq : tensor<2x2x3x3x!w> -> tensor<2x2x3x3xf32>
  %c = qnn.conv2d %x, %w {pads = array<i64: 1, 1, 1, 1>} : tensor<1x2x4x4xf32>, tensor<2x2x3x3xf32> -> tensor<1x2x4x4xf32>
  %cq = qnn.quantize %c : tensor<1x2x4x4xf32> -> tensor<1x2x4x4x!y>
  %cd = qnn.dequantize %cq : tensor<1x2x4x4x!y> -> tensor<1x2x4x4xf32>
  %s = qnn.add %cd, %x : tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32> -> tensor<1x2x4x4xf32>
  %sq = qnn.quantize %s : tensor<1x2x4x4xf32> -> tensor<1x2x4x4x!y>
  %sd = qnn.dequantize %sq : tensor<1x2x4x4x!y> -> tensor<1x2x4x4xf32>
  func.return %sd : tensor<1x2x4x4xf32>
}
