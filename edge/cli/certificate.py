"""`edge certificate …`: show and verify signed erasure certificates."""

from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from edge.cli.common import CliState, fail_on_journal_errors, state
from edge.journal import BlobStore, EventType, JournalError, Verifier
from edge.journal.events import format_ts
from edge.journal.keys import read_verifier
from edge.journal.note import NoteError
from stations.certificate import (
    CertificateDocument,
    CertificateError,
    ErasureCertificate,
    open_certificate,
    parse_document,
)

certificate_app = typer.Typer(help="Signed erasure certificates.", no_args_is_help=True)
console = Console()
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

RefArgument = Annotated[
    str,
    typer.Argument(
        metavar="REF", help="The certificate's sha256 (a blob in the data folder) or a file."
    ),
]


@dataclass(frozen=True)
class _Loaded:
    document: bytes
    sha256: str  # of the bytes read
    blob: str | None  # the blob name asked for, when REF named a blob
    where: str


def _load(s: CliState, ref: str) -> _Loaded:
    """Read REF: a file if one exists at that path, else a blob named by its sha256."""
    path = Path(ref)
    if path.is_file():
        document = path.read_bytes()
        return _Loaded(document, hashlib.sha256(document).hexdigest(), None, str(path))
    if not _SHA256.fullmatch(ref):
        raise JournalError(f"{ref!r} is neither a file nor a certificate sha256 (64 hex digits)")
    blobs = BlobStore(s.data_dir / "blobs")
    if not blobs.has(ref):
        raise JournalError(f"no blob {ref} in {blobs.root}")
    document = blobs.read(ref)
    return _Loaded(document, hashlib.sha256(document).hexdigest(), ref, str(blobs.path(ref)))


def _rows(cert: ErasureCertificate) -> list[tuple[str, str]]:
    d, m, z, t = cert.device, cert.media, cert.sanitization, cert.technician
    return [
        ("certificate", str(cert.certificate_id)),
        ("result", cert.result),
        ("reason", cert.reason),
        ("device", f"{d.manufacturer} {d.model} ({d.platform})"),
        ("serial", d.serial),
        ("IMEI", d.imei or "-"),
        ("media", m.type + (f", {_capacity(m.capacity_bytes)}" if m.capacity_bytes else "")),
        ("source", m.source),
        ("method", f"{z.method}: {z.technique}"),
        ("tool", f"{z.tool_name} (exit {_code(z.tool_exit_code)})"),
        ("tool version", z.tool_version),
        (
            "verification",
            f"{z.verification_method}: {z.verification_result} (exit {_code(z.verify_exit_code)})",
        ),
        ("technician", f"{t.name} ({t.operator_id})"),
        ("started", format_ts(cert.started_at)),
        ("finished", format_ts(cert.finished_at)),
        ("station", f"{cert.site}/{cert.station}"),
        ("transcript", cert.transcript_sha256),
        ("notes", cert.notes or "-"),
    ]


def _capacity(size: int) -> str:
    return f"{size} bytes ({size / 1e9:.1f} GB)"


def _code(code: int | None) -> str:
    return "-" if code is None else str(code)


@certificate_app.command()
def show(
    ctx: typer.Context,
    ref: RefArgument,
    as_json: Annotated[bool, typer.Option("--json", help="Print the signed document.")] = False,
) -> None:
    """Show a certificate's fields (the signature is not checked: use verify)."""
    with fail_on_journal_errors():
        loaded = _load(state(ctx), ref)
        try:
            parsed: CertificateDocument = parse_document(loaded.document)
        except CertificateError as exc:
            raise JournalError(f"{loaded.where}: {exc}") from exc
    if as_json:
        sys.stdout.write(loaded.document.decode("utf-8") + "\n")
        return
    table = Table("field", "value", title=f"erasure certificate {loaded.sha256}")
    for name, value in _rows(parsed.certificate):
        style = ""
        if name == "result":
            style = "green" if value == "success" else "red"
        table.add_row(name, value, style=style)
    table.add_row("signed by", f"{parsed.signature.key} (not checked here)")
    console.print(table)


def _trusted_verifier(s: CliState, key: str | None) -> Verifier:
    if key:
        return read_verifier(key)
    with s.reader() as reader:
        recorded = reader.meta().verifier
    try:
        return Verifier.parse(recorded)
    except NoteError as exc:
        raise JournalError(f"the journal's recorded verifier key is not valid: {exc}") from exc


def _journal_check(s: CliState, sha256: str, cert: ErasureCertificate | None) -> tuple[bool, str]:
    found = []
    with s.reader() as reader:
        for event in reader.events(event_type=EventType.ERASURE_COMPLETED.value):
            if event.payload.get("certificate_sha256") == sha256:
                found.append(event)
    if not found:
        return False, f"no erasure.completed event names certificate {sha256}"
    event = found[0]
    if cert is not None and (event.station, event.site) != (cert.station, cert.site):
        return False, (
            f"erasure.completed at seq {event.seq} is from {event.site}/{event.station}, "
            f"the certificate says {cert.site}/{cert.station}"
        )
    more = f" (also seq {', '.join(str(e.seq) for e in found[1:])})" if found[1:] else ""
    return True, f"erasure.completed at seq {event.seq}, subject {event.subject}{more}"


@certificate_app.command()
def verify(
    ctx: typer.Context,
    ref: RefArgument,
    key: Annotated[
        str | None,
        typer.Option(help="Verifier key (or file) to trust; default: the one the journal records."),
    ] = None,
    journal: Annotated[
        bool, typer.Option(help="Check that the journal records the certificate.")
    ] = True,
) -> None:
    """Check the signature, the blob's hash and the journal's erasure.completed. Exit 1 if bad."""
    s = state(ctx)
    with fail_on_journal_errors():
        loaded = _load(s, ref)
        if key is None and not journal:
            raise JournalError("--no-journal needs --key: there is no other key to trust")
        verifier = _trusted_verifier(s, key)
    checks: list[tuple[str, bool, str]] = []
    if loaded.blob is not None:
        hash_ok = loaded.sha256 == loaded.blob
        checks.append(
            (
                "hash",
                hash_ok,
                "the blob's bytes hash to its name"
                if hash_ok
                else f"the blob's bytes hash to {loaded.sha256}, not its name",
            )
        )
    else:
        checks.append(("hash", True, f"sha256 of the file is {loaded.sha256}"))
    cert: ErasureCertificate | None = None
    try:
        cert = open_certificate(loaded.document, verifier)
        checks.append(("signature", True, f"Ed25519 by {verifier.name}+{verifier.key_id:08x}"))
    except CertificateError as exc:
        checks.append(("signature", False, str(exc)))
    if journal:
        with fail_on_journal_errors():
            checks.append(("journal", *_journal_check(s, loaded.blob or loaded.sha256, cert)))
    for name, ok, detail in checks:
        mark = "[green]ok[/green] " if ok else "[red]BAD[/red]"
        console.print(f"{mark} {name:<9} {detail}", highlight=False)
    bad = [name for name, ok, _ in checks if not ok]
    if bad:
        typer.echo(f"BAD: {', '.join(bad)} check failed for {loaded.blob or loaded.where}")
        raise typer.Exit(1)
    assert cert is not None
    typer.echo(
        f"ok: certificate {cert.certificate_id} ({cert.result}) for {cert.device.serial} "
        "is intact" + (", signed and journalled" if journal else " and signed")
    )
