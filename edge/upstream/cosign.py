"""C2SP tlog-cosignature/v1 (Ed25519): the upstream's signed statement that, at a given time, a
station's checkpoint was the largest consistent tree head it held for that station; pure.

Signature line: `— <name> base64(keyID(4) || timestamp(8, big-endian) || Ed25519 sig(64))`;
keyID = SHA-256(name || 0x0A || 0x04 || public key)[:4]; the signed message is
`cosignature/v1\\ntime <timestamp>\\n` followed by the checkpoint's note body.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from edge.journal.note import SIGNATURE_PREFIX, NoteError, check_key_name, parse_note

ALG_COSIGNATURE_V1 = 0x04
_PRIVATE_PREFIX = "PRIVATE+KEY+"


def cosigner_key_id(name: str, public_key: bytes) -> int:
    digest = hashlib.sha256(
        name.encode() + b"\n" + bytes([ALG_COSIGNATURE_V1]) + public_key
    ).digest()
    return int.from_bytes(digest[:4], "big")


def signed_message(checkpoint_text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{checkpoint_text}".encode()


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise NoteError(f"{what} is not base64: {exc}") from None


@dataclass(frozen=True)
class CosignatureVerifier:
    """A cosigner's public key: `name+hexid+base64(0x04 || pubkey)` (a C2SP vkey)."""

    name: str
    key_id: int
    public_key: bytes

    @classmethod
    def parse(cls, vkey: str) -> CosignatureVerifier:
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3:
            raise NoteError("cosigner key must be name+keyid+key")
        name, hex_id, b64 = parts
        check_key_name(name)
        material = _b64decode(b64, "cosigner key")
        if len(material) != 33 or material[0] != ALG_COSIGNATURE_V1:
            raise NoteError("not an Ed25519 cosignature/v1 key (type 0x04)")
        verifier = cls(name, cosigner_key_id(name, material[1:]), material[1:])
        if f"{verifier.key_id:08x}" != hex_id:
            raise NoteError("cosigner key id does not match its name and key")
        return verifier

    def encode(self) -> str:
        material = base64.b64encode(bytes([ALG_COSIGNATURE_V1]) + self.public_key).decode()
        return f"{self.name}+{self.key_id:08x}+{material}"

    def verify(self, line: str, checkpoint_text: str) -> int:
        """The timestamp of a valid cosignature line by this key over the checkpoint body."""
        body = line.removesuffix("\n")
        if not body.startswith(SIGNATURE_PREFIX):
            raise NoteError("not a note signature line")
        name, _, b64 = body[len(SIGNATURE_PREFIX) :].partition(" ")
        if name != self.name:
            raise NoteError(f"cosignature is by {name!r}, not {self.name!r}")
        blob = _b64decode(b64, "cosignature")
        if len(blob) != 4 + 8 + 64 or int.from_bytes(blob[:4], "big") != self.key_id:
            raise NoteError("cosignature is not a cosignature/v1 by this key")
        timestamp = int.from_bytes(blob[4:12], "big")
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(
                blob[12:], signed_message(checkpoint_text, timestamp)
            )
        except InvalidSignature:
            raise NoteError(f"cosignature by {self.name} does not verify") from None
        return timestamp

    def verify_over_note(self, line: str, checkpoint_note: str) -> int:
        return self.verify(line, parse_note(checkpoint_note).text)


@dataclass(frozen=True)
class Cosigner:
    """The upstream's cosigning key: `PRIVATE+KEY+name+hexid+base64(0x04 || seed)`."""

    name: str
    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls, name: str) -> Cosigner:
        return cls(check_key_name(name), Ed25519PrivateKey.generate())

    @classmethod
    def parse(cls, skey: str) -> Cosigner:
        text = skey.strip()
        if not text.startswith(_PRIVATE_PREFIX):
            raise NoteError("cosigner private key must start with PRIVATE+KEY+")
        parts = text[len(_PRIVATE_PREFIX) :].split("+", 2)
        if len(parts) != 3:
            raise NoteError("cosigner private key must be PRIVATE+KEY+name+keyid+key")
        name, hex_id, b64 = parts
        material = _b64decode(b64, "cosigner private key")
        if len(material) != 33 or material[0] != ALG_COSIGNATURE_V1:
            raise NoteError("not an Ed25519 cosignature/v1 private key")
        cosigner = cls(check_key_name(name), Ed25519PrivateKey.from_private_bytes(material[1:]))
        if f"{cosigner.verifier.key_id:08x}" != hex_id:
            raise NoteError("cosigner key id does not match its name and key")
        return cosigner

    @property
    def verifier(self) -> CosignatureVerifier:
        public = self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return CosignatureVerifier(self.name, cosigner_key_id(self.name, public), public)

    def encode(self) -> str:
        seed = self.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        material = base64.b64encode(bytes([ALG_COSIGNATURE_V1]) + seed).decode()
        return f"{_PRIVATE_PREFIX}{self.name}+{self.verifier.key_id:08x}+{material}"

    def cosign(self, checkpoint_text: str, timestamp: int) -> str:
        """A signature line (ending in a newline) over a checkpoint's note body."""
        if not 0 <= timestamp < 2**63:
            raise NoteError("cosignature timestamp out of range")
        signature = self.private_key.sign(signed_message(checkpoint_text, timestamp))
        blob = self.verifier.key_id.to_bytes(4, "big") + timestamp.to_bytes(8, "big") + signature
        return f"{SIGNATURE_PREFIX}{self.name} {base64.b64encode(blob).decode()}\n"
