// RUN: qopt %s | filecheck %s
// RUN: qopt %s | qopt | filecheck %s
// RUN: qopt %s --print-op-generic | qopt | filecheck %s

// Round trips of the float32 ops (qnn.binary, qnn.reduce, qnn.round, qnn.cast, qnn.layer_norm(_stats),
// qnn.activation erf and sqrt) and of qnn.runtime_quantize / qnn.runtime_dequantize, custom and
// generic forms: ONNX's expansion of DynamicQuantizeLinear, a DequantizeLinear of its data after a
// Transpose (ONNX Runtime's quantize_dynamic), and a LayerNormalization decomposed as opset-13
// exports write it.

// CHECK-LABEL: func.func @dynamic_quantize_expanded(
// CHECK-NEXT: %lo = qnn.reduce %x {kind = "min", axes = array<i64: 0, 1>} : tensor<3x4xf32> -> tensor<f32>
// CHECK-NEXT: %hi = qnn.reduce %x {kind = "max", axes = array<i64: 1>} : tensor<3x4xf32> -> tensor<3x1xf32>
// CHECK-NEXT: %m = qnn.binary %lo, %zero {kind = "min"} : tensor<f32>, tensor<f32> -> tensor<f32>
// CHECK-NEXT: %n = qnn.binary %hi, %zero {kind = "max"} : tensor<3x1xf32>, tensor<f32> -> tensor<3x1xf32>
// CHECK-NEXT: %r = qnn.binary %n, %m {kind = "sub"} : tensor<3x1xf32>, tensor<f32> -> tensor<3x1xf32>
// CHECK-NEXT: %s = qnn.binary %m, %zero {kind = "div"} : tensor<f32>, tensor<f32> -> tensor<f32>
// CHECK-NEXT: %t = qnn.round %s : tensor<f32> -> tensor<f32>
// CHECK-NEXT: %z = qnn.cast %t : tensor<f32> -> tensor<ui8>
// CHECK-NEXT: %q = qnn.runtime_quantize %x, %s, %z : tensor<3x4xf32>, tensor<f32>, tensor<ui8> -> tensor<3x4xui8>
func.func @dynamic_quantize_expanded(%x: tensor<3x4xf32>, %zero: tensor<f32>) -> (tensor<3x4xui8>, tensor<3x1xf32>) {
  %lo = qnn.reduce %x {kind = "min", axes = array<i64: 0, 1>} : tensor<3x4xf32> -> tensor<f32>
  %hi = qnn.reduce %x {kind = "max", axes = array<i64: 1>} : tensor<3x4xf32> -> tensor<3x1xf32>
  %m = qnn.binary %lo, %zero {kind = "min"} : tensor<f32>, tensor<f32> -> tensor<f32>
  %n = qnn.binary %hi, %zero {kind = "max"} : tensor<3x1xf32>, tensor<f32> -> tensor<3x1xf32>
  %r = qnn.binary %n, %m {kind = "sub"} : tensor<3x1xf32>, tensor<f32> -> tensor<3x1xf32>
  %s = qnn.binary %m, %zero {kind = "div"} : tensor<f32>, tensor<f32> -> tensor<f32>
  %t = qnn.round %s : tensor<f32> -> tensor<f32>
  %z = qnn.cast %t : tensor<f32> -> tensor<ui8>
  %q = qnn.runtime_quantize %x, %s, %z : tensor<3x4xf32>, tensor<f32>, tensor<ui8> -> tensor<3x4xui8>
  func.return %q, %r : tensor<3x4xui8>, tensor<3x1xf32>
}

// CHECK-LABEL: func.func @dequantize_transposed(
// CHECK-NEXT: %q, %s, %z = qnn.dynamic_quantize %x : tensor<3x4xf32> -> tensor<3x4xui8>, tensor<f32>, tensor<ui8>
// CHECK-NEXT: %t = qnn.transpose %q {permutation = array<i64: 1, 0>} : tensor<3x4xui8> -> tensor<4x3xui8>
// CHECK-NEXT: %y = qnn.runtime_dequantize %t, %s, %z : tensor<4x3xui8>, tensor<f32>, tensor<ui8> -> tensor<4x3xf32>
// CHECK-NEXT: %w = qnn.runtime_dequantize %v, %s, %zi : tensor<5xi16>, tensor<f32>, tensor<i16> -> tensor<5xf32>
func.func @dequantize_transposed(%x: tensor<3x4xf32>, %v: tensor<5xi16>, %zi: tensor<i16>) -> (tensor<4x3xf32>, tensor<5xf32>) {
  %q, %s, %z = qnn.dynamic_quantize %x : tensor<3x4xf32> -> tensor<3x4xui8>, tensor<f32>, tensor<ui8>
  %t = qnn.transpose %q {permutation = array<i64: 1, 0>} : tensor<3x4xui8> -> tensor<4x3xui8>
  %y = qnn.runtime_dequantize %t, %s, %z : tensor<4x3xui8>, tensor<f32>, tensor<ui8> -> tensor<4x3xf32>
  %w = qnn.runtime_dequantize %v, %s, %zi : tensor<5xi16>, tensor<f32>, tensor<i16> -> tensor<5xf32>
  func.return %y, %w : tensor<4x3xf32>, tensor<5xf32>
}

// LayerNormalization (with and without a bias) and Erf, as a transformer's float part.
// CHECK-LABEL: func.func @encoder_float_part(
// CHECK-NEXT: %n = qnn.layer_norm %x, %g, %b {axis = 1 : i64, epsilon = 1.000000e-05 : f32} : tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32> -> tensor<4x8xf32>
// CHECK-NEXT: %s = qnn.layer_norm %n, %g {axis = 1 : i64, epsilon = 1.000000e-12 : f32} : tensor<4x8xf32>, tensor<8xf32> -> tensor<4x8xf32>
// CHECK-NEXT: %e = qnn.activation %s {function = "erf"} : tensor<4x8xf32> -> tensor<4x8xf32>
// CHECK-NEXT: func.return %e : tensor<4x8xf32>
func.func @encoder_float_part(%x: tensor<4x8xf32>, %g: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<4x8xf32> {
  %n = qnn.layer_norm %x, %g, %b {axis = 1 : i64, epsilon = 1.0e-05 : f32} : tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32> -> tensor<4x8xf32>
  %s = qnn.layer_norm %n, %g {axis = 1 : i64, epsilon = 1.0e-12 : f32} : tensor<4x8xf32>, tensor<8xf32> -> tensor<4x8xf32>
  %e = qnn.activation %s {function = "erf"} : tensor<4x8xf32> -> tensor<4x8xf32>
  func.return %e : tensor<4x8xf32>
}

// LayerNormalization's Mean and InvStdDev outputs: leading dimensions kept, ones from axis on.
// CHECK-LABEL: func.func @layer_norm_stats(
// CHECK-NEXT: %m, %i = qnn.layer_norm_stats %x {axis = 1 : i64, epsilon = 1.000000e-05 : f32} : tensor<2x4x8xf32> -> tensor<2x1x1xf32>, tensor<2x1x1xf32>
// CHECK-NEXT: func.return %m, %i : tensor<2x1x1xf32>, tensor<2x1x1xf32>
func.func @layer_norm_stats(%x: tensor<2x4x8xf32>) -> (tensor<2x1x1xf32>, tensor<2x1x1xf32>) {
  %m, %i = qnn.layer_norm_stats %x {axis = 1 : i64, epsilon = 1.0e-05 : f32} : tensor<2x4x8xf32> -> tensor<2x1x1xf32>, tensor<2x1x1xf32>
  func.return %m, %i : tensor<2x1x1xf32>, tensor<2x1x1xf32>
}

// LRN across channels, in ONNX Runtime's steps; `threads` its last loop's blocks (calibration).
// CHECK-LABEL: func.func @lrn(
// CHECK-NEXT: %y = qnn.lrn %x {size = 5 : i64, alpha = 1.000000e-04 : f32, beta = 7.500000e-01 : f32, bias = 1.000000e+00 : f32} : tensor<1x8x4x4xf32> -> tensor<1x8x4x4xf32>
// CHECK-NEXT: %z = qnn.lrn %y {size = 3 : i64, alpha = 5.000000e-01 : f32, beta = 2.000000e+00 : f32, bias = 2.000000e+00 : f32, threads = 2 : i64} : tensor<1x8x4x4xf32> -> tensor<1x8x4x4xf32>
func.func @lrn(%x: tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32> {
  %y = qnn.lrn %x {size = 5 : i64, alpha = 1.0e-04 : f32, beta = 0.75 : f32, bias = 1.0 : f32} : tensor<1x8x4x4xf32> -> tensor<1x8x4x4xf32>
  %z = qnn.lrn %y {size = 3 : i64, alpha = 0.5 : f32, beta = 2.0 : f32, bias = 2.0 : f32, threads = 2 : i64} : tensor<1x8x4x4xf32> -> tensor<1x8x4x4xf32>
  func.return %z : tensor<1x8x4x4xf32>
}

// 3-D pools (NCDHW): MLAS's kernels, or ORT's own loop (`loop`: dilations, opset-19 averages),
// a ceil_mode result one window longer than the padded image holds.
// CHECK-LABEL: func.func @pool3d(
// CHECK-NEXT: %m = qnn.pool3d %x {kind = "max", kernel = array<i64: 2, 2, 2>, strides = array<i64: 2, 2, 2>, pads = array<i64: 0, 0, 0, 0, 0, 0>, dilations = array<i64: 1, 1, 1>} : tensor<1x2x4x4x5xf32> -> tensor<1x2x2x2x3xf32>
// CHECK-NEXT: %a = qnn.pool3d %x {kind = "avg", kernel = array<i64: 2, 2, 2>, strides = array<i64: 1, 1, 1>, pads = array<i64: 1, 0, 0, 0, 0, 1>, dilations = array<i64: 2, 1, 1>, count_include_pad, loop} : tensor<1x2x4x4x5xf32> -> tensor<1x2x3x3x5xf32>
func.func @pool3d(%x: tensor<1x2x4x4x5xf32>) -> (tensor<1x2x2x2x3xf32>, tensor<1x2x3x3x5xf32>) {
  %m = qnn.pool3d %x {kind = "max", kernel = array<i64: 2, 2, 2>, strides = array<i64: 2, 2, 2>, pads = array<i64: 0, 0, 0, 0, 0, 0>, dilations = array<i64: 1, 1, 1>} : tensor<1x2x4x4x5xf32> -> tensor<1x2x2x2x3xf32>
  %a = qnn.pool3d %x {kind = "avg", kernel = array<i64: 2, 2, 2>, strides = array<i64: 1, 1, 1>, pads = array<i64: 1, 0, 0, 0, 0, 1>, dilations = array<i64: 2, 1, 1>, count_include_pad, loop} : tensor<1x2x4x4x5xf32> -> tensor<1x2x3x3x5xf32>
  func.return %m, %a : tensor<1x2x2x2x3xf32>, tensor<1x2x3x3x5xf32>
}

// RotaryEmbedding of [B, H, S, D] by each token's cos and sin rows; `interleaved` pairs
// neighbours, and a head size past 2·half keeps its tail.
// CHECK-LABEL: func.func @rotary(
// CHECK-NEXT: %y = qnn.rotary %x, %c, %s : tensor<1x2x3x8xf32>, tensor<1x3x4xf32>, tensor<1x3x4xf32> -> tensor<1x2x3x8xf32>
// CHECK-NEXT: %z = qnn.rotary %y, %d, %d {interleaved} : tensor<1x2x3x8xf32>, tensor<1x3x2xf32>, tensor<1x3x2xf32> -> tensor<1x2x3x8xf32>
func.func @rotary(%x: tensor<1x2x3x8xf32>, %c: tensor<1x3x4xf32>, %s: tensor<1x3x4xf32>, %d: tensor<1x3x2xf32>) -> tensor<1x2x3x8xf32> {
  %y = qnn.rotary %x, %c, %s : tensor<1x2x3x8xf32>, tensor<1x3x4xf32>, tensor<1x3x4xf32> -> tensor<1x2x3x8xf32>
  %z = qnn.rotary %y, %d, %d {interleaved} : tensor<1x2x3x8xf32>, tensor<1x3x2xf32>, tensor<1x3x2xf32> -> tensor<1x2x3x8xf32>
  func.return %z : tensor<1x2x3x8xf32>
}

// BatchNormalization (inference), one parameter per channel (constant, so it compiles).
// CHECK-LABEL: func.func @batch_norm(
// CHECK:      %y = qnn.batch_norm %x, %g, %b, %m, %v {epsilon = 1.000000e-03 : f32} : tensor<1x4x3x3xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32> -> tensor<1x4x3x3xf32>
// CHECK-NEXT: func.return %y : tensor<1x4x3x3xf32>
func.func @batch_norm(%x: tensor<1x4x3x3xf32>) -> tensor<1x4x3x3xf32> {
  %g = arith.constant dense<[1.5, 0.5, 2.0, 1.0]> : tensor<4xf32>
  %b = arith.constant dense<[0.1, -0.2, 0.3, 0.0]> : tensor<4xf32>
  %m = arith.constant dense<[0.0, 1.0, -1.0, 0.5]> : tensor<4xf32>
  %v = arith.constant dense<[1.0, 2.0, 0.5, 3.0]> : tensor<4xf32>
  %y = qnn.batch_norm %x, %g, %b, %m, %v {epsilon = 1.0e-03 : f32} : tensor<1x4x3x3xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32> -> tensor<1x4x3x3xf32>
  func.return %y : tensor<1x4x3x3xf32>
}

// CHECK-LABEL: func.func @layer_norm_decomposed(
// CHECK-NEXT: %mu = qnn.reduce %x {kind = "mean", axes = array<i64: 1>} : tensor<4x8xf32> -> tensor<4x1xf32>
// CHECK-NEXT: %c = qnn.binary %x, %mu {kind = "sub"} : tensor<4x8xf32>, tensor<4x1xf32> -> tensor<4x8xf32>
// CHECK-NEXT: %sq = qnn.mul %c, %c : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
// CHECK-NEXT: %v = qnn.reduce %sq {kind = "mean", axes = array<i64: 1>} : tensor<4x8xf32> -> tensor<4x1xf32>
// CHECK-NEXT: %s = qnn.reduce %sq {kind = "sum", axes = array<i64: 0, 1>} : tensor<4x8xf32> -> tensor<f32>
// CHECK-NEXT: %f = qnn.reduce %sq {kind = "sum", axes = array<i64: 1>, from_first} : tensor<4x8xf32> -> tensor<4x1xf32>
// CHECK-NEXT: %d = qnn.activation %v {function = "sqrt"} : tensor<4x1xf32> -> tensor<4x1xf32>
// CHECK-NEXT: %y = qnn.binary %c, %d {kind = "div"} : tensor<4x8xf32>, tensor<4x1xf32> -> tensor<4x8xf32>
func.func @layer_norm_decomposed(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<f32>) {
  %mu = qnn.reduce %x {kind = "mean", axes = array<i64: 1>} : tensor<4x8xf32> -> tensor<4x1xf32>
  %c = qnn.binary %x, %mu {kind = "sub"} : tensor<4x8xf32>, tensor<4x1xf32> -> tensor<4x8xf32>
  %sq = qnn.mul %c, %c : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
  %v = qnn.reduce %sq {kind = "mean", axes = array<i64: 1>} : tensor<4x8xf32> -> tensor<4x1xf32>
  %s = qnn.reduce %sq {kind = "sum", axes = array<i64: 0, 1>} : tensor<4x8xf32> -> tensor<f32>
  %f = qnn.reduce %sq {kind = "sum", axes = array<i64: 1>, from_first} : tensor<4x8xf32> -> tensor<4x1xf32>
  %d = qnn.activation %v {function = "sqrt"} : tensor<4x1xf32> -> tensor<4x1xf32>
  %y = qnn.binary %c, %d {kind = "div"} : tensor<4x8xf32>, tensor<4x1xf32> -> tensor<4x8xf32>
  func.return %y, %s : tensor<4x8xf32>, tensor<f32>
}

// A Cast(to=FLOAT) of a float tensor, as the importer keeps it for the quantizer.
// CHECK-LABEL: func.func @float_cast(
// CHECK-NEXT: %c = qnn.cast %x : tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: func.return %c : tensor<2x3xf32>
func.func @float_cast(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %c = qnn.cast %x : tensor<2x3xf32> -> tensor<2x3xf32>
  func.return %c : tensor<2x3xf32>
}
