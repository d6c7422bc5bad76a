"""`edge certificate show|verify` against a real journal and blob store."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import pytest
import typer
from click.testing import Result
from typer.testing import CliRunner

from edge.cli.certificate import certificate_app
from edge.cli.common import CliState
from edge.journal import EventDraft, EventType, Journal
from edge.journal.events import canonical_bytes
from edge.journal.keys import VERIFIER_FILE
from edge.journal.note import Signer
from stations.certificate import ErasureCertificate, sign_certificate
from tests.conftest import draft

START = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)


def root_app() -> typer.Typer:
    """The `edge` root's --data-dir, as edge/cli/__init__.py sets it up, with our sub-app."""
    root = typer.Typer()

    @root.callback()
    def options(ctx: typer.Context, data_dir: Annotated[Path, typer.Option()]) -> None:
        ctx.obj = CliState(data_dir=data_dir, site=None, station=None)

    root.add_typer(certificate_app, name="certificate")
    return root


def edge(station_dir: Path, *args: str) -> Result:
    return CliRunner().invoke(
        root_app(), ["--data-dir", str(station_dir), "certificate", *args], env={"COLUMNS": "200"}
    )


def make_certificate(transcript_sha256: str, **overrides: object) -> ErasureCertificate:
    fields: dict[str, object] = {
        "certificate_id": "0195f0a2-7c1e-7b6a-9d2e-3f4a5b6c7d8e",
        "device": {
            "manufacturer": "Samsung",
            "model": "Galaxy A54",
            "serial": "R58M12ABCDE",
            "imei": "356789104567891",
            "platform": "android",
        },
        "media": {"type": "flash/UFS", "capacity_bytes": 128_000_000_000, "source": "RET-2026-9"},
        "sanitization": {
            "method": "Purge",
            "technique": "factory reset + crypto erase",
            "tool_name": "edge-sim-erase",
            "tool_version": "edge-sim-erase 2.4.1 (stand-in)",
            "tool_exit_code": 0,
            "verification_method": "quick-sampling",
            "verification_result": "passed",
            "verify_exit_code": 0,
        },
        "technician": {"operator_id": "op-0042", "name": "Sam Jansen"},
        "started_at": START,
        "finished_at": START + timedelta(minutes=3),
        "station": "dock-1",
        "site": "ams-1",
        "result": "success",
        "reason": "erased; verification passed",
        "transcript_sha256": transcript_sha256,
    }
    fields.update(overrides)
    return ErasureCertificate.model_validate(fields)


@dataclass
class Stored:
    document: bytes
    sha256: str
    seq: int | None


def store(journal: Journal, *, record: bool = True, **overrides: object) -> Stored:
    """What the erasure station does: transcript and certificate as blobs, then the event."""
    transcript = journal.blobs.put(b"edge erasure transcript v1\n...")
    document = sign_certificate(make_certificate(transcript, **overrides), journal.signer)
    sha256 = journal.blobs.put(document)
    seq = None
    if record:
        event = journal.append(
            EventDraft(
                type=EventType.ERASURE_COMPLETED,
                subject="RET-2026-9",
                operator="op-0042",
                payload={"certificate_sha256": sha256, "result": "success"},
                attachments=(sha256, transcript),
            )
        )
        seq = event.seq
    return Stored(document, sha256, seq)


@pytest.fixture
def stored(journal: Journal) -> Stored:
    journal.append(draft())  # the certificate's event is not the first
    return store(journal)


def test_show_prints_the_fields(station_dir: Path, stored: Stored) -> None:
    result = edge(station_dir, "show", stored.sha256)
    assert result.exit_code == 0, result.output
    out = result.stdout
    for text in (
        "0195f0a2-7c1e-7b6a-9d2e-3f4a5b6c7d8e",
        "success",
        "Samsung Galaxy A54 (android)",
        "R58M12ABCDE",
        "356789104567891",
        "flash/UFS, 128000000000 bytes (128.0 GB)",
        "RET-2026-9",
        "Purge: factory reset + crypto erase",
        "edge-sim-erase (exit 0)",
        "edge-sim-erase 2.4.1 (stand-in)",
        "quick-sampling: passed (exit 0)",
        "Sam Jansen (op-0042)",
        "2026-03-02T09:15:00.000000Z",
        "ams-1/dock-1",
        "(not checked here)",
    ):
        assert text in out, text


def test_show_json_prints_the_signed_document(station_dir: Path, stored: Stored) -> None:
    result = edge(station_dir, "show", "--json", stored.sha256)
    assert result.exit_code == 0
    assert result.stdout.encode() == stored.document + b"\n"


def test_show_reads_a_file(station_dir: Path, stored: Stored, tmp_path: Path) -> None:
    copy = tmp_path / "certificate.json"
    copy.write_bytes(stored.document)
    result = edge(station_dir, "show", str(copy))
    assert result.exit_code == 0
    assert "R58M12ABCDE" in result.stdout


def test_show_refuses_what_is_not_there_or_not_a_certificate(
    station_dir: Path, stored: Stored, journal: Journal
) -> None:
    missing = hashlib.sha256(b"nothing").hexdigest()
    result = edge(station_dir, "show", missing)
    assert result.exit_code == 2
    assert f"no blob {missing}" in result.stderr
    result = edge(station_dir, "show", "RET-2026-9")
    assert result.exit_code == 2
    assert "neither a file nor a certificate sha256" in result.stderr
    photo = journal.blobs.put(b"\xff\xd8\xff\xe0 a photo")
    result = edge(station_dir, "show", photo)
    assert result.exit_code == 2
    assert "not a certificate: not JSON" in result.stderr


def test_verify_checks_signature_hash_and_journal(station_dir: Path, stored: Stored) -> None:
    result = edge(station_dir, "verify", stored.sha256)
    assert result.exit_code == 0, result.output
    assert stored.seq == 2
    assert "ok  hash      the blob's bytes hash to its name" in result.stdout
    assert "ok  signature Ed25519 by ams-1/dock-1+" in result.stdout
    assert "ok  journal   erasure.completed at seq 2, subject RET-2026-9" in result.stdout
    assert result.stdout.strip().endswith(
        "ok: certificate 0195f0a2-7c1e-7b6a-9d2e-3f4a5b6c7d8e (success) for R58M12ABCDE "
        "is intact, signed and journalled"
    )


def test_verify_with_the_station_key_file(station_dir: Path, stored: Stored) -> None:
    vkey = station_dir / "keys" / VERIFIER_FILE
    result = edge(station_dir, "verify", stored.sha256, "--key", str(vkey))
    assert result.exit_code == 0, result.output


def test_verify_refuses_another_key(station_dir: Path, stored: Stored) -> None:
    other = Signer.generate("ams-1/dock-1").verifier.encode()
    result = edge(station_dir, "verify", stored.sha256, "--key", other)
    assert result.exit_code == 1
    assert "BAD signature signed by key ams-1/dock-1+" in result.stdout
    assert f"BAD: signature check failed for {stored.sha256}" in result.stdout


def test_verify_finds_a_tampered_blob(station_dir: Path, stored: Stored, journal: Journal) -> None:
    document = json.loads(stored.document)
    document["certificate"]["device"]["serial"] = "R58M12ZZZZZ"
    journal.blobs.path(stored.sha256).write_bytes(canonical_bytes(document))
    result = edge(station_dir, "verify", stored.sha256)
    assert result.exit_code == 1
    assert "BAD hash      the blob's bytes hash to" in result.stdout
    assert "BAD signature signature does not verify" in result.stdout
    assert "ok  journal   erasure.completed at seq 2" in result.stdout  # the name is journalled
    assert f"BAD: hash, signature check failed for {stored.sha256}" in result.stdout


def test_verify_needs_the_journal_to_record_it(station_dir: Path, journal: Journal) -> None:
    unrecorded = store(journal, record=False)
    result = edge(station_dir, "verify", unrecorded.sha256)
    assert result.exit_code == 1
    assert f"BAD journal   no erasure.completed event names certificate {unrecorded.sha256}" in (
        result.stdout
    )


def test_verify_notices_a_certificate_from_another_station(
    station_dir: Path, journal: Journal
) -> None:
    foreign = store(journal, station="erase-7")
    result = edge(station_dir, "verify", foreign.sha256)
    assert result.exit_code == 1
    assert "is from ams-1/dock-1, the certificate says ams-1/erase-7" in result.stdout


def test_verify_off_station_with_only_the_key(
    station_dir: Path, stored: Stored, tmp_path: Path
) -> None:
    copy = tmp_path / "certificate.json"
    copy.write_bytes(stored.document)
    vkey = (station_dir / "keys" / VERIFIER_FILE).read_text().strip()
    elsewhere = tmp_path / "laptop"
    result = edge(elsewhere, "verify", str(copy), "--key", vkey, "--no-journal")
    assert result.exit_code == 0, result.output
    assert f"ok  hash      sha256 of the file is {stored.sha256}" in result.stdout
    assert result.stdout.strip().endswith("is intact and signed")

    result = edge(elsewhere, "verify", str(copy), "--no-journal")
    assert result.exit_code == 2
    assert "--no-journal needs --key" in result.stderr
    result = edge(elsewhere, "verify", str(copy))
    assert result.exit_code == 2
    assert "no journal at" in result.stderr


def test_verify_a_file_that_is_not_a_certificate(
    station_dir: Path, stored: Stored, tmp_path: Path
) -> None:
    junk = tmp_path / "junk.json"
    junk.write_text('{"hello": "world"}')
    result = edge(station_dir, "verify", str(junk))
    assert result.exit_code == 1
    assert "BAD signature not a certificate: expected an object" in result.stdout
    assert "BAD journal   no erasure.completed event" in result.stdout
