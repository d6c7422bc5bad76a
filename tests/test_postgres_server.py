"""The throwaway PostgreSQL the upstream's tests use: connects, isolates, survives kill -9."""

from __future__ import annotations

import secrets

import psycopg
import pytest

from tests.postgres_server import PostgresServer, postgres_binaries


def test_a_test_database_answers(postgres_dsn: str) -> None:
    with psycopg.connect(postgres_dsn) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        assert conn.execute("SHOW fsync").fetchone() == ("off",)


def test_two_test_databases_are_isolated(
    postgres_server: PostgresServer, postgres_dsn: str
) -> None:
    other = f"other_{secrets.token_hex(6)}"
    other_dsn = postgres_server.create_database(other)
    try:
        with psycopg.connect(postgres_dsn) as conn:
            conn.execute("CREATE TABLE custody (seq int)")
            conn.execute("INSERT INTO custody VALUES (1)")
        with psycopg.connect(other_dsn) as conn:
            assert conn.execute("SELECT to_regclass('custody')").fetchone() == (None,)
    finally:
        postgres_server.drop_database(other)


def test_committed_rows_survive_a_killed_postmaster() -> None:
    if postgres_binaries() is None:
        pytest.skip("needs the Debian package postgresql (make test installs it)")
    with PostgresServer(durable=True) as server:
        dsn = server.create_database("ledger")
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SHOW fsync").fetchone() == ("on",)
            conn.execute("CREATE TABLE custody (seq int PRIMARY KEY, subject text)")
            conn.execute("INSERT INTO custody VALUES (1, 'RET-2026-000001')")
        open_client = psycopg.connect(dsn)
        server.kill()
        with pytest.raises(psycopg.OperationalError):
            open_client.execute("SELECT 1")
        open_client.close()

        server.restart()
        with psycopg.connect(dsn) as conn:
            rows = conn.execute("SELECT seq, subject FROM custody").fetchall()
        assert rows == [(1, "RET-2026-000001")]
        log = server.log_path.read_text()
        assert "not properly shut down; automatic recovery in progress" in log
