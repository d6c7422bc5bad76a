"""The journal takes nothing the upstream would refuse, and says which field is wrong (issue
14.4, 14.8): names within MAX_NAME_LENGTH and free of control characters, payloads no deeper
than MAX_PAYLOAD_DEPTH, events within MAX_EVENT_BYTES. A refused event leaves no trace."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from edge.journal import EventDraft, Journal, JournalInputError
from edge.limits import MAX_EVENT_BYTES, MAX_NAME_LENGTH, MAX_PAYLOAD_DEPTH
from tests.conftest import draft


def _draft(**change: Any) -> EventDraft:
    fields = {"type": "label.scanned", "subject": "R-1001", "operator": "olga", "payload": {}}
    return EventDraft.model_validate({**fields, **change})


@pytest.mark.parametrize(
    ("change", "field", "why"),
    [
        ({"subject": "label:\x1b[2J"}, "subject", "control character 0x1b (ESC) at position 6"),
        ({"subject": "R-1001\n"}, "subject", "control character 0x0a (LF)"),
        ({"operator": "olga\x9b31m"}, "operator", "control character 0x9b"),
        ({"subject": "x" * (MAX_NAME_LENGTH + 1)}, "subject", f"at most {MAX_NAME_LENGTH}"),
    ],
    ids=["escape", "newline", "c1-csi", "long-subject"],
)
def test_a_draft_with_a_bad_name_is_refused_naming_the_field(
    change: dict[str, Any], field: str, why: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        _draft(**change)
    error = refused.value.errors()[0]
    assert error["loc"] == (field,) and why in error["msg"]


def test_a_subject_made_from_a_gs1_label_keeps_its_separators() -> None:
    assert _draft(subject="label:]d2\x1d0109501234567891\x1e").subject.endswith("\x1e")


def _nested(depth: int) -> dict[str, Any]:
    """`depth` objects inside each other: the payload itself is the first level."""
    value: dict[str, Any] = {"n": "bottom"}
    for _ in range(depth - 1):
        value = {"n": value}
    return value


def test_a_payload_nested_too_deep_is_refused_with_one_short_message() -> None:
    assert _draft(payload=_nested(MAX_PAYLOAD_DEPTH)).payload
    for depth in (MAX_PAYLOAD_DEPTH + 1, 300, 5000):  # pydantic's own guard trips near 255
        with pytest.raises(ValidationError) as refused:
            _draft(payload=_nested(depth))
        error = refused.value.errors()[0]
        assert error["loc"] == ("payload",)
        assert f"more than {MAX_PAYLOAD_DEPTH} levels deep" in error["msg"]


def test_an_event_over_the_size_limit_is_refused_and_leaves_no_trace(journal: Journal) -> None:
    journal.append(draft(i=1))
    with pytest.raises(JournalInputError, match=f"over the limit of {MAX_EVENT_BYTES}"):
        journal.append(_draft(payload={"code": "x" * MAX_EVENT_BYTES}))
    assert journal.reader.size() == 1
    after = journal.append(draft(i=2))  # the writer goes on; seq stays gap-free
    assert after.seq == 2
    assert len(journal.reader.canonical_body(2)) <= MAX_EVENT_BYTES
