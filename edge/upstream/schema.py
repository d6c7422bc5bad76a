"""The upstream ledger's tables, for SQLite and PostgreSQL, as numbered migrations.

Each migration runs once, in its own transaction, recorded in `schema_migrations`; running them
again is a no-op. `{blob}` is BLOB on SQLite and BYTEA on PostgreSQL, `{serial}` the
auto-increment primary key, `{attachments}` a table of the blobs an event row `e` names, each
`{attachment}`.
"""

from __future__ import annotations

from typing import Literal

Dialect = Literal["sqlite", "postgres"]

MIGRATIONS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (
        1,
        "stations, events, checkpoints, forks, alerts, blobs, manifest",
        (
            """CREATE TABLE stations (
                site TEXT NOT NULL,
                station TEXT NOT NULL,
                origin TEXT NOT NULL,
                vkey TEXT NOT NULL,
                token_sha256 TEXT NOT NULL UNIQUE,
                size BIGINT NOT NULL DEFAULT 0,
                last_hash {blob},
                peaks {blob} NOT NULL,
                checkpoint_size BIGINT NOT NULL DEFAULT 0,
                cosignature TEXT,
                registered_at TEXT NOT NULL,
                last_contact_at TEXT,
                PRIMARY KEY (site, station)
            )""",
            """CREATE TABLE events (
                site TEXT NOT NULL,
                station TEXT NOT NULL,
                seq BIGINT NOT NULL,
                event_id TEXT NOT NULL,
                type TEXT NOT NULL,
                subject TEXT NOT NULL,
                return_ref TEXT,
                ts TEXT NOT NULL,
                body {blob} NOT NULL,
                hash {blob} NOT NULL,
                PRIMARY KEY (site, station, seq)
            )""",
            "CREATE INDEX events_subject ON events (site, subject)",
            "CREATE INDEX events_return_ref ON events (site, return_ref)",
            """CREATE TABLE checkpoints (
                site TEXT NOT NULL,
                station TEXT NOT NULL,
                size BIGINT NOT NULL,
                root {blob} NOT NULL,
                note TEXT NOT NULL,
                cosignature TEXT NOT NULL,
                received_at TEXT NOT NULL,
                PRIMARY KEY (site, station, size)
            )""",
            """CREATE TABLE forks (
                id {serial},
                site TEXT NOT NULL,
                station TEXT NOT NULL,
                seq BIGINT NOT NULL,
                held_hash {blob} NOT NULL,
                offered_hash {blob} NOT NULL,
                offered_body {blob} NOT NULL,
                checkpoint_note TEXT NOT NULL,
                at TEXT NOT NULL
            )""",
            """CREATE TABLE alerts (
                id {serial},
                at TEXT NOT NULL,
                site TEXT NOT NULL,
                station TEXT NOT NULL,
                kind TEXT NOT NULL,
                message TEXT NOT NULL
            )""",
            """CREATE TABLE blobs (
                sha256 TEXT PRIMARY KEY,
                size BIGINT NOT NULL,
                content {blob} NOT NULL,
                received_at TEXT NOT NULL
            )""",
            """CREATE TABLE manifest (
                site TEXT NOT NULL,
                return_id TEXT NOT NULL,
                record TEXT NOT NULL,
                cursor BIGINT NOT NULL,
                token_sha256 TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                PRIMARY KEY (site, return_id)
            )""",
            "CREATE INDEX manifest_cursor ON manifest (site, cursor)",
            """CREATE TABLE manifest_sites (
                site TEXT PRIMARY KEY,
                cursor BIGINT NOT NULL
            )""",
        ),
    ),
    (
        2,
        "the blobs each station's events name; each station's stored blob bytes",
        (
            """CREATE TABLE event_blobs (
                site TEXT NOT NULL,
                station TEXT NOT NULL,
                sha256 TEXT NOT NULL,
                PRIMARY KEY (site, station, sha256)
            )""",
            "INSERT INTO event_blobs (site, station, sha256) "
            "SELECT DISTINCT e.site, e.station, {attachment} FROM events e, {attachments}",
            "ALTER TABLE stations ADD COLUMN blob_bytes BIGINT NOT NULL DEFAULT 0",
        ),
    ),
)

_TYPES: dict[Dialect, dict[str, str]] = {
    "sqlite": {
        "blob": "BLOB",
        "serial": "INTEGER PRIMARY KEY",
        "attachment": "a.value",
        "attachments": "json_each(CAST(e.body AS TEXT), '$.attachments') AS a",
    },
    "postgres": {
        "blob": "BYTEA",
        "serial": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        # not parsed as json: a payload may hold an escaped NUL, which PostgreSQL refuses; a
        # canonical body starts with its attachments (the first key in sorted order)
        "attachment": "a.m[1]",
        "attachments": (
            "regexp_matches(substring(convert_from(e.body, 'UTF8') "
            """from '^\\{"attachments":\\[[^]]*\\]'), '[0-9a-f]{64}', 'g') AS a(m)"""
        ),
    },
}


def statements(dialect: Dialect, sql: tuple[str, ...]) -> list[str]:
    return [statement.format(**_TYPES[dialect]) for statement in sql]
