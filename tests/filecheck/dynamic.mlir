// RUN: qopt %s | filecheck %s
// RUN: qopt %s | qopt | filecheck %s
// RUN: qopt %s --print-op-generic | qopt | filecheck %s

// Round trips of the dynamic-quantization ops: qnn.dynamic_quantize (data, scale and zero
// point chosen at run time) feeding qnn.dynamic_dot / qnn.dynamic_conv2d (float results).

// CHECK-LABEL: func.func @dynamic_dot(
// CHECK-NEXT: %q, %s, %z = qnn.dynamic_quantize %x : tensor<4x16xf32> -> tensor<4x16xui8>, tensor<f32>, tensor<ui8>
// CHECK: %y = qnn.dynamic_dot %q, %s, %z, %w bias(%b : tensor<8xf32>) : tensor<4x16xui8>, tensor<f32>, tensor<ui8>, tensor<16x8x!quant.uniform<i8:f32:1, {0.01,0.02,0.01,0.03,0.01,0.02,0.01,0.05}>> -> tensor<4x8xf32>
func.func @dynamic_dot(%x: tensor<4x16xf32>) -> tensor<4x8xf32> {
  %q, %s, %z = qnn.dynamic_quantize %x : tensor<4x16xf32> -> tensor<4x16xui8>, tensor<f32>, tensor<ui8>
  %c = arith.constant dense<3> : tensor<16x8xi8>
  %w = quant.scast %c : tensor<16x8xi8> to tensor<16x8x!quant.uniform<i8:f32:1, {0.01,0.02,0.01,0.03,0.01,0.02,0.01,0.05}>>
  %b = arith.constant dense<[0.5, -0.5, 1.0, 0.0, 0.25, -1.0, 2.0, 0.125]> : tensor<8xf32>
  %y = qnn.dynamic_dot %q, %s, %z, %w bias(%b : tensor<8xf32>) : tensor<4x16xui8>, tensor<f32>, tensor<ui8>, tensor<16x8x!quant.uniform<i8:f32:1, {0.01,0.02,0.01,0.03,0.01,0.02,0.01,0.05}>> -> tensor<4x8xf32>
  func.return %y : tensor<4x8xf32>
}

// CHECK-LABEL: func.func @dynamic_conv2d(
// CHECK: %y = qnn.dynamic_conv2d %q, %s, %z, %w {pads = array<i64: 1, 1, 1, 1>} : tensor<1x3x8x8xui8>, tensor<f32>, tensor<ui8>, tensor<4x3x3x3x!quant.uniform<u8:f32, 0.02:128>> -> tensor<1x4x8x8xf32>
func.func @dynamic_conv2d(%x: tensor<1x3x8x8xf32>) -> tensor<1x4x8x8xf32> {
  %q, %s, %z = qnn.dynamic_quantize %x : tensor<1x3x8x8xf32> -> tensor<1x3x8x8xui8>, tensor<f32>, tensor<ui8>
  %c = arith.constant dense<-126> : tensor<4x3x3x3xi8>
  %w = quant.scast %c : tensor<4x3x3x3xi8> to tensor<4x3x3x3x!quant.uniform<u8:f32, 0.02:128>>
  %y = qnn.dynamic_conv2d %q, %s, %z, %w {pads = array<i64: 1, 1, 1, 1>} : tensor<1x3x8x8xui8>, tensor<f32>, tensor<ui8>, tensor<4x3x3x3x!quant.uniform<u8:f32, 0.02:128>> -> tensor<1x4x8x8xf32>
  func.return %y : tensor<1x4x8x8xf32>
}
