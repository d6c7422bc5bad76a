"""The station's private Mosquitto: its config, ACL and password files, and running it.

The same renderer writes the production files (`systemd/mosquitto/`, installed to
/etc/edge/mosquitto by `edge bus setup`) and the ones tests and the demo use in a temp folder,
so what is tested is what runs on a Pi.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from edge.bus.persistence_lock import PersistenceHeld, hold_persistence, name_holder
from edge.bus.tied_child import popen_tied
from edge.bus.topics import READING_KINDS, check_device_id

log = logging.getLogger(__name__)

# Who may connect. The session users each run as one long-lived process with a persistent
# session: on their listener the broker makes the client id the username, so no credential can
# take another's session (or kick it off). Screens are read-only and may connect many at once:
# they get their own listener, where client ids are free but must start with CLIENT_ID_PREFIX,
# which no username does, so a screen can never name a session user's session either.
SESSION_USERS = ("hub", "drivers", "camera")
SCREEN_USER = "screen"
CLIENT_USERS = (*SESSION_USERS, SCREEN_USER)
CLIENT_ID_PREFIX = "edge-"  # Mosquitto's clientid_prefixes: every client id must start so
DEVICE_PROCESSES = ("drivers", "camera")  # the users that publish for the device slots they host
PROCESS_SLOT_PREFIX = "proc-"  # drivers.host.RESERVED_PREFIX: a process's own status slot
CREDENTIALS_FILE = "mqtt-credentials.json"

ACL_HEADER = """\
# Mosquitto ACL for one station, rendered by `edge bus setup` from its profile.
# Nothing is allowed that is not listed: a process publishes only for the device slots it
# hosts (and its own proc-… status), reads only their commands; only the hub writes the custody
# journal topic. Re-run `edge bus setup` after changing the profile's devices.
"""


class BrokerError(Exception):
    """Mosquitto is missing, would not start, or its files cannot be written."""


@dataclass(frozen=True)
class BrokerLayout:
    """Where one broker's files live; production uses /etc/edge/mosquitto, /var/lib/edge."""

    config_dir: Path
    data_dir: Path
    port: int = 1883
    bind: str = "127.0.0.1"
    screen_port: int = 0  # the screens' listener; 0: the port after `port`

    def __post_init__(self) -> None:
        if not self.screen_port:
            if self.port >= 65535:
                raise BrokerError("bus port 65535 leaves no port after it for the screens")
            object.__setattr__(self, "screen_port", self.port + 1)

    @property
    def conf(self) -> Path:
        return self.config_dir / "edge.conf"

    @property
    def acl(self) -> Path:
        return self.config_dir / "acl"

    @property
    def passwd(self) -> Path:
        """The session users' passwords (hub, drivers, camera)."""
        return self.config_dir / "passwd"

    @property
    def screen_passwd(self) -> Path:
        return self.config_dir / "passwd-screen"


PRODUCTION = BrokerLayout(Path("/etc/edge/mosquitto"), Path("/var/lib/edge-mosquitto"))


def render_config(layout: BrokerLayout, *, run_as: str | None = None) -> str:
    """mosquitto.conf for the station broker (Mosquitto 2.0, as Debian 12 ships it)."""
    user_line = f"user {run_as}\n" if run_as else ""
    return f"""\
# The station's private MQTT broker. Written by `edge bus setup`; edit the renderer instead.
{user_line}per_listener_settings true
# Deprecated in Mosquitto but in 2.0: checked on the id a client sends, before the session
# listener replaces it with the username, so screens' ids never equal a session user's.
clientid_prefixes {CLIENT_ID_PREFIX}

# Session users (hub, drivers, camera): the client id is the username, one session each.
listener {layout.port} {layout.bind}
protocol mqtt
allow_anonymous false
password_file {layout.passwd}
acl_file {layout.acl}
use_username_as_clientid true

# Screens (read-only, many at once): ids of their own, starting {CLIENT_ID_PREFIX}.
listener {layout.screen_port} {layout.bind}
protocol mqtt
allow_anonymous false
password_file {layout.screen_passwd}
acl_file {layout.acl}

# Keep sessions and queued QoS 1 messages across restarts. Saving on every change costs a small
# file write per message; the queue is near-empty on a healthy station.
persistence true
persistence_location {layout.data_dir}/
autosave_on_changes true
autosave_interval 1
persistent_client_expiration 7d
max_queued_messages 100000
max_inflight_messages 20
retain_available true
# Without it Nagle holds a reading for the hub behind the PUBACK of the hub's last journal-topic
# publish, up to the peer's delayed ACK (~40 ms), whenever they cross on one socket.
set_tcp_nodelay true

log_dest stderr
log_type error
log_type warning
log_type notice
connection_messages true
"""


def render_acl(
    site: str,
    station: str,
    hosted: Mapping[str, Sequence[str]],
    publishes: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """The ACL: `hosted` names, for `drivers` and `camera`, the device slots each publishes;
    `publishes` the readings a slot may publish besides its status and command replies
    (`drivers.hosting.slot_publishes`), so a camera cannot weigh; a slot it does not name may
    publish any topic of its own."""
    unknown = set(hosted) - set(DEVICE_PROCESSES)
    if unknown:
        raise BrokerError(f"no MQTT user hosts devices under the name(s) {sorted(unknown)}")
    root = f"edge/{site}/{station}"
    lines = [ACL_HEADER, "user hub", f"topic readwrite {root}/#", ""]
    for process in DEVICE_PROCESSES:
        lines.append(f"user {process}")
        for device_id in sorted(set(hosted.get(process, ()))):
            check_device_id(device_id)  # never a wildcard, a separator or a line break
            readings = None if publishes is None else publishes.get(device_id)
            if readings is None:
                lines.append(f"topic write {root}/dev/{device_id}/+")
            else:
                for leaf in _leaves(device_id, readings):
                    lines.append(f"topic write {root}/dev/{device_id}/{leaf}")
            lines.append(f"topic read {root}/cmd/{device_id}/+")
        lines.append("")
    lines += [f"user {SCREEN_USER}", f"topic read {root}/#", ""]
    return "\n".join(lines)


def _leaves(device_id: str, readings: Sequence[str]) -> list[str]:
    if device_id.startswith(PROCESS_SLOT_PREFIX):
        return ["status"]  # a process's own slot: its status, nothing that becomes custody
    unknown = set(readings) - set(READING_KINDS)
    if unknown:
        raise BrokerError(f"device {device_id!r}: no reading kind(s) {sorted(unknown)}")
    return ["status", *sorted(set(readings) | {"reply"})]


def load_or_create_credentials(keys_dir: Path) -> dict[str, str]:
    """One random password per client user, in the station's keys folder (mode 0600)."""
    path = keys_dir / CREDENTIALS_FILE
    if path.exists():
        return load_credentials(keys_dir)
    keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    creds = {user: secrets.token_urlsafe(24) for user in CLIENT_USERS}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(creds, out, indent=2)
    return creds


def load_credentials(keys_dir: Path) -> dict[str, str]:
    """The client passwords `edge bus setup` made; refuses clearly when there are none."""
    path = keys_dir / CREDENTIALS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BrokerError(
            f"no MQTT credentials at {path}: run `edge bus setup --profile …` for this station"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BrokerError(f"MQTT credentials {path} cannot be read: {exc}") from None
    if not isinstance(data, dict) or set(data) != set(CLIENT_USERS):
        raise BrokerError(f"{path} is not a credentials file for {', '.join(CLIENT_USERS)}")
    return {str(k): str(v) for k, v in data.items()}


def write_passwd(path: Path, credentials: dict[str, str]) -> None:
    """Hash the passwords with Mosquitto's own tool (PBKDF2-SHA512), never by hand."""
    tool = shutil.which("mosquitto_passwd")
    if tool is None:
        raise BrokerError("mosquitto_passwd not found: apt-get install mosquitto")
    path.unlink(missing_ok=True)
    for i, (user, password) in enumerate(sorted(credentials.items())):
        args = [tool, *(["-c"] if i == 0 else []), "-b", str(path), user, password]
        done = subprocess.run(args, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise BrokerError(f"mosquitto_passwd failed for {user}: {done.stderr.strip()}")
    path.chmod(0o600)


def write_broker_files(
    layout: BrokerLayout,
    *,
    site: str,
    station: str,
    hosted: Mapping[str, Sequence[str]],
    credentials: dict[str, str],
    run_as: str | None = None,
    publishes: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """Config, ACL (from `hosted`: device slots per process, and `publishes`: the readings of
    each) and the two password files."""
    acl = render_acl(site, station, hosted, publishes)
    layout.config_dir.mkdir(parents=True, exist_ok=True)
    layout.data_dir.mkdir(parents=True, exist_ok=True)
    layout.conf.write_text(render_config(layout, run_as=run_as))
    layout.acl.write_text(acl)
    write_passwd(layout.passwd, {user: credentials[user] for user in SESSION_USERS})
    write_passwd(layout.screen_passwd, {SCREEN_USER: credentials[SCREEN_USER]})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def private_broker(
    folder: Path,
    *,
    site: str,
    station: str,
    hosted: Mapping[str, Sequence[str]],
    credentials: dict[str, str],
    port: int | None = None,
    publishes: Mapping[str, Sequence[str]] | None = None,
) -> PrivateBroker:
    """A broker on the station's own config with everything in `folder` (config, persistence,
    log), not yet started: what tests, the demo and the benchmarks run."""
    port = port or free_port()
    screen_port = free_port()
    while screen_port == port:
        screen_port = free_port()
    layout = BrokerLayout(
        folder / "mosquitto", folder / "mosquitto-data", port, "127.0.0.1", screen_port
    )
    write_broker_files(
        layout,
        site=site,
        station=station,
        hosted=hosted,
        publishes=publishes,
        credentials=credentials,
        run_as="root" if os.geteuid() == 0 else None,  # root: do not drop to `mosquitto`
    )
    return PrivateBroker(layout, folder / "mosquitto.log")


class PrivateBroker:
    """A Mosquitto child process on its own config: the demo's hub and the tests' broker."""

    def __init__(self, layout: BrokerLayout, log_path: Path) -> None:
        self.layout = layout
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self._lock_fd: int | None = None

    def start(self, ready_within: float = 10.0) -> None:
        binary = shutil.which("mosquitto") or (
            "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
        )
        if binary is None:
            raise BrokerError("mosquitto not found: apt-get install mosquitto")
        # The broker holds the persistence folder's lock with us, and dies with us (SIGKILL too).
        try:
            self._lock_fd = hold_persistence(self.layout.data_dir, self.layout.conf)
        except PersistenceHeld as exc:
            raise BrokerError(str(exc)) from None
        try:
            with self.log_path.open("ab") as log_file:
                self.process = popen_tied(
                    [binary, "-c", str(self.layout.conf)],
                    stdout=log_file,
                    stderr=log_file,
                    pass_fds=(self._lock_fd,),
                )
        except OSError as exc:
            os.close(self._lock_fd)
            self._lock_fd = None
            raise BrokerError(f"mosquitto would not start: {exc}") from None
        name_holder(self._lock_fd, self.process.pid)
        deadline = time.monotonic() + ready_within
        while time.monotonic() < deadline:
            if (code := self.process.poll()) is not None:
                self.stop()
                raise BrokerError(
                    f"mosquitto exited with {code}: "
                    f"{self.log_path.read_text(errors='replace')[-2000:]}"
                )
            try:
                with socket.create_connection((self.layout.bind, self.layout.port), 0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise BrokerError(f"mosquitto did not listen on port {self.layout.port} in time")

    def stop(self, *, kill: bool = False) -> None:
        """SIGTERM saves the persistence file; `kill=True` is a crash (SIGKILL)."""
        if self.process is None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
        if self._lock_fd is not None:  # the broker's copy of the lock closed as it exited
            os.close(self._lock_fd)
            self._lock_fd = None

    def restart(self) -> None:
        self.stop()
        self.start()
