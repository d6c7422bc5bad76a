"""`edge demo` (what `make demo` runs): the whole station on simulated devices, one shift."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sqlite3
import stat
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from edge.demo.controls import CONTROL_SOCKET
from edge.journal import Journal, JournalReader, verify_journal
from tests.bus.test_broker_lifetime import gone, wait_until
from tests.conftest import draft


def test_demo_runs_a_shift_through_the_real_hub_each_run(
    edge_cli: list[str], station_dir: Path
) -> None:
    for _ in range(2):
        result = subprocess.run(
            [*edge_cli, "--data-dir", str(station_dir), "demo"],
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert result.returncode == 0, result.stderr
        said = " ".join(result.stdout.split())  # rich wraps lines at the terminal's width
        assert "verify: ok" in said
        assert "checked with the public key alone" in said
        assert "signature ok" in said  # the erasure certificate
        assert "the station pulled them over the manifest feed" in said
        assert "backlog 0 (idle)" in said  # everything went upstream
        assert "upstream cosignature over checkpoint" in said and ": ok, by" in said
    with JournalReader(station_dir / "journal.db") as reader:
        events = list(reader.events())
    assert verify_journal(station_dir / "journal.db").ok
    by_type: dict[str, list[object]] = {}
    for event in events:
        by_type.setdefault(event.type.value, []).append(event)
    # two shifts: each received one clean box and one unknown, broken-seal box
    received = [e.payload["status"] for e in events if e.type == "package.received"]
    assert received == ["received", "received_with_exceptions"] * 2
    raised = sorted(str(e.payload["exception"]) for e in events if e.type == "exception.raised")
    assert raised == ["seal_broken"] * 2 + ["unknown_label"] * 2
    # the weights came through the scale's pty, the driver, Mosquitto and the hub
    weighed = [e for e in events if e.type == "package.weighed"]
    assert [e.payload["reading"]["device"] for e in weighed] == ["dock-scale"] * 4  # type: ignore[index]
    photos = [e for e in events if e.type == "photo.captured"]
    assert len(photos) == 4 and all(len(e.attachments) == 1 for e in photos)
    # the bench: cradle → unit linked by IMEI, graded, erased with a certificate, routed
    identified = [e for e in events if e.type == "device.identified"]
    assert identified[0].payload["source"] == "cradle"
    assert identified[0].payload["return_id"] == "R-0001-2"
    erasures = [e for e in events if e.type == "erasure.completed"]
    assert [e.payload["result"] for e in erasures] == ["success", "success"]
    assert len(by_type["disposition.routed"]) == 2
    # every custody event carries the operator who did it
    dock = [e.operator for e in events if e.type in ("label.scanned", "seal.checked")]
    assert set(dock) == {"olga"}
    outbox = station_dir / "outbox-drivers.sqlite"
    with sqlite3.connect(outbox) as db:
        assert db.execute("SELECT count(*) FROM outbox").fetchone() == (0,)
        seqs = dict(db.execute("SELECT device_id, last FROM device_seq").fetchall())
    reading_seqs = [e.payload["reading"]["seq"] for e in weighed]  # type: ignore[index]
    assert reading_seqs == sorted(set(reading_seqs))  # carried on across runs, never reused
    assert seqs["dock-scale"] >= reading_seqs[-1]
    # the reference upstream holds the station's journal, event for event
    upstream = station_dir / "demo-upstream" / "upstream.db"
    with sqlite3.connect(upstream) as db:
        held = db.execute("SELECT seq, hash FROM events ORDER BY seq").fetchall()
    assert [(seq, bytes(digest)) for seq, digest in held] == [
        (e.seq, bytes.fromhex(e.hash)) for e in events
    ]
    synced = [e.payload["source"] for e in events if e.type == "manifest.synced"]
    assert synced == ["upstream"] * 4


def _lengthen_journal(station_dir: Path, events: int) -> None:
    """Events enough to pass any page the API hands out, signed as a running hub signs them."""
    with Journal(station_dir, site="demo-site", station="dock-1") as journal:
        for start in range(0, events, 50):
            journal.append_many(
                [
                    draft("seal.checked", f"R-OLD-{n:05d}", "olga", intact=True)
                    for n in range(start, min(events, start + 50))
                ]
            )
            journal.checkpoint()


def test_demo_runs_on_a_journal_longer_than_any_page(
    edge_cli: list[str], station_dir: Path
) -> None:
    _lengthen_journal(station_dir, 1100)
    result = subprocess.run(
        [*edge_cli, "--data-dir", str(station_dir), "demo"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    said = " ".join(result.stdout.split())
    assert "verify: ok" in said and "backlog 0 (idle)" in said
    with JournalReader(station_dir / "journal.db") as reader:
        received = [e.subject for e in reader.events(event_type="package.received")]
    assert len(received) == 2


@pytest.mark.slow
def test_demo_runs_again_and_again_past_any_page(edge_cli: list[str], station_dir: Path) -> None:
    """The 24th run used to reuse shift 23's return ids (KeyError) or wait for events it read
    past; here a real run, then a journal as long as 50 runs, then two more runs."""
    demo = [*edge_cli, "--data-dir", str(station_dir), "demo"]
    runs = [subprocess.run(demo, capture_output=True, text=True, timeout=180)]
    _lengthen_journal(station_dir, 1100)
    for _ in range(2):
        runs.append(subprocess.run(demo, capture_output=True, text=True, timeout=180))
    for result in runs:
        assert result.returncode == 0, result.stderr
        assert "backlog 0 (idle)" in " ".join(result.stdout.split())
    with JournalReader(station_dir / "journal.db") as reader:
        received = [e.subject for e in reader.events(event_type="package.received")]
        synced = [e.subject for e in reader.events(event_type="manifest.synced")]
    assert synced == [f"R-000{shift}-{n}" for shift in (1, 2, 3) for n in (1, 2)]
    assert len(received) == 6


@contextlib.contextmanager
def serving_demo(edge_cli: list[str], station_dir: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`edge demo --serve` in its own process, once it says it is running."""
    station_dir.mkdir(parents=True)
    out = station_dir.parent / "demo.out"
    with out.open("wb") as stdout:
        demo = subprocess.Popen(
            [*edge_cli, "--data-dir", str(station_dir), "demo", "--serve"],
            stdout=stdout,
            stderr=subprocess.STDOUT,
        )
    try:
        assert wait_until(
            lambda: b"station running" in out.read_bytes() or demo.poll() is not None, 180
        )
        assert demo.poll() is None, out.read_text(errors="replace")
        yield demo
    finally:
        if demo.poll() is None:
            demo.kill()
        demo.wait()


def descendants(pid: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError, ValueError, IndexError):
            parents[int(entry.name)] = int(
                (entry / "stat").read_text().rpartition(")")[2].split()[1]
            )
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_killing_the_serving_demo_takes_its_broker_and_children_along(
    edge_cli: list[str], station_dir: Path
) -> None:
    with serving_demo(edge_cli, station_dir) as demo:
        children = descendants(demo.pid)
        brokers = [p for p in children if b"mosquitto" in cmdline(p)]
        assert len(brokers) == 1
        os.kill(demo.pid, signal.SIGKILL)
        demo.wait()
        assert wait_until(lambda: all(gone(p) for p in children), 10)


def test_a_person_drives_the_serving_demos_devices_from_the_cli(
    edge_cli: list[str], station_dir: Path
) -> None:
    def edge(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*edge_cli, "--data-dir", str(station_dir), "demo", *args],
            capture_output=True,
            text=True,
            timeout=60,
        )

    with serving_demo(edge_cli, station_dir) as demo:
        said = " ".join((station_dir.parent / "demo.out").read_text().split())
        screens = re.search(r"screens (http://127\.0\.0\.1:\d+/app/)", said)
        assert screens, said
        app = httpx.get(screens.group(1), timeout=30)
        assert app.status_code == 200 and 'rel="manifest"' in app.text
        assert "upstream: http://127.0.0.1:" in said
        assert "/api/v1/returns/R-0001-1" in said and "Authorization: Bearer" in said
        control = station_dir / CONTROL_SOCKET
        assert stat.S_IMODE(control.stat().st_mode) == 0o600
        with JournalReader(station_dir / "journal.db") as reader:
            before = reader.size()
        refused = edge("scan", "1ZHANDS\x1b[2J")
        assert refused.returncode == 2 and "code: control character 0x1b (ESC)" in refused.stderr
        assert edge("weigh", "heavy").returncode == 2
        scanned = edge("scan", "1ZHANDS0001")
        assert scanned.returncode == 0, scanned.stderr

        def seen(event_type: str) -> list[dict[str, object]]:
            with JournalReader(station_dir / "journal.db") as reader:
                return [e.payload for e in reader.events(start=before + 1, event_type=event_type)]

        assert wait_until(
            lambda: any(p.get("code") == "1ZHANDS0001" for p in seen("label.scanned")), 60
        )
        weighed = edge("weigh", "2.5kg")
        assert weighed.returncode == 0, weighed.stderr
        assert wait_until(lambda: bool(seen("package.weighed")), 60)
        assert Decimal(str(seen("package.weighed")[0]["grams"])) == Decimal(2500)
        demo.send_signal(signal.SIGTERM)
        assert demo.wait(60) == 0
    assert not control.exists()
    stopped = edge("lift")
    assert stopped.returncode == 2 and "no demo is serving" in " ".join(stopped.stderr.split())
