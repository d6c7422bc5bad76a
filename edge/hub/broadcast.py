"""Fan-out of live messages (journal events, readings, device status) to connected screens.

A message is encoded to JSON text once, whatever the number of screens.

Each screen has a bounded queue. One that falls too far behind is told so and dropped rather
than slowing the hub: it reconnects and catches up from the journal API (events carry seq).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)
Message = dict[str, Any]


@dataclass(eq=False)
class Listener:
    queue: asyncio.Queue[str]  # JSON text
    lagged: bool = False


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
            for listener in list(self._listeners):
                if listener.lagged:
                    continue
                try:
                    listener.queue.put_nowait(text)
                except asyncio.QueueFull:
                    listener.lagged = True
                    self.dropped_listeners += 1
                    log.warning("screen fell %d messages behind; dropping it", self.max_backlog)

    @property
    def listeners(self) -> int:
        return len(self._listeners)

    @asynccontextmanager
    async def listen(self) -> AsyncIterator[Listener]:
        listener = Listener(asyncio.Queue(self.max_backlog))
        self._listeners.add(listener)
        try:
            yield listener
        finally:
            self._listeners.discard(listener)
