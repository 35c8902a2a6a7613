"""Registers our dialects (and passes) with xDSL's tools through the `xdsl.universe` entry point."""

from xdsl.universe import Universe

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
