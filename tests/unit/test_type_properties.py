"""Property: every valid quant type prints to text that parses back to the identical type."""

from __future__ import annotations

from hypothesis import given, settings
from xdsl.parser import Parser

from qdialect.textio import make_context

from .type_strategies import quant_types

CTX = make_context()


def storage_identity(t):
    """A type's meaning; `si8`/`ui8` print as `i8`/`u8` (as upstream), dropping the spelling."""
    params = list(t.parameters)
    if hasattr(t, "storage_type"):
        params[0] = (t.storage_width, t.signed)
    return (type(t), tuple(params))


@settings(max_examples=500, deadline=None)
@given(quant_types)
def test_random_types_round_trip_exactly(t) -> None:
    text = str(t)
    again = Parser(CTX, text).parse_type()
    assert storage_identity(again) == storage_identity(t), text
    assert str(again) == text
