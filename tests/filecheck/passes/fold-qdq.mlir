// RUN: qopt %s -p fold-qdq --split-input-file | filecheck %s
// RUN: qopt %s -p fold-qdq,fold-qdq --split-input-file | filecheck %s

// fold-qdq: quantize(dequantize(x)) with default rounding is x (same type) or
// qnn.requantize; dequantize -> float op -> quantize (ONNX QDQ) becomes the integer op, with a
// float constant bias quantized to i32 per output channel. The float op must have the
// quantize as its only user. The second RUN line checks that a second application changes
// nothing.

// quantize(dequantize(x)) to x's own type is x.
// CHECK-LABEL: func.func @qdq_same_type(
// CHECK-SAME: %q: tensor<4x!quant.uniform<i8:f32, 0.5:-3>>) -> tensor<4x!quant.uniform<i8:f32, 0.5:-3>> {
// CHECK-NEXT: func.return %q : tensor<4x!quant.uniform<i8:f32, 0.5:-3>>
// CHECK-NOT: qnn.quantize
// CHECK-NOT: qnn.dequantize
!a = !quant.uniform<i8:f32, 0.5:-3>
func.func @qdq_same_type(%q: tensor<4x!a>) -> tensor<4x!a> {
  %f = qnn.dequantize %q : tensor<4x!a> -> tensor<4xf32>
  %r = qnn.quantize %f : tensor<4xf32> -> tensor<4x!a>
  func.return %r : tensor<4x!a>
}

// -----

// quantize(dequantize(x)) to another type is qnn.requantize.
// CHECK-LABEL: func.func @qdq_requantize(
// CHECK-SAME: %q: tensor<4x!quant.uniform<i8:f32, 0.5:-3>>) -> tensor<4x!quant.uniform<u8:f32, 0.25:128>> {
// CHECK-NEXT: %[[R:[^ ,]+]] = qnn.requantize %q : tensor<4x!quant.uniform<i8:f32, 0.5:-3>> -> tensor<4x!quant.uniform<u8:f32, 0.25:128>>
// CHECK-NEXT: func.return %[[R]] : tensor<4x!quant.uniform<u8:f32, 0.25:128>>
// CHECK-NOT: qnn.quantize
!a = !quant.uniform<i8:f32, 0.5:-3>
!b = !quant.uniform<u8:f32, 0.25:128>
func.func @qdq_requantize(%q: tensor<4x!a>) -> tensor<4x!b> {
  %f = qnn.dequantize %q : tensor<4x!a> -> tensor<4xf32>
  %r = qnn.quantize %f : tensor<4xf32> -> tensor<4x!b>
  func.return %r : tensor<4x!b>
}

// -----

// Must not fire: a non-default round_mode is not what requantize computes.
// CHECK-LABEL: func.func @qdq_round_mode_kept(
// CHECK-SAME: %q: tensor<4x!quant.uniform<i8:f32, 0.5:-3>>) -> tensor<4x!quant.uniform<i8:f32, 0.5:-3>> {
// CHECK-NEXT: %[[F:[^ ,]+]] = qnn.dequantize %q : tensor<4x!quant.uniform<i8:f32, 0.5:-3>> -> tensor<4xf32>
// CHECK-NEXT: %[[R:[^ ,]+]] = qnn.quantize %[[F]] {round_mode = "half_away_from_zero"} : tensor<4xf32> -> tensor<4x!quant.uniform<i8:f32, 0.5:-3>>
// CHECK-NEXT: func.return %[[R]] : tensor<4x!quant.uniform<i8:f32, 0.5:-3>>
// CHECK-NOT: qnn.requantize
!a = !quant.uniform<i8:f32, 0.5:-3>
func.func @qdq_round_mode_kept(%q: tensor<4x!a>) -> tensor<4x!a> {
  %f = qnn.dequantize %q : tensor<4x!a> -> tensor<4xf32>
  %r = qnn.quantize %f {round_mode = "half_away_from_zero"} : tensor<4xf32> -> tensor<4x!a>
  func.return %r : tensor<4x!a>
}

// -----

// QDQ conv2d, per-axis weights: the float constant bias becomes
// rint(b[o] / (sx * sw[o])) = [0.5/0.0005, -0.25/0.001, 1.0/0.002]; window properties are kept.
// CHECK-LABEL: func.func @qdq_conv_bias(
// CHECK-SAME: %xq: tensor<1x2x4x4x!quant.uniform<i8:f32, 0.05:-10>>, %wq: tensor<3x2x3x3x!quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>>) -> tensor<1x3x2x2x!quant.uniform<i8:f32, 0.1:-128>> {
// CHECK-NEXT: %[[Y:[^ ,]+]] = arith.constant dense<[1000, -250, 500]> : tensor<3xi32>
// CHECK-NEXT: %[[Y_1:[^ ,]+]] = qnn.conv2d %xq, %wq bias(%[[Y]] : tensor<3xi32>) {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>} : tensor<1x2x4x4x!quant.uniform<i8:f32, 0.05:-10>>, tensor<3x2x3x3x!quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>> -> tensor<1x3x2x2x!quant.uniform<i8:f32, 0.1:-128>>
// CHECK-NEXT: func.return %[[Y_1]] : tensor<1x3x2x2x!quant.uniform<i8:f32, 0.1:-128>>
// CHECK-NOT: qnn.dequantize
// CHECK-NOT: qnn.quantize
// CHECK-NOT: tensor<3xf32>
!x = !quant.uniform<i8:f32, 0.05:-10>
!w = !quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>
!y = !quant.uniform<i8:f32, 0.1:-128>
func.func @qdq_conv_bias(%xq: tensor<1x2x4x4x!x>, %wq: tensor<3x2x3x3x!w>) -> tensor<1x3x2x2x!y> {
  %b = arith.constant dense<[0.5, -0.25, 1.0]> : tensor<3xf32>
  %x = qnn.dequantize %xq : tensor<1x2x4x4x!x> -> tensor<1x2x4x4xf32>
  %w = qnn.dequantize %wq : tensor<3x2x3x3x!w> -> tensor<3x2x3x3xf32>
  %c = qnn.conv2d %x, %w bias(%b : tensor<3xf32>) {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>} : tensor<1x2x4x4xf32>, tensor<3x2x3x3xf32> -> tensor<1x3x2x2xf32>
  %y = qnn.quantize %c : tensor<1x3x2x2xf32> -> tensor<1x3x2x2x!y>
  func.return %y : tensor<1x3x2x2x!y>
}

// -----

// QDQ dot with per-axis rhs, no bias.
// CHECK-LABEL: func.func @qdq_dot(
// CHECK-SAME: %aq: tensor<2x16x!quant.uniform<i8:f32, 0.05:-10>>, %wq: tensor<16x3x!quant.uniform<i8<-127:127>:f32:1, {0.01,0.02,0.04}>>) -> tensor<2x3x!quant.uniform<i8:f32, 0.2:-8>> {
// CHECK-NEXT: %[[Y:[^ ,]+]] = qnn.dot %aq, %wq : tensor<2x16x!quant.uniform<i8:f32, 0.05:-10>>, tensor<16x3x!quant.uniform<i8<-127:127>:f32:1, {0.01,0.02,0.04}>> -> tensor<2x3x!quant.uniform<i8:f32, 0.2:-8>>
// CHECK-NEXT: func.return %[[Y]] : tensor<2x3x!quant.uniform<i8:f32, 0.2:-8>>
// CHECK-NOT: qnn.dequantize
// CHECK-NOT: qnn.quantize
!x = !quant.uniform<i8:f32, 0.05:-10>
!w = !quant.uniform<i8<-127:127>:f32:1, {0.01,0.02,0.04}>
!y = !quant.uniform<i8:f32, 0.2:-8>
func.func @qdq_dot(%aq: tensor<2x16x!x>, %wq: tensor<16x3x!w>) -> tensor<2x3x!y> {
  %a = qnn.dequantize %aq : tensor<2x16x!x> -> tensor<2x16xf32>
  %w = qnn.dequantize %wq : tensor<16x3x!w> -> tensor<16x3xf32>
  %d = qnn.dot %a, %w : tensor<2x16xf32>, tensor<16x3xf32> -> tensor<2x3xf32>
  %y = qnn.quantize %d : tensor<2x3xf32> -> tensor<2x3x!y>
  func.return %y : tensor<2x3x!y>
}

// -----

// ONNX Runtime's selectors fuse a group only on one storage type in and out: an i8 dot
// quantized to u8 stays the float simulation (MatMulNodeGroupSelector), as does an add of an
// i8 and a u8 tensor (BinaryNodeGroupSelector).
// CHECK-LABEL: func.func @qdq_mixed_types_kept(
// CHECK-NEXT: %[[A:[^ ,]+]] = qnn.dequantize %aq
// CHECK-NEXT: %[[W:[^ ,]+]] = qnn.dequantize %wq
// CHECK-NEXT: %[[D:[^ ,]+]] = qnn.dot %[[A]], %[[W]] : tensor<2x16xf32>, tensor<16x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %[[Y:[^ ,]+]] = qnn.quantize %[[D]] : tensor<2x3xf32> -> tensor<2x3x!quant.uniform<u8:f32, 0.2:120>>
// CHECK-NEXT: %[[B:[^ ,]+]] = qnn.dequantize %bq
// CHECK-NEXT: %[[E:[^ ,]+]] = qnn.dequantize %cq
// CHECK-NEXT: %[[S:[^ ,]+]] = qnn.add %[[B]], %[[E]] : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
// CHECK-NEXT: %[[Z:[^ ,]+]] = qnn.quantize %[[S]] : tensor<4xf32> -> tensor<4x!quant.uniform<u8:f32, 0.2:120>>
!x = !quant.uniform<i8:f32, 0.05:-10>
!w = !quant.uniform<i8<-127:127>:f32:1, {0.01,0.02,0.04}>
!y = !quant.uniform<u8:f32, 0.2:120>
func.func @qdq_mixed_types_kept(%aq: tensor<2x16x!x>, %wq: tensor<16x3x!w>, %bq: tensor<4x!x>, %cq: tensor<4x!y>) -> (tensor<2x3x!y>, tensor<4x!y>) {
  %a = qnn.dequantize %aq : tensor<2x16x!x> -> tensor<2x16xf32>
  %w = qnn.dequantize %wq : tensor<16x3x!w> -> tensor<16x3xf32>
  %d = qnn.dot %a, %w : tensor<2x16xf32>, tensor<16x3xf32> -> tensor<2x3xf32>
  %y = qnn.quantize %d : tensor<2x3xf32> -> tensor<2x3x!y>
  %b = qnn.dequantize %bq : tensor<4x!x> -> tensor<4xf32>
  %c = qnn.dequantize %cq : tensor<4x!y> -> tensor<4xf32>
  %s = qnn.add %b, %c : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %z = qnn.quantize %s : tensor<4xf32> -> tensor<4x!y>
  func.return %y, %z : tensor<2x3x!y>, tensor<4x!y>
}

// -----

// QDQ dot, per-tensor rhs: the bias splat is quantized with the one weight scale; the float
// op's relu is kept.
// CHECK-LABEL: func.func @dot_bias_per_tensor(
// CHECK-SAME: %aq: tensor<2x16x!quant.uniform<i8:f32, 0.05:-10>>, %wq: tensor<16x3x!quant.uniform<i8:f32, 0.02>>) -> tensor<2x3x!quant.uniform<i8:f32, 0.1:-128>> {
// CHECK-NEXT: %[[Y:[^ ,]+]] = arith.constant dense<100> : tensor<3xi32>
// CHECK-NEXT: %[[Y_1:[^ ,]+]] = qnn.dot %aq, %wq bias(%[[Y]] : tensor<3xi32>) {activation = "relu"} : tensor<2x16x!quant.uniform<i8:f32, 0.05:-10>>, tensor<16x3x!quant.uniform<i8:f32, 0.02>> -> tensor<2x3x!quant.uniform<i8:f32, 0.1:-128>>
// CHECK-NEXT: func.return %[[Y_1]] : tensor<2x3x!quant.uniform<i8:f32, 0.1:-128>>
// CHECK-NOT: qnn.dequantize
// CHECK-NOT: tensor<3xf32>
!x = !quant.uniform<i8:f32, 0.05:-10>
!y = !quant.uniform<i8:f32, 0.1:-128>
func.func @dot_bias_per_tensor(%aq: tensor<2x16x!x>, %wq: tensor<16x3x!quant.uniform<i8:f32, 0.02>>) -> tensor<2x3x!y> {
  %b = arith.constant dense<0.1> : tensor<3xf32>
  %a = qnn.dequantize %aq : tensor<2x16x!x> -> tensor<2x16xf32>
  %w = qnn.dequantize %wq : tensor<16x3x!quant.uniform<i8:f32, 0.02>> -> tensor<16x3xf32>
  %d = qnn.dot %a, %w bias(%b : tensor<3xf32>) {activation = "relu"} : tensor<2x16xf32>, tensor<16x3xf32> -> tensor<2x3xf32>
  %y = qnn.quantize %d : tensor<2x3xf32> -> tensor<2x3x!y>
  func.return %y : tensor<2x3x!y>
}

// -----

// QDQ add -> quantized add (QLinearAdd).
// CHECK-LABEL: func.func @qdq_add(
// CHECK-SAME: %aq: tensor<2x4x!quant.uniform<i8:f32, 0.5:-3>>, %bq: tensor<2x4x!quant.uniform<i8:f32, 0.125:5>>) -> tensor<2x4x!quant.uniform<i8:f32, 1.0:-2>> {
// CHECK-NEXT: %[[R:[^ ,]+]] = qnn.add %aq, %bq : tensor<2x4x!quant.uniform<i8:f32, 0.5:-3>>, tensor<2x4x!quant.uniform<i8:f32, 0.125:5>> -> tensor<2x4x!quant.uniform<i8:f32, 1.0:-2>>
// CHECK-NEXT: func.return %[[R]] : tensor<2x4x!quant.uniform<i8:f32, 1.0:-2>>
// CHECK-NOT: qnn.dequantize
// CHECK-NOT: qnn.quantize
!a = !quant.uniform<i8:f32, 0.5:-3>
!b = !quant.uniform<i8:f32, 0.125:5>
!r = !quant.uniform<i8:f32, 1.0:-2>
func.func @qdq_add(%aq: tensor<2x4x!a>, %bq: tensor<2x4x!b>) -> tensor<2x4x!r> {
  %a = qnn.dequantize %aq : tensor<2x4x!a> -> tensor<2x4xf32>
  %b = qnn.dequantize %bq : tensor<2x4x!b> -> tensor<2x4xf32>
  %s = qnn.add %a, %b : tensor<2x4xf32>, tensor<2x4xf32> -> tensor<2x4xf32>
  %r = qnn.quantize %s : tensor<2x4xf32> -> tensor<2x4x!r>
  func.return %r : tensor<2x4x!r>
}

// -----

// QDQ relu whose output type equals its input type.
// CHECK-LABEL: func.func @qdq_relu(
// CHECK-SAME: %aq: tensor<8x!quant.uniform<i8:f32, 0.5:-3>>) -> tensor<8x!quant.uniform<i8:f32, 0.5:-3>> {
// CHECK-NEXT: %[[Q:[^ ,]+]] = qnn.relu %aq : tensor<8x!quant.uniform<i8:f32, 0.5:-3>> -> tensor<8x!quant.uniform<i8:f32, 0.5:-3>>
// CHECK-NEXT: func.return %[[Q]] : tensor<8x!quant.uniform<i8:f32, 0.5:-3>>
// CHECK-NOT: qnn.dequantize
// CHECK-NOT: qnn.quantize
!a = !quant.uniform<i8:f32, 0.5:-3>
func.func @qdq_relu(%aq: tensor<8x!a>) -> tensor<8x!a> {
  %a = qnn.dequantize %aq : tensor<8x!a> -> tensor<8xf32>
  %r = qnn.relu %a : tensor<8xf32> -> tensor<8xf32>
  %q = qnn.quantize %r : tensor<8xf32> -> tensor<8x!a>
  func.return %q : tensor<8x!a>
}

// -----

// QDQ max_pool2d (same type in and out; a shape-preserving window).
// CHECK-LABEL: func.func @maxpool_same_shape(
// CHECK-SAME: %xq: tensor<1x4x8x8x!quant.uniform<u8:f32, 0.25:128>>) -> tensor<1x4x8x8x!quant.uniform<u8:f32, 0.25:128>> {
// CHECK-NEXT: %[[MQ:[^ ,]+]] = qnn.max_pool2d %xq {kernel = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>} : tensor<1x4x8x8x!quant.uniform<u8:f32, 0.25:128>> -> tensor<1x4x8x8x!quant.uniform<u8:f32, 0.25:128>>
// CHECK-NEXT: func.return %[[MQ]] : tensor<1x4x8x8x!quant.uniform<u8:f32, 0.25:128>>
// CHECK-NOT: qnn.dequantize
// CHECK-NOT: qnn.quantize
!u = !quant.uniform<u8:f32, 0.25:128>
func.func @maxpool_same_shape(%xq: tensor<1x4x8x8x!u>) -> tensor<1x4x8x8x!u> {
  %x = qnn.dequantize %xq : tensor<1x4x8x8x!u> -> tensor<1x4x8x8xf32>
  %m = qnn.max_pool2d %x {kernel = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>} : tensor<1x4x8x8xf32> -> tensor<1x4x8x8xf32>
  %mq = qnn.quantize %m : tensor<1x4x8x8xf32> -> tensor<1x4x8x8x!u>
  func.return %mq : tensor<1x4x8x8x!u>
}

// -----

// QDQ avg_pool2d may change the type.
// CHECK-LABEL: func.func @qdq_avg_pool(
// CHECK-SAME: %xq: tensor<1x4x8x8x!quant.uniform<u8:f32, 0.25:128>>) -> tensor<1x4x4x4x!quant.uniform<u8:f32, 0.125:120>> {
// CHECK-NEXT: %[[VQ:[^ ,]+]] = qnn.avg_pool2d %xq {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : tensor<1x4x8x8x!quant.uniform<u8:f32, 0.25:128>> -> tensor<1x4x4x4x!quant.uniform<u8:f32, 0.125:120>>
// CHECK-NEXT: func.return %[[VQ]] : tensor<1x4x4x4x!quant.uniform<u8:f32, 0.125:120>>
// CHECK-NOT: qnn.dequantize
// CHECK-NOT: qnn.quantize
!u = !quant.uniform<u8:f32, 0.25:128>
!v = !quant.uniform<u8:f32, 0.125:120>
func.func @qdq_avg_pool(%xq: tensor<1x4x8x8x!u>) -> tensor<1x4x4x4x!v> {
  %x = qnn.dequantize %xq : tensor<1x4x8x8x!u> -> tensor<1x4x8x8xf32>
  %v = qnn.avg_pool2d %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : tensor<1x4x8x8xf32> -> tensor<1x4x4x4xf32>
  %vq = qnn.quantize %v : tensor<1x4x4x4xf32> -> tensor<1x4x4x4x!v>
  func.return %vq : tensor<1x4x4x4x!v>
}

// -----

// QDQ concat of differently quantized inputs.
// CHECK-LABEL: func.func @qdq_concat(
// CHECK-SAME: %aq: tensor<2x4x!quant.uniform<i8:f32, 0.5:-3>>, %bq: tensor<3x4x!quant.uniform<i8:f32, 0.125:5>>) -> tensor<5x4x!quant.uniform<i8:f32, 0.25>> {
// CHECK-NEXT: %[[Q:[^ ,]+]] = qnn.concat %aq, %bq {axis = 0 : i64} : (tensor<2x4x!quant.uniform<i8:f32, 0.5:-3>>, tensor<3x4x!quant.uniform<i8:f32, 0.125:5>>) -> tensor<5x4x!quant.uniform<i8:f32, 0.25>>
// CHECK-NEXT: func.return %[[Q]] : tensor<5x4x!quant.uniform<i8:f32, 0.25>>
// CHECK-NOT: qnn.dequantize
// CHECK-NOT: qnn.quantize
!a = !quant.uniform<i8:f32, 0.5:-3>
!b = !quant.uniform<i8:f32, 0.125:5>
!c = !quant.uniform<i8:f32, 0.25>
func.func @qdq_concat(%aq: tensor<2x4x!a>, %bq: tensor<3x4x!b>) -> tensor<5x4x!c> {
  %a = qnn.dequantize %aq : tensor<2x4x!a> -> tensor<2x4xf32>
  %b = qnn.dequantize %bq : tensor<3x4x!b> -> tensor<3x4xf32>
  %c = qnn.concat %a, %b {axis = 0 : i64} : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<5x4xf32>
  %q = qnn.quantize %c : tensor<5x4xf32> -> tensor<5x4x!c>
  func.return %q : tensor<5x4x!c>
}

// -----

// Must not fire: the float dot has a second user.
// CHECK-LABEL: func.func @no_fold_two_users(
// CHECK-SAME: %aq: tensor<2x16x!quant.uniform<i8:f32, 0.05:-10>>, %wq: tensor<16x3x!quant.uniform<i8<-127:127>:f32:1, {0.01,0.02,0.04}>>) -> (tensor<2x3x!quant.uniform<i8:f32, 0.1:-128>>, tensor<2x3xf32>) {
// CHECK-NEXT: %[[A:[^ ,]+]] = qnn.dequantize %aq : tensor<2x16x!quant.uniform<i8:f32, 0.05:-10>> -> tensor<2x16xf32>
// CHECK-NEXT: %[[W:[^ ,]+]] = qnn.dequantize %wq : tensor<16x3x!quant.uniform<i8<-127:127>:f32:1, {0.01,0.02,0.04}>> -> tensor<16x3xf32>
// CHECK-NEXT: %[[D:[^ ,]+]] = qnn.dot %[[A]], %[[W]] : tensor<2x16xf32>, tensor<16x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %[[Y:[^ ,]+]] = qnn.quantize %[[D]] : tensor<2x3xf32> -> tensor<2x3x!quant.uniform<i8:f32, 0.1:-128>>
// CHECK-NEXT: func.return %[[Y]], %[[D]] : tensor<2x3x!quant.uniform<i8:f32, 0.1:-128>>, tensor<2x3xf32>
!x = !quant.uniform<i8:f32, 0.05:-10>
!w = !quant.uniform<i8<-127:127>:f32:1, {0.01,0.02,0.04}>
!y = !quant.uniform<i8:f32, 0.1:-128>
func.func @no_fold_two_users(%aq: tensor<2x16x!x>, %wq: tensor<16x3x!w>) -> (tensor<2x3x!y>, tensor<2x3xf32>) {
  %a = qnn.dequantize %aq : tensor<2x16x!x> -> tensor<2x16xf32>
  %w = qnn.dequantize %wq : tensor<16x3x!w> -> tensor<16x3xf32>
  %d = qnn.dot %a, %w : tensor<2x16xf32>, tensor<16x3xf32> -> tensor<2x3xf32>
  %y = qnn.quantize %d : tensor<2x3xf32> -> tensor<2x3x!y>
  func.return %y, %d : tensor<2x3x!y>, tensor<2x3xf32>
}

// -----

// Must not fire: a float bias that is not a constant.
// CHECK-LABEL: func.func @no_fold_bias_argument(
// CHECK-SAME: %xq: tensor<1x2x4x4x!quant.uniform<i8:f32, 0.05:-10>>, %wq: tensor<3x2x3x3x!quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>>, %b: tensor<3xf32>) -> tensor<1x3x2x2x!quant.uniform<i8:f32, 0.1:-128>> {
// CHECK-NEXT: %[[X:[^ ,]+]] = qnn.dequantize %xq : tensor<1x2x4x4x!quant.uniform<i8:f32, 0.05:-10>> -> tensor<1x2x4x4xf32>
// CHECK-NEXT: %[[W:[^ ,]+]] = qnn.dequantize %wq : tensor<3x2x3x3x!quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>> -> tensor<3x2x3x3xf32>
// CHECK-NEXT: %[[C:[^ ,]+]] = qnn.conv2d %[[X]], %[[W]] bias(%b : tensor<3xf32>) : tensor<1x2x4x4xf32>, tensor<3x2x3x3xf32> -> tensor<1x3x2x2xf32>
// CHECK-NEXT: %[[Y:[^ ,]+]] = qnn.quantize %[[C]] : tensor<1x3x2x2xf32> -> tensor<1x3x2x2x!quant.uniform<i8:f32, 0.1:-128>>
// CHECK-NEXT: func.return %[[Y]] : tensor<1x3x2x2x!quant.uniform<i8:f32, 0.1:-128>>
!x = !quant.uniform<i8:f32, 0.05:-10>
!w = !quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>
!y = !quant.uniform<i8:f32, 0.1:-128>
func.func @no_fold_bias_argument(%xq: tensor<1x2x4x4x!x>, %wq: tensor<3x2x3x3x!w>, %b: tensor<3xf32>) -> tensor<1x3x2x2x!y> {
  %x = qnn.dequantize %xq : tensor<1x2x4x4x!x> -> tensor<1x2x4x4xf32>
  %w = qnn.dequantize %wq : tensor<3x2x3x3x!w> -> tensor<3x2x3x3xf32>
  %c = qnn.conv2d %x, %w bias(%b : tensor<3xf32>) : tensor<1x2x4x4xf32>, tensor<3x2x3x3xf32> -> tensor<1x3x2x2xf32>
  %y = qnn.quantize %c : tensor<1x3x2x2xf32> -> tensor<1x3x2x2x!y>
  func.return %y : tensor<1x3x2x2x!y>
}

// -----

// Must not fire: relu whose quantize type differs from its input's.
// CHECK-LABEL: func.func @no_fold_relu_type_change(
// CHECK-SAME: %aq: tensor<8x!quant.uniform<i8:f32, 0.5:-3>>) -> tensor<8x!quant.uniform<i8:f32, 0.25:-3>> {
// CHECK-NEXT: %[[A:[^ ,]+]] = qnn.dequantize %aq : tensor<8x!quant.uniform<i8:f32, 0.5:-3>> -> tensor<8xf32>
// CHECK-NEXT: %[[R:[^ ,]+]] = qnn.relu %[[A]] : tensor<8xf32> -> tensor<8xf32>
// CHECK-NEXT: %[[Q:[^ ,]+]] = qnn.quantize %[[R]] : tensor<8xf32> -> tensor<8x!quant.uniform<i8:f32, 0.25:-3>>
// CHECK-NEXT: func.return %[[Q]] : tensor<8x!quant.uniform<i8:f32, 0.25:-3>>
!a = !quant.uniform<i8:f32, 0.5:-3>
!b = !quant.uniform<i8:f32, 0.25:-3>
func.func @no_fold_relu_type_change(%aq: tensor<8x!a>) -> tensor<8x!b> {
  %a = qnn.dequantize %aq : tensor<8x!a> -> tensor<8xf32>
  %r = qnn.relu %a : tensor<8xf32> -> tensor<8xf32>
  %q = qnn.quantize %r : tensor<8xf32> -> tensor<8x!b>
  func.return %q : tensor<8x!b>
}

// -----

// Must not fire: a float op with an addend.
// CHECK-LABEL: func.func @no_fold_float_addend(
// CHECK-SAME: %aq: tensor<2x16x!quant.uniform<i8:f32, 0.05:-10>>, %wq: tensor<16x3x!quant.uniform<i8:f32, 0.02>>, %r: tensor<2x3xf32>) -> tensor<2x3x!quant.uniform<i8:f32, 0.1:-128>> {
// CHECK-NEXT: %[[A:[^ ,]+]] = qnn.dequantize %aq : tensor<2x16x!quant.uniform<i8:f32, 0.05:-10>> -> tensor<2x16xf32>
// CHECK-NEXT: %[[W:[^ ,]+]] = qnn.dequantize %wq : tensor<16x3x!quant.uniform<i8:f32, 0.02>> -> tensor<16x3xf32>
// CHECK-NEXT: %[[D:[^ ,]+]] = qnn.dot %[[A]], %[[W]] addend(%r : tensor<2x3xf32>) : tensor<2x16xf32>, tensor<16x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %[[Y:[^ ,]+]] = qnn.quantize %[[D]] : tensor<2x3xf32> -> tensor<2x3x!quant.uniform<i8:f32, 0.1:-128>>
// CHECK-NEXT: func.return %[[Y]] : tensor<2x3x!quant.uniform<i8:f32, 0.1:-128>>
!x = !quant.uniform<i8:f32, 0.05:-10>
!y = !quant.uniform<i8:f32, 0.1:-128>
func.func @no_fold_float_addend(%aq: tensor<2x16x!x>, %wq: tensor<16x3x!quant.uniform<i8:f32, 0.02>>, %r: tensor<2x3xf32>) -> tensor<2x3x!y> {
  %a = qnn.dequantize %aq : tensor<2x16x!x> -> tensor<2x16xf32>
  %w = qnn.dequantize %wq : tensor<16x3x!quant.uniform<i8:f32, 0.02>> -> tensor<16x3xf32>
  %d = qnn.dot %a, %w addend(%r : tensor<2x3xf32>) : tensor<2x16xf32>, tensor<16x3xf32> -> tensor<2x3xf32>
  %y = qnn.quantize %d : tensor<2x3xf32> -> tensor<2x3x!y>
  func.return %y : tensor<2x3x!y>
}

// -----

// Data movement between dequantize and quantize moves the stored values; a transposed
// constant weight (Gemm's transB) is folded, and the QDQ i32 bias (scale x·w) is taken as is.
// CHECK-LABEL: func.func @qdq_gemm_trans_b(
// CHECK-NEXT: %[[W:[^ ]+]] = arith.constant dense<{{\[}}[1, 3], [2, 4]]> : tensor<2x2xi8>
// CHECK-NEXT: %[[WQ:[^ ]+]] = quant.scast %[[W]] : tensor<2x2xi8> to tensor<2x2x!quant.uniform<i8:f32:1, {0.5,0.25}>>
// CHECK-NEXT: %[[B:[^ ]+]] = arith.constant dense<[7, -9]> : tensor<2xi32>
// CHECK-NEXT: %[[D:[^ ]+]] = qnn.dot %x, %[[WQ]] bias(%[[B]] : tensor<2xi32>)
// CHECK-NEXT: %[[F:[^ ]+]] = qnn.transpose %[[D]] {permutation = array<i64: 1, 0>}
// CHECK-NEXT: func.return %[[F]] : tensor<2x3x!quant.uniform<u8:f32, 0.5:128>>
!x = !quant.uniform<u8:f32, 0.25:128>
!w = !quant.uniform<i8:f32:0, {0.5,0.25}>
!b = !quant.uniform<i32:f32:0, {0.125,0.0625}>
!y = !quant.uniform<u8:f32, 0.5:128>
func.func @qdq_gemm_trans_b(%x: tensor<3x2x!x>) -> tensor<2x3x!y> {
  %wi = arith.constant dense<[[1, 2], [3, 4]]> : tensor<2x2xi8>
  %wq = quant.scast %wi : tensor<2x2xi8> to tensor<2x2x!w>
  %wf = qnn.dequantize %wq : tensor<2x2x!w> -> tensor<2x2xf32>
  %wt = qnn.transpose %wf {permutation = array<i64: 1, 0>} : tensor<2x2xf32> -> tensor<2x2xf32>
  %bi = arith.constant dense<[7, -9]> : tensor<2xi32>
  %bq = quant.scast %bi : tensor<2xi32> to tensor<2x!b>
  %bf = qnn.dequantize %bq : tensor<2x!b> -> tensor<2xf32>
  %xf = qnn.dequantize %x : tensor<3x2x!x> -> tensor<3x2xf32>
  %d = qnn.dot %xf, %wt bias(%bf : tensor<2xf32>) : tensor<3x2xf32>, tensor<2x2xf32> -> tensor<3x2xf32>
  %q = qnn.quantize %d : tensor<3x2xf32> -> tensor<3x2x!y>
  %df = qnn.dequantize %q : tensor<3x2x!y> -> tensor<3x2xf32>
  %t = qnn.transpose %df {permutation = array<i64: 1, 0>} : tensor<3x2xf32> -> tensor<2x3xf32>
  %r = qnn.quantize %t : tensor<2x3xf32> -> tensor<2x3x!y>
  func.return %r : tensor<2x3x!y>
}

// -----

// dequantize -> qnn.activation -> quantize (per tensor, 8-bit) is a qnn.table whose entries
// are those three ops on every stored input (tests/numeric/test_tables.py checks the entries).
// CHECK-LABEL: func.func @qdq_sigmoid_table(
// CHECK-NEXT: %{{.*}} = arith.constant dense<"0x00{{[0-9A-F]*}}FF"> : tensor<256xi8>
// CHECK-NEXT: %[[T:.*]] = quant.scast %{{.*}} : tensor<256xi8> to tensor<256x!quant.uniform<u8:f32, 0.00390625>>
// CHECK-NEXT: %[[Y:.*]] = qnn.table %x, %[[T]] : tensor<2x3x!quant.uniform<i8:f32, 0.1:-3>>, tensor<256x!quant.uniform<u8:f32, 0.00390625>> -> tensor<2x3x!quant.uniform<u8:f32, 0.00390625>>
// CHECK-NEXT: func.return %[[Y]]
!x = !quant.uniform<i8:f32, 0.1:-3>
!y = !quant.uniform<u8:f32, 0.00390625>
func.func @qdq_sigmoid_table(%x: tensor<2x3x!x>) -> tensor<2x3x!y> {
  %d = qnn.dequantize %x : tensor<2x3x!x> -> tensor<2x3xf32>
  %s = qnn.activation %d {function = "sigmoid"} : tensor<2x3xf32> -> tensor<2x3xf32>
  %q = qnn.quantize %s : tensor<2x3xf32> -> tensor<2x3x!y>
  func.return %q : tensor<2x3x!y>
}

// -----

// A chain of elementwise float steps (float ops with a constant splat on either side) between
// dequantize and quantize is one table too: ORT's QDQ GELU divides by sqrt(2) before its Erf.
// CHECK-LABEL: func.func @qdq_chain_table(
// CHECK-NEXT: %{{.*}} = arith.constant dense<"0x{{[0-9A-F]*}}"> : tensor<256xi8>
// CHECK-NEXT: %[[T:.*]] = quant.scast %{{.*}} : tensor<256xi8> to tensor<256x!quant.uniform<i8:f32, 0.0078125>>
// CHECK-NEXT: %[[Y:.*]] = qnn.table %x, %[[T]] : tensor<2x3x!quant.uniform<u8:f32, 0.05:128>>, tensor<256x!quant.uniform<i8:f32, 0.0078125>> -> tensor<2x3x!quant.uniform<i8:f32, 0.0078125>>
// CHECK-NEXT: func.return %[[Y]]
!x = !quant.uniform<u8:f32, 0.05:128>
!y = !quant.uniform<i8:f32, 0.0078125>
func.func @qdq_chain_table(%x: tensor<2x3x!x>) -> tensor<2x3x!y> {
  %root2 = arith.constant dense<1.41421354> : tensor<f32>
  %c = arith.constant dense<0.5> : tensor<2x3xf32>
  %d = qnn.dequantize %x : tensor<2x3x!x> -> tensor<2x3xf32>
  %s = qnn.binary %d, %root2 {kind = "div"} : tensor<2x3xf32>, tensor<f32> -> tensor<2x3xf32>
  %e = qnn.activation %s {function = "erf"} : tensor<2x3xf32> -> tensor<2x3xf32>
  %m = qnn.binary %c, %e {kind = "sub"} : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
  %q = qnn.quantize %m : tensor<2x3xf32> -> tensor<2x3x!y>
  func.return %q : tensor<2x3x!y>
}

// -----

// A step whose other operand varies along the tensor, or whose result another op also reads,
// is not a function of one stored value: the chain stays.
// CHECK-LABEL: func.func @qdq_chain_not_tabulated(
// CHECK-NOT: qnn.table
// CHECK: qnn.activation
// CHECK: qnn.activation
!x = !quant.uniform<u8:f32, 0.05:128>
!y = !quant.uniform<i8:f32, 0.0078125>
func.func @qdq_chain_not_tabulated(%x: tensor<2x3x!x>) -> (tensor<2x3x!y>, tensor<2x3xf32>) {
  %c = arith.constant dense<[[0.5, 1.0, 2.0], [0.5, 1.0, 2.0]]> : tensor<2x3xf32>
  %d = qnn.dequantize %x : tensor<2x3x!x> -> tensor<2x3xf32>
  %s = qnn.binary %d, %c {kind = "div"} : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
  %e = qnn.activation %s {function = "erf"} : tensor<2x3xf32> -> tensor<2x3xf32>
  %q = qnn.quantize %e : tensor<2x3xf32> -> tensor<2x3x!y>
  %t = qnn.activation %d {function = "tanh"} : tensor<2x3xf32> -> tensor<2x3xf32>
  %u = qnn.quantize %t : tensor<2x3xf32> -> tensor<2x3x!y>
  %v = qnn.dequantize %u : tensor<2x3x!y> -> tensor<2x3xf32>
  %w = qnn.binary %t, %v {kind = "sub"} : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
  func.return %q, %w : tensor<2x3x!y>, tensor<2x3xf32>
}

// -----

// Per-axis types have no single table: the ops stay.
// CHECK-LABEL: func.func @qdq_per_axis_not_tabulated(
// CHECK: qnn.activation
!p = !quant.uniform<i8:f32:0, {0.1,0.2}>
!y = !quant.uniform<u8:f32, 0.00390625>
func.func @qdq_per_axis_not_tabulated(%x: tensor<2x3x!p>) -> tensor<2x3x!y> {
  %d = qnn.dequantize %x : tensor<2x3x!p> -> tensor<2x3xf32>
  %s = qnn.activation %d {function = "tanh"} : tensor<2x3xf32> -> tensor<2x3xf32>
  %q = qnn.quantize %s : tensor<2x3xf32> -> tensor<2x3x!y>
  func.return %q : tensor<2x3x!y>
}

// -----

// A per-tensor quantize rises above a transpose (and a reshape) to the float op computing its
// input, here a QDQ dot, which then folds: the result of a batched MatMul (a dot, then the
// movement the importer writes for the same node: `qnn.op_type`) reaches its quantize that way.
// CHECK-LABEL: func.func @quantize_rises_above_movement(
// CHECK-NEXT: %[[D:[^ ,]+]] = qnn.dot %x, %w : tensor<2x3x!quant.uniform<u8:f32, 0.5:128>>, tensor<3x4x!quant.uniform<u8:f32, 0.25:128>> -> tensor<2x4x!quant.uniform<u8:f32, 2.0:100>>
// CHECK-NEXT: %[[T:[^ ,]+]] = qnn.transpose %[[D]] {qnn.op_type = "MatMul", permutation = array<i64: 1, 0>} : tensor<2x4x!quant.uniform<u8:f32, 2.0:100>> -> tensor<4x2x!quant.uniform<u8:f32, 2.0:100>>
// CHECK-NEXT: func.return %[[T]]
// CHECK-NOT: qnn.quantize
!x = !quant.uniform<u8:f32, 0.5:128>
!w = !quant.uniform<u8:f32, 0.25:128>
!y = !quant.uniform<u8:f32, 2.0:100>
func.func @quantize_rises_above_movement(%x: tensor<2x3x!x>, %w: tensor<3x4x!w>) -> tensor<4x2x!y> {
  %xf = qnn.dequantize %x : tensor<2x3x!x> -> tensor<2x3xf32>
  %wf = qnn.dequantize %w : tensor<3x4x!w> -> tensor<3x4xf32>
  %0 = qnn.dot %xf, %wf {qnn.op_type = "MatMul"} : tensor<2x3xf32>, tensor<3x4xf32> -> tensor<2x4xf32>
  %t = qnn.transpose %0 {qnn.op_type = "MatMul", permutation = array<i64: 1, 0>} : tensor<2x4xf32> -> tensor<4x2xf32>
  %q = qnn.quantize %t : tensor<4x2xf32> -> tensor<4x2x!y>
  func.return %q : tensor<4x2x!y>
}

// -----

// A MatMul no quantize reads (here its output is the result) is ONNX Runtime's
// MatMulIntegerToFloat: the int32 sum, scaled per column by the float32 product of the scales.
// CHECK-LABEL: func.func @matmul_integer_to_float(
// CHECK-NEXT: %[[D:[^ ,]+]] = qnn.dot %x, %w : tensor<2x3x!quant.uniform<u8:f32, 0.5:128>>, tensor<3x2x!quant.uniform<i8:f32:1, {0.25,0.125}>> -> tensor<2x2xi32>
// CHECK-NEXT: %[[S:[^ ,]+]] = quant.scast %[[D]] : tensor<2x2xi32> to tensor<2x2x!quant.uniform<i32:f32:1, {0.125,0.0625}>>
// CHECK-NEXT: %[[Y:[^ ,]+]] = qnn.dequantize %[[S]]
// CHECK-NEXT: func.return %[[Y]]
!x = !quant.uniform<u8:f32, 0.5:128>
!w = !quant.uniform<i8:f32:1, {0.25, 0.125}>
func.func @matmul_integer_to_float(%x: tensor<2x3x!x>, %w: tensor<3x2x!w>) -> tensor<2x2xf32> {
  %xf = qnn.dequantize %x : tensor<2x3x!x> -> tensor<2x3xf32>
  %wf = qnn.dequantize %w : tensor<3x2x!w> -> tensor<3x2xf32>
  %y = qnn.dot %xf, %wf : tensor<2x3xf32>, tensor<3x2xf32> -> tensor<2x2xf32>
  func.return %y : tensor<2x2xf32>
}

// -----

// Must not fire: a per-axis quantize's axis is not where a transpose leaves it.
// CHECK-LABEL: func.func @per_axis_quantize_stays(
// CHECK-NEXT: %[[T:[^ ,]+]] = qnn.transpose %f {permutation = array<i64: 1, 0>} : tensor<2x4xf32> -> tensor<4x2xf32>
// CHECK-NEXT: %[[Q:[^ ,]+]] = qnn.quantize %[[T]] : tensor<4x2xf32> -> tensor<4x2x!quant.uniform<i8:f32:1, {0.5,0.25}>>
!p = !quant.uniform<i8:f32:1, {0.5, 0.25}>
func.func @per_axis_quantize_stays(%f: tensor<2x4xf32>) -> tensor<4x2x!p> {
  %t = qnn.transpose %f {permutation = array<i64: 1, 0>} : tensor<2x4xf32> -> tensor<4x2xf32>
  %q = qnn.quantize %t : tensor<4x2xf32> -> tensor<4x2x!p>
  func.return %q : tensor<4x2x!p>
}

// -----

// Quantizing a float constant and requantizing stored constants give stored constants
// (DESIGN §2's quantize: 1 / 0.5 - 3 = -1, -2.25 / 0.5 = -4.5 to even -4, then -3; 100
// saturates; stored 1 is 2.0, 8 steps of 0.25 above 128 = 136, kept signless as -120).
// CHECK-LABEL: func.func @constants_quantized(
// CHECK-NEXT: %[[Q:[^ ,]+]] = arith.constant dense<[-1, -7, -1, 127]> : tensor<4xi8>
// CHECK-NEXT: %[[QS:[^ ,]+]] = quant.scast %[[Q]] : tensor<4xi8> to tensor<4x!quant.uniform<i8:f32, 0.5:-3>>
// CHECK-NEXT: %[[R:[^ ,]+]] = arith.constant dense<[-120, -126, -108, -1]> : tensor<4xi8>
// CHECK-NEXT: %[[RS:[^ ,]+]] = quant.scast %[[R]] : tensor<4xi8> to tensor<4x!quant.uniform<u8:f32, 0.25:128>>
// CHECK-NEXT: func.return %[[QS]], %[[RS]]
!s = !quant.uniform<i8:f32, 0.5:-3>
!u = !quant.uniform<u8:f32, 0.25:128>
func.func @constants_quantized() -> (tensor<4x!s>, tensor<4x!u>) {
  %w = arith.constant dense<[1.0, -2.25, 0.75, 100.0]> : tensor<4xf32>
  %q = qnn.quantize %w : tensor<4xf32> -> tensor<4x!s>
  %c = arith.constant dense<[1, -2, 7, 127]> : tensor<4xi8>
  %s = quant.scast %c : tensor<4xi8> to tensor<4x!s>
  %r = qnn.requantize %s : tensor<4x!s> -> tensor<4x!u>
  func.return %q, %r : tensor<4x!s>, tensor<4x!u>
}

// -----

// A per-axis dequantize sinks through a reshape that only inserts or drops unit dimensions
// after its axis (a 1-D conv's weight read as 2-D); not through one that moves the axis (a
// reshape keeps its element type) or merges dimensions.
// CHECK-LABEL: func.func @per_axis_through_unit_reshape(
// CHECK: %r = tensor.reshape %wq(%s) : (tensor<4x2x3x!quant.uniform<i8:f32:0, {0.01,0.02,0.04,0.08}>>, tensor<4xi64>) -> tensor<4x2x1x3x!quant.uniform<i8:f32:0, {0.01,0.02,0.04,0.08}>>
// CHECK: %u = tensor.reshape %d(%v) : (tensor<1x4x3xf32>, tensor<2xi64>) -> tensor<4x3xf32>
// CHECK: %m = tensor.reshape %w(%t) : (tensor<4x2x3xf32>, tensor<2xi64>) -> tensor<8x3xf32>
!w0 = !quant.uniform<i8:f32:0, {0.01,0.02,0.04,0.08}>
!w1 = !quant.uniform<i8:f32:1, {0.01,0.02,0.04,0.08}>
func.func @per_axis_through_unit_reshape(%wq: tensor<4x2x3x!w0>, %vq: tensor<1x4x3x!w1>) -> (tensor<4x2x1x3xf32>, tensor<4x3xf32>, tensor<8x3xf32>) {
  %s = arith.constant dense<[4, 2, 1, 3]> : tensor<4xi64>
  %w = qnn.dequantize %wq : tensor<4x2x3x!w0> -> tensor<4x2x3xf32>
  %r = tensor.reshape %w(%s) : (tensor<4x2x3xf32>, tensor<4xi64>) -> tensor<4x2x1x3xf32>
  %v = arith.constant dense<[4, 3]> : tensor<2xi64>
  %d = qnn.dequantize %vq : tensor<1x4x3x!w1> -> tensor<1x4x3xf32>
  %u = tensor.reshape %d(%v) : (tensor<1x4x3xf32>, tensor<2xi64>) -> tensor<4x3xf32>
  %t = arith.constant dense<[8, 3]> : tensor<2xi64>
  %m = tensor.reshape %w(%t) : (tensor<4x2x3xf32>, tensor<2xi64>) -> tensor<8x3xf32>
  func.return %r, %u, %m : tensor<4x2x1x3xf32>, tensor<4x3xf32>, tensor<8x3xf32>
}

// -----

// Slices and gathers of constants are constants (an LSTM's weights of one direction, a
// gate's rows); a per-axis type's stored values move with their scales. An index out of range
// is left to the kernel, whose run-time error names it.
// CHECK-LABEL: func.func @constant_movement(
// CHECK-NEXT: %[[S:[^ ]+]] = arith.constant dense<{{\[\[}}2, 1], [4, 3], [6, 5]]> : tensor<3x2xi8>
// CHECK-NEXT: %[[SQ:[^ ]+]] = quant.scast %[[S]] : tensor<3x2xi8> to tensor<3x2x!quant.uniform<i8:f32:0, {0.5,0.25,0.125}>>
// CHECK-NEXT: %f = arith.constant
// CHECK-NEXT: %[[G:[^ ]+]] = arith.constant dense<{{\[\[}}5.000000e+00, 6.000000e+00], [1.000000e+00, 2.000000e+00]]> : tensor<2x2xf32>
// CHECK-NEXT: %bad = arith.constant
// CHECK-NEXT: %[[B:[^ ]+]] = qnn.gather %f, %bad
// CHECK-NEXT: func.return %[[SQ]], %[[G]], %[[B]]
!w = !quant.uniform<i8:f32:0, {0.5,0.25,0.125}>
func.func @constant_movement() -> (tensor<3x2x!w>, tensor<2x2xf32>, tensor<1x2xf32>) {
  %wi = arith.constant dense<[[1, 2, 0], [3, 4, 0], [5, 6, 0]]> : tensor<3x3xi8>
  %w = quant.scast %wi : tensor<3x3xi8> to tensor<3x3x!w>
  %s = qnn.slice %w {starts = array<i64: 0, 1>, steps = array<i64: 1, -1>} : tensor<3x3x!w> -> tensor<3x2x!w>
  %f = arith.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]> : tensor<3x2xf32>
  %ids = arith.constant dense<[-1, 0]> : tensor<2xi64>
  %g = qnn.gather %f, %ids {axis = 0 : i64} : tensor<3x2xf32>, tensor<2xi64> -> tensor<2x2xf32>
  %bad = arith.constant dense<[3]> : tensor<1xi64>
  %b = qnn.gather %f, %bad {axis = 0 : i64} : tensor<3x2xf32>, tensor<1xi64> -> tensor<1x2xf32>
  func.return %s, %g, %b : tensor<3x2x!w>, tensor<2x2xf32>, tensor<1x2xf32>
}
