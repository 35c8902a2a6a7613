// RUN: qopt %s --split-input-file --verify-diagnostics

// qnn.table, qnn.activation and qnn.softmax refusals: a table maps 8-bit values only, has 256 entries
// typed like the result; an activation takes exactly the parameters its function reads; a
// softmax is float32 or per-tensor 8-bit on both sides, its axis within the rank.

!y = !quant.uniform<i8:f32, 0.01>
func.func @table_16_bit_input(%x: tensor<4x!quant.uniform<i16:f32, 0.1>>) -> tensor<4x!y> {
  %c = arith.constant dense<0> : tensor<256xi8>
  %t = quant.scast %c : tensor<256xi8> to tensor<256x!y>
  // expected-error@+1 {{input has 16-bit storage; qnn.table maps 8-bit values to 8-bit values through 256 entries}}
  %y = qnn.table %x, %t : tensor<4x!quant.uniform<i16:f32, 0.1>>, tensor<256x!y> -> tensor<4x!y>
  func.return %y : tensor<4x!y>
}

// -----

func.func @table_32_bit_input(%x: tensor<4xi32>) -> tensor<4xi8> {
  %t = arith.constant dense<0> : tensor<256xi8>
  // expected-error@+1 {{input has 32-bit storage; qnn.table maps 8-bit values}}
  %y = qnn.table %x, %t : tensor<4xi32>, tensor<256xi8> -> tensor<4xi8>
  func.return %y : tensor<4xi8>
}

// -----

func.func @table_float_input(%x: tensor<4xf32>) -> tensor<4xi8> {
  %t = arith.constant dense<0> : tensor<256xi8>
  // expected-error@+1 {{input must be a quantized or integer tensor}}
  %y = qnn.table %x, %t : tensor<4xf32>, tensor<256xi8> -> tensor<4xi8>
  func.return %y : tensor<4xi8>
}

// -----

func.func @table_short(%x: tensor<4xi8>) -> tensor<4xi8> {
  %t = arith.constant dense<0> : tensor<255xi8>
  // expected-error@+1 {{table must have shape [256], got [255]}}
  %y = qnn.table %x, %t : tensor<4xi8>, tensor<255xi8> -> tensor<4xi8>
  func.return %y : tensor<4xi8>
}

// -----

!y = !quant.uniform<i8:f32, 0.01>
func.func @table_untyped(%x: tensor<4xi8>) -> tensor<4x!y> {
  %t = arith.constant dense<0> : tensor<256xi8>
  // expected-error@+1 {{table element type i8 must be the result's, !quant.uniform<i8:f32, 0.01>}}
  %y = qnn.table %x, %t : tensor<4xi8>, tensor<256xi8> -> tensor<4x!y>
  func.return %y : tensor<4x!y>
}

// -----

func.func @table_shape(%x: tensor<4xi8>) -> tensor<2x2xi8> {
  %t = arith.constant dense<0> : tensor<256xi8>
  // expected-error@+1 {{input shape [4] and result shape [2, 2] differ}}
  %y = qnn.table %x, %t : tensor<4xi8>, tensor<256xi8> -> tensor<2x2xi8>
  func.return %y : tensor<2x2xi8>
}

// -----

func.func @activation_unknown(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error@+1 {{function must be one of 'sigmoid', 'tanh', 'leaky_relu', 'hard_sigmoid', 'hard_swish', 'silu', 'erf', 'sqrt', 'neg', 'abs', 'floor', 'ceil', 'sign', 'gelu', 'gelu_tanh', 'deepcpu_tanh', 'deepcpu_clip', 'exp', 'log', 'logf', 'tanhf', 'expf', 'tan', 'sinh', 'cosh', 'asinh', 'acosh', 'atanh', 'softplus', 'elu', 'selu', 'celu', 'sin', 'cos', 'asin', 'acos', 'atan', got 'mish'}}
  %y = qnn.activation %x {function = "mish"} : tensor<4xf32> -> tensor<4xf32>
  func.return %y : tensor<4xf32>
}

// -----

func.func @activation_missing_alpha(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error@+1 {{function 'leaky_relu' takes alpha}}
  %y = qnn.activation %x {function = "leaky_relu"} : tensor<4xf32> -> tensor<4xf32>
  func.return %y : tensor<4xf32>
}

// -----

func.func @activation_deepcpu_tanh_without_factor(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error@+1 {{function 'deepcpu_tanh' takes alpha, beta}}
  %y = qnn.activation %x {function = "deepcpu_tanh", alpha = 10.0 : f32} : tensor<4xf32> -> tensor<4xf32>
  func.return %y : tensor<4xf32>
}

// -----

func.func @activation_extra(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error@+1 {{function 'sigmoid' takes neither alpha nor beta}}
  %y = qnn.activation %x {function = "sigmoid", alpha = 1.0 : f32} : tensor<4xf32> -> tensor<4xf32>
  func.return %y : tensor<4xf32>
}

// -----

func.func @activation_f16(%x: tensor<4xf16>) -> tensor<4xf16> {
  // expected-error@+1 {{maps a float32 tensor to the same type}}
  %y = qnn.activation %x {function = "tanh"} : tensor<4xf16> -> tensor<4xf16>
  func.return %y : tensor<4xf16>
}

// -----

func.func @softmax_16_bit(%x: tensor<4x!quant.uniform<i16:f32, 0.1>>) -> tensor<4x!quant.uniform<u8:f32, 0.00390625>> {
  // expected-error@+1 {{input must be per-tensor 8-bit (QLinearSoftmax's exp table has 256 entries), got !quant.uniform<i16:f32, 0.1>}}
  %y = qnn.softmax %x {axis = 0 : i64} : tensor<4x!quant.uniform<i16:f32, 0.1>> -> tensor<4x!quant.uniform<u8:f32, 0.00390625>>
  func.return %y : tensor<4x!quant.uniform<u8:f32, 0.00390625>>
}

// -----

func.func @softmax_axis(%x: tensor<4x2xf32>) -> tensor<4x2xf32> {
  // expected-error@+1 {{axis 2 is out of range for rank 2}}
  %y = qnn.softmax %x {axis = 2 : i64} : tensor<4x2xf32> -> tensor<4x2xf32>
  func.return %y : tensor<4x2xf32>
}

// -----

func.func @softmax_float_to_quantized(%x: tensor<4xf32>) -> tensor<4x!quant.uniform<u8:f32, 0.00390625>> {
  // expected-error@+1 {{input must be quantized when the other is, got f32}}
  %y = qnn.softmax %x {axis = 0 : i64} : tensor<4xf32> -> tensor<4x!quant.uniform<u8:f32, 0.00390625>>
  func.return %y : tensor<4x!quant.uniform<u8:f32, 0.00390625>>
}

// -----

func.func @softmax_quantized_log(%x: tensor<4x!quant.uniform<u8:f32, 0.1>>) -> tensor<4x!quant.uniform<u8:f32, 0.00390625>> {
  // expected-error@+1 {{kernel and log are a float softmax's (its exp kernel, LogSoftmax); this one is 8-bit}}
  %y = qnn.softmax %x {axis = 0 : i64, log} : tensor<4x!quant.uniform<u8:f32, 0.1>> -> tensor<4x!quant.uniform<u8:f32, 0.00390625>>
  func.return %y : tensor<4x!quant.uniform<u8:f32, 0.00390625>>
}

// -----

func.func @softmax_unknown_kernel(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error@+1 {{kernel must be one of 'fma3', 'avx512f', got 'avx512'}}
  %y = qnn.softmax %x {axis = 0 : i64, kernel = "avx512"} : tensor<4xf32> -> tensor<4xf32>
  func.return %y : tensor<4xf32>
}

// -----

func.func @softmax_kernel_on_8_bit(%x: tensor<4x!quant.uniform<u8:f32, 0.1>>) -> tensor<4x!quant.uniform<u8:f32, 0.00390625>> {
  // expected-error@+1 {{kernel and log are a float softmax's (its exp kernel, LogSoftmax); this one is 8-bit}}
  %y = qnn.softmax %x {axis = 0 : i64, kernel = "fma3"} : tensor<4x!quant.uniform<u8:f32, 0.1>> -> tensor<4x!quant.uniform<u8:f32, 0.00390625>>
  func.return %y : tensor<4x!quant.uniform<u8:f32, 0.00390625>>
}
