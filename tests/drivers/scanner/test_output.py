"""A decoded line becomes a code through drivers.codes.interpret, or an error: never a guess."""

from __future__ import annotations

import biip
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from drivers.codes import CodeError, interpret
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


def _biip_gs1(read: str) -> dict[str, str]:
    try:
        message = biip.parse(read).gs1_message
    except biip.ParseError:
        return {}
    return {e.ai.ai: e.value for e in message.element_strings} if message else {}


# digits, letters that appear in labels, separators and whitespace, in any order
_LABELISH = st.text(
    alphabet="0123456789017AZx \t\n\x1c\x1d\x1e\x1f\x85\xa0\u2003\u3000٣", min_size=1, max_size=24
)


@settings(max_examples=600, deadline=None)
@given(data=_LABELISH, aim=st.sampled_from(["]C1", "]d2", "]Q3", "]e0", ""]))
@example(data="1ZRT0000000123", aim="]C1")  # a parcel label sent as GS1-128
@example(data=" 0109501234567891", aim="]C1")  # whitespace before the AI (biip skips it)
@example(data=" 0109501234567891\x1d10ABC", aim="]d2")
@example(data="\x1d 0109501234567891", aim="")
@example(data="\t0109501234567891", aim="]C1")
@example(data="10LOT42\x1d21SER7", aim="]C1")
@example(data="\xa00109501234567891", aim="]C1")  # a no-break space, which biip strips too
def test_gs1_parsing_agrees_with_biip(data: str, aim: str) -> None:
    """What is not read as GS1 is what biip itself refuses (the shortcut skips only data that
    cannot start with an AI)."""
    read = aim + data
    if not data.strip(GS + " \t\r\n") or (not aim and GS not in data):
        return  # an empty read (an AIM alone too) is an error; plain data is not tried as GS1
    if any(c in data for c in "\t\n\x1f\x85"):  # controls no symbol carries as data
        with pytest.raises(CodeError, match="control character"):
            interpret(read.encode())
        return
    assert interpret(read.encode()).gs1 == _biip_gs1(read), repr(read)
