// RUN: qopt %s -p lower-requant-fixed-point --split-input-file | filecheck %s --check-prefixes=CHECK,TFLITE
// RUN: qopt %s -p lower-requant-fixed-point,lower-requant-fixed-point --split-input-file | filecheck %s --check-prefixes=CHECK,TFLITE
// RUN: qopt %s -p 'lower-requant-fixed-point{rounding=tflite}' --split-input-file | filecheck %s --check-prefixes=CHECK,TFLITE
// RUN: qopt %s -p 'lower-requant-fixed-point{rounding=tosa_single}' --split-input-file | filecheck %s --check-prefixes=CHECK,SINGLE
// RUN: qopt %s -p 'lower-requant-fixed-point{rounding=tosa_single},lower-requant-fixed-point{rounding=tosa_single}' --split-input-file | filecheck %s --check-prefixes=CHECK,SINGLE
// RUN: qopt %s -p 'lower-requant-fixed-point{rounding=tosa_double}' --split-input-file | filecheck %s --check-prefixes=CHECK,DOUBLE
// RUN: qopt %s -p 'lower-requant-fixed-point{rounding=tosa_double},lower-requant-fixed-point{rounding=tosa_double}' --split-input-file | filecheck %s --check-prefixes=CHECK,DOUBLE

// lower-requant-fixed-point: every conv2d/dot with a quantized result gets the requant_mode
// of the `rounding` option (default tflite); float ops and raw i32 accumulators keep the
// default ("float", not printed). CHECK lines are shared, TFLITE/SINGLE/DOUBLE pin the mode.
// Running the pass twice (same option) changes nothing. Bad options are tested in
// tests/unit/test_pass_options.py.

// Quantized conv with bias and relu.
// CHECK-LABEL: func.func @conv(
// CHECK-SAME: %x: tensor<1x2x4x4x!quant.uniform<i8:f32, 0.05:-10>>, %w: tensor<3x2x3x3x!quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>>, %b: tensor<3xi32>) -> tensor<1x3x2x2x!quant.uniform<i8:f32, 0.1:-128>> {
// CHECK-NEXT: %[[C:[^ ,]+]] = qnn.conv2d %x, %w bias(%b : tensor<3xi32>) {activation = "relu", requant_mode =
// TFLITE-SAME: "tflite"
// SINGLE-SAME: "tosa_single"
// DOUBLE-SAME: "tosa_double"
// CHECK-SAME: } : tensor<1x2x4x4x!quant.uniform<i8:f32, 0.05:-10>>, tensor<3x2x3x3x!quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>> -> tensor<1x3x2x2x!quant.uniform<i8:f32, 0.1:-128>>
// CHECK-NEXT: func.return %[[C]] : tensor<1x3x2x2x!quant.uniform<i8:f32, 0.1:-128>>
!x = !quant.uniform<i8:f32, 0.05:-10>
!w = !quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>
!y = !quant.uniform<i8:f32, 0.1:-128>
func.func @conv(%x: tensor<1x2x4x4x!x>, %w: tensor<3x2x3x3x!w>, %b: tensor<3xi32>) -> tensor<1x3x2x2x!y> {
  %c = qnn.conv2d %x, %w bias(%b : tensor<3xi32>) {activation = "relu"} : tensor<1x2x4x4x!x>, tensor<3x2x3x3x!w> -> tensor<1x3x2x2x!y>
  func.return %c : tensor<1x3x2x2x!y>
}

// -----

// Quantized dots, with and without a fused addend.
// CHECK-LABEL: func.func @dot(
// CHECK-SAME: %a: tensor<2x16x!quant.uniform<i8:f32, 0.05:-10>>, %w: tensor<16x3x!quant.uniform<i8<-127:127>:f32:1, {0.005,0.006,0.007}>>, %r: tensor<2x3x!quant.uniform<u8:f32, 0.2:120>>) -> (tensor<2x3x!quant.uniform<i8:f32, 0.1:-128>>, tensor<2x3x!quant.uniform<u8:f32, 0.2:120>>) {
// CHECK-NEXT: %[[D:[^ ,]+]] = qnn.dot %a, %w {requant_mode =
// TFLITE-SAME: "tflite"
// SINGLE-SAME: "tosa_single"
// DOUBLE-SAME: "tosa_double"
// CHECK-SAME: } : tensor<2x16x!quant.uniform<i8:f32, 0.05:-10>>, tensor<16x3x!quant.uniform<i8<-127:127>:f32:1, {0.005,0.006,0.007}>> -> tensor<2x3x!quant.uniform<i8:f32, 0.1:-128>>
// CHECK-NEXT: %[[E:[^ ,]+]] = qnn.dot %a, %w addend(%r : tensor<2x3x!quant.uniform<u8:f32, 0.2:120>>) {intermediate = !quant.uniform<i8:f32, 0.08:4>, requant_mode =
// TFLITE-SAME: "tflite"
// SINGLE-SAME: "tosa_single"
// DOUBLE-SAME: "tosa_double"
// CHECK-SAME: } : tensor<2x16x!quant.uniform<i8:f32, 0.05:-10>>, tensor<16x3x!quant.uniform<i8<-127:127>:f32:1, {0.005,0.006,0.007}>> -> tensor<2x3x!quant.uniform<u8:f32, 0.2:120>>
// CHECK-NEXT: func.return %[[D]], %[[E]] : tensor<2x3x!quant.uniform<i8:f32, 0.1:-128>>, tensor<2x3x!quant.uniform<u8:f32, 0.2:120>>
!a = !quant.uniform<i8:f32, 0.05:-10>
!w = !quant.uniform<i8<-127:127>:f32:1, {0.005,0.006,0.007}>
!y = !quant.uniform<i8:f32, 0.1:-128>
!res = !quant.uniform<u8:f32, 0.2:120>
!mid = !quant.uniform<i8:f32, 0.08:4>
func.func @dot(%a: tensor<2x16x!a>, %w: tensor<16x3x!w>, %r: tensor<2x3x!res>) -> (tensor<2x3x!y>, tensor<2x3x!res>) {
  %d = qnn.dot %a, %w : tensor<2x16x!a>, tensor<16x3x!w> -> tensor<2x3x!y>
  %e = qnn.dot %a, %w addend(%r : tensor<2x3x!res>) {intermediate = !mid} : tensor<2x16x!a>, tensor<16x3x!w> -> tensor<2x3x!res>
  func.return %d, %e : tensor<2x3x!y>, tensor<2x3x!res>
}

// -----

// A mode set before is replaced by the requested one.
// CHECK-LABEL: func.func @already_other_mode(
// CHECK-SAME: %x: tensor<1x2x4x4x!quant.uniform<i8:f32, 0.05:-10>>, %w: tensor<3x2x3x3x!quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>>) -> tensor<1x3x2x2x!quant.uniform<i8:f32, 0.1:-128>> {
// CHECK-NEXT: %[[C:[^ ,]+]] = qnn.conv2d %x, %w {requant_mode =
// TFLITE-SAME: "tflite"
// SINGLE-SAME: "tosa_single"
// DOUBLE-SAME: "tosa_double"
// CHECK-SAME: } : tensor<1x2x4x4x!quant.uniform<i8:f32, 0.05:-10>>, tensor<3x2x3x3x!quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>> -> tensor<1x3x2x2x!quant.uniform<i8:f32, 0.1:-128>>
// CHECK-NEXT: func.return %[[C]] : tensor<1x3x2x2x!quant.uniform<i8:f32, 0.1:-128>>
!x = !quant.uniform<i8:f32, 0.05:-10>
!w = !quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>
!y = !quant.uniform<i8:f32, 0.1:-128>
func.func @already_other_mode(%x: tensor<1x2x4x4x!x>, %w: tensor<3x2x3x3x!w>) -> tensor<1x3x2x2x!y> {
  %c = qnn.conv2d %x, %w {requant_mode = "tosa_single"} : tensor<1x2x4x4x!x>, tensor<3x2x3x3x!w> -> tensor<1x3x2x2x!y>
  func.return %c : tensor<1x3x2x2x!y>
}

// -----

// Must not fire: raw i32 result and float conv.
// CHECK-LABEL: func.func @untouched(
// CHECK-SAME: %x: tensor<1x2x4x4x!quant.uniform<i8:f32, 0.05:-10>>, %w: tensor<3x2x3x3x!quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>>, %fx: tensor<1x2x4x4xf32>, %fw: tensor<3x2x3x3xf32>) -> (tensor<1x3x2x2xi32>, tensor<1x3x2x2xf32>) {
// CHECK-NEXT: %[[I:[^ ,]+]] = qnn.conv2d %x, %w : tensor<1x2x4x4x!quant.uniform<i8:f32, 0.05:-10>>, tensor<3x2x3x3x!quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>> -> tensor<1x3x2x2xi32>
// CHECK-NEXT: %[[F:[^ ,]+]] = qnn.conv2d %fx, %fw : tensor<1x2x4x4xf32>, tensor<3x2x3x3xf32> -> tensor<1x3x2x2xf32>
// CHECK-NEXT: func.return %[[I]], %[[F]] : tensor<1x3x2x2xi32>, tensor<1x3x2x2xf32>
// CHECK-NOT: requant_mode
!x = !quant.uniform<i8:f32, 0.05:-10>
!w = !quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>
func.func @untouched(%x: tensor<1x2x4x4x!x>, %w: tensor<3x2x3x3x!w>, %fx: tensor<1x2x4x4xf32>, %fw: tensor<3x2x3x3xf32>) -> (tensor<1x3x2x2xi32>, tensor<1x3x2x2xf32>) {
  %i = qnn.conv2d %x, %w : tensor<1x2x4x4x!x>, tensor<3x2x3x3x!w> -> tensor<1x3x2x2xi32>
  %f = qnn.conv2d %fx, %fw : tensor<1x2x4x4xf32>, tensor<3x2x3x3xf32> -> tensor<1x3x2x2xf32>
  func.return %i, %f : tensor<1x3x2x2xi32>, tensor<1x3x2x2xf32>
}
