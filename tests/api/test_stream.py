"""The live stream for screens (`/api/v1/stream`): a token first, then a hello, then every
journal event as it is appended, with the seq the journal API reports."""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from edge.api import station as station_api
from edge.hub.broadcast import Broadcaster, Listener
from edge.operators import OPERATORS_FILE, OperatorStore, Role
from tests.api.conftest import MANIFEST, Station

STREAM = "/api/v1/stream"


def receive_within(ws: WebSocketTestSession, seconds: float = 10.0) -> Any:
    """The next JSON message, or a failure rather than a hung test if none comes."""
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(ws.receive_json).result(timeout=seconds)
    finally:
        pool.shutdown(wait=False)


@pytest.mark.parametrize(
    "first_message",
    [
        '{"token": "made-up-token"}',
        '{"token": 42}',
        '{"no_token": "here"}',
        '["a", "list"]',
        "not json at all",
        "",
    ],
)
def test_a_bad_or_missing_token_gets_an_error_and_the_socket_closes(
    station: Station, first_message: str
) -> None:
    with station.client.websocket_connect(STREAM) as ws:
        ws.send_text(first_message)
        assert receive_within(ws) == {"type": "error", "error": "unauthorized"}
        with pytest.raises(WebSocketDisconnect) as closed:
            receive_within(ws)
        assert closed.value.code == 4401


def test_a_signed_out_token_is_refused(station: Station) -> None:
    token = station.tokens[Role.OPERATOR]
    assert station.call("POST", "/api/v1/auth/sign-out", Role.OPERATOR).status_code == 204
    with station.client.websocket_connect(STREAM) as ws:
        ws.send_json({"token": token})
        assert receive_within(ws) == {"type": "error", "error": "unauthorized"}
        with pytest.raises(WebSocketDisconnect) as closed:
            receive_within(ws)
        assert closed.value.code == 4401


def test_hello_then_the_events_of_a_typed_scan_with_their_journal_seq(station: Station) -> None:
    with station.client.websocket_connect(STREAM) as ws:
        ws.send_json({"token": station.tokens[Role.OPERATOR]})
        hello = receive_within(ws)
        size = station.journal()["size"]
        assert hello == {"type": "hello", "station": "dock-1", "journal_size": size}

        answer = station.call("POST", "/api/v1/scans", Role.OPERATOR, json={"code": "NOPE-77"})
        assert answer.status_code == 200, answer.text
        streamed = [receive_within(ws), receive_within(ws)]
        assert [m["type"] for m in streamed] == ["event", "event"]
        events = [m["event"] for m in streamed]
        assert [(e["type"], e["subject"]) for e in events] == [
            ("label.scanned", "label:NOPE-77"),
            ("exception.raised", "label:NOPE-77"),
        ]
        assert events[1]["payload"]["exception"] == "unknown_label"
        # the same events, seq and hash as the action's answer and the journal API
        assert events == answer.json()["events"]
        assert [e["seq"] for e in events] == [size + 1, size + 2]
        assert station.journal(after=size)["events"] == events


def test_an_admins_manifest_import_reaches_an_operators_screen(station: Station) -> None:
    with station.client.websocket_connect(STREAM) as ws:
        ws.send_json({"token": station.tokens[Role.OPERATOR]})
        assert receive_within(ws)["type"] == "hello"
        answer = station.call("POST", "/api/v1/manifest", Role.ADMIN, json={"returns": MANIFEST})
        assert answer.status_code == 200, answer.text
        streamed = [receive_within(ws)["event"] for _ in MANIFEST]
        assert [e["type"] for e in streamed] == ["manifest.synced"] * len(MANIFEST)
        assert sorted(e["subject"] for e in streamed) == ["R-1001", "R-1002"]
        journalled = station.journal(type="manifest.synced")["events"]
        assert [e["seq"] for e in streamed] == [e["seq"] for e in journalled]


def test_two_screens_see_the_same_events_and_a_refusal_sends_nothing(station: Station) -> None:
    with (
        station.client.websocket_connect(STREAM) as first,
        station.client.websocket_connect(STREAM) as second,
    ):
        first.send_json({"token": station.tokens[Role.OPERATOR]})
        second.send_json({"token": station.tokens[Role.TECHNICIAN]})
        assert receive_within(first)["type"] == receive_within(second)["type"] == "hello"
        # refused (no package at the dock): nothing journalled, nothing streamed
        refused = station.call("POST", "/api/v1/dock/seal", Role.OPERATOR, json={"intact": True})
        assert refused.status_code == 409
        scan = station.call("POST", "/api/v1/scans", Role.OPERATOR, json={"code": "NOPE-78"})
        assert scan.status_code == 200
        first_seen = [receive_within(first)["event"]["seq"] for _ in range(2)]
        second_seen = [receive_within(second)["event"]["seq"] for _ in range(2)]
        assert first_seen == second_seen == [e["seq"] for e in scan.json()["events"]]


def test_the_stream_ends_when_its_session_is_signed_out(station: Station) -> None:
    with station.client.websocket_connect(STREAM) as ws:
        ws.send_json({"token": station.tokens[Role.OPERATOR]})
        assert receive_within(ws)["type"] == "hello"
        assert station.call("POST", "/api/v1/auth/sign-out", Role.OPERATOR).status_code == 204
        scan = station.call("POST", "/api/v1/scans", Role.TECHNICIAN, json={"code": "NOPE-79"})
        assert scan.status_code == 200
        # the scan's events are not shown to a screen whose operator has gone
        assert receive_within(ws) == {"type": "error", "error": "unauthorized"}
        with pytest.raises(WebSocketDisconnect) as closed:
            receive_within(ws)
        assert closed.value.code == 4401


def test_an_idle_stream_ends_when_its_operator_is_disabled(
    station: Station, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(station_api, "STREAM_SESSION_CHECK_S", 0.05)
    with station.client.websocket_connect(STREAM) as ws:
        ws.send_json({"token": station.tokens[Role.TECHNICIAN]})
        assert receive_within(ws)["type"] == "hello"
        disabled = station.call(
            "PATCH", "/api/v1/operators/tom", Role.ADMIN, json={"disabled": True}
        )
        assert disabled.status_code == 200 and disabled.json()["disabled"] is True
        assert receive_within(ws) == {"type": "error", "error": "unauthorized"}
        with pytest.raises(WebSocketDisconnect):
            receive_within(ws)


def test_a_busy_stream_ends_soon_after_another_process_disables_its_operator(
    station: Station,
) -> None:
    """`edge operator disable` runs in its own process, with its own connection to the file."""
    with station.client.websocket_connect(STREAM) as ws:
        ws.send_json({"token": station.tokens[Role.TECHNICIAN]})
        assert receive_within(ws)["type"] == "hello"
        with OperatorStore(station.data_dir / OPERATORS_FILE) as cli_store:
            cli_store.update_operator("tom", disabled=True, now=datetime.now(UTC))
        seen: list[str] = []
        # keep the stream busy: each scan is two events for every screen still allowed them
        for n in range(40):
            station.call("POST", "/api/v1/scans", Role.OPERATOR, json={"code": f"NOPE-9{n}"})
            message = receive_within(ws)
            seen.append(message["type"])
            if message["type"] == "error":
                break
            time.sleep(0.05)
        # it ended while messages were flowing (40 scans take well over STREAM_RECHECK_S)
        assert seen[-1] == "error", seen
        assert seen.count("event") < 2 * 40
        with pytest.raises(WebSocketDisconnect) as closed:
            receive_within(ws)
        assert closed.value.code == 4401


def test_a_screen_that_falls_behind_gets_what_was_queued_then_lagged(station: Station) -> None:
    hub = station.app.state.services.hub
    hub.broadcaster.max_backlog = 3
    with station.client.websocket_connect(STREAM) as ws:
        ws.send_json({"token": station.tokens[Role.OPERATOR]})
        assert receive_within(ws)["type"] == "hello"

        def burst() -> None:  # on the event loop, all at once: the screen cannot keep up
            for n in range(1, 8):
                hub.broadcaster.publish({"type": "reading", "n": n})

        portal = station.client.portal
        assert portal is not None
        portal.call(burst)
        assert [receive_within(ws) for _ in range(4)] == [
            {"type": "reading", "n": 1},
            {"type": "reading", "n": 2},
            {"type": "reading", "n": 3},
            {"type": "lagged"},
        ]
        with pytest.raises(WebSocketDisconnect):
            receive_within(ws)
    assert hub.broadcaster.dropped_listeners == 1
    assert hub.broadcaster.listeners == 0


def test_a_backlog_slot_frees_only_as_its_message_is_sent() -> None:
    """A screen that takes one message frees one slot: it can never be more than the backlog
    behind without being told it lagged."""
    listener = Listener(max_backlog=3)
    assert all(listener.push(str(n)) for n in range(3))
    burst = listener.burst()
    assert next(burst) == "0"  # being sent
    assert listener.push("3")
    assert not listener.push("4")
    assert listener.lagged
    assert list(burst) == ["1", "2"]  # what was queued when the burst began
    assert list(listener.burst()) == ["3"]


class _SlowScreen:
    """The stream's side of a WebSocket whose screen reads slowly: each send waits, as uvicorn's
    does while the transport is paused."""

    def __init__(self, services: object) -> None:
        self.app = SimpleNamespace(state=SimpleNamespace(services=services))
        self.sent: list[dict[str, Any]] = []
        self._hello = json.dumps({"token": "t"})

    async def accept(self) -> None:
        pass

    async def receive_text(self) -> str:
        if self._hello:
            hello, self._hello = self._hello, ""
            return hello
        await asyncio.Event().wait()  # the screen never says more
        return ""

    async def send_json(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    async def send_text(self, message: str) -> None:
        await asyncio.sleep(0.002)
        self.sent.append(json.loads(message))

    async def close(self, code: int = 1000) -> None:
        pass


def test_a_slow_screen_is_cut_off_at_sign_out_however_busy_the_stream() -> None:
    """Messages keep coming faster than the screen reads: each burst still ends with what was
    queued when it began, so the session is checked between bursts, not never."""

    class Operators:
        generation, revoked = 0, False

        def authenticate(self, token: str, now: datetime) -> object:
            return None if self.revoked else SimpleNamespace(expires_at=now + timedelta(hours=1))

    async def main() -> list[dict[str, Any]]:
        operators, broadcaster = Operators(), Broadcaster()
        hub = SimpleNamespace(station="s", journal=SimpleNamespace(size=0), broadcaster=broadcaster)
        screen = _SlowScreen(SimpleNamespace(operators=operators, hub=hub))
        task = asyncio.ensure_future(station_api.stream(screen))  # type: ignore[arg-type]
        await asyncio.sleep(0.05)
        for n in range(600):
            if n == 200:  # a sign-out through this hub
                operators.revoked, operators.generation = True, 1
            broadcaster.publish({"type": "reading", "n": n})
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.1)
        task.cancel()
        return screen.sent

    sent = asyncio.run(main())
    assert {"type": "error", "error": "unauthorized"} in sent
    late = [m["n"] for m in sent if m.get("type") == "reading" and m["n"] >= 200]
    assert len(late) < 100, f"{len(late)} messages published after the sign-out reached the screen"
