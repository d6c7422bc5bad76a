"""The `edge` command line."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

import typer

from edge import __version__
from edge.cli.bus import bus_app, camera, drivers
from edge.cli.certificate import certificate_app
from edge.cli.common import CliState, fail_on_journal_errors
from edge.cli.demo import demo_app
from edge.cli.hub import manifest_app, run
from edge.cli.journal import journal_app
from edge.cli.operators import operator_app
from edge.cli.replicate import replicate, status
from edge.cli.upstream import upstream_app_cli
from edge.settings import StationSettings

app = typer.Typer(
    name="edge",
    help="Warehouse scan-station edge stack: the custody journal, and what lands next.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(journal_app, name="journal")
app.add_typer(bus_app, name="bus")
app.add_typer(certificate_app, name="certificate")
app.add_typer(manifest_app, name="manifest")
app.add_typer(operator_app, name="operator")
app.add_typer(upstream_app_cli, name="upstream")
app.add_typer(demo_app, name="demo")
app.command()(drivers)
app.command()(camera)
app.command()(run)
app.command()(replicate)
app.command()(status)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"edge {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Station state folder (journal, blobs, keys). Env: EDGE_DATA_DIR."),
    ] = None,
    site: Annotated[
        str | None, typer.Option(help="Site id, when creating a journal. Env: EDGE_SITE.")
    ] = None,
    station: Annotated[
        str | None, typer.Option(help="Station id, when creating a journal. Env: EDGE_STATION.")
    ] = None,
    log_level: Annotated[str, typer.Option(help="Logging level for stderr.")] = "WARNING",
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Options shared by every command."""
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s %(name)s %(message)s")
    env = StationSettings.from_env()
    ctx.obj = CliState(
        data_dir=data_dir or env.data_dir,
        site=site or env.site,
        station=station or env.station,
    )


# Whatever `edge` creates (state, keys, databases, exported files) is its user's alone; places
# that create state set 0700/0600 themselves too, for code run outside this entry point.
PRIVATE_UMASK = 0o077


def main() -> None:
    os.umask(PRIVATE_UMASK)
    with fail_on_journal_errors():
        app()
