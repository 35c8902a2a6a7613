// RUN: qopt %s -p s8-to-u8 --split-input-file | filecheck %s

// s8-to-u8: ONNX Runtime's QDQS8ToU8Transformer. An int8 Q -> DQ pair whose DQ has at most one
// reader becomes uint8 with the zero point (and narrowed bounds) shifted by 128; the reals it
// stands for are the same.

// CHECK-LABEL: func.func @one_reader(
// CHECK-NEXT: %q = qnn.quantize %x : tensor<4xf32> -> tensor<4x!quant.uniform<u8:f32, 0.05:125>>
// CHECK-NEXT: %d = qnn.dequantize %q : tensor<4x!quant.uniform<u8:f32, 0.05:125>> -> tensor<4xf32>
// CHECK-NEXT: %r = qnn.relu %d
// CHECK-NEXT: %n = qnn.quantize %x : tensor<4xf32> -> tensor<4x!quant.uniform<u8<1:255>:f32, 0.1:128>>
// CHECK-NEXT: %m = qnn.dequantize %n : tensor<4x!quant.uniform<u8<1:255>:f32, 0.1:128>> -> tensor<4xf32>
// CHECK-NEXT: func.return %r, %m
func.func @one_reader(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %q = qnn.quantize %x : tensor<4xf32> -> tensor<4x!quant.uniform<i8:f32, 0.05:-3>>
  %d = qnn.dequantize %q : tensor<4x!quant.uniform<i8:f32, 0.05:-3>> -> tensor<4xf32>
  %r = qnn.relu %d : tensor<4xf32> -> tensor<4xf32>
  %n = qnn.quantize %x : tensor<4xf32> -> tensor<4x!quant.uniform<i8<-127:127>:f32, 0.1>>
  %m = qnn.dequantize %n : tensor<4x!quant.uniform<i8<-127:127>:f32, 0.1>> -> tensor<4xf32>
  func.return %r, %m : tensor<4xf32>, tensor<4xf32>
}

// -----

// Kept int8: a DQ read twice (ORT gives each reader its own DQ, so the Q has two), a DQ that
// is also a result, a Q that is a result, per-axis parameters and a rounding that is no
// QuantizeLinear.
// CHECK-LABEL: func.func @kept(
// CHECK-NOT: u8
// CHECK: func.return
!a = !quant.uniform<i8:f32, 0.05:-3>
func.func @kept(%x: tensor<4xf32>, %y: tensor<2x2xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4x!a>, tensor<4xf32>, tensor<2x2xf32>, tensor<4xf32>) {
  %q = qnn.quantize %x : tensor<4xf32> -> tensor<4x!a>
  %d = qnn.dequantize %q : tensor<4x!a> -> tensor<4xf32>
  %s = qnn.add %d, %d : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %q2 = qnn.quantize %x : tensor<4xf32> -> tensor<4x!a>
  %d2 = qnn.dequantize %q2 : tensor<4x!a> -> tensor<4xf32>
  %r2 = qnn.relu %d2 : tensor<4xf32> -> tensor<4xf32>
  %q3 = qnn.quantize %x : tensor<4xf32> -> tensor<4x!a>
  %d3 = qnn.dequantize %q3 : tensor<4x!a> -> tensor<4xf32>
  %q4 = qnn.quantize %y : tensor<2x2xf32> -> tensor<2x2x!quant.uniform<i8:f32:0, {0.1,0.2}>>
  %d4 = qnn.dequantize %q4 : tensor<2x2x!quant.uniform<i8:f32:0, {0.1,0.2}>> -> tensor<2x2xf32>
  %q5 = qnn.quantize %x {round_mode = "half_away_from_zero"} : tensor<4xf32> -> tensor<4x!a>
  %d5 = qnn.dequantize %q5 : tensor<4x!a> -> tensor<4xf32>
  func.return %s, %d2, %q3, %r2, %d4, %d5 : tensor<4xf32>, tensor<4xf32>, tensor<4x!a>, tensor<4xf32>, tensor<2x2xf32>, tensor<4xf32>
}

// -----

// One node input read by several ops of one node (the importer's slices and concat of a Gather
// at constant indices): one output edge of ORT's DQ, so the pair becomes uint8.
// CHECK-LABEL: func.func @gathered(
// CHECK-NEXT: %q = qnn.quantize %x : tensor<4x3xf32> -> tensor<4x3x!quant.uniform<u8:f32, 0.05:125>>
// CHECK-NEXT: %d = qnn.dequantize %q : tensor<4x3x!quant.uniform<u8:f32, 0.05:125>> -> tensor<4x3xf32>
func.func @gathered(%x: tensor<4x3xf32>) -> tensor<2x3xf32> {
  %q = qnn.quantize %x : tensor<4x3xf32> -> tensor<4x3x!quant.uniform<i8:f32, 0.05:-3>>
  %d = qnn.dequantize %q : tensor<4x3x!quant.uniform<i8:f32, 0.05:-3>> -> tensor<4x3xf32>
  %0 = qnn.slice %d {qnn.op_type = "Gather", starts = array<i64: 0, 0>, steps = array<i64: 1, 1>} : tensor<4x3xf32> -> tensor<1x3xf32>
  %1 = qnn.slice %d {qnn.op_type = "Gather", starts = array<i64: 3, 0>, steps = array<i64: 1, 1>} : tensor<4x3xf32> -> tensor<1x3xf32>
  %y = qnn.concat %0, %1 {qnn.op_type = "Gather", qnn.name = "y", axis = 0 : i64} : (tensor<1x3xf32>, tensor<1x3xf32>) -> tensor<2x3xf32>
  func.return %y : tensor<2x3xf32>
}
