"""The station's operators and their sign-in sessions, in their own SQLite file.

Only a session token's SHA-256 is stored; the token itself exists only in the sign-in answer
and on the handheld. PIN hashes are peppered with a key from the data folder's `keys/`. Failed
sign-ins are counted per client address (see `edge.operators.backoff`). Times are passed in
(aware UTC); nothing here reads the clock.
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import EllipsisType
from typing import Literal, NoReturn

from sqlite_utils import Database, Migrations

from edge.journal.files import private_database, private_dir
from edge.operators import failures
from edge.operators.backoff import SignInBackoff
from edge.operators.errors import (
    LastAdminError,
    OperatorConflictError,
    OperatorStoreError,
    SignInError,
    UnknownOperatorError,
)
from edge.operators.failures import credential_hash
from edge.operators.models import (
    Operator,
    Principal,
    Session,
    check_badge,
    check_operator_id,
    clean_name,
)
from edge.operators.pepper import load_or_create_pepper
from edge.operators.pin_policy import check_pin_policy
from edge.operators.pins import SEALED_PREFIX, PinHasher, open_legacy, seal_legacy
from edge.operators.roles import Role

log = logging.getLogger(__name__)

OPERATORS_FILE = "operators.db"
DEFAULT_SESSION_TTL = timedelta(hours=12)  # one shift
SIGN_IN_REFUSED = "badge or PIN not recognised"
KEYS_DIR = "keys"
_MAX_TOKEN_LENGTH = 256

SignInMethod = Literal["badge", "code"]

migrations = Migrations("edge.operators")


@migrations()
def m001_operators(db: Database) -> None:
    db.execute(
        """CREATE TABLE IF NOT EXISTS operators (
            operator_id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('operator', 'technician', 'admin')),
            badge TEXT UNIQUE,
            pin_hash TEXT NOT NULL,
            failed_attempts INTEGER NOT NULL DEFAULT 0,
            locked_until TEXT,
            disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE IF NOT EXISTS sessions (
            token_sha256 TEXT PRIMARY KEY,
            operator_id TEXT NOT NULL REFERENCES operators (operator_id),
            role TEXT NOT NULL,
            station TEXT NOT NULL,
            issued_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            revoked_at TEXT
        )"""
    )
    db.execute("CREATE INDEX IF NOT EXISTS sessions_operator ON sessions (operator_id)")


@migrations()
def m002_pepper_and_failures_per_address(db: Database) -> None:
    """PIN hashes say whether they are peppered (older ones are not); failed sign-ins are
    counted per (client address, credential), no longer as a lock on the person."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(operators)").fetchall()}
    if "pin_peppered" not in columns:
        db.execute(
            "ALTER TABLE operators ADD COLUMN pin_peppered INTEGER NOT NULL DEFAULT 0 "
            "CHECK (pin_peppered IN (0, 1))"
        )
    db.execute(
        """CREATE TABLE IF NOT EXISTS sign_in_failures (
            client TEXT NOT NULL,
            credential_sha256 TEXT NOT NULL,
            failures INTEGER NOT NULL,
            last_failed_at TEXT NOT NULL,
            held_until TEXT,
            PRIMARY KEY (client, credential_sha256)
        )"""
    )
    db.execute(
        "CREATE INDEX IF NOT EXISTS sign_in_failures_last ON sign_in_failures (last_failed_at)"
    )


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _ts(when: datetime) -> str:
    if when.tzinfo is None:
        raise ValueError("times passed to the operator store must be timezone-aware")
    return when.astimezone(UTC).isoformat(timespec="microseconds")


def _parse_ts(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _operator(row: sqlite3.Row) -> Operator:
    created_at = _parse_ts(row["created_at"])
    updated_at = _parse_ts(row["updated_at"])
    assert created_at is not None and updated_at is not None
    return Operator(
        operator_id=row["operator_id"],
        name=row["name"],
        role=Role(row["role"]),
        badge=row["badge"],
        disabled=bool(row["disabled"]),
        failed_attempts=row["failed_attempts"],
        locked_until=_parse_ts(row["locked_until"]),
        created_at=created_at,
        updated_at=updated_at,
    )


class OperatorStore:
    """Thread-safe (one connection behind a lock): used from FastAPI's threadpool and the CLI."""

    def __init__(
        self,
        path: Path,
        *,
        backoff: SignInBackoff | None = None,
        session_ttl: timedelta = DEFAULT_SESSION_TTL,
        hasher: PinHasher | None = None,
        keys_dir: Path | None = None,
    ) -> None:
        """`keys_dir` (default: `keys/` beside the database) holds the PIN pepper."""
        if session_ttl <= timedelta(0):
            raise ValueError("session_ttl must be positive")
        self.path = path
        self.backoff = backoff or SignInBackoff()
        self.session_ttl = session_ttl
        self.hasher = hasher or PinHasher()
        self._lock = threading.Lock()
        self._generation = 0
        self._data_version: int | None = None
        # Sign-ins run one at a time, so parallel guesses cannot all slip in before a hold.
        self._sign_in_lock = threading.Lock()
        try:
            private_dir(path.parent)
            private_database(path)
            self._conn = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=5.0
            )
            self._conn.execute("PRAGMA busy_timeout = 5000")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = FULL")
            self._conn.execute("PRAGMA foreign_keys = ON")
            migrations.apply(Database(self._conn))
            self._conn.row_factory = sqlite3.Row
            self._pepper, created = load_or_create_pepper(keys_dir or path.parent / KEYS_DIR)
            if created:
                self._warn_of_lost_pepper()
            self._seal_legacy_hashes()
        except (sqlite3.Error, OSError) as exc:
            raise OperatorStoreError(f"operators database {path} cannot be opened: {exc}") from exc

    def _seal_legacy_hashes(self) -> None:
        """Hashes of the bare PIN (before the pepper) are sealed with the pepper at once, not
        left readable until each person next signs in; the old bytes are overwritten
        (secure_delete) and the WAL emptied, so no copy of the file holds them."""
        rows = self._conn.execute(
            "SELECT operator_id, pin_hash FROM operators WHERE pin_peppered = 0 "
            "AND pin_hash NOT LIKE ?",
            (SEALED_PREFIX + "%",),
        ).fetchall()
        if not rows:
            return
        self._conn.execute("PRAGMA secure_delete = ON")
        with self._write() as conn:
            for row in rows:
                conn.execute(
                    "UPDATE operators SET pin_hash = ? WHERE operator_id = ?",
                    (seal_legacy(row["pin_hash"], self._pepper), row["operator_id"]),
                )
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        log.info("sealed PIN hashes of an earlier version with the pepper operators=%d", len(rows))

    def _warn_of_lost_pepper(self) -> None:
        (lost,) = self._conn.execute(
            "SELECT count(*) FROM operators WHERE pin_peppered = 1 OR pin_hash LIKE ?",
            (SEALED_PREFIX + "%",),
        ).fetchone()
        if lost:
            log.error(
                "PIN pepper was missing and a new one was made; operators=%d whose PINs used the "
                "old one cannot sign in until given a new PIN (edge operator set-pin ID), or "
                "restore keys/ from a backup",
                lost,
            )

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> OperatorStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise OperatorStoreError(f"operators database {self.path}: {exc}") from exc

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction; rolled back on any error."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                yield self._conn
                self._conn.execute("COMMIT")
                self._generation += 1
            except BaseException as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise OperatorStoreError(
                        f"operators database {self.path} refused a write: {exc}; "
                        "nothing of it was kept"
                    ) from exc
                raise

    @property
    def generation(self) -> int:
        """Grows whenever this store, or another process on the same file, changed operators or
        sessions: a cached sign-in is worth rechecking only when it moved. Another process's
        change is seen at the next `authenticate` or `poll_changes`."""
        return self._generation

    def poll_changes(self) -> int:
        """Look for commits by other connections (the `edge operator` CLI); the generation."""
        with self._read() as conn:
            self._note_data_version(conn)
        return self._generation

    def _note_data_version(self, conn: sqlite3.Connection) -> None:
        version = int(conn.execute("PRAGMA data_version").fetchone()[0])
        if self._data_version is not None and version != self._data_version:
            self._generation += 1
        self._data_version = version

    # -- operators -------------------------------------------------------------------------

    def add_operator(
        self,
        operator_id: str,
        name: str,
        role: Role,
        pin: str,
        badge: str | None = None,
        *,
        now: datetime,
    ) -> Operator:
        check_operator_id(operator_id)
        name = clean_name(name)
        role = Role(role)
        if badge is not None:
            check_badge(badge)
        check_pin_policy(pin)
        pin_hash = self.hasher.hash(pin, self._pepper)
        with self._write() as conn:
            if conn.execute(
                "SELECT 1 FROM operators WHERE operator_id = ?", (operator_id,)
            ).fetchone():
                raise OperatorConflictError(f"operator {operator_id} already exists")
            self._check_badge_free(conn, badge, operator_id)
            conn.execute(
                "INSERT INTO operators (operator_id, name, role, badge, pin_hash, pin_peppered, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?)",
                (operator_id, name, role.value, badge, pin_hash, _ts(now), _ts(now)),
            )
            added = self._get(conn, operator_id)
        log.info("operator added operator_id=%s role=%s", operator_id, role.value)
        return added

    def update_operator(
        self,
        operator_id: str,
        *,
        name: str | None = None,
        role: Role | None = None,
        badge: str | EllipsisType | None = ...,
        disabled: bool | None = None,
        now: datetime,
    ) -> Operator:
        """Change what is given (`badge=None` removes the badge; `...` keeps it).

        A role change or disabling ends the operator's sessions. Refused if it would leave no
        enabled admin.
        """
        new_name = clean_name(name) if name is not None else None
        new_role = Role(role) if role is not None else None
        if isinstance(badge, str):
            check_badge(badge)
        with self._write() as conn:
            current = self._get(conn, operator_id)
            if current.role is Role.ADMIN and not current.disabled:
                stays_admin = new_role in (None, Role.ADMIN) and not disabled
                if not stays_admin and self._count_admins(conn) <= 1:
                    raise LastAdminError(
                        f"{operator_id} is the only enabled admin; add or enable another admin "
                        "first"
                    )
            if not isinstance(badge, EllipsisType):
                self._check_badge_free(conn, badge, operator_id)
            updated = Operator(
                operator_id=operator_id,
                name=new_name if new_name is not None else current.name,
                role=new_role if new_role is not None else current.role,
                badge=current.badge if isinstance(badge, EllipsisType) else badge,
                disabled=disabled if disabled is not None else current.disabled,
                failed_attempts=current.failed_attempts,
                locked_until=current.locked_until,
                created_at=current.created_at,
                updated_at=now,
            )
            conn.execute(
                "UPDATE operators SET name = ?, role = ?, badge = ?, disabled = ?, updated_at = ? "
                "WHERE operator_id = ?",
                (
                    updated.name,
                    updated.role.value,
                    updated.badge,
                    int(updated.disabled),
                    _ts(now),
                    operator_id,
                ),
            )
            if updated.role is not current.role or (updated.disabled and not current.disabled):
                self._revoke_sessions(conn, operator_id, now)
            updated = self._get(conn, operator_id)
        log.info(
            "operator updated operator_id=%s role=%s disabled=%s",
            operator_id,
            updated.role.value,
            updated.disabled,
        )
        return updated

    def set_pin(self, operator_id: str, pin: str, *, now: datetime) -> Operator:
        """Give a new PIN; clears held-back sign-ins and ends the operator's sessions."""
        check_pin_policy(pin)
        pin_hash = self.hasher.hash(pin, self._pepper)
        with self._write() as conn:
            operator = self._get(conn, operator_id)
            conn.execute(
                "UPDATE operators SET pin_hash = ?, pin_peppered = 1, updated_at = ? "
                "WHERE operator_id = ?",
                (pin_hash, _ts(now), operator_id),
            )
            self._clear_failures(conn, operator)
            self._revoke_sessions(conn, operator_id, now)
            changed = self._get(conn, operator_id)
        log.info("operator PIN set operator_id=%s", operator_id)
        return changed

    def unlock(self, operator_id: str, *, now: datetime) -> Operator:
        """Forget the failed sign-ins against this operator's badge and id, from every address."""
        with self._write() as conn:
            operator = self._get(conn, operator_id)
            conn.execute(
                "UPDATE operators SET updated_at = ? WHERE operator_id = ?",
                (_ts(now), operator_id),
            )
            self._clear_failures(conn, operator)
            unlocked = self._get(conn, operator_id)
        log.info("operator unlocked operator_id=%s", operator_id)
        return unlocked

    def get(self, operator_id: str) -> Operator | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT * FROM operators WHERE operator_id = ?", (operator_id,)
            ).fetchone()
        return None if row is None else _operator(row)

    def list_operators(self) -> list[Operator]:
        with self._read() as conn:
            rows = conn.execute("SELECT * FROM operators ORDER BY operator_id").fetchall()
        return [_operator(row) for row in rows]

    def count_admins(self) -> int:
        """Enabled admins."""
        with self._read() as conn:
            return self._count_admins(conn)

    # -- sessions --------------------------------------------------------------------------

    def sign_in(
        self,
        credential: str,
        pin: str,
        *,
        station: str,
        now: datetime,
        by: SignInMethod,
        client: str,
    ) -> Session:
        """Check a badge (or operator id) and PIN from `client` (its network address); start a
        session or raise SignInError.

        An unknown credential, a wrong PIN and a held-back pair are answered alike whether the
        badge exists or not, after the same argon2 work (none when held back).
        """
        column = {"badge": "badge", "code": "operator_id"}[by]
        key = credential_hash(by, credential)
        fingerprint = key[:8]
        with self._sign_in_lock:
            with self._read() as conn:
                held_until = failures.held_until(conn, client, key, now)
                row = conn.execute(
                    f"SELECT * FROM operators WHERE {column} = ?", (credential,)
                ).fetchone()
            operator_id = None if row is None else str(row["operator_id"])
            if held_until is not None:
                log.warning(
                    "sign-in refused reason=held_back client=%s by=%s credential=%s "
                    "operator_id=%s station=%s held_until=%s",
                    client,
                    by,
                    fingerprint,
                    operator_id,
                    station,
                    _ts(held_until),
                )
                _refuse_held(by, held_until, now)
            if row is None:
                self.hasher.verify_nothing(pin)
                matches = False
            else:
                pepper = self._pepper if row["pin_peppered"] else None
                stored = row["pin_hash"]
                if pepper is None and stored.startswith(SEALED_PREFIX):
                    stored = open_legacy(stored, self._pepper) or ""
                matches = self.hasher.verify(stored, pin, pepper)
            if not matches:
                self._refuse(client, by, key, operator_id, station, now)
            assert row is not None and operator_id is not None
            operator = _operator(row)
            if operator.disabled:
                log.warning(
                    "sign-in refused reason=disabled client=%s operator_id=%s station=%s",
                    client,
                    operator_id,
                    station,
                )
                raise SignInError("disabled", f"operator {operator_id} is disabled; ask an admin")
            rehash = not row["pin_peppered"] or self.hasher.needs_rehash(row["pin_hash"])
            new_hash = self.hasher.hash(pin, self._pepper) if rehash else None
            token = secrets.token_urlsafe(32)
            expires_at = now + self.session_ttl
            with self._write() as conn:
                conn.execute("DELETE FROM sessions WHERE expires_at < ?", (_ts(now),))
                failures.clear_address(conn, client, key)
                conn.execute(
                    "UPDATE operators SET failed_attempts = 0, locked_until = NULL, "
                    "pin_hash = coalesce(?, pin_hash), "
                    "pin_peppered = CASE WHEN ? IS NULL THEN pin_peppered ELSE 1 END "
                    "WHERE operator_id = ?",
                    (new_hash, new_hash, operator_id),
                )
                # The role as it is now, should an admin have changed it during the PIN check.
                operator = self._get(conn, operator_id)
                conn.execute(
                    "INSERT INTO sessions (token_sha256, operator_id, role, station, issued_at, "
                    "expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        token_hash(token),
                        operator_id,
                        operator.role.value,
                        station,
                        _ts(now),
                        _ts(expires_at),
                    ),
                )
        if new_hash is not None:
            log.info("operator PIN rehashed operator_id=%s peppered=true", operator_id)
        log.info(
            "operator signed in operator_id=%s role=%s station=%s by=%s client=%s token=%s…",
            operator_id,
            operator.role.value,
            station,
            by,
            client,
            token[:6],
        )
        return Session(
            token=token,
            operator=operator,
            role=operator.role,
            station=station,
            issued_at=now,
            expires_at=expires_at,
        )

    def _refuse(
        self,
        client: str,
        by: SignInMethod,
        key: str,
        operator_id: str | None,
        station: str,
        now: datetime,
    ) -> NoReturn:
        """Count the failure for the pair and the address; answer alike for known and unknown."""
        with self._write() as conn:
            held_until = failures.record_failure(conn, client, key, now, self.backoff)
            if operator_id is not None:
                # What admins see: wrong PINs since the last good one, and the latest hold.
                lock = None if held_until is None else _ts(held_until)
                conn.execute(
                    "UPDATE operators SET failed_attempts = failed_attempts + 1, locked_until = "
                    "CASE WHEN ? IS NOT NULL AND (locked_until IS NULL OR locked_until < ?) "
                    "THEN ? ELSE locked_until END WHERE operator_id = ?",
                    (lock, lock, lock, operator_id),
                )
        log.warning(
            "sign-in refused reason=%s client=%s by=%s credential=%s operator_id=%s station=%s "
            "held_until=%s",
            "unknown" if operator_id is None else "wrong_pin",
            client,
            by,
            key[:8],
            operator_id,
            station,
            None if held_until is None else _ts(held_until),
        )
        if held_until is not None:
            _refuse_held(by, held_until, now)
        raise SignInError("unknown" if operator_id is None else "wrong_pin", SIGN_IN_REFUSED)

    def authenticate(self, token: str, now: datetime) -> Principal | None:
        """The principal behind a token; None if unknown, expired, revoked, or stale.

        Stale: the operator was disabled or their role changed since signing in.
        """
        if not token or len(token) > _MAX_TOKEN_LENGTH:
            return None
        with self._read() as conn:
            self._note_data_version(conn)
            row = conn.execute(
                "SELECT s.role AS session_role, s.station, s.expires_at, s.revoked_at, "
                "o.operator_id, o.name, o.role, o.disabled "
                "FROM sessions s JOIN operators o USING (operator_id) WHERE s.token_sha256 = ?",
                (token_hash(token),),
            ).fetchone()
        if row is None or row["revoked_at"] is not None or row["disabled"]:
            return None
        expires_at = _parse_ts(row["expires_at"])
        assert expires_at is not None
        if now >= expires_at or row["session_role"] != row["role"]:
            return None
        return Principal(
            operator_id=row["operator_id"],
            name=row["name"],
            role=Role(row["role"]),
            station=row["station"],
            expires_at=expires_at,
        )

    def live_session(self, operator_id: str, station: str, now: datetime) -> Principal | None:
        """The operator's newest open session at `station`, if any (to restore who is
        attending the station after a hub restart)."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT s.role AS session_role, s.station, s.expires_at, "
                "o.operator_id, o.name, o.role, o.disabled "
                "FROM sessions s JOIN operators o USING (operator_id) "
                "WHERE s.operator_id = ? AND s.station = ? AND s.revoked_at IS NULL "
                "ORDER BY s.issued_at DESC LIMIT 1",
                (operator_id, station),
            ).fetchone()
        if row is None or row["disabled"] or row["session_role"] != row["role"]:
            return None
        expires_at = _parse_ts(row["expires_at"])
        if expires_at is None or now >= expires_at:
            return None
        return Principal(
            operator_id=row["operator_id"],
            name=row["name"],
            role=Role(row["role"]),
            station=row["station"],
            expires_at=expires_at,
        )

    def sign_out(self, token: str, now: datetime) -> bool:
        """End one session. False if the token was unknown or already ended."""
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE sessions SET revoked_at = ? WHERE token_sha256 = ? AND revoked_at IS NULL",
                (_ts(now), token_hash(token)),
            )
        if cursor.rowcount:
            log.info("session ended token=%s…", token[:6])
        return cursor.rowcount > 0

    def revoke_sessions(self, operator_id: str, now: datetime) -> int:
        """End every open session of one operator; how many were ended."""
        with self._write() as conn:
            return self._revoke_sessions(conn, operator_id, now)

    # -- helpers (caller holds the lock) ---------------------------------------------------

    @staticmethod
    def _get(conn: sqlite3.Connection, operator_id: str) -> Operator:
        row = conn.execute(
            "SELECT * FROM operators WHERE operator_id = ?", (operator_id,)
        ).fetchone()
        if row is None:
            raise UnknownOperatorError(f"no operator {operator_id}")
        return _operator(row)

    @staticmethod
    def _count_admins(conn: sqlite3.Connection) -> int:
        row = conn.execute(
            "SELECT count(*) FROM operators WHERE role = 'admin' AND disabled = 0"
        ).fetchone()
        return int(row[0])

    @staticmethod
    def _check_badge_free(conn: sqlite3.Connection, badge: str | None, operator_id: str) -> None:
        if badge is None:
            return
        row = conn.execute(
            "SELECT operator_id FROM operators WHERE badge = ? AND operator_id != ?",
            (badge, operator_id),
        ).fetchone()
        if row is not None:
            raise OperatorConflictError(f"this badge is already given to {row['operator_id']}")

    @staticmethod
    def _clear_failures(conn: sqlite3.Connection, operator: Operator) -> None:
        """Forget failed sign-ins against the operator's id and badge, from every address."""
        keys = [credential_hash("code", operator.operator_id)]
        if operator.badge is not None:
            keys.append(credential_hash("badge", operator.badge))
        failures.clear_credentials(conn, keys)
        conn.execute(
            "UPDATE operators SET failed_attempts = 0, locked_until = NULL WHERE operator_id = ?",
            (operator.operator_id,),
        )

    @staticmethod
    def _revoke_sessions(conn: sqlite3.Connection, operator_id: str, now: datetime) -> int:
        cursor = conn.execute(
            "UPDATE sessions SET revoked_at = ? WHERE operator_id = ? AND revoked_at IS NULL",
            (_ts(now), operator_id),
        )
        return cursor.rowcount


def _refuse_held(by: SignInMethod, held_until: datetime, now: datetime) -> NoReturn:
    wait = max(1, math.ceil((held_until - now).total_seconds()))
    what = "badge" if by == "badge" else "operator id"
    raise SignInError(
        "held_back",
        f"too many failed sign-ins with this {what} from this device: try again in {wait} s, "
        "or ask an admin to unlock",
        held_until,
        retry_after_seconds=wait,
    )
