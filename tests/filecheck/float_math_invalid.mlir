// RUN: qopt %s --split-input-file --verify-diagnostics

// Refusals of the float32 ops and of qnn.runtime_quantize: float32 operands only, a kind of
// the op's list, shapes that broadcast or that drop or keep the reduced axes, an integer
// result for cast, a scalar scale and integer zero point typing the result.

func.func @binary_kind(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error@+1 {{kind must be one of 'sub', 'div', 'min', 'max', 'prelu', 'pow', 'pow_double', 'fmod', 'mod', got 'pow2'}}
  %y = qnn.binary %a, %a {kind = "pow2"} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  func.return %y : tensor<4xf32>
}

// -----

func.func @binary_int(%a: tensor<4xi32>) -> tensor<4xi32> {
  // expected-error@+1 {{lhs must be a float32 tensor, got tensor<4xi32>}}
  %y = qnn.binary %a, %a {kind = "sub"} : tensor<4xi32>, tensor<4xi32> -> tensor<4xi32>
  func.return %y : tensor<4xi32>
}

// -----

func.func @binary_broadcast(%a: tensor<4xf32>, %b: tensor<3xf32>) -> tensor<4xf32> {
  // expected-error@+1 {{operand shapes [4] and [3] do not broadcast}}
  %y = qnn.binary %a, %b {kind = "div"} : tensor<4xf32>, tensor<3xf32> -> tensor<4xf32>
  func.return %y : tensor<4xf32>
}

// -----

func.func @reduce_axes(%x: tensor<3x4xf32>) -> tensor<3xf32> {
  // expected-error@+1 {{axes [1, 1] must be increasing dimensions of the rank-2 input}}
  %y = qnn.reduce %x {kind = "min", axes = array<i64: 1, 1>} : tensor<3x4xf32> -> tensor<3xf32>
  func.return %y : tensor<3xf32>
}

// -----

func.func @reduce_shape(%x: tensor<3x4xf32>) -> tensor<4xf32> {
  // expected-error@+1 {{result shape must be [3] or [3, 1]}}
  %y = qnn.reduce %x {kind = "max", axes = array<i64: 1>} : tensor<3x4xf32> -> tensor<4xf32>
  func.return %y : tensor<4xf32>
}

// -----

func.func @reduce_kind(%x: tensor<3x4xf32>) -> tensor<3xf32> {
  // expected-error@+1 {{kind must be one of 'min', 'max', 'sum', 'mean', 'prod', got 'l2'}}
  %y = qnn.reduce %x {kind = "l2", axes = array<i64: 1>} : tensor<3x4xf32> -> tensor<3xf32>
  func.return %y : tensor<3xf32>
}

// -----

func.func @prod_by_ones(%x: tensor<3x4x5xf32>) -> tensor<3x5xf32> {
  // expected-error@+1 {{ones_gemm orders a sum or a mean only}}
  %y = qnn.reduce %x {kind = "prod", axes = array<i64: 1>, ones_gemm} : tensor<3x4x5xf32> -> tensor<3x5xf32>
  func.return %y : tensor<3x5xf32>
}

// -----

func.func @mean_over_leading_axes(%x: tensor<3x4xf32>) -> tensor<4xf32> {
  // expected-error@+1 {{a mean reduces the trailing axes [1] (ONNX Runtime's row order), got [0]}}
  %y = qnn.reduce %x {kind = "mean", axes = array<i64: 0>} : tensor<3x4xf32> -> tensor<4xf32>
  func.return %y : tensor<4xf32>
}

// -----

func.func @round_shape(%x: tensor<4xf32>) -> tensor<5xf32> {
  // expected-error@+1 {{result must have the input's shape}}
  %y = qnn.round %x : tensor<4xf32> -> tensor<5xf32>
  func.return %y : tensor<5xf32>
}

// -----

func.func @cast_to_float(%x: tensor<4xf32>) -> tensor<4xf16> {
  // expected-error@+1 {{result must be f32 or an 8-, 16-, 32- or 64-bit integer tensor, got f16}}
  %y = qnn.cast %x : tensor<4xf32> -> tensor<4xf16>
  func.return %y : tensor<4xf16>
}

// -----

func.func @runtime_quantize_scale(%x: tensor<4xf32>, %s: tensor<4xf32>, %z: tensor<ui8>) -> tensor<4xui8> {
  // expected-error@+1 {{scale must have rank 0, got tensor<4xf32>}}
  %q = qnn.runtime_quantize %x, %s, %z : tensor<4xf32>, tensor<4xf32>, tensor<ui8> -> tensor<4xui8>
  func.return %q : tensor<4xui8>
}

// -----

func.func @runtime_quantize_result(%x: tensor<4xf32>, %s: tensor<f32>, %z: tensor<ui8>) -> tensor<4xi8> {
  // expected-error@+1 {{result must have the input's shape and the zero point's type}}
  %q = qnn.runtime_quantize %x, %s, %z : tensor<4xf32>, tensor<f32>, tensor<ui8> -> tensor<4xi8>
  func.return %q : tensor<4xi8>
}

// -----

func.func @runtime_quantize_zero_point(%x: tensor<4xf32>, %s: tensor<f32>, %z: tensor<f32>) -> tensor<4xf32> {
  // expected-error@+1 {{zero point must be an 8-, 16- or 32-bit integer, got f32}}
  %q = qnn.runtime_quantize %x, %s, %z : tensor<4xf32>, tensor<f32>, tensor<f32> -> tensor<4xf32>
  func.return %q : tensor<4xf32>
}

// -----

func.func @layer_norm_scale_shape(%x: tensor<4x8xf32>, %g: tensor<4xf32>) {
  // expected-error@+1 {{scale must have the normalized shape [8]}}
  %y = qnn.layer_norm %x, %g {axis = 1 : i64, epsilon = 1.0e-05 : f32} : tensor<4x8xf32>, tensor<4xf32> -> tensor<4x8xf32>
  return
}

// -----

func.func @layer_norm_axis(%x: tensor<4x8xf32>, %g: tensor<8xf32>) {
  // expected-error@+1 {{axis 2 is not a dimension of the rank-2 input}}
  %y = qnn.layer_norm %x, %g {axis = 2 : i64, epsilon = 1.0e-05 : f32} : tensor<4x8xf32>, tensor<8xf32> -> tensor<4x8xf32>
  return
}

// -----

func.func @layer_norm_stats_shape(%x: tensor<4x8xf32>) {
  // expected-error@+1 {{inv_std_dev must have shape [4, 1]}}
  %m, %i = qnn.layer_norm_stats %x {axis = 1 : i64, epsilon = 1.0e-05 : f32} : tensor<4x8xf32> -> tensor<4x1xf32>, tensor<4xf32>
  return
}

// -----

func.func @lrn_even_size(%x: tensor<1x8x4x4xf32>) {
  // expected-error@+1 {{size must be odd and positive, got 4}}
  %y = qnn.lrn %x {size = 4 : i64, alpha = 1.0e-04 : f32, beta = 0.75 : f32, bias = 1.0 : f32} : tensor<1x8x4x4xf32> -> tensor<1x8x4x4xf32>
  return
}

// -----

func.func @pool3d_dilated_mlas(%x: tensor<1x2x4x4x4xf32>) {
  // expected-error@+1 {{takes dilations only with loop (ONNX Runtime's own loop)}}
  %y = qnn.pool3d %x {kind = "max", kernel = array<i64: 2, 2, 2>, strides = array<i64: 1, 1, 1>, pads = array<i64: 0, 0, 0, 0, 0, 0>, dilations = array<i64: 2, 2, 2>} : tensor<1x2x4x4x4xf32> -> tensor<1x2x2x2x2xf32>
  return
}

// -----

func.func @pool3d_result_side(%x: tensor<1x2x4x4x4xf32>) {
  // expected-error@+1 {{result side 2 must be 2 windows (or 3 with ceil_mode), got 4}}
  %y = qnn.pool3d %x {kind = "avg", kernel = array<i64: 2, 2, 2>, strides = array<i64: 2, 2, 2>, pads = array<i64: 0, 0, 0, 0, 0, 0>, dilations = array<i64: 1, 1, 1>} : tensor<1x2x4x4x4xf32> -> tensor<1x2x2x2x4xf32>
  return
}

// -----

func.func @pool3d_kind(%x: tensor<1x2x4x4x4xf32>) {
  // expected-error@+1 {{kind must be one of max, avg, got 'lp'}}
  %y = qnn.pool3d %x {kind = "lp", kernel = array<i64: 2, 2, 2>, strides = array<i64: 2, 2, 2>, pads = array<i64: 0, 0, 0, 0, 0, 0>, dilations = array<i64: 1, 1, 1>} : tensor<1x2x4x4x4xf32> -> tensor<1x2x2x2x2xf32>
  return
}

// -----

func.func @rotary_wide_table(%x: tensor<1x2x3x8xf32>, %c: tensor<1x3x5xf32>) {
  // expected-error@+1 {{cos must be [1, 3, half] with 0 < 2·half <= 8, got [1, 3, 5]}}
  %y = qnn.rotary %x, %c, %c : tensor<1x2x3x8xf32>, tensor<1x3x5xf32>, tensor<1x3x5xf32> -> tensor<1x2x3x8xf32>
  return
}

// -----

func.func @batch_norm_parameter_shape(%x: tensor<1x4x3x3xf32>, %g: tensor<4xf32>, %m: tensor<3xf32>) {
  // expected-error@+1 {{mean must have one value per channel ([4])}}
  %y = qnn.batch_norm %x, %g, %g, %m, %g {epsilon = 1.0e-05 : f32} : tensor<1x4x3x3xf32>, tensor<4xf32>, tensor<4xf32>, tensor<3xf32>, tensor<4xf32> -> tensor<1x4x3x3xf32>
  return
}

// -----

func.func @batch_norm_rank(%x: tensor<4xf32>, %g: tensor<4xf32>) {
  // expected-error@+1 {{input needs a channel axis (rank >= 2), got [4]}}
  %y = qnn.batch_norm %x, %g, %g, %g, %g {epsilon = 1.0e-05 : f32} : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @runtime_dequantize_zero_point(%q: tensor<4xui8>, %s: tensor<f32>, %z: tensor<i8>) -> tensor<4xf32> {
  // expected-error@+1 {{input must have the zero point's element type i8, got tensor<4xui8>}}
  %y = qnn.runtime_dequantize %q, %s, %z : tensor<4xui8>, tensor<f32>, tensor<i8> -> tensor<4xf32>
  func.return %y : tensor<4xf32>
}

// -----

func.func @runtime_dequantize_wide(%q: tensor<4xi32>, %s: tensor<f32>, %z: tensor<i32>) -> tensor<4xf32> {
  // expected-error@+1 {{zero point must be an 8- or 16-bit integer, got i32}}
  %y = qnn.runtime_dequantize %q, %s, %z : tensor<4xi32>, tensor<f32>, tensor<i32> -> tensor<4xf32>
  func.return %y : tensor<4xf32>
}

// -----

func.func @runtime_dequantize_result(%q: tensor<4xui8>, %s: tensor<f32>, %z: tensor<ui8>) -> tensor<2x2xf32> {
  // expected-error@+1 {{result must be a float32 tensor of the input's shape}}
  %y = qnn.runtime_dequantize %q, %s, %z : tensor<4xui8>, tensor<f32>, tensor<ui8> -> tensor<2x2xf32>
  func.return %y : tensor<2x2xf32>
}
