"""Read side of a journal: events, checkpoints and proofs. Never writes; never blocks the writer."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.journal import merkle
from edge.journal.errors import JournalError
from edge.journal.events import CustodyEvent
from edge.journal.schema import connect, translate

_NO_ATTACHMENTS = b'{"attachments":[],"'  # how a canonical body without attachments begins


@dataclass(frozen=True)
class StoredCheckpoint:
    size: int
    root: bytes
    note: str
    signed_at: str


@dataclass(frozen=True)
class JournalMeta:
    site: str
    station: str
    origin: str
    verifier: str
    created_at: str


def as_bytes(value: bytes | str) -> bytes:
    """Column values are BLOBs; a row edited by hand may hold TEXT instead."""
    return value.encode("utf-8", "surrogateescape") if isinstance(value, str) else bytes(value)


def event_from_row(body: bytes, leaf: bytes) -> CustodyEvent:
    """Parse stored bytes; ValueError (pydantic's included) if they are not a custody event."""
    fields: Any = json.loads(body)
    if not isinstance(fields, dict):
        raise ValueError("stored event is not a JSON object")
    fields["hash"] = leaf.hex()
    return CustodyEvent.model_validate(fields)


class JournalReader:
    """A query-only connection to a journal file. One per thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.exists():
            raise JournalError(f"no journal at {path}")
        self._conn = connect(path, query_only=True)
        self.closed = False

    def close(self) -> None:
        self._conn.close()
        self.closed = True

    def __enter__(self) -> JournalReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            raise translate(exc, self.path) from exc

    def meta(self) -> JournalMeta:
        values = dict(self._query("SELECT key, value FROM journal_meta"))
        try:
            return JournalMeta(**{k: values[k] for k in JournalMeta.__dataclass_fields__})
        except KeyError as exc:
            raise JournalError(f"journal at {self.path} has no {exc.args[0]} in its meta") from exc

    def size(self) -> int:
        return int(self._query("SELECT coalesce(max(seq), 0) FROM events")[0][0])

    def event(self, seq: int) -> CustodyEvent:
        rows = self._query("SELECT body, hash FROM events WHERE seq = ?", (seq,))
        if not rows:
            raise JournalError(f"no event with seq {seq} (journal size {self.size()})")
        return event_from_row(rows[0][0], rows[0][1])

    def canonical_body(self, seq: int) -> bytes:
        rows = self._query("SELECT body FROM events WHERE seq = ?", (seq,))
        if not rows:
            raise JournalError(f"no event with seq {seq}")
        return as_bytes(rows[0][0])

    def events(
        self,
        start: int = 1,
        end: int | None = None,
        *,
        subject: str | None = None,
        event_type: str | None = None,
        batch: int = 1000,
    ) -> Iterator[CustodyEvent]:
        """Events with start <= seq <= end, in seq order, optionally filtered."""
        where, params = ["seq >= ?"], [start]
        if end is not None:
            where.append("seq <= ?")
            params.append(end)
        if subject is not None:
            where.append("subject = ?")
        if event_type is not None:
            where.append("type = ?")
        sql = f"SELECT seq, body, hash FROM events WHERE {' AND '.join(where)} ORDER BY seq LIMIT ?"
        extra: list[Any] = [x for x in (subject, event_type) if x is not None]
        while True:
            rows = self._query(sql, (*params, *extra, batch))
            for _, body, leaf in rows:
                yield event_from_row(body, leaf)
            if len(rows) < batch:
                return
            params[0] = rows[-1][0] + 1

    def last_events(self, count: int) -> list[CustodyEvent]:
        rows = self._query("SELECT body, hash FROM events ORDER BY seq DESC LIMIT ?", (count,))
        return [event_from_row(body, leaf) for body, leaf in reversed(rows)]

    def checkpoints(self) -> list[StoredCheckpoint]:
        rows = self._query("SELECT size, root, note, signed_at FROM checkpoints ORDER BY size")
        return [StoredCheckpoint(r[0], bytes(r[1]), r[2], r[3]) for r in rows]

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        rows = self._query(
            "SELECT size, root, note, signed_at FROM checkpoints ORDER BY size DESC LIMIT 1"
        )
        return (
            StoredCheckpoint(rows[0][0], bytes(rows[0][1]), rows[0][2], rows[0][3])
            if rows
            else None
        )

    def last_checkpoint_within(self, above: int, at_most: int) -> StoredCheckpoint | None:
        """The largest checkpoint with above < size <= at_most (a replication batch's end)."""
        rows = self._query(
            "SELECT size, root, note, signed_at FROM checkpoints WHERE size > ? AND size <= ? "
            "ORDER BY size DESC LIMIT 1",
            (above, at_most),
        )
        return (
            StoredCheckpoint(rows[0][0], bytes(rows[0][1]), rows[0][2], rows[0][3])
            if rows
            else None
        )

    def bodies(self, start: int, end: int) -> list[tuple[int, bytes]]:
        """(seq, canonical bytes) for start <= seq <= end, in order."""
        rows = self._query(
            "SELECT seq, body FROM events WHERE seq >= ? AND seq <= ? ORDER BY seq", (start, end)
        )
        return [(seq, as_bytes(body)) for seq, body in rows]

    def attachments(self, start: int, end: int) -> list[str]:
        """The blob names events start..end attach, each once, in order of first mention.

        `attachments` is the first key of every canonical (RFC 8785) body, so an event without
        any begins with `{"attachments":[],"`; SQLite skips those without handing them over
        (a replication catch-up of 100k weighings reads none). The rest are parsed."""
        rows = self._query(
            "SELECT body FROM events WHERE seq >= ? AND seq <= ? "
            "AND substr(body, 1, ?) IS NOT ? ORDER BY seq",
            (start, end, len(_NO_ATTACHMENTS), _NO_ATTACHMENTS),
        )
        names: dict[str, None] = {}
        for (body,) in rows:
            fields = json.loads(as_bytes(body))
            listed = fields.get("attachments") if isinstance(fields, dict) else None
            for name in listed if isinstance(listed, list) else ():
                if isinstance(name, str):
                    names.setdefault(name)
        return list(names)

    def cosignatures(self, size: int) -> list[tuple[str, str, str]]:
        """(cosigner, line, received_at) of the upstream cosignatures over checkpoint `size`."""
        rows = self._query(
            "SELECT cosigner, line, received_at FROM cosignatures WHERE size = ? ORDER BY cosigner",
            (size,),
        )
        return [(r[0], r[1], r[2]) for r in rows]

    def unacknowledged(self, after: int) -> tuple[int, int, str | None]:
        """(events, bytes, ts of the first) with seq > after: a replication backlog."""
        count, size_bytes = self._query(
            "SELECT count(*), coalesce(sum(length(body)), 0) FROM events WHERE seq > ?", (after,)
        )[0]
        first = self._query("SELECT ts FROM events WHERE seq = ?", (after + 1,))
        return int(count), int(size_bytes), (first[0][0] if first else None)

    def checkpoint_at(self, size: int) -> StoredCheckpoint:
        rows = self._query(
            "SELECT size, root, note, signed_at FROM checkpoints WHERE size = ?", (size,)
        )
        if not rows:
            raise JournalError(f"no signed checkpoint at tree size {size}")
        return StoredCheckpoint(rows[0][0], bytes(rows[0][1]), rows[0][2], rows[0][3])

    # -- the Merkle tree, from stored complete subtrees --

    def node(self, level: int, index: int) -> bytes:
        """Hash of complete subtree (level, index); stored with the leaf that completed it."""
        seq = (index + 1) << level
        rows = self._query("SELECT hash, nodes FROM events WHERE seq = ?", (seq,))
        if not rows:
            raise merkle.ProofError(f"subtree ({level}, {index}) is beyond the journal")
        leaf, nodes = rows[0]
        if level == 0:
            return bytes(leaf)
        found = bytes(nodes[(level - 1) * 32 : level * 32])
        if len(found) != 32:
            raise JournalError(f"stored subtree hashes of seq {seq} are damaged")
        return found

    def root_at(self, size: int) -> bytes:
        if size > self.size():
            raise merkle.ProofError(f"the journal has fewer than {size} events")
        return merkle.root_at(self.node, size)

    def inclusion_proof(self, seq: int, size: int) -> list[bytes]:
        if size > self.size():
            raise merkle.ProofError(f"the journal has fewer than {size} events")
        return merkle.inclusion_proof(self.node, seq - 1, size)

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        if new_size > self.size():
            raise merkle.ProofError(f"the journal has fewer than {new_size} events")
        return merkle.consistency_proof(self.node, old_size, new_size)

    def leaf_rows(self, start: int = 1, batch: int = 5000) -> Iterator[tuple[int, bytes, bytes]]:
        """(seq, leaf hash, stored subtree hashes) in seq order, for rebuilding the tree."""
        after = start - 1
        while True:
            rows = self._query(
                "SELECT seq, hash, nodes FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                (after, batch),
            )
            for seq, leaf, nodes in rows:
                yield seq, as_bytes(leaf), as_bytes(nodes)
            if len(rows) < batch:
                return
            after = rows[-1][0]

    def raw_rows(
        self, start: int = 1, batch: int = 2000
    ) -> Iterator[tuple[int, str, str, str, str, bytes, bytes, bytes]]:
        """Every stored column, in seq order, for verification."""
        after = start - 1
        while True:
            rows = self._query(
                "SELECT seq, event_id, type, subject, ts, body, hash, nodes FROM events "
                "WHERE seq > ? ORDER BY seq LIMIT ?",
                (after, batch),
            )
            for r in rows:
                yield r[0], r[1], r[2], r[3], r[4], as_bytes(r[5]), as_bytes(r[6]), as_bytes(r[7])
            if len(rows) < batch:
                return
            after = rows[-1][0]
