"""`edge upstream serve` as a real process we can SIGKILL, and what it holds, read from its
database behind its back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from edge.upstream import open_store
from edge.upstream.home import ADMIN_TOKEN_FILE, COSIGNER_VKEY_FILE
from tests.ports import listen_on_free_port, owns_listener

ROOT = Path(__file__).resolve().parents[2]


class UpstreamProcess:
    def __init__(self, folder: Path, db: str = "") -> None:
        self.folder, self.db = folder, db
        self.port = 0  # chosen at the first start, kept across restarts
        self._process: subprocess.Popen[bytes] | None = None
        self.log = folder.parent / f"{folder.name}.log"

    @property
    def url(self) -> str:
        assert self.port, "not started"
        return f"http://127.0.0.1:{self.port}"

    def _launch(self, port: int) -> subprocess.Popen[bytes]:
        args = [sys.executable, "-m", "edge", "--data-dir", str(self.folder), "upstream", "serve"]
        args += ["--port", str(port)] + (["--db", self.db] if self.db else [])
        with self.log.open("ab") as out:
            return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)

    def start(self) -> None:
        if self.port:
            self._process = self._launch(self.port)
        else:
            self._process, self.port = listen_on_free_port(self._launch)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"upstream exited: {self.log.read_text()[-2000:]}")
            try:
                ready = httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200
                if ready and owns_listener(self._process.pid, self.port):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("upstream did not become ready")

    def kill(self) -> None:
        if self._process is not None:
            os.kill(self._process.pid, signal.SIGKILL)
            self._process.wait()
            self._process = None

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
            self._process = None

    @property
    def admin(self) -> dict[str, str]:
        token = (self.folder / ADMIN_TOKEN_FILE).read_text().strip()
        return {"Authorization": f"Bearer {token}"}

    @property
    def cosigner_vkey(self) -> str:
        return (self.folder / COSIGNER_VKEY_FILE).read_text().strip()

    def register(self, site: str, station: str, vkey: str) -> str:
        answer = httpx.post(
            f"{self.url}/api/v1/stations",
            json={"site": site, "station": station, "vkey": vkey},
            headers=self.admin,
        )
        answer.raise_for_status()
        return str(answer.json()["token"])

    def import_manifest(self, site: str, returns: list[dict[str, object]]) -> dict[str, object]:
        answer = httpx.post(
            f"{self.url}/api/v1/sites/{site}/manifest",
            json={"returns": returns},
            headers=self.admin,
        )
        answer.raise_for_status()
        return dict(answer.json())

    def held(self, site: str, station: str) -> list[tuple[int, bytes]]:
        """(seq, hash) of every event held, straight from the database."""
        store = open_store(self.db, self.folder)
        try:
            with store.transaction() as tx:
                rows = tx.all(
                    "SELECT seq, hash FROM events WHERE site = ? AND station = ? ORDER BY seq",
                    (site, station),
                )
                checkpoint = tx.one(
                    "SELECT size, root FROM checkpoints WHERE site = ? AND station = ? "
                    "ORDER BY size DESC LIMIT 1",
                    (site, station),
                )
        finally:
            store.close()
        self.last_checkpoint = (int(checkpoint[0]), bytes(checkpoint[1])) if checkpoint else None
        return [(int(seq), bytes(digest)) for seq, digest in rows]
