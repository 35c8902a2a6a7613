"""Fixed sizes for a model's dynamic input dimensions, before import.

Our functions are compiled for one shape, while models exported from training frameworks
usually leave the batch (and sequence) dimensions of their inputs open, as `dim_param` names
("batch", "N") or unnamed. Two ways fix them, ONNX Runtime's and numpy's:

- `free_dimensions`, by name, as ONNX Runtime's
  `SessionOptions.add_free_dimension_override_by_name(name, value)` does (every input
  dimension named `name` becomes `value`; a name no input has is an error, since it is most
  likely a typo);
- `input_shapes`, the shapes of the arrays that will be fed (`qopt --inputs`, the first
  calibration sample): each still-open dimension takes the array's size there, and an input
  with no shape at all takes the array's. Only open dimensions are taken; a fixed dimension
  the array does not match is left for the call-time check to report in its own words.

The model is copied, never changed in place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from qdialect.onnx_import.errors import OnnxImportError


def _inputs(model) -> list:
    """The graph inputs that are fed (not initializers) and are tensors."""
    constant = {t.name for t in model.graph.initializer}
    return [
        info
        for info in model.graph.input
        if info.name not in constant and info.type.HasField("tensor_type")
    ]


def _is_open(dim) -> bool:
    return not dim.HasField("dim_value") or dim.dim_value <= 0


def open_dimensions(model) -> dict[str, list[str]]:
    """Input name -> the labels of its open dimensions ("batch", or "?" for an unnamed one;
    "*" for an input with no shape at all); inputs whose dimensions are all fixed are left
    out."""
    found = {}
    for info in _inputs(model):
        if not info.type.tensor_type.HasField("shape"):
            found[info.name] = ["*"]
            continue
        labels = [d.dim_param or "?" for d in info.type.tensor_type.shape.dim if _is_open(d)]
        if labels:
            found[info.name] = labels
    return found


def bind_input_dims(
    model,
    free_dimensions: Mapping[str, int] | None = None,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
):
    """A copy of `model` whose open input dimensions take the sizes `free_dimensions` (by
    name) and then `input_shapes` (by position) give; `model` itself if there is nothing to
    bind. Dimensions neither gives stay open (the importer then names them)."""
    free = dict(free_dimensions or {})
    for name, value in free.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise OnnxImportError(
                f"free dimension '{name}' must be a positive integer, got {value!r}"
            )
    opened = open_dimensions(model)
    if not opened:
        if free:
            raise OnnxImportError(
                f"no graph input has a dimension named {_names(free)}: every input "
                "dimension of this model is fixed"
            )
        return model
    named = {label for labels in opened.values() for label in labels if label not in ("?", "*")}
    unknown = [name for name in free if name not in named]
    if unknown:
        raise OnnxImportError(
            f"no graph input has a dimension named {_names(unknown)} "
            f"(the open ones: {_names(sorted(named)) or 'unnamed only'})"
        )
    shapes = {k: tuple(v) for k, v in (input_shapes or {}).items() if k in opened}
    if not free and not shapes:
        return model
    bound = type(model)()
    bound.CopyFrom(model)
    for info in _inputs(bound):
        shape = shapes.get(info.name)
        ttype = info.type.tensor_type
        if not ttype.HasField("shape") and shape is not None:
            for size in shape:
                ttype.shape.dim.add().dim_value = int(size)
            continue
        dims = ttype.shape.dim
        if shape is not None and len(shape) != len(dims):
            shape = None  # the wrong rank: the call-time check reports it
        for index, dim in enumerate(dims):
            if not _is_open(dim):
                continue
            size = free.get(dim.dim_param) if dim.dim_param else None
            if size is None and shape is not None:
                size = int(shape[index])
            if size is not None and size > 0:
                dim.dim_value = size  # clears dim_param: they are one protobuf oneof
    return bound


def _names(names) -> str:
    return ", ".join(f"'{n}'" for n in names)
