"""A decoded line becomes a code through drivers.codes.interpret, or an error: never a guess."""

from __future__ import annotations

import biip
import pytest

from drivers.codes import interpret
from drivers.scanner import ScanError, ScannerOutput, read_line

GS = "\x1d"


def test_aim_prefix_names_the_symbology_and_is_kept_apart() -> None:
    out = read_line(b"]Q1RET-2026-000001", "scanner")
    assert isinstance(out, ScannerOutput) and out.is_scan
    assert (out.code.code, out.code.aim, out.code.symbology) == ("RET-2026-000001", "]Q1", "qr")


def test_gs1_element_strings_are_parsed() -> None:
    out = read_line(f"]C110ABC123{GS}0109506000134352".encode(), "scanner")
    assert isinstance(out, ScannerOutput)
    assert out.code.gs1 == {"10": "ABC123", "01": "09506000134352"}


def test_a_valid_imei_is_recognised_and_a_bad_check_digit_is_not() -> None:
    good = read_line(b"490154203237518", "scanner")
    bad = read_line(b"490154203237519", "scanner")
    assert isinstance(good, ScannerOutput) and good.code.imei == "490154203237518"
    assert isinstance(bad, ScannerOutput) and bad.code.imei is None


def test_human_input_is_flagged_not_a_scan() -> None:
    out = read_line(b"490154203237518", "human")
    assert isinstance(out, ScannerOutput) and out.kind == "human" and not out.is_scan


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (GS.encode(), "empty"),
        (b"ABC\x00DEF", "0x00"),
        (b"A\rB", "0x0d"),
        (b"caf\xe9", "UTF-8"),
    ],
)
def test_unusable_reads_become_errors(raw: bytes, reason: str) -> None:
    out = read_line(raw, "scanner")
    assert isinstance(out, ScanError) and reason in out.reason and out.raw == raw


@pytest.mark.parametrize(
    "data",
    [
        "1ZRT0000000123",  # a parcel label, sent as GS1-128 by a misconfigured scanner
        "A0109501234567891",
        "\x1dX1",
        "0",
        "9",
        "0109501234567891",
        "\x1d0109501234567891",
        "00012345678901234568",
        "10LOT42\x1d21SER7",
        "99ANYTHING",
    ],
)
def test_gs1_parsing_agrees_with_biip_on_what_is_an_element_string(data: str) -> None:
    """What is not read as GS1 (no AI's digits first) is what biip itself refuses."""
    for read in ("]C1" + data, data) if GS in data else ("]C1" + data,):
        try:
            message = biip.parse(read).gs1_message
            expected = {e.ai.ai: e.value for e in message.element_strings} if message else {}
        except biip.ParseError:
            expected = {}
        assert interpret(read.encode()).gs1 == expected, read
