"""A station's batches are stored in the order they reached the upstream, however long each
one's checks take (edge/upstream/arrivals.py)."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import edge.upstream.app as app_module
from edge.journal import Journal
from edge.upstream import Cosigner, Ledger, Store
from edge.upstream.arrivals import ArrivalOrder
from tests.upstream.conftest import StationJournal
from tests.upstream.upstream_client import (
    EVENTS,
    HEAD,
    SITE,
    Upstream,
    bearer,
    upstream_fixture,  # noqa: F401  (the `upstream` fixture)
)

STATION = ("ams-1", "dock-1")


@pytest.fixture
def twin_station(tmp_path: Path) -> Iterator[StationJournal]:
    """A second station of the same site, with its own key."""
    folder = tmp_path / "dock-2"
    with Journal(folder, site=SITE, station="dock-2") as journal:
        yield StationJournal(journal, folder)


async def _take_turn(
    order: ArrivalOrder, checks_s: float, stored: list[int], number: int, fail: bool = False
) -> None:
    async with order.turn(STATION) as turn:
        await asyncio.sleep(checks_s)  # its checks: the later the batch, the quicker here
        if fail:
            raise ValueError("refused before storing")
        assert await turn.wait()
        stored.append(number)
        await asyncio.sleep(0.01)  # storing


def test_batches_store_in_arrival_order_though_later_ones_check_faster() -> None:
    async def run() -> tuple[list[int], int]:
        order, stored = ArrivalOrder(wait_s=5.0), []
        await asyncio.gather(
            *(_take_turn(order, checks_s=0.2 - 0.05 * n, stored=stored, number=n) for n in range(4))
        )
        return stored, len(order)

    stored, open_turns = asyncio.run(run())
    assert stored == [0, 1, 2, 3]
    assert open_turns == 0  # nothing kept once every turn ended


def test_a_turn_refused_early_still_waits_its_turn_for_those_after_it() -> None:
    """Batch 1 is refused while batch 0 is still checking: batch 2 waits for batch 0 all the
    same (it follows 0 on the chain and would be a gap before it)."""

    async def run() -> tuple[list[int], int]:
        order, stored = ArrivalOrder(wait_s=5.0), []
        results = await asyncio.gather(
            _take_turn(order, 0.2, stored, 0),
            _take_turn(order, 0.0, stored, 1, fail=True),
            _take_turn(order, 0.05, stored, 2),
            return_exceptions=True,
        )
        assert isinstance(results[1], ValueError)
        await asyncio.sleep(0)  # the refused turn's hand-over runs
        return stored, len(order)

    stored, open_turns = asyncio.run(run())
    assert stored == [0, 2]
    assert open_turns == 0


def test_a_turn_waits_no_longer_than_its_timeout() -> None:
    async def run() -> tuple[bool, bool]:
        order = ArrivalOrder(wait_s=0.05)
        async with order.turn(STATION):
            async with order.turn(STATION) as second:
                went_ahead = await second.wait()
            async with order.turn(("ams-1", "dock-2")) as unrelated:
                own = await unrelated.wait()  # another station's turn never waits
        return went_ahead, own

    went_ahead, own = asyncio.run(run())
    assert went_ahead is False
    assert own is True


def test_a_batch_that_arrives_second_waits_for_the_first_slow_body_and_both_are_stored(
    upstream: Upstream, station: StationJournal
) -> None:
    """Batch 1..10 arrives first but its body trickles in; batch 11..20 arrives whole and is
    checked first. It is stored after 1..10 (200), not answered with a gap (409)."""
    station.append(10)
    station.append(10)
    first = json.dumps(station.batch(0, max_events=10).body).encode()
    second = station.batch(10).body
    headers = bearer(upstream.station_token)
    release = asyncio.Event()

    async def trickle() -> AsyncIterator[bytes]:
        yield first[:100]
        await release.wait()
        yield first[100:]

    async def run() -> tuple[httpx.Response, httpx.Response, bool]:
        transport = httpx.ASGITransport(app=upstream.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://upstream") as client:
            early = asyncio.create_task(client.post(EVENTS, content=trickle(), headers=headers))
            await asyncio.sleep(0.2)  # the first request is in, its body half-sent
            late = asyncio.create_task(client.post(EVENTS, json=second, headers=headers))
            await asyncio.sleep(0.5)  # ample time to check and store ten events
            waited = not late.done()
            release.set()
            return await early, await late, waited

    early, late, waited = asyncio.run(run())
    assert waited
    assert (early.status_code, late.status_code) == (200, 200), late.text
    assert (early.json()["size"], late.json()["size"]) == (10, 20)
    assert upstream.held() == 20


def test_behind_a_turn_stuck_for_good_the_next_goes_ahead_once_and_the_rest_keep_order() -> None:
    """A request that never ends (a dead link mid-body), and three batches in flight behind
    it: the first gives up once, and the other two still go one after another, in order."""

    async def run() -> tuple[list[tuple[int, bool]], list[tuple[float, float]]]:
        order, stuck = ArrivalOrder(wait_s=0.2), asyncio.Event()
        went: list[tuple[int, bool]] = []
        spans: list[tuple[float, float]] = []

        async def hold() -> None:
            async with order.turn(STATION):
                await stuck.wait()

        async def batch(number: int) -> None:
            async with order.turn(STATION) as turn:
                waited = await turn.wait()
                start = time.monotonic()
                went.append((number, waited))
                await asyncio.sleep(0.05)  # checking or storing
                spans.append((start, time.monotonic()))

        holder = asyncio.ensure_future(hold())
        await asyncio.sleep(0)  # the stuck request is in line first
        await asyncio.gather(*(batch(n) for n in range(3)))
        stuck.set()
        await holder
        return went, spans

    went, spans = asyncio.run(run())
    assert went == [(0, False), (1, True), (2, True)]
    assert all(end <= start for (_, end), (start, _) in itertools.pairwise(spans))


def test_a_station_whose_token_was_registered_earlier_is_known_without_a_lookup(
    store: Store, cosigner: Cosigner, station: StationJournal
) -> None:
    """A new upstream process knows every registered station's token from the start: its
    first batches are not looked up one by one (and cannot lose their order that way)."""
    token = Ledger(store, cosigner).register_station(SITE, "dock-1", station.vkey)
    fresh = Ledger(store, cosigner)
    assert fresh.known_station(token) == (SITE, "dock-1")
    assert fresh.known_station("forged-token") is None


def test_a_stations_batches_are_checked_one_at_a_time(
    upstream: Upstream, station: StationJournal, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(4):
        station.append(10)
    batches = [station.batch(held, max_events=10).body for held in range(0, 40, 10)]
    real, lock, running, most = app_module.check_body, threading.Lock(), [0], [0]

    def check_body(site: str, station: str, raw: bytes) -> Any:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            time.sleep(0.05)
            return real(site, station, raw)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(app_module, "check_body", check_body)

    async def run() -> list[int]:
        transport = httpx.ASGITransport(app=upstream.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://upstream") as client:
            headers = bearer(upstream.station_token)
            answers = await asyncio.gather(
                *(client.post(EVENTS, json=batch, headers=headers) for batch in batches)
            )
        return [answer.status_code for answer in answers]

    assert asyncio.run(run()) == [200] * 4
    assert most[0] == 1
    assert upstream.held() == 40


def _checks_blocked(release: threading.Event, blocked: str) -> Any:
    """`check_body` as the app calls it, held until `release` for station `blocked`."""
    real = app_module.check_body

    def check_body(site: str, station: str, raw: bytes) -> Any:
        if station == blocked:
            assert release.wait(10), "never released"
        return real(site, station, raw)

    return check_body


async def _answered_while_held(
    upstream: Upstream,
    held: Callable[[httpx.AsyncClient], Awaitable[httpx.Response]],
    release: threading.Event,
    batch: dict[str, Any],
) -> tuple[int, int]:
    """Send `held` (a request the test holds up until `release`), then `batch` as the station:
    the station's status, answered within 5 s while the other is still held, and the other's."""
    transport = httpx.ASGITransport(app=upstream.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://upstream") as client:
        first = asyncio.create_task(held(client))
        await asyncio.sleep(0.2)  # the held request is in
        try:
            mine = await asyncio.wait_for(
                client.post(EVENTS, json=batch, headers=bearer(upstream.station_token)), 5
            )
        finally:
            release.set()
        return mine.status_code, (await first).status_code


def test_another_stations_slow_checks_do_not_hold_up_a_station(
    upstream: Upstream, station: StationJournal, twin_station: StationJournal,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """dock-2's batch is still in its checks (held here) when dock-1's arrives: dock-1's is
    checked and stored all the same."""
    other = upstream.as_admin(
        "POST",
        "/api/v1/stations",
        json={"site": SITE, "station": "dock-2", "vkey": twin_station.vkey},
    ).json()["token"]
    station.append(10)
    twin_station.append(10)
    release = threading.Event()
    monkeypatch.setattr(app_module, "check_body", _checks_blocked(release, "dock-2"))

    def slow(client: httpx.AsyncClient) -> Awaitable[httpx.Response]:
        return client.post(
            f"/api/v1/stations/{SITE}/dock-2/events",
            json=twin_station.batch(0).body,
            headers=bearer(other),
        )

    answers = asyncio.run(_answered_while_held(upstream, slow, release, station.batch(0).body))
    assert answers == (200, 200)


def test_a_request_with_an_unknown_token_does_not_hold_up_a_known_station(
    upstream: Upstream, station: StationJournal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The unknown token's lookup is held here; the station, whose token the upstream has
    seen before, is answered without waiting for it."""
    station.append(10)
    assert upstream.as_station("GET", HEAD).status_code == 200  # the token is known now
    release = threading.Event()
    real = upstream.ledger.station_for_token

    def station_for_token(token: str) -> tuple[str, str] | None:
        if token == "forged-token":
            assert release.wait(10), "never released"
        return real(token)

    monkeypatch.setattr(upstream.ledger, "station_for_token", station_for_token)

    def forged(client: httpx.AsyncClient) -> Awaitable[httpx.Response]:
        return client.post(EVENTS, json=station.batch(0).body, headers=bearer("forged-token"))

    answers = asyncio.run(_answered_while_held(upstream, forged, release, station.batch(0).body))
    assert answers == (200, 401)


def test_the_app_serves_from_one_event_loop_and_then_another(
    upstream: Upstream, station: StationJournal
) -> None:
    """Nothing in the ingest path is bound to the loop that first used it."""
    station.append(10)
    batch = station.batch(0).body
    headers = bearer(upstream.station_token)

    async def burst() -> list[int]:
        transport = httpx.ASGITransport(app=upstream.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://upstream") as client:
            answers = await asyncio.gather(
                *(client.post(EVENTS, json=batch, headers=headers) for _ in range(8))
            )
        return [answer.status_code for answer in answers]

    assert asyncio.run(burst()) == [200] * 8
    assert asyncio.run(burst()) == [200] * 8  # replays: success, nothing stored twice
    assert upstream.held() == 10


@pytest.mark.parametrize("route", ["events", "blob"])
def test_a_body_cut_off_by_the_client_is_400_and_stores_nothing(
    upstream: Upstream, station: StationJournal, route: str
) -> None:
    station.append(10)
    if route == "events":
        method, path = "POST", EVENTS
        body = json.dumps(station.batch(0).body).encode()
    else:
        body = b"photo bytes " * 100
        method, path = "PUT", f"/api/v1/blobs/{hashlib.sha256(body).hexdigest()}"
        with upstream.ledger.store.transaction() as tx:  # as if one of its events named it
            tx.execute(
                "INSERT INTO event_blobs (site, station, sha256) VALUES (?, ?, ?)",
                ("ams-1", "dock-1", hashlib.sha256(body).hexdigest()),
            )
    incoming = [
        {"type": "http.request", "body": body[:200], "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "server": ("upstream", 80), "client": ("127.0.0.1", 1),
        "headers": [
            (b"host", b"upstream"), (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"authorization", f"Bearer {upstream.station_token}".encode()),
        ],
    }  # fmt: skip
    asyncio.run(upstream.app(scope, receive, send))
    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 400
    assert upstream.held() == 0
    head = upstream.as_station("HEAD", f"/api/v1/blobs/{hashlib.sha256(body).hexdigest()}")
    assert head.status_code == 404  # no blob kept either
