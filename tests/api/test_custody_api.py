"""Custody through the API alone (no devices, no bus): the manifest, typed scans at the dock,
the seal, exceptions and their resolution, the journal's pages, units, and what the station
reports about itself. Every answer, refusals included, is JSON."""

from __future__ import annotations

import copy
import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from edge.hub.runtime import ManifestImport
from edge.hub.serve import hub_app
from edge.operators import OPERATORS_FILE, PEPPER_FILE, Role
from stations.manifest import parse_manifest
from stations.profile import load_hub_profile
from stations.workflow import Reading, WeightInput
from tests.api.conftest import MANIFEST, OPERATORS, PIN, Station, bearer, build_hub, sign_in
from tests.hub.live import wait_for
from tests.hub.test_attendance import DOCK_AND_BENCH

KNOWN_LABEL = "1Z999AA10123456784"  # R-1001, an iPhone 13 in a mailer box
CANCELLED_LABEL = "1Z999AA10123456791"  # R-1002


def types(events: list[dict[str, Any]]) -> list[str]:
    return [
        e["type"] + (f":{e['payload']['exception']}" if e["type"] == "exception.raised" else "")
        for e in events
    ]


def scan(station: Station, code: str, role: Role = Role.OPERATOR) -> list[dict[str, Any]]:
    answer = station.call("POST", "/api/v1/scans", role, json={"code": code})
    assert answer.status_code == 200, answer.text
    events: list[dict[str, Any]] = answer.json()["events"]
    return events


def seal(station: Station, intact: bool = True, note: str = "") -> list[dict[str, Any]]:
    body = {"intact": intact, "note": note}
    answer = station.call("POST", "/api/v1/dock/seal", Role.OPERATOR, json=body)
    assert answer.status_code == 200, answer.text
    events: list[dict[str, Any]] = answer.json()["events"]
    return events


def open_exceptions(station: Station, **params: Any) -> dict[str, Any]:
    answer = station.call("GET", "/api/v1/exceptions", Role.OPERATOR, params=params)
    assert answer.status_code == 200, answer.text
    page: dict[str, Any] = answer.json()
    return page


# -- the manifest --


def test_manifest_import_journals_each_return_once(station: Station) -> None:
    size = station.journal()["size"]
    answer = station.call("POST", "/api/v1/manifest", Role.ADMIN, json={"returns": MANIFEST})
    assert answer.status_code == 200, answer.text
    events = answer.json()["events"]
    assert types(events) == ["manifest.synced", "manifest.synced"]
    assert [(e["subject"], e["payload"]["change"]) for e in events] == [
        ("R-1001", "created"),
        ("R-1002", "created"),
    ]
    assert all(e["operator"] == "ada" and e["payload"]["source"] == "api" for e in events)
    assert [e["seq"] for e in events] == [size + 1, size + 2]
    assert answer.json()["message"].startswith("2 expected returns")

    again = station.call("POST", "/api/v1/manifest", Role.ADMIN, json={"returns": MANIFEST})
    assert again.status_code == 200
    assert again.json()["events"] == []
    assert again.json()["message"].startswith("0 expected returns")
    assert station.journal()["size"] == size + 2

    changed = copy.deepcopy(MANIFEST[:1])
    changed[0]["quote"] = "220.00"
    updated = station.call("POST", "/api/v1/manifest", Role.ADMIN, json={"returns": changed})
    [event] = updated.json()["events"]
    assert event["subject"] == "R-1001" and event["payload"]["change"] == "updated"
    assert event["payload"]["fields"] == ["quote"]


def test_returns_list_and_one_return_with_its_timeline(with_manifest: Station) -> None:
    station = with_manifest
    listed = station.call("GET", "/api/v1/returns", Role.OPERATOR).json()
    assert listed["total"] == 2 and listed["limit"] == 50 and listed["offset"] == 0
    assert [r["return"]["return_id"] for r in listed["items"]] == ["R-1001", "R-1002"]
    cancelled = station.call(
        "GET", "/api/v1/returns", Role.OPERATOR, params={"status": "cancelled"}
    ).json()
    assert [r["return"]["return_id"] for r in cancelled["items"]] == ["R-1002"]
    assert cancelled["total"] == 1
    paged = station.call(
        "GET", "/api/v1/returns", Role.OPERATOR, params={"limit": 1, "offset": 1}
    ).json()
    assert [r["return"]["return_id"] for r in paged["items"]] == ["R-1002"]

    one = station.call("GET", "/api/v1/returns/R-1001", Role.OPERATOR).json()
    assert one["return"]["label_codes"] == [KNOWN_LABEL]
    assert one["receipt"] is None and one["unit_id"] is None and one["open_exceptions"] == 0
    assert types(one["timeline"]) == ["manifest.synced"]
    assert one["verify"]["state"] in {"verified", "pending"}

    missing = station.call("GET", "/api/v1/returns/R-9999", Role.OPERATOR)
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found" and "R-9999" in missing.json()["message"]


@pytest.mark.parametrize(
    "returns",
    [
        [{}],
        [{**MANIFEST[0], "declared_imei": "123"}],
        [{**MANIFEST[0], "return_id": "R 1001"}],
        [{**MANIFEST[0], "status": "lost"}],
        [MANIFEST[0], MANIFEST[0]],
    ],
    ids=["empty-record", "short-imei", "bad-id", "bad-status", "twice"],
)
def test_an_invalid_manifest_is_422_and_journals_nothing(
    station: Station, returns: list[dict[str, Any]]
) -> None:
    size = station.journal()["size"]
    answer = station.call("POST", "/api/v1/manifest", Role.ADMIN, json={"returns": returns})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == "invalid_manifest"
    assert answer.json()["message"]
    assert station.journal()["size"] == size
    assert station.call("GET", "/api/v1/returns", Role.OPERATOR).json()["total"] == 0


def upstream_feed(station: Station, returns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Returns arriving from the upstream's manifest feed, as the replicator hands them over."""
    hub = station.app.state.services.hub
    records = parse_manifest(json.dumps(returns).encode(), "json", hub.workflows.catalogue)
    result = hub.submit(ManifestImport(tuple(records), "upstream", "upstream")).result(10)
    return [e.as_stored() for e in result.events]


def test_a_local_import_cannot_overwrite_a_return_the_upstream_owns(station: Station) -> None:
    """Item 17: an admin's local import that changes an upstream return (its quote to 9999.00)
    is refused naming the return; the upstream's own update still lands."""
    [synced] = upstream_feed(station, MANIFEST[:1])
    assert synced["payload"]["source"] == "upstream"
    size = station.journal()["size"]
    local = [{**MANIFEST[0], "quote": "9999.00"}, MANIFEST[1]]
    answer = station.call("POST", "/api/v1/manifest", Role.ADMIN, json={"returns": local})
    assert answer.status_code == 409, answer.text
    assert answer.json()["error"] == "upstream_owned"
    assert "R-1001" in answer.json()["message"] and "upstream" in answer.json()["message"]
    assert station.journal()["size"] == size  # all or nothing: R-1002 was not created either
    record = station.call("GET", "/api/v1/returns/R-1001", Role.OPERATOR).json()
    assert record["return"]["quote"] == "240.00" and record["owner"] == "upstream"

    # the same record again changes nothing, so it is no overwrite; a local return stays local
    again = [MANIFEST[0], MANIFEST[1]]
    answer = station.call("POST", "/api/v1/manifest", Role.ADMIN, json={"returns": again})
    assert answer.status_code == 200, answer.text
    assert [e["subject"] for e in answer.json()["events"]] == ["R-1002"]
    assert station.call("GET", "/api/v1/returns/R-1002", Role.OPERATOR).json()["owner"] == "local"

    # the upstream changes its own return (and takes over a local one) as before
    [updated, taken] = upstream_feed(
        station, [{**MANIFEST[0], "quote": "230.00"}, {**MANIFEST[1], "quote": "310.00"}]
    )
    assert updated["payload"]["fields"] == ["quote"] and taken["subject"] == "R-1002"
    refused = station.call(
        "POST", "/api/v1/manifest", Role.ADMIN, json={"returns": [{**MANIFEST[1], "quote": "1"}]}
    )
    assert refused.status_code == 409 and "R-1002" in refused.json()["message"]


# -- the dock --


def test_a_typed_scan_of_a_known_label_opens_its_package(with_manifest: Station) -> None:
    station = with_manifest
    assert station.call("GET", "/api/v1/dock", Role.OPERATOR).json() == {"current": None}
    [scanned] = scan(station, KNOWN_LABEL)
    assert scanned["type"] == "label.scanned" and scanned["subject"] == "R-1001"
    assert scanned["operator"] == "olga"
    assert scanned["payload"]["match"] == "label"
    assert scanned["payload"]["symbology"] == "typed"
    assert scanned["payload"]["reading"] == {"device": "api", "seq": None}
    current = station.call("GET", "/api/v1/dock", Role.OPERATOR).json()["current"]
    assert current["subject"] == "R-1001" and current["return_id"] == "R-1001"
    assert current["label"] == KNOWN_LABEL and current["stage"] == "awaiting_weight"
    band = current["band"]
    assert float(band["min_grams"]) < float(band["max_grams"])
    assert current["exceptions"] == []
    # the same label again is a repeat, not a second package
    [repeat] = scan(station, KNOWN_LABEL)
    assert repeat["payload"]["repeat"] is True and repeat["subject"] == "R-1001"
    assert station.call("GET", "/api/v1/dock", Role.OPERATOR).json()["current"] == current


def test_a_mis_scanned_box_is_cancelled_with_a_reason_and_the_next_scan_starts_clean(
    with_manifest: Station,
) -> None:
    """Item 14: the wrong box's label opened a package; a journalled cancel (with its reason)
    closes it without erasing anything, and the right box's label raises no receipt_incomplete."""
    station = with_manifest
    [scanned, _unknown] = scan(station, "WRONG-BOX-1")
    nothing = station.call("POST", "/api/v1/dock/cancel", Role.OPERATOR, json={"reason": "  "})
    assert nothing.status_code == 422
    answer = station.call(
        "POST", "/api/v1/dock/cancel", Role.OPERATOR, json={"reason": "scanned the wrong box"}
    )
    assert answer.status_code == 200, answer.text
    [cancelled] = answer.json()["events"]
    assert cancelled["type"] == "receipt.cancelled" and cancelled["operator"] == "olga"
    assert cancelled["subject"] == scanned["subject"]
    assert cancelled["payload"]["reason"] == "scanned the wrong box"
    assert cancelled["payload"]["stage"] == "awaiting_weight"
    assert cancelled["payload"]["exceptions"] == ["unknown_label"]
    assert station.call("GET", "/api/v1/dock", Role.OPERATOR).json() == {"current": None}
    again = station.call("POST", "/api/v1/dock/cancel", Role.OPERATOR, json={"reason": "again"})
    assert again.status_code == 409 and again.json()["error"] == "no_package"

    events = scan(station, KNOWN_LABEL)
    assert types(events) == ["label.scanned"]  # no receipt_incomplete for the cancelled box
    received = seal(station)
    assert types(received)[-1] == "package.received"
    assert received[-1]["subject"] == "R-1001"
    # history is all there: the mis-scan, its exception, the cancel, the real receipt
    journal = types(station.journal(after=scanned["seq"] - 1)["events"])
    assert journal[:3] == ["label.scanned", "exception.raised:unknown_label", "receipt.cancelled"]
    assert "exception.raised:receipt_incomplete" not in journal
    counts = station.call("GET", "/api/v1/station", Role.OPERATOR).json()["counts"]
    assert counts["receipts_cancelled"] == 1 and counts["packages_received"] == 1


def test_a_cancelled_receipt_shows_on_its_return_and_a_rescan_is_no_duplicate(
    with_manifest: Station,
) -> None:
    """Item 14: cancelling the right box (dropped, to be rescanned) keeps no receipt, so its
    next scan is not a duplicate_receipt; the return shows the cancel."""
    station = with_manifest
    scan(station, KNOWN_LABEL)
    body = {"reason": "box fell off the scale"}
    assert station.call("POST", "/api/v1/dock/cancel", Role.OPERATOR, json=body).status_code == 200
    assert types(scan(station, KNOWN_LABEL)) == ["label.scanned"]
    record = station.call("GET", "/api/v1/returns/R-1001", Role.OPERATOR).json()
    [cancel] = record["cancelled_receipts"]
    assert cancel["reason"] == "box fell off the scale" and cancel["operator"] == "olga"
    assert record["receipt"] is None
    assert "receipt.cancelled" in [e["type"] for e in record["timeline"]]


def test_sealing_with_no_package_at_the_dock_is_409(station: Station) -> None:
    size = station.journal()["size"]
    answer = station.call("POST", "/api/v1/dock/seal", Role.OPERATOR, json={"intact": True})
    assert answer.status_code == 409
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {
        "error": "no_package",
        "message": "no package at the dock: scan its label first",
    }
    assert station.journal()["size"] == size
    status = station.call("GET", "/api/v1/station", Role.OPERATOR).json()
    assert status["inputs"]["refused"] == 1 and status["inputs"]["failed"] == 0


def test_seal_after_a_typed_scan_receives_the_package_as_not_weighed(
    with_manifest: Station,
) -> None:
    station = with_manifest
    scan(station, KNOWN_LABEL)
    events = seal(station, intact=True)
    assert types(events) == ["exception.raised:not_weighed", "seal.checked", "package.received"]
    assert all(e["subject"] == "R-1001" and e["operator"] == "olga" for e in events)
    received = events[-1]["payload"]
    assert received["status"] == "received_with_exceptions"
    assert received["exceptions"] == ["not_weighed"]
    assert received["seal"] == "intact" and received["grams"] is None
    assert station.call("GET", "/api/v1/dock", Role.OPERATOR).json() == {"current": None}

    one = station.call("GET", "/api/v1/returns/R-1001", Role.OPERATOR).json()
    assert one["receipt"]["status"] == "received_with_exceptions"
    assert one["receipt"]["seq"] == events[-1]["seq"]
    assert one["open_exceptions"] == 1
    assert types(one["timeline"])[-4:] == ["label.scanned", *types(events)]
    # sealing again: the package is closed
    again = station.call("POST", "/api/v1/dock/seal", Role.OPERATOR, json={"intact": True})
    assert again.status_code == 409 and again.json()["error"] == "no_package"


def test_a_broken_seal_an_unknown_label_and_a_cancelled_return_raise_exceptions(
    with_manifest: Station,
) -> None:
    station = with_manifest
    assert types(scan(station, "NOT-IN-MANIFEST-42")) == [
        "label.scanned",
        "exception.raised:unknown_label",
    ]
    events = seal(station, intact=False, note="tape cut")
    assert types(events) == [
        "exception.raised:not_weighed",
        "seal.checked",
        "exception.raised:seal_broken",
        "package.received",
    ]
    assert events[-1]["subject"] == "label:NOT-IN-MANIFEST-42"
    assert events[-1]["payload"]["exceptions"] == ["unknown_label", "not_weighed", "seal_broken"]
    assert "tape cut" in events[2]["payload"]["message"]

    assert types(scan(station, CANCELLED_LABEL)) == [
        "label.scanned",
        "exception.raised:return_cancelled",
    ]
    # a new label before the open package was sealed
    assert types(scan(station, KNOWN_LABEL)) == [
        "exception.raised:receipt_incomplete",
        "label.scanned",
    ]
    kinds = sorted(x["kind"] for x in open_exceptions(station)["items"])
    assert kinds == [
        "not_weighed",
        "receipt_incomplete",
        "return_cancelled",
        "seal_broken",
        "unknown_label",
    ]


@pytest.mark.parametrize("code", [" ", "   ", "\t", "\n", " \r\n "])
def test_a_blank_typed_scan_is_refused_and_leaves_the_open_package_alone(
    with_manifest: Station, code: str
) -> None:
    station = with_manifest
    scan(station, KNOWN_LABEL)
    size = station.journal()["size"]
    answer = station.call("POST", "/api/v1/scans", Role.OPERATOR, json={"code": code})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == "invalid_request" and "body.code" in answer.json()["message"]
    assert station.journal()["size"] == size
    current = station.call("GET", "/api/v1/dock", Role.OPERATOR).json()["current"]
    assert current["subject"] == "R-1001" and current["exceptions"] == []
    # padding around a real label is fine
    [repeat] = scan(station, f"  {KNOWN_LABEL} ")
    assert repeat["subject"] == "R-1001" and repeat["payload"]["repeat"] is True


def test_a_bin_scanned_without_a_unit_is_an_exception_for_moves(station: Station) -> None:
    [raised] = scan(station, "BIN-A-01-03")
    assert raised["type"] == "exception.raised"
    assert raised["payload"]["exception"] == "move_without_unit"
    assert raised["subject"] == "station:dock-1"
    assert station.call("GET", "/api/v1/dock", Role.OPERATOR).json() == {"current": None}


# -- exceptions --


@pytest.fixture
def with_exceptions(with_manifest: Station) -> Station:
    """Two open exceptions on R-1001 (a package sealed broken without a weight)."""
    scan(with_manifest, KNOWN_LABEL)
    seal(with_manifest, intact=False)
    return with_manifest


def test_exceptions_list_newest_first_and_filter(with_exceptions: Station) -> None:
    station = with_exceptions
    queue = open_exceptions(station)
    assert queue["total"] == 2
    assert [x["kind"] for x in queue["items"]] == ["seal_broken", "not_weighed"]
    seqs = [x["seq"] for x in queue["items"]]
    assert seqs == sorted(seqs, reverse=True)
    assert all(x["status"] == "open" and x["subject"] == "R-1001" for x in queue["items"])
    only = open_exceptions(station, kind="not_weighed")
    assert [x["kind"] for x in only["items"]] == ["not_weighed"] and only["total"] == 1
    assert open_exceptions(station, status="resolved") == {
        "items": [],
        "total": 0,
        "limit": 50,
        "offset": 0,
    }
    first_page = open_exceptions(station, limit=1)
    assert first_page["total"] == 2 and [x["seq"] for x in first_page["items"]] == seqs[:1]

    one = station.call("GET", f"/api/v1/exceptions/{seqs[1]}", Role.OPERATOR)
    assert one.status_code == 200
    assert one.json()["kind"] == "not_weighed" and one.json()["evidence"] == {"label": KNOWN_LABEL}
    assert one.json()["operator"] == "olga" and one.json()["resolved_seq"] is None


def test_resolving_needs_a_technician_and_happens_once(with_exceptions: Station) -> None:
    station = with_exceptions
    seq = open_exceptions(station, kind="seal_broken")["items"][0]["seq"]
    path = f"/api/v1/exceptions/{seq}/resolve"
    body = {"resolution": "reject", "reason": "seal cut in transit; carrier claim"}
    size = station.journal()["size"]

    refused = station.call("POST", path, Role.OPERATOR, json=body)
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
    assert station.journal()["size"] == size

    answer = station.call("POST", path, Role.TECHNICIAN, json=body)
    assert answer.status_code == 200, answer.text
    [resolved] = answer.json()["events"]
    assert resolved["type"] == "exception.resolved" and resolved["operator"] == "tom"
    assert resolved["seq"] == size + 1 and resolved["subject"] == "R-1001"
    assert resolved["payload"] == {
        "exception_seq": seq,
        "exception": "seal_broken",
        "resolution": "reject",
        "reason": "seal cut in transit; carrier claim",
    }
    record = station.call("GET", f"/api/v1/exceptions/{seq}", Role.OPERATOR).json()
    assert record["status"] == "resolved" and record["resolved_by"] == "tom"
    assert record["resolved_seq"] == resolved["seq"] and record["resolution"] == "reject"
    assert [x["kind"] for x in open_exceptions(station)["items"]] == ["not_weighed"]
    assert [x["seq"] for x in open_exceptions(station, status="resolved")["items"]] == [seq]

    again = station.call("POST", path, Role.TECHNICIAN, json=body)
    assert again.status_code == 409
    assert again.json() == {
        "error": "already_resolved",
        "message": f"exception {seq} is already resolved",
    }
    # an admin may resolve too
    other = open_exceptions(station)["items"][0]["seq"]
    by_admin = station.call(
        "POST",
        f"/api/v1/exceptions/{other}/resolve",
        Role.ADMIN,
        json={"resolution": "accept", "reason": "scale was out of service"},
    )
    assert by_admin.status_code == 200 and by_admin.json()["events"][0]["operator"] == "ada"
    assert open_exceptions(station)["total"] == 0
    assert station.journal()["size"] == size + 2


def test_unknown_exceptions_are_404(station: Station) -> None:
    missing = station.call("GET", "/api/v1/exceptions/999999", Role.OPERATOR)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    resolve = station.call(
        "POST",
        "/api/v1/exceptions/999999/resolve",
        Role.TECHNICIAN,
        json={"resolution": "accept", "reason": "nothing to see"},
    )
    assert resolve.status_code == 404
    assert resolve.json()["message"] == "no exception with id 999999"
    # an event that is not an exception is not one either
    not_exception = station.call("GET", "/api/v1/exceptions/1", Role.OPERATOR)
    assert not_exception.status_code == 404


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"resolution": "ignore", "reason": "not a resolution"}, "body.resolution"),
        ({"resolution": "accept", "reason": "ok"}, "body.reason"),
        ({"resolution": "accept"}, "body.reason"),
        ({"reason": "no resolution given"}, "body.resolution"),
        ({"resolution": "accept", "reason": "fine", "by": "tom"}, "body.by"),
    ],
)
def test_a_bad_resolution_or_short_reason_is_422(
    with_exceptions: Station, body: dict[str, Any], where: str
) -> None:
    station = with_exceptions
    seq = open_exceptions(station)["items"][0]["seq"]
    answer = station.call("POST", f"/api/v1/exceptions/{seq}/resolve", Role.TECHNICIAN, json=body)
    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid_request"
    assert where in answer.json()["message"]
    assert open_exceptions(station)["total"] == 2


def test_a_reason_of_only_spaces_is_refused(with_exceptions: Station) -> None:
    station = with_exceptions
    seq = open_exceptions(station)["items"][0]["seq"]
    body = {"resolution": "accept", "reason": "     "}
    answer = station.call("POST", f"/api/v1/exceptions/{seq}/resolve", Role.TECHNICIAN, json=body)
    assert answer.status_code == 422
    assert "reason" in answer.json()["message"]
    assert open_exceptions(station)["total"] == 2


# -- the journal --


def test_journal_pages_walk_every_event_once(with_exceptions: Station) -> None:
    station = with_exceptions
    everything = station.journal(limit=500)
    size = everything["size"]
    assert everything["next_after"] is None
    assert [e["seq"] for e in everything["events"]] == list(range(1, size + 1))

    seen: list[int] = []
    after: int | None = 0
    pages = 0
    while after is not None:
        page = station.journal(after=after, limit=2)
        assert len(page["events"]) <= 2 and page["size"] == size
        seen += [e["seq"] for e in page["events"]]
        after = page["next_after"]
        if after is not None:
            assert after == page["events"][-1]["seq"]
        pages += 1
    assert seen == list(range(1, size + 1))
    assert pages == -(-size // 2)

    tail = station.journal(after=size - 1, limit=5)
    assert [e["seq"] for e in tail["events"]] == [size] and tail["next_after"] is None
    assert station.journal(after=size)["events"] == []
    exact = station.journal(after=size - 2, limit=2)
    assert [e["seq"] for e in exact["events"]] == [size - 1, size]
    assert exact["next_after"] is None


def test_journal_filters_by_type_and_subject(with_exceptions: Station) -> None:
    station = with_exceptions
    raised = station.journal(type="exception.raised")["events"]
    assert types(raised) == ["exception.raised:not_weighed", "exception.raised:seal_broken"]
    signed_in = station.journal(type="operator.signed_in")["events"]
    assert [e["subject"] for e in signed_in] == ["olga", "tom", "ada"]
    r1001 = station.journal(subject="R-1001")["events"]
    assert types(r1001) == [
        "manifest.synced",
        "label.scanned",
        "exception.raised:not_weighed",
        "seal.checked",
        "exception.raised:seal_broken",
        "package.received",
    ]
    both = station.journal(subject="R-1001", type="seal.checked")["events"]
    assert [e["payload"]["intact"] for e in both] == [False]
    first = station.journal(subject="R-1001", limit=1)
    assert first["next_after"] == r1001[0]["seq"]
    rest = station.journal(subject="R-1001", after=first["next_after"])["events"]
    assert rest == r1001[1:]
    assert station.journal(subject="R-9999")["events"] == []


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 501},
        {"after": -1},
        {"after": "x"},
        {"type": "label.eaten"},
        {"type": "label_scanned"},
        {"subject": ""},
    ],
)
def test_journal_refuses_bad_parameters(station: Station, params: dict[str, Any]) -> None:
    answer = station.call("GET", "/api/v1/journal", Role.OPERATOR, params=params)
    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid_request"
    assert next(iter(params)) in answer.json()["message"]


# -- units --


def test_units_are_empty_and_unknown_units_are_404(station: Station) -> None:
    listed = station.call("GET", "/api/v1/units", Role.OPERATOR).json()
    assert listed == {"items": [], "total": 0, "limit": 50, "offset": 0}
    missing = station.call("GET", "/api/v1/units/U-NOSUCHUNIT0", Role.OPERATOR)
    assert missing.status_code == 404
    assert missing.json() == {
        "error": "not_found",
        "message": "no unit 'U-NOSUCHUNIT0' at this station",
    }
    size = station.journal()["size"]
    checklist = {
        "screen": "flawless",
        "body": "flawless",
        "function": "all_working",
        "accessories": "complete",
        "battery": 90,
    }
    for action, body in (("grade", checklist), ("route", None), ("erasure", None)):
        answer = station.call(
            "POST", f"/api/v1/units/U-NOSUCHUNIT0/{action}", Role.TECHNICIAN, json=body
        )
        assert answer.status_code == 404, (action, answer.text)
        assert "U-NOSUCHUNIT0" in answer.json()["message"]
    moved = station.call(
        "POST", "/api/v1/units/U-NOSUCHUNIT0/move", Role.OPERATOR, json={"bin": "BIN-A-01"}
    )
    assert moved.status_code == 404 and moved.json()["error"]
    assert station.journal()["size"] == size
    bad_id = station.call("GET", "/api/v1/units/U NOPE", Role.OPERATOR)
    assert bad_id.status_code == 422 and bad_id.json()["error"] == "invalid_request"
    bad_status = station.call("GET", "/api/v1/units", Role.OPERATOR, params={"status": "lost"})
    assert bad_status.status_code == 422


# -- the station --


def test_readyz_and_station_counts(with_exceptions: Station) -> None:
    station = with_exceptions
    ready = station.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "problems": []}

    status = station.call("GET", "/api/v1/station", Role.OPERATOR).json()
    assert (status["site"], status["station"], status["role"]) == ("ams-1", "dock-1", "dock")
    assert status["workflows"] == ["receiving", "moves"]
    assert status["counts"] == {
        "expected_returns": 2,
        "packages_received": 1,
        "receipts_cancelled": 0,
        "units": 0,
        "open_exceptions": 2,
    }
    assert status["journal"]["size"] == station.journal()["size"]
    assert status["bus"] == {"connected": False}
    # the last to sign in attends the station
    assert status["operator"] == {"operator_id": "ada", "name": "Ada", "role": "admin"}
    # 3 sign-ins, the manifest, a scan and a seal
    assert status["inputs"] == {"handled": 6, "refused": 0, "failed": 0}
    devices = station.call("GET", "/api/v1/devices", Role.OPERATOR).json()["devices"]
    assert [(d["device"], d["kind"], d["status"]) for d in devices] == [
        ("dock-scanner", "scanner", None),
        ("dock-scale", "scale", None),
        ("dock-camera", "camera", None),
    ]


# -- malformed requests --


@pytest.mark.parametrize(
    ("method", "path", "role", "content"),
    [
        ("POST", "/api/v1/scans", Role.OPERATOR, b"{not json"),
        ("POST", "/api/v1/scans", Role.OPERATOR, b"[]"),
        ("POST", "/api/v1/scans", Role.OPERATOR, b"null"),
        ("POST", "/api/v1/scans", Role.OPERATOR, b"{}"),
        ("POST", "/api/v1/scans", Role.OPERATOR, b'{"code": ""}'),
        ("POST", "/api/v1/scans", Role.OPERATOR, b'{"code": 12345}'),
        ("POST", "/api/v1/scans", Role.OPERATOR, b'{"code": "' + b"9" * 513 + b'"}'),
        ("POST", "/api/v1/scans", Role.OPERATOR, b'{"code": "X", "operator": "ada"}'),
        ("POST", "/api/v1/dock/seal", Role.OPERATOR, b'{"intact": "maybe"}'),
        ("POST", "/api/v1/dock/seal", Role.OPERATOR, b'{"note": "no verdict"}'),
        ("POST", "/api/v1/dock/seal", Role.OPERATOR, b'{"intact": true, "note": 5}'),
        ("POST", "/api/v1/manifest", Role.ADMIN, b'{"returns": {"R-1": {}}}'),
        ("POST", "/api/v1/manifest", Role.ADMIN, b'{"returns": [1, 2]}'),
        ("POST", "/api/v1/manifest", Role.ADMIN, b'{"records": []}'),
        ("POST", "/api/v1/manifest", Role.ADMIN, b'{"returns": [{"return_id": null}]}'),
        ("POST", "/api/v1/exceptions/1/resolve", Role.TECHNICIAN, b'"accept"'),
        ("POST", "/api/v1/units/U-1/move", Role.OPERATOR, b'{"bin": ""}'),
        ("POST", "/api/v1/units/U-1/grade", Role.TECHNICIAN, b'{"screen": "shattered"}'),
        ("PUT", "/api/v1/profile", Role.ADMIN, b'{"toml": ""}'),
        ("PUT", "/api/v1/profile", Role.ADMIN, b'{"toml": "[station"}'),
        ("PUT", "/api/v1/profile", Role.ADMIN, b'{"toml": "station = 1"}'),
    ],
)
def test_malformed_bodies_are_422_json_never_500(
    station: Station, method: str, path: str, role: Role, content: bytes
) -> None:
    size = station.journal()["size"]
    headers = {**station.headers(role), "Content-Type": "application/json"}
    answer = station.client.request(method, path, headers=headers, content=content)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert body["error"] in {"invalid_request", "invalid_manifest", "invalid_profile"}
    assert isinstance(body["message"], str) and body["message"]
    assert station.journal()["size"] == size


def test_a_body_that_is_not_json_is_refused_as_json(station: Station) -> None:
    size = station.journal()["size"]
    answer = station.client.post(
        "/api/v1/scans",
        headers={**station.headers(Role.OPERATOR), "Content-Type": "text/plain"},
        content=b"1Z999AA10123456784",
    )
    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid_request" and answer.json()["message"]
    not_utf8 = station.client.post(
        "/api/v1/scans",
        headers={**station.headers(Role.OPERATOR), "Content-Type": "application/json"},
        content=b"\xff\xfe\x00",
    )
    assert not_utf8.status_code == 400
    assert not_utf8.json() == {
        "error": "bad_request",
        "message": "There was an error parsing the body",
    }
    assert station.journal()["size"] == size


# -- the profile --


def test_the_profile_in_force_and_a_checked_replacement(station: Station) -> None:
    shown = station.call("GET", "/api/v1/profile", Role.ADMIN).json()
    assert shown["role"] == "dock" and shown["workflows"] == ["receiving", "moves"]
    assert shown["toml"] == station.profile_path.read_text(encoding="utf-8")
    assert [d["id"] for d in shown["devices"]] == ["dock-scanner", "dock-scale", "dock-camera"]

    original = station.profile_path.read_text(encoding="utf-8")
    other_station = original.replace('station = "dock-1"', 'station = "dock-2"')
    moved = station.call("PUT", "/api/v1/profile", Role.ADMIN, json={"toml": other_station})
    assert moved.status_code == 422 and "site or id" in moved.json()["message"]
    missing_rules = original + '\n[disposition]\nrules = "no-such-rules.toml"\n'
    refused = station.call("PUT", "/api/v1/profile", Role.ADMIN, json={"toml": missing_rules})
    assert refused.status_code == 403, refused.text  # files it reads: root-only (profile_lock)
    assert refused.json()["error"] == "root_only"
    assert refused.json()["fields"] == ["disposition.rules"]
    assert station.profile_path.read_text(encoding="utf-8") == original

    changed = original.replace("weight_reuse_s = 20", "weight_reuse_s = 30")
    assert changed != original
    stored = station.call("PUT", "/api/v1/profile", Role.ADMIN, json={"toml": changed})
    assert stored.status_code == 200, stored.text
    assert stored.json()["stored"] == str(station.profile_path)
    assert station.profile_path.read_text(encoding="utf-8") == changed
    assert load_hub_profile(station.profile_path).receiving.weight_reuse_s == 30


def test_a_stored_profile_starts_the_station(tmp_path: Path) -> None:
    """What PUT accepts, the next start loads: the journal and operators carry over."""
    app, profile_path, data_dir = build_hub(tmp_path)
    changed = profile_path.read_text(encoding="utf-8").replace(
        "weight_reuse_s = 20", "weight_reuse_s = 5"
    )
    with TestClient(app) as client:
        admin = bearer(sign_in(client, OPERATORS[Role.ADMIN][1]))
        stored = client.put("/api/v1/profile", headers=admin, json={"toml": changed})
        assert stored.status_code == 200, stored.text
        size = client.get("/api/v1/journal", headers=admin).json()["size"]

    restarted = hub_app(data_dir, load_hub_profile(profile_path), profile_path=profile_path)
    with TestClient(restarted) as client:
        assert client.get("/readyz").json() == {"status": "ready", "problems": []}
        assert restarted.state.services.hub.profile.receiving.weight_reuse_s == 5
        admin = bearer(sign_in(client, OPERATORS[Role.ADMIN][1]))
        journal = client.get("/api/v1/journal", headers=admin).json()
        assert journal["size"] == size + 1  # this sign-in


# -- a station with the dock and the bench: which flow a typed scan feeds, who attends --

IMEI = "356938035643809"  # R-1001's declared IMEI


def test_a_typed_imei_goes_to_the_bench_of_a_station_that_also_receives(tmp_path: Path) -> None:
    """Item 13: a technician's typed IMEI identifies the device at the bench (it went to the
    dock as an unknown label); a scan may name its flow, checked against the station's."""
    build_hub(tmp_path)  # for its operators
    profile_path = tmp_path / "intake.toml"
    profile_path.write_text(DOCK_AND_BENCH)
    data_dir = tmp_path / "intake"
    data_dir.mkdir()
    shutil.copyfile(tmp_path / "station" / OPERATORS_FILE, data_dir / OPERATORS_FILE)
    (data_dir / "keys").mkdir()  # the PIN hashes verify only with their station's pepper
    shutil.copy(tmp_path / "station" / "keys" / PEPPER_FILE, data_dir / "keys" / PEPPER_FILE)
    app = hub_app(data_dir, load_hub_profile(profile_path), profile_path=profile_path)
    with TestClient(app) as client:
        tokens = {role: sign_in(client, badge) for role, (_, badge) in OPERATORS.items()}
        station = Station(app, client, data_dir, profile_path, tokens)
        answer = station.call("POST", "/api/v1/manifest", Role.ADMIN, json={"returns": MANIFEST})
        assert answer.status_code == 200, answer.text

        events = scan(station, IMEI, Role.TECHNICIAN)
        assert events[0]["type"] == "device.identified", types(events)
        assert events[0]["payload"]["return_id"] == "R-1001"
        assert "exception.raised:unknown_label" not in types(events)
        [opened] = scan(station, KNOWN_LABEL, Role.OPERATOR)  # Olga is at the dock
        assert opened["type"] == "label.scanned" and opened["payload"]["workflow"] == "dock"

        def typed(role: Role, flow: str | None) -> Any:
            body = {"code": KNOWN_LABEL} if flow is None else {"code": KNOWN_LABEL, "flow": flow}
            return station.call("POST", "/api/v1/scans", role, json=body)

        at_bench = typed(Role.OPERATOR, "bench")  # Olga walks over to the bench screen
        assert at_bench.status_code == 200, at_bench.text
        assert at_bench.json()["events"][0]["payload"]["workflow"] == "bench"
        size = station.journal()["size"]
        refused = typed(Role.OPERATOR, "erasure")
        assert refused.status_code == 422 and refused.json()["error"] == "unknown_flow"
        assert "dock, bench" in refused.json()["message"]
        unclear = typed(Role.ADMIN, None)  # an admin attends both flows: say which
        assert unclear.status_code == 422 and unclear.json()["error"] == "flow_needed"
        assert station.journal()["size"] == size


def test_a_sign_in_says_what_it_attends_and_a_bad_claim_starts_no_session(
    station: Station,
) -> None:
    """Item 12: `attends` at sign-in is journalled; a flow or slot the station lacks is 422
    naming it, and no token is given."""
    size = station.journal()["size"]
    body = {"badge": OPERATORS[Role.TECHNICIAN][1], "pin": PIN, "attends": ["bench"]}
    refused = station.client.post("/api/v1/auth/sign-in", json=body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"] == "invalid_attends" and "'bench'" in refused.json()["message"]
    assert "token" not in refused.json()
    assert station.journal()["size"] == size
    body["attends"] = ["dock-scale"]
    answer = station.client.post("/api/v1/auth/sign-in", json=body)
    assert answer.status_code == 200, answer.text
    [signed_in] = station.journal(after=size)["events"]
    assert signed_in["type"] == "operator.signed_in" and signed_in["subject"] == "tom"
    assert signed_in["payload"]["attends"] == ["dock-scale"]
    hub = station.app.state.services.hub
    assert hub.operator_for_readings("dock-scale") == "tom"
    assert hub.operator_for_readings("dock-scanner") == "olga"  # the dock is Olga's role's


def test_signing_out_is_journalled_and_the_others_still_attend(station: Station) -> None:
    """Item 12: three sessions (Olga, Tom, Ada); Ada, the last to sign in, signs out: an
    `operator.signed_out` is journalled and the dock's readings are still Olga's."""
    hub = station.app.state.services.hub
    size = station.journal()["size"]
    answer = station.call("POST", "/api/v1/auth/sign-out", Role.ADMIN)
    assert answer.status_code == 204
    [ended] = station.journal(after=size)["events"]
    assert ended["type"] == "operator.signed_out" and ended["subject"] == "ada"
    assert ended["payload"]["reason"] == "signed_out"
    assert ended["payload"]["still_signed_in"] is False
    assert hub.operator_for_readings("dock-scale") == "olga"
    station.call("POST", "/api/v1/auth/sign-out", Role.OPERATOR)
    assert hub.operator_for_readings("dock-scale") == "tom"
    status = station.call("GET", "/api/v1/station", Role.TECHNICIAN).json()
    assert status["operator"]["operator_id"] == "tom"


def test_a_session_ended_by_an_admin_is_journalled_and_stops_attending(station: Station) -> None:
    """Item 12: disabling Olga ends her sessions in the operators store; the idle hub notices,
    journals `operator.signed_out` (`session_ended`) and her dock goes to the next attendant."""
    hub = station.app.state.services.hub
    hub.session_sweep_s = 0.1  # from the next input on: the idle check runs at once
    size = station.journal()["size"]
    answer = station.call("PATCH", "/api/v1/operators/olga", Role.ADMIN, json={"disabled": True})
    assert answer.status_code == 200, answer.text
    hub.submit(WeightInput(Decimal(0), Reading("dock-scale", 1, "w"), "olga")).result(10)

    def ended() -> list[dict[str, Any]]:
        page = station.call("GET", "/api/v1/journal", Role.TECHNICIAN, params={"after": size})
        return [e for e in page.json()["events"] if e["type"] == "operator.signed_out"]

    [event] = wait_for(ended, 20, "operator.signed_out")
    assert event["subject"] == "olga" and event["payload"]["reason"] == "session_ended"
    assert hub.operator_for_readings("dock-scale") == "ada"
