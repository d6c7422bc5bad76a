"""`edge operator …`: add, list, disable, enable, unlock, set-pin (`operators.db`)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from edge.cli.common import err_console, shown, state
from edge.operators import (
    OPERATORS_FILE,
    OperatorError,
    OperatorStore,
    PinPolicyError,
    Role,
    check_pin_policy,
)

operator_app = typer.Typer(
    help="The station's operators: who may sign in, with which role.", no_args_is_help=True
)
console = Console()


@contextmanager
def _operators(ctx: typer.Context) -> Iterator[OperatorStore]:
    """The data folder's operator store; refusals become one red line and exit status 2."""
    try:
        with OperatorStore(state(ctx).data_dir / OPERATORS_FILE) as store:
            yield store
    except OperatorError as exc:
        _refuse(str(exc))


def _refuse(message: str) -> NoReturn:
    err_console.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(2)


def _read_pin(pin_stdin: bool) -> str:
    """A new PIN from one stdin line, or typed twice without echo."""
    if pin_stdin:
        pin = sys.stdin.readline().rstrip("\r\n")
        if not pin:
            _refuse("--pin-stdin: no PIN on standard input")
        return pin
    pin = str(typer.prompt("PIN (4-12 digits)", hide_input=True))
    try:
        check_pin_policy(pin)
    except PinPolicyError as exc:
        _refuse(str(exc))
    if str(typer.prompt("PIN again", hide_input=True)) != pin:
        _refuse("the two PINs differ; nothing was changed")
    return pin


def _now() -> datetime:
    return datetime.now(UTC)


_PinStdin = Annotated[
    bool, typer.Option("--pin-stdin", help="Read the PIN from one line of stdin (for scripts).")
]


@operator_app.command()
def add(
    ctx: typer.Context,
    operator_id: Annotated[str, typer.Argument(metavar="ID", help="Operator id, e.g. op-0042.")],
    name: Annotated[str, typer.Option(help="Full name, as shown on screens.")],
    role: Annotated[Role, typer.Option(help="What they may do.")],
    badge: Annotated[str | None, typer.Option(help="Their badge barcode's text.")] = None,
    pin_stdin: _PinStdin = False,
) -> None:
    """Add an operator; asks for their PIN twice (not echoed)."""
    with _operators(ctx) as store:
        if store.get(operator_id) is not None:
            _refuse(f"operator {operator_id} already exists")
        pin = _read_pin(pin_stdin)
        operator = store.add_operator(operator_id, name, role, pin, badge, now=_now())
    typer.echo(f"added {operator.operator_id} ({operator.name}, {operator.role.value})")


@operator_app.command("list")
def list_operators(ctx: typer.Context) -> None:
    """Every operator: role, badge, disabled, or held back after failed sign-ins."""
    with _operators(ctx) as store:
        operators = store.list_operators()
    if not operators:
        typer.echo("no operators yet: add one with `edge operator add`")
        return
    now = _now()
    table = Table("id", "name", "role", "badge", "status", "failed PINs")
    for operator in operators:
        if operator.disabled:
            status = "disabled"
        elif operator.is_locked(now) and operator.locked_until is not None:
            status = f"held back until {operator.locked_until:%Y-%m-%d %H:%M:%S} UTC"
        else:
            status = "active"
        table.add_row(
            shown(operator.operator_id),
            shown(operator.name),
            operator.role.value,
            shown(operator.badge or ""),
            status,
            str(operator.failed_attempts),
        )
    console.print(table)


@operator_app.command()
def disable(
    ctx: typer.Context,
    operator_id: Annotated[str, typer.Argument(metavar="ID", help="Operator id.")],
) -> None:
    """Stop an operator signing in and end their sessions (refused for the last admin)."""
    with _operators(ctx) as store:
        store.update_operator(operator_id, disabled=True, now=_now())
    typer.echo(f"disabled {operator_id}")


@operator_app.command()
def enable(
    ctx: typer.Context,
    operator_id: Annotated[str, typer.Argument(metavar="ID", help="Operator id.")],
) -> None:
    """Let a disabled operator sign in again."""
    with _operators(ctx) as store:
        store.update_operator(operator_id, disabled=False, now=_now())
    typer.echo(f"enabled {operator_id}")


@operator_app.command()
def unlock(
    ctx: typer.Context,
    operator_id: Annotated[str, typer.Argument(metavar="ID", help="Operator id.")],
) -> None:
    """Let every device try an operator's badge and id again after failed sign-ins."""
    with _operators(ctx) as store:
        store.unlock(operator_id, now=_now())
    typer.echo(f"unlocked {operator_id}")


@operator_app.command("set-pin")
def set_pin(
    ctx: typer.Context,
    operator_id: Annotated[str, typer.Argument(metavar="ID", help="Operator id.")],
    pin_stdin: _PinStdin = False,
) -> None:
    """Give an operator a new PIN; clears held-back sign-ins and ends their sessions."""
    with _operators(ctx) as store:
        if store.get(operator_id) is None:
            _refuse(f"no operator {operator_id}")
        pin = _read_pin(pin_stdin)
        store.set_pin(operator_id, pin, now=_now())
    typer.echo(f"new PIN set for {operator_id}")
