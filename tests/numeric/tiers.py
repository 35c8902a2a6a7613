"""Splitting a numbered sweep between the two test tiers (README, "Tests").

The default tier (`python -m pytest -q`) runs the first cases of each random sweep; the slow
tier (`python -m pytest -q -m slow`) runs the rest, so the two tiers together run every case.
"""

from __future__ import annotations

import pytest


def tiered_range(total: int, default: int) -> list:
    """Case numbers 0 .. total-1: the first `default` plain, the others marked `slow`."""
    return [
        *range(min(total, default)),
        *(pytest.param(case, marks=pytest.mark.slow) for case in range(default, total)),
    ]
