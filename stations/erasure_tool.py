"""Run the configured erasure tool on one device: version, erase, verify; a transcript of it all.

Blocking (the hub runs it in a thread). What the tool does never raises: a missing tool, a
non-zero exit, a failed verification, a hang (its process group is killed) or a flood of output
all come back as a run with `succeeded=False` and a reason.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import selectors
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePath
from typing import Annotated, Literal, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from edge.journal.events import format_ts
from stations.certificate import (
    Device,
    ErasureCertificate,
    Media,
    Sanitization,
    SanitizationMethod,
    Technician,
    VerificationResult,
)

log = logging.getLogger(__name__)

TRANSCRIPT_HEADER = "edge erasure transcript v1"
PLACEHOLDERS = frozenset({"serial", "imei", "platform"})
DEFAULT_MAX_OUTPUT = 4 * 1024 * 1024
VERSION_TIMEOUT_S = 30.0
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
# A serial goes into a command line: letters and digits first, then only what real Android
# serials, adb-over-TCP addresses and iPhone UDIDs use. Never a leading '-' (an option).
_SAFE_SERIAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
_IMEI = re.compile(r"^[0-9]{15}$")
_READ_CHUNK = 65536
_POLL_S = 0.25  # how often to look whether the tool has exited
_PIPE_GRACE_S = 2.0  # output still read after the tool exits
_REAP_S = 10.0

Clock = Callable[[], datetime]
ToolVerification = Literal["full", "quick-sampling", "tool-reported"]
Outcome = Literal["exited", "missing", "timeout", "too_much_output"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


Command = Annotated[tuple[str, ...], Field(min_length=1)]


class ErasureToolConfig(BaseModel):
    """How this station erases: the tool's command lines and what to write on the certificate."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    command: Command
    verify_command: Command
    version_command: Command | None = None
    tool_name: Annotated[str, Field(min_length=1, max_length=200)] | None = None  # else argv[0]
    method: SanitizationMethod
    technique: Annotated[str, Field(min_length=1, max_length=200)]
    verification_method: ToolVerification
    verify_pass_pattern: str | None = None  # regex the verify output must contain, besides exit 0
    media_type: Annotated[str, Field(min_length=1, max_length=200)]
    timeout_s: Annotated[float, Field(gt=0)] = 900.0
    max_output_bytes: Annotated[int, Field(ge=64)] = DEFAULT_MAX_OUTPUT

    @field_validator("command", "verify_command", "version_command")
    @classmethod
    def _known_placeholders(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        for arg in value or ():
            for name in _PLACEHOLDER.findall(arg):
                if name not in PLACEHOLDERS:
                    raise ValueError(
                        f"unknown placeholder {{{name}}} in {arg!r}; "
                        f"known: {', '.join(sorted(PLACEHOLDERS))}"
                    )
            if set("{}") & set(_PLACEHOLDER.sub("", arg)):
                raise ValueError(f"unbalanced brace in {arg!r}")
        return value

    @field_validator("verify_pass_pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"verify_pass_pattern is not a regular expression: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _executable_is_literal(self) -> Self:
        for argv in (self.command, self.verify_command, self.version_command):
            if argv and _PLACEHOLDER.search(argv[0]):
                raise ValueError(f"the program {argv[0]!r} must not contain a placeholder")
        return self

    @property
    def resolved_tool_name(self) -> str:
        return self.tool_name or PurePath(self.command[0]).name[:200]


@dataclass(frozen=True)
class ErasureTarget:
    """The device as the cradle read it; values are checked before they reach a command line."""

    serial: str
    imei: str | None
    platform: Literal["android", "ios", "other"]


@dataclass(frozen=True)
class CommandRun:
    """One command line, how it ended, and what it printed."""

    argv: tuple[str, ...]
    started_at: datetime
    finished_at: datetime
    outcome: Outcome
    exit_code: int | None = None
    lines: tuple[tuple[str, bytes], ...] = ()  # ("out" | "err", line without its newline)
    detail: str = ""

    @property
    def command(self) -> str:
        return shlex.join(self.argv)

    @property
    def ok(self) -> bool:
        return self.outcome == "exited" and self.exit_code == 0

    def stdout_text(self) -> str:
        return "\n".join(_text(line) for stream, line in self.lines if stream == "out")

    def problem(self) -> str:
        """What went wrong with this command, in one line ("" when it exited 0)."""
        if self.outcome == "missing":
            return self.detail
        if self.outcome == "timeout":
            return f"{self.command} did not finish within {self.detail} s; killed it"
        if self.outcome == "too_much_output":
            return f"{self.command} printed more than {self.detail} bytes; killed it"
        if self.exit_code != 0:
            said = _last_line(self)
            return f"{self.command} failed (exit {self.exit_code})" + (f": {said}" if said else "")
        return ""


@dataclass(frozen=True)
class ErasureRun:
    """One erasure attempt: what ran, how it ended, and the transcript to keep as a blob."""

    target: ErasureTarget
    started_at: datetime
    finished_at: datetime
    exit_code: int | None
    verify_exit_code: int | None
    tool_name: str
    tool_version: str
    method: SanitizationMethod
    technique: str
    verification_method: ToolVerification
    verification: VerificationResult
    succeeded: bool
    reason: str
    transcript: bytes
    commands: tuple[CommandRun, ...] = field(default=(), repr=False)


# -- pure helpers --------------------------------------------------------------------------


def _text(line: bytes) -> str:
    """Readable text for a transcript: UTF-8, anything else escaped, no control characters."""
    decoded = line.decode("utf-8", errors="backslashreplace")
    return "".join(
        c if c == "\t" or (ord(c) >= 0x20 and ord(c) != 0x7F) else f"\\x{ord(c):02x}"
        for c in decoded
    )


def _last_line(run: CommandRun) -> str:
    for stream in ("err", "out"):
        for s, line in reversed(run.lines):
            if s == stream and line.strip():
                return _text(line.strip())[:200]
    return ""


def target_problem(config: ErasureToolConfig, target: ErasureTarget) -> str:
    """Why this target's values may not go on the tool's command line ("" if they may)."""
    if not _SAFE_SERIAL.fullmatch(target.serial):
        return (
            f"serial {target.serial!r} refused: only letters, digits, '.', '_', ':' and '-' "
            "(not first), at most 64"
        )
    if target.platform not in ("android", "ios", "other"):
        return f"platform {target.platform!r} refused"
    uses_imei = any(
        "imei" in _PLACEHOLDER.findall(arg)
        for argv in (config.command, config.verify_command, config.version_command or ())
        for arg in argv
    )
    if target.imei is not None and not _IMEI.fullmatch(target.imei):
        return f"IMEI {target.imei!r} refused: 15 digits expected"
    if uses_imei and target.imei is None:
        return "the erasure command needs {imei} but the device has no IMEI"
    return ""


def substitute(argv: Sequence[str], target: ErasureTarget) -> tuple[str, ...]:
    """Fill {serial} {imei} {platform}; each argument stays one argument (no shell)."""
    values = {"serial": target.serial, "imei": target.imei or "", "platform": target.platform}
    return tuple(_PLACEHOLDER.sub(lambda m: values[m.group(1)], arg) for arg in argv)


def first_version_line(run: CommandRun) -> str:
    for stream, line in run.lines:
        if stream == "out" and line.strip():
            return _text(line.strip())[:200]
    return ""


def judge_verification(config: ErasureToolConfig, verify: CommandRun | None) -> VerificationResult:
    if verify is None:
        return "not_run"
    if not verify.ok:
        return "failed"
    if config.verify_pass_pattern and not re.search(
        config.verify_pass_pattern, verify.stdout_text(), re.MULTILINE
    ):
        return "failed"
    return "passed"


def render_transcript(
    config: ErasureToolConfig,
    target: ErasureTarget,
    started_at: datetime,
    finished_at: datetime,
    commands: Sequence[CommandRun],
    verdict: str,
) -> bytes:
    """The human-readable record of the run: every command, its output and how it ended."""
    out = [
        TRANSCRIPT_HEADER,
        f"started   {format_ts(started_at)}",
        f"device    serial={target.serial!r} imei={target.imei or '-'} platform={target.platform}",
        f"method    {config.method}: {config.technique}",
        f"verify    {config.verification_method}",
        "",
    ]
    for run in commands:
        out.append(f"$ {run.command}")
        out.append(f"  started  {format_ts(run.started_at)}")
        out.extend(f"  {stream}| {_text(line)}" for stream, line in run.lines)
        if run.outcome == "exited":
            ended = f"exit {run.exit_code}"
        elif run.outcome == "missing":
            ended = f"not run: {run.detail}"
        else:
            ended = run.problem()
        out.append(f"  finished {format_ts(run.finished_at)} {ended}")
        out.append("")
    out.append(f"finished  {format_ts(finished_at)}")
    out.append(f"result    {verdict}")
    return ("\n".join(out) + "\n").encode("utf-8")


# -- the subprocess shell ------------------------------------------------------------------


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            proc.kill()


def run_command(
    argv: Sequence[str], *, timeout_s: float, max_output_bytes: int, clock: Clock
) -> CommandRun:
    """Run one command (no shell) in its own process group; kill the group on timeout or flood."""
    args = tuple(argv)
    started = clock()
    program = shutil.which(args[0])
    if program is None:
        where = "on PATH" if os.sep not in args[0] else "or not executable"
        return CommandRun(
            args, started, clock(), "missing", detail=f"erasure tool {args[0]!r} not found {where}"
        )
    try:
        proc = subprocess.Popen(
            [program, *args[1:]],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: a kill reaches its children too
        )
    except OSError as exc:
        return CommandRun(
            args, started, clock(), "missing", detail=f"erasure tool {args[0]!r}: {exc.strerror}"
        )
    deadline = time.monotonic() + timeout_s
    lines: list[tuple[str, bytes]] = []
    partial = {"out": bytearray(), "err": bytearray()}
    total = 0
    outcome: Outcome = "exited"
    exited_at: float | None = None
    try:
        with selectors.DefaultSelector() as selector:
            assert proc.stdout is not None and proc.stderr is not None
            selector.register(proc.stdout, selectors.EVENT_READ, "out")
            selector.register(proc.stderr, selectors.EVENT_READ, "err")
            while selector.get_map():
                now = time.monotonic()
                if now >= deadline:
                    outcome = "timeout"
                    break
                if proc.poll() is not None:
                    if exited_at is None:
                        exited_at = now
                    if now - exited_at > _PIPE_GRACE_S:
                        break  # it exited; a helper it left behind still holds the pipes
                for key, _ in selector.select(min(deadline - now, _POLL_S)):
                    stream: str = key.data
                    chunk = os.read(key.fd, _READ_CHUNK)
                    if not chunk:
                        selector.unregister(key.fileobj)
                        continue
                    total += len(chunk)
                    buffer = partial[stream]
                    buffer += chunk
                    if b"\n" in chunk:
                        *complete, rest = bytes(buffer).split(b"\n")
                        lines.extend((stream, line.rstrip(b"\r")) for line in complete)
                        partial[stream] = bytearray(rest)
                if total > max_output_bytes:
                    outcome = "too_much_output"
                    break
        if outcome == "exited":
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                outcome = "timeout"
    finally:
        if outcome != "exited" or proc.poll() is None:
            _kill_group(proc)
        try:
            proc.wait(_REAP_S)
        except subprocess.TimeoutExpired:  # stuck in the kernel (a USB read): leave it
            log.warning("erasure command did not die when killed pid=%s", proc.pid)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
    for stream in ("out", "err"):
        if partial[stream]:
            lines.append((stream, bytes(partial[stream])))
    if outcome == "timeout":
        log.warning("erasure command timed out command=%s seconds=%s", shlex.join(args), timeout_s)
        return CommandRun(args, started, clock(), "timeout", None, tuple(lines), f"{timeout_s:g}")
    if outcome == "too_much_output":
        log.warning("erasure command flooded output command=%s", shlex.join(args))
        return CommandRun(
            args, started, clock(), "too_much_output", None, tuple(lines), str(max_output_bytes)
        )
    return CommandRun(args, started, clock(), "exited", proc.returncode, tuple(lines))


def run_erasure(
    config: ErasureToolConfig, target: ErasureTarget, *, clock: Clock = _utc_now
) -> ErasureRun:
    """Version, erase, verify. Blocking; never raises for what the tool does."""
    started = clock()
    commands: list[CommandRun] = []
    tool_version = "unknown"
    erase: CommandRun | None = None
    verify: CommandRun | None = None
    refused = target_problem(config, target)
    if refused:
        reason = refused
    else:

        def attempt(argv: Sequence[str], timeout_s: float) -> CommandRun:
            return run_command(
                substitute(argv, target),
                timeout_s=timeout_s,
                max_output_bytes=config.max_output_bytes,
                clock=clock,
            )

        if config.version_command:
            version = attempt(config.version_command, min(config.timeout_s, VERSION_TIMEOUT_S))
            commands.append(version)
            tool_version = (version.ok and first_version_line(version)) or "unknown"
        erase = attempt(config.command, config.timeout_s)
        commands.append(erase)
        if erase.ok:
            verify = attempt(config.verify_command, config.timeout_s)
            commands.append(verify)
        reason = _reason(config, erase, verify)
    verification = judge_verification(config, verify)
    succeeded = erase is not None and erase.ok and verification == "passed"
    finished = clock()
    verdict = ("SUCCESS: " if succeeded else "FAILURE: ") + reason
    log.info("erasure finished serial=%r succeeded=%s reason=%s", target.serial, succeeded, reason)
    return ErasureRun(
        target=target,
        started_at=started,
        finished_at=finished,
        exit_code=erase.exit_code if erase else None,
        verify_exit_code=verify.exit_code if verify else None,
        tool_name=config.resolved_tool_name,
        tool_version=tool_version,
        method=config.method,
        technique=config.technique,
        verification_method=config.verification_method,
        verification=verification,
        succeeded=succeeded,
        reason=reason,
        transcript=render_transcript(config, target, started, finished, commands, verdict),
        commands=tuple(commands),
    )


def _reason(config: ErasureToolConfig, erase: CommandRun, verify: CommandRun | None) -> str:
    if not erase.ok:
        return f"erase: {erase.problem()}"
    assert verify is not None
    if not verify.ok:
        return f"verification: {verify.problem()}"
    if judge_verification(config, verify) != "passed":
        return f"verification: output has no line matching {config.verify_pass_pattern!r}"
    return "erased; verification passed"


def build_certificate(
    run: ErasureRun,
    *,
    certificate_id: UUID | str,
    device: Device,
    media: Media,
    technician: Technician,
    station: str,
    site: str,
    transcript_sha256: str,
    notes: str = "",
) -> ErasureCertificate:
    """The certificate for one run; `device` must be the device the run erased."""
    if device.serial != run.target.serial:
        raise ValueError(f"device serial {device.serial!r} is not the erased {run.target.serial!r}")
    return ErasureCertificate(
        certificate_id=UUID(str(certificate_id)),
        device=device,
        media=media,
        sanitization=Sanitization(
            method=run.method,
            technique=run.technique,
            tool_name=run.tool_name,
            tool_version=run.tool_version,
            tool_exit_code=run.exit_code,
            verification_method=run.verification_method,
            verification_result=run.verification,
            verify_exit_code=run.verify_exit_code,
        ),
        technician=technician,
        started_at=run.started_at,
        finished_at=run.finished_at,
        station=station,
        site=site,
        result="success" if run.succeeded else "failure",
        reason=run.reason[:2000],
        transcript_sha256=transcript_sha256,
        notes=notes,
    )
