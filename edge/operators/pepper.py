"""The PIN pepper: 32 random bytes in `keys/pin.pepper` (0600), made once, never in the database."""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

from edge.journal.files import PRIVATE_FILE_MODE, fsync_dir, private_dir
from edge.operators.errors import OperatorStoreError

log = logging.getLogger(__name__)

PEPPER_FILE = "pin.pepper"
_PEPPER_BYTES = 32


def load_or_create_pepper(keys_dir: Path) -> tuple[bytes, bool]:
    """The pepper, and whether it was made just now (the folder had none)."""
    path = keys_dir / PEPPER_FILE
    created = False
    if not path.exists():
        private_dir(keys_dir)
        created = _create(path)
    return _load(path), created


def _create(path: Path) -> bool:
    """Write the pepper aside and link it into place: whole or not at all, and if a concurrent
    process (the hub and `edge operator`) got there first, theirs is kept."""
    aside = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(_PEPPER_BYTES) + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.link(aside, path)
    except FileExistsError:
        return False
    finally:
        aside.unlink(missing_ok=True)
    fsync_dir(path.parent)
    log.info("created PIN pepper path=%s", path)
    return True


def _load(path: Path) -> bytes:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise OperatorStoreError(
                f"PIN pepper {path} is readable by others (mode {mode:04o}); run chmod 600 {path}"
            )
        pepper = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise OperatorStoreError(f"PIN pepper {path} cannot be read: {exc}") from None
    if len(pepper) != _PEPPER_BYTES:
        raise OperatorStoreError(f"PIN pepper {path} is not {_PEPPER_BYTES} bytes of hex")
    return pepper
