"""Content-addressed blobs: layout, idempotence, integrity checks."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from edge.journal import BlobStore, JournalInputError


def test_blob_is_stored_under_its_sha256(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    data = b"\xff\xd8\xff\xe0 evidence photo of box RET-1"
    sha = blobs.put(data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert (tmp_path / "blobs" / sha[:2] / sha[2:]).read_bytes() == data
    assert blobs.put(data) == sha  # idempotent
    assert sorted(p.name for p in (tmp_path / "blobs" / sha[:2]).iterdir()) == [sha[2:]]
    assert list((tmp_path / "blobs" / "tmp").iterdir()) == []


def test_large_file_streams_in(tmp_path: Path) -> None:
    source = tmp_path / "transcript.log"
    source.write_bytes(b"erase pass 1 ok\n" * 200_000)
    blobs = BlobStore(tmp_path / "blobs")
    sha = blobs.put_file(source)
    assert sha == hashlib.sha256(source.read_bytes()).hexdigest()
    assert blobs.matches(sha)


def test_altered_or_missing_blob_does_not_match(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    sha = blobs.put(b"certificate")
    blobs.path(sha).write_bytes(b"certificate, edited")
    assert not blobs.matches(sha)
    assert not blobs.matches(hashlib.sha256(b"never stored").hexdigest())


def test_a_name_that_is_not_a_digest_is_refused(tmp_path: Path) -> None:
    with pytest.raises(JournalInputError, match="not a lowercase sha256"):
        BlobStore(tmp_path).path("../../etc/passwd")
