"""`edge bus setup`, `edge drivers`, `edge camera`: the broker's files and the driver processes."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from drivers.host import DriverHost
from drivers.hosting import hosted_slots, slot_publishes
from drivers.profile import ProfileError, StationProfile, load_profile
from drivers.registry import ProcessName, UnknownDriverError
from edge.bus.broker import (
    PRODUCTION,
    BrokerError,
    BrokerLayout,
    load_credentials,
    load_or_create_credentials,
    write_broker_files,
)
from edge.bus.client import BusConfig
from edge.bus.outbox import OutboxError
from edge.cli.common import err_console, run_service, state

bus_app = typer.Typer(help="The station's MQTT broker (Mosquitto).", no_args_is_help=True)
console = Console()

ProfileOption = Annotated[Path, typer.Option("--profile", help="Station profile (TOML).")]


def _profile(path: Path) -> StationProfile:
    try:
        return load_profile(path)
    except ProfileError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None


@bus_app.command()
def setup(
    ctx: typer.Context,
    profile: ProfileOption,
    config_dir: Annotated[
        Path, typer.Option(help="Where edge.conf, acl and passwd go.")
    ] = PRODUCTION.config_dir,
    broker_data: Annotated[
        Path, typer.Option(help="Mosquitto's persistence folder.")
    ] = PRODUCTION.data_dir,
    run_as: Annotated[
        str | None, typer.Option(help="User Mosquitto runs as (when started as root).")
    ] = None,
) -> None:
    """Write the broker's config, the ACL from the profile's devices and the password files;
    make client credentials. Re-run after changing the profile's devices, then reload the broker."""
    s = state(ctx)
    station = _profile(profile)
    try:
        layout = BrokerLayout(config_dir, broker_data, station.bus.port, station.bus.host)
        hosted = hosted_slots(station)
        credentials = load_or_create_credentials(s.data_dir / "keys")
        write_broker_files(
            layout,
            site=station.site,
            station=station.station,
            hosted=hosted,
            publishes=slot_publishes(station),
            credentials=credentials,
            run_as=run_as,
        )
    except (BrokerError, ProfileError, UnknownDriverError, OSError) as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    console.print(f"broker config {layout.conf}, ACL {layout.acl}, passwords {layout.passwd}")
    console.print(
        f"listeners: {layout.bind}:{layout.port} (hub, drivers, camera), "
        f"{layout.bind}:{layout.screen_port} (screens)"
    )
    for process, slots in hosted.items():
        console.print(f"{process} may publish for: {', '.join(slots)}")
    console.print(f"client credentials: {s.data_dir / 'keys'} (users: {', '.join(credentials)})")


def _serve(ctx: typer.Context, profile: Path, process: ProcessName) -> None:
    s = state(ctx)
    station = _profile(profile)
    try:
        password = load_credentials(s.data_dir / "keys")[process]
    except BrokerError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    config = BusConfig.for_process(process, password, station.bus.host, station.bus.port)
    try:
        host = DriverHost(station, process, config, s.data_dir / f"outbox-{process}.sqlite")
        host.build_devices()
    except (ProfileError, UnknownDriverError, OutboxError) as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    run_service(_until_signal(host))


async def _until_signal(host: DriverHost) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    err_console.print(
        f"{host.process}: {len(host.hosted)} device(s), broker "
        f"{host.bus_config.host}:{host.bus_config.port}, pid {os.getpid()}; Ctrl-C stops"
    )
    await host.run(stop)


def drivers(ctx: typer.Context, profile: ProfileOption) -> None:
    """Run the light device drivers of the profile (scales, scanners, cradles) until stopped."""
    _serve(ctx, profile, "drivers")


def camera(ctx: typer.Context, profile: ProfileOption) -> None:
    """Run the profile's cameras in their own process (decoding is CPU-heavy) until stopped."""
    _serve(ctx, profile, "camera")
