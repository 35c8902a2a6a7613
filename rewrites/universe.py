"""Registers our dialects and passes with xDSL's tools through the `xdsl.universe` entry point.

`xdsl-opt` loads this module before it reads its input. Importing `qdialect` here installs our
lexer fixes (`qdialect.lexer`), so `xdsl-opt` tokenizes text exactly as `qopt` does; the
dialects themselves load lazily, when a parser first meets one of their names.
"""

from xdsl.universe import Universe

import qdialect  # noqa: F401  (installs the lexer fixes: see qdialect/lexer.py)
from rewrites.registry import PASSES


def _quant():
    from qdialect.quant_ops import Quant

    return Quant


def _qnn():
    from qdialect.qnn import QNN

    return QNN


QDIALECT_UNIVERSE = Universe(
    all_dialects={"quant": _quant, "qnn": _qnn},
    all_passes=PASSES,
)
