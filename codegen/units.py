"""One function's C spread over several translation units, so that they compile in parallel.

A whole model is one unit of a few hundred kilobytes of C, and a C compiler uses one core per
unit: ResNet-18's took 2.6 s of one core. `split_units` deals the kernels out to `parts` units
(largest first, each to the lightest unit so far); each kernel's call becomes a step function
`qd_step<k>` in its kernel's unit with the entry point's signature, so the units agree on
nothing but that one prototype (no kernel signature is read back from C). The main unit holds
`qd_set_threads`, the profile timestamps when asked for, and `qd_entry`, which calls the steps
in order and copies results as the single unit does. Steps are hidden symbols: they link into
one object and are not exported from it.

Same kernels, same calls, same order: the results are those of the single unit bit for bit.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from codegen.emit import EmittedFunction, entry_point, timed, translation_unit

STEP_PARAMETERS = (
    "const void *const *inputs, void *const *outputs, const void *const *constants, void *arena"
)
STEP_ARGUMENTS = "inputs, outputs, constants, arena"
HIDDEN = '__attribute__((visibility("hidden")))'


@dataclass(frozen=True)
class SplitUnits:
    """The main unit (the one cffi's glue includes) and the kernel units linked with it."""

    main: str
    parts: tuple[str, ...]


def step(index: int, call: str) -> str:
    """The step function that makes kernel call `index` in its kernel's unit; it returns
    what the entry point would (0, or a kernel's failure: codegen.kernel.Kernel)."""
    return (
        f"{HIDDEN} int qd_step{index}({STEP_PARAMETERS}) {{\n"
        f"    (void)inputs; (void)outputs; (void)constants; (void)arena;\n    {call}\n"
        "    return 0;\n}\n"
    )


def deal(sizes: list[int], parts: int) -> list[list[int]]:
    """Indices of `sizes` in `parts` groups of nearly equal total: largest first, each to the
    lightest group so far; each group in index order."""
    heap = [(0, group) for group in range(parts)]
    groups: list[list[int]] = [[] for _ in range(parts)]
    for index in sorted(range(len(sizes)), key=lambda i: -sizes[i]):
        total, group = heapq.heappop(heap)
        groups[group].append(index)
        heapq.heappush(heap, (total + sizes[index], group))
    return [sorted(group) for group in groups if group]


def split_units(emitted: EmittedFunction, parts: int) -> SplitUnits:
    """The C of `emitted` as a main unit and up to `parts` kernel units (see the module)."""
    kernels = emitted.kernel_texts
    groups = deal([len(text) for text in kernels], max(1, min(parts, len(kernels))))
    units = []
    for group in groups:
        texts = "".join(kernels[i] for i in group)
        steps = "".join(step(i, emitted.steps[i]) for i in group)
        units.append(translation_unit(emitted.fast, texts, steps, exports=False))
    declarations = "".join(
        f"{HIDDEN} int qd_step{i}({STEP_PARAMETERS});\n" for i in range(len(kernels))
    )
    calls = [  # only a step that can fail is tested (codegen.kernel.Kernel.failure)
        f"if ((failure = qd_step{i}({STEP_ARGUMENTS}))) return failure;"
        if i in emitted.failing_steps
        else f"qd_step{i}({STEP_ARGUMENTS});"
        for i in range(len(kernels))
    ]
    if emitted.profiled:
        calls = [timed(call, index) for index, call in enumerate(calls)]
    declared = ["    int failure;"] if emitted.failing_steps else []
    body = "\n".join([*declared, *(f"    {call}" for call in calls), *emitted.copies])
    slots = len(kernels) if emitted.profiled else 0
    main = translation_unit(False, declarations, entry_point("qd_entry", body), slots)
    return SplitUnits(main, tuple(units))
