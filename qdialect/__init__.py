"""qdialect: the `quant` and `qnn` dialects, their types and quantization-parameter math."""
