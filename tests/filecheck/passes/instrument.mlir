// RUN: qopt %s -p instrument | filecheck %s
// RUN: qopt %s -p 'instrument{tensors="relu.1",x}' | filecheck %s --check-prefix=LIST

// Every computed float32 tensor, in definition order, is observed right after its definition:
// the argument, the conv, the relu (named by its qnn.name), the result; not the weight, not
// its transpose (computed from constants alone), not the i64 shape.
// CHECK-LABEL: func.func @f(%x: tensor<1x2x3x3xf32> {qnn.name = "x"}) -> (tensor<1x2x3x3xf32> {qnn.name = "y"}, tensor<5xf32> {qnn.observed = "x"}, tensor<5xf32> {qnn.observed = "conv"}, tensor<5xf32> {qnn.observed = "relu.1"}, tensor<5xf32> {qnn.observed = "y"})
// CHECK-NEXT: %[[X:.*]] = qnn.observe %x : tensor<1x2x3x3xf32> -> tensor<5xf32>
// CHECK-NEXT: %w = arith.constant
// CHECK-NEXT: %wt = qnn.transpose %w
// CHECK-NEXT: %conv = qnn.conv2d %x, %wt
// CHECK-NEXT: %[[C:.*]] = qnn.observe %conv : tensor<1x2x3x3xf32> -> tensor<5xf32>
// CHECK-NEXT: %relu = qnn.relu %conv {qnn.name = "relu.1"}
// CHECK-NEXT: %[[R:.*]] = qnn.observe %relu : tensor<1x2x3x3xf32> -> tensor<5xf32>
// CHECK-NEXT: %y = qnn.add %relu, %x
// CHECK-NEXT: %[[Y:.*]] = qnn.observe %y : tensor<1x2x3x3xf32> -> tensor<5xf32>
// CHECK-NEXT: func.return %y, %[[X]], %[[C]], %[[R]], %[[Y]] :

// An explicit list, in its own order.
// LIST-LABEL: func.func @f(%x: tensor<1x2x3x3xf32> {qnn.name = "x"}) -> (tensor<1x2x3x3xf32> {qnn.name = "y"}, tensor<5xf32> {qnn.observed = "relu.1"}, tensor<5xf32> {qnn.observed = "x"})
// LIST-COUNT-2: qnn.observe
// LIST-NOT: qnn.observe
func.func @f(%x: tensor<1x2x3x3xf32> {qnn.name = "x"}) -> (tensor<1x2x3x3xf32> {qnn.name = "y"}) {
  %w = arith.constant dense<0.5> : tensor<2x1x2x2xf32>
  %wt = qnn.transpose %w {permutation = array<i64: 0, 1, 3, 2>} : tensor<2x1x2x2xf32> -> tensor<2x1x2x2xf32>
  %conv = qnn.conv2d %x, %wt {groups = 2 : i64, pads = array<i64: 0, 0, 1, 1>} : tensor<1x2x3x3xf32>, tensor<2x1x2x2xf32> -> tensor<1x2x3x3xf32>
  %relu = qnn.relu %conv {qnn.name = "relu.1"} : tensor<1x2x3x3xf32> -> tensor<1x2x3x3xf32>
  %y = qnn.add %relu, %x : tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32> -> tensor<1x2x3x3xf32>
  func.return %y : tensor<1x2x3x3xf32>
}
