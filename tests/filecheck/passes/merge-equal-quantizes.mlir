// RUN: qopt %s -p merge-equal-quantizes --split-input-file | filecheck %s

// merge-equal-quantizes: ONNX Runtime's CommonSubexpressionElimination on QuantizeLinear. Two
// quantizes of one value into one type become the first (its readers and the function's result
// alike); one into another type, or of another value, stays.

// CHECK-LABEL: func.func @twins(
// CHECK-NEXT: %a = qnn.quantize %x : tensor<4xf32> -> tensor<4x!quant.uniform<u8:f32, 0.5:3>>
// CHECK-NEXT: %da = qnn.dequantize %a : tensor<4x!quant.uniform<u8:f32, 0.5:3>> -> tensor<4xf32>
// CHECK-NEXT: %db = qnn.dequantize %a : tensor<4x!quant.uniform<u8:f32, 0.5:3>> -> tensor<4xf32>
// CHECK-NEXT: %c = qnn.quantize %x : tensor<4xf32> -> tensor<4x!quant.uniform<u8:f32, 0.25:3>>
// CHECK-NEXT: func.return %da, %db, %a, %c
func.func @twins(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4x!quant.uniform<u8:f32, 0.5:3>>, tensor<4x!quant.uniform<u8:f32, 0.25:3>>) {
  %a = qnn.quantize %x : tensor<4xf32> -> tensor<4x!quant.uniform<u8:f32, 0.5:3>>
  %da = qnn.dequantize %a : tensor<4x!quant.uniform<u8:f32, 0.5:3>> -> tensor<4xf32>
  %b = qnn.quantize %x : tensor<4xf32> -> tensor<4x!quant.uniform<u8:f32, 0.5:3>>
  %db = qnn.dequantize %b : tensor<4x!quant.uniform<u8:f32, 0.5:3>> -> tensor<4xf32>
  %c = qnn.quantize %x : tensor<4xf32> -> tensor<4x!quant.uniform<u8:f32, 0.25:3>>
  func.return %da, %db, %b, %c : tensor<4xf32>, tensor<4xf32>, tensor<4x!quant.uniform<u8:f32, 0.5:3>>, tensor<4x!quant.uniform<u8:f32, 0.25:3>>
}
