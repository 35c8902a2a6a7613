// Inputs that once made passes produce invalid IR: each pass must leave them alone.
// RUN: qopt %s -p quant-to-qnn --split-input-file | filecheck %s --check-prefix=QQ
// RUN: qopt %s -p fold-qdq --split-input-file | filecheck %s --check-prefix=QDQ
// RUN: qopt %s -p fuse-conv-dot --split-input-file | filecheck %s --check-prefix=FUSE

// qnn ops take ranked tensors: scalar and unranked upstream casts stay upstream casts.
!q = !quant.uniform<i8:f32, 0.5:-3>
// QQ-LABEL: func.func @scalar
// QQ: quant.qcast
// QQ: quant.dcast
func.func @scalar(%x: f32) -> f32 {
  %q = quant.qcast %x : f32 to !q
  %y = quant.dcast %q : !q to f32
  func.return %y : f32
}
// QQ-LABEL: func.func @unranked
// QQ: quant.qcast
func.func @unranked(%x: tensor<*xf32>) -> tensor<*x!q> {
  %q = quant.qcast %x : tensor<*xf32> to tensor<*x!q>
  func.return %q : tensor<*x!q>
}

// -----

// A per-axis activation has no integer conv kernel.
!x = !quant.uniform<i8:f32:1, {0.05,0.1}>
!w = !quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>
!y = !quant.uniform<i8:f32, 0.1:-128>
// QDQ-LABEL: func.func @per_axis_input
// QDQ: qnn.conv2d %{{.*}}, %{{.*}} : tensor<1x2x4x4xf32>
func.func @per_axis_input(%xq: tensor<1x2x4x4x!x>, %wq: tensor<3x2x3x3x!w>) -> tensor<1x3x2x2x!y> {
  %x = qnn.dequantize %xq : tensor<1x2x4x4x!x> -> tensor<1x2x4x4xf32>
  %w = qnn.dequantize %wq : tensor<3x2x3x3x!w> -> tensor<3x2x3x3xf32>
  %c = qnn.conv2d %x, %w : tensor<1x2x4x4xf32>, tensor<3x2x3x3xf32> -> tensor<1x3x2x2xf32>
  %y = qnn.quantize %c : tensor<1x3x2x2xf32> -> tensor<1x3x2x2x!y>
  func.return %y : tensor<1x3x2x2x!y>
}

// -----

// A dot rhs quantized along K (axis 0) has no per-column kernel.
!x = !quant.uniform<i8:f32, 0.05:-10>
!y = !quant.uniform<i8:f32, 0.1:-128>
// QDQ-LABEL: func.func @rhs_axis_0
// QDQ: qnn.dot %{{.*}}, %{{.*}} : tensor<2x3xf32>, tensor<3x3xf32> -> tensor<2x3xf32>
func.func @rhs_axis_0(%aq: tensor<2x3x!x>, %wq: tensor<3x3x!quant.uniform<i8:f32:0, {0.01,0.02,0.04}>>) -> tensor<2x3x!y> {
  %a = qnn.dequantize %aq : tensor<2x3x!x> -> tensor<2x3xf32>
  %w = qnn.dequantize %wq : tensor<3x3x!quant.uniform<i8:f32:0, {0.01,0.02,0.04}>> -> tensor<3x3xf32>
  %d = qnn.dot %a, %w : tensor<2x3xf32>, tensor<3x3xf32> -> tensor<2x3xf32>
  %y = qnn.quantize %d : tensor<2x3xf32> -> tensor<2x3x!y>
  func.return %y : tensor<2x3x!y>
}

// -----

// A shape-reducing QDQ max pool folds (element types compared, not shapes).
!u = !quant.uniform<u8:f32, 0.25:128>
// QDQ-LABEL: func.func @qdq_max_pool
// QDQ-NEXT: %{{.*}} = qnn.max_pool2d %xq {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : tensor<1x4x8x8x!quant.uniform<u8:f32, 0.25:128>> -> tensor<1x4x4x4x!quant.uniform<u8:f32, 0.25:128>>
func.func @qdq_max_pool(%xq: tensor<1x4x8x8x!u>) -> tensor<1x4x4x4x!u> {
  %x = qnn.dequantize %xq : tensor<1x4x8x8x!u> -> tensor<1x4x8x8xf32>
  %m = qnn.max_pool2d %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : tensor<1x4x8x8xf32> -> tensor<1x4x4x4xf32>
  %mq = qnn.quantize %m : tensor<1x4x4x4xf32> -> tensor<1x4x4x4x!u>
  func.return %mq : tensor<1x4x4x4x!u>
}

// -----

// An add that broadcasts the dot result to a larger shape is not a fused addend.
// FUSE-LABEL: func.func @broadcast_add
// FUSE: qnn.dot %a, %w :
// FUSE: qnn.add
func.func @broadcast_add(%a: tensor<1x16xf32>, %w: tensor<16x3xf32>, %r: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %d = qnn.dot %a, %w : tensor<1x16xf32>, tensor<16x3xf32> -> tensor<1x3xf32>
  %s = qnn.add %d, %r : tensor<1x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
  func.return %s : tensor<2x3xf32>
}
