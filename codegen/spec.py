"""What a template renders: a kernel spec composed of typed parts.

Each op family turns its op into frozen dataclasses of numbers (a window, an epilogue, a tiling
plan, ...). A template reads fields by name (`spec.KH`, `spec.multiplier`), so `SpecView` shows
the parts as one namespace; a name defined by two parts is an error, so a field means one thing
in every template.
"""

from __future__ import annotations

import dataclasses
from typing import Any


class SpecView:
    """The fields of several dataclass instances under one namespace (read-only)."""

    def __init__(self, *parts: Any) -> None:
        fields: dict[str, Any] = {}
        for part in parts:
            for f in dataclasses.fields(part):
                if f.name in fields:
                    raise ValueError(f"spec field {f.name!r} is defined twice")
                fields[f.name] = getattr(part, f.name)
        self._fields = fields

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_fields"][name]
        except KeyError:
            raise AttributeError(name) from None
