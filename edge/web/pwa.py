"""`/app/`: the station's web app (PWA) as static files, and its service worker with the list of
files to precache, each with a content hash, so an updated install updates every handheld."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from edge.web.api_docs import VENDOR_DIR, VENDOR_URL

APP_DIR = Path(__file__).resolve().parent / "app"
APP_URL = "/app"
WORKER_TEMPLATE = "sw.js"
# The vendored files the shell imports; the decoder (barcode-detector, zxing-wasm) is cached on
# first camera use instead, and axe-core and Swagger UI are never part of the app.
SHELL_VENDOR = ("preact/preact.mjs", "preact/hooks.mjs", "htm/htm.mjs", "idb/index.js")
# What the app's pages run: their own files, the vendored ones (the decoder's WASM too), the
# inline import map by its hash, and requests and a WebSocket to this host only.
_POLICY = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' {inline}; style-src 'self'; "
    "img-src 'self' blob: data:; connect-src 'self'; media-src 'self' blob:; "
    "worker-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL)


@dataclass(frozen=True)
class Shell:
    """The app's files on disk and the precache list built from them once."""

    app_dir: Path = APP_DIR
    vendor_dir: Path = VENDOR_DIR

    @cached_property
    def precache(self) -> list[dict[str, str]]:
        """Every file the shell needs offline, with the first 16 hex digits of its SHA-256."""
        entries = []
        for path in sorted(self.app_dir.rglob("*")):
            relative = path.relative_to(self.app_dir).as_posix()
            if path.is_file() and relative != WORKER_TEMPLATE and not relative.startswith("."):
                entries.append((f"{APP_URL}/{relative}", path))
        entries += [(f"{VENDOR_URL}/{name}", self.vendor_dir / name) for name in SHELL_VENDOR]
        return [
            {"url": url, "revision": hashlib.sha256(path.read_bytes()).hexdigest()[:16]}
            for url, path in entries
        ]

    @cached_property
    def policy(self) -> str:
        """The Content-Security-Policy: the page's inline scripts (its import map) by hash."""
        page = (self.app_dir / "index.html").read_text(encoding="utf-8")
        hashes = [
            "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
            for body in _INLINE_SCRIPT.findall(page)
        ]
        return _POLICY.format(inline=" ".join(hashes))

    @cached_property
    def worker(self) -> bytes:
        """The service worker: its template with the precache list in front."""
        template = (self.app_dir / WORKER_TEMPLATE).read_text(encoding="utf-8")
        listing = json.dumps(self.precache, separators=(",", ":"))
        return f"self.__PRECACHE = {listing};\n{template}".encode()


class _AppFiles(StaticFiles):
    """The app's static files with the content security policy the pages run under."""

    def __init__(self, shell: Shell) -> None:
        super().__init__(directory=shell.app_dir, html=True)
        self.shell = shell

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Content-Security-Policy"] = self.shell.policy
        return response


def serve_pwa(app: FastAPI, shell: Shell | None = None) -> None:
    """Serve the app at `/app/` (and send `/` there), and its worker at `/app/sw.js`."""
    files = shell or Shell()

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse(f"{APP_URL}/", status_code=307)

    @app.get(f"{APP_URL}/{WORKER_TEMPLATE}", include_in_schema=False)
    def service_worker() -> Response:
        # always asked of the hub, so an updated station updates its handhelds
        return Response(
            files.worker,
            media_type="text/javascript",
            headers={"Cache-Control": "no-cache", "Content-Security-Policy": files.policy},
        )

    app.mount(APP_URL, _AppFiles(files), name="app")
