"""qdialect: the `quant` and `qnn` dialects, their types and quantization-parameter math.

Importing the package installs our fixes to xDSL's MLIR lexer (`qdialect.lexer`) and keeps
splat constants as one value (`qdialect.splat`), so every tool that loads our dialects, `qopt`
and `xdsl-opt` alike, tokenizes and parses text the same way.
"""

from qdialect import lexer as _lexer
from qdialect import splat as _splat

_lexer.install()
_splat.install()
