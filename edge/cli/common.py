"""What every CLI command shares: the state from global options and error reporting."""

from __future__ import annotations

import sys
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import typer
import uvloop
from pydantic import ValidationError
from rich.console import Console
from rich.text import Text

from edge.characters import escaped
from edge.journal import JOURNAL_FILE, JournalError, JournalReader
from edge.journal.merkle import ProofError
from edge.journal.note import NoteError

err_console = Console(stderr=True)


def shown(value: object) -> Text:
    """Text that came from data (a journal, a database, an upstream's answer) as the CLI prints
    it: what does not print is escaped (`\\x1b`), and as a rich Text, so markup in it
    (`[bold]`) prints literally. `str()` of it is the escaped text, for `typer.echo`."""
    return Text(escaped(str(value)))


def print_error(message: object) -> None:
    """`error: <message>` on stderr; the message may quote data, so each line is `shown`."""
    lines = Text("\n").join(shown(line) for line in str(message).split("\n"))
    err_console.print(Text.assemble(("error:", "red"), " ", lines))


@dataclass
class CliState:
    data_dir: Path
    site: str | None
    station: str | None

    @property
    def journal_path(self) -> Path:
        return self.data_dir / JOURNAL_FILE

    def reader(self) -> JournalReader:
        return JournalReader(self.journal_path)


T = TypeVar("T")


def run_service(main: Coroutine[Any, Any, T]) -> T:
    """Run a long-lived station process's event loop: uvloop, whose hand-offs between threads
    and socket I/O cost a fraction of asyncio's own loop (a scan's way to the screen crosses
    several of each)."""
    return uvloop.run(main)


def state(ctx: typer.Context) -> CliState:
    obj = ctx.find_root().obj
    assert isinstance(obj, CliState)
    return obj


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "input"
        parts.append(f"{where}: {error['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


@contextmanager
def fail_on_journal_errors() -> Iterator[None]:
    """Expected failures become one clear line on stderr and exit status 2."""
    try:
        yield
    except ValidationError as exc:
        print_error(_validation_message(exc))
        sys.exit(2)
    except (JournalError, ProofError, NoteError) as exc:
        print_error(exc)
        sys.exit(2)
    except OSError as exc:  # a file the user named: missing, unreadable, unwritable
        where = f": {exc.filename}" if exc.filename else ""
        print_error(f"{exc.strerror or exc}{where}")
        sys.exit(2)
