// A two-layer quantized MLP: int8 activations, per-output-channel int8 weights,
// int32 biases, relu fused into the first layer.
//   qopt examples/mlp.mlir
!act_in = !quant.uniform<i8:f32, 0.03125:-8>
!hidden = !quant.uniform<i8:f32, 0.0625:-128>
!logits = !quant.uniform<i8:f32, 0.125:3>
!w1 = !quant.uniform<i8<-127:127>:f32:1, {0.00587,0.00269,0.00282,0.00474,0.00412,0.00863,0.00329,0.00218}>
!w2 = !quant.uniform<i8<-127:127>:f32:1, {0.00961,0.00623,0.00317,0.00635}>
func.func @main(%x: tensor<2x16xf32>) -> tensor<2x4xf32> {
  %w1_int = arith.constant dense<[[68, 15, 19, 75, 97, 82, -47, -40], [50, -38, 25, 0, 21, 77, -11, -110], [88, -104, 114, -58, -6, 51, 43, -111], [-112, 60, 52, -48, 38, 20, 127, 47], [83, -13, -55, 56, -29, 100, 44, -39], [-122, 113, -9, -37, -84, 29, -98, -1], [-112, -72, 69, -54, -94, 62, -64, -26], [-27, 107, 96, 0, -107, -85, -13, -25], [13, -56, 99, -92, 82, -17, 94, 13], [-56, 53, -21, 125, -36, 47, 99, -30], [118, -68, -89, -106, -82, -89, -68, 41], [-68, -124, -3, 85, 23, -81, -60, -55], [-126, -90, -20, 9, -33, 29, 17, -46], [116, -95, 49, 92, 4, 116, 31, 40], [46, 62, -114, -11, 103, 95, 72, 116], [96, 47, 77, 16, -27, -26, -25, -27]]> : tensor<16x8xi8>
  %w1 = quant.scast %w1_int : tensor<16x8xi8> to tensor<16x8x!w1>
  %b1 = arith.constant dense<[-967, 1913, -578, 466, -509, -58, -1497, -1528]> : tensor<8xi32>
  %w2_int = arith.constant dense<[[-101, -4, 35, -25], [-112, -79, -110, 125], [-74, -15, -86, -99], [-40, 26, -114, -101], [-127, 18, -89, 10], [-102, 115, -34, 30], [-121, -109, 96, -74], [30, -31, -89, 35]]> : tensor<8x4xi8>
  %w2 = quant.scast %w2_int : tensor<8x4xi8> to tensor<8x4x!w2>
  %b2 = arith.constant dense<[1477, -1, -92, -33]> : tensor<4xi32>
  %xq = qnn.quantize %x : tensor<2x16xf32> -> tensor<2x16x!act_in>
  %h = qnn.dot %xq, %w1 bias(%b1 : tensor<8xi32>) {activation = "relu"} : tensor<2x16x!act_in>, tensor<16x8x!w1> -> tensor<2x8x!hidden>
  %o = qnn.dot %h, %w2 bias(%b2 : tensor<4xi32>) : tensor<2x8x!hidden>, tensor<8x4x!w2> -> tensor<2x4x!logits>
  %y = qnn.dequantize %o : tensor<2x4x!logits> -> tensor<2x4xf32>
  func.return %y : tensor<2x4xf32>
}
