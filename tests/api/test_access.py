"""Who may call what: every HTTP route of the hub app, taken from `app.routes`, answers 401
without a token and 403 to a role below its requirement. A new route without a guard fails
here until it is listed as open."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from edge.operators import Role
from tests.api.conftest import OPERATORS, PIN, SIGN_IN, Station, bearer

# Reachable by anyone: the probes, the metrics, the API's own documentation, the web app's
# shell (`/`, `/app/`), and signing in.
OPEN = {
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("GET", "/livez"),
    ("GET", "/readyz"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/"),  # leads to the web app, whose static files are open too
    ("GET", "/app/sw.js"),
    ("POST", SIGN_IN),
}
# Everything not listed here needs an operator (any signed-in role).
NEEDS: dict[tuple[str, str], Role] = {
    ("POST", "/api/v1/units/{unit_id}/grade"): Role.TECHNICIAN,
    ("POST", "/api/v1/units/{unit_id}/erasure"): Role.TECHNICIAN,
    ("POST", "/api/v1/units/{unit_id}/route"): Role.TECHNICIAN,
    ("POST", "/api/v1/units/{unit_id}/reopen"): Role.TECHNICIAN,
    ("POST", "/api/v1/exceptions/{seq}/resolve"): Role.TECHNICIAN,
    ("POST", "/api/v1/manifest"): Role.ADMIN,
    ("GET", "/api/v1/profile"): Role.ADMIN,
    ("PUT", "/api/v1/profile"): Role.ADMIN,
    ("GET", "/api/v1/operators"): Role.ADMIN,
    ("POST", "/api/v1/operators"): Role.ADMIN,
    ("GET", "/api/v1/operators/{operator_id}"): Role.ADMIN,
    ("PATCH", "/api/v1/operators/{operator_id}"): Role.ADMIN,
    ("POST", "/api/v1/operators/{operator_id}/pin"): Role.ADMIN,
    ("POST", "/api/v1/operators/{operator_id}/unlock"): Role.ADMIN,
}
# A value each path parameter accepts, so a request reaches the guard and not a 422.
PATH_VALUES = {
    "unit_id": "U-NOSUCHUNIT0",
    "return_id": "R-NOSUCH",
    "seq": "1",
    "sha256": "0" * 64,
    "operator_id": "olga",
}
# Bodies that pass validation, so "allowed" is not confused with "refused for the body".
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/v1/units/{unit_id}/grade"): {
        "screen": "flawless",
        "body": "flawless",
        "function": "all_working",
        "accessories": "complete",
        "battery": 90,
    },
    ("POST", "/api/v1/units/{unit_id}/move"): {"bin": "BIN-A-01"},
    ("POST", "/api/v1/units/{unit_id}/reopen"): {"reason": "customer disputes the grade"},
    ("POST", "/api/v1/exceptions/{seq}/resolve"): {"resolution": "accept", "reason": "fine"},
    ("POST", "/api/v1/manifest"): {"returns": []},
    ("POST", "/api/v1/dock/seal"): {"intact": True},
    ("POST", "/api/v1/scans"): {"code": "BIN-A-01"},
    ("PUT", "/api/v1/profile"): {"toml": "x"},
    ("POST", "/api/v1/operators"): {
        "operator_id": "kim",
        "name": "Kim",
        "role": "operator",
        "pin": "730514",
    },
    ("PATCH", "/api/v1/operators/{operator_id}"): {"name": "Olga B."},
    ("POST", "/api/v1/operators/{operator_id}/pin"): {"pin": "730514"},
}


def http_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path template) for every HTTP route the app serves (HEAD aside)."""
    found = set()
    for route in iter_route_contexts(app.routes):
        for method in route.methods or ():
            if method != "HEAD":
                found.add((method, str(route.path)))
    return sorted(found)


def concrete(path: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in PATH_VALUES, f"give PATH_VALUES a valid value for {{{name}}}"
        return PATH_VALUES[name]

    return re.sub(r"\{(\w+)\}", value, path)


def guarded(app: FastAPI) -> list[tuple[str, str]]:
    return [route for route in http_routes(app) if route not in OPEN]


def test_the_route_list_is_the_apps(station: Station) -> None:
    routes = set(http_routes(station.app))
    # every documented operation is found (routers included under a prefix too) ...
    spec = station.client.get("/openapi.json").json()
    documented = {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}
    assert documented <= routes
    assert len(documented) >= 30
    # ... and the tables above name only routes that exist
    assert set(NEEDS) <= routes
    assert routes >= OPEN


def test_every_guarded_route_is_401_without_a_token(station: Station) -> None:
    for method, path in guarded(station.app):
        body = BODIES.get((method, path))
        for headers in ({}, bearer("not-a-token"), {"Authorization": "Basic b2xnYTo2MDQ4MjU="}):
            answer = station.client.request(method, concrete(path), headers=headers, json=body)
            assert answer.status_code == 401, (method, path, headers, answer.text)
            assert answer.headers["content-type"] == "application/json"
            assert answer.json()["error"] == "unauthorized", (method, path)
            assert answer.json()["message"]
            assert answer.headers["WWW-Authenticate"] == "Bearer"


def test_a_signed_out_token_is_401_everywhere(station: Station) -> None:
    token = station.tokens[Role.ADMIN]
    assert station.call("POST", "/api/v1/auth/sign-out", Role.ADMIN).status_code == 204
    for method, path in guarded(station.app):
        body = BODIES.get((method, path))
        answer = station.client.request(method, concrete(path), headers=bearer(token), json=body)
        assert answer.status_code == 401, (method, path, answer.text)


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.TECHNICIAN])
def test_a_role_below_the_requirement_is_403(station: Station, role: Role) -> None:
    size = station.journal()["size"]
    refused = 0
    for method, path in guarded(station.app):
        needed = NEEDS.get((method, path), Role.OPERATOR)
        if role.allows(needed):
            continue
        body = BODIES.get((method, path))
        answer = station.call(method, concrete(path), role, json=body)
        assert answer.status_code == 403, (method, path, role, answer.text)
        assert answer.json() == {
            "error": "forbidden",
            "message": f"needs role {needed.value}; you are {role.value}",
        }
        refused += 1
    assert refused == sum(1 for needed in NEEDS.values() if not role.allows(needed))
    # nothing refused reached the journal
    assert station.journal()["size"] == size


@pytest.mark.parametrize("role", list(Role))
def test_a_role_that_meets_the_requirement_gets_past_the_guard(
    station: Station, role: Role
) -> None:
    for method, path in guarded(station.app):
        if (method, path) == ("POST", "/api/v1/auth/sign-out"):
            continue  # would end the token the rest of the loop uses
        needed = NEEDS.get((method, path), Role.OPERATOR)
        if not role.allows(needed):
            continue
        body = BODIES.get((method, path))
        answer = station.call(method, concrete(path), role, json=body)
        assert answer.status_code not in (401, 403), (method, path, role, answer.text)
        assert answer.status_code < 500, (method, path, role, answer.text)


def test_open_routes_answer_without_a_token(station: Station) -> None:
    for method, path in sorted(OPEN - {("POST", SIGN_IN)}):
        answer = station.client.request(method, path)
        assert answer.status_code == 200, (method, path, answer.text)
    assert station.client.get("/healthz").json() == {"status": "ok"}
    assert station.client.get("/livez").json() == {"status": "ok"}
    assert station.client.get("/readyz").json() == {"status": "ready", "problems": []}
    assert "paths" in station.client.get("/openapi.json").json()
    # metrics are open, so they name no codes, returns or operators
    scan = station.call("POST", "/api/v1/scans", Role.OPERATOR, json={"code": "1ZSECRET0001"})
    assert scan.status_code == 200
    metrics = station.client.get("/metrics").text
    assert "edge_journal_events" in metrics
    assert "1ZSECRET0001" not in metrics and "olga" not in metrics
    _, badge = OPERATORS[Role.OPERATOR]
    signed_in = station.client.post(SIGN_IN, json={"badge": badge, "pin": PIN})
    assert signed_in.status_code == 200 and signed_in.json()["role"] == "operator"
