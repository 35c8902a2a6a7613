// RUN: qopt %s -p drop-float-casts | filecheck %s

// drop-float-casts: a float32 -> float32 qnn.cast (an ONNX Cast to FLOAT the importer keeps
// for the quantizer) is its input; casts that convert stay.

// CHECK-LABEL: func.func @casts(
// CHECK-SAME: %x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xi8>) {
// CHECK-NEXT: %y = qnn.cast %x : tensor<4xf32> -> tensor<4xi8>
// CHECK-NEXT: func.return %x, %y : tensor<4xf32>, tensor<4xi8>
func.func @casts(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xi8>) {
  %c = qnn.cast %x : tensor<4xf32> -> tensor<4xf32>
  %cc = qnn.cast %c : tensor<4xf32> -> tensor<4xf32>
  %y = qnn.cast %cc : tensor<4xf32> -> tensor<4xi8>
  func.return %cc, %y : tensor<4xf32>, tensor<4xi8>
}
