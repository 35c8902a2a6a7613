"""The filecheck files that round-trip ops (rather than passes or diagnostics): together they
hold every qnn and quant op, so the interpreter and the code generator are run on each."""

ROUND_TRIP_SUITE = (
    "qnn_ops.mlir",
    "quant_ops.mlir",
    "table.mlir",
    "dynamic.mlir",
    "fake_quant.mlir",
    "float_math.mlir",
)
