"""runtime.jit: compile, load, cache, and fail clearly, against the real C compiler.

Every test gets its own cache directory (QDIALECT_CACHE_DIR under tmp_path), so nothing here
reads or writes the user's cache. Other processes are real `python -c` children.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runtime.jit import (
    CacheDirError,
    CompileError,
    cache_dir,
    compile_c,
    compiler_invocations,
)

ROOT = Path(__file__).resolve().parents[2]
REAL_CC = shutil.which("cc") or shutil.which("gcc")
pytestmark = pytest.mark.skipif(REAL_CC is None, reason="no C compiler (cc/gcc) on PATH")

ADD_CDEF = "int32_t qd_add(int32_t a, int32_t b);"
ADD_SOURCE = """#include <stdint.h>

int32_t qd_add(int32_t a, int32_t b) { return a + b; }
"""

# Runs in a child process: waits until the given wall-clock time (so siblings start together),
# compiles argv[1] and reports what happened as one JSON line.
CHILD = """
import json, sys, time
from runtime.jit import compile_c, compiler_invocations
source, start = sys.argv[1], float(sys.argv[2])
while time.time() < start:
    time.sleep(0.001)
built = compile_c(source, "int32_t qd_add(int32_t a, int32_t b);", origin="child process")
print(json.dumps({"from_cache": built.from_cache, "invocations": compiler_invocations(),
                  "sum": built.lib.qd_add(40, 2), "path": str(built.path)}))
"""


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh cache per test, the real compiler, and default flags."""
    directory = tmp_path / "cache"
    monkeypatch.setenv("QDIALECT_CACHE_DIR", str(directory))
    monkeypatch.setenv("CC", str(REAL_CC))
    monkeypatch.delenv("QDIALECT_CFLAGS", raising=False)
    return directory


def add_source(tag: str) -> str:
    """ADD_SOURCE made unique by a comment, for a cache entry no other test has built."""
    return f"/* {tag} */\n{ADD_SOURCE}"


def spawn(source: str, start: float, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, source, repr(start)],
        cwd=ROOT,
        env=env if env is not None else dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def child_report(child: subprocess.Popen[str]) -> dict[str, object]:
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    return json.loads(out)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sidecar_of(so_path: Path) -> Path:
    return so_path.parent / (so_path.name.split(".")[0] + ".sha256")


def leftovers(directory: Path) -> list[Path]:
    return sorted(directory.glob(".build-*"))


def test_compile_call_and_reuse_in_process(private_cache: Path) -> None:
    before = compiler_invocations()
    first = compile_c(ADD_SOURCE, ADD_CDEF, origin="test add")
    assert not first.from_cache
    assert first.lib.qd_add(2, 3) == 5
    assert first.lib.qd_add(-7, 3) == -4
    assert first.path.parent == private_cache and first.path.name.startswith("_qd_")
    assert sidecar_of(first.path).read_text().split()[0] == sha256_of(first.path)

    second = compile_c(ADD_SOURCE, ADD_CDEF, origin="test add")
    assert second.from_cache and second.path == first.path
    assert second.lib.qd_add(2, 3) == 5
    assert compiler_invocations() == before + 1
    assert leftovers(private_cache) == []


def test_another_process_loads_from_cache_without_compiling(tmp_path: Path) -> None:
    built = compile_c(ADD_SOURCE, ADD_CDEF, origin="parent")
    # The child's CC answers `--version` (and the `-###` dry run that expands -march=native),
    # which the cache key needs, like the real compiler; any compilation fails and is logged.
    # So the proof that nothing was compiled does not rest on the child's own counter alone.
    log = tmp_path / "compiles.log"
    fake_cc = tmp_path / "fake-cc"
    fake_cc.write_text(
        "#!/bin/sh\n"
        f'case " $* " in *" --version "*|*" -### "*) exec "{REAL_CC}" "$@";; esac\n'
        f'echo "$@" >> "{log}"\n'
        "exit 97\n"
    )
    fake_cc.chmod(0o755)
    env = {**os.environ, "CC": str(fake_cc)}

    report = child_report(spawn(ADD_SOURCE, 0.0, env))
    assert report == {"from_cache": True, "invocations": 0, "sum": 42, "path": str(built.path)}
    assert not log.exists()


def test_missing_compiler_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CC", "/nonexistent/cc")
    with pytest.raises(CompileError, match=r"'/nonexistent/cc' not found.*set CC"):
        compile_c(ADD_SOURCE, ADD_CDEF, origin="test missing compiler")


def damage_truncate(so_path: Path) -> None:
    # A new inode: truncating the file in place would pull pages from under this process, which
    # has it mapped, and end it with SIGBUS (as it would any process using that object).
    data = so_path.read_bytes()
    partial = so_path.with_name("partial")
    partial.write_bytes(data[: len(data) // 2])
    partial.chmod(0o755)
    os.replace(partial, so_path)


def damage_drop_sidecar(so_path: Path) -> None:
    sidecar_of(so_path).unlink()


def damage_wrong_digest(so_path: Path) -> None:
    sidecar_of(so_path).write_text("0" * 64 + "  " + so_path.name + "\n")


def damage_group_writable(so_path: Path) -> None:
    so_path.chmod(0o775)


@pytest.mark.parametrize(
    "damage",
    [damage_truncate, damage_drop_sidecar, damage_wrong_digest, damage_group_writable],
    ids=lambda f: f.__name__.removeprefix("damage_"),
)
def test_damaged_entry_is_rebuilt(damage, private_cache: Path) -> None:
    built = compile_c(ADD_SOURCE, ADD_CDEF, origin="test damage")
    damage(built.path)

    before = compiler_invocations()
    rebuilt = compile_c(ADD_SOURCE, ADD_CDEF, origin="test damage")
    assert not rebuilt.from_cache and rebuilt.path == built.path
    assert compiler_invocations() == before + 1
    assert rebuilt.lib.qd_add(20, 22) == 42
    assert stat.S_IMODE(rebuilt.path.stat().st_mode) & 0o022 == 0
    assert sidecar_of(rebuilt.path).read_text().split()[0] == sha256_of(rebuilt.path)
    assert compile_c(ADD_SOURCE, ADD_CDEF, origin="test damage").from_cache
    assert leftovers(private_cache) == []


def test_entry_that_fails_to_load_is_rebuilt_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = add_source("load failure")
    name = compile_c(source, ADD_CDEF, origin="test load").path.name
    # A fresh directory, so this process has never loaded an object from the path used below.
    fresh = tmp_path / "fresh"
    monkeypatch.setenv("QDIALECT_CACHE_DIR", str(fresh))
    garbage = cache_dir() / name
    garbage.write_bytes(b"\x7fELF but not really a shared object")
    garbage.chmod(0o755)
    sidecar_of(garbage).write_text(f"{sha256_of(garbage)}  {name}\n")  # digest matches

    rebuilt = compile_c(source, ADD_CDEF, origin="test load")
    assert not rebuilt.from_cache and rebuilt.path == garbage
    assert rebuilt.lib.qd_add(1, 1) == 2


def test_simultaneous_processes_share_one_build(private_cache: Path) -> None:
    source = add_source("race")
    start = time.time() + 0.5
    children = [spawn(source, start), spawn(source, start)]
    reports = [child_report(child) for child in children]

    assert all(report["sum"] == 42 for report in reports)
    # The per-entry lock makes the second process wait and load the first one's object.
    assert sum(report["invocations"] for report in reports) == 1
    assert sorted(report["from_cache"] for report in reports) == [False, True]
    objects = sorted(private_cache.glob("_qd_*.so"))
    assert len(objects) == 1 and {report["path"] for report in reports} == {str(objects[0])}
    assert sidecar_of(objects[0]).read_text().split()[0] == sha256_of(objects[0])
    assert leftovers(private_cache) == []


def test_syntax_error_quotes_compiler_and_origin(private_cache: Path) -> None:
    broken = ADD_SOURCE.replace("return a + b;", "return a + ;")
    before = compiler_invocations()
    with pytest.raises(CompileError) as caught:
        compile_c(broken, ADD_CDEF, origin="function @main of model.mlir")
    message = str(caught.value)
    assert "function @main of model.mlir" in message
    assert "kernel.c:3:" in message and "error:" in message  # the caller's own line numbers
    assert len(message.splitlines()) <= 45
    assert compiler_invocations() == before + 1
    assert leftovers(private_cache) == []
    assert list(private_cache.glob("_qd_*.so")) == []


def test_cdef_naming_a_missing_function_fails_at_compile_time() -> None:
    with pytest.raises(CompileError, match="qd_sub"):
        compile_c(ADD_SOURCE, "int32_t qd_sub(int32_t a, int32_t b);", origin="test cdef")


def test_cache_dir_is_created_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "new" / "qd"
    monkeypatch.setenv("QDIALECT_CACHE_DIR", str(target))
    assert cache_dir() == target
    assert stat.S_IMODE(target.stat().st_mode) == 0o700


def test_world_writable_cache_dir_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("QDIALECT_CACHE_DIR", str(shared))
    with pytest.raises(CacheDirError, match="group- or world-writable"):
        cache_dir()
    with pytest.raises(CacheDirError):
        compile_c(ADD_SOURCE, ADD_CDEF, origin="test refused")
    assert list(shared.iterdir()) == []


def test_xdg_cache_home_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QDIALECT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "qdialect"


CONST_CDEF = "int32_t qd_const(void);"
CONST_SOURCE = "#include <stdint.h>\nint32_t qd_const(void) { return QD_VALUE; }\n"


def test_flags_argument_beats_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QDIALECT_CFLAGS", "-O1 '-DQD_VALUE=(3 + 4)'")
    assert compile_c(CONST_SOURCE, CONST_CDEF, origin="env flags").lib.qd_const() == 7
    explicit = compile_c(CONST_SOURCE, CONST_CDEF, origin="arg flags", flags=["-DQD_VALUE=9"])
    assert explicit.lib.qd_const() == 9 and not explicit.from_cache


def has_fma() -> bool:
    try:
        return " fma " in Path("/proc/cpuinfo").read_text().replace("\n", " ")
    except OSError:
        return False


@pytest.mark.skipif(not has_fma(), reason="the CPU has no FMA, so nothing could be contracted")
def test_no_fma_contraction_unless_asked() -> None:
    """DESIGN §2: `a*b + c` rounds twice. With a = b = 1 + 2**-12 and c = -fl(a*b) the product's
    lost 2**-24 is exactly what an FMA would return instead of 0."""
    cdef = "float qd_muladd(float a, float b, float c);"
    source = "float qd_muladd(float a, float b, float c) { return a * b + c; }\n"
    a = 1 + 2**-12
    c = -(1 + 2**-11)
    for flags in (None, ["-O2", "-march=native"]):  # -ffp-contract=off is kept when omitted
        assert compile_c(source, cdef, origin="muladd", flags=flags).lib.qd_muladd(a, a, c) == 0
    # The test can see contraction when it is allowed, so the zeros above mean something.
    loose = compile_c(
        source, cdef, origin="muladd", flags=["-O2", "-march=native", "-ffp-contract=fast"]
    )
    assert loose.lib.qd_muladd(a, a, c) == 2**-24


def test_group_writable_umask_still_caches(private_cache: Path) -> None:
    previous = os.umask(0o002)
    try:
        assert not compile_c(add_source("umask"), ADD_CDEF, origin="umask").from_cache
        assert compile_c(add_source("umask"), ADD_CDEF, origin="umask").from_cache
    finally:
        os.umask(previous)
