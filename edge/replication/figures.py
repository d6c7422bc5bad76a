"""The replicator's figures: its state, counts, and the refusal or problem a person must see."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from edge.replication.client import UpstreamRefused

Status = Literal["starting", "idle", "sending", "away", "alarm", "off"]
STATUSES: tuple[Status, ...] = ("starting", "idle", "sending", "away", "alarm", "off")
MAX_REASON_CHARS = 500


@dataclass(frozen=True)
class Refusal:
    """A batch the upstream refused: which events, and what it said."""

    first: int
    last: int
    status: int
    code: str
    reason: str
    seq: int | None  # the event it named, when it named one
    at: str

    @classmethod
    def of(cls, first: int, last: int, refused: UpstreamRefused, at: str) -> Refusal:
        return cls(
            first,
            last,
            refused.status,
            refused.code,
            refused.message[:MAX_REASON_CHARS],
            _named_seq(first, refused.body),
            at,
        )

    def describe(self) -> str:
        where = f" at seq {self.seq}" if self.seq is not None else ""
        return (
            f"upstream refused events {self.first}..{self.last}{where} "
            f"({self.status} {self.code}): {self.reason}"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "first": self.first,
            "last": self.last,
            "seq": self.seq,
            "status": self.status,
            "code": self.code,
            "reason": self.reason,
            "at": self.at,
        }


def _named_seq(first: int, body: dict[str, Any]) -> int | None:
    """The seq an ingest refusal names: its `seq`, or the event a validation error points at
    (`loc` ["body", "events", i, …] is the batch's i-th event)."""
    seq = body.get("seq")
    if isinstance(seq, int) and not isinstance(seq, bool):
        return seq
    details = body.get("details")
    for detail in details if isinstance(details, list) else []:
        loc = detail.get("loc") if isinstance(detail, dict) else None
        if isinstance(loc, list) and "events" in loc:
            index = loc.index("events") + 1
            if index < len(loc) and isinstance(loc[index], int):
                return first + int(loc[index])
    return None


@dataclass
class ReplicatorStats:
    status: Status = "starting"
    upstream_size: int = 0
    batches: dict[str, int] = field(default_factory=dict)  # by outcome
    events_sent: int = 0
    blobs_sent: int = 0
    manifest_records: int = 0
    refused_batches: int = 0  # every refused attempt, retries included
    refusal: Refusal | None = None  # the latest, until a round succeeds
    last_ok_at: str = ""
    last_error: str = ""
    alarm: str = ""
    problem: str = ""  # why replication is off (no token yet)
    retry_in_s: float = 0.0

    def count(self, outcome: str) -> None:
        self.batches[outcome] = self.batches.get(outcome, 0) + 1

    def snapshot(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "upstream_size": self.upstream_size,
            "events_sent": self.events_sent,
            "blobs_sent": self.blobs_sent,
            "manifest_records": self.manifest_records,
            "batches": dict(self.batches),
            "refused_batches": self.refused_batches,
            "refused": self.refusal.as_json() if self.refusal is not None else None,
            "last_ok_at": self.last_ok_at or None,
            "last_error": self.last_error or None,
            "alarm": self.alarm or None,
            "problem": self.problem or None,
            "retry_in_s": self.retry_in_s if self.status in ("away", "alarm") else None,
        }
