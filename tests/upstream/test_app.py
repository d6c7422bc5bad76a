"""The upstream ledger's HTTP API through FastAPI's TestClient, on SQLite and PostgreSQL: who
may call what, ingest and its refusals, blobs, the manifest feed, the customer view, probes."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from edge.journal import EventDraft, EventType
from edge.journal.note import ALG_ED25519, Signer, key_id
from edge.upstream import Cosigner, Store
from tests.conftest import draft
from tests.http_bodies import asgi_call
from tests.upstream.conftest import StationJournal
from tests.upstream.upstream_client import (
    ADMIN_TOKEN,
    CUSTOMER_VIEW,
    EVENTS,
    HEAD,
    MANIFEST,
    NEEDS,
    SITE,
    STATION,
    Upstream,
    bearer,
    expected_return,
    upstream_fixture,  # noqa: F401  (the `upstream` fixture)
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "replication.md"
# Reachable by anyone: the probes, the totals for Prometheus and the API's own documentation.
OPEN = {
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("GET", "/readyz"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
}
# The caller's own ids, so a request reaches the guard and then the handler.
PATH_VALUES = {"site": SITE, "station": STATION, "sha256": "0" * 64, "return_id": "R-1001"}
# Bodies that pass validation, so "allowed" is not confused with "refused for the body".
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/v1/stations/{site}/{station}/events"): {
        "events": [{"seq": 1, "body": "e30="}],
        "checkpoint": "not a checkpoint\n",
    },
    ("POST", "/api/v1/sites/{site}/manifest"): {"returns": [expected_return("R-2001", "L-2001")]},
    ("POST", "/api/v1/stations"): {
        "site": "ams-1",
        "station": "dock-9",
        "vkey": Signer.generate("ams-1/dock-9").verifier.encode(),
    },
}


def http_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path template) of every route; a HEAD is kept only where no GET implies it."""
    found = set()
    for route in iter_route_contexts(app.routes):
        methods = set(route.methods or ())
        if "GET" in methods:
            methods.discard("HEAD")
        found |= {(method, str(route.path)) for method in methods}
    return found


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], path)


def request(
    up: Upstream, route: tuple[str, str], token: str | None, headers: dict[str, str] | None = None
) -> httpx.Response:
    method, path = route
    body = BODIES.get(route)
    content = b"" if method == "PUT" else None
    return up.call(method, concrete(path), token, headers=headers or {}, json=body, content=content)


# -- who may call what --


def test_the_route_tables_are_the_apps_and_every_route_is_documented(upstream: Upstream) -> None:
    assert http_routes(upstream.app) == OPEN | set(NEEDS)
    documented = DOCS.read_text()
    for method, path in NEEDS:
        assert f"{method} {path}" in documented, f"{method} {path} is not in docs/replication.md"


def test_every_guarded_route_is_401_without_a_token(upstream: Upstream) -> None:
    for route in NEEDS:
        for headers in ({}, {"Authorization": "Basic c3RhdGlvbjpzZWNyZXQ="}, {"Authorization": ""}):
            answer = request(upstream, route, None, headers)
            assert answer.status_code == 401, (route, headers, answer.text)
            if route[0] != "HEAD":
                assert answer.json()["error"] == "unauthorized", route


def test_an_unknown_token_is_401_and_on_the_customer_view_404(upstream: Upstream) -> None:
    for route in NEEDS:
        answer = request(upstream, route, "not-a-token")
        expected = 404 if route == CUSTOMER_VIEW else 401
        assert answer.status_code == expected, (route, answer.text)


def test_a_401_says_how_to_authenticate(upstream: Upstream) -> None:
    """RFC 9110 §15.5.2: a 401 carries WWW-Authenticate (the hub sends `Bearer`)."""
    for route in NEEDS:
        answer = request(upstream, route, None)
        assert answer.headers.get("WWW-Authenticate") == "Bearer", route


def test_each_token_opens_its_own_routes_only(upstream: Upstream) -> None:
    tokens = {
        "station": upstream.station_token,
        "admin": ADMIN_TOKEN,
        "customer": upstream.import_manifest(expected_return("R-1001", "L-1001"))["R-1001"],
    }
    for route, needed in NEEDS.items():
        for realm, token in tokens.items():
            answer = request(upstream, route, token)
            if realm == needed:
                assert answer.status_code not in (401, 403), (route, realm, answer.text)
                assert answer.status_code < 500, (route, realm, answer.text)
            else:
                refused = 404 if route == CUSTOMER_VIEW else 401
                assert answer.status_code == refused, (route, realm, answer.text)


def test_admin_routes_refuse_a_station_token_and_change_nothing(upstream: Upstream) -> None:
    for route, needed in NEEDS.items():
        if needed == "admin":
            answer = request(upstream, route, upstream.station_token)
            assert answer.status_code == 401, (route, answer.text)
            assert answer.json() == {"error": "unauthorized", "message": "not the admin token"}
    assert [(s.site, s.station) for s in upstream.ledger.stations()] == [(SITE, STATION)]
    assert upstream.ledger.manifest_cursor(SITE) == 0


def test_a_station_token_is_403_on_another_stations_paths(
    upstream: Upstream, station: StationJournal
) -> None:
    neighbour = Signer.generate("ams-1/dock-2").verifier.encode()
    registered = upstream.as_admin(
        "POST", "/api/v1/stations", json={"site": "ams-1", "station": "dock-2", "vkey": neighbour}
    )
    assert registered.status_code == 200, registered.text
    station.append(3)
    batch = station.batch(0).body
    for site, other in (("ams-1", "dock-2"), ("ams-2", "dock-1")):
        for method, url, body in (
            ("POST", f"/api/v1/stations/{site}/{other}/events", batch),
            ("GET", f"/api/v1/stations/{site}/{other}/head", None),
        ):
            answer = upstream.as_station(method, url, json=body)
            assert answer.status_code == 403, (url, answer.text)
            assert answer.json() == {
                "error": "forbidden",
                "message": f"this token is for {SITE}/{STATION}",
            }
    other_site = upstream.as_station("GET", "/api/v1/sites/ams-2/manifest")
    assert other_site.status_code == 403 and other_site.json()["error"] == "forbidden"
    assert upstream.held("ams-1", "dock-2") == upstream.held() == 0


def test_a_station_key_whose_name_has_a_control_character_is_422(upstream: Upstream) -> None:
    """Such a key can sign no checkpoint the ledger accepts (notes refuse control characters)."""
    public_key = Signer.generate("x").verifier.public_key
    name = "ams-1/dock-7\x00"
    material = base64.b64encode(bytes([ALG_ED25519]) + public_key).decode()
    vkey = f"{name}+{key_id(name, public_key):08x}+{material}"
    body = {"site": "ams-1", "station": "dock-7", "vkey": vkey}
    answer = upstream.as_admin("POST", "/api/v1/stations", json=body)
    assert answer.status_code == 422, answer.text
    assert [s.station for s in upstream.ledger.stations()] == [STATION]


# -- ingest --


def test_a_batch_is_stored_and_cosigned_and_a_replay_changes_nothing(
    upstream: Upstream, station: StationJournal, cosigner: Cosigner
) -> None:
    station.append(10)
    batch = station.batch(0).body
    answer = upstream.as_station("POST", EVENTS, json=batch)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert (result["size"], result["checkpoint_size"], result["stored"]) == (10, 10, 10)
    signed_at = cosigner.verifier.verify_over_note(result["cosignature"], batch["checkpoint"])
    assert abs(signed_at - time.time()) < 60
    head = upstream.as_station("GET", HEAD).json()
    assert head == {"size": 10, "checkpoint_size": 10, "cosignature": result["cosignature"]}
    again = upstream.as_station("POST", EVENTS, json=batch)
    assert again.status_code == 200
    assert again.json() == {**result, "stored": 0}
    assert upstream.held() == 10


def test_a_batch_past_what_is_held_is_409_gap_with_the_size(
    upstream: Upstream, station: StationJournal
) -> None:
    station.append(10)
    station.append(10)
    early, late = station.batch(0, max_events=10).body, station.batch(10).body
    gap = upstream.as_station("POST", EVENTS, json=late)
    assert gap.status_code == 409
    assert (gap.json()["error"], gap.json()["size"]) == ("gap", 0)
    assert "send from 1" in gap.json()["message"]
    assert upstream.held() == 0
    assert upstream.as_station("POST", EVENTS, json=early).json()["size"] == 10
    assert upstream.as_station("POST", EVENTS, json=late).json()["size"] == 20


def test_a_forked_history_is_409_fork_with_the_seq(
    upstream: Upstream, station: StationJournal, twin: StationJournal
) -> None:
    station.append(10)
    held = upstream.as_station("POST", EVENTS, json=station.batch(0).body).json()
    twin.append(12, subject="R-FORGED")  # same key, other events: a rewritten journal
    fork = upstream.as_station("POST", EVENTS, json=twin.batch(0).body)
    assert fork.status_code == 409
    assert (fork.json()["error"], fork.json()["seq"], fork.json()["size"]) == ("fork", 1, 10)
    head = upstream.as_station("GET", HEAD).json()
    assert (head["size"], head["cosignature"]) == (10, held["cosignature"])
    assert upstream.held() == 10
    alerts = upstream.as_admin("GET", "/api/v1/alerts").json()["alerts"]
    assert [(a["kind"], a["station"]) for a in alerts] == [("fork", STATION)]


def test_a_signed_event_with_a_nul_in_its_subject_or_return_id_is_stored(
    upstream: Upstream, station: StationJournal
) -> None:
    """A journal written before names were checked holds these (today's journal refuses a NUL in
    a subject; payloads still carry any text); PostgreSQL's TEXT columns hold no NUL. A 5xx here
    would stall the station's replication for good: the replicator retries a 5xx forever."""
    before_the_rule = EventDraft.model_construct(
        type=EventType.PACKAGE_RECEIVED, subject="R-1\x00", operator="olga", payload={}
    )
    station.journal.append_many(
        [
            before_the_rule,
            draft("package.received", "R-2", "olga", return_id="R-2\x00"),
        ]
    )
    station.journal.checkpoint()
    answer = upstream.as_station("POST", EVENTS, json=station.batch(0).body)
    assert answer.status_code == 200, answer.text
    assert upstream.held() == 2


def _tampered(batch: dict[str, Any]) -> dict[str, Any]:
    event = json.loads(base64.b64decode(batch["events"][2]["body"]))
    event["payload"]["grams"] = "9999.5"  # re-canonicalised: valid JSON, wrong history
    forged = json.dumps(event, sort_keys=True, separators=(",", ":")).encode()
    batch["events"][2]["body"] = base64.b64encode(forged).decode()
    return {"json": batch}


def _bad_base64(batch: dict[str, Any]) -> dict[str, Any]:
    batch["events"][1]["body"] = "not base64!"
    return {"json": batch}


def _not_consecutive(batch: dict[str, Any]) -> dict[str, Any]:
    del batch["events"][2]
    return {"json": batch}


def _over_1000_events(batch: dict[str, Any]) -> dict[str, Any]:
    batch["events"] = [{"seq": seq, "body": "e30="} for seq in range(1, 1002)]
    return {"json": batch}


def _malformed_json(batch: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(batch)
    return {"content": text[: len(text) // 2], "headers": {"Content-Type": "application/json"}}


INVALID: dict[str, tuple[Callable[[dict[str, Any]], dict[str, Any]], str, str]] = {
    "tampered body": (_tampered, "invalid", r"chain|root"),
    "bad base64": (_bad_base64, "invalid", r"event 2: body is not base64"),
    "non-consecutive seqs": (_not_consecutive, "invalid", r"consecutive: 4 follows 2"),
    "over 1000 events": (_over_1000_events, "invalid_request", r"body\.events"),
    "malformed JSON": (_malformed_json, "invalid_request", r"JSON"),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_an_invalid_batch_is_422_and_nothing_is_stored(
    upstream: Upstream, station: StationJournal, case: str
) -> None:
    spoil, code, message = INVALID[case]
    station.append(5)
    refused = upstream.as_station("POST", EVENTS, **spoil(station.batch(0).body))
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"] == code
    assert re.search(message, refused.json()["message"]), refused.json()["message"]
    assert upstream.held() == 0
    assert upstream.as_station("GET", HEAD).json()["size"] == 0
    # no trace of it in the chain: the honest batch still goes in
    assert upstream.as_station("POST", EVENTS, json=station.batch(0).body).status_code == 200


# -- blobs --


def photo_event(station: StationJournal, *blobs: bytes) -> list[str]:
    """Journal a photo event naming `blobs` (signed); their names."""
    names = [station.journal.blobs.put(blob) for blob in blobs]
    station.journal.append(
        EventDraft.model_validate(
            {
                "type": "photo.captured",
                "subject": "R-1001",
                "operator": "olga",
                "payload": {"device": "dock-camera"},
                "attachments": names,
            }
        )
    )
    station.journal.checkpoint()
    return names


def test_a_blob_is_stored_once_and_only_under_its_own_hash(
    upstream: Upstream, station: StationJournal
) -> None:
    photo = b"\xff\xd8\xff" + bytes(range(256)) * 40
    other_name = hashlib.sha256(b"other").hexdigest()
    photo_event(station, photo, b"other")
    assert upstream.as_station("POST", EVENTS, json=station.batch(0).body).status_code == 200
    url = f"/api/v1/blobs/{hashlib.sha256(photo).hexdigest()}"
    assert upstream.as_station("HEAD", url).status_code == 404
    created = upstream.as_station("PUT", url, content=photo)
    assert created.status_code == 201 and created.json()["stored"] is True
    again = upstream.as_station("PUT", url, content=photo)
    assert again.status_code == 200 and again.json()["stored"] is False
    assert upstream.as_station("HEAD", url).status_code == 200
    mismatch = upstream.as_station("PUT", url, content=photo + b"!")
    assert mismatch.status_code == 422 and mismatch.json()["error"] == "hash_mismatch"
    other = f"/api/v1/blobs/{other_name}"
    assert upstream.as_station("PUT", other, content=photo).status_code == 422
    assert upstream.as_station("HEAD", other).status_code == 404


def test_a_blob_no_event_of_the_station_names_is_409_unread(
    upstream: Upstream, station: StationJournal
) -> None:
    """A station token cannot store an arbitrary 60 MB: only what its own events name."""
    station.append(3)
    assert upstream.as_station("POST", EVENTS, json=station.batch(0).body).status_code == 200
    unrelated = hashlib.sha256(b"not a photo of ours").hexdigest()
    answer = asgi_call(
        upstream.client,
        "PUT",
        f"/api/v1/blobs/{unrelated}",
        60 * 1024 * 1024,
        bearer(upstream.station_token),
    )
    assert answer.status == 409 and answer.pulled == 0
    assert answer.json()["error"] == "not_named"
    assert unrelated in answer.json()["message"]
    # named by an event not yet sent: the same (the replicator sends events first)
    later = photo_event(station, b"a later photo")[0]
    early = upstream.as_station("PUT", f"/api/v1/blobs/{later}", content=b"a later photo")
    assert early.status_code == 409
    assert upstream.as_station("POST", EVENTS, json=station.batch(3).body).status_code == 200
    sent = upstream.as_station("PUT", f"/api/v1/blobs/{later}", content=b"a later photo")
    assert sent.status_code == 201
    assert not upstream.ledger.has_blob(SITE, STATION, unrelated)


def test_another_stations_blob_is_neither_uploaded_nor_probed(
    upstream: Upstream, station: StationJournal, twin: StationJournal
) -> None:
    neighbour = Signer.generate("ams-1/dock-2")
    token = upstream.as_admin(
        "POST",
        "/api/v1/stations",
        json={"site": "ams-1", "station": "dock-2", "vkey": neighbour.verifier.encode()},
    ).json()["token"]
    photo_event(station, b"dock-1 photo")
    assert upstream.as_station("POST", EVENTS, json=station.batch(0).body).status_code == 200
    url = f"/api/v1/blobs/{hashlib.sha256(b'dock-1 photo').hexdigest()}"
    assert upstream.call("PUT", url, token, content=b"dock-1 photo").status_code == 409
    assert upstream.as_station("PUT", url, content=b"dock-1 photo").status_code == 201
    assert upstream.call("HEAD", url, token).status_code == 404  # held, but not dock-2's
    assert upstream.as_station("HEAD", url).status_code == 200


def test_a_station_stores_blobs_within_its_quota(
    upstream: Upstream, station: StationJournal
) -> None:
    upstream.ledger.blob_quota_bytes = 10_000
    first, second = b"1" * 6000, b"2" * 6000
    photo_event(station, first, second)
    assert upstream.as_station("POST", EVENTS, json=station.batch(0).body).status_code == 200
    url = "/api/v1/blobs/{}".format
    stored = upstream.as_station("PUT", url(hashlib.sha256(first).hexdigest()), content=first)
    assert stored.status_code == 201
    refused = upstream.as_station("PUT", url(hashlib.sha256(second).hexdigest()), content=second)
    assert refused.status_code == 413, refused.text
    assert refused.json()["error"] == "quota"
    assert upstream.as_station("HEAD", url(hashlib.sha256(second).hexdigest())).status_code == 404
    # a blob already held costs nothing: sending it again is still fine
    again = upstream.as_station("PUT", url(hashlib.sha256(first).hexdigest()), content=first)
    assert again.status_code == 200
    # chunked, with no length to refuse it by: cut at the room left, nothing kept
    chunked = asgi_call(
        upstream.client,
        "PUT",
        url(hashlib.sha256(second).hexdigest()),
        len(second),
        bearer(upstream.station_token),
    )
    assert chunked.status == 413 and chunked.json()["error"] == "quota"
    assert not upstream.ledger.has_blob(SITE, STATION, hashlib.sha256(second).hexdigest())


# -- the manifest feed --


def test_the_manifest_feed_pages_by_cursor(upstream: Upstream) -> None:
    tokens = upstream.import_manifest(*(expected_return(f"R-{i}", f"L-{i}") for i in range(3)))
    assert sorted(tokens) == ["R-0", "R-1", "R-2"]
    first = upstream.as_station("GET", MANIFEST, params={"limit": 2}).json()
    assert [r["return_id"] for r in first["records"]] == ["R-0", "R-1"] and first["more"]
    rest = upstream.as_station("GET", MANIFEST, params={"after": first["cursor"]}).json()
    assert [r["return_id"] for r in rest["records"]] == ["R-2"] and not rest["more"]
    end = upstream.as_station("GET", MANIFEST, params={"after": rest["cursor"]}).json()
    assert end == {"records": [], "cursor": rest["cursor"], "more": False}


def test_the_feed_is_304_until_an_import_changes_it(upstream: Upstream) -> None:
    upstream.import_manifest(expected_return("R-1", "L-1"), expected_return("R-2", "L-2"))
    at_cursor = {"after": upstream.as_station("GET", MANIFEST).json()["cursor"]}
    etag = upstream.as_station("GET", MANIFEST, params=at_cursor).headers["ETag"]

    def poll() -> httpx.Response:
        return upstream.as_station(
            "GET", MANIFEST, params=at_cursor, headers={"If-None-Match": etag}
        )

    unchanged = poll()
    assert (unchanged.status_code, unchanged.content) == (304, b"")
    assert unchanged.headers["ETag"] == etag
    upstream.import_manifest(expected_return("R-1", "L-1"))  # a re-import changes nothing
    assert poll().status_code == 304
    upstream.import_manifest(expected_return("R-1", "L-1", status="cancelled"))
    changed = poll()
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert [(r["return_id"], r["status"]) for r in changed.json()["records"]] == [
        ("R-1", "cancelled")
    ]


def test_a_bad_manifest_record_is_422_naming_the_record_and_field(upstream: Upstream) -> None:
    bad = {**expected_return("R-1", "L-1"), "quote": 1.5}
    answer = upstream.as_admin("POST", MANIFEST, json={"returns": [bad]})
    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid_manifest"
    assert "quote" in answer.json()["message"], answer.json()["message"]
    assert upstream.ledger.manifest_cursor(SITE) == 0


def test_the_api_import_fills_weight_bands_as_the_cli_does(upstream: Upstream) -> None:
    """`edge upstream manifest import` fills bands from the catalogue; the API the same."""
    upstream.import_manifest(expected_return("R-1", "L-1"))
    record = upstream.as_station("GET", MANIFEST).json()["records"][0]
    assert record["weight_band"] is not None, record


# -- the customer view --


def test_the_customer_view_shows_milestones_to_the_returns_token_only(
    upstream: Upstream, station: StationJournal
) -> None:
    tokens = upstream.import_manifest(
        expected_return("R-1001", "L-1"), expected_return("R-1002", "L-2")
    )
    station.journal.append_many(
        [
            draft("package.received", "R-1001", "olga", return_id="R-1001"),
            draft("device.identified", "U-AAAA", "olga", return_id="R-1001"),
            draft("grade.assigned", "U-AAAA", "olga", grade="B"),
            draft("package.received", "R-1002", "olga", return_id="R-1002"),
        ]
    )
    station.journal.checkpoint()
    assert upstream.as_station("POST", EVENTS, json=station.batch(0).body).status_code == 200
    view = upstream.call("GET", "/api/v1/returns/R-1001", tokens["R-1001"])
    assert view.status_code == 200
    assert view.json()["return_id"] == "R-1001" and view.json()["status"] == "accepted"
    assert [m["milestone"] for m in view.json()["milestones"]] == [
        "package.received",
        "device.identified",
        "grade.assigned",
    ]
    assert "olga" not in view.text  # no operator ids
    refusals = [
        upstream.call("GET", "/api/v1/returns/R-1001", "wrong-token"),
        upstream.call("GET", "/api/v1/returns/R-1001", tokens["R-1002"]),
        upstream.call("GET", "/api/v1/returns/R-9999", tokens["R-1001"]),
    ]
    assert [r.status_code for r in refusals] == [404, 404, 404]
    assert refusals[0].json() == refusals[1].json() == refusals[2].json()
    assert upstream.call("GET", "/api/v1/returns/R-1001").status_code == 401


# -- probes --


def test_the_probes_answer_without_a_token(upstream: Upstream, store: Store) -> None:
    assert upstream.call("GET", "/healthz").json() == {"status": "ok"}
    ready = upstream.call("GET", "/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}  # where the database is: not for everyone


def test_readyz_is_503_while_the_database_is_gone_and_healthz_stays_200(
    upstream: Upstream, store: Store
) -> None:
    store.close()
    ready = upstream.call("GET", "/readyz")
    assert ready.status_code == 503
    assert ready.json() == {"status": "not_ready"}
    assert upstream.call("GET", "/healthz").status_code == 200


def test_metrics_are_fleet_totals_without_names(
    upstream: Upstream, station: StationJournal, twin: StationJournal
) -> None:
    before = upstream.call("GET", "/metrics")
    assert before.status_code == 200
    assert "edge_upstream_stations 1\n" in before.text  # the fixture registered ams-1/dock-1
    assert "edge_upstream_events 0\n" in before.text
    station.append(10)
    assert upstream.as_station("POST", EVENTS, json=station.batch(0).body).status_code == 200
    twin.append(12)
    assert upstream.as_station("POST", EVENTS, json=twin.batch(0).body).status_code == 409
    text = upstream.call("GET", "/metrics").text
    assert "edge_upstream_events 10\n" in text
    assert "edge_upstream_forks_total 1\n" in text and "edge_upstream_alerts_total 1\n" in text
    assert "ams-1" not in text and "dock-1" not in text
