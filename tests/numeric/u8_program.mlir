!u = !quant.uniform<u8:f32, 0.5:130>
!v = !quant.uniform<u8:f32, 0.25:3>
func.func @main(%x: tensor<1x2x4x4x!u>, %w: tensor<2x2x1x1xi8>) -> tensor<1x2x4x4x!v> {
  %wq = quant.scast %w : tensor<2x2x1x1xi8> to tensor<2x2x1x1x!quant.uniform<u8:f32, 0.1:128>>
  %c = arith.constant dense<[[[[200]], [[3]]], [[[0]], [[255]]]]> : tensor<2x2x1x1xi8>
  %cq = quant.scast %c : tensor<2x2x1x1xi8> to tensor<2x2x1x1x!quant.uniform<u8:f32, 0.1:128>>
  %y = qnn.conv2d %x, %cq : tensor<1x2x4x4x!u>, tensor<2x2x1x1x!quant.uniform<u8:f32, 0.1:128>> -> tensor<1x2x4x4x!v>
  %s = qnn.add %y, %x : tensor<1x2x4x4x!v>, tensor<1x2x4x4x!u> -> tensor<1x2x4x4x!v>
  %p = qnn.avg_pool2d %s {kernel = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>} : tensor<1x2x4x4x!v> -> tensor<1x2x4x4x!v>
  func.return %p : tensor<1x2x4x4x!v>
}
