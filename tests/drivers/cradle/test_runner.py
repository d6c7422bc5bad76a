"""The command runner: output, failure, missing executable, timeout with the process killed."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from drivers.cradle.runner import run_command


def test_ok_and_failed() -> None:
    ok = asyncio.run(run_command([sys.executable, "-c", "print('hello')"], 10))
    assert (ok.outcome, ok.stdout, ok.exit_code) == ("ok", "hello\n", 0)
    failed = asyncio.run(run_command([sys.executable, "-c", "import sys; sys.exit('boom')"], 10))
    assert (failed.outcome, failed.exit_code) == ("failed", 1)
    assert failed.problem().endswith("failed (exit 1): boom")


def test_missing_executable_names_the_package(tmp_path: Path) -> None:
    result = asyncio.run(run_command([str(tmp_path / "adb"), "devices", "-l"], 5))
    assert result.outcome == "missing"
    assert result.problem() == "adb not installed: apt-get install adb"
    result = asyncio.run(run_command(["no-such-tool-here", "x"], 5))
    assert result.problem() == "no-such-tool-here not installed (no-such-tool-here)"


def test_timeout_kills_the_process(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    script = (
        f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    )
    started = time.monotonic()
    result = asyncio.run(run_command([sys.executable, "-c", script], 1.0))
    assert time.monotonic() - started < 10
    assert result.outcome == "timeout"
    assert "did not answer within 1 s; killed it" in result.problem()
    pid = int(pid_file.read_text())
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        pass
    else:
        raise AssertionError(f"process {pid} still exists after the timeout")
