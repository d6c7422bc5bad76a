"""The live stream's WebSocket is a body too: before its hello is checked, a stranger's message
is held to the JSON body cap by the hub's own server settings (uvicorn's default is 16 MiB a
message, 32 messages queued), so a few unauthenticated sockets cannot fill a Pi's memory."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from pathlib import Path

import uvicorn
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from edge.hub.serve import server_config
from edge.limits import MAX_JSON_BODY_BYTES
from tests.api.conftest import build_hub


def test_an_over_size_stream_message_closes_the_socket_unread(tmp_path: Path) -> None:
    app, _, _ = build_hub(tmp_path)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = server_config(app, "127.0.0.1", sock.getsockname()[1])
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    host, port = sock.getsockname()

    async def hello(size: int) -> int | None:
        async with connect(f"ws://{host}:{port}/api/v1/stream", max_size=None) as ws:
            await ws.send('{"token": "' + "x" * size + '"}')
            with contextlib.suppress(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 10)
            await asyncio.wait_for(ws.wait_closed(), 10)
            assert ws.close_code is not None
            return ws.close_code

    try:
        while not server.started:
            assert thread.is_alive(), "uvicorn did not start"
            thread.join(0.05)
        assert asyncio.run(hello(100)) == 4401  # a small bad hello: refused as before
        assert asyncio.run(hello(MAX_JSON_BODY_BYTES + 1)) == 1009  # message too big
    finally:
        server.should_exit = True
        thread.join(30)
