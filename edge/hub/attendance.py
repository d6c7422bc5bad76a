"""Who attends which part of the station: the people signed in here, the device slots and flows
(dock, bench) each one watches, and who a device's reading is credited to.

A sign-in may claim flows or device slots (`attends`); without a claim a person attends their
role's flow (an operator the dock, a technician the bench) when the station runs it, else every
flow of the station. A reading from a slot is credited to the best-placed person attending it:
one who claimed the slot by name, then one who claimed its flow, then one whose role's flow it
is, then one who attends it only because their role's flow is not here; among equals, the
latest to sign in. Nobody attending: the reading is the station's, unattended.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from edge.journal import EventType
from edge.journal.events import format_ts
from stations.workflow import UNATTENDED, Outcome

ROLE_FLOWS: dict[str, str] = {"operator": "dock", "technician": "bench"}  # admin: none its own

_SLOT = 3  # claimed the slot by name
_CLAIMED = 2  # claimed the slot's flow
_ROLE = 1  # the flow of their role
_FALLBACK = 0  # their role's flow is not at this station, so they attend every flow


@dataclass(frozen=True)
class SignIn:
    operator_id: str
    name: str
    role: str
    method: str
    expires_at: datetime
    attends: tuple[str, ...] = ()  # flows or device slots; empty: the role's flow


SignOutReason = Literal["signed_out", "expired", "session_ended"]


@dataclass(frozen=True)
class SignOut:
    """A session ended here: signed out, ran out, or ended elsewhere (revoked, disabled)."""

    operator_id: str
    reason: SignOutReason
    still_signed_in: bool = False  # another session of theirs is open here: still attending
    name: str | None = None
    role: str | None = None


class AttendsError(ValueError):
    """A claim names neither a flow of this station nor one of its device slots."""


@dataclass(frozen=True)
class Attendant:
    """One person signed in at the station and what they attend."""

    operator_id: str
    name: str
    role: str
    since: datetime
    expires_at: datetime
    claims: tuple[str, ...]  # as the sign-in gave them; empty: the role's default
    slots: frozenset[str]
    flows: tuple[tuple[str, int], ...]  # (flow, how closely: _CLAIMED, _ROLE or _FALLBACK)

    def rank(self, slot: str, flow: str | None) -> int:
        """How closely this person attends readings from `slot` (feeding `flow`); -1: not."""
        if slot in self.slots:
            return _SLOT
        return max((rank for name, rank in self.flows if name == flow), default=-1)

    @property
    def attending(self) -> dict[str, list[str]]:
        return {"flows": [name for name, _ in self.flows], "slots": sorted(self.slots)}


def resolve_claims(
    claims: Sequence[str], role: str, flows: Sequence[str], slots: Iterable[str]
) -> tuple[frozenset[str], tuple[tuple[str, int], ...]]:
    """The slots and ranked flows a sign-in attends; AttendsError names a claim that is
    neither a flow nor a slot here."""
    known_slots = set(slots)
    unknown = [c for c in claims if c not in flows and c not in known_slots]
    if unknown:
        raise AttendsError(
            f"attends: {', '.join(repr(c) for c in unknown)} is not a flow of this station "
            f"({', '.join(flows)}) nor one of its device slots "
            f"({', '.join(sorted(known_slots)) or 'none'})"
        )
    if claims:
        claimed = tuple((f, _CLAIMED) for f in flows if f in claims)
        return frozenset(c for c in claims if c in known_slots), claimed
    own = ROLE_FLOWS.get(role)
    if own in flows:
        return frozenset(), ((str(own), _ROLE),)
    return frozenset(), tuple((f, _FALLBACK) for f in flows)


class Attendance:
    """The people attending the station now. Changed by the hub's workflow thread, read by the
    bus side too (hence the lock)."""

    def __init__(self) -> None:
        self._people: dict[str, Attendant] = {}
        self._left: set[str] = set()  # stopped attending, not signed in here again since
        self._lock = threading.Lock()

    def attend(self, attendant: Attendant) -> None:
        """Start (or, signing in again, replace) what a person attends."""
        with self._lock:
            self._people[attendant.operator_id] = attendant
            self._left.discard(attendant.operator_id)

    def leave(self, operator_id: str) -> Attendant | None:
        with self._lock:
            self._left.add(operator_id)
            return self._people.pop(operator_id, None)

    def has_left(self, operator_id: str) -> bool:
        """Whether this person stopped attending (signed out, ran out) and is not back."""
        with self._lock:
            return operator_id in self._left

    def get(self, operator_id: str) -> Attendant | None:
        with self._lock:
            return self._people.get(operator_id)

    def people(self) -> list[Attendant]:
        """Everyone attending, first signed in first."""
        with self._lock:
            return sorted(self._people.values(), key=lambda a: a.since)

    def expired(self, now: datetime) -> list[Attendant]:
        """Whose session has run out (they are still listed until `leave`)."""
        return [a for a in self.people() if a.expires_at <= now]

    def credit(self, slot: str, flow: str | None, now: datetime) -> str:
        """Who a reading from `slot` is credited to, or UNATTENDED."""
        best: tuple[int, datetime] | None = None
        who = UNATTENDED
        for attendant in self.people():
            if attendant.expires_at <= now:
                continue
            rank = attendant.rank(slot, flow)
            if rank < 0:
                continue
            key = (rank, attendant.since)
            if best is None or key >= best:
                best, who = key, attendant.operator_id
        return who


def sign_out_event(outcome: Outcome, item: SignOut, expired_at: datetime | None = None) -> None:
    """Journal the end of a session (`operator.signed_out`)."""
    payload: dict[str, Any] = {
        "name": item.name,
        "role": item.role,
        "reason": item.reason,
        "still_signed_in": item.still_signed_in,
    }
    if expired_at is not None and item.reason == "expired":
        payload["expired_at"] = format_ts(expired_at)
    outcome.add(EventType.OPERATOR_SIGNED_OUT, item.operator_id, item.operator_id, payload)
    outcome.message = f"{item.name or item.operator_id} signed out."
