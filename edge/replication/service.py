"""Replication as the hub runs it: configured from the profile's `[upstream]` section and the
station's token file (read again whenever it changes), started and stopped with the hub, its
figures for the API and /metrics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edge.hub.runtime import Hub, ManifestImport
from edge.journal.note import NoteError
from edge.replication.backlog import Backlog, backlog
from edge.replication.client import UpstreamClient
from edge.replication.replicator import JournalView, Replicator
from edge.replication.state import STATE_FILE, ReplicationState
from edge.replication.token import TOKEN_FILE, TokenFile
from edge.upstream.cosign import CosignatureVerifier
from stations.manifest import ExpectedReturn
from stations.profile import HubProfile

log = logging.getLogger(__name__)
__all__ = [
    "TOKEN_FILE",
    "ReplicationConfigError",
    "ReplicationService",
    "build_replicator",
    "read_cosigner",
]


class ReplicationConfigError(Exception):
    pass


def read_cosigner(profile: HubProfile) -> CosignatureVerifier | None:
    text = profile.upstream.vkey
    if text is None:
        return None
    path = profile.resolve(text)
    if path is not None and path.is_file():
        text = path.read_text(encoding="utf-8")
    try:
        return CosignatureVerifier.parse(text)
    except NoteError as exc:
        raise ReplicationConfigError(f"upstream.vkey: {exc}") from None


def build_replicator(
    journal: JournalView, data_dir: Path, profile: HubProfile, hub: Hub | None = None
) -> tuple[Replicator, ReplicationState, UpstreamClient]:
    settings = profile.upstream
    if settings.url is None:
        raise ReplicationConfigError("the profile has no [upstream] url")
    station = profile.station
    ca = profile.resolve(settings.ca)
    token = TokenFile.in_folder(data_dir)
    token.refresh()  # read again before each round: the file may appear or change later
    client = UpstreamClient(
        settings.url,
        token.token or "",
        station.site,
        station.station,
        verify=str(ca) if ca is not None else True,
    )
    state = ReplicationState(data_dir / STATE_FILE)
    apply = None
    if hub is not None:
        hub_ref = hub

        async def apply_manifest(records: list[ExpectedReturn]) -> str:
            result = await hub_ref.handle(ManifestImport(tuple(records), "upstream", "upstream"))
            return result.message

        apply = apply_manifest
    replicator = Replicator(
        journal,
        state,
        client,
        apply_manifest=apply,
        cosigner=read_cosigner(profile),
        token=token,
        batch_events=settings.batch_events,
        sign_after_s=settings.sign_after_s,
        manifest_every_s=settings.manifest_every_s,
        backoff_max_s=settings.backoff_max_s,
    )
    return replicator, state, client


@dataclass
class ReplicationService:
    replicator: Replicator | None
    state: ReplicationState | None
    client: UpstreamClient | None
    problem: str | None = None  # why replication is not running
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    @classmethod
    def start(cls, hub: Hub, data_dir: Path, profile: HubProfile) -> ReplicationService | None:
        """None when the profile names no upstream; a stopped service saying why when it
        cannot run (the station keeps working offline either way)."""
        if profile.upstream.url is None:
            return None
        try:
            replicator, state, client = build_replicator(hub.journal, data_dir, profile, hub)
        except (ReplicationConfigError, OSError) as exc:
            log.error("replication not started: %s", exc)
            return cls(None, None, None, problem=str(exc))
        service = cls(replicator, state, client)
        if replicator.token is not None and replicator.token.token is None:
            replicator.note_off(replicator.token.problem)  # said now, not after the first round
        service._task = asyncio.ensure_future(replicator.run(service._stop))
        hub.on_appended.append(replicator.wake)
        log.info("replicating to %s", profile.upstream.url)
        return service

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.client is not None:
            await self.client.close()
        if self.state is not None:
            self.state.close()

    def status(self, hub: Hub) -> dict[str, Any]:
        figures = self.backlog(hub)
        if self.replicator is None:
            return {"status": "off", "problem": self.problem, "backlog": figures.as_json()}
        return {**self.replicator.snapshot(), "backlog": figures.as_json()}

    def backlog(self, hub: Hub) -> Backlog:
        held = self.replicator.stats.upstream_size if self.replicator is not None else 0
        return backlog(hub.journal.reader, held, datetime.now(UTC))
