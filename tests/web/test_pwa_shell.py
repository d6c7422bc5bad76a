"""The app shell as the hub serves it, without a browser: the pages and their policy, the
service worker's precache list, the manifest and icons, the message catalogue, that every
module import resolves, package data, and the station status figures the status screen shows."""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import re
import struct
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from edge.web import APP_DIR, VENDOR_DIR
from tests.api.conftest import OPERATORS, bearer, build_hub, sign_in

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(p for p in APP_DIR.rglob("*.js") if p.name != "sw.js")
_IMPORT = re.compile(r"""^\s*(?:import|export)\b[^'"]*?from\s*["']([^"']+)["']""", re.MULTILINE)
_KEY = re.compile(r'^\s*"([a-z_]+(?:\.[a-z_]+)+)":\s*"', re.MULTILINE)
_T_CALL = re.compile(r"""\bt\(\s*["']([a-z_.]+)["']""")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    app, _, _ = build_hub(tmp_path_factory.mktemp("hub"))
    with TestClient(app) as started:
        yield started


def _import_map() -> dict[str, str]:
    page = (APP_DIR / "index.html").read_text(encoding="utf-8")
    found = re.search(r'<script type="importmap">(.*?)</script>', page, re.DOTALL)
    assert found
    imports: dict[str, str] = json.loads(found.group(1))["imports"]
    return imports


def test_the_app_is_served_at_app_and_the_root_leads_there(client: TestClient) -> None:
    root = client.get("/", follow_redirects=False)
    assert root.status_code == 307 and root.headers["location"] == "/app/"
    page = client.get("/app/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<link rel="manifest" href="/app/manifest.webmanifest">' in page.text
    # the policy lets the page run its own inline import map (by hash) and nothing else inline
    policy = page.headers["content-security-policy"]
    import_map = re.search(r'<script type="importmap">(.*?)</script>', page.text, re.DOTALL)
    assert import_map
    digest = base64.b64encode(hashlib.sha256(import_map.group(1).encode()).digest()).decode()
    assert f"'sha256-{digest}'" in policy
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert "connect-src 'self'" in policy
    assert (
        client.get("/app/manifest.webmanifest")
        .headers["content-type"]
        .startswith("application/manifest+json")
    )
    wasm = client.get("/vendor/zxing-wasm/zxing_reader.wasm")
    assert wasm.headers["content-type"] == "application/wasm"  # streaming compile needs it


def test_the_worker_precaches_every_shell_file_by_its_content_hash(client: TestClient) -> None:
    worker = client.get("/app/sw.js")
    assert worker.status_code == 200
    assert worker.headers["cache-control"] == "no-cache"
    head, _, body = worker.text.partition("\n")
    assert head.startswith("self.__PRECACHE = ") and head.endswith(";")
    listing = json.loads(head.removeprefix("self.__PRECACHE = ").removesuffix(";"))
    urls = {entry["url"] for entry in listing}
    for entry in listing:
        answer = client.get(entry["url"])
        assert answer.status_code == 200, entry["url"]
        assert entry["revision"] == hashlib.sha256(answer.content).hexdigest()[:16], entry["url"]
    shell = {
        f"/app/{p.relative_to(APP_DIR).as_posix()}"
        for p in APP_DIR.rglob("*")
        if p.is_file() and p.name != "sw.js"
    }
    assert shell <= urls
    assert set(_import_map().values()) <= urls  # the libraries the modules import
    assert not any(u.startswith(("/vendor/axe-core", "/vendor/swagger-ui")) for u in urls)
    assert not any("zxing" in u or "barcode-detector" in u for u in urls)  # first camera use
    # Workbox comes from the hub, never from its CDN default
    assert 'importScripts("/vendor/workbox-sw/workbox-sw.js")' in body
    assert "modulePathCb" in body and "storage.googleapis" not in body
    for name in re.findall(r"workbox\.(precaching|routing|strategies|expiration|core)\b", body):
        assert client.get(f"/vendor/workbox-{name}/workbox-{name}.prod.js").status_code == 200


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", path
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_manifest_names_icons_that_exist_at_their_sizes() -> None:
    manifest = json.loads((APP_DIR / "manifest.webmanifest").read_text(encoding="utf-8"))
    assert manifest["start_url"].startswith(manifest["scope"])
    assert manifest["display"] == "standalone"
    purposes = set()
    for icon in manifest["icons"]:
        path = APP_DIR / icon["src"].removeprefix("/app/")
        width, height = _png_size(path)
        assert icon["sizes"] == f"{width}x{height}", icon
        purposes.add((icon["purpose"], width))
    assert {("any", 192), ("any", 512), ("maskable", 512)} <= purposes


def _catalogue() -> dict[str, list[str]]:
    text = (APP_DIR / "lib" / "messages.js").read_text(encoding="utf-8")
    blocks = re.split(r"^  (\w+): \{$", text, flags=re.MULTILINE)[1:]
    return {blocks[i]: _KEY.findall(blocks[i + 1]) for i in range(0, len(blocks), 2)}


def test_every_language_has_every_message_and_every_text_used_is_in_the_catalogue() -> None:
    catalogue = _catalogue()
    assert set(catalogue) == {"en", "de"}
    english = catalogue["en"]
    assert len(english) == len(set(english)) > 40
    assert catalogue["de"] == english  # same keys, same order: a missing one is obvious
    used = {key for module in MODULES for key in _T_CALL.findall(module.read_text("utf-8"))}
    assert used and used <= set(english), used - set(english)


def test_every_module_import_resolves_to_a_served_file() -> None:
    imports = _import_map()
    for target in imports.values():
        assert (VENDOR_DIR / target.removeprefix("/vendor/")).is_file(), target
    for module in MODULES:
        for specifier in _IMPORT.findall(module.read_text(encoding="utf-8")):
            if specifier.startswith("."):
                assert (module.parent / specifier).resolve().is_file(), (module, specifier)
            else:
                assert specifier in imports, (module, specifier)
    # the vendored modules' own imports: bare ones are in the map, relative ones are vendored
    for target in imports.values():
        path = VENDOR_DIR / target.removeprefix("/vendor/")
        for specifier in re.findall(r"""from\s*["']([^"']+)["']""", path.read_text("utf-8")):
            assert specifier in imports or (path.parent / specifier).is_file(), specifier


def test_the_app_files_are_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["edge"]
    for path in APP_DIR.rglob("*"):
        if path.is_file():
            relative = path.relative_to(ROOT / "edge").as_posix()
            assert any(fnmatch.fnmatch(relative, p) for p in patterns), relative


def test_station_status_says_the_clock_and_the_disk(client: TestClient) -> None:
    """What the status screen shows besides devices and backlog."""
    from edge.operators import Role

    token = sign_in(client, OPERATORS[Role.OPERATOR][1])
    status = client.get("/api/v1/station", headers=bearer(token)).json()
    assert status["clock"] in ("synced", "unsynced")
    assert status["time"].endswith("+00:00")
    disk = status["disk"]
    assert 0 < disk["free_bytes"] <= disk["total_bytes"]


def test_the_shell_stays_under_300_kb_without_the_decoder(client: TestClient) -> None:
    """Issue 16's budget for a first load (compressed); held here uncompressed, which is
    stricter: the hub does not compress static files."""
    worker = client.get("/app/sw.js")
    head = worker.text.partition("\n")[0]
    listing = json.loads(head.removeprefix("self.__PRECACHE = ").removesuffix(";"))
    workbox = re.findall(r"workbox\.(precaching|routing|strategies|expiration|core)\b", worker.text)
    urls = [entry["url"] for entry in listing] + ["/vendor/workbox-sw/workbox-sw.js"]
    urls += [f"/vendor/workbox-{name}/workbox-{name}.prod.js" for name in set(workbox)]
    size = len(worker.content) + sum(len(client.get(url).content) for url in urls)
    assert size < 300_000, size
