"""The upstream's data folder: its cosigning key and admin token (created once, 0600)."""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from edge.journal.files import private_dir, private_file
from edge.journal.note import NoteError
from edge.upstream.cosign import Cosigner

COSIGNER_FILE = "upstream.key"
COSIGNER_VKEY_FILE = "upstream.vkey"
ADMIN_TOKEN_FILE = "admin-token"
DEFAULT_NAME = "edge-upstream.local/ledger"


class HomeError(Exception):
    pass


def _write_secret(path: Path, text: str) -> bool:
    """Create a 0600 file, whole or not at all (written aside, then linked into place, so a
    kill -9 never leaves an empty key); False if it exists already."""
    if path.exists():
        return False
    aside = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.link(aside, path)  # fails if another process got there first
    except FileExistsError:
        return False
    finally:
        aside.unlink(missing_ok=True)
    return True


def _read_secret(path: Path, what: str) -> str:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise HomeError(f"{what} {path} is readable by others (mode {mode:04o}); chmod 600 it")
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise HomeError(f"cannot read {what} {path}: {exc.strerror or exc}") from None


@dataclass(frozen=True)
class UpstreamHome:
    cosigner: Cosigner
    admin_token: str
    folder: Path

    @classmethod
    def open(cls, folder: Path, name: str = DEFAULT_NAME) -> UpstreamHome:
        """Load the folder's key and admin token, making them on first use."""
        private_dir(folder)
        key_path = folder / COSIGNER_FILE
        _write_secret(key_path, Cosigner.generate(name).encode())
        try:
            cosigner = Cosigner.parse(_read_secret(key_path, "upstream key"))
        except NoteError as exc:
            raise HomeError(f"upstream key {key_path} is not valid: {exc}") from None
        vkey = folder / COSIGNER_VKEY_FILE
        aside = vkey.with_name(f".{vkey.name}.{os.getpid()}.tmp")
        private_file(aside).write_text(cosigner.verifier.encode() + "\n")
        aside.replace(vkey)  # atomic: a concurrent reader never sees it empty
        token_path = folder / ADMIN_TOKEN_FILE
        _write_secret(token_path, secrets.token_urlsafe(32))
        return cls(cosigner, _read_secret(token_path, "admin token"), folder)
