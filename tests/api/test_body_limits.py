"""The hub caps request bodies before reading them: a declared length over the cap is refused
unread, a chunked one is refused once the cap is passed (the app read no more than the cap and
one chunk), on every route; only a signed-in admin may send a large manifest."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from edge.limits import MAX_JSON_BODY_BYTES, MAX_MANIFEST_BODY_BYTES
from edge.operators import Role
from tests.api.conftest import SIGN_IN, Station, build_hub
from tests.api.test_access import concrete, http_routes
from tests.http_bodies import CHUNK, asgi_call, send_chunked, uvicorn_server

ATTACK = 50 * 1024 * 1024  # the reported sign-in body
JSON = {"Content-Type": "application/json"}


def test_a_declared_over_size_sign_in_is_413_without_reading_a_byte(station: Station) -> None:
    size = station.journal()["size"]
    answer = asgi_call(station.client, "POST", SIGN_IN, ATTACK, JSON, declare_length=True)
    assert answer.status == 413
    assert answer.pulled == 0
    assert answer.json() == {
        "error": "too_large",
        "message": f"request bodies here are at most {MAX_JSON_BODY_BYTES} bytes",
        "limit": MAX_JSON_BODY_BYTES,
    }
    assert station.journal()["size"] == size


def test_a_chunked_over_size_sign_in_is_413_once_past_the_cap(station: Station) -> None:
    answer = asgi_call(station.client, "POST", SIGN_IN, ATTACK, JSON)
    assert answer.status == 413, answer.body
    assert answer.json()["error"] == "too_large"
    assert MAX_JSON_BODY_BYTES < answer.pulled <= MAX_JSON_BODY_BYTES + CHUNK


def test_every_route_refuses_a_body_over_its_cap(station: Station) -> None:
    """A class rule: no route of the app reads more than the cap, whatever its method."""
    for method, path in http_routes(station.app):
        for declared in (True, False):
            answer = asgi_call(
                station.client,
                method,
                concrete(path),
                MAX_JSON_BODY_BYTES + 1,
                {**JSON, **station.headers(Role.OPERATOR)},
                declare_length=declared,
            )
            if (method, path) == ("POST", "/api/v1/manifest"):
                continue  # an operator is not an admin: held to the small cap, below
            if answer.status == 413:
                continue
            # a route that reads no body (a GET) answers without reading past the cap
            assert answer.pulled <= MAX_JSON_BODY_BYTES, (method, path, answer.status)


def test_only_a_signed_in_admin_may_send_a_large_manifest(station: Station) -> None:
    size = MAX_JSON_BODY_BYTES + 1  # over the small cap, under the manifest's
    assert size < MAX_MANIFEST_BODY_BYTES
    for who in (None, Role.OPERATOR, Role.TECHNICIAN):
        headers = {**JSON, **(station.headers(who) if who else {})}
        held = asgi_call(station.client, "POST", "/api/v1/manifest", size, headers)
        assert held.status == 413, who
        assert "signed-in admin" in held.json()["message"]
        assert held.pulled <= MAX_JSON_BODY_BYTES + CHUNK
    admin = {**JSON, **station.headers(Role.ADMIN)}
    taken = asgi_call(station.client, "POST", "/api/v1/manifest", size, admin)
    assert taken.status == 422  # read whole, then refused as the garbage it is
    assert taken.pulled == size
    over = asgi_call(station.client, "POST", "/api/v1/manifest", MAX_MANIFEST_BODY_BYTES + 1, admin)
    assert over.status == 413 and over.pulled <= MAX_MANIFEST_BODY_BYTES + CHUNK


def test_a_real_server_answers_a_chunked_flood_before_it_is_sent(tmp_path: Path) -> None:
    """Through uvicorn: the 413 comes while the client is still sending (it stops there)."""
    app, _, _ = build_hub(tmp_path)
    with uvicorn_server(app) as address:
        status, body, sent = send_chunked(address, "POST", SIGN_IN, ATTACK, JSON)
    assert status == 413, body
    assert b'"too_large"' in body
    assert sent < ATTACK  # the server did not wait for (nor hold) the rest


def test_a_small_body_still_works(station: Station) -> None:
    client: TestClient = station.client
    answer = client.post(SIGN_IN, json={"badge": "BADGE-OLGA", "pin": "604825"})
    assert answer.status_code == 200
