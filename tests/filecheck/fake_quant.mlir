// RUN: qopt %s | filecheck %s
// RUN: qopt %s | qopt | filecheck %s
// RUN: qopt %s --print-op-generic | qopt | filecheck %s

// qnn.fake_quant, typed form: dequantize(quantize(x)) through a per-tensor or per-axis
// !quant.uniform written after `as`; the nGraph form (levels and ranges) prints as before.

// CHECK-LABEL: func.func @typed
// CHECK-NEXT: %a = qnn.fake_quant %x as !quant.uniform<i8:f32, 0.5:-3> : tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %b = qnn.fake_quant %a as !quant.uniform<u8:f32:1, {0.5:3,0.25:128,0.001}> : tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %c = qnn.fake_quant %b as !quant.uniform<i32:f32, 1.5e-05> : tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %d = qnn.fake_quant %c {levels = 16 : i64, input_low = 0.000000e+00 : f32, input_high = 6.000000e+00 : f32, output_low = 0.000000e+00 : f32, output_high = 6.000000e+00 : f32} : tensor<2x3xf32> -> tensor<2x3xf32>
func.func @typed(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %a = qnn.fake_quant %x as !quant.uniform<i8:f32, 0.5:-3> : tensor<2x3xf32> -> tensor<2x3xf32>
  %b = qnn.fake_quant %a as !quant.uniform<u8:f32:1, {0.5:3, 0.25:128, 1.0e-3:0}> : tensor<2x3xf32> -> tensor<2x3xf32>
  %c = qnn.fake_quant %b as !quant.uniform<i32:f32, 1.5e-5> : tensor<2x3xf32> -> tensor<2x3xf32>
  %d = qnn.fake_quant %c {levels = 16 : i64, input_low = 0.0 : f32, input_high = 6.0 : f32, output_low = 0.0 : f32, output_high = 6.0 : f32} : tensor<2x3xf32> -> tensor<2x3xf32>
  func.return %d : tensor<2x3xf32>
}
