"""The C compiler the JIT runs: its command ($CC), flags ($QDIALECT_CFLAGS), identity (what
`-march=native` means on this host, part of the cache key) and OpenMP support.

Kept apart from runtime/jit.py, which decides where objects live (the cache) and loads them.

Flags: `-O3 -march=native -fopenmp -ffp-contract=off -fno-math-errno` by default; the `flags`
argument, else `$QDIALECT_CFLAGS` (shlex-split), replaces them. `-ffp-contract=off` is appended
unless the flags say otherwise, because DESIGN §2's formulas fix every float rounding and GCC
would otherwise fuse `a*b+c` into an FMA. `-fopenmp` is dropped when the compiler cannot build
and link an OpenMP object (the generated loops then run on one thread). Compiler: `$CC`, else
`cc`.

Sanitizers: `QDIALECT_CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer"`;
an ASan-instrumented object loaded into an uninstrumented Python needs the runtime preloaded,
e.g. `LD_PRELOAD=$(cc -print-file-name=libasan.so)`.
"""

from __future__ import annotations

import ctypes
import functools
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a model-cache hit loads objects without importing the code generator
    from codegen.target import Target

__all__ = [
    "DEFAULT_FLAGS",
    "CompileError",
    "compiler_command",
    "compiler_identity",
    "effective_flags",
    "openmp_links",
    "target_of",
    "trim_diagnostic",
]

_MAX_DIAGNOSTIC_LINES = 40

DEFAULT_FLAGS: tuple[str, ...] = (
    "-O3",
    "-march=native",
    "-fopenmp",
    "-ffp-contract=off",
    "-fno-math-errno",
)


class CompileError(Exception):
    """The C could not be turned into a loadable module (compiler missing, failed, or the
    object would not load). The message names the origin and quotes the compiler."""


def effective_flags(flags: Sequence[str] | None) -> tuple[str, ...]:
    """Explicit argument, else $QDIALECT_CFLAGS, else the defaults; -ffp-contract=off kept."""
    if flags is not None:
        chosen = tuple(flags)
    elif os.environ.get("QDIALECT_CFLAGS", "").strip():
        chosen = tuple(shlex.split(os.environ["QDIALECT_CFLAGS"]))
    else:
        chosen = DEFAULT_FLAGS
    if not any(flag.startswith("-ffp-contract=") for flag in chosen):
        chosen += ("-ffp-contract=off",)
    return chosen


def compiler_command(origin: str) -> tuple[str, ...]:
    """$CC (which may carry arguments, e.g. "ccache gcc") or `cc`, with the program resolved to
    an absolute path so the build can run in another working directory."""
    from_env = os.environ.get("CC", "").strip()
    argv = shlex.split(from_env) if from_env else ["cc"]
    program = shutil.which(argv[0])
    if program is None:
        where = "$CC" if from_env else "the default; no CC is set"
        raise CompileError(
            f"cannot compile {origin}: C compiler {argv[0]!r} not found ({where}); "
            f"install gcc or clang, or set CC to a C compiler (e.g. CC=gcc)"
        )
    return (program, *argv[1:])


def compiler_identity(compiler: tuple[str, ...], native: tuple[str, ...], origin: str) -> str:
    try:
        return _probe_identity(compiler, native)
    except CompileError as exc:
        raise CompileError(f"cannot compile {origin}: {exc}") from exc


@functools.cache
def _probe_identity(compiler: tuple[str, ...], native: tuple[str, ...]) -> str:
    """First line of `cc --version`, plus what `-march=native` (etc.) expands to on this host.

    Computed once per process and compiler: a few milliseconds, paid by the first cache hit too.
    """
    version = _run_probe([*compiler, "--version"])
    identity = version.stdout.strip().splitlines()[0] if version.stdout.strip() else ""
    if native:
        # `-###` prints the driver's cc1 command line without running it; for native flags it
        # holds the concrete CPU and feature list.
        expanded = _run_probe([*compiler, *native, "-###", "-E", "-x", "c", os.devnull])
        identity += "\n" + "\n".join(
            line.strip() for line in expanded.stderr.splitlines() if "cc1" in line
        )
    return identity


def _run_probe(argv: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, errors="replace", check=False)
    except OSError as exc:
        raise CompileError(f"running {argv[0]!r} failed: {exc}") from exc
    if result.returncode != 0:
        details = trim_diagnostic(result.stderr)
        raise CompileError(f"{shlex.join(argv)} exited with status {result.returncode}\n{details}")
    return result


def target_of(flags: Sequence[str] | None = None) -> Target:
    """The target the JIT compiles for with these flags (see compile_c), from the compiler's
    predefined macros; the generic target when no compiler can be asked (compiling will then
    fail with its own located error)."""
    from codegen.target import GENERIC, Target

    try:
        compiler = compiler_command("the target probe")
        macros = _predefined_macros(compiler, effective_flags(flags))
    except CompileError:
        return GENERIC
    return Target.from_macros(macros, "__AMX_TILE__" in macros and _tiles_permitted())


# Linux x86-64: arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) asks for the AMX tile state;
# the generated C asks again (qd_amx_ready) in whatever process loads it.
_SYS_ARCH_PRCTL, _ARCH_REQ_XCOMP_PERM, _XFEATURE_XTILEDATA = 158, 0x1023, 18


@functools.cache
def _tiles_permitted() -> bool:
    """True if the kernel lets this process use AMX tiles (asked once per process)."""
    if sys.platform != "linux" or platform.machine() != "x86_64":
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.syscall(_SYS_ARCH_PRCTL, _ARCH_REQ_XCOMP_PERM, _XFEATURE_XTILEDATA) == 0
    except (OSError, AttributeError):
        return False


@functools.cache
def _predefined_macros(compiler: tuple[str, ...], flags: tuple[str, ...]) -> frozenset[str]:
    """The names `compiler flags` predefines (`-dM -E`): once per process and flags."""
    result = _run_probe([*compiler, *flags, "-dM", "-E", "-x", "c", os.devnull])
    return frozenset(
        line.split()[1] for line in result.stdout.splitlines() if line.startswith("#define ")
    )


@functools.cache
def openmp_links(compiler: tuple[str, ...]) -> bool:
    """True if `compiler -fopenmp` builds a shared object that uses omp.h (e.g. clang without
    libomp does not). Asked once per process, and only when something is compiled."""
    with tempfile.TemporaryDirectory() as scratch:
        probe = Path(scratch) / "omp.c"
        probe.write_text("#include <omp.h>\nint qd_probe(void) { return omp_get_max_threads(); }\n")
        argv = [*compiler, "-fopenmp", "-shared", "-fPIC", "-o", str(probe.with_suffix(".so"))]
        try:
            result = subprocess.run([*argv, str(probe)], capture_output=True, check=False)
        except OSError:
            return False
        return result.returncode == 0


def trim_diagnostic(text: str) -> str:
    """The first lines of a diagnostic, which name the first error; the rest is usually noise."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    if len(lines) > _MAX_DIAGNOSTIC_LINES:
        omitted = len(lines) - _MAX_DIAGNOSTIC_LINES
        lines = [*lines[:_MAX_DIAGNOSTIC_LINES], f"[... {omitted} more lines]"]
    return "\n".join(lines)
