"""Schemathesis over every operation in the upstream ledger's OpenAPI, on SQLite and
PostgreSQL: with the token each operation takes (the station's own ids in its paths, so the
fuzzed bodies reach ingest, the feed and the customer view) and without one. No answer is a
5xx; every status, content type, header and body is the documented one."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from edge.upstream import Cosigner, Ledger, SqliteStore
from edge.upstream.app import upstream_app
from tests.upstream.upstream_client import (
    ADMIN_TOKEN,
    NEEDS,
    SITE,
    STATION,
    Upstream,
    bearer,
    expected_return,
    upstream_fixture,  # noqa: F401  (the `upstream` fixture)
)

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
OWN_IDS = {"site": SITE, "station": STATION, "return_id": "R-1001"}
# Statuses docs/replication.md promises and test_app.py sees, which the fuzzer rarely reaches
# (a blob that hashes to its name, a matching ETag, a body that is not UTF-8).
ANSWERS = {
    ("PUT", "/api/v1/blobs/{sha256}"): {200, 201, 401, 413, 422},
    ("HEAD", "/api/v1/blobs/{sha256}"): {200, 401, 404},
    ("GET", "/api/v1/sites/{site}/manifest"): {200, 304, 401, 403},
    ("POST", "/api/v1/stations/{site}/{station}/events"): {200, 400, 401, 403, 409, 422},
}


def served_spec() -> dict[str, Any]:
    """The OpenAPI document `/openapi.json` serves; loaded at import so each operation is its
    own test."""
    # A throwaway file of its own: `:memory:` left an empty file of that name in the working
    # folder (the store creates its file 0600 first), one for every xdist worker to share.
    with tempfile.TemporaryDirectory(prefix="edge-spec-") as folder:
        store = SqliteStore(Path(folder) / "upstream.sqlite")
        try:
            spec: dict[str, Any] = upstream_app(
                Ledger(store, Cosigner.generate("upstream.test/spec")), ADMIN_TOKEN
            ).openapi()
        finally:
            store.close()
    return spec


schema = schemathesis.openapi.from_dict(served_spec())


@pytest.fixture
def tokens(upstream: Upstream) -> dict[str, str]:
    """Each realm's token; the customer's is for return R-1001."""
    customer = upstream.import_manifest(expected_return("R-1001", "L-1001"))["R-1001"]
    return {"station": upstream.station_token, "admin": ADMIN_TOKEN, "customer": customer}


def test_the_fuzzed_schema_is_the_one_served(upstream: Upstream) -> None:
    assert upstream.client.get("/openapi.json").json() == served_spec()
    documented = {
        (method.upper(), path) for path, ops in served_spec()["paths"].items() for method in ops
    }
    assert set(NEEDS) <= documented
    assert len(list(schema.get_all_operations())) == len(documented)


def test_every_status_the_api_answers_is_in_its_openapi() -> None:
    paths = served_spec()["paths"]
    for (method, path), statuses in ANSWERS.items():
        documented = {int(status) for status in paths[path][method.lower()]["responses"]}
        assert statuses <= documented, (method, path, sorted(statuses - documented))


@schema.parametrize()
@FUZZ
def test_with_the_operations_token(case: Any, upstream: Upstream, tokens: dict[str, str]) -> None:
    realm = NEEDS.get((case.method.upper(), case.path))
    headers = bearer(tokens[realm]) if realm else {}
    if case.path_parameters:
        case.path_parameters.update({k: v for k, v in OWN_IDS.items() if k in case.path_parameters})
    case.call_and_validate(app=upstream.app, headers=headers, checks=CHECKS)


@schema.parametrize()
@FUZZ
def test_without_a_token(case: Any, upstream: Upstream) -> None:
    response = case.call_and_validate(app=upstream.app, checks=CHECKS)
    if (case.method.upper(), case.path) in NEEDS:
        assert response.status_code >= 400, (case.method, case.path, response.status_code)
