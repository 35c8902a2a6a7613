"""Pass registry: pass name -> factory returning the `ModulePass` class.

`qopt -p` and `xdsl-opt -p` (through the `xdsl.universe` entry point) look passes up here.
Factories import lazily so that listing passes costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from xdsl.passes import ModulePass

PASSES: dict[str, Callable[[], type[ModulePass]]] = {}
