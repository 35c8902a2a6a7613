// RUN: qopt %s -p fake-to-qdq --split-input-file | filecheck %s

// fake-to-qdq: a typed fake_quant becomes the quantize/dequantize pair it is defined as, named
// as the static quantizer names them; on a float constant used only there the quantize folds
// into stored integers (arith.constant -> quant.scast -> qnn.dequantize). The nGraph form stays.

// CHECK-LABEL: func.func @activation
// CHECK-NEXT: %x_QuantizeLinear_Output = qnn.quantize %x : tensor<4xf32> -> tensor<4x!quant.uniform<i8:f32, 0.5:-3>>
// CHECK-NEXT: %x_DequantizeLinear_Output = qnn.dequantize %x_QuantizeLinear_Output : tensor<4x!quant.uniform<i8:f32, 0.5:-3>> -> tensor<4xf32>
// CHECK-NEXT: %n = qnn.fake_quant %x_DequantizeLinear_Output {levels = 16 : i64
// CHECK-NEXT: func.return %n
func.func @activation(%x: tensor<4xf32>) -> tensor<4xf32> {
  %f = qnn.fake_quant %x as !quant.uniform<i8:f32, 0.5:-3> : tensor<4xf32> -> tensor<4xf32>
  %n = qnn.fake_quant %f {levels = 16 : i64, input_low = 0.0 : f32, input_high = 6.0 : f32, output_low = 0.0 : f32, output_high = 6.0 : f32} : tensor<4xf32> -> tensor<4xf32>
  func.return %n : tensor<4xf32>
}

// -----

// Per axis 0 (scales 0.02, 0.01): 0.3/0.02 = 15, 5.0/0.02 = 250 saturates at 127,
// 0.005/0.01 = 0.5 rounds to even 0, -0.015/0.01 = -1.5 rounds to -2.

// CHECK-LABEL: func.func @weight
// CHECK-NEXT: %0 = arith.constant dense<{{\[\[}}15, -60, 127], [0, 26, -2]]> : tensor<2x3xi8>
// CHECK-NEXT: %w_quantized = quant.scast %0 : tensor<2x3xi8> to tensor<2x3x!quant.uniform<i8:f32:0, {0.02,0.01}>>
// CHECK-NEXT: %w_DequantizeLinear_Output = qnn.dequantize %w_quantized
// CHECK-NEXT: func.return %w_DequantizeLinear_Output
func.func @weight() -> tensor<2x3xf32> {
  %w = arith.constant dense<[[0.3, -1.2, 5.0], [0.005, 0.26, -0.015]]> : tensor<2x3xf32>
  %f = qnn.fake_quant %w as !quant.uniform<i8:f32:0, {0.02, 0.01}> : tensor<2x3xf32> -> tensor<2x3xf32>
  func.return %f : tensor<2x3xf32>
}

// -----

// A constant with another use keeps its float value; the pair quantizes it at run time.

// CHECK-LABEL: func.func @shared_constant
// CHECK-NEXT: %w = arith.constant dense<2.500000e-01> : tensor<4xf32>
// CHECK-NEXT: %w_QuantizeLinear_Output = qnn.quantize %w
// CHECK-NEXT: %w_DequantizeLinear_Output = qnn.dequantize %w_QuantizeLinear_Output
// CHECK-NEXT: %s = qnn.add %w_DequantizeLinear_Output, %w
func.func @shared_constant() -> tensor<4xf32> {
  %w = arith.constant dense<0.25> : tensor<4xf32>
  %f = qnn.fake_quant %w as !quant.uniform<u8:f32, 0.1:10> : tensor<4xf32> -> tensor<4xf32>
  %s = qnn.add %f, %w : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  func.return %s : tensor<4xf32>
}
