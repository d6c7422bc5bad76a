"""Content-addressed blob store (photos, transcripts, certificates): blobs/ab/cdef…"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

from edge.journal.errors import JournalError, JournalFullError, JournalInputError
from edge.journal.files import PRIVATE_DIR_MODE, fsync_dir, private_dir

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20


class BlobStore:
    """Each blob is durable (fsynced, renamed, directory fsynced) before put() returns."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp = root / "tmp"

    def path(self, sha256: str) -> Path:
        if not _SHA256.fullmatch(sha256):
            raise JournalInputError(f"{sha256!r} is not a lowercase sha256 hex digest")
        return self.root / sha256[:2] / sha256[2:]

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def put(self, data: bytes) -> str:
        return self.put_chunks([data])

    def put_file(self, source: Path) -> str:
        with source.open("rb") as handle:
            return self.put_chunks(iter(lambda: handle.read(_CHUNK), b""))

    def put_chunks(self, chunks: Iterable[bytes]) -> str:
        private_dir(self._tmp)
        digest = hashlib.sha256()
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix="blob-")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha256 = digest.hexdigest()
            final = self.path(sha256)
            if final.is_file():
                tmp.unlink()
                return sha256
            final.parent.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
            tmp.replace(final)
            fsync_dir(final.parent)
            # Always: the fan-out folder may be new, made by this or a concurrent put.
            fsync_dir(self.root)
            return sha256
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
                raise JournalFullError(
                    f"disk full: blob could not be stored under {self.root}; nothing was kept. "
                    "Free space on the station's storage, then retry."
                ) from exc
            raise JournalError(f"blob could not be stored under {self.root}: {exc}") from exc

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def matches(self, sha256: str) -> bool:
        """True if the blob exists and its bytes still hash to its name."""
        path = self.path(sha256)
        if not path.is_file():
            return False
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(_CHUNK), b""):
                digest.update(chunk)
        return digest.hexdigest() == sha256
