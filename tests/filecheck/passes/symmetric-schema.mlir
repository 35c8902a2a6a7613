// RUN: qopt %s -p symmetric-schema | filecheck %s
// RUN: qopt %s -p symmetric-schema,symmetric-schema | filecheck %s
// RUN: qopt %s -p 'symmetric-schema{values=activations}' | filecheck %s --check-prefix=ACT

!x = !quant.uniform<i8:f32, 0.05:-10>
!w = !quant.uniform<i8:f32:1, {0.01:3,0.02}>
!y = !quant.uniform<i8:f32, 0.1:-128>
// Weights: zero point 0, scale covering the same reals: 0.01 * (128 + 3) / 127 on channel 0,
// channel 1 (already zero point 0) unchanged; the constant is re-quantized
// (5 with zp 3 -> 0.02 / 0.0103149... = 1.94 -> 2; 0 -> -3).
// CHECK-LABEL: func.func @dot
// CHECK: arith.constant dense<{{\[\[}}2, 4], [-3, -1]]> : tensor<2x2xi8>
// CHECK-NEXT: quant.scast %{{.*}} : tensor<2x2xi8> to tensor<2x2x!quant.uniform<i8:f32:1, {0.010314960032701492,0.02}>>
// CHECK-NEXT: qnn.dot %a, %{{.*}} : tensor<3x2x!quant.uniform<i8:f32, 0.05:-10>>,
// ACT-LABEL: func.func @dot
// ACT-NEXT: %[[A:.*]] = qnn.requantize %a : tensor<3x2x!quant.uniform<i8:f32, 0.05:-10>> -> tensor<3x2x!quant.uniform<i8:f32, 0.05393700674176216>>
// ACT: qnn.dot %[[A]], %{{.*}} -> tensor<3x2x!quant.uniform<i8:f32, 0.20078739523887634>>
// ACT: qnn.requantize %{{.*}} -> tensor<3x2x!quant.uniform<i8:f32, 0.1:-128>>
func.func @dot(%a: tensor<3x2x!x>) -> tensor<3x2x!y> {
  %c = arith.constant dense<[[5, 4], [0, -1]]> : tensor<2x2xi8>
  %w = quant.scast %c : tensor<2x2xi8> to tensor<2x2x!w>
  %y = qnn.dot %a, %w : tensor<3x2x!x>, tensor<2x2x!w> -> tensor<3x2x!y>
  func.return %y : tensor<3x2x!y>
}
