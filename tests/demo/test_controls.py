"""The serving demo's device controls: what a request may say, and who may send one."""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from edge.demo.controls import (
    CONTROL_SOCKET,
    ControlError,
    parse_control,
    parse_grams,
    send_control,
    serve_controls,
)
from edge.limits import MAX_CODE_LENGTH


@pytest.mark.parametrize(
    ("request_body", "field_named"),
    [
        ([], "request:"),
        ({"verb": "erase"}, "verb:"),
        ({"verb": "scan", "value": 7}, "value:"),
        ({"verb": "scan", "value": ""}, "code:"),
        ({"verb": "scan", "value": "X" * (MAX_CODE_LENGTH + 1)}, "code:"),
        ({"verb": "scan", "value": "1Z\u001b[2J"}, "code: control character 0x1b"),
        ({"verb": "scan", "value": "1Z\n1Z"}, "code: control character 0x0a"),
        ({"verb": "weigh", "value": "heavy"}, "weight:"),
        ({"verb": "weigh", "value": "-5"}, "weight:"),
        ({"verb": "weigh", "value": "NaN"}, "weight:"),
        ({"verb": "weigh", "value": "1e9"}, "weight:"),
        ({"verb": "dock", "value": "../../../etc/passwd"}, "preset:"),
    ],
)
def test_a_bad_request_is_refused_naming_the_field(request_body: Any, field_named: str) -> None:
    with pytest.raises(ControlError, match=f"^{field_named}"):
        parse_control(request_body)


def test_a_gs1_code_with_its_group_separator_is_a_scan() -> None:
    # GS1 General Specifications 7.8.5.2: a scanner sends FNC1 after a variable-length element
    # string as GS (0x1d); here after the batch (10) and before the serial (21).
    code = "0109506000134376" + "10ABC123\u001d" + "21XYZ789"
    assert parse_control({"verb": "scan", "value": code}).value == code


def test_a_code_with_any_other_control_character_is_refused() -> None:
    with pytest.raises(ControlError, match=r"^code: control character 0x07 .*position 16"):
        parse_control({"verb": "scan", "value": "0109506000134376\u000710ABC123"})


def test_weights_are_grams_unless_said_in_kilograms() -> None:
    assert parse_grams("398.5") == Decimal("398.5")
    assert parse_grams("12g") == Decimal(12)
    assert parse_grams("1.234kg") == Decimal(1234)
    assert parse_control({"verb": "dock", "value": "pixel8_android14"}).value == "pixel8_android14"


@dataclass
class FakeScanner:
    read: list[str] = field(default_factory=list)

    def scan(self, code: str) -> None:
        self.read.append(code)


@dataclass
class FakeStation:
    """Only what the controls touch; the real devices are exercised in tests/test_demo.py."""

    scanner: FakeScanner = field(default_factory=FakeScanner)
    scale: object = "scale"
    cradle_scenario: object = "cradle"


@pytest.fixture
def open_folder() -> Iterator[Path]:
    """A data folder other users may enter (pytest's own temp folders are 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="edge-demo-", dir="/tmp"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_the_socket_is_the_users_own_and_answers_it(open_folder: Path) -> None:
    station = FakeStation()

    async def scenario() -> None:
        async with serve_controls(open_folder, station) as path:  # type: ignore[arg-type]
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            said = await asyncio.to_thread(send_control, open_folder, "scan", "1ZHANDS0001")
            assert said == "scanner read '1ZHANDS0001'"
            with pytest.raises(ControlError, match=r"^code: control character 0x07 "):
                await asyncio.to_thread(send_control, open_folder, "scan", "1Z\u0007")

    asyncio.run(scenario())
    assert station.scanner.read == ["1ZHANDS0001"]
    assert not (open_folder / CONTROL_SOCKET).exists()
    with pytest.raises(ControlError, match="no demo is serving"):
        send_control(open_folder, "lift")


CLIENT = """
import socket, sys
with socket.socket(socket.AF_UNIX) as conn:
    try:
        conn.connect(sys.argv[1])
    except PermissionError:
        print("permission denied")
        raise SystemExit
    conn.sendall(b'{"verb": "scan", "value": "1ZSTRANGER"}\\n')
    print(conn.makefile().readline().strip())
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
def test_another_user_cannot_drive_the_devices(open_folder: Path) -> None:
    station = FakeStation()
    python = shutil.which("python3", path="/usr/bin:/bin") or "python3"

    def as_nobody(path: Path) -> str:
        done = subprocess.run(
            [python, "-c", CLIENT, str(path)], user=65534, capture_output=True, text=True
        )
        return done.stdout.strip() + done.stderr.strip()

    async def scenario() -> tuple[str, str]:
        async with serve_controls(open_folder, station) as path:  # type: ignore[arg-type]
            by_mode = await asyncio.to_thread(as_nobody, path)
            path.chmod(0o666)  # even with the file opened up, the peer's uid is checked
            by_uid = await asyncio.to_thread(as_nobody, path)
        return by_mode, by_uid

    by_mode, by_uid = asyncio.run(scenario())
    assert by_mode == "permission denied"
    assert "only the demo's own user may drive its devices" in by_uid
    assert station.scanner.read == []
