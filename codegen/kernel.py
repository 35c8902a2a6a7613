"""What an op family hands back to the function emitter, and what it may ask of it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from xdsl.ir import Operation

from codegen.c_text import CodegenError
from codegen.plan import Plan
from codegen.target import Target


@dataclass(frozen=True)
class Kernel:
    """One kernel of the unit: its template, what the template reads, and the C arguments of
    its call (buffer expressions). A kernel with a `failure` returns int, nonzero when its
    inputs are bad at run time (an index out of range): the entry point then returns at once,
    and the runtime raises `failure`, located at the op."""

    template: str
    spec: Any
    args: list[str]
    failure: str | None = None


class EmitContext(Protocol):
    """The function being emitted, as the op families see it."""

    plan: Plan
    target: Target

    def fail(self, op: Operation, message: str) -> CodegenError:
        """A located error for `op`."""
        ...

    def scratch(self, nbytes: int) -> str:
        """The fast kernels' shared scratch, at least `nbytes` long, as an `int16_t *`; it
        also turns on the SIMD half of the prelude."""
        ...
