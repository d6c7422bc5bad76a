"""A TCP proxy between the station and its upstream that cuts connections at random, or all of
them while the link is 'down': the flapping warehouse uplink, on loopback."""

from __future__ import annotations

import random
import socket
import struct
import threading
import time


def _reset(sock: socket.socket) -> None:
    try:  # RST, not FIN: the peer sees a dropped link, not a polite close
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # The other pump may be blocked in recv() on this socket, and close() alone leaves the
        # connection open until that call returns: the peer would wait for its read timeout.
        sock.shutdown(socket.SHUT_RD)
    except OSError:
        pass
    sock.close()


class FlakyProxy:
    """`drop`: the share of connections cut after a random number of bytes. `hold_post`: the
    n-th POST (1-based) is held `hold_s` before it is passed on, so a request sent after it on
    another connection arrives first."""

    def __init__(
        self,
        target_port: int,
        *,
        drop: float = 0.0,
        seed: int = 7,
        hold_post: int | None = None,
        hold_s: float = 0.5,
    ) -> None:
        self.target_port, self.drop = target_port, drop
        self.hold_post, self.hold_s, self.posts = hold_post, hold_s, 0
        self.up = True
        self.cuts = 0
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))  # the kernel's pick: no race
        self.port: int = self._listener.getsockname()[1]
        self._listener.settimeout(0.2)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FlakyProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped.set()
        self._thread.join(5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self.up:
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                _reset(client)
                continue
            with self._lock:
                budget = (
                    self._random.randint(0, 6000) if self._random.random() < self.drop else None
                )
            pair = [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(
                    target=self._pump,
                    args=(source, sink, pair, budget, source is client),
                    daemon=True,
                ).start()

    def _pump(
        self,
        source: socket.socket,
        sink: socket.socket,
        pair: list[socket.socket],
        budget: int | None,
        outbound: bool,
    ) -> None:
        moved = 0
        try:
            while True:
                data = source.recv(4096)
                if not data or not self.up:
                    break
                if outbound and data.startswith(b"POST "):
                    with self._lock:
                        self.posts += 1
                        hold = self.posts == self.hold_post
                    if hold:
                        time.sleep(self.hold_s)
                if budget is not None and moved + len(data) > budget:
                    sink.sendall(data[: max(0, budget - moved)])
                    with self._lock:
                        self.cuts += 1
                    break
                sink.sendall(data)
                moved += len(data)
        except OSError:
            pass
        for sock in pair:
            _reset(sock)
