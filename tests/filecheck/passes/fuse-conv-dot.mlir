// RUN: qopt %s -p fuse-conv-dot --split-input-file | filecheck %s
// RUN: qopt %s -p fuse-conv-dot,fuse-conv-dot --split-input-file | filecheck %s

// fuse-conv-dot: a conv2d/dot whose result has a single user absorbs the relu / clamp / add
// after it. A quantized add becomes an addend with `intermediate` = the conv's own result type;
// a float constant added along the channel becomes the bias operand. The second RUN line
// checks that a second application changes nothing.

// conv -> relu (quantized).
// CHECK-LABEL: func.func @conv_relu(
// CHECK-SAME: %x: tensor<1x2x4x4x!quant.uniform<i8:f32, 0.05:-10>>, %w: tensor<3x2x3x3x!quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>>, %b: tensor<3xi32>) -> tensor<1x3x2x2x!quant.uniform<i8:f32, 0.1:-128>> {
// CHECK-NEXT: %[[C:[^ ,]+]] = qnn.conv2d %x, %w bias(%b : tensor<3xi32>) {activation = "relu"} : tensor<1x2x4x4x!quant.uniform<i8:f32, 0.05:-10>>, tensor<3x2x3x3x!quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>> -> tensor<1x3x2x2x!quant.uniform<i8:f32, 0.1:-128>>
// CHECK-NEXT: func.return %[[C]] : tensor<1x3x2x2x!quant.uniform<i8:f32, 0.1:-128>>
// CHECK-NOT: qnn.relu
!x = !quant.uniform<i8:f32, 0.05:-10>
!w = !quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>
!y = !quant.uniform<i8:f32, 0.1:-128>
func.func @conv_relu(%x: tensor<1x2x4x4x!x>, %w: tensor<3x2x3x3x!w>, %b: tensor<3xi32>) -> tensor<1x3x2x2x!y> {
  %c = qnn.conv2d %x, %w bias(%b : tensor<3xi32>) : tensor<1x2x4x4x!x>, tensor<3x2x3x3x!w> -> tensor<1x3x2x2x!y>
  %r = qnn.relu %c : tensor<1x3x2x2x!y> -> tensor<1x3x2x2x!y>
  func.return %r : tensor<1x3x2x2x!y>
}

// -----

// conv -> clamp: the bounds move to clamp_min / clamp_max.
// CHECK-LABEL: func.func @conv_clamp(
// CHECK-SAME: %x: tensor<1x2x4x4x!quant.uniform<i8:f32, 0.05:-10>>, %w: tensor<3x2x3x3x!quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>>) -> tensor<1x3x2x2x!quant.uniform<i8:f32, 0.1:-128>> {
// CHECK-NEXT: %[[C:[^ ,]+]] = qnn.conv2d %x, %w {activation = "clamp", clamp_min = 0.000000e+00 : f32, clamp_max = 6.000000e+00 : f32} : tensor<1x2x4x4x!quant.uniform<i8:f32, 0.05:-10>>, tensor<3x2x3x3x!quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>> -> tensor<1x3x2x2x!quant.uniform<i8:f32, 0.1:-128>>
// CHECK-NEXT: func.return %[[C]] : tensor<1x3x2x2x!quant.uniform<i8:f32, 0.1:-128>>
// CHECK-NOT: qnn.clamp
!x = !quant.uniform<i8:f32, 0.05:-10>
!w = !quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>
!y = !quant.uniform<i8:f32, 0.1:-128>
func.func @conv_clamp(%x: tensor<1x2x4x4x!x>, %w: tensor<3x2x3x3x!w>) -> tensor<1x3x2x2x!y> {
  %c = qnn.conv2d %x, %w : tensor<1x2x4x4x!x>, tensor<3x2x3x3x!w> -> tensor<1x3x2x2x!y>
  %r = qnn.clamp %c {min = 0.0 : f32, max = 6.0 : f32} : tensor<1x3x2x2x!y> -> tensor<1x3x2x2x!y>
  func.return %r : tensor<1x3x2x2x!y>
}

// -----

// dot -> relu.
// CHECK-LABEL: func.func @dot_relu(
// CHECK-SAME: %a: tensor<2x16x!quant.uniform<i8:f32, 0.05:-10>>, %w: tensor<16x3x!quant.uniform<i8<-127:127>:f32:1, {0.005,0.006,0.007}>>) -> tensor<2x3x!quant.uniform<i8:f32, 0.1:-128>> {
// CHECK-NEXT: %[[D:[^ ,]+]] = qnn.dot %a, %w {activation = "relu"} : tensor<2x16x!quant.uniform<i8:f32, 0.05:-10>>, tensor<16x3x!quant.uniform<i8<-127:127>:f32:1, {0.005,0.006,0.007}>> -> tensor<2x3x!quant.uniform<i8:f32, 0.1:-128>>
// CHECK-NEXT: func.return %[[D]] : tensor<2x3x!quant.uniform<i8:f32, 0.1:-128>>
// CHECK-NOT: qnn.relu
!a = !quant.uniform<i8:f32, 0.05:-10>
!w = !quant.uniform<i8<-127:127>:f32:1, {0.005,0.006,0.007}>
!y = !quant.uniform<i8:f32, 0.1:-128>
func.func @dot_relu(%a: tensor<2x16x!a>, %w: tensor<16x3x!w>) -> tensor<2x3x!y> {
  %d = qnn.dot %a, %w : tensor<2x16x!a>, tensor<16x3x!w> -> tensor<2x3x!y>
  %r = qnn.relu %d : tensor<2x3x!y> -> tensor<2x3x!y>
  func.return %r : tensor<2x3x!y>
}

// -----

// conv -> add (quantized): the add's rhs becomes the addend, the add's type the result type
// and the conv's result type the intermediate.
// CHECK-LABEL: func.func @conv_add(
// CHECK-SAME: %x: tensor<1x2x4x4x!quant.uniform<i8:f32, 0.05:-10>>, %w: tensor<3x2x3x3x!quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>>, %b: tensor<3xi32>, %r: tensor<1x3x2x2x!quant.uniform<u8:f32, 0.2:120>>) -> tensor<1x3x2x2x!quant.uniform<i8:f32, 0.25:3>> {
// CHECK-NEXT: %[[S:[^ ,]+]] = qnn.conv2d %x, %w bias(%b : tensor<3xi32>) addend(%r : tensor<1x3x2x2x!quant.uniform<u8:f32, 0.2:120>>) {intermediate = !quant.uniform<i8:f32, 0.1:-128>} : tensor<1x2x4x4x!quant.uniform<i8:f32, 0.05:-10>>, tensor<3x2x3x3x!quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>> -> tensor<1x3x2x2x!quant.uniform<i8:f32, 0.25:3>>
// CHECK-NEXT: func.return %[[S]] : tensor<1x3x2x2x!quant.uniform<i8:f32, 0.25:3>>
// CHECK-NOT: qnn.add
!x = !quant.uniform<i8:f32, 0.05:-10>
!w = !quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>
!y = !quant.uniform<i8:f32, 0.1:-128>
!res = !quant.uniform<u8:f32, 0.2:120>
!out = !quant.uniform<i8:f32, 0.25:3>
func.func @conv_add(%x: tensor<1x2x4x4x!x>, %w: tensor<3x2x3x3x!w>, %b: tensor<3xi32>, %r: tensor<1x3x2x2x!res>) -> tensor<1x3x2x2x!out> {
  %c = qnn.conv2d %x, %w bias(%b : tensor<3xi32>) : tensor<1x2x4x4x!x>, tensor<3x2x3x3x!w> -> tensor<1x3x2x2x!y>
  %s = qnn.add %c, %r : tensor<1x3x2x2x!y>, tensor<1x3x2x2x!res> -> tensor<1x3x2x2x!out>
  func.return %s : tensor<1x3x2x2x!out>
}

// -----

// conv -> add -> relu: both fuse.
// CHECK-LABEL: func.func @conv_add_relu(
// CHECK-SAME: %x: tensor<1x2x4x4x!quant.uniform<i8:f32, 0.05:-10>>, %w: tensor<3x2x3x3x!quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>>, %r: tensor<1x3x2x2x!quant.uniform<u8:f32, 0.2:120>>) -> tensor<1x3x2x2x!quant.uniform<i8:f32, 0.25:3>> {
// CHECK-NEXT: %[[S:[^ ,]+]] = qnn.conv2d %x, %w addend(%r : tensor<1x3x2x2x!quant.uniform<u8:f32, 0.2:120>>) {intermediate = !quant.uniform<i8:f32, 0.1:-128>, activation = "relu"} : tensor<1x2x4x4x!quant.uniform<i8:f32, 0.05:-10>>, tensor<3x2x3x3x!quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>> -> tensor<1x3x2x2x!quant.uniform<i8:f32, 0.25:3>>
// CHECK-NEXT: func.return %[[S]] : tensor<1x3x2x2x!quant.uniform<i8:f32, 0.25:3>>
// CHECK-NOT: qnn.add
// CHECK-NOT: qnn.relu
!x = !quant.uniform<i8:f32, 0.05:-10>
!w = !quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>
!y = !quant.uniform<i8:f32, 0.1:-128>
!res = !quant.uniform<u8:f32, 0.2:120>
!out = !quant.uniform<i8:f32, 0.25:3>
func.func @conv_add_relu(%x: tensor<1x2x4x4x!x>, %w: tensor<3x2x3x3x!w>, %r: tensor<1x3x2x2x!res>) -> tensor<1x3x2x2x!out> {
  %c = qnn.conv2d %x, %w : tensor<1x2x4x4x!x>, tensor<3x2x3x3x!w> -> tensor<1x3x2x2x!y>
  %s = qnn.add %c, %r : tensor<1x3x2x2x!y>, tensor<1x3x2x2x!res> -> tensor<1x3x2x2x!out>
  %a = qnn.relu %s : tensor<1x3x2x2x!out> -> tensor<1x3x2x2x!out>
  func.return %a : tensor<1x3x2x2x!out>
}

// -----

// float conv + constant broadcast along the channels -> bias operand.
// CHECK-LABEL: func.func @float_conv_bias_add(
// CHECK-SAME: %x: tensor<1x2x4x4xf32>, %w: tensor<3x2x3x3xf32>) -> tensor<1x3x2x2xf32> {
// CHECK-NEXT: %[[V0:[^ ,]+]] = arith.constant dense<[5.000000e-01, -2.500000e-01, 1.000000e+00]> : tensor<3xf32>
// CHECK-NEXT: %[[C:[^ ,]+]] = qnn.conv2d %x, %w bias(%[[V0]] : tensor<3xf32>) : tensor<1x2x4x4xf32>, tensor<3x2x3x3xf32> -> tensor<1x3x2x2xf32>
// CHECK-NEXT: func.return %[[C]] : tensor<1x3x2x2xf32>
// CHECK-NOT: qnn.add
// CHECK-NOT: tensor<1x3x1x1xf32>
func.func @float_conv_bias_add(%x: tensor<1x2x4x4xf32>, %w: tensor<3x2x3x3xf32>) -> tensor<1x3x2x2xf32> {
  %k = arith.constant dense<[[[[0.5]], [[-0.25]], [[1.0]]]]> : tensor<1x3x1x1xf32>
  %c = qnn.conv2d %x, %w : tensor<1x2x4x4xf32>, tensor<3x2x3x3xf32> -> tensor<1x3x2x2xf32>
  %s = qnn.add %c, %k : tensor<1x3x2x2xf32>, tensor<1x3x1x1xf32> -> tensor<1x3x2x2xf32>
  func.return %s : tensor<1x3x2x2xf32>
}

// -----

// float conv, nhwc: the channel is the last axis.
// CHECK-LABEL: func.func @float_conv_nhwc_bias(
// CHECK-SAME: %x: tensor<1x4x4x2xf32>, %w: tensor<3x3x3x2xf32>) -> tensor<1x2x2x3xf32> {
// CHECK-NEXT: %[[V0:[^ ,]+]] = arith.constant dense<[5.000000e-01, -2.500000e-01, 1.000000e+00]> : tensor<3xf32>
// CHECK-NEXT: %[[C:[^ ,]+]] = qnn.conv2d %x, %w bias(%[[V0]] : tensor<3xf32>) {layout = "nhwc"} : tensor<1x4x4x2xf32>, tensor<3x3x3x2xf32> -> tensor<1x2x2x3xf32>
// CHECK-NEXT: func.return %[[C]] : tensor<1x2x2x3xf32>
// CHECK-NOT: qnn.add
func.func @float_conv_nhwc_bias(%x: tensor<1x4x4x2xf32>, %w: tensor<3x3x3x2xf32>) -> tensor<1x2x2x3xf32> {
  %k = arith.constant dense<[0.5, -0.25, 1.0]> : tensor<3xf32>
  %c = qnn.conv2d %x, %w {layout = "nhwc"} : tensor<1x4x4x2xf32>, tensor<3x3x3x2xf32> -> tensor<1x2x2x3xf32>
  %s = qnn.add %c, %k : tensor<1x2x2x3xf32>, tensor<3xf32> -> tensor<1x2x2x3xf32>
  func.return %s : tensor<1x2x2x3xf32>
}

// -----

// float dot + bias vector -> bias, then relu.
// CHECK-LABEL: func.func @float_dot_bias_add_relu(
// CHECK-SAME: %a: tensor<2x16xf32>, %w: tensor<16x3xf32>) -> tensor<2x3xf32> {
// CHECK-NEXT: %[[V0:[^ ,]+]] = arith.constant dense<[5.000000e-01, -2.500000e-01, 1.000000e+00]> : tensor<3xf32>
// CHECK-NEXT: %[[D:[^ ,]+]] = qnn.dot %a, %w bias(%[[V0]] : tensor<3xf32>) {activation = "relu"} : tensor<2x16xf32>, tensor<16x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: func.return %[[D]] : tensor<2x3xf32>
// CHECK-NOT: qnn.add
// CHECK-NOT: qnn.relu
func.func @float_dot_bias_add_relu(%a: tensor<2x16xf32>, %w: tensor<16x3xf32>) -> tensor<2x3xf32> {
  %k = arith.constant dense<[0.5, -0.25, 1.0]> : tensor<3xf32>
  %d = qnn.dot %a, %w : tensor<2x16xf32>, tensor<16x3xf32> -> tensor<2x3xf32>
  %s = qnn.add %d, %k : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xf32>
  %r = qnn.relu %s : tensor<2x3xf32> -> tensor<2x3xf32>
  func.return %r : tensor<2x3xf32>
}

// -----

// float conv + same-shape float value -> float addend (no intermediate).
// CHECK-LABEL: func.func @float_conv_add_addend(
// CHECK-SAME: %x: tensor<1x2x4x4xf32>, %w: tensor<3x2x3x3xf32>, %r: tensor<1x3x2x2xf32>) -> tensor<1x3x2x2xf32> {
// CHECK-NEXT: %[[S:[^ ,]+]] = qnn.conv2d %x, %w addend(%r : tensor<1x3x2x2xf32>) : tensor<1x2x4x4xf32>, tensor<3x2x3x3xf32> -> tensor<1x3x2x2xf32>
// CHECK-NEXT: func.return %[[S]] : tensor<1x3x2x2xf32>
// CHECK-NOT: qnn.add
// CHECK-NOT: intermediate
func.func @float_conv_add_addend(%x: tensor<1x2x4x4xf32>, %w: tensor<3x2x3x3xf32>, %r: tensor<1x3x2x2xf32>) -> tensor<1x3x2x2xf32> {
  %c = qnn.conv2d %x, %w : tensor<1x2x4x4xf32>, tensor<3x2x3x3xf32> -> tensor<1x3x2x2xf32>
  %s = qnn.add %c, %r : tensor<1x3x2x2xf32>, tensor<1x3x2x2xf32> -> tensor<1x3x2x2xf32>
  func.return %s : tensor<1x3x2x2xf32>
}

// -----

// Must not fire: the conv result has a second user.
// CHECK-LABEL: func.func @no_fuse_two_users(
// CHECK-SAME: %x: tensor<1x2x4x4x!quant.uniform<i8:f32, 0.05:-10>>, %w: tensor<3x2x3x3x!quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>>) -> (tensor<1x3x2x2x!quant.uniform<i8:f32, 0.1:-128>>, tensor<1x3x2x2x!quant.uniform<i8:f32, 0.1:-128>>) {
// CHECK-NEXT: %[[C:[^ ,]+]] = qnn.conv2d %x, %w : tensor<1x2x4x4x!quant.uniform<i8:f32, 0.05:-10>>, tensor<3x2x3x3x!quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>> -> tensor<1x3x2x2x!quant.uniform<i8:f32, 0.1:-128>>
// CHECK-NEXT: %[[R:[^ ,]+]] = qnn.relu %[[C]] : tensor<1x3x2x2x!quant.uniform<i8:f32, 0.1:-128>> -> tensor<1x3x2x2x!quant.uniform<i8:f32, 0.1:-128>>
// CHECK-NEXT: func.return %[[R]], %[[C]] : tensor<1x3x2x2x!quant.uniform<i8:f32, 0.1:-128>>, tensor<1x3x2x2x!quant.uniform<i8:f32, 0.1:-128>>
// CHECK-NOT: activation
!x = !quant.uniform<i8:f32, 0.05:-10>
!w = !quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>
!y = !quant.uniform<i8:f32, 0.1:-128>
func.func @no_fuse_two_users(%x: tensor<1x2x4x4x!x>, %w: tensor<3x2x3x3x!w>) -> (tensor<1x3x2x2x!y>, tensor<1x3x2x2x!y>) {
  %c = qnn.conv2d %x, %w : tensor<1x2x4x4x!x>, tensor<3x2x3x3x!w> -> tensor<1x3x2x2x!y>
  %r = qnn.relu %c : tensor<1x3x2x2x!y> -> tensor<1x3x2x2x!y>
  func.return %r, %c : tensor<1x3x2x2x!y>, tensor<1x3x2x2x!y>
}

// -----

// Must not fire: the conv already has an activation; the add comes after it.
// CHECK-LABEL: func.func @no_fuse_add_after_activation(
// CHECK-SAME: %x: tensor<1x2x4x4x!quant.uniform<i8:f32, 0.05:-10>>, %w: tensor<3x2x3x3x!quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>>, %r: tensor<1x3x2x2x!quant.uniform<u8:f32, 0.2:120>>) -> tensor<1x3x2x2x!quant.uniform<i8:f32, 0.25:3>> {
// CHECK-NEXT: %[[C:[^ ,]+]] = qnn.conv2d %x, %w {activation = "relu"} : tensor<1x2x4x4x!quant.uniform<i8:f32, 0.05:-10>>, tensor<3x2x3x3x!quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>> -> tensor<1x3x2x2x!quant.uniform<i8:f32, 0.1:-128>>
// CHECK-NEXT: %[[S:[^ ,]+]] = qnn.add %[[C]], %r : tensor<1x3x2x2x!quant.uniform<i8:f32, 0.1:-128>>, tensor<1x3x2x2x!quant.uniform<u8:f32, 0.2:120>> -> tensor<1x3x2x2x!quant.uniform<i8:f32, 0.25:3>>
// CHECK-NEXT: func.return %[[S]] : tensor<1x3x2x2x!quant.uniform<i8:f32, 0.25:3>>
// CHECK-NOT: addend(
!x = !quant.uniform<i8:f32, 0.05:-10>
!w = !quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>
!y = !quant.uniform<i8:f32, 0.1:-128>
!res = !quant.uniform<u8:f32, 0.2:120>
!out = !quant.uniform<i8:f32, 0.25:3>
func.func @no_fuse_add_after_activation(%x: tensor<1x2x4x4x!x>, %w: tensor<3x2x3x3x!w>, %r: tensor<1x3x2x2x!res>) -> tensor<1x3x2x2x!out> {
  %c = qnn.conv2d %x, %w {activation = "relu"} : tensor<1x2x4x4x!x>, tensor<3x2x3x3x!w> -> tensor<1x3x2x2x!y>
  %s = qnn.add %c, %r : tensor<1x3x2x2x!y>, tensor<1x3x2x2x!res> -> tensor<1x3x2x2x!out>
  func.return %s : tensor<1x3x2x2x!out>
}

// -----

// Must not fire: broadcasting add (rhs shape differs from the result's).
// CHECK-LABEL: func.func @no_fuse_broadcast_rhs(
// CHECK-SAME: %x: tensor<1x2x4x4x!quant.uniform<i8:f32, 0.05:-10>>, %w: tensor<3x2x3x3x!quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>>, %r: tensor<1x3x1x1x!quant.uniform<u8:f32, 0.2:120>>) -> tensor<1x3x2x2x!quant.uniform<i8:f32, 0.25:3>> {
// CHECK-NEXT: %[[C:[^ ,]+]] = qnn.conv2d %x, %w : tensor<1x2x4x4x!quant.uniform<i8:f32, 0.05:-10>>, tensor<3x2x3x3x!quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>> -> tensor<1x3x2x2x!quant.uniform<i8:f32, 0.1:-128>>
// CHECK-NEXT: %[[S:[^ ,]+]] = qnn.add %[[C]], %r : tensor<1x3x2x2x!quant.uniform<i8:f32, 0.1:-128>>, tensor<1x3x1x1x!quant.uniform<u8:f32, 0.2:120>> -> tensor<1x3x2x2x!quant.uniform<i8:f32, 0.25:3>>
// CHECK-NEXT: func.return %[[S]] : tensor<1x3x2x2x!quant.uniform<i8:f32, 0.25:3>>
// CHECK-NOT: addend(
!x = !quant.uniform<i8:f32, 0.05:-10>
!w = !quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>
!y = !quant.uniform<i8:f32, 0.1:-128>
!res = !quant.uniform<u8:f32, 0.2:120>
!out = !quant.uniform<i8:f32, 0.25:3>
func.func @no_fuse_broadcast_rhs(%x: tensor<1x2x4x4x!x>, %w: tensor<3x2x3x3x!w>, %r: tensor<1x3x1x1x!res>) -> tensor<1x3x2x2x!out> {
  %c = qnn.conv2d %x, %w : tensor<1x2x4x4x!x>, tensor<3x2x3x3x!w> -> tensor<1x3x2x2x!y>
  %s = qnn.add %c, %r : tensor<1x3x2x2x!y>, tensor<1x3x1x1x!res> -> tensor<1x3x2x2x!out>
  func.return %s : tensor<1x3x2x2x!out>
}

// -----

// Must not fire: a float constant that varies spatially is not a per-channel bias.
// CHECK-LABEL: func.func @no_fold_spatial_constant(
// CHECK-SAME: %x: tensor<1x2x4x4xf32>, %w: tensor<3x2x3x3xf32>) -> tensor<1x3x2x2xf32> {
// CHECK-NEXT: %[[K:[^ ,]+]] = arith.constant dense<{{\[\[}}{{\[\[}}5.000000e-01, 1.000000e+00], [1.500000e+00, 2.000000e+00]]]]> : tensor<1x1x2x2xf32>
// CHECK-NEXT: %[[C:[^ ,]+]] = qnn.conv2d %x, %w : tensor<1x2x4x4xf32>, tensor<3x2x3x3xf32> -> tensor<1x3x2x2xf32>
// CHECK-NEXT: %[[S:[^ ,]+]] = qnn.add %[[C]], %[[K]] : tensor<1x3x2x2xf32>, tensor<1x1x2x2xf32> -> tensor<1x3x2x2xf32>
// CHECK-NEXT: func.return %[[S]] : tensor<1x3x2x2xf32>
// CHECK-NOT: bias(
func.func @no_fold_spatial_constant(%x: tensor<1x2x4x4xf32>, %w: tensor<3x2x3x3xf32>) -> tensor<1x3x2x2xf32> {
  %k = arith.constant dense<[[[[0.5, 1.0], [1.5, 2.0]]]]> : tensor<1x1x2x2xf32>
  %c = qnn.conv2d %x, %w : tensor<1x2x4x4xf32>, tensor<3x2x3x3xf32> -> tensor<1x3x2x2xf32>
  %s = qnn.add %c, %k : tensor<1x3x2x2xf32>, tensor<1x1x2x2xf32> -> tensor<1x3x2x2xf32>
  func.return %s : tensor<1x3x2x2xf32>
}

// -----

// add(r, conv): the conv on the right fuses too; `addend_first` records that the addend is the
// add's first operand (QLinearAdd rounds a*ra + (b*rb + k), not symmetric).
// CHECK-LABEL: func.func @add_residual_conv(
// CHECK-NEXT: %[[S:[^ ,]+]] = qnn.conv2d %x, %w addend(%r : tensor<1x3x2x2x!quant.uniform<u8:f32, 0.2:120>>) {intermediate = !quant.uniform<i8:f32, 0.1:-128>, addend_first} : tensor<1x2x4x4x!quant.uniform<i8:f32, 0.05:-10>>, tensor<3x2x3x3x!quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>> -> tensor<1x3x2x2x!quant.uniform<i8:f32, 0.25:3>>
// CHECK-NEXT: func.return %[[S]]
!x = !quant.uniform<i8:f32, 0.05:-10>
!w = !quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>
!y = !quant.uniform<i8:f32, 0.1:-128>
!res = !quant.uniform<u8:f32, 0.2:120>
!out = !quant.uniform<i8:f32, 0.25:3>
func.func @add_residual_conv(%x: tensor<1x2x4x4x!x>, %w: tensor<3x2x3x3x!w>, %r: tensor<1x3x2x2x!res>) -> tensor<1x3x2x2x!out> {
  %c = qnn.conv2d %x, %w : tensor<1x2x4x4x!x>, tensor<3x2x3x3x!w> -> tensor<1x3x2x2x!y>
  %s = qnn.add %r, %c : tensor<1x3x2x2x!res>, tensor<1x3x2x2x!y> -> tensor<1x3x2x2x!out>
  func.return %s : tensor<1x3x2x2x!out>
}

// -----

// dot -> add of one quantized value per column (ONNX Runtime's quantized bias Add after a
// MatMul): the [N] constant becomes a per-channel addend.
// CHECK-LABEL: func.func @dot_bias_add(
// CHECK: %[[B:[^ ,]+]] = quant.scast
// CHECK-NEXT: %[[D:[^ ,]+]] = qnn.dot %a, %w addend(%[[B]] : tensor<3x!quant.uniform<u8:f32, 0.002:41>>) {intermediate = !quant.uniform<u8:f32, 0.1:125>} : tensor<2x16x!quant.uniform<u8:f32, 0.05:3>>, tensor<16x3x!quant.uniform<i8:f32:1, {0.005,0.006,0.007}>> -> tensor<2x3x!quant.uniform<u8:f32, 0.12:120>>
// CHECK-NEXT: func.return %[[D]]
!a = !quant.uniform<u8:f32, 0.05:3>
!w = !quant.uniform<i8:f32:1, {0.005,0.006,0.007}>
!y = !quant.uniform<u8:f32, 0.1:125>
!bq = !quant.uniform<u8:f32, 0.002:41>
!out = !quant.uniform<u8:f32, 0.12:120>
func.func @dot_bias_add(%a: tensor<2x16x!a>, %w: tensor<16x3x!w>) -> tensor<2x3x!out> {
  %bi = arith.constant dense<[0, 77, -1]> : tensor<3xi8>
  %b = quant.scast %bi : tensor<3xi8> to tensor<3x!bq>
  %d = qnn.dot %a, %w : tensor<2x16x!a>, tensor<16x3x!w> -> tensor<2x3x!y>
  %s = qnn.add %d, %b : tensor<2x3x!y>, tensor<3x!bq> -> tensor<2x3x!out>
  func.return %s : tensor<2x3x!out>
}

// -----

// An NCHW conv's per-channel constant broadcasts from [C, 1, 1], not from the last axis: it
// stays a separate add (as does any add that broadcasts the conv result).
// CHECK-LABEL: func.func @nchw_channel_add_stays(
// CHECK: qnn.conv2d
// CHECK-NEXT: qnn.add
!x = !quant.uniform<i8:f32, 0.05:-10>
!w = !quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>
!y = !quant.uniform<i8:f32, 0.1:-128>
!res = !quant.uniform<u8:f32, 0.2:120>
!out = !quant.uniform<i8:f32, 0.25:3>
func.func @nchw_channel_add_stays(%x: tensor<1x2x4x4x!x>, %w: tensor<3x2x3x3x!w>, %r: tensor<3x1x1x!res>) -> tensor<1x3x2x2x!out> {
  %c = qnn.conv2d %x, %w : tensor<1x2x4x4x!x>, tensor<3x2x3x3x!w> -> tensor<1x3x2x2x!y>
  %s = qnn.add %c, %r : tensor<1x3x2x2x!y>, tensor<3x1x1x!res> -> tensor<1x3x2x2x!out>
  func.return %s : tensor<1x3x2x2x!out>
}

// -----

// dynamic_dot -> add of a constant per column: the constant becomes its bias operand (the op
// adds it after the scaling, as the float add did); a second add stays.
// CHECK-LABEL: func.func @dynamic_dot_bias(
// CHECK-NEXT: %[[B:[^ ,]+]] = arith.constant dense<[5.000000e-01, -1.250000e+00]> : tensor<2xf32>
// CHECK-NEXT: %[[Y:[^ ,]+]] = qnn.dynamic_dot %q, %s, %z, %w bias(%[[B]] : tensor<2xf32>) : tensor<3x4xui8>, tensor<f32>, tensor<ui8>, tensor<4x2x!quant.uniform<i8:f32, 0.01>> -> tensor<3x2xf32>
// CHECK-NEXT: %[[A:[^ ,]+]] = qnn.add %[[Y]], %c : tensor<3x2xf32>, tensor<2xf32> -> tensor<3x2xf32>
// CHECK-NEXT: func.return %[[A]] : tensor<3x2xf32>
func.func @dynamic_dot_bias(%q: tensor<3x4xui8>, %s: tensor<f32>, %z: tensor<ui8>, %w: tensor<4x2x!quant.uniform<i8:f32, 0.01>>, %c: tensor<2xf32>) -> tensor<3x2xf32> {
  %b = arith.constant dense<[0.5, -1.25]> : tensor<2xf32>
  %y = qnn.dynamic_dot %q, %s, %z, %w : tensor<3x4xui8>, tensor<f32>, tensor<ui8>, tensor<4x2x!quant.uniform<i8:f32, 0.01>> -> tensor<3x2xf32>
  %t = qnn.add %y, %b : tensor<3x2xf32>, tensor<2xf32> -> tensor<3x2xf32>
  %u = qnn.add %t, %c : tensor<3x2xf32>, tensor<2xf32> -> tensor<3x2xf32>
  func.return %u : tensor<3x2xf32>
}

// -----

// x * sigmoid(x), the sigmoid on either side: one silu activation; the second multiply, whose
// sigmoid is read twice, and a multiply by another tensor's sigmoid stay.
// CHECK-LABEL: func.func @silu(
// CHECK-NEXT: %[[A:[^ ,]+]] = qnn.activation %x {function = "silu"} : tensor<2x8xf32> -> tensor<2x8xf32>
// CHECK-NEXT: %[[B:[^ ,]+]] = qnn.activation %a {function = "silu"} : tensor<2x8xf32> -> tensor<2x8xf32>
// CHECK-NEXT: %[[G:[^ ,]+]] = qnn.activation %b {function = "sigmoid"} : tensor<2x8xf32> -> tensor<2x8xf32>
// CHECK-NEXT: %[[C:[^ ,]+]] = qnn.mul %b, %[[G]] : tensor<2x8xf32>, tensor<2x8xf32> -> tensor<2x8xf32>
// CHECK-NEXT: %[[D:[^ ,]+]] = qnn.mul %x, %[[G]] : tensor<2x8xf32>, tensor<2x8xf32> -> tensor<2x8xf32>
// CHECK-NEXT: func.return %[[A]], %[[B]], %[[C]], %[[D]]
func.func @silu(%x: tensor<2x8xf32>, %a: tensor<2x8xf32>, %b: tensor<2x8xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>) {
  %s = qnn.activation %x {function = "sigmoid"} : tensor<2x8xf32> -> tensor<2x8xf32>
  %y = qnn.mul %x, %s : tensor<2x8xf32>, tensor<2x8xf32> -> tensor<2x8xf32>
  %t = qnn.activation %a {function = "sigmoid"} : tensor<2x8xf32> -> tensor<2x8xf32>
  %z = qnn.mul %t, %a : tensor<2x8xf32>, tensor<2x8xf32> -> tensor<2x8xf32>
  %g = qnn.activation %b {function = "sigmoid"} : tensor<2x8xf32> -> tensor<2x8xf32>
  %u = qnn.mul %b, %g : tensor<2x8xf32>, tensor<2x8xf32> -> tensor<2x8xf32>
  %v = qnn.mul %x, %g : tensor<2x8xf32>, tensor<2x8xf32> -> tensor<2x8xf32>
  func.return %y, %z, %u, %v : tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>
}
