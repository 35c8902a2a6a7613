// RUN: qopt %s | filecheck %s
// RUN: qopt %s | qopt | filecheck %s
// RUN: qopt %s --print-op-generic | qopt | filecheck %s

// Round trips of qnn.table (an 8-bit lookup; the table is typed like the result) and of
// qnn.activation (the float functions QDQ models wrap), custom and generic forms.

!x = !quant.uniform<i8:f32, 0.1:-3>
!y = !quant.uniform<u8:f32, 0.00390625>

// CHECK-LABEL: func.func @table(
// CHECK: %t = quant.scast %c : tensor<256xi8> to tensor<256x!quant.uniform<u8:f32, 0.00390625>>
// CHECK-NEXT: %y = qnn.table %x, %t : tensor<2x3x!quant.uniform<i8:f32, 0.1:-3>>, tensor<256x!quant.uniform<u8:f32, 0.00390625>> -> tensor<2x3x!quant.uniform<u8:f32, 0.00390625>>
// CHECK: %z = qnn.table %r, %i : tensor<5xi8>, tensor<256xi8> -> tensor<5xi8>
func.func @table(%x: tensor<2x3x!x>, %r: tensor<5xi8>) -> (tensor<2x3x!y>, tensor<5xi8>) {
  %c = arith.constant dense<[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127, -128, -127, -126, -125, -124, -123, -122, -121, -120, -119, -118, -117, -116, -115, -114, -113, -112, -111, -110, -109, -108, -107, -106, -105, -104, -103, -102, -101, -100, -99, -98, -97, -96, -95, -94, -93, -92, -91, -90, -89, -88, -87, -86, -85, -84, -83, -82, -81, -80, -79, -78, -77, -76, -75, -74, -73, -72, -71, -70, -69, -68, -67, -66, -65, -64, -63, -62, -61, -60, -59, -58, -57, -56, -55, -54, -53, -52, -51, -50, -49, -48, -47, -46, -45, -44, -43, -42, -41, -40, -39, -38, -37, -36, -35, -34, -33, -32, -31, -30, -29, -28, -27, -26, -25, -24, -23, -22, -21, -20, -19, -18, -17, -16, -15, -14, -13, -12, -11, -10, -9, -8, -7, -6, -5, -4, -3, -2, -1]> : tensor<256xi8>
  %t = quant.scast %c : tensor<256xi8> to tensor<256x!y>
  %y = qnn.table %x, %t : tensor<2x3x!x>, tensor<256x!y> -> tensor<2x3x!y>
  %i = arith.constant dense<[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127, -128, -127, -126, -125, -124, -123, -122, -121, -120, -119, -118, -117, -116, -115, -114, -113, -112, -111, -110, -109, -108, -107, -106, -105, -104, -103, -102, -101, -100, -99, -98, -97, -96, -95, -94, -93, -92, -91, -90, -89, -88, -87, -86, -85, -84, -83, -82, -81, -80, -79, -78, -77, -76, -75, -74, -73, -72, -71, -70, -69, -68, -67, -66, -65, -64, -63, -62, -61, -60, -59, -58, -57, -56, -55, -54, -53, -52, -51, -50, -49, -48, -47, -46, -45, -44, -43, -42, -41, -40, -39, -38, -37, -36, -35, -34, -33, -32, -31, -30, -29, -28, -27, -26, -25, -24, -23, -22, -21, -20, -19, -18, -17, -16, -15, -14, -13, -12, -11, -10, -9, -8, -7, -6, -5, -4, -3, -2, -1]> : tensor<256xi8>
  %z = qnn.table %r, %i : tensor<5xi8>, tensor<256xi8> -> tensor<5xi8>
  func.return %y, %z : tensor<2x3x!y>, tensor<5xi8>
}

// CHECK-LABEL: func.func @activation(
// CHECK-NEXT: %s = qnn.activation %f {function = "sigmoid"} : tensor<4xf32> -> tensor<4xf32>
// CHECK-NEXT: %t = qnn.activation %s {function = "tanh"} : tensor<4xf32> -> tensor<4xf32>
// CHECK-NEXT: %l = qnn.activation %t {function = "leaky_relu", alpha = 1.000000e-01 : f32} : tensor<4xf32> -> tensor<4xf32>
// CHECK-NEXT: %h = qnn.activation %l {function = "hard_sigmoid", alpha = 2.000000e-01 : f32, beta = 5.000000e-01 : f32} : tensor<4xf32> -> tensor<4xf32>
// CHECK-NEXT: %w = qnn.activation %h {function = "hard_swish"} : tensor<4xf32> -> tensor<4xf32>
// CHECK-NEXT: %g = qnn.activation %w {function = "deepcpu_tanh", alpha = 2.000000e+01 : f32, beta = 5.000000e-01 : f32} : tensor<4xf32> -> tensor<4xf32>
func.func @activation(%f: tensor<4xf32>) -> tensor<4xf32> {
  %s = qnn.activation %f {function = "sigmoid"} : tensor<4xf32> -> tensor<4xf32>
  %t = qnn.activation %s {function = "tanh"} : tensor<4xf32> -> tensor<4xf32>
  %l = qnn.activation %t {function = "leaky_relu", alpha = 0.1 : f32} : tensor<4xf32> -> tensor<4xf32>
  %h = qnn.activation %l {function = "hard_sigmoid", alpha = 0.2 : f32, beta = 0.5 : f32} : tensor<4xf32> -> tensor<4xf32>
  %w = qnn.activation %h {function = "hard_swish"} : tensor<4xf32> -> tensor<4xf32>
  %g = qnn.activation %w {function = "deepcpu_tanh", alpha = 20.0 : f32, beta = 0.5 : f32} : tensor<4xf32> -> tensor<4xf32>
  func.return %g : tensor<4xf32>
}

// qnn.mul: ONNX Runtime's QLinearMul (quantized) and a float Mul.
// CHECK-LABEL: func.func @mul(
// CHECK-NEXT: %y = qnn.mul %a, %b : tensor<4x!quant.uniform<i8:f32, 0.5>>, tensor<4x!quant.uniform<i8:f32, 0.25:3>> -> tensor<4x!quant.uniform<i8:f32, 1.0>>
// CHECK-NEXT: %z = qnn.mul %f, %f : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
func.func @mul(%a: tensor<4x!quant.uniform<i8:f32, 0.5>>, %b: tensor<4x!quant.uniform<i8:f32, 0.25:3>>, %f: tensor<4xf32>) -> (tensor<4x!quant.uniform<i8:f32, 1.0>>, tensor<4xf32>) {
  %y = qnn.mul %a, %b : tensor<4x!quant.uniform<i8:f32, 0.5>>, tensor<4x!quant.uniform<i8:f32, 0.25:3>> -> tensor<4x!quant.uniform<i8:f32, 1.0>>
  %z = qnn.mul %f, %f : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  func.return %y, %z : tensor<4x!quant.uniform<i8:f32, 1.0>>, tensor<4xf32>
}

// qnn.softmax: float32 or 8-bit (QLinearSoftmax), rows along `axis` or flattened from it; a
// float one names MLAS's AVX512F sum-exp kernel when it reproduces that one, and `log` makes
// it LogSoftmax.
// CHECK-LABEL: func.func @softmax(
// CHECK-NEXT: %q = qnn.softmax %x {axis = 1 : i64} : tensor<2x3x!quant.uniform<i8:f32, 0.1:-3>> -> tensor<2x3x!quant.uniform<u8:f32, 0.00390625>>
// CHECK-NEXT: %f = qnn.softmax %g {axis = 0 : i64, flatten} : tensor<4x5xf32> -> tensor<4x5xf32>
// CHECK-NEXT: %w = qnn.softmax %g {axis = 1 : i64, kernel = "avx512f"} : tensor<4x5xf32> -> tensor<4x5xf32>
// CHECK-NEXT: %l = qnn.softmax %g {axis = 1 : i64, log} : tensor<4x5xf32> -> tensor<4x5xf32>
func.func @softmax(%x: tensor<2x3x!x>, %g: tensor<4x5xf32>) -> (tensor<2x3x!y>, tensor<4x5xf32>, tensor<4x5xf32>, tensor<4x5xf32>) {
  %q = qnn.softmax %x {axis = 1 : i64} : tensor<2x3x!x> -> tensor<2x3x!y>
  %f = qnn.softmax %g {axis = 0 : i64, flatten} : tensor<4x5xf32> -> tensor<4x5xf32>
  %w = qnn.softmax %g {axis = 1 : i64, kernel = "avx512f"} : tensor<4x5xf32> -> tensor<4x5xf32>
  %l = qnn.softmax %g {axis = 1 : i64, log} : tensor<4x5xf32> -> tensor<4x5xf32>
  func.return %q, %f, %w, %l : tensor<2x3x!y>, tensor<4x5xf32>, tensor<4x5xf32>, tensor<4x5xf32>
}
