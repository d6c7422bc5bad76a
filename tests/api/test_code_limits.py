"""A typed code takes the same rule as a scanned one (issue 14.4, 14.8): MAX_CODE_LENGTH, and no
control characters but the GS1 separators; a refusal is a 422 naming `body.code`, nothing is
journalled and the open package is left alone."""

from __future__ import annotations

import pytest

from edge.limits import MAX_CODE_LENGTH
from edge.operators import Role
from tests.api.conftest import Station


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("\x1b[2J\x1b[31mR-1001", "control character 0x1b (ESC)"),
        ("R-1001\x00", "control character 0x00 (NUL)"),
        ("R-1001\tR-1002", "control character 0x09 (TAB)"),
        ("R-1001\u009b2J", "control character 0x9b"),
        ("x" * (MAX_CODE_LENGTH + 1), f"at most {MAX_CODE_LENGTH} characters"),
    ],
    ids=["escape", "nul", "tab", "c1-csi", "over-limit"],
)
def test_a_typed_code_with_a_control_character_or_over_the_limit_is_422(
    with_manifest: Station, code: str, why: str
) -> None:
    size = with_manifest.journal()["size"]
    answer = with_manifest.call("POST", "/api/v1/scans", Role.OPERATOR, json={"code": code})
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["error"] == "invalid_request" and "body.code" in body["message"]
    assert why in body["message"]
    assert "\x1b" not in answer.text  # the refused input is not echoed back
    assert with_manifest.journal()["size"] == size


def test_a_typed_gs1_code_with_separators_is_taken(with_manifest: Station) -> None:
    code = "0109501234567891\x1d10LOT42"
    answer = with_manifest.call("POST", "/api/v1/scans", Role.OPERATOR, json={"code": code})
    assert answer.status_code == 200, answer.text
    assert answer.json()["events"][0]["payload"]["code"] == code


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/dock/seal", {"intact": False, "note": "torn \x1b[2J"}),
        ("/api/v1/dock/cancel", {"reason": "wrong box\x00"}),
    ],
    ids=["seal-note", "cancel-reason"],
)
def test_a_persons_words_with_a_control_character_are_422(
    with_manifest: Station, path: str, body: dict[str, object]
) -> None:
    """Notes and reasons take the shared rule too: lines and tabs, no other control character."""
    size = with_manifest.journal()["size"]
    answer = with_manifest.call("POST", path, Role.OPERATOR, json=body)
    assert answer.status_code == 422, answer.text
    assert "control character" in answer.json()["message"]
    assert with_manifest.journal()["size"] == size


def test_a_note_of_several_lines_is_taken(with_manifest: Station) -> None:
    with_manifest.call("POST", "/api/v1/scans", Role.OPERATOR, json={"code": "1Z999AA10123456784"})
    note = "tape re-applied\n\tseal number torn"
    answer = with_manifest.call(
        "POST", "/api/v1/dock/seal", Role.OPERATOR, json={"intact": False, "note": note}
    )
    assert answer.status_code == 200, answer.text
    sealed = [e for e in answer.json()["events"] if e["type"] == "seal.checked"]
    assert sealed and sealed[0]["payload"]["note"] == note
