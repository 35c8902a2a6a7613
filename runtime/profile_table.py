"""The text table of a `runtime.profile.Profile`: ops slowest first, then totals per op kind."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from runtime.profile import Profile


def rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def format_profile(profile: Profile, limit: int | None = None) -> str:
    """Share is of the ops' sum; the header gives the whole call as Python timed it (the ops'
    sum plus argument checks and output allocation)."""
    total = profile.kernel_seconds or 1.0
    lines = [
        f"@{profile.function}: {profile.runs} runs, {profile.run_seconds * 1e3:.3f} ms per run "
        f"(ops {profile.kernel_seconds * 1e3:.3f} ms)",
        f"{'ms/run':>9} {'share':>6} {'GOP/s':>7} {'GB/s':>7}  {'op':<16} name",
    ]
    ordered = profile.slowest_first()
    shown = ordered if limit is None else ordered[:limit]
    for op in shown:
        lines.append(
            f"{op.seconds * 1e3:9.3f} {op.seconds / total:6.1%} {rate(op.gops):>7} "
            f"{rate(op.gbs):>7}  {op.op:<16} {op.name}"
        )
    if len(shown) < len(ordered):
        rest = sum(op.seconds for op in ordered[len(shown) :])
        lines.append(
            f"{rest * 1e3:9.3f} {rest / total:6.1%} {'':>7} {'':>7}  "
            f"({len(ordered) - len(shown)} more ops)"
        )
    lines.append("by op:")
    for op, seconds, count in profile.by_op_type():
        lines.append(f"{seconds * 1e3:9.3f} {seconds / total:6.1%}  {op} ×{count}")
    return "\n".join(lines) + "\n"
