"""WAL checkpoints off the commit path, on real SQLite files: the writer's COMMIT no longer copies
the log into the database; the checkpointer thread does, in a pause, and survives a full disk."""

from __future__ import annotations

import logging
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from edge.wal_checkpoints import BACKSTOP_PAGES, WalCheckpointer, defer_checkpoints


def writer(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE IF NOT EXISTS rows (n INTEGER PRIMARY KEY, body BLOB NOT NULL)")
    return conn


def commit_rows(
    conn: sqlite3.Connection, start: int, count: int, checkpointer: WalCheckpointer | None = None
) -> None:
    for n in range(start, start + count):
        conn.execute("INSERT INTO rows VALUES (?, ?)", (n, bytes(3000)))  # about a page each
        if checkpointer is not None:
            checkpointer.committed()


@contextmanager
def checkpointed(
    path: Path, *, every: int, quiet_s: float
) -> Iterator[tuple[sqlite3.Connection, WalCheckpointer]]:
    """A deferred writer and its running checkpointer, both closed after."""
    conn = writer(path)
    defer_checkpoints(conn)
    checkpointer = WalCheckpointer(path, every=every, quiet_s=quiet_s, poll_s=0.01)
    checkpointer.start()
    try:
        yield conn, checkpointer
    finally:
        checkpointer.close()
        conn.close()


def rows_in_main_file(path: Path, scratch: Path) -> int:
    """Rows the database file holds by itself, without its WAL (what a checkpoint copied)."""
    alone = scratch / "alone.sqlite"
    shutil.copyfile(path, alone)
    conn = sqlite3.connect(alone)
    try:
        tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'rows'").fetchone()
        return int(conn.execute("SELECT count(*) FROM rows").fetchone()[0]) if tables[0] else 0
    finally:
        conn.close()


def wait_until(condition: object, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.02)
    return False


def test_without_deferral_a_commit_past_1000_pages_checkpoints_itself(tmp_path: Path) -> None:
    """The control: SQLite's default, which put a 4-6 ms stall inside a scan's commit."""
    path = tmp_path / "db.sqlite"
    conn = writer(path)
    commit_rows(conn, 0, 1200)
    assert rows_in_main_file(path, tmp_path) > 0
    conn.close()


def test_a_deferred_writer_leaves_the_copy_to_the_checkpointer(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    with checkpointed(path, every=100, quiet_s=0.005) as (conn, checkpointer):
        commit_rows(conn, 0, 1200)  # past SQLite's 1000 pages, below the backstop; uncounted
        assert BACKSTOP_PAGES > 1200
        assert rows_in_main_file(path, tmp_path) == 0, "the writer's COMMIT checkpointed"
        assert checkpointer.checkpoints == 0
        checkpointer._commits = 1200  # now it learns of them
        assert wait_until(lambda: checkpointer.checkpoints >= 1)
        assert rows_in_main_file(path, tmp_path) == 1200


def test_it_waits_for_enough_commits_and_a_pause(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    with checkpointed(path, every=50, quiet_s=1.0) as (conn, checkpointer):
        commit_rows(conn, 0, 49, checkpointer)
        time.sleep(1.3)
        assert checkpointer.checkpoints == 0  # quiet, but too few commits
        # enough commits, but a steady stream without a pause of a second
        deadline = time.monotonic() + 0.5
        n = 49
        while time.monotonic() < deadline:
            commit_rows(conn, n, 1, checkpointer)
            n += 1
            time.sleep(0.01)
        assert checkpointer.checkpoints == 0
        assert wait_until(lambda: checkpointer.checkpoints == 1, 5.0)  # the pause
        assert rows_in_main_file(path, tmp_path) == n


def test_a_writer_that_never_pauses_is_checkpointed_all_the_same(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    with checkpointed(path, every=20, quiet_s=60.0) as (conn, checkpointer):
        commit_rows(conn, 0, 10 * 20, checkpointer)
        assert wait_until(lambda: checkpointer.checkpoints >= 1)
        assert rows_in_main_file(path, tmp_path) >= 200


def test_a_full_disk_fails_the_checkpoint_loses_nothing_and_it_retries(
    tiny_disk: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tiny_disk / "db.sqlite"
    conn = writer(path)
    defer_checkpoints(conn)
    commit_rows(conn, 0, 20)  # ~200 KiB of WAL on a 640 KiB disk
    filler = tiny_disk / "filler"
    with filler.open("wb", buffering=0) as out:  # the rest of the disk
        try:
            while True:
                out.write(bytes(4096))
        except OSError:
            pass
    checkpointer = WalCheckpointer(path, every=1, poll_s=0.01)
    checkpointer._commits = 20
    with caplog.at_level(logging.WARNING, logger="edge.wal_checkpoints"):
        checkpointer.start()
        try:
            assert wait_until(lambda: checkpointer.failures >= 1)
            assert "WAL checkpoint" in caplog.text and "failed" in caplog.text
            # every commit is still there, in the WAL
            assert conn.execute("SELECT count(*) FROM rows").fetchone()[0] == 20
            filler.unlink()
            assert wait_until(lambda: checkpointer.checkpoints >= 1, 10)
            assert rows_in_main_file(path, tmp_path) == 20
        finally:
            checkpointer.close()
            conn.close()
