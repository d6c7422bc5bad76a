"""A real hub behind its API, without a bus: a dock profile on a temp data dir, one operator
per role, and a bearer token for each."""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from edge.hub.serve import hub_app
from edge.operators import OPERATORS_FILE, OperatorStore, Role
from stations.profile import load_hub_profile

DOCK_PROFILE = Path(__file__).resolve().parents[2] / "stations" / "profiles" / "dock.toml"
PIN = "604825"
SIGN_IN = "/api/v1/auth/sign-in"
# operator id and badge of the one operator each role has
OPERATORS: dict[Role, tuple[str, str]] = {
    Role.OPERATOR: ("olga", "BADGE-OLGA"),
    Role.TECHNICIAN: ("tom", "BADGE-TOM"),
    Role.ADMIN: ("ada", "BADGE-ADA"),
}

# An iPhone 13 in a mailer box, and a cancelled Pixel: the shapes `edge manifest import` reads.
MANIFEST: list[dict[str, Any]] = [
    {
        "return_id": "R-1001",
        "label_codes": ["1Z999AA10123456784"],
        "customer_ref": "C-77",
        "make": "Apple",
        "model": "iPhone 13",
        "declared_imei": "356938035643809",
        "screen": "flawless",
        "body": "minor_wear",
        "quote": "240.00",
        "currency": "EUR",
        "status": "accepted",
        "packaging": "mailer-box",
    },
    {
        "return_id": "R-1002",
        "label_codes": ["1Z999AA10123456791"],
        "customer_ref": "C-78",
        "make": "Google",
        "model": "Pixel 8",
        "quote": "300.00",
        "currency": "EUR",
        "status": "cancelled",
    },
]


def build_hub(folder: Path, roles: Iterable[Role] = tuple(Role)) -> tuple[FastAPI, Path, Path]:
    """A dock hub app (not started) with its profile file and data dir under `folder`, and
    the operators of `roles`."""
    profile_path = folder / "station.toml"
    shutil.copyfile(DOCK_PROFILE, profile_path)
    data_dir = folder / "station"
    data_dir.mkdir()
    with OperatorStore(data_dir / OPERATORS_FILE) as store:
        for role in roles:
            operator_id, badge = OPERATORS[role]
            store.add_operator(
                operator_id, operator_id.title(), role, PIN, badge=badge, now=datetime.now(UTC)
            )
    app = hub_app(data_dir, load_hub_profile(profile_path), profile_path=profile_path)
    return app, profile_path, data_dir


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sign_in(client: TestClient, badge: str) -> str:
    answer = client.post(SIGN_IN, json={"badge": badge, "pin": PIN})
    assert answer.status_code == 200, answer.text
    token = answer.json()["token"]
    assert isinstance(token, str)
    return token


@dataclass
class Station:
    app: FastAPI
    client: TestClient
    data_dir: Path
    profile_path: Path
    tokens: dict[Role, str] = field(default_factory=dict)

    def headers(self, role: Role) -> dict[str, str]:
        return bearer(self.tokens[role])

    def call(
        self, method: str, url: str, role: Role | None = None, **kwargs: Any
    ) -> httpx.Response:
        """A request as `role` (None: without a token)."""
        headers = self.headers(role) if role is not None else {}
        return self.client.request(method, url, headers=headers, **kwargs)

    def journal(self, **params: Any) -> dict[str, Any]:
        answer = self.call("GET", "/api/v1/journal", Role.OPERATOR, params=params)
        assert answer.status_code == 200, answer.text
        page: dict[str, Any] = answer.json()
        return page


@pytest.fixture
def station(tmp_path: Path) -> Iterator[Station]:
    """A started dock hub with olga (operator), tom (technician) and ada (admin) signed in."""
    app, profile_path, data_dir = build_hub(tmp_path)
    with TestClient(app) as client:
        tokens = {role: sign_in(client, badge) for role, (_, badge) in OPERATORS.items()}
        yield Station(app, client, data_dir, profile_path, tokens)


@pytest.fixture
def with_manifest(station: Station) -> Station:
    """The dock hub with MANIFEST imported by the admin."""
    answer = station.call("POST", "/api/v1/manifest", Role.ADMIN, json={"returns": MANIFEST})
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["events"]) == len(MANIFEST)
    return station
