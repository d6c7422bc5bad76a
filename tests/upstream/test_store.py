"""The ledger's stores: migrations are safe to run twice and from several workers at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from edge.upstream import PostgresStore, SqliteStore
from edge.upstream.schema import MIGRATIONS


def test_several_workers_migrating_a_new_postgres_database_at_once(postgres_dsn: str) -> None:
    def open_and_close(_: int) -> int:
        store = PostgresStore(postgres_dsn, min_size=1, max_size=1)
        try:
            with store.transaction() as tx:
                row = tx.one("SELECT count(*) FROM schema_migrations")
            assert row is not None
            return int(row[0])
        finally:
            store.close()

    with ThreadPoolExecutor(6) as pool:
        counts = list(pool.map(open_and_close, range(6)))
    assert counts == [len(MIGRATIONS)] * 6  # every worker started, each migration applied once


def test_migrations_run_twice_change_nothing(tmp_path: Path) -> None:
    for _ in range(2):
        store = SqliteStore(tmp_path / "upstream.db")
        with store.transaction() as tx:
            versions = tx.all("SELECT version FROM schema_migrations ORDER BY version")
            assert versions == [(version,) for version, _, _ in MIGRATIONS]
        store.close()
