"""The bus takes no code, and no payload, the journal or the upstream would refuse (issue 14.4,
14.8): a 2 MB code, an escape sequence or a tab in a code is counted, logged and dropped."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest

from edge.bus import BusClient
from edge.bus.payloads import PayloadError, Scan, decode
from edge.limits import MAX_BUS_PAYLOAD_BYTES, MAX_CODE_LENGTH
from tests.broker import RunningBroker
from tests.bus.test_client import WAIT, listener, run, scan_payload


def scan_json(code: str, seq: int = 1) -> bytes:
    """A scan payload as a third-party device could write it, without our model's checks."""
    raw = base64.b64encode(code.encode()[:64]).decode()
    fields = {"v": 1, "code": code, "symbology": "qr", "aim": None, "raw_b64": raw, "seq": seq}
    return json.dumps({**fields, "ts": "2026-01-01T00:00:00.000000Z"}).encode()


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("x" * (MAX_CODE_LENGTH + 1), f"at most {MAX_CODE_LENGTH} characters"),
        ("\x1b[2J\x1b[31mR-1001", "control character 0x1b (ESC) at position 0"),
        ("R-1001\tR-1002", "control character 0x09 (TAB)"),
        ("R-1001\x85", "control character 0x85"),  # C1 (NEL)
        ("R-1001\x7f", "control character 0x7f (DEL)"),
        ("", "at least 1 character"),
    ],
    ids=["over-limit", "escape", "tab", "c1", "del", "empty"],
)
def test_a_scan_with_a_code_no_entry_takes_is_refused_naming_the_field(code: str, why: str) -> None:
    with pytest.raises(PayloadError, match="code") as refused:
        decode("scan", scan_json(code))
    assert why in str(refused.value)


def test_codes_at_the_limit_and_gs1_separators_are_taken() -> None:
    for code in ("x" * MAX_CODE_LENGTH, "]d2\x1d0109501234567891\x1d10LOT\x1e\x04", "é" * 512):
        scan = decode("scan", scan_json(code))
        assert isinstance(scan, Scan) and scan.code == code


def test_a_payload_over_the_bus_limit_is_refused_before_parsing() -> None:
    huge = scan_json("x" * (2 * 1024 * 1024))
    with pytest.raises(PayloadError, match=f"over the limit of {MAX_BUS_PAYLOAD_BYTES}"):
        decode("scan", huge)
    # not parsed: even bytes that are no JSON at all get the size answer, not a parse error
    with pytest.raises(PayloadError, match="bytes, over the limit"):
        decode("weight", b"{" * (MAX_BUS_PAYLOAD_BYTES + 1))


def test_oversize_and_escape_codes_on_the_real_bus_are_dropped_and_counted(
    broker: RunningBroker,
) -> None:
    """A station credential publishing straight to the broker: the 2 MB code of the issue, an
    escape sequence and a 513-character code never reach a subscriber; the next scan does."""

    async def scenario() -> None:
        hub, got = await listener(broker, broker.topics.all_devices)
        driver = BusClient(broker.config("drivers"), broker.topics)
        driver.start()
        assert await driver.wait_connected(WAIT)
        topic = broker.topics.reading("dock-scanner", "scan")
        for seq, code in enumerate(
            ["x" * (2 * 1024 * 1024), "\x1b[2JR-1001", "y" * (MAX_CODE_LENGTH + 1)], start=1
        ):
            driver.publish(topic, scan_json(code, seq), qos=1)
        driver.publish(topic, scan_payload("RET-OK")(4), qos=1)
        received, model = await asyncio.wait_for(got.get(), WAIT)
        assert (received, model.code, model.seq) == (topic, "RET-OK", 4)
        assert hub.stats.malformed == 3
        assert got.empty()
        await driver.stop()
        await hub.stop()

    run(scenario())
