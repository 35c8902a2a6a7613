// RUN: qopt %s -p u8-to-i8 | filecheck %s
// RUN: qopt %s -p u8-to-i8,u8-to-i8 | filecheck %s
// RUN: qopt %s -p 'u8-to-i8{keep-signature=false}' | filecheck %s --check-prefix=SIG

!u = !quant.uniform<u8:f32, 0.5:130>
!v = !quant.uniform<u8:f32, 0.25:3>
!c = !quant.uniform<u8<1:255>:f32, 0.1:128>
// CHECK-LABEL: func.func @main(%x: tensor<1x2x4x4x!quant.uniform<u8:f32, 0.5:130>>
// CHECK-SAME: -> tensor<1x2x4x4x!quant.uniform<u8:f32, 0.25:3>>
// CHECK-NEXT: %[[X:.*]] = qnn.requantize %x : tensor<1x2x4x4x!quant.uniform<u8:f32, 0.5:130>> -> tensor<1x2x4x4x!quant.uniform<i8:f32, 0.5:2>>
// Constants are re-stored: 200 -> 72, 3 -> -125, 0 -> -128 (kept, though below the bounds), 255 -> 127.
// CHECK: %[[C:.*]] = arith.constant dense<{{\[\[\[\[}}72]], {{\[\[}}-125]]], {{\[\[\[}}-128]], {{\[\[}}127]]]]> : tensor<2x2x1x1xi8>
// CHECK-NEXT: %[[W:.*]] = quant.scast %[[C]] : tensor<2x2x1x1xi8> to tensor<2x2x1x1x!quant.uniform<i8<-127:127>:f32, 0.1>>
// CHECK-NEXT: %[[Y:.*]] = qnn.conv2d %[[X]], %[[W]] : {{.*}} -> tensor<1x2x4x4x!quant.uniform<i8:f32, 0.25:-125>>
// The raw-value ops keep rounding u8 values.
// CHECK-NEXT: %[[S:.*]] = qnn.add %[[Y]], %[[X]] {raw_offsets = array<i64: 128, 128, 128>}
// CHECK-NEXT: %[[P:.*]] = qnn.avg_pool2d %[[S]] {kernel = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, raw_offsets = array<i64: 128, 128>}
// CHECK-NEXT: %[[R:.*]] = qnn.requantize %[[P]] : tensor<1x2x4x4x!quant.uniform<i8:f32, 0.25:-125>> -> tensor<1x2x4x4x!quant.uniform<u8:f32, 0.25:3>>
// CHECK-NEXT: func.return %[[R]] : tensor<1x2x4x4x!quant.uniform<u8:f32, 0.25:3>>
// CHECK-NEXT: }

// SIG-LABEL: func.func @main(%x: tensor<1x2x4x4x!quant.uniform<i8:f32, 0.5:2>>
// SIG-SAME: -> tensor<1x2x4x4x!quant.uniform<i8:f32, 0.25:-125>>
// SIG-NOT: qnn.requantize
// SIG-NOT: u8
func.func @main(%x: tensor<1x2x4x4x!u>) -> tensor<1x2x4x4x!v> {
  %c = arith.constant dense<[[[[200]], [[3]]], [[[0]], [[255]]]]> : tensor<2x2x1x1xi8>
  %cq = quant.scast %c : tensor<2x2x1x1xi8> to tensor<2x2x1x1x!c>
  %y = qnn.conv2d %x, %cq : tensor<1x2x4x4x!u>, tensor<2x2x1x1x!c> -> tensor<1x2x4x4x!v>
  %s = qnn.add %y, %x : tensor<1x2x4x4x!v>, tensor<1x2x4x4x!u> -> tensor<1x2x4x4x!v>
  %p = qnn.avg_pool2d %s {kernel = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>} : tensor<1x2x4x4x!v> -> tensor<1x2x4x4x!v>
  func.return %p : tensor<1x2x4x4x!v>
}
