"""The files of the JIT cache: locks, entry integrity, and the housekeeping of build folders.

runtime/jit.py decides what to build and where; this module knows what a healthy entry looks
like (a regular file of ours whose bytes match its sha256 sidecar) and cleans what a killed
build left behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import stat
import time
from collections.abc import Iterator
from pathlib import Path

BUILD_PREFIX = ".build-"
# A build folder is named `.build-<entry>-<random>` and lives exactly as long as its builder holds
# `<entry>.lock`; one older than this whose lock is free was left by a killed build.
STALE_BUILD_SECONDS = 300.0
BUILD_OWNER = re.compile(r"\.build-(_qd_[0-9a-f]{16})-")


def remove_stale_builds(directory: Path) -> None:
    """Remove `.build-*` folders that a killed build left behind: older than
    STALE_BUILD_SECONDS and, when the folder names its entry, with that entry's lock free (a
    live build holds it for as long as its folder exists, however long the compiler takes)."""
    cutoff = time.time() - STALE_BUILD_SECONDS
    try:
        entries = [entry for entry in os.scandir(directory) if entry.name.startswith(BUILD_PREFIX)]
    except OSError:
        return
    for entry in entries:
        try:
            if entry.stat(follow_symlinks=False).st_mtime > cutoff:
                continue
        except OSError:
            continue
        owner = BUILD_OWNER.match(entry.name)
        lock = directory / f"{owner.group(1)}.lock" if owner else None
        with unless_locked(lock) as free:
            if free:
                remove(Path(entry.path))


@contextlib.contextmanager
def unless_locked(path: Path | None) -> Iterator[bool]:
    """Holds the lock at `path` (never creating it) and yields True, or yields False if another
    process (or another descriptor in this one) holds it."""
    if path is None:
        yield True
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        yield True  # no lock file: nothing is building this entry
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
        else:
            yield True
    finally:
        os.close(fd)


def remove(path: Path) -> None:
    """Remove a file, link or directory tree, as far as possible; errors are ignored."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def is_private_file(info: os.stat_result) -> bool:
    return stat.S_ISREG(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o022


def entry_is_valid(so_path: Path, sidecar: Path) -> bool:
    """True if the object is a regular file of ours whose bytes match the sidecar's digest."""
    try:
        if not (is_private_file(so_path.lstat()) and is_private_file(sidecar.lstat())):
            return False
        recorded = sidecar.read_text(encoding="ascii").split()
        return bool(recorded) and recorded[0] == file_digest(so_path)
    except (OSError, UnicodeDecodeError):
        return False


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Exclusive advisory lock on `path` (flock), so one process builds an entry at a time.

    A directory where the lock file goes is removed first: nobody can hold a lock on it.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except IsADirectoryError:
        shutil.rmtree(path, ignore_errors=True)  # a racing process may remove it first
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def private_subdirectory(directory: Path) -> Path | None:
    """`directory` (inside the cache), created 0700, if it is a directory of ours nobody else
    can write to (what it holds is loaded as code, as the objects are); else None."""
    try:
        directory.mkdir(mode=0o700, exist_ok=True)
        info = directory.lstat()
    except OSError:
        return None
    mine = stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid()
    return directory if mine and not info.st_mode & 0o022 else None
