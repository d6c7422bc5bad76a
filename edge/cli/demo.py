"""`edge demo`: the whole station on simulated devices, one shift through it, then proof."""

from __future__ import annotations

import asyncio
import signal
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from edge.bus.broker import BrokerError
from edge.cli.common import err_console, state
from edge.demo.shift import DEMO_PIN, ShiftReport, run_shift
from edge.journal import JournalReader, verify_journal
from edge.journal.keys import read_verifier
from edge.journal.note import NoteError
from edge.journal.proofs import inclusion_proof_text, verify_inclusion_text
from edge.upstream.cosign import CosignatureVerifier
from stations.certificate import CertificateError, open_certificate

console = Console()


def demo(
    ctx: typer.Context,
    serve: Annotated[
        bool, typer.Option(help="Keep the station and its API running after the shift.")
    ] = False,
) -> None:
    """Run the station (broker, drivers, camera, hub, API) on simulated devices: a shift of
    dock receiving and bench work, then verify the journal and prove a receipt."""
    s = state(ctx)
    site, station = s.site or "demo-site", s.station or "dock-1"
    try:
        report = asyncio.run(run_shift(s.data_dir, site, station, serve=_wait if serve else None))
    except (BrokerError, RuntimeError) as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    _print_shift(report)
    if not _prove(s.data_dir, report):
        raise typer.Exit(1)


async def _wait(api: str) -> None:
    console.print(
        f"station running: API {api}/docs (badges BADGE-ADA admin, BADGE-OLGA operator, "
        f"BADGE-TOM technician; PIN {DEMO_PIN}); Ctrl-C stops"
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def _describe(event: dict[str, Any]) -> str:
    p = event["payload"]
    match event["type"]:
        case "label.scanned":
            return f"label {p.get('code')!r} → {p.get('return_id') or 'no match'}"
        case "package.weighed":
            inside = {True: "inside", False: "OUTSIDE", None: "no"}[p.get("within_band")]
            return f"{p.get('grams')} g, {inside} band"
        case "photo.captured":
            return f"photo {p.get('width')}x{p.get('height')} sha256 {str(p.get('sha256'))[:12]}…"
        case "seal.checked":
            return "seal intact" if p.get("intact") else f"seal BROKEN ({p.get('note')})"
        case "package.received":
            return f"{p.get('status')} {p.get('exceptions') or ''}".strip()
        case "exception.raised":
            return f"{p.get('exception')}: {p.get('message')}"
        case "device.identified":
            return f"IMEI {p.get('imei')} via {p.get('source')}, return {p.get('return_id')}"
        case "diagnostics.recorded":
            lock = (p.get("lock") or {}).get("state")
            battery = p.get("battery_text") or f"{p.get('battery_health')}%"
            return f"{p.get('model')}, battery {battery}, lock {lock}"
        case "grade.assigned":
            return f"grade {p.get('grade')}, payout {p.get('payout')}"
        case "erasure.completed":
            cert = str(p.get("certificate_sha256"))[:12]
            return f"{p.get('result')}, {p.get('method')}, certificate {cert}…"
        case "disposition.routed":
            return f"→ {p.get('route')} by rule {p.get('rule')}"
        case "location.moved":
            return f"{p.get('from')} → {p.get('to')}"
        case "manifest.synced":
            return f"{p.get('change')} from {p.get('source')}"
        case "operator.signed_in":
            return f"{p.get('name')} ({p.get('role')})"
    return ""


def _print_shift(report: ShiftReport) -> None:
    console.rule("the shift")
    for step in report.steps:
        console.print(f"• {step}", highlight=False)
    table = Table("seq", "event", "subject", "operator", "what happened", title="custody journal")
    for event in report.events:
        table.add_row(
            str(event["seq"]), event["type"], event["subject"], event["operator"], _describe(event)
        )
    console.print(table)
    devices = Table("device", "state", title="device status, as screens saw it while running")
    for device, device_state in report.devices.items():
        devices.add_row(device, device_state)
    console.print(devices)


def _prove(data_dir: Path, report: ShiftReport) -> bool:
    journal = data_dir / "journal.db"
    verdict = verify_journal(journal)
    status = "[green]ok[/green]" if verdict.ok else f"[red]BAD at seq {verdict.first_bad_seq}[/red]"
    console.print(
        f"verify: {status}: {verdict.events} events, {verdict.checkpoints} checkpoints; "
        f"root {verdict.root.hex()}"
    )
    with JournalReader(journal) as reader:
        verifier = read_verifier(reader.meta().verifier)
        received = [e for e in report.events if e["type"] == "package.received"]
        proof = inclusion_proof_text(reader, received[0]["seq"])
    proven = verify_inclusion_text(proof, verifier)
    proof_path = Path(tempfile.gettempdir()) / f"edge-demo-seq{received[0]['seq']}.tlog-proof"
    proof_path.write_text(proof)
    console.print(
        f"proof: seq {received[0]['seq']} ({received[0]['subject']} received) is in the signed "
        f"tree of size {proven.checkpoint.size}, checked with the public key alone ({proof_path})"
    )
    _prove_upstream(journal, report)
    if report.certificate is not None:
        try:
            certificate = open_certificate(report.certificate, verifier)
            console.print(
                f"erasure certificate: {certificate.result}, {certificate.sanitization.method} by "
                f"{certificate.sanitization.tool_version}, "
                "signature ok"
            )
        except CertificateError as exc:
            console.print(f"[red]erasure certificate does not verify: {exc}[/red]")
            return False
    console.print(f"station verifier key: {verifier.encode()}")
    return verdict.ok


def _prove_upstream(journal: Path, report: ShiftReport) -> None:
    backlog = report.replication.get("backlog", {})
    console.print(
        f"upstream: holds {report.upstream_size} events, backlog {backlog.get('events')} "
        f"({report.replication.get('status')})"
    )
    with JournalReader(journal) as reader:
        signed = reader.last_checkpoint_within(0, report.upstream_size)
        lines = reader.cosignatures(signed.size) if signed else []
    if signed is None or not lines:
        console.print("[yellow]upstream: no cosignature kept yet[/yellow]")
        return
    cosigner = CosignatureVerifier.parse(report.upstream_vkey)
    try:
        when = cosigner.verify_over_note(lines[0][1], signed.note)
    except NoteError as exc:
        console.print(f"[red]upstream cosignature does not verify: {exc}[/red]")
        return
    at = datetime.fromtimestamp(when, UTC).isoformat(timespec="seconds")
    console.print(
        f"upstream cosignature over checkpoint {signed.size}: ok, by {cosigner.name} at {at} "
        "(proof the events were upstream by then)"
    )
    view = report.customer_view
    if view:
        steps = ", ".join(m["milestone"] for m in view.get("milestones", []))
        console.print(
            f"customer view of {view.get('return_id')} (its own token only): status "
            f"{view.get('status')}; milestones: {steps or 'none yet'}",
            highlight=False,
        )
