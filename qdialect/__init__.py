"""qdialect: the `quant` and `qnn` dialects, their types and quantization-parameter math.

Importing the package installs our fixes to xDSL's MLIR lexer (`qdialect.lexer`), so every tool
that loads our dialects, `qopt` and `xdsl-opt` alike, tokenizes text the same way.
"""

from qdialect import lexer as _lexer

_lexer.install()
