"""`edge run` (the hub behind its API) and `edge manifest import`."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from drivers.profile import ProfileError
from edge.bus.broker import BrokerError, load_credentials
from edge.bus.client import BusConfig
from edge.cli.common import err_console, print_error, run_service, state
from edge.hub.runtime import Hub, ManifestImport
from edge.hub.serve import hub_app, server_config
from edge.systemd_notify import notify
from stations.catalogue import Catalogue
from stations.manifest import ManifestError, detect_format, parse_manifest
from stations.profile import HubProfile, load_hub_profile
from stations.workflow import WorkflowRefused

log = logging.getLogger(__name__)
ProfileOption = Annotated[Path, typer.Option("--profile", help="Station profile (TOML).")]
manifest_app = typer.Typer(help="Expected returns (the manifest).", no_args_is_help=True)


def _load(path: Path) -> HubProfile:
    try:
        return load_hub_profile(path)
    except ProfileError as exc:
        print_error(exc)
        raise typer.Exit(2) from None


def run(
    ctx: typer.Context,
    profile: ProfileOption,
    host: Annotated[str | None, typer.Option(help="API address (default: the profile's).")] = None,
    port: Annotated[int | None, typer.Option(help="API port (default: the profile's).")] = None,
    bus: Annotated[
        bool, typer.Option(help="Connect to the station's broker (--no-bus: API and journal only).")
    ] = True,
) -> None:
    """Run the station hub: workflows, journal, the bus side and the HTTP API, until stopped."""
    s = state(ctx)
    hub_profile = _load(profile)
    station = hub_profile.station
    bus_config = None
    if bus:
        try:
            password = load_credentials(s.data_dir / "keys")["hub"]
        except BrokerError as exc:
            print_error(exc)
            raise typer.Exit(2) from None
        bus_config = BusConfig.for_process("hub", password, station.bus.host, station.bus.port)
    app = hub_app(s.data_dir, hub_profile, profile_path=profile.resolve(), bus_config=bus_config)
    config = server_config(
        app,
        host or hub_profile.hub.api_host,
        port or hub_profile.hub.api_port,
        logging.getLevelName(logging.getLogger().level).lower(),
    )
    server = uvicorn.Server(config)
    err_console.print(
        f"hub {station.site}/{station.station} ({station.role}): "
        f"http://{config.host}:{config.port}  Ctrl-C stops"
    )
    run_service(serve_notifying(server))


async def serve_notifying(server: uvicorn.Server) -> None:
    """Serve until stopped; READY=1 to systemd once listening, exit 2 if it never started."""
    serving = asyncio.ensure_future(server.serve())
    # uvicorn offers no start-up event to wait on
    while not server.started and not serving.done():  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    if server.started:
        notify("READY=1")
    await serving
    if not server.started:
        raise typer.Exit(2)


@manifest_app.command("import")
def import_manifest(
    ctx: typer.Context,
    profile: ProfileOption,
    file: Annotated[Path, typer.Argument(help="Expected returns: .json or .csv.")],
    operator: Annotated[str, typer.Option(help="Who imports (journalled).")] = "admin",
) -> None:
    """Add or update expected returns from a file; every change is journalled."""
    s = state(ctx)
    hub_profile = _load(profile)
    data = file.read_bytes()
    try:
        fmt = detect_format(file.name, data)
        catalogue = Catalogue.load(hub_profile.resolve(hub_profile.catalogue.override))
        records = parse_manifest(data, fmt, catalogue)
    except ManifestError as exc:
        print_error(exc)
        raise typer.Exit(2) from None

    async def apply() -> str:
        hub = Hub(s.data_dir, hub_profile)
        hub.start()
        try:
            result = await hub.handle(ManifestImport(tuple(records), f"file:{file.name}", operator))
        finally:
            await hub.stop()
        return result.message

    try:
        typer.echo(asyncio.run(apply()))
    except WorkflowRefused as exc:
        print_error(exc.message)
        raise typer.Exit(2) from None
