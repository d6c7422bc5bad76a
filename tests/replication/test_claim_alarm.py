"""The claim alarm ("this station lost data") must not fire on a healthy station whose batch
was read from rows committed just before the writer counted them in its in-memory size."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from edge.replication.service import build_replicator
from tests.replication.conftest import SITE, STATION, make_station, weighed, write_token
from tests.replication.upstream_process import UpstreamProcess


class PauseAfterCommit:
    """The journal's connection; once armed, the thread that COMMITs waits right after it."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self.armed = False
        self.committed, self.go = threading.Event(), threading.Event()

    def execute(self, sql: str, *args: Any) -> Any:
        result = self._conn.execute(sql, *args)
        if sql == "COMMIT" and self.armed:
            self.armed = False
            self.committed.set()
            self.go.wait(30)
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


@pytest.mark.parametrize("upstream", ["sqlite"], indirect=True)
def test_no_claim_alarm_for_a_commit_not_yet_in_the_writers_memory(
    tmp_path: Path, upstream: UpstreamProcess
) -> None:
    station = make_station(tmp_path, upstream.url, upstream.cosigner_vkey)
    with station.open() as journal:
        write_token(station.folder, upstream.register(SITE, STATION, journal.verifier.encode()))
        journal.append_many([weighed(i) for i in range(10)])
        journal.checkpoint()
        proxy = PauseAfterCommit(journal._conn)
        journal._conn = proxy  # type: ignore[assignment]
        proxy.armed = True
        # 64 events: committed together with their checkpoint (at 74) in one transaction
        appender = threading.Thread(
            target=journal.append_many, args=([weighed(i) for i in range(10, 74)],)
        )
        appender.start()
        assert proxy.committed.wait(10)
        replicator, _, client = build_replicator(journal, station.folder, station.profile)

        async def one_round() -> None:
            try:
                await replicator.send_events()
            finally:
                await client.close()

        try:
            asyncio.run(one_round())  # ReplicationAlarm: "upstream says it holds 74 … has 10"
        finally:
            proxy.go.set()
            appender.join(10)
        assert journal.size == 74
