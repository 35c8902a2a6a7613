"""The handler table: ONNX op type -> the function that imports a node of it.

Handler modules (`qoperator`, `float_ops`, `movement`) register with `@handles`; `ops` imports
them all, so the table is complete once `qdialect.onnx_import.ops` is imported.
"""

from __future__ import annotations

from collections.abc import Callable

from qdialect.onnx_import.graph import GraphImporter

Handler = Callable[[GraphImporter, object], None]
HANDLERS: dict[str, Handler] = {}


def handles(*op_types: str):
    def register(fn: Handler) -> Handler:
        for op_type in op_types:
            HANDLERS[op_type] = fn
        return fn

    return register


def unsupported_nodes(graph) -> list[str]:
    """'OpType (node 'name')' for every node no handler imports (an unnamed node by its place
    in the graph, 'node #i')."""
    found = []
    for index, node in enumerate(graph.node):
        if node.op_type in HANDLERS and node.domain in ("", "ai.onnx", "com.microsoft"):
            continue
        where = f"node '{node.name}'" if node.name else f"node #{index}"
        found.append(f"{node.op_type} ({where})")
    return found
