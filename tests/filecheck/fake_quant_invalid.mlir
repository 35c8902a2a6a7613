// RUN: qopt %s --split-input-file --verify-diagnostics

// Rejected typed qnn.fake_quant ops.

func.func @both_forms(%x: tensor<4xf32>) {
  // expected-error@+1 {{takes a quantized type or nGraph's levels and ranges, not both}}
  %y = qnn.fake_quant %x as !quant.uniform<i8:f32, 0.5> {levels = 256 : i64, input_low = -1.0 : f32, input_high = 1.0 : f32, output_low = -1.0 : f32, output_high = 1.0 : f32} : tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @neither_form(%x: tensor<4xf32>) {
  // expected-error@+1 {{needs a quantized type (`as !quant.uniform<...>`) or all of levels, input_low, input_high, output_low, output_high}}
  %y = qnn.fake_quant %x {levels = 256 : i64} : tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @axis_outside(%x: tensor<4xf32>) {
  // expected-error@+1 {{type quantized dimension must be less than tensor rank}}
  %y = qnn.fake_quant %x as !quant.uniform<i8:f32:1, {0.5, 0.25}> : tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @scale_count(%x: tensor<3x2xf32>) {
  // expected-error@+1 {{type quantized dimension size does not match number of scales}}
  %y = qnn.fake_quant %x as !quant.uniform<i8:f32:0, {0.5, 0.25}> : tensor<3x2xf32> -> tensor<3x2xf32>
  return
}

// -----

func.func @expressed(%x: tensor<4xf16>) {
  // expected-error@+1 {{expressed type in quantized type expected to match float type}}
  %y = qnn.fake_quant %x as !quant.uniform<i8:f32, 0.5> : tensor<4xf16> -> tensor<4xf16>
  return
}

// -----

func.func @quantized_input(%q: tensor<4x!quant.uniform<i8:f32, 0.5>>) {
  // expected-error@+1 {{maps a float tensor to the same float type}}
  %y = qnn.fake_quant %q as !quant.uniform<i8:f32, 0.5> : tensor<4x!quant.uniform<i8:f32, 0.5>> -> tensor<4x!quant.uniform<i8:f32, 0.5>>
  return
}

// -----

func.func @zero_point_outside(%x: tensor<4xf32>) {
  // expected-error@+1 {{type zero point 300 is outside the storage range [0, 255]}}
  %y = qnn.fake_quant %x as !quant.uniform<u8:f32, 0.5:300> : tensor<4xf32> -> tensor<4xf32>
  return
}
