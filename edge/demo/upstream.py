"""The demo's reference upstream: the ledger on SQLite behind its API on a free port, in the demo's
own event loop, with the demo station registered (once) and its token in the station's keys."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from edge.bus.broker import free_port
from edge.demo.devices import until
from edge.journal import Journal
from edge.replication.service import TOKEN_FILE
from edge.upstream import Ledger, LedgerError, open_store
from edge.upstream.app import upstream_app
from edge.upstream.home import UpstreamHome


@dataclass
class DemoUpstream:
    url: str
    ledger: Ledger
    home: UpstreamHome

    @property
    def vkey(self) -> str:
        return self.home.cosigner.verifier.encode()


def _register(ledger: Ledger, data_dir: Path, site: str, station: str) -> None:
    """Register the station's key once; its token goes where the hub looks for it."""
    token_path = data_dir / "keys" / TOKEN_FILE
    with Journal(data_dir, site=site, station=station) as journal:  # makes the key on first run
        vkey = journal.verifier.encode()
    if token_path.exists():
        return
    try:
        token = ledger.register_station(site, station, vkey)
    except LedgerError as exc:
        raise RuntimeError(
            f"the demo upstream knows {site}/{station} but this station has no token: {exc}; "
            f"remove {ledger.store.description} to start over"
        ) from None
    fd = os.open(token_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token + "\n")


@contextlib.asynccontextmanager
async def demo_upstream(
    folder: Path, data_dir: Path, site: str, station: str
) -> AsyncIterator[DemoUpstream]:
    home = UpstreamHome.open(folder, "edge-demo.local/upstream")
    store = await asyncio.to_thread(open_store, "", folder)
    ledger = Ledger(store, home.cosigner)
    try:
        await asyncio.to_thread(_register, ledger, data_dir, site, station)
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(
                upstream_app(ledger, home.admin_token),
                host="127.0.0.1",
                port=port,
                log_level="warning",
                access_log=False,
            )
        )
        serving = asyncio.ensure_future(server.serve())
        try:
            await until(lambda: server.started or serving.done(), 20)
            if not server.started:
                await serving
                raise RuntimeError("the demo upstream did not start")
            yield DemoUpstream(f"http://127.0.0.1:{port}", ledger, home)
        finally:
            server.should_exit = True
            with contextlib.suppress(Exception):
                await serving
    finally:
        store.close()
