"""Fan-out of live messages (journal events, readings, device status) to connected screens.

A message is encoded to JSON text once, whatever the number of screens.

Each screen has a bounded queue. One that falls too far behind is told so and dropped rather
than slowing the hub: it reconnects and catches up from the journal API (events carry seq).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)
Message = dict[str, Any]


@dataclass(eq=False)
class Listener:
    """One screen's messages (JSON text) not yet sent. Used on the event loop's thread."""

    max_backlog: int
    pending: deque[str] = field(default_factory=deque)
    lagged: bool = False
    _wakeup: asyncio.Future[None] | None = None

    def push(self, text: str) -> bool:
        """Queue a message; False (and lagged from now on) when the backlog is full."""
        if len(self.pending) >= self.max_backlog:
            self.lagged = True
            self.wake()
            return False
        self.pending.append(text)
        self.wake()
        return True

    def wake(self) -> None:
        """End the current `wait` (a message came, or the screen went away)."""
        if self._wakeup is not None and not self._wakeup.done():
            self._wakeup.set_result(None)

    async def wait(self, within: float) -> bool:
        """Until there is something to send or `within` seconds pass (or `wake`); True if there is.
        One future for the wait: a message reaches its screen's task in one loop turn."""
        if self.pending or self.lagged:
            return True
        self._wakeup = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(within):
                await self._wakeup
        except TimeoutError:
            pass
        finally:
            self._wakeup = None
        return bool(self.pending) or self.lagged

    def burst(self) -> Iterator[str]:
        """The messages queued now, oldest first, each taken (its backlog slot freed) as it is
        reached; what comes meanwhile is left for the next burst."""
        for _ in range(len(self.pending)):
            yield self.pending.popleft()


@dataclass
class Broadcaster:
    """Call `publish…` on the event loop's thread."""

    max_backlog: int = 1000
    _listeners: set[Listener] = field(default_factory=set)
    published: int = 0
    dropped_listeners: int = 0

    def publish(self, message: Message) -> None:
        self.publish_encoded([json.dumps(message, separators=(",", ":"))])

    def publish_encoded(self, texts: list[str]) -> None:
        """Messages already encoded as JSON objects."""
        for text in texts:
            self.published += 1
            for listener in self._listeners:
                if not listener.lagged and not listener.push(text):
                    self.dropped_listeners += 1
                    log.warning("screen fell %d messages behind; dropping it", self.max_backlog)

    @property
    def listeners(self) -> int:
        return len(self._listeners)

    @asynccontextmanager
    async def listen(self) -> AsyncIterator[Listener]:
        listener = Listener(self.max_backlog)
        self._listeners.add(listener)
        try:
            yield listener
        finally:
            self._listeners.discard(listener)
