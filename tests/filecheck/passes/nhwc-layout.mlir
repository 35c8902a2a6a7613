// RUN: qopt %s -p nhwc-layout --split-input-file | filecheck %s
// RUN: qopt %s -p nhwc-layout,nhwc-layout --split-input-file | filecheck %s

// nhwc-layout: integer NCHW convs with constant weights compute channels-last. Each becomes
// transpose -> conv{layout = "nhwc"} -> transpose back, its OIHW weights folded to OHWI; the
// transposes back sink below relu/add/pools and cancel against the next conv's, so only the
// input's and the result's remain. Float convs and weights that are arguments stay NCHW. The
// second RUN line checks that a second application changes nothing.

// A residual block: one transpose in, one out; both convs, the add and the pool are NHWC.
// CHECK-LABEL: func.func @block(
// CHECK-NEXT: %[[X:[^ ]+]] = qnn.transpose %x {permutation = array<i64: 0, 2, 3, 1>} : tensor<1x2x4x4x!quant.uniform<u8:f32, 0.05:3>> -> tensor<1x4x4x2x!quant.uniform<u8:f32, 0.05:3>>
// CHECK-NEXT: %[[WI:[^ ]+]] = arith.constant dense<{{\[\[\[\[}}1, 5], [2, 6]], {{\[\[}}3, 7], [4, 8]]], {{\[\[\[}}-1, -5], [-2, -6]], {{\[\[}}-3, -7], [-4, -8]]]]> : tensor<2x2x2x2xi8>
// CHECK-NEXT: %[[W:[^ ]+]] = quant.scast %[[WI]] : tensor<2x2x2x2xi8> to tensor<2x2x2x2x!quant.uniform<i8:f32:0, {0.01,0.02}>>
// CHECK-NEXT: %[[C1:[^ ]+]] = qnn.conv2d %[[X]], %[[W]] {pads = array<i64: 1, 1, 0, 0>, activation = "relu", layout = "nhwc"} : tensor<1x4x4x2x!quant.uniform<u8:f32, 0.05:3>>, tensor<2x2x2x2x!quant.uniform<i8:f32:0, {0.01,0.02}>> -> tensor<1x4x4x2x!quant.uniform<u8:f32, 0.1:5>>
// CHECK: %[[C2:[^ ]+]] = qnn.conv2d %[[C1]], %{{[^ ]+}} {pads = array<i64: 0, 0, 1, 1>, layout = "nhwc"} : tensor<1x4x4x2x!quant.uniform<u8:f32, 0.1:5>>, tensor<2x2x2x2x!quant.uniform<i8:f32:0, {0.01,0.02}>> -> tensor<1x4x4x2x!quant.uniform<u8:f32, 0.1:5>>
// CHECK-NEXT: %[[S:[^ ]+]] = qnn.add %[[C1]], %[[C2]] : tensor<1x4x4x2x!quant.uniform<u8:f32, 0.1:5>>, tensor<1x4x4x2x!quant.uniform<u8:f32, 0.1:5>> -> tensor<1x4x4x2x!quant.uniform<u8:f32, 0.1:5>>
// CHECK-NEXT: %[[P:[^ ]+]] = qnn.max_pool2d %[[S]] {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, layout = "nhwc"} : tensor<1x4x4x2x!quant.uniform<u8:f32, 0.1:5>> -> tensor<1x2x2x2x!quant.uniform<u8:f32, 0.1:5>>
// CHECK-NEXT: %[[Y:[^ ]+]] = qnn.transpose %[[P]] {permutation = array<i64: 0, 3, 1, 2>} : tensor<1x2x2x2x!quant.uniform<u8:f32, 0.1:5>> -> tensor<1x2x2x2x!quant.uniform<u8:f32, 0.1:5>>
// CHECK-NEXT: func.return %[[Y]]
!x = !quant.uniform<u8:f32, 0.05:3>
!w = !quant.uniform<i8:f32:0, {0.01,0.02}>
!y = !quant.uniform<u8:f32, 0.1:5>
func.func @block(%x: tensor<1x2x4x4x!x>) -> tensor<1x2x2x2x!y> {
  %wi = arith.constant dense<[[[[1, 2], [3, 4]], [[5, 6], [7, 8]]], [[[-1, -2], [-3, -4]], [[-5, -6], [-7, -8]]]]> : tensor<2x2x2x2xi8>
  %w = quant.scast %wi : tensor<2x2x2x2xi8> to tensor<2x2x2x2x!w>
  %c1 = qnn.conv2d %x, %w {pads = array<i64: 1, 1, 0, 0>, activation = "relu"} : tensor<1x2x4x4x!x>, tensor<2x2x2x2x!w> -> tensor<1x2x4x4x!y>
  %c2 = qnn.conv2d %c1, %w {pads = array<i64: 0, 0, 1, 1>} : tensor<1x2x4x4x!y>, tensor<2x2x2x2x!w> -> tensor<1x2x4x4x!y>
  %s = qnn.add %c1, %c2 : tensor<1x2x4x4x!y>, tensor<1x2x4x4x!y> -> tensor<1x2x4x4x!y>
  %p = qnn.max_pool2d %s {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : tensor<1x2x4x4x!y> -> tensor<1x2x2x2x!y>
  func.return %p : tensor<1x2x2x2x!y>
}


// -----

// A float conv keeps its layout (its summation order is the reference's).
// CHECK-LABEL: func.func @float_conv(
// CHECK-NEXT: qnn.conv2d %x, %w : tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32> -> tensor<1x2x3x3xf32>
// CHECK-NOT: qnn.transpose
func.func @float_conv(%x: tensor<1x2x3x3xf32>, %w: tensor<2x2x1x1xf32>) -> tensor<1x2x3x3xf32> {
  %c = qnn.conv2d %x, %w : tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32> -> tensor<1x2x3x3xf32>
  func.return %c : tensor<1x2x3x3xf32>
}


// -----

// Weights that are an argument would be transposed on every call: the conv stays NCHW.
// CHECK-LABEL: func.func @argument_weights(
// CHECK-NEXT: qnn.conv2d %x, %w : tensor<1x2x3x3x!quant.uniform<u8:f32, 0.05:3>>, tensor<2x2x1x1x!quant.uniform<i8:f32, 0.01>> -> tensor<1x2x3x3x!quant.uniform<u8:f32, 0.1:5>>
// CHECK-NOT: qnn.transpose
!x = !quant.uniform<u8:f32, 0.05:3>
!w = !quant.uniform<i8:f32, 0.01>
!y = !quant.uniform<u8:f32, 0.1:5>
func.func @argument_weights(%x: tensor<1x2x3x3x!x>, %w: tensor<2x2x1x1x!w>) -> tensor<1x2x3x3x!y> {
  %c = qnn.conv2d %x, %w : tensor<1x2x3x3x!x>, tensor<2x2x1x1x!w> -> tensor<1x2x3x3x!y>
  func.return %c : tensor<1x2x3x3x!y>
}

// -----

// The transpose back stays on the 8-bit values: below the dequantize it would move floats.
// CHECK-LABEL: func.func @dequantized(
// CHECK: %[[C:[^ ]+]] = qnn.conv2d %{{[^ ]+}}, %{{[^ ]+}} {layout = "nhwc"} : tensor<1x3x3x2x!quant.uniform<u8:f32, 0.05:3>>, tensor<2x1x1x2x!quant.uniform<i8:f32, 0.01>> -> tensor<1x3x3x2x!quant.uniform<u8:f32, 0.1:5>>
// CHECK-NEXT: %[[T:[^ ]+]] = qnn.transpose %[[C]] {permutation = array<i64: 0, 3, 1, 2>} : tensor<1x3x3x2x!quant.uniform<u8:f32, 0.1:5>> -> tensor<1x2x3x3x!quant.uniform<u8:f32, 0.1:5>>
// CHECK-NEXT: %[[F:[^ ]+]] = qnn.dequantize %[[T]] : tensor<1x2x3x3x!quant.uniform<u8:f32, 0.1:5>> -> tensor<1x2x3x3xf32>
// CHECK-NEXT: func.return %[[F]] : tensor<1x2x3x3xf32>
!x = !quant.uniform<u8:f32, 0.05:3>
!w = !quant.uniform<i8:f32, 0.01>
!y = !quant.uniform<u8:f32, 0.1:5>
func.func @dequantized(%x: tensor<1x2x3x3x!x>) -> tensor<1x2x3x3xf32> {
  %wi = arith.constant dense<[[[[1]], [[2]]], [[[3]], [[-4]]]]> : tensor<2x2x1x1xi8>
  %w = quant.scast %wi : tensor<2x2x1x1xi8> to tensor<2x2x1x1x!w>
  %c = qnn.conv2d %x, %w : tensor<1x2x3x3x!x>, tensor<2x2x1x1x!w> -> tensor<1x2x3x3x!y>
  %f = qnn.dequantize %c : tensor<1x2x3x3x!y> -> tensor<1x2x3x3xf32>
  func.return %f : tensor<1x2x3x3xf32>
}

// -----

// Two convs joined along the channels: the concat moves to axis 3 and one transpose is left.
// CHECK-LABEL: func.func @concat(
// CHECK: %[[A:[^ ]+]] = qnn.conv2d %[[X:[^ ]+]], %{{[^ ]+}} {layout = "nhwc"}
// CHECK: %[[B:[^ ]+]] = qnn.conv2d %[[X]], %{{[^ ]+}} {activation = "relu", layout = "nhwc"}
// CHECK-NEXT: %[[J:[^ ]+]] = qnn.concat %[[A]], %[[B]] {axis = 3 : i64} : (tensor<1x3x3x2x!quant.uniform<u8:f32, 0.1:5>>, tensor<1x3x3x2x!quant.uniform<u8:f32, 0.1:5>>) -> tensor<1x3x3x4x!quant.uniform<u8:f32, 0.1:5>>
// CHECK-NEXT: %[[T:[^ ]+]] = qnn.transpose %[[J]] {permutation = array<i64: 0, 3, 1, 2>} : tensor<1x3x3x4x!quant.uniform<u8:f32, 0.1:5>> -> tensor<1x4x3x3x!quant.uniform<u8:f32, 0.1:5>>
// CHECK-NEXT: func.return %[[T]]
!x = !quant.uniform<u8:f32, 0.05:3>
!w = !quant.uniform<i8:f32, 0.01>
!y = !quant.uniform<u8:f32, 0.1:5>
func.func @concat(%x: tensor<1x2x3x3x!x>) -> tensor<1x4x3x3x!y> {
  %wi = arith.constant dense<[[[[1]], [[2]]], [[[3]], [[-4]]]]> : tensor<2x2x1x1xi8>
  %w = quant.scast %wi : tensor<2x2x1x1xi8> to tensor<2x2x1x1x!w>
  %a = qnn.conv2d %x, %w : tensor<1x2x3x3x!x>, tensor<2x2x1x1x!w> -> tensor<1x2x3x3x!y>
  %b = qnn.conv2d %x, %w {activation = "relu"} : tensor<1x2x3x3x!x>, tensor<2x2x1x1x!w> -> tensor<1x2x3x3x!y>
  %j = qnn.concat %a, %b {axis = 1 : i64} : (tensor<1x2x3x3x!y>, tensor<1x2x3x3x!y>) -> tensor<1x4x3x3x!y>
  func.return %j : tensor<1x4x3x3x!y>
}

// -----

// A pad between two convs moves its pads with the dimensions (H, W from 2, 3 to 1, 2).
// CHECK-LABEL: func.func @pad(
// CHECK: qnn.conv2d
// CHECK-NEXT: %[[P:[^ ]+]] = qnn.pad %{{[^ ]+}} {low = array<i64: 0, 1, 2, 0>, high = array<i64: 0, 3, 0, 0>} : tensor<1x3x3x2x!quant.uniform<u8:f32, 0.1:5>> -> tensor<1x7x5x2x!quant.uniform<u8:f32, 0.1:5>>
// CHECK: qnn.conv2d %[[P]], %{{[^ ]+}} {layout = "nhwc"}
// CHECK-NOT: qnn.pad
!x = !quant.uniform<u8:f32, 0.05:3>
!w = !quant.uniform<i8:f32, 0.01>
!y = !quant.uniform<u8:f32, 0.1:5>
func.func @pad(%x: tensor<1x2x3x3x!x>) -> tensor<1x2x7x5x!y> {
  %wi = arith.constant dense<[[[[1]], [[2]]], [[[3]], [[-4]]]]> : tensor<2x2x1x1xi8>
  %w = quant.scast %wi : tensor<2x2x1x1xi8> to tensor<2x2x1x1x!w>
  %a = qnn.conv2d %x, %w : tensor<1x2x3x3x!x>, tensor<2x2x1x1x!w> -> tensor<1x2x3x3x!y>
  %p = qnn.pad %a {low = array<i64: 0, 0, 1, 2>, high = array<i64: 0, 0, 3, 0>} : tensor<1x2x3x3x!y> -> tensor<1x2x7x5x!y>
  %b = qnn.conv2d %p, %w : tensor<1x2x7x5x!y>, tensor<2x2x1x1x!w> -> tensor<1x2x7x5x!y>
  func.return %b : tensor<1x2x7x5x!y>
}

// -----

// A 1-D conv as ONNX imports it: its stored weights reshaped to 2-D. The reshape of the
// constant folds, so the weights are constant and the conv computes NHWC.
// CHECK-LABEL: func.func @conv1d(
// CHECK-NEXT: %[[X:[^ ]+]] = qnn.transpose %x {permutation = array<i64: 0, 2, 3, 1>}
// CHECK-NEXT: %[[WI:[^ ]+]] = arith.constant dense<{{\[\[\[\[}}1], [2], [3]]], {{\[\[\[}}4], [5], [6]]]]> : tensor<2x1x3x1xi8>
// CHECK-NEXT: %[[W:[^ ]+]] = quant.scast %[[WI]] : tensor<2x1x3x1xi8> to tensor<2x1x3x1x!quant.uniform<i8:f32:0, {0.01,0.02}>>
// CHECK-NEXT: %[[C:[^ ]+]] = qnn.conv2d %[[X]], %[[W]] {layout = "nhwc"}
// CHECK-NEXT: %[[Y:[^ ]+]] = qnn.transpose %[[C]] {permutation = array<i64: 0, 3, 1, 2>}
// CHECK-NEXT: func.return %[[Y]]
!x = !quant.uniform<u8:f32, 0.05:3>
!w = !quant.uniform<i8:f32:0, {0.01,0.02}>
!y = !quant.uniform<u8:f32, 0.1:5>
func.func @conv1d(%x: tensor<1x1x1x8x!x>) -> tensor<1x2x1x6x!y> {
  %wi = arith.constant dense<[[[1, 2, 3]], [[4, 5, 6]]]> : tensor<2x1x3xi8>
  %w3 = quant.scast %wi : tensor<2x1x3xi8> to tensor<2x1x3x!w>
  %s = arith.constant dense<[2, 1, 1, 3]> : tensor<4xi64>
  %w = tensor.reshape %w3(%s) : (tensor<2x1x3x!w>, tensor<4xi64>) -> tensor<2x1x1x3x!w>
  %c = qnn.conv2d %x, %w : tensor<1x1x1x8x!x>, tensor<2x1x1x3x!w> -> tensor<1x2x1x6x!y>
  func.return %c : tensor<1x2x1x6x!y>
}

// -----

// Attention's heads: [1, T, H, D] heads first, the batch of one dropped, then Kᵀ: one
// transpose of the dimensions above 1 between reshapes; a reshape to its own type goes; a
// transpose whose input has another reader stays.
// CHECK-LABEL: func.func @heads(
// CHECK-NEXT: %[[S:[^ ]+]] = arith.constant dense<[3, 8, 4]> : tensor<3xi64>
// CHECK-NEXT: %[[S1:[^ ]+]] = arith.constant dense<[8, 3, 4]> : tensor<3xi64>
// CHECK-NEXT: %[[R1:[^ ]+]] = tensor.reshape %k(%[[S1]]) : (tensor<1x8x3x4xf32>, tensor<3xi64>) -> tensor<8x3x4xf32>
// CHECK-NEXT: %[[T:[^ ]+]] = qnn.transpose %[[R1]] {permutation = array<i64: 1, 2, 0>} : tensor<8x3x4xf32> -> tensor<3x4x8xf32>
// CHECK-NEXT: %[[Q:[^ ]+]] = qnn.transpose %q {permutation = array<i64: 0, 2, 1, 3>} : tensor<1x8x3x4xf32> -> tensor<1x3x8x4xf32>
// CHECK-NEXT: %[[R2:[^ ]+]] = tensor.reshape %[[Q]](%[[S]]) : (tensor<1x3x8x4xf32>, tensor<3xi64>) -> tensor<3x8x4xf32>
// CHECK-NEXT: %[[QT:[^ ]+]] = qnn.transpose %[[R2]] {permutation = array<i64: 0, 2, 1>} : tensor<3x8x4xf32> -> tensor<3x4x8xf32>
// CHECK-NEXT: func.return %[[T]], %[[QT]], %[[Q]]
func.func @heads(%k: tensor<1x8x3x4xf32>, %q: tensor<1x8x3x4xf32>) -> (tensor<3x4x8xf32>, tensor<3x4x8xf32>, tensor<1x3x8x4xf32>) {
  %kt = qnn.transpose %k {permutation = array<i64: 0, 2, 1, 3>} : tensor<1x8x3x4xf32> -> tensor<1x3x8x4xf32>
  %s0 = arith.constant dense<[1, 3, 8, 4]> : tensor<4xi64>
  %same = tensor.reshape %kt(%s0) : (tensor<1x3x8x4xf32>, tensor<4xi64>) -> tensor<1x3x8x4xf32>
  %s1 = arith.constant dense<[3, 8, 4]> : tensor<3xi64>
  %k3 = tensor.reshape %same(%s1) : (tensor<1x3x8x4xf32>, tensor<3xi64>) -> tensor<3x8x4xf32>
  %kT = qnn.transpose %k3 {permutation = array<i64: 0, 2, 1>} : tensor<3x8x4xf32> -> tensor<3x4x8xf32>
  %qt = qnn.transpose %q {permutation = array<i64: 0, 2, 1, 3>} : tensor<1x8x3x4xf32> -> tensor<1x3x8x4xf32>
  %q3 = tensor.reshape %qt(%s1) : (tensor<1x3x8x4xf32>, tensor<3xi64>) -> tensor<3x8x4xf32>
  %qT = qnn.transpose %q3 {permutation = array<i64: 0, 2, 1>} : tensor<3x8x4xf32> -> tensor<3x4x8xf32>
  func.return %kT, %qT, %qt : tensor<3x4x8xf32>, tensor<3x4x8xf32>, tensor<1x3x8x4xf32>
}
