"""The hub's read model (`hub.db`): manifest, receipts, units, exceptions, seen readings and the
workflows' state, all folded from the custody journal.

The journal is the record; this file is a projection of it. Each apply runs in one transaction
that also stores the last applied seq, so after a crash the hub replays only the journal's
tail, and deleting `hub.db` rebuilds it from the journal. Written by the hub's one workflow
thread; API threads read through their own connections.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from edge.journal.events import CustodyEvent, EventType, format_ts
from edge.journal.files import private_database
from edge.wal_checkpoints import WalCheckpointer, defer_checkpoints
from stations.exception_kinds import kind as exception_kind
from stations.manifest import ExpectedReturn
from stations.workflow import ExceptionView, UnitView

HUB_FILE = "hub.db"
# Bump when a table or a folding rule changes: a hub.db of another version is emptied and folded
# again from the journal (it is a projection), so every past event is folded by today's rules.
SCHEMA_VERSION = 3  # 3: every payout kind's resolution sets payout_status
UPSTREAM_OWNER = "upstream"  # a return the upstream's manifest feed brought; `local` otherwise

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS manifest (
    return_id TEXT PRIMARY KEY, record TEXT NOT NULL, status TEXT NOT NULL,
    declared_imei TEXT, updated_seq INTEGER NOT NULL, owner TEXT NOT NULL DEFAULT 'local');
CREATE INDEX IF NOT EXISTS manifest_imei ON manifest (declared_imei);
CREATE TABLE IF NOT EXISTS manifest_labels (code TEXT PRIMARY KEY, return_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS receipts (
    seq INTEGER PRIMARY KEY, subject TEXT NOT NULL, return_id TEXT, label TEXT, grams TEXT,
    within_band INTEGER, seal TEXT, status TEXT, exceptions TEXT, photos TEXT, ts TEXT,
    operator TEXT);
CREATE INDEX IF NOT EXISTS receipts_return ON receipts (return_id);
CREATE TABLE IF NOT EXISTS cancelled_receipts (
    seq INTEGER PRIMARY KEY, subject TEXT NOT NULL, return_id TEXT, label TEXT, stage TEXT,
    reason TEXT NOT NULL, operator TEXT NOT NULL, ts TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS cancelled_receipts_subject ON cancelled_receipts (subject);
CREATE TABLE IF NOT EXISTS units (
    unit_id TEXT PRIMARY KEY, imei TEXT, cradle_imei TEXT, serial TEXT, return_id TEXT,
    make TEXT, model TEXT, platform TEXT, status TEXT NOT NULL, grade TEXT, checklist TEXT,
    battery_health INTEGER, lock TEXT NOT NULL, erasure TEXT NOT NULL, certificate_sha256 TEXT,
    route TEXT, location TEXT, payout_status TEXT NOT NULL, sources TEXT NOT NULL,
    created_seq INTEGER NOT NULL, updated_seq INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS units_imei ON units (imei);
CREATE INDEX IF NOT EXISTS units_cradle_imei ON units (cradle_imei);
CREATE INDEX IF NOT EXISTS units_return ON units (return_id);
CREATE TABLE IF NOT EXISTS exceptions (
    seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, subject TEXT NOT NULL, message TEXT NOT NULL,
    evidence TEXT NOT NULL, attachments TEXT NOT NULL, raised_at TEXT NOT NULL,
    operator TEXT NOT NULL, status TEXT NOT NULL, resolved_seq INTEGER, resolution TEXT,
    reason TEXT, resolved_by TEXT, resolved_at TEXT);
CREATE INDEX IF NOT EXISTS exceptions_subject ON exceptions (subject, status);
CREATE INDEX IF NOT EXISTS exceptions_status ON exceptions (status, seq);
CREATE TABLE IF NOT EXISTS readings (
    device TEXT NOT NULL, seq INTEGER NOT NULL, digest TEXT NOT NULL,
    event_seq INTEGER NOT NULL, PRIMARY KEY (device, seq, digest));
CREATE TABLE IF NOT EXISTS workflow_state (name TEXT PRIMARY KEY, state TEXT NOT NULL);
"""

_OPEN_TRADE_IN = ("accepted", "in_transit", "received")


def _connect(path: Path) -> sqlite3.Connection:
    private_database(path)
    conn = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    # A projection: the journal is fsynced, this file can be rebuilt from it.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def _migrate(conn: sqlite3.Connection) -> None:
    """The schema of this version; a read model of another version is dropped to be rebuilt."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version != SCHEMA_VERSION:
        tables = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        conn.execute("BEGIN IMMEDIATE")
        for (name,) in tables:
            conn.execute(f'DROP TABLE IF EXISTS "{name}"')
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    conn.executescript(_SCHEMA)


class HubState:
    """Owner of `hub.db`. `apply` only from one thread; queries from any (own connection)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer = _connect(path)
        _migrate(self._writer)
        defer_checkpoints(self._writer)
        self._checkpointer = WalCheckpointer(path)
        self._checkpointer.start()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        self._checkpointer.close()
        self._writer.close()

    # -- connections --

    def _read(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = _connect(self.path)
            self._local.conn = conn
            with self._lock:
                self._readers.append(conn)
        return conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._writer
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        self._checkpointer.committed()

    # -- applying the journal --

    @property
    def applied_seq(self) -> int:
        row = self._writer.execute("SELECT value FROM meta WHERE key = 'applied_seq'").fetchone()
        return int(row[0]) if row else 0

    def workflow_states(self) -> dict[str, str]:
        rows = self._writer.execute("SELECT name, state FROM workflow_state").fetchall()
        return {row[0]: row[1] for row in rows}

    def apply(self, events: Sequence[CustodyEvent], workflow_states: dict[str, str]) -> None:
        """Fold events (in seq order, continuing `applied_seq`) and store the workflows' state,
        in one transaction."""
        with self._transaction() as conn:
            applied = self.applied_seq
            for event in events:
                if event.seq <= applied:
                    continue
                if event.seq != applied + 1:
                    raise ValueError(f"hub state at seq {applied} cannot apply seq {event.seq}")
                _apply_event(conn, event)
                applied = event.seq
            conn.execute(
                "INSERT INTO meta VALUES ('applied_seq', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(applied),),
            )
            conn.executemany(
                "INSERT INTO workflow_state VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET state = excluded.state",
                workflow_states.items(),
            )

    def _one(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self._read().execute(sql, params).fetchone()
        return row

    def _return(self, sql: str, params: tuple[Any, ...]) -> ExpectedReturn | None:
        row = self._one(sql, params)
        return ExpectedReturn.from_record(json.loads(row[0])) if row else None

    # -- lookups a workflow may make (stations.workflow.Lookup) --

    def return_by_id(self, return_id: str) -> ExpectedReturn | None:
        return self._return("SELECT record FROM manifest WHERE return_id = ?", (return_id,))

    def return_by_label(self, code: str) -> ExpectedReturn | None:
        return self._return(
            "SELECT m.record FROM manifest_labels l JOIN manifest m USING (return_id) "
            "WHERE l.code = ?",
            (code,),
        )

    def return_by_imei(self, imei: str) -> ExpectedReturn | None:
        return self._return(
            "SELECT record FROM manifest WHERE declared_imei = ? AND status IN (?, ?, ?) "
            "ORDER BY updated_seq DESC LIMIT 1",
            (imei, *_OPEN_TRADE_IN),
        )

    def receipt_seq(self, return_id: str) -> int | None:
        row = self._one("SELECT min(seq) FROM receipts WHERE return_id = ?", (return_id,))
        return int(row[0]) if row and row[0] is not None else None

    def unit(self, unit_id: str) -> UnitView | None:
        row = self._one("SELECT * FROM units WHERE unit_id = ?", (unit_id,))
        return _unit(row) if row else None

    def unit_by_imei(self, imei: str) -> UnitView | None:
        row = self._one(
            "SELECT * FROM units WHERE imei = ? OR cradle_imei = ? ORDER BY created_seq LIMIT 1",
            (imei, imei),
        )
        return _unit(row) if row else None

    def exception(self, seq: int) -> ExceptionView | None:
        row = self._one("SELECT * FROM exceptions WHERE seq = ?", (seq,))
        return _exception_view(row) if row else None

    def open_exceptions(self, subject: str) -> list[ExceptionView]:
        rows = (
            self._read()
            .execute(
                "SELECT * FROM exceptions WHERE subject = ? AND status = 'open' ORDER BY seq",
                (subject,),
            )
            .fetchall()
        )
        return [_exception_view(row) for row in rows]

    def seen_reading(self, device: str, seq: int, digest: str) -> int | None:
        """The journal seq that already holds this reading, if any (durable dedupe)."""
        row = self._one(
            "SELECT event_seq FROM readings WHERE device = ? AND seq = ? AND digest = ?",
            (device, seq, digest),
        )
        return int(row[0]) if row else None

    # -- what the API lists --

    def upstream_owned(self, return_ids: Sequence[str]) -> list[str]:
        """Which of these returns the upstream's manifest feed brought (and so owns)."""
        conn = self._read()
        return [
            return_id
            for return_id in return_ids
            if conn.execute(
                "SELECT 1 FROM manifest WHERE return_id = ? AND owner = ?",
                (return_id, UPSTREAM_OWNER),
            ).fetchone()
        ]

    def manifest_records(self) -> dict[str, ExpectedReturn]:
        rows = self._read().execute("SELECT return_id, record FROM manifest").fetchall()
        return {row[0]: ExpectedReturn.from_record(json.loads(row[1])) for row in rows}

    def list_returns(
        self, *, status: str | None, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        where, params = ("WHERE status = ?", [status]) if status else ("", [])
        conn = self._read()
        total = conn.execute(f"SELECT count(*) FROM manifest {where}", params).fetchone()[0]
        rows = conn.execute(
            f"SELECT return_id, record FROM manifest {where} ORDER BY return_id LIMIT ? OFFSET ?",
            (*params, limit, offset),
        ).fetchall()
        return [self.return_summary(row[0], json.loads(row[1])) for row in rows], int(total)

    def return_summary(self, return_id: str, record: dict[str, Any]) -> dict[str, Any]:
        conn = self._read()
        receipt = conn.execute(
            "SELECT seq, status, ts FROM receipts WHERE return_id = ? ORDER BY seq LIMIT 1",
            (return_id,),
        ).fetchone()
        unit = conn.execute(
            "SELECT unit_id FROM units WHERE return_id = ? ORDER BY created_seq LIMIT 1",
            (return_id,),
        ).fetchone()
        open_count = conn.execute(
            "SELECT count(*) FROM exceptions WHERE subject = ? AND status = 'open'", (return_id,)
        ).fetchone()[0]
        cancelled = conn.execute(
            "SELECT seq, label, stage, reason, operator, ts FROM cancelled_receipts "
            "WHERE subject = ? ORDER BY seq",
            (return_id,),
        ).fetchall()
        owner = conn.execute(
            "SELECT owner FROM manifest WHERE return_id = ?", (return_id,)
        ).fetchone()
        return {
            "return": record,
            "owner": owner[0] if owner else "local",
            "receipt": dict(receipt) if receipt else None,
            "cancelled_receipts": [dict(row) for row in cancelled],
            "unit_id": unit[0] if unit else None,
            "open_exceptions": int(open_count),
        }

    def list_units(
        self, *, status: str | None, limit: int, offset: int
    ) -> tuple[list[UnitView], int]:
        where, params = ("WHERE status = ?", [status]) if status else ("", [])
        conn = self._read()
        total = conn.execute(f"SELECT count(*) FROM units {where}", params).fetchone()[0]
        rows = conn.execute(
            f"SELECT * FROM units {where} ORDER BY created_seq DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        ).fetchall()
        return [_unit(row) for row in rows], int(total)

    def list_exceptions(
        self, *, status: str | None, kind: str | None, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        clauses, params = [], []
        if status:
            clauses.append("status = ?")
            params.append(status)
        if kind:
            clauses.append("kind = ?")
            params.append(kind)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        conn = self._read()
        total = conn.execute(f"SELECT count(*) FROM exceptions {where}", params).fetchone()[0]
        rows = conn.execute(
            f"SELECT * FROM exceptions {where} ORDER BY seq DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        ).fetchall()
        return [exception_record(row) for row in rows], int(total)

    def exception_record(self, seq: int) -> dict[str, Any] | None:
        row = self._one("SELECT * FROM exceptions WHERE seq = ?", (seq,))
        return exception_record(row) if row else None

    def counts(self) -> dict[str, int]:
        conn = self._read()
        return {
            "expected_returns": conn.execute("SELECT count(*) FROM manifest").fetchone()[0],
            "packages_received": conn.execute("SELECT count(*) FROM receipts").fetchone()[0],
            "receipts_cancelled": conn.execute(
                "SELECT count(*) FROM cancelled_receipts"
            ).fetchone()[0],
            "units": conn.execute("SELECT count(*) FROM units").fetchone()[0],
            "open_exceptions": conn.execute(
                "SELECT count(*) FROM exceptions WHERE status = 'open'"
            ).fetchone()[0],
        }


# -- folding one event --


def _apply_event(conn: sqlite3.Connection, event: CustodyEvent) -> None:
    payload: dict[str, Any] = dict(event.payload)
    reading = payload.get("reading")
    if isinstance(reading, dict) and reading.get("seq") is not None and reading.get("digest"):
        conn.execute(
            "INSERT OR IGNORE INTO readings VALUES (?, ?, ?, ?)",
            (str(reading["device"]), int(reading["seq"]), str(reading["digest"]), event.seq),
        )
    handler = _HANDLERS.get(event.type)
    if handler is not None:
        handler(conn, event, payload)


def _manifest_synced(conn: sqlite3.Connection, event: CustodyEvent, p: dict[str, Any]) -> None:
    record = p["record"]
    expected = ExpectedReturn.from_record(record)
    # Once the upstream's feed has brought a return, the upstream owns it for good.
    owner = UPSTREAM_OWNER if p.get("source") == UPSTREAM_OWNER else "local"
    conn.execute(
        "INSERT INTO manifest VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (return_id) DO UPDATE SET "
        "record = excluded.record, status = excluded.status, "
        "declared_imei = excluded.declared_imei, updated_seq = excluded.updated_seq, "
        "owner = CASE WHEN manifest.owner = ? THEN manifest.owner ELSE excluded.owner END",
        (
            expected.return_id,
            json.dumps(record, sort_keys=True),
            expected.status,
            expected.declared_imei,
            event.seq,
            owner,
            UPSTREAM_OWNER,
        ),
    )
    conn.execute("DELETE FROM manifest_labels WHERE return_id = ?", (expected.return_id,))
    conn.executemany(
        "INSERT INTO manifest_labels VALUES (?, ?) "
        "ON CONFLICT (code) DO UPDATE SET return_id = excluded.return_id",
        [(code, expected.return_id) for code in expected.label_codes],
    )


def _package_received(conn: sqlite3.Connection, event: CustodyEvent, p: dict[str, Any]) -> None:
    within = p.get("within_band")
    conn.execute(
        "INSERT INTO receipts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            event.seq,
            event.subject,
            p.get("return_id"),
            p.get("label"),
            p.get("grams"),
            None if within is None else int(bool(within)),
            p.get("seal"),
            p.get("status"),
            json.dumps(p.get("exceptions", [])),
            json.dumps(p.get("photos", [])),
            format_ts(event.ts),
            event.operator,
        ),
    )


def _receipt_cancelled(conn: sqlite3.Connection, event: CustodyEvent, p: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO cancelled_receipts VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            event.seq,
            event.subject,
            p.get("return_id"),
            p.get("label"),
            p.get("stage"),
            str(p.get("reason", "")),
            event.operator,
            format_ts(event.ts),
        ),
    )


def _device_identified(conn: sqlite3.Connection, event: CustodyEvent, p: dict[str, Any]) -> None:
    row = conn.execute("SELECT sources FROM units WHERE unit_id = ?", (event.subject,)).fetchone()
    source = str(p.get("source"))
    if row is None:
        conn.execute(
            "INSERT INTO units (unit_id, imei, cradle_imei, serial, return_id, make, model, "
            "platform, status, lock, erasure, payout_status, sources, created_seq, updated_seq) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'identified', 'unknown', 'not_run', ?, ?, ?, ?)",
            (
                event.subject,
                p.get("imei"),
                p.get("imei") if source == "cradle" else None,
                p.get("serial"),
                p.get("return_id"),
                p.get("make"),
                p.get("model") or p.get("declared_model"),
                p.get("platform"),
                "pending" if p.get("return_id") else "none",
                json.dumps([source]),
                event.seq,
                event.seq,
            ),
        )
        return
    sources = sorted({*json.loads(row[0]), source})
    conn.execute(
        "UPDATE units SET sources = ?, updated_seq = ?, "
        "cradle_imei = CASE WHEN ? = 'cradle' THEN ? ELSE cradle_imei END WHERE unit_id = ?",
        (json.dumps(sources), event.seq, source, p.get("imei"), event.subject),
    )


def _diagnostics(conn: sqlite3.Connection, event: CustodyEvent, p: dict[str, Any]) -> None:
    lock = p.get("lock") or {}
    state = lock.get("state") if isinstance(lock, dict) else None
    conn.execute(
        "UPDATE units SET serial = coalesce(?, serial), model = coalesce(?, model), "
        "make = coalesce(?, make, ?), "
        "platform = coalesce(?, platform), battery_health = coalesce(?, battery_health), "
        "lock = ?, cradle_imei = coalesce(cradle_imei, ?), updated_seq = ? WHERE unit_id = ?",
        (
            p.get("serial"),
            p.get("model"),
            p.get("make"),  # as read (bench.py); events before it had only "manufacturer"
            p.get("manufacturer"),
            p.get("platform"),
            p.get("battery_health"),
            state if state in ("clear", "locked", "unknown") else "unknown",
            p.get("imei"),
            event.seq,
            event.subject,
        ),
    )


def _grade_assigned(conn: sqlite3.Connection, event: CustodyEvent, p: dict[str, Any]) -> None:
    held = bool(p.get("beyond_disclosure"))
    conn.execute(
        "UPDATE units SET grade = ?, checklist = ?, "
        "battery_health = coalesce(?, battery_health), status = ?, "
        "payout_status = CASE WHEN ? THEN 'on_hold' ELSE payout_status END, updated_seq = ? "
        "WHERE unit_id = ?",
        (
            p.get("grade"),
            json.dumps(p.get("checklist")),
            (p.get("checklist") or {}).get("battery_health"),
            "returns_review" if held else "graded",
            held,
            event.seq,
            event.subject,
        ),
    )


def _erasure_completed(conn: sqlite3.Connection, event: CustodyEvent, p: dict[str, Any]) -> None:
    verified = p.get("result") == "success" and p.get("verification") == "passed"
    conn.execute(
        "UPDATE units SET erasure = ?, certificate_sha256 = ?, updated_seq = ? WHERE unit_id = ?",
        (
            "verified" if verified else "failed",
            p.get("certificate_sha256"),
            event.seq,
            event.subject,
        ),
    )


def _routed(conn: sqlite3.Connection, event: CustodyEvent, p: dict[str, Any]) -> None:
    conn.execute(
        "UPDATE units SET route = ?, status = CASE WHEN ? = 'hold' THEN status ELSE 'routed' END, "
        "updated_seq = ? WHERE unit_id = ?",
        (p.get("route"), p.get("route"), event.seq, event.subject),
    )


def _moved(conn: sqlite3.Connection, event: CustodyEvent, p: dict[str, Any]) -> None:
    conn.execute(
        "UPDATE units SET location = ?, updated_seq = ? WHERE unit_id = ?",
        (p.get("to"), event.seq, event.subject),
    )


def _reopened(conn: sqlite3.Connection, event: CustodyEvent, p: dict[str, Any]) -> None:
    conn.execute(
        "UPDATE units SET status = CASE WHEN grade IS NULL THEN 'identified' ELSE 'graded' END, "
        "route = NULL, updated_seq = ? WHERE unit_id = ?",
        (event.seq, event.subject),
    )


def _raised(conn: sqlite3.Connection, event: CustodyEvent, p: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO exceptions (seq, kind, subject, message, evidence, attachments, raised_at, "
        "operator, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open')",
        (
            event.seq,
            str(p.get("exception")),
            event.subject,
            str(p.get("message", "")),
            json.dumps(p.get("evidence", {}), sort_keys=True),
            json.dumps(list(event.attachments)),
            format_ts(event.ts),
            event.operator,
        ),
    )


def _resolved(conn: sqlite3.Connection, event: CustodyEvent, p: dict[str, Any]) -> None:
    conn.execute(
        "UPDATE exceptions SET status = 'resolved', resolved_seq = ?, resolution = ?, "
        "reason = ?, resolved_by = ?, resolved_at = ? WHERE seq = ?",
        (
            event.seq,
            p.get("resolution"),
            p.get("reason"),
            event.operator,
            format_ts(event.ts),
            p.get("exception_seq"),
        ),
    )
    if exception_kind(str(p.get("exception"))).changes_payout:
        # One rule for every kind that decides the payout (a substitution rejected declines the
        # trade-in as damage rejected does), read from the kind, never from its name.
        payout = {"accept": "adjusted", "reject": "declined", "correct": "pending"}
        conn.execute(
            "UPDATE units SET payout_status = ?, updated_seq = ?, "
            "status = CASE WHEN status = 'returns_review' THEN 'graded' ELSE status END "
            "WHERE unit_id = ?",
            (payout.get(str(p.get("resolution")), "pending"), event.seq, event.subject),
        )


_HANDLERS = {
    EventType.MANIFEST_SYNCED: _manifest_synced,
    EventType.PACKAGE_RECEIVED: _package_received,
    EventType.RECEIPT_CANCELLED: _receipt_cancelled,
    EventType.DEVICE_IDENTIFIED: _device_identified,
    EventType.DIAGNOSTICS_RECORDED: _diagnostics,
    EventType.GRADE_ASSIGNED: _grade_assigned,
    EventType.ERASURE_COMPLETED: _erasure_completed,
    EventType.DISPOSITION_ROUTED: _routed,
    EventType.LOCATION_MOVED: _moved,
    EventType.EXCEPTION_RAISED: _raised,
    EventType.EXCEPTION_RESOLVED: _resolved,
    EventType.UNIT_REOPENED: _reopened,
}


def _unit(row: sqlite3.Row) -> UnitView:
    return UnitView(
        unit_id=row["unit_id"],
        imei=row["imei"],
        serial=row["serial"],
        return_id=row["return_id"],
        make=row["make"],
        model=row["model"],
        platform=row["platform"],
        status=row["status"],
        grade=row["grade"],
        checklist=json.loads(row["checklist"]) if row["checklist"] else None,
        battery_health=row["battery_health"],
        lock=row["lock"],
        erasure=row["erasure"],
        certificate_sha256=row["certificate_sha256"],
        route=row["route"],
        location=row["location"],
        payout_status=row["payout_status"],
        sources=tuple(json.loads(row["sources"])),
        cradle_imei=row["cradle_imei"],
    )


def _exception_view(row: sqlite3.Row) -> ExceptionView:
    return ExceptionView(
        seq=row["seq"],
        kind=row["kind"],
        subject=row["subject"],
        message=row["message"],
        status=row["status"],
        operator=row["operator"],
    )


def exception_record(row: sqlite3.Row) -> dict[str, Any]:
    record = dict(row)
    record["evidence"] = json.loads(record["evidence"])
    record["attachments"] = json.loads(record["attachments"])
    return record
