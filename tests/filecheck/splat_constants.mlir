// RUN: qopt %s | filecheck %s
// RUN: qopt %s | qopt | filecheck %s
// RUN: qopt %s --print-op-generic | qopt | filecheck %s
// RUN: qopt %s -p u8-to-i8 | filecheck %s --check-prefix=I8
// RUN: qopt %s -p u8-to-i8,qnn-default | filecheck %s --check-prefix=FOLD

// A splat is one value however many elements it has (issue 18: 2^32 elements were a
// MemoryError): it prints back as written, mlir-opt's spelling. A hex string of one element is
// a splat too, and a list of one value prints as one, as in MLIR. Rewrites that re-store
// constants keep a splat one value.

!u = !quant.uniform<u8:f32, 0.5:130>
// CHECK-LABEL: func.func @huge
// CHECK-NEXT: %i = arith.constant dense<-3> : tensor<4294967296xi8>
// CHECK-NEXT: %h = arith.constant dense<-3> : tensor<65536x65536xi8>
// CHECK-NEXT: %f = arith.constant dense<1.500000e+00> : tensor<65536x65536xf32>
// CHECK-NEXT: %b = arith.constant dense<true> : tensor<4294967296xi1>
// CHECK-NEXT: %s = arith.constant dense<1> : tensor<2xi8>
// CHECK-NEXT: %w = arith.constant dense<-56> : tensor<4294967296xi8>
// CHECK-NEXT: %wq = quant.scast %w : tensor<4294967296xi8> to tensor<4294967296x!quant.uniform<u8:f32, 0.5:130>>
// I8-LABEL: func.func @huge
// I8: %{{.*}} = arith.constant dense<72> : tensor<4294967296xi8>
// I8-NEXT: %wq = quant.scast %{{.*}} : tensor<4294967296xi8> to tensor<4294967296x!quant.uniform<i8:f32, 0.5:2>>
// I8-NEXT: %{{.*}} = qnn.requantize %wq
// The requantize back to the signature's u8 folds into the constant, a splat again.
// FOLD-LABEL: func.func @huge
// FOLD: %[[W:.*]] = arith.constant dense<-56> : tensor<4294967296xi8>
// FOLD-NEXT: %[[Q:.*]] = quant.scast %[[W]] : tensor<4294967296xi8> to tensor<4294967296x!quant.uniform<u8:f32, 0.5:130>>
// FOLD-NEXT: func.return %i, %h, %f, %b, %s, %[[Q]]
func.func @huge() -> (tensor<4294967296xi8>, tensor<65536x65536xi8>, tensor<65536x65536xf32>, tensor<4294967296xi1>, tensor<2xi8>, tensor<4294967296x!u>) {
  %i = arith.constant dense<-3> : tensor<4294967296xi8>
  %h = arith.constant dense<"0xFD"> : tensor<65536x65536xi8>
  %f = arith.constant dense<1.5> : tensor<65536x65536xf32>
  %b = arith.constant dense<true> : tensor<4294967296xi1>
  %s = arith.constant dense<[1, 1]> : tensor<2xi8>
  %w = arith.constant dense<200> : tensor<4294967296xi8>
  %wq = quant.scast %w : tensor<4294967296xi8> to tensor<4294967296x!u>
  func.return %i, %h, %f, %b, %s, %wq : tensor<4294967296xi8>, tensor<65536x65536xi8>, tensor<65536x65536xf32>, tensor<4294967296xi1>, tensor<2xi8>, tensor<4294967296x!u>
}
