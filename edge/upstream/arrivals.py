"""Batches of one station stored in the order they arrived at this process.

A station keeps more than one batch on the wire; the upstream checks them side by side, and
one that finishes its checks first would take the station's row first and be answered with a
gap (it starts beyond what is held; the station sends it again). Each ingest takes a turn when
its request arrives and stores only after the turns before it ended, whatever their outcome.
Across processes nothing is ordered: there the gap answer stays the rule, and a turn that
waited too long goes ahead for the same reason.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Hashable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Turn:
    before: asyncio.Event | None  # set once every turn before this one ended
    done: asyncio.Event  # set once this turn and every one before it ended

    async def wait(self, timeout_s: float) -> bool:
        """Until the turns before this one ended (True), or `timeout_s` passed (False)."""
        if self.before is None or self.before.is_set():
            return True
        try:
            await asyncio.wait_for(self.before.wait(), timeout_s)
        except TimeoutError:
            return False
        return True


@dataclass
class ArrivalOrder:
    """Per key (a station), the turns in arrival order; used from one event loop."""

    _last: dict[Hashable, asyncio.Event] = field(default_factory=dict)
    _passing: set[asyncio.Future[Any]] = field(default_factory=set)  # kept till they run

    @contextlib.asynccontextmanager
    async def turn(self, key: Hashable) -> AsyncIterator[Turn]:
        """A turn for `key`, taken now and ended on leaving (also when cancelled)."""
        turn = Turn(self._last.get(key), asyncio.Event())
        self._last[key] = turn.done
        try:
            yield turn
        finally:
            if turn.before is None or turn.before.is_set():
                self._end(key, turn.done)
            else:  # a turn that ended early (refused, cancelled) still passes on the order
                waiter = asyncio.ensure_future(turn.before.wait())
                self._passing.add(waiter)
                waiter.add_done_callback(self._passing.discard)
                waiter.add_done_callback(lambda _: self._end(key, turn.done))

    def _end(self, key: Hashable, done: asyncio.Event) -> None:
        done.set()
        if self._last.get(key) is done:
            del self._last[key]

    def __len__(self) -> int:
        """Keys with a turn not yet ended."""
        return len(self._last)
