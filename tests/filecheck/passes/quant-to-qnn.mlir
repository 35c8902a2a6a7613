// RUN: qopt %s -p quant-to-qnn --split-input-file | filecheck %s
// RUN: qopt %s -p quant-to-qnn,quant-to-qnn --split-input-file | filecheck %s

// quant-to-qnn: upstream quant.qcast / quant.dcast on !quant.uniform elements (per tensor or
// per axis) become qnn.quantize / qnn.dequantize; quant.scast pairs that cancel are removed.
// Casts to !quant.any / !quant.calibrated and sub-channel casts carry nothing executable and
// stay. The second RUN line checks that a second application changes nothing.

// qcast -> qnn.quantize (default rounding: no round_mode printed).
// CHECK-LABEL: func.func @qcast(
// CHECK-SAME: %x: tensor<2x3xf32>) -> tensor<2x3x!quant.uniform<i8:f32, 0.5:-3>> {
// CHECK-NEXT: %[[Q:[^ ,]+]] = qnn.quantize %x : tensor<2x3xf32> -> tensor<2x3x!quant.uniform<i8:f32, 0.5:-3>>
// CHECK-NEXT: func.return %[[Q]] : tensor<2x3x!quant.uniform<i8:f32, 0.5:-3>>
// CHECK-NOT: quant.qcast
!q = !quant.uniform<i8:f32, 0.5:-3>
!qa = !quant.uniform<i8<-127:127>:f32:1, {0.01,0.02:1,0.005}>
func.func @qcast(%x: tensor<2x3xf32>) -> tensor<2x3x!q> {
  %q = quant.qcast %x : tensor<2x3xf32> to tensor<2x3x!q>
  func.return %q : tensor<2x3x!q>
}

// -----

// dcast -> qnn.dequantize, per tensor and per axis.
// CHECK-LABEL: func.func @dcast(
// CHECK-SAME: %q: tensor<2x3x!quant.uniform<i8:f32, 0.5:-3>>, %w: tensor<4x3x!quant.uniform<i8<-127:127>:f32:1, {0.01,0.02:1,0.005}>>) -> (tensor<2x3xf32>, tensor<4x3xf32>) {
// CHECK-NEXT: %[[X:[^ ,]+]] = qnn.dequantize %q : tensor<2x3x!quant.uniform<i8:f32, 0.5:-3>> -> tensor<2x3xf32>
// CHECK-NEXT: %[[F:[^ ,]+]] = qnn.dequantize %w : tensor<4x3x!quant.uniform<i8<-127:127>:f32:1, {0.01,0.02:1,0.005}>> -> tensor<4x3xf32>
// CHECK-NEXT: func.return %[[X]], %[[F]] : tensor<2x3xf32>, tensor<4x3xf32>
// CHECK-NOT: quant.dcast
!q = !quant.uniform<i8:f32, 0.5:-3>
!qa = !quant.uniform<i8<-127:127>:f32:1, {0.01,0.02:1,0.005}>
func.func @dcast(%q: tensor<2x3x!q>, %w: tensor<4x3x!qa>) -> (tensor<2x3xf32>, tensor<4x3xf32>) {
  %x = quant.dcast %q : tensor<2x3x!q> to tensor<2x3xf32>
  %f = quant.dcast %w : tensor<4x3x!qa> to tensor<4x3xf32>
  func.return %x, %f : tensor<2x3xf32>, tensor<4x3xf32>
}

// -----

// scast to storage and back to the same type cancels.
// CHECK-LABEL: func.func @scast_pair_cancels(
// CHECK-SAME: %x: tensor<2x3xf32>) -> tensor<2x3xf32> {
// CHECK-NEXT: %[[Q:[^ ,]+]] = qnn.quantize %x : tensor<2x3xf32> -> tensor<2x3x!quant.uniform<i8:f32, 0.5:-3>>
// CHECK-NEXT: %[[Y:[^ ,]+]] = qnn.dequantize %[[Q]] : tensor<2x3x!quant.uniform<i8:f32, 0.5:-3>> -> tensor<2x3xf32>
// CHECK-NEXT: func.return %[[Y]] : tensor<2x3xf32>
// CHECK-NOT: quant.scast
!q = !quant.uniform<i8:f32, 0.5:-3>
func.func @scast_pair_cancels(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %q = quant.qcast %x : tensor<2x3xf32> to tensor<2x3x!q>
  %i = quant.scast %q : tensor<2x3x!q> to tensor<2x3xi8>
  %q2 = quant.scast %i : tensor<2x3xi8> to tensor<2x3x!q>
  %y = quant.dcast %q2 : tensor<2x3x!q> to tensor<2x3xf32>
  func.return %y : tensor<2x3xf32>
}

// -----

// scast pair that reinterprets the integers with another type is kept.
// CHECK-LABEL: func.func @scast_pair_kept(
// CHECK-SAME: %q: tensor<2x3x!quant.uniform<i8:f32, 0.5:-3>>) -> tensor<2x3xf32> {
// CHECK-NEXT: %[[I:[^ ,]+]] = quant.scast %q : tensor<2x3x!quant.uniform<i8:f32, 0.5:-3>> to tensor<2x3xi8>
// CHECK-NEXT: %[[R:[^ ,]+]] = quant.scast %[[I]] : tensor<2x3xi8> to tensor<2x3x!quant.uniform<i8:f32, 0.25:1>>
// CHECK-NEXT: %[[Y:[^ ,]+]] = qnn.dequantize %[[R]] : tensor<2x3x!quant.uniform<i8:f32, 0.25:1>> -> tensor<2x3xf32>
// CHECK-NEXT: func.return %[[Y]] : tensor<2x3xf32>
!q = !quant.uniform<i8:f32, 0.5:-3>
!r = !quant.uniform<i8:f32, 0.25:1>
func.func @scast_pair_kept(%q: tensor<2x3x!q>) -> tensor<2x3xf32> {
  %i = quant.scast %q : tensor<2x3x!q> to tensor<2x3xi8>
  %r = quant.scast %i : tensor<2x3xi8> to tensor<2x3x!r>
  %y = quant.dcast %r : tensor<2x3x!r> to tensor<2x3xf32>
  func.return %y : tensor<2x3xf32>
}

// -----

// Must not fire: !quant.any and !quant.calibrated casts have no parameters.
// CHECK-LABEL: func.func @any_calibrated_untouched(
// CHECK-SAME: %x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
// CHECK-NEXT: %[[A:[^ ,]+]] = quant.qcast %x : tensor<4xf32> to tensor<4x!quant.any<i8:f32>>
// CHECK-NEXT: %[[AF:[^ ,]+]] = quant.dcast %[[A]] : tensor<4x!quant.any<i8:f32>> to tensor<4xf32>
// CHECK-NEXT: %[[C:[^ ,]+]] = quant.qcast %x : tensor<4xf32> to tensor<4x!quant.calibrated<f32<-1.0:1.0>>>
// CHECK-NEXT: %[[CF:[^ ,]+]] = quant.dcast %[[C]] : tensor<4x!quant.calibrated<f32<-1.0:1.0>>> to tensor<4xf32>
// CHECK-NEXT: func.return %[[AF]], %[[CF]] : tensor<4xf32>, tensor<4xf32>
// CHECK-NOT: qnn.quantize
// CHECK-NOT: qnn.dequantize
func.func @any_calibrated_untouched(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %a = quant.qcast %x : tensor<4xf32> to tensor<4x!quant.any<i8:f32>>
  %af = quant.dcast %a : tensor<4x!quant.any<i8:f32>> to tensor<4xf32>
  %c = quant.qcast %x : tensor<4xf32> to tensor<4x!quant.calibrated<f32<-1.0:1.0>>>
  %cf = quant.dcast %c : tensor<4x!quant.calibrated<f32<-1.0:1.0>>> to tensor<4xf32>
  func.return %af, %cf : tensor<4xf32>, tensor<4xf32>
}

// -----

// Must not fire: sub-channel types are not executable by qnn ops.
// CHECK-LABEL: func.func @sub_channel_untouched(
// CHECK-SAME: %x: tensor<2x4xf32>) -> tensor<2x4xf32> {
// CHECK-NEXT: %[[Q:[^ ,]+]] = quant.qcast %x : tensor<2x4xf32> to tensor<2x4x!quant.uniform<u8:f32:{0:1, 1:2}, {{[{][{]}}0.5:120, 0.25:127}, {0.125, 1.0}}>>
// CHECK-NEXT: %[[Y:[^ ,]+]] = quant.dcast %[[Q]] : tensor<2x4x!quant.uniform<u8:f32:{0:1, 1:2}, {{[{][{]}}0.5:120, 0.25:127}, {0.125, 1.0}}>> to tensor<2x4xf32>
// CHECK-NEXT: func.return %[[Y]] : tensor<2x4xf32>
// CHECK-NOT: qnn.quantize
// CHECK-NOT: qnn.dequantize
!qsub = !quant.uniform<u8:f32:{0:1, 1:2}, {{0.5:120, 0.25:127}, {0.125, 1.0}}>
func.func @sub_channel_untouched(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %q = quant.qcast %x : tensor<2x4xf32> to tensor<2x4x!qsub>
  %y = quant.dcast %q : tensor<2x4x!qsub> to tensor<2x4xf32>
  func.return %y : tensor<2x4xf32>
}
