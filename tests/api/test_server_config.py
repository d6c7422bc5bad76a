"""The hub as its own server settings serve it (`edge.hub.serve.server_config`), through a real
uvicorn: what a stranger can make it hold, and whose address a request counts as."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import uvicorn
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from edge.hub.serve import server_config
from edge.limits import MAX_JSON_BODY_BYTES
from tests.api.conftest import SIGN_IN, build_hub


@contextlib.contextmanager
def hub_server(tmp_path: Path) -> Iterator[tuple[str, int]]:
    app, _, _ = build_hub(tmp_path)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(server_config(app, "127.0.0.1", sock.getsockname()[1]))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive(), "uvicorn did not start"
            thread.join(0.05)
        yield sock.getsockname()
    finally:
        server.should_exit = True
        thread.join(30)


def test_an_over_size_stream_message_closes_the_socket_unread(tmp_path: Path) -> None:
    """The live stream's WebSocket is a body too: before its hello is checked, a stranger's
    message is held to the JSON body cap (uvicorn's default is 16 MiB a message, 32 queued)."""

    async def hello(host: str, port: int, size: int) -> int | None:
        async with connect(f"ws://{host}:{port}/api/v1/stream", max_size=None) as ws:
            await ws.send('{"token": "' + "x" * size + '"}')
            with contextlib.suppress(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 10)
            await asyncio.wait_for(ws.wait_closed(), 10)
            assert ws.close_code is not None
            return ws.close_code

    with hub_server(tmp_path) as (host, port):
        assert asyncio.run(hello(host, port, 100)) == 4401  # a small bad hello: refused as before
        assert asyncio.run(hello(host, port, MAX_JSON_BODY_BYTES + 1)) == 1009  # too big


def test_a_forwarded_for_header_does_not_make_a_new_client(tmp_path: Path) -> None:
    """The hub has no proxy in front: a local process naming another address in
    X-Forwarded-For on each try would otherwise never be held back (sign-in backoff)."""
    with hub_server(tmp_path) as (host, port), httpx.Client(base_url=f"http://{host}:{port}") as c:
        answers = [
            c.post(
                SIGN_IN,
                json={"badge": "BADGE-OLGA", "pin": "482604"},
                headers={"X-Forwarded-For": f"10.9.8.{n}", "Forwarded": f"for=10.9.8.{n}"},
            ).status_code
            for n in range(4)
        ]
    assert answers == [401, 401, 401, 429]
