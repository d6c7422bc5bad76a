"""Idempotency-Key on the actions the screens send: one write per key, the first answer given
again to a resend (also a refusal), a key reused for another request refused, the key in the
journal event, a key started before a crash found in the journal, and the store's bounds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edge.api.idempotency import HEADER, REPLAYED, store_for
from edge.api.services import HubServices
from edge.hub import idempotency
from edge.hub.idempotency import IdempotencyStore, fingerprint
from edge.hub.runtime import Keyed
from edge.operators import Role
from stations.workflow import CancelReceiptInput
from tests.api.conftest import Station

LABEL = "1Z999AA10123456784"  # R-1001 in the API tests' manifest
KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


def open_package(station: Station) -> None:
    answer = station.call("POST", "/api/v1/scans", Role.OPERATOR, json={"code": LABEL})
    assert answer.status_code == 200, answer.text


def cancel(station: Station, key: str | None, reason: str = "scanned the wrong box") -> Any:
    headers = {**station.headers(Role.OPERATOR), **({HEADER: key} if key else {})}
    return station.client.post("/api/v1/dock/cancel", json={"reason": reason}, headers=headers)


def cancelled(station: Station) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = station.journal(type="receipt.cancelled")["events"]
    return events


def test_a_resend_gets_the_first_answer_and_writes_nothing(with_manifest: Station) -> None:
    open_package(with_manifest)
    first = cancel(with_manifest, KEY)
    assert first.status_code == 200, first.text
    assert REPLAYED not in first.headers
    [event] = cancelled(with_manifest)
    assert event["payload"]["idempotency_key"] == KEY  # the journal says which key did it
    assert event["operator"] == "olga"
    open_package(with_manifest)  # a new package is open: a second cancel would succeed
    again = cancel(with_manifest, KEY)
    assert again.status_code == 200
    assert again.headers[REPLAYED] == "true"
    assert again.json() == first.json()
    assert len(cancelled(with_manifest)) == 1


def test_a_refusal_is_the_answer_to_every_resend(with_manifest: Station) -> None:
    refused = cancel(with_manifest, KEY)  # nothing open at the dock
    assert refused.status_code == 409
    assert refused.json()["error"] == "no_package"
    open_package(with_manifest)
    again = cancel(with_manifest, KEY)
    assert (again.status_code, again.json()) == (409, refused.json())
    assert cancelled(with_manifest) == []  # the package opened since is not cancelled by it


def test_a_key_reused_for_another_request_is_refused(with_manifest: Station) -> None:
    open_package(with_manifest)
    assert cancel(with_manifest, KEY).status_code == 200
    open_package(with_manifest)
    other = cancel(with_manifest, KEY, reason="another reason")
    assert other.status_code == 422
    assert other.json()["error"] == "idempotency_key_reused"
    headers = {**with_manifest.headers(Role.TECHNICIAN), HEADER: KEY}
    by_tom = with_manifest.client.post(
        "/api/v1/dock/cancel", json={"reason": "scanned the wrong box"}, headers=headers
    )
    assert by_tom.status_code == 422  # same body, another person: another request
    assert len(cancelled(with_manifest)) == 1


@pytest.mark.parametrize("key", ["short", "x" * 129, "has space in it", "semi;colon;key"])
def test_a_malformed_key_is_refused_before_anything_runs(with_manifest: Station, key: str) -> None:
    open_package(with_manifest)
    headers = {**with_manifest.headers(Role.OPERATOR), HEADER: key}
    answer = with_manifest.client.post(
        "/api/v1/dock/cancel", json={"reason": "scanned the wrong box"}, headers=headers
    )
    assert answer.status_code in (422, 400), answer.text
    assert cancelled(with_manifest) == []


def test_without_a_key_every_request_runs(with_manifest: Station) -> None:
    open_package(with_manifest)
    assert cancel(with_manifest, None).status_code == 200
    assert cancel(with_manifest, None).status_code == 409


def test_a_key_started_before_the_hub_stopped_is_found_in_the_journal(
    with_manifest: Station,
) -> None:
    """The action was journalled but its answer never recorded (the hub stopped in between):
    the resend finds the events carrying the key and writes nothing."""
    open_package(with_manifest)
    services: HubServices = with_manifest.app.state.services
    hub = services.hub
    body = {"reason": "scanned the wrong box"}
    store = store_for(hub)
    digest = fingerprint("dock/cancel", "olga", body)
    size = hub.journal.reader.size()
    assert store.begin(KEY, digest, "olga", "dock/cancel", size, idempotency.now()) is None
    # ... journalled, and the hub "stops" before store.finish records the answer
    hub.submit(Keyed(CancelReceiptInput(body["reason"], "olga"), KEY)).result(timeout=30)
    [event] = cancelled(with_manifest)
    open_package(with_manifest)
    again = cancel(with_manifest, KEY)
    assert again.status_code == 200, again.text
    assert again.headers[REPLAYED] == "true"
    assert [e["seq"] for e in again.json()["events"]] == [event["seq"]]
    assert len(cancelled(with_manifest)) == 1


def test_the_store_forgets_old_keys_and_keeps_a_bounded_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = IdempotencyStore(tmp_path / "idempotency.db", retention_s=100.0)
    try:
        assert store.begin("key-00000", "d", "olga", "r", 0, now=1000.0) is None
        assert store.begin("key-00000", "d", "olga", "r", 0, now=1050.0) is not None
        # older than the retention: forgotten, the key is new again
        assert store.begin("key-00000", "d", "olga", "r", 0, now=1101.0) is None
        monkeypatch.setattr(idempotency, "MAX_IDEMPOTENCY_KEYS", 3)
        for n in range(1, 6):
            store.begin(f"key-{n:05d}", "d", "olga", "r", 0, now=1101.0 + n)
        assert store.count() == 3
        assert store.begin("key-00005", "d", "olga", "r", 0, now=1110.0) is not None  # newest kept
        assert store.begin("key-00001", "d", "olga", "r", 0, now=1110.0) is None  # oldest gone
    finally:
        store.close()
    assert (tmp_path / "idempotency.db").stat().st_mode & 0o077 == 0


def test_two_copies_sent_at_once_get_one_answer_and_one_write(with_manifest: Station) -> None:
    """The outbox's resend can overlap the first try still running: the second waits for the
    first's answer instead of running the action again."""
    from concurrent.futures import ThreadPoolExecutor

    open_package(with_manifest)
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: cancel(with_manifest, KEY), range(2)))
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    assert answers[0].json() == answers[1].json()
    assert len(cancelled(with_manifest)) == 1
