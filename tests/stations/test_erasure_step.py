"""Recording an erasure: a wipe that already happened is never lost, even on a finished unit."""

from __future__ import annotations

from edge.journal.events import EventType
from stations.erasure_step import decide_erasure
from stations.workflow import ErasureInput
from tests.stations.fake_lookup import FakeLookup, unit_view

CERT, TRANSCRIPT = "a" * 64, "b" * 64


def _erasure(unit_id: str) -> ErasureInput:
    return ErasureInput(
        unit_id=unit_id,
        certificate_sha256=CERT,
        transcript_sha256=TRANSCRIPT,
        succeeded=True,
        method="Purge",
        verification="passed",
        tool="edge-sim-erase",
        tool_version="1.0",
        reason="",
        operator="tom",
    )


def test_an_erasure_that_ran_while_its_unit_was_routed_is_kept_not_refused() -> None:
    """The tool was started on an open unit (erase_unit checks that first); meanwhile someone
    routed it. The device is wiped and its certificate is in the blob store: refusing here
    would lose both from custody. It is kept as a `unit_finished` exception carrying the
    certificate and transcript, and the finished unit is not changed."""
    routed = unit_view("U-1", status="routed", route="parts", location="BIN-A-01", grade="C")
    lookup = FakeLookup(units={"U-1": routed})
    out = decide_erasure(_erasure("U-1"), lookup)
    assert [e.type for e in out.events] == [EventType.EXCEPTION_RAISED]
    raised = out.events[0]
    assert raised.payload["exception"] == "unit_finished"
    assert set(raised.attachments) == {CERT, TRANSCRIPT}
    evidence = raised.payload["evidence"]
    assert isinstance(evidence, dict) and evidence["certificate_sha256"] == CERT
    assert "reopen" in out.message


def test_an_erasure_of_an_open_unit_is_recorded() -> None:
    lookup = FakeLookup(units={"U-1": unit_view("U-1", status="graded", grade="B")})
    out = decide_erasure(_erasure("U-1"), lookup)
    assert [e.type for e in out.events] == [EventType.ERASURE_COMPLETED]
