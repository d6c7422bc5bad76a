"""C2SP signed notes and checkpoints against Go's published sumdb/note example."""

from __future__ import annotations

import pytest

from edge.journal.note import (
    Checkpoint,
    NoteError,
    Signer,
    Verifier,
    open_checkpoint,
    open_note,
    parse_note,
    sign_checkpoint,
    sign_note,
)

# golang.org/x/mod/sumdb/note documentation and note_test.go.
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgK"
    "vqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
GO_NOTE = GO_TEXT + "\n" + GO_SIG
# The C2SP tlog-checkpoint specification's example body.
C2SP_BODY = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"


def test_go_reference_keys_parse_with_their_published_ids() -> None:
    verifier = Verifier.parse(GO_VKEY)
    assert (verifier.name, f"{verifier.key_id:08x}") == ("PeterNeumann", "c74f20a3")
    assert verifier.encode() == GO_VKEY
    signer = Signer.parse(GO_SKEY)
    assert signer.verifier == verifier
    assert signer.encode() == GO_SKEY


def test_signing_reproduces_the_published_signature_byte_for_byte() -> None:
    assert sign_note(GO_TEXT, Signer.parse(GO_SKEY)) == GO_NOTE


def test_published_note_opens_and_any_change_to_its_text_is_refused() -> None:
    verifier = Verifier.parse(GO_VKEY)
    assert open_note(GO_NOTE, verifier).text == GO_TEXT
    with pytest.raises(NoteError, match="does not verify"):
        open_note(GO_NOTE.replace("cryptography", "cryptographY"), verifier)


def test_mangled_verifier_keys_are_refused() -> None:
    for i in range(len(GO_VKEY)):
        for j in range(i + 1, len(GO_VKEY) + 1):
            if (i, j) != (0, len(GO_VKEY)):
                with pytest.raises(NoteError):
                    Verifier.parse(GO_VKEY[i:j])
    for i in range(len(GO_VKEY)):
        mangled = GO_VKEY[:i] + chr(ord(GO_VKEY[i]) + 1) + GO_VKEY[i + 1 :]
        with pytest.raises(NoteError):
            Verifier.parse(mangled)


def test_note_from_another_key_is_refused_even_with_the_same_name() -> None:
    impostor = Signer.generate("PeterNeumann")
    forged = sign_note(GO_TEXT, impostor)
    with pytest.raises(NoteError, match="not signed by PeterNeumann"):
        open_note(forged, Verifier.parse(GO_VKEY))


def test_unknown_signatures_are_ignored_and_a_bad_known_one_rejects_the_note() -> None:
    witness = Signer.generate("witness.example/w1")
    cosigned = sign_note(GO_TEXT, Signer.parse(GO_SKEY), witness)
    assert open_note(cosigned, Verifier.parse(GO_VKEY)).text == GO_TEXT
    assert len(parse_note(cosigned).signatures) == 2
    # Same name and key id as the trusted key but a corrupted signature: whole note refused.
    good_line = GO_SIG.rstrip("\n")
    blob = good_line.split(" ")[-1]
    broken = good_line[: -len(blob)] + ("A" if blob[10] != "A" else "B").join(
        [blob[:10], blob[11:]]
    )
    with pytest.raises(NoteError):
        open_note(GO_TEXT + "\n" + broken + "\n" + GO_SIG, Verifier.parse(GO_VKEY))


@pytest.mark.parametrize(
    "bad",
    [
        GO_TEXT + GO_SIG,  # no blank line
        GO_TEXT + "\n",  # no signatures
        GO_TEXT + "\n- PeterNeumann x08go/ZJ=\n",  # hyphen instead of em dash
        GO_TEXT + "\n— PeterNeumann !!!\n",  # not base64
        GO_TEXT + "\n— PeterNeumann AAAA\n",  # shorter than a key id
        GO_NOTE.rstrip("\n"),  # no final newline
        GO_NOTE.replace("answer", "ans\x01wer"),  # control character
    ],
)
def test_malformed_notes_are_refused(bad: str) -> None:
    with pytest.raises(NoteError):
        open_note(bad, Verifier.parse(GO_VKEY))


def test_the_specs_example_checkpoint_body_parses() -> None:
    checkpoint = Checkpoint.parse(C2SP_BODY)
    assert (checkpoint.origin, checkpoint.size) == ("example.com/behind-the-sofa", 20852163)
    assert checkpoint.text() == C2SP_BODY


@pytest.mark.parametrize(
    "body",
    [
        "example.com/log\n020\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",  # leading zero
        "example.com/log\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "example.com/log\n20\n",  # no root
        "example.com/log\n20\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jx=\n",  # root too short
        "example.com/log\n20\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n",  # empty line
        "example.com/log\n20\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",  # no newline
    ],
)
def test_malformed_checkpoint_bodies_are_refused(body: str) -> None:
    with pytest.raises(NoteError):
        Checkpoint.parse(body)


def test_checkpoint_signed_by_another_key_or_for_another_origin_is_refused() -> None:
    station = Signer.generate("ams-1/dock-1")
    other = Signer.generate("ams-1/dock-1")
    body = Checkpoint("ams-1/dock-1", 7, bytes(range(32)))
    assert open_checkpoint(sign_checkpoint(body, station), station.verifier) == body
    with pytest.raises(NoteError):
        open_checkpoint(sign_checkpoint(body, other), station.verifier)
    with pytest.raises(NoteError, match="origin"):
        open_checkpoint(sign_checkpoint(body, station), station.verifier, origin="ams-1/dock-2")


def test_key_names_with_spaces_or_plus_are_refused() -> None:
    for name in ["", "has space", "a+b"]:
        with pytest.raises(NoteError):
            Signer.generate(name)
