"""Erasure certificates (NIST SP 800-88 Appendix G fields): the model, signing, verifying; pure."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from edge.journal.errors import JournalInputError
from edge.journal.events import UtcTimestamp, canonical_bytes
from edge.journal.note import Signer, Verifier

CERTIFICATE_VERSION: Literal[1] = 1
SIGNATURE_ALG = "Ed25519"

Platform = Literal["android", "ios", "other"]
SanitizationMethod = Literal["Clear", "Purge"]  # Destroy is not something a station does
VerificationMethod = Literal["full", "quick-sampling", "tool-reported", "none"]
VerificationResult = Literal["passed", "failed", "not_run"]
CertificateResult = Literal["success", "failure"]

Text = Annotated[str, Field(min_length=1, max_length=200)]
StationId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
Sha256Hex = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
_MAX_SAFE_INT = 2**53 - 1


class CertificateError(ValueError):
    """A certificate document is malformed, unsupported, or its signature does not verify."""


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Device(_Part):
    """The sanitized device (NIST: manufacturer, model, serial number)."""

    manufacturer: Text
    model: Text
    serial: Text
    imei: Annotated[str, Field(pattern=r"^[0-9]{15}$")] | None = None
    platform: Platform


class Media(_Part):
    """The storage that was sanitized (NIST: media type, capacity, source)."""

    type: Text  # e.g. "flash/eMMC", "flash/UFS", "flash/NVMe"
    capacity_bytes: Annotated[int, Field(ge=1, le=_MAX_SAFE_INT)] | None = None
    source: Text  # the return id or unit id the device came in under


class Sanitization(_Part):
    """How it was sanitized and checked (NIST: method, technique, tool, verification)."""

    method: SanitizationMethod
    technique: Text  # e.g. "factory reset + crypto erase"
    tool_name: Text
    tool_version: Text
    tool_exit_code: int | None  # None: the tool never exited by itself (missing, killed)
    verification_method: VerificationMethod
    verification_result: VerificationResult
    verify_exit_code: int | None = None


class Technician(_Part):
    """Who performed the sanitization."""

    operator_id: Text
    name: Text


class ErasureCertificate(BaseModel):
    """One device's sanitization record, as signed by the station."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    v: Literal[1] = CERTIFICATE_VERSION
    certificate_id: UUID
    device: Device
    media: Media
    sanitization: Sanitization
    technician: Technician
    started_at: UtcTimestamp
    finished_at: UtcTimestamp
    station: StationId
    site: StationId
    result: CertificateResult
    reason: Annotated[str, Field(max_length=2000)] = ""
    transcript_sha256: Sha256Hex
    notes: Annotated[str, Field(max_length=2000)] = ""

    @field_validator("started_at", "finished_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("must be timezone-aware (UTC)")
        return value.astimezone(UTC)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.finished_at < self.started_at:
            raise ValueError("finished_at is before started_at")
        s = self.sanitization
        if s.verification_method == "none" and s.verification_result != "not_run":
            raise ValueError("verification_method 'none' can only have result 'not_run'")
        if self.result == "success" and (
            s.tool_exit_code != 0 or s.verification_result != "passed"
        ):
            raise ValueError(
                "result 'success' needs the tool to have exited 0 and verification to have "
                f"passed (tool exit {s.tool_exit_code}, verification {s.verification_result})"
            )
        return self

    def body(self) -> dict[str, Any]:
        """The signed part, as JSON values."""
        return self.model_dump(mode="json")


@dataclass(frozen=True)
class CertificateSignature:
    key_name: str
    key_id: int
    value: bytes

    @property
    def key(self) -> str:
        return f"{self.key_name}+{self.key_id:08x}"


@dataclass(frozen=True)
class CertificateDocument:
    """A parsed, not yet verified, signed certificate document."""

    certificate: ErasureCertificate
    signature: CertificateSignature
    signed_bytes: bytes  # canonical bytes of the certificate object as received


def _canonical(value: Any) -> bytes:
    try:
        return canonical_bytes(value)
    except JournalInputError as exc:
        raise CertificateError(f"certificate is not canonical JSON material: {exc}") from exc


def sign_certificate(cert: ErasureCertificate, signer: Signer) -> bytes:
    """The signed document: canonical JSON bytes, so its sha256 is stable."""
    body = cert.body()
    verifier = signer.verifier
    signature = signer.private_key.sign(_canonical(body))
    document = {
        "certificate": body,
        "signature": {
            "alg": SIGNATURE_ALG,
            "key_name": verifier.name,
            "key_id": f"{verifier.key_id:08x}",
            "value": base64.b64encode(signature).decode("ascii"),
        },
    }
    return _canonical(document)


def _validation_reason(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "certificate"
        parts.append(f"{where}: {error['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


def _parse_signature(value: Any) -> CertificateSignature:
    if not isinstance(value, dict) or set(value) != {"alg", "key_name", "key_id", "value"}:
        raise CertificateError("signature must be an object with alg, key_name, key_id, value")
    if value["alg"] != SIGNATURE_ALG:
        raise CertificateError(f"signature algorithm {value['alg']!r} is not {SIGNATURE_ALG}")
    key_name, key_id, b64 = value["key_name"], value["key_id"], value["value"]
    if not isinstance(key_name, str) or not key_name:
        raise CertificateError("signature key_name must be a non-empty string")
    if not isinstance(key_id, str) or not re.fullmatch(r"[0-9a-f]{8}", key_id):
        raise CertificateError("signature key_id must be 8 lowercase hex digits")
    if not isinstance(b64, str) or not re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", b64):
        raise CertificateError("signature value is not standard base64")
    try:
        raw = base64.b64decode(b64, validate=True)
    except binascii.Error as exc:
        raise CertificateError(f"signature value is not standard base64: {exc}") from exc
    if len(raw) != 64:
        raise CertificateError(f"signature value is {len(raw)} bytes, not 64")
    return CertificateSignature(key_name, int(key_id, 16), raw)


def parse_document(document: bytes) -> CertificateDocument:
    """Parse a signed document without checking its signature."""
    try:
        value = json.loads(document.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise CertificateError(f"not a certificate: not JSON ({exc})") from exc
    if not isinstance(value, dict) or set(value) != {"certificate", "signature"}:
        raise CertificateError("not a certificate: expected an object with certificate, signature")
    body = value["certificate"]
    if not isinstance(body, dict):
        raise CertificateError("not a certificate: certificate is not an object")
    if body.get("v") != CERTIFICATE_VERSION:
        raise CertificateError(
            f"unknown certificate version {body.get('v')!r}; this station reads "
            f"v{CERTIFICATE_VERSION}"
        )
    signature = _parse_signature(value["signature"])
    try:
        cert = ErasureCertificate.model_validate(body)
    except ValidationError as exc:
        raise CertificateError(f"invalid certificate: {_validation_reason(exc)}") from exc
    if cert.body() != body:
        raise CertificateError(
            "invalid certificate: fields are not in the form the station writes them"
        )
    return CertificateDocument(cert, signature, _canonical(body))


def parse_certificate_unverified(document: bytes) -> ErasureCertificate:
    """The certificate in a document, for display; its signature is NOT checked."""
    return parse_document(document).certificate


def open_certificate(document: bytes, verifier: Verifier) -> ErasureCertificate:
    """Parse and verify: the document must be signed by `verifier` over these exact fields."""
    parsed = parse_document(document)
    signature = parsed.signature
    if signature.key_name != verifier.name or signature.key_id != verifier.key_id:
        raise CertificateError(
            f"signed by key {signature.key}, not {verifier.name}+{verifier.key_id:08x}"
        )
    if not verifier.verify(parsed.signed_bytes, signature.value):
        raise CertificateError(
            "signature does not verify: the certificate was changed after it was signed"
        )
    return parsed.certificate
