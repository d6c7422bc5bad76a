"""The upstream ledger's app behind FastAPI's TestClient, on the `store` fixture's backend: an
admin token, station ams-1/dock-1 registered through the API, and its bearer token."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from edge.upstream import Cosigner, Ledger, Store
from edge.upstream.app import upstream_app
from tests.upstream.conftest import StationJournal

ADMIN_TOKEN = "admin-token-of-the-tests-0123456789abcdef"
SITE, STATION = "ams-1", "dock-1"
EVENTS = f"/api/v1/stations/{SITE}/{STATION}/events"
HEAD = f"/api/v1/stations/{SITE}/{STATION}/head"
MANIFEST = f"/api/v1/sites/{SITE}/manifest"
# Whose bearer token each guarded route takes.
NEEDS = {
    ("POST", "/api/v1/stations/{site}/{station}/events"): "station",
    ("GET", "/api/v1/stations/{site}/{station}/head"): "station",
    ("PUT", "/api/v1/blobs/{sha256}"): "station",
    ("HEAD", "/api/v1/blobs/{sha256}"): "station",
    ("GET", "/api/v1/sites/{site}/manifest"): "station",
    ("POST", "/api/v1/sites/{site}/manifest"): "admin",
    ("POST", "/api/v1/stations"): "admin",
    ("GET", "/api/v1/stations"): "admin",
    ("GET", "/api/v1/alerts"): "admin",
    ("GET", "/api/v1/returns/{return_id}"): "customer",
}
CUSTOMER_VIEW = ("GET", "/api/v1/returns/{return_id}")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def expected_return(return_id: str, label: str, status: str = "accepted") -> dict[str, Any]:
    """An expected return as `POST …/manifest` takes it (docs/manifest.md)."""
    return {
        "return_id": return_id,
        "label_codes": [label],
        "customer_ref": "C-77",
        "make": "Apple",
        "model": "iPhone 13",
        "quote": "240.00",
        "currency": "EUR",
        "status": status,
    }


@dataclass
class Upstream:
    app: FastAPI
    client: TestClient
    ledger: Ledger
    station_token: str

    def call(
        self, method: str, url: str, token: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        """A request with `token` as its bearer (None: no Authorization header)."""
        headers = {**kwargs.pop("headers", {}), **(bearer(token) if token else {})}
        answer: httpx.Response = self.client.request(method, url, headers=headers, **kwargs)
        return answer

    def as_station(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.call(method, url, self.station_token, **kwargs)

    def as_admin(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.call(method, url, ADMIN_TOKEN, **kwargs)

    def held(self, site: str = SITE, station: str = STATION) -> int:
        """How many of the station's events the database holds."""
        with self.ledger.store.transaction() as tx:
            row = tx.one(
                "SELECT count(*) FROM events WHERE site = ? AND station = ?", (site, station)
            )
        assert row is not None
        return int(row[0])

    def import_manifest(self, *returns: dict[str, Any]) -> dict[str, str]:
        """The customer tokens of the new returns."""
        answer = self.as_admin("POST", MANIFEST, json={"returns": list(returns)})
        assert answer.status_code == 200, answer.text
        tokens: dict[str, str] = answer.json()["tokens"]
        return tokens


@pytest.fixture(name="upstream")
def upstream_fixture(
    store: Store, cosigner: Cosigner, station: StationJournal
) -> Iterator[Upstream]:
    ledger = Ledger(store, cosigner)
    app = upstream_app(ledger, ADMIN_TOKEN)
    with TestClient(app) as client:
        answer = client.post(
            "/api/v1/stations",
            json={"site": SITE, "station": STATION, "vkey": station.vkey},
            headers=bearer(ADMIN_TOKEN),
        )
        assert answer.status_code == 200, answer.text
        yield Upstream(app, client, ledger, answer.json()["token"])
