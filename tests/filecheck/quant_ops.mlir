// RUN: qopt %s | filecheck %s
// RUN: qopt %s | qopt | filecheck %s
// RUN: qopt %s --print-op-generic | qopt | filecheck %s

// Round trips of upstream's quant.qcast / quant.dcast / quant.scast on scalars, ranked,
// zero-rank, unranked and dynamically shaped tensors, with per-tensor, per-axis and
// sub-channel types. Sub-channel scales are stored (and printed) in the expressed type.

!q = !quant.uniform<i8:f32, 0.5:-3>
!qu = !quant.uniform<u8:f16, 0.0078125:128>
!qa = !quant.uniform<i8<-127:127>:f32:1, {0.01,0.02:1,0.005}>
!qs = !quant.uniform<u8:f32:{0:1, 1:2}, {{2.0:120, 3.0}, {4.0, 5.0:127}}>
!q4 = !quant.uniform<i4:bf16, 0.25:-1>

// CHECK-LABEL: func.func @scalar(
// CHECK-SAME: %x: f32, %h: f16) -> f32 {
// CHECK-NEXT: %q = quant.qcast %x : f32 to !quant.uniform<i8:f32, 0.5:-3>
// CHECK-NEXT: %i = quant.scast %q : !quant.uniform<i8:f32, 0.5:-3> to i8
// CHECK-NEXT: %q2 = quant.scast %i : i8 to !quant.uniform<i8:f32, 0.5:-3>
// CHECK-NEXT: %y = quant.dcast %q2 : !quant.uniform<i8:f32, 0.5:-3> to f32
// CHECK-NEXT: %qh = quant.qcast %h : f16 to !quant.uniform<u8:f16, 0.0078125:128>
// CHECK-NEXT: %ih = quant.scast %qh : !quant.uniform<u8:f16, 0.0078125:128> to i8
// CHECK-NEXT: func.return %y : f32
func.func @scalar(%x: f32, %h: f16) -> f32 {
  %q = quant.qcast %x : f32 to !q
  %i = quant.scast %q : !q to i8
  %q2 = quant.scast %i : i8 to !q
  %y = quant.dcast %q2 : !q to f32
  %qh = quant.qcast %h : f16 to !qu
  %ih = quant.scast %qh : !qu to i8
  func.return %y : f32
}

// CHECK-LABEL: func.func @ranked(
// CHECK-SAME: %x: tensor<2x3xf32>, %b: tensor<4xbf16>, %z: tensor<f32>) -> tensor<2x3xf32> {
// CHECK-NEXT: %q = quant.qcast %x : tensor<2x3xf32> to tensor<2x3x!quant.uniform<i8:f32, 0.5:-3>>
// CHECK-NEXT: %i = quant.scast %q : tensor<2x3x!quant.uniform<i8:f32, 0.5:-3>> to tensor<2x3xi8>
// CHECK-NEXT: %q2 = quant.scast %i : tensor<2x3xi8> to tensor<2x3x!quant.uniform<i8:f32, 0.5:-3>>
// CHECK-NEXT: %y = quant.dcast %q2 : tensor<2x3x!quant.uniform<i8:f32, 0.5:-3>> to tensor<2x3xf32>
// CHECK-NEXT: %q4 = quant.qcast %b : tensor<4xbf16> to tensor<4x!quant.uniform<i4:bf16, 0.25:-1>>
// CHECK-NEXT: %i4 = quant.scast %q4 : tensor<4x!quant.uniform<i4:bf16, 0.25:-1>> to tensor<4xi4>
// CHECK-NEXT: %z0 = quant.qcast %z : tensor<f32> to tensor<!quant.uniform<i8:f32, 0.5:-3>>
// CHECK-NEXT: func.return %y : tensor<2x3xf32>
func.func @ranked(%x: tensor<2x3xf32>, %b: tensor<4xbf16>, %z: tensor<f32>) -> tensor<2x3xf32> {
  %q = quant.qcast %x : tensor<2x3xf32> to tensor<2x3x!q>
  %i = quant.scast %q : tensor<2x3x!q> to tensor<2x3xi8>
  %q2 = quant.scast %i : tensor<2x3xi8> to tensor<2x3x!q>
  %y = quant.dcast %q2 : tensor<2x3x!q> to tensor<2x3xf32>
  %q4 = quant.qcast %b : tensor<4xbf16> to tensor<4x!q4>
  %i4 = quant.scast %q4 : tensor<4x!q4> to tensor<4xi4>
  %z0 = quant.qcast %z : tensor<f32> to tensor<!q>
  func.return %y : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @unranked(
// CHECK-SAME: %x: tensor<*xf32>, %w: tensor<*xi8>) -> tensor<*xf32> {
// CHECK-NEXT: %q = quant.qcast %x : tensor<*xf32> to tensor<*x!quant.uniform<i8:f32, 0.5:-3>>
// CHECK-NEXT: %i = quant.scast %q : tensor<*x!quant.uniform<i8:f32, 0.5:-3>> to tensor<*xi8>
// CHECK-NEXT: %y = quant.dcast %q : tensor<*x!quant.uniform<i8:f32, 0.5:-3>> to tensor<*xf32>
// CHECK-NEXT: %a = quant.scast %w : tensor<*xi8> to tensor<*x!quant.uniform<i8<-127:127>:f32:1, {0.01,0.02:1,0.005}>>
// CHECK-NEXT: %f = quant.dcast %a : tensor<*x!quant.uniform<i8<-127:127>:f32:1, {0.01,0.02:1,0.005}>> to tensor<*xf32>
// CHECK-NEXT: func.return %y : tensor<*xf32>
func.func @unranked(%x: tensor<*xf32>, %w: tensor<*xi8>) -> tensor<*xf32> {
  %q = quant.qcast %x : tensor<*xf32> to tensor<*x!q>
  %i = quant.scast %q : tensor<*x!q> to tensor<*xi8>
  %y = quant.dcast %q : tensor<*x!q> to tensor<*xf32>
  %a = quant.scast %w : tensor<*xi8> to tensor<*x!qa>
  %f = quant.dcast %a : tensor<*x!qa> to tensor<*xf32>
  func.return %y : tensor<*xf32>
}

// CHECK-LABEL: func.func @dynamic(
// CHECK-SAME: %x: tensor<?x3xf32>, %w: tensor<?x?xi8>, %s: tensor<?x4xf32>) -> tensor<?x3xf32> {
// CHECK-NEXT: %q = quant.qcast %x : tensor<?x3xf32> to tensor<?x3x!quant.uniform<i8:f32, 0.5:-3>>
// CHECK-NEXT: %y = quant.dcast %q : tensor<?x3x!quant.uniform<i8:f32, 0.5:-3>> to tensor<?x3xf32>
// CHECK-NEXT: %a = quant.scast %w : tensor<?x?xi8> to tensor<?x?x!quant.uniform<i8<-127:127>:f32:1, {0.01,0.02:1,0.005}>>
// CHECK-NEXT: %qs = quant.qcast %s : tensor<?x4xf32> to tensor<?x4x!quant.uniform<u8:f32:{0:1, 1:2}, {{[{][{]}}2.0:120, 3.0}, {4.0, 5.0:127}}>>
// CHECK-NEXT: func.return %y : tensor<?x3xf32>
func.func @dynamic(%x: tensor<?x3xf32>, %w: tensor<?x?xi8>, %s: tensor<?x4xf32>) -> tensor<?x3xf32> {
  %q = quant.qcast %x : tensor<?x3xf32> to tensor<?x3x!q>
  %y = quant.dcast %q : tensor<?x3x!q> to tensor<?x3xf32>
  %a = quant.scast %w : tensor<?x?xi8> to tensor<?x?x!qa>
  %qs = quant.qcast %s : tensor<?x4xf32> to tensor<?x4x!qs>
  func.return %y : tensor<?x3xf32>
}

// CHECK-LABEL: func.func @per_axis(
// CHECK-SAME: %x: tensor<4x3xf32>, %w: tensor<2x3x5xi8>) -> tensor<4x3xf32> {
// CHECK-NEXT: %q = quant.qcast %x : tensor<4x3xf32> to tensor<4x3x!quant.uniform<i8<-127:127>:f32:1, {0.01,0.02:1,0.005}>>
// CHECK-NEXT: %i = quant.scast %q : tensor<4x3x!quant.uniform<i8<-127:127>:f32:1, {0.01,0.02:1,0.005}>> to tensor<4x3xi8>
// CHECK-NEXT: %y = quant.dcast %q : tensor<4x3x!quant.uniform<i8<-127:127>:f32:1, {0.01,0.02:1,0.005}>> to tensor<4x3xf32>
// CHECK-NEXT: %w0 = quant.scast %w : tensor<2x3x5xi8> to tensor<2x3x5x!quant.uniform<i8:f32:0, {0.1,0.2}>>
// CHECK-NEXT: %w2 = quant.scast %w : tensor<2x3x5xi8> to tensor<2x3x5x!quant.uniform<i8:f32:2, {1.0:1,2.0:2,3.0:3,4.0:4,5.0:5}>>
// CHECK-NEXT: func.return %y : tensor<4x3xf32>
func.func @per_axis(%x: tensor<4x3xf32>, %w: tensor<2x3x5xi8>) -> tensor<4x3xf32> {
  %q = quant.qcast %x : tensor<4x3xf32> to tensor<4x3x!qa>
  %i = quant.scast %q : tensor<4x3x!qa> to tensor<4x3xi8>
  %y = quant.dcast %q : tensor<4x3x!qa> to tensor<4x3xf32>
  %w0 = quant.scast %w : tensor<2x3x5xi8> to tensor<2x3x5x!quant.uniform<i8:f32:0, {0.1,0.2}>>
  %w2 = quant.scast %w : tensor<2x3x5xi8> to tensor<2x3x5x!quant.uniform<i8:f32:2, {1.0:1,2.0:2,3.0:3,4.0:4,5.0:5}>>
  func.return %y : tensor<4x3xf32>
}

// CHECK-LABEL: func.func @sub_channel(
// CHECK-SAME: %x: tensor<2x4xf32>, %w: tensor<4x6xi8>) -> tensor<2x4xf32> {
// CHECK-NEXT: %q = quant.qcast %x : tensor<2x4xf32> to tensor<2x4x!quant.uniform<u8:f32:{0:1, 1:2}, {{[{][{]}}2.0:120, 3.0}, {4.0, 5.0:127}}>>
// CHECK-NEXT: %i = quant.scast %q : tensor<2x4x!quant.uniform<u8:f32:{0:1, 1:2}, {{[{][{]}}2.0:120, 3.0}, {4.0, 5.0:127}}>> to tensor<2x4xi8>
// CHECK-NEXT: %y = quant.dcast %q : tensor<2x4x!quant.uniform<u8:f32:{0:1, 1:2}, {{[{][{]}}2.0:120, 3.0}, {4.0, 5.0:127}}>> to tensor<2x4xf32>
// CHECK-NEXT: %b = quant.scast %w : tensor<4x6xi8> to tensor<4x6x!quant.uniform<i8:f32:{0:1, 1:3}, {{[{][{]}}0.5, 0.25}, {0.125, 1.0}, {2.0, 4.0}, {8.0, 16.0}}>>
// CHECK-NEXT: %c = quant.scast %w : tensor<4x6xi8> to tensor<4x6x!quant.uniform<i8:f32:{0:2, 1:6}, {{[{][{]}}0.10000000149011612:1}, {0.20000000298023224:-1}}>>
// CHECK-NEXT: func.return %y : tensor<2x4xf32>
func.func @sub_channel(%x: tensor<2x4xf32>, %w: tensor<4x6xi8>) -> tensor<2x4xf32> {
  %q = quant.qcast %x : tensor<2x4xf32> to tensor<2x4x!qs>
  %i = quant.scast %q : tensor<2x4x!qs> to tensor<2x4xi8>
  %y = quant.dcast %q : tensor<2x4x!qs> to tensor<2x4xf32>
  %b = quant.scast %w : tensor<4x6xi8> to tensor<4x6x!quant.uniform<i8:f32:{0:1, 1:3}, {{0.5, 0.25}, {0.125, 1.0}, {2.0, 4.0}, {8.0, 16.0}}>>
  %c = quant.scast %w : tensor<4x6xi8> to tensor<4x6x!quant.uniform<i8:f32:{0:2, 1:6}, {{0.1:1}, {0.2:-1}}>>
  func.return %y : tensor<2x4xf32>
}

// CHECK-LABEL: func.func @any(
// CHECK-SAME: %x: tensor<3xi8>) -> tensor<3xi8> {
// CHECK-NEXT: %q = quant.scast %x : tensor<3xi8> to tensor<3x!quant.any<i8:f32>>
// CHECK-NEXT: %i = quant.scast %q : tensor<3x!quant.any<i8:f32>> to tensor<3xi8>
// CHECK-NEXT: func.return %i : tensor<3xi8>
func.func @any(%x: tensor<3xi8>) -> tensor<3xi8> {
  %q = quant.scast %x : tensor<3xi8> to tensor<3x!quant.any<i8:f32>>
  %i = quant.scast %q : tensor<3x!quant.any<i8:f32>> to tensor<3xi8>
  func.return %i : tensor<3xi8>
}
