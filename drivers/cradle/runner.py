"""Run one diagnostic command with a time limit: killed when it hangs, named when it is missing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shlex
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Literal

log = logging.getLogger(__name__)

Outcome = Literal["ok", "failed", "timeout", "missing"]

# What to install when a tool is missing (Debian / Raspberry Pi OS package names).
INSTALL_HINTS: dict[str, str] = {
    "adb": "apt-get install adb",
    "idevice_id": "apt-get install libimobiledevice-utils usbmuxd",
    "ideviceinfo": "apt-get install libimobiledevice-utils usbmuxd",
    "idevicediagnostics": "apt-get install libimobiledevice-utils usbmuxd",
}


@dataclass(frozen=True, slots=True)
class CommandResult:
    """How one command ended and what it printed (decoded as UTF-8, bad bytes replaced)."""

    argv: tuple[str, ...]
    outcome: Outcome
    stdout: str = ""
    stderr: str = ""
    exit_code: int | None = None
    timeout: float | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    @property
    def command(self) -> str:
        return shlex.join(self.argv)

    @property
    def tool(self) -> str:
        return PurePath(self.argv[0]).name

    def problem(self) -> str:
        """One line for the technician and the log: what went wrong with this command."""
        if self.outcome == "missing":
            hint = INSTALL_HINTS.get(self.tool)
            return f"{self.tool} not installed" + (f": {hint}" if hint else f" ({self.argv[0]})")
        if self.outcome == "timeout":
            return f"{self.command} did not answer within {self.timeout:g} s; killed it"
        if self.outcome == "failed":
            said = first_line(self.stderr) or first_line(self.stdout) or "no output"
            return f"{self.command} failed (exit {self.exit_code}): {said}"
        return ""


def first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


async def run_command(argv: Sequence[str], within: float) -> CommandResult:
    """Run `argv` (no shell); kill its process group if it outlives `within` seconds."""
    args = tuple(argv)
    try:
        proc = await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # its own process group, so a kill reaches its children too
        )
    except (FileNotFoundError, PermissionError, NotADirectoryError):
        return CommandResult(args, "missing")
    try:
        out, err = await asyncio.wait_for(proc.communicate(), within)
    except TimeoutError:
        _kill(proc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), 5)
        log.warning("cradle command timed out command=%s seconds=%s", shlex.join(args), within)
        return CommandResult(args, "timeout", timeout=within)
    except asyncio.CancelledError:
        _kill(proc)
        raise
    return CommandResult(
        args,
        "ok" if proc.returncode == 0 else "failed",
        stdout=out.decode("utf-8", errors="replace"),
        stderr=err.decode("utf-8", errors="replace"),
        exit_code=proc.returncode,
    )


def _kill(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
