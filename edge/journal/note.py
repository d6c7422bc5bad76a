"""C2SP signed notes (Ed25519) and tlog checkpoints: keys, signing, parsing, verifying; pure."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

ALG_ED25519 = 0x01
SIGNATURE_PREFIX = "— "  # em dash U+2014, space
MAX_SIGNATURES = 100
_KEY_NAME = re.compile(r"^[^\s+]+$")
_B64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")


class NoteError(ValueError):
    """A note, key or checkpoint is malformed or its signature does not verify."""


def _b64decode(text: str, what: str) -> bytes:
    if not _B64.fullmatch(text):
        raise NoteError(f"{what} is not standard base64")
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise NoteError(f"{what} is not standard base64: {exc}") from exc


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def check_key_name(name: str) -> str:
    if not _KEY_NAME.fullmatch(name):
        raise NoteError(f"key name {name!r} must be non-empty, without spaces or '+'")
    return name


def key_id(name: str, public_key: bytes) -> int:
    """SHA-256(name || 0x0A || 0x01 || public key)[:4], big-endian."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class Verifier:
    """A note verifier key: `name+hexid+base64(0x01 || pubkey)`."""

    name: str
    key_id: int
    public_key: bytes

    @classmethod
    def parse(cls, vkey: str) -> Verifier:
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3:
            raise NoteError("verifier key must be name+keyid+key")
        name, hex_id, b64 = parts
        check_key_name(name)
        if not re.fullmatch(r"[0-9a-f]{8}", hex_id):
            raise NoteError("verifier key id must be 8 lowercase hex digits")
        material = _b64decode(b64, "verifier key")
        if len(material) != 33 or material[0] != ALG_ED25519:
            raise NoteError("verifier key is not an Ed25519 note key")
        public_key = material[1:]
        if key_id(name, public_key) != int(hex_id, 16):
            raise NoteError("verifier key id does not match its name and key")
        return cls(name, int(hex_id, 16), public_key)

    def encode(self) -> str:
        return f"{self.name}+{self.key_id:08x}+{_b64(bytes([ALG_ED25519]) + self.public_key)}"

    def verify(self, text: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, text)
        except (InvalidSignature, ValueError):
            return False
        return True


@dataclass(frozen=True)
class Signer:
    """A note signer key: `PRIVATE+KEY+name+hexid+base64(0x01 || seed)` (Go's sumdb/note form)."""

    name: str
    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls, name: str) -> Signer:
        return cls(check_key_name(name), Ed25519PrivateKey.generate())

    @classmethod
    def parse(cls, skey: str) -> Signer:
        parts = skey.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("signer key must be PRIVATE+KEY+name+keyid+key")
        _, _, name, hex_id, b64 = parts
        check_key_name(name)
        material = _b64decode(b64, "signer key")
        if len(material) != 33 or material[0] != ALG_ED25519:
            raise NoteError("signer key is not an Ed25519 note key")
        signer = cls(name, Ed25519PrivateKey.from_private_bytes(material[1:]))
        if f"{signer.verifier.key_id:08x}" != hex_id:
            raise NoteError("signer key id does not match its name and key")
        return signer

    @property
    def verifier(self) -> Verifier:
        public_key = _raw_public(self.private_key.public_key())
        return Verifier(self.name, key_id(self.name, public_key), public_key)

    def encode(self) -> str:
        seed = self.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        material = _b64(bytes([ALG_ED25519]) + seed)
        return f"PRIVATE+KEY+{self.name}+{self.verifier.key_id:08x}+{material}"

    def signature_line(self, text: str) -> str:
        signature = self.private_key.sign(text.encode())
        blob = self.verifier.key_id.to_bytes(4, "big") + signature
        return f"{SIGNATURE_PREFIX}{self.name} {_b64(blob)}\n"


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_id: int
    signature: bytes
    line: str


@dataclass(frozen=True)
class Note:
    text: str
    signatures: tuple[NoteSignature, ...]

    def encode(self) -> str:
        return self.text + "\n" + "".join(s.line for s in self.signatures)


def sign_note(text: str, *signers: Signer) -> str:
    _check_text(text)
    return text + "\n" + "".join(s.signature_line(text) for s in signers)


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("note text must end in a newline")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError("note text must not contain control characters")


def parse_note(encoded: str) -> Note:
    """Split a signed note into text and signature lines, without verifying anything."""
    if any(ord(c) < 0x20 and c != "\n" for c in encoded):
        raise NoteError("note must not contain control characters")
    if not encoded.endswith("\n"):
        raise NoteError("note must end in a newline")
    split = encoded.rfind("\n\n")
    if split < 0:
        raise NoteError("note has no blank line before its signatures")
    text, sig_block = encoded[: split + 1], encoded[split + 2 :]
    lines = sig_block.split("\n")[:-1]
    if not lines:
        raise NoteError("note has no signatures")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"note has more than {MAX_SIGNATURES} signatures")
    signatures = []
    for line in lines:
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteError(f"malformed signature line {line[:40]!r}")
        name, sep, b64 = line[len(SIGNATURE_PREFIX) :].partition(" ")
        if not sep or not _KEY_NAME.fullmatch(name) or " " in b64:
            raise NoteError(f"malformed signature line {line[:40]!r}")
        blob = _b64decode(b64, "signature")
        if len(blob) < 5:
            raise NoteError("signature too short")
        signatures.append(
            NoteSignature(name, int.from_bytes(blob[:4], "big"), blob[4:], line + "\n")
        )
    return Note(text, tuple(signatures))


def open_note(encoded: str, verifier: Verifier) -> Note:
    """Parse and verify: the note must carry a valid signature from `verifier`.

    Signatures from other keys are ignored (they may be cosignatures); a signature that claims
    to be from this key (same name and id) but does not verify rejects the whole note.
    """
    note = parse_note(encoded)
    found = False
    for sig in note.signatures:
        if sig.name != verifier.name or sig.key_id != verifier.key_id:
            continue
        if not verifier.verify(note.text.encode(), sig.signature):
            raise NoteError(f"signature by {verifier.name} does not verify")
        found = True
    if not found:
        raise NoteError(f"note is not signed by {verifier.name}+{verifier.key_id:08x}")
    return note


@dataclass(frozen=True)
class Checkpoint:
    """The body of a C2SP tlog-checkpoint."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        lines = [self.origin, str(self.size), _b64(self.root), *self.extensions]
        return "\n".join(lines) + "\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "" or any(not line for line in lines[:-1]):
            raise NoteError("checkpoint must be at least three non-empty lines")
        origin, size_text, root_text, *extensions = lines[:-1]
        if not re.fullmatch(r"0|[1-9][0-9]*", size_text):
            raise NoteError(f"checkpoint tree size {size_text!r} is not a decimal")
        root = _b64decode(root_text, "checkpoint root hash")
        if len(root) != 32:
            raise NoteError("checkpoint root hash is not 32 bytes")
        return cls(origin, int(size_text), root, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signer: Signer) -> str:
    return sign_note(checkpoint.text(), signer)


def open_checkpoint(encoded: str, verifier: Verifier, origin: str | None = None) -> Checkpoint:
    """Verify a signed checkpoint and return its body; the origin must match when given."""
    checkpoint = Checkpoint.parse(open_note(encoded, verifier).text)
    if origin is not None and checkpoint.origin != origin:
        raise NoteError(f"checkpoint origin {checkpoint.origin!r} is not {origin!r}")
    return checkpoint
