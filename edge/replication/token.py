"""The station's upstream token (`keys/upstream-token`), read again whenever the file changes,
so a station registered upstream after its hub started replicates without a restart."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

TOKEN_FILE = "upstream-token"
MAX_TOKEN_BYTES = 4096  # a token is ~43 characters; anything this long is not one


@dataclass
class TokenFile:
    path: Path
    token: str | None = None
    problem: str = ""  # why there is no token, when there is none
    _seen: tuple[int, int, int] | None = None  # (inode, size, mtime_ns) of what was read
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def in_folder(cls, data_dir: Path) -> TokenFile:
        return cls(data_dir / "keys" / TOKEN_FILE)

    def refresh(self) -> bool:
        """Look at the file (a stat; a read only when it changed); True if the token changed."""
        with self._lock:
            try:
                info = self.path.stat()
            except OSError as exc:
                return self._set(None, self._missing(exc), None)
            seen = (info.st_ino, info.st_size, info.st_mtime_ns)
            if seen == self._seen:
                return False
            if info.st_size > MAX_TOKEN_BYTES:
                return self._set(None, f"upstream token file {self.path} is not a token", seen)
            try:
                with self.path.open("rb") as file:
                    text = file.read(MAX_TOKEN_BYTES + 1).decode("utf-8").strip()
            except (OSError, UnicodeDecodeError) as exc:
                return self._set(None, f"upstream token file {self.path}: {exc}", seen)
            if not text:
                return self._set(None, f"upstream token file {self.path} is empty", seen)
            return self._set(text, "", seen)

    def _set(self, token: str | None, problem: str, seen: tuple[int, int, int] | None) -> bool:
        changed = token != self.token
        self.token, self.problem, self._seen = token, problem, seen
        return changed

    def _missing(self, exc: OSError) -> str:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        return (
            f"no upstream token at {self.path} ({reason}): register the station with "
            "`edge upstream station add … --token-out` and put the token there (mode 0600); "
            "replication starts once it is there"
        )


class NoToken(Exception):
    """The station has no upstream token (yet): replication is off until the file appears."""
