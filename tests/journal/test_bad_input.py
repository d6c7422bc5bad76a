"""What a user can meet: full disk, corrupt file, bad events. Clear errors, nothing half-written."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from edge.journal import (
    BlobStore,
    EventDraft,
    Journal,
    JournalCorruptError,
    JournalFullError,
    JournalInputError,
    JournalReader,
    verify_journal,
)
from tests.conftest import draft


def test_full_disk_refuses_cleanly_and_recovers_when_space_returns(tiny_disk: Path) -> None:
    station = tiny_disk / "station"
    with Journal(station, site="ams-1", station="dock-1") as journal:
        filler = tiny_disk / "filler"
        filler.write_bytes(b"\0" * 96 * 1024)
        acked = 0
        with pytest.raises(JournalFullError, match="disk full") as refused:
            for i in range(20_000):
                journal.append(draft(i=i, note="x" * 1500))
                acked += 1
        assert "nothing of this write was kept" in str(refused.value)
        assert acked > 10
        assert journal.reader.size() == acked
        filler.unlink()  # the operator frees space
        after = journal.append(draft(i="after"))
        assert after.seq == acked + 1
    assert verify_journal(station / "journal.db").ok


def test_full_disk_refuses_a_blob_and_leaves_no_partial_file(tiny_disk: Path) -> None:
    blobs = BlobStore(tiny_disk / "blobs")
    small = blobs.put(b"label photo")
    with pytest.raises(JournalFullError, match="disk full"):
        blobs.put(b"\xff" * 2 * 1024 * 1024)
    assert list((tiny_disk / "blobs" / "tmp").iterdir()) == []
    assert blobs.matches(small)


def test_a_file_that_is_not_a_journal_is_reported_as_corrupt(station_dir: Path) -> None:
    station_dir.mkdir(parents=True)
    (station_dir / "journal.db").write_bytes(b"this is a shipping manifest, not a database" * 100)
    with pytest.raises(JournalCorruptError, match="corrupt or not a journal"):
        Journal(station_dir, site="ams-1", station="dock-1")
    with pytest.raises(JournalCorruptError):
        JournalReader(station_dir / "journal.db").size()


@pytest.mark.parametrize("kept", [0.4, 0.95])
def test_a_truncated_journal_is_refused(station_dir: Path, kept: float) -> None:
    with Journal(station_dir, site="ams-1", station="dock-1") as journal:
        journal.append_many([draft(i=i, note="y" * 300) for i in range(400)])
    path = station_dir / "journal.db"
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * kept)])
    with pytest.raises(JournalCorruptError, match="restore from upstream"):
        Journal(station_dir)


def test_unknown_event_type_names_the_known_ones() -> None:
    with pytest.raises(
        ValidationError, match=r"unknown event type 'box\.kicked'; known types: .*label\.scanned"
    ):
        EventDraft.model_validate({"type": "box.kicked", "subject": "RET-1", "operator": "op-1"})


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"grams": float("nan")}, "not JSON-serialisable"),
        ({"grams": float("inf")}, "not JSON-serialisable"),
        ({"imei_as_int": 2**63}, "not JSON-serialisable"),
    ],
)
def test_payload_json_cannot_carry_exactly_is_refused_before_writing(
    journal: Journal, payload: dict[str, object], message: str
) -> None:
    with pytest.raises(JournalInputError, match=message):
        journal.append(
            EventDraft(type="package.weighed", subject="RET-1", operator="op-1", payload=payload)
        )  # type: ignore[arg-type]
    assert journal.reader.size() == 0


@pytest.mark.parametrize(
    "payload", [{"photo": b"\xff\xd8"}, {"tags": {"a", "b"}}, {"when": object()}]
)
def test_payload_that_is_not_json_at_all_is_refused(payload: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="payload"):
        EventDraft.model_validate(
            {"type": "photo.captured", "subject": "RET-1", "operator": "op-1", "payload": payload}
        )


def test_secrets_never_enter_the_journal() -> None:
    with pytest.raises(ValidationError, match=r"payload.operator.pin looks like a secret"):
        EventDraft.model_validate(
            {
                "type": "operator.signed_in",
                "subject": "op-1",
                "operator": "op-1",
                "payload": {"operator": {"pin": "4321"}},
            }
        )


@pytest.mark.parametrize(
    ("payload", "where"),
    [
        ({"Token": "x"}, "payload.Token"),
        (
            {"steps": [{"ok": True}, {"tool": {"password": "x"}}]},
            r"payload.steps\[1\].tool.password",
        ),
        ({"a": [[1, {"secret": 2}]]}, r"payload.a\[0\]\[1\].secret"),
    ],
)
def test_a_secret_is_found_however_deep_and_named_by_its_path(
    payload: dict[str, object], where: str
) -> None:
    with pytest.raises(ValidationError, match=f"{where} looks like a secret"):
        EventDraft.model_validate(
            {"type": "photo.captured", "subject": "RET-1", "operator": "op-1", "payload": payload}
        )


def test_a_payload_without_secrets_passes_however_deep() -> None:
    payload = {"steps": [{"ok": True}, {"tool": {"name": "x", "pins_checked": [1, 2]}}]}
    draft = EventDraft.model_validate(
        {"type": "photo.captured", "subject": "RET-1", "operator": "op-1", "payload": payload}
    )
    assert draft.payload == payload
