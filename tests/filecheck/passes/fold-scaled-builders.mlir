// RUN: qopt %s -p fold-scaled-builders --split-input-file | filecheck %s
// RUN: qopt %s -p fold-scaled-builders,fold-scaled-builders --split-input-file | filecheck %s

// fold-scaled-builders: each nGraph scaled builder becomes its core qnn op, with the scale and
// zero point its `scheme` computes from the recorded range printed in the types. `!quant.any`
// operands are reinterpreted (scast to storage and on to the concrete type), results are cast
// back to `!quant.any`, and scast pairs that cancel disappear. The second RUN line checks that
// a second application changes nothing.

// ScaledQuantize, asymmetric u8 [0, 1]: scale 1/255, zero point 0; the result is cast back to
// !quant.any for its (non-scaled) user.
// CHECK-LABEL: func.func @quantize_asymmetric(
// CHECK-SAME: %x: tensor<4xf32>) -> tensor<4x!quant.any<u8:f32>> {
// CHECK-NEXT: %[[Q:[^ ,]+]] = qnn.quantize %x : tensor<4xf32> -> tensor<4x!quant.uniform<u8:f32, 0.003921568859368563>>
// CHECK-NEXT: %[[Q_1:[^ ,]+]] = quant.scast %[[Q]] : tensor<4x!quant.uniform<u8:f32, 0.003921568859368563>> to tensor<4xi8>
// CHECK-NEXT: %[[Q_2:[^ ,]+]] = quant.scast %[[Q_1]] : tensor<4xi8> to tensor<4x!quant.any<u8:f32>>
// CHECK-NEXT: func.return %[[Q_2]] : tensor<4x!quant.any<u8:f32>>
// CHECK-NOT: qnn.scaled_
func.func @quantize_asymmetric(%x: tensor<4xf32>) -> tensor<4x!quant.any<u8:f32>> {
  %q = qnn.scaled_quantize %x {min = 0.0 : f32, max = 1.0 : f32} : tensor<4xf32> -> tensor<4x!quant.any<u8:f32>>
  func.return %q : tensor<4x!quant.any<u8:f32>>
}

// -----

// ScaledQuantize, symmetric with reduce_range: i8 [-64, 63] gives scale 2*2/126; the
// round_mode is kept.
// CHECK-LABEL: func.func @quantize_symmetric_reduce_range(
// CHECK-SAME: %x: tensor<4xf32>) -> tensor<4x!quant.any<i8:f32>> {
// CHECK-NEXT: %[[Q:[^ ,]+]] = qnn.quantize %x {round_mode = "half_away_from_zero"} : tensor<4xf32> -> tensor<4x!quant.uniform<i8:f32, 0.0317460335791111>>
// CHECK-NEXT: %[[Q_1:[^ ,]+]] = quant.scast %[[Q]] : tensor<4x!quant.uniform<i8:f32, 0.0317460335791111>> to tensor<4xi8>
// CHECK-NEXT: %[[Q_2:[^ ,]+]] = quant.scast %[[Q_1]] : tensor<4xi8> to tensor<4x!quant.any<i8:f32>>
// CHECK-NEXT: func.return %[[Q_2]] : tensor<4x!quant.any<i8:f32>>
// CHECK-NOT: qnn.scaled_
func.func @quantize_symmetric_reduce_range(%x: tensor<4xf32>) -> tensor<4x!quant.any<i8:f32>> {
  %q = qnn.scaled_quantize %x {min = -1.0 : f32, max = 2.0 : f32, scheme = "symmetric", round_mode = "half_away_from_zero", reduce_range} : tensor<4xf32> -> tensor<4x!quant.any<i8:f32>>
  func.return %q : tensor<4x!quant.any<i8:f32>>
}

// -----

// Every scheme on the range [-1, 3]:
//   asymmetric u8:        4/255, zp 0 - rint(-1/s) = 64
//   symmetric u8:         one-sided 3/255, zp 0
//   symmetric_pytorch u8: 3/127.5, zp 128
//   symmetric_uint8 u8:   2*3/255, zp 128 (range has negatives)
//   symmetric_power2 i8:  2*3/254 rounded up to 2^-5
//   ngraph_scaled i8:     3/127, zp 0
// CHECK-LABEL: func.func @quantize_schemes(
// CHECK-SAME: %x: tensor<4xf32>) -> (tensor<4x!quant.any<u8:f32>>, tensor<4x!quant.any<u8:f32>>, tensor<4x!quant.any<u8:f32>>, tensor<4x!quant.any<u8:f32>>, tensor<4x!quant.any<i8:f32>>, tensor<4x!quant.any<i8:f32>>) {
// CHECK-NEXT: %[[A:[^ ,]+]] = qnn.quantize %x : tensor<4xf32> -> tensor<4x!quant.uniform<u8:f32, 0.01568627543747425:64>>
// CHECK-NEXT: %[[A_1:[^ ,]+]] = quant.scast %[[A]] : tensor<4x!quant.uniform<u8:f32, 0.01568627543747425:64>> to tensor<4xi8>
// CHECK-NEXT: %[[A_2:[^ ,]+]] = quant.scast %[[A_1]] : tensor<4xi8> to tensor<4x!quant.any<u8:f32>>
// CHECK-NEXT: %[[S:[^ ,]+]] = qnn.quantize %x : tensor<4xf32> -> tensor<4x!quant.uniform<u8:f32, 0.0117647061124444>>
// CHECK-NEXT: %[[S_1:[^ ,]+]] = quant.scast %[[S]] : tensor<4x!quant.uniform<u8:f32, 0.0117647061124444>> to tensor<4xi8>
// CHECK-NEXT: %[[S_2:[^ ,]+]] = quant.scast %[[S_1]] : tensor<4xi8> to tensor<4x!quant.any<u8:f32>>
// CHECK-NEXT: %[[P:[^ ,]+]] = qnn.quantize %x : tensor<4xf32> -> tensor<4x!quant.uniform<u8:f32, 0.0235294122248888:128>>
// CHECK-NEXT: %[[P_1:[^ ,]+]] = quant.scast %[[P]] : tensor<4x!quant.uniform<u8:f32, 0.0235294122248888:128>> to tensor<4xi8>
// CHECK-NEXT: %[[P_2:[^ ,]+]] = quant.scast %[[P_1]] : tensor<4xi8> to tensor<4x!quant.any<u8:f32>>
// CHECK-NEXT: %[[U:[^ ,]+]] = qnn.quantize %x : tensor<4xf32> -> tensor<4x!quant.uniform<u8:f32, 0.0235294122248888:128>>
// CHECK-NEXT: %[[U_1:[^ ,]+]] = quant.scast %[[U]] : tensor<4x!quant.uniform<u8:f32, 0.0235294122248888:128>> to tensor<4xi8>
// CHECK-NEXT: %[[U_2:[^ ,]+]] = quant.scast %[[U_1]] : tensor<4xi8> to tensor<4x!quant.any<u8:f32>>
// CHECK-NEXT: %[[T:[^ ,]+]] = qnn.quantize %x : tensor<4xf32> -> tensor<4x!quant.uniform<i8:f32, 0.03125>>
// CHECK-NEXT: %[[T_1:[^ ,]+]] = quant.scast %[[T]] : tensor<4x!quant.uniform<i8:f32, 0.03125>> to tensor<4xi8>
// CHECK-NEXT: %[[T_2:[^ ,]+]] = quant.scast %[[T_1]] : tensor<4xi8> to tensor<4x!quant.any<i8:f32>>
// CHECK-NEXT: %[[N:[^ ,]+]] = qnn.quantize %x : tensor<4xf32> -> tensor<4x!quant.uniform<i8:f32, 0.023622047156095505>>
// CHECK-NEXT: %[[N_1:[^ ,]+]] = quant.scast %[[N]] : tensor<4x!quant.uniform<i8:f32, 0.023622047156095505>> to tensor<4xi8>
// CHECK-NEXT: %[[N_2:[^ ,]+]] = quant.scast %[[N_1]] : tensor<4xi8> to tensor<4x!quant.any<i8:f32>>
// CHECK-NEXT: func.return %[[A_2]], %[[S_2]], %[[P_2]], %[[U_2]], %[[T_2]], %[[N_2]] : tensor<4x!quant.any<u8:f32>>, tensor<4x!quant.any<u8:f32>>, tensor<4x!quant.any<u8:f32>>, tensor<4x!quant.any<u8:f32>>, tensor<4x!quant.any<i8:f32>>, tensor<4x!quant.any<i8:f32>>
// CHECK-NOT: qnn.scaled_
func.func @quantize_schemes(%x: tensor<4xf32>) -> (tensor<4x!quant.any<u8:f32>>, tensor<4x!quant.any<u8:f32>>, tensor<4x!quant.any<u8:f32>>, tensor<4x!quant.any<u8:f32>>, tensor<4x!quant.any<i8:f32>>, tensor<4x!quant.any<i8:f32>>) {
  %a = qnn.scaled_quantize %x {min = -1.0 : f32, max = 3.0 : f32, scheme = "asymmetric"} : tensor<4xf32> -> tensor<4x!quant.any<u8:f32>>
  %s = qnn.scaled_quantize %x {min = -1.0 : f32, max = 3.0 : f32, scheme = "symmetric"} : tensor<4xf32> -> tensor<4x!quant.any<u8:f32>>
  %p = qnn.scaled_quantize %x {min = -1.0 : f32, max = 3.0 : f32, scheme = "symmetric_pytorch"} : tensor<4xf32> -> tensor<4x!quant.any<u8:f32>>
  %u = qnn.scaled_quantize %x {min = -1.0 : f32, max = 3.0 : f32, scheme = "symmetric_uint8"} : tensor<4xf32> -> tensor<4x!quant.any<u8:f32>>
  %t = qnn.scaled_quantize %x {min = -1.0 : f32, max = 3.0 : f32, scheme = "symmetric_power2"} : tensor<4xf32> -> tensor<4x!quant.any<i8:f32>>
  %n = qnn.scaled_quantize %x {min = -1.0 : f32, max = 3.0 : f32, scheme = "ngraph_scaled"} : tensor<4xf32> -> tensor<4x!quant.any<i8:f32>>
  func.return %a, %s, %p, %u, %t, %n : tensor<4x!quant.any<u8:f32>>, tensor<4x!quant.any<u8:f32>>, tensor<4x!quant.any<u8:f32>>, tensor<4x!quant.any<u8:f32>>, tensor<4x!quant.any<i8:f32>>, tensor<4x!quant.any<i8:f32>>
}

// -----

// ScaledDequantize: the !quant.any input is reinterpreted as asymmetric i8 [-2, 6]
// (scale 8/255, zp -64) before the dequantize.
// CHECK-LABEL: func.func @dequantize(
// CHECK-SAME: %q: tensor<4x!quant.any<i8:f32>>) -> tensor<4xf32> {
// CHECK-NEXT: %[[X:[^ ,]+]] = quant.scast %q : tensor<4x!quant.any<i8:f32>> to tensor<4xi8>
// CHECK-NEXT: %[[X_1:[^ ,]+]] = quant.scast %[[X]] : tensor<4xi8> to tensor<4x!quant.uniform<i8:f32, 0.0313725508749485:-64>>
// CHECK-NEXT: %[[X_2:[^ ,]+]] = qnn.dequantize %[[X_1]] : tensor<4x!quant.uniform<i8:f32, 0.0313725508749485:-64>> -> tensor<4xf32>
// CHECK-NEXT: func.return %[[X_2]] : tensor<4xf32>
// CHECK-NOT: qnn.scaled_
func.func @dequantize(%q: tensor<4x!quant.any<i8:f32>>) -> tensor<4xf32> {
  %x = qnn.scaled_dequantize %q {min = -2.0 : f32, max = 6.0 : f32} : tensor<4x!quant.any<i8:f32>> -> tensor<4xf32>
  func.return %x : tensor<4xf32>
}

// -----

// scaled_quantize -> scaled_dequantize with the same range: the casts between them cancel.
// CHECK-LABEL: func.func @quantize_dequantize(
// CHECK-SAME: %x: tensor<4xf32>) -> tensor<4xf32> {
// CHECK-NEXT: %[[Q:[^ ,]+]] = qnn.quantize %x : tensor<4xf32> -> tensor<4x!quant.uniform<i8:f32, 0.007874015718698502>>
// CHECK-NEXT: %[[Y:[^ ,]+]] = qnn.dequantize %[[Q]] : tensor<4x!quant.uniform<i8:f32, 0.007874015718698502>> -> tensor<4xf32>
// CHECK-NEXT: func.return %[[Y]] : tensor<4xf32>
// CHECK-NOT: qnn.scaled_
// CHECK-NOT: quant.scast
func.func @quantize_dequantize(%x: tensor<4xf32>) -> tensor<4xf32> {
  %q = qnn.scaled_quantize %x {min = -1.0 : f32, max = 1.0 : f32, scheme = "ngraph_scaled"} : tensor<4xf32> -> tensor<4x!quant.any<i8:f32>>
  %y = qnn.scaled_dequantize %q {min = -1.0 : f32, max = 1.0 : f32, scheme = "ngraph_scaled"} : tensor<4x!quant.any<i8:f32>> -> tensor<4xf32>
  func.return %y : tensor<4xf32>
}

// -----

// Different ranges: the raw integers are reinterpreted (nGraph semantics), the casts stay.
// CHECK-LABEL: func.func @chain_range_mismatch(
// CHECK-SAME: %x: tensor<4xf32>) -> tensor<4xf32> {
// CHECK-NEXT: %[[Q:[^ ,]+]] = qnn.quantize %x : tensor<4xf32> -> tensor<4x!quant.uniform<u8:f32, 0.003921568859368563>>
// CHECK-NEXT: %[[Q_1:[^ ,]+]] = quant.scast %[[Q]] : tensor<4x!quant.uniform<u8:f32, 0.003921568859368563>> to tensor<4xi8>
// CHECK-NEXT: %[[Y:[^ ,]+]] = quant.scast %[[Q_1]] : tensor<4xi8> to tensor<4x!quant.uniform<u8:f32, 0.007843137718737125>>
// CHECK-NEXT: %[[Y_1:[^ ,]+]] = qnn.dequantize %[[Y]] : tensor<4x!quant.uniform<u8:f32, 0.007843137718737125>> -> tensor<4xf32>
// CHECK-NEXT: func.return %[[Y_1]] : tensor<4xf32>
// CHECK-NOT: qnn.scaled_
func.func @chain_range_mismatch(%x: tensor<4xf32>) -> tensor<4xf32> {
  %q = qnn.scaled_quantize %x {min = 0.0 : f32, max = 1.0 : f32} : tensor<4xf32> -> tensor<4x!quant.any<u8:f32>>
  %y = qnn.scaled_dequantize %q {min = 0.0 : f32, max = 2.0 : f32} : tensor<4x!quant.any<u8:f32>> -> tensor<4xf32>
  func.return %y : tensor<4xf32>
}

// -----

// ScaledQuantizedConvolution (no bias), asymmetric: input u8 [0, 1], weight i8 [-1, 1],
// output u8 [0, 4].
// CHECK-LABEL: func.func @conv_no_bias(
// CHECK-SAME: %x: tensor<1x2x4x4x!quant.any<u8:f32>>, %w: tensor<3x2x3x3x!quant.any<i8:f32>>) -> tensor<1x3x2x2x!quant.any<u8:f32>> {
// CHECK-NEXT: %[[Y:[^ ,]+]] = quant.scast %x : tensor<1x2x4x4x!quant.any<u8:f32>> to tensor<1x2x4x4xi8>
// CHECK-NEXT: %[[Y_1:[^ ,]+]] = quant.scast %[[Y]] : tensor<1x2x4x4xi8> to tensor<1x2x4x4x!quant.uniform<u8:f32, 0.003921568859368563>>
// CHECK-NEXT: %[[Y_2:[^ ,]+]] = quant.scast %w : tensor<3x2x3x3x!quant.any<i8:f32>> to tensor<3x2x3x3xi8>
// CHECK-NEXT: %[[Y_3:[^ ,]+]] = quant.scast %[[Y_2]] : tensor<3x2x3x3xi8> to tensor<3x2x3x3x!quant.uniform<i8:f32, 0.007843137718737125:-1>>
// CHECK-NEXT: %[[Y_4:[^ ,]+]] = qnn.conv2d %[[Y_1]], %[[Y_3]] : tensor<1x2x4x4x!quant.uniform<u8:f32, 0.003921568859368563>>, tensor<3x2x3x3x!quant.uniform<i8:f32, 0.007843137718737125:-1>> -> tensor<1x3x2x2x!quant.uniform<u8:f32, 0.01568627543747425>>
// CHECK-NEXT: %[[Y_5:[^ ,]+]] = quant.scast %[[Y_4]] : tensor<1x3x2x2x!quant.uniform<u8:f32, 0.01568627543747425>> to tensor<1x3x2x2xi8>
// CHECK-NEXT: %[[Y_6:[^ ,]+]] = quant.scast %[[Y_5]] : tensor<1x3x2x2xi8> to tensor<1x3x2x2x!quant.any<u8:f32>>
// CHECK-NEXT: func.return %[[Y_6]] : tensor<1x3x2x2x!quant.any<u8:f32>>
// CHECK-NOT: qnn.scaled_
func.func @conv_no_bias(%x: tensor<1x2x4x4x!quant.any<u8:f32>>, %w: tensor<3x2x3x3x!quant.any<i8:f32>>) -> tensor<1x3x2x2x!quant.any<u8:f32>> {
  %y = qnn.scaled_conv2d %x, %w {input_min = 0.0 : f32, input_max = 1.0 : f32, weight_min = -1.0 : f32, weight_max = 1.0 : f32, output_min = 0.0 : f32, output_max = 4.0 : f32} : tensor<1x2x4x4x!quant.any<u8:f32>>, tensor<3x2x3x3x!quant.any<i8:f32>> -> tensor<1x3x2x2x!quant.any<u8:f32>>
  func.return %y : tensor<1x3x2x2x!quant.any<u8:f32>>
}

// -----

// A whole scaled chain: only the weight argument keeps its reinterpreting casts.
// CHECK-LABEL: func.func @chain(
// CHECK-SAME: %x: tensor<1x2x4x4xf32>, %w: tensor<3x2x3x3x!quant.any<i8:f32>>) -> tensor<1x3x2x2xf32> {
// CHECK-NEXT: %[[XQ:[^ ,]+]] = qnn.quantize %x : tensor<1x2x4x4xf32> -> tensor<1x2x4x4x!quant.uniform<u8:f32, 0.003921568859368563>>
// CHECK-NEXT: %[[Y:[^ ,]+]] = quant.scast %w : tensor<3x2x3x3x!quant.any<i8:f32>> to tensor<3x2x3x3xi8>
// CHECK-NEXT: %[[Y_1:[^ ,]+]] = quant.scast %[[Y]] : tensor<3x2x3x3xi8> to tensor<3x2x3x3x!quant.uniform<i8:f32, 0.007843137718737125:-1>>
// CHECK-NEXT: %[[Y_2:[^ ,]+]] = qnn.conv2d %[[XQ]], %[[Y_1]] : tensor<1x2x4x4x!quant.uniform<u8:f32, 0.003921568859368563>>, tensor<3x2x3x3x!quant.uniform<i8:f32, 0.007843137718737125:-1>> -> tensor<1x3x2x2x!quant.uniform<u8:f32, 0.01568627543747425>>
// CHECK-NEXT: %[[F:[^ ,]+]] = qnn.dequantize %[[Y_2]] : tensor<1x3x2x2x!quant.uniform<u8:f32, 0.01568627543747425>> -> tensor<1x3x2x2xf32>
// CHECK-NEXT: func.return %[[F]] : tensor<1x3x2x2xf32>
// CHECK-NOT: qnn.scaled_
func.func @chain(%x: tensor<1x2x4x4xf32>, %w: tensor<3x2x3x3x!quant.any<i8:f32>>) -> tensor<1x3x2x2xf32> {
  %xq = qnn.scaled_quantize %x {min = 0.0 : f32, max = 1.0 : f32} : tensor<1x2x4x4xf32> -> tensor<1x2x4x4x!quant.any<u8:f32>>
  %y = qnn.scaled_conv2d %xq, %w {input_min = 0.0 : f32, input_max = 1.0 : f32, weight_min = -1.0 : f32, weight_max = 1.0 : f32, output_min = 0.0 : f32, output_max = 4.0 : f32} : tensor<1x2x4x4x!quant.any<u8:f32>>, tensor<3x2x3x3x!quant.any<i8:f32>> -> tensor<1x3x2x2x!quant.any<u8:f32>>
  %f = qnn.scaled_dequantize %y {min = 0.0 : f32, max = 4.0 : f32} : tensor<1x3x2x2x!quant.any<u8:f32>> -> tensor<1x3x2x2xf32>
  func.return %f : tensor<1x3x2x2xf32>
}

// -----

// ScaledQuantizedConvolutionBias, symmetric: the float constant bias becomes the i32
// constant rint(b / (sx * sw)) with sx = 2/254, sw = 1/254.
// CHECK-LABEL: func.func @conv_bias(
// CHECK-SAME: %x: tensor<1x2x4x4x!quant.any<i8:f32>>, %w: tensor<3x2x3x3x!quant.any<i8:f32>>) -> tensor<1x3x4x4x!quant.any<i8:f32>> {
// CHECK-NEXT: %[[Y:[^ ,]+]] = arith.constant dense<[16129, -8064, 32258]> : tensor<3xi32>
// CHECK-NEXT: %[[Y_1:[^ ,]+]] = quant.scast %x : tensor<1x2x4x4x!quant.any<i8:f32>> to tensor<1x2x4x4xi8>
// CHECK-NEXT: %[[Y_2:[^ ,]+]] = quant.scast %[[Y_1]] : tensor<1x2x4x4xi8> to tensor<1x2x4x4x!quant.uniform<i8:f32, 0.007874015718698502>>
// CHECK-NEXT: %[[Y_3:[^ ,]+]] = quant.scast %w : tensor<3x2x3x3x!quant.any<i8:f32>> to tensor<3x2x3x3xi8>
// CHECK-NEXT: %[[Y_4:[^ ,]+]] = quant.scast %[[Y_3]] : tensor<3x2x3x3xi8> to tensor<3x2x3x3x!quant.uniform<i8:f32, 0.003937007859349251>>
// CHECK-NEXT: %[[Y_5:[^ ,]+]] = qnn.conv2d %[[Y_2]], %[[Y_4]] bias(%[[Y]] : tensor<3xi32>) {pads = array<i64: 1, 1, 1, 1>} : tensor<1x2x4x4x!quant.uniform<i8:f32, 0.007874015718698502>>, tensor<3x2x3x3x!quant.uniform<i8:f32, 0.003937007859349251>> -> tensor<1x3x4x4x!quant.uniform<i8:f32, 0.031496062874794006>>
// CHECK-NEXT: %[[Y_6:[^ ,]+]] = quant.scast %[[Y_5]] : tensor<1x3x4x4x!quant.uniform<i8:f32, 0.031496062874794006>> to tensor<1x3x4x4xi8>
// CHECK-NEXT: %[[Y_7:[^ ,]+]] = quant.scast %[[Y_6]] : tensor<1x3x4x4xi8> to tensor<1x3x4x4x!quant.any<i8:f32>>
// CHECK-NEXT: func.return %[[Y_7]] : tensor<1x3x4x4x!quant.any<i8:f32>>
// CHECK-NOT: qnn.scaled_
// CHECK-NOT: tensor<3xf32>
func.func @conv_bias(%x: tensor<1x2x4x4x!quant.any<i8:f32>>, %w: tensor<3x2x3x3x!quant.any<i8:f32>>) -> tensor<1x3x4x4x!quant.any<i8:f32>> {
  %b = arith.constant dense<[0.5, -0.25, 1.0]> : tensor<3xf32>
  %y = qnn.scaled_conv2d %x, %w bias(%b : tensor<3xf32>) {pads = array<i64: 1, 1, 1, 1>, input_min = -1.0 : f32, input_max = 1.0 : f32, weight_min = -0.5 : f32, weight_max = 0.5 : f32, output_min = -4.0 : f32, output_max = 4.0 : f32, scheme = "symmetric"} : tensor<1x2x4x4x!quant.any<i8:f32>>, tensor<3x2x3x3x!quant.any<i8:f32>> -> tensor<1x3x4x4x!quant.any<i8:f32>>
  func.return %y : tensor<1x3x4x4x!quant.any<i8:f32>>
}

// -----

// ScaledQuantizedConvolutionBiasAdd, symmetric_uint8: the addend is reinterpreted with
// addend_min/max and `intermediate` is the output-range type.
// CHECK-LABEL: func.func @conv_bias_add(
// CHECK-SAME: %x: tensor<1x2x4x4x!quant.any<u8:f32>>, %w: tensor<3x2x3x3x!quant.any<i8:f32>>, %b: tensor<3xi32>, %r: tensor<1x3x2x2x!quant.any<u8:f32>>) -> tensor<1x3x2x2x!quant.any<u8:f32>> {
// CHECK-NEXT: %[[Y:[^ ,]+]] = quant.scast %r : tensor<1x3x2x2x!quant.any<u8:f32>> to tensor<1x3x2x2xi8>
// CHECK-NEXT: %[[Y_1:[^ ,]+]] = quant.scast %[[Y]] : tensor<1x3x2x2xi8> to tensor<1x3x2x2x!quant.uniform<u8:f32, 0.01568627543747425>>
// CHECK-NEXT: %[[Y_2:[^ ,]+]] = quant.scast %x : tensor<1x2x4x4x!quant.any<u8:f32>> to tensor<1x2x4x4xi8>
// CHECK-NEXT: %[[Y_3:[^ ,]+]] = quant.scast %[[Y_2]] : tensor<1x2x4x4xi8> to tensor<1x2x4x4x!quant.uniform<u8:f32, 0.003921568859368563>>
// CHECK-NEXT: %[[Y_4:[^ ,]+]] = quant.scast %w : tensor<3x2x3x3x!quant.any<i8:f32>> to tensor<3x2x3x3xi8>
// CHECK-NEXT: %[[Y_5:[^ ,]+]] = quant.scast %[[Y_4]] : tensor<3x2x3x3xi8> to tensor<3x2x3x3x!quant.uniform<i8:f32, 0.007874015718698502>>
// CHECK-NEXT: %[[Y_6:[^ ,]+]] = qnn.conv2d %[[Y_3]], %[[Y_5]] bias(%b : tensor<3xi32>) addend(%[[Y_1]] : tensor<1x3x2x2x!quant.uniform<u8:f32, 0.01568627543747425>>) {intermediate = !quant.uniform<u8:f32, 0.0313725508749485>} : tensor<1x2x4x4x!quant.uniform<u8:f32, 0.003921568859368563>>, tensor<3x2x3x3x!quant.uniform<i8:f32, 0.007874015718698502>> -> tensor<1x3x2x2x!quant.uniform<u8:f32, 0.0313725508749485>>
// CHECK-NEXT: %[[Y_7:[^ ,]+]] = quant.scast %[[Y_6]] : tensor<1x3x2x2x!quant.uniform<u8:f32, 0.0313725508749485>> to tensor<1x3x2x2xi8>
// CHECK-NEXT: %[[Y_8:[^ ,]+]] = quant.scast %[[Y_7]] : tensor<1x3x2x2xi8> to tensor<1x3x2x2x!quant.any<u8:f32>>
// CHECK-NEXT: func.return %[[Y_8]] : tensor<1x3x2x2x!quant.any<u8:f32>>
// CHECK-NOT: qnn.scaled_
func.func @conv_bias_add(%x: tensor<1x2x4x4x!quant.any<u8:f32>>, %w: tensor<3x2x3x3x!quant.any<i8:f32>>, %b: tensor<3xi32>, %r: tensor<1x3x2x2x!quant.any<u8:f32>>) -> tensor<1x3x2x2x!quant.any<u8:f32>> {
  %y = qnn.scaled_conv2d %x, %w bias(%b : tensor<3xi32>) addend(%r : tensor<1x3x2x2x!quant.any<u8:f32>>) {input_min = 0.0 : f32, input_max = 1.0 : f32, weight_min = -1.0 : f32, weight_max = 1.0 : f32, output_min = 0.0 : f32, output_max = 8.0 : f32, addend_min = 0.0 : f32, addend_max = 4.0 : f32, scheme = "symmetric_uint8"} : tensor<1x2x4x4x!quant.any<u8:f32>>, tensor<3x2x3x3x!quant.any<i8:f32>> -> tensor<1x3x2x2x!quant.any<u8:f32>>
  func.return %y : tensor<1x3x2x2x!quant.any<u8:f32>>
}

// -----

// relu activation, symmetric_pytorch: u8 ranges centre at 128.
// CHECK-LABEL: func.func @conv_relu(
// CHECK-SAME: %x: tensor<1x2x4x4x!quant.any<u8:f32>>, %w: tensor<3x2x3x3x!quant.any<i8:f32>>) -> tensor<1x3x2x2x!quant.any<u8:f32>> {
// CHECK-NEXT: %[[Y:[^ ,]+]] = quant.scast %x : tensor<1x2x4x4x!quant.any<u8:f32>> to tensor<1x2x4x4xi8>
// CHECK-NEXT: %[[Y_1:[^ ,]+]] = quant.scast %[[Y]] : tensor<1x2x4x4xi8> to tensor<1x2x4x4x!quant.uniform<u8:f32, 0.01568627543747425:128>>
// CHECK-NEXT: %[[Y_2:[^ ,]+]] = quant.scast %w : tensor<3x2x3x3x!quant.any<i8:f32>> to tensor<3x2x3x3xi8>
// CHECK-NEXT: %[[Y_3:[^ ,]+]] = quant.scast %[[Y_2]] : tensor<3x2x3x3xi8> to tensor<3x2x3x3x!quant.uniform<i8:f32, 0.007843137718737125>>
// CHECK-NEXT: %[[Y_4:[^ ,]+]] = qnn.conv2d %[[Y_1]], %[[Y_3]] {activation = "relu"} : tensor<1x2x4x4x!quant.uniform<u8:f32, 0.01568627543747425:128>>, tensor<3x2x3x3x!quant.uniform<i8:f32, 0.007843137718737125>> -> tensor<1x3x2x2x!quant.uniform<u8:f32, 0.0470588244497776:128>>
// CHECK-NEXT: %[[Y_5:[^ ,]+]] = quant.scast %[[Y_4]] : tensor<1x3x2x2x!quant.uniform<u8:f32, 0.0470588244497776:128>> to tensor<1x3x2x2xi8>
// CHECK-NEXT: %[[Y_6:[^ ,]+]] = quant.scast %[[Y_5]] : tensor<1x3x2x2xi8> to tensor<1x3x2x2x!quant.any<u8:f32>>
// CHECK-NEXT: func.return %[[Y_6]] : tensor<1x3x2x2x!quant.any<u8:f32>>
// CHECK-NOT: qnn.scaled_
func.func @conv_relu(%x: tensor<1x2x4x4x!quant.any<u8:f32>>, %w: tensor<3x2x3x3x!quant.any<i8:f32>>) -> tensor<1x3x2x2x!quant.any<u8:f32>> {
  %y = qnn.scaled_conv2d %x, %w {activation = "relu", input_min = 0.0 : f32, input_max = 2.0 : f32, weight_min = -1.0 : f32, weight_max = 1.0 : f32, output_min = 0.0 : f32, output_max = 6.0 : f32, scheme = "symmetric_pytorch"} : tensor<1x2x4x4x!quant.any<u8:f32>>, tensor<3x2x3x3x!quant.any<i8:f32>> -> tensor<1x3x2x2x!quant.any<u8:f32>>
  func.return %y : tensor<1x3x2x2x!quant.any<u8:f32>>
}

// -----

// clamp activation, symmetric_power2: power-of-two scales.
// CHECK-LABEL: func.func @conv_clamp(
// CHECK-SAME: %x: tensor<1x2x4x4x!quant.any<i8:f32>>, %w: tensor<3x2x3x3x!quant.any<i8:f32>>) -> tensor<1x3x2x2x!quant.any<i8:f32>> {
// CHECK-NEXT: %[[Y:[^ ,]+]] = quant.scast %x : tensor<1x2x4x4x!quant.any<i8:f32>> to tensor<1x2x4x4xi8>
// CHECK-NEXT: %[[Y_1:[^ ,]+]] = quant.scast %[[Y]] : tensor<1x2x4x4xi8> to tensor<1x2x4x4x!quant.uniform<i8:f32, 0.015625>>
// CHECK-NEXT: %[[Y_2:[^ ,]+]] = quant.scast %w : tensor<3x2x3x3x!quant.any<i8:f32>> to tensor<3x2x3x3xi8>
// CHECK-NEXT: %[[Y_3:[^ ,]+]] = quant.scast %[[Y_2]] : tensor<3x2x3x3xi8> to tensor<3x2x3x3x!quant.uniform<i8:f32, 0.015625>>
// CHECK-NEXT: %[[Y_4:[^ ,]+]] = qnn.conv2d %[[Y_1]], %[[Y_3]] {activation = "clamp", clamp_min = -1.000000e+00 : f32, clamp_max = 1.000000e+00 : f32} : tensor<1x2x4x4x!quant.uniform<i8:f32, 0.015625>>, tensor<3x2x3x3x!quant.uniform<i8:f32, 0.015625>> -> tensor<1x3x2x2x!quant.uniform<i8:f32, 0.03125>>
// CHECK-NEXT: %[[Y_5:[^ ,]+]] = quant.scast %[[Y_4]] : tensor<1x3x2x2x!quant.uniform<i8:f32, 0.03125>> to tensor<1x3x2x2xi8>
// CHECK-NEXT: %[[Y_6:[^ ,]+]] = quant.scast %[[Y_5]] : tensor<1x3x2x2xi8> to tensor<1x3x2x2x!quant.any<i8:f32>>
// CHECK-NEXT: func.return %[[Y_6]] : tensor<1x3x2x2x!quant.any<i8:f32>>
// CHECK-NOT: qnn.scaled_
func.func @conv_clamp(%x: tensor<1x2x4x4x!quant.any<i8:f32>>, %w: tensor<3x2x3x3x!quant.any<i8:f32>>) -> tensor<1x3x2x2x!quant.any<i8:f32>> {
  %y = qnn.scaled_conv2d %x, %w {activation = "clamp", clamp_min = -1.0 : f32, clamp_max = 1.0 : f32, input_min = -1.0 : f32, input_max = 1.0 : f32, weight_min = -1.0 : f32, weight_max = 1.0 : f32, output_min = -3.0 : f32, output_max = 3.0 : f32, scheme = "symmetric_power2"} : tensor<1x2x4x4x!quant.any<i8:f32>>, tensor<3x2x3x3x!quant.any<i8:f32>> -> tensor<1x3x2x2x!quant.any<i8:f32>>
  func.return %y : tensor<1x3x2x2x!quant.any<i8:f32>>
}

// -----

// No output range: the raw i32 accumulator result needs no cast back.
// CHECK-LABEL: func.func @conv_i32(
// CHECK-SAME: %x: tensor<1x2x4x4x!quant.any<u8:f32>>, %w: tensor<3x2x3x3x!quant.any<i8:f32>>) -> tensor<1x3x2x2xi32> {
// CHECK-NEXT: %[[Y:[^ ,]+]] = quant.scast %x : tensor<1x2x4x4x!quant.any<u8:f32>> to tensor<1x2x4x4xi8>
// CHECK-NEXT: %[[Y_1:[^ ,]+]] = quant.scast %[[Y]] : tensor<1x2x4x4xi8> to tensor<1x2x4x4x!quant.uniform<u8:f32, 0.003921568859368563>>
// CHECK-NEXT: %[[Y_2:[^ ,]+]] = quant.scast %w : tensor<3x2x3x3x!quant.any<i8:f32>> to tensor<3x2x3x3xi8>
// CHECK-NEXT: %[[Y_3:[^ ,]+]] = quant.scast %[[Y_2]] : tensor<3x2x3x3xi8> to tensor<3x2x3x3x!quant.uniform<i8:f32, 0.007843137718737125:-1>>
// CHECK-NEXT: %[[Y_4:[^ ,]+]] = qnn.conv2d %[[Y_1]], %[[Y_3]] : tensor<1x2x4x4x!quant.uniform<u8:f32, 0.003921568859368563>>, tensor<3x2x3x3x!quant.uniform<i8:f32, 0.007843137718737125:-1>> -> tensor<1x3x2x2xi32>
// CHECK-NEXT: func.return %[[Y_4]] : tensor<1x3x2x2xi32>
// CHECK-NOT: qnn.scaled_
func.func @conv_i32(%x: tensor<1x2x4x4x!quant.any<u8:f32>>, %w: tensor<3x2x3x3x!quant.any<i8:f32>>) -> tensor<1x3x2x2xi32> {
  %y = qnn.scaled_conv2d %x, %w {input_min = 0.0 : f32, input_max = 1.0 : f32, weight_min = -1.0 : f32, weight_max = 1.0 : f32} : tensor<1x2x4x4x!quant.any<u8:f32>>, tensor<3x2x3x3x!quant.any<i8:f32>> -> tensor<1x3x2x2xi32>
  func.return %y : tensor<1x3x2x2xi32>
}

// -----

// ScaledQuantizedDot, ngraph_scaled: scale = max|r| / 127.
// CHECK-LABEL: func.func @dot(
// CHECK-SAME: %a: tensor<2x16x!quant.any<i8:f32>>, %m: tensor<16x4x!quant.any<i8:f32>>) -> tensor<2x4x!quant.any<i8:f32>> {
// CHECK-NEXT: %[[D:[^ ,]+]] = quant.scast %a : tensor<2x16x!quant.any<i8:f32>> to tensor<2x16xi8>
// CHECK-NEXT: %[[D_1:[^ ,]+]] = quant.scast %[[D]] : tensor<2x16xi8> to tensor<2x16x!quant.uniform<i8:f32, 0.007874015718698502>>
// CHECK-NEXT: %[[D_2:[^ ,]+]] = quant.scast %m : tensor<16x4x!quant.any<i8:f32>> to tensor<16x4xi8>
// CHECK-NEXT: %[[D_3:[^ ,]+]] = quant.scast %[[D_2]] : tensor<16x4xi8> to tensor<16x4x!quant.uniform<i8:f32, 0.007874015718698502>>
// CHECK-NEXT: %[[D_4:[^ ,]+]] = qnn.dot %[[D_1]], %[[D_3]] : tensor<2x16x!quant.uniform<i8:f32, 0.007874015718698502>>, tensor<16x4x!quant.uniform<i8:f32, 0.007874015718698502>> -> tensor<2x4x!quant.uniform<i8:f32, 0.06299212574958801>>
// CHECK-NEXT: %[[D_5:[^ ,]+]] = quant.scast %[[D_4]] : tensor<2x4x!quant.uniform<i8:f32, 0.06299212574958801>> to tensor<2x4xi8>
// CHECK-NEXT: %[[D_6:[^ ,]+]] = quant.scast %[[D_5]] : tensor<2x4xi8> to tensor<2x4x!quant.any<i8:f32>>
// CHECK-NEXT: func.return %[[D_6]] : tensor<2x4x!quant.any<i8:f32>>
// CHECK-NOT: qnn.scaled_
func.func @dot(%a: tensor<2x16x!quant.any<i8:f32>>, %m: tensor<16x4x!quant.any<i8:f32>>) -> tensor<2x4x!quant.any<i8:f32>> {
  %d = qnn.scaled_dot %a, %m {input_min = -1.0 : f32, input_max = 1.0 : f32, weight_min = -1.0 : f32, weight_max = 1.0 : f32, output_min = -8.0 : f32, output_max = 8.0 : f32, scheme = "ngraph_scaled"} : tensor<2x16x!quant.any<i8:f32>>, tensor<16x4x!quant.any<i8:f32>> -> tensor<2x4x!quant.any<i8:f32>>
  func.return %d : tensor<2x4x!quant.any<i8:f32>>
}

// -----

// ScaledQuantizedDotBias, symmetric: float constant bias -> i32 constant.
// CHECK-LABEL: func.func @dot_bias(
// CHECK-SAME: %a: tensor<2x16x!quant.any<i8:f32>>, %m: tensor<16x4x!quant.any<i8:f32>>) -> tensor<2x4x!quant.any<i8:f32>> {
// CHECK-NEXT: %[[D:[^ ,]+]] = arith.constant dense<[3226, 6452, -9677, 0]> : tensor<4xi32>
// CHECK-NEXT: %[[D_1:[^ ,]+]] = quant.scast %a : tensor<2x16x!quant.any<i8:f32>> to tensor<2x16xi8>
// CHECK-NEXT: %[[D_2:[^ ,]+]] = quant.scast %[[D_1]] : tensor<2x16xi8> to tensor<2x16x!quant.uniform<i8:f32, 0.007874015718698502>>
// CHECK-NEXT: %[[D_3:[^ ,]+]] = quant.scast %m : tensor<16x4x!quant.any<i8:f32>> to tensor<16x4xi8>
// CHECK-NEXT: %[[D_4:[^ ,]+]] = quant.scast %[[D_3]] : tensor<16x4xi8> to tensor<16x4x!quant.uniform<i8:f32, 0.003937007859349251>>
// CHECK-NEXT: %[[D_5:[^ ,]+]] = qnn.dot %[[D_2]], %[[D_4]] bias(%[[D]] : tensor<4xi32>) : tensor<2x16x!quant.uniform<i8:f32, 0.007874015718698502>>, tensor<16x4x!quant.uniform<i8:f32, 0.003937007859349251>> -> tensor<2x4x!quant.uniform<i8:f32, 0.031496062874794006>>
// CHECK-NEXT: %[[D_6:[^ ,]+]] = quant.scast %[[D_5]] : tensor<2x4x!quant.uniform<i8:f32, 0.031496062874794006>> to tensor<2x4xi8>
// CHECK-NEXT: %[[D_7:[^ ,]+]] = quant.scast %[[D_6]] : tensor<2x4xi8> to tensor<2x4x!quant.any<i8:f32>>
// CHECK-NEXT: func.return %[[D_7]] : tensor<2x4x!quant.any<i8:f32>>
// CHECK-NOT: qnn.scaled_
// CHECK-NOT: tensor<4xf32>
func.func @dot_bias(%a: tensor<2x16x!quant.any<i8:f32>>, %m: tensor<16x4x!quant.any<i8:f32>>) -> tensor<2x4x!quant.any<i8:f32>> {
  %b = arith.constant dense<[0.1, 0.2, -0.3, 0.0]> : tensor<4xf32>
  %d = qnn.scaled_dot %a, %m bias(%b : tensor<4xf32>) {input_min = -1.0 : f32, input_max = 1.0 : f32, weight_min = -0.5 : f32, weight_max = 0.5 : f32, output_min = -4.0 : f32, output_max = 4.0 : f32, scheme = "symmetric"} : tensor<2x16x!quant.any<i8:f32>>, tensor<16x4x!quant.any<i8:f32>> -> tensor<2x4x!quant.any<i8:f32>>
  func.return %d : tensor<2x4x!quant.any<i8:f32>>
}

// -----

// ScaledQuantizedConcat with different input ranges: each input is reinterpreted with its own
// range; qnn.concat requantizes to the output range [-2, 2].
// CHECK-LABEL: func.func @concat(
// CHECK-SAME: %c1: tensor<2x4x!quant.any<i8:f32>>, %c2: tensor<3x4x!quant.any<i8:f32>>) -> tensor<5x4x!quant.any<i8:f32>> {
// CHECK-NEXT: %[[CC:[^ ,]+]] = quant.scast %c1 : tensor<2x4x!quant.any<i8:f32>> to tensor<2x4xi8>
// CHECK-NEXT: %[[CC_1:[^ ,]+]] = quant.scast %[[CC]] : tensor<2x4xi8> to tensor<2x4x!quant.uniform<i8:f32, 0.007874015718698502>>
// CHECK-NEXT: %[[CC_2:[^ ,]+]] = quant.scast %c2 : tensor<3x4x!quant.any<i8:f32>> to tensor<3x4xi8>
// CHECK-NEXT: %[[CC_3:[^ ,]+]] = quant.scast %[[CC_2]] : tensor<3x4xi8> to tensor<3x4x!quant.uniform<i8:f32, 0.015748031437397003>>
// CHECK-NEXT: %[[CC_4:[^ ,]+]] = qnn.concat %[[CC_1]], %[[CC_3]] {axis = 0 : i64} : (tensor<2x4x!quant.uniform<i8:f32, 0.007874015718698502>>, tensor<3x4x!quant.uniform<i8:f32, 0.015748031437397003>>) -> tensor<5x4x!quant.uniform<i8:f32, 0.015748031437397003>>
// CHECK-NEXT: %[[CC_5:[^ ,]+]] = quant.scast %[[CC_4]] : tensor<5x4x!quant.uniform<i8:f32, 0.015748031437397003>> to tensor<5x4xi8>
// CHECK-NEXT: %[[CC_6:[^ ,]+]] = quant.scast %[[CC_5]] : tensor<5x4xi8> to tensor<5x4x!quant.any<i8:f32>>
// CHECK-NEXT: func.return %[[CC_6]] : tensor<5x4x!quant.any<i8:f32>>
// CHECK-NOT: qnn.scaled_
func.func @concat(%c1: tensor<2x4x!quant.any<i8:f32>>, %c2: tensor<3x4x!quant.any<i8:f32>>) -> tensor<5x4x!quant.any<i8:f32>> {
  %cc = qnn.scaled_concat %c1, %c2 {axis = 0 : i64, input_mins = [-1.0 : f32, -2.0 : f32], input_maxs = [1.0 : f32, 2.0 : f32], scheme = "symmetric"} : (tensor<2x4x!quant.any<i8:f32>>, tensor<3x4x!quant.any<i8:f32>>) -> tensor<5x4x!quant.any<i8:f32>>
  func.return %cc : tensor<5x4x!quant.any<i8:f32>>
}

// -----

// Must not fire: a float bias that is not a constant cannot be quantized; the op is left as is
// and no casts are introduced.
// CHECK-LABEL: func.func @float_bias_argument(
// CHECK-SAME: %x: tensor<1x2x4x4x!quant.any<u8:f32>>, %w: tensor<3x2x3x3x!quant.any<i8:f32>>, %b: tensor<3xf32>) -> tensor<1x3x2x2x!quant.any<u8:f32>> {
// CHECK-NEXT: %[[Y:[^ ,]+]] = qnn.scaled_conv2d %x, %w bias(%b : tensor<3xf32>) {input_min = 0.000000e+00 : f32, input_max = 1.000000e+00 : f32, weight_min = -1.000000e+00 : f32, weight_max = 1.000000e+00 : f32, output_min = 0.000000e+00 : f32, output_max = 4.000000e+00 : f32} : tensor<1x2x4x4x!quant.any<u8:f32>>, tensor<3x2x3x3x!quant.any<i8:f32>> -> tensor<1x3x2x2x!quant.any<u8:f32>>
// CHECK-NEXT: func.return %[[Y]] : tensor<1x3x2x2x!quant.any<u8:f32>>
// CHECK-NOT: quant.scast
// CHECK-NOT: qnn.conv2d
func.func @float_bias_argument(%x: tensor<1x2x4x4x!quant.any<u8:f32>>, %w: tensor<3x2x3x3x!quant.any<i8:f32>>, %b: tensor<3xf32>) -> tensor<1x3x2x2x!quant.any<u8:f32>> {
  %y = qnn.scaled_conv2d %x, %w bias(%b : tensor<3xf32>) {input_min = 0.0 : f32, input_max = 1.0 : f32, weight_min = -1.0 : f32, weight_max = 1.0 : f32, output_min = 0.0 : f32, output_max = 4.0 : f32} : tensor<1x2x4x4x!quant.any<u8:f32>>, tensor<3x2x3x3x!quant.any<i8:f32>> -> tensor<1x3x2x2x!quant.any<u8:f32>>
  func.return %y : tensor<1x3x2x2x!quant.any<u8:f32>>
}
