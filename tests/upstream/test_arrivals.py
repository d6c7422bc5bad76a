"""A station's batches are stored in the order they reached the upstream, however long each
one's checks take (edge/upstream/arrivals.py)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx

from edge.upstream.arrivals import ArrivalOrder
from tests.upstream.conftest import StationJournal
from tests.upstream.upstream_client import (
    EVENTS,
    Upstream,
    bearer,
    upstream_fixture,  # noqa: F401  (the `upstream` fixture)
)

STATION = ("ams-1", "dock-1")


async def _take_turn(
    order: ArrivalOrder, checks_s: float, stored: list[int], number: int, fail: bool = False
) -> None:
    async with order.turn(STATION) as turn:
        await asyncio.sleep(checks_s)  # its checks: the later the batch, the quicker here
        if fail:
            raise ValueError("refused before storing")
        assert await turn.wait(5.0)
        stored.append(number)
        await asyncio.sleep(0.01)  # storing


def test_batches_store_in_arrival_order_though_later_ones_check_faster() -> None:
    async def run() -> tuple[list[int], int]:
        order, stored = ArrivalOrder(), []
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
        order, stored = ArrivalOrder(), []
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
        order = ArrivalOrder()
        async with order.turn(STATION):
            async with order.turn(STATION) as second:
                went_ahead = await second.wait(0.05)
            async with order.turn(("ams-1", "dock-2")) as unrelated:
                own = await unrelated.wait(0.05)  # another station's turn never waits
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
