"""The upstream caps request bodies before reading them, as the hub does: the small cap for
every JSON route and for strangers, a blob's cap for uploads, a batch's for ingest; an unknown
token's batch or blob is refused without reading it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.limits import MAX_BLOB_BYTES, MAX_JSON_BODY_BYTES, MAX_MANIFEST_BODY_BYTES
from edge.upstream import Cosigner, Ledger, Store, open_store
from edge.upstream.app import upstream_app
from tests.http_bodies import CHUNK, asgi_call, send_chunked, uvicorn_server
from tests.upstream.upstream_client import (
    ADMIN_TOKEN,
    EVENTS,
    MANIFEST,
    Upstream,
    bearer,
    upstream_fixture,  # noqa: F401  (the `upstream` fixture)
)

ATTACK = 50 * 1024 * 1024
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """SQLite only: the caps are the app's, not the backend's."""
    opened = open_store(str(tmp_path / "upstream.db"), tmp_path)
    yield opened
    opened.close()


def test_a_strangers_large_body_is_413_unread_or_cut_at_the_cap(upstream: Upstream) -> None:
    for path in ("/api/v1/stations", MANIFEST):
        declared = asgi_call(upstream.client, "POST", path, ATTACK, JSON, declare_length=True)
        assert declared.status == 413 and declared.pulled == 0, path
        assert declared.json()["error"] == "too_large"
        chunked = asgi_call(upstream.client, "POST", path, ATTACK, JSON)
        assert chunked.status == 413, path
        assert chunked.pulled <= MAX_JSON_BODY_BYTES + CHUNK


def test_only_the_admin_may_send_a_large_manifest(upstream: Upstream) -> None:
    size = MAX_JSON_BODY_BYTES + 1
    for token in (None, upstream.station_token, "not-a-token"):
        headers = {**JSON, **(bearer(token) if token else {})}
        held = asgi_call(upstream.client, "POST", MANIFEST, size, headers)
        assert held.status == 413 and held.pulled <= MAX_JSON_BODY_BYTES + CHUNK
    admin = {**JSON, **bearer(ADMIN_TOKEN)}
    taken = asgi_call(upstream.client, "POST", MANIFEST, size, admin)
    assert taken.status == 422 and taken.pulled == size
    over = asgi_call(upstream.client, "POST", MANIFEST, MAX_MANIFEST_BODY_BYTES + 1, admin)
    assert over.status == 413 and over.pulled <= MAX_MANIFEST_BODY_BYTES + CHUNK


def test_an_unknown_token_is_refused_before_its_batch_or_blob_is_read(upstream: Upstream) -> None:
    blob = f"/api/v1/blobs/{hashlib.sha256(b'photo').hexdigest()}"
    for method, path in (("POST", EVENTS), ("PUT", blob)):
        answer = asgi_call(upstream.client, method, path, ATTACK, bearer("not-a-token"))
        assert answer.status == 401 and answer.pulled == 0, path


def test_a_blob_over_its_cap_is_413_once_past_it(upstream: Upstream) -> None:
    blob = f"/api/v1/blobs/{hashlib.sha256(b'photo').hexdigest()}"
    station = bearer(upstream.station_token)
    declared = asgi_call(
        upstream.client, "PUT", blob, MAX_BLOB_BYTES + 1, station, declare_length=True
    )
    assert declared.status == 413 and declared.pulled == 0


def test_a_real_upstream_answers_a_chunked_flood_before_it_is_sent(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "upstream.db"), tmp_path)
    app = upstream_app(Ledger(store, Cosigner.generate("upstream.test/ledger")), ADMIN_TOKEN)
    try:
        with uvicorn_server(app) as address:
            status, body, sent = send_chunked(address, "POST", "/api/v1/stations", ATTACK, JSON)
    finally:
        store.close()
    assert status == 413 and b'"too_large"' in body
    assert sent < ATTACK
