"""runtime.jit's cache in bad states: wrong entries, builds killed midway, unwritable caches.

Like test_jit.py, every test has its own QDIALECT_CACHE_DIR under tmp_path and the real compiler;
the fallback directory is made under a per-test temporary root as well.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import shutil
import stat
import tempfile
import time
import warnings
from pathlib import Path

import pytest

import runtime.cache_files as cache_files
import runtime.jit as jit
from runtime.jit import CompileError, JITCacheWarning, compile_c, compiler_invocations

REAL_CC = shutil.which("cc") or shutil.which("gcc")
pytestmark = pytest.mark.skipif(REAL_CC is None, reason="no C compiler (cc/gcc) on PATH")

ADD_CDEF = "int32_t qd_add(int32_t a, int32_t b);"


def add_source(tag: str) -> str:
    """A source no other test builds (the comment changes the cache key)."""
    return f"/* {tag} */\n#include <stdint.h>\nint32_t qd_add(int32_t a, int32_t b) {{ return a + b; }}\n"


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh cache, a fresh temporary root for the fallback, the real compiler, default flags."""
    directory = tmp_path / "cache"
    monkeypatch.setenv("QDIALECT_CACHE_DIR", str(directory))
    monkeypatch.setenv("CC", str(REAL_CC))
    monkeypatch.delenv("QDIALECT_CFLAGS", raising=False)
    temp_root = tmp_path / "tmp"
    temp_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp_root))
    monkeypatch.setattr(jit, "_fallback", None)
    return directory


def sidecar_of(so_path: Path) -> Path:
    return so_path.parent / (so_path.name.split(".")[0] + ".sha256")


def lock_of(so_path: Path) -> Path:
    return so_path.parent / (so_path.name.split(".")[0] + ".lock")


def make_directory_at(path: Path) -> None:
    """Replace whatever is at `path` by a non-empty directory."""
    if path.exists():
        path.unlink()
    (path / "inner").mkdir(parents=True)
    (path / "inner" / "file").write_text("not an object")


def dir_at_object(so_path: Path) -> None:
    make_directory_at(so_path)


def dir_at_sidecar(so_path: Path) -> None:
    make_directory_at(sidecar_of(so_path))


def dir_at_lock(so_path: Path) -> None:
    make_directory_at(lock_of(so_path))
    sidecar_of(so_path).unlink()  # so the entry needs a rebuild, which takes the lock


@pytest.mark.parametrize(
    "damage", [dir_at_object, dir_at_sidecar, dir_at_lock], ids=lambda f: f.__name__
)
def test_directory_in_place_of_an_entry_file_is_rebuilt(damage, private_cache: Path) -> None:
    source = add_source(f"wrong entry {damage.__name__}")
    built = compile_c(source, ADD_CDEF, origin="test wrong entry")
    damage(built.path)

    before = compiler_invocations()
    with warnings.catch_warnings():
        warnings.simplefilter("error", JITCacheWarning)  # rebuilt in the cache, no fallback
        rebuilt = compile_c(source, ADD_CDEF, origin="test wrong entry")
    assert not rebuilt.from_cache and rebuilt.path == built.path
    assert compiler_invocations() == before + 1
    assert rebuilt.lib.qd_add(20, 22) == 42
    for path in (rebuilt.path, sidecar_of(rebuilt.path), lock_of(rebuilt.path)):
        assert stat.S_ISREG(path.lstat().st_mode), path
    assert compile_c(source, ADD_CDEF, origin="test wrong entry").from_cache
    assert sorted(private_cache.glob(".build-*")) == []


def test_stale_build_folders_are_removed_and_live_ones_kept(private_cache: Path) -> None:
    private_cache.mkdir(mode=0o700)
    old = time.time() - cache_files.STALE_BUILD_SECONDS - 60

    def build_folder(name: str, age: float | None) -> Path:
        folder = private_cache / name
        (folder / "sub").mkdir(parents=True)
        (folder / "sub" / "kernel.c").write_text("int x;\n")
        if age is not None:
            os.utime(folder, (age, age))
        return folder

    killed_legacy = build_folder(".build-k1lled", old)  # the old naming, no entry
    killed = build_folder(".build-_qd_00000000000000aa-x1", old)
    (private_cache / "_qd_00000000000000aa.lock").touch()  # its lock is free
    killed_no_lock = build_folder(".build-_qd_00000000000000bb-x2", old)
    fresh = build_folder(".build-fresh", None)
    live = build_folder(".build-_qd_00000000000000cc-x3", old)  # a slow build still running
    held = os.open(private_cache / "_qd_00000000000000cc.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert compile_c(add_source("stale"), ADD_CDEF, origin="test stale").lib.qd_add(1, 2) == 3
    finally:
        os.close(held)

    for gone in (killed_legacy, killed, killed_no_lock):
        assert not gone.exists(), gone
    assert (fresh / "sub" / "kernel.c").exists()
    assert (live / "sub" / "kernel.c").exists()
    assert sorted(private_cache.glob(".build-*")) == sorted([fresh, live])


def assert_fallback(built, source: str) -> None:
    """Built and loaded from the private temporary directory, which is reused."""
    fallback = built.path.parent
    assert fallback.parent == Path(tempfile.gettempdir())
    assert fallback.name.startswith("qdialect-jit-")
    assert stat.S_IMODE(fallback.stat().st_mode) == 0o700
    assert built.lib.qd_add(40, 2) == 42
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        again = compile_c(source, ADD_CDEF, origin="test fallback")
    assert again.from_cache and again.path == built.path


def test_cache_dir_through_a_file_falls_back_with_a_warning(tmp_path: Path, monkeypatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    unusable = blocker / "cache"
    monkeypatch.setenv("QDIALECT_CACHE_DIR", str(unusable))
    source = add_source("through a file")
    with pytest.warns(JITCacheWarning, match=re.escape(str(unusable))) as caught:
        built = compile_c(source, ADD_CDEF, origin="test fallback")
    assert "temporary directory" in str(caught[0].message)
    assert str(built.path.parent) in str(caught[0].message)
    assert_fallback(built, source)


def test_full_cache_falls_back_with_a_warning(private_cache: Path, monkeypatch) -> None:
    real_replace = os.replace

    def full_disk(src, dst, *args, **kwargs):
        if Path(dst).parent == private_cache:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # no file name, like write(2)
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(jit.os, "replace", full_disk)
    source = add_source("full disk")
    with pytest.warns(JITCacheWarning, match=re.escape(str(private_cache))) as caught:
        built = compile_c(source, ADD_CDEF, origin="test fallback")
    assert "No space left on device" in str(caught[0].message)
    assert_fallback(built, source)
    assert sorted(private_cache.glob(".build-*")) == []
    assert sorted(private_cache.glob("_qd_*.so")) == []


def test_compiler_out_of_space_in_the_cache_falls_back(
    private_cache: Path, tmp_path: Path, monkeypatch
) -> None:
    # A compiler that cannot write its output in the cache (as on a full disk) but works elsewhere.
    fake_cc = tmp_path / "full-cc"
    fake_cc.write_text(
        "#!/bin/sh\n"
        f'case "$PWD" in "{private_cache}"/*)\n'
        '  echo "/usr/bin/ld: final link failed: No space left on device" >&2; exit 1;;\n'
        "esac\n"
        f'exec "{REAL_CC}" "$@"\n'
    )
    fake_cc.chmod(0o755)
    monkeypatch.setenv("CC", str(fake_cc))
    source = add_source("compiler out of space")
    with pytest.warns(JITCacheWarning, match=re.escape(str(private_cache))) as caught:
        built = compile_c(source, ADD_CDEF, origin="test fallback")
    assert "final link failed: No space left on device" in str(caught[0].message)
    assert_fallback(built, source)


def test_no_writable_place_at_all_names_both_paths(tmp_path: Path, monkeypatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("QDIALECT_CACHE_DIR", str(blocker / "cache"))
    monkeypatch.setattr(tempfile, "tempdir", str(blocker / "tmp"))
    with pytest.raises(CompileError) as caught:
        compile_c(add_source("nowhere"), ADD_CDEF, origin="function @main of m.mlir")
    message = str(caught.value)
    assert "function @main of m.mlir" in message
    assert str(blocker / "cache") in message and str(blocker / "tmp") in message


def test_fallback_that_cannot_be_written_either_names_both_paths(
    private_cache: Path, monkeypatch
) -> None:
    def full_disk(src, dst, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(jit.os, "replace", full_disk)
    with (
        warnings.catch_warnings(record=True),
        pytest.raises(CompileError) as caught,
    ):
        warnings.simplefilter("always")
        compile_c(add_source("all full"), ADD_CDEF, origin="test all full")
    message = str(caught.value)
    assert str(private_cache) in message and tempfile.gettempdir() in message
    assert message.count("No space left on device") == 2
    assert sorted(private_cache.glob(".build-*")) == []
