"""A decoded line becomes a code through drivers.codes.interpret, or an error: never a guess."""

from __future__ import annotations

import pytest

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
