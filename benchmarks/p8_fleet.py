"""P8: a fleet of stations pushing their journals concurrently into one upstream on PostgreSQL.

Set-up, timed apart from the push: N station journals (real `Journal` files, each with its own
key, spread over several sites) made by a few processes; a durable PostgreSQL cluster (fsync,
WAL flush at commit); several `edge upstream serve --db <dsn>` processes on their own ports
sharing one data folder (stateless ingest workers: one cosigner key, one admin token); every
station registered through the admin API.

The push: a few client processes, each running its share of the stations as asyncio tasks, each
task a real `Replicator` over a `ReadOnlyJournal` with its own `UpstreamClient` (its own
connection), stations given to the workers round-robin (client-side load balancing standing in
for a load balancer). Timed from the moment all clients start to the last acknowledgement.

Then the caught-up fleet idles for `--idle` seconds as a hub's replicator does (a head every
5 s, the manifest feed every 30 s), measured too: that load grows with stations, not events.
With `--partitions N` the `events` table is hash-partitioned by site (made before the workers
start), to show the ledger's queries unchanged on it.

Afterwards every station is checked against PostgreSQL directly: the upstream's (seq, hash)
rows must equal the journal's leaf hashes and its latest checkpoint the journal's (size, root).
Last line: `ratio: <stations that finished with nothing lost> / 500`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from multiprocessing.synchronize import Barrier
from multiprocessing.synchronize import Event as MpEvent
from pathlib import Path
from typing import Any

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # tests.postgres_server
from _common import scratch, weighed_draft

from edge.bus.broker import free_port
from edge.journal import JOURNAL_FILE, Journal, JournalReader, merkle
from edge.replication.client import UpstreamClient
from edge.replication.replicator import ReadOnlyJournal, Replicator
from edge.replication.state import STATE_FILE, ReplicationState
from edge.upstream.cosign import CosignatureVerifier
from edge.upstream.home import ADMIN_TOKEN_FILE, COSIGNER_VKEY_FILE
from edge.upstream.schema import MIGRATIONS, statements
from stations.manifest import ExpectedReturn
from tests.postgres_server import PostgresServer

ROOT = Path(__file__).resolve().parents[1]
GOAL_STATIONS = 500
APPEND_CHUNK = 50  # events per journal commit while filling (a busy dock's group commit)
DATABASE = "fleet"
CLOCK_TICK_S = 1 / os.sysconf("SC_CLK_TCK")
ROW_LOCK_WAITS = ("Lock:tuple", "Lock:transactionid")  # e.g. two batches of one station


@dataclass(frozen=True)
class StationSpec:
    index: int
    site: str
    station: str
    folder: Path


@dataclass(frozen=True)
class Assignment:
    spec: StationSpec
    token: str
    url: str


@dataclass
class Outcome:
    site: str
    station: str
    url: str
    finished_at: float | None  # time.monotonic() of the last acknowledgement
    batches: dict[str, int]
    events_sent: int
    status: str
    last_error: str


# -- the station journals --


def make_journal(job: tuple[StationSpec, int]) -> tuple[StationSpec, str]:
    """One station's journal, filled and signed to its tail; its verifier key."""
    spec, events = job
    with Journal(spec.folder, site=spec.site, station=spec.station) as journal:
        base = spec.index * events
        for first in range(0, events, APPEND_CHUNK):
            last = min(first + APPEND_CHUNK, events)
            journal.append_many([weighed_draft(base + i) for i in range(first, last)])
        journal.checkpoint()  # a checkpoint covers the tail: no signing wait in the push
        return spec, journal.verifier.encode()


def make_journals(specs: Sequence[StationSpec], events: int, makers: int) -> dict[str, str]:
    with mp.get_context("spawn").Pool(makers) as pool:
        made = pool.imap_unordered(make_journal, [(s, events) for s in specs], chunksize=8)
        return {spec.station: vkey for spec, vkey in made}


# -- the upstream: PostgreSQL and its ingest workers --


class UpstreamWorker:
    """One `edge upstream serve` process on its own port."""

    def __init__(self, home: Path, dsn: str, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [sys.executable, "-m", "edge", "--data-dir", str(home), "upstream", "serve"]
        args += ["--db", dsn, "--port", str(self.port)]
        with log.open("wb") as out:
            self.process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        self.log = log

    def wait_ready(self, within: float = 60.0) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"upstream worker exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"upstream worker on {self.url} did not become ready")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def problems(self) -> Counter[str]:
        """WARNING and ERROR lines of its log, by level."""
        lines = self.log.read_text(errors="replace").splitlines()
        return Counter(line.split(" ", 1)[0] for line in lines if line.startswith(("WARN", "ERR")))


def start_workers(home: Path, dsn: str, count: int, logs: Path) -> list[UpstreamWorker]:
    # The first worker alone makes the data folder's key and admin token and runs the
    # migrations: several started at once on a fresh database race in the migrations
    # (docs/scaling.md).
    first = UpstreamWorker(home, dsn, logs / "upstream-0.log")
    first.wait_ready()
    rest = [UpstreamWorker(home, dsn, logs / f"upstream-{i}.log") for i in range(1, count)]
    for worker in rest:
        worker.wait_ready()
    return [first, *rest]


async def register_all(
    urls: Sequence[str], admin_token: str, specs: Sequence[StationSpec], vkeys: dict[str, str]
) -> dict[str, str]:
    """Every station through `POST /api/v1/stations`, round-robin over the workers."""
    gate = asyncio.Semaphore(16)
    headers = {"Authorization": f"Bearer {admin_token}"}
    async with httpx.AsyncClient(headers=headers, timeout=60) as http:

        async def register(spec: StationSpec) -> tuple[str, str]:
            body = {"site": spec.site, "station": spec.station, "vkey": vkeys[spec.station]}
            async with gate:
                url = urls[spec.index % len(urls)]
                answer = await http.post(f"{url}/api/v1/stations", json=body)
            answer.raise_for_status()
            return spec.station, str(answer.json()["token"])

        return dict(await asyncio.gather(*(register(spec) for spec in specs)))


def partition_events(dsn: str, partitions: int) -> None:
    """The ledger's first migration with `events` hash-partitioned by site, applied before the
    workers start (they then find it applied): what a partitioned schema would look like."""
    version, name, sql = MIGRATIONS[0]
    made = statements("postgres", sql)
    assert any(s.startswith("CREATE TABLE events (") for s in made), "the schema has changed"
    with psycopg.connect(dsn) as conn:  # one transaction
        conn.execute(
            "CREATE TABLE schema_migrations "
            "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        for statement in made:
            if statement.startswith("CREATE TABLE events ("):
                statement += " PARTITION BY HASH (site)"
            conn.execute(statement)
        for i in range(partitions):
            conn.execute(
                f"CREATE TABLE events_{i} PARTITION OF events "
                f"FOR VALUES WITH (MODULUS {partitions}, REMAINDER {i})"
            )
        conn.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (%s, %s, now())",
            (version, name),
        )


# -- the push: client processes, one asyncio task per station --


@dataclass
class _StationRun:
    assignment: Assignment
    journal: ReadOnlyJournal
    state: ReplicationState
    client: UpstreamClient
    done: asyncio.Event = field(default_factory=asyncio.Event)
    finished_at: float | None = None
    replicator: Replicator | None = None

    def progress(self, held: int, size: int) -> None:
        if held >= size and self.finished_at is None:
            self.finished_at = time.monotonic()
            self.done.set()

    def outcome(self) -> Outcome:
        assert self.replicator is not None
        stats = self.replicator.stats
        spec = self.assignment.spec
        return Outcome(
            spec.site,
            spec.station,
            self.assignment.url,
            self.finished_at,
            dict(stats.batches),
            stats.events_sent,
            stats.status,
            stats.last_error,
        )


@dataclass(frozen=True)
class PushSettings:
    cosigner_vkey: str
    batch_events: int
    timeout_s: float


async def _no_manifest(records: list[ExpectedReturn]) -> str:
    return ""  # no manifest is imported here; the hook makes the replicator pace as in a hub


async def _push(
    assignments: Sequence[Assignment],
    settings: PushSettings,
    barrier: Barrier,
    release: MpEvent,
    report: Any,
) -> list[Outcome]:
    """Every station until it is caught up (or the deadline), then idle as a hub's replicator
    is until `release`."""
    cosigner = CosignatureVerifier.parse(settings.cosigner_vkey)
    runs: list[_StationRun] = []
    for assignment in assignments:
        spec = assignment.spec
        run = _StationRun(
            assignment,
            ReadOnlyJournal(spec.folder),
            ReplicationState(spec.folder / STATE_FILE),
            UpstreamClient(assignment.url, assignment.token, spec.site, spec.station),
        )
        run.replicator = Replicator(
            run.journal,
            run.state,
            run.client,
            apply_manifest=_no_manifest,
            cosigner=cosigner,
            batch_events=settings.batch_events,
            on_progress=run.progress,
        )
        runs.append(run)
    stop = asyncio.Event()
    await asyncio.to_thread(barrier.wait)
    report.put(("started", time.monotonic()))
    tasks = [asyncio.ensure_future(r.replicator.run(stop)) for r in runs if r.replicator]
    waiters = [asyncio.ensure_future(r.done.wait()) for r in runs]
    if waiters:
        await asyncio.wait(waiters, timeout=settings.timeout_s)
    for waiter in waiters:
        waiter.cancel()
    report.put(("caught up", time.monotonic()))
    await asyncio.to_thread(release.wait)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    for run in runs:
        await run.client.close()
        run.state.close()
    return [run.outcome() for run in runs]


def push_worker(
    assignments: list[Assignment],
    settings: PushSettings,
    barrier: Barrier,
    release: MpEvent,
    report: Any,
) -> None:
    # "upstream away" warnings, one per failed request, would bury the summary (which counts
    # them); alarms still show
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s %(message)s")
    report.put(("outcomes", asyncio.run(_push(assignments, settings, barrier, release, report))))


# -- what the machine did meanwhile --


def _process_cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) * CLOCK_TICK_S  # utime + stime


def _postgres_pids(data_dir: Path) -> list[int]:
    """Every PostgreSQL process works in its data folder."""
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if (proc / "cwd").readlink() == data_dir:
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    total = sum(values) * CLOCK_TICK_S
    idle = (values[3] + values[4]) * CLOCK_TICK_S  # idle + iowait
    return total - idle, total


@dataclass
class CpuMeter:
    groups: dict[str, list[int]]
    data_dir: Path
    before: dict[str, dict[int, float]] = field(default_factory=dict)
    machine: tuple[float, float] = (0.0, 0.0)

    def _read(self) -> dict[str, dict[int, float]]:
        groups = {**self.groups, "PostgreSQL": _postgres_pids(self.data_dir)}
        return {name: {p: _process_cpu_s(p) for p in pids} for name, pids in groups.items()}

    def start(self) -> None:
        self.before, self.machine = self._read(), _machine_busy()

    def stop(self) -> tuple[dict[str, float], float]:
        """CPU seconds by group since start(), and the machine's busy share."""
        after, (busy, total) = self._read(), _machine_busy()
        used = {
            name: sum(t - self.before.get(name, {}).get(p, 0.0) for p, t in times.items())
            for name, times in after.items()
        }
        machine_busy = busy - self.machine[0]
        used["everything else"] = max(0.0, machine_busy - sum(used.values()))
        return used, machine_busy / max(1e-9, total - self.machine[1])


class WaitSampler:
    """What the fleet database's backends are doing, sampled every 100 ms."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.samples: Counter[str] = Counter()
        self.rounds = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self._stop.wait(0.1):
                rows = conn.execute(
                    "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid() AND state <> 'idle'",
                    (DATABASE,),
                ).fetchall()
                self.rounds += 1
                for state, kind, event in rows:
                    if state != "active":  # e.g. idle in transaction: waiting for its worker
                        self.samples[state] += 1
                    else:
                        self.samples["on CPU" if kind is None else f"{kind}:{event}"] += 1

    def __enter__(self) -> WaitSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def database_counters(dsn: str) -> dict[str, int]:
    """Cumulative counters (the statistics lag by up to a second; WAL bytes, from the LSN, not)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        db = conn.execute(
            "SELECT xact_commit, xact_rollback, deadlocks FROM pg_stat_database WHERE datname = %s",
            (DATABASE,),
        ).fetchone()
        wal = conn.execute(
            "SELECT wal_write, wal_sync, pg_current_wal_lsn() - '0/0' FROM pg_stat_wal"
        ).fetchone()
    assert db is not None and wal is not None
    names = ("commits", "rollbacks", "deadlocks", "wal_writes", "wal_fsyncs", "wal_bytes")
    return dict(zip(names, (int(v) for v in (*db, *wal)), strict=True))


# -- nothing lost? --


def matches(conn: psycopg.Connection[Any], spec: StationSpec, events: int) -> bool:
    """The upstream holds exactly the journal's events and its latest checkpoint."""
    held = [
        (int(seq), bytes(digest))
        for seq, digest in conn.execute(
            "SELECT seq, hash FROM events WHERE site = %s AND station = %s ORDER BY seq",
            (spec.site, spec.station),
        )
    ]
    checkpoint = conn.execute(
        "SELECT size, root FROM checkpoints WHERE site = %s AND station = %s "
        "ORDER BY size DESC LIMIT 1",
        (spec.site, spec.station),
    ).fetchone()
    with JournalReader(spec.folder / JOURNAL_FILE) as reader:
        ours = [(seq, leaf) for seq, leaf, _ in reader.leaf_rows()]
        latest = reader.latest_checkpoint()
    if len(ours) != events or held != ours or latest is None or checkpoint is None:
        return False
    root = merkle.root_of([leaf for _, leaf in ours])
    return (latest.size, latest.root) == (events, root) == (checkpoint[0], bytes(checkpoint[1]))


# -- the run --


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--stations", type=int, default=GOAL_STATIONS)
    parser.add_argument("--events", type=int, default=200, help="events per station journal")
    parser.add_argument("--sites", type=int, default=10)
    parser.add_argument("--upstreams", type=int, default=3, help="ingest worker processes")
    parser.add_argument("--clients", type=int, default=2, help="station client processes")
    parser.add_argument("--makers", type=int, default=2, help="journal-making processes")
    parser.add_argument("--batch-events", type=int, default=500, help="the profile's default")
    parser.add_argument("--timeout", type=float, default=180.0, help="push deadline, seconds")
    parser.add_argument(
        "--partitions", type=int, default=0, help="hash-partition events by site (0: plain)"
    )
    parser.add_argument(
        "--idle", type=float, default=15.0, help="seconds the caught-up fleet idles, measured"
    )
    return parser.parse_args()


@contextmanager
def timed(label: str, marks: dict[str, float]) -> Iterator[None]:
    start = time.perf_counter()
    yield
    marks[label] = time.perf_counter() - start


@dataclass
class Window:
    """What the upstream side did in a span of time."""

    seconds: float
    cpu: dict[str, float]
    busy_share: float
    db: dict[str, int]
    waits: Counter[str]
    wait_rounds: int


@contextmanager
def window(cpu: CpuMeter, dsn: str, into: list[Window]) -> Iterator[None]:
    before, start = database_counters(dsn), time.monotonic()
    with WaitSampler(dsn) as waits:
        cpu.start()
        yield
        used, share = cpu.stop()
    after = database_counters(dsn)
    db = {k: after[k] - before[k] for k in after}
    into.append(Window(time.monotonic() - start, used, share, db, waits.samples, waits.rounds))


def push(
    assignments: Sequence[Assignment],
    settings: PushSettings,
    clients: int,
    idle_s: float,
    meter: CpuMeter,
    dsn: str,
) -> tuple[float, list[Outcome], list[Window]]:
    """The push (timed from the clients' start), then the caught-up fleet idling `idle_s`."""
    ctx = mp.get_context("spawn")
    barrier, release, report = ctx.Barrier(clients + 1), ctx.Event(), ctx.Queue()
    processes = [
        ctx.Process(
            target=push_worker, args=(assignments[i::clients], settings, barrier, release, report)
        )
        for i in range(clients)
    ]
    for process in processes:
        process.start()
    meter.groups["station clients"] = [p.pid for p in processes if p.pid is not None]
    windows: list[Window] = []
    wait_s = settings.timeout_s + 120
    messages: dict[str, list[Any]] = {"started": [], "caught up": [], "outcomes": []}

    def collect(kind: str) -> list[Any]:
        while len(messages[kind]) < clients:
            tag, value = report.get(timeout=wait_s)
            messages[tag].append(value)
        return messages[kind]

    try:
        barrier.wait(timeout=120)
        with window(meter, dsn, windows):
            started = min(collect("started"))
            collect("caught up")
        if idle_s > 0:
            with window(meter, dsn, windows):
                time.sleep(idle_s)
        release.set()
        outcomes = [o for batch in collect("outcomes") for o in batch]
    finally:
        release.set()
        for process in processes:
            process.join(30)
    return started, outcomes, windows


def describe(name: str, w: Window) -> list[str]:
    cores = os.cpu_count() or 1
    cpu = ", ".join(f"{group} {seconds:.1f} s" for group, seconds in w.cpu.items())
    rounds = max(1, w.wait_rounds)
    shown = [(state, n / rounds) for state, n in w.waits.most_common() if n / rounds >= 0.05]
    top = ", ".join(f"{state} {mean:.1f}" for state, mean in shown)
    row_locks = sum(n for state, n in w.waits.items() if state in ROW_LOCK_WAITS)
    return [
        f"{name} ({w.seconds:.1f} s): CPU {cpu}; machine busy {w.busy_share:.0%} of {cores} cores",
        f"  PostgreSQL: {w.db['commits'] / w.seconds:,.0f} commits/s, "
        f"{w.db['wal_fsyncs'] / w.seconds:,.0f} WAL fsyncs/s, {w.db['wal_bytes'] / 1e6:,.1f} MB "
        f"WAL, {w.db['rollbacks']} rollbacks, {w.db['deadlocks']} deadlocks",
        f"  busy backends, mean of {w.wait_rounds} samples: {top or 'none'}; "
        f"waits for another transaction's row lock: {row_locks} in all samples",
    ]


def main() -> None:
    args = parse_args()
    run_started = time.perf_counter()
    marks: dict[str, float] = {}
    folder = scratch()
    specs = [
        StationSpec(i, f"site-{i % args.sites:02d}", f"st-{i:04d}", folder / "stations" / str(i))
        for i in range(args.stations)
    ]
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, folder, ignore_errors=True)
        with timed("journals", marks):
            vkeys = make_journals(specs, args.events, args.makers)
        pg = PostgresServer(durable=True)
        with timed("postgres", marks):
            pg.start()
            stack.callback(pg.stop)
            dsn = pg.create_database(DATABASE)
            if args.partitions:
                partition_events(dsn, args.partitions)
        home = folder / "upstream"
        with timed("workers", marks):
            workers = start_workers(home, dsn, args.upstreams, folder)
            for worker in workers:
                stack.callback(worker.stop)
        urls = [w.url for w in workers]
        admin_token = (home / ADMIN_TOKEN_FILE).read_text().strip()
        with timed("register", marks):
            tokens = asyncio.run(register_all(urls, admin_token, specs, vkeys))
        assignments = [Assignment(s, tokens[s.station], urls[s.index % len(urls)]) for s in specs]
        settings = PushSettings(
            (home / COSIGNER_VKEY_FILE).read_text().strip(), args.batch_events, args.timeout
        )
        meter = CpuMeter(
            {"upstream workers": [w.process.pid for w in workers]}, pg.data_dir.resolve()
        )
        started, outcomes, windows = push(
            assignments, settings, args.clients, args.idle, meter, dsn
        )
        with timed("verify", marks), psycopg.connect(dsn) as conn:
            intact = {s.station for s in specs if matches(conn, s, args.events)}
            row = conn.execute(
                "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM alerts), "
                "coalesce((SELECT sum(pg_total_relation_size(relid)) "
                "FROM pg_partition_tree('events') WHERE isleaf), pg_total_relation_size('events'))"
            ).fetchone()
            assert row is not None
            total_rows, alerts, table_bytes = (int(v) for v in row)
        problems = sum((w.problems() for w in workers), Counter[str]())

    finished = [o for o in outcomes if o.finished_at is not None]
    finish_s = [o.finished_at - started for o in finished if o.finished_at is not None]
    push_s = max(finish_s, default=0.0)
    batches = sum((Counter(o.batches) for o in outcomes), Counter[str]())
    sent = sum(o.events_sent for o in outcomes)
    ok = sum(1 for o in finished if o.station in intact)
    errors = Counter(o.last_error.split(":", 1)[0] for o in outcomes if o.last_error)
    unfinished = Counter(o.status for o in outcomes if o.finished_at is None)

    print(
        f"P8 fleet: {args.stations} stations on {args.sites} sites, {args.events} events each; "
        f"{args.upstreams} upstream workers, {args.clients} client processes, "
        f"PostgreSQL {pg.bin_dir.parent.name} (durable), {os.cpu_count()} cores"
    )
    if args.partitions:
        print(f"events: PARTITION BY HASH (site), {args.partitions} partitions")
    print(
        f"set-up: journals {marks['journals']:.1f} s ({args.makers} processes, "
        f"{args.stations * args.events / marks['journals']:,.0f} events/s); PostgreSQL "
        f"{marks['postgres']:.1f} s; workers {marks['workers']:.1f} s; registration "
        f"{marks['register']:.1f} s ({args.stations / marks['register']:,.0f} stations/s)"
    )
    header = ("stations", "events", "push s", "events/s", "p50 s", "p99 s", "batches")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    cells = (
        f"{len(finished)}/{args.stations}",
        f"{sent:,}",
        f"{push_s:.1f}",
        f"{sent / push_s if push_s else 0:,.0f}",
        f"{percentile(finish_s, 0.5):.1f}",
        f"{percentile(finish_s, 0.99):.1f}",
        ", ".join(f"{k} {v}" for k, v in sorted(batches.items())) or "none",
    )
    print("| " + " | ".join(cells) + " |")
    print("(p50/p99: a station's time from the start to its last acknowledgement)")
    if unfinished:
        listed = ", ".join(f"{k} {v}" for k, v in unfinished.items())
        print(f"not finished within {args.timeout:.0f} s, by replicator status: {listed}")
    if errors:
        listed = ", ".join(f"{k} ×{v}" for k, v in errors.items())
        print(f"client errors (last per station): {listed}")
    if problems:
        print("upstream worker log lines: " + ", ".join(f"{k} {v}" for k, v in problems.items()))
    for name, w in zip(("push", "caught-up fleet idling"), windows, strict=False):
        print("\n".join(describe(name, w)))
    print(
        f"nothing lost: {ok}/{args.stations} stations hold exactly their journal upstream "
        f"(rows, hashes, latest checkpoint root); {total_rows:,} event rows in all, "
        f"{alerts} alerts; checked in {marks['verify']:.1f} s"
    )
    print(
        f"events table with its indexes: {table_bytes / 1e6:,.1f} MB "
        f"({table_bytes / max(1, total_rows):,.0f} B per event)"
    )
    print(f"run time {time.perf_counter() - run_started:.0f} s")
    print(f"ratio: {ok / GOAL_STATIONS:.2f}")


if __name__ == "__main__":
    main()
