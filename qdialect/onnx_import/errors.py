"""The importer's two errors (a leaf module: `import qdialect.onnx_import` loads only this)."""


class OnnxImportError(Exception):
    """The model cannot be imported; the message names the node(s) at fault."""


class NodeError(Exception):
    """Raised inside an op handler; the importer adds the node's name and type."""
