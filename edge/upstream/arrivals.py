"""Batches of one station checked and stored in the order they arrived at this process.

A station keeps more than one batch on the wire; the upstream checks one while it stores the one
before, and a batch that finished its checks first would take the station's row first and be
answered with a gap (it starts beyond what is held; the station sends it again). Each ingest
takes a turn when its request arrives and goes on only after the turns before it ended,
whatever their outcome.

A turn does not wait for ever: each has a deadline, `wait_s` after the later of its arrival and
the deadline of the turn before it. Behind a request stuck mid-body the next turn goes ahead
once, `wait_s` later, and the ones after it keep their order behind that one instead of all
giving up together. Across processes nothing is ordered: there the gap answer is the rule.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Hashable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Turn:
    before: asyncio.Event | None  # set once every turn before this one ended
    done: asyncio.Event  # set once this turn and every one before it ended (or were given up)
    deadline: float  # monotonic time after which this turn stops waiting for those before
    gave_up: bool = False

    async def wait(self) -> bool:
        """Until the turns before this one ended (True), or its deadline passed (False)."""
        if self.before is None or self.before.is_set():
            return True
        try:
            await asyncio.wait_for(self.before.wait(), max(0.0, self.deadline - time.monotonic()))
        except TimeoutError:
            self.gave_up = True
            return False
        return True


@dataclass
class ArrivalOrder:
    """Per key (a station), the turns in arrival order. Its events are made inside `turn`, so
    one instance serves any event loop."""

    wait_s: float = 10.0
    _last: dict[Hashable, Turn] = field(default_factory=dict)
    _passing: set[asyncio.Future[Any]] = field(default_factory=set)  # kept till they run

    @contextlib.asynccontextmanager
    async def turn(self, key: Hashable) -> AsyncIterator[Turn]:
        """A turn for `key`, taken now (no await before it is in line) and ended on leaving,
        also when cancelled."""
        now, last = time.monotonic(), self._last.get(key)
        if last is None or last.done.is_set():
            turn = Turn(None, asyncio.Event(), now)
        else:
            turn = Turn(last.done, asyncio.Event(), max(now, last.deadline) + self.wait_s)
        self._last[key] = turn
        try:
            yield turn
        finally:
            if turn.before is None or turn.before.is_set() or turn.gave_up:
                self._end(key, turn)
            else:  # a turn that ended early (refused, cancelled) still passes on the order
                waiter = asyncio.ensure_future(turn.before.wait())
                self._passing.add(waiter)
                waiter.add_done_callback(self._passing.discard)
                waiter.add_done_callback(lambda _: self._end(key, turn))

    def _end(self, key: Hashable, turn: Turn) -> None:
        turn.done.set()
        if self._last.get(key) is turn:
            del self._last[key]

    def __len__(self) -> int:
        """Keys with a turn not yet ended."""
        return len(self._last)
