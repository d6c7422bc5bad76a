"""Sign-in, sessions and operator admin through the real HTTP API (TestClient, real SQLite)."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from edge.api.auth import operators_router, router, utc_now
from edge.api.errors import install_error_handlers
from edge.operators import OperatorStore, Principal, Role

PIN = "739164"
ADMIN_PIN = "604825"
SIGN_IN = "/api/v1/auth/sign-in"
NOW = datetime.now(UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[OperatorStore]:
    with OperatorStore(tmp_path / "operators.db") as s:
        s.add_operator("op-admin", "Ada Admin", Role.ADMIN, ADMIN_PIN, badge="ADM-0001", now=NOW)
        s.add_operator("op-tech", "Tom Tech", Role.TECHNICIAN, PIN, badge="TEC-0007", now=NOW)
        s.add_operator("op-0042", "Sam Berg", Role.OPERATOR, PIN, badge="EMP-004217", now=NOW)
        yield s


@pytest.fixture
def app(store: OperatorStore) -> FastAPI:
    app = FastAPI()
    app.include_router(router)
    app.include_router(operators_router)
    install_error_handlers(app)
    app.state.operators = store
    app.state.station = "dock-1"
    return app


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def sign_in(client: TestClient, **body: str) -> str:
    answer = client.post(SIGN_IN, json=body)
    assert answer.status_code == 200, answer.text
    token = answer.json()["token"]
    assert isinstance(token, str)
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def admin(client: TestClient) -> dict[str, str]:
    return bearer(sign_in(client, badge="ADM-0001", pin=ADMIN_PIN))


def test_sign_in_by_badge_then_me(client: TestClient) -> None:
    answer = client.post(SIGN_IN, json={"badge": "EMP-004217", "pin": PIN})
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"token", "operator_id", "name", "role", "expires_at"}
    assert (body["operator_id"], body["name"], body["role"]) == ("op-0042", "Sam Berg", "operator")
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert timedelta(hours=11) < expires_at - datetime.now(UTC) <= timedelta(hours=12)
    me = client.get("/api/v1/auth/me", headers=bearer(body["token"]))
    assert me.status_code == 200
    assert me.json() == {
        "operator_id": "op-0042",
        "name": "Sam Berg",
        "role": "operator",
        "station": "dock-1",
        "expires_at": body["expires_at"],
    }


def test_sign_in_by_operator_id(client: TestClient) -> None:
    token = sign_in(client, operator_id="op-tech", pin=PIN)
    assert client.get("/api/v1/auth/me", headers=bearer(token)).json()["role"] == "technician"


def test_unknown_badge_and_wrong_pin_look_the_same(client: TestClient) -> None:
    unknown = client.post(SIGN_IN, json={"badge": "EMP-999999", "pin": PIN})
    wrong = client.post(SIGN_IN, json={"badge": "EMP-004217", "pin": "482604"})
    unknown_id = client.post(SIGN_IN, json={"operator_id": "op-9999", "pin": PIN})
    assert unknown.status_code == wrong.status_code == unknown_id.status_code == 401
    assert unknown.json() == wrong.json() == unknown_id.json()
    assert unknown.json() == {"error": "sign_in_failed", "message": "badge or PIN not recognised"}
    assert dict(unknown.headers).keys() == dict(wrong.headers).keys()


def at(app: FastAPI, address: str) -> TestClient:
    """A client whose requests come from `address` (the server sees it as the peer)."""
    return TestClient(app, client=(address, 5000))


def test_held_back_after_failures_even_with_the_right_pin(app: FastAPI) -> None:
    app.dependency_overrides[utc_now] = lambda: NOW
    stranger = at(app, "10.0.0.66")
    wrong = {"badge": "EMP-004217", "pin": "482604"}
    for _ in range(3):
        assert stranger.post(SIGN_IN, json=wrong).status_code == 401
    fourth = stranger.post(SIGN_IN, json=wrong)
    assert fourth.status_code == 429
    assert fourth.json() == {
        "error": "sign_in_held",
        "message": "too many failed sign-ins with this badge from this device: try again in 2 s, "
        "or ask an admin to unlock",
        "retry_after": 2,
    }
    assert fourth.headers["Retry-After"] == "2"
    right = stranger.post(SIGN_IN, json={"badge": "EMP-004217", "pin": PIN})
    assert right.status_code == 429


def test_hold_expires_with_time(app: FastAPI, client: TestClient) -> None:
    app.dependency_overrides[utc_now] = lambda: NOW
    for _ in range(4):
        client.post(SIGN_IN, json={"badge": "EMP-004217", "pin": "482604"})
    assert client.post(SIGN_IN, json={"badge": "EMP-004217", "pin": PIN}).status_code == 429
    app.dependency_overrides[utc_now] = lambda: NOW + timedelta(seconds=2)
    assert client.post(SIGN_IN, json={"badge": "EMP-004217", "pin": PIN}).status_code == 200


@pytest.mark.parametrize("field", ["badge", "operator_id"])
def test_unknown_and_known_held_back_answer_identically(app: FastAPI, field: str) -> None:
    """Nobody learns from the answers whether a badge or id exists: not on the first try, not
    after many (a known badge used to answer 423 after five tries, an unknown one 401 forever)."""
    app.dependency_overrides[utc_now] = lambda: NOW
    known_credential = {"badge": "EMP-004217", "operator_id": "op-0042"}[field]
    unknown_credential = {"badge": "EMP-999999", "operator_id": "op-9999"}[field]
    known = at(app, "10.0.0.7")
    unknown = at(app, "10.0.0.8")
    for _ in range(8):
        answers = [
            c.post(SIGN_IN, json={field: credential, "pin": "482604"})
            for c, credential in ((known, known_credential), (unknown, unknown_credential))
        ]
        assert answers[0].status_code == answers[1].status_code
        assert answers[0].json() == answers[1].json()
        assert dict(answers[0].headers) == dict(answers[1].headers)
    assert answers[0].status_code == 429


def test_a_stranger_cannot_lock_out_the_person(app: FastAPI) -> None:
    app.dependency_overrides[utc_now] = lambda: NOW
    stranger = at(app, "10.0.0.66")
    for credential in ({"badge": "ADM-0001"}, {"operator_id": "op-admin"}):
        for _ in range(20):
            refused = stranger.post(SIGN_IN, json={**credential, "pin": "482604"})
            assert refused.status_code in (401, 429)
    admin_at_desk = at(app, "10.0.0.20")
    assert admin_at_desk.post(
        SIGN_IN, json={"badge": "ADM-0001", "pin": ADMIN_PIN}
    ).status_code == (200)
    by_id = admin_at_desk.post(SIGN_IN, json={"operator_id": "op-admin", "pin": ADMIN_PIN})
    assert by_id.status_code == 200
    # and the stranger is still held back, even with the right PIN
    held = stranger.post(SIGN_IN, json={"badge": "ADM-0001", "pin": ADMIN_PIN})
    assert held.status_code == 429


def test_a_header_less_client_is_counted_too(app: FastAPI, store: OperatorStore) -> None:
    """An ASGI scope without a client (a unix socket) is one address, `unknown`."""
    app.dependency_overrides[utc_now] = lambda: NOW
    without_client = TestClient(_without_client(app))
    statuses = [
        without_client.post(SIGN_IN, json={"badge": "EMP-004217", "pin": "482604"}).status_code
        for _ in range(5)
    ]
    assert statuses == [401, 401, 401, 429, 429]
    clients = sqlite3.connect(store.path).execute("SELECT DISTINCT client FROM sign_in_failures")
    assert clients.fetchall() == [("unknown",)]


def _without_client(app: FastAPI) -> Any:
    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        await app({**scope, "client": None}, receive, send)

    return asgi


def test_failure_log_names_the_address_not_the_badge_or_pin(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="edge.operators")
    at(app, "10.0.0.7").post(SIGN_IN, json={"badge": "EMP-999999", "pin": "482604"})
    at(app, "10.0.0.9").post(SIGN_IN, json={"badge": "EMP-004217", "pin": "482605"})
    lines = [r.getMessage() for r in caplog.records if "sign-in refused" in r.getMessage()]
    assert len(lines) == 2
    assert "client=10.0.0.7" in lines[0] and "reason=unknown" in lines[0]
    assert "client=10.0.0.9" in lines[1] and "operator_id=op-0042" in lines[1]
    assert "EMP-999999" not in caplog.text and "EMP-004217" not in caplog.text
    assert "482604" not in caplog.text and "482605" not in caplog.text


@pytest.mark.parametrize("pin", ["2580", "0852", "1470", "3690", "1212", "6969", "2000", "8901"])
def test_trivial_pins_are_refused_with_the_reason(client: TestClient, pin: str) -> None:
    headers = admin(client)
    body = {"operator_id": "op-0050", "name": "Kim", "role": "operator", "pin": pin}
    created = client.post("/api/v1/operators", headers=headers, json=body)
    assert created.status_code == 422
    assert created.json()["error"] == "pin_policy"
    assert (
        "too easy to guess" in created.json()["message"]
        or "commonly chosen" in (created.json()["message"])
    )
    assert pin not in created.text
    changed = client.post("/api/v1/operators/op-0042/pin", headers=headers, json={"pin": pin})
    assert changed.status_code == 422 and changed.json()["error"] == "pin_policy"


def test_disabled_operator_gets_403(client: TestClient, store: OperatorStore) -> None:
    store.update_operator("op-0042", disabled=True, now=NOW)
    answer = client.post(SIGN_IN, json={"badge": "EMP-004217", "pin": PIN})
    assert answer.status_code == 403
    assert answer.json()["error"] == "disabled"
    # without the right PIN nobody learns the operator is disabled
    assert client.post(SIGN_IN, json={"badge": "EMP-004217", "pin": "482604"}).status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"badge": "EMP-004217", "operator_id": "op-0042", "pin": PIN},
        {"pin": PIN},
        {"badge": "EMP-004217"},
        {"badge": "EMP-004217", "pin": ""},
    ],
)
def test_sign_in_needs_exactly_one_credential_and_a_pin(client: TestClient, body: Any) -> None:
    answer = client.post(SIGN_IN, json=body)
    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid_request"


def test_validation_errors_never_echo_what_was_sent(client: TestClient) -> None:
    answer = client.post(
        SIGN_IN,
        json={"badge": "EMP-004217", "pin": 987654, "remember_me": "hunter-2-secret"},
    )
    assert answer.status_code == 422
    body = answer.json()
    assert body["error"] == "invalid_request"
    assert "body.pin" in body["message"] and "body.remember_me" in body["message"]
    assert all(set(detail) == {"loc", "msg", "type"} for detail in body["details"])
    assert "987654" not in answer.text
    assert "hunter-2-secret" not in answer.text
    assert '"input"' not in answer.text

    too_long = "9" * 80
    answer = client.post(SIGN_IN, json={"badge": "EMP-004217", "pin": too_long})
    assert answer.status_code == 422 and too_long not in answer.text

    headers = admin(client)
    weak = client.post(
        "/api/v1/operators",
        headers=headers,
        json={"operator_id": "op-0050", "name": "Kim", "role": "operator", "pin": "55555555"},
    )
    assert weak.status_code == 422
    assert weak.json()["error"] == "pin_policy"
    assert "55555555" not in weak.text
    extra = client.post(
        "/api/v1/operators",
        headers=headers,
        json={"operator_id": "op-0050", "name": "Kim", "role": "operator", "pin": "12", "x": 1},
    )
    assert extra.status_code == 422 and '"input"' not in extra.text


def test_no_token_wrong_scheme_or_bad_token_is_401(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Basic b3A6cGlu"}, bearer("made-up-token")):
        answer = client.get("/api/v1/auth/me", headers=headers)
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"] == "Bearer"
        assert answer.json()["error"] == "unauthorized"
        assert answer.json()["message"]


def test_sign_out_ends_the_token(client: TestClient) -> None:
    token = sign_in(client, badge="EMP-004217", pin=PIN)
    answer = client.post("/api/v1/auth/sign-out", headers=bearer(token))
    assert answer.status_code == 204 and answer.content == b""
    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401
    assert client.post("/api/v1/auth/sign-out", headers=bearer(token)).status_code == 401


def test_expired_token_is_401(app: FastAPI, client: TestClient) -> None:
    token = sign_in(client, badge="EMP-004217", pin=PIN)
    app.dependency_overrides[utc_now] = lambda: datetime.now(UTC) + timedelta(hours=12, seconds=1)
    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401


def test_role_change_invalidates_the_session(client: TestClient) -> None:
    headers = admin(client)
    tech = bearer(sign_in(client, badge="TEC-0007", pin=PIN))
    assert client.get("/api/v1/auth/me", headers=tech).status_code == 200
    changed = client.patch("/api/v1/operators/op-tech", headers=headers, json={"role": "operator"})
    assert changed.status_code == 200 and changed.json()["role"] == "operator"
    assert client.get("/api/v1/auth/me", headers=tech).status_code == 401
    again = bearer(sign_in(client, badge="TEC-0007", pin=PIN))
    assert client.get("/api/v1/auth/me", headers=again).json()["role"] == "operator"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/operators", None),
        ("GET", "/api/v1/operators/op-0042", None),
        ("POST", "/api/v1/operators", {"operator_id": "x", "name": "x", "role": "admin"}),
        ("PATCH", "/api/v1/operators/op-0042", {"role": "admin"}),
        ("POST", "/api/v1/operators/op-0042/pin", {"pin": "482604"}),
        ("POST", "/api/v1/operators/op-0042/unlock", None),
    ],
)
def test_operator_admin_needs_an_admin(
    client: TestClient, method: str, path: str, body: Any
) -> None:
    assert client.request(method, path, json=body).status_code == 401
    for badge, role in (("EMP-004217", "operator"), ("TEC-0007", "technician")):
        token = sign_in(client, badge=badge, pin=PIN)
        answer = client.request(method, path, json=body, headers=bearer(token))
        assert answer.status_code == 403
        assert answer.json() == {
            "error": "forbidden",
            "message": f"needs role admin; you are {role}",
        }
    assert client.get("/api/v1/operators/op-0042", headers=admin(client)).json()["role"] == (
        "operator"
    )


def test_admin_manages_operators(client: TestClient) -> None:
    headers = admin(client)
    new = {
        "operator_id": "op-0050",
        "name": "Kim Lee",
        "role": "operator",
        "pin": "482604",
        "badge": "EMP-005000",
    }
    created = client.post("/api/v1/operators", headers=headers, json=new)
    assert created.status_code == 201
    assert created.json()["badge"] == "EMP-005000" and "pin" not in created.json()
    assert "pin_hash" not in created.text and "argon2" not in created.text

    listed = client.get("/api/v1/operators", headers=headers).json()
    assert [o["operator_id"] for o in listed] == ["op-0042", "op-0050", "op-admin", "op-tech"]

    dup_id = client.post("/api/v1/operators", headers=headers, json=new)
    assert dup_id.status_code == 409 and dup_id.json()["error"] == "conflict"
    dup_badge = client.post(
        "/api/v1/operators", headers=headers, json={**new, "operator_id": "op-0051"}
    )
    assert dup_badge.status_code == 409
    bad_role = client.post(
        "/api/v1/operators", headers=headers, json={**new, "operator_id": "op-52", "role": "boss"}
    )
    assert bad_role.status_code == 422 and bad_role.json()["error"] == "invalid_request"

    assert client.patch("/api/v1/operators/op-9999", headers=headers, json={}).status_code == 404
    assert client.get("/api/v1/operators/op-9999", headers=headers).json()["error"] == (
        "unknown_operator"
    )
    no_badge = client.patch("/api/v1/operators/op-0050", headers=headers, json={"badge": None})
    assert no_badge.status_code == 200 and no_badge.json()["badge"] is None
    renamed = client.patch("/api/v1/operators/op-0050", headers=headers, json={"name": "Kim L."})
    assert renamed.json()["name"] == "Kim L." and renamed.json()["badge"] is None


def test_admin_sets_a_pin_and_unlocks(app: FastAPI, client: TestClient) -> None:
    headers = admin(client)
    stranger = at(app, "10.0.0.66")
    for _ in range(5):
        stranger.post(SIGN_IN, json={"badge": "EMP-004217", "pin": "000100"})
    assert stranger.post(SIGN_IN, json={"badge": "EMP-004217", "pin": PIN}).status_code == 429
    seen = client.get("/api/v1/operators/op-0042", headers=headers).json()
    assert seen["failed_attempts"] == 4 and seen["locked_until"] is not None
    unlocked = client.post("/api/v1/operators/op-0042/unlock", headers=headers)
    assert unlocked.status_code == 200 and unlocked.json()["failed_attempts"] == 0
    assert unlocked.json()["locked_until"] is None
    assert stranger.post(SIGN_IN, json={"badge": "EMP-004217", "pin": PIN}).status_code == 200
    old_token = sign_in(client, badge="EMP-004217", pin=PIN)

    weak = client.post("/api/v1/operators/op-0042/pin", headers=headers, json={"pin": "4321"})
    assert weak.status_code == 422 and weak.json()["error"] == "pin_policy"
    changed = client.post("/api/v1/operators/op-0042/pin", headers=headers, json={"pin": "482604"})
    assert changed.status_code == 204
    assert client.get("/api/v1/auth/me", headers=bearer(old_token)).status_code == 401
    assert client.post(SIGN_IN, json={"badge": "EMP-004217", "pin": PIN}).status_code == 401
    sign_in(client, badge="EMP-004217", pin="482604")
    missing = client.post("/api/v1/operators/op-9999/pin", headers=headers, json={"pin": "482604"})
    assert missing.status_code == 404


def test_the_last_admin_cannot_be_demoted_or_disabled(client: TestClient) -> None:
    headers = admin(client)
    for change in ({"role": "technician"}, {"disabled": True}):
        answer = client.patch("/api/v1/operators/op-admin", headers=headers, json=change)
        assert answer.status_code == 409
        assert answer.json()["error"] == "last_admin"
    promoted = client.patch("/api/v1/operators/op-tech", headers=headers, json={"role": "admin"})
    assert promoted.status_code == 200
    demoted = client.patch("/api/v1/operators/op-admin", headers=headers, json={"role": "operator"})
    assert demoted.status_code == 200
    # the demoted admin's own session ended with the role change
    assert client.get("/api/v1/operators", headers=headers).status_code == 401


def test_sign_in_hook_gets_the_principal_and_method(app: FastAPI, client: TestClient) -> None:
    calls: list[tuple[Principal, str]] = []

    async def on_sign_in(principal: Principal, method: str, attends: tuple[str, ...]) -> None:
        calls.append((principal, method))

    app.state.on_sign_in = on_sign_in
    sign_in(client, badge="EMP-004217", pin=PIN)
    sign_in(client, operator_id="op-0042", pin=PIN)
    assert [(p.operator_id, p.role, p.station, m) for p, m in calls] == [
        ("op-0042", Role.OPERATOR, "dock-1", "badge"),
        ("op-0042", Role.OPERATOR, "dock-1", "code"),
    ]


def test_sign_in_that_cannot_be_journalled_does_not_count(
    app: FastAPI, client: TestClient, store: OperatorStore
) -> None:
    async def journal_down(principal: Principal, method: str, attends: tuple[str, ...]) -> None:
        raise OSError("journal is full")

    app.state.on_sign_in = journal_down
    answer = client.post(SIGN_IN, json={"badge": "EMP-004217", "pin": PIN})
    assert answer.status_code == 503
    assert answer.json()["error"] == "journal_unavailable"
    assert "token" not in answer.json()
    sessions = sqlite3.connect(store.path).execute("SELECT revoked_at FROM sessions").fetchall()
    assert len(sessions) == 1 and sessions[0][0] is not None


def test_logs_hold_neither_pin_nor_token(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = sign_in(client, badge="EMP-004217", pin=PIN)
    client.post(SIGN_IN, json={"badge": "EMP-004217", "pin": "482604"})
    client.post(SIGN_IN, json={"badge": "EMP-999999", "pin": PIN})
    client.post("/api/v1/auth/sign-out", headers=bearer(token))
    assert "operator signed in" in caplog.text
    assert token[:6] in caplog.text
    assert token[:7] not in caplog.text
    assert PIN not in caplog.text and "482604" not in caplog.text
    assert "EMP-999999" not in caplog.text  # a mistyped PIN may land in the badge field


def test_other_errors_are_json_too(app: FastAPI) -> None:
    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("details only for the log")

    with TestClient(app, raise_server_exceptions=False) as client:
        missing = client.get("/api/v1/nowhere")
        assert missing.status_code == 404
        assert missing.json() == {"error": "not_found", "message": "Not Found"}
        wrong_method = client.get(SIGN_IN)
        assert wrong_method.status_code == 405
        assert wrong_method.json()["error"] == "method_not_allowed"
        assert wrong_method.headers["Allow"] == "POST"
        # every method the path takes, not only the first route's (Starlette's own answer)
        not_here = client.delete("/api/v1/operators")
        assert not_here.status_code == 405
        assert not_here.headers["Allow"] == "GET, POST"
        not_json = client.post(
            SIGN_IN, content=b"\xff\xfe", headers={"Content-Type": "application/json"}
        )
        assert not_json.status_code in (400, 422) and not_json.json()["error"]
        broken = client.get("/boom")
        assert broken.status_code == 500
        assert broken.json()["error"] == "internal"
        assert "details only for the log" not in broken.text


def test_openapi_documents_examples_errors_and_bearer(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    sign_in_op = spec["paths"][SIGN_IN]["post"]
    examples = sign_in_op["requestBody"]["content"]["application/json"]["examples"]
    assert {"badge", "operator_id"} <= set(examples)
    assert {"200", "401", "403", "429", "503"} <= set(sign_in_op["responses"])
    held = sign_in_op["responses"]["429"]["content"]["application/json"]["example"]
    assert held["error"] == "sign_in_held" and "retry_after" in held
    listed = spec["paths"]["/api/v1/operators"]["get"]
    assert {"401", "403"} <= set(listed["responses"])
    assert listed["security"] == [{"HTTPBearer": []}]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_every_route_is_documented(app: FastAPI) -> None:
    documented = (Path(__file__).resolve().parents[2] / "docs" / "operators.md").read_text()
    for route in [*router.routes, *operators_router.routes]:
        for method in getattr(route, "methods", set()):
            assert f"`{method} {route.path}`" in documented, f"{method} {route.path}"
