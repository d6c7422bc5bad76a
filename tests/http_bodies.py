"""Sending large request bodies and seeing how much of them the server read: an ASGI call whose
`receive` counts the bytes the app pulled, and a raw socket to a real uvicorn that stops
sending as soon as an answer arrives."""

from __future__ import annotations

import json
import select
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Message

CHUNK = 64 * 1024
_FILLER = b"x" * CHUNK


@dataclass
class Answer:
    status: int
    body: bytes
    pulled: int  # bytes of the request body the app read

    def json(self) -> Any:
        return json.loads(self.body)


def asgi_call(
    client: TestClient,
    method: str,
    path: str,
    size: int,
    headers: dict[str, str] | None = None,
    declare_length: bool = False,
) -> Answer:
    """Send `size` bytes of body in 64 KiB chunks to the started app behind `client`, with or
    without a Content-Length, and count what the app pulls."""
    assert client.portal is not None, "start the client first (with TestClient(app) as client)"
    sent_headers = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    if declare_length:
        sent_headers.append((b"content-length", str(size).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": sent_headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    state = {"left": size, "pulled": 0, "done": False}
    status: list[int] = []
    body: list[bytes] = []

    async def receive() -> Message:
        if state["done"]:
            return {"type": "http.disconnect"}
        take = min(CHUNK, state["left"])
        state["left"] -= take
        state["pulled"] += take
        more = state["left"] > 0
        state["done"] = not more
        return {"type": "http.request", "body": _FILLER[:take], "more_body": more}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])
        elif message["type"] == "http.response.body":
            body.append(message.get("body", b""))

    app: ASGIApp = client.app

    async def call() -> None:
        await app(scope, receive, send)

    client.portal.call(call)
    return Answer(status[0], b"".join(body), int(state["pulled"]))


@contextmanager
def uvicorn_server(app: ASGIApp) -> Iterator[tuple[str, int]]:
    """The app served by a real uvicorn (h11) on a free local port, in a thread."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", lifespan="on", http="h11")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            thread.join(0.05)
        yield sock.getsockname()
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


def send_chunked(
    address: tuple[str, int], method: str, path: str, size: int, headers: dict[str, str]
) -> tuple[int, bytes, int]:
    """Send a chunked body of `size` bytes, stopping as soon as the server answers; the status,
    the answer's bytes, and how many body bytes were sent before it came."""
    sock = socket.create_connection(address)
    try:
        head = f"{method} {path} HTTP/1.1\r\nHost: {address[0]}\r\nTransfer-Encoding: chunked\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        sock.sendall(head.encode())
        sock.setblocking(False)
        pending, sent, answer = b"", 0, b""
        while True:
            if not pending and sent < size:
                take = min(CHUNK, size - sent)
                pending = f"{take:x}\r\n".encode() + _FILLER[:take] + b"\r\n"
                sent += take
            elif not pending and sent == size:
                pending, sent = b"0\r\n\r\n", size + 1  # the last chunk, once
            readable, writable, _ = select.select([sock], [sock] if pending else [], [], 60)
            if not readable and not writable:
                raise TimeoutError("the server neither answered nor read for 60 s")
            if readable:
                answer = _read_answer(sock)
                break
            try:
                pending = pending[sock.send(pending) :]
            except BlockingIOError:
                continue
            except (ConnectionResetError, BrokenPipeError):
                # the server answered and closed while this was still sending: its reset can
                # win the race with select(), but the answer stays readable (Linux keeps it)
                answer = _read_answer(sock)
                break
        status = int(answer.split(b" ", 2)[1])
        return status, answer.partition(b"\r\n\r\n")[2], min(sent, size)
    finally:
        sock.close()


def _read_answer(sock: socket.socket) -> bytes:
    sock.setblocking(True)
    sock.settimeout(60)
    data = b""
    while b"\r\n\r\n" not in data:
        got = sock.recv(65536)
        if not got:
            return data
        data += got
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    while len(rest) < length:
        got = sock.recv(65536)
        if not got:
            break
        rest += got
    return head + b"\r\n\r\n" + rest
