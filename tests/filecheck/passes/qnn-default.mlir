// RUN: qopt %s -p qnn-default --split-input-file | filecheck %s
// RUN: qopt %s -p qnn-default,qnn-default --split-input-file | filecheck %s

// qnn-default: quant-to-qnn, fold-scaled-builders, fold-qdq, fuse-conv-dot and dce on small
// models mixing upstream casts, scaled builders and QDQ patterns; the checks pin the final
// form codegen consumes. The second RUN line checks that a second application changes nothing.

// qcast/dcast around the input, a QDQ conv with a float constant bias, a QDQ relu and a
// scaled quantize/dequantize pair: one quantize, one conv (bias quantized per channel; the
// relu gone, its quantize's zero point the storage minimum: ORT's ReluQuantFusion), the scaled quantize of the dequantized conv result becomes a requantize to
// asymmetric u8 [0, 6], and the final dequantize. Each int8 pair has one reader, so it is
// uint8 first, zero point + 128 (`s8-to-u8`, as ONNX Runtime's x86 session retypes it).
// CHECK-LABEL: func.func @mixed(
// CHECK-SAME: %in: tensor<1x2x4x4xf32>, %wq: tensor<3x2x3x3x!quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>>) -> tensor<1x3x2x2xf32> {
// CHECK-NEXT: %[[Q:[^ ,]+]] = qnn.quantize %in : tensor<1x2x4x4xf32> -> tensor<1x2x4x4x!quant.uniform<u8:f32, 0.05:118>>
// CHECK-NEXT: %[[CQ:[^ ,]+]] = arith.constant dense<[1000, -250, 500]> : tensor<3xi32>
// CHECK-NEXT: %[[CQ_1:[^ ,]+]] = qnn.conv2d %[[Q]], %wq bias(%[[CQ]] : tensor<3xi32>) : tensor<1x2x4x4x!quant.uniform<u8:f32, 0.05:118>>, tensor<3x2x3x3x!quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>> -> tensor<1x3x2x2x!quant.uniform<u8:f32, 0.1>>
// CHECK-NEXT: %[[S:[^ ,]+]] = qnn.requantize %[[CQ_1]] : tensor<1x3x2x2x!quant.uniform<u8:f32, 0.1>> -> tensor<1x3x2x2x!quant.uniform<u8:f32, 0.0235294122248888>>
// CHECK-NEXT: %[[O:[^ ,]+]] = qnn.dequantize %[[S]] : tensor<1x3x2x2x!quant.uniform<u8:f32, 0.0235294122248888>> -> tensor<1x3x2x2xf32>
// CHECK-NEXT: func.return %[[O]] : tensor<1x3x2x2xf32>
// CHECK-NOT: quant.qcast
// CHECK-NOT: quant.dcast
// CHECK-NOT: qnn.scaled_
// CHECK-NOT: qnn.relu
// CHECK-NOT: qnn.add
// CHECK-NOT: tensor<3xf32>
!x = !quant.uniform<i8:f32, 0.05:-10>
!w = !quant.uniform<i8<-127:127>:f32:0, {0.01,0.02,0.04}>
!y = !quant.uniform<i8:f32, 0.1:-128>
func.func @mixed(%in: tensor<1x2x4x4xf32>, %wq: tensor<3x2x3x3x!w>) -> tensor<1x3x2x2xf32> {
  %q = quant.qcast %in : tensor<1x2x4x4xf32> to tensor<1x2x4x4x!x>
  %x = quant.dcast %q : tensor<1x2x4x4x!x> to tensor<1x2x4x4xf32>
  %w = qnn.dequantize %wq : tensor<3x2x3x3x!w> -> tensor<3x2x3x3xf32>
  %b = arith.constant dense<[0.5, -0.25, 1.0]> : tensor<3xf32>
  %c = qnn.conv2d %x, %w bias(%b : tensor<3xf32>) : tensor<1x2x4x4xf32>, tensor<3x2x3x3xf32> -> tensor<1x3x2x2xf32>
  %cq = qnn.quantize %c : tensor<1x3x2x2xf32> -> tensor<1x3x2x2x!y>
  %cd = qnn.dequantize %cq : tensor<1x3x2x2x!y> -> tensor<1x3x2x2xf32>
  %r = qnn.relu %cd : tensor<1x3x2x2xf32> -> tensor<1x3x2x2xf32>
  %rq = qnn.quantize %r : tensor<1x3x2x2xf32> -> tensor<1x3x2x2x!y>
  %rd = qnn.dequantize %rq : tensor<1x3x2x2x!y> -> tensor<1x3x2x2xf32>
  %s = qnn.scaled_quantize %rd {min = 0.0 : f32, max = 6.0 : f32} : tensor<1x3x2x2xf32> -> tensor<1x3x2x2x!quant.any<u8:f32>>
  %o = qnn.scaled_dequantize %s {min = 0.0 : f32, max = 6.0 : f32} : tensor<1x3x2x2x!quant.any<u8:f32>> -> tensor<1x3x2x2xf32>
  func.return %o : tensor<1x3x2x2xf32>
}

// -----

// A scaled conv whose dequantized result is added (QDQ, upstream casts) to a residual and
// then relu'd: the add becomes the conv's addend (intermediate = the conv's output-range type);
// the relu goes, its quantize's zero point 0 (ORT's ReluQuantFusion).
// CHECK-LABEL: func.func @scaled_conv_add_relu(
// CHECK-SAME: %in: tensor<1x2x4x4xf32>, %w: tensor<3x2x3x3x!quant.any<i8:f32>>, %res: tensor<1x3x2x2x!quant.uniform<u8:f32, 0.0313725508749485>>) -> tensor<1x3x2x2xf32> {
// CHECK-NEXT: %[[XQ:[^ ,]+]] = qnn.quantize %in : tensor<1x2x4x4xf32> -> tensor<1x2x4x4x!quant.uniform<u8:f32, 0.003921568859368563>>
// CHECK-NEXT: %[[Y:[^ ,]+]] = quant.scast %w : tensor<3x2x3x3x!quant.any<i8:f32>> to tensor<3x2x3x3xi8>
// CHECK-NEXT: %[[Y_1:[^ ,]+]] = quant.scast %[[Y]] : tensor<3x2x3x3xi8> to tensor<3x2x3x3x!quant.uniform<i8:f32, 0.007843137718737125:-1>>
// CHECK-NEXT: %[[SQ:[^ ,]+]] = qnn.conv2d %[[XQ]], %[[Y_1]] addend(%res : tensor<1x3x2x2x!quant.uniform<u8:f32, 0.0313725508749485>>) {intermediate = !quant.uniform<u8:f32, 0.01568627543747425>} : tensor<1x2x4x4x!quant.uniform<u8:f32, 0.003921568859368563>>, tensor<3x2x3x3x!quant.uniform<i8:f32, 0.007843137718737125:-1>> -> tensor<1x3x2x2x!quant.uniform<u8:f32, 0.0313725508749485>>
// CHECK-NEXT: %[[OUT:[^ ,]+]] = qnn.dequantize %[[SQ]] : tensor<1x3x2x2x!quant.uniform<u8:f32, 0.0313725508749485>> -> tensor<1x3x2x2xf32>
// CHECK-NEXT: func.return %[[OUT]] : tensor<1x3x2x2xf32>
// CHECK-NOT: quant.qcast
// CHECK-NOT: quant.dcast
// CHECK-NOT: qnn.scaled_
// CHECK-NOT: qnn.relu
// CHECK-NOT: qnn.add
!r = !quant.uniform<u8:f32, 0.0313725508749485>
func.func @scaled_conv_add_relu(%in: tensor<1x2x4x4xf32>, %w: tensor<3x2x3x3x!quant.any<i8:f32>>, %res: tensor<1x3x2x2x!r>) -> tensor<1x3x2x2xf32> {
  %xq = qnn.scaled_quantize %in {min = 0.0 : f32, max = 1.0 : f32} : tensor<1x2x4x4xf32> -> tensor<1x2x4x4x!quant.any<u8:f32>>
  %y = qnn.scaled_conv2d %xq, %w {input_min = 0.0 : f32, input_max = 1.0 : f32, weight_min = -1.0 : f32, weight_max = 1.0 : f32, output_min = 0.0 : f32, output_max = 4.0 : f32} : tensor<1x2x4x4x!quant.any<u8:f32>>, tensor<3x2x3x3x!quant.any<i8:f32>> -> tensor<1x3x2x2x!quant.any<u8:f32>>
  %yd = qnn.scaled_dequantize %y {min = 0.0 : f32, max = 4.0 : f32} : tensor<1x3x2x2x!quant.any<u8:f32>> -> tensor<1x3x2x2xf32>
  %rd = quant.dcast %res : tensor<1x3x2x2x!r> to tensor<1x3x2x2xf32>
  %s = qnn.add %yd, %rd : tensor<1x3x2x2xf32>, tensor<1x3x2x2xf32> -> tensor<1x3x2x2xf32>
  %sq = quant.qcast %s : tensor<1x3x2x2xf32> to tensor<1x3x2x2x!r>
  %sd = qnn.dequantize %sq : tensor<1x3x2x2x!r> -> tensor<1x3x2x2xf32>
  %a = qnn.relu %sd : tensor<1x3x2x2xf32> -> tensor<1x3x2x2xf32>
  %aq = qnn.quantize %a : tensor<1x3x2x2xf32> -> tensor<1x3x2x2x!r>
  %out = quant.dcast %aq : tensor<1x3x2x2x!r> to tensor<1x3x2x2xf32>
  func.return %out : tensor<1x3x2x2xf32>
}
