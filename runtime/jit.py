"""Compile one C translation unit with cffi (API mode), load it, and cache the result on disk.

    lib = compile_c(c_source, "int32_t qd_add(int32_t a, int32_t b);",
                    origin="function @main of model.mlir").lib
    lib.qd_add(2, 3)  # -> 5

Why it is built this way:

- cffi writes the C glue (`ffi.emit_c_code`) and we run the compiler ourselves, in one
  compile-and-link step. Going through `ffi.compile` (setuptools) would send the compiler's
  diagnostics to the process's stderr where no caller can see them, and Python 3.12 has no
  distutils; a `CompileError` here carries the compiler's own words and where the C came from.
  Because compiling and linking are one command, every flag (a `-fsanitize=...` included) is a
  link flag too.
- The cache key is a sha256 over everything that changes the bytes of the object: the source,
  the cdef, the effective flags, the compiler (first line of `--version`, plus what
  `-march=native` expands to on this host, so a cache shared between machines never hands a
  kernel to a CPU it was not built for), cffi's version and the interpreter's EXT_SUFFIX.
- A cache hit runs no compilation: a cached object is trusted only if it is ours (owned by the
  current user, not group- or world-writable) and its bytes match the sha256 sidecar written
  with it, so a truncated or tampered file is rebuilt instead of loaded. (Computing the key
  still asks the compiler for `--version`, once per process.)
- Concurrent processes: each build happens in a private temporary directory and is published
  with `os.replace`, so no reader ever sees half a file; a per-entry `flock` makes a second
  process wait for the first build instead of repeating it, and keeps the object and its sidecar
  consistent with each other.
- Bad states of the cache heal rather than fail: anything other than a regular file where an
  object, its sidecar or its lock goes (a directory, say) is moved aside and the entry rebuilt;
  `.build-*` folders left by a killed build are removed by the next build once they are older
  than a few minutes and no process holds their entry's lock. A cache that cannot be written
  (read-only, full disk, a path through a file) costs a `JITCacheWarning` naming it, and the
  process builds into a private temporary directory instead, removed at exit.

Compiler, flags and sanitizers: see runtime/cc.py. Cache: `$QDIALECT_CACHE_DIR`, else
`$XDG_CACHE_HOME/qdialect`, else `~/.cache/qdialect`.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import errno
import hashlib
import importlib.machinery
import importlib.util
import io
import json
import os
import shlex
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from runtime.cache_files import (
    BUILD_PREFIX,
    entry_is_valid,
    file_digest,
    locked,
    remove_stale_builds,
)
from runtime.cc import (
    DEFAULT_FLAGS,
    CompileError,
    compiler_command,
    compiler_identity,
    effective_flags,
    openmp_links,
    trim_diagnostic,
)

__all__ = [
    "DEFAULT_FLAGS",
    "CacheDirError",
    "CompileError",
    "CompiledLibrary",
    "JITCacheWarning",
    "cache_dir",
    "compile_c",
    "compiler_invocations",
    "load_cached",
    "recipe_identity",
]

# Part of the build recipe rather than of the user's flags. An undeclared function (a cdef that
# names a function the source lacks) would otherwise only warn and then fail at load time with
# "undefined symbol"; as an error it is reported with its line by the compiler.
_RECIPE_FLAGS: tuple[str, ...] = ("-shared", "-fPIC", "-Werror=implicit-function-declaration")
if sys.platform == "darwin":
    _RECIPE_FLAGS += ("-undefined", "dynamic_lookup")

# An object of several units (compile_c's `parts`) compiles each to an object file first.
_PART_FLAGS: tuple[str, ...] = ("-fPIC", "-Werror=implicit-function-declaration", "-c")

# Bump when the way an object is built changes, so objects built the old way are not reused.
_RECIPE_VERSION = 1

_EXT_SUFFIX: str = (
    sysconfig.get_config_var("EXT_SUFFIX") or importlib.machinery.EXTENSION_SUFFIXES[0]
)
_KERNEL_FILE = "kernel.c"  # the name diagnostics show for the caller's source


_invocations = 0
_invocations_lock = threading.Lock()

_fallback_lock = threading.Lock()
_fallback: Path | None = None  # this process's private stand-in for an unwritable cache


class CacheDirError(PermissionError):
    """The cache directory is not private to the current user, so objects in it could have been
    planted by someone else and must not be loaded; or (from `cache_dir`) it cannot be created."""


class _CacheDirUnavailable(CacheDirError):
    """The cache directory cannot be created or examined: `compile_c` falls back, not refuses."""


class JITCacheWarning(UserWarning):
    """The cache directory cannot be written; objects are built in a temporary directory."""


@dataclass(frozen=True)
class CompiledLibrary:
    """A loaded module: `lib` holds the functions declared in the cdef, `ffi` the helpers to
    build arguments for them (`ffi.cast`, `ffi.from_buffer`). `path` is the cached object."""

    ffi: Any  # a compiled module's FFI (_cffi_backend.FFI), not cffi.FFI
    lib: Any
    path: Path
    from_cache: bool


def compiler_invocations() -> int:
    """How many objects this process has built (cache misses), of one or more units each."""
    return _invocations


def cache_dir() -> Path:
    """The cache directory, created with mode 0700 if missing.

    Raises CacheDirError if it exists but belongs to another user or is group/world-writable:
    loading a shared object executes its code, so only a directory nobody else can write to is
    a safe place to load from.
    """
    configured = os.environ.get("QDIALECT_CACHE_DIR")
    if configured:
        directory = Path(configured).expanduser()
    else:
        xdg = os.environ.get("XDG_CACHE_HOME", "")
        # The XDG spec says a relative XDG_CACHE_HOME is invalid and must be ignored.
        base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
        directory = base / "qdialect"
    directory = Path(os.path.abspath(directory))
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = directory.stat()
    except OSError as exc:
        raise _CacheDirUnavailable(f"cannot use JIT cache directory {directory}: {exc}") from exc
    problem = None
    if not stat.S_ISDIR(info.st_mode):
        problem = "it is not a directory"
    elif info.st_uid != os.getuid():
        problem = f"it is owned by uid {info.st_uid}, not by the current user ({os.getuid()})"
    elif info.st_mode & 0o022:
        problem = f"it is group- or world-writable (mode {stat.S_IMODE(info.st_mode):04o})"
    if problem:
        raise CacheDirError(
            f"refusing to use JIT cache directory {directory}: {problem}; "
            f"fix it (chmod 700) or point QDIALECT_CACHE_DIR at a private directory"
        )
    return directory


def compile_c(
    source: str,
    cdef: str,
    *,
    origin: str,
    flags: Sequence[str] | None = None,
    parts: Sequence[str] = (),
) -> CompiledLibrary:
    """Compile `source` into a Python extension exposing the functions `cdef` declares.

    `origin` says where the C came from (e.g. "function @main of model.mlir") and is quoted in
    every error. `flags` replaces the default compiler flags (and `$QDIALECT_CFLAGS`). An
    identical earlier build, in this or any process, is loaded from the cache instead. If the
    cache cannot be written, a `JITCacheWarning` names it and the object is built in a private
    temporary directory instead; a cache directory others could write to is refused
    (`CacheDirError`). `parts` are further units linked into the same object, compiled in
    parallel with `source` (the unit cffi's glue includes: codegen.units).
    """
    compiler = compiler_command(origin)
    effective = effective_flags(flags)
    native = tuple(flag for flag in effective if flag.endswith("=native"))
    identity = compiler_identity(compiler, native, origin)
    key = _cache_key([source, *parts], cdef, effective, identity)
    job = _Job(f"_qd_{key[:16]}", source, cdef, effective, compiler, origin, tuple(parts))

    try:
        return _compile_in(cache_dir(), job)
    except (_CacheDirUnavailable, _CacheUnwritable) as exc:
        problem = str(exc)
    where = tempfile.gettempdir()
    try:
        fallback = _fallback_dir(where)
    except OSError as exc:
        raise CompileError(
            f"cannot compile {origin}: {problem}; nor can a temporary directory be created "
            f"in {where}: {exc}. Set QDIALECT_CACHE_DIR to a writable directory"
        ) from exc
    # No origin in the text, so the default warning filter says this once per cache and problem.
    warnings.warn(
        f"{problem}; building in the private temporary directory {fallback} for this process "
        f"instead (set QDIALECT_CACHE_DIR to a writable directory to keep compiled objects)",
        JITCacheWarning,
        stacklevel=2,
    )
    try:
        return _compile_in(fallback, job)
    except _CacheUnwritable as exc:
        raise CompileError(
            f"cannot compile {origin}: {problem}; and in the fallback: {exc}. "
            f"Set QDIALECT_CACHE_DIR to a writable directory"
        ) from exc


@dataclass(frozen=True)
class _Job:
    """What to build: the entry name (from the cache key) and everything the build needs."""

    name: str
    source: str
    cdef: str
    flags: tuple[str, ...]
    compiler: tuple[str, ...]
    origin: str
    parts: tuple[str, ...] = ()


class _CacheUnwritable(Exception):
    """A file system operation in the cache directory failed; the message names the directory."""


def _compile_in(directory: Path, job: _Job) -> CompiledLibrary:
    """Load the entry from `directory`, building and publishing it there first if needed.

    Raises _CacheUnwritable if `directory` cannot be written (read-only, full, ...).
    """
    name = job.name
    so_path = directory / (name + _EXT_SUFFIX)
    sidecar = directory / (name + ".sha256")

    # The fast path takes no lock: a valid entry is immutable once published.
    load_failed = False
    if entry_is_valid(so_path, sidecar):
        try:
            return _as_library(_load(name, so_path), so_path, from_cache=True)
        except (ImportError, OSError):
            load_failed = True  # e.g. built against another libc; rebuild once

    try:
        remove_stale_builds(directory)
        with locked(directory / f"{name}.lock"):
            # Another process may have built it while we waited for the lock.
            if not load_failed and entry_is_valid(so_path, sidecar):
                try:
                    return _as_library(_load(name, so_path), so_path, from_cache=True)
                except (ImportError, OSError):
                    pass
            _build(job, directory, so_path, sidecar)
    except OSError as exc:  # every OSError above is a file operation in `directory`
        raise _CacheUnwritable(f"cannot write to JIT cache directory {directory}: {exc}") from exc

    try:
        module = _load(name, so_path)
    except (ImportError, OSError) as exc:
        raise CompileError(
            f"{job.origin}: the compiled object {so_path} does not load: {exc}"
        ) from exc
    return _as_library(module, so_path, from_cache=False)


def load_cached(name: str) -> CompiledLibrary | None:
    """The cache entry `name` (a `CompiledLibrary.path` stem), loaded if it is there and valid,
    else None: how runtime.model_cache reaches an object without the source that keyed it."""
    try:
        directory = cache_dir()
    except CacheDirError:
        return None
    so_path = directory / (name + _EXT_SUFFIX)
    if not (name.isidentifier() and entry_is_valid(so_path, directory / (name + ".sha256"))):
        return None
    try:
        return _as_library(_load(name, so_path), so_path, from_cache=True)
    except (ImportError, OSError):
        return None


def entry_name(library: CompiledLibrary) -> str | None:
    """The name `load_cached` takes for `library`, or None if it lives outside the cache
    (the private fallback directory of an unwritable cache)."""
    try:
        directory = cache_dir()
    except CacheDirError:
        return None
    if library.path.parent != directory or not library.path.name.endswith(_EXT_SUFFIX):
        return None
    return library.path.name.removesuffix(_EXT_SUFFIX)


def recipe_identity() -> list[str]:
    """What besides source, flags and compiler keys an object: the build recipe's version, the
    extension suffix (Python's ABI) and cffi's version, read without importing cffi."""
    spec = importlib.util.find_spec("cffi")
    origin = Path(spec.origin) if spec and spec.origin else None
    stamp = f"{origin}:{origin.stat().st_mtime_ns}" if origin else "no cffi"
    return [str(_RECIPE_VERSION), _EXT_SUFFIX, stamp]


def _fallback_dir(parent: str) -> Path:
    """This process's private directory (0700, from mkdtemp) for objects the cache cannot hold;
    created on first use (again if it vanished) and removed at exit."""
    global _fallback
    with _fallback_lock:
        if _fallback is None or not _fallback.is_dir():
            _fallback = Path(tempfile.mkdtemp(prefix="qdialect-jit-", dir=parent))
            atexit.register(shutil.rmtree, _fallback, ignore_errors=True)
        return _fallback


def _as_library(module: ModuleType, path: Path, *, from_cache: bool) -> CompiledLibrary:
    return CompiledLibrary(ffi=module.ffi, lib=module.lib, path=path, from_cache=from_cache)


def _cache_key(sources: list[str], cdef: str, flags: tuple[str, ...], identity: str) -> str:
    import cffi

    # JSON of a list keeps the fields apart: no concatenation of two fields equals another pair.
    # A single unit keys as before (its source a string, not a list of one).
    source: str | list[str] = sources[0] if len(sources) == 1 else sources
    material = json.dumps(
        [_RECIPE_VERSION, source, cdef, list(flags), identity, cffi.__version__, _EXT_SUFFIX]
    )
    return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()


def _load(name: str, path: Path) -> ModuleType:
    """Import the extension at `path` without touching sys.modules.

    Before the first object loads the OpenMP runtime, waiting threads are told to spin only
    briefly (values the user set are kept): GOMP_SPINCOUNT=10000 for GCC's libgomp, enough to
    bridge the Python between two kernel calls and a serial kernel between two parallel ones (a
    worker that has gone to sleep costs a wake-up: 2-thread depthwise and quantize ran 15-20 %
    slower with OMP_WAIT_POLICY=PASSIVE, and MobileNetV2 with AMX kernels at 2 threads took
    1.57-1.61 ms a run with 1000 rounds, 1.29-1.33 with 10000, 1.40-1.53 with 300000), and
    KMP_BLOCKTIME=0 for LLVM's libomp. libgomp's default spin of 300000 rounds, or an active
    policy, kept cores busy long after a call and made 2-thread runs on cores shared with other
    processes up to 30x slower than 1 thread.

    Within one process CPython (and the dynamic loader) hand back the module already loaded from
    the same path; that is harmless here because the path is a function of the whole key.
    """
    if "OMP_WAIT_POLICY" not in os.environ:
        os.environ.setdefault("GOMP_SPINCOUNT", "10000")
        os.environ.setdefault("KMP_BLOCKTIME", "0")
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"no extension loader for {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _build(job: _Job, directory: Path, so_path: Path, sidecar: Path) -> None:
    """Compile in a private temporary directory, then publish object and sidecar by rename.

    The folder is named after the entry, whose lock the caller holds for as long as it exists,
    so that remove_stale_builds can tell a live build's folder from a killed one's.
    """
    name, compiler, flags, origin = job.name, job.compiler, job.flags, job.origin
    if "-fopenmp" in flags and not openmp_links(compiler):
        flags = tuple(flag for flag in flags if flag != "-fopenmp")
    with tempfile.TemporaryDirectory(
        prefix=f"{BUILD_PREFIX}{name}-", dir=directory, ignore_cleanup_errors=True
    ) as scratch:
        work = Path(scratch)
        glue = _write_sources(work, name, job.source, job.cdef, origin)
        built = name + _EXT_SUFFIX
        include = {sysconfig.get_paths()["include"], sysconfig.get_paths()["platinclude"]}
        headers = [f"-I{path}" for path in sorted(include)]
        _count_build()
        if not job.parts:
            argv = [*compiler, *flags, *_RECIPE_FLAGS, *headers, "-o", built, glue]
            _run_compiler(argv, work, origin)
        else:
            objects = _compile_parts(job, work, flags, headers, glue)
            _run_compiler([*compiler, *flags, *_RECIPE_FLAGS, "-o", built, *objects], work, origin)
        _publish(work / built, so_path, sidecar)


def _compile_parts(
    job: _Job, work: Path, flags: tuple[str, ...], headers: list[str], glue: str
) -> list[str]:
    """Compile the glue and each part to an object, all at once (one compiler process each;
    the threads only wait); the objects' file names, for the link."""
    commands = [[*job.compiler, *flags, *headers, *_PART_FLAGS, "-o", "glue.o", glue]]
    for index, part in enumerate(job.parts):
        (work / f"part{index}.c").write_text(part, encoding="utf-8")
        commands.append(
            [*job.compiler, *flags, *_PART_FLAGS, "-o", f"part{index}.o", f"part{index}.c"]
        )
    with concurrent.futures.ThreadPoolExecutor(len(commands)) as pool:
        runs = [pool.submit(_run_compiler, argv, work, job.origin) for argv in commands]
        for run in runs:
            run.result()  # the first failure, in command order
    return [argv[argv.index("-o") + 1] for argv in commands]


def _write_sources(work: Path, name: str, source: str, cdef: str, origin: str) -> str:
    """Write the caller's source and cffi's glue for it into `work`; the glue's file name."""
    import cffi

    ffi = cffi.FFI()
    try:
        ffi.cdef(cdef)
    except (cffi.CDefError, cffi.FFIError) as exc:
        raise CompileError(f"{origin}: the cdef does not parse: {exc}") from exc
    # The caller's source is its own file so diagnostics read "kernel.c:LINE:COL: error: ..."
    # with the caller's line numbers, not those of cffi's generated glue.
    (work / _KERNEL_FILE).write_text(source, encoding="utf-8")
    ffi.set_source(name, f'#include "{_KERNEL_FILE}"\n')
    glue = f"{name}.c"
    # emit_c_code announces "generating <file>" on stdout; that is not ours to print.
    with contextlib.redirect_stdout(io.StringIO()):
        ffi.emit_c_code(str(work / glue))
    return glue


def _count_build() -> None:
    global _invocations
    with _invocations_lock:
        _invocations += 1


def _run_compiler(argv: list[str], work: Path, origin: str) -> None:
    """Run one compiler command in `work`; a failure is a `CompileError`."""
    try:
        result = subprocess.run(
            argv, cwd=work, capture_output=True, text=True, errors="replace", check=False
        )
    except OSError as exc:
        raise CompileError(f"{origin}: running {argv[0]!r} failed: {exc}") from exc
    enospc = os.strerror(errno.ENOSPC)
    if result.returncode != 0 and enospc in result.stderr:
        # Not the C's fault: the output could not be written (cache or $TMPDIR full).
        said = next(line for line in result.stderr.splitlines() if enospc in line)
        raise OSError(errno.ENOSPC, f"{enospc} (the compiler says: {said.strip()})", str(work))
    if result.returncode != 0:
        raise CompileError(
            f"C compilation of {origin} failed (exit status {result.returncode})\n"
            f"  command: {shlex.join(argv)}\n"
            f"{trim_diagnostic(result.stderr or result.stdout)}"
        )


def _publish(built: Path, so_path: Path, sidecar: Path) -> None:
    """Move a built object and its digest sidecar into the cache, each by one rename.

    A directory where either goes (which no rename can replace) is first moved into the build
    folder, to be removed with it.
    """
    # The umask may have left the object group-writable, which entry_is_valid rejects.
    os.chmod(built, 0o755)
    digest = file_digest(built)
    staged = built.parent / "sidecar"
    staged.write_text(f"{digest}  {so_path.name}\n", encoding="ascii")
    os.chmod(staged, 0o644)
    for target in (so_path, sidecar):
        with contextlib.suppress(FileNotFoundError):
            if stat.S_ISDIR(target.lstat().st_mode):
                os.rename(target, built.parent / f"displaced-{target.name}")
    os.replace(built, so_path)
    os.replace(staged, sidecar)
