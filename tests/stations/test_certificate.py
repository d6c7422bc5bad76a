"""Erasure certificates: the model's rules, signing, and every way a document can be refused."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from edge.journal.events import canonical_bytes
from edge.journal.note import Signer
from stations.certificate import (
    CertificateError,
    ErasureCertificate,
    open_certificate,
    parse_certificate_unverified,
    parse_document,
    sign_certificate,
)

START = datetime(2026, 3, 2, 9, 15, 0, 123456, tzinfo=UTC)
TRANSCRIPT = hashlib.sha256(b"transcript").hexdigest()


def fields(**overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "certificate_id": "0195f0a2-7c1e-7b6a-9d2e-3f4a5b6c7d8e",
        "device": {
            "manufacturer": "Google",
            "model": "Pixel 8",
            "serial": "38121FDJH000A1",
            "imei": "356789104567891",
            "platform": "android",
        },
        "media": {"type": "flash/UFS", "capacity_bytes": 128_000_000_000, "source": "RET-2026-7"},
        "sanitization": {
            "method": "Purge",
            "technique": "factory reset + crypto erase",
            "tool_name": "edge-sim-erase",
            "tool_version": "edge-sim-erase 2.4.1",
            "tool_exit_code": 0,
            "verification_method": "quick-sampling",
            "verification_result": "passed",
            "verify_exit_code": 0,
        },
        "technician": {"operator_id": "op-0042", "name": "Sam Jansen"},
        "started_at": START,
        "finished_at": START + timedelta(minutes=4),
        "station": "erase-1",
        "site": "ams-1",
        "result": "success",
        "reason": "erased; verification passed",
        "transcript_sha256": TRANSCRIPT,
    }
    value.update(overrides)
    return value


def certificate(**overrides: Any) -> ErasureCertificate:
    return ErasureCertificate.model_validate(fields(**overrides))


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer.generate("ams-1/erase-1")


def test_sign_and_open_round_trip(signer: Signer) -> None:
    cert = certificate()
    document = sign_certificate(cert, signer)
    assert open_certificate(document, signer.verifier) == cert
    assert parse_certificate_unverified(document) == cert


def test_document_is_canonical_and_deterministic(signer: Signer) -> None:
    cert = certificate()
    document = sign_certificate(cert, signer)
    assert document == sign_certificate(certificate(), signer)  # Ed25519 is deterministic
    assert document == canonical_bytes(json.loads(document))
    parsed = json.loads(document)
    assert parsed["certificate"]["started_at"] == "2026-03-02T09:15:00.123456Z"
    assert parsed["signature"]["alg"] == "Ed25519"
    assert parsed["signature"]["key_name"] == "ams-1/erase-1"
    assert parsed["signature"]["key_id"] == f"{signer.verifier.key_id:08x}"
    # The signature is over the RFC 8785 bytes of the certificate object, checkable by anyone.
    assert signer.verifier.verify(
        canonical_bytes(parsed["certificate"]), base64.b64decode(parsed["signature"]["value"])
    )


def test_timestamps_are_normalised_to_utc() -> None:
    cet = timezone(timedelta(hours=1))
    cert = certificate(started_at=START.astimezone(cet))
    assert cert.body()["started_at"] == "2026-03-02T09:15:00.123456Z"
    with pytest.raises(ValidationError, match="timezone-aware"):
        certificate(started_at=datetime(2026, 3, 2, 9, 15))  # noqa: DTZ001
    with pytest.raises(ValidationError, match="before started_at"):
        certificate(finished_at=START - timedelta(seconds=1))


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("device", "serial"), "38121FDJH000A2"),
        (("device", "imei"), "356789104567892"),
        (("media", "source"), "RET-2026-8"),
        (("sanitization", "method"), "Clear"),
        (("sanitization", "tool_version"), "edge-sim-erase 2.4.2"),
        (("technician", "name"), "Someone Else"),
        (("finished_at",), "2026-03-02T09:20:00.123456Z"),
        (("result",), "failure"),
        (("notes",), "added later"),
        (("transcript_sha256",), hashlib.sha256(b"other").hexdigest()),
    ],
)
def test_changing_any_field_breaks_the_signature(
    signer: Signer, path: tuple[str, ...], value: Any
) -> None:
    document = json.loads(sign_certificate(certificate(), signer))
    target = document["certificate"]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    tampered = canonical_bytes(document)
    parse_certificate_unverified(tampered)  # still a well-formed certificate
    with pytest.raises(CertificateError, match="changed after it was signed"):
        open_certificate(tampered, signer.verifier)


def test_another_key_is_refused(signer: Signer) -> None:
    document = sign_certificate(certificate(), signer)
    other = Signer.generate("ams-1/erase-2")
    with pytest.raises(CertificateError, match=r"signed by key ams-1/erase-1\+[0-9a-f]{8}, not"):
        open_certificate(document, other.verifier)


def test_a_forged_signature_under_the_right_key_name_is_refused(signer: Signer) -> None:
    impostor = Signer.generate(signer.name)  # same name, different key: different key id
    forged = json.loads(sign_certificate(certificate(notes="forged"), impostor))
    forged["signature"]["key_id"] = f"{signer.verifier.key_id:08x}"
    with pytest.raises(CertificateError, match="does not verify"):
        open_certificate(canonical_bytes(forged), signer.verifier)


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (b"\xff\xfe", "not JSON"),
        (b"{not json", "not JSON"),
        (b"[]", "expected an object"),
        (b'{"certificate": {}}', "expected an object"),
        (b'{"certificate": [], "signature": {}}', "certificate is not an object"),
    ],
)
def test_malformed_documents_are_refused(signer: Signer, document: bytes, reason: str) -> None:
    with pytest.raises(CertificateError, match=reason):
        open_certificate(document, signer.verifier)
    with pytest.raises(CertificateError, match=reason):
        parse_certificate_unverified(document)


def test_unknown_version_is_refused(signer: Signer) -> None:
    document = json.loads(sign_certificate(certificate(), signer))
    document["certificate"]["v"] = 2
    with pytest.raises(CertificateError, match="unknown certificate version 2"):
        open_certificate(canonical_bytes(document), signer.verifier)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda s: s.update(alg="RSA"), "not Ed25519"),
        (lambda s: s.update(value="!!"), "not standard base64"),
        (lambda s: s.update(value=base64.b64encode(b"short").decode()), "5 bytes, not 64"),
        (lambda s: s.update(key_id="XYZ"), "8 lowercase hex"),
        (lambda s: s.pop("key_name"), "alg, key_name, key_id, value"),
    ],
)
def test_malformed_signatures_are_refused(signer: Signer, change: Any, reason: str) -> None:
    document = json.loads(sign_certificate(certificate(), signer))
    change(document["signature"])
    with pytest.raises(CertificateError, match=reason):
        open_certificate(canonical_bytes(document), signer.verifier)


def test_unknown_fields_are_refused_even_if_signed(signer: Signer) -> None:
    body = certificate().body()
    body["grade"] = "A"
    signature = signer.private_key.sign(canonical_bytes(body))
    document = json.loads(sign_certificate(certificate(), signer))
    document["certificate"] = body
    document["signature"]["value"] = base64.b64encode(signature).decode()
    with pytest.raises(CertificateError, match="grade: Extra inputs are not permitted"):
        open_certificate(canonical_bytes(document), signer.verifier)


def test_a_non_canonical_field_form_is_refused(signer: Signer) -> None:
    body = certificate().body()
    body["started_at"] = "2026-03-02T10:15:00.123456+01:00"  # same instant, other form
    document = json.loads(sign_certificate(certificate(), signer))
    document["certificate"] = body
    document["signature"]["value"] = base64.b64encode(
        signer.private_key.sign(canonical_bytes(body))
    ).decode()
    with pytest.raises(CertificateError, match="not in the form the station writes"):
        open_certificate(canonical_bytes(document), signer.verifier)


@pytest.mark.parametrize(
    ("sanitization", "message"),
    [
        ({"verification_result": "failed", "verify_exit_code": 4}, "verification failed"),
        ({"verification_result": "not_run", "verify_exit_code": None}, "verification not_run"),
        ({"tool_exit_code": 3}, "tool exit 3"),
        ({"tool_exit_code": None}, "tool exit None"),
    ],
)
def test_success_needs_exit_zero_and_passed_verification(
    sanitization: dict[str, Any], message: str
) -> None:
    base = fields()["sanitization"]
    with pytest.raises(ValidationError, match=message):
        certificate(sanitization={**base, **sanitization})
    failed = certificate(sanitization={**base, **sanitization}, result="failure")
    assert failed.result == "failure"


def test_verification_method_none_only_goes_with_not_run() -> None:
    base = fields()["sanitization"]
    with pytest.raises(ValidationError, match="'none' can only have result 'not_run'"):
        certificate(
            sanitization={**base, "verification_method": "none"},
            result="failure",
        )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"station": "erase 1"}, "station"),
        ({"transcript_sha256": "ABC"}, "transcript_sha256"),
        ({"certificate_id": "not-a-uuid"}, "certificate_id"),
        ({"sanitization": {**fields()["sanitization"], "method": "Destroy"}}, "method"),
        ({"device": {**fields()["device"], "imei": "12345"}}, "imei"),
        ({"device": {**fields()["device"], "platform": "windows"}}, "platform"),
    ],
)
def test_bad_fields_are_refused(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        certificate(**overrides)


def test_parse_document_exposes_the_claimed_key(signer: Signer) -> None:
    parsed = parse_document(sign_certificate(certificate(), signer))
    assert parsed.signature.key == f"ams-1/erase-1+{signer.verifier.key_id:08x}"
