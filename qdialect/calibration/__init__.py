"""Calibration: statistics of float tensors on representative data, and ranges chosen from them.

`stats` holds what observation collects (`TensorStats`, `Histogram`); `methods` turns statistics
into a `TensorRange` the way each peer does (ONNX Runtime's calibrators, torch's
HistogramObserver, Glow); `table` reads and writes ONNX Runtime's JSON calibration cache.
Importing this package loads numpy; `qopt` imports it only for calibration flags.
"""
