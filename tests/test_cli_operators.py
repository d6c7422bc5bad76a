"""`edge operator …` on a real operators.db: prompts, --pin-stdin, refusals with exit status 2."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import pytest
import typer
from typer.testing import CliRunner, Result

from edge.cli.common import CliState
from edge.cli.operators import operator_app
from edge.operators import OPERATORS_FILE, OperatorStore, Role, SignInError

PIN = "739164"
DOCS = Path(__file__).resolve().parents[1] / "docs" / "operators.md"

root = typer.Typer()
root.add_typer(operator_app, name="operator")


@root.callback()
def _root(
    ctx: typer.Context, data_dir: Annotated[Path, typer.Option("--data-dir")] = Path()
) -> None:
    ctx.obj = CliState(data_dir=data_dir, site=None, station=None)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "station"


def run(data_dir: Path, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(root, ["--data-dir", str(data_dir), "operator", *args], input=stdin)


def store(data_dir: Path) -> OperatorStore:
    return OperatorStore(data_dir / OPERATORS_FILE)


def signs_in(data_dir: Path, operator_id: str, pin: str, client: str = "10.0.0.5") -> bool:
    with store(data_dir) as s:
        try:
            s.sign_in(
                operator_id, pin, station="dock-1", now=datetime.now(UTC), by="code", client=client
            )
        except SignInError:
            return False
    return True


def add_admin(data_dir: Path) -> None:
    result = run(
        data_dir, "add", "op-admin", "--name", "Ada Admin", "--role", "admin", "--pin-stdin",
        stdin=f"{PIN}\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def assert_refused(result: Result, why: str) -> None:
    assert result.exit_code == 2, result.output
    assert re.search(why, result.stderr), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_add_asks_for_the_pin_twice_without_echo(data_dir: Path) -> None:
    result = run(
        data_dir, "add", "op-0042", "--name", "Sam Berg", "--role", "operator",
        "--badge", "EMP-004217", stdin=f"{PIN}\n{PIN}\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "added op-0042 (Sam Berg, operator)" in result.stdout
    assert PIN not in result.output
    assert signs_in(data_dir, "op-0042", PIN)
    with store(data_dir) as s:
        sam = s.get("op-0042")
    assert sam is not None and sam.badge == "EMP-004217" and sam.role is Role.OPERATOR


def test_add_with_pin_from_stdin(data_dir: Path) -> None:
    add_admin(data_dir)
    assert signs_in(data_dir, "op-admin", PIN)


def test_add_refuses_mismatched_weak_or_duplicate(data_dir: Path) -> None:
    add = ("add", "op-0042", "--name", "Sam", "--role", "operator")
    assert_refused(run(data_dir, *add, stdin=f"{PIN}\n482604\n"), "the two PINs differ")
    weak = run(data_dir, *add, stdin="2222\n")
    assert_refused(weak, "repeated digit")
    assert "2222" not in weak.output
    assert_refused(run(data_dir, *add, "--pin-stdin", stdin="12\n"), "4 to 12 digits")
    assert_refused(run(data_dir, *add, "--pin-stdin", stdin=""), "no PIN on standard input")
    assert_refused(
        run(data_dir, "add", "op 42", "--name", "Sam", "--role", "operator", "--pin-stdin",
            stdin=f"{PIN}\n"),
        "operator id",
    )  # fmt: skip
    with store(data_dir) as s:
        assert s.list_operators() == []
    add_admin(data_dir)
    again = run(data_dir, "add", "op-admin", "--name", "X", "--role", "admin", stdin="")
    assert_refused(again, "already exists")


@pytest.mark.parametrize(
    ("pin", "why"),
    [
        ("2580", "along keypad lines"),
        ("0852", "along keypad lines"),
        ("1470", "along keypad lines"),
        ("8901", "counting up or down"),
        ("1212", "group repeated"),
        ("6969", "group repeated"),
        ("2000", "most commonly chosen"),
    ],
)
def test_add_and_set_pin_refuse_trivial_pins_saying_why(data_dir: Path, pin: str, why: str) -> None:
    add = ("add", "op-0042", "--name", "Sam", "--role", "operator")
    for refused in (
        run(data_dir, *add, "--pin-stdin", stdin=f"{pin}\n"),
        run(data_dir, *add, stdin=f"{pin}\n{pin}\n"),
    ):
        assert_refused(refused, why)
        assert pin not in refused.output
    add_admin(data_dir)
    assert_refused(run(data_dir, "set-pin", "op-admin", "--pin-stdin", stdin=f"{pin}\n"), why)
    assert signs_in(data_dir, "op-admin", PIN)


def test_add_refuses_an_unknown_role(data_dir: Path) -> None:
    result = run(data_dir, "add", "op-1", "--name", "Sam", "--role", "boss", "--pin-stdin")
    assert result.exit_code == 2
    assert "boss" in result.output


def test_list_shows_operators_but_no_hash(data_dir: Path) -> None:
    assert "no operators yet" in run(data_dir, "list").stdout
    add_admin(data_dir)
    result = run(data_dir, "list")
    assert result.exit_code == 0
    assert "op-admin" in result.stdout and "Ada Admin" in result.stdout
    assert "active" in result.stdout
    assert "argon2" not in result.stdout


def test_disable_and_enable_but_never_the_last_admin(data_dir: Path) -> None:
    add_admin(data_dir)
    assert_refused(run(data_dir, "disable", "op-admin"), "only enabled admin")
    result = run(
        data_dir, "add", "op-0042", "--name", "Sam", "--role", "operator", "--pin-stdin",
        stdin=f"{PIN}\n",
    )  # fmt: skip
    assert result.exit_code == 0
    assert run(data_dir, "disable", "op-0042").exit_code == 0
    assert "disabled" in run(data_dir, "list").stdout
    assert not signs_in(data_dir, "op-0042", PIN)
    assert run(data_dir, "enable", "op-0042").exit_code == 0
    assert signs_in(data_dir, "op-0042", PIN)
    assert_refused(run(data_dir, "disable", "op-9999"), "no operator op-9999")


def test_unlock_frees_devices_held_back(data_dir: Path) -> None:
    add_admin(data_dir)
    for _ in range(5):
        signs_in(data_dir, "op-admin", "482604", client="10.0.0.66")
    assert "held back until" in run(data_dir, "list").stdout
    assert not signs_in(data_dir, "op-admin", PIN, client="10.0.0.66")
    assert signs_in(data_dir, "op-admin", PIN)  # the admin's own device never was
    result = run(data_dir, "unlock", "op-admin")
    assert result.exit_code == 0 and "unlocked op-admin" in result.stdout
    assert signs_in(data_dir, "op-admin", PIN, client="10.0.0.66")
    assert_refused(run(data_dir, "unlock", "op-9999"), "no operator op-9999")


def test_set_pin(data_dir: Path) -> None:
    add_admin(data_dir)
    result = run(data_dir, "set-pin", "op-admin", stdin="482604\n482604\n")
    assert result.exit_code == 0 and "new PIN set for op-admin" in result.stdout
    assert signs_in(data_dir, "op-admin", "482604")
    assert not signs_in(data_dir, "op-admin", PIN)
    assert run(data_dir, "set-pin", "op-admin", "--pin-stdin", stdin="000100\n").exit_code == 0
    assert signs_in(data_dir, "op-admin", "000100")
    assert_refused(run(data_dir, "set-pin", "op-admin", "--pin-stdin", stdin="9876\n"), "by one")
    assert_refused(run(data_dir, "set-pin", "op-9999", stdin=""), "no operator op-9999")


def test_every_operator_command_is_documented() -> None:
    documented = DOCS.read_text()
    # Typer 0.29 builds its groups on a vendored click: TyperGroup is no click.Group subclass.
    operator_group = typer.main.get_command(root).commands["operator"]  # type: ignore[attr-defined]
    names = list(operator_group.commands)
    assert {"add", "list", "disable", "enable", "unlock", "set-pin"} <= set(names)
    for name in names:
        assert f"`edge operator {name}" in documented, name
