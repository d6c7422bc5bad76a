"""The upstream ledger on SQLite and PostgreSQL, fed with batches from real station journals."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import threading
from typing import Any

import pytest

from edge.journal import EventDraft, merkle
from edge.journal.note import Checkpoint, Signer, open_checkpoint, sign_checkpoint
from edge.upstream import Cosigner, Ledger, LedgerError, PostgresStore
from edge.upstream.ingest import InvalidBatch, WireBatch
from stations.manifest import ExpectedReturn
from tests.upstream.conftest import StationJournal


def held_events(ledger: Ledger, site: str, station: str) -> list[tuple[int, bytes]]:
    with ledger.store.transaction() as tx:
        rows = tx.all(
            "SELECT seq, hash FROM events WHERE site = ? AND station = ? ORDER BY seq",
            (site, station),
        )
    return [(int(seq), bytes(digest)) for seq, digest in rows]


def test_batches_are_stored_verified_and_cosigned(
    ledger: Ledger, station: StationJournal, cosigner: Cosigner
) -> None:
    ledger.register_station("ams-1", "dock-1", station.vkey)
    station.append(30)
    station.append(25)
    first = ledger.ingest("ams-1", "dock-1", station.wire(0, max_events=40))
    assert (first.outcome, first.size, first.stored) == ("stored", 30, 30)
    second = ledger.ingest("ams-1", "dock-1", station.wire(30))
    assert (second.outcome, second.size, second.stored) == ("stored", 55, 25)
    # what upstream holds is exactly the station's journal: same hashes, same root
    ours = [(seq, leaf) for seq, leaf, _ in station.journal.reader.leaf_rows()]
    assert held_events(ledger, "ams-1", "dock-1") == ours
    # the cosignature is a C2SP cosignature/v1 by the upstream over the station's checkpoint
    note = station.journal.reader.latest_checkpoint()
    assert note is not None and note.size == 55
    body = open_checkpoint(note.note, station.journal.verifier)
    assert second.cosignature is not None
    cosigner.verifier.verify(second.cosignature, body.text())
    assert body.root == merkle.root_of([leaf for _, leaf in ours])


def test_a_replayed_batch_is_success_and_stores_nothing_twice(
    ledger: Ledger, station: StationJournal
) -> None:
    ledger.register_station("ams-1", "dock-1", station.vkey)
    station.append(10)
    batch = station.wire(0)
    first = ledger.ingest("ams-1", "dock-1", batch)
    again = ledger.ingest("ams-1", "dock-1", batch)
    assert (again.outcome, again.size, again.cosignature) == ("held", 10, first.cosignature)
    assert len(held_events(ledger, "ams-1", "dock-1")) == 10


def test_a_batch_beyond_what_is_held_gets_the_position_it_needs(
    ledger: Ledger, station: StationJournal
) -> None:
    ledger.register_station("ams-1", "dock-1", station.vkey)
    station.append(10)
    station.append(10)
    early, late = station.wire(0, max_events=10), station.wire(10)
    gap = ledger.ingest("ams-1", "dock-1", late)  # reordered: the second batch first
    assert (gap.outcome, gap.size) == ("gap", 0)
    assert "send from 1" in gap.message
    assert ledger.ingest("ams-1", "dock-1", early).size == 10
    assert ledger.ingest("ams-1", "dock-1", late).size == 20
    assert [seq for seq, _ in held_events(ledger, "ams-1", "dock-1")] == list(range(1, 21))


def test_an_overlapping_batch_stores_only_the_new_events(
    ledger: Ledger, station: StationJournal
) -> None:
    ledger.register_station("ams-1", "dock-1", station.vkey)
    station.append(10)
    ledger.ingest("ams-1", "dock-1", station.wire(0))
    station.append(5)
    overlapping = station.wire(4)  # events 5..15: 5..10 are held
    result = ledger.ingest("ams-1", "dock-1", overlapping)
    assert (result.outcome, result.size, result.stored) == ("stored", 15, 5)


def test_a_forked_history_is_refused_kept_as_evidence_and_raised(
    ledger: Ledger, station: StationJournal, twin: StationJournal
) -> None:
    ledger.register_station("ams-1", "dock-1", station.vkey)
    station.append(10)
    ledger.ingest("ams-1", "dock-1", station.wire(0))
    twin.append(12, subject="R-FORGED")  # same key, other events: a rewritten journal
    forked = ledger.ingest("ams-1", "dock-1", twin.wire(0))
    assert (forked.outcome, forked.seq, forked.size) == ("fork", 1, 10)
    assert held_events(ledger, "ams-1", "dock-1")[0][1] == bytes.fromhex(
        station.journal.reader.event(1).hash
    )
    with ledger.store.transaction() as tx:
        evidence = tx.all("SELECT seq, offered_body FROM forks")
    assert len(evidence) == 1 and evidence[0][0] == 1
    assert bytes(evidence[0][1]) == twin.journal.reader.canonical_body(1)
    assert [a["kind"] for a in ledger.alerts()] == ["fork"]


def test_a_history_that_does_not_continue_what_is_held_is_a_fork(
    ledger: Ledger, station: StationJournal, twin: StationJournal
) -> None:
    ledger.register_station("ams-1", "dock-1", station.vkey)
    station.append(10)
    ledger.ingest("ams-1", "dock-1", station.wire(0))
    twin.append(15, subject="R-OTHER")  # a replaced journal, sent from where upstream stands
    forked = ledger.ingest("ams-1", "dock-1", twin.wire(10))
    assert (forked.outcome, forked.seq, forked.size) == ("fork", 10, 10)
    assert len(held_events(ledger, "ams-1", "dock-1")) == 10
    assert [a["kind"] for a in ledger.alerts()] == ["fork"]


def test_a_tampered_event_is_refused(ledger: Ledger, station: StationJournal) -> None:
    ledger.register_station("ams-1", "dock-1", station.vkey)
    station.append(5)
    body = station.batch(0).body
    event = json.loads(base64.b64decode(body["events"][2]["body"]))
    event["payload"]["grams"] = "9999.5"  # re-canonicalised: valid JSON, wrong history
    forged = json.dumps(event, sort_keys=True, separators=(",", ":")).encode()
    body["events"][2]["body"] = base64.b64encode(forged).decode()
    with pytest.raises(InvalidBatch) as refused:
        ledger.ingest("ams-1", "dock-1", WireBatch.model_validate(body))
    assert "chain" in refused.value.message or "root" in refused.value.message
    assert held_events(ledger, "ams-1", "dock-1") == []
    assert ledger.alerts()[0]["kind"] == "invalid"


def test_events_off_the_fast_path_are_checked_in_full_and_accepted(
    ledger: Ledger, station: StationJournal
) -> None:
    """Non-ASCII text and floats take the full RFC 8785 check; both are valid custody."""
    ledger.register_station("ams-1", "dock-1", station.vkey)
    station.journal.append_many(
        [
            station_draft("package.weighed", "R-1001", {"note": "Größe ✓", "return_id": "R-1001"}),
            station_draft("grade.assigned", "U-AAAA", {"ratio": 0.5, "score": 1e21}),
        ]
    )
    station.journal.checkpoint()
    result = ledger.ingest("ams-1", "dock-1", station.wire(0))
    assert (result.outcome, result.stored) == ("stored", 2)


def test_an_event_in_a_non_canonical_form_is_refused(
    ledger: Ledger, station: StationJournal
) -> None:
    ledger.register_station("ams-1", "dock-1", station.vkey)
    station.append(1)
    body = station.batch(0).body
    event = json.loads(base64.b64decode(body["events"][0]["body"]))
    spaced = json.dumps(event, sort_keys=True, indent=1).encode()  # same JSON, other bytes
    body["events"][0]["body"] = base64.b64encode(spaced).decode()
    with pytest.raises(InvalidBatch, match="canonical"):
        ledger.ingest("ams-1", "dock-1", WireBatch.model_validate(body))


def test_a_checkpoint_from_another_key_is_refused(ledger: Ledger, station: StationJournal) -> None:
    ledger.register_station("ams-1", "dock-1", station.vkey)
    station.append(5)
    body = station.batch(0).body
    honest = open_checkpoint(body["checkpoint"], station.journal.verifier)
    impostor = Signer.generate(station.journal.verifier.name)
    body["checkpoint"] = sign_checkpoint(Checkpoint(honest.origin, 5, honest.root), impostor)
    with pytest.raises(InvalidBatch, match="checkpoint refused"):
        ledger.ingest("ams-1", "dock-1", WireBatch.model_validate(body))
    assert held_events(ledger, "ams-1", "dock-1") == []


def test_a_batch_that_does_not_end_at_its_checkpoint_is_refused(
    ledger: Ledger, station: StationJournal
) -> None:
    ledger.register_station("ams-1", "dock-1", station.vkey)
    station.append(5)
    body = station.batch(0).body
    body["events"] = body["events"][:4]
    with pytest.raises(InvalidBatch, match="ends at seq 4"):
        ledger.ingest("ams-1", "dock-1", WireBatch.model_validate(body))


def test_unknown_station_and_duplicate_registration(
    ledger: Ledger, station: StationJournal
) -> None:
    station.append(3)
    with pytest.raises(LedgerError) as unknown:
        ledger.ingest("ams-1", "dock-1", station.wire(0))
    assert unknown.value.status == 404
    token = ledger.register_station("ams-1", "dock-1", station.vkey)
    assert ledger.station_for_token(token) == ("ams-1", "dock-1")
    assert ledger.station_for_token(token + "x") is None
    with pytest.raises(LedgerError) as twice:
        ledger.register_station("ams-1", "dock-1", station.vkey)
    assert twice.value.status == 409


def test_a_blob_is_stored_once_and_only_under_its_own_hash(
    ledger: Ledger, station: StationJournal
) -> None:
    photo = b"\xff\xd8\xff" + bytes(range(256)) * 40
    name = hashlib.sha256(photo).hexdigest()
    other = hashlib.sha256(b"other").hexdigest()
    ledger.register_station("ams-1", "dock-1", station.vkey)
    assert [station.journal.blobs.put(b) for b in (photo, b"other")] == [name, other]
    station.journal.append(
        EventDraft.model_validate(
            {
                "type": "photo.captured",
                "subject": "R-1001",
                "operator": "olga",
                "attachments": [name, other],
            }
        )
    )
    station.journal.checkpoint()
    ledger.ingest("ams-1", "dock-1", station.wire(0))
    assert ledger.put_blob("ams-1", "dock-1", name, photo) is True
    assert ledger.put_blob("ams-1", "dock-1", name, photo) is False
    assert ledger.blob(name) == photo
    with pytest.raises(LedgerError) as mismatch:
        ledger.put_blob("ams-1", "dock-1", name, photo + b"!")
    assert mismatch.value.status == 422
    with pytest.raises(LedgerError):
        ledger.put_blob("ams-1", "dock-1", other, photo)
    assert not ledger.has_blob("ams-1", "dock-1", other)


def expected(return_id: str, label: str, status: str = "accepted") -> ExpectedReturn:
    return ExpectedReturn.model_validate(
        {
            "return_id": return_id,
            "label_codes": [label],
            "customer_ref": "C-1",
            "make": "Apple",
            "model": "iPhone 13",
            "quote": "240.00",
            "currency": "EUR",
            "status": status,
        }
    )


def test_the_manifest_feed_pages_by_cursor_and_sees_updates(ledger: Ledger) -> None:
    changed, tokens = ledger.import_manifest(
        "ams-1", [expected(f"R-{i}", f"LBL-{i}") for i in range(5)]
    )
    assert changed == 5 and sorted(tokens) == [f"R-{i}" for i in range(5)]
    page, cursor, more = ledger.manifest_since("ams-1", 0, 3)
    assert [r["return_id"] for r in page] == ["R-0", "R-1", "R-2"] and more
    rest, cursor, more = ledger.manifest_since("ams-1", cursor, 3)
    assert [r["return_id"] for r in rest] == ["R-3", "R-4"] and not more
    assert ledger.manifest_since("ams-1", cursor, 3)[0] == []
    # a re-import changes nothing; an update moves the record past the cursor
    assert ledger.import_manifest("ams-1", [expected("R-1", "LBL-1")]) == (0, {})
    changed, tokens = ledger.import_manifest("ams-1", [expected("R-1", "LBL-1", "cancelled")])
    assert (changed, tokens) == (1, {})
    updated, _, _ = ledger.manifest_since("ams-1", cursor, 10)
    assert [(r["return_id"], r["status"]) for r in updated] == [("R-1", "cancelled")]
    assert ledger.manifest_since("ams-2", 0, 10)[0] == []  # another site's feed


def test_the_customer_view_shows_one_return_to_its_token_only(
    ledger: Ledger, station: StationJournal
) -> None:
    _, tokens = ledger.import_manifest(
        "ams-1", [expected("R-1001", "L1"), expected("R-1002", "L2")]
    )
    ledger.register_station("ams-1", "dock-1", station.vkey)
    station.journal.append_many(
        [
            station_draft("package.received", "R-1001", {"return_id": "R-1001"}),
            station_draft("device.identified", "U-AAAA", {"return_id": "R-1001"}),
            station_draft("grade.assigned", "U-AAAA", {"grade": "B"}),
            station_draft("package.received", "R-1002", {"return_id": "R-1002"}),
        ]
    )
    station.journal.checkpoint()
    ledger.ingest("ams-1", "dock-1", station.wire(0))
    view = ledger.return_view("R-1001", tokens["R-1001"])
    assert view is not None
    assert [m["milestone"] for m in view["milestones"]] == [
        "package.received",
        "device.identified",
        "grade.assigned",
    ]
    assert "olga" not in json.dumps(view)  # no operator ids
    assert ledger.return_view("R-1001", tokens["R-1002"]) is None
    assert ledger.return_view("R-1002", tokens["R-1001"]) is None
    assert ledger.return_view("R-9999", tokens["R-1001"]) is None


def station_draft(event_type: str, subject: str, payload: dict[str, object]):  # type: ignore[no-untyped-def]
    from edge.journal import EventDraft

    return EventDraft.model_validate(
        {"type": event_type, "subject": subject, "operator": "olga", "payload": payload}
    )


def test_registrations_racing_each_other_on_postgres_give_one_token_and_a_409(
    postgres_dsn: str, station: StationJournal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both look before either writes (forced with a barrier): one wins, the other gets 409.
    (On SQLite, BEGIN IMMEDIATE already serialises the look and the write.)"""
    from concurrent.futures import ThreadPoolExecutor

    store = PostgresStore(postgres_dsn)

    from edge.upstream import store as store_module

    both_looked = threading.Barrier(2, timeout=10)
    plain_one = store_module._PostgresTx.one

    looks = itertools.count()

    def one_then_wait(self: Any, sql: str, params: Any = ()) -> Any:
        row = plain_one(self, sql, params)
        if sql.startswith("SELECT 1 FROM stations WHERE site") and next(looks) < 2:
            both_looked.wait()  # only the two first looks: the loser's second look goes on
        return row

    monkeypatch.setattr(store_module._PostgresTx, "one", one_then_wait)

    def register(ledger: Ledger) -> str | int:
        try:
            return ledger.register_station("ams-1", "dock-1", station.vkey)
        except LedgerError as exc:
            return exc.status

    ledgers = [Ledger(store, Cosigner.generate("upstream.test/ledger")) for _ in range(2)]
    try:
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(register, ledgers))
    finally:
        store.close()
    tokens = [a for a in answers if isinstance(a, str)]
    statuses = [a for a in answers if isinstance(a, int)]
    assert len(tokens) == 1 and statuses == [409]
