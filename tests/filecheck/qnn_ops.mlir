// RUN: qopt %s | filecheck %s
// RUN: qopt %s | qopt | filecheck %s
// RUN: qopt %s --print-op-generic | qopt | filecheck %s

// Round trips of every qnn op in the configurations the kernels support. Type aliases are
// expanded when printed; attributes equal to their default (round_mode = "half_to_even") are
// elided; real-valued properties print in MLIR's 6-digit exponent form.

!a8 = !quant.uniform<i8:f32, 0.5:-3>
!u8 = !quant.uniform<u8:f32, 0.25:128>
!i8 = !quant.uniform<i8:f32, 0.25>
!b8 = !quant.uniform<i8:f32, 0.125:5>
!r8 = !quant.uniform<i8:f32, 1.0:-2>
!xact = !quant.uniform<i8:f32, 0.05:-10>
!yact = !quant.uniform<i8:f32, 0.1:-128>
!mid = !quant.uniform<i8:f32, 0.08:4>
!res = !quant.uniform<u8:f32, 0.2:120>
!wax0 = !quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.015,0.03}>
!wdw = !quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.03,0.04,0.05,0.06}>
!wpt = !quant.uniform<i8:f32, 0.02>
!rhs1 = !quant.uniform<i8<-127:127>:f32:1, {0.005,0.006,0.007}>

// CHECK-LABEL: func.func @quantize(
// CHECK-SAME: %x: tensor<2x4xf32>) {
// CHECK-NEXT: %a = qnn.quantize %x : tensor<2x4xf32> -> tensor<2x4x!quant.uniform<i8:f32, 0.5:-3>>
// CHECK-NEXT: %b = qnn.quantize %x {round_mode = "half_away_from_zero"} : tensor<2x4xf32> -> tensor<2x4x!quant.uniform<u8:f32, 0.25:128>>
// CHECK-NEXT: %c = qnn.quantize %x {round_mode = "toward_zero"} : tensor<2x4xf32> -> tensor<2x4x!quant.uniform<i8:f32, 0.25>>
// CHECK-NEXT: %d = qnn.quantize %x {round_mode = "down"} : tensor<2x4xf32> -> tensor<2x4x!quant.uniform<i8:f32, 0.25>>
// CHECK-NEXT: %e = qnn.quantize %x : tensor<2x4xf32> -> tensor<2x4x!quant.uniform<i8<-127:127>:f32, 0.5>>
// CHECK-NEXT: %f = qnn.quantize %x {round_mode = "half_up"} : tensor<2x4xf32> -> tensor<2x4x!quant.uniform<i8:f32, 0.25>>
// CHECK-NEXT: %g = qnn.quantize %x : tensor<2x4xf32> -> tensor<2x4x!quant.uniform<i8:f32:1, {0.1,0.2:1,0.3,0.4:-1}>>
// CHECK-NEXT: func.return
func.func @quantize(%x: tensor<2x4xf32>) {
  %a = qnn.quantize %x : tensor<2x4xf32> -> tensor<2x4x!a8>
  %b = qnn.quantize %x {round_mode = "half_away_from_zero"} : tensor<2x4xf32> -> tensor<2x4x!u8>
  %c = qnn.quantize %x {round_mode = "toward_zero"} : tensor<2x4xf32> -> tensor<2x4x!i8>
  %d = qnn.quantize %x {round_mode = "down"} : tensor<2x4xf32> -> tensor<2x4x!i8>
  %e = qnn.quantize %x {round_mode = "half_to_even"} : tensor<2x4xf32> -> tensor<2x4x!quant.uniform<i8<-127:127>:f32, 0.5>>
  %f = qnn.quantize %x {round_mode = "half_up"} : tensor<2x4xf32> -> tensor<2x4x!i8>
  %g = qnn.quantize %x : tensor<2x4xf32> -> tensor<2x4x!quant.uniform<i8:f32:1, {0.1,0.2:1,0.3,0.4:-1}>>
  func.return
}

// CHECK-LABEL: func.func @dequantize_requantize(
// CHECK-SAME: %q: tensor<2x4x!quant.uniform<u8:f32, 0.25:128>>) -> tensor<2x4xf32> {
// CHECK-NEXT: %r = qnn.requantize %q : tensor<2x4x!quant.uniform<u8:f32, 0.25:128>> -> tensor<2x4x!quant.uniform<i8:f32, 0.25>>
// CHECK-NEXT: %s = qnn.requantize %r : tensor<2x4x!quant.uniform<i8:f32, 0.25>> -> tensor<2x4x!quant.uniform<i8:f32, 0.125:5>>
// CHECK-NEXT: %f = qnn.dequantize %s : tensor<2x4x!quant.uniform<i8:f32, 0.125:5>> -> tensor<2x4xf32>
// CHECK-NEXT: func.return %f : tensor<2x4xf32>
func.func @dequantize_requantize(%q: tensor<2x4x!u8>) -> tensor<2x4xf32> {
  %r = qnn.requantize %q : tensor<2x4x!u8> -> tensor<2x4x!quant.uniform<i8:f32, 0.25:0>>
  %s = qnn.requantize %r : tensor<2x4x!quant.uniform<i8:f32, 0.25>> -> tensor<2x4x!b8>
  %f = qnn.dequantize %s : tensor<2x4x!b8> -> tensor<2x4xf32>
  func.return %f : tensor<2x4xf32>
}

// CHECK-LABEL: func.func @add(
// CHECK-SAME: %a: tensor<2x3x4x!quant.uniform<i8:f32, 0.5:-3>>, %b: tensor<4x!quant.uniform<i8:f32, 0.125:5>>, %c: tensor<2x1x4xf32>, %d: tensor<3x1xf32>) {
// CHECK-NEXT: %q = qnn.add %a, %b : tensor<2x3x4x!quant.uniform<i8:f32, 0.5:-3>>, tensor<4x!quant.uniform<i8:f32, 0.125:5>> -> tensor<2x3x4x!quant.uniform<i8:f32, 1.0:-2>>
// CHECK-NEXT: %u = qnn.add %b, %b : tensor<4x!quant.uniform<i8:f32, 0.125:5>>, tensor<4x!quant.uniform<i8:f32, 0.125:5>> -> tensor<4x!quant.uniform<u8:f32, 0.2:120>>
// CHECK-NEXT: %f = qnn.add %c, %d : tensor<2x1x4xf32>, tensor<3x1xf32> -> tensor<2x3x4xf32>
// CHECK-NEXT: func.return
func.func @add(%a: tensor<2x3x4x!a8>, %b: tensor<4x!b8>, %c: tensor<2x1x4xf32>, %d: tensor<3x1xf32>) {
  %q = qnn.add %a, %b : tensor<2x3x4x!a8>, tensor<4x!b8> -> tensor<2x3x4x!r8>
  %u = qnn.add %b, %b : tensor<4x!b8>, tensor<4x!b8> -> tensor<4x!res>
  %f = qnn.add %c, %d : tensor<2x1x4xf32>, tensor<3x1xf32> -> tensor<2x3x4xf32>
  func.return
}

// CHECK-LABEL: func.func @activations(
// CHECK-SAME: %x: tensor<8x!quant.uniform<i8:f32, 0.5:-3>>, %y: tensor<8xf32>, %z: tensor<8xf16>) {
// CHECK-NEXT: %r = qnn.relu %x : tensor<8x!quant.uniform<i8:f32, 0.5:-3>> -> tensor<8x!quant.uniform<i8:f32, 0.5:-3>>
// CHECK-NEXT: %rf = qnn.relu %y : tensor<8xf32> -> tensor<8xf32>
// CHECK-NEXT: %c = qnn.clamp %x {min = 0.000000e+00 : f32, max = 6.000000e+00 : f32} : tensor<8x!quant.uniform<i8:f32, 0.5:-3>> -> tensor<8x!quant.uniform<i8:f32, 0.5:-3>>
// CHECK-NEXT: %cf = qnn.clamp %z {min = -1.500000e+00 : f32, max = 1.500000e+00 : f32} : tensor<8xf16> -> tensor<8xf16>
// CHECK-NEXT: %fq = qnn.fake_quant %y {levels = 256 : i64, input_low = -1.000000e+00 : f32, input_high = 1.000000e+00 : f32, output_low = -1.000000e+00 : f32, output_high = 1.000000e+00 : f32}
// CHECK-SAME: : tensor<8xf32> -> tensor<8xf32>
// CHECK-NEXT: %fq2 = qnn.fake_quant %y {levels = 16 : i64, input_low = 0.000000e+00 : f32, input_high = 6.000000e+00 : f32, output_low = 0.000000e+00 : f32, output_high = 6.000000e+00 : f32}
// CHECK-SAME: : tensor<8xf32> -> tensor<8xf32>
// CHECK-NEXT: func.return
func.func @activations(%x: tensor<8x!a8>, %y: tensor<8xf32>, %z: tensor<8xf16>) {
  %r = qnn.relu %x : tensor<8x!a8> -> tensor<8x!a8>
  %rf = qnn.relu %y : tensor<8xf32> -> tensor<8xf32>
  %c = qnn.clamp %x {min = 0.0 : f32, max = 6.0 : f32} : tensor<8x!a8> -> tensor<8x!a8>
  %cf = qnn.clamp %z {min = -1.5 : f32, max = 1.5 : f32} : tensor<8xf16> -> tensor<8xf16>
  %fq = qnn.fake_quant %y {levels = 256 : i64, input_low = -1.0 : f32, input_high = 1.0 : f32, output_low = -1.0 : f32, output_high = 1.0 : f32} : tensor<8xf32> -> tensor<8xf32>
  %fq2 = qnn.fake_quant %y {levels = 16 : i64, input_low = 0.0 : f32, input_high = 6.0 : f32, output_low = 0.0 : f32, output_high = 6.0 : f32} : tensor<8xf32> -> tensor<8xf32>
  func.return
}

// CHECK-LABEL: func.func @conv2d(
// CHECK-SAME: %x: tensor<1x3x8x8x!quant.uniform<i8:f32, 0.05:-10>>, %w: tensor<4x3x3x3x!quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.015,0.03}>>, %b: tensor<4xi32>, %xh: tensor<1x8x8x3x!quant.uniform<i8:f32, 0.05:-10>>, %wh: tensor<4x3x3x3x!quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.015,0.03}>>, %xd: tensor<1x6x9x9x!quant.uniform<i8:f32, 0.05:-10>>, %wd: tensor<6x1x3x3x!quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.03,0.04,0.05,0.06}>>, %bd: tensor<6xi32>, %wg: tensor<4x3x3x3x!quant.uniform<i8:f32, 0.02>>, %res: tensor<1x4x8x8x!quant.uniform<u8:f32, 0.2:120>>) {
// CHECK-NEXT: %0 = qnn.conv2d %x, %w bias(%b : tensor<4xi32>) {pads = array<i64: 1, 1, 1, 1>, activation = "relu"}
// CHECK-SAME: : tensor<1x3x8x8x!quant.uniform<i8:f32, 0.05:-10>>, tensor<4x3x3x3x!quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.015,0.03}>> -> tensor<1x4x8x8x!quant.uniform<i8:f32, 0.1:-128>>
// CHECK-NEXT: %1 = qnn.conv2d %xh, %wh bias(%b : tensor<4xi32>) {layout = "nhwc", strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 0, 0>}
// CHECK-SAME: : tensor<1x8x8x3x!quant.uniform<i8:f32, 0.05:-10>>, tensor<4x3x3x3x!quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.015,0.03}>> -> tensor<1x4x4x4x!quant.uniform<i8:f32, 0.1:-128>>
// CHECK-NEXT: %2 = qnn.conv2d %xd, %wd bias(%bd : tensor<6xi32>) {groups = 6 : i64, dilations = array<i64: 2, 2>, strides = array<i64: 1, 2>, activation = "clamp", clamp_min = 0.000000e+00 : f32, clamp_max = 6.000000e+00 : f32}
// CHECK-SAME: : tensor<1x6x9x9x!quant.uniform<i8:f32, 0.05:-10>>, tensor<6x1x3x3x!quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.03,0.04,0.05,0.06}>> -> tensor<1x6x5x3x!quant.uniform<i8:f32, 0.1:-128>>
// CHECK-NEXT: %3 = qnn.conv2d %xd, %wg {groups = 2 : i64}
// CHECK-SAME: : tensor<1x6x9x9x!quant.uniform<i8:f32, 0.05:-10>>, tensor<4x3x3x3x!quant.uniform<i8:f32, 0.02>> -> tensor<1x4x7x7x!quant.uniform<i8:f32, 0.1:-128>>
// CHECK-NEXT: func.return
func.func @conv2d(%x: tensor<1x3x8x8x!xact>, %w: tensor<4x3x3x3x!wax0>, %b: tensor<4xi32>, %xh: tensor<1x8x8x3x!xact>, %wh: tensor<4x3x3x3x!wax0>, %xd: tensor<1x6x9x9x!xact>, %wd: tensor<6x1x3x3x!wdw>, %bd: tensor<6xi32>, %wg: tensor<4x3x3x3x!wpt>, %res: tensor<1x4x8x8x!res>) {
  %0 = qnn.conv2d %x, %w bias(%b : tensor<4xi32>) {pads = array<i64: 1, 1, 1, 1>, activation = "relu"} : tensor<1x3x8x8x!xact>, tensor<4x3x3x3x!wax0> -> tensor<1x4x8x8x!yact>
  %1 = qnn.conv2d %xh, %wh bias(%b : tensor<4xi32>) {layout = "nhwc", strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 0, 0>} : tensor<1x8x8x3x!xact>, tensor<4x3x3x3x!wax0> -> tensor<1x4x4x4x!yact>
  %2 = qnn.conv2d %xd, %wd bias(%bd : tensor<6xi32>) {groups = 6 : i64, dilations = array<i64: 2, 2>, strides = array<i64: 1, 2>, activation = "clamp", clamp_min = 0.0 : f32, clamp_max = 6.0 : f32} : tensor<1x6x9x9x!xact>, tensor<6x1x3x3x!wdw> -> tensor<1x6x5x3x!yact>
  %3 = qnn.conv2d %xd, %wg {groups = 2 : i64} : tensor<1x6x9x9x!xact>, tensor<4x3x3x3x!wpt> -> tensor<1x4x7x7x!yact>
  func.return
}

// CHECK-LABEL: func.func @conv2d_fused(
// CHECK-SAME: %x: tensor<1x3x8x8x!quant.uniform<i8:f32, 0.05:-10>>, %w: tensor<4x3x3x3x!quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.015,0.03}>>, %b: tensor<4xi32>, %res: tensor<1x4x8x8x!quant.uniform<u8:f32, 0.2:120>>) {
// CHECK-NEXT: %0 = qnn.conv2d %x, %w bias(%b : tensor<4xi32>) addend(%res : tensor<1x4x8x8x!quant.uniform<u8:f32, 0.2:120>>) {pads = array<i64: 1, 1, 1, 1>, activation = "relu", intermediate = !quant.uniform<i8:f32, 0.08:4>}
// CHECK-SAME: : tensor<1x3x8x8x!quant.uniform<i8:f32, 0.05:-10>>, tensor<4x3x3x3x!quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.015,0.03}>> -> tensor<1x4x8x8x!quant.uniform<u8:f32, 0.2:120>>
// CHECK-NEXT: %1 = qnn.conv2d %x, %w : tensor<1x3x8x8x!quant.uniform<i8:f32, 0.05:-10>>, tensor<4x3x3x3x!quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.015,0.03}>> -> tensor<1x4x6x6xi32>
// CHECK-NEXT: %2 = qnn.conv2d %x, %w bias(%b : tensor<4xi32>) {pads = array<i64: 1, 1, 1, 1>}
// CHECK-SAME: : tensor<1x3x8x8x!quant.uniform<i8:f32, 0.05:-10>>, tensor<4x3x3x3x!quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.015,0.03}>> -> tensor<1x4x8x8xi32>
// CHECK-NEXT: func.return
func.func @conv2d_fused(%x: tensor<1x3x8x8x!xact>, %w: tensor<4x3x3x3x!wax0>, %b: tensor<4xi32>, %res: tensor<1x4x8x8x!res>) {
  %0 = qnn.conv2d %x, %w bias(%b : tensor<4xi32>) addend(%res : tensor<1x4x8x8x!res>) {pads = array<i64: 1, 1, 1, 1>, activation = "relu", intermediate = !mid} : tensor<1x3x8x8x!xact>, tensor<4x3x3x3x!wax0> -> tensor<1x4x8x8x!res>
  %1 = qnn.conv2d %x, %w : tensor<1x3x8x8x!xact>, tensor<4x3x3x3x!wax0> -> tensor<1x4x6x6xi32>
  %2 = qnn.conv2d %x, %w bias(%b : tensor<4xi32>) {pads = array<i64: 1, 1, 1, 1>} : tensor<1x3x8x8x!xact>, tensor<4x3x3x3x!wax0> -> tensor<1x4x8x8xi32>
  func.return
}

// CHECK-LABEL: func.func @conv2d_float(
// CHECK-SAME: %x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<4xf32>, %r: tensor<1x4x6x6xf32>) {
// CHECK-NEXT: %0 = qnn.conv2d %x, %w bias(%b : tensor<4xf32>) {activation = "relu"} : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32> -> tensor<1x4x6x6xf32>
// CHECK-NEXT: %1 = qnn.conv2d %x, %w addend(%r : tensor<1x4x6x6xf32>) : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32> -> tensor<1x4x6x6xf32>
// CHECK-NEXT: func.return
func.func @conv2d_float(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<4xf32>, %r: tensor<1x4x6x6xf32>) {
  %0 = qnn.conv2d %x, %w bias(%b : tensor<4xf32>) {activation = "relu"} : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32> -> tensor<1x4x6x6xf32>
  %1 = qnn.conv2d %x, %w addend(%r : tensor<1x4x6x6xf32>) : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32> -> tensor<1x4x6x6xf32>
  func.return
}

// CHECK-LABEL: func.func @dot(
// CHECK-SAME: %a: tensor<2x16x!quant.uniform<i8:f32, 0.05:-10>>, %a3: tensor<4x2x16x!quant.uniform<i8:f32, 0.05:-10>>, %w: tensor<16x3x!quant.uniform<i8<-127:127>:f32:1, {0.005,0.006,0.007}>>, %b: tensor<3xi32>, %add: tensor<2x3x!quant.uniform<u8:f32, 0.2:120>>, %fa: tensor<2x16xf32>, %fw: tensor<16x3xf32>, %fb: tensor<3xf32>) {
// CHECK-NEXT: %0 = qnn.dot %a, %w bias(%b : tensor<3xi32>) {activation = "relu"}
// CHECK-SAME: : tensor<2x16x!quant.uniform<i8:f32, 0.05:-10>>, tensor<16x3x!quant.uniform<i8<-127:127>:f32:1, {0.005,0.006,0.007}>> -> tensor<2x3x!quant.uniform<i8:f32, 0.1:-128>>
// CHECK-NEXT: %1 = qnn.dot %a3, %w bias(%b : tensor<3xi32>) : tensor<4x2x16x!quant.uniform<i8:f32, 0.05:-10>>, tensor<16x3x!quant.uniform<i8<-127:127>:f32:1, {0.005,0.006,0.007}>> -> tensor<4x2x3x!quant.uniform<i8:f32, 0.1:-128>>
// CHECK-NEXT: %2 = qnn.dot %a, %w : tensor<2x16x!quant.uniform<i8:f32, 0.05:-10>>, tensor<16x3x!quant.uniform<i8<-127:127>:f32:1, {0.005,0.006,0.007}>> -> tensor<2x3xi32>
// CHECK-NEXT: %3 = qnn.dot %a, %w bias(%b : tensor<3xi32>) addend(%add : tensor<2x3x!quant.uniform<u8:f32, 0.2:120>>) {intermediate = !quant.uniform<i8:f32, 0.08:4>, activation = "clamp", clamp_min = -1.000000e+00 : f32, clamp_max = 1.000000e+00 : f32}
// CHECK-SAME: : tensor<2x16x!quant.uniform<i8:f32, 0.05:-10>>, tensor<16x3x!quant.uniform<i8<-127:127>:f32:1, {0.005,0.006,0.007}>> -> tensor<2x3x!quant.uniform<u8:f32, 0.2:120>>
// CHECK-NEXT: %4 = qnn.dot %fa, %fw bias(%fb : tensor<3xf32>) : tensor<2x16xf32>, tensor<16x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: func.return
func.func @dot(%a: tensor<2x16x!xact>, %a3: tensor<4x2x16x!xact>, %w: tensor<16x3x!rhs1>, %b: tensor<3xi32>, %add: tensor<2x3x!res>, %fa: tensor<2x16xf32>, %fw: tensor<16x3xf32>, %fb: tensor<3xf32>) {
  %0 = qnn.dot %a, %w bias(%b : tensor<3xi32>) {activation = "relu"} : tensor<2x16x!xact>, tensor<16x3x!rhs1> -> tensor<2x3x!yact>
  %1 = qnn.dot %a3, %w bias(%b : tensor<3xi32>) : tensor<4x2x16x!xact>, tensor<16x3x!rhs1> -> tensor<4x2x3x!yact>
  %2 = qnn.dot %a, %w : tensor<2x16x!xact>, tensor<16x3x!rhs1> -> tensor<2x3xi32>
  %3 = qnn.dot %a, %w bias(%b : tensor<3xi32>) addend(%add : tensor<2x3x!res>) {intermediate = !mid, activation = "clamp", clamp_min = -1.0 : f32, clamp_max = 1.0 : f32} : tensor<2x16x!xact>, tensor<16x3x!rhs1> -> tensor<2x3x!res>
  %4 = qnn.dot %fa, %fw bias(%fb : tensor<3xf32>) : tensor<2x16xf32>, tensor<16x3xf32> -> tensor<2x3xf32>
  func.return
}

// CHECK-LABEL: func.func @concat(
// CHECK-SAME: %a: tensor<1x2xf32>, %b: tensor<1x3xf32>, %qa: tensor<2x4x!quant.uniform<i8:f32, 0.5:-3>>, %qb: tensor<3x4x!quant.uniform<i8:f32, 0.125:5>>, %qc: tensor<1x4x!quant.uniform<i8:f32, 0.25>>) {
// CHECK-NEXT: %0 = qnn.concat %a, %b {axis = 1 : i64} : (tensor<1x2xf32>, tensor<1x3xf32>) -> tensor<1x5xf32>
// CHECK-NEXT: %1 = qnn.concat %qa, %qb, %qc {axis = 0 : i64}
// CHECK-SAME: : (tensor<2x4x!quant.uniform<i8:f32, 0.5:-3>>, tensor<3x4x!quant.uniform<i8:f32, 0.125:5>>, tensor<1x4x!quant.uniform<i8:f32, 0.25>>) -> tensor<6x4x!quant.uniform<i8:f32, 0.25>>
// CHECK-NEXT: func.return
func.func @concat(%a: tensor<1x2xf32>, %b: tensor<1x3xf32>, %qa: tensor<2x4x!a8>, %qb: tensor<3x4x!b8>, %qc: tensor<1x4x!i8>) {
  %0 = qnn.concat %a, %b {axis = 1 : i64} : (tensor<1x2xf32>, tensor<1x3xf32>) -> tensor<1x5xf32>
  %1 = qnn.concat %qa, %qb, %qc {axis = 0 : i64} : (tensor<2x4x!a8>, tensor<3x4x!b8>, tensor<1x4x!i8>) -> tensor<6x4x!i8>
  func.return
}

// CHECK-LABEL: func.func @pool(
// CHECK-SAME: %x: tensor<1x4x8x8x!quant.uniform<u8:f32, 0.25:128>>, %f: tensor<1x8x8x4xf32>) {
// CHECK-NEXT: %0 = qnn.max_pool2d %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>}
// CHECK-SAME: : tensor<1x4x8x8x!quant.uniform<u8:f32, 0.25:128>> -> tensor<1x4x4x4x!quant.uniform<u8:f32, 0.25:128>>
// CHECK-NEXT: %1 = qnn.max_pool2d %f {kernel = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 2, 2>, layout = "nhwc"}
// CHECK-SAME: : tensor<1x8x8x4xf32> -> tensor<1x6x6x4xf32>
// CHECK-NEXT: %2 = qnn.avg_pool2d %x {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, count_include_pad = true}
// CHECK-SAME: : tensor<1x4x8x8x!quant.uniform<u8:f32, 0.25:128>> -> tensor<1x4x4x4x!quant.uniform<u8:f32, 0.125:120>>
// CHECK-NEXT: %3 = qnn.avg_pool2d %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>}
// CHECK-SAME: : tensor<1x4x8x8x!quant.uniform<u8:f32, 0.25:128>> -> tensor<1x4x4x4x!quant.uniform<u8:f32, 0.25:128>>
// CHECK-NEXT: %4 = qnn.avg_pool2d %x {kernel = array<i64: 8, 8>} : tensor<1x4x8x8x!quant.uniform<u8:f32, 0.25:128>> -> tensor<1x4x1x1x!quant.uniform<u8:f32, 0.25:128>>
// CHECK-NEXT: %5 = qnn.avg_pool2d %f {kernel = array<i64: 2, 2>, layout = "nhwc"} : tensor<1x8x8x4xf32> -> tensor<1x7x7x4xf32>
// CHECK-NEXT: %6 = qnn.avg_pool2d %f {kernel = array<i64: 3, 3>, dilations = array<i64: 2, 2>, layout = "nhwc", row_major} : tensor<1x8x8x4xf32> -> tensor<1x4x4x4xf32>
// CHECK-NEXT: func.return
func.func @pool(%x: tensor<1x4x8x8x!u8>, %f: tensor<1x8x8x4xf32>) {
  %0 = qnn.max_pool2d %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : tensor<1x4x8x8x!u8> -> tensor<1x4x4x4x!u8>
  %1 = qnn.max_pool2d %f {kernel = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 2, 2>, layout = "nhwc"} : tensor<1x8x8x4xf32> -> tensor<1x6x6x4xf32>
  %2 = qnn.avg_pool2d %x {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, count_include_pad = true} : tensor<1x4x8x8x!u8> -> tensor<1x4x4x4x!quant.uniform<u8:f32, 0.125:120>>
  %3 = qnn.avg_pool2d %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : tensor<1x4x8x8x!u8> -> tensor<1x4x4x4x!u8>
  %4 = qnn.avg_pool2d %x {kernel = array<i64: 8, 8>} : tensor<1x4x8x8x!u8> -> tensor<1x4x1x1x!u8>
  %5 = qnn.avg_pool2d %f {kernel = array<i64: 2, 2>, layout = "nhwc"} : tensor<1x8x8x4xf32> -> tensor<1x7x7x4xf32>
  %6 = qnn.avg_pool2d %f {kernel = array<i64: 3, 3>, dilations = array<i64: 2, 2>, layout = "nhwc", row_major} : tensor<1x8x8x4xf32> -> tensor<1x4x4x4xf32>
  func.return
}

// CHECK-LABEL: func.func @scaled(
// CHECK-SAME: %x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3x!quant.any<i8:f32>>, %bf: tensor<4xf32>, %bi: tensor<4xi32>, %r: tensor<1x4x8x8x!quant.any<u8:f32>>, %a: tensor<2x16x!quant.any<i8:f32>>, %m: tensor<16x4x!quant.any<i8:f32>>, %c1: tensor<2x4x!quant.any<i8:f32>>, %c2: tensor<3x4x!quant.any<i8:f32>>) {
// CHECK-NEXT: %xq = qnn.scaled_quantize %x {min = 0.000000e+00 : f32, max = 1.000000e+00 : f32} : tensor<1x3x8x8xf32> -> tensor<1x3x8x8x!quant.any<u8:f32>>
// CHECK-NEXT: %xs = qnn.scaled_quantize %x {min = -1.000000e+00 : f32, max = 1.000000e+00 : f32, scheme = "symmetric", round_mode = "half_away_from_zero", reduce_range}
// CHECK-SAME: : tensor<1x3x8x8xf32> -> tensor<1x3x8x8x!quant.any<i8:f32>>
// CHECK-NEXT: %y0 = qnn.scaled_conv2d %xq, %w bias(%bf : tensor<4xf32>) {pads = array<i64: 1, 1, 1, 1>, activation = "relu", input_min = 0.000000e+00 : f32, input_max = 1.000000e+00 : f32, weight_min = -1.000000e+00 : f32, weight_max = 1.000000e+00 : f32, output_min = 0.000000e+00 : f32, output_max = 6.000000e+00 : f32}
// CHECK-SAME: : tensor<1x3x8x8x!quant.any<u8:f32>>, tensor<4x3x3x3x!quant.any<i8:f32>> -> tensor<1x4x8x8x!quant.any<u8:f32>>
// CHECK-NEXT: %y1 = qnn.scaled_conv2d %xq, %w bias(%bi : tensor<4xi32>) addend(%r : tensor<1x4x8x8x!quant.any<u8:f32>>) {pads = array<i64: 1, 1, 1, 1>, input_min = 0.000000e+00 : f32, input_max = 1.000000e+00 : f32, weight_min = -1.000000e+00 : f32, weight_max = 1.000000e+00 : f32, output_min = 0.000000e+00 : f32, output_max = 8.000000e+00 : f32, addend_min = 0.000000e+00 : f32, addend_max = 4.000000e+00 : f32, scheme = "symmetric_uint8"}
// CHECK-SAME: : tensor<1x3x8x8x!quant.any<u8:f32>>, tensor<4x3x3x3x!quant.any<i8:f32>> -> tensor<1x4x8x8x!quant.any<u8:f32>>
// CHECK-NEXT: %y2 = qnn.scaled_conv2d %xq, %w {input_min = 0.000000e+00 : f32, input_max = 1.000000e+00 : f32, weight_min = -1.000000e+00 : f32, weight_max = 1.000000e+00 : f32}
// CHECK-SAME: : tensor<1x3x8x8x!quant.any<u8:f32>>, tensor<4x3x3x3x!quant.any<i8:f32>> -> tensor<1x4x6x6xi32>
// CHECK-NEXT: %y = qnn.scaled_dequantize %y0 {min = 0.000000e+00 : f32, max = 6.000000e+00 : f32} : tensor<1x4x8x8x!quant.any<u8:f32>> -> tensor<1x4x8x8xf32>
// CHECK-NEXT: %d0 = qnn.scaled_dot %a, %m {input_min = -1.000000e+00 : f32, input_max = 1.000000e+00 : f32, weight_min = -1.000000e+00 : f32, weight_max = 1.000000e+00 : f32, output_min = -8.000000e+00 : f32, output_max = 8.000000e+00 : f32, scheme = "symmetric"}
// CHECK-SAME: : tensor<2x16x!quant.any<i8:f32>>, tensor<16x4x!quant.any<i8:f32>> -> tensor<2x4x!quant.any<i8:f32>>
// CHECK-NEXT: %d1 = qnn.scaled_dot %a, %m bias(%bi : tensor<4xi32>) {input_min = -1.000000e+00 : f32, input_max = 1.000000e+00 : f32, weight_min = -5.000000e-01 : f32, weight_max = 5.000000e-01 : f32, activation = "clamp", clamp_min = 0.000000e+00 : f32, clamp_max = 6.000000e+00 : f32, output_min = 0.000000e+00 : f32, output_max = 6.000000e+00 : f32, scheme = "symmetric_pytorch"}
// CHECK-SAME: : tensor<2x16x!quant.any<i8:f32>>, tensor<16x4x!quant.any<i8:f32>> -> tensor<2x4x!quant.any<i8:f32>>
// CHECK-NEXT: %cc = qnn.scaled_concat %c1, %c2 {axis = 0 : i64, input_mins = [-1.000000e+00 : f32, -2.000000e+00 : f32], input_maxs = [1.000000e+00 : f32, 2.000000e+00 : f32]}
// CHECK-SAME: : (tensor<2x4x!quant.any<i8:f32>>, tensor<3x4x!quant.any<i8:f32>>) -> tensor<5x4x!quant.any<i8:f32>>
// CHECK-NEXT: %cd = qnn.scaled_concat %c1, %c2 {axis = 0 : i64, input_mins = [-1.000000e+00 : f32, -2.000000e+00 : f32], input_maxs = [1.000000e+00 : f32, 2.000000e+00 : f32], output_min = -4.000000e+00 : f32, output_max = 4.000000e+00 : f32, scheme = "symmetric"}
// CHECK-SAME: : (tensor<2x4x!quant.any<i8:f32>>, tensor<3x4x!quant.any<i8:f32>>) -> tensor<5x4x!quant.any<i8:f32>>
// CHECK-NEXT: func.return
func.func @scaled(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3x!quant.any<i8:f32>>, %bf: tensor<4xf32>, %bi: tensor<4xi32>, %r: tensor<1x4x8x8x!quant.any<u8:f32>>, %a: tensor<2x16x!quant.any<i8:f32>>, %m: tensor<16x4x!quant.any<i8:f32>>, %c1: tensor<2x4x!quant.any<i8:f32>>, %c2: tensor<3x4x!quant.any<i8:f32>>) {
  %xq = qnn.scaled_quantize %x {min = 0.0 : f32, max = 1.0 : f32} : tensor<1x3x8x8xf32> -> tensor<1x3x8x8x!quant.any<u8:f32>>
  %xs = qnn.scaled_quantize %x {min = -1.0 : f32, max = 1.0 : f32, scheme = "symmetric", round_mode = "half_away_from_zero", reduce_range} : tensor<1x3x8x8xf32> -> tensor<1x3x8x8x!quant.any<i8:f32>>
  %y0 = qnn.scaled_conv2d %xq, %w bias(%bf : tensor<4xf32>) {pads = array<i64: 1, 1, 1, 1>, activation = "relu", input_min = 0.0 : f32, input_max = 1.0 : f32, weight_min = -1.0 : f32, weight_max = 1.0 : f32, output_min = 0.0 : f32, output_max = 6.0 : f32} : tensor<1x3x8x8x!quant.any<u8:f32>>, tensor<4x3x3x3x!quant.any<i8:f32>> -> tensor<1x4x8x8x!quant.any<u8:f32>>
  %y1 = qnn.scaled_conv2d %xq, %w bias(%bi : tensor<4xi32>) addend(%r : tensor<1x4x8x8x!quant.any<u8:f32>>) {pads = array<i64: 1, 1, 1, 1>, input_min = 0.0 : f32, input_max = 1.0 : f32, weight_min = -1.0 : f32, weight_max = 1.0 : f32, output_min = 0.0 : f32, output_max = 8.0 : f32, addend_min = 0.0 : f32, addend_max = 4.0 : f32, scheme = "symmetric_uint8"} : tensor<1x3x8x8x!quant.any<u8:f32>>, tensor<4x3x3x3x!quant.any<i8:f32>> -> tensor<1x4x8x8x!quant.any<u8:f32>>
  %y2 = qnn.scaled_conv2d %xq, %w {input_min = 0.0 : f32, input_max = 1.0 : f32, weight_min = -1.0 : f32, weight_max = 1.0 : f32} : tensor<1x3x8x8x!quant.any<u8:f32>>, tensor<4x3x3x3x!quant.any<i8:f32>> -> tensor<1x4x6x6xi32>
  %y = qnn.scaled_dequantize %y0 {min = 0.0 : f32, max = 6.0 : f32} : tensor<1x4x8x8x!quant.any<u8:f32>> -> tensor<1x4x8x8xf32>
  %d0 = qnn.scaled_dot %a, %m {input_min = -1.0 : f32, input_max = 1.0 : f32, weight_min = -1.0 : f32, weight_max = 1.0 : f32, output_min = -8.0 : f32, output_max = 8.0 : f32, scheme = "symmetric"} : tensor<2x16x!quant.any<i8:f32>>, tensor<16x4x!quant.any<i8:f32>> -> tensor<2x4x!quant.any<i8:f32>>
  %d1 = qnn.scaled_dot %a, %m bias(%bi : tensor<4xi32>) {input_min = -1.0 : f32, input_max = 1.0 : f32, weight_min = -0.5 : f32, weight_max = 0.5 : f32, activation = "clamp", clamp_min = 0.0 : f32, clamp_max = 6.0 : f32, output_min = 0.0 : f32, output_max = 6.0 : f32, scheme = "symmetric_pytorch"} : tensor<2x16x!quant.any<i8:f32>>, tensor<16x4x!quant.any<i8:f32>> -> tensor<2x4x!quant.any<i8:f32>>
  %cc = qnn.scaled_concat %c1, %c2 {axis = 0 : i64, input_mins = [-1.0 : f32, -2.0 : f32], input_maxs = [1.0 : f32, 2.0 : f32]} : (tensor<2x4x!quant.any<i8:f32>>, tensor<3x4x!quant.any<i8:f32>>) -> tensor<5x4x!quant.any<i8:f32>>
  %cd = qnn.scaled_concat %c1, %c2 {axis = 0 : i64, input_mins = [-1.0 : f32, -2.0 : f32], input_maxs = [1.0 : f32, 2.0 : f32], output_min = -4.0 : f32, output_max = 4.0 : f32, scheme = "symmetric"} : (tensor<2x4x!quant.any<i8:f32>>, tensor<3x4x!quant.any<i8:f32>>) -> tensor<5x4x!quant.any<i8:f32>>
  func.return
}

// Data movement: transpose moves a per-axis type's axis with its dimension; pad keeps the type,
// and so does a slice (which takes a per-axis type's quantized axis whole).
// CHECK-LABEL: func.func @movement(
// CHECK-NEXT: %t = qnn.transpose %w {permutation = array<i64: 1, 0>} : tensor<4x2x!quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.015,0.03}>> -> tensor<2x4x!quant.uniform<i8<-127:127>:f32:1, {0.01,0.02,0.015,0.03}>>
// CHECK-NEXT: %p = qnn.pad %x {low = array<i64: 0, 1>, high = array<i64: 2, 0>, value = 2.500000e-01 : f64} : tensor<2x3x!quant.uniform<u8:f32, 0.25:128>> -> tensor<4x4x!quant.uniform<u8:f32, 0.25:128>>
// CHECK-NEXT: %e = qnn.pad %f {low = array<i64: 1, 1>, high = array<i64: 1, 1>, mode = "reflect"} : tensor<2x3xf32> -> tensor<4x5xf32>
// CHECK-NEXT: %s = qnn.slice %w {starts = array<i64: 0, 1>, steps = array<i64: 1, -1>} : tensor<4x2x!quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.015,0.03}>> -> tensor<4x2x!quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.015,0.03}>>
// CHECK-NEXT: func.return
func.func @movement(%w: tensor<4x2x!wax0>, %x: tensor<2x3x!u8>, %f: tensor<2x3xf32>) {
  %t = qnn.transpose %w {permutation = array<i64: 1, 0>} : tensor<4x2x!wax0> -> tensor<2x4x!quant.uniform<i8<-127:127>:f32:1, {0.01,0.02,0.015,0.03}>>
  %p = qnn.pad %x {low = array<i64: 0, 1>, high = array<i64: 2, 0>, value = 0.25} : tensor<2x3x!u8> -> tensor<4x4x!u8>
  %e = qnn.pad %f {low = array<i64: 1, 1>, high = array<i64: 1, 1>, mode = "reflect"} : tensor<2x3xf32> -> tensor<4x5xf32>
  %s = qnn.slice %w {starts = array<i64: 0, 1>, steps = array<i64: 1, -1>} : tensor<4x2x!wax0> -> tensor<4x2x!wax0>
  func.return
}

// Gather at run-time indices (an embedding lookup): the indices' shape replaces the axis; a
// per-tensor quantized table keeps its type.
// CHECK-LABEL: func.func @gather(
// CHECK-NEXT: %ids = arith.constant dense<{{\[\[0, -1, 2\]\]}}> : tensor<1x3xi64>
// CHECK-NEXT: %e = qnn.gather %table, %ids {axis = 0 : i64} : tensor<4x2x!quant.uniform<u8:f32, 0.25:128>>, tensor<1x3xi64> -> tensor<1x3x2x!quant.uniform<u8:f32, 0.25:128>>
// CHECK-NEXT: %c = qnn.gather %f, %ids {axis = 1 : i64} : tensor<2x3xf32>, tensor<1x3xi64> -> tensor<2x1x3xf32>
// CHECK-NEXT: func.return
func.func @gather(%table: tensor<4x2x!u8>, %f: tensor<2x3xf32>) {
  %ids = arith.constant dense<[[0, -1, 2]]> : tensor<1x3xi64>
  %e = qnn.gather %table, %ids {axis = 0 : i64} : tensor<4x2x!u8>, tensor<1x3xi64> -> tensor<1x3x2x!u8>
  %c = qnn.gather %f, %ids {axis = 1 : i64} : tensor<2x3xf32>, tensor<1x3xi64> -> tensor<2x1x3xf32>
  func.return
}

// Booleans (an attention mask built at run time): i1 from an integer's `x != 0`, And/Or/Xor
// with broadcasting, Where as qnn.select (`merged`: ORT's Where, a chosen -0 becomes +0),
// Expand as qnn.broadcast.
// CHECK-LABEL: func.func @booleans(
// CHECK-NEXT: %b = qnn.cast %m : tensor<1x3xi64> -> tensor<1x3xi1>
// CHECK-NEXT: %rows = arith.constant dense<{{\[\[true\], \[false\]\]}}> : tensor<2x1xi1>
// CHECK-NEXT: %a = qnn.logical %b, %rows {kind = "and"} : tensor<1x3xi1>, tensor<2x1xi1> -> tensor<2x3xi1>
// CHECK-NEXT: %o = qnn.logical %a, %rows {kind = "or"} : tensor<2x3xi1>, tensor<2x1xi1> -> tensor<2x3xi1>
// CHECK-NEXT: %x = qnn.logical %o, %b {kind = "xor"} : tensor<2x3xi1>, tensor<1x3xi1> -> tensor<2x3xi1>
// CHECK-NEXT: %low = arith.constant dense<-3.40282347e+38> : tensor<f32>
// CHECK-NEXT: %s = qnn.select %x, %f, %low : tensor<2x3xi1>, tensor<2x3xf32>, tensor<f32> -> tensor<2x3xf32>
// CHECK-NEXT: %w = qnn.select %x, %f, %low {merged} : tensor<2x3xi1>, tensor<2x3xf32>, tensor<f32> -> tensor<2x3xf32>
// CHECK-NEXT: %e = qnn.broadcast %b : tensor<1x3xi1> -> tensor<2x2x3xi1>
// CHECK-NEXT: %r = qnn.cast %e : tensor<2x2x3xi1> -> tensor<2x2x3xf32>
// CHECK-NEXT: func.return
func.func @booleans(%m: tensor<1x3xi64>, %f: tensor<2x3xf32>) {
  %b = qnn.cast %m : tensor<1x3xi64> -> tensor<1x3xi1>
  %rows = arith.constant dense<[[true], [false]]> : tensor<2x1xi1>
  %a = qnn.logical %b, %rows {kind = "and"} : tensor<1x3xi1>, tensor<2x1xi1> -> tensor<2x3xi1>
  %o = qnn.logical %a, %rows {kind = "or"} : tensor<2x3xi1>, tensor<2x1xi1> -> tensor<2x3xi1>
  %x = qnn.logical %o, %b {kind = "xor"} : tensor<2x3xi1>, tensor<1x3xi1> -> tensor<2x3xi1>
  %low = arith.constant dense<-3.40282347E+38> : tensor<f32>
  %s = qnn.select %x, %f, %low : tensor<2x3xi1>, tensor<2x3xf32>, tensor<f32> -> tensor<2x3xf32>
  %w = qnn.select %x, %f, %low {merged} : tensor<2x3xi1>, tensor<2x3xf32>, tensor<f32> -> tensor<2x3xf32>
  %e = qnn.broadcast %b : tensor<1x3xi1> -> tensor<2x2x3xi1>
  %r = qnn.cast %e : tensor<2x2x3xi1> -> tensor<2x2x3xf32>
  func.return
}

// Integers at run time (RoBERTa's position ids): comparisons give i1, integer arithmetic wraps,
// running sums along an axis.
// CHECK-LABEL: func.func @integers(
// CHECK-NEXT: %pad = arith.constant dense<1> : tensor<i64>
// CHECK-NEXT: %keep = qnn.compare %ids, %pad {kind = "greater"} : tensor<2x3xi64>, tensor<i64> -> tensor<2x3xi1>
// CHECK-NEXT: %k = qnn.cast %keep : tensor<2x3xi1> -> tensor<2x3xi32>
// CHECK-NEXT: %c = qnn.cumsum %k {axis = 1 : i64} : tensor<2x3xi32> -> tensor<2x3xi32>
// CHECK-NEXT: %r = qnn.cumsum %k {axis = 0 : i64, exclusive, reverse} : tensor<2x3xi32> -> tensor<2x3xi32>
// CHECK-NEXT: %m = qnn.integer_binary %c, %k {kind = "mul"} : tensor<2x3xi32>, tensor<2x3xi32> -> tensor<2x3xi32>
// CHECK-NEXT: %w = qnn.cast %m : tensor<2x3xi32> -> tensor<2x3xi64>
// CHECK-NEXT: %p = qnn.integer_binary %w, %pad {kind = "add"} : tensor<2x3xi64>, tensor<i64> -> tensor<2x3xi64>
// CHECK-NEXT: %f = qnn.cumsum %x {axis = 1 : i64} : tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %e = qnn.compare %f, %x {kind = "less_equal"} : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xi1>
// CHECK-NEXT: func.return
func.func @integers(%ids: tensor<2x3xi64>, %x: tensor<2x3xf32>) {
  %pad = arith.constant dense<1> : tensor<i64>
  %keep = qnn.compare %ids, %pad {kind = "greater"} : tensor<2x3xi64>, tensor<i64> -> tensor<2x3xi1>
  %k = qnn.cast %keep : tensor<2x3xi1> -> tensor<2x3xi32>
  %c = qnn.cumsum %k {axis = 1 : i64} : tensor<2x3xi32> -> tensor<2x3xi32>
  %r = qnn.cumsum %k {axis = 0 : i64, exclusive, reverse} : tensor<2x3xi32> -> tensor<2x3xi32>
  %m = qnn.integer_binary %c, %k {kind = "mul"} : tensor<2x3xi32>, tensor<2x3xi32> -> tensor<2x3xi32>
  %w = qnn.cast %m : tensor<2x3xi32> -> tensor<2x3xi64>
  %p = qnn.integer_binary %w, %pad {kind = "add"} : tensor<2x3xi64>, tensor<i64> -> tensor<2x3xi64>
  %f = qnn.cumsum %x {axis = 1 : i64} : tensor<2x3xf32> -> tensor<2x3xf32>
  %e = qnn.compare %f, %x {kind = "less_equal"} : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xi1>
  func.return
}

// Class maps: ArgMax / ArgMin of float32, integer and quantized tensors, keeping the axis or not.
// CHECK-LABEL: func.func @class_maps(
// CHECK-NEXT: %a = qnn.arg_reduce %x {kind = "max", axis = 1 : i64} : tensor<2x3xf32> -> tensor<2x1xi64>
// CHECK-NEXT: %b = qnn.arg_reduce %ids {kind = "min", axis = 0 : i64, select_last_index} : tensor<2x3xi64> -> tensor<3xi64>
// CHECK-NEXT: %c = qnn.arg_reduce %q {kind = "max", axis = 1 : i64} : tensor<1x4x2x2x!quant.uniform<u8:f32, 0.25:128>> -> tensor<1x2x2xi64>
// CHECK-NEXT: func.return
func.func @class_maps(%x: tensor<2x3xf32>, %ids: tensor<2x3xi64>, %q: tensor<1x4x2x2x!quant.uniform<u8:f32, 0.25:128>>) {
  %a = qnn.arg_reduce %x {kind = "max", axis = 1 : i64} : tensor<2x3xf32> -> tensor<2x1xi64>
  %b = qnn.arg_reduce %ids {kind = "min", axis = 0 : i64, select_last_index} : tensor<2x3xi64> -> tensor<3xi64>
  %c = qnn.arg_reduce %q {kind = "max", axis = 1 : i64} : tensor<1x4x2x2x!quant.uniform<u8:f32, 0.25:128>> -> tensor<1x2x2xi64>
  func.return
}

// TopK: the k best values and their indices, largest or smallest, of float32 and quantized
// tensors.
// CHECK-LABEL: func.func @top_k(
// CHECK-NEXT: %v, %i = qnn.top_k %x {k = 2 : i64, axis = 1 : i64} : tensor<2x3xf32> -> tensor<2x2xf32>, tensor<2x2xi64>
// CHECK-NEXT: %w, %j = qnn.top_k %q {k = 1 : i64, axis = 0 : i64, smallest} : tensor<4x2x!quant.uniform<u8:f32, 0.25:128>> -> tensor<1x2x!quant.uniform<u8:f32, 0.25:128>>, tensor<1x2xi64>
// CHECK-NEXT: func.return
func.func @top_k(%x: tensor<2x3xf32>, %q: tensor<4x2x!quant.uniform<u8:f32, 0.25:128>>) {
  %v, %i = qnn.top_k %x {k = 2 : i64, axis = 1 : i64} : tensor<2x3xf32> -> tensor<2x2xf32>, tensor<2x2xi64>
  %w, %j = qnn.top_k %q {k = 1 : i64, axis = 0 : i64, smallest} : tensor<4x2x!quant.uniform<u8:f32, 0.25:128>> -> tensor<1x2x!quant.uniform<u8:f32, 0.25:128>>, tensor<1x2xi64>
  func.return
}

// Bilinear Resize of NCHW images: float32, or the stored values of an 8-bit quantized tensor;
// cubic Resize of float32 ones.
// CHECK-LABEL: func.func @resize(
// CHECK-NEXT: %f = qnn.resize_bilinear %x {mode = "half_pixel", scale_h = 2.500000e+00 : f32, scale_w = 1.500000e+00 : f32} : tensor<1x2x2x4xf32> -> tensor<1x2x5x6xf32>
// CHECK-NEXT: %q = qnn.resize_bilinear %u {mode = "align_corners", scale_h = 2.000000e+00 : f32, scale_w = 2.000000e+00 : f32} : tensor<1x1x3x3x!quant.uniform<u8:f32, 0.25:128>> -> tensor<1x1x6x6x!quant.uniform<u8:f32, 0.25:128>>
// CHECK-NEXT: %c = qnn.resize_cubic %x {mode = "asymmetric", scale_h = 2.000000e+00 : f32, scale_w = 7.500000e-01 : f32, cubic_coeff_a = -5.000000e-01 : f32, exclude_outside} : tensor<1x2x2x4xf32> -> tensor<1x2x4x3xf32>
// CHECK-NEXT: func.return
func.func @resize(%x: tensor<1x2x2x4xf32>, %u: tensor<1x1x3x3x!u8>) {
  %f = qnn.resize_bilinear %x {mode = "half_pixel", scale_h = 2.5 : f32, scale_w = 1.5 : f32} : tensor<1x2x2x4xf32> -> tensor<1x2x5x6xf32>
  %q = qnn.resize_bilinear %u {mode = "align_corners", scale_h = 2.0 : f32, scale_w = 2.0 : f32} : tensor<1x1x3x3x!u8> -> tensor<1x1x6x6x!u8>
  %c = qnn.resize_cubic %x {mode = "asymmetric", scale_h = 2.0 : f32, scale_w = 0.75 : f32, cubic_coeff_a = -0.5 : f32, exclude_outside} : tensor<1x2x2x4xf32> -> tensor<1x2x4x3xf32>
  func.return
}

// GridSample of an NCHW float32 image at an [N, Ho, Wo, 2] grid.
// CHECK-LABEL: func.func @grid_sample(
// CHECK-NEXT: %y = qnn.grid_sample %x, %g {mode = "cubic", padding_mode = "reflection", align_corners} : tensor<1x2x4x5xf32>, tensor<1x3x3x2xf32> -> tensor<1x2x3x3xf32>
func.func @grid_sample(%x: tensor<1x2x4x5xf32>, %g: tensor<1x3x3x2xf32>) -> tensor<1x2x3x3xf32> {
  %y = qnn.grid_sample %x, %g {mode = "cubic", padding_mode = "reflection", align_corners} : tensor<1x2x4x5xf32>, tensor<1x3x3x2xf32> -> tensor<1x2x3x3xf32>
  func.return %y : tensor<1x2x3x3xf32>
}

// Observation (calibration): extremes, and counts by numpy's edges rule and by torch.histc's
// linear rule (the default rule is elided).
// CHECK-LABEL: func.func @observation(
// CHECK-NEXT: %s = qnn.observe %x : tensor<2x3xf32> -> tensor<5xf32>
// CHECK-NEXT: %h = qnn.histogram %x {edges = dense<[-1.000000e+00, 0.000000e+00, 2.500000e-01, 1.000000e+00]> : tensor<4xf32>} : tensor<2x3xf32> -> tensor<3xi64>
// CHECK-NEXT: %l = qnn.histogram %x {edges = dense<[0.000000e+00, 2.000000e+00]> : tensor<2xf32>, rule = "linear", absolute} : tensor<2x3xf32> -> tensor<8xi64>
// CHECK-NEXT: func.return %s, %h, %l : tensor<5xf32>, tensor<3xi64>, tensor<8xi64>
func.func @observation(%x: tensor<2x3xf32>) -> (tensor<5xf32>, tensor<3xi64>, tensor<8xi64>) {
  %s = qnn.observe %x : tensor<2x3xf32> -> tensor<5xf32>
  %h = qnn.histogram %x {edges = dense<[-1.0, 0.0, 0.25, 1.0]> : tensor<4xf32>, rule = "edges"} : tensor<2x3xf32> -> tensor<3xi64>
  %l = qnn.histogram %x {edges = dense<[0.0, 2.0]> : tensor<2xf32>, rule = "linear", absolute} : tensor<2x3xf32> -> tensor<8xi64>
  func.return %s, %h, %l : tensor<5xf32>, tensor<3xi64>, tensor<8xi64>
}

// Weight-only dot: a float input, u4 weights in blocks of 2 rows along K.
// CHECK-LABEL: func.func @weight_only(
// CHECK-NEXT: %y = qnn.weight_only_dot %x, %w bias(%b : tensor<2xf32>) : tensor<1x4xf32>, tensor<4x2x!quant.uniform<u4:f32:{0:2, 1:1}, {{[{][{]}}0.5:-8, 0.25:7}, {1.0, 0.125:-1{{[}][}]}}>> -> tensor<1x2xf32>
func.func @weight_only(%x: tensor<1x4xf32>, %w: tensor<4x2x!quant.uniform<u4:f32:{0:2, 1:1}, {{0.5:8, 0.25:7}, {1.0:0, 0.125:15}}>>, %b: tensor<2xf32>) -> tensor<1x2xf32> {
  %y = qnn.weight_only_dot %x, %w bias(%b : tensor<2xf32>) : tensor<1x4xf32>, tensor<4x2x!quant.uniform<u4:f32:{0:2, 1:1}, {{0.5:8, 0.25:7}, {1.0:0, 0.125:15}}>> -> tensor<1x2xf32>
  func.return %y : tensor<1x2xf32>
}

// ConvTranspose's scatter-add: defaults (strides and dilations 1, no pads) are elided.
// CHECK-LABEL: func.func @col2im(
// CHECK-NEXT: %y = qnn.col2im %col {strides = array<i64: 2, 2>, pads_begin = array<i64: 1, 1>} : tensor<4x3x3x5x5xf32> -> tensor<4x9x9xf32>
// CHECK-NEXT: %z = qnn.col2im %col : tensor<4x3x3x5x5xf32> -> tensor<4x7x7xf32>
// CHECK-NEXT: func.return %y, %z : tensor<4x9x9xf32>, tensor<4x7x7xf32>
func.func @col2im(%col: tensor<4x3x3x5x5xf32>) -> (tensor<4x9x9xf32>, tensor<4x7x7xf32>) {
  %y = qnn.col2im %col {strides = array<i64: 2, 2>, dilations = array<i64: 1, 1>, pads_begin = array<i64: 1, 1>} : tensor<4x3x3x5x5xf32> -> tensor<4x9x9xf32>
  %z = qnn.col2im %col : tensor<4x3x3x5x5xf32> -> tensor<4x7x7xf32>
  func.return %y, %z : tensor<4x9x9xf32>, tensor<4x7x7xf32>
}
