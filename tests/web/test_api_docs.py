"""`/docs` on the hub and the upstream loads Swagger UI from the app itself, never from a CDN,
and the vendored files it loads are shipped in the package."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from edge.upstream import Cosigner, Ledger, open_store
from edge.upstream.app import upstream_app
from edge.web import VENDOR_DIR
from tests.api.conftest import build_hub

ROOT = Path(__file__).resolve().parents[2]
# anything a page could fetch: src/href attributes, url(...) in styles, and absolute URLs
_REFERENCES = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url:\s*'([^']+)'""")
_ABSOLUTE = re.compile(r"(?:https?:)?//[A-Za-z0-9]")


@pytest.fixture(params=["hub", "upstream"])
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    app: FastAPI
    if request.param == "hub":
        app, _, _ = build_hub(tmp_path)
    else:
        store = open_store(str(tmp_path / "upstream.db"), tmp_path)
        request.addfinalizer(store.close)
        app = upstream_app(Ledger(store, Cosigner.generate("upstream.test/ledger")), "t" * 40)
    with TestClient(app) as started:
        yield started


def test_docs_reference_only_the_apps_own_assets_and_they_answer(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert not _ABSOLUTE.search(page.text), "the page names an outside URL"
    assets = [a or b for a, b in _REFERENCES.findall(page.text)]
    assert {a.rsplit("/", 1)[-1] for a in assets} >= {
        "swagger-ui-bundle.js",
        "swagger-ui.css",
        "favicon-32x32.png",
        "openapi.json",
    }
    for asset in assets:
        assert asset.startswith("/"), asset
        answer = client.get(asset)
        assert answer.status_code == 200, asset
        assert answer.content, asset
    assert "validatorUrl" in page.text and '"validatorUrl": null' in page.text
    assert client.get("/docs/oauth2-redirect").status_code == 200
    assert client.get("/redoc").status_code == 404  # not served: it would load from a CDN


def test_the_vendored_files_are_package_data() -> None:
    """What `pip install` ships must hold every file `/docs` loads."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["edge"]
    vendored = [p for p in VENDOR_DIR.rglob("*") if p.is_file()]
    names = {p.name for p in vendored}
    assert {"swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "LICENSE"} <= names
    for path in vendored:
        relative = path.relative_to(ROOT / "edge").as_posix()
        assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns), relative


def test_the_vendoring_script_takes_what_the_lockfile_pins() -> None:
    script = (ROOT / "scripts" / "vendor-web.sh").read_text(encoding="utf-8")
    assert "npm ci" in script
    lock = (ROOT / "package-lock.json").read_text(encoding="utf-8")
    version = (VENDOR_DIR / "swagger-ui" / "VERSION").read_text(encoding="utf-8").strip()
    package, _, pinned = version.partition("@")
    assert re.search(rf'"node_modules/{package}":\s*{{\s*"version":\s*"{pinned}"', lock)
