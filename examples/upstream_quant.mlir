// Only upstream MLIR `quant` ops: this file parses unchanged in `mlir-opt` 22.
//   qopt examples/upstream_quant.mlir
//   mlir-opt examples/upstream_quant.mlir
!qact = !quant.uniform<i8:f32, 0.0078125:-1>
!qweight = !quant.uniform<i8<-127:127>:f32:0, {0.01,0.02:1,0.005}>
!qsub = !quant.uniform<u8:f32:{0:1, 1:2}, {{0.5:120, 0.25:127}, {0.125, 1.0}}>
func.func @round_trip(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %q = quant.qcast %x : tensor<2x8xf32> to tensor<2x8x!qact>
  %i = quant.scast %q : tensor<2x8x!qact> to tensor<2x8xi8>
  %q2 = quant.scast %i : tensor<2x8xi8> to tensor<2x8x!qact>
  %y = quant.dcast %q2 : tensor<2x8x!qact> to tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}
func.func @weights(%w: tensor<3x4xi8>) -> tensor<3x4xf32> {
  %q = quant.scast %w : tensor<3x4xi8> to tensor<3x4x!qweight>
  %f = quant.dcast %q : tensor<3x4x!qweight> to tensor<3x4xf32>
  return %f : tensor<3x4xf32>
}
func.func @sub_channel(%x: tensor<2x4xf32>) -> tensor<2x4x!qsub> {
  %q = quant.qcast %x : tensor<2x4xf32> to tensor<2x4x!qsub>
  return %q : tensor<2x4x!qsub>
}
