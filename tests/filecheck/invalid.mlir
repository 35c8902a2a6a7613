// RUN: qopt %s --split-input-file --verify-diagnostics

// Rejected inputs, one per split piece: type grammar and invariants, quant cast-op
// verifiers, qnn verifiers. Each annotation names a substring of qopt's diagnostic.

//===----------------------------------------------------------------------===//
// !quant type grammar and invariants
//===----------------------------------------------------------------------===//

// expected-error@+1 {{illegal storage type prefix}}
func.func private @bad_storage_prefix(!quant.uniform<f8:f32, 1.0>)

// -----

// expected-error@+1 {{illegal storage type size: 0}}
func.func private @storage_width_0(!quant.uniform<i0:f32, 1.0>)

// -----

// expected-error@+1 {{illegal storage type size: 33}}
func.func private @storage_width_33(!quant.uniform<u33:f32, 1.0>)

// -----

// expected-error@+1 {{illegal storage type minimum: -129}}
func.func private @storage_min_below_range(!quant.uniform<i8<-129:127>:f32, 1.0>)

// -----

// expected-error@+1 {{illegal storage type maximum: 256}}
func.func private @storage_max_above_range(!quant.uniform<u8<0:256>:f32, 1.0>)

// -----

// expected-error@+1 {{illegal storage min and storage max: (10:10)}}
func.func private @storage_min_not_below_max(!quant.uniform<i8<10:10>:f32, 1.0>)

// -----

// expected-error@+1 {{unexpected decimal integer literal for a floating point value}}
func.func private @integer_scale(!quant.uniform<i8:f32, 1:3>)

// -----

// expected-error@+1 {{scale -5.000000e-01 out of expressed type range}}
func.func private @negative_scale(!quant.uniform<i8:f32, -0.5>)

// -----

// expected-error@+1 {{scale 0.000000e+00 out of expressed type range}}
func.func private @zero_scale(!quant.uniform<i8:f32, 0.0>)

// -----

// expected-error@+1 {{scale 7.000000e+04 out of expressed type range [5.960464e-08, 6.550400e+04]}}
func.func private @scale_above_f16_range(!quant.uniform<i8:f16, 70000.0>)

// -----

// expected-error@+1 {{expected integer value}}
func.func private @missing_zero_point(!quant.uniform<i8:f32, 0.5:>)

// -----

// expected-error@+1 {{illegal quantized dimension: -1}}
func.func private @per_axis_negative_axis(tensor<4x!quant.uniform<i8:f32:-1, {1.0,2.0,3.0,4.0}>>)

// -----

// expected-error@+1 {{tensor literal is invalid; ranks are not consistent between elements}}
func.func private @sub_channel_ragged(tensor<2x4x!quant.uniform<i8:f32:{0:1, 1:2}, {{1.0, 2.0}, {3.0}}>>)

// -----

// expected-error@+1 {{illegal block size: 0}}
func.func private @sub_channel_zero_block(tensor<2x4x!quant.uniform<i8:f32:{0:0}, {{1.0}}>>)

// -----

// expected-error@+1 {{unknown quantized type uniformm}}
func.func private @unknown_quant_type(!quant.uniformm<i8:f32, 1.0>)

// -----

// expected-error@+1 {{expressed type must be floating point}}
func.func private @integer_expressed_type(!quant.uniform<i8:i32, 1.0>)

// -----

// expected-error@+1 {{expressed type must be floating point}}
func.func private @any_integer_expressed_type(!quant.any<i8:i16>)

// -----

// expected-error@+1 {{illegal min and max: (1.000000e+00:-1.000000e+00)}}
func.func private @calibrated_min_above_max(!quant.calibrated<f32<1.0:-1.0>>)

// -----

// expected-error@+1 {{unbalanced '<' character in pretty dialect name}}
func.func private @unbalanced(!quant.uniform<i8:f32, 1.0)

// -----

//===----------------------------------------------------------------------===//
// quant.qcast / quant.dcast / quant.scast
//===----------------------------------------------------------------------===//

func.func @qcast_expressed_mismatch(%x: tensor<4xf32>) {
  // expected-error@+1 {{expressed type in quantized type expected to match float type}}
  %q = quant.qcast %x : tensor<4xf32> to tensor<4x!quant.uniform<i8:f16, 0.5>>
  return
}

// -----

func.func @qcast_shape_mismatch(%x: tensor<4xf32>) {
  // expected-error@+1 {{input and result are both scalars or both tensors with matching shape}}
  %q = quant.qcast %x : tensor<4xf32> to tensor<5x!quant.uniform<i8:f32, 0.5>>
  return
}

// -----

func.func @qcast_integer_input(%x: tensor<4xi8>) {
  // expected-error@+1 {{operand #0 must be scalar or tensor of floating-point}}
  %q = quant.qcast %x : tensor<4xi8> to tensor<4x!quant.uniform<i8:f32, 0.5>>
  return
}

// -----

func.func @dcast_per_axis_size_mismatch(%q: tensor<3x4x!quant.uniform<i8:f32:0, {1.0,2.0}>>) {
  // expected-error@+1 {{quantized dimension size does not match number of scales}}
  %x = quant.dcast %q : tensor<3x4x!quant.uniform<i8:f32:0, {1.0,2.0}>> to tensor<3x4xf32>
  return
}

// -----

func.func @dcast_per_axis_axis_out_of_rank(%q: tensor<4x!quant.uniform<i8:f32:1, {1.0}>>) {
  // expected-error@+1 {{quantized dimension must be less than tensor rank}}
  %x = quant.dcast %q : tensor<4x!quant.uniform<i8:f32:1, {1.0}>> to tensor<4xf32>
  return
}

// -----

func.func @dcast_per_axis_scalar(%q: !quant.uniform<i8:f32:0, {1.0}>) {
  // expected-error@+1 {{scalar types may not use per-axis quantization}}
  %x = quant.dcast %q : !quant.uniform<i8:f32:0, {1.0}> to f32
  return
}

// -----

func.func @qcast_sub_channel_block_not_dividing(%x: tensor<3x4xf32>) {
  // expected-error@+1 {{tensor dimension size 3 at axis 0 must be divisible by the corresponding block size 2}}
  %q = quant.qcast %x : tensor<3x4xf32> to tensor<3x4x!quant.uniform<i8:f32:{0:2}, {{1.0}, {2.0}}>>
  return
}

// -----

func.func @qcast_sub_channel_scales_rank(%x: tensor<2x4xf32>) {
  // expected-error@+1 {{Rank of scales 1 must match the rank of the tensor 2}}
  %q = quant.qcast %x : tensor<2x4xf32> to tensor<2x4x!quant.uniform<i8:f32:{0:1}, {1.0, 2.0}>>
  return
}

// -----

func.func @dcast_sub_channel_unranked(%q: tensor<*x!quant.uniform<i8:f32:{0:1}, {{1.0}}>>) {
  // expected-error@+1 {{tensor containing the sub-channel quantized type must be ranked}}
  %x = quant.dcast %q : tensor<*x!quant.uniform<i8:f32:{0:1}, {{1.0}}>> to tensor<*xf32>
  return
}

// -----

func.func @scast_storage_mismatch(%i: tensor<4xi16>) {
  // expected-error@+1 {{storage type in quantized type expected to match integer type}}
  %q = quant.scast %i : tensor<4xi16> to tensor<4x!quant.uniform<i8:f32, 0.5>>
  return
}

// -----

func.func @scast_integer_to_integer(%i: tensor<4xi8>) {
  // expected-error@+1 {{input must be integer and result must be quantized, or vice versa}}
  %q = quant.scast %i : tensor<4xi8> to tensor<4xi8>
  return
}

// -----

//===----------------------------------------------------------------------===//
// qnn elementwise ops
//===----------------------------------------------------------------------===//

func.func @quantize_zero_point_out_of_storage(%x: tensor<4xf32>) {
  // expected-error@+1 {{result zero point 200 is outside the storage range [-128, 127]}}
  %q = qnn.quantize %x : tensor<4xf32> -> tensor<4x!quant.uniform<i8:f32, 0.5:200>>
  return
}

// -----

func.func @dequantize_zero_point_outside_bounds(%q: tensor<4x!quant.uniform<i8<-127:127>:f32, 0.5:-128>>) {
  // expected-error@+1 {{input zero point -128 is outside the storage range [-127, 127]}}
  %x = qnn.dequantize %q : tensor<4x!quant.uniform<i8<-127:127>:f32, 0.5:-128>> -> tensor<4xf32>
  return
}

// -----

func.func @quantize_bad_round_mode(%x: tensor<4xf32>) {
  // expected-error@+1 {{round_mode must be one of 'half_to_even'}}
  %q = qnn.quantize %x {round_mode = "nearest"} : tensor<4xf32> -> tensor<4x!quant.uniform<i8:f32, 0.5>>
  return
}

// -----

func.func @quantize_expressed_mismatch(%x: tensor<4xf16>) {
  // expected-error@+1 {{expressed type in quantized type expected to match float type}}
  %q = qnn.quantize %x : tensor<4xf16> -> tensor<4x!quant.uniform<i8:f32, 0.5>>
  return
}

// -----

func.func @quantize_sub_channel(%x: tensor<2x4xf32>) {
  // expected-error@+1 {{result: sub-channel quantization is not supported by qnn ops}}
  %q = qnn.quantize %x : tensor<2x4xf32> -> tensor<2x4x!quant.uniform<i8:f32:{1:2}, {{1.0, 2.0}}>>
  return
}

// -----

func.func @dequantize_float_input(%x: tensor<4xf32>) {
  // expected-error@+1 {{maps a quantized tensor to a float tensor}}
  %y = qnn.dequantize %x : tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @requantize_shape_mismatch(%q: tensor<4x!quant.uniform<u8:f32, 0.5:128>>) {
  // expected-error@+1 {{input shape [4] and result shape [2, 2] differ}}
  %r = qnn.requantize %q : tensor<4x!quant.uniform<u8:f32, 0.5:128>> -> tensor<2x2x!quant.uniform<i8:f32, 0.5>>
  return
}

// -----

func.func @requantize_expressed_mismatch(%q: tensor<4x!quant.uniform<u8:f32, 0.5:128>>) {
  // expected-error@+1 {{expressed types must agree}}
  %r = qnn.requantize %q : tensor<4x!quant.uniform<u8:f32, 0.5:128>> -> tensor<4x!quant.uniform<i8:f16, 0.5>>
  return
}

// -----

func.func @relu_type_mismatch(%q: tensor<4x!quant.uniform<i8:f32, 0.5>>) {
  // expected-error@+1 {{input and result types must be equal}}
  %r = qnn.relu %q : tensor<4x!quant.uniform<i8:f32, 0.5>> -> tensor<4x!quant.uniform<i8:f32, 0.25>>
  return
}

// -----

func.func @relu_integer(%i: tensor<4xi32>) {
  // expected-error@+1 {{takes a float or quantized tensor}}
  %r = qnn.relu %i : tensor<4xi32> -> tensor<4xi32>
  return
}

// -----

func.func @clamp_min_above_max(%x: tensor<4xf32>) {
  // expected-error@+1 {{min (7.0) must not be above max (6.0)}}
  %y = qnn.clamp %x {min = 7.0 : f32, max = 6.0 : f32} : tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @clamp_quantized_min_not_below_max(%x: tensor<4x!quant.uniform<i8:f32, 0.5>>) {
  // expected-error@+1 {{min (3.0) must be less than max (3.0) on quantized data}}
  %y = qnn.clamp %x {min = 3.0 : f32, max = 3.0 : f32} : tensor<4x!quant.uniform<i8:f32, 0.5>> -> tensor<4x!quant.uniform<i8:f32, 0.5>>
  return
}

// -----

func.func @fake_quant_one_level(%x: tensor<4xf32>) {
  // expected-error@+1 {{levels must be at least 2, got 1}}
  %y = qnn.fake_quant %x {levels = 1 : i64, input_low = -1.0 : f32, input_high = 1.0 : f32, output_low = -1.0 : f32, output_high = 1.0 : f32} : tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @fake_quant_empty_input_range(%x: tensor<4xf32>) {
  // expected-error@+1 {{input_low must be less than input_high}}
  %y = qnn.fake_quant %x {levels = 256 : i64, input_low = 1.0 : f32, input_high = 1.0 : f32, output_low = -1.0 : f32, output_high = 1.0 : f32} : tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @fake_quant_quantized(%q: tensor<4x!quant.uniform<i8:f32, 0.5>>) {
  // expected-error@+1 {{maps a float tensor to the same float type}}
  %y = qnn.fake_quant %q {levels = 256 : i64, input_low = -1.0 : f32, input_high = 1.0 : f32, output_low = -1.0 : f32, output_high = 1.0 : f32} : tensor<4x!quant.uniform<i8:f32, 0.5>> -> tensor<4x!quant.uniform<i8:f32, 0.5>>
  return
}

// -----

func.func @add_not_broadcasting(%a: tensor<2x3x!quant.uniform<i8:f32, 0.5>>, %b: tensor<4x!quant.uniform<i8:f32, 0.25>>) {
  // expected-error@+1 {{operand shapes [2, 3] and [4] do not broadcast}}
  %y = qnn.add %a, %b : tensor<2x3x!quant.uniform<i8:f32, 0.5>>, tensor<4x!quant.uniform<i8:f32, 0.25>> -> tensor<2x3x!quant.uniform<i8:f32, 1.0>>
  return
}

// -----

func.func @add_wrong_result_shape(%a: tensor<2x1xf32>, %b: tensor<3xf32>) {
  // expected-error@+1 {{result shape [3] must be the broadcast shape [2, 3]}}
  %y = qnn.add %a, %b : tensor<2x1xf32>, tensor<3xf32> -> tensor<3xf32>
  return
}

// -----

func.func @add_per_axis_operand(%a: tensor<2x!quant.uniform<i8:f32:0, {0.5,0.25}>>, %b: tensor<2x!quant.uniform<i8:f32, 0.25>>) {
  // expected-error@+1 {{lhs must be quantized per tensor}}
  %y = qnn.add %a, %b : tensor<2x!quant.uniform<i8:f32:0, {0.5,0.25}>>, tensor<2x!quant.uniform<i8:f32, 0.25>> -> tensor<2x!quant.uniform<i8:f32, 1.0>>
  return
}

// -----

func.func @add_float_quantized_mix(%a: tensor<4xf32>, %b: tensor<4x!quant.uniform<i8:f32, 0.25>>) {
  // expected-error@+1 {{takes all-float or all-quantized tensors}}
  %y = qnn.add %a, %b : tensor<4xf32>, tensor<4x!quant.uniform<i8:f32, 0.25>> -> tensor<4xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// qnn.conv2d / qnn.dot
//===----------------------------------------------------------------------===//

!x = !quant.uniform<i8:f32, 0.05:-10>
!w = !quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.015,0.03}>
!y = !quant.uniform<i8:f32, 0.1:-128>
func.func @conv2d_wrong_result_shape(%x: tensor<1x3x8x8x!x>, %w: tensor<4x3x3x3x!w>) {
  // expected-error@+1 {{result shape must be [1, 4, 6, 6], got [1, 4, 8, 8]}}
  %y = qnn.conv2d %x, %w : tensor<1x3x8x8x!x>, tensor<4x3x3x3x!w> -> tensor<1x4x8x8x!y>
  return
}

// -----

!x = !quant.uniform<i8:f32, 0.05:-10>
!w = !quant.uniform<i8:f32, 0.02>
!y = !quant.uniform<i8:f32, 0.1:-128>
func.func @conv2d_groups_not_dividing(%x: tensor<1x3x8x8x!x>, %w: tensor<4x1x3x3x!w>) {
  // expected-error@+1 {{groups (2) must divide input channels (3) and output channels (4)}}
  %y = qnn.conv2d %x, %w {groups = 2 : i64} : tensor<1x3x8x8x!x>, tensor<4x1x3x3x!w> -> tensor<1x4x6x6x!y>
  return
}

// -----

!x = !quant.uniform<i8:f32, 0.05:-10>
!w = !quant.uniform<i8:f32, 0.02>
!y = !quant.uniform<i8:f32, 0.1:-128>
func.func @conv2d_weight_channels_per_group(%x: tensor<1x4x8x8x!x>, %w: tensor<4x4x3x3x!w>) {
  // expected-error@+1 {{weight has 4 input channels per group; input has 4 channels in 2 groups}}
  %y = qnn.conv2d %x, %w {groups = 2 : i64} : tensor<1x4x8x8x!x>, tensor<4x4x3x3x!w> -> tensor<1x4x6x6x!y>
  return
}

// -----

!x = !quant.uniform<i8:f32, 0.05:-10>
!w = !quant.uniform<i8:f32:1, {0.01,0.02,0.015}>
!y = !quant.uniform<i8:f32, 0.1:-128>
func.func @conv2d_per_axis_weight_wrong_axis(%x: tensor<1x3x8x8x!x>, %w: tensor<4x3x3x3x!w>) {
  // expected-error@+1 {{per-axis weight must be quantized along the output channel (axis 0), got axis 1}}
  %y = qnn.conv2d %x, %w : tensor<1x3x8x8x!x>, tensor<4x3x3x3x!w> -> tensor<1x4x6x6x!y>
  return
}

// -----

!x = !quant.uniform<i8:f32, 0.05:-10>
!w = !quant.uniform<i8:f32:0, {0.01,0.02,0.015,0.03}>
!y = !quant.uniform<i8:f32, 0.1:-128>
func.func @conv2d_bias_not_i32(%x: tensor<1x3x8x8x!x>, %w: tensor<4x3x3x3x!w>, %b: tensor<4xi8>) {
  // expected-error@+1 {{bias of a quantized op must be an i32 tensor}}
  %y = qnn.conv2d %x, %w bias(%b : tensor<4xi8>) : tensor<1x3x8x8x!x>, tensor<4x3x3x3x!w> -> tensor<1x4x6x6x!y>
  return
}

// -----

!x = !quant.uniform<i8:f32, 0.05:-10>
!w = !quant.uniform<i8:f32:0, {0.01,0.02,0.015,0.03}>
!y = !quant.uniform<i8:f32, 0.1:-128>
func.func @conv2d_bias_wrong_length(%x: tensor<1x3x8x8x!x>, %w: tensor<4x3x3x3x!w>, %b: tensor<3xi32>) {
  // expected-error@+1 {{bias must have shape [4] (the output channel), got tensor<3xi32>}}
  %y = qnn.conv2d %x, %w bias(%b : tensor<3xi32>) : tensor<1x3x8x8x!x>, tensor<4x3x3x3x!w> -> tensor<1x4x6x6x!y>
  return
}

// -----

!w = !quant.uniform<i8:f32:0, {0.01,0.02,0.015,0.03}>
func.func @conv2d_float_quantized_mix(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3x!w>) {
  // expected-error@+1 {{input and weight must be both float or both quantized}}
  %y = qnn.conv2d %x, %w : tensor<1x3x8x8xf32>, tensor<4x3x3x3x!w> -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @conv2d_float_inputs_quantized_result(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{float inputs need a float result}}
  %y = qnn.conv2d %x, %w : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32> -> tensor<1x4x6x6x!quant.uniform<i8:f32, 0.1>>
  return
}

// -----

func.func @conv2d_float_bias_element_type(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<4xf16>) {
  // expected-error@+1 {{a float op's bias must have the result's element type}}
  %y = qnn.conv2d %x, %w bias(%b : tensor<4xf16>) : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32> -> tensor<1x4x6x6xf32>
  return
}

// -----

!x = !quant.uniform<i8:f32, 0.05:-10>
!w = !quant.uniform<i8:f32:0, {0.01,0.02,0.015,0.03}>
func.func @conv2d_quantized_float_result(%x: tensor<1x3x8x8x!x>, %w: tensor<4x3x3x3x!w>) {
  // expected-error@+1 {{quantized inputs need a quantized or i32 result}}
  %y = qnn.conv2d %x, %w : tensor<1x3x8x8x!x>, tensor<4x3x3x3x!w> -> tensor<1x4x6x6xf32>
  return
}

// -----

!x = !quant.uniform<i8:f32, 0.05:-10>
!w = !quant.uniform<i8:f32:0, {0.01,0.02,0.015,0.03}>
!y = !quant.uniform<u8:f32, 0.2:120>
func.func @conv2d_addend_without_intermediate(%x: tensor<1x3x8x8x!x>, %w: tensor<4x3x3x3x!w>, %r: tensor<1x4x6x6x!y>) {
  // expected-error@+1 {{a quantized addend needs the intermediate type the conv result is requantized to before the add}}
  %y = qnn.conv2d %x, %w addend(%r : tensor<1x4x6x6x!y>) : tensor<1x3x8x8x!x>, tensor<4x3x3x3x!w> -> tensor<1x4x6x6x!y>
  return
}

// -----

!x = !quant.uniform<i8:f32, 0.05:-10>
!w = !quant.uniform<i8:f32:0, {0.01,0.02,0.015,0.03}>
!y = !quant.uniform<u8:f32, 0.2:120>
func.func @conv2d_intermediate_without_addend(%x: tensor<1x3x8x8x!x>, %w: tensor<4x3x3x3x!w>) {
  // expected-error@+1 {{intermediate is only meaningful with an addend}}
  %y = qnn.conv2d %x, %w {intermediate = !quant.uniform<i8:f32, 0.08:4>} : tensor<1x3x8x8x!x>, tensor<4x3x3x3x!w> -> tensor<1x4x6x6x!y>
  return
}

// -----

!x = !quant.uniform<i8:f32, 0.05:-10>
!w = !quant.uniform<i8:f32:0, {0.01,0.02,0.015,0.03}>
!y = !quant.uniform<u8:f32, 0.2:120>
func.func @conv2d_per_axis_intermediate(%x: tensor<1x3x8x8x!x>, %w: tensor<4x3x3x3x!w>, %r: tensor<1x4x6x6x!y>) {
  // expected-error@+1 {{intermediate type must be quantized per tensor}}
  %y = qnn.conv2d %x, %w addend(%r : tensor<1x4x6x6x!y>) {intermediate = !quant.uniform<i8:f32:1, {0.1,0.2,0.3,0.4}>} : tensor<1x3x8x8x!x>, tensor<4x3x3x3x!w> -> tensor<1x4x6x6x!y>
  return
}

// -----

!x = !quant.uniform<i8:f32, 0.05:-10>
!w = !quant.uniform<i8:f32:0, {0.01,0.02,0.015,0.03}>
!y = !quant.uniform<u8:f32, 0.2:120>
func.func @conv2d_addend_wrong_shape(%x: tensor<1x3x8x8x!x>, %w: tensor<4x3x3x3x!w>, %r: tensor<1x4x8x8x!y>) {
  // expected-error@+1 {{addend must have the result's shape}}
  %y = qnn.conv2d %x, %w addend(%r : tensor<1x4x8x8x!y>) {intermediate = !quant.uniform<i8:f32, 0.08:4>} : tensor<1x3x8x8x!x>, tensor<4x3x3x3x!w> -> tensor<1x4x6x6x!y>
  return
}

// -----

!x = !quant.uniform<i8:f32, 0.05:-10>
!w = !quant.uniform<i8:f32:0, {0.01,0.02,0.015,0.03}>
!y = !quant.uniform<u8:f32, 0.2:120>
func.func @conv2d_float_addend_on_quantized(%x: tensor<1x3x8x8x!x>, %w: tensor<4x3x3x3x!w>, %r: tensor<1x4x6x6xf32>) {
  // expected-error@+1 {{addend must be of the result's kind}}
  %y = qnn.conv2d %x, %w addend(%r : tensor<1x4x6x6xf32>) {intermediate = !quant.uniform<i8:f32, 0.08:4>} : tensor<1x3x8x8x!x>, tensor<4x3x3x3x!w> -> tensor<1x4x6x6x!y>
  return
}

// -----

!x = !quant.uniform<i8:f32, 0.05:-10>
!w = !quant.uniform<i8:f32:0, {0.01,0.02,0.015,0.03}>
func.func @conv2d_raw_result_with_activation(%x: tensor<1x3x8x8x!x>, %w: tensor<4x3x3x3x!w>) {
  // expected-error@+1 {{a raw i32 result takes no addend and no activation}}
  %y = qnn.conv2d %x, %w {activation = "relu"} : tensor<1x3x8x8x!x>, tensor<4x3x3x3x!w> -> tensor<1x4x6x6xi32>
  return
}

// -----

!x = !quant.uniform<i8:f32, 0.05:-10>
!w = !quant.uniform<i8:f32:0, {0.01,0.02,0.015,0.03}>
func.func @conv2d_raw_result_not_i32(%x: tensor<1x3x8x8x!x>, %w: tensor<4x3x3x3x!w>) {
  // expected-error@+1 {{a raw accumulator result must be i32}}
  %y = qnn.conv2d %x, %w : tensor<1x3x8x8x!x>, tensor<4x3x3x3x!w> -> tensor<1x4x6x6xi16>
  return
}

// -----

func.func @conv2d_clamp_without_bounds(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{activation 'clamp' needs clamp_min and clamp_max}}
  %y = qnn.conv2d %x, %w {activation = "clamp", clamp_min = 0.0 : f32} : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32> -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @conv2d_clamp_min_not_below_max(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{clamp_min (6.0) must be less than clamp_max (0.0)}}
  %y = qnn.conv2d %x, %w {activation = "clamp", clamp_min = 6.0 : f32, clamp_max = 0.0 : f32} : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32> -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @conv2d_clamp_bounds_with_relu(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{clamp_min/clamp_max are only valid with activation 'clamp'}}
  %y = qnn.conv2d %x, %w {activation = "relu", clamp_min = 0.0 : f32, clamp_max = 6.0 : f32} : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32> -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @conv2d_bad_activation(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{activation must be one of 'none', 'relu', 'clamp', got 'sigmoid'}}
  %y = qnn.conv2d %x, %w {activation = "sigmoid"} : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32> -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @conv2d_bad_layout(%x: tensor<1x8x8x3xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{layout must be one of 'nchw', 'nhwc', got 'nhcw'}}
  %y = qnn.conv2d %x, %w {layout = "nhcw"} : tensor<1x8x8x3xf32>, tensor<4x3x3x3xf32> -> tensor<1x6x6x4xf32>
  return
}

// -----

func.func @conv2d_negative_pads(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{pads must be non-negative, got [-1, 0, 0, 0]}}
  %y = qnn.conv2d %x, %w {pads = array<i64: -1, 0, 0, 0>} : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32> -> tensor<1x4x5x6xf32>
  return
}

// -----

func.func @conv2d_zero_stride(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{strides must be positive, got [0, 1]}}
  %y = qnn.conv2d %x, %w {strides = array<i64: 0, 1>} : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32> -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @conv2d_zero_dilation(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{dilations must be positive, got [1, 0]}}
  %y = qnn.conv2d %x, %w {dilations = array<i64: 1, 0>} : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32> -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @conv2d_strides_wrong_length(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{strides must have 2 entries, got 3}}
  %y = qnn.conv2d %x, %w {strides = array<i64: 1, 1, 1>} : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32> -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @conv2d_rank3_input(%x: tensor<3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{input must have rank 4, got tensor<3x8x8xf32>}}
  %y = qnn.conv2d %x, %w : tensor<3x8x8xf32>, tensor<4x3x3x3xf32> -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @conv2d_kernel_larger_than_input(%x: tensor<1x3x2x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{height: window of extent 3 does not fit the padded input of size 2}}
  %y = qnn.conv2d %x, %w : tensor<1x3x2x8xf32>, tensor<4x3x3x3xf32> -> tensor<1x4x1x6xf32>
  return
}

// -----

!a = !quant.uniform<i8:f32, 0.05:-10>
!b = !quant.uniform<i8:f32:1, {0.01,0.02,0.03}>
!y = !quant.uniform<i8:f32, 0.1>
func.func @dot_contraction_mismatch(%a: tensor<2x16x!a>, %b: tensor<8x3x!b>) {
  // expected-error@+1 {{contraction sizes differ: lhs K = 16, rhs K = 8}}
  %y = qnn.dot %a, %b : tensor<2x16x!a>, tensor<8x3x!b> -> tensor<2x3x!y>
  return
}

// -----

!a = !quant.uniform<i8:f32, 0.05:-10>
!b = !quant.uniform<i8:f32:0, {0.01,0.02,0.03,0.04}>
!y = !quant.uniform<i8:f32, 0.1>
func.func @dot_rhs_per_axis_on_axis_0(%a: tensor<2x4x!a>, %b: tensor<4x3x!b>) {
  // expected-error@+1 {{per-axis rhs must be quantized along N (axis 1), got axis 0}}
  %y = qnn.dot %a, %b : tensor<2x4x!a>, tensor<4x3x!b> -> tensor<2x3x!y>
  return
}

// -----

!a = !quant.uniform<i8:f32:0, {0.05,0.06}>
!b = !quant.uniform<i8:f32:1, {0.01,0.02,0.03}>
!y = !quant.uniform<i8:f32, 0.1>
func.func @dot_per_axis_lhs(%a: tensor<2x4x!a>, %b: tensor<4x3x!b>) {
  // expected-error@+1 {{input must be quantized per tensor}}
  %y = qnn.dot %a, %b : tensor<2x4x!a>, tensor<4x3x!b> -> tensor<2x3x!y>
  return
}

// -----

func.func @dot_rank1_lhs(%a: tensor<4xf32>, %b: tensor<4x3xf32>) {
  // expected-error@+1 {{lhs must have rank >= 2 ([..., M, K]), got tensor<4xf32>}}
  %y = qnn.dot %a, %b : tensor<4xf32>, tensor<4x3xf32> -> tensor<3xf32>
  return
}

// -----

func.func @dot_wrong_result_shape(%a: tensor<5x2x4xf32>, %b: tensor<4x3xf32>) {
  // expected-error@+1 {{result shape must be [5, 2, 3], got [2, 3]}}
  %y = qnn.dot %a, %b : tensor<5x2x4xf32>, tensor<4x3xf32> -> tensor<2x3xf32>
  return
}

// -----

!a = !quant.uniform<i8:f32, 0.05:-10>
!b = !quant.uniform<i8:f32:1, {0.01,0.02,0.03}>
!y = !quant.uniform<i8:f32, 0.1>
func.func @dot_bias_wrong_length(%a: tensor<2x4x!a>, %b: tensor<4x3x!b>, %c: tensor<2xi32>) {
  // expected-error@+1 {{bias must have shape [3] (the output column), got tensor<2xi32>}}
  %y = qnn.dot %a, %b bias(%c : tensor<2xi32>) : tensor<2x4x!a>, tensor<4x3x!b> -> tensor<2x3x!y>
  return
}

// -----

!a = !quant.uniform<i8:f32, 0.05:-10>
!b = !quant.uniform<i8:f16, 0.01>
!y = !quant.uniform<i8:f32, 0.1>
func.func @dot_expressed_mismatch(%a: tensor<2x4x!a>, %b: tensor<4x3x!b>) {
  // expected-error@+1 {{expressed types must agree}}
  %y = qnn.dot %a, %b : tensor<2x4x!a>, tensor<4x3x!b> -> tensor<2x3x!y>
  return
}

// -----

//===----------------------------------------------------------------------===//
// qnn.concat and pooling
//===----------------------------------------------------------------------===//

func.func @concat_size_mismatch(%a: tensor<2x4xf32>, %b: tensor<3x4xf32>) {
  // expected-error@+1 {{result size along axis 0 must be 5, got 6}}
  %y = qnn.concat %a, %b {axis = 0 : i64} : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<6x4xf32>
  return
}

// -----

func.func @concat_off_axis_mismatch(%a: tensor<2x4xf32>, %b: tensor<3x5xf32>) {
  // expected-error@+1 {{input #1 shape [3, 5] differs from the result's off axis 0}}
  %y = qnn.concat %a, %b {axis = 0 : i64} : (tensor<2x4xf32>, tensor<3x5xf32>) -> tensor<5x4xf32>
  return
}

// -----

func.func @concat_axis_out_of_range(%a: tensor<2x4xf32>, %b: tensor<3x4xf32>) {
  // expected-error@+1 {{axis 2 is out of range for rank 2}}
  %y = qnn.concat %a, %b {axis = 2 : i64} : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<5x4xf32>
  return
}

// -----

func.func @concat_negative_axis(%a: tensor<2x4xf32>, %b: tensor<2x4xf32>) {
  // expected-error@+1 {{axis -1 is out of range for rank 2}}
  %y = qnn.concat %a, %b {axis = -1 : i64} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @concat_float_quantized_mix(%a: tensor<2x4xf32>, %b: tensor<3x4x!quant.uniform<i8:f32, 0.5>>) {
  // expected-error@+1 {{takes all-float or all-quantized tensors}}
  %y = qnn.concat %a, %b {axis = 0 : i64} : (tensor<2x4xf32>, tensor<3x4x!quant.uniform<i8:f32, 0.5>>) -> tensor<5x4xf32>
  return
}

// -----

func.func @concat_per_axis_input(%a: tensor<2x4x!quant.uniform<i8:f32:0, {0.5,0.25}>>, %b: tensor<3x4x!quant.uniform<i8:f32, 0.5>>) {
  // expected-error@+1 {{input #0 must be quantized per tensor}}
  %y = qnn.concat %a, %b {axis = 0 : i64} : (tensor<2x4x!quant.uniform<i8:f32:0, {0.5,0.25}>>, tensor<3x4x!quant.uniform<i8:f32, 0.5>>) -> tensor<5x4x!quant.uniform<i8:f32, 0.5>>
  return
}

// -----

!q = !quant.uniform<u8:f32, 0.25:128>
func.func @max_pool_window_too_large(%x: tensor<1x4x8x8x!q>) {
  // expected-error@+1 {{height: window of extent 9 does not fit the padded input of size 8}}
  %y = qnn.max_pool2d %x {kernel = array<i64: 9, 2>} : tensor<1x4x8x8x!q> -> tensor<1x4x1x7x!q>
  return
}

// -----

!q = !quant.uniform<u8:f32, 0.25:128>
func.func @max_pool_type_change(%x: tensor<1x4x8x8x!q>) {
  // expected-error@+1 {{input and result element types must be equal}}
  %y = qnn.max_pool2d %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : tensor<1x4x8x8x!q> -> tensor<1x4x4x4x!quant.uniform<u8:f32, 0.5:128>>
  return
}

// -----

func.func @max_pool_wrong_result_shape(%x: tensor<1x8x8x4xf32>) {
  // expected-error@+1 {{result shape must be [1, 4, 4, 4], got [1, 4, 4, 8]}}
  %y = qnn.max_pool2d %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, layout = "nhwc"} : tensor<1x8x8x4xf32> -> tensor<1x4x4x8xf32>
  return
}

// -----

func.func @avg_pool_dilation(%x: tensor<1x4x8x8xf32>) {
  // expected-error@+1 {{takes dilations only with row_major (ONNX opset 19's loop)}}
  %y = qnn.avg_pool2d %x {kernel = array<i64: 2, 2>, dilations = array<i64: 2, 2>} : tensor<1x4x8x8xf32> -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @avg_pool_row_major_quantized(%x: tensor<1x4x8x8x!quant.uniform<u8:f32, 0.25:128>>) {
  // expected-error@+1 {{row_major applies only to float pools}}
  %y = qnn.avg_pool2d %x {kernel = array<i64: 2, 2>, row_major} : tensor<1x4x8x8x!quant.uniform<u8:f32, 0.25:128>> -> tensor<1x4x7x7x!quant.uniform<u8:f32, 0.25:128>>
  return
}

// -----

func.func @avg_pool_pad_not_below_kernel(%x: tensor<1x4x8x8xf32>) {
  // expected-error@+1 {{pads must be smaller than the window [2, 2] (dilation·(kernel - 1) + 1: no all-padding window)}}
  %y = qnn.avg_pool2d %x {kernel = array<i64: 2, 2>, pads = array<i64: 2, 0, 0, 0>} : tensor<1x4x8x8xf32> -> tensor<1x4x9x7xf32>
  return
}

// -----

func.func @avg_pool_zero_kernel(%x: tensor<1x4x8x8xf32>) {
  // expected-error@+1 {{kernel must be positive, got [0, 2]}}
  %y = qnn.avg_pool2d %x {kernel = array<i64: 0, 2>} : tensor<1x4x8x8xf32> -> tensor<1x4x9x7xf32>
  return
}

// -----

func.func @avg_pool_float_to_quantized(%x: tensor<1x4x8x8xf32>) {
  // expected-error@+1 {{takes all-float or all-quantized tensors}}
  %y = qnn.avg_pool2d %x {kernel = array<i64: 2, 2>} : tensor<1x4x8x8xf32> -> tensor<1x4x7x7x!quant.uniform<u8:f32, 0.25:128>>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Scaled builders
//===----------------------------------------------------------------------===//

func.func @scaled_quantize_min_above_max(%x: tensor<4xf32>) {
  // expected-error@+1 {{range: min (1.0) must not exceed max (-1.0)}}
  %q = qnn.scaled_quantize %x {min = 1.0 : f32, max = -1.0 : f32} : tensor<4xf32> -> tensor<4x!quant.any<i8:f32>>
  return
}

// -----

func.func @scaled_quantize_uniform_result(%x: tensor<4xf32>) {
  // expected-error@+1 {{result must have !quant.any elements}}
  %q = qnn.scaled_quantize %x {min = -1.0 : f32, max = 1.0 : f32} : tensor<4xf32> -> tensor<4x!quant.uniform<i8:f32, 0.5>>
  return
}

// -----

func.func @scaled_quantize_any_without_expressed(%x: tensor<4xf32>) {
  // expected-error@+1 {{result must name its expressed type, got !quant.any<i8>}}
  %q = qnn.scaled_quantize %x {min = -1.0 : f32, max = 1.0 : f32} : tensor<4xf32> -> tensor<4x!quant.any<i8>>
  return
}

// -----

func.func @scaled_quantize_bad_scheme(%x: tensor<4xf32>) {
  // expected-error@+1 {{scheme must be one of 'asymmetric'}}
  %q = qnn.scaled_quantize %x {min = -1.0 : f32, max = 1.0 : f32, scheme = "affine"} : tensor<4xf32> -> tensor<4x!quant.any<i8:f32>>
  return
}

// -----

func.func @scaled_dequantize_expressed_mismatch(%q: tensor<4x!quant.any<i8:f32>>) {
  // expected-error@+1 {{expressed type in quantized type expected to match float type}}
  %x = qnn.scaled_dequantize %q {min = -1.0 : f32, max = 1.0 : f32} : tensor<4x!quant.any<i8:f32>> -> tensor<4xf16>
  return
}

// -----

!x = !quant.uniform<u8:f32, 0.004:0>
!w = !quant.any<i8:f32>
func.func @scaled_conv2d_uniform_input(%x: tensor<1x3x8x8x!x>, %w: tensor<4x3x3x3x!w>) {
  // expected-error@+1 {{input must have !quant.any elements}}
  %y = qnn.scaled_conv2d %x, %w {input_min = 0.0 : f32, input_max = 1.0 : f32, weight_min = -1.0 : f32, weight_max = 1.0 : f32, output_min = 0.0 : f32, output_max = 6.0 : f32} : tensor<1x3x8x8x!x>, tensor<4x3x3x3x!w> -> tensor<1x4x6x6x!quant.any<u8:f32>>
  return
}

// -----

!x = !quant.any<u8:f32>
!w = !quant.any<i8:f32>
func.func @scaled_conv2d_without_output_range(%x: tensor<1x3x8x8x!x>, %w: tensor<4x3x3x3x!w>) {
  // expected-error@+1 {{a quantized result needs output_min and output_max}}
  %y = qnn.scaled_conv2d %x, %w {input_min = 0.0 : f32, input_max = 1.0 : f32, weight_min = -1.0 : f32, weight_max = 1.0 : f32, output_min = 0.0 : f32} : tensor<1x3x8x8x!x>, tensor<4x3x3x3x!w> -> tensor<1x4x6x6x!x>
  return
}

// -----

!x = !quant.any<u8:f32>
!w = !quant.any<i8:f32>
func.func @scaled_conv2d_i32_result_with_output_range(%x: tensor<1x3x8x8x!x>, %w: tensor<4x3x3x3x!w>) {
  // expected-error@+1 {{an i32 result takes no output range}}
  %y = qnn.scaled_conv2d %x, %w {input_min = 0.0 : f32, input_max = 1.0 : f32, weight_min = -1.0 : f32, weight_max = 1.0 : f32, output_min = 0.0 : f32, output_max = 6.0 : f32} : tensor<1x3x8x8x!x>, tensor<4x3x3x3x!w> -> tensor<1x4x6x6xi32>
  return
}

// -----

!x = !quant.any<u8:f32>
!w = !quant.any<i8:f32>
func.func @scaled_conv2d_weight_min_above_max(%x: tensor<1x3x8x8x!x>, %w: tensor<4x3x3x3x!w>) {
  // expected-error@+1 {{weight range: min (1.0) must not exceed max (-1.0)}}
  %y = qnn.scaled_conv2d %x, %w {input_min = 0.0 : f32, input_max = 1.0 : f32, weight_min = 1.0 : f32, weight_max = -1.0 : f32, output_min = 0.0 : f32, output_max = 6.0 : f32} : tensor<1x3x8x8x!x>, tensor<4x3x3x3x!w> -> tensor<1x4x6x6x!x>
  return
}

// -----

!x = !quant.any<u8:f32>
!w = !quant.any<i8:f32>
func.func @scaled_conv2d_addend_without_range(%x: tensor<1x3x8x8x!x>, %w: tensor<4x3x3x3x!w>, %r: tensor<1x4x6x6x!x>) {
  // expected-error@+1 {{an addend needs addend_min and addend_max}}
  %y = qnn.scaled_conv2d %x, %w addend(%r : tensor<1x4x6x6x!x>) {input_min = 0.0 : f32, input_max = 1.0 : f32, weight_min = -1.0 : f32, weight_max = 1.0 : f32, output_min = 0.0 : f32, output_max = 6.0 : f32, addend_max = 4.0 : f32} : tensor<1x3x8x8x!x>, tensor<4x3x3x3x!w> -> tensor<1x4x6x6x!x>
  return
}

// -----

!x = !quant.any<u8:f32>
!w = !quant.any<i8:f32>
func.func @scaled_conv2d_addend_min_above_max(%x: tensor<1x3x8x8x!x>, %w: tensor<4x3x3x3x!w>, %r: tensor<1x4x6x6x!x>) {
  // expected-error@+1 {{addend range: min (4.0) must not exceed max (0.0)}}
  %y = qnn.scaled_conv2d %x, %w addend(%r : tensor<1x4x6x6x!x>) {input_min = 0.0 : f32, input_max = 1.0 : f32, weight_min = -1.0 : f32, weight_max = 1.0 : f32, output_min = 0.0 : f32, output_max = 6.0 : f32, addend_min = 4.0 : f32, addend_max = 0.0 : f32} : tensor<1x3x8x8x!x>, tensor<4x3x3x3x!w> -> tensor<1x4x6x6x!x>
  return
}

// -----

!x = !quant.any<u8:f32>
!w = !quant.any<i8:f32>
func.func @scaled_conv2d_addend_range_without_addend(%x: tensor<1x3x8x8x!x>, %w: tensor<4x3x3x3x!w>) {
  // expected-error@+1 {{addend_min/addend_max need an addend}}
  %y = qnn.scaled_conv2d %x, %w {input_min = 0.0 : f32, input_max = 1.0 : f32, weight_min = -1.0 : f32, weight_max = 1.0 : f32, output_min = 0.0 : f32, output_max = 6.0 : f32, addend_min = 0.0 : f32, addend_max = 4.0 : f32} : tensor<1x3x8x8x!x>, tensor<4x3x3x3x!w> -> tensor<1x4x6x6x!x>
  return
}

// -----

!x = !quant.any<u8:f32>
!w = !quant.any<i8:f32>
func.func @scaled_conv2d_bias_type(%x: tensor<1x3x8x8x!x>, %w: tensor<4x3x3x3x!w>, %b: tensor<4xf16>) {
  // expected-error@+1 {{bias must be i32 or f32, got tensor<4xf16>}}
  %y = qnn.scaled_conv2d %x, %w bias(%b : tensor<4xf16>) {input_min = 0.0 : f32, input_max = 1.0 : f32, weight_min = -1.0 : f32, weight_max = 1.0 : f32, output_min = 0.0 : f32, output_max = 6.0 : f32} : tensor<1x3x8x8x!x>, tensor<4x3x3x3x!w> -> tensor<1x4x6x6x!x>
  return
}

// -----

!a = !quant.any<i8:f32>
!b = !quant.any<i8:f16>
func.func @scaled_dot_weight_expressed_mismatch(%a: tensor<2x16x!a>, %b: tensor<16x4x!b>) {
  // expected-error@+1 {{input and weight expressed types differ}}
  %y = qnn.scaled_dot %a, %b {input_min = -1.0 : f32, input_max = 1.0 : f32, weight_min = -1.0 : f32, weight_max = 1.0 : f32, output_min = -8.0 : f32, output_max = 8.0 : f32} : tensor<2x16x!a>, tensor<16x4x!b> -> tensor<2x4x!a>
  return
}

// -----

!a = !quant.any<i8:f32>
func.func @scaled_dot_i32_result_with_activation(%a: tensor<2x16x!a>, %b: tensor<16x4x!a>) {
  // expected-error@+1 {{an i32 result takes no addend and no activation}}
  %y = qnn.scaled_dot %a, %b {input_min = -1.0 : f32, input_max = 1.0 : f32, weight_min = -1.0 : f32, weight_max = 1.0 : f32, activation = "relu"} : tensor<2x16x!a>, tensor<16x4x!a> -> tensor<2x4xi32>
  return
}

// -----

!a = !quant.any<i8:f32>
func.func @scaled_concat_wrong_number_of_mins(%a: tensor<2x4x!a>, %b: tensor<3x4x!a>) {
  // expected-error@+1 {{input_mins and input_maxs need one entry per input (2)}}
  %y = qnn.scaled_concat %a, %b {axis = 0 : i64, input_mins = [-1.0 : f32], input_maxs = [1.0 : f32, 2.0 : f32]} : (tensor<2x4x!a>, tensor<3x4x!a>) -> tensor<5x4x!a>
  return
}

// -----

!a = !quant.any<i8:f32>
func.func @scaled_concat_input_min_above_max(%a: tensor<2x4x!a>, %b: tensor<3x4x!a>) {
  // expected-error@+1 {{input #1 range: min (3.0) must not exceed max (2.0)}}
  %y = qnn.scaled_concat %a, %b {axis = 0 : i64, input_mins = [-1.0 : f32, 3.0 : f32], input_maxs = [1.0 : f32, 2.0 : f32]} : (tensor<2x4x!a>, tensor<3x4x!a>) -> tensor<5x4x!a>
  return
}

// -----

!a = !quant.any<i8:f32>
func.func @scaled_concat_only_output_min(%a: tensor<2x4x!a>, %b: tensor<3x4x!a>) {
  // expected-error@+1 {{give both output_min and output_max, or neither}}
  %y = qnn.scaled_concat %a, %b {axis = 0 : i64, input_mins = [-1.0 : f32, -2.0 : f32], input_maxs = [1.0 : f32, 2.0 : f32], output_min = -2.0 : f32} : (tensor<2x4x!a>, tensor<3x4x!a>) -> tensor<5x4x!a>
  return
}

// -----

!a = !quant.any<i8:f32>
func.func @scaled_concat_size_mismatch(%a: tensor<2x4x!a>, %b: tensor<2x3x!a>) {
  // expected-error@+1 {{result size along axis 1 must be 7, got 8}}
  %y = qnn.scaled_concat %a, %b {axis = 1 : i64, input_mins = [-1.0 : f32, -2.0 : f32], input_maxs = [1.0 : f32, 2.0 : f32]} : (tensor<2x4x!a>, tensor<2x3x!a>) -> tensor<2x8x!a>
  return
}

// -----

//===----------------------------------------------------------------------===//
// qnn.transpose and qnn.pad
//===----------------------------------------------------------------------===//

func.func @transpose_not_a_permutation(%a: tensor<2x3xf32>) {
  // expected-error@+1 {{permutation [0, 0] is not a permutation of 0..1}}
  %y = qnn.transpose %a {permutation = array<i64: 0, 0>} : tensor<2x3xf32> -> tensor<2x2xf32>
  return
}

// -----

func.func @transpose_shape(%a: tensor<2x3xf32>) {
  // expected-error@+1 {{result shape must be [3, 2], got [2, 3]}}
  %y = qnn.transpose %a {permutation = array<i64: 1, 0>} : tensor<2x3xf32> -> tensor<2x3xf32>
  return
}

// -----

func.func @transpose_axis_must_move(%a: tensor<2x3x!quant.uniform<i8:f32:1, {0.1,0.2,0.3}>>) {
  // expected-error@+1 {{result element type must be !quant.uniform<i8:f32:0, {0.1,0.2,0.3}>}}
  %y = qnn.transpose %a {permutation = array<i64: 1, 0>} : tensor<2x3x!quant.uniform<i8:f32:1, {0.1,0.2,0.3}>> -> tensor<3x2x!quant.uniform<i8:f32:1, {0.1,0.2,0.3}>>
  return
}

// -----

func.func @pad_negative(%a: tensor<2x3xf32>) {
  // expected-error@+1 {{pads must be non-negative}}
  %y = qnn.pad %a {low = array<i64: -1, 0>, high = array<i64: 0, 0>} : tensor<2x3xf32> -> tensor<1x3xf32>
  return
}

// -----

func.func @slice_out_of_bounds(%a: tensor<2x5xf32>) {
  // expected-error@+1 {{dimension 1: 3 elements from 1 by 2 leave [0, 5)}}
  %y = qnn.slice %a {starts = array<i64: 0, 1>, steps = array<i64: 1, 2>} : tensor<2x5xf32> -> tensor<2x3xf32>
  return
}

// -----

func.func @slice_of_the_quantized_axis(%a: tensor<4x2x!quant.uniform<i8:f32:0, {0.1,0.2,0.3,0.4}>>) {
  // expected-error@+1 {{slices the quantized axis 0}}
  %y = qnn.slice %a {starts = array<i64: 1, 0>, steps = array<i64: 1, 1>} : tensor<4x2x!quant.uniform<i8:f32:0, {0.1,0.2,0.3,0.4}>> -> tensor<2x2x!quant.uniform<i8:f32:0, {0.1,0.2,0.3,0.4}>>
  return
}

// -----

func.func @pad_reflect_too_wide(%a: tensor<2x3xf32>) {
  // expected-error@+1 {{'reflect' pads must be smaller than the dimension}}
  %y = qnn.pad %a {low = array<i64: 2, 0>, high = array<i64: 0, 0>, mode = "reflect"} : tensor<2x3xf32> -> tensor<4x3xf32>
  return
}

// -----

func.func @pad_mode(%a: tensor<2x3xf32>) {
  // expected-error@+1 {{mode must be one of 'constant', 'edge', 'reflect', 'wrap', got 'mirror'}}
  %y = qnn.pad %a {low = array<i64: 0, 0>, high = array<i64: 0, 0>, mode = "mirror"} : tensor<2x3xf32> -> tensor<2x3xf32>
  return
}

// -----

func.func @pad_shape(%a: tensor<2x3xf32>) {
  // expected-error@+1 {{result shape must be [3, 5], got [3, 4]}}
  %y = qnn.pad %a {low = array<i64: 1, 1>, high = array<i64: 0, 1>} : tensor<2x3xf32> -> tensor<3x4xf32>
  return
}

// -----

func.func @pad_constant_per_axis(%a: tensor<2x3x!quant.uniform<i8:f32:1, {0.1,0.2,0.3}>>) {
  // expected-error@+1 {{input must be quantized per tensor}}
  %y = qnn.pad %a {low = array<i64: 1, 0>, high = array<i64: 0, 0>} : tensor<2x3x!quant.uniform<i8:f32:1, {0.1,0.2,0.3}>> -> tensor<3x3x!quant.uniform<i8:f32:1, {0.1,0.2,0.3}>>
  return
}

// -----

func.func @col2im_channels(%col: tensor<4x3x3x5x5xf32>) {
  // expected-error@+1 {{input [C, kh, kw, H, W] and result [C, OH, OW] need the same C, got 4 and 2}}
  %y = qnn.col2im %col : tensor<4x3x3x5x5xf32> -> tensor<2x7x7xf32>
  return
}

// -----

func.func @col2im_stride(%col: tensor<4x3x3x5x5xf32>) {
  // expected-error@+1 {{strides must be positive, got [0, 1]}}
  %y = qnn.col2im %col {strides = array<i64: 0, 1>} : tensor<4x3x3x5x5xf32> -> tensor<4x7x7xf32>
  return
}

// -----

func.func @col2im_float(%col: tensor<4x3x3x5x5xi32>) {
  // expected-error@+1 {{input must be a float32 tensor}}
  %y = qnn.col2im %col : tensor<4x3x3x5x5xi32> -> tensor<4x7x7xf32>
  return
}

// -----

func.func @arg_reduce_axis(%x: tensor<2x3xf32>) {
  // expected-error@+1 {{axis 2 is not a dimension of rank 2}}
  %y = qnn.arg_reduce %x {kind = "max", axis = 2 : i64} : tensor<2x3xf32> -> tensor<2x3xi64>
  return
}

// -----

func.func @arg_reduce_result(%x: tensor<2x3xf32>) {
  // expected-error@+1 {{result must be i64 of shape [2, 1] or [2], got tensor<2x1xi32>}}
  %y = qnn.arg_reduce %x {kind = "min", axis = 1 : i64} : tensor<2x3xf32> -> tensor<2x1xi32>
  return
}

// -----

func.func @top_k_k(%x: tensor<2x3xf32>) {
  // expected-error@+1 {{k = 4 must lie in 0 .. 3, the axis' size}}
  %v, %i = qnn.top_k %x {k = 4 : i64, axis = 1 : i64} : tensor<2x3xf32> -> tensor<2x4xf32>, tensor<2x4xi64>
  return
}

// -----

func.func @top_k_values(%x: tensor<2x3xf32>) {
  // expected-error@+1 {{values must be tensor<2x2xf32>, got tensor<2x2xi64>}}
  %v, %i = qnn.top_k %x {k = 2 : i64, axis = 1 : i64} : tensor<2x3xf32> -> tensor<2x2xi64>, tensor<2x2xi64>
  return
}

// -----

func.func @top_k_indices(%x: tensor<2x3xf32>) {
  // expected-error@+1 {{indices must be i64 of shape [2, 2]}}
  %v, %i = qnn.top_k %x {k = 2 : i64, axis = 1 : i64} : tensor<2x3xf32> -> tensor<2x2xf32>, tensor<2x2xi32>
  return
}

// -----

func.func @arg_reduce_kind(%x: tensor<2x3xf32>) {
  // expected-error@+1 {{kind must be one of 'max', 'min', got 'mean'}}
  %y = qnn.arg_reduce %x {kind = "mean", axis = 1 : i64} : tensor<2x3xf32> -> tensor<2xi64>
  return
}

// -----

func.func @batched_matmul_kernel(%x: tensor<1x4x5x5xf32>, %w: tensor<4x2x3x3xf32>) {
  // expected-error@+1 {{batched_matmul marks a float 1x1 conv only}}
  %y = qnn.conv2d %x, %w {groups = 2 : i64, batched_matmul} : tensor<1x4x5x5xf32>, tensor<4x2x3x3xf32> -> tensor<1x4x3x3xf32>
  return
}

// -----

func.func @grid_sample_padding(%x: tensor<1x2x4x5xf32>, %g: tensor<1x3x3x2xf32>) {
  // expected-error@+1 {{padding_mode must be one of zeros, border, reflection, got 'wrap'}}
  %y = qnn.grid_sample %x, %g {mode = "linear", padding_mode = "wrap"} : tensor<1x2x4x5xf32>, tensor<1x3x3x2xf32> -> tensor<1x2x3x3xf32>
  return
}

// -----

func.func @grid_sample_shape(%x: tensor<1x2x4x5xf32>, %g: tensor<1x3x3x2xf32>) {
  // expected-error@+1 {{input [1, 2, 4, 5] and grid [1, 3, 3, 2] ([N, Ho, Wo, 2]) give [1, 2, 3, 3], not [1, 2, 3, 4]}}
  %y = qnn.grid_sample %x, %g {mode = "linear", padding_mode = "zeros"} : tensor<1x2x4x5xf32>, tensor<1x3x3x2xf32> -> tensor<1x2x3x4xf32>
  return
}
