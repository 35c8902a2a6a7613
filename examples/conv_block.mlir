// A quantized conv + bias + relu block written with nGraph-style scaled builders.
// The ranges (min/max) stand in for scales until `fold-scaled-builders` chooses them.
//   qopt examples/conv_block.mlir
!x_any = !quant.any<u8:f32>
!w_any = !quant.any<i8:f32>
func.func @main(%x: tensor<1x3x8x8xf32>) -> tensor<1x4x8x8xf32> {
  %w_int = arith.constant dense<[[[[-45, 115, -89], [-26, 39, -115], [-109, 83, 10]], [[-103, -34, 22], [-113, 105, 2], [-73, -118, -105]], [[-16, -20, -110], [-66, -104, 14], [-19, -112, 84]]], [[[17, -96, 115], [-70, 34, 33], [22, 115, -112]], [[20, 22, -26], [-115, 122, -71], [-116, 15, 92]], [[-93, -53, -20], [-91, 11, -97], [19, -49, 16]]], [[[81, 47, -81], [-101, 21, 19], [36, -79, -32]], [[-103, 13, 55], [-111, 17, -112], [31, -75, 0]], [[47, 9, -18], [71, -47, -8], [22, 109, -11]]], [[[-35, -51, -64], [76, -81, 51], [72, -65, -107]], [[20, -51, 7], [-1, 97, -40], [59, -13, -54]], [[28, 123, -109], [-97, 4, -20], [-85, 66, -40]]]]> : tensor<4x3x3x3xi8>
  %w = quant.scast %w_int : tensor<4x3x3x3xi8> to tensor<4x3x3x3x!w_any>
  %bias = arith.constant dense<[-0.3480, -0.0110, -0.4608, 0.1682]> : tensor<4xf32>
  %xq = qnn.scaled_quantize %x {min = 0.0 : f32, max = 1.0 : f32} : tensor<1x3x8x8xf32> -> tensor<1x3x8x8x!x_any>
  %yq = qnn.scaled_conv2d %xq, %w bias(%bias : tensor<4xf32>) {pads = array<i64: 1, 1, 1, 1>, activation = "relu", input_min = 0.0 : f32, input_max = 1.0 : f32, weight_min = -1.0 : f32, weight_max = 1.0 : f32, output_min = 0.0 : f32, output_max = 6.0 : f32, scheme = "asymmetric"} : tensor<1x3x8x8x!x_any>, tensor<4x3x3x3x!w_any> -> tensor<1x4x8x8x!x_any>
  %y = qnn.scaled_dequantize %yq {min = 0.0 : f32, max = 6.0 : f32} : tensor<1x4x8x8x!x_any> -> tensor<1x4x8x8xf32>
  func.return %y : tensor<1x4x8x8xf32>
}
