"""Whole models cached by what they were compiled from, keyed before any rewrite runs.

    fn = compile_model("model.onnx")        # first call: import, rewrite, emit, compile, store
    (y,) = fn(x)                            # a later process: read the entry, load, run

runtime.jit caches objects by their C source, so a second compile of a model still pays for
importing it, the qnn-default rewrites and the emission that produce that source (over a second
for ResNet-18). This cache is keyed by the model's bytes instead, with everything else that
decides the result: the frontend, the entry, the `-p` pipeline, the compiler flags, the
compiler and the CPU (`runtime.cc.compiler_identity`), the build recipe, and the code that
compiles: every `.py` and `.j2` file of qdialect, rewrites, codegen and runtime and the
installed xdsl, onnx, numpy and jinja2 (by size and modification stamp). A change to any of
them is a miss. A hit needs numpy and the loaded object only (`runtime.native`), never xDSL.

An entry is one file, `_qm_<key>.model`: a magic line, the length of a JSON header, the header
(the JIT object's name, the signature, each constant's dtype, shape and offset, the arena size,
and the caller's notes: runtime.calibration_cache keeps its observed names there)
and the constant table as raw bytes, each array on a cache line, so the loaded arrays are
read-only views of the mapped file (the kernels only read them). Its sha256 is in
`_qm_<key>.sha256`; both are published by rename, as the JIT's objects are, in the same private
directory. An entry whose
digest, key or object does not check out is a miss, and the compile that follows replaces it.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import mmap
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from runtime.cache_files import BUILD_PREFIX, is_private_file
from runtime.cc import CompileError, compiler_command, compiler_identity, effective_flags
from runtime.jit import CacheDirError, cache_dir, entry_name, load_cached, recipe_identity
from runtime.native import CACHE_LINE, NativeFunction, Signature, apply_threads

__all__ = ["compile_model", "load", "load_entry", "model_key", "store"]

FORMAT = 2  # 2: the header holds notes
MAGIC = b"QDMODEL1"
PACKAGES = ("qdialect", "rewrites", "codegen", "runtime")
DEPENDENCIES = ("xdsl", "onnx", "numpy", "jinja2")
SOURCE_SUFFIXES = (".py", ".j2")
PREFIX = "_qm_"


@dataclass(frozen=True)
class EntryPaths:
    model: Path
    sidecar: Path


def code_version() -> str:
    """sha256 over the compiler's own code: every source and template file of our packages, by
    path, size and modification stamp (paid by every hit: reading and hashing the ~150 files'
    contents took 23 ms of a 0.35 s hit, their stamps take 3; the dependencies below are
    stamped the same way). An edit rewrites the stamp; a checkout of the same text is a miss,
    which only recompiles."""
    digest = hashlib.sha256()
    for package in PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            digest.update(f"{package}: missing".encode())
            continue
        root = Path(spec.submodule_search_locations[0])
        files = []
        for folder, dirs, names in os.walk(root):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            files += [Path(folder, n) for n in names if n.endswith(SOURCE_SUFFIXES)]
        for path in sorted(files):
            stat = path.stat()
            name = path.relative_to(root).as_posix()
            digest.update(f"{package}/{name}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def dependency_stamps() -> list[str]:
    """Where each dependency is installed and when its package file was written: an upgrade
    rewrites it (reading the versions through importlib.metadata costs more than a hit)."""
    stamps = []
    for name in DEPENDENCIES:
        spec = importlib.util.find_spec(name)
        origin = spec.origin if spec is not None else None
        stamps.append(f"{origin}:{os.stat(origin).st_mtime_ns}" if origin else f"{name}: none")
    return stamps


def model_key(
    data: bytes,
    *,
    frontend: str,
    entry: str | None,
    passes: str = "",
    flags: Sequence[str] | None = None,
    digest: str | None = None,
    free_dimensions: Mapping[str, int] | None = None,
) -> str:
    """The key of a model compiled from `data` (the input file's bytes) as described;
    `digest`: data's sha256 (hex), when the caller keys several passes of one file;
    `free_dimensions`: the sizes its dynamic input dimensions were given by name.

    Raises CompileError if there is no C compiler (there is then nothing to key by).
    """
    effective = effective_flags(flags)
    compiler = compiler_command("the model cache key")
    native = tuple(flag for flag in effective if flag.endswith("=native"))
    material = [
        FORMAT,
        digest or hashlib.sha256(data).hexdigest(),
        frontend,
        entry,
        passes,
        sorted((free_dimensions or {}).items()),
        list(effective),
        list(compiler),
        compiler_identity(compiler, native, "the model cache key"),
        recipe_identity(),
        code_version(),
        dependency_stamps(),
    ]
    # JSON of a list keeps the fields apart: no concatenation of two fields equals another pair.
    return hashlib.sha256(json.dumps(material).encode("utf-8", "surrogatepass")).hexdigest()


def entry_paths(key: str) -> EntryPaths | None:
    """Where the entry of `key` lives, or None without a usable cache directory."""
    try:
        directory = cache_dir()
    except CacheDirError:
        return None
    name = PREFIX + key[:32]
    return EntryPaths(directory / f"{name}.model", directory / f"{name}.sha256")


def read_entry(paths: EntryPaths) -> np.ndarray | None:
    """The entry's bytes, mapped read-only (page-aligned, so every constant stays on its cache
    line, and nothing is copied), if both files are ours and the digest matches."""
    try:
        if not (is_private_file(paths.model.lstat()) and is_private_file(paths.sidecar.lstat())):
            return None
        recorded = paths.sidecar.read_text(encoding="ascii").split()
        with paths.model.open("rb") as handle:
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError, UnicodeDecodeError):  # ValueError: an empty file
        return None
    if not recorded or recorded[0] != hashlib.sha256(mapped).hexdigest():
        return None
    return np.frombuffer(mapped, np.uint8)


def load(key: str, threads: int | None = None) -> NativeFunction | None:
    """The cached function of `key`, loaded and ready to call, or None (a miss)."""
    entry = load_entry(key, threads)
    return entry[0] if entry is not None else None


def load_entry(key: str, threads: int | None = None) -> tuple[NativeFunction, dict] | None:
    """The cached function of `key` and the notes stored with it, or None (a miss)."""
    paths = entry_paths(key)
    buffer = read_entry(paths) if paths is not None else None
    if buffer is None or bytes(buffer[: len(MAGIC)]) != MAGIC:
        return None
    try:
        start = len(MAGIC) + 8
        length = int.from_bytes(bytes(buffer[len(MAGIC) : start]), "little")
        header = json.loads(bytes(buffer[start : start + length]))
        if header["format"] != FORMAT or header["key"] != key:
            return None
        constants = [
            buffer[offset : offset + nbytes].view(dtype).reshape(shape)
            for dtype, shape, offset, nbytes in header["constants"]
        ]
        signature = signature_from(header["signature"])
        notes = header["notes"]
    except (ValueError, KeyError, TypeError):
        return None
    library = load_cached(header["library"])
    if library is None or not isinstance(notes, dict):
        return None
    function = NativeFunction(library, signature, constants, header["arena"])
    apply_threads(function, threads)
    return function, notes


def signature_from(fields: dict) -> Signature:
    def specs(pairs: list) -> tuple:
        return tuple((np.dtype(dtype), tuple(shape)) for dtype, shape in pairs)

    return Signature(
        name=fields["name"],
        arguments=tuple(fields["arguments"]),
        inputs=specs(fields["inputs"]),
        results=tuple(fields["results"]),
        outputs=specs(fields["outputs"]),
        failures=tuple(fields.get("failures", ())),
    )


def header_of(
    key: str, function: NativeFunction, library: str, notes: dict
) -> tuple[bytes, list[int]]:
    """The JSON header and the offset of each constant (from the start of the file)."""
    signature = function.signature
    arrays = function.constant_arrays

    def specs(pairs: Sequence) -> list:
        return [[dtype.str, list(shape)] for dtype, shape in pairs]

    def layout(first: int) -> list[int]:
        offsets, at = [], first
        for array in arrays:
            at = -(-at // CACHE_LINE) * CACHE_LINE
            offsets.append(at)
            at += array.nbytes
        return offsets

    fields = {
        "name": signature.name,
        "arguments": list(signature.arguments),
        "inputs": specs(signature.inputs),
        "results": list(signature.results),
        "outputs": specs(signature.outputs),
        "failures": list(signature.failures),
    }
    header = {"format": FORMAT, "key": key, "library": library, "signature": fields}
    header |= {"arena": function.arena_size, "notes": notes, "constants": []}
    # The offsets depend on the header's length, which depends on the offsets' digits: the
    # constants start after a generous estimate of it, fixed before the offsets are written.
    first = len(MAGIC) + 8 + len(json.dumps(header)) + 64 * (len(arrays) + 1)
    offsets = layout(-(-first // CACHE_LINE) * CACHE_LINE)
    header["constants"] = [
        [a.dtype.str, list(a.shape), offset, a.nbytes]
        for a, offset in zip(arrays, offsets, strict=True)
    ]
    text = json.dumps(header).encode()
    assert len(MAGIC) + 8 + len(text) <= first, "header estimate too small"
    return text, offsets


def store(key: str, function: NativeFunction, notes: dict | None = None) -> bool:
    """Publish `function` (compiled from what `key` describes) under `key`, with `notes` (JSON
    values the caller reads back with `load_entry`); False if the cache
    cannot hold it (no cache directory, the object in the fallback directory, a write error:
    the function runs all the same, and the next run compiles again)."""
    paths = entry_paths(key)
    library = entry_name(function.library)
    if paths is None or library is None:
        return False
    header, offsets = header_of(key, function, library, notes or {})
    head = MAGIC + len(header).to_bytes(8, "little") + header
    digest = hashlib.sha256(head)
    try:
        fd, staged_name = tempfile.mkstemp(
            dir=paths.model.parent, prefix=f"{BUILD_PREFIX}{paths.model.stem}-"
        )
    except OSError:
        return False
    staged = Path(staged_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(head)
            for array, offset in zip(function.constant_arrays, offsets, strict=True):
                for chunk in (b"\0" * (offset - handle.tell()), memoryview(array).cast("B")):
                    handle.write(chunk)
                    digest.update(chunk)
        publish(staged, paths, digest.hexdigest())
    except OSError:
        with contextlib.suppress(OSError):
            staged.unlink()
        return False
    return True


def publish(staged: Path, paths: EntryPaths, digest: str) -> None:
    """Entry, then sidecar, each by one rename: a reader sees a whole entry or a mismatch."""
    os.chmod(staged, 0o644)
    sidecar = staged.with_name(staged.name + ".sha256")
    sidecar.write_text(f"{digest}  {paths.model.name}\n", encoding="ascii")
    os.chmod(sidecar, 0o644)
    os.replace(staged, paths.model)
    os.replace(sidecar, paths.sidecar)


def read_model(model: str | os.PathLike | bytes, frontend: str | None) -> tuple[bytes, str, str]:
    """(bytes, display name, frontend) of a model given as a path or as its bytes."""
    if isinstance(model, bytes):
        return model, "<bytes>", frontend or "mlir"
    path = Path(model)
    return path.read_bytes(), str(path), frontend or ("onnx" if path.suffix == ".onnx" else "mlir")


def compile_model(
    model: str | os.PathLike | bytes,
    entry: str | None = None,
    *,
    passes: str = "",
    flags: Sequence[str] | None = None,
    threads: int | None = None,
    frontend: str | None = None,
    free_dimensions: Mapping[str, int] | None = None,
) -> NativeFunction:
    """`model` (an .mlir or .onnx path, or the bytes of one with `frontend`), after the `passes`
    pipeline and qnn-default, compiled and loaded: from the model cache when this model was
    compiled so before (no import, rewrite, emission or compiler run), else as
    `runtime.compiled.compile_module` compiles it, and stored for the next time. An ONNX
    model's dynamic input dimensions take their sizes from `free_dimensions` (by name, as
    ONNX Runtime's `add_free_dimension_override_by_name`)."""
    data, name, frontend = read_model(model, frontend)
    try:
        key = model_key(
            data,
            frontend=frontend,
            entry=entry,
            passes=passes,
            flags=flags,
            free_dimensions=free_dimensions,
        )
    except CompileError:
        key = None  # no compiler: compile_module below says so, with the model's name
    if key is not None and (hit := load(key, threads)) is not None:
        return hit
    from runtime.compiled import compile_module, import_model

    module = import_model(data, name, frontend, passes, free_dimensions)
    compiled = compile_module(module, entry, flags=flags, name=name, threads=threads)
    if key is not None:
        store(key, compiled)
    return compiled
