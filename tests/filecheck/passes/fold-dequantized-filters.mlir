// RUN: qopt %s -p fold-dequantized-filters --split-input-file | filecheck %s
// RUN: qopt %s -p fold-dequantized-filters,fold-dequantized-filters --split-input-file | filecheck %s

// fold-dequantized-filters: a float conv's filter dequantized from stored constants (per tensor
// or per output channel) is the float constant of its dequantized values, (q - zp) · s.
// (The stored constant stays until DCE.)
// CHECK-LABEL: func.func @per_channel_filter(
// CHECK-NOT: qnn.dequantize
// CHECK: %[[W:.*]] = arith.constant {qnn.folded_filter} dense<{{\[\[\[\[}}-1.000000e+00]], {{\[\[}}2.000000e+00]]], {{\[\[\[}}7.500000e-01]], {{\[\[}}-5.000000e-01]]]]> : tensor<2x2x1x1xf32>
// CHECK-NEXT: %[[Y:.*]] = qnn.conv2d %x, %[[W]] : tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32> -> tensor<1x2x3x3xf32>
// CHECK-NEXT: func.return %[[Y]]
!w = !quant.uniform<i8:f32:0, {0.5:2,0.25:-1}>
func.func @per_channel_filter(%x: tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32> {
  %c = arith.constant dense<[[[[0]], [[6]]], [[[2]], [[-3]]]]> : tensor<2x2x1x1xi8>
  %q = quant.scast %c : tensor<2x2x1x1xi8> to tensor<2x2x1x1x!w>
  %w = qnn.dequantize %q : tensor<2x2x1x1x!w> -> tensor<2x2x1x1xf32>
  %y = qnn.conv2d %x, %w : tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32> -> tensor<1x2x3x3xf32>
  func.return %y : tensor<1x2x3x3xf32>
}

// -----

// A dequantized constant that another op also reads, and one along another axis, stay.
// CHECK-LABEL: func.func @shared_or_other_axis(
// CHECK: qnn.dequantize
// CHECK: qnn.dequantize
// CHECK-NOT: arith.constant dense<{{.*}}> : tensor<2x2x1x1xf32>
!w = !quant.uniform<i8:f32:1, {0.5:2,0.25:-1}>
!v = !quant.uniform<i8:f32, 0.5:2>
func.func @shared_or_other_axis(%x: tensor<1x2x3x3xf32>) -> (tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>) {
  %c = arith.constant dense<[[[[0]], [[6]]], [[[2]], [[-3]]]]> : tensor<2x2x1x1xi8>
  %q = quant.scast %c : tensor<2x2x1x1xi8> to tensor<2x2x1x1x!w>
  %w = qnn.dequantize %q : tensor<2x2x1x1x!w> -> tensor<2x2x1x1xf32>
  %y = qnn.conv2d %x, %w : tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32> -> tensor<1x2x3x3xf32>
  %r = quant.scast %c : tensor<2x2x1x1xi8> to tensor<2x2x1x1x!v>
  %v = qnn.dequantize %r : tensor<2x2x1x1x!v> -> tensor<2x2x1x1xf32>
  %z = qnn.conv2d %x, %v : tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32> -> tensor<1x2x3x3xf32>
  func.return %y, %z, %v : tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>
}
