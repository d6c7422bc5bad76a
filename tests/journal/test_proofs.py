"""Offline proofs: every part of a proof file is bound; tampering with any of them is refused."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from edge.journal import Journal, Signer
from edge.journal.proofs import (
    ProofInvalid,
    consistency_proof_text,
    inclusion_proof_text,
    verify_consistency_text,
    verify_inclusion_text,
)
from tests.conftest import draft


@pytest.fixture
def proofs(station_dir: Path) -> tuple[str, str, Journal]:
    with Journal(station_dir, site="ams-1", station="dock-1") as journal:
        for i in range(100):
            journal.append(draft(subject=f"RET-{i:06d}", i=i))
        journal.checkpoint()
        inclusion = inclusion_proof_text(journal.reader, 42)
        consistency = consistency_proof_text(journal.reader, 64)
    return inclusion, consistency, journal


def _flip_base64(line: str) -> str:
    data = bytearray(base64.b64decode(line))
    data[0] ^= 1
    return base64.b64encode(bytes(data)).decode()


def test_genuine_proofs_verify(proofs: tuple[str, str, Journal]) -> None:
    inclusion, consistency, journal = proofs
    proven = verify_inclusion_text(inclusion, journal.verifier, "ams-1/dock-1")
    assert (proven.index, proven.event["subject"], proven.checkpoint.size) == (
        41,
        "RET-000041",
        100,
    )
    old, new = verify_consistency_text(consistency, journal.verifier)
    assert (old.size, new.size) == (64, 100)


def test_tampered_inclusion_proofs_are_refused(proofs: tuple[str, str, Journal]) -> None:
    inclusion, _, journal = proofs
    lines = inclusion.split("\n")
    assert lines[2] == "index 41"
    tampered = {
        "index": [*lines[:2], "index 40", *lines[3:]],
        "proof hash": [*lines[:3], _flip_base64(lines[3]), *lines[4:]],
        "dropped hash": [*lines[:3], *lines[4:]],
        "huge index": [*lines[:2], "index " + "9" * 5000, *lines[3:]],
    }
    for what, changed in tampered.items():
        with pytest.raises(ProofInvalid):
            verify_inclusion_text("\n".join(changed), journal.verifier)
            pytest.fail(f"accepted a proof with a tampered {what}")
    with pytest.raises(ProofInvalid, match="checkpoint"):
        verify_inclusion_text(inclusion, Signer.generate("ams-1/dock-1").verifier)
    with pytest.raises(ProofInvalid, match="origin"):
        verify_inclusion_text(inclusion, journal.verifier, "ams-1/dock-2")


def test_tampered_consistency_proofs_are_refused(proofs: tuple[str, str, Journal]) -> None:
    _, consistency, journal = proofs
    document = json.loads(consistency)
    forged = dict(document, proof=[_flip_base64(document["proof"][0]), *document["proof"][1:]])
    with pytest.raises(ProofInvalid, match="does not extend"):
        verify_consistency_text(json.dumps(forged), journal.verifier)
    swapped = dict(document, old=document["new"], new=document["old"])
    with pytest.raises(ProofInvalid):
        verify_consistency_text(json.dumps(swapped), journal.verifier)
    with pytest.raises(ProofInvalid):
        verify_consistency_text(consistency, Signer.generate("ams-1/dock-1").verifier)
    with pytest.raises(ProofInvalid, match="malformed"):
        verify_consistency_text("{not json", journal.verifier)
