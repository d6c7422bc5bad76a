"""P5: catch-up of a 100k-event backlog into PostgreSQL, ours vs a raw COPY, in the same run.

Ours: a station journal of 100,000 custody events that never reached the upstream; the
replicator (as `edge replicate --once` runs it) sends them in batches that end at signed
checkpoints to `edge upstream serve` on a durable PostgreSQL cluster, which verifies every
event (hash, canonical form, chain), the checkpoint (signature, root), stores and cosigns each
batch in one transaction. Timed from the first request to the last acknowledgement.
Baseline: the same rows (the columns the upstream stores) copied with psycopg's COPY into the
same table of a second database on the same cluster, in one transaction, timed from the COPY to
the commit. The last line is `ratio: <our events/s / COPY rows/s>` (goal >= 0.3).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import scratch, weighed_draft

from edge.bus.broker import free_port
from edge.journal import Journal, JournalReader
from edge.replication.client import UpstreamClient
from edge.replication.replicator import Replicator
from edge.replication.state import ReplicationState
from edge.upstream import PostgresStore
from edge.upstream.home import ADMIN_TOKEN_FILE
from tests.postgres_server import PostgresServer

ROOT = Path(__file__).resolve().parents[1]
EVENTS = 100_000
SITE, STATION = "bench-site", "dock-1"


def build_journal(folder: Path) -> Journal:
    journal = Journal(folder, site=SITE, station=STATION)
    for start in range(0, EVENTS, 100):
        journal.append_many([weighed_draft(i) for i in range(start, start + 100)])
    journal.checkpoint()
    return journal


def start_upstream(folder: Path, dsn: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "edge", "--data-dir", str(folder), "upstream", "serve",
         "--db", dsn, "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("upstream did not start")


async def replicate(journal: Journal, folder: Path, url: str, token: str) -> float:
    client = UpstreamClient(url, token, SITE, STATION)
    state = ReplicationState(folder / "replication.db")
    replicator = Replicator(journal, state, client, batch_events=1000, sign_after_s=0.0)
    try:
        started = time.perf_counter()
        held = await replicator.sync()
        elapsed = time.perf_counter() - started
    finally:
        await client.close()
        state.close()
    if held != EVENTS:
        raise RuntimeError(f"upstream holds {held} of {EVENTS}")
    return elapsed


def stored_rows(journal_path: Path) -> list[tuple[object, ...]]:
    """The rows the upstream stores, from the station's journal (prepared before timing)."""
    from edge.upstream.ingest import EventRow, precheck

    with JournalReader(journal_path) as reader:
        checked = precheck(SITE, STATION, reader.bodies(1, EVENTS), checkpoint="")
    rows: list[tuple[object, ...]] = []
    for row in checked.results:
        assert isinstance(row, EventRow), row
        rows.append(
            (SITE, STATION, row.seq, row.event_id, row.type, row.subject, row.return_ref, row.ts,
             row.body, row.hash)
        )  # fmt: skip
    return rows


def copy_rows(dsn: str, rows: list[tuple[object, ...]]) -> float:
    PostgresStore(dsn).close()  # the same schema, by the same migrations
    with psycopg.connect(dsn) as conn:
        started = time.perf_counter()
        with (
            conn.cursor() as cursor,
            cursor.copy(
                "COPY events (site, station, seq, event_id, type, subject, return_ref, ts, "
                "body, hash) FROM STDIN"
            ) as copy,
        ):
            for row in rows:
                copy.write_row(row)
        conn.commit()
        return time.perf_counter() - started


def main() -> None:
    folder = scratch()
    server = PostgresServer(durable=True)
    try:
        server.start()
        ours_dsn = server.create_database("p5_ours")
        copy_dsn = server.create_database("p5_copy")
        t = time.perf_counter()
        journal = build_journal(folder / "station")
        print(f"journal of {EVENTS} events built in {time.perf_counter() - t:.1f} s")
        process, url = start_upstream(folder / "upstream", ours_dsn)
        try:
            admin = (folder / "upstream" / ADMIN_TOKEN_FILE).read_text().strip()
            answer = httpx.post(
                f"{url}/api/v1/stations",
                json={"site": SITE, "station": STATION, "vkey": journal.verifier.encode()},
                headers={"Authorization": f"Bearer {admin}"},
            )
            answer.raise_for_status()
            ours_s = asyncio.run(
                replicate(journal, folder / "station", url, answer.json()["token"])
            )
        finally:
            process.terminate()
            process.wait(20)
        journal.close()
        rows = stored_rows(folder / "station" / "journal.db")
        copy_s = copy_rows(copy_dsn, rows)
        with psycopg.connect(ours_dsn) as conn:
            held = conn.execute("SELECT count(*), max(seq) FROM events").fetchone()
        if held != (EVENTS, EVENTS):
            raise RuntimeError(f"upstream holds {held}, expected {EVENTS}")
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    ours, copied = EVENTS / ours_s, EVENTS / copy_s
    print(json.dumps({"events": EVENTS, "ours_s": round(ours_s, 2), "copy_s": round(copy_s, 2)}))
    print(f"{'':44} {'events/s':>10}")
    print(f"{'ours: replicator -> HTTP -> verify -> PostgreSQL':44} {ours:10,.0f}")
    print(f"{'baseline: psycopg COPY, one transaction':44} {copied:10,.0f}")
    print(f"ratio: {ours / copied:.3f}")


if __name__ == "__main__":
    main()
