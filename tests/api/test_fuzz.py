"""Schemathesis over every operation in the hub's OpenAPI, as an admin (everything reachable)
and without a token: no answer is a 5xx, every status, content type, header and body is the
documented one. Each operation gets a fresh hub on its own data dir (journal, operators)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import get_client, shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from edge.api.services import HubServices
from edge.hub.serve import hub_app
from edge.operators import Role
from stations.profile import load_hub_profile
from tests.api.conftest import DOCK_PROFILE, OPERATORS, PIN, SIGN_IN, bearer, build_hub

FUZZ = settings(
    max_examples=30,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# what answers without a token (the rest must refuse)
OPEN = {"/healthz", "/readyz", "/metrics", SIGN_IN}


def served_spec() -> dict[str, Any]:
    """The OpenAPI document `/openapi.json` serves, from an app that is not started.

    Loaded at import so each operation is its own test; `from_asgi` would start the hub."""
    spec: dict[str, Any] = hub_app(Path("unused"), load_hub_profile(DOCK_PROFILE)).openapi()
    return spec


schema = schemathesis.openapi.from_dict(served_spec())


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[FastAPI]:
    """A fresh hub with an admin; schemathesis starts its lifespan with the first request and
    this ends it."""
    app, _, _ = build_hub(tmp_path, roles=[Role.ADMIN])
    yield app
    shutdown_lifespans()


class AdminToken:
    """An admin's token, signed in again whenever the fuzzer ended the last one (sign-out, a
    new PIN, a role change)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.token = ""
        self.sign_ins = 0

    def headers(self) -> dict[str, str]:
        services: HubServices | None = getattr(self.app.state, "services", None)
        now = datetime.now(UTC)
        if services is None or services.operators.authenticate(self.token, now) is None:
            with get_client(self.app) as client:  # starts the hub if it is not running
                answer = client.post(SIGN_IN, json={"badge": OPERATORS[Role.ADMIN][1], "pin": PIN})
            assert answer.status_code == 200, answer.text
            self.token = answer.json()["token"]
            self.sign_ins += 1
        return bearer(self.token)


@pytest.fixture
def admin(hub: FastAPI) -> AdminToken:
    return AdminToken(hub)


def test_the_fuzzed_schema_is_the_one_served(tmp_path: Path) -> None:
    app, _, _ = build_hub(tmp_path)
    with TestClient(app) as client:
        served = client.get("/openapi.json")
    assert served.status_code == 200
    assert served.json() == served_spec()
    assert len(list(schema.get_all_operations())) >= 30


@schema.parametrize()
@FUZZ
def test_as_an_admin(case: Any, hub: FastAPI, admin: AdminToken) -> None:
    case.call_and_validate(app=hub, headers=admin.headers(), checks=CHECKS)


@schema.parametrize()
@FUZZ
def test_without_a_token(case: Any, hub: FastAPI) -> None:
    response = case.call_and_validate(app=hub, checks=CHECKS)
    if case.path not in OPEN:
        assert response.status_code >= 400, (case.method, case.path, response.status_code)
