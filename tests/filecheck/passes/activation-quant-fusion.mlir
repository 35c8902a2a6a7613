// RUN: qopt %s -p activation-quant-fusion --split-input-file | filecheck %s

// ORT's ReluQuantFusion: a float relu whose one reader quantizes with the storage minimum as
// zero point goes (0 and every negative value quantize to that minimum).
// CHECK-LABEL: func.func @relu_zero_point_at_the_minimum(
// CHECK-NEXT: %q = qnn.quantize %x : tensor<4xf32> -> tensor<4x!quant.uniform<u8:f32, 0.5>>
// CHECK-NEXT: func.return %q
func.func @relu_zero_point_at_the_minimum(%x: tensor<4xf32>) -> tensor<4x!quant.uniform<u8:f32, 0.5>> {
  %r = qnn.relu %x : tensor<4xf32> -> tensor<4xf32>
  %q = qnn.quantize %r : tensor<4xf32> -> tensor<4x!quant.uniform<u8:f32, 0.5>>
  func.return %q : tensor<4x!quant.uniform<u8:f32, 0.5>>
}

// -----

// A zero point above the minimum represents negative values: the relu stays.
// CHECK-LABEL: func.func @relu_zero_point_above_the_minimum(
// CHECK-NEXT: %r = qnn.relu %x
// CHECK-NEXT: %q = qnn.quantize %r
func.func @relu_zero_point_above_the_minimum(%x: tensor<4xf32>) -> tensor<4x!quant.uniform<i8:f32, 0.5:-127>> {
  %r = qnn.relu %x : tensor<4xf32> -> tensor<4xf32>
  %q = qnn.quantize %r : tensor<4xf32> -> tensor<4x!quant.uniform<i8:f32, 0.5:-127>>
  func.return %q : tensor<4x!quant.uniform<i8:f32, 0.5:-127>>
}

// -----

// ORT's ClipQuantFusion: Clip(0, 6) before a u8 quantize of scale 6/255 (every value that
// rounds to 0 or 255 lies inside [0, 6]) goes; with scale 0.03 (255 steps reach 7.65) it stays.
// CHECK-LABEL: func.func @clips(
// CHECK-NEXT: %q = qnn.quantize %x : tensor<4xf32> -> tensor<4x!quant.uniform<u8:f32, 0.0235294122248888>>
// CHECK-NEXT: %c2 = qnn.clamp %x
// CHECK-NEXT: %q2 = qnn.quantize %c2
func.func @clips(%x: tensor<4xf32>) -> (tensor<4x!quant.uniform<u8:f32, 0.0235294122248888>>, tensor<4x!quant.uniform<u8:f32, 0.03>>) {
  %c = qnn.clamp %x {min = 0.0 : f32, max = 6.0 : f32} : tensor<4xf32> -> tensor<4xf32>
  %q = qnn.quantize %c : tensor<4xf32> -> tensor<4x!quant.uniform<u8:f32, 0.0235294122248888>>
  %c2 = qnn.clamp %x {min = 0.0 : f32, max = 6.0 : f32} : tensor<4xf32> -> tensor<4xf32>
  %q2 = qnn.quantize %c2 : tensor<4xf32> -> tensor<4x!quant.uniform<u8:f32, 0.03>>
  func.return %q, %q2 : tensor<4x!quant.uniform<u8:f32, 0.0235294122248888>>, tensor<4x!quant.uniform<u8:f32, 0.03>>
}
