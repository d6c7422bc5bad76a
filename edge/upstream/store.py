"""Connections for the upstream ledger: one SQL interface over SQLite (the embedded default,
one site or a demo) and PostgreSQL via psycopg 3 (production: many sites, many stations).

Queries are written once with `?` placeholders; `Tx` adapts them. A transaction is all or
nothing; `lock_clause` is what a query appends to lock the rows it reads (PostgreSQL's
`FOR UPDATE`; SQLite's `BEGIN IMMEDIATE` already serialises writers).
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from edge.journal.files import private_database
from edge.upstream.schema import MIGRATIONS, Dialect, statements

Row = tuple[Any, ...]
SQLITE_FILE = "upstream.db"


class StoreError(Exception):
    """The ledger's database cannot be opened or refused a write; nothing of it was kept."""


class Tx(Protocol):
    dialect: Dialect

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int: ...
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...
    def insert_rows(
        self, table: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Insert many rows; `columns` are (name, PostgreSQL type) pairs."""

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...
    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...


class Store(Protocol):
    dialect: Dialect
    description: str

    def transaction(self) -> contextlib.AbstractContextManager[Tx]: ...
    def close(self) -> None: ...


def lock_clause(tx: Tx) -> str:
    return " FOR UPDATE" if tx.dialect == "postgres" else ""


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


# -- SQLite --


class _SqliteTx:
    dialect: Dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self.conn.execute(sql, tuple(params)).rowcount

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.conn.executemany(sql, rows)

    def insert_rows(
        self, table: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]
    ) -> None:
        names, marks = ", ".join(c for c, _ in columns), ", ".join("?" for _ in columns)
        self.conn.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row = self.conn.execute(sql, tuple(params)).fetchone()
        return tuple(row) if row is not None else None

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return [tuple(r) for r in self.conn.execute(sql, tuple(params)).fetchall()]


class SqliteStore:
    """One file, WAL, `synchronous=FULL`; one connection behind a lock (one writer)."""

    dialect: Dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = f"SQLite {path}"
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                private_database(path), isolation_level=None, check_same_thread=False, timeout=10.0
            )
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = FULL")
            self._conn.execute("PRAGMA busy_timeout = 10000")
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"upstream database {path} cannot be opened: {exc}") from exc
        migrate(self)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                yield _SqliteTx(self._conn)
                self._conn.execute("COMMIT")
            except BaseException as exc:
                with contextlib.suppress(sqlite3.Error):  # a closed connection cannot tell
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise StoreError(f"upstream database {self.path}: {exc}") from exc
                raise

    def close(self) -> None:
        with self._lock:
            self._conn.close()


# -- PostgreSQL --

_PLACEHOLDER = re.compile(r"\?")


class _PostgresTx:
    dialect: Dialect = "postgres"

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        self.cursor.execute(_PLACEHOLDER.sub("%s", sql), tuple(params))
        return int(self.cursor.rowcount)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.cursor.executemany(_PLACEHOLDER.sub("%s", sql), rows)

    def insert_rows(
        self, table: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Binary COPY: several times faster than INSERTs for a batch of events, and bytea goes
        as bytes rather than as hex text (a batch's bodies are most of its size)."""
        names = ", ".join(c for c, _ in columns)
        with self.cursor.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types([t for _, t in columns])
            for row in rows:
                copy.write_row(row)

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        self.cursor.execute(_PLACEHOLDER.sub("%s", sql), tuple(params))
        row = self.cursor.fetchone()
        return tuple(row) if row is not None else None

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        self.cursor.execute(_PLACEHOLDER.sub("%s", sql), tuple(params))
        return [tuple(r) for r in self.cursor.fetchall()]


class PostgresStore:
    """A psycopg 3 connection pool; every transaction on its own pooled connection."""

    dialect: Dialect = "postgres"

    def __init__(self, dsn: str, *, min_size: int = 1, max_size: int = 10) -> None:
        import psycopg
        from psycopg_pool import ConnectionPool

        self._errors: tuple[type[Exception], ...] = (psycopg.Error,)
        self.description = f"PostgreSQL {_redact(dsn)}"
        try:
            self._pool = ConnectionPool(
                dsn, min_size=min_size, max_size=max_size, open=True, timeout=30.0
            )
            self._pool.wait(timeout=30.0)
        except Exception as exc:
            raise StoreError(f"upstream database {_redact(dsn)} cannot be opened: {exc}") from exc
        migrate(self)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Tx]:
        try:
            with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cursor:
                yield _PostgresTx(cursor)
        except self._errors as exc:
            raise StoreError(f"upstream database refused a write: {exc}") from exc

    def close(self) -> None:
        self._pool.close()


def _redact(dsn: str) -> str:
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", dsn)


def open_store(target: str, data_dir: Path) -> Store:
    """`postgresql://…` for PostgreSQL; anything else (or nothing) is the SQLite default."""
    if target.startswith(("postgresql://", "postgres://")):
        return PostgresStore(target)
    return SqliteStore(Path(target) if target else data_dir / SQLITE_FILE)


def migrate(store: Store) -> None:
    """Apply the migrations not yet applied; safe to run twice or from two processes."""
    with store.transaction() as tx:
        if store.dialect == "postgres":  # CREATE … IF NOT EXISTS races in the catalogue
            tx.execute("SELECT pg_advisory_xact_lock(?)", (0x65646765,))
        tx.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
    for version, name, sql in MIGRATIONS:
        with store.transaction() as tx:
            if store.dialect == "postgres":  # two processes migrating at once: one waits
                tx.execute("LOCK TABLE schema_migrations IN EXCLUSIVE MODE")
            if tx.one("SELECT 1 FROM schema_migrations WHERE version = ?", (version,)):
                continue
            for statement in statements(store.dialect, sql):
                tx.execute(statement)
            tx.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (version, name, _now()),
            )
