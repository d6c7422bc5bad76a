"""`edge upstream …`: the reference upstream ledger (its data folder is `--data-dir`)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from fastapi import FastAPI
from rich.console import Console

from edge.cli.common import err_console, print_error, run_service, shown, state
from edge.cli.hub import serve_notifying
from edge.journal.errors import JournalError
from edge.journal.keys import read_verifier
from edge.upstream.app import upstream_app
from edge.upstream.home import HomeError, UpstreamHome
from edge.upstream.ledger import Ledger, LedgerError
from edge.upstream.store import Store, StoreError, open_store
from stations.catalogue import Catalogue
from stations.manifest import ManifestError, detect_format, parse_manifest

console = Console()
# Ingest threads mix CPU-bound checking of a batch's events with the store's round trips to the
# database. At Python's default 5 ms switch interval each round trip's return waits up to 5 ms
# for the GIL behind a checking thread (a convoy): a 1000-event COPY measured 55 ms beside a
# busy thread against 7 ms alone; at 1 ms it measured 10 ms.
GIL_SWITCH_INTERVAL_S = 0.001
upstream_app_cli = typer.Typer(
    help="The upstream ledger: ingest from stations, manifest feed, customer view.",
    no_args_is_help=True,
)
station_cli = typer.Typer(help="Stations the upstream accepts journals from.", no_args_is_help=True)
manifest_cli = typer.Typer(
    help="The expected returns the upstream feeds to stations.", no_args_is_help=True
)
upstream_app_cli.add_typer(station_cli, name="station")
upstream_app_cli.add_typer(manifest_cli, name="manifest")

DbOption = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="EDGE_UPSTREAM_DB",
        help="postgresql://… for PostgreSQL; a file path, or nothing for upstream.db in the data "
        "folder (SQLite). Env: EDGE_UPSTREAM_DB.",
    ),
]


def _write_secret(path: Path, text: str) -> None:
    """Write a 0600 file, also over one that exists with a wider mode."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)


def _open(ctx: typer.Context, db: str, name: str | None = None) -> tuple[UpstreamHome, Store]:
    folder = state(ctx).data_dir
    try:
        home = UpstreamHome.open(folder, name) if name else UpstreamHome.open(folder)
        return home, open_store(db, folder)
    except (HomeError, StoreError) as exc:
        print_error(exc)
        raise typer.Exit(2) from None


@upstream_app_cli.command("serve")
def serve(
    ctx: typer.Context,
    db: DbOption = "",
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8443,
    name: Annotated[
        str | None, typer.Option(help="Cosigner key name, when the key is first made.")
    ] = None,
) -> None:
    """Serve the ledger's API until stopped."""
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    home, store = _open(ctx, db, name)
    app = upstream_app(Ledger(store, home.cosigner), home.admin_token)

    @contextlib.asynccontextmanager
    async def closing_store(_: FastAPI) -> AsyncIterator[None]:
        # uvicorn re-raises SIGTERM after its graceful shutdown: the `finally` below never runs
        try:
            yield
        finally:
            store.close()

    app.router.lifespan_context = closing_store
    err_console.print(
        f"upstream ledger on http://{host}:{port} ({store.description}); cosigner "
        f"{home.cosigner.verifier.encode()}; admin token in {home.folder / 'admin-token'}"
    )
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=logging.getLevelName(logging.getLogger().level).lower(),
        access_log=False,
        timeout_keep_alive=75,  # stations keep theirs shorter (2 s): they close first
    )
    try:
        run_service(serve_notifying(uvicorn.Server(config)))
    finally:
        store.close()


@station_cli.command("add")
def station_add(
    ctx: typer.Context,
    site: Annotated[str, typer.Option(help="The station's site id.")],
    station: Annotated[str, typer.Option(help="The station id.")],
    vkey: Annotated[str, typer.Option(help="The station's verifier key, or a file holding it.")],
    token_out: Annotated[
        Path | None, typer.Option(help="Write the station's bearer token here (0600).")
    ] = None,
    db: DbOption = "",
) -> None:
    """Register a station's checkpoint key; prints (or writes) its bearer token once."""
    _, store = _open(ctx, db)
    try:
        verifier = read_verifier(vkey)
        token = Ledger(store, UpstreamHome.open(state(ctx).data_dir).cosigner).register_station(
            site, station, verifier.encode()
        )
    except (JournalError, LedgerError) as exc:
        print_error(exc)
        raise typer.Exit(2) from None
    finally:
        store.close()
    if token_out is None:
        typer.echo(token)
        return
    _write_secret(token_out, token + "\n")
    console.print(f"station {site}/{station} registered; its token is in {token_out}")


@station_cli.command("list")
def station_list(ctx: typer.Context, db: DbOption = "") -> None:
    """Every registered station with how much of its journal is held."""
    home, store = _open(ctx, db)
    try:
        for info in Ledger(store, home.cosigner).stations():
            typer.echo(
                f"{shown(info.site)}/{shown(info.station)}\tsize {info.size}\tlast contact "
                f"{info.last_contact_at or 'never'}"
            )
    finally:
        store.close()


@manifest_cli.command("import")
def manifest_import(
    ctx: typer.Context,
    site: Annotated[str, typer.Option(help="The site the returns are expected at.")],
    file: Annotated[Path, typer.Argument(help="Expected returns: .json or .csv.")],
    tokens_out: Annotated[
        Path | None,
        typer.Option(help="Write the customer tokens of new returns here (JSON, 0600)."),
    ] = None,
    db: DbOption = "",
) -> None:
    """Add or update a site's expected returns; stations pull them with their cursor."""
    home, store = _open(ctx, db)
    try:
        data = file.read_bytes()
        records = parse_manifest(data, detect_format(file.name, data), Catalogue.load(None))
        changed, tokens = Ledger(store, home.cosigner).import_manifest(site, records)
    except (ManifestError, OSError, LedgerError, ValueError) as exc:
        print_error(exc)
        raise typer.Exit(2) from None
    finally:
        store.close()
    console.print(f"{changed} expected returns created or updated for site {site}")
    if tokens_out is not None:
        _write_secret(tokens_out, json.dumps(tokens, indent=2))
        console.print(f"customer tokens of {len(tokens)} new returns in {tokens_out}")
