"""The station's side of the upstream's HTTP API (docs/replication.md), as typed answers.

Transport failures and 5xx answers raise `UpstreamAway` (retry later, with backoff); answers
that need a person raise `UpstreamRefused` (a wrong token, a fork, an invalid batch).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

TIMEOUT = httpx.Timeout(30.0, connect=5.0)
# Drop an idle connection before the server does (uvicorn's default is 5 s), so a request is
# never sent on a connection the server is closing.
LIMITS = httpx.Limits(keepalive_expiry=2.0)


class UpstreamAway(Exception):
    """No answer, or an answer that says try again later."""


class UpstreamRefused(Exception):
    """The upstream refused: the reason needs a person (or a code fix), not a retry loop."""

    def __init__(self, status: int, code: str, message: str, body: dict[str, Any]) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.body = status, code, message, body


@dataclass(frozen=True)
class Head:
    size: int
    checkpoint_size: int
    cosignature: str | None


@dataclass(frozen=True)
class IngestAnswer:
    head: Head
    gap: bool = False  # the upstream needs events from head.size + 1
    stored: int = 0


@dataclass(frozen=True)
class ManifestPage:
    records: list[dict[str, Any]]
    cursor: int
    more: bool
    etag: str
    unchanged: bool = False


class UpstreamClient:
    def __init__(
        self, url: str, token: str, site: str, station: str, *, verify: str | bool = True
    ) -> None:
        self.site, self.station = site, station
        self._http = httpx.AsyncClient(
            base_url=url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"} if token else {},
            timeout=TIMEOUT,
            limits=LIMITS,
            verify=verify,
        )

    def use_token(self, token: str) -> None:
        """Authenticate from now on with `token` (the station's token file changed)."""
        self._http.headers["Authorization"] = f"Bearer {token}"

    async def close(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            answer = await self._http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            raise UpstreamAway(f"{type(exc).__name__}: {exc}") from None
        if answer.status_code >= 500 or answer.status_code in (408, 429):
            raise UpstreamAway(f"upstream answered {answer.status_code}")
        return answer

    @staticmethod
    def _refused(answer: httpx.Response) -> UpstreamRefused:
        try:
            body = answer.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        return UpstreamRefused(
            answer.status_code,
            str(body.get("error", "refused")),
            str(body.get("message", answer.text[:200])),
            body,
        )

    @staticmethod
    def _head(body: dict[str, Any]) -> Head:
        return Head(int(body["size"]), int(body["checkpoint_size"]), body.get("cosignature"))

    async def alive(self) -> bool:
        try:
            return (await self._http.get("/healthz", timeout=3.0)).status_code == 200
        except httpx.HTTPError:
            return False

    async def head(self) -> Head:
        answer = await self._call("GET", f"/api/v1/stations/{self.site}/{self.station}/head")
        if answer.status_code != 200:
            raise self._refused(answer)
        return self._head(answer.json())

    async def ingest(self, batch: dict[str, Any] | bytes) -> IngestAnswer:
        """Send a batch (its JSON, or those bytes already encoded)."""
        body = batch if isinstance(batch, bytes) else json.dumps(batch).encode()
        answer = await self._call(
            "POST",
            f"/api/v1/stations/{self.site}/{self.station}/events",
            content=body,
            headers={"Content-Type": "application/json"},
        )
        if answer.status_code == 200:
            body = answer.json()
            return IngestAnswer(self._head(body), stored=int(body.get("stored", 0)))
        if answer.status_code == 409:
            refused = self._refused(answer)
            if refused.code == "gap":
                return IngestAnswer(self._head(refused.body), gap=True)
            raise refused
        raise self._refused(answer)

    async def has_blob(self, sha256: str) -> bool:
        answer = await self._call("HEAD", f"/api/v1/blobs/{sha256}")
        if answer.status_code in (200, 404):
            return answer.status_code == 200
        raise self._refused(answer)

    async def put_blob(self, sha256: str, content: bytes) -> None:
        answer = await self._call("PUT", f"/api/v1/blobs/{sha256}", content=content)
        if answer.status_code not in (200, 201):
            raise self._refused(answer)

    async def manifest(self, after: int, etag: str = "", limit: int = 1000) -> ManifestPage:
        headers = {"If-None-Match": etag} if etag else {}
        answer = await self._call(
            "GET",
            f"/api/v1/sites/{self.site}/manifest",
            params={"after": after, "limit": limit},
            headers=headers,
        )
        if answer.status_code == 304:
            return ManifestPage([], after, False, etag, unchanged=True)
        if answer.status_code != 200:
            raise self._refused(answer)
        body = answer.json()
        return ManifestPage(
            list(body["records"]),
            int(body["cursor"]),
            bool(body["more"]),
            answer.headers.get("ETag", ""),
        )
