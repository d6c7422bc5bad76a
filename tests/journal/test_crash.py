"""SIGKILL a writer at random moments: every acknowledged event survives, seq stays gap-free."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from edge.journal import Journal, JournalReader, verify_journal

CHILD = Path(__file__).with_name("crash_child.py")
KILLS = 50


def run_until_killed(station_dir: Path, rng: random.Random) -> dict[int, str]:
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(station_dir)], stdout=subprocess.PIPE, text=True
    )
    acked: dict[int, str] = {}
    first = threading.Event()

    def read() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            seq, digest = line.split()
            acked[int(seq)] = digest
            first.set()

    reader = threading.Thread(target=read)
    reader.start()
    assert first.wait(30), "child never acknowledged an append"
    time.sleep(rng.uniform(0, 0.12))
    child.send_signal(signal.SIGKILL)
    child.wait()
    reader.join()
    return acked


@pytest.mark.slow
def test_sigkill_loses_no_acknowledged_event(station_dir: Path) -> None:
    rng = random.Random(20261121)
    all_acked: dict[int, str] = {}
    for kill in range(KILLS):
        acked = run_until_killed(station_dir, rng)
        assert acked, f"kill {kill}: nothing acknowledged"
        all_acked.update(acked)
        with JournalReader(station_dir / "journal.db") as reader:
            size = reader.size()
            assert size >= max(all_acked)
            for seq, digest in acked.items():
                assert reader.event(seq).hash == digest, f"kill {kill}: seq {seq} changed"
        # The start-up check (quick_check, tree vs checkpoints, tail re-hash) must accept it.
        with Journal(station_dir) as journal:
            assert journal.size == size
        report = verify_journal(station_dir / "journal.db")
        assert report.ok, f"kill {kill}: {report.problem} at seq {report.first_bad_seq}"
        assert report.events == size
    assert len(all_acked) > KILLS
