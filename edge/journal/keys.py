"""The station's Ed25519 signing key: created once, mode 0600, never logged."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from edge.journal.errors import JournalError
from edge.journal.files import fsync_dir, private_file
from edge.journal.note import NoteError, Signer, Verifier

log = logging.getLogger(__name__)

SIGNER_FILE = "station.key"
VERIFIER_FILE = "station.vkey"


def load_or_create_signer(keys_dir: Path, name: str) -> Signer:
    """Load the station key, or make one on first run. The key's name is the journal's origin."""
    path = keys_dir / SIGNER_FILE
    if path.exists():
        return load_signer(path, name)
    keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    signer = Signer.generate(name)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it just now
        return load_signer(path, name)
    with os.fdopen(fd, "w") as out:
        out.write(signer.encode() + "\n")
        out.flush()
        os.fsync(out.fileno())
    private_file(keys_dir / VERIFIER_FILE).write_text(signer.verifier.encode() + "\n")
    fsync_dir(keys_dir)
    log.info("created station key key_id=%08x name=%s", signer.verifier.key_id, name)
    return signer


def load_signer(path: Path, name: str | None = None) -> Signer:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise JournalError(
            f"station key {path} is readable by others (mode {mode:04o}); run chmod 600 {path}"
        )
    try:
        signer = Signer.parse(path.read_text())
    except NoteError as exc:
        raise JournalError(f"station key {path} is not a valid key: {exc}") from exc
    if name is not None and signer.name != name:
        raise JournalError(f"station key {path} is for {signer.name!r}, not {name!r}")
    return signer


def read_verifier(text_or_path: str) -> Verifier:
    """A verifier key given inline (name+id+key) or as a file holding one."""
    candidate = Path(text_or_path)
    text = candidate.read_text() if candidate.is_file() else text_or_path
    try:
        return Verifier.parse(text)
    except NoteError as exc:
        raise JournalError(f"not a verifier key: {exc}") from exc
