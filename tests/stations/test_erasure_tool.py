"""The erasure runner against the stand-in tool: every way a real erasure can end."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from drivers.sim.erasure import SIM_DIR, TOOL, example_config
from edge.journal.note import Signer
from stations.certificate import Device, Media, Technician, open_certificate, sign_certificate
from stations.erasure_tool import (
    ErasureRun,
    ErasureTarget,
    ErasureToolConfig,
    build_certificate,
    run_erasure,
    substitute,
)

PIXEL = ErasureTarget(serial="38121FDJH000A1", imei="356789104567891", platform="android")


class Calls:
    def __init__(self, path: Path) -> None:
        self.path = path

    def all(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines()]

    def argvs(self) -> list[list[str]]:
        return [c["argv"] for c in self.all()]


@pytest.fixture
def calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Calls:
    log = tmp_path / "erase-calls.jsonl"
    monkeypatch.setenv("EDGE_SIM_ERASE_LOG", str(log))
    monkeypatch.setenv("EDGE_SIM_ERASE", "ok")
    return Calls(log)


def ticking_clock() -> Iterator[datetime]:
    t = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    while True:
        yield t
        t += timedelta(seconds=1)


def erase(
    target: ErasureTarget = PIXEL, clock: Iterator[datetime] | None = None, **config: Any
) -> ErasureRun:
    ticks = clock or ticking_clock()
    return run_erasure(example_config(**config), target, clock=lambda: next(ticks))


def test_ok_erases_verifies_and_records_everything(calls: Calls) -> None:
    run = erase()
    assert (run.succeeded, run.exit_code, run.verify_exit_code, run.verification) == (
        True,
        0,
        0,
        "passed",
    )
    assert run.reason == "erased; verification passed"
    assert run.tool_name == "edge-sim-erase"
    assert run.tool_version == "edge-sim-erase 2.4.1 (stand-in)"
    assert calls.argvs() == [
        ["--version"],
        ["erase", "--serial", PIXEL.serial, "--method", "purge"],
        ["verify", "--serial", PIXEL.serial],
    ]
    text = run.transcript.decode("utf-8")
    assert text.startswith("edge erasure transcript v1\nstarted   2026-03-02T09:00:00.000000Z\n")
    assert f"$ {TOOL} erase --serial {PIXEL.serial} --method purge\n" in text
    assert f"  out| [{PIXEL.serial}] progress 100%\n" in text
    assert f"  out| RESULT: ERASED serial={PIXEL.serial} method=purge\n" in text
    assert f"$ {TOOL} verify --serial {PIXEL.serial}\n" in text
    assert f"  out| RESULT: PASS serial={PIXEL.serial} blocks_checked=64 residual=0\n" in text
    assert text.count(" exit 0\n") == 3
    assert text.endswith("result    SUCCESS: erased; verification passed\n")
    # Every command's start and finish is stamped from the clock, in order.
    assert "  started  2026-03-02T09:00:03.000000Z\n" in text
    assert (run.started_at, run.finished_at) == (
        datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        datetime(2026, 3, 2, 9, 0, 7, tzinfo=UTC),
    )


def test_a_failed_erase_is_not_verified(calls: Calls, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGE_SIM_ERASE", "fail")
    run = erase()
    assert (run.succeeded, run.exit_code, run.verify_exit_code, run.verification) == (
        False,
        3,
        None,
        "not_run",
    )
    assert run.reason.startswith(f"erase: {TOOL} erase --serial {PIXEL.serial}")
    assert "failed (exit 3)" in run.reason
    assert "factory reset protection is active" in run.reason
    assert [argv[0] for argv in calls.argvs()] == ["--version", "erase"]
    text = run.transcript.decode()
    assert "  err| ERROR: 38121FDJH000A1 refused the erase" in text
    assert " exit 3\n" in text
    assert "result    FAILURE: erase:" in text


def test_a_failed_verification_fails_the_run(calls: Calls, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGE_SIM_ERASE", "verify_fail")
    run = erase()
    assert (run.succeeded, run.exit_code, run.verify_exit_code, run.verification) == (
        False,
        0,
        4,
        "failed",
    )
    assert run.reason.startswith("verification:")
    assert "failed (exit 4): [38121FDJH000A1] block 17: user data pattern found" in run.reason
    assert "  out| RESULT: FAIL serial=38121FDJH000A1 residual data" in run.transcript.decode()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_a_hanging_tool_is_killed_with_its_helpers(
    calls: Calls, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGE_SIM_ERASE", "hang")
    began = time.monotonic()
    run = erase(clock=None, timeout_s=1.0)
    assert time.monotonic() - began < 10
    assert (run.succeeded, run.exit_code, run.verification) == (False, None, "not_run")
    assert run.reason == (
        f"erase: {TOOL} erase --serial {PIXEL.serial} --method purge did not finish within 1 s; "
        "killed it"
    )
    assert f"  out| [{PIXEL.serial}] progress   5%" in run.transcript.decode()
    hung = [c for c in calls.all() if "helper" in c]
    assert len(hung) == 1
    deadline = time.monotonic() + 5
    while (_alive(hung[0]["pid"]) or _alive(hung[0]["helper"])) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(hung[0]["pid"])
    assert not _alive(hung[0]["helper"])  # the whole process group went


def test_a_helper_left_holding_the_pipes_does_not_hang_the_run(calls: Calls) -> None:
    # Like `adb` starting its server: the tool exits 0, a process it started keeps stdout open.
    leaves_helper = (
        "import subprocess, sys; "
        "helper = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
        "print('helper', helper.pid, flush=True)"
    )
    began = time.monotonic()
    run = erase(command=[sys.executable, "-c", leaves_helper, "{serial}"])
    try:
        assert time.monotonic() - began < 15
        assert (run.exit_code, run.succeeded) == (0, True), run.reason
    finally:
        line = next(line for _, line in run.commands[1].lines if line.startswith(b"helper "))
        os.kill(int(line.split()[1]), signal.SIGKILL)


def test_garbage_output_is_kept_readable_and_fails_the_pass_pattern(
    calls: Calls, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGE_SIM_ERASE", "garbage")
    run = erase()
    assert (run.exit_code, run.verify_exit_code, run.verification, run.succeeded) == (
        0,
        0,
        "failed",
        False,
    )
    assert run.reason == "verification: output has no line matching '^RESULT: PASS\\\\b'"
    text = run.transcript.decode("utf-8")  # valid UTF-8 whatever the tool printed
    assert not any(ord(c) < 0x20 and c != "\n" for c in text)
    assert "  out| \\x1b[31m\\x00\\xff\\xfe" in text
    assert "  err| \\xc0\\xaf\\xff segfault?\n" in text


def test_without_a_pass_pattern_exit_codes_decide(
    calls: Calls, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGE_SIM_ERASE", "garbage")
    run = erase(verify_pass_pattern=None, verification_method="tool-reported")
    assert (run.succeeded, run.verification) == (True, "passed")


def test_too_much_output_is_cut_off(calls: Calls, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGE_SIM_ERASE", "flood")
    run = erase()
    assert (run.succeeded, run.exit_code, run.verification) == (False, None, "not_run")
    assert run.reason.endswith("printed more than 4194304 bytes; killed it")
    assert len(run.transcript) < 6 * 1024 * 1024

    monkeypatch.setenv("EDGE_SIM_ERASE", "ok")
    small = erase(max_output_bytes=128)
    assert small.succeeded is False
    assert small.reason.endswith("printed more than 128 bytes; killed it")


def test_a_missing_tool_is_named(calls: Calls) -> None:
    run = erase(
        command=["edge-no-such-erase-tool", "erase", "{serial}"],
        version_command=None,
        tool_name=None,
    )
    assert (run.succeeded, run.exit_code, run.verification) == (False, None, "not_run")
    assert run.reason == "erase: erasure tool 'edge-no-such-erase-tool' not found on PATH"
    assert run.tool_name == "edge-no-such-erase-tool"
    assert run.tool_version == "unknown"
    assert "not run: erasure tool 'edge-no-such-erase-tool' not found" in run.transcript.decode()

    by_path = erase(command=["/nonexistent/erase", "{serial}"])
    assert by_path.reason == "erase: erasure tool '/nonexistent/erase' not found or not executable"


def test_the_tool_is_found_on_path(calls: Calls, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", f"{SIM_DIR}{os.pathsep}{os.environ.get('PATH', '')}")
    name = "edge-sim-erase"
    run = erase(
        command=[name, "erase", "--serial", "{serial}", "--method", "purge"],
        verify_command=[name, "verify", "--serial", "{serial}"],
        version_command=[name, "--version"],
    )
    assert run.succeeded, run.reason
    assert f"$ {name} erase --serial {PIXEL.serial}" in run.transcript.decode()


@pytest.mark.parametrize(
    "serial", ["-rf;x", "--method=clear", "$(reboot)", "a b", "x\n--force", "../etc", "", "A" * 65]
)
def test_hostile_serials_never_reach_a_command_line(calls: Calls, serial: str) -> None:
    run = erase(ErasureTarget(serial=serial, imei=None, platform="android"))
    assert run.succeeded is False
    assert run.reason.startswith(f"serial {serial!r} refused")
    assert calls.all() == []  # nothing ran, not even --version
    assert run.commands == ()
    assert "result    FAILURE: serial" in run.transcript.decode()


def test_imei_placeholder_needs_a_valid_imei(calls: Calls) -> None:
    command = [str(TOOL), "erase", "--serial", "{imei}", "--method", "purge"]
    no_imei = erase(ErasureTarget("R58M12ABCDE", None, "android"), command=command)
    assert no_imei.reason == "the erasure command needs {imei} but the device has no IMEI"
    bad_imei = erase(ErasureTarget("R58M12ABCDE", "35-678;x", "android"), command=command)
    assert bad_imei.reason == "IMEI '35-678;x' refused: 15 digits expected"
    assert calls.all() == []
    fine = erase(ErasureTarget("R58M12ABCDE", "356789104567891", "android"), command=command)
    assert ["erase", "--serial", "356789104567891", "--method", "purge"] in calls.argvs()
    assert fine.succeeded, fine.reason


def test_substitution_keeps_each_argument_whole() -> None:
    target = ErasureTarget("192.168.1.5:5555", None, "android")
    assert substitute(["tool", "--device={serial}", "{platform}-x", "{imei}"], target) == (
        "tool",
        "--device=192.168.1.5:5555",
        "android-x",
        "",
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"command": "edge-sim-erase erase --serial {serial}"}, "valid tuple"),
        ({"command": []}, "at least 1"),
        ({"command": ["tool", "{device}"]}, "unknown placeholder {device}"),
        ({"command": ["tool", "{serial"]}, "unbalanced brace"),
        ({"command": ["{serial}", "erase"]}, "must not contain a placeholder"),
        ({"verify_command": None}, "verify_command"),
        ({"verification_method": "none"}, "verification_method"),
        ({"method": "Destroy"}, "method"),
        ({"verify_pass_pattern": "("}, "not a regular expression"),
        ({"timeout_s": 0}, "greater than 0"),
        ({"surprise": 1}, "Extra inputs"),
    ],
)
def test_bad_configs_are_refused(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        example_config(**overrides)


def test_configs_come_from_profiles_as_lists() -> None:
    config = ErasureToolConfig.model_validate(
        {
            "command": ["eraser", "wipe", "{serial}"],
            "verify_command": ["eraser", "check", "{serial}"],
            "method": "Clear",
            "technique": "factory reset",
            "verification_method": "tool-reported",
            "media_type": "flash/eMMC",
        }
    )
    assert config.timeout_s == 900
    assert config.max_output_bytes == 4 * 1024 * 1024
    assert config.resolved_tool_name == "eraser"


def _certificate_for(run: ErasureRun, device_serial: str = PIXEL.serial) -> Any:
    return build_certificate(
        run,
        certificate_id="0195f0a2-7c1e-7b6a-9d2e-3f4a5b6c7d8e",
        device=Device(
            manufacturer="Google",
            model="Pixel 8",
            serial=device_serial,
            imei=PIXEL.imei,
            platform="android",
        ),
        media=Media(type="flash/UFS", source="RET-2026-7"),
        technician=Technician(operator_id="op-0042", name="Sam Jansen"),
        station="erase-1",
        site="ams-1",
        transcript_sha256="ab" * 32,
    )


def test_certificates_from_runs(calls: Calls, monkeypatch: pytest.MonkeyPatch) -> None:
    good = _certificate_for(erase())
    assert good.result == "success"
    assert good.sanitization.tool_version == "edge-sim-erase 2.4.1 (stand-in)"
    assert (good.sanitization.method, good.sanitization.verification_method) == (
        "Purge",
        "quick-sampling",
    )
    signer = Signer.generate("ams-1/erase-1")
    assert open_certificate(sign_certificate(good, signer), signer.verifier) == good

    monkeypatch.setenv("EDGE_SIM_ERASE", "verify_fail")
    bad = _certificate_for(erase())
    assert (bad.result, bad.sanitization.verification_result) == ("failure", "failed")
    assert (bad.sanitization.tool_exit_code, bad.sanitization.verify_exit_code) == (0, 4)
    assert bad.reason.startswith("verification:")

    with pytest.raises(ValueError, match="is not the erased"):
        _certificate_for(erase(), device_serial="SOMEONE-ELSE")
