// RUN: qopt %s | filecheck %s
// RUN: qopt %s | qopt | filecheck %s
// RUN: qopt %s --print-op-generic | qopt | filecheck %s

// CHECK-LABEL: func.func private @per_tensor
// CHECK-SAME: !quant.uniform<i8:f32, 0.5:-3>
// CHECK-SAME: !quant.uniform<u8:f32, 0.0078125:128>
// CHECK-SAME: !quant.uniform<i8<-127:127>:f32, 1.0>
// CHECK-SAME: !quant.uniform<u4:f16, 2.0:7>
// CHECK-SAME: !quant.uniform<i16:bf16, 3.0517578125e-05>
// CHECK-SAME: !quant.uniform<i32:f64, 1.0e-09>
// CHECK-SAME: !quant.uniform<i8:f32, 0.1>
// CHECK-SAME: !quant.uniform<u8:f32, 0.1>
// CHECK-SAME: !quant.uniform<i1:f32, 0.5>
func.func private @per_tensor(!quant.uniform<i8:f32, 0.5:-3>, !quant.uniform<u8:f32, 7.8125e-3:128>, !quant.uniform<i8<-127:127>:f32, 1.0>, !quant.uniform<ui4:f16, 2.0:7>, !quant.uniform<si16:bf16, 0.000030517578125>, !quant.uniform<i32:f64, 1.0e-9:0>, !quant.uniform<i8<-128:127>:f32, 0.1>, !quant.uniform<u8<0:255>:f32, 0.1>, !quant.uniform<i1:f32, 0.5>)

// Scales print as the shortest decimal that re-parses to the same double, always with a '.'.
// CHECK-LABEL: func.func private @scales
// CHECK-SAME: !quant.uniform<i8:f32, 1.0e-05>
// CHECK-SAME: !quant.uniform<i8:f32, 2.5e+20>
// CHECK-SAME: !quant.uniform<i8:f32, 0.3333333333333333>
// CHECK-SAME: !quant.uniform<u8:f32, 10704349.0:128>
func.func private @scales(!quant.uniform<i8:f32, 1.0e-5>, !quant.uniform<i8:f32, 2.5e20>, !quant.uniform<i8:f32, 0.3333333333333333>, !quant.uniform<u8:f32, 0x41646ABBA0000000:128>)

// CHECK-LABEL: func.func private @per_axis
// CHECK-SAME: !quant.uniform<i8:f32:0, {0.1,0.2:3}>
// CHECK-SAME: !quant.uniform<u8<1:255>:f32:3, {0.5:128,0.25:127,0.125}>
func.func private @per_axis(tensor<2x4x!quant.uniform<i8:f32:0, {0.1, 0.2:3}>>, tensor<1x1x1x3x!quant.uniform<u8<1:255>:f32:3, {0.5:128,  0.25:127, 0.125:0}>>)

// Sub-channel scales are stored in the expressed type, as upstream does.
// CHECK-LABEL: func.func private @sub_channel
// CHECK-SAME: !quant.uniform<u8:f32:{0:1, 1:2}, {{[{][{]}}2.0:120, 3.0:127}, {4.0, 5.0}}>
// CHECK-SAME: !quant.uniform<i8:f32:{}, {{[{][{]}}0.10000000149011612}}>
func.func private @sub_channel(tensor<2x4x!quant.uniform<u8:f32:{0:1, 1:2}, {{2.0:120,3.0:127}, {4.0,5.0}}>>, tensor<1x1x!quant.uniform<i8:f32:{}, {{0.1}}>>)

// CHECK-LABEL: func.func private @any_and_calibrated
// CHECK-SAME: !quant.any<i8<-8:7>:f32>
// CHECK-SAME: !quant.any<u8>
// CHECK-SAME: !quant.calibrated<f32<-0.998:1.2321>>
func.func private @any_and_calibrated(!quant.any<i8<-8:7>:f32>, !quant.any<ui8>, !quant.calibrated<f32<-0.998:1.2321>>)
