"""Failed sign-in counts in `operators.db`: per (client address, credential) and per address.

The SQL behind `SignInBackoff`; the caller holds the connection's transaction. A credential is
kept only as the SHA-256 of `method:text`, never as typed. An address is counted as
`address_key` has it: an IPv6 host picks any address in its /64 at will, so it is its /64.
"""

from __future__ import annotations

import hashlib
import ipaddress
import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime

from edge.limits import MAX_SIGN_IN_FAILURE_ROWS
from edge.operators.backoff import SignInBackoff

ANY_CREDENTIAL = "*"  # the count of an address over every badge and id it tried


def credential_hash(by: str, credential: str) -> str:
    """How a badge (`by="badge"`) or typed operator id (`by="code"`) is keyed."""
    return hashlib.sha256(f"{by}:{credential}".encode()).hexdigest()


def address_key(client: str) -> str:
    """Who a failure is counted against: an IPv6 address's /64 (one host can take any address
    in it), an IPv4-mapped one as its IPv4 address; anything else (a name) as given."""
    try:
        address = ipaddress.ip_address(client.split("%", 1)[0])
    except ValueError:
        return client
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def _ts(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="microseconds")


def held_until(conn: sqlite3.Connection, client: str, key: str, now: datetime) -> datetime | None:
    """The latest time this pair or this address is held back until, if after `now`."""
    client = address_key(client)
    rows = conn.execute(
        "SELECT held_until FROM sign_in_failures WHERE client = ? AND "
        "credential_sha256 IN (?, ?) AND held_until > ?",
        (client, key, ANY_CREDENTIAL, _ts(now)),
    ).fetchall()
    return max((datetime.fromisoformat(row[0]) for row in rows), default=None)


def record_failure(
    conn: sqlite3.Connection, client: str, key: str, now: datetime, backoff: SignInBackoff
) -> datetime | None:
    """Count one failure for the pair and the address; until when they are now held back."""
    client = address_key(client)
    conn.execute(
        "DELETE FROM sign_in_failures WHERE last_failed_at < ?", (_ts(now - backoff.forget_after),)
    )
    held: list[datetime] = []
    for credential_key, free in (
        (key, backoff.free_failures),
        (ANY_CREDENTIAL, backoff.address_free_failures),
    ):
        row = conn.execute(
            "SELECT failures FROM sign_in_failures WHERE client = ? AND credential_sha256 = ?",
            (client, credential_key),
        ).fetchone()
        failures = 1 if row is None else int(row[0]) + 1
        until = backoff.held_until(failures, free, now)
        if until is not None:
            held.append(until)
        conn.execute(
            "INSERT INTO sign_in_failures (client, credential_sha256, failures, last_failed_at, "
            "held_until) VALUES (?, ?, ?, ?, ?) ON CONFLICT (client, credential_sha256) DO UPDATE "
            "SET failures = excluded.failures, last_failed_at = excluded.last_failed_at, "
            "held_until = excluded.held_until",
            (client, credential_key, failures, _ts(now), None if until is None else _ts(until)),
        )
    # Bounded: a flood of made-up badges from many addresses forgets the oldest counts.
    conn.execute(
        "DELETE FROM sign_in_failures WHERE rowid IN (SELECT rowid FROM sign_in_failures "
        "ORDER BY last_failed_at DESC LIMIT -1 OFFSET ?)",
        (MAX_SIGN_IN_FAILURE_ROWS,),
    )
    return max(held, default=None)


def clear_address(conn: sqlite3.Connection, client: str, key: str) -> None:
    """After a correct PIN: this pair's count and the address's."""
    client = address_key(client)
    conn.execute(
        "DELETE FROM sign_in_failures WHERE client = ? AND credential_sha256 IN (?, ?)",
        (client, key, ANY_CREDENTIAL),
    )


def clear_credentials(conn: sqlite3.Connection, keys: Iterable[str]) -> None:
    """An admin's unlock or a new PIN: these credentials' counts from every address."""
    for key in keys:
        conn.execute("DELETE FROM sign_in_failures WHERE credential_sha256 = ?", (key,))
