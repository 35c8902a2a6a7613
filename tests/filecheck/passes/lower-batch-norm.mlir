// RUN: qopt %s -p lower-batch-norm | filecheck %s

// qnn.batch_norm with constant parameters becomes x · s + t by per-channel constants (ONNX
// Runtime's float32 steps): scale 2, B 1, mean 0.5, var 3 with epsilon 1 give
// s = 2 / sqrt(4) = 1 and t = 1 - 0.5 · 1 = 0.5.
// CHECK-LABEL: func.func @constant_parameters(
// CHECK:      %y_s = arith.constant dense<1.000000e+00> : tensor<2x1x1xf32>
// CHECK-NEXT: %y_t = arith.constant dense<5.000000e-01> : tensor<2x1x1xf32>
// CHECK-NEXT: %y_xs = qnn.mul %x, %y_s : tensor<1x2x3x3xf32>, tensor<2x1x1xf32> -> tensor<1x2x3x3xf32>
// CHECK-NEXT: %y = qnn.add %y_xs, %y_t : tensor<1x2x3x3xf32>, tensor<2x1x1xf32> -> tensor<1x2x3x3xf32>
// CHECK-NEXT: func.return %y
func.func @constant_parameters(%x: tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32> {
  %g = arith.constant dense<2.0> : tensor<2xf32>
  %b = arith.constant dense<1.0> : tensor<2xf32>
  %m = arith.constant dense<0.5> : tensor<2xf32>
  %v = arith.constant dense<3.0> : tensor<2xf32>
  %y = qnn.batch_norm %x, %g, %b, %m, %v {epsilon = 1.0 : f32} : tensor<1x2x3x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32> -> tensor<1x2x3x3xf32>
  func.return %y : tensor<1x2x3x3xf32>
}

// Parameters computed at run time stay (the code generator refuses them by name).
// CHECK-LABEL: func.func @run_time_parameters(
// CHECK-NEXT: %y = qnn.batch_norm %x, %g, %g, %g, %g
func.func @run_time_parameters(%x: tensor<1x2x3x3xf32>, %g: tensor<2xf32>) -> tensor<1x2x3x3xf32> {
  %y = qnn.batch_norm %x, %g, %g, %g, %g {epsilon = 1.0e-05 : f32} : tensor<1x2x3x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32> -> tensor<1x2x3x3xf32>
  func.return %y : tensor<1x2x3x3xf32>
}
