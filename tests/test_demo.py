"""`edge demo` (what `make demo` runs): a shift lands in the journal, verified and proven."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

from edge.journal import JournalReader, verify_journal


def test_demo_appends_a_verified_shift_each_run(edge_cli: list[str], station_dir: Path) -> None:
    for _ in range(2):
        result = subprocess.run(
            [*edge_cli, "--data-dir", str(station_dir), "demo"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert "verify: ok" in result.stdout
        assert "checked with the public key alone" in result.stdout
        assert "devices on the station bus" in result.stdout
        assert "412.50 g, stable, accepted" in result.stdout  # through pty, driver, Mosquitto
        assert "'400': 'RET-2026-000001'" in result.stdout  # the serial scanner's GS1 label
        assert "'RET-2026-000002' (qr)" in result.stdout  # the camera's read of its label
        assert "Pixel 8" in result.stdout  # the cradle's stand-in adb
    with JournalReader(station_dir / "journal.db") as reader:
        events = list(reader.events())
        latest = reader.latest_checkpoint()
    assert latest is not None and latest.size == len(events) == 20
    received = [e.subject for e in events if e.type == "package.received"]
    exceptions = [e.payload["kind"] for e in events if e.type == "exception.raised"]
    assert len(received) == len(set(received)) == 2  # new return ids each shift
    assert sorted(exceptions) == ["unknown_label"] * 2 + ["weight_out_of_band"] * 2
    weighed = [e for e in events if e.type == "package.weighed"]
    assert all(len(e.attachments) == 1 for e in weighed)
    report = verify_journal(station_dir / "journal.db")
    assert report.ok and report.events == 20
    outbox = station_dir / "outbox-drivers.sqlite"
    assert outbox.exists()  # custody readings went through the outbox and were acknowledged
    with sqlite3.connect(outbox) as db:
        assert db.execute("SELECT count(*) FROM outbox").fetchone() == (0,)
        seqs = dict(db.execute("SELECT device_id, last FROM device_seq").fetchall())
    assert seqs["dock-scale"] == 2  # the device seq carried on across the two runs
