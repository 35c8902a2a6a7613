// RUN: qopt %s -p remove-double-qdq --split-input-file | filecheck %s

// remove-double-qdq: ONNX Runtime's DoubleQDQPairsRemover. Q1 -> DQ1 -> Q2 -> DQ2 of 8-bit
// per-tensor types becomes one pair over the intersection of the two ranges (u8 0.02:128 is
// [-2.56, 2.54], u8 0.01:100 is [-1, 1.55]: one pair 0.01:100 in ORT's float32 steps).

// CHECK-LABEL: func.func @merged(
// CHECK-NEXT: %b = qnn.quantize %x : tensor<4xf32> -> tensor<4x!quant.uniform<u8:f32, 0.009999999776482582:100>>
// CHECK-NEXT: %d = qnn.dequantize %b : tensor<4x!quant.uniform<u8:f32, 0.009999999776482582:100>> -> tensor<4xf32>
// CHECK-NEXT: func.return %d : tensor<4xf32>
func.func @merged(%x: tensor<4xf32>) -> tensor<4xf32> {
  %b = qnn.quantize %x : tensor<4xf32> -> tensor<4x!quant.uniform<u8:f32, 0.02:128>>
  %c = qnn.dequantize %b : tensor<4x!quant.uniform<u8:f32, 0.02:128>> -> tensor<4xf32>
  %q = qnn.quantize %c : tensor<4xf32> -> tensor<4x!quant.uniform<u8:f32, 0.01:100>>
  %d = qnn.dequantize %q : tensor<4x!quant.uniform<u8:f32, 0.01:100>> -> tensor<4xf32>
  func.return %d : tensor<4xf32>
}

// -----

// Equal parameters: the outer pair as it is.
// CHECK-LABEL: func.func @equal(
// CHECK-NEXT: %b = qnn.quantize %x : tensor<4xf32> -> tensor<4x!quant.uniform<i8:f32, 0.05:-3>>
// CHECK-NEXT: %d = qnn.dequantize %b : tensor<4x!quant.uniform<i8:f32, 0.05:-3>> -> tensor<4xf32>
// CHECK-NEXT: func.return %d : tensor<4xf32>
func.func @equal(%x: tensor<4xf32>) -> tensor<4xf32> {
  %b = qnn.quantize %x : tensor<4xf32> -> tensor<4x!quant.uniform<i8:f32, 0.05:-3>>
  %c = qnn.dequantize %b : tensor<4x!quant.uniform<i8:f32, 0.05:-3>> -> tensor<4xf32>
  %q = qnn.quantize %c : tensor<4xf32> -> tensor<4x!quant.uniform<i8:f32, 0.05:-3>>
  %d = qnn.dequantize %q : tensor<4x!quant.uniform<i8:f32, 0.05:-3>> -> tensor<4xf32>
  func.return %d : tensor<4xf32>
}

// -----

// Left alone: the middle dequantize read twice; 16-bit storage; ranges meeting in one point.
// CHECK-LABEL: func.func @kept(
// CHECK-NEXT: %b = qnn.quantize %x : tensor<4xf32> -> tensor<4x!quant.uniform<u8:f32, 0.02:128>>
// CHECK-NEXT: %c = qnn.dequantize %b
// CHECK-NEXT: %q = qnn.quantize %c
// CHECK-NEXT: %d = qnn.dequantize %q
// CHECK-NEXT: %e = qnn.add %c, %d
// CHECK-NEXT: %b2 = qnn.quantize %x
// CHECK-NEXT: %c2 = qnn.dequantize %b2
// CHECK-NEXT: %q2 = qnn.quantize %c2
// CHECK-NEXT: %d2 = qnn.dequantize %q2
// CHECK-NEXT: %f = qnn.quantize %x
// CHECK-NEXT: %g = qnn.dequantize %f
// CHECK-NEXT: %h = qnn.quantize %g
// CHECK-NEXT: %k = qnn.dequantize %h
func.func @kept(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %b = qnn.quantize %x : tensor<4xf32> -> tensor<4x!quant.uniform<u8:f32, 0.02:128>>
  %c = qnn.dequantize %b : tensor<4x!quant.uniform<u8:f32, 0.02:128>> -> tensor<4xf32>
  %q = qnn.quantize %c : tensor<4xf32> -> tensor<4x!quant.uniform<u8:f32, 0.01:100>>
  %d = qnn.dequantize %q : tensor<4x!quant.uniform<u8:f32, 0.01:100>> -> tensor<4xf32>
  %e = qnn.add %c, %d : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %b2 = qnn.quantize %x : tensor<4xf32> -> tensor<4x!quant.uniform<i8:f32, 0.0078125:-128>>
  %c2 = qnn.dequantize %b2 : tensor<4x!quant.uniform<i8:f32, 0.0078125:-128>> -> tensor<4xf32>
  %q2 = qnn.quantize %c2 : tensor<4xf32> -> tensor<4x!quant.uniform<i8:f32, 0.05:127>>
  %d2 = qnn.dequantize %q2 : tensor<4x!quant.uniform<i8:f32, 0.05:127>> -> tensor<4xf32>
  %f = qnn.quantize %x : tensor<4xf32> -> tensor<4x!quant.uniform<i16:f32, 0.02>>
  %g = qnn.dequantize %f : tensor<4x!quant.uniform<i16:f32, 0.02>> -> tensor<4xf32>
  %h = qnn.quantize %g : tensor<4xf32> -> tensor<4x!quant.uniform<i16:f32, 0.01>>
  %k = qnn.dequantize %h : tensor<4x!quant.uniform<i16:f32, 0.01>> -> tensor<4xf32>
  func.return %e, %d2, %k : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

// A function quantize_static wrote in QOperator form: its pairs stand for QLinear nodes (a
// quantized Gather's stored output, dequantized for a Cast, quantized again for QLinearAdd),
// and ORT's graph has no back-to-back pairs there: nothing merges.
// CHECK-LABEL: func.func @qoperator_form(
// CHECK-NEXT: %b = qnn.quantize %x
// CHECK-NEXT: %c = qnn.dequantize %b
// CHECK-NEXT: %q = qnn.quantize %c
// CHECK-NEXT: %d = qnn.dequantize %q
func.func @qoperator_form(%x: tensor<4xf32>) -> tensor<4xf32> attributes {qnn.qoperator} {
  %b = qnn.quantize %x : tensor<4xf32> -> tensor<4x!quant.uniform<u8:f32, 0.02:128>>
  %c = qnn.dequantize %b : tensor<4x!quant.uniform<u8:f32, 0.02:128>> -> tensor<4xf32>
  %q = qnn.quantize %c : tensor<4xf32> -> tensor<4x!quant.uniform<u8:f32, 0.01:100>>
  %d = qnn.dequantize %q : tensor<4x!quant.uniform<u8:f32, 0.01:100>> -> tensor<4xf32>
  func.return %d : tensor<4xf32>
}
