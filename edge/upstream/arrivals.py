"""Batches of one station checked and stored in the order they arrived at this process.

A station keeps more than one batch on the wire; the upstream checks one while it stores the one
before, and a batch that finished its checks first would take the station's row first and be
answered with a gap (it starts beyond what is held; the station sends it again). Each ingest
takes a turn when its request arrives and goes on only after the turns before it ended,
whatever their outcome. A turn that waited `timeout_s` goes ahead (the gap answer stays the
rule), and from then on no later turn waits for the ones it gave up on. Across processes
nothing is ordered: there the gap answer is the rule.
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
    done: asyncio.Event  # set once this turn and every one before it ended (or were given up)
    gave_up: bool = False  # waited too long for the turns before: they no longer hold anyone

    async def wait(self, timeout_s: float) -> bool:
        """Until the turns before this one ended (True), or `timeout_s` passed (False)."""
        if self.before is None or self.before.is_set():
            return True
        try:
            await asyncio.wait_for(self.before.wait(), timeout_s)
        except TimeoutError:
            self.gave_up = True
            return False
        return True


@dataclass
class ArrivalOrder:
    """Per key (a station), the turns in arrival order. Its events are made inside `turn`, so
    one instance serves any event loop."""

    _last: dict[Hashable, asyncio.Event] = field(default_factory=dict)
    _passing: set[asyncio.Future[Any]] = field(default_factory=set)  # kept till they run

    @contextlib.asynccontextmanager
    async def turn(self, key: Hashable) -> AsyncIterator[Turn]:
        """A turn for `key`, taken now (no await before it is in line) and ended on leaving,
        also when cancelled."""
        turn = Turn(self._last.get(key), asyncio.Event())
        self._last[key] = turn.done
        try:
            yield turn
        finally:
            if turn.before is None or turn.before.is_set() or turn.gave_up:
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
