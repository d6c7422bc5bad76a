"""A throwaway PostgreSQL cluster from Debian's server binaries: a temp folder, a free port.

Tests start one through the fixtures in conftest.py; benchmarks import this module directly
(`sys.path.insert(0, <repo root>)`, then `from tests.postgres_server import PostgresServer`).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import psycopg
from psycopg import sql

from tests.ports import reserve_port

PG_ROOT = Path("/usr/lib/postgresql")
RUN_AS = "postgres"  # the system user Debian's package creates
SUPERUSER = "postgres"
START_TIMEOUT_S = 30.0
PORT_ATTEMPTS = 5

# Test speed only: a crash of the test machine may lose these clusters, which nobody minds.
# Benchmarks pass durable=True so they measure with fsync, WAL flush on commit and full pages.
_FAST_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


def postgres_binaries() -> Path | None:
    """The newest installed /usr/lib/postgresql/<version>/bin, or None without the package."""
    found = [bin_dir.parent for bin_dir in PG_ROOT.glob("*/bin") if (bin_dir / "postgres").exists()]
    found.sort(key=lambda d: tuple(int(p) for p in d.name.split(".") if p.isdigit()), reverse=True)
    return found[0] / "bin" if found else None


class PortTaken(RuntimeError):
    """The postmaster could not bind its port: another server holds it."""


class PostgresServer:
    """One cluster: initdb on first start(), a postmaster we own, trust auth on 127.0.0.1."""

    def __init__(self, *, durable: bool = False, bin_dir: Path | None = None) -> None:
        found = bin_dir or postgres_binaries()
        if found is None:
            raise RuntimeError("no PostgreSQL server: install the Debian package postgresql")
        self.bin_dir = found
        self.durable = durable
        self.user = SUPERUSER
        self.port = 0
        self.folder: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._postmaster_pid = 0
        # PostgreSQL refuses to run as root (CI is root): then every binary runs as `postgres`.
        self._as_user = ["runuser", "-u", RUN_AS, "--"] if os.geteuid() == 0 else []

    @property
    def data_dir(self) -> Path:
        assert self.folder is not None, "not started"
        return self.folder / "data"

    @property
    def log_path(self) -> Path:
        assert self.folder is not None, "not started"
        return self.folder / "postgres.log"

    def dsn(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{dbname}"

    def start(self) -> None:
        if self.folder is not None:
            self._launch()
            return
        self._init_cluster()
        for attempt in range(1, PORT_ATTEMPTS + 1):
            try:
                self._launch()
                return
            except PortTaken:  # by something else between reserve_port and the postmaster
                if attempt == PORT_ATTEMPTS:
                    raise
                self.port = reserve_port()

    def stop(self) -> None:
        """Fast shutdown (clients disconnected, checkpoint written), then remove the folder."""
        try:
            self._halt()
        finally:
            if self.folder is not None:
                shutil.rmtree(self.folder, ignore_errors=True)
                self.folder = None

    def kill(self) -> None:
        """SIGKILL the postmaster, then its leftover backends, as a crash would; data stays."""
        if self._process is None or not self._postmaster_pid:
            return
        os.kill(self._postmaster_pid, signal.SIGKILL)
        self._process.wait()
        self._process = None
        self._kill_orphans()

    def restart(self) -> None:
        self._halt()
        self._launch()

    def create_database(self, name: str) -> str:
        self._admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.dsn(name)

    def drop_database(self, name: str) -> None:
        query = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        self._admin(query)

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _admin(self, query: sql.Composed) -> None:
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(query)

    def _init_cluster(self) -> None:
        # Under /tmp, not pytest's tmp_path: /tmp/pytest-of-root is 0700 root, which the
        # postgres user cannot traverse.
        self.folder = Path(tempfile.mkdtemp(prefix="edge-pg-"))
        self.folder.chmod(0o755)
        if self._as_user:
            account = pwd.getpwnam(RUN_AS)
            os.chown(self.folder, account.pw_uid, account.pw_gid)
        self.port = reserve_port()
        initdb = [str(self.bin_dir / "initdb"), "-D", str(self.data_dir), "-U", self.user]
        initdb += ["--auth=trust", "--encoding=UTF8", "--no-locale"]
        if not self.durable:
            initdb.append("--no-sync")
        self._run(initdb)

    def _launch(self) -> None:
        if self._process is not None:
            return
        # Only ever ours, and its postmaster is gone (stopped or killed and reaped): a stale
        # "ready" line in it would otherwise pass for the new server's.
        (self.data_dir / "postmaster.pid").unlink(missing_ok=True)
        command = [str(self.bin_dir / "postgres"), "-D", str(self.data_dir), "-p", str(self.port)]
        command += ["-h", "127.0.0.1", "-k", str(self.folder)]
        for setting in () if self.durable else _FAST_SETTINGS:
            command += ["-c", setting]
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [*self._as_user, *command], stdout=log, stderr=log, cwd=self.folder
            )
        self._postmaster_pid = self._wait_until_ready()

    def _wait_until_ready(self) -> int:
        """The postmaster's pid once its pid file says ready (what `pg_ctl start -w` checks)."""
        assert self._process is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                tail = self._log_tail()
                if "could not bind" in tail and "already in use" in tail:
                    raise PortTaken(f"port {self.port} is taken:\n{tail}")
                raise RuntimeError(f"postgres exited at start-up:\n{tail}")
            try:
                lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
            except FileNotFoundError:
                lines = []
            if len(lines) >= 8 and lines[7].strip() == "ready":
                return int(lines[0])
            time.sleep(0.02)
        self._process.terminate()  # runuser passes SIGTERM on to postgres
        self._process.wait(timeout=10)
        self._process = None
        raise RuntimeError(f"postgres not ready after {START_TIMEOUT_S} s:\n{self._log_tail()}")

    def _halt(self) -> None:
        if self._process is None:
            return
        os.kill(self._postmaster_pid, signal.SIGINT)  # "fast" shutdown
        try:
            self._process.wait(timeout=START_TIMEOUT_S)
            self._process = None
        except subprocess.TimeoutExpired:
            self.kill()

    def _kill_orphans(self) -> None:
        """Backends busy in a query outlive a killed postmaster, and a new postmaster will not
        start while they hold the old shared memory; a real crash takes them too."""
        data_dir = self.data_dir.resolve()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            left = [int(p.name) for p in Path("/proc").glob("[0-9]*") if _cwd(p) == data_dir]
            if not left:
                return
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.01)

    def _run(self, command: list[str]) -> None:
        result = subprocess.run(
            [*self._as_user, *command], capture_output=True, text=True, cwd=self.folder
        )
        if result.returncode != 0:
            raise RuntimeError(f"{Path(command[0]).name} failed:\n{result.stdout}{result.stderr}")

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return "(no log)"


def _cwd(proc: Path) -> Path | None:
    """A process's working folder; every PostgreSQL process works in its data folder."""
    try:
        return (proc / "cwd").readlink()
    except OSError:
        return None
