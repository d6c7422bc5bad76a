"""Serial lines: CR, LF or CR LF, in any chunking, bounded, and noise never prefixes a code."""

from __future__ import annotations

from drivers.scanner import LineFramer, ScanError


def test_cr_lf_crlf_in_any_chunking() -> None:
    framer = LineFramer()
    stream = b"ONE\r\nTWO\rTHREE\nFOUR\r\n"
    out: list[bytes | ScanError] = []
    for i in range(len(stream)):
        out += framer.feed(stream[i : i + 1], now=0.0)
    assert out == [b"ONE", b"TWO", b"THREE", b"FOUR"]


def test_an_overlong_line_is_refused_once_and_the_next_line_is_fine() -> None:
    framer = LineFramer(max_length=10)
    out = framer.feed(b"X" * 25 + b"\r\nOK\r\n", now=0.0)
    assert isinstance(out[0], ScanError) and "longer than 10" in out[0].reason
    assert len(out[0].raw) == 10
    assert out[1:] == [b"OK"]


def test_an_overlong_line_in_pieces_is_skipped_up_to_its_end() -> None:
    framer = LineFramer(max_length=10)
    out = framer.feed(b"Y" * 8, now=0.0) + framer.feed(b"Y" * 8, now=0.01)
    out += framer.feed(b"Y" * 8 + b"\r\n", now=0.02) + framer.feed(b"NEXT\r\n", now=0.03)
    assert [type(o) for o in out] == [ScanError, bytes]
    assert out[-1] == b"NEXT"


def test_a_stale_partial_line_is_refused_not_glued_to_the_next_code() -> None:
    framer = LineFramer(stale_after=1.0)
    assert framer.feed(b"\x13noise", now=0.0) == []
    out = framer.feed(b"CODE\r\n", now=5.0)
    assert isinstance(out[0], ScanError) and out[0].raw == b"\x13noise"
    assert out[1:] == [b"CODE"]


def test_a_code_split_across_reads_within_its_burst_is_one_line() -> None:
    framer = LineFramer(stale_after=1.0)
    assert framer.feed(b"49015420", now=0.0) == []
    assert framer.feed(b"3237518\r\n", now=0.05) == [b"490154203237518"]
