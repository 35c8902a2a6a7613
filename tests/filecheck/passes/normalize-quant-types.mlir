// RUN: qopt %s -p normalize-quant-types --split-input-file --allow-unregistered-dialect | filecheck %s
// RUN: qopt %s -p normalize-quant-types,normalize-quant-types --split-input-file --allow-unregistered-dialect | filecheck %s

// normalize-quant-types (upstream MLIR's pass): a sub-channel type with a single parameter
// becomes per tensor; one whose parameters vary along a single dimension (block size 1 there)
// becomes per axis on it. Signatures, op results and block arguments all change. The first two
// pieces are upstream's own test (mlir/test/Dialect/Quant/normalize-quant-types.mlir); the
// second RUN line checks that a second application changes nothing.

// CHECK-LABEL: func.func private @callee(
// CHECK-SAME: [[PER_TENSOR:tensor<\?x\?x!quant.uniform<i8:f32, 2.0:127>>]], [[PER_TENSOR]]) -> ([[PER_TENSOR]], [[PER_TENSOR]])
// CHECK-LABEL: func.func @normalize_quant_types_to_per_tensor(
// CHECK-SAME: %arg0: [[PER_TENSOR]], %arg1: [[PER_TENSOR]]) -> ([[PER_TENSOR]], [[PER_TENSOR]]) {
// CHECK-NEXT: %[[T0:.*]] = "test.custom_op"(%arg0) : ([[PER_TENSOR]]) -> [[PER_TENSOR]]
// CHECK-NEXT: %[[T1:.*]] = "test.custom_op"(%arg1) : ([[PER_TENSOR]]) -> [[PER_TENSOR]]
// CHECK-NEXT: %[[R0:.*]], %[[R1:.*]] = func.call @callee(%[[T0]], %[[T1]]) : ([[PER_TENSOR]], [[PER_TENSOR]]) -> ([[PER_TENSOR]], [[PER_TENSOR]])
// CHECK-NEXT: func.return %[[R0]], %[[R1]] : [[PER_TENSOR]], [[PER_TENSOR]]
// CHECK-NOT: {{\{}}{2.0:127}}
!qalias1 = !quant.uniform<i8:f32:{}, {{2.0:127}}>
!qalias2 = !quant.uniform<i8:f32:{0:1,1:4}, {{2.0:127}}>

func.func private @callee(tensor<?x?x!qalias1>, tensor<?x?x!qalias2>) -> (tensor<?x?x!qalias1>, tensor<?x?x!qalias2>)

func.func @normalize_quant_types_to_per_tensor(%arg0: tensor<?x?x!qalias1>,
    %arg1: tensor<?x?x!qalias2>) -> (tensor<?x?x!qalias1>, tensor<?x?x!qalias2>) {
  %0 = "test.custom_op"(%arg0) : (tensor<?x?x!qalias1>) -> tensor<?x?x!qalias1>
  %1 = "test.custom_op"(%arg1) : (tensor<?x?x!qalias2>) -> tensor<?x?x!qalias2>
  %3:2 = func.call @callee(%0, %1) : (tensor<?x?x!qalias1>, tensor<?x?x!qalias2>) -> (tensor<?x?x!qalias1>, tensor<?x?x!qalias2>)
  return %3#0, %3#1 : tensor<?x?x!qalias1>, tensor<?x?x!qalias2>
}

// -----

// CHECK-LABEL: func.func private @callee(
// CHECK-SAME: [[PER_AXIS:tensor<\?x\?x!quant.uniform<i8:f32:0, \{2.0:127,3.0:127\}>>]], [[PER_AXIS]]) -> ([[PER_AXIS]], [[PER_AXIS]])
// CHECK-LABEL: func.func @normalize_quant_types_to_per_axis(
// CHECK-SAME: %arg0: [[PER_AXIS]], %arg1: [[PER_AXIS]]) -> ([[PER_AXIS]], [[PER_AXIS]]) {
// CHECK-NEXT: %[[T0:.*]] = "test.custom_op"(%arg0) : ([[PER_AXIS]]) -> [[PER_AXIS]]
// CHECK-NEXT: %[[T1:.*]] = "test.custom_op"(%arg1) : ([[PER_AXIS]]) -> [[PER_AXIS]]
// CHECK-NEXT: %[[R0:.*]], %[[R1:.*]] = func.call @callee(%[[T0]], %[[T1]]) : ([[PER_AXIS]], [[PER_AXIS]]) -> ([[PER_AXIS]], [[PER_AXIS]])
// CHECK-NEXT: func.return %[[R0]], %[[R1]] : [[PER_AXIS]], [[PER_AXIS]]
!qalias1 = !quant.uniform<i8:f32:{0:1}, {{2.0:127}, {3.0:127}}>
!qalias2 = !quant.uniform<i8:f32:{0:1,1:4}, {{2.0:127}, {3.0:127}}>

func.func private @callee(tensor<?x?x!qalias1>, tensor<?x?x!qalias2>) -> (tensor<?x?x!qalias1>, tensor<?x?x!qalias2>)

func.func @normalize_quant_types_to_per_axis(%arg0: tensor<?x?x!qalias1>,
    %arg1: tensor<?x?x!qalias2>) -> (tensor<?x?x!qalias1>, tensor<?x?x!qalias2>) {
  %0 = "test.custom_op"(%arg0) : (tensor<?x?x!qalias1>) -> tensor<?x?x!qalias1>
  %1 = "test.custom_op"(%arg1) : (tensor<?x?x!qalias2>) -> tensor<?x?x!qalias2>
  %3:2 = func.call @callee(%0, %1) : (tensor<?x?x!qalias1>, tensor<?x?x!qalias2>) -> (tensor<?x?x!qalias1>, tensor<?x?x!qalias2>)
  return %3#0, %3#1 : tensor<?x?x!qalias1>, tensor<?x?x!qalias2>
}

// -----

// Storage bounds, the expressed type and the zero points are kept; the middle axis of a 3-D
// tensor becomes the per-axis dimension. A u8 zero point 255 stays 255 (upstream reads
// sub-channel zero points sign-extended and writes -1: a different meaning).
// CHECK-LABEL: func.func @kept(
// CHECK-SAME: %arg0: tensor<2x8x!quant.uniform<u8<1:250>:f32:0, {0.5:255,2.0:4}>>
// CHECK-SAME: %arg1: tensor<3x4x5x!quant.uniform<u4:f16:1, {0.5:15,0.25:3,1.0,2.0:1}>>
// CHECK-NEXT: %[[D:.*]] = quant.dcast %arg1 : tensor<3x4x5x!quant.uniform<u4:f16:1, {0.5:15,0.25:3,1.0,2.0:1}>> to tensor<3x4x5xf16>
// CHECK-NEXT: func.return %[[D]] : tensor<3x4x5xf16>
func.func @kept(%arg0: tensor<2x8x!quant.uniform<u8<1:250>:f32:{0:1}, {{0.5:255},{2.0:4}}>>, %arg1: tensor<3x4x5x!quant.uniform<u4:f16:{1:1,2:5}, {{{0.5:15},{0.25:3},{1.0:0},{2.0:1}}}>>) -> tensor<3x4x5xf16> {
  %0 = quant.dcast %arg1 : tensor<3x4x5x!quant.uniform<u4:f16:{1:1,2:5}, {{{0.5:15},{0.25:3},{1.0:0},{2.0:1}}}>> to tensor<3x4x5xf16>
  return %0 : tensor<3x4x5xf16>
}

// -----

// Blocks of more than one element along the varying dimension, or parameters varying along
// two dimensions, are genuinely sub-channel and stay (upstream turns the first into a
// per-axis type with 2 scales for 4 rows).
// CHECK-LABEL: func.func @stays(
// CHECK-SAME: %arg0: tensor<4x8x!quant.uniform<i8:f32:{0:2, 1:8}, {{\{\{}}1.0}, {2.0}}>>
// CHECK-SAME: %arg1: tensor<4x8x!quant.uniform<i4:f32:{0:2, 1:4}, {{\{\{}}1.0, 2.0}, {3.0, 4.0}}>>
// CHECK-NEXT: %[[Q:.*]] = quant.qcast %arg2 : tensor<4x8xf32> to tensor<4x8x!quant.uniform<i4:f32:{0:2, 1:4}, {{\{\{}}1.0, 2.0}, {3.0, 4.0}}>>
func.func @stays(%arg0: tensor<4x8x!quant.uniform<i8:f32:{0:2,1:8}, {{1.0},{2.0}}>>, %arg1: tensor<4x8x!quant.uniform<i4:f32:{0:2,1:4}, {{1.0,2.0},{3.0,4.0}}>>, %arg2: tensor<4x8xf32>) -> tensor<4x8x!quant.uniform<i4:f32:{0:2,1:4}, {{1.0,2.0},{3.0,4.0}}>> {
  %0 = quant.qcast %arg2 : tensor<4x8xf32> to tensor<4x8x!quant.uniform<i4:f32:{0:2,1:4}, {{1.0,2.0},{3.0,4.0}}>>
  return %0 : tensor<4x8x!quant.uniform<i4:f32:{0:2,1:4}, {{1.0,2.0},{3.0,4.0}}>>
}
