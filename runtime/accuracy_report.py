"""The per-tensor accuracy report: records, the table users read, the JSON tools read.

Rows are sorted by local SQNR, worst first: local SQNR isolates a layer's own error, so the
first row is the layer to act on; cumulative SQNR only says how much error has piled up by
then (a bad layer drags every successor's cumulative SQNR down, not their local one).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

POOR_DB = 20.0  # below this (an rms error above 10 % of the signal) a layer needs a remedy
CLIPPED_SHARE = 0.01  # more than 1 % of values outside the range: the range is too narrow
JSON_FIELDS = (
    "tensor",
    "op",
    "node",
    "sqnr_db",
    "local_sqnr_db",
    "clipped",
    "hazard_outputs",
    "hazard_max_lsb",
)


@dataclass(frozen=True)
class TensorRecord:
    """One quantized tensor. SQNRs in dB (`inf`: no error); `clipped` a share in [0, 1];
    the hazard fields are None where no u8 x s8 conv/dot produces the tensor. `per_channel`
    (not in the JSON) says whether that conv/dot's weights are per channel, for the advice."""

    tensor: str
    op: str
    node: str
    sqnr_db: float
    local_sqnr_db: float
    clipped: float
    hazard_outputs: int | None
    hazard_max_lsb: int | None
    per_channel: bool | None = None
    position: int = 0  # in graph order (not in the JSON), for the plot

    @property
    def advice(self) -> str:
        """What to try first, most specific first; "-" when the tensor looks healthy."""
        advice = []
        if self.hazard_outputs:
            advice.append(
                f"reduce_range ({self.hazard_outputs} outputs off by up to "
                f"{self.hazard_max_lsb} LSB with int16 saturation)"
            )
        if self.clipped > CLIPPED_SHARE:
            advice.append(f"widen the range ({100 * self.clipped:.1f} % clipped)")
        if self.local_sqnr_db < POOR_DB and self.op != "input":
            advice.append(
                "per-channel weights" if self.per_channel is False else "exclude this node"
            )
        return "; ".join(advice) or "-"

    def to_json(self) -> dict:
        """The record's JSON fields; an infinite SQNR is the string "inf" (or "-inf")."""
        out = {}
        for name in JSON_FIELDS:
            value = getattr(self, name)
            if isinstance(value, float) and math.isinf(value):
                value = "inf" if value > 0 else "-inf"
            out[name] = value
        return out


def _db(value: float) -> str:
    return f"{value:.2f}" if math.isfinite(value) else ("inf" if value > 0 else "-inf")


def _hazard(record: TensorRecord) -> str:
    if record.hazard_outputs is None:
        return "-"
    return f"{record.hazard_outputs} ({record.hazard_max_lsb} LSB)"


HEADER = ("tensor", "op", "node", "local dB", "cumul. dB", "clipped %", "int16 hazard", "advice")


@dataclass(frozen=True)
class Report:
    """Records sorted by local SQNR, worst first (ties keep the model's order)."""

    records: tuple[TensorRecord, ...]

    @classmethod
    def sorted(cls, records: Iterable[TensorRecord]) -> Report:
        return cls(tuple(sorted(records, key=lambda r: r.local_sqnr_db)))

    def rows(self) -> list[tuple[str, ...]]:
        return [
            (
                r.tensor,
                r.op,
                r.node or "-",
                _db(r.local_sqnr_db),
                _db(r.sqnr_db),
                f"{100 * r.clipped:.2f}",
                _hazard(r),
                r.advice,
            )
            for r in self.records
        ]

    def table(self) -> str:
        """Aligned plain-text columns, one row per tensor, ending in a newline."""
        rows = [HEADER, *self.rows()]
        widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER) - 1)]
        lines = [
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
            + "  "
            + row[-1]
            for row in rows
        ]
        return "\n".join(line.rstrip() for line in lines) + "\n"

    def to_json(self) -> list[dict]:
        return [r.to_json() for r in self.records]

    def write_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")
