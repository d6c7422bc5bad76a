"""Hands on the demo's simulated devices while `edge demo --serve` runs: scan, weigh, dock.

The running demo listens on a Unix socket in its data folder (`demo-control.sock`, mode 0600,
and only a peer of the same user is answered), so whoever may read the station's files may put
a box on the scale, and nobody needs the MQTT passwords. The devices still publish through the
driver, Mosquitto and the hub as real ones would. One JSON line in, one JSON line out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

from drivers.sim.cradle import PRESETS_DIR, load_preset, write_scenario
from edge.characters import check_code
from edge.limits import MAX_CODE_LENGTH

if TYPE_CHECKING:
    from edge.demo.devices import DemoStation

CONTROL_SOCKET = "demo-control.sock"
VERBS = ("scan", "weigh", "lift", "dock", "undock")
MAX_GRAMS = Decimal(100_000)  # the demo scale reports overload from 30 kg; typos stop here
MAX_REQUEST_BYTES = 4096


class ControlError(Exception):
    """A control request that names no device action, or no demo that answers."""


@dataclass(frozen=True)
class Control:
    verb: str
    value: str = ""


def presets() -> list[str]:
    """The phones `dock` can put in the cradle (file stems of the cradle's presets)."""
    return sorted(p.stem for p in PRESETS_DIR.glob("*.json"))


def parse_control(data: object) -> Control:
    """A request as sent by `edge demo VERB [VALUE]`, checked; errors name the field."""
    if not isinstance(data, dict):
        raise ControlError("request: expected a JSON object")
    verb, value = data.get("verb"), data.get("value", "")
    if verb not in VERBS:
        raise ControlError(f"verb: expected one of {', '.join(VERBS)}")
    if not isinstance(value, str):
        raise ControlError("value: expected a string")
    if verb == "scan":
        if not 1 <= len(value) <= MAX_CODE_LENGTH:
            raise ControlError(f"code: 1 to {MAX_CODE_LENGTH} characters")
        try:
            check_code(value)
        except ValueError as exc:
            raise ControlError(f"code: {exc}") from None
    elif verb == "weigh":
        value = str(parse_grams(value))
    elif verb == "dock" and value not in presets():
        raise ControlError(f"preset: expected one of {', '.join(presets())}")
    return Control(verb, value)


def parse_grams(text: str) -> Decimal:
    """'398.5' or '398.5g' (grams) or '1.234kg' as grams."""
    raw = text.strip().lower()
    scale = Decimal(1000) if raw.endswith("kg") else Decimal(1)
    number = raw.removesuffix("kg").removesuffix("g").strip()
    try:
        grams = Decimal(number) * scale
    except InvalidOperation:
        raise ControlError(f"weight: {text!r} is not a number of grams (or 1.234kg)") from None
    if not grams.is_finite() or not Decimal(0) <= grams <= MAX_GRAMS:
        raise ControlError(f"weight: 0 to {MAX_GRAMS} g")
    return grams


def apply_control(control: Control, station: DemoStation) -> str:
    """Act on the demo's simulators; what a person would see happen."""
    assert station.scanner and station.scale and station.cradle_scenario, "station not started"
    if control.verb == "scan":
        station.scanner.scan(control.value)
        return f"scanner read {control.value!r}"
    if control.verb == "weigh":
        station.scale.place(control.value)
        return f"a {control.value} g load is on the scale"
    if control.verb == "lift":
        station.scale.place("0")
        return "the scale is empty"
    if control.verb == "dock":
        write_scenario(station.cradle_scenario, load_preset(control.value))
        return f"{control.value} is in the cradle"
    write_scenario(station.cradle_scenario, {})
    return "the cradle is empty"


def socket_path(data_dir: Path) -> Path:
    return data_dir / CONTROL_SOCKET


@contextlib.asynccontextmanager
async def serve_controls(data_dir: Path, station: DemoStation) -> AsyncIterator[Path]:
    """Answer control requests on the data folder's socket until the block ends."""
    path = socket_path(data_dir)
    path.unlink(missing_ok=True)  # a killed demo's; a live one holds the broker lock
    old_umask = os.umask(0o177)
    try:
        server = await asyncio.start_unix_server(
            lambda r, w: _answer(r, w, station), path=str(path), limit=MAX_REQUEST_BYTES
        )
    except OSError as exc:  # AF_UNIX paths end at 107 bytes
        raise RuntimeError(f"cannot listen for device controls on {path}: {exc}") from None
    finally:
        os.umask(old_umask)
    path.chmod(0o600)
    try:
        yield path
    finally:
        server.close()
        await server.wait_closed()
        path.unlink(missing_ok=True)


async def _answer(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, station: DemoStation
) -> None:
    try:
        try:
            line = await reader.readline()
            if _peer_uid(writer) != os.getuid():
                raise ControlError("only the demo's own user may drive its devices")
            control = parse_control(json.loads(line))
            done = await asyncio.to_thread(apply_control, control, station)
            reply = {"ok": True, "message": done}
        except (ControlError, ValueError) as exc:
            reply = {"ok": False, "message": str(exc)}
        writer.write(json.dumps(reply).encode() + b"\n")
        await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


def _peer_uid(writer: asyncio.StreamWriter) -> int:
    sock = writer.get_extra_info("socket")
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return int(uid)


def send_control(data_dir: Path, verb: str, value: str = "", timeout: float = 10.0) -> str:
    """Ask the demo serving `data_dir` to act; its answer, or ControlError saying why not."""
    path = socket_path(data_dir)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(timeout)
            conn.connect(str(path))
            conn.sendall(json.dumps({"verb": verb, "value": value}).encode() + b"\n")
            answer = conn.makefile("rb").readline(MAX_REQUEST_BYTES)
    except (FileNotFoundError, ConnectionRefusedError):
        raise ControlError(
            f"no demo is serving in {data_dir}: start `edge --data-dir {data_dir} demo --serve`"
        ) from None
    except OSError as exc:
        raise ControlError(f"the demo at {path} did not answer: {exc}") from None
    try:
        reply = json.loads(answer)
        ok, message = bool(reply["ok"]), str(reply["message"])
    except (ValueError, KeyError, TypeError):
        raise ControlError(f"the demo at {path} answered nonsense") from None
    if not ok:
        raise ControlError(message)
    return message
