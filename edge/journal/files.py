"""Durable file writes (temp name, fsync, rename, fsync the directory) and private state modes.

Every state folder is 0700 and every state file 0600, made so explicitly rather than left to the
umask (tests, libraries and older data folders do not all run under `edge`'s umask 0077).
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
# SQLite gives the files it makes beside a database the database file's own mode.
_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def private_dir(path: Path) -> Path:
    """Make a state folder 0700 (and any missing parent, also 0700); tighten an existing looser
    one, saying so in the log."""
    missing: list[Path] = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made by a concurrent process just now
            folder.mkdir(mode=PRIVATE_DIR_MODE)
    _tighten(path, PRIVATE_DIR_MODE, "folder")
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty with mode 0600 if it is missing; tighten an existing looser one."""
    fd = os.open(path, os.O_RDONLY | os.O_CREAT, PRIVATE_FILE_MODE)
    os.close(fd)
    _tighten(path, PRIVATE_FILE_MODE, "file")
    return path


def private_database(path: Path) -> Path:
    """Before SQLite opens `path`: the file exists with mode 0600, so the -wal and -shm files
    SQLite makes beside it are 0600 too; existing looser ones are tightened."""
    private_file(path)
    for suffix in _SQLITE_SIDE_FILES:
        side = path.with_name(path.name + suffix)
        if side.exists():
            _tighten(side, PRIVATE_FILE_MODE, "file")
    return path


def _tighten(path: Path, wanted: int, what: str) -> None:
    """Take away any permission bit outside `wanted` (never adds one)."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & ~wanted == 0:
        return
    tightened = mode & wanted
    try:
        path.chmod(tightened)
    except OSError as exc:  # not ours, or a read-only copy: say so, carry on
        log.warning(
            "state %s is readable by others and cannot be tightened path=%s mode=%04o error=%s",
            what,
            path,
            mode,
            exc.strerror,
        )
        return
    log.warning(
        "tightened state %s readable by others path=%s mode=%04o new_mode=%04o",
        what,
        path,
        mode,
        tightened,
    )
